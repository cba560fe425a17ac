"""The ``<!--deid {...}-->`` comments of an exported script, and when to trust one.

CTP ignores comments, so a comment cannot change what CTP does; it can only tell deid what an
exported element stood for where CTP has only a nearest script. A comment is therefore trusted
only when exporting the action it records gives back exactly the element's script text
(:func:`deid.ctp.render.element_script`). Otherwise the script is imported, and the lint reports
``annotation-mismatch`` (an error naming the element): ``@keep()<!--deid {"action":
"remove"}-->`` keeps the element in CTP, and is imported and reviewed as keep.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from deid.ctp.arguments import element_vr
from deid.ctp.functions import Problem
from deid.ctp.render import ScriptParams, element_script
from deid.policy.actions import ACTIONS, Action


@dataclass(frozen=True)
class Annotation:
    """The action and parameters a ``deid {...}`` comment records."""

    action: Action
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Judgement:
    """An annotation that may be trusted (``None`` when it may not), and why not."""

    trusted: Annotation | None
    problem: Problem | None


def read_annotation(text: str) -> Annotation | None:
    """The comment's JSON as an action with its parameters; ``None`` when unreadable."""
    try:
        data = json.loads(text)
        action = Action(data.pop("action"))
        params = {key: value for key, value in data.items() if key in ACTIONS[action].params}
    except (ValueError, KeyError, AttributeError, TypeError):
        return None
    return Annotation(action, MappingProxyType(params))


def judge_annotation(text: str, script: str, tag: int | None, params: Mapping[str, str],
                     element: str) -> Judgement:
    """Whether the comment ``text`` on an element whose script is ``script`` may be trusted.

    Parameters
    ----------
    text
        The JSON of the ``<!--deid {...}-->`` comment.
    script
        The element's script text, as CTP reads it (comments excluded).
    tag
        The element's tag (``None`` for ``gggg[Creator]ee`` elements).
    params
        The script's declared (non-secret) parameters.
    element
        How to name the element in a finding, e.g. ``PatientName (0010,0010)``.
    """
    annotation = read_annotation(text)
    if annotation is None:
        return Judgement(None, Problem(
            "unreadable-annotation", "warning", f"{element}: the deid comment {text!r} is not "
            "readable; the script itself is imported"))
    scratch = ScriptParams(dict(params), set())
    _, _, exported = element_script(annotation.action, annotation.params,
                                         element_vr(tag), scratch)
    if exported.strip() == script.strip():
        return Judgement(annotation, None)
    ran = " ".join(script.split()) or "(empty script)"
    return Judgement(None, Problem(
        "annotation-mismatch", "error", f"{element}: the deid comment claims "
        f"{annotation.action.value}, but exporting {annotation.action.value} gives "
        f"{exported!r}, not the script {ran!r} that CTP runs; imported as what the script "
        "does. Correct the script, or delete the comment"))
