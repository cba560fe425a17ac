"""What one recipe action line does to an element, as a step of pydicom/deid's run.

pydicom/deid applies the ``%header`` lines in order, with three exceptions its parser builds in:
a ``KEEP`` element is left out of every later ``REPLACE``, ``JITTER``, ``REMOVE`` and ``BLANK``
(only ``ADD`` still writes it); an element named by any ``REPLACE`` or ``JITTER`` line is never
removed; and a value it cannot compute (``var:NAME`` or ``func:NAME`` the caller did not supply)
makes the line do nothing. :func:`step_of` turns a line into a :class:`Step`;
:mod:`deid.recipe.importer` folds the steps of one element into its action.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deid.policy.actions import ACTIONS, Action
from deid.recipe.parse import RecipeLine
from deid.transform.values import dummy_value

#: deid_func values pydicom/deid provides, as canonical actions.
DEID_FUNCS = {
    "dicom_uuid": (Action.UID, "a new UID derived from the old one (consistent)"),
    "pydicom_uuid": (Action.UID, "a new UID from pydicom's generator (consistent when stable "
                     "remapping is on)"),
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


def step_of(line: RecipeLine) -> Step:
    """The step a ``%header`` line takes on each element it names."""
    if line.annotation:
        annotated = _annotated(line)
        if annotated is not None:
            return annotated
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
        function = name.split()[0] if name.split() else ""
        if function in DEID_FUNCS:
            action, meaning = DEID_FUNCS[function]
            return Step(line, Kind.SET, action, shields=shields, note=meaning,
                        exact=action is Action.UID)
        return Step(line, Kind.NOTHING, shields=shields, exact=False,
                    note=f"deid_func:{function} is not a function pydicom/deid provides; "
                         "nothing is written")
    return Step(line, Kind.SET, Action.DUMMY, {"value": value}, shields=shields)


def _annotated(line: RecipeLine) -> Step | None:
    """The exact action a deid export recorded before the line, where the recipe has only a
    nearest one."""
    try:
        data = json.loads(line.annotation or "")
        action = Action(data.pop("action"))
    except (ValueError, KeyError, AttributeError, TypeError):
        return None
    params = {key: value for key, value in data.items() if key in ACTIONS[action].params}
    shields = line.action in ("REPLACE", "JITTER")
    if action is Action.KEEP:
        return Step(line, Kind.PROTECT, note="the deid comment restores keep", annotated=True)
    return Step(line, Kind.SET, action, dict(params), shields=shields, annotated=True,
                note=f"the deid comment restores {action.value}, which a recipe cannot "
                     "express")


def default_dummy(action: Action, params: dict[str, Any], vr: str) -> dict[str, Any]:
    """A dummy whose value is the VR's own dummy text is the default dummy (no ``value``)."""
    if action is Action.DUMMY and str(params.get("value", "")) == str(dummy_value(vr)):
        return {key: value for key, value in params.items() if key != "value"}
    return dict(params)
