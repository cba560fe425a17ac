"""Write the synthetic DICOM sample data under ``data/sample`` (byte-identical on every run).

Run ``.venv/bin/python tools/make_sample.py [--out data/sample]``. Every person, number,
address and institution is invented. Randomness comes from ``random.Random`` with fixed seeds,
UIDs from ``generate_uid`` with fixed entropy sources, and no current date or time is used.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

SEED = 20240611
ROOT = "1.2.826.0.1.3680043.8.498."
INSTANCE_ROOT = ROOT + "7."  # every planted instance UID starts with this
IMPLEMENTATION_UID = generate_uid(prefix=ROOT, entropy_srcs=["deid-sample implementation"])
IMPLEMENTATION_NAME = "DEIDSAMPLE_1"
SOURCE_AE = "DEIDSAMPLE"  # not in PS3.15 Table E.1-1, so it carries nothing identifying

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
CR = "1.2.840.10008.5.1.4.1.1.1"
DX = "1.2.840.10008.5.1.4.1.1.1.1"
US = "1.2.840.10008.5.1.4.1.1.6.1"
PET = "1.2.840.10008.5.1.4.1.1.128"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"
RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
RTPLAN = "1.2.840.10008.5.1.4.1.1.481.5"
RTDOSE = "1.2.840.10008.5.1.4.1.1.481.2"
DETACHED_STUDY = "1.2.840.10008.3.1.2.3.1"
DETACHED_PATIENT = "1.2.840.10008.3.1.2.1.1"

DIRECT, LINKAGE, QUASI = "direct_identifier", "linkage", "quasi_identifier"
FREE_TEXT, PRIVATE, UID, FLAG = "free_text", "private", "uid", "flag"
PLANTED_COLUMNS = ["file", "element_path", "keyword", "kind", "search_text", "decoy"]
COHORT_COLUMNS = ["file", "PatientID", "PatientSex", "PatientAge", "PostalCode", "country",
                  "StudyDate"]


@dataclass(frozen=True)
class Patient:
    """A synthetic patient with one study visit."""

    key: str
    name: str
    aliases: tuple[str, ...]  # how free text spells the patient
    patient_id: str
    issuer: str
    other_id: str
    birth_date: str
    sex: str
    address: str
    phone: str
    study_date: str
    study_time: str
    accession: str
    study_id: str
    institution: str
    institution_address: str
    referring: str
    performing: str
    operator: str
    station: str
    serial: str


PATIENTS: dict[str, Patient] = {
    p.key: p
    for p in (
        Patient("quillfeather", "Quillfeather^Odalys", ("Odalys Quillfeather", "Quillfeather"),
                "MRN-48213977", "THORNWICK-MRN", "ALT-70315528", "19580412", "F",
                "17 Brackenwhistle Lane, Thornwick Vale TV9 4QX, UK", "+44 20 7946 0381",
                "20190312", "143502", "ACC-55120987", "STU-8841",
                "Saint Wendeline Infirmary Thornwick", "1 Larkmoor Way, Thornwick Vale TV9 1AB, UK",
                "Marrowby^Ignatius", "Pennywhistle^Corentin", "Halloran-Vesk^Brielle",
                "CTSTN-ORCHID-4", "SN-77310482"),
        Patient("brindlecombe", "Brindlecombe^Tobias", ("Tobias Brindlecombe", "Brindlecombe"),
                "MRN-57390214", "ZILVERHOF-PID", "ALT-82046631", "19710923", "M",
                "Zilverreigerhof 41, 3584 CX Utrecht, Netherlands", "+31 30 799 0417",
                "20200621", "091814", "ACC-60438812", "STU-2297",
                "Zilverhof Kliniek Utrecht", "Reigerlaan 2, 3584 CA Utrecht, Netherlands",
                "Vossendaal^Hieronymus", "Kwakernaat^Lieve", "Oosterwijk-Brand^Femke",
                "MRSTN-HERON-2", "SN-41958263"),
        Patient("okonkwo", "Okonkwo-Featherstone^Ysolde",
                ("Ysolde Okonkwo-Featherstone", "Okonkwo-Featherstone"),
                "MRN-61940258", "LAKESIDE-MRN", "ALT-93311740", "19640217", "F",
                "2207 Marigold Bend, Evanston, IL 60201, USA", "(312) 555-0164",
                "20210906", "103044", "ACC-71295530", "STU-6618",
                "Larkspur Lakeside Nuclear Imaging", "900 Larkspur Dr, Evanston, IL 60208, USA",
                "Sallowmere^Quentin", "Abernook^Delphine", "Tregowan^Maddox",
                "PETSTN-LARK-1", "SN-29074815"),
        Patient("vardanyan", "Vardanyan-Pettigrew^Cosmo", ("Cosmo Vardanyan-Pettigrew",
                "Vardanyan-Pettigrew"), "MRN-33017486", "MANDRAGORA-NHC", "ALT-51840027",
                "19890630", "M", "Carrer de la Mandragora 9, 46001 Valencia, Spain",
                "+34 961 555 207", "20220415", "160227", "ACC-82650173", "STU-4470",
                "Hospital Sant Pancraci de Valencia", "Avinguda dels Tarongers 40, 46022 Valencia",
                "Escoriaza^Benedita", "Llobregat-Mor^Quim", "Arrizabalaga^Nerea",
                "USSTN-AZAHAR-3", "SN-63520941"),
        Patient("thistlewaite", "Thistlewaite^Marisol", ("Marisol Thistlewaite", "Thistlewaite"),
                "MRN-20584639", "FENNIMORE-MRN", "ALT-67724109", "19930105", "F",
                "88 Fennimore Crescent, Leeds LS6 3QZ, UK", "+44 113 496 0752",
                "20180809", "082955", "ACC-39017264", "STU-1185",
                "Fennimore Moor Hospital", "Moorgate Row 5, Leeds LS7 9ZX, UK",
                "Gallowglass^Perpetua", "Skelbrooke^Anselm", "Fairweather-Ng^Tamsin",
                "XRSTN-MOOR-6", "SN-85213370"),
        Patient("wuestenhoefer", "Wüstenhöfer^Jürgen", ("Jürgen Wüstenhöfer", "Wüstenhöfer"),
                "MRN-74402918", "ÖRTELSBACH-PID", "ALT-28391556", "19520318", "M",
                "Schloßallee 7, 80331 München, Germany", "+49 89 5550 1938",
                "20211130", "111207", "ACC-18573306", "STU-9052",
                "Klinikum Sankt Örtelsbach", "Lindenstraße 12, 80335 München, Germany",
                "Dörrenbächer^Käthe", "Großkopf^Ulrich", "Bräutigam^Jörg",
                "MRSTN-LINDE-5", "SN-50648127"),
        Patient("kalligeropoulou", "Καλλιγεροπούλου^Ξανθίππη", ("Ξανθίππη Καλλιγεροπούλου",
                "Καλλιγεροπούλου"), "MRN-95126043", "THEOPISTI-AMKA", "ALT-40259918",
                "19770809", "F", "Οδός Κυκλαμίνων 14, 104 31 Αθήνα, Ελλάδα", "+30 210 555 0193",
                "20230227", "134416", "ACC-94460381", "STU-3379",
                "Γενικό Νοσοκομείο Αγίας Θεοπίστης", "Λεωφόρος Ελαιώνος 22, 104 47 Αθήνα",
                "Μαυροκορδάτου^Ευανθία", "Ζαχαριουδάκης^Λυσίμαχος", "Πετροπουλάκης^Ίων",
                "CTSTN-ELIA-8", "SN-17735092"),
        Patient("hoshizaki", "Hoshizaki^Kinuyo=星崎^絹代=ほしざき^きぬよ",
                ("Kinuyo Hoshizaki", "Hoshizaki", "星崎絹代"), "MRN-86631570", "HOSHIGAOKA-ID",
                "ALT-19947302", "19600721", "F",
                "3-14-7 Hoshigaoka, Setagaya-ku, Tokyo 154-0001, Japan", "+81 3 5550 7261",
                "20200918", "150533", "ACC-27784415", "STU-7713",
                "Hoshigaoka Memorial Clinic", "2-8-1 Kinuta, Setagaya-ku, Tokyo 157-0073",
                "Ebisugawa^Tamaki", "Kuronuma^Shigeaki", "Mizuhara^Aoi",
                "CRSTN-KINU-2", "SN-92840576"),
        Patient("abernethy", "Abernethy-Quince^Lorcan", ("Lorcan Abernethy-Quince",
                "Abernethy-Quince"), "MRN-12870394", "GLICINI-MRN", "ALT-35560481",
                "19450115", "M", "Via dei Glicini 23, 00184 Roma, Italy", "+39 06 5550 2847",
                "20170503", "075941", "ACC-46609128", "STU-5526",
                "Ospedale San Crispolto", "Piazza dei Tigli 1, 00185 Roma, Italy",
                "Ferravecchia^Ottavio", "Spallanzoni^Vittoria", "Brusaferro^Dario",
                "CTSTN-TIGLIO-1", "SN-70096513"),
    )
}


@dataclass
class Sample:
    """One file to write: its dataset, what identifies in it and which texts are decoys."""

    name: str
    note: str
    ds: Dataset
    identifiers: dict[str, str]
    decoys: dict[str, str] = field(default_factory=dict)


# --- small helpers -----------------------------------------------------------------------------


def uid(*parts: object) -> str:
    """A UID fixed by ``parts`` (same parts, same UID)."""
    return generate_uid(prefix=INSTANCE_ROOT, entropy_srcs=[str(SEED), *map(str, parts)])


def age_at(birth: str, on: str) -> int:
    """Whole years between two ``YYYYMMDD`` dates."""
    b, d = dt.date.fromisoformat(birth), dt.date.fromisoformat(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def age_string(birth: str, on: str) -> str:
    """DICOM AS value such as ``061Y``."""
    return f"{age_at(birth, on):03d}Y"


def code(value: str, scheme: str, meaning: str) -> Dataset:
    """A code sequence item."""
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def ref(sop_class: str, sop_instance: str) -> Dataset:
    """A referenced SOP item."""
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
    return item


def pixels(rng: random.Random, rows: int, cols: int, bits: int = 16, big: bool = False) -> bytes:
    """Tiny smooth-plus-noise image as packed unsigned integers."""
    top = (1 << min(bits, 12)) - 1
    values = [min(top, (r * 37 + c * 23) % 200 + rng.randrange(40)) for r in range(rows)
              for c in range(cols)]
    fmt = {8: "B", 16: "H"}[bits]
    return struct.pack(f"{'>' if big else '<'}{len(values)}{fmt}", *values)


def set_pixels(ds: Dataset, data: bytes, rows: int, cols: int, bits: int = 16) -> None:
    """Image Pixel module for a MONOCHROME2 image."""
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, min(bits, 12), min(bits, 12) - 1
    ds.PixelRepresentation = 0
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if bits == 8 else "OW"


def new_dataset(sop_class: str, sop_uid: str, syntax: str = ExplicitVRLittleEndian) -> Dataset:
    """A dataset with SOP Common and a matching file meta header."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, sop_uid
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID, meta.ImplementationVersionName = (IMPLEMENTATION_UID,
                                                                   IMPLEMENTATION_NAME)
    meta.SourceApplicationEntityTitle = SOURCE_AE
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    return ds


def add_patient(ds: Dataset, p: Patient) -> None:
    """Patient module with the planted demographics."""
    ds.PatientName, ds.PatientID, ds.IssuerOfPatientID = p.name, p.patient_id, p.issuer
    ds.OtherPatientIDs = p.other_id
    ds.PatientBirthDate, ds.PatientSex = p.birth_date, p.sex
    ds.PatientAge = age_string(p.birth_date, p.study_date)
    ds.PatientAddress, ds.PatientTelephoneNumbers = p.address, p.phone


def add_study(ds: Dataset, p: Patient, description: str) -> None:
    """General Study module (study UID fixed per patient)."""
    ds.StudyInstanceUID = uid(p.key, "study")
    ds.StudyDate, ds.StudyTime = p.study_date, p.study_time
    ds.AccessionNumber, ds.StudyID = p.accession, p.study_id
    ds.ReferringPhysicianName = p.referring
    ds.StudyDescription = description


def add_series(ds: Dataset, p: Patient, modality: str, series: str, number: int,
               description: str) -> None:
    """General Series and Equipment modules."""
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = modality, uid(p.key, series), number
    ds.SeriesDate, ds.SeriesTime = p.study_date, p.study_time
    ds.SeriesDescription = description
    ds.PerformingPhysicianName, ds.OperatorsName = p.performing, p.operator
    ds.Manufacturer, ds.InstitutionName = "SynthVendor", p.institution
    ds.InstitutionAddress, ds.StationName = p.institution_address, p.station
    ds.DeviceSerialNumber = p.serial


def add_image(ds: Dataset, p: Patient, number: int) -> None:
    """General Image dates and numbering."""
    ds.InstanceNumber = number
    ds.ContentDate, ds.ContentTime = p.study_date, p.study_time
    ds.AcquisitionDate, ds.AcquisitionTime = p.study_date, p.study_time
    ds.InstanceCreationDate, ds.InstanceCreationTime = p.study_date, p.study_time


def add_plane(ds: Dataset, p: Patient, z: float) -> None:
    """Image Plane module and frame of reference."""
    ds.FrameOfReferenceUID = uid(p.key, "frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.ImagePositionPatient = [-8.0, -8.0, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.SliceThickness = [1.0, 1.0], 2.5


def base_image(p: Patient, sop_class: str, sop_uid: str, modality: str, series: str,
               series_description: str, study_description: str,
               syntax: str = ExplicitVRLittleEndian) -> Dataset:
    """Patient, study, series, equipment and image modules filled for ``p``."""
    ds = new_dataset(sop_class, sop_uid, syntax)
    add_patient(ds, p)
    add_study(ds, p, study_description)
    add_series(ds, p, modality, series, 1, series_description)
    add_image(ds, p, 1)
    return ds


def identifiers_of(p: Patient) -> dict[str, str]:
    """Every identifying string planted for ``p`` and its kind."""
    ids = {p.name: DIRECT, p.patient_id: DIRECT, p.other_id: DIRECT, p.address: DIRECT,
           p.phone: DIRECT, p.referring: DIRECT, p.performing: DIRECT, p.operator: DIRECT,
           p.issuer: LINKAGE, p.accession: LINKAGE, p.study_id: LINKAGE, p.station: LINKAGE,
           p.serial: LINKAGE, p.birth_date: QUASI, p.study_date: QUASI, p.institution: QUASI,
           p.institution_address: QUASI, age_string(p.birth_date, p.study_date): QUASI}
    ids.update(dict.fromkeys(p.aliases, DIRECT))
    return ids


# --- one function per file kind ----------------------------------------------------------------


def ct_series() -> list[Sample]:
    """Three CT slices of one series (same patient and study)."""
    p, rng = PATIENTS["quillfeather"], random.Random(SEED + 1)
    samples = []
    for i in (1, 2, 3):
        ds = base_image(p, CT, uid(p.key, "ct", i), "CT", "ct-series", "THORAX 1.25 STD",
                        "CT thorax follow-up for Quillfeather")
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber = i
        add_plane(ds, p, 2.5 * i)
        ds.RescaleIntercept, ds.RescaleSlope, ds.KVP = -1024, 1, 120
        comment = "Recall requested re MRN-48213977" if i == 2 else "No motion artefact."
        ds.ImageComments = comment
        set_pixels(ds, pixels(rng, 16, 16), 16, 16)
        decoys = {"THORAX 1.25 STD": FREE_TEXT} | ({} if i == 2 else {comment: FREE_TEXT})
        samples.append(Sample(f"ct_series_slice{i}.dcm",
                              f"CT slice {i} of 3, one series; full patient/study demographics",
                              ds, identifiers_of(p), decoys))
    return samples


def request_item(p: Patient) -> Dataset:
    """Request Attributes item carrying accession and request identifiers."""
    item = Dataset()
    item.AccessionNumber, item.RequestedProcedureID = p.accession, "RP-3307814"
    item.ScheduledProcedureStepID = "SPS-2290461"
    item.RequestedProcedureDescription = "CT thorax, Odalys Quillfeather"
    return item


def other_id_item(p: Patient) -> Dataset:
    """Other Patient IDs item."""
    item = Dataset()
    item.PatientID, item.IssuerOfPatientID = p.other_id, "THORNWICK-REGIONAL"
    item.TypeOfPatientID = "TEXT"
    return item


def ct_derived() -> Sample:
    """Derived CT image whose sequences carry identifiers and references."""
    p = PATIENTS["quillfeather"]
    ds = base_image(p, CT, uid(p.key, "ct-derived"), "CT", "ct-derived-series", "MPR CORONAL",
                    "CT thorax follow-up for Quillfeather")
    ds.SeriesNumber = 2
    ds.ImageType = ["DERIVED", "SECONDARY", "MPR"]
    ds.DerivationDescription = "Coronal MPR from axial slices"
    add_plane(ds, p, 0.0)
    slices = [ref(CT, uid(p.key, "ct", i)) for i in (1, 2, 3)]
    ds.SourceImageSequence = slices
    ds.ReferencedImageSequence = [ref(CT, uid(p.key, "ct", 2))]
    ds.ReferencedStudySequence = [ref(DETACHED_STUDY, uid(p.key, "study"))]
    ds.ReferencedPatientSequence = [ref(DETACHED_PATIENT, uid(p.key, "patient"))]
    ds.RequestAttributesSequence = [request_item(p)]
    ds.OtherPatientIDsSequence = [other_id_item(p)]
    set_pixels(ds, pixels(random.Random(SEED + 2), 16, 16), 16, 16)
    ids = identifiers_of(p) | {"RP-3307814": LINKAGE, "SPS-2290461": LINKAGE,
                               "THORNWICK-REGIONAL": LINKAGE}
    decoys = {"MPR CORONAL": FREE_TEXT, "Coronal MPR from axial slices": FREE_TEXT}
    return Sample("ct_derived_identifier_sequences.dcm",
                  "derived CT; Source/Referenced Image, Referenced Study/Patient, Request "
                  "Attributes and Other Patient IDs sequences", ds, ids, decoys)


def csa_blob(entries: list[tuple[str, str, str]]) -> bytes:
    """A small Siemens CSA2 (``SV10``) header with one string item per entry."""
    out = bytearray(b"SV10\x04\x03\x02\x01" + struct.pack("<II", len(entries), 77))
    for name, vr, value in entries:
        data = value.encode("ascii") + b"\x00"
        padded = data + b"\x00" * (-len(data) % 4)
        out += name.encode("ascii").ljust(64, b"\x00") + struct.pack("<i", 1)
        out += vr.encode("ascii").ljust(4, b"\x00") + struct.pack("<iii", 0, 1, 77)
        out += struct.pack("<4i", len(data), len(data), 77, len(data)) + padded
    return bytes(out)


def mr_siemens() -> Sample:
    """MR with Siemens-like private blocks; the CSA image header embeds the patient's name."""
    p = PATIENTS["brindlecombe"]
    ds = base_image(p, MR, uid(p.key, "mr", 1), "MR", "mr-series", "AX T2 FSE",
                    "MR brain, Brindlecombe, headache work-up")
    ds.Manufacturer, ds.ProtocolName = "SIEMENS", "t2_tse_tra"
    ds.ScanningSequence, ds.SequenceVariant, ds.MagneticFieldStrength = "SE", "SK", 3
    add_plane(ds, p, 0.0)
    mr_header = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    mr_header.add_new(0x08, "CS", "IMAGE NUM 4")
    mr_header.add_new(0x0B, "DS", "4210")
    mr_header.add_new(0x0C, "IS", "0")
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x09, "LO", "VB17A")
    csa.add_new(0x10, "OB", csa_blob([("ImaCoilString", "LO", "HE1-4"),
                                      ("ImaComments", "LO", p.name)]))
    csa.add_new(0x18, "CS", "MR")
    csa.add_new(0x19, "LO", "VB17A")
    csa.add_new(0x20, "OB", csa_blob([("MrPhoenixProtocol", "UN",
                                       '### ASCCONV BEGIN ###\ntProtocolName = "t2_tse_tra"\n'
                                       "### ASCCONV END ###")]))
    set_pixels(ds, pixels(random.Random(SEED + 3), 16, 16), 16, 16)
    return Sample("mr_siemens_private_csa.dcm",
                  "MR; private SIEMENS MR HEADER (0019) and SIEMENS CSA HEADER (0029) blocks, "
                  "CSA binary embeds the patient name", ds, identifiers_of(p),
                  {"AX T2 FSE": FREE_TEXT})


def radiopharmaceutical(p: Patient) -> Dataset:
    """Radiopharmaceutical information item."""
    item = Dataset()
    item.Radiopharmaceutical, item.RadionuclideTotalDose = "Fluorodeoxyglucose", 370000000
    item.RadionuclideHalfLife = 6586.2
    item.RadiopharmaceuticalStartDateTime = p.study_date + "094500"
    return item


def pet_private() -> Sample:
    """PET with a safe Philips private attribute beside unsafe private PHI."""
    p = PATIENTS["okonkwo"]
    ds = base_image(p, PET, uid(p.key, "pt", 1), "PT", "pt-series", "WB FDG AC",
                    "PET-CT whole body, Okonkwo-Featherstone")
    ds.Units, ds.SeriesType, ds.DecayCorrection = "BQML", ["STATIC", "IMAGE"], "START"
    ds.CorrectedImage, ds.ImageType = ["ATTN", "DECY"], ["ORIGINAL", "PRIMARY"]
    ds.RadiopharmaceuticalInformationSequence = [radiopharmaceutical(p)]
    ds.ImageComments = "Attenuation corrected."
    add_plane(ds, p, 0.0)
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    unsafe = ds.private_block(0x0009, "SYNTHVENDOR RECON 2", create=True)
    unsafe.add_new(0x01, "LO", p.name)
    philips = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    philips.add_new(0x00, "DS", "0.000821")
    philips.add_new(0x09, "DS", "1.000000")
    same_group = ds.private_block(0x7053, "SYNTHVENDOR PET 1", create=True)
    same_group.add_new(0x01, "LO", p.patient_id)
    set_pixels(ds, pixels(random.Random(SEED + 4), 16, 16), 16, 16)
    decoys = {"WB FDG AC": FREE_TEXT, "Attenuation corrected.": FREE_TEXT,
              "0.000821": PRIVATE, "1.000000": PRIVATE}
    return Sample("pt_philips_safe_and_unsafe_private.dcm",
                  "PET; safe private (7053,1000) SUV factor and (7053,1009) of Philips PET "
                  "Private Group (PS3.15 E.3.10-1) beside unsafe private name (0009,1001) and "
                  "MRN (7053,1101) of another creator in the same group", ds,
                  identifiers_of(p), decoys)


def us_burned_in() -> Sample:
    """Ultrasound flagged as carrying burned-in annotation."""
    p, rng = PATIENTS["vardanyan"], random.Random(SEED + 5)
    ds = base_image(p, US, uid(p.key, "us", 1), "US", "us-series", "ABDOMEN GENERAL",
                    "US abdomen, Vardanyan-Pettigrew")
    ds.BurnedInAnnotation, ds.ImageType = "YES", ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.ImageComments = "Liver echotexture normal."
    data = bytearray(pixels(rng, 16, 16, bits=8))
    data[:32] = b"\xff" * 32  # a bright band where a scanner would burn in text
    set_pixels(ds, bytes(data), 16, 16, bits=8)
    return Sample("us_burned_in_annotation.dcm", "US, 8-bit; BurnedInAnnotation YES", ds,
                  identifiers_of(p),
                  {"ABDOMEN GENERAL": FREE_TEXT, "Liver echotexture normal.": FREE_TEXT})


def dx_burned_in() -> Sample:
    """Digital X-ray flagged as carrying burned-in annotation."""
    p = PATIENTS["thistlewaite"]
    ds = base_image(p, DX, uid(p.key, "dx", 1), "DX", "dx-series", "CHEST PA",
                    "Chest X-ray, Marisol Thistlewaite")
    ds.BurnedInAnnotation, ds.PresentationIntentType = "YES", "FOR PRESENTATION"
    ds.ImageType, ds.ViewPosition = ["ORIGINAL", "PRIMARY"], "PA"
    ds.ImageComments = "Marker placed by radiographer for MRN-20584639"
    set_pixels(ds, pixels(random.Random(SEED + 6), 16, 16), 16, 16)
    return Sample("dx_burned_in_annotation.dcm", "DX for presentation; BurnedInAnnotation YES",
                  ds, identifiers_of(p), {"CHEST PA": FREE_TEXT})


def overlay_bits(rows: int, cols: int) -> bytes:
    """A one-bit overlay drawing a frame, packed little-endian bit order."""
    bits = [int(r in (0, rows - 1) or c in (0, cols - 1)) for r in range(rows)
            for c in range(cols)]
    return bytes(sum(bits[i + b] << b for b in range(8)) for i in range(0, len(bits), 8))


def add_overlay(ds: Dataset, comment: str) -> None:
    """Overlay plane in group 6000 with comments."""
    for elem, vr, value in ((0x0010, "US", 16), (0x0011, "US", 16), (0x0022, "LO",
                            "Collimator edge marker"), (0x0040, "CS", "G"),
                            (0x0050, "SS", [1, 1]), (0x0100, "US", 1), (0x0102, "US", 0),
                            (0x3000, "OW", overlay_bits(16, 16)), (0x4000, "LT", comment)):
        ds.add_new(0x60000000 | elem, vr, value)


def add_curve(ds: Dataset, label: str) -> None:
    """Retired curve group 5000 with a labelled curve."""
    data = struct.pack("<16H", *(512 + (i % 4) * 64 for i in range(16)))
    for elem, vr, value in ((0x0005, "US", 1), (0x0010, "US", 16), (0x0020, "CS", "ECG"),
                            (0x0022, "LO", "Lead II rhythm strip"), (0x0103, "US", 0),
                            (0x2500, "LO", label), (0x3000, "OB", data)):
        ds.add_new(0x50000000 | elem, vr, value)


def cr_overlay_curve() -> Sample:
    """CR with an overlay plane and a retired curve, both carrying text about the patient."""
    p = PATIENTS["thistlewaite"]
    ds = base_image(p, CR, uid(p.key, "cr", 1), "CR", "cr-series", "PORTABLE AP",
                    "Chest X-ray, Marisol Thistlewaite")
    ds.SeriesNumber = 2
    ds.ImageComments = "Portable study."
    set_pixels(ds, pixels(random.Random(SEED + 7), 16, 16), 16, 16)
    add_overlay(ds, "Lines drawn for Marisol Thistlewaite by ward staff")
    add_curve(ds, "ECG MRN-20584639")
    decoys = {"PORTABLE AP": FREE_TEXT, "Portable study.": FREE_TEXT,
              "Collimator edge marker": FREE_TEXT, "Lead II rhythm strip": FREE_TEXT}
    return Sample("cr_overlay_and_curve.dcm",
                  "CR; overlay plane 6000 (OverlayData, OverlayComments with the name) and "
                  "retired curve group 5000 (CurveLabel with the MRN)", ds, identifiers_of(p),
                  decoys)


def sr_item(relation: str, value_type: str, concept: Dataset, **values: object) -> Dataset:
    """An SR content item."""
    item = Dataset()
    item.RelationshipType, item.ValueType = relation, value_type
    item.ConceptNameCodeSequence = [concept]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def sr_container(relation: str, concept: Dataset, children: list[Dataset]) -> Dataset:
    """A CONTAINER content item holding ``children``."""
    return sr_item(relation, "CONTAINER", concept, ContinuityOfContent="SEPARATE",
                   ContentSequence=children)


def sr_content(p: Patient) -> list[Dataset]:
    """The report tree: subject context, findings nested four levels, impressions."""
    finding, comment = code("121071", "DCM", "Finding"), code("121106", "DCM", "Comment")
    comparison = sr_container("CONTAINS", code("COMPARE", "99SYNTH", "Comparison"), [
        sr_item("CONTAINS", "TEXT", comment, TextValue="Prior report filed under MRN-61940258."),
        sr_item("CONTAINS", "TEXT", comment,
                TextValue="Ysolde Okonkwo-Featherstone, MRN-61940258, seen at outside clinic."),
    ])
    history = sr_container("CONTAINS", code("121060", "DCM", "History"), [
        sr_item("CONTAINS", "TEXT", code("121060", "DCM", "History"),
                TextValue="Referred for staging; Ysolde Okonkwo-Featherstone reports fatigue."),
        sr_item("CONTAINS", "DATE", code("PRIORDATE", "99SYNTH", "Prior study date"),
                Date="20200115"),
        comparison,
    ])
    findings = sr_container("CONTAINS", code("121070", "DCM", "Findings"), [
        sr_item("CONTAINS", "TEXT", finding, TextValue="No focal lesion identified."),
        sr_item("CONTAINS", "CODE", finding,
                ConceptCodeSequence=[code("17621005", "SCT", "Normal")]),
        history,
    ])
    impressions = sr_container("CONTAINS", code("121072", "DCM", "Impressions"), [
        sr_item("CONTAINS", "TEXT", code("121073", "DCM", "Impression"),
                TextValue="No evidence of metabolically active disease."),
    ])
    return [
        sr_item("HAS OBS CONTEXT", "PNAME", code("121029", "DCM", "Subject Name"),
                PersonName=p.name),
        sr_item("HAS OBS CONTEXT", "DATE", code("121031", "DCM", "Subject Birth Date"),
                Date=p.birth_date),
        findings,
        impressions,
    ]


def verifying_observer() -> Dataset:
    """Verifying Observer item."""
    item = Dataset()
    item.VerifyingObserverName = "Sallowmere^Quentin"
    item.VerifyingOrganization = "Larkspur Lakeside Nuclear Imaging"
    item.VerificationDateTime = "20210907101500"
    item.VerifyingObserverIdentificationCodeSequence = []
    return item


def evidence(p: Patient) -> Dataset:
    """Current Requested Procedure Evidence item pointing at the PET image."""
    series = Dataset()
    series.SeriesInstanceUID = uid(p.key, "pt-series")
    series.ReferencedSOPSequence = [ref(PET, uid(p.key, "pt", 1))]
    study = Dataset()
    study.StudyInstanceUID = uid(p.key, "study")
    study.ReferencedSeriesSequence = [series]
    return study


def sr_comprehensive() -> Sample:
    """Comprehensive SR with nested TEXT, PNAME, DATE and CODE items."""
    p = PATIENTS["okonkwo"]
    ds = new_dataset(COMPREHENSIVE_SR, uid(p.key, "sr", 1))
    add_patient(ds, p)
    add_study(ds, p, "PET-CT whole body, Okonkwo-Featherstone")
    add_series(ds, p, "SR", "sr-series", 3, "PET REPORT")
    add_image(ds, p, 1)
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    ds.VerifyingObserverSequence = [verifying_observer()]
    ds.ReferencedPerformedProcedureStepSequence, ds.PerformedProcedureCodeSequence = [], []
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence(p)]
    ds.ContentSequence = sr_content(p)
    ids = identifiers_of(p) | {"Sallowmere^Quentin": DIRECT, "20200115": QUASI,
                               "20210907": QUASI, "Larkspur Lakeside Nuclear Imaging": QUASI}
    decoys = {"No focal lesion identified.": FREE_TEXT, "PET REPORT": FREE_TEXT,
              "No evidence of metabolically active disease.": FREE_TEXT}
    return Sample("sr_comprehensive_nested.dcm",
                  "Comprehensive SR; ContentSequence 4 levels deep with TEXT (name, MRN), PNAME, "
                  "DATE and CODE items, VerifyingObserverSequence", ds, ids, decoys)


def rt_base(p: Patient, sop_class: str, key: str, modality: str, description: str) -> Dataset:
    """Patient, study and series modules shared by the RT objects."""
    ds = new_dataset(sop_class, uid(p.key, key))
    add_patient(ds, p)
    add_study(ds, p, "CT thorax follow-up for Quillfeather")
    add_series(ds, p, modality, key + "-series", 10, description)
    ds.InstanceNumber = 1
    return ds


def referenced_frame(p: Patient) -> Dataset:
    """Referenced Frame of Reference item down to the contoured CT images."""
    series = Dataset()
    series.SeriesInstanceUID = uid(p.key, "ct-series")
    series.ContourImageSequence = [ref(CT, uid(p.key, "ct", i)) for i in (1, 2, 3)]
    study = ref(DETACHED_STUDY, uid(p.key, "study"))
    study.RTReferencedSeriesSequence = [series]
    frame = Dataset()
    frame.FrameOfReferenceUID = uid(p.key, "frame-of-reference")
    frame.RTReferencedStudySequence = [study]
    return frame


def roi(p: Patient, number: int, name: str) -> Dataset:
    """Structure Set ROI item."""
    item = Dataset()
    item.ROINumber, item.ROIName, item.ROIGenerationAlgorithm = number, name, "MANUAL"
    item.ReferencedFrameOfReferenceUID = uid(p.key, "frame-of-reference")
    return item


def roi_contour(p: Patient, number: int, half: float) -> Dataset:
    """ROI Contour item: one closed square on slice 2."""
    contour = Dataset()
    contour.ContourImageSequence = [ref(CT, uid(p.key, "ct", 2))]
    contour.ContourGeometricType, contour.NumberOfContourPoints = "CLOSED_PLANAR", 4
    contour.ContourData = [-half, -half, 5.0, half, -half, 5.0, half, half, 5.0,
                           -half, half, 5.0]
    item = Dataset()
    item.ROIDisplayColor, item.ReferencedROINumber = [255, 0, 0], number
    item.ContourSequence = [contour]
    return item


def roi_observation(p: Patient, number: int, kind: str) -> Dataset:
    """RT ROI Observations item naming the interpreter."""
    item = Dataset()
    item.ObservationNumber, item.ReferencedROINumber = number, number
    item.RTROIInterpretedType, item.ROIInterpreter = kind, p.referring
    return item


def rt_struct() -> Sample:
    """RT Structure Set on the CT series."""
    p = PATIENTS["quillfeather"]
    ds = rt_base(p, RTSTRUCT, "rtstruct", "RTSTRUCT", "RT STRUCTURES")
    ds.StructureSetLabel, ds.StructureSetName = "THORAX_SIM", "Thorax simulation"
    ds.StructureSetDescription = "Contours for Odalys Quillfeather"
    ds.StructureSetDate, ds.StructureSetTime = "20190314", "101010"
    ds.ReferencedFrameOfReferenceSequence = [referenced_frame(p)]
    ds.StructureSetROISequence = [roi(p, 1, "GTV_PRIMARY"), roi(p, 2, "BODY")]
    ds.ROIContourSequence = [roi_contour(p, 1, 2.0), roi_contour(p, 2, 7.0)]
    ds.RTROIObservationsSequence = [roi_observation(p, 1, "GTV"),
                                    roi_observation(p, 2, "EXTERNAL")]
    ds.ApprovalStatus = "UNAPPROVED"
    ids = identifiers_of(p) | {"20190314": QUASI}
    decoys = {"THORAX_SIM": FREE_TEXT, "GTV_PRIMARY": FREE_TEXT, "RT STRUCTURES": FREE_TEXT}
    return Sample("rtstruct.dcm", "RT Structure Set: Referenced Frame of Reference down to CT "
                  "slice UIDs, two ROIs with contour points, description naming the patient",
                  ds, ids, decoys)


def beam() -> Dataset:
    """A single static photon beam."""
    item = Dataset()
    item.BeamNumber, item.BeamName, item.BeamType = 1, "AP", "STATIC"
    item.RadiationType, item.TreatmentMachineName = "PHOTON", "LINAC-ORCHID-3"
    item.PrimaryDosimeterUnit, item.SourceAxisDistance = "MU", 1000
    item.TreatmentDeliveryType, item.NumberOfWedges = "TREATMENT", 0
    item.NumberOfCompensators, item.NumberOfBoli, item.NumberOfBlocks = 0, 0, 0
    item.NumberOfControlPoints, item.ControlPointSequence = 0, []
    return item


def fraction_group() -> Dataset:
    """Fraction group of 25 fractions, one beam."""
    beam_ref = Dataset()
    beam_ref.ReferencedBeamNumber, beam_ref.BeamMeterset = 1, 123.4
    item = Dataset()
    item.FractionGroupNumber, item.NumberOfFractionsPlanned = 1, 25
    item.NumberOfBeams, item.NumberOfBrachyApplicationSetups = 1, 0
    item.ReferencedBeamSequence = [beam_ref]
    return item


def rt_plan() -> Sample:
    """RT Plan referencing the structure set."""
    p = PATIENTS["quillfeather"]
    ds = rt_base(p, RTPLAN, "rtplan", "RTPLAN", "RT PLAN")
    ds.RTPlanLabel, ds.RTPlanName = "THORAX_45GY", "Thorax plan for Quillfeather"
    ds.RTPlanDate, ds.RTPlanTime, ds.RTPlanGeometry = "20190318", "090000", "PATIENT"
    ds.PlanIntent = "CURATIVE"
    ds.ReferencedStructureSetSequence = [ref(RTSTRUCT, uid(p.key, "rtstruct"))]
    ds.FractionGroupSequence, ds.BeamSequence = [fraction_group()], [beam()]
    setup = Dataset()
    setup.PatientSetupNumber, setup.PatientPosition = 1, "HFS"
    ds.PatientSetupSequence = [setup]
    ds.ApprovalStatus, ds.ReviewDate, ds.ReviewTime = "APPROVED", "20190319", "110000"
    ds.ReviewerName = "Pennywhistle^Corentin"
    ids = identifiers_of(p) | {"20190318": QUASI, "20190319": QUASI, "LINAC-ORCHID-3": LINKAGE}
    return Sample("rtplan.dcm", "RT Plan: RTPlanLabel/Name/Date, reviewer, beam on a named "
                  "machine, reference to the structure set", ds, ids,
                  {"THORAX_45GY": FREE_TEXT, "RT PLAN": FREE_TEXT})


def rt_dose() -> Sample:
    """Two-frame RT Dose grid referencing the plan."""
    p = PATIENTS["quillfeather"]
    ds = rt_base(p, RTDOSE, "rtdose", "RTDOSE", "RT DOSE")
    add_plane(ds, p, 2.5)
    ds.ContentDate, ds.ContentTime = "20190318", "093000"
    ds.NumberOfFrames, ds.FrameIncrementPointer = 2, 0x3004000C
    ds.GridFrameOffsetVector = [0.0, 2.5]
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = "GY", "PHYSICAL", "PLAN"
    ds.DoseGridScaling = 0.001
    ds.ReferencedRTPlanSequence = [ref(RTPLAN, uid(p.key, "rtplan"))]
    rng = random.Random(SEED + 8)
    set_pixels(ds, pixels(rng, 8, 8) + pixels(rng, 8, 8), 8, 8)
    ids = identifiers_of(p) | {"20190318": QUASI}
    return Sample("rtdose.dcm", "RT Dose: 8x8x2 grid, reference to the plan", ds, ids,
                  {"RT DOSE": FREE_TEXT})


def text_object(text: str, row: int) -> Dataset:
    """Text Object item in pixel units."""
    item = Dataset()
    item.BoundingBoxAnnotationUnits, item.UnformattedTextValue = "PIXEL", text
    item.BoundingBoxTopLeftHandCorner = [1.0, float(row)]
    item.BoundingBoxBottomRightHandCorner = [15.0, float(row + 3)]
    item.BoundingBoxTextHorizontalJustification = "LEFT"
    return item


def graphic_object() -> Dataset:
    """A two-point polyline measurement."""
    item = Dataset()
    item.GraphicAnnotationUnits, item.GraphicDimensions = "PIXEL", 2
    item.NumberOfGraphicPoints, item.GraphicData = 2, [3.0, 8.0, 13.0, 8.0]
    item.GraphicType, item.GraphicFilled = "POLYLINE", "N"
    return item


def gsps_annotation(p: Patient) -> Dataset:
    """Graphic Annotation item with a PHI text, a clean text and a line."""
    item = Dataset()
    item.GraphicLayer = "ANNOTATION"
    item.ReferencedImageSequence = [ref(CT, uid(p.key, "ct", 2))]
    item.TextObjectSequence = [text_object("Quillfeather^Odalys MRN-48213977", 1),
                               text_object("Lesion 12 mm", 10)]
    item.GraphicObjectSequence = [graphic_object()]
    return item


def gsps() -> Sample:
    """Grayscale Softcopy Presentation State annotating a CT slice."""
    p = PATIENTS["quillfeather"]
    ds = new_dataset(GSPS, uid(p.key, "pr", 1))
    add_patient(ds, p)
    add_study(ds, p, "CT thorax follow-up for Quillfeather")
    add_series(ds, p, "PR", "pr-series", 20, "KEY ANNOTATIONS")
    ds.InstanceNumber, ds.ContentLabel = 1, "ANNOTATION"
    ds.ContentDescription = "Measurement annotations"
    ds.PresentationCreationDate, ds.PresentationCreationTime = p.study_date, "160000"
    ds.ContentCreatorName = p.referring
    series = Dataset()
    series.SeriesInstanceUID = uid(p.key, "ct-series")
    series.ReferencedImageSequence = [ref(CT, uid(p.key, "ct", 2))]
    ds.ReferencedSeriesSequence = [series]
    ds.GraphicAnnotationSequence = [gsps_annotation(p)]
    layer = Dataset()
    layer.GraphicLayer, layer.GraphicLayerOrder = "ANNOTATION", 1
    ds.GraphicLayerSequence, ds.PresentationLUTShape = [layer], "IDENTITY"
    decoys = {"Lesion 12 mm": FREE_TEXT, "Measurement annotations": FREE_TEXT,
              "KEY ANNOTATIONS": FREE_TEXT}
    return Sample("pr_gsps_text_annotation.dcm", "Grayscale Softcopy Presentation State; "
                  "TextObject UnformattedTextValue carries name and MRN", ds,
                  identifiers_of(p), decoys)


def charset_latin1() -> Sample:
    """MR in ISO_IR 100 with German names."""
    p = PATIENTS["wuestenhoefer"]
    ds = base_image(p, MR, uid(p.key, "mr", 1), "MR", "mr-series", "Schädel T1 nativ",
                    "Schädel-MRT nativ")
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageComments = "Herr Wüstenhöfer war kooperativ."
    add_plane(ds, p, 0.0)
    set_pixels(ds, pixels(random.Random(SEED + 9), 16, 16), 16, 16)
    return Sample("mr_charset_latin1_iso_ir_100.dcm", "MR; SpecificCharacterSet ISO_IR 100, "
                  "Latin-1 names and addresses", ds, identifiers_of(p),
                  {"Schädel T1 nativ": FREE_TEXT, "Schädel-MRT nativ": FREE_TEXT})


def charset_utf8() -> Sample:
    """CT in ISO_IR 192 with Greek names."""
    p = PATIENTS["kalligeropoulou"]
    ds = base_image(p, CT, uid(p.key, "ct", 1), "CT", "ct-series", "ΘΩΡΑΚΑΣ ΑΞΟΝΙΚΗ",
                    "Αξονική τομογραφία θώρακος")
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageComments = "Ενημερώθηκε η ασθενής Καλλιγεροπούλου."
    add_plane(ds, p, 0.0)
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    set_pixels(ds, pixels(random.Random(SEED + 10), 16, 16), 16, 16)
    return Sample("ct_charset_utf8_iso_ir_192.dcm", "CT; SpecificCharacterSet ISO_IR 192 "
                  "(UTF-8), Greek names, address and institution", ds, identifiers_of(p),
                  {"ΘΩΡΑΚΑΣ ΑΞΟΝΙΚΗ": FREE_TEXT, "Αξονική τομογραφία θώρακος": FREE_TEXT})


def charset_japanese() -> Sample:
    """CR in ISO 2022 IR 87 with a three-group Japanese name."""
    p = PATIENTS["hoshizaki"]
    ds = base_image(p, CR, uid(p.key, "cr", 1), "CR", "cr-series", "CHEST PA",
                    "Chest radiograph")
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.ImageComments = "星崎絹代様 撮影済み"
    set_pixels(ds, pixels(random.Random(SEED + 11), 16, 16), 16, 16)
    return Sample("cr_charset_iso2022_japanese.dcm", "CR; SpecificCharacterSet "
                  "`\\ISO 2022 IR 87`, alphabetic=ideographic=phonetic name, kanji in comments",
                  ds, identifiers_of(p), {"CHEST PA": FREE_TEXT, "Chest radiograph": FREE_TEXT})


def big_endian() -> Sample:
    """CT written in the retired Explicit VR Big Endian transfer syntax."""
    p = PATIENTS["abernethy"]
    ds = base_image(p, CT, uid(p.key, "ct", 1), "CT", "ct-series", "HEAD 5MM",
                    "CT head, Abernethy-Quince", ExplicitVRBigEndian)
    add_plane(ds, p, 0.0)
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.ImageComments = "Fall at home, MRN-12870394"
    set_pixels(ds, pixels(random.Random(SEED + 12), 16, 16, big=True), 16, 16)
    return Sample("ct_explicit_big_endian.dcm", "CT; transfer syntax Explicit VR Big Endian "
                  "(1.2.840.10008.1.2.2)", ds, identifiers_of(p), {"HEAD 5MM": FREE_TEXT})


def implicit_vr() -> Sample:
    """MR written in Implicit VR Little Endian."""
    p = PATIENTS["abernethy"]
    ds = base_image(p, MR, uid(p.key, "mr", 1), "MR", "mr-series", "AX FLAIR",
                    "MR head, Abernethy-Quince", ImplicitVRLittleEndian)
    ds.SeriesNumber = 2
    add_plane(ds, p, 0.0)
    ds.ImageComments = "Lorcan Abernethy-Quince anxious in scanner."
    set_pixels(ds, pixels(random.Random(SEED + 13), 16, 16), 16, 16)
    return Sample("mr_implicit_vr_little_endian.dcm", "MR; transfer syntax Implicit VR Little "
                  "Endian (1.2.840.10008.1.2)", ds, identifiers_of(p), {"AX FLAIR": FREE_TEXT})


def site_meta_contacts() -> Sample:
    """MR whose file meta and preamble name the sending site and the patient, with a referring
    physician's contact details and code inside a sequence item of its own character set
    (UTF-8 in a Latin-1 data set), free text naming a relative, and sizes on rounding
    boundaries."""
    p = PATIENTS["thistlewaite"]
    ds = base_image(p, MR, uid(p.key, "mr-contacts", 1), "MR", "mr-contacts", "SAG PD FS",
                    "MRI knee left")
    ds.SpecificCharacterSet = "ISO_IR 100"
    meta = ds.file_meta
    meta.SourceApplicationEntityTitle = "FENNIMORE_MR1"
    meta.SendingApplicationEntityTitle = "FENNIMORE_PACS"
    meta.ReceivingApplicationEntityTitle = "MOOR_RESEARCH"
    meta.ImplementationVersionName = "FENNIMORE_V2"
    meta.PrivateInformationCreatorUID = uid(p.key, "private-information")
    meta.PrivateInformation = f"{p.patient_id} {p.name}".encode("ascii")
    ds.preamble = f"FENNIMORE PACS export of {p.name}".encode("ascii").ljust(128, b"\0")
    physician = Dataset()
    physician.SpecificCharacterSet = "ISO_IR 192"
    physician.PersonIdentificationCodeSequence = [code("DOC-55102", "99FMH", p.referring)]
    physician.PersonAddress = "12 Skelbrooke Yard, Leeds LS2 8QF, UK"
    physician.PersonTelephoneNumbers = "+44 113 496 0188"
    physician.InstitutionName = "Praxis Müllerstraße Leeds"
    ds.ReferringPhysicianIdentificationSequence = [physician]
    ds.AdditionalPatientHistory = "mother Rosalind Larkcombe at bedside"
    ds.PatientSize, ds.PatientWeight = "1.65", "71.90"
    add_plane(ds, p, 0.0)
    set_pixels(ds, pixels(random.Random(SEED + 14), 16, 16), 16, 16)
    identifiers = {**identifiers_of(p), "FENNIMORE_MR1": LINKAGE, "FENNIMORE_PACS": LINKAGE,
                   "MOOR_RESEARCH": LINKAGE, "FENNIMORE_V2": LINKAGE, "DOC-55102": DIRECT,
                   "12 Skelbrooke Yard, Leeds LS2 8QF, UK": DIRECT, "+44 113 496 0188": DIRECT,
                   "Praxis Müllerstraße Leeds": QUASI, "Rosalind Larkcombe": DIRECT}
    return Sample("mr_site_meta_and_contacts.dcm", "MR; file meta AE titles, implementation "
                  "name and private information naming the site, a preamble naming the "
                  "patient, a referring physician's code, address and telephone in an item "
                  "with its own character set (ISO_IR 192 in ISO_IR 100), free text naming a "
                  "relative, PatientSize 1.65", ds, identifiers, {"SAG PD FS": FREE_TEXT})


FILE_BUILDERS: tuple[Callable[[], Sample | list[Sample]], ...] = (
    ct_series, ct_derived, mr_siemens, pet_private, us_burned_in, dx_burned_in,
    cr_overlay_curve, sr_comprehensive, rt_struct, rt_plan, rt_dose, gsps, charset_latin1,
    charset_utf8, charset_japanese, big_endian, implicit_vr, site_meta_contacts,
)


def file_samples() -> list[Sample]:
    """All samples for ``files/``, named by path under the output folder, sorted."""
    samples: list[Sample] = []
    for build in FILE_BUILDERS:
        made = build()
        samples.extend(made if isinstance(made, list) else [made])
    return sorted((replace(s, name=f"files/{s.name}") for s in samples), key=lambda s: s.name)


# --- cohort ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A synthetic street in a real postal-code format."""

    street: str
    postal: str
    city: str
    country: str
    postal_first: bool  # continental order "postal city" vs "city postal"

    def address(self, number: int) -> str:
        """Full address line with house number."""
        where = (f"{self.postal} {self.city}" if self.postal_first
                 else f"{self.city} {self.postal}")
        street = self.street.format(n=number)
        return f"{street}, {where}, {self.country}"


PLACES: tuple[Place, ...] = (
    Place("Calle Mayor {n}", "46001", "Valencia", "Spain", True),
    Place("Calle del Pez {n}", "28013", "Madrid", "Spain", True),
    Place("Via Roma {n}", "00184", "Roma", "Italy", True),
    Place("Via Solferino {n}", "20121", "Milano", "Italy", True),
    Place("Kerkstraat {n}", "1017 GC", "Amsterdam", "Netherlands", True),
    Place("{n} Larch Rd", "SE15 4QT", "London", "UK", False),
    Place("{n} Wilmslow Rd", "M14 5RJ", "Manchester", "UK", False),
    Place("{n} Oak St", "62704", "Springfield, IL", "USA", False),
    Place("{n} Elm Ave", "02139", "Cambridge, MA", "USA", False),
    Place("odos Eolou {n}", "104 31", "Athina", "Greece", True),
    Place("Hauptstr. {n}", "10115", "Berlin", "Germany", True),
    Place("Moenckebergstr. {n}", "20095", "Hamburg", "Germany", True),
    Place("{n} Rue des Lilas", "75011", "Paris", "France", True),
    Place("Rua Augusta {n}", "1100-053", "Lisboa", "Portugal", True),
    Place("ul. Kwiatowa {n}", "00-950", "Warszawa", "Poland", True),
    Place("Drottninggatan {n}", "114 55", "Stockholm", "Sweden", True),
)

COHORT_SIZE = 300
LARGE_CLASSES = (24, 20, 18, 16, 15, 14, 12, 11, 10, 9, 8, 8, 7, 7, 6, 6, 5, 5, 5)  # 206
MIDDLE_CLASSES = (4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2)  # 48; the rest are unique
SYLLABLES = ("Bram", "Quel", "Tors", "Vin", "Zeph", "Mor", "Hal", "Cresc", "Dov", "Ulm", "Pell",
             "Yarr", "Gow", "Fenn", "Oss", "Trev", "Wix", "Nal")
ENDINGS = ("wick", "ander", "ell", "ovar", "etti", "quist", "mont", "holt", "ez", "ridge")
GIVEN = ("Alric", "Bettina", "Calloway", "Dunya", "Elsbeth", "Faro", "Ginevra", "Hollis",
         "Isaura", "Jovan", "Kestrel", "Lidwina", "Marek", "Nerys", "Orsino", "Perpetua",
         "Quirin", "Rosalind", "Sigrun", "Thaddeus", "Ulla", "Vesna", "Wendel", "Ximena")
INSTITUTIONS = ("Bramblegate General Hospital", "Clinica Santa Ofelia", "Ospedale Ca' Vescovi",
                "Krankenhaus Lindenhain", "Hopital Saint-Ysaure", "Mercy Tallowfield Medical")
ETHNIC = ("WHITE", "BLACK", "ASIAN", "HISPANIC", "MIXED", "OTHER")
MODALITIES = {"MR": MR, "CT": CT, "CR": CR}


@dataclass(frozen=True)
class CohortRecord:
    """Truth for one cohort file."""

    file: str
    patient_id: str
    name: str
    sex: str
    age: int
    place: Place
    house: int
    study_date: str
    birth_date: str


def cohort_classes(rng: random.Random) -> list[tuple[int, str, Place]]:
    """(age, sex, place) per record: large, middle and unique equivalence classes."""
    used: set[tuple[int, str, str]] = set()
    keys: list[tuple[int, str, Place]] = []

    def fresh(ages: range, sexes: str) -> tuple[int, str, Place]:
        while True:
            key = (rng.choice(ages), rng.choice(sexes), rng.choice(PLACES))
            if (key[0], key[1], key[2].postal) not in used:
                used.add((key[0], key[1], key[2].postal))
                return key

    for size in LARGE_CLASSES:
        keys += [fresh(range(35, 76), "MF")] * size
    for size in MIDDLE_CLASSES:
        keys += [fresh(range(25, 86), "MMFFO")] * size
    while len(keys) < COHORT_SIZE:
        keys.append(fresh(range(3, 97), "MMMMFFFFFO"))
    rng.shuffle(keys)
    return keys


def random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    """A uniform date in [first, last]."""
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def birth_for(rng: random.Random, age: int, study: dt.date) -> dt.date:
    """A birth date making the patient exactly ``age`` on ``study``."""
    def minus_years(d: dt.date, years: int) -> dt.date:
        return d.replace(year=d.year - years, day=28 if (d.month, d.day) == (2, 29) else d.day)

    latest = minus_years(study, age)
    earliest = minus_years(study, age + 1) + dt.timedelta(days=1)
    return random_date(rng, earliest, latest)


def cohort_records() -> list[CohortRecord]:
    """The 300 cohort patients."""
    rng = random.Random(SEED + 100)
    records, ids = [], rng.sample(range(1_000_000, 9_999_999), COHORT_SIZE)
    for i, (age, sex, place) in enumerate(cohort_classes(rng), start=1):
        study = random_date(rng, dt.date(2018, 1, 1), dt.date(2023, 12, 31))
        birth = birth_for(rng, age, study)
        name = f"{rng.choice(SYLLABLES)}{rng.choice(ENDINGS)}^{rng.choice(GIVEN)}"
        records.append(CohortRecord(f"cohort/coh_{i:04d}.dcm", f"COH-{ids[i - 1]}", name, sex,
                                    age, place, rng.randrange(1, 120),
                                    study.strftime("%Y%m%d"), birth.strftime("%Y%m%d")))
    return records


def body_size(rng: random.Random, sex: str, age: int) -> tuple[str, str]:
    """PatientWeight (kg) and PatientSize (m) as DS strings."""
    height = (1.76 if sex == "M" else 1.63) + rng.gauss(0, 0.07)
    if age < 16:
        height = 0.75 + age * 0.06
    bmi = rng.uniform(19, 31) if age >= 16 else rng.uniform(14, 19)
    return f"{bmi * height * height:.1f}", f"{height:.2f}"


def cohort_dataset(rec: CohortRecord, rng: random.Random) -> Dataset:
    """Header-only dataset for one cohort record."""
    modality = rng.choice(sorted(MODALITIES))
    ds = new_dataset(MODALITIES[modality], uid("cohort", rec.patient_id, "image"))
    ds.PatientName, ds.PatientID = rec.name, rec.patient_id
    ds.PatientBirthDate, ds.PatientSex = rec.birth_date, rec.sex
    ds.PatientAge = f"{rec.age:03d}Y"
    ds.PatientWeight, ds.PatientSize = body_size(rng, rec.sex, rec.age)
    ds.PatientAddress = rec.place.address(rec.house)
    if rng.random() < 0.3:
        ds.EthnicGroup = rng.choice(ETHNIC)
    ds.StudyInstanceUID = uid("cohort", rec.patient_id, "study")
    ds.SeriesInstanceUID = uid("cohort", rec.patient_id, "series")
    ds.StudyDate = rec.study_date
    ds.StudyTime = f"{rng.randrange(7, 20):02d}{rng.randrange(60):02d}00"
    ds.AccessionNumber = f"CA{rng.randrange(10**7, 10**8)}"
    ds.Modality, ds.InstitutionName = modality, rng.choice(INSTITUTIONS)
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    return ds


def cohort_samples(records: list[CohortRecord], representative: int = 3) -> list[Sample]:
    """Cohort files; only the first ``representative`` contribute rows to planted.csv."""
    rng = random.Random(SEED + 200)
    samples = []
    for i, rec in enumerate(records):
        ds = cohort_dataset(rec, rng)
        ids = {rec.name: DIRECT, rec.patient_id: DIRECT, ds.PatientAddress: DIRECT,
               rec.birth_date: QUASI, ds.PatientAge: QUASI} if i < representative else {}
        samples.append(Sample(rec.file, "", ds, ids))
    return samples


def cohort_rows(records: list[CohortRecord]) -> list[list[str]]:
    """cohort.csv rows."""
    return [[r.file, r.patient_id, r.sex, f"{r.age:03d}Y", r.place.postal, r.place.country,
             r.study_date] for r in records]


# --- finding what was planted ------------------------------------------------------------------


def walk(ds: Dataset, prefix: str = "") -> Iterator[tuple[str, DataElement]]:
    """(element_path, element) for every element, depth first, sequences included."""
    for elem in ds:
        path = f"{prefix}({elem.tag.group:04X},{elem.tag.element:04X})"
        yield path, elem
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from walk(item, f"{path}[{i}].")


def element_text(elem: DataElement) -> str | bytes:
    """The decoded value as text (multi-values joined by ``\\``), or raw bytes."""
    value = elem.value
    if isinstance(value, bytes):
        return value
    if isinstance(value, MultiValue | list):
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def best_match(text: str | bytes, identifiers: dict[str, str]) -> str | None:
    """The longest identifier found in ``text`` (ties: first in table order)."""
    found = [s for s in identifiers
             if (s.encode("utf-8") in text if isinstance(text, bytes) else s in text)]
    return max(found, key=len, default=None)


def kind_of(elem: DataElement, text: str | bytes, match: str, identifiers: dict[str, str]) -> str:
    """The planted.csv kind of an element holding ``match``."""
    if elem.tag.is_private:
        return PRIVATE
    if elem.VR in ("DA", "DT", "TM"):
        return QUASI
    return identifiers[match] if text == match else FREE_TEXT


def plant_row(sample: Sample, path: str, elem: DataElement) -> list[str] | None:
    """The planted.csv row for one element, if it holds something planted or a decoy."""
    if elem.VR == "SQ":
        return None
    keyword = "" if elem.tag.is_private else keyword_for_tag(elem.tag)
    text = element_text(elem)
    if elem.VR == "UI":
        planted = str(text).startswith(INSTANCE_ROOT)
        return [sample.name, path, keyword, UID, str(text), "false"] if planted else None
    if keyword == "BurnedInAnnotation" and text == "YES":
        return [sample.name, path, keyword, FLAG, "YES", "false"]
    match = best_match(text, sample.identifiers)
    if match is not None:
        kind = kind_of(elem, text, match, sample.identifiers)
        return [sample.name, path, keyword, kind, match, "false"]
    if isinstance(text, str) and text in sample.decoys:
        return [sample.name, path, keyword, sample.decoys[text], text, "true"]
    return None


def planted_rows(sample: Sample) -> list[list[str]]:
    """Every planting in a sample, file meta included; check the decoys are clean and present."""
    if not sample.identifiers:
        return []
    rows = []
    for ds in (sample.ds.file_meta, sample.ds):
        rows += [row for path, elem in walk(ds) if (row := plant_row(sample, path, elem))]
    preamble = getattr(sample.ds, "preamble", None)
    if preamble:
        match = best_match(preamble, sample.identifiers)
        if match is not None:
            rows.append([sample.name, "preamble", "", FREE_TEXT, match, "false"])
    for decoy in sample.decoys:
        if best_match(decoy, sample.identifiers) or not any(r[4] == decoy for r in rows):
            raise ValueError(f"{sample.name}: decoy {decoy!r} holds an identifier or is unused")
    return rows


# --- writing -----------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """CSV with ``\\n`` line ends."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_samples(out: Path, samples: list[Sample]) -> None:
    """Write each dataset as a DICOM file (preamble, DICM, file meta)."""
    for sample in samples:
        target = out / sample.name
        target.parent.mkdir(parents=True, exist_ok=True)
        sample.ds.save_as(target, enforce_file_format=True)


def folder_size(folder: Path) -> int:
    """Total bytes of the files under ``folder``."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


README_HEAD = """# Synthetic DICOM sample data

Everything here is **synthetic**: every name, ID, address, phone number, institution, device
and date was invented for testing; none belongs to a real person. It is written by

    .venv/bin/python tools/make_sample.py [--out data/sample]

which is deterministic (fixed `random.Random` seeds, UIDs from `generate_uid` with fixed
entropy under `{root}`, no current dates or times), so each run rewrites these files
byte for byte; `tests/test_sample_data.py` regenerates them and compares. Do not edit the
files by hand: change the generator and rerun it.

Identifying values are planted only where PS3.15 Table E.1-1's Basic Profile changes them (an
action other than K), inside a sequence it changes, in private (odd-group) elements, or in the
file meta elements it covers (Media Storage SOP Instance UID follows SOP Instance UID). Every
file meta carries Source Application Entity Title `{ae}`, which names no site, except
`files/mr_site_meta_and_contacts.dcm`: its file meta names the site in its Source, Sending and
Receiving AE Titles, Implementation Version Name and Private Information, and its preamble
names the patient (PS3.10 writers replace or drop all of these; the row of the preamble in
planted.csv has element_path `preamble`). Decoy texts (descriptive values with no identifier,
such as `AX T2 FSE` or `No focal lesion identified.`) are planted too and listed with
`decoy=true`.
Burned In Annotation `YES` is listed as a `flag`: not an identifier itself, it marks pixel data
that would need cleaning.

## files/ ({n_files} files, {files_kb} KB)

| file | patient | exercises |
| --- | --- | --- |
"""

README_TAIL = """
## cohort/ ({n_cohort} files, {cohort_kb} KB)

Header-only files (no Pixel Data), Modality MR, CT or CR, for k-anonymity work. Each has
synthetic PatientName and PatientID, PatientSex (M/F and a few O), PatientAge (`045Y`),
PatientBirthDate consistent with the age on StudyDate, PatientAddress with a postal code in a
European, UK or US format (e.g. `Kerkstraat 3, 1017 GC Amsterdam, Netherlands`,
`12 Oak St, Springfield, IL 62704, USA`), PatientWeight, PatientSize, EthnicGroup on about a
third, InstitutionName, StudyDate/StudyTime and AccessionNumber. Equivalence classes on
(PatientAge, PatientSex, postal code): {large} classes of 5 or more, {middle} classes of 2 to 4
and {unique} unique records.

## planted.csv ({n_planted} rows)

One row per (file, element) planting, sorted by file then element_path.

{planted_columns}

Rows by kind: {kinds}.

Cohort files contribute rows only for the first three (representative); the cohort's truth is
in cohort.csv.

## cohort.csv ({n_cohort} rows)

{cohort_columns}

## Size

{total_kb} KB in total without this README ({total} bytes of file content; on a filesystem
with 4 KB blocks the 300 small cohort files take about 1.2 MB of disk).
"""


PLANTED_DOC = (
    ("file", "path relative to data/sample"),
    ("element_path", "`(gggg,eeee)`, nested as `(0040,A730)[0].(0040,A730)[2].(0040,A160)`; "
                     "private elements by their actual tag, e.g. `(0029,1010)`; file meta as "
                     "`(0002,0003)`"),
    ("keyword", "pydicom keyword, empty for private elements"),
    ("kind", "`direct_identifier`, `linkage`, `quasi_identifier`, `free_text`, `private`, "
             "`uid` or `flag`"),
    ("search_text", "the exact string to look for: the whole value, the identifier embedded "
                    "in free text, or the name embedded in binary private data"),
    ("decoy", "`false` for planted identifiers, `true` for clean decoy values (no identifier)"),
)
COHORT_DOC = (
    ("file", "path relative to data/sample"),
    ("PatientID", "as in the header"),
    ("PatientSex", "M, F or O"),
    ("PatientAge", "DICOM AS, e.g. `045Y`"),
    ("PostalCode", "the postal code inside PatientAddress"),
    ("country", "the country ending PatientAddress"),
    ("StudyDate", "YYYYMMDD"),
)


def markdown_table(rows: tuple[tuple[str, str], ...]) -> str:
    """A two-column markdown table of column names and meanings."""
    lines = ["| column | meaning |", "| --- | --- |"]
    lines += [f"| {name} | {meaning} |" for name, meaning in rows]
    return "\n".join(lines)


def class_sizes(records: list[CohortRecord]) -> Counter[int]:
    """How many equivalence classes of each size (age, sex, postal code)."""
    return Counter(Counter((r.age, r.sex, r.place.postal) for r in records).values())


def write_readme(out: Path, samples: list[Sample], records: list[CohortRecord],
                 rows: list[list[str]]) -> None:
    """README.md describing the generated data."""
    sizes = class_sizes(records)
    kinds = Counter(f"{row[3]}{' (decoy)' if row[5] == 'true' else ''}" for row in rows)
    table = "".join(f"| `{s.name.removeprefix('files/')}` | {s.ds.PatientName} | {s.note} |\n"
                    for s in samples)
    text = README_HEAD.format(root=INSTANCE_ROOT, ae=SOURCE_AE, n_files=len(samples),
                              files_kb=folder_size(out / "files") // 1024) + table
    text += README_TAIL.format(
        n_cohort=len(records), cohort_kb=folder_size(out / "cohort") // 1024,
        large=sum(n for size, n in sizes.items() if size >= 5),
        middle=sum(n for size, n in sizes.items() if 2 <= size <= 4), unique=sizes[1],
        n_planted=len(rows), kinds=", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
        planted_columns=markdown_table(PLANTED_DOC), cohort_columns=markdown_table(COHORT_DOC),
        total=folder_size(out), total_kb=folder_size(out) // 1024)
    (out / "README.md").write_text(text, encoding="utf-8")


def generate(out: Path) -> None:
    """Write files/, cohort/, planted.csv, cohort.csv and README.md under ``out``."""
    for sub in ("files", "cohort"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "README.md").unlink(missing_ok=True)
    samples = file_samples()
    records = cohort_records()
    cohort = cohort_samples(records)
    write_samples(out, samples + cohort)
    rows = sorted((r for s in samples + cohort for r in planted_rows(s)),
                  key=lambda r: (r[0], r[1]))
    write_csv(out / "planted.csv", PLANTED_COLUMNS, rows)
    write_csv(out / "cohort.csv", COHORT_COLUMNS, cohort_rows(records))
    write_readme(out, samples, records, rows)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "data" / "sample"
    parser.add_argument("--out", type=Path, default=default, help="output folder")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
