"""Read pydicom/deid recipe files: ``FORMAT dicom``, sections and their lines.

A recipe (as pydicom/deid documents it) is plain text: ``FORMAT dicom``, then sections opened by
``%header``, ``%filter NAME``, ``%values NAME``, ``%fields NAME`` (or ``%labels``). ``%header``
holds actions, one a line: ``ADD``, ``BLANK``, ``JITTER``, ``KEEP``, ``REMOVE`` and ``REPLACE``,
then a field (a keyword, a tag, ``(gggg,"Creator",ee)``, or an expression such as
``endswith:Date``) and, for ``ADD``, ``REPLACE`` and ``JITTER`` (optionally ``REMOVE``), a value.
``%filter`` holds ``LABEL`` groups of filters (``contains``, ``equals``, ``missing``...) and
pixel coordinates; ``%values`` and ``%fields`` hold ``FIELD``/``SPLIT`` lines. Lines starting
with ``#`` are comments. A comment line ``# deid {...}`` written by :mod:`deid.recipe.exporter`
annotates the action line after it. Errors are :class:`RecipeError` (file and line); lines that
pydicom/deid would skip are kept as notes, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deid.errors import DeidError

HEADER_ACTIONS = ("ADD", "BLANK", "JITTER", "KEEP", "REMOVE", "REPLACE")
VALUE_ACTIONS = ("ADD", "REPLACE", "JITTER")
SECTIONS = ("header", "labels", "filter", "values", "fields")
FILTERS = ("contains", "notcontains", "equals", "notequals", "missing", "present", "empty")
_ANNOTATION_RE = re.compile(r"^#\s*deid\s+(\{.*\})\s*$")
_SETTINGS_RE = re.compile(r"^#\s*deid-settings\s+(\{.*\})\s*$")
_TOKEN_RE = re.compile(r"""(?:[^\s"']+|"(?:\\.|[^"])*"|'(?:\\.|[^'])*')+""")


class RecipeError(DeidError):
    """A recipe that cannot be read: names the file and the line (1-based)."""

    def __init__(self, name: str, line: int | None, message: str) -> None:
        self.name = name
        self.line = line
        self.detail = message
        where = f"{name}, line {line}" if line is not None else name
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class RecipeLine:
    """One line of a section: its number, section, action, field, value and text."""

    number: int
    section: str
    section_name: str
    action: str
    field: str
    value: str | None
    text: str
    annotation: str | None = None


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe: its name, format, lines by section, and the lines pydicom/deid skips."""

    name: str
    format: str
    lines: tuple[RecipeLine, ...]
    skipped: tuple[tuple[int, str, str], ...]  # (line number, text, why)
    settings: str | None = None  # a ``# deid-settings {...}`` comment written by deid

    def header(self) -> tuple[RecipeLine, ...]:
        """The ``%header`` action lines, in order."""
        return tuple(line for line in self.lines if line.section == "header")

    def group(self, section: str, name: str) -> tuple[RecipeLine, ...]:
        """The lines of ``%values NAME`` or ``%fields NAME``."""
        return tuple(line for line in self.lines if line.section == section
                     and line.section_name == name)

    def filter_labels(self) -> tuple[str, ...]:
        """The ``LABEL`` names of the ``%filter`` sections (pixel-cleaning criteria)."""
        return tuple(line.field for line in self.lines if line.action == "LABEL")


def parse_recipe(text: str, name: str) -> Recipe:
    """Read a recipe; raise :class:`RecipeError` where pydicom/deid would stop.

    pydicom/deid stops on a format other than ``dicom``, an unknown section, a filter, values
    or fields section without a name, an action before any section, and an action without the
    field or value it needs; it skips other unrecognised lines (kept in ``skipped``).
    """
    fmt = ""
    section = section_name = ""
    lines: list[RecipeLine] = []
    skipped: list[tuple[int, str, str]] = []
    annotation: str | None = None
    settings: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _ANNOTATION_RE.match(stripped)
            annotation = match.group(1) if match else annotation
            found = _SETTINGS_RE.match(stripped)
            settings = found.group(1) if found else settings
            continue
        if re.match(r"^format\b", stripped, re.IGNORECASE):
            fmt = re.sub(r"(?i)^format\s*", "", stripped).split("#")[0].strip().lower()
            if fmt != "dicom":
                raise RecipeError(name, number, f"FORMAT {fmt or '(none)'} is not supported; "
                                  "pydicom/deid recipes for DICOM say FORMAT dicom")
        elif stripped.startswith("%"):
            section, section_name = _section(stripped, name, number)
        elif section in ("values", "fields") and stripped.upper().startswith(("FIELD", "SPLIT")):
            lines.append(_group_line(stripped, section, section_name, name, number))
        elif stripped.upper().startswith((*HEADER_ACTIONS, "LABEL")):
            if not section:
                raise RecipeError(name, number, "an action before any section: open one with "
                                  "%header first")
            if stripped.upper().startswith("LABEL"):
                label = stripped[len("LABEL"):].split("#")[0].strip()
                lines.append(RecipeLine(number, section, section_name, "LABEL", label, None,
                                        stripped))
            elif section == "header":
                lines.append(_action_line(stripped, section_name, name, number, annotation))
            else:
                skipped.append((number, stripped, f"an action in %{section}"))
            annotation = None
        elif section == "filter":
            continue  # a filter member or coordinates of the LABEL above: pixel criteria
        else:
            skipped.append((number, stripped, "not recognised; pydicom/deid skips it"))
    if not fmt:
        raise RecipeError(name, None, "no FORMAT line: a recipe starts with FORMAT dicom")
    return Recipe(name, fmt, tuple(lines), tuple(skipped), settings)


def _section(line: str, name: str, number: int) -> tuple[str, str]:
    parts = line.split("#", 1)[0].strip().split(None, 1)
    section = parts[0].lstrip("%").lower()
    if section not in SECTIONS:
        raise RecipeError(name, number, f"%{section} is not a recipe section; expected one of "
                          f"{', '.join('%' + known for known in SECTIONS)}")
    section_name = parts[1].strip() if len(parts) > 1 else ""
    if section in ("filter", "values", "fields") and not section_name:
        raise RecipeError(name, number, f"%{section} needs a name, e.g. %{section} whitelist")
    return section, section_name


def split_line(line: str) -> list[str]:
    """Split on spaces outside quotes (private creators may contain spaces)."""
    return _TOKEN_RE.findall(line)


def _action_line(line: str, section_name: str, name: str, number: int,
                 annotation: str | None) -> RecipeLine:
    parts = split_line(line)
    action = parts[0].upper()
    if action not in HEADER_ACTIONS or len(parts) < 2:
        raise RecipeError(name, number, f"{line!r}: {parts[0]} needs a field, e.g. "
                          f"{action} PatientID")
    field = parts[1]
    value = " ".join(parts[2:]).split("#")[0].strip() if len(parts) > 2 else None
    if action in VALUE_ACTIONS and not value:
        raise RecipeError(name, number, f"{line!r}: {action} needs a value after the field")
    if action in ("BLANK", "KEEP"):
        value = None  # pydicom/deid ignores anything after the field
    return RecipeLine(number, "header", section_name, action, field, value, line, annotation)


def _group_line(line: str, section: str, section_name: str, name: str,
                number: int) -> RecipeLine:
    parts = split_line(line)
    if len(parts) < 2:
        raise RecipeError(name, number, f"{line!r}: {parts[0]} needs a field")
    value = " ".join(parts[2:]).split("#")[0].strip() or None
    return RecipeLine(number, section, section_name, parts[0].upper(), parts[1], value, line)
