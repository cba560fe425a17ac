"""The ``# deid {...}`` comments of an exported recipe, and when to trust one.

pydicom/deid ignores comments, so a comment cannot change what pydicom/deid does to an element;
it can only tell deid which action an exported line stands for where a recipe has only a nearer
one. A comment is therefore trusted only when exporting the action it records gives back exactly
the line under it (:func:`deid.recipe.render.line_text`, for the element that line's field names,
with the recipe's parameters and its ``REMOVE ALL``). Otherwise the line is imported as
pydicom/deid runs it, and the lint reports ``annotation-mismatch`` (an error naming the field):
``# deid {"action": "remove"}`` above ``KEEP PatientName`` keeps the element in pydicom/deid, and
is imported and reviewed as keep. The comment's JSON is read as the CTP bridge reads its own
(:func:`deid.ctp.annotation.read_annotation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from deid.ctp.annotation import Judgement, read_annotation
from deid.ctp.functions import Problem
from deid.policy.dictionary import info_for_tag
from deid.recipe.fields import TargetKind, resolve_field
from deid.recipe.parse import RecipeLine
from deid.recipe.render import element_field, line_text, private_field
from deid.tags import format_tag, parse_tag


@dataclass(frozen=True)
class Element:
    """The one element a recipe field names: how a finding names it, the field deid would
    write for it, and its VR."""

    label: str
    field: str
    vr: str


def field_element(field: str) -> Element | None:
    """The element ``field`` names, or ``None`` for a field that names none or many."""
    target = resolve_field(field)
    matcher = dict(target.matchers[0]) if len(target.matchers) == 1 else {}
    if target.kind is TargetKind.TAG and "tag" in matcher:  # not a repeating-group pattern
        tag = parse_tag(matcher["tag"])
        info = info_for_tag(tag)
        vr = info.vr.split(" or ")[0] if info and info.vr else "UN"
        label = f"{info.keyword} {format_tag(tag)}" if info and info.keyword else format_tag(tag)
        return Element(label, element_field(tag), vr)
    if target.kind is TargetKind.PRIVATE:
        written = private_field(matcher["element"], matcher["private_creator"])
        return Element(written, written, "UN") if written else None
    return None


def judge_line(line: RecipeLine, declared: Mapping[str, str], allow_list: bool) -> Judgement:
    """Whether the ``# deid`` comment of ``line`` may be trusted (``line.annotation`` is set).

    Parameters
    ----------
    line
        A ``%header`` line with its comment.
    declared
        The recipe's parameters (from its ``# deid-settings`` comment, or the profile's
        ``[params]``).
    allow_list
        True when the recipe removes every element (``REMOVE ALL``).
    """
    text = line.annotation or ""
    annotation = read_annotation(text)
    where = f"line {line.number} {line.text!r}"
    if annotation is None:
        return Judgement(None, Problem(
            "unreadable-annotation", "warning", f"{line.field}, {where}: the deid comment "
            f"{text!r} is not readable; the line itself is imported"))
    element = field_element(line.field)
    claims = annotation.action.value
    if element is None:
        return Judgement(None, Problem(
            "annotation-mismatch", "error", f"{line.field}, {where}: the deid comment claims "
            f"{claims}, but deid writes one element a line and this field names no single "
            "element; imported as what the line does. Delete the comment"))
    exported = line_text(element.field, element.vr, annotation.action, annotation.params,
                         declared, allow_list)
    if exported == line.text:
        return Judgement(annotation, None)
    return Judgement(None, Problem(
        "annotation-mismatch", "error", f"{element.label}, {where}: the deid comment claims "
        f"{claims}, but exporting {claims} gives {exported!r}, not the line {line.text!r} that "
        "pydicom/deid runs; imported as what the line does. Correct the line, or delete the "
        "comment"))
