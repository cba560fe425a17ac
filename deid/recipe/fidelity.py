"""What a pydicom/deid recipe cannot say of what deid does, one code a row.

Actions are compared as the CTP bridge compares them (:func:`deid.ctp.fidelity.action_key`: the
action resolved for the element's VR, defaults filled in, spellings of one effect made one).
:data:`NOT_EXPRESSIBLE` lists what a ``%header`` line cannot say about one element;
:func:`not_expressible` gives the codes of one action. :data:`SETTINGS_NOT_EXPRESSIBLE` lists
what a recipe cannot say about the whole profile (private elements are handled by an argument of
pydicom/deid's run, not by a line). The exporter writes each element's nearest line with a
``# deid {...}`` comment and a ``# not expressible in a recipe: codes`` comment, and explains
every code in the recipe's header; the README lists the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from deid.ctp.fidelity import canonical, param
from deid.policy.actions import BINARY_VRS, Action
from deid.policy.profile_model import MatcherKind, PrivatePolicy, Profile, Unlisted
from deid.recipe.render import dummy_text, filled, uid_root_valid

#: The code of an element whose nearest line imports differently for no listed reason.
NEAREST = "nearest"
NEAREST_TEXT = "a recipe has only a nearest line for this action"

_REMOVES = "; the line removes the element"


def _root_expressible(params: Mapping[str, Any], declared: Mapping[str, str]) -> bool:
    return uid_root_valid(filled(str(param(params, Action.UID, "root")), declared))


#: What a recipe line cannot say, by code: the sentence, and the test on an action as deid
#: carries it out ``(action, params, vr, declared, allow_list)``.
NOT_EXPRESSIBLE: Mapping[str, tuple[str, Callable[..., bool]]] = MappingProxyType({
    "hash": (
        "pydicom/deid has no keyed hash of a value" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.HASH),
    "pseudonym": (
        "pydicom/deid has no pseudonym template" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.PSEUDONYM),
    "per-patient-date-shift": (
        "JITTER shifts every date by one fixed number of days; a per-patient offset is not "
        "expressible" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.SHIFT_DATE and not param(p, a, "days")),
    "truncate-date": (
        "pydicom/deid cannot truncate a date or time" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.TRUNCATE_DATE),
    "round": (
        "pydicom/deid cannot round a number or an age into bands" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.ROUND),
    "clean-text": (
        "pydicom/deid cannot scrub identifying text out of a value" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.CLEAN and vr != "SQ"),
    "clean-sequence": (
        "pydicom/deid cannot clean the text inside a sequence's items; the line removes the "
        "sequence",
        lambda a, p, vr, d, al: a is Action.CLEAN and vr == "SQ"),
    "dummy-sequence": (
        "a recipe cannot replace the values inside a sequence's items by dummies; the line "
        "removes the sequence",
        lambda a, p, vr, d, al: a is Action.DUMMY and vr == "SQ"),
    "dummy-binary": (
        "a recipe line writes text; it cannot write a binary or attribute-tag dummy" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.DUMMY and (vr in BINARY_VRS or vr == "AT")),
    "dummy-uid": (
        "deid's dummy UID remaps a UID that is present and writes 2.25.0 into an empty one; "
        "the line remaps it (deid_func:pydicom_uuid), which imports as uid",
        lambda a, p, vr, d, al: a is Action.DUMMY and vr == "UI" and not p.get("value")),
    "dummy-value": (
        "the value cannot be written on a REPLACE line unchanged ('#' starts a comment; quotes, "
        "repeated or outer spaces, var:, func: and deid_func: prefixes and unfilled {PARAM} "
        "fields are read otherwise)" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.DUMMY and vr not in ("SQ", "AT")
        and vr not in BINARY_VRS and (vr != "UI" or bool(p.get("value")))
        and dummy_text(vr, p, d) is None),
    "uid-secret": (
        "deid_func:pydicom_uuid derives the new UID from the old one alone; it cannot key it "
        "by a named secret",
        lambda a, p, vr, d, al: a is Action.UID and vr == "UI"
        and param(p, a, "secret") != "default"),
    "uid-root": (
        "the UID root, its parameters filled in, is not a prefix pydicom accepts; the line "
        "uses pydicom's 2.25",
        lambda a, p, vr, d, al: a is Action.UID and vr == "UI" and not _root_expressible(p, d)),
    "uid-not-ui": (
        "deid_func:pydicom_uuid is written for elements of VR UI only; the line removes an "
        "element whose VR is unknown",
        lambda a, p, vr, d, al: a is Action.UID and vr not in ("UI", "SQ")),
    "blank-under-remove-all": (
        "REMOVE ALL removes the element before a BLANK line reaches it" + _REMOVES,
        lambda a, p, vr, d, al: a is Action.EMPTY and al),
})


def not_expressible(action: Action, params: Mapping[str, Any], vr: str,
                    declared: Mapping[str, str], allow_list: bool) -> tuple[str, ...]:
    """The :data:`NOT_EXPRESSIBLE` codes of an action (as deid carries it out on ``vr``), in
    table order."""
    action, params = canonical(action, params, vr)
    return tuple(code for code, (_, test) in NOT_EXPRESSIBLE.items()
                 if test(action, params, vr, declared, allow_list))


def _allow_list(profile: Profile) -> bool:
    return profile.effective_unlisted() is Unlisted.REMOVE


#: What a recipe cannot say about the whole profile, by code: the sentence, and the test.
SETTINGS_NOT_EXPRESSIBLE: Mapping[str, tuple[str, Callable[[Profile], bool]]] = \
    MappingProxyType({
        "private-remove": (
            "pydicom/deid removes private elements only when run with remove_private=True, an "
            "argument of the run, not a recipe line",
            lambda p: p.effective_private_tags() is PrivatePolicy.REMOVE
            and not _allow_list(p)),
        "private-safe": (
            "keeping only the safe private attributes (PS3.15 Table E.3.10-1) is not "
            "expressible; remove_private=True removes them all",
            lambda p: p.effective_private_tags() is PrivatePolicy.SAFE and not _allow_list(p)),
        "private-kept-under-remove-all": (
            "REMOVE ALL removes private elements too; keeping them is not expressible",
            lambda p: p.effective_private_tags() is not PrivatePolicy.REMOVE
            and _allow_list(p)),
        "private-creator-block": (
            "a field names one element of a private creator's block, never the whole block",
            lambda p: any(rule.enabled and rule.matcher.kind is MatcherKind.PRIVATE_CREATOR
                          for member in p.chain for rule in member.rules)),
    })


def settings_not_expressible(profile: Profile) -> tuple[str, ...]:
    """The :data:`SETTINGS_NOT_EXPRESSIBLE` codes of a profile, in table order."""
    return tuple(code for code, (_, test) in SETTINGS_NOT_EXPRESSIBLE.items() if test(profile))
