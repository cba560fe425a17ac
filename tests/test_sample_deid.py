"""ps315_basic on every bundled sample file leaves none of the planted identifying values
anywhere: values, nested items, private elements, file meta, or the written bytes."""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from deid import Secrets, apply_profile, load_profile, read_dataset
from tests.engine_helpers import all_text, from_bytes, to_bytes

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SECRETS = Secrets({"default": "sample-test"})
#: Planted kinds PS3.15 Basic must remove; `flag` rows (BurnedInAnnotation) mark pixel data
#: and are not attributes the Basic Profile changes.
REMOVED_KINDS = {"direct_identifier", "linkage", "quasi_identifier", "free_text", "private",
                 "uid"}


@cache
def planted_by_file() -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (SAMPLE / "planted.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["decoy"] == "false" and row["kind"] in REMOVED_KINDS:
                rows[row["file"]].append(row)
    return dict(rows)


def encodings_of(text: str) -> list[bytes]:
    """``text`` in every character set the samples use, where it can be encoded."""
    found = []
    for codec in ("utf-8", "latin-1", "iso2022_jp"):
        try:
            found.append(text.encode(codec))
        except UnicodeEncodeError:
            continue
    return found


def sample_files() -> list[str]:
    return sorted(str(path.relative_to(SAMPLE)) for path in SAMPLE.rglob("*.dcm"))


def test_there_is_something_to_check() -> None:
    assert len(sample_files()) > 300
    assert sum(len(rows) for rows in planted_by_file().values()) > 400


@pytest.mark.parametrize("name", [name for name in sample_files() if name.startswith("files/")]
                         + [name for name in sample_files() if name.startswith("cohort/")])
def test_basic_profile_removes_every_planted_value(name: str) -> None:
    path = SAMPLE / name
    before = path.read_bytes()
    result = apply_profile(read_dataset(path), load_profile("ps315_basic"), secrets=SECRETS)
    written = to_bytes(result.dataset)
    text = "\n".join(all_text(from_bytes(written))).casefold()
    leaks = []
    for row in planted_by_file().get(name, []):
        needle = row["search_text"]
        if needle.casefold() in text or any(e in written for e in encodings_of(needle)):
            leaks.append((row["element_path"], row["keyword"], needle))
    assert leaks == []
    assert path.read_bytes() == before
