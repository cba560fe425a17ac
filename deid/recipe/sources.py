"""Rule sources that quote a recipe line, and the problems found by reading them again.

An imported rule's ``source`` is ``deid recipe <name> line <n>: <the line>`` (or
``pydicom/deid <version> <file> line <n>: <the line>`` for the shipped profile), followed, when a
``# deid {...}`` comment stands above the line, by a second line ``with the comment above it:
# deid {...}``. The linter reads the line back, so field expressions, values supplied at run time,
conditions that never hold and comments the line contradicts (``annotation-mismatch``) are
reported from the profile file alone, like the CTP bridge does for its elements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from deid.recipe.annotation import judge_line
from deid.recipe.fields import TargetKind, resolve_field
from deid.recipe.parse import HEADER_ACTIONS, RecipeError, RecipeLine, _action_line
from deid.recipe.values import step_of

PREFIXES = ("deid recipe ", "pydicom/deid ")
_COMMENT = "\nwith the comment above it: # deid "
_SOURCE_RE = re.compile(r"^(?P<label>(?:deid recipe|pydicom/deid) [^\n]+?) line (?P<number>\d+): "
                        r"(?P<text>[^\n]+)(?:" + re.escape(_COMMENT) + r"(?P<annotation>\{.*\}))?$",
                        re.DOTALL)


def line_source(label: str, line: RecipeLine) -> str:
    """The ``source`` of a rule decided by ``line`` of the recipe called ``label`` (with the
    ``# deid`` comment above the line, if any)."""
    source = f"{label} line {line.number}: {line.text}"
    return source if line.annotation is None else f"{source}{_COMMENT}{line.annotation}"


@dataclass(frozen=True, slots=True)
class QuotedLine:
    """A recipe line quoted in a rule source."""

    label: str
    number: int
    line: RecipeLine


def quoted_line(source: str) -> QuotedLine | None:
    """The recipe line a rule source quotes, or ``None``."""
    match = _SOURCE_RE.match(source)
    if not match or not match.group("text").upper().startswith(HEADER_ACTIONS):
        return None
    number = int(match.group("number"))
    try:
        line = _action_line(match.group("text").strip(), "", match.group("label"), number,
                            match.group("annotation"))
    except RecipeError:
        return None
    return QuotedLine(match.group("label"), number, line)


def problems_of_line(line: RecipeLine, declared: Mapping[str, str],
                     allow_list: bool) -> list[tuple[str, str, str]]:
    """``(severity, code, message)`` for what a profile cannot say exactly about a line, and
    for a ``# deid`` comment above it that may not be trusted (judged with the recipe's
    parameters ``declared`` and whether it starts with ``REMOVE ALL``, ``allow_list``). A line
    whose comment is trusted was imported from the comment: its own problems are not the
    rule's."""
    found = []
    if line.annotation is not None:
        problem = judge_line(line, declared, allow_list).problem
        if problem is None:
            return []
        found.append((problem.severity, problem.code, problem.message))
    target = resolve_field(line.field)
    where = f"line {line.number} {line.text!r}"
    if target.kind is TargetKind.EXPANDED:
        found.append(("warning", "not-representable", f"{where}: {target.detail}; pydicom/deid "
                      "also matches private elements by their names and elements newer than "
                      "its dictionary, which these rules do not cover"))
    elif target.kind is TargetKind.VR:
        found.append(("info", "not-representable", f"{where}: a VR rule reaches standard "
                      "elements only; pydicom/deid also selects private elements of that VR"))
    step = step_of(line)
    if not step.exact and step.note:
        found.append(("warning", "not-representable", f"{where}: {step.note}"))
    return found
