"""DICOM PS3.15 Annex E tables shipped with the package.

The CSV files under ``deid/_standard/`` are generated from the NEMA DocBook source by
``tools/gen_ps315_tables.py``; their ``#`` stamp lines name the DICOM edition. This module reads
them once (cached), checks their columns and flags, and hands out frozen rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

STANDARD_DIR = Path(__file__).parent.parent / "_standard"
E1_1_FILE = "table_e1_1.csv"
E3_10_1_FILE = "table_e3_10_1.csv"

OPTION_IDS: tuple[str, ...] = (
    "retain_safe_private",
    "retain_uids",
    "retain_device_identity",
    "retain_institution_identity",
    "retain_patient_characteristics",
    "retain_long_full_dates",
    "retain_long_modified_dates",
    "clean_descriptors",
    "clean_structured_content",
    "clean_graphics",
)
"""Table E.1-1 option columns, in the order of the standard."""

E1_1_COLUMNS = ("tag", "attribute_name", "retired", "in_std_comp_iod", "basic_profile", *OPTION_IDS)
E3_10_1_COLUMNS = ("data_element", "private_creator", "vr", "vm", "meaning")

_FLAGS = {"Y": True, "N": False}
_EDITION_RE = re.compile(r"^# Source: DICOM PS3\.15 (\w+),")
_REGENERATE = "regenerate it with tools/gen_ps315_tables.py"


class StandardTableError(ValueError):
    """A shipped standard table is missing or malformed; names the file and line."""

    def __init__(self, path: Path, line: int | None, cause: str) -> None:
        where = f"{path.name}:{line}" if line is not None else path.name
        super().__init__(f"{where}: {cause}; {_REGENERATE}")
        self.path = path
        self.line = line
        self.cause = cause


@dataclass(frozen=True, slots=True)
class E11Row:
    """One row of Table E.1-1 (Application Level Confidentiality Profile Attributes).

    ``tag`` is as printed in the standard, e.g. ``(0008,0050)`` or ``(60xx,3000)``;
    ``basic_profile`` is the Basic Profile action code (``X``, ``Z/D``, ``X/Z/U*``, ...);
    ``options`` maps each option id of :data:`OPTION_IDS` with a non-empty cell to its code.
    """

    tag: str
    attribute_name: str
    retired: bool
    in_std_comp_iod: bool
    basic_profile: str
    options: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class SafePrivateRow:
    """One row of Table E.3.10-1 (Safe Private Attributes), e.g. ``(7053,xx00)``."""

    data_element: str
    private_creator: str
    vr: str
    vm: str
    meaning: str


def _lines(name: str) -> list[str]:
    path = STANDARD_DIR / name
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StandardTableError(path, None, f"cannot read ({exc.strerror})") from exc


def _records(name: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line number, row)`` for the data rows of ``name``, skipping ``#`` lines."""
    path = STANDARD_DIR / name
    lines = _lines(name)
    start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    reader = csv.reader(lines[start:])
    header = tuple(next(reader, ()))
    if header != columns:
        raise StandardTableError(path, start + 1, f"columns {header} differ from {columns}")
    for cells in reader:
        line = start + reader.line_num
        if len(cells) != len(columns):
            raise StandardTableError(path, line, f"{len(cells)} cells, expected {len(columns)}")
        yield line, dict(zip(columns, cells, strict=True))


def _flag(record: dict[str, str], column: str, path: Path, line: int) -> bool:
    try:
        return _FLAGS[record[column]]
    except KeyError:
        raise StandardTableError(
            path, line, f"{column} is {record[column]!r}, expected Y or N"
        ) from None


def _e11_row(record: dict[str, str], line: int) -> E11Row:
    path = STANDARD_DIR / E1_1_FILE
    options = {option: record[option] for option in OPTION_IDS if record[option]}
    return E11Row(
        tag=record["tag"],
        attribute_name=record["attribute_name"],
        retired=_flag(record, "retired", path, line),
        in_std_comp_iod=_flag(record, "in_std_comp_iod", path, line),
        basic_profile=record["basic_profile"],
        options=MappingProxyType(options),
    )


@cache
def table_e1_1() -> tuple[E11Row, ...]:
    """All rows of Table E.1-1, in the order of the standard (alphabetical by attribute name)."""
    return tuple(_e11_row(record, line) for line, record in _records(E1_1_FILE, E1_1_COLUMNS))


ODD_GROUP_ROW = "(gggg,eeee) where gggg is odd"


def e11_row_for(tag: int) -> E11Row | None:
    """The Table E.1-1 row that covers ``tag``: its own row, else the most specific pattern row
    (``(60xx,3000)``, ``(50xx,xxxx)``), else for a private element the odd-group row."""
    exact, patterns, odd = _e11_index()
    if tag >> 16 & 1:
        return odd
    row = exact.get(tag)
    if row is not None:
        return row
    for mask, value, pattern_row in patterns:
        if tag & mask == value:
            return pattern_row
    return None


@cache
def _e11_index() -> tuple[dict[int, E11Row], tuple[tuple[int, int, E11Row], ...], E11Row | None]:
    exact: dict[int, E11Row] = {}
    patterns: list[tuple[int, int, int, E11Row]] = []
    odd = None
    for row in table_e1_1():
        if row.tag == ODD_GROUP_ROW:
            odd = row
            continue
        digits = row.tag[1:5] + row.tag[6:10]
        mask = int("".join("0" if d in "xX" else "F" for d in digits), 16)
        value = int("".join("0" if d in "xX" else d for d in digits), 16)
        if mask == 0xFFFFFFFF:
            exact[value] = row
        else:
            patterns.append((digits.lower().count("x"), mask, value, row))
    ordered = tuple((mask, value, row) for _, mask, value, row in sorted(
        patterns, key=lambda item: item[0]))
    return exact, ordered, odd


@cache
def safe_private_attributes() -> tuple[SafePrivateRow, ...]:
    """All rows of Table E.3.10-1, in the order of the standard."""
    return tuple(SafePrivateRow(**record) for _, record in _records(E3_10_1_FILE, E3_10_1_COLUMNS))


@cache
def dicom_edition() -> str:
    """The DICOM edition the tables were generated from, e.g. ``"2026c"``."""
    for line in _lines(E1_1_FILE):
        if not line.startswith("#"):
            break
        match = _EDITION_RE.match(line)
        if match:
            return match.group(1)
    raise StandardTableError(STANDARD_DIR / E1_1_FILE, None, "no '# Source: DICOM PS3.15' stamp")
