"""The synthetic sample data in data/sample: reproducible, readable, and what planted.csv says."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
GENERATOR = REPO / "tools" / "make_sample.py"
FILES = sorted((SAMPLE / "files").glob("*.dcm"))
COHORT = sorted((SAMPLE / "cohort").glob("*.dcm"))
KINDS = {"direct_identifier", "linkage", "quasi_identifier", "free_text", "private", "uid", "flag"}
PATH_PART = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)(?:\[(\d+)\])?")


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a CSV under data/sample."""
    with (SAMPLE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def tree(folder: Path) -> dict[str, bytes]:
    """Relative path to content for every file under ``folder``."""
    return {f.relative_to(folder).as_posix(): f.read_bytes()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def text_of(elem: DataElement) -> str | bytes:
    """Decoded value as text (multi-values joined by a backslash) or raw bytes."""
    value = elem.value
    if isinstance(value, bytes):
        return value
    if isinstance(value, MultiValue | list):
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def holds(elem: DataElement, needle: str) -> bool:
    """True if the element's decoded text or raw bytes contain ``needle``."""
    text = text_of(elem)
    return needle.encode("utf-8") in text if isinstance(text, bytes) else needle in text


def element_at(ds: Dataset, path: str) -> DataElement:
    """The element at a planted.csv element_path such as ``(0040,A730)[0].(0040,A160)``."""
    node, elem = ds, None
    for part in path.split("."):
        match = PATH_PART.fullmatch(part)
        assert match, f"malformed element_path {path!r}"
        tag = int(match[1] + match[2], 16)
        elem = (ds.file_meta if tag >> 16 == 0x0002 else node)[tag]
        if match[3] is not None:
            node = elem.value[int(match[3])]
    assert elem is not None
    return elem


def walked_values(ds: Dataset) -> list[DataElement]:
    """Every non-sequence element, nested ones and file meta included, via Dataset.walk."""
    found: list[DataElement] = []

    def collect(_: Dataset, elem: DataElement) -> None:
        if elem.VR != "SQ":
            found.append(elem)

    ds.file_meta.walk(collect)
    ds.walk(collect)
    return found


@pytest.fixture(scope="module")
def planted() -> list[dict[str, str]]:
    """planted.csv rows."""
    return read_csv("planted.csv")


def test_generator_reproduces_checked_in_data(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True)
    made, kept = tree(tmp_path), tree(SAMPLE)
    assert sorted(made) == sorted(kept)
    assert [name for name in sorted(made) if made[name] != kept[name]] == []


def test_there_are_files_and_a_cohort() -> None:
    assert 15 <= len(FILES) <= 25
    assert len(COHORT) == 300


def assert_round_trips(path: Path) -> None:
    """``path`` is a DICOM file with matching meta that re-writes and reads back unchanged."""
    assert path.read_bytes()[128:132] == b"DICM", path
    ds = pydicom.dcmread(path)
    meta = ds.file_meta
    assert meta.MediaStorageSOPClassUID == ds.SOPClassUID, path
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID, path
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    again = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    assert again.file_meta == meta, path
    assert again == ds, path


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_reads_and_round_trips(path: Path) -> None:
    assert_round_trips(path)


def test_cohort_files_read_and_round_trip() -> None:
    for path in COHORT:
        assert_round_trips(path)


def test_planted_csv_is_well_formed(planted: list[dict[str, str]]) -> None:
    keys = [(row["file"], row["element_path"]) for row in planted]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert {row["kind"] for row in planted} == KINDS
    assert {row["decoy"] for row in planted} == {"true", "false"}
    named = {row["file"] for row in planted}
    assert {f"files/{p.name}" for p in FILES} <= named


def test_planted_values_are_where_planted_csv_says(planted: list[dict[str, str]]) -> None:
    by_file: dict[str, list[dict[str, str]]] = {}
    for row in planted:
        by_file.setdefault(row["file"], []).append(row)
    for name, rows in by_file.items():
        ds = pydicom.dcmread(SAMPLE / name)
        everything = walked_values(ds)
        for row in rows:
            where = f"{name} {row['element_path']} {row['search_text']!r}"
            if row["element_path"] == "preamble":
                assert row["search_text"].encode() in ds.preamble, where
                continue
            assert holds(element_at(ds, row["element_path"]), row["search_text"]), where
            assert any(holds(elem, row["search_text"]) for elem in everything), where


def test_decoys_hold_no_planted_identifier(planted: list[dict[str, str]]) -> None:
    identifying: dict[str, set[str]] = {}
    for row in planted:
        if row["decoy"] == "false":
            identifying.setdefault(row["file"], set()).add(row["search_text"])
    decoys = [row for row in planted if row["decoy"] == "true"]
    assert decoys
    for row in decoys:
        clashes = {s for s in identifying[row["file"]] if s in row["search_text"]}
        assert not clashes, f"{row['file']} {row['element_path']}: {clashes}"


def test_sample_folder_stays_small() -> None:
    assert sum(len(content) for content in tree(SAMPLE).values()) < 4 * 1024 * 1024
    assert sum(len(content) for content in tree(SAMPLE / "cohort").values()) < 1.5 * 1024 * 1024


def age_on(birth: str, day: str) -> int:
    """Whole years from ``birth`` to ``day`` (both YYYYMMDD)."""
    b, d = dt.date.fromisoformat(birth), dt.date.fromisoformat(day)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def test_cohort_csv_agrees_with_headers() -> None:
    rows = read_csv("cohort.csv")
    assert sorted(row["file"] for row in rows) == [f"cohort/{p.name}" for p in COHORT]
    for row in rows:
        ds = pydicom.dcmread(SAMPLE / row["file"])
        assert "PixelData" not in ds
        assert (ds.PatientID, ds.PatientSex, ds.PatientAge, ds.StudyDate) == (
            row["PatientID"], row["PatientSex"], row["PatientAge"], row["StudyDate"])
        assert row["PostalCode"] in ds.PatientAddress
        assert ds.PatientAddress.endswith(", " + row["country"])
        assert age_on(ds.PatientBirthDate, ds.StudyDate) == int(row["PatientAge"][:3])


def test_cohort_has_large_and_unique_classes() -> None:
    rows = read_csv("cohort.csv")
    sizes = Counter(Counter((r["PatientAge"], r["PatientSex"], r["PostalCode"]) for r in rows)
                    .values())
    assert sum(n for size, n in sizes.items() if size >= 5) >= 5
    assert sizes[1] >= 10
    assert {row["PatientSex"] for row in rows} == {"M", "F", "O"}
