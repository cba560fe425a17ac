"""`scan` and `apply` on a folder mixing the sample files with every kind of bad input: exit
status 0, every bad input listed in load_errors, the rest loaded, no input modified."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from deid.cli import main
from tests import badinput

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "files"


def checksums(folder: Path) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in folder.rglob("*") if path.is_file() and not path.is_symlink()
            and os.access(path, os.R_OK)}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copytree(SAMPLE, folder / "sample")
    made = badinput.make_all(folder / "bad", unreadable_file=False)
    return folder, made


@pytest.mark.parametrize("command", ["scan", "apply"])
def test_mixed_folder_exits_zero_and_lists_every_bad_input(
        mixed: tuple[Path, dict[str, Path]], tmp_path: Path, command: str) -> None:
    folder, made = mixed
    before = checksums(folder)
    out, err = io.StringIO(), io.StringIO()
    argv = [command, str(folder), "--out", str(tmp_path), "--format", "parquet"]
    if command == "apply":
        argv += ["--profiles", "ps315_basic", "--ephemeral-secret"]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    assert checksums(folder) == before
    errors = pd.read_parquet(tmp_path / "load_errors.parquet")
    table = pd.read_parquet(tmp_path / ("headers.parquet" if command == "scan"
                                        else "effects.parquet"))
    loaded = set(table["file"].astype(str))
    for name, (_, kind) in badinput.BAD_INPUTS.items():
        if kind is None:
            continue
        rows = errors[errors["file"].astype(str).str.startswith(made[name].as_posix())]
        assert not rows.empty, name
        if name != "zip_bomb":  # small here: under the default expansion limit it is read and
            # found not to be DICOM; tests/test_ingest_badinput.py lowers the limit to refuse it
            assert kind in set(rows["error_kind"]), (name, rows.to_dict("records"))
    for path in sorted((folder / "sample").glob("*.dcm")):
        assert path.as_posix() in loaded, path
