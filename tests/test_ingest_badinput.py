"""Bad input: each gives one clear load_errors row (or loads with a warning) while every other
file loads; nothing hangs; no input file is modified."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from deid.ingest import IngestLimits, load_headers
from deid.ingest.reader import ReadError, time_limit
from tests import badinput

LIMITS = IngestLimits(max_archive_bytes=16 << 20, timeout_s=20)


def _checksums(folder: Path) -> dict[str, str]:
    sums = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root, name)
            if path.is_file() and os.access(path, os.R_OK):
                sums[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sums


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], pd.DataFrame,
                                                               pd.DataFrame, dict[str, str]]:
    folder = tmp_path_factory.mktemp("bad")
    made = badinput.make_all(folder)
    before = _checksums(folder)
    result = load_headers([folder], include_values=True, workers=2, limits=LIMITS)
    assert _checksums(folder) == before, "an input file was modified"
    return made, result.headers, result.load_errors, before


def _rows_for(errors: pd.DataFrame, path: Path) -> pd.DataFrame:
    name = path.as_posix()
    return errors[errors["file"].str.startswith(name)]


@pytest.mark.parametrize("name", sorted(badinput.BAD_INPUTS))
def test_each_bad_input(loaded: tuple, name: str) -> None:  # type: ignore[type-arg]
    made, headers, errors, _ = loaded
    expected = badinput.BAD_INPUTS[name][1]
    path = made[name]
    rows = _rows_for(errors, path)
    loaded_files = set(headers["file"].astype(str))
    if expected is None:
        assert rows.empty, rows.to_dict("records")
        assert path.as_posix() in loaded_files
        return
    assert expected in set(rows["error_kind"]), rows.to_dict("records")
    row = rows[rows["error_kind"] == expected].iloc[0]
    assert row["message"]
    if row["severity"] == "warning":
        assert path.as_posix() in loaded_files
    elif path.is_file() and path.suffix != ".zip":
        assert path.as_posix() not in loaded_files


def test_good_files_inside_bad_places_still_load(loaded: tuple) -> None:  # type: ignore[type-arg]
    made, headers, _, _ = loaded
    files = set(headers["file"].astype(str))
    assert (made["symlink_loop"] / "inside.dcm").as_posix() in files
    assert f"{made['unsafe_zip'].as_posix()}!ok/one.dcm" in files


def test_huge_element_is_not_read(loaded: tuple) -> None:  # type: ignore[type-arg]
    made, headers, _, _ = loaded
    rows = headers[headers["file"] == made["huge_element"].as_posix()]
    assert f"<{8 << 20} bytes>" in set(rows["value"].astype(str))


def test_character_sets_decode(loaded: tuple) -> None:  # type: ignore[type-arg]
    made, headers, _, _ = loaded

    def name_of(key: str) -> str:
        rows = headers[(headers["file"] == made[key].as_posix())
                       & (headers["keyword"] == "PatientName")]
        return str(rows["value"].iloc[0])

    assert name_of("latin1") == "Müller^Zoë"
    assert name_of("iso2022_japanese") == "Yamada^Tarou=山田^太郎=やまだ^たろう"


def test_unreadable_file(tmp_path: Path) -> None:
    if not badinput.can_block_reading():
        pytest.skip("running as root: chmod 000 does not stop root from reading")
    path = badinput.unreadable(tmp_path)
    result = load_headers([path], workers=1)
    assert list(result.load_errors["error_kind"]) == ["unreadable"]


def test_element_limit(tmp_path: Path) -> None:
    path = badinput.many_elements(tmp_path, count=600)
    result = load_headers([path], workers=1, limits=IngestLimits(max_elements=500))
    assert list(result.load_errors["error_kind"]) == ["too_many_elements"]


@pytest.fixture
def swallowed(monkeypatch: pytest.MonkeyPatch) -> list[type[BaseException] | None]:
    """Exceptions Python ignores (raised in a finalizer), recorded by a hook of a few bytecodes
    instead of pytest's: an alarm that lands in a finalizer is swallowed, and the next one
    would otherwise land in pytest's hook (slow the first time) and fail the test."""
    found: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: found.append(
        unraisable.exc_type))
    return found


def test_time_limit(tmp_path: Path, swallowed: list[type[BaseException] | None]) -> None:
    path = badinput.many_elements(tmp_path, count=5000)
    result = load_headers([path], workers=1, limits=IngestLimits(timeout_s=0.001))
    assert list(result.load_errors["error_kind"]) == ["timeout"]


def test_a_timeout_swallowed_by_a_finalizer_is_raised_again(
        swallowed: list[type[BaseException] | None]) -> None:
    """Python ignores an exception raised in ``__del__``: the first alarm may land there (the
    garbage collector runs finalizers at any time), the read must stop all the same."""

    def busy(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    class SlowToFinalize:
        def __del__(self) -> None:
            busy(0.2)  # the first alarm (after 0.01 s) is raised, and ignored, in here

    with pytest.raises(ReadError) as raised, time_limit(0.01):
        SlowToFinalize()  # finalized at once
        busy(2.0)
    assert raised.value.kind == "timeout"
    assert swallowed and swallowed[0] is not None and swallowed[0].__name__ == "_Timeout"
