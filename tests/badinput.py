"""Make bad and unusual DICOM inputs in a folder: used by the ingest tests and the bench.

Every maker writes one input under ``folder`` and returns its path. :data:`BAD_INPUTS` maps each
name to its maker and to what loading it must give: the ``load_errors`` kind (``error`` rows:
the file is not loaded; ``warning`` rows: it loads), or ``None`` when it loads cleanly.
Everything is deterministic (seeded), small, and made with pydicom.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def base_dataset(number: int = 1) -> Dataset:
    """A small CT-like header with a person name, dates, a sequence and a private block."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT_STORAGE
    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.{number}"
    ds.StudyDate = "20240102"
    ds.AccessionNumber = f"ACC{number:05d}"
    ds.Modality = "CT"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = f"PID{number:05d}"
    ds.PatientBirthDate = "19700101"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.100"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.101"
    ds.SliceThickness = "1.25"
    ds.Rows, ds.Columns = 4, 4
    item = Dataset()
    item.AccessionNumber = "ACC-NESTED"
    item.StudyDate = "20240103"
    ds.RequestAttributesSequence = Sequence([item])
    block = ds.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "private note")
    ds.file_meta = _meta(ds, ExplicitVRLittleEndian)
    return ds


def _meta(ds: Dataset, syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    return meta


def _save(ds: Dataset, path: Path, syntax: str = ExplicitVRLittleEndian) -> Path:
    ds.file_meta = _meta(ds, syntax)
    ds.save_as(path, enforce_file_format=True)
    return path


def _good_bytes() -> bytes:
    buffer = io.BytesIO()
    base_dataset().save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def good(folder: Path) -> Path:
    return _save(base_dataset(), folder / "good.dcm")


def empty(folder: Path) -> Path:
    path = folder / "empty.dcm"
    path.write_bytes(b"")
    return path


def random_bytes(folder: Path) -> Path:
    path = folder / "random.dcm"
    path.write_bytes(random.Random(7).randbytes(4096))
    return path


def text_named_dcm(folder: Path) -> Path:
    path = folder / "notes.dcm"
    path.write_text("This is not a DICOM file, whatever its name says.\n" * 20)
    return path


def truncated(folder: Path) -> Path:
    data = _good_bytes()
    index = data.index(b"Doe^Jane")
    path = folder / "truncated.dcm"
    path.write_bytes(data[: index + 3])
    return path


def wrong_length(folder: Path) -> Path:
    """A PatientName whose length field says 0x7FFF bytes (explicit VR, 16-bit length)."""
    data = bytearray(_good_bytes())
    index = data.index(b"Doe^Jane")
    data[index - 2: index] = (0x7FFF).to_bytes(2, "little")
    path = folder / "wrong_length.dcm"
    path.write_bytes(bytes(data))
    return path


def broken_pixel_item(folder: Path) -> Path:
    """Encapsulated pixel data whose first fragment says it is 0xFFFFFFF0 bytes long."""
    ds = base_dataset()
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.file_meta = _meta(ds, "1.2.840.10008.1.2.4.50")
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    pixel = (b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff"     # (7FE0,0010) OB, undefined
             b"\xfe\xff\x00\xe0\x00\x00\x00\x00"                 # empty offset table
             b"\xfe\xff\x00\xe0\xf0\xff\xff\xff" + b"\xff\xd8" * 8)  # fragment 0xFFFFFFF0
    path = folder / "broken_pixel_item.dcm"
    path.write_bytes(buffer.getvalue() + pixel)
    return path


def no_preamble(folder: Path) -> Path:
    ds = base_dataset()
    del ds.file_meta
    path = folder / "no_preamble.dcm"
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
    path.write_bytes(buffer.getvalue())
    return path


def deflated(folder: Path) -> Path:
    return _save(base_dataset(), folder / "deflated.dcm", DeflatedExplicitVRLittleEndian)


def big_endian(folder: Path) -> Path:
    return _save(base_dataset(), folder / "big_endian.dcm", ExplicitVRBigEndian)


def implicit(folder: Path) -> Path:
    return _save(base_dataset(), folder / "implicit.dcm", ImplicitVRLittleEndian)


def _nested(depth: int) -> Dataset:
    ds = base_dataset()
    inner = Dataset()
    inner.CodeValue = "LEAF"
    for _ in range(depth):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        inner = outer
    ds.ContentSequence = inner.ContentSequence
    return ds


def deep(folder: Path) -> Path:
    """Sequences nested 150 levels deep (beyond the default limit of 100)."""
    return _save(_nested(150), folder / "deep.dcm")


def deep_ok(folder: Path) -> Path:
    """Sequences nested 30 levels deep: loads."""
    return _save(_nested(30), folder / "deep_ok.dcm")


def many_elements(folder: Path, count: int = 20_000) -> Path:
    """A private block of ``count`` elements spread over private groups."""
    ds = base_dataset()
    made = 0
    group = 0x0011
    while made < count:
        block = ds.private_block(group, "MANY ELEMENTS", create=True)
        for offset in range(min(255, count - made)):
            block.add_new(offset, "SH", str(made))
            made += 1
        group += 2
    return _save(ds, folder / "many_elements.dcm")


def huge_element(folder: Path, size: int = 8 << 20) -> Path:
    """One 8 MiB OB value: deferred, never read."""
    ds = base_dataset()
    block = ds.private_block(0x0013, "HUGE", create=True)
    block.add_new(0x01, "OB", b"\0" * size)
    return _save(ds, folder / "huge_element.dcm")


def latin1(folder: Path) -> Path:
    ds = base_dataset()
    ds.PatientName = "Müller^Zoë"
    ds.StudyDescription = "Thorax - contrôle"
    return _save(ds, folder / "latin1.dcm")


def iso2022_japanese(folder: Path) -> Path:
    ds = base_dataset()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    return _save(ds, folder / "iso2022_japanese.dcm")


def unknown_charset(folder: Path) -> Path:
    data = bytearray(_good_bytes())
    index = data.index(b"ISO_IR 100")
    data[index: index + 10] = b"ISO_IR 999"
    path = folder / "unknown_charset.dcm"
    path.write_bytes(bytes(data))
    return path


def not_utf8(folder: Path) -> Path:
    """Declares ISO_IR 192 (UTF-8) but holds Latin-1 bytes."""
    ds = base_dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Doe^Jane"
    path = _save(ds, folder / "not_utf8.dcm")
    data = path.read_bytes().replace(b"Doe^Jane", "Doé^Jane".encode("latin_1"))
    path.write_bytes(data)
    return path


def dicomdir(folder: Path) -> Path:
    """pydicom's own test DICOMDIR (shipped with the package)."""
    source = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests" / "DICOMDIR"
    target = folder / "media" / "DICOMDIR"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(source, target)
    return target


def symlink_loop(folder: Path) -> Path:
    """A folder with a file and a link back to itself."""
    loop = folder / "loop"
    loop.mkdir(exist_ok=True)
    _save(base_dataset(2), loop / "inside.dcm")
    (loop / "again").symlink_to(loop, target_is_directory=True)
    (loop / "self").symlink_to(loop / "self")
    return loop


def unreadable(folder: Path) -> Path:
    path = _save(base_dataset(3), folder / "unreadable.dcm")
    path.chmod(0)
    return path


def unsafe_zip(folder: Path) -> Path:
    """A zip with one good member, one climbing out with '..' and one absolute."""
    path = folder / "unsafe.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok/one.dcm", _good_bytes())
        archive.writestr("../escape.dcm", _good_bytes())
        archive.writestr("/etc/absolute.dcm", _good_bytes())
    return path


def zip_bomb(folder: Path, size: int = 64 << 20) -> Path:
    """A zip whose one member expands to 64 MiB of zeros (a few hundred KiB compressed)."""
    path = folder / "bomb.zip"
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("zeros.dcm", "w", force_zip64=True) as member:
        for _ in range(size >> 20):
            member.write(chunk)
    return path


Maker = Callable[[Path], Path]
#: name -> (maker, expected load_errors kind or None when it loads with no row)
BAD_INPUTS: dict[str, tuple[Maker, str | None]] = {
    "good": (good, None),
    "empty": (empty, "empty_file"),
    "random_bytes": (random_bytes, "not_dicom"),
    "text_named_dcm": (text_named_dcm, "not_dicom"),
    "truncated": (truncated, "truncated"),
    "wrong_length": (wrong_length, "truncated"),
    "no_preamble": (no_preamble, "no_preamble"),
    "deflated": (deflated, None),
    "big_endian": (big_endian, None),
    "implicit": (implicit, None),
    "deep": (deep, "too_deep"),
    "deep_ok": (deep_ok, None),
    "many_elements": (many_elements, None),
    "huge_element": (huge_element, None),
    "latin1": (latin1, None),
    "iso2022_japanese": (iso2022_japanese, None),
    "unknown_charset": (unknown_charset, "decoding"),
    "not_utf8": (not_utf8, "decoding"),
    "dicomdir": (dicomdir, "dicomdir"),
    "symlink_loop": (symlink_loop, "symlink_loop"),
    "unsafe_zip": (unsafe_zip, "unsafe_member"),
    "zip_bomb": (zip_bomb, "archive_too_large"),
    "broken_pixel_item": (broken_pixel_item, "corrupt"),
}


def make_all(folder: Path, *, unreadable_file: bool = True) -> dict[str, Path]:
    """Make every input of :data:`BAD_INPUTS` (and a chmod 000 file) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {name: maker(folder) for name, (maker, _) in BAD_INPUTS.items()}
    if unreadable_file:
        made["unreadable"] = unreadable(folder)
    return made


def can_block_reading() -> bool:
    """False when running as root, where chmod 000 does not stop reading."""
    return hasattr(os, "geteuid") and os.geteuid() != 0
