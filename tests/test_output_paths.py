"""De-identified copies: two inputs whose copies would land on one file are both refused
(``output_refused``), whatever spelling their names use; their effects are still recorded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from deid import Secrets, load_profile
from deid.outputs.effects import apply_profiles
from tests import badinput

PROFILE = "ps315_basic"


def _dicom(number: int) -> bytes:
    buffer = io.BytesIO()
    badinput.base_dataset(number).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _apply(paths: list[Path], out: Path):  # type: ignore[no-untyped-def]
    return apply_profiles(paths, [load_profile(PROFILE)],
                          secrets=Secrets.ephemeral("default"), workers=1, write_dicom=out)


def _written(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


@pytest.mark.parametrize("spelling", ["ok/./c.dcm", "ok//c.dcm", "./ok/c.dcm"])
def test_zip_members_that_land_on_one_file_are_refused(tmp_path: Path, spelling: str) -> None:
    archive = tmp_path / "in" / "series.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr(spelling, _dicom(1))
        opened.writestr("ok/c.dcm", _dicom(2))
        opened.writestr("ok/d.dcm", _dicom(3))
    out = tmp_path / "out"
    result = _apply([archive], out)
    errors = result.load_errors
    refused = errors[errors["error_kind"] == "output_refused"]
    assert sorted(refused["file"]) == sorted(
        [f"{archive.as_posix()}!{spelling}", f"{archive.as_posix()}!ok/c.dcm"])
    assert refused["message"].str.contains("series/ok/c.dcm", regex=False).all()
    assert _written(out) == [f"{PROFILE}/series/ok/d.dcm"]
    assert result.effects["file"].nunique() == 3  # every input's effects are recorded


def test_files_with_one_name_in_two_folders_are_refused(tmp_path: Path) -> None:
    paths = []
    for number, folder in enumerate(("a", "b"), start=1):
        path = tmp_path / "in" / folder / "x.dcm"
        path.parent.mkdir(parents=True)
        path.write_bytes(_dicom(number))
        paths.append(path)
    out = tmp_path / "out"
    result = _apply(paths, out)
    refused = result.load_errors[result.load_errors["error_kind"] == "output_refused"]
    assert sorted(refused["file"]) == sorted(p.as_posix() for p in paths)
    assert _written(out) == []
    assert result.effects["file"].nunique() == 2
