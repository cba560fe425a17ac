"""What one recipe action line does to an element, as a step of pydicom/deid's run.

pydicom/deid applies the ``%header`` lines in order, with three exceptions its parser builds in:
a ``KEEP`` element is left out of every later ``REPLACE``, ``JITTER``, ``REMOVE`` and ``BLANK``
(only ``ADD`` still writes it); an element named by any ``REPLACE`` or ``JITTER`` line is never
removed; and a value it cannot compute (``var:NAME`` or ``func:NAME`` the caller did not supply)
makes the line do nothing. :func:`step_of` turns a line into a :class:`Step`;
:mod:`deid.recipe.importer` folds the steps of one element into its action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deid.ctp.annotation import Annotation
from deid.policy.actions import Action, uid_root_problem
from deid.recipe.parse import RecipeLine
from deid.recipe.render import DEFAULT_UID_ROOT, PYDICOM_MAX_PREFIX
from deid.transform.values import dummy_value

#: deid_func functions pydicom/deid provides that write a value, as canonical actions.
#: ``pydicom_uuid`` (with its defaults: prefix 2.25., stable remapping) derives the new UID from
#: the old one: deid's uid with that root. The others give a new random value on every run.
DEID_FUNCS = {
    "pydicom_uuid": (Action.UID, "a new UID derived from the old one by pydicom's "
                     "generate_uid (consistent: stable remapping)"),
    "dicom_uuid": (Action.DUMMY, "a random UID under org_root ('anonymous-organization' unless "
                   "given, which is not a UID root) on every run (not consistent; nearest: "
                   "dummy)"),
    "basic_uuid": (Action.DUMMY, "a random UUID on every run (not consistent; nearest: dummy)"),
    "suffix_uuid": (Action.DUMMY, "the field name and a random UUID (not consistent; nearest: "
                    "dummy)"),
}
_DAYS_RE = re.compile(r"^[+-]?\d+$")
_NOTHING = {"ADD": "adds nothing", "REPLACE": "leaves the element as it is"}


class Kind(StrEnum):
    """What a step does."""

    PROTECT = "protect"  # KEEP
    REMOVE = "remove"
    BLANK = "blank"
    SET = "set"  # ADD/REPLACE with a value, JITTER with days: the step's action
    NOTHING = "nothing"  # a value pydicom/deid cannot compute: the line does nothing


@dataclass(frozen=True)
class Step:
    """One line's effect: its kind, the action it sets, and whether it shields from REMOVE."""

    line: RecipeLine
    kind: Kind
    action: Action | None = None
    params: dict[str, Any] = field(default_factory=dict)
    shields: bool = False  # named by REPLACE or JITTER: pydicom/deid never removes it
    note: str = ""
    exact: bool = True
    annotated: bool = False  # the action a deid export recorded: it applies as it stands


def step_of(line: RecipeLine, trusted: Annotation | None = None) -> Step:
    """The step a ``%header`` line takes on each element it names: what pydicom/deid runs, or,
    with ``trusted``, the action of the line's ``# deid`` comment (trusted only where exporting
    it gives back this line, :mod:`deid.recipe.annotation`)."""
    if trusted is not None:
        return _annotated(line, trusted)
    action = line.action
    if action == "KEEP":
        return Step(line, Kind.PROTECT)
    if action == "BLANK":
        return Step(line, Kind.BLANK)
    if action == "REMOVE":
        return _remove(line)
    if action == "JITTER":
        return _jitter(line)
    return _value(line)


def _remove(line: RecipeLine) -> Step:
    if line.value is None:
        return Step(line, Kind.REMOVE)
    if line.value == "":
        return Step(line, Kind.NOTHING, note="text after the field is read as a condition, and "
                    "an empty condition is false: pydicom/deid never removes here", exact=False)
    if re.match(r"^(var|func|deid_func):", line.value):
        return Step(line, Kind.NOTHING, note=f"removal only when {line.value} (supplied by the "
                    "caller at run time) says so; without it nothing is removed", exact=False)
    return Step(line, Kind.REMOVE)


def _jitter(line: RecipeLine) -> Step:
    value = line.value or ""
    if _DAYS_RE.match(value):
        days = int(value)
        if days == 0:
            return Step(line, Kind.NOTHING, shields=True, note="a jitter of 0 days")
        return Step(line, Kind.SET, Action.SHIFT_DATE, {"days": days}, shields=True)
    match = re.match(r"^deid_func:jitter\s+days=([+-]?\d+)$", value)
    if match:
        return Step(line, Kind.SET, Action.SHIFT_DATE, {"days": int(match.group(1))},
                    shields=True)
    return Step(line, Kind.NOTHING, shields=True, exact=False,
                note=f"the days come from {value}, supplied by the caller at run time; without "
                     "them the element is left as it is")


def _value(line: RecipeLine) -> Step:
    value = line.value or ""
    shields = line.action == "REPLACE"
    kind, _, name = value.partition(":")
    if kind in ("var", "func") and name:
        return Step(line, Kind.NOTHING, shields=shields, exact=False,
                    note=f"{value} is supplied by the caller at run time; without it "
                         f"pydicom/deid {_NOTHING[line.action]}")
    if kind == "deid_func":
        function, _, extras = name.strip().partition(" ")
        if function == "pydicom_uuid":
            return _pydicom_uuid(line, extras, shields)
        if function in DEID_FUNCS:
            action, meaning = DEID_FUNCS[function]
            return Step(line, Kind.SET, action, shields=shields, note=meaning, exact=False)
        return Step(line, Kind.NOTHING, shields=shields, exact=False,
                    note=f"deid_func:{function} is not a function pydicom/deid provides; "
                         "nothing is written")
    return Step(line, Kind.SET, Action.DUMMY, {"value": value}, shields=shields)


def _pydicom_uuid(line: RecipeLine, extras: str, shields: bool) -> Step:
    """``deid_func:pydicom_uuid`` with its ``key=value`` extras, as pydicom/deid reads them
    (``prefix``, default ``2.25.``; ``stable_remapping``, on unless not exactly ``true``)."""
    options = dict(pair.split("=", 1) for pair in extras.split(" ") if "=" in pair)
    options = {key.strip(): value.strip() for key, value in options.items()}
    if options.get("stable_remapping", "true") != "true":
        return Step(line, Kind.SET, Action.DUMMY, shields=shields, exact=False,
                    note="deid_func:pydicom_uuid with stable_remapping off writes a random UID "
                         "on every run (not consistent; nearest: dummy)")
    prefix = options.get("prefix", DEFAULT_UID_ROOT + ".")
    root = prefix[:-1]
    if not prefix.endswith(".") or uid_root_problem(root) or len(prefix) > PYDICOM_MAX_PREFIX:
        return Step(line, Kind.NOTHING, shields=shields, exact=False,
                    note=f"prefix={prefix} is not a UID prefix pydicom accepts (numbers and "
                         "dots ending in a dot, at most 54 characters): generate_uid raises an "
                         "error instead of writing a UID")
    params = {} if root == DEFAULT_UID_ROOT else {"root": root}
    return Step(line, Kind.SET, Action.UID, params, shields=shields,
                note=DEID_FUNCS["pydicom_uuid"][1])


def _annotated(line: RecipeLine, annotation: Annotation) -> Step:
    """The exact action a deid export recorded before the line, where the recipe has only a
    nearest one."""
    shields = line.action in ("REPLACE", "JITTER")
    if annotation.action is Action.KEEP:
        return Step(line, Kind.PROTECT, note="the deid comment restores keep", annotated=True)
    return Step(line, Kind.SET, annotation.action, dict(annotation.params), shields=shields,
                annotated=True, note=f"the deid comment restores {annotation.action.value}, "
                "which a recipe cannot express")


def default_dummy(action: Action, params: dict[str, Any], vr: str) -> dict[str, Any]:
    """A dummy whose value is the VR's own dummy text is the default dummy (no ``value``)."""
    if action is Action.DUMMY and str(params.get("value", "")) == str(dummy_value(vr)):
        return {key: value for key, value in params.items() if key != "value"}
    return dict(params)
