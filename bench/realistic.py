"""Realistic clinical headers for the benchmarks, built from pydicom's installed test files.

The perf corpus of installed test files is mostly small objects (median ~90 elements).
Clinical headers are larger: a CT or MR slice carries 150-400 elements and a vendor's private
blocks (a Siemens CSA header of several kB), an enhanced multi-frame object carries per-frame
functional groups with thousands of elements, and a structured report nests its content
several levels deep. This module writes such files (synthetic values, seeded) from pydicom's
``CT_small.dcm`` and ``MR_small.dcm``; nothing is written into the repository.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pydicom
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
_GROUPS = (0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x0032, 0x0040)
_VALUES = {"CS": "ORIGINAL", "SH": "SH VALUE", "LO": "Long string value", "ST": "Short text",
           "LT": "Long text of a clinical header", "DA": "20210517", "TM": "101500",
           "DT": "20210517101500", "DS": "1.5", "IS": "7", "AS": "045Y", "PN": "Doe^Jane",
           "UI": "1.2.826.0.1.3680043.8.498.1", "AE": "STATION1", "UT": "Unlimited text"}
_NUMBERS = {"US": 1, "SS": -1, "UL": 1, "SL": -1, "FL": 1.5, "FD": 1.5}


def _fill(dataset: Dataset, rng: random.Random, count: int) -> None:
    """Add ``count`` standard elements (single-valued, non-retired) with VR-valid values."""
    tags = [tag for tag, entry in DicomDictionary.items()
            if tag >> 16 in _GROUPS and entry[3] == "" and entry[1] == "1"
            and (entry[0] in _VALUES or entry[0] in _NUMBERS) and tag not in dataset]
    for tag in rng.sample(tags, min(count, len(tags))):
        vr = DicomDictionary[tag][0]
        dataset.add_new(tag, vr, _VALUES.get(vr, _NUMBERS.get(vr)))


def _csa(rng: random.Random, size: int) -> bytes:
    """A Siemens CSA-like binary header: an ``SV10`` signature and name/value records."""
    body = bytearray(b"SV10\x04\x03\x02\x01")
    while len(body) < size:
        name = f"Param{rng.randrange(10_000):04d}".encode().ljust(64, b"\0")
        body += name + rng.randbytes(60)
    return bytes(body[:size])


def clinical_ct(rng: random.Random) -> Dataset:
    """A CT slice with ~300 standard elements and Siemens private blocks."""
    dataset = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    _fill(dataset, rng, 200)
    mr_header = dataset.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    for element in range(0x08, 0x30):
        mr_header.add_new(element, "LO", f"value {rng.randrange(1000)}")
    csa = dataset.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x10, "OB", _csa(rng, 12_000))
    csa.add_new(0x20, "OB", _csa(rng, 40_000))
    return _identity(dataset, rng)


def _frame(number: int, rng: random.Random) -> Dataset:
    def item(**values: object) -> Dataset:
        entry = Dataset()
        for keyword, value in values.items():
            setattr(entry, keyword, value)
        return entry

    return item(
        FrameContentSequence=Sequence([item(FrameAcquisitionNumber=number,
                                            StackID="1", InStackPositionNumber=number,
                                            FrameAcquisitionDateTime="20210517101500.000000",
                                            FrameReferenceDateTime="20210517101500.000000",
                                            FrameAcquisitionDuration=12.5)]),
        PlanePositionSequence=Sequence([item(ImagePositionPatient=[0.0, 0.0, number * 2.5])]),
        PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
        MRImageFrameTypeSequence=Sequence([item(FrameType=["ORIGINAL", "PRIMARY", "M", "NONE"],
                                                PixelPresentation="MONOCHROME",
                                                VolumetricProperties="VOLUME",
                                                VolumeBasedCalculationTechnique="NONE",
                                                ComplexImageComponent="MAGNITUDE",
                                                AcquisitionContrast="T2")]),
        PixelValueTransformationSequence=Sequence([item(RescaleIntercept=0, RescaleSlope=1,
                                                        RescaleType="US")]),
        FrameVOILUTSequence=Sequence([item(WindowCenter=rng.randrange(200, 800),
                                           WindowWidth=rng.randrange(800, 2000))]),
    )


def enhanced_mr(rng: random.Random, frames: int = 60) -> Dataset:
    """An enhanced multi-frame MR: per-frame functional groups for every frame."""
    dataset = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    _fill(dataset, rng, 150)
    frame = bytes(dataset.PixelData)
    dataset.NumberOfFrames = frames
    dataset.PixelData = frame * frames
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = [0.5, 0.5]
    shared.PixelMeasuresSequence[0].SliceThickness = 2.5
    dataset.SharedFunctionalGroupsSequence = Sequence([shared])
    dataset.PerFrameFunctionalGroupsSequence = Sequence([_frame(n + 1, rng)
                                                         for n in range(frames)])
    return _identity(dataset, rng)


def _code(value: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
    return code


def _content(rng: random.Random, depth: int) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    if depth == 0:
        kind = rng.choice(["TEXT", "CODE", "NUM", "DATE", "PNAME"])
        item.ValueType = kind
        item.ConceptNameCodeSequence = Sequence([_code("121071", "Finding")])
        if kind == "TEXT":
            item.TextValue = "Lesion in the left lobe, 12 mm, seen by Dr Doe."
        elif kind == "CODE":
            item.ConceptCodeSequence = Sequence([_code("121072", "Impression")])
        elif kind == "NUM":
            measured = Dataset()
            measured.NumericValue = "12.5"
            measured.MeasurementUnitsCodeSequence = Sequence([_code("mm", "millimeter")])
            item.MeasuredValueSequence = Sequence([measured])
        elif kind == "DATE":
            item.Date = "20210517"
        else:
            item.PersonName = "Doe^Jane"
        return item
    item.ValueType = "CONTAINER"
    item.ContinuityOfContent = "SEPARATE"
    item.ConceptNameCodeSequence = Sequence([_code("111028", "Image Library")])
    item.ContentSequence = Sequence([_content(rng, depth - 1) for _ in range(3)])
    return item


def nested_sr(rng: random.Random) -> Dataset:
    """A Comprehensive SR whose content is nested four levels deep (~120 content items)."""
    dataset = pydicom.dcmread(TEST_FILES / "CT_small.dcm", stop_before_pixels=True)
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit",
                    "PixelRepresentation", "SamplesPerPixel", "PhotometricInterpretation"):
        if keyword in dataset:
            delattr(dataset, keyword)
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.Modality = "SR"
    dataset.ValueType, dataset.CompletionFlag, dataset.VerificationFlag = (
        "CONTAINER", "COMPLETE", "UNVERIFIED")
    dataset.ConceptNameCodeSequence = Sequence([_code("126000", "Imaging Measurement Report")])
    dataset.ContentSequence = Sequence([_content(rng, 3) for _ in range(4)])
    _fill(dataset, rng, 80)
    return _identity(dataset, rng)


def _identity(dataset: Dataset, rng: random.Random) -> Dataset:
    """Fresh UIDs and a synthetic patient, little-endian explicit VR."""
    number = rng.randrange(10**6)
    dataset.PatientName = f"Patient^{number:06d}"
    dataset.PatientID = f"MRN-{number:08d}"
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[f"sop{number}"])
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[f"study{number // 10}"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[f"series{number // 5}"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return dataset


BUILDERS = (clinical_ct, enhanced_mr, nested_sr)


def make_realistic(target: Path, count: int, variants: int = 12, seed: int = 2026) -> list[Path]:
    """``count`` realistic files (``variants`` distinct ones of each kind, copied round-robin)
    in folders of 1,000 under ``target``; return the folders."""
    rng = random.Random(seed)
    sources = target / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    made = []
    for number in range(variants):
        for build in BUILDERS:
            path = sources / f"{build.__name__}_{number:02d}.dcm"
            build(rng).save_as(path, enforce_file_format=True)
            made.append(path)
    folders: list[Path] = []
    for index in range(count):
        folder = target / f"part{index // 1000:03d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
            folders.append(folder)
        source = made[index % len(made)]
        shutil.copyfile(source, folder / f"{index:06d}_{source.name}")
    return folders


def element_counts(paths: list[Path]) -> list[int]:
    """Elements per file at any depth (for the report)."""
    counts = []
    for path in paths:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        counts.append(sum(1 for _ in dataset.iterall()))
    return counts
