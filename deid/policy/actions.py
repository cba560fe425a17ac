"""The canonical de-identification actions: names, parameters, the VRs each applies to.

One table (:data:`ACTIONS`) declares every action; profile validation, the engine and the
documentation all read it. PS3.15 action codes map onto these actions by :func:`from_ps315_code`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """A canonical action. Every action except ``keep`` counts as *Modify*."""

    KEEP = "keep"
    REMOVE = "remove"
    EMPTY = "empty"
    DUMMY = "dummy"
    CLEAN = "clean"
    UID = "uid"
    HASH = "hash"
    PSEUDONYM = "pseudonym"
    SHIFT_DATE = "shift_date"
    TRUNCATE_DATE = "truncate_date"
    ROUND = "round"


class Effect(StrEnum):
    """The two-state reduction used by the published comparison."""

    MODIFY = "modify"
    KEEP = "keep"


def effect_of(action: Action) -> Effect:
    """``keep`` keeps; every other action modifies."""
    return Effect.KEEP if action is Action.KEEP else Effect.MODIFY


TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "PN", "UR"})
DATE_VRS = frozenset({"DA", "DT", "TM"})
NUMBER_VRS = frozenset({"DS", "IS", "FL", "FD", "SS", "US", "SL", "UL", "SV", "UV"})
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
ALL_VRS = (
    TEXT_VRS | DATE_VRS | NUMBER_VRS | BINARY_VRS | frozenset({"AS", "AT", "UI", "SQ"})
)
HASHABLE_VRS = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "PN"})
HASH_ALGORITHMS = ("sha256", "sha512", "sha512_256", "sha384", "sha3_256", "blake2b")
HASH_KEYINGS = ("hmac", "concat")
TRUNCATE_UNITS = ("year", "month", "day", "hour", "minute")


@dataclass(frozen=True)
class Param:
    """One action parameter: its type, default (``None`` = required) and value check."""

    kind: type
    default: Any
    check: Callable[[Any], str | None] = lambda value: None
    doc: str = ""
    #: The allowed values, when the parameter is one of a few words.
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is None


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f"expected one of {', '.join(choices)}"


def _between(low: int, high: int) -> Callable[[Any], str | None]:
    return lambda value: None if low <= value <= high else f"expected {low}..{high}"


def _positive(value: Any) -> str | None:
    return None if value > 0 else "expected a positive number"


#: Digits a keyed UID keeps after its root at the least (about 66 bits: no two of millions of
#: UIDs meet); a longer root is refused when the profile is loaded.
MIN_UID_DIGITS = 20
_UID_ROOT_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def uid_root_problem(root: str) -> str | None:
    """Why ``root`` cannot prefix keyed UIDs (PS3.5 9.1: digits and dots, no leading zeros,
    room for :data:`MIN_UID_DIGITS` digits within 64 characters), or None."""
    if not _UID_ROOT_RE.match(root):
        return (f"UID root {root!r} must be numbers separated by dots, without leading zeros "
                "or a trailing dot (PS3.5 9.1), e.g. 1.2.826.0.1.3680043.10.999")
    longest = 64 - 1 - MIN_UID_DIGITS
    if len(root) > longest:
        return (f"UID root {root!r} has {len(root)} characters: at most {longest} leave room "
                f"for the {MIN_UID_DIGITS} digits that keep new UIDs distinct within 64")
    return None


def _uid_root(value: Any) -> str | None:
    return None if "{" in str(value) else uid_root_problem(str(value))


_SECRET = Param(str, "default", doc="name of the secret (DEID_SECRET_<NAME>)")
_HASH_PARAMS = {
    "secret": _SECRET,
    "algorithm": Param(str, "sha256", _one_of(HASH_ALGORITHMS), "digest algorithm",
                       HASH_ALGORITHMS),
    "keying": Param(
        str, "hmac", _one_of(HASH_KEYINGS), "hmac (keyed) or concat (digest of secret + value)",
        HASH_KEYINGS,
    ),
    "length": Param(int, 0, _between(0, 128), "hex characters kept (0 = all)"),
    "prefix": Param(str, "", doc="text put before the hash"),
    "input": Param(str, "{value}", doc="what is hashed: a template of {value}, {patient} and "
                   "[params], e.g. \"{SITE_ID}{value}\""),
}


@dataclass(frozen=True)
class ActionSpec:
    """What an action means, which parameters it takes and which VRs it applies to."""

    action: Action
    ps315_code: str
    meaning: str
    params: Mapping[str, Param]
    vrs: frozenset[str]


ACTIONS: Mapping[Action, ActionSpec] = {
    spec.action: spec
    for spec in (
        ActionSpec(Action.KEEP, "K", "keep the value (sequences: apply the profile inside)",
                   {}, ALL_VRS),
        ActionSpec(Action.REMOVE, "X", "remove the element (sequences with all items)",
                   {}, ALL_VRS),
        ActionSpec(Action.EMPTY, "Z", "replace with a zero-length value", {}, ALL_VRS),
        ActionSpec(Action.DUMMY, "D", "replace with a VR-valid dummy value (sequences: one "
                   "empty item)", {"value": Param(str, "", doc="the replacement text, e.g. "
                                                  "\"ANON\" or \"{SITE_ID}\" (default: a "
                                                  "dummy for the VR)")}, ALL_VRS),
        ActionSpec(Action.CLEAN, "C", "keep the value with identifying content removed "
                   "(text scrubbed, dates shifted, sequences cleaned inside)",
                   {"secret": _SECRET}, ALL_VRS),
        ActionSpec(Action.UID, "U", "replace UIDs by keyed, consistent new UIDs (sequences: "
                   "remap inside)", {"secret": _SECRET,
                    "root": Param(str, "2.25", _uid_root,
                                  "UID root, e.g. \"{UIDROOT}\"")},
                   frozenset({"UI", "SQ"})),
        ActionSpec(Action.HASH, "", "keyed hash of the value", _HASH_PARAMS, HASHABLE_VRS),
        ActionSpec(Action.PSEUDONYM, "", "a pseudonym from a template, e.g. PCa-{hash:12}",
                   {**_HASH_PARAMS, "template": Param(str, None, doc="text with {fields}")},
                   HASHABLE_VRS),
        ActionSpec(Action.SHIFT_DATE, "", "shift dates by a per-patient offset (keeps "
                   "intervals)", {"secret": _SECRET,
                                  "max_days": Param(int, 365, _between(1, 36500)),
                                  "days": Param(int, 0, doc="fixed offset instead")},
                   DATE_VRS),
        ActionSpec(Action.TRUNCATE_DATE, "", "truncate dates and times, e.g. to the month",
                   {"to": Param(str, "month", _one_of(TRUNCATE_UNITS), "unit",
                                TRUNCATE_UNITS)}, DATE_VRS),
        ActionSpec(Action.ROUND, "", "round numbers and ages down into bands of `step`",
                   {"step": Param(float, None, _positive), "max": Param(float, 0.0)},
                   NUMBER_VRS | frozenset({"AS"})),
    )
}

_BASIC_CODES: Mapping[str, Action] = {
    "K": Action.KEEP,
    "X": Action.REMOVE,
    "Z": Action.EMPTY,
    "D": Action.DUMMY,
    "C": Action.CLEAN,
    "U": Action.UID,
}

#: Protectiveness order used when two enabled options give one attribute different codes.
PROTECTIVE_ORDER: tuple[Action, ...] = (
    Action.REMOVE, Action.EMPTY, Action.DUMMY, Action.HASH, Action.PSEUDONYM, Action.UID,
    Action.SHIFT_DATE, Action.TRUNCATE_DATE, Action.ROUND, Action.CLEAN, Action.KEEP,
)


def resolve_compound(code: str) -> str:
    """Resolve a PS3.15 compound code to one code: its last, least destructive one.

    ``X/Z`` -> ``Z``, ``X/D`` -> ``D``, ``Z/D`` -> ``D``, ``X/Z/D`` -> ``D``,
    ``X/Z/U*`` -> ``U``. The engine does not know each attribute's Type in every IOD, so it
    takes the choice that keeps every IOD conformant (PS3.15 Table E.1-1a).
    """
    return code.split("/")[-1].rstrip("*")


def from_ps315_code(code: str) -> Action:
    """Map a PS3.15 Table E.1-1 code (compound codes included) to a canonical action."""
    single = resolve_compound(code.strip())
    try:
        return _BASIC_CODES[single]
    except KeyError:
        raise ValueError(f"unknown PS3.15 action code {code!r}") from None


def most_protective(actions: list[Action]) -> Action:
    """The most protective of several actions (see :data:`PROTECTIVE_ORDER`)."""
    return min(actions, key=PROTECTIVE_ORDER.index)
