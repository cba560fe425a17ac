"""Whole element scripts as canonical actions: single calls, literals and concatenations.

- An empty script writes an empty value (CTP no longer reads ``""`` as remove): ``empty``.
- ``@always()`` only makes CTP create a missing element; it is noted and skipped.
- One call: its mapper in :data:`deid.ctp.functions.FUNCTIONS`.
- Literal text and ``@param(...)``: ``dummy`` with that value (``{NAME}`` for a parameter).
- Text before one ``@hash(...)``: ``hash`` with that prefix; any other mix with a hashing
  function: ``pseudonym`` with a template such as ``EUCAIM-{hash}``.
- A script containing ``@remove()`` removes the element (CTP checks ``contains``).
- A function CTP does not define, or a script CTP cannot parse: ``remove``, reported.
Finally an action the element's VR does not allow becomes the nearest valid one (reported).
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType

from deid.ctp.arguments import Context, RefKind, ref
from deid.ctp.functions import FUNCTIONS, HASHING, Mapped, Problem, hash_field
from deid.ctp.script import Call, ExpressionError, Literal, Piece, parse_expression
from deid.policy.actions import ACTIONS, ALL_VRS, BINARY_VRS, HASHABLE_VRS, Action
from deid.transform.values import dummy_value

_CALL_LIKE = re.compile(r"^\s*[A-Za-z_]\w*\s*\(.*\)\s*$", re.DOTALL)
_BARE_CALL_RE = re.compile(r"(?<![@\w\\])([A-Za-z_]\w*)\s*\(")


def default_dummy_literal(vr: str | None) -> str | None:
    """The text deid's ``dummy`` writes for ``vr`` (``ANONYMIZED``, ``19000101``, ``0``...),
    or ``None`` where no literal fits (UI, SQ, AT and binary VRs)."""
    if vr is None or vr in BINARY_VRS or vr in ("UI", "SQ", "AT") or vr not in ALL_VRS:
        return None
    return str(dummy_value(vr))


def map_element(expression: str, ctx: Context) -> Mapped:
    """Map one ``<e>`` script, then fit the action to the element's VR."""
    return fit_vr(map_expression(expression, ctx), ctx)


def map_expression(expression: str, ctx: Context) -> Mapped:
    """Map a script (or an ``@if`` clause) to the nearest canonical action."""
    text = expression.strip()
    try:
        pieces = parse_expression(text)
    except ExpressionError as error:
        missing = calls_without_at(text)
        if missing:
            return Mapped(Action.REMOVE, meaning="a script CTP cannot run", problems=(Problem(
                "call-without-at", "error", f"{text!r}: {missing[0]}(...) is written without "
                f"'@', so CTP copies {text[:text.index('@')]!r} as text and then fails on "
                f"the rest ({error}): CTP quarantines every object that has this element; "
                f"write @{missing[0]}(...)"),))
        return Mapped(Action.REMOVE, meaning="a script CTP cannot run",
                      problems=(Problem("unparsable-expression", "error",
                                        f"{text!r}: {error}; mapped to remove"),))
    created = bool(pieces) and isinstance(pieces[0], Call) and pieces[0].name == "always"
    while pieces and isinstance(pieces[0], Call) and pieces[0].name == "always":
        pieces = pieces[1:]
    mapped = _map_pieces(pieces, text, ctx)
    if created:
        mapped = replace(mapped, meaning=f"{mapped.meaning} (created when missing)")
    return mapped


def _map_pieces(pieces: tuple[Piece, ...], text: str, ctx: Context) -> Mapped:
    unknown = [piece for piece in pieces if isinstance(piece, Call) and piece.name not in
               FUNCTIONS]
    if unknown:
        names = ", ".join(f"@{call.name}" for call in unknown)
        return Mapped(Action.REMOVE, meaning=f"calls {names}, which CTP does not define (CTP "
                      "writes the call as text)", problems=tuple(
                          Problem("unknown-function", "error", f"{call.text}: CTP defines no "
                                  f"function @{call.name}; mapped to remove")
                          for call in unknown))
    if not pieces or all(isinstance(p, Literal) and not p.text.strip() for p in pieces):
        return Mapped(Action.EMPTY, meaning="writes an empty value")
    if len(pieces) == 1 and isinstance(pieces[0], Call):
        return FUNCTIONS[pieces[0].name](pieces[0], ctx)
    if any(isinstance(piece, Call) and piece.name == "remove" for piece in pieces):
        return Mapped(Action.REMOVE, meaning="the result contains @remove()")
    return _compose(pieces, text, ctx)


def _compose(pieces: tuple[Piece, ...], text: str, ctx: Context) -> Mapped:
    """Literal text, parameters and hashing calls written one after the other."""
    problems: list[Problem] = []
    parts: list[str] = []
    dropped: list[str] = []
    inputs: list[str] = []
    secrets: list[str] = []
    hashes = 0
    for piece in pieces:
        if isinstance(piece, Literal):
            parts.append(_literal_part(piece.text, problems))
        elif piece.name == "param":
            parts.append(_param_part(piece, ctx, problems))
        elif piece.name in HASHING:
            field, input_, secret, found = hash_field(piece, ctx)
            parts.append(field)
            inputs += [input_] if input_ else []
            secrets += [secret] if secret else []
            problems += found
            hashes += 1
        else:
            dropped.append(piece.text)
    note = f" (not expressible: {', '.join(dropped)})" if dropped else ""
    if not hashes:
        return _literal(text, "".join(parts), ctx, tuple(problems), note)
    last = pieces[-1]
    if (len(pieces) == 2 and isinstance(pieces[0], Literal) and isinstance(last, Call)
            and last.name == "hash"):
        mapped = FUNCTIONS["hash"](last, ctx)
        return replace(mapped, params=MappingProxyType({**mapped.params,
                                                        "prefix": parts[0]}),
                       meaning=f"{parts[0]!r} then the {mapped.meaning}")
    params = {"template": "".join(parts)}
    params.update({"input": inputs[0]} if inputs else {})
    params.update({"secret": secrets[0]} if secrets else {})
    return Mapped(Action.PSEUDONYM, MappingProxyType(params),
                  f"joins text, parameters and hashes{note}", tuple(problems))


def _literal_part(text: str, problems: list[Problem]) -> str:
    if "{" in text or "}" in text:
        problems.append(Problem("unparsable-expression", "warning",
                                f"braces in the literal {text!r} cannot be kept; removed"))
        return text.replace("{", "").replace("}", "")
    return text


def _param_part(call: Call, ctx: Context, problems: list[Problem]) -> str:
    argument = ref(call.arg(0), ctx)
    if argument.kind is RefKind.PARAM:
        return f"{{{argument.text}}}"
    if argument.kind is RefKind.LITERAL:
        return _literal_part(argument.text, problems)
    problems.extend(FUNCTIONS["param"](call, ctx).problems)
    return ""


def _literal(text: str, value: str, ctx: Context, problems: tuple[Problem, ...],
             note: str) -> Mapped:
    """Constant text: ``dummy``; the VR's own dummy text means the default dummy."""
    missing = calls_without_at(value)
    if missing:
        problems += (Problem("call-without-at", "error",
                             f"{text!r}: {missing[0]}(...) is written without '@', so CTP does "
                             f"not call it but writes the text {value!r} into the element; "
                             f"write @{missing[0]}(...)"),)
    elif _CALL_LIKE.match(text) and "@" not in text.split("(")[0]:
        problems += (Problem("suspicious-literal", "warning",
                             f"{text!r} looks like a function call without '@': CTP writes "
                             "it as text"),)
    if not value:
        return Mapped(Action.DUMMY, meaning=f"writes constant text{note}", problems=problems)
    default = value == default_dummy_literal(ctx.vr)
    params = MappingProxyType({} if default else {"value": value})
    meaning = "writes the VR's dummy text" if default else "writes constant text"
    return Mapped(Action.DUMMY, params, meaning + note, problems)


def calls_without_at(text: str) -> list[str]:
    """Names of CTP functions written as ``name(`` without the ``@`` that makes them calls
    (outside double quotes), in order."""
    unquoted = re.sub(r'"[^"]*"', '""', text)
    return [match.group(1) for match in _BARE_CALL_RE.finditer(unquoted)
            if match.group(1) in FUNCTIONS]


def written_text(expression: str, ctx: Context) -> str | None:
    """The text CTP writes for a script whose output does not depend on the data: literals,
    declared parameters, and calls of functions CTP does not define (which it copies as
    text); ``None`` when a call computes the value, or the script cannot be read."""
    try:
        pieces = parse_expression(expression.strip())
    except ExpressionError:
        return None
    out = []
    for piece in pieces:
        if isinstance(piece, Literal) or piece.name not in FUNCTIONS:
            out.append(piece.text)
        elif piece.name == "param" and ref(piece.arg(0), ctx).kind is RefKind.PARAM:
            out.append(ctx.params[ref(piece.arg(0), ctx).text])
        elif piece.name not in ("always", "empty"):
            return None
    return "".join(out).strip()


def fit_vr(mapped: Mapped, ctx: Context) -> Mapped:
    """The nearest action valid for the element's dictionary VR, reporting any change."""
    vr = ctx.vr
    if vr is None or vr not in ALL_VRS or vr in ACTIONS[mapped.action].vrs:
        return mapped
    if vr == "UI":
        action = Action.UID
    elif vr in HASHABLE_VRS and mapped.action is Action.UID:
        action = Action.HASH
    else:
        action = Action.DUMMY
    problem = Problem("action-invalid-for-vr", "warning",
                      f"{mapped.action.value} does not apply to VR {vr}; nearest valid action: "
                      f"{action.value}")
    return Mapped(action, meaning=mapped.meaning, problems=(*mapped.problems, problem))
