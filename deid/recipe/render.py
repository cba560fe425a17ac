"""The recipe line deid writes for what it does to one element, and the field that names it.

:func:`line_text` is the one place where an action becomes a ``%header`` line: the exporter
writes it, and an import trusts a ``# deid {...}`` comment only where this function, given the
comment's action, gives back the very line under it (:mod:`deid.recipe.annotation`). The line
is written for the action as deid carries it out on the element's VR
(:func:`deid.ctp.fidelity.canonical`): a date shift of a time of day is ``KEEP``, cleaning a
person name is the dummy deid writes.

The lines a recipe has: ``KEEP``, ``REMOVE``, ``BLANK`` (not under ``REMOVE ALL``, which removes
the element before a ``BLANK`` reaches it), ``REPLACE`` with a fixed value, ``REPLACE`` with
``deid_func:pydicom_uuid`` (a new UID derived from the old one, under ``prefix=``), and
``JITTER`` by a fixed number of days. Every other action is written ``REMOVE``, at least as
protective.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from deid.ctp.fidelity import canonical, param
from deid.policy.actions import ACTIONS, BINARY_VRS, Action, uid_root_problem
from deid.policy.dictionary import info_for_tag
from deid.recipe.fields import keyword_tag
from deid.recipe.parse import split_line
from deid.tags import format_tag
from deid.transform.values import dummy_value

ANNOTATION_PREFIX = "# deid "
#: pydicom/deid's function for a new UID derived from the old one (stable remapping).
UID_FUNCTION = "deid_func:pydicom_uuid"
DEFAULT_UID_ROOT = "2.25"
#: The longest ``prefix`` pydicom's ``generate_uid`` takes.
PYDICOM_MAX_PREFIX = 54
_RUN_TIME_RE = re.compile(r"^(var|func|deid_func):")
_PARAM_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def element_field(tag: int) -> str:
    """The keyword where the dictionary has one that names exactly this tag, else the tag."""
    info = info_for_tag(tag)
    if info and info.keyword and not info.is_pattern and keyword_tag(info.keyword) == tag:
        return info.keyword
    return format_tag(tag)


def private_field(pattern: str, creator: str) -> str | None:
    """``(gggg,"Creator",ee)`` for a private element rule ``(gggg,xxee)`` of ``creator``;
    ``None`` where a recipe field cannot name it."""
    if '"' in creator or len(pattern) != 11 or pattern[6:8] != "xx" \
            or "x" in pattern[1:5] + pattern[8:10]:
        return None
    return f'({pattern[1:5]},"{creator}",{pattern[8:10]})'


def line_text(field: str, vr: str, action: Action, params: Mapping[str, Any],
              declared: Mapping[str, str], allow_list: bool) -> str:
    """The ``%header`` line for what ``action`` does to the element ``field`` of ``vr``.

    Parameters
    ----------
    field
        The field as written: a keyword, a tag or ``(gggg,"Creator",ee)``.
    vr
        The element's VR (``UN`` when unknown).
    action, params
        deid's action for the element (resolved for the VR here).
    declared
        The profile's ``[params]``: ``{NAME}`` fields of values and roots are filled in.
    allow_list
        True when the recipe starts with ``REMOVE ALL``.
    """
    action, params = canonical(action, params, vr)
    value: str | None = None
    if action is Action.KEEP:
        return f"KEEP {field}"
    if action is Action.EMPTY and not allow_list:
        return f"BLANK {field}"
    if action is Action.DUMMY:
        value = dummy_text(vr, params, declared)
        if vr == "UI" and not params.get("value"):
            value = UID_FUNCTION  # deid's dummy UID remaps a UID that is present
    elif action is Action.UID and vr == "UI":
        value = uid_text(params, declared)
    elif action is Action.SHIFT_DATE and param(params, action, "days"):
        return f"JITTER {field} {int(param(params, action, 'days'))}"
    return f"REPLACE {field} {value}" if value else f"REMOVE {field}"


def dummy_text(vr: str, params: Mapping[str, Any], declared: Mapping[str, str]) -> str | None:
    """The fixed text a dummy writes, when a ``REPLACE`` line can carry it unchanged."""
    given = str(params.get("value") or "")
    if vr in BINARY_VRS or vr in ("SQ", "AT") or (vr == "UI" and not given):
        return None
    text = filled(given or str(dummy_value(vr)), declared)
    if (not text or "#" in text or "{" in text or _RUN_TIME_RE.match(text)
            or " ".join(split_line(text)) != text or "'" in text or '"' in text):
        return None
    return text


def uid_text(params: Mapping[str, Any], declared: Mapping[str, str]) -> str:
    """``deid_func:pydicom_uuid``, with ``prefix=`` for a root other than 2.25 (the root
    deid would use when it is not a UID root after its parameters are filled in)."""
    root = filled(str(param(params, Action.UID, "root")), declared)
    if root == DEFAULT_UID_ROOT or not uid_root_valid(root):
        return UID_FUNCTION
    return f"{UID_FUNCTION} prefix={root}."


def uid_root_valid(root: str) -> bool:
    """True for a root deid accepts whose prefix (``root.``) pydicom accepts (54 characters
    at most)."""
    return uid_root_problem(root) is None and len(root) + 1 <= PYDICOM_MAX_PREFIX


def annotation_comment(action: Action, params: Mapping[str, Any]) -> str:
    """The ``# deid {...}`` comment recording an action and its non-default parameters."""
    spec = ACTIONS[action].params
    record = {"action": action.value, **{key: value for key, value in params.items()
                                         if key in spec and value != spec[key].default}}
    return ANNOTATION_PREFIX + json.dumps(record, sort_keys=True)


def filled(text: str, declared: Mapping[str, str]) -> str:
    """``text`` with its ``{NAME}`` fields replaced by the declared values (others left)."""
    return _PARAM_FIELD_RE.sub(lambda match: declared.get(match.group(1), match.group(0)),
                               text)
