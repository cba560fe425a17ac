"""Encodings the fast reader and the byte writer handle besides the plain case, each exactly as
pydicom reads it: an implicit VR palette LUT descriptor (its ambiguous VR resolved by the pixel
representation, its first value left as read) and encapsulated pixel data of undefined length
inside an item (an icon image). For each: the fast reader reads the file (no
fallback to pydicom), its element tree equals pydicom's (values included), the byte writer
writes the copy (the effects table says ``bytes``), the copy equals the engine's element by
element under every shipped profile, and every effects row equals what happened to the bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

import deid
from deid import list_profiles, load_profile
from deid.ingest.parse import Fallback, parse
from deid.ingest.reader import ArchiveCache, read_header
from deid.ingest.sources import IngestLimits, Source
from deid.ingest.tree import Node, Unread
from deid.outputs.effects import WRITER_BYTES
from tests.test_byte_writer import _differences, secrets
from tests.test_bytes_truth import problems_by_file

TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"


def _base(syntax: str) -> Dataset:
    dataset = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    dataset.file_meta.TransferSyntaxUID = syntax
    return dataset


def _save(dataset: Dataset, path: Path, implicit: bool) -> Path:
    dataset.save_as(path, implicit_vr=implicit, little_endian=True, enforce_file_format=True)
    return path


def palette_lut_implicit(folder: Path, pixel_representation: int, first: int = 4096) -> Path:
    """Implicit VR, palette LUT descriptors ('US or SS' in the dictionary)."""
    dataset = _base(ImplicitVRLittleEndian)
    dataset.PixelRepresentation = pixel_representation
    for tag in (0x00281101, 0x00281102, 0x00281103):
        dataset.add(DataElement(tag, "US", [first, 0, 16]))
    return _save(dataset, folder / f"lut_pr{pixel_representation}_{first}.dcm", implicit=True)


def private_sequence_implicit(folder: Path) -> Path:
    """Implicit VR, a private element of undefined length without a known creator whose value
    is an item: pydicom reads it as a sequence, but the engine writes it with a defined length
    that pydicom reads back as UN, so the fast reader leaves it to pydicom (both writers must
    write the same data set)."""
    dataset = _base(ImplicitVRLittleEndian)
    inner = Dataset()
    inner.add(DataElement(0x00111010, "LO", "inner value"))
    item = Dataset()
    item.add(DataElement(0x00111002, "LO", "private text"))
    item.PatientName = "Nested^Patient"
    nested = DataElement(0x00111003, "SQ", Sequence([inner]), is_undefined_length=True)
    item.add(nested)
    outer = DataElement(0x00111001, "SQ", Sequence([item]), is_undefined_length=True)
    dataset.add(outer)
    return _save(dataset, folder / "private_sequence.dcm", implicit=True)


def icon_encapsulated(folder: Path) -> Path:
    """Explicit VR, an icon image whose pixel data is encapsulated (undefined length) inside
    the Icon Image Sequence item."""
    dataset = _base(ExplicitVRLittleEndian)
    icon = Dataset()
    icon.SamplesPerPixel, icon.Rows, icon.Columns = 1, 2, 2
    icon.BitsAllocated, icon.BitsStored, icon.HighBit = 8, 8, 7
    icon.PixelRepresentation = 0
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.add(DataElement(0x7FE00010, "OB", encapsulate([b"\x01\x02\x03\x04\x05\x06"]),
                         is_undefined_length=True))
    dataset.IconImageSequence = Sequence([icon])
    return _save(dataset, folder / "icon.dcm", implicit=False)


MAKERS: dict[str, Callable[[Path], Path]] = {
    "palette_lut_implicit_unsigned": lambda folder: palette_lut_implicit(folder, 0, 65535),
    "palette_lut_implicit_signed": lambda folder: palette_lut_implicit(folder, 1),
    "icon_encapsulated": icon_encapsulated,
}


def _shape(nodes: list[Node]) -> list[tuple[object, ...]]:
    return [(node.tag, node.vr, node.creator, node.shown, node.flags,
             node.value.length if isinstance(node.value, Unread) else node.value,
             [_shape(item) for item in node.items] if node.items is not None else None)
            for node in nodes]


@pytest.mark.parametrize("case", sorted(MAKERS))
def test_the_fast_reader_reads_it_as_pydicom_does(case: str, tmp_path: Path) -> None:
    path = MAKERS[case](tmp_path)
    data = path.read_bytes()
    meta, body, _ = parse(data, len(data))
    reference = read_header(Source(str(path), path.name, path=str(path)), IngestLimits(),
                            ArchiveCache())
    assert _shape(meta) == _shape(reference.meta)
    assert _shape(body) == _shape(reference.body)


def test_the_cases_hold_what_they_are_built_to_hold(tmp_path: Path) -> None:
    assert pydicom.dcmread(palette_lut_implicit(tmp_path, 1))[0x00281101].VR == "SS"
    unsigned = pydicom.dcmread(palette_lut_implicit(tmp_path, 0, 65535))[0x00281101]
    assert unsigned.VR == "US" and unsigned.value[0] == 65535
    signed = pydicom.dcmread(palette_lut_implicit(tmp_path, 1, 65535))[0x00281101]
    assert signed.value[0] == -1  # pydicom leaves it negative (its engine cannot write it)
    icon = pydicom.dcmread(icon_encapsulated(tmp_path)).IconImageSequence[0]
    assert icon[0x7FE00010].is_undefined_length


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_the_byte_writer_writes_them_as_the_engine_does(profile_id: str,
                                                        tmp_path: Path) -> None:
    paths = [MAKERS[case](tmp_path) for case in sorted(MAKERS)]
    compared, differences = _differences(paths, profile_id)
    assert compared == len(paths)
    assert differences == {}
    out = tmp_path / "out"
    result = deid.apply_profiles([str(path) for path in paths], [load_profile(profile_id)],
                                 secrets=secrets(), include_values=True, write_dicom=out,
                                 workers=1)
    assert result.load_errors.empty
    writers = result.effects.groupby("file", observed=True)["writer"].first()
    assert {Path(str(name)).name: str(writer) for name, writer in writers.items()} == {
        path.name: WRITER_BYTES for path in paths}
    assert problems_by_file(result.effects, paths, out / profile_id) == {}


def _without_pixel_representation(folder: Path) -> Path:
    dataset = pydicom.dcmread(palette_lut_implicit(folder, 0))
    del dataset.PixelRepresentation
    return _save(dataset, folder / "lut_no_pr.dcm", implicit=True)


def _undefined_text(folder: Path) -> Path:
    """An implicit VR public text element of undefined length (pydicom reads raw bytes up to
    a delimiter)."""
    path = _save(_base(ImplicitVRLittleEndian), folder / "undefined_text.dcm", implicit=True)
    data = bytearray(path.read_bytes())
    at = data.index(b"\x10\x00\x10\x00")  # (0010,0010) PatientName
    length = int.from_bytes(data[at + 4:at + 8], "little")
    value = bytes(data[at + 8:at + 8 + length])
    data[at:at + 8 + length] = (b"\x10\x00\x10\x00\xff\xff\xff\xff" + value
                                + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")
    path.write_bytes(bytes(data))
    return path


def _negative_signed_lut(folder: Path) -> Path:
    return palette_lut_implicit(folder, 1, 65535)


@pytest.mark.parametrize("maker", [_without_pixel_representation, _negative_signed_lut,
                                   _undefined_text, private_sequence_implicit])
def test_what_the_fast_reader_cannot_read_exactly_is_left_to_pydicom(
        maker: Callable[[Path], Path], tmp_path: Path) -> None:
    path = maker(tmp_path)
    data = path.read_bytes()
    with pytest.raises(Fallback):
        parse(data, len(data))
