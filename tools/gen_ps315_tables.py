#!/usr/bin/env python3
"""Generate ``deid/_standard/`` tables from the DICOM PS3.15 DocBook source (``part15.xml``).

Writes Table E.1-1 (Application Level Confidentiality Profile Attributes) and Table E.3.10-1
(Safe Private Attributes) as CSV. Each file starts with ``# `` stamp lines naming this generator,
the DICOM edition, the source's sha256, the table and its row count; the output has no timestamps,
so a re-run on the same source is byte-identical. Standard library only; runs offline::

    python tools/gen_ps315_tables.py --source ../shared/reference/ps3.15/part15.xml

The source is published by NEMA at https://dicom.nema.org/medical/dicom/current/source/docbook/.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "reference" / "ps3.15" / "part15.xml"
DEFAULT_OUT = REPO_ROOT / "deid" / "_standard"
GENERATOR = "tools/gen_ps315_tables.py"

DB = "{http://docbook.org/ns/docbook}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
EDITION_RE = re.compile(r"\bDICOM PS3\.15 (\d{4}[a-z]?)\b")


class SourceError(Exception):
    """The source document is missing or does not have the expected shape."""


@dataclass(frozen=True)
class TableSpec:
    """How one source table maps to one CSV file.

    ``labels`` are the source header labels in order; ``columns`` are the CSV columns, and
    ``order`` gives, for each CSV column, the index of the source column it comes from.
    """

    xml_id: str
    filename: str
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    order: tuple[int, ...]


E1_1 = TableSpec(
    xml_id="table_E.1-1",
    filename="table_e1_1.csv",
    labels=(
        "Attribute Name",
        "Tag",
        "Retd. (from )",  # the PS3.6 reference is an empty <olink/>
        "In Std. Comp. IOD (from )",  # likewise PS3.3
        "Basic Prof.",
        "Rtn. Safe Priv. Opt.",
        "Rtn. UIDs Opt.",
        "Rtn. Dev. Id. Opt.",
        "Rtn. Inst. Id. Opt.",
        "Rtn. Pat. Chars. Opt.",
        "Rtn. Long. Full Dates Opt.",
        "Rtn. Long. Modif. Dates Opt.",
        "Clean Desc. Opt.",
        "Clean Struct. Cont. Opt.",
        "Clean Graph. Opt.",
    ),
    columns=(
        "tag",
        "attribute_name",
        "retired",
        "in_std_comp_iod",
        "basic_profile",
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
    ),
    order=(1, 0, *range(2, 15)),
)

E3_10_1 = TableSpec(
    xml_id="table_E.3.10-1",
    filename="table_e3_10_1.csv",
    labels=("Data Element", "Private Creator", "VR", "VM", "Meaning"),
    columns=("data_element", "private_creator", "vr", "vm", "meaning"),
    order=(0, 1, 2, 3, 4),
)

TABLES = (E1_1, E3_10_1)


def cell_text(cell: ET.Element) -> str:
    """All text nodes of ``cell`` joined, U+200B removed, whitespace collapsed and stripped."""
    return " ".join("".join(cell.itertext()).replace("\u200b", "").split())


def find_table(root: ET.Element, xml_id: str) -> ET.Element:
    """The ``<table>`` whose ``xml:id`` is ``xml_id``."""
    for table in root.iter(f"{DB}table"):
        if table.get(XML_ID) == xml_id:
            return table
    raise SourceError(f"table xml:id={xml_id!r} not found")


def row_cells(row: ET.Element, where: str) -> list[str]:
    """Texts of the ``th``/``td`` cells of ``row``; refuse spans other than 1."""
    cells = [c for c in row if c.tag in (f"{DB}th", f"{DB}td")]
    for number, cell in enumerate(cells, start=1):
        for span in ("rowspan", "colspan"):
            if cell.get(span, "1") != "1":
                raise SourceError(f"{where}, cell {number}: {span}={cell.get(span)} not supported")
    return [cell_text(c) for c in cells]


def read_table(root: ET.Element, spec: TableSpec) -> tuple[str, list[list[str]]]:
    """Check the header of ``spec``'s table and return its title and rows in CSV column order."""
    table = find_table(root, spec.xml_id)
    header_rows = table.findall(f"{DB}thead/{DB}tr")
    if len(header_rows) != 1:
        raise SourceError(f"{spec.xml_id}: expected 1 header row, found {len(header_rows)}")
    labels = tuple(row_cells(header_rows[0], f"{spec.xml_id} header"))
    if labels != spec.labels:
        raise SourceError(
            f"{spec.xml_id}: header labels {list(labels)} differ from expected {list(spec.labels)}"
        )
    rows = []
    for number, tr in enumerate(table.findall(f"{DB}tbody/{DB}tr"), start=1):
        where = f"{spec.xml_id} row {number}"
        cells = row_cells(tr, where)
        if len(cells) != len(spec.labels):
            raise SourceError(f"{where}: {len(cells)} cells, expected {len(spec.labels)}")
        rows.append([cells[i] for i in spec.order])
    caption = table.find(f"{DB}caption")
    title = cell_text(caption) if caption is not None else ""
    return f"{table.get('label', '')} {title}".strip(), rows


def edition(root: ET.Element) -> str:
    """The edition, e.g. ``2026c``, from the document's ``<subtitle>``."""
    subtitle = root.find(f"{DB}subtitle")
    text = cell_text(subtitle) if subtitle is not None else ""
    match = EDITION_RE.search(text)
    if not match:
        raise SourceError(f"no 'DICOM PS3.15 <edition>' in <subtitle> (found {text!r})")
    return match.group(1)


def render(stamp: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Stamp lines, then the CSV header and rows with ``\\n`` line endings."""
    buffer = io.StringIO()
    buffer.writelines(f"# {line}\n" for line in stamp)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def generate(source: Path, out: Path) -> list[Path]:
    """Read ``source`` (part15.xml) and write every table of :data:`TABLES` into ``out``."""
    if not source.is_file():
        raise SourceError(f"source {source} not found; pass --source path/to/part15.xml")
    data = source.read_bytes()
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceError(f"{source} is not well-formed XML: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    release = edition(root)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in TABLES:
        title, rows = read_table(root, spec)
        stamp = (
            f"Generated by {GENERATOR}; do not edit.",
            f"Source: DICOM PS3.15 {release}, {source.name} sha256 {digest}",
            f"Table: {title} (xml:id {spec.xml_id})",
            f"Rows: {len(rows)}",
        )
        path = out / spec.filename
        path.write_text(render(stamp, spec.columns, rows), encoding="utf-8", newline="")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry; one clear line on stderr and status 2 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="part15.xml")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    try:
        paths = generate(args.source, args.out)
    except (SourceError, OSError) as exc:
        print(f"gen_ps315_tables: error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
