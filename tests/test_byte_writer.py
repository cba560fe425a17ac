"""The byte-level writer and the pydicom engine write the same data set for every file both can
write (values, VRs, sequence structure, file meta), under every shipped profile; the effects
table says which one wrote each copy; pixel data is copied, never re-encoded; and the copies
leave none of the sample's planted identifiers."""

from __future__ import annotations

import csv
import dataclasses
import io
from functools import cache
from pathlib import Path
from typing import Any

import pydicom
import pydicom.data
import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info

import deid
from deid import Secrets, list_profiles, load_profile
from deid.ingest.parse import Fallback, parse
from deid.ingest.tree import build_tree
from deid.outputs.effects import WRITER_BYTES, WRITER_PYDICOM, required_secrets
from deid.transform import byte_writer
from deid.transform.byte_writer import meta_end, write_copy
from deid.transform.engine import result_of
from deid.transform.plan import Planner
from tests import badinput
from tests.test_bytes_truth import problems_by_file

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = sorted(SAMPLE.glob("files/*.dcm")) + sorted(SAMPLE.glob("cohort/*.dcm"))[:3]
#: Files that install with pydicom whose sequences or items have undefined lengths (nested, an
#: item's first element a sequence of undefined length, long SR and waveform trees): the sample
#: has none, and they are where a walk of nested lengths goes wrong.
PYDICOM_FILES = [Path(pydicom.data.__file__).parent / "test_files" / name for name in (
    "693_J2KI.dcm", "JPEG-lossy.dcm", "JPEG2000-embedded-sequence-delimiter.dcm",
    "SC_rgb_gdcm_KY.dcm", "examples_jpeg2k.dcm", "examples_palette.dcm", "liver_1frame.dcm",
    "reportsi.dcm", "waveform_ecg.dcm")]


@cache
def profiles() -> tuple[deid.Profile, ...]:
    return tuple(load_profile(info.id) for info in list_profiles())


@cache
def secrets() -> Secrets:
    return Secrets({name: f"bytes-{name}" for name in required_secrets(profiles())})


def elements(dataset: Dataset, prefix: str = "") -> dict[str, tuple[str, Any]]:
    """element path -> (VR, value) for every element, sequences as their item count."""
    found: dict[str, tuple[str, Any]] = {}
    for element in dataset:
        path = f"{prefix}{element.tag}"
        if element.VR == "SQ":
            found[path] = ("SQ", len(element.value))
            for number, item in enumerate(element.value):
                found.update(elements(item, f"{path}[{number}]."))
            continue
        value = element.value
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            value = tuple(str(item) for item in value)
        elif not isinstance(value, bytes):
            value = str(value)
        found[path] = (element.VR, value)
    return found


def written_bytes(path: Path, profile: deid.Profile) -> tuple[bytes, bytes] | None:
    """The engine's copy and the byte writer's copy of one file (None: only the engine
    writes it)."""
    data = path.read_bytes()
    try:
        meta, body, _ = parse(data, len(data))
    except Fallback:
        return None
    planner = Planner(profile, secrets())
    whole = pydicom.dcmread(path)
    engine = io.BytesIO()
    result_of(planner.plan(*build_tree(whole, read_deferred=True)), whole).dataset.save_as(
        engine, enforce_file_format=True)
    copy = write_copy(data, len(data), planner.plan(meta, body), meta_end(data, len(data)))
    return engine.getvalue(), copy


def both(path: Path, profile: deid.Profile) -> tuple[Dataset, Dataset] | None:
    """The engine's copy and the byte writer's copy of one file, read back by pydicom."""
    copies = written_bytes(path, profile)
    if copies is None:
        return None
    return (pydicom.dcmread(io.BytesIO(copies[0])), pydicom.dcmread(io.BytesIO(copies[1])))


def _differences(files: list[Path], profile_id: str) -> tuple[int, dict[str, list[Any]]]:
    """How many files both writers wrote, and the first differing elements of each file."""
    differences = {}
    compared = 0
    for path in files:
        copies = both(path, load_profile(profile_id))
        if copies is None:
            continue
        compared += 1
        engine, written = copies
        mine = {**elements(engine.file_meta), **elements(engine)}
        theirs = {**elements(written.file_meta), **elements(written)}
        differing = sorted(key for key in mine.keys() | theirs.keys()
                           if mine.get(key) != theirs.get(key))
        if differing:
            differences[path.name] = [(key, mine.get(key), theirs.get(key))
                                      for key in differing[:5]]
    return compared, differences


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_the_byte_writer_and_the_engine_write_the_same_data_set(profile_id: str) -> None:
    compared, differences = _differences(FILES, profile_id)
    assert compared >= len(FILES) - 2
    assert differences == {}


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_undefined_lengths_nested_in_undefined_lengths_are_written_as_planned(
        profile_id: str, tmp_path: Path) -> None:
    """On files with nested sequences and items of undefined length, both writers write the
    same data set, and each row of the effects table equals what happens to the bytes."""
    compared, differences = _differences(PYDICOM_FILES, profile_id)
    assert compared == len(PYDICOM_FILES)
    assert differences == {}
    result = deid.apply_profiles([str(path) for path in PYDICOM_FILES],
                                 [load_profile(profile_id)], secrets=secrets(),
                                 include_values=True, write_dicom=tmp_path, workers=1)
    assert set(result.effects["writer"].astype(str)) == {WRITER_BYTES}
    assert problems_by_file(result.effects, PYDICOM_FILES, tmp_path / profile_id) == {}


def test_the_effects_table_says_which_writer_wrote_each_copy(tmp_path: Path) -> None:
    result = deid.apply_profiles([str(SAMPLE / "files")], [load_profile("ps315_basic")],
                                 secrets=secrets(), write_dicom=tmp_path, workers=1)
    writers = result.effects.groupby("file", observed=True)["writer"].first()
    by_name = {Path(str(name)).name: str(writer) for name, writer in writers.items()}
    assert by_name["cr_charset_iso2022_japanese.dcm"] == WRITER_PYDICOM  # escape sequences
    assert by_name["ct_series_slice1.dcm"] == WRITER_BYTES
    assert set(by_name.values()) == {WRITER_BYTES, WRITER_PYDICOM}
    alone = deid.apply_profiles([str(SAMPLE / "files" / "ct_series_slice1.dcm")],
                                [load_profile("ps315_basic")], secrets=secrets(), workers=1)
    assert alone.effects["writer"].isna().all()


def test_pixel_data_is_copied_byte_for_byte(tmp_path: Path) -> None:
    source = SAMPLE / "files" / "ct_series_slice1.dcm"
    deid.apply_profiles([str(source)], [load_profile("ps315_basic")], secrets=secrets(),
                        write_dicom=tmp_path, workers=1)
    copy = pydicom.dcmread(tmp_path / "ps315_basic" / source.name)
    assert copy.PixelData == pydicom.dcmread(source).PixelData
    assert (tmp_path / "ps315_basic" / source.name).read_bytes()[:128] == b"\0" * 128


def test_a_deflated_file_is_written_by_the_engine(tmp_path: Path) -> None:
    path = badinput.deflated(tmp_path)
    result = deid.apply_profiles([str(path)], [load_profile("ps315_basic")], secrets=secrets(),
                                 write_dicom=tmp_path / "out", workers=1)
    assert set(result.effects["writer"].astype(str)) == {WRITER_PYDICOM}
    assert (tmp_path / "out" / "ps315_basic" / path.name).exists()


@cache
def planted() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with (SAMPLE / "planted.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["decoy"] == "false" and row["kind"] != "flag":
                found.setdefault(row["file"], []).append(row["search_text"])
    return found


def test_byte_written_copies_leave_no_planted_identifier(tmp_path: Path) -> None:
    deid.apply_profiles([str(SAMPLE)], [load_profile("ps315_basic")], secrets=secrets(),
                        write_dicom=tmp_path, workers=1)
    leaks = []
    for name, needles in planted().items():
        written = (tmp_path / "ps315_basic" / name).read_bytes()
        for needle in needles:
            for codec in ("utf-8", "latin-1"):
                try:
                    encoded = needle.encode(codec)
                except UnicodeEncodeError:
                    continue
                if encoded in written:
                    leaks.append((name, needle))
    assert leaks == []


def _pydicom_meta(plan: Any) -> bytes:
    stream = DicomBytesIO()
    stream.is_little_endian, stream.is_implicit_VR = True, False
    write_file_meta_info(stream, byte_writer._meta(plan), enforce_standard=True)
    return stream.getvalue()


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_the_file_meta_is_encoded_as_pydicom_encodes_it(profile_id: str) -> None:
    """The byte writer encodes the file meta itself (ASCII text and OB values): the same bytes
    as pydicom's ``write_file_meta_info``, on every file the fast reader reads."""
    planner = Planner(load_profile(profile_id), secrets())
    encoded = 0
    for path in FILES + PYDICOM_FILES:
        data = path.read_bytes()
        try:
            meta, body, _ = parse(data, len(data))
        except Fallback:
            continue
        plan = planner.plan(meta, body)
        fast = byte_writer._meta_fast(plan)
        assert fast is not None, path.name
        assert fast[1] == _pydicom_meta(plan), path.name
        encoded += 1
    assert encoded >= len(FILES) - 2 + len(PYDICOM_FILES)


def test_file_meta_pydicom_would_complete_is_left_to_pydicom() -> None:
    """Without an element pydicom adds (Implementation Version Name) or requires (Media Storage
    SOP Instance UID), the meta is pydicom's: the same bytes, the same refusal."""
    data = (SAMPLE / "files" / "ct_series_slice1.dcm").read_bytes()
    meta, body, _ = parse(data, len(data))
    plan = Planner(load_profile("ps315_basic"), secrets()).plan(meta, body)
    for tag in (0x00020013, 0x00020003):
        kept = [outcome for outcome in plan.meta if outcome.tag != tag]
        partial = dataclasses.replace(plan, meta=kept, added_meta=[
            element for element in plan.added_meta if element.tag != tag])
        assert byte_writer._meta_fast(partial) is None
        if tag == 0x00020013:
            assert byte_writer._file_meta(partial)[1] == _pydicom_meta(partial)
            assert b"PYDICOM" in byte_writer._file_meta(partial)[1]
        else:
            with pytest.raises(AttributeError, match="Media Storage SOP Instance UID"):
                byte_writer._file_meta(partial)
