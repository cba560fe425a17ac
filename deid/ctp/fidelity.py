"""How faithfully a CTP script says what deid does: one comparison key, and what CTP cannot say.

:func:`action_key` tells when two actions do the same thing to an element of a VR: parameters
filled in with their defaults, ``{PARAM}`` fields replaced by the script's values, the action
resolved for the VR as deid carries it out (:func:`deid.transform.semantics.for_vr`), and the
spellings deid's transforms treat alike made one (:func:`canonical`). These helpers, and
:func:`param`, are shared with the pydicom/deid recipe bridge (:mod:`deid.recipe.fidelity`).

:data:`NOT_EXPRESSIBLE` lists, one code a row, what CTP's function language cannot say;
:func:`not_expressible` gives the codes of one action. The exporter writes the nearest script
with a ``<!--deid {...}-->`` comment and the codes; the README lists the same rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from deid.ctp.functions import HASH_DAYS
from deid.policy.actions import ACTIONS, BINARY_VRS, Action
from deid.policy.resolver import Decision
from deid.transform.semantics import for_vr
from deid.transform.values import dummy_value

_PARAM_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HASH_FIELD_RE = re.compile(r"\{hash(:\d+)?\}")
_SITE_INPUT_RE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}\{(value|patient)\}$")
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})
_HASHING = (Action.HASH, Action.PSEUDONYM)


def code_counts(codes_per_element: Iterable[Iterable[str]],
                order: Iterable[str]) -> list[tuple[str, int]]:
    """How many elements carry each reason code, in ``order`` (codes none carries left out)."""
    counts = Counter(code for codes in codes_per_element for code in codes)
    return [(code, counts[code]) for code in order if code in counts]


def resolved(action: Action, params: Mapping[str, Any],
             vr: str | None) -> tuple[Action, Mapping[str, Any]]:
    """The action as deid carries it out on an element of ``vr`` (unchanged without a VR)."""
    if not vr:
        return action, params
    decision = for_vr(Decision(action, params, "", "", "", True), vr)
    return decision.action, decision.params


def action_key(action: Action, params: Mapping[str, Any], declared: Mapping[str, str],
               vr: str | None = None) -> tuple[Any, ...]:
    """An action with all its parameters (defaults filled in, ``{PARAM}`` fields replaced by
    the declared values): equal keys do the same thing. With ``vr``, the action is first
    resolved for that VR and spellings of the same effect are made one."""
    if vr:
        action, params = canonical(action, params, vr)
    spec = ACTIONS[action].params

    def value(key: str, default: Any) -> Any:
        found = params.get(key, default)
        if isinstance(found, str):
            return _PARAM_FIELD_RE.sub(
                lambda match: declared.get(match.group(1), match.group(0)), found)
        return found

    return (action, *((key, value(key, item.default)) for key, item in spec.items()))


def canonical(action: Action, params: Mapping[str, Any],
              vr: str) -> tuple[Action, Mapping[str, Any]]:
    """The action as deid carries it out on ``vr``, in the one spelling of its effect."""
    return _same_effect(*resolved(action, params, vr), vr)


def _same_effect(action: Action, params: Mapping[str, Any],
                 vr: str) -> tuple[Action, Mapping[str, Any]]:
    """One spelling for actions deid's transforms carry out alike on ``vr``:

    - on a sequence, ``uid`` walks the items applying the profile, as ``keep`` does
      (:mod:`deid.transform.plan`);
    - ``dummy`` ignores its value on sequences and binary VRs, and a value equal to the VR's
      own dummy text is that dummy (:mod:`deid.transform.dispatch`);
    - a pseudonym's ``{hash}`` of input ``{patient}`` is its ``{patient}`` field, and the
      input of a template without ``{hash}`` is not read.
    """
    if vr == "SQ" and action is Action.UID:
        return Action.KEEP, _NO_PARAMS
    if action is Action.DUMMY:
        value = str(params.get("value", ""))
        if vr == "SQ" or vr in BINARY_VRS or value == str(dummy_value(vr)):
            return action, _NO_PARAMS
    if action is Action.PSEUDONYM:
        template = str(params.get("template", ""))
        if params.get("input", "{value}") == "{patient}":
            template = _HASH_FIELD_RE.sub(lambda m: "{patient" + (m.group(1) or "") + "}",
                                          template)
        if not _HASH_FIELD_RE.search(template):
            return action, MappingProxyType({**params, "template": template,
                                             "input": "{value}"})
    return action, params


def param(params: Mapping[str, Any], action: Action, key: str) -> Any:
    """The value of parameter ``key`` of ``action``: the given one, else its default."""
    return params.get(key, ACTIONS[action].params[key].default)


def _hash_input(action: Action, params: Mapping[str, Any],
                declared: Mapping[str, str]) -> bool:
    """The input is one CTP can hash: the value, PatientID, or (pseudonyms) a site parameter
    then one of those."""
    given = param(params, action, "input")
    if given in ("{value}", "{patient}"):
        return True
    site = _SITE_INPUT_RE.match(given)
    return action is Action.PSEUDONYM and site is not None and site.group(1) in declared


#: What CTP's function language cannot say, by code: the sentence, and the test on a resolved
#: action ``(action, params, vr, declared)``.
NOT_EXPRESSIBLE: Mapping[str, tuple[str, Callable[..., bool]]] = MappingProxyType({
    "dummy-sequence": (
        "CTP cannot replace the values inside a sequence's items by dummies; the script "
        "empties the sequence (@empty())",
        lambda a, p, vr, d: a is Action.DUMMY and vr == "SQ"),
    "dummy-binary": (
        "CTP cannot write a binary dummy value; the script writes an empty value (@empty())",
        lambda a, p, vr, d: a is Action.DUMMY and vr in BINARY_VRS),
    "dummy-uid": (
        "CTP cannot write a dummy UID; the script remaps the UID (@hashuid), as deid's dummy "
        "does with a UID that is present",
        lambda a, p, vr, d: a is Action.DUMMY and vr == "UI" and not p.get("value")),
    "clean-sequence": (
        "CTP cannot clean the text no element script names inside a sequence; the script "
        "processes the items with the element scripts (@process())",
        lambda a, p, vr, d: a is Action.CLEAN and vr == "SQ"),
    "bounded-date-shift": (
        f"CTP's @hashdate shifts a date back by up to {HASH_DAYS} days (ten years); it cannot "
        "bound the shift to fewer days",
        lambda a, p, vr, d: a is Action.SHIFT_DATE and not param(p, a, "days")
        and param(p, a, "max_days") != HASH_DAYS),
    "date-shift-secret": (
        "CTP's @hashdate is not keyed by a secret; the script hashes PatientID",
        lambda a, p, vr, d: a is Action.SHIFT_DATE and not param(p, a, "days")
        and param(p, a, "secret") != "default"),
    "hash-algorithm": (
        "CTP hashes with MD5; it has no other digest or keying",
        lambda a, p, vr, d: a in _HASHING and (param(p, a, "algorithm") != "sha256"
                                               or param(p, a, "keying") != "hmac")),
    "hash-secret": (
        "CTP's @hash is not keyed by a secret (only @hashptid takes a site key)",
        lambda a, p, vr, d: a is Action.HASH and param(p, a, "secret") != "default"),
    "hash-input": (
        "CTP hashes one element's value (or PatientID, after a site parameter); it cannot "
        "hash a template such as {patient}|{value}",
        lambda a, p, vr, d: a in _HASHING and not _hash_input(a, p, d)),
    "hash-length": (
        "CTP's MD5 gives 32 digits; deid's full-length digest is longer",
        lambda a, p, vr, d: (a is Action.HASH and not param(p, a, "length"))
        or (a is Action.PSEUDONYM and "{hash}" in str(p.get("template", "")))),
    "round-max": (
        "CTP's @round has no upper bound",
        lambda a, p, vr, d: a is Action.ROUND and bool(param(p, a, "max"))),
    "round-step": (
        "CTP's @round takes whole group sizes only; the script removes the element",
        lambda a, p, vr, d: a is Action.ROUND and not float(p.get("step", 1)).is_integer()),
    "time-to-midnight": (
        "CTP cannot truncate a time to a date unit; the script writes the literal 000000",
        lambda a, p, vr, d: a is Action.TRUNCATE_DATE and vr == "TM"
        and param(p, a, "to") not in ("hour", "minute")),
    "uid-secret": (
        "CTP's @hashuid is salted only by another element's new value; the script salts it "
        "with PatientID's, which need not use this secret",
        lambda a, p, vr, d: a is Action.UID and vr != "SQ"
        and param(p, a, "secret") != "default"),
})


def not_expressible(action: Action, params: Mapping[str, Any], vr: str | None,
                    declared: Mapping[str, str]) -> tuple[str, ...]:
    """The :data:`NOT_EXPRESSIBLE` codes of an action (resolved for ``vr``), in table order."""
    action, params = resolved(action, params, vr)
    return tuple(code for code, (_, test) in NOT_EXPRESSIBLE.items()
                 if test(action, params, vr, declared))
