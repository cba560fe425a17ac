"""What the tables say equals what happens to the bytes.

Every shipped profile is applied to every sample file with de-identified copies written; each
row of the effects table is checked against the observed difference between the input file and
the written copy, element by element (file meta and nested items included): removed elements
are gone, kept ones hold their original value, emptied ones are empty, changed ones differ, and
no row says ``modify`` where the value is unchanged. The effects computed without writing (the
fast reader's trees) equal the ones recorded while writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset

import deid
from deid import Secrets, list_profiles, load_profile
from deid.outputs.effects import required_secrets

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SECRETS = Secrets({name: f"bytes-truth-{name}" for name in required_secrets(
    [load_profile(info.id) for info in list_profiles()])})
FILES = sorted(SAMPLE.glob("files/*.dcm")) + sorted(SAMPLE.glob("cohort/*.dcm"))
#: Elements the writer adds or recomputes: the markers, its own file meta identity, and the
#: group lengths it writes.
ADDED = frozenset({"(0012,0062)", "(0012,0063)", "(0012,0064)", "(0028,0303)", "(0002,0000)",
                   "(0002,0001)", "(0002,0002)", "(0002,0003)", "(0002,0010)", "(0002,0012)",
                   "(0002,0013)", "(0002,0016)"})


def _values(dataset: Dataset, prefix: str = "") -> dict[str, tuple[str, Any]]:
    """element path -> (VR, comparable value) for every element at any depth."""
    found: dict[str, tuple[str, Any]] = {}
    for element in dataset:
        path = f"{prefix}({element.tag.group:04X},{element.tag.element:04X})"
        if element.VR == "SQ":
            found[path] = ("SQ", len(element.value or []))
            for number, item in enumerate(element.value or []):
                found.update(_values(item, f"{path}[{number}]."))
        else:
            found[path] = (element.VR, _comparable(element.value))
    return found


def _comparable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        items = [_comparable(item) for item in value]
        return items[0] if len(items) == 1 else tuple(items)
    return str(value).strip()


def _file_values(path: Path) -> dict[str, tuple[str, Any]]:
    dataset = pydicom.dcmread(path)
    return {**_values(dataset.file_meta), **_values(dataset)}


def _is_empty(value: Any) -> bool:
    return value in ("", b"", 0, ()) if not isinstance(value, tuple) else not value


@cache
def _applied(profile_id: str, out: Path) -> pd.DataFrame:
    result = deid.apply_profiles([str(path) for path in FILES], [load_profile(profile_id)],
                                 secrets=SECRETS, include_values=True, write_dicom=out,
                                 workers=1)
    assert result.load_errors.empty, result.load_errors
    return result.effects


def problems_by_file(effects: pd.DataFrame, originals: Sequence[Path],
                     copies: Path) -> dict[str, list[str]]:
    """The first five rows of each original whose effects differ from what happened to its
    copy ``copies / <name>`` (files with none left out)."""
    problems = {}
    for original in originals:
        mine = effects[effects["file"].astype(str) == str(original)]
        found = _check_file(mine, original, copies / original.name)
        if found:
            problems[original.name] = found[:5]
    return problems


def _check_file(effects: pd.DataFrame, original: Path, written: Path) -> list[str]:
    before, after = _file_values(original), _file_values(written)
    problems = []
    rows = {str(row.element_path): row for row in effects.itertuples()}
    for path, row in rows.items():
        action, effect = str(row.action), str(row.effect)
        tag = path.rsplit(".", 1)[-1].split("[")[0]
        if tag.endswith(",0000)"):
            continue  # group lengths: dropped, and recomputed by the writer for the file meta
        old, new = before.get(path), after.get(path)
        if action == "remove":
            if new is not None and path not in ADDED:
                problems.append(f"{path}: recorded as removed, but written")
            continue
        if new is None:
            problems.append(f"{path}: recorded as {action}/{effect}, but not written")
            continue
        assert old is not None, path
        if effect == "keep" and old != new:
            problems.append(f"{path}: recorded as kept ({action}), but {old} -> {new}")
        if effect == "modify" and old == new and old[0] != "SQ":
            problems.append(f"{path}: recorded as modified ({action}), but unchanged")
        if action == "empty" and not _is_empty(new[1]):
            problems.append(f"{path}: recorded as emptied, but holds {new[1]!r}")
    for path in after:
        top = path.split(".")[0].split("[")[0]
        if path not in rows and top not in ADDED and not path.endswith(",0000)"):
            problems.append(f"{path}: written, but not in the effects table")
    return problems


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_effects_equal_the_bytes_written(profile_id: str, tmp_path: Path) -> None:
    effects = _applied(profile_id, tmp_path)
    problems = []
    for original in FILES:
        relative = original.relative_to(SAMPLE)
        mine = effects[effects["file"].astype(str).str.endswith(str(relative))]
        assert len(mine), relative
        written = tmp_path / profile_id / relative.name
        if not written.exists():
            written = next(tmp_path.joinpath(profile_id).rglob(relative.name))
        problems += [f"{relative}: {problem}"
                     for problem in _check_file(mine, original, written)]
    assert problems == []


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_effects_without_writing_equal_the_ones_written(profile_id: str, tmp_path: Path) -> None:
    written = _applied(profile_id, tmp_path).drop(columns=["residual_risk", "writer"])
    computed = deid.apply_profiles([str(path) for path in FILES], [load_profile(profile_id)],
                                   secrets=SECRETS, include_values=True, workers=1)
    pd.testing.assert_frame_equal(computed.effects.drop(columns=["residual_risk", "writer"]),
                                  written, check_categorical=False)
