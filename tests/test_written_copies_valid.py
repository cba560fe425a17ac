"""Written copies stay as valid as their originals: an independent validator (``dciodvfy``
from Debian's dicom3tools) finds no error in a de-identified copy that the original did not
have, for every sample file under every shipped profile. `.ci/run` installs dicom3tools.

Debian's dicom3tools follows the standard of 2022; the requirement tables the writer uses
(``deid/_standard/``) follow a later edition, which made a few attributes optional (e.g. the RT
Structure Set's ROI Contour Sequence). A missing attribute that the later edition no longer
requires is an edition difference, listed by the test, not an error of the writer."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pydicom
import pytest

import deid
from deid import Secrets, list_profiles, load_profile
from deid.outputs.effects import required_secrets
from deid.policy.iods import Requirements, requirements_for
from tests.test_byte_writer import PYDICOM_FILES, written_bytes

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = sorted(SAMPLE.glob("files/*.dcm")) + sorted(SAMPLE.glob("cohort/*.dcm"))
DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not installed: .ci/run installs Debian's dicom3tools "
    "(apt-get install dicom3tools)")
#: Values an error quotes (UIDs, numbers) differ between a file and its copy by design.
_VALUE = re.compile(r"<[0-9.]+>")
_MISSING = re.compile(r"^Error - Missing attribute Type [12]C? \w+ Element=<(\w+)>")


@cache
def original_errors(path: Path) -> frozenset[str]:
    """:func:`errors` of an input file (the same for every profile)."""
    return frozenset(errors(path))


def errors(path: Path) -> set[str]:
    """dciodvfy's error lines for a file, with quoted numeric values masked."""
    assert DCIODVFY is not None
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60,
                         check=False)
    lines = (run.stdout + run.stderr).splitlines()
    return {_VALUE.sub("<>", line) for line in lines if line.startswith("Error")}


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_copies_have_no_error_their_originals_did_not_have(profile_id: str,
                                                           tmp_path: Path) -> None:
    profile = load_profile(profile_id)
    secrets = Secrets({name: f"valid-{name}" for name in required_secrets([profile])})
    result = deid.apply_profiles([str(path) for path in FILES], [profile], secrets=secrets,
                                 write_dicom=tmp_path, workers=1)
    assert result.load_errors.empty
    new = {}
    for original in FILES:
        copy = next((tmp_path / profile_id).rglob(original.name))
        added = errors(copy) - original_errors(original)
        requirements = _requirements(original)
        real = sorted(error for error in added if not _edition_difference(error, requirements))
        if real:
            new[original.name] = real
    assert new == {}


def _requirements(path: Path) -> Requirements | None:
    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    return requirements_for(dataset.SOPClassUID, [element.keyword for element in dataset])


def _edition_difference(error: str, requirements: Requirements | None) -> bool:
    """A top-level attribute the validator's older edition requires and ours does not."""
    missing = _MISSING.match(error)
    return bool(missing and requirements is not None
                and requirements.type_of((missing.group(1),)) is None)


def test_the_check_catches_a_broken_copy(tmp_path: Path) -> None:
    original = SAMPLE / "files" / "ct_series_slice1.dcm"
    broken = pydicom.dcmread(original)
    del broken.SOPClassUID
    del broken.StudyInstanceUID
    broken.save_as(tmp_path / "broken.dcm")
    assert errors(tmp_path / "broken.dcm") - errors(original)


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_byte_written_copies_are_as_valid_as_the_engines(profile_id: str,
                                                         tmp_path: Path) -> None:
    """On files with sequences and items of undefined length nested in each other, the byte
    writer's copy has exactly the errors of the engine's copy. (Some copies have errors their
    originals lack whichever writer wrote them, caused by the profile itself: PS3.15 removes
    Current Requested Procedure Evidence Sequence while an SR's content keeps its references.)"""
    profile = load_profile(profile_id)
    differing = {}
    for original in PYDICOM_FILES:
        copies = written_bytes(original, profile)
        assert copies is not None, original.name
        engine, written = (tmp_path / f"{kind}-{original.name}" for kind in ("engine", "bytes"))
        engine.write_bytes(copies[0])
        written.write_bytes(copies[1])
        if errors(engine) != errors(written):
            differing[original.name] = sorted(errors(engine) ^ errors(written))
    assert differing == {}
