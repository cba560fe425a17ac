"""The CTP function language mapped to canonical actions: one table, function name -> mapper.

Each CTP function (``DICOMAnonymizer.java``, "The CTP DICOM Anonymizer" on the RSNA MIRC wiki)
maps to the nearest canonical action with its parameters, and says what CTP does. Whole element
scripts (literals, ``@param``, concatenations, ``@always()``) are mapped by
:mod:`deid.ctp.expressions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from deid.ctp.arguments import Context, RefKind, Source, int_arg, ref, source
from deid.ctp.script import Call
from deid.policy.actions import DATE_VRS, PROTECTIVE_ORDER, Action

#: Least to most permissive: when a conditional has several outcomes, the most permissive one
#: is reported (what can leave the site), see :func:`least_protective`.
PROTECTION_ORDER = PROTECTIVE_ORDER
#: CTP's own actions: the mapping is exact, not the nearest action.
EXACT = frozenset({Action.KEEP, Action.REMOVE, Action.EMPTY})
HASH_DAYS = 3650  # @hashdate offsets dates by up to ten years
#: CTP hashes with MD5 (128 bits): without a length, the nearest keyed hash keeps as many bits.
MD5_HEX = 32


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a reviewer must know about a script element (becomes a lint finding)."""

    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class Mapped:
    """An element script as a canonical action, with what CTP does."""

    action: Action
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    meaning: str = ""
    problems: tuple[Problem, ...] = ()
    outputs: bool = True  # False for @quarantine()/@skip(): no object leaves CTP


Mapper = Callable[[Call, Context], Mapped]


def _fixed(action: Action, meaning: str) -> Mapper:
    return lambda call, ctx: Mapped(action, meaning=meaning)


def _params(**params: Any) -> Mapping[str, Any]:
    return MappingProxyType({key: value for key, value in params.items() if value is not None})


def _length(call: Call, index: int, ctx: Context) -> int | None:
    """A length argument; CTP keeps the whole value when it is not a positive integer."""
    length = int_arg(call.arg(index), ctx)
    return length if length and 0 < length <= 128 else None


def _hash(call: Call, ctx: Context) -> Mapped:
    given = _length(call, 1, ctx)
    length = given or (4 if call.name == "hashname" else MD5_HEX)
    of = source(call.arg(0), ctx)
    input_ = "{patient}" if of is Source.PATIENT else None
    digits = f"{given} decimal digits" if given else "decimal digits (128 bits)"
    meaning = f"MD5 hash of {_whose(of, call.arg(0))} as {digits}"
    if call.name == "hashname":
        meaning = f"hash of the words of {_whose(of, call.arg(0))} as {digits}"
    return Mapped(Action.HASH, _params(length=length, input=input_), meaning)


def _whose(of: Source, arg: str) -> str:
    return {Source.VALUE: "the value", Source.PATIENT: "PatientID"}.get(of, arg)


def hash_field(call: Call, ctx: Context) -> tuple[str, str | None, str | None, list[Problem]]:
    """A hashing call as a pseudonym template field: ``(field, input, secret, problems)``."""
    problems: list[Problem] = []
    secret = input_ = None
    length: int | None
    if call.name == "hashptid":
        of, length = source(call.arg(1), ctx), _length(call, 2, ctx) or MD5_HEX
        site = ref(call.arg(0), ctx)
        prefix = {RefKind.PARAM: f"{{{site.text}}}", RefKind.LITERAL: site.text}.get(
            site.kind, "")
        if site.kind is RefKind.SECRET:
            secret = site.text
        elif site.kind is RefKind.UNDECLARED:
            problems.append(_undeclared(site.text))
        if prefix:
            input_ = prefix + ("{patient}" if of is Source.PATIENT else "{value}")
    else:
        of = source(call.arg(0), ctx)
        length = {"integer": _length(call, 2, ctx), "lookup": None,
                  "encrypt": None}.get(call.name, _length(call, 1, ctx) or MD5_HEX)
        key = ref(call.arg(1), ctx)
        if call.name == "encrypt" and key.kind is RefKind.SECRET:
            secret = key.text
    name = "patient" if of is Source.PATIENT and input_ is None else "hash"
    return (f"{{{name}:{length}}}" if length else f"{{{name}}}"), input_, secret, problems


def _pseudonym(call: Call, ctx: Context) -> Mapped:
    template, input_, secret, problems = hash_field(call, ctx)
    meanings = {
        "hashptid": "hash of the site ID (first argument) and the patient ID",
        "integer": "a sequential integer from CTP's integer table",
        "lookup": "the replacement found in the local lookup table",
    }
    return Mapped(Action.PSEUDONYM, _params(template=template, input=input_, secret=secret),
                  meanings[call.name], tuple(problems))


def _encrypt(call: Call, ctx: Context) -> Mapped:
    _, _, secret, problems = hash_field(call, ctx)
    return Mapped(Action.HASH, _params(secret=secret), "encrypts the value with a key",
                  tuple(problems))


def _hashuid(call: Call, ctx: Context) -> Mapped:
    problems: list[Problem] = []
    root = ref(call.arg(0), ctx)
    root_param = f"{{{root.text}}}" if root.kind is RefKind.PARAM else None
    meaning = "new UID: the root then an MD5 hash of the UID"
    if root.kind is RefKind.UNDECLARED:
        problems.append(_undeclared(root.text))
    secret = ctx.element_secret(call.arg(2)) if len(call.args) > 2 else None
    if len(call.args) > 2:
        meaning += f" salted with the new value of {call.arg(2)}"
    return Mapped(Action.UID, _params(root=root_param, secret=secret), meaning,
                  tuple(problems))


def _incrementdate(call: Call, ctx: Context) -> Mapped:
    days = int_arg(call.arg(1), ctx)
    if days is None:
        argument = ref(call.arg(1), ctx)
        problems = [_undeclared(argument.text)] if argument.kind is RefKind.UNDECLARED else []
        return Mapped(Action.EMPTY, meaning=f"adds {call.arg(1)!r} days, which is not a number: "
                      "CTP writes an empty value", problems=tuple(problems))
    if days == 0:
        return Mapped(Action.KEEP, meaning="adds 0 days (the date is unchanged)")
    return Mapped(Action.SHIFT_DATE, _params(days=days), f"adds {days} days to the date")


def _hashdate(call: Call, ctx: Context) -> Mapped:
    return Mapped(Action.SHIFT_DATE, _params(max_days=HASH_DAYS),
                  f"shifts the date back by up to ten years, by an MD5 hash of {call.arg(1)}")


def _dateinterval(call: Call, ctx: Context) -> Mapped:
    return Mapped(Action.SHIFT_DATE, meaning="days since a per-patient base date from the "
                  "lookup table (keeps intervals)")


def _modifydate(call: Call, ctx: Context) -> Mapped:
    year, month, day = (int_arg(call.arg(index), ctx) for index in (1, 2, 3))
    if year is not None:
        return Mapped(Action.DUMMY, meaning=f"sets the year to {year}")
    unit = "year" if month is not None else "month" if day is not None else "day"
    kept = {"year": "keeps the year", "month": "keeps year and month",
            "day": "keeps the date"}[unit]
    return Mapped(Action.TRUNCATE_DATE, _params(to=unit), f"sets fixed parts; {kept}")


def _round(call: Call, ctx: Context) -> Mapped:
    step = int_arg(call.arg(1), ctx)
    if step is None or step <= 0:
        return Mapped(Action.REMOVE, meaning="rounds by a group size that is not a positive "
                      "integer: CTP writes the argument text",
                      problems=(Problem("unparsable-expression", "error",
                                        f"{call.text}: the group size {call.arg(1)!r} is not a "
                                        "positive integer"),))
    return Mapped(Action.ROUND, _params(step=step), f"rounds into groups of {step}")


_TM_UNITS = ((2, "hour"), (4, "minute"))
_DT_UNITS = ((4, "year"), (6, "month"), (8, "day"), (10, "hour"), (12, "minute"))


def _truncate(call: Call, ctx: Context) -> Mapped:
    count = int_arg(call.arg(1), ctx)
    if source(call.arg(0), ctx) is not Source.VALUE:
        return _other_element(call, ctx)
    if ctx.vr in DATE_VRS and count is not None and count >= 0:
        units = _TM_UNITS if ctx.vr == "TM" else _DT_UNITS
        unit = next((name for limit, name in units if count <= limit), None)
        if unit is None:
            return Mapped(Action.KEEP, meaning=f"keeps the first {count} characters")
        return Mapped(Action.TRUNCATE_DATE, _params(to=unit),
                      f"keeps the first {count} characters")
    return Mapped(Action.CLEAN, meaning=f"keeps {count} characters of the value")


def _contents(call: Call, ctx: Context) -> Mapped:
    if source(call.arg(0), ctx) is not Source.VALUE:
        return _other_element(call, ctx)
    if len(call.args) > 1:
        return Mapped(Action.CLEAN, meaning=f"the value with matches of {call.arg(1)!r} "
                      "replaced")
    return Mapped(Action.KEEP, meaning="the value itself")


def _case(call: Call, ctx: Context) -> Mapped:
    if source(call.arg(0), ctx) is not Source.VALUE:
        return _other_element(call, ctx)
    return Mapped(Action.KEEP, meaning=f"the value in {call.name[:-4]} case")


def _other_element(call: Call, ctx: Context) -> Mapped:
    return Mapped(Action.DUMMY, meaning=f"writes the value of another element "
                  f"({call.arg(0)}) here")


def _param(call: Call, ctx: Context) -> Mapped:
    argument = ref(call.arg(0), ctx)
    if argument.kind is RefKind.PARAM:
        return Mapped(Action.DUMMY, _params(value=f"{{{argument.text}}}"),
                      f"writes the parameter {argument.text}")
    if argument.kind is RefKind.LITERAL:
        return Mapped(Action.DUMMY, _params(value=argument.text or None),
                      f"writes {argument.text!r}")
    problem = (_undeclared(argument.text) if argument.kind is RefKind.UNDECLARED else
               Problem("secret-parameter", "warning", f"{call.text} writes a secret "
                       "parameter into the element"))
    return Mapped(Action.DUMMY, meaning=f"writes the parameter {call.arg(0)}",
                  problems=(problem,))


def _undeclared(name: str) -> Problem:
    return Problem("undeclared-parameter", "warning",
                   f"@{name} is used but the script declares no <p t=\"{name}\">; CTP writes "
                   "'null'")


def _conditional(call: Call, ctx: Context) -> Mapped:
    """@if / @select: the most permissive of the clauses that let an object through."""
    from deid.ctp.expressions import map_expression  # the clauses are whole scripts

    outcomes = [map_expression(clause, ctx) for clause in call.clauses] or [
        Mapped(Action.EMPTY, meaning="no clause")]
    problems = tuple(problem for outcome in outcomes for problem in outcome.problems)
    passing = [outcome for outcome in outcomes if outcome.outputs]
    if not passing:
        return Mapped(Action.REMOVE, meaning="every branch quarantines or skips the object",
                      problems=problems)
    chosen = least_protective(passing)
    test = "in the top-level data set" if call.name == "select" else ", ".join(call.args)
    branches = "; else ".join(outcome.meaning or outcome.action.value for outcome in outcomes)
    return replace(chosen, meaning=f"if {test}: {branches}", problems=problems)


def least_protective(outcomes: list[Mapped]) -> Mapped:
    """The outcome that lets the most through (conditions usually only test presence)."""
    return max(outcomes, key=lambda outcome: PROTECTION_ORDER.index(outcome.action))


def _halt(what: str) -> Mapper:
    return lambda call, ctx: Mapped(Action.REMOVE, meaning=f"{what} the whole object",
                                    outputs=False)


def _plugin(call: Call, ctx: Context) -> Mapped:
    return Mapped(Action.REMOVE, meaning=f"calls the plugin {call.arg(0)!r}",
                  problems=(Problem("unmappable-function", "warning",
                                    f"{call.text}: a plugin decides the value; mapped to "
                                    "remove"),))


#: Every function CTP's DICOMAnonymizer knows, and the CTP value markers it acts on.
FUNCTIONS: Mapping[str, Mapper] = MappingProxyType({
    "keep": _fixed(Action.KEEP, "keeps the element"),
    "remove": _fixed(Action.REMOVE, "removes the element"),
    "empty": _fixed(Action.EMPTY, "writes an empty value"),
    "blank": _fixed(Action.EMPTY, "writes a value of blanks"),
    "process": _fixed(Action.KEEP, "keeps the sequence and applies the script to its items"),
    "require": _fixed(Action.KEEP, "keeps the element (creates it when missing)"),
    "append": _fixed(Action.KEEP, "keeps the values and appends one"),
    "always": _fixed(Action.EMPTY, "creates the element when missing, with an empty value"),
    "param": _param,
    "contents": _contents,
    "value": _contents,
    "lowercase": _case,
    "uppercase": _case,
    "pathelement": _other_element,
    "truncate": _truncate,
    "initials": _fixed(Action.CLEAN, "writes the initials of the name"),
    "date": _fixed(Action.DUMMY, "writes the current date"),
    "time": _fixed(Action.DUMMY, "writes the current time"),
    "hash": _hash,
    "hashname": _hash,
    "hashptid": _pseudonym,
    "integer": _pseudonym,
    "lookup": _pseudonym,
    "encrypt": _encrypt,
    "decrypt": _fixed(Action.KEEP, "decrypts the value"),
    "hashuid": _hashuid,
    "hashdate": _hashdate,
    "incrementdate": _incrementdate,
    "dateinterval": _dateinterval,
    "modifydate": _modifydate,
    "round": _round,
    "quarantine": _halt("quarantines"),
    "skip": _halt("skips"),
    "call": _plugin,
    "if": _conditional,
    "select": _conditional,
})
#: Calls that become a pseudonym template field when concatenated with other text.
HASHING = frozenset({"hash", "hashname", "hashptid", "integer", "lookup", "encrypt"})
