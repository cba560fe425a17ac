"""Shared builders for engine tests: small data sets with every structure the engine walks."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from deid import Profile, load_profile
from deid.policy.profile_loader import load_profile_text

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
HEAD = 'schema_version = 1\nid = "t"\ntitle = "t"\nprovenance = "user"\n'


def profile(text: str) -> Profile:
    """A profile from TOML text after the standard header lines."""
    return load_profile_text(HEAD + text)


def basic(*options: str) -> Profile:
    """ps315_basic, or a profile on it with ``options``."""
    if not options:
        return load_profile("ps315_basic")
    listed = ", ".join(f'"{o}"' for o in options)
    return profile(f'base = "ps315_basic"\noptions = [{listed}]\n')


def item(**values: object) -> Dataset:
    """A sequence item with keyword=value elements."""
    dataset = Dataset()
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    return dataset


def sample_dataset() -> Dataset:
    """A CT-like data set: identifiers at top level, nested, private, overlay, file meta."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT_STORAGE
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1001"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1002"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.1003"
    ds.PatientName = "Quillfeather^Odalys"
    ds.PatientID = "MRN-48213977"
    ds.PatientBirthDate = "19580412"
    ds.PatientSex = "F"
    ds.PatientAge = "063Y"
    ds.StudyDate = "20210517"
    ds.SeriesDate = "20210517"
    ds.AccessionNumber = "ACC-771902"
    ds.InstitutionName = "Hospital Zantrovia"
    ds.StudyDescription = "CT chest for Quillfeather MRN-48213977"
    ds.Modality = "CT"
    ds.Rows = 2
    ds.Columns = 2
    ds.RequestAttributesSequence = Sequence([item(
        AccessionNumber="ACC-771902", RequestedProcedureID="RP-99812",
        ReferencedStudySequence=Sequence([item(
            ReferencedSOPClassUID=CT_STORAGE,
            ReferencedSOPInstanceUID="1.2.826.0.1.3680043.8.498.1002")]))])
    ds.ReferencedImageSequence = Sequence([item(
        ReferencedSOPClassUID=CT_STORAGE,
        ReferencedSOPInstanceUID="1.2.826.0.1.3680043.8.498.1000")])
    block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    block.add_new(0x10, "OB", b"Quillfeather\x00\x00")
    block.add_new(0x20, "LO", "CSA series")
    safe = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    safe.add_new(0x00, "DS", "1.234")
    ds.add_new(0x60003000, "OW", b"\x00\x01" * 4)
    ds.add_new(0x60004000, "LT", "Overlay by Quillfeather")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CT_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.SourceApplicationEntityTitle = "CT_SCANNER_1"
    return ds


def to_bytes(dataset: Dataset) -> bytes:
    """The data set as a DICOM file in memory."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def from_bytes(data: bytes) -> Dataset:
    """Read a DICOM file from memory."""
    return pydicom.dcmread(io.BytesIO(data))


def all_text(dataset: Dataset) -> Iterator[str]:
    """Every value at any depth, file meta included, as text (binary as latin-1)."""
    meta = getattr(dataset, "file_meta", None)
    for source in ([meta] if meta is not None else []) + [dataset]:
        for element in source.iterall():
            if element.VR == "SQ":
                continue
            value = element.value
            if isinstance(value, bytes):
                yield value.decode("latin-1")
            elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
                yield from (str(v) for v in value)
            else:
                yield str(value)


def write_file(path: Path, dataset: Dataset) -> Path:
    """Write ``dataset`` as a DICOM file."""
    path.write_bytes(to_bytes(dataset))
    return path
