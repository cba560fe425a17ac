"""The reconstructed project profiles: they load, say what they are, justify every rule, and do
what the publications describe when applied to a small data set."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import pytest
from pydicom.dataset import Dataset

import deid
from deid import Profile
from deid.transform.dispatch import DerivedKeys

RECONSTRUCTED = (
    "procancer_i",
    "chaimeleon_images_w_ecrfs",
    "chaimeleon_images_only",
    "primage",
    "incisive",
    "eucanimage",
)
SHIPPED = (*RECONSTRUCTED, "meddisc_default")
HEADER_SENTENCE = ("reconstructed from published descriptions; replace with your project's "
                   "script via import-ctp")
DEFAULT_SECRET = "default-secret-for-tests"
SITE_SECRET = "site-secret-for-tests"
SECRETS = deid.Secrets({"default": DEFAULT_SECRET, "site": SITE_SECRET})

PATIENT_ID = "MRN-48213977"
PATIENT_NAME = "Quillfeather^Odalys"
BIRTH_DATE = "19580412"
ACCESSION = "ACC-771902"
SIEMENS = "SIEMENS MR HEADER"


def mr_dataset(patient_id: str = PATIENT_ID, study_date: str = "20210517") -> Dataset:
    """A prostate MR slice with identifiers, characteristics, dates, acquisition parameters
    and a private block."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.2001"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.2002"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2003"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.2004"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = patient_id
    ds.PatientBirthDate = BIRTH_DATE
    ds.PatientSex = "M"
    ds.PatientAge = "063Y"
    ds.PatientWeight = "81.4"
    ds.PatientSize = "1.78"
    ds.EthnicGroup = "Zantrovian"
    ds.AccessionNumber = ACCESSION
    ds.StudyID = "STUDY-4471"
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.AcquisitionDate = study_date
    ds.StudyTime = "141503.123"
    ds.AcquisitionTime = "143512.123456"
    ds.AcquisitionDateTime = study_date + "143512.123456"
    ds.StudyDescription = f"MR prostate for Quillfeather {patient_id}"
    ds.SeriesDescription = "T2W TSE TRA"
    ds.InstitutionName = "Hospital Zantrovia"
    ds.ReferringPhysicianName = "Kestrelwood^Amara"
    ds.Modality = "MR"
    ds.Manufacturer = "SIEMENS"
    ds.MagneticFieldStrength = "3"
    ds.RepetitionTime = "4000"
    ds.EchoTime = "101"
    ds.FlipAngle = "160"
    ds.SliceThickness = "3"
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.ImagePositionPatient = ["-100", "-100", "20"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.Rows = 4
    ds.Columns = 4
    ds.BitsAllocated = 16
    ds.DiffusionBValue = 1400.0
    ds.SAR = "1.2"  # an acquisition attribute PS3.15 does not list and ProCancer-I does not keep
    ds.add_new(0x00190010, "LO", SIEMENS)
    ds.add_new(0x0019100C, "IS", "1400")                  # B Value: safe private
    ds.add_new(0x00191008, "LO", "Quillfeather")           # not on any list
    ds.PixelData = b"\x00\x01" * 16
    return ds


def apply(profile_id: str, dataset: Dataset | None = None) -> Dataset:
    profile = deid.load_profile(profile_id)
    return deid.apply_profile(dataset or mr_dataset(), profile, secrets=SECRETS).dataset


def value(ds: Dataset, keyword: str) -> str | None:
    return str(ds[keyword].value) if keyword in ds else None


def days(text: str) -> int:
    return (dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) - dt.date(1970, 1, 1)).days


def keyed(profile_id: str, secret: str, text: str) -> str:
    """HMAC-SHA-256 of ``text`` with the profile's own key for ``secret`` (derived per profile:
    two profiles given one secret give unlinkable pseudonyms)."""
    key = DerivedKeys(SECRETS, profile_id).get(secret)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


# --- Every shipped reconstruction: loads, says what it is, justifies every rule ----------------

@pytest.mark.parametrize("profile_id", SHIPPED)
def test_profile_loads_with_its_id_and_provenance(profile_id: str) -> None:
    profile = deid.load_profile(profile_id)
    assert profile.id == profile_id
    assert profile.path is not None and profile.path.stem == profile_id
    assert profile.provenance == "reconstructed"
    assert profile.base is not None and profile.base.id == "ps315_basic"
    assert "reconstructed" in profile.title.lower()
    assert profile.description.strip()


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_file_starts_with_the_reconstruction_header(profile_id: str) -> None:
    profile = deid.load_profile(profile_id)
    assert profile.path is not None
    text = profile.path.read_text(encoding="utf-8")
    head = text[: text.index("schema_version")].splitlines()
    assert head and all(line.startswith("#") for line in head)
    assert HEADER_SENTENCE in " ".join(line.lstrip("# ") for line in head)


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_every_rule_has_a_reason_and_a_source(profile_id: str) -> None:
    profile = deid.load_profile(profile_id)
    assert profile.rules
    for rule in profile.rules:
        assert rule.reason.strip(), f"rule {rule.number} has no reason"
        assert rule.source.strip(), f"rule {rule.number} has no source"


@pytest.mark.parametrize("profile_id", RECONSTRUCTED)
def test_rules_cite_a_publication_or_the_standard(profile_id: str) -> None:
    for rule in deid.load_profile(profile_id).rules:
        assert re.search(r"Kondylakis et al\. 20(23|24)|AI4HI slides|PS3\.15", rule.source), (
            f"rule {rule.number} cites neither a publication nor PS3.15: {rule.source}")


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_no_secret_is_written_in_the_file(profile_id: str) -> None:
    profile: Profile = deid.load_profile(profile_id)
    assert profile.path is not None
    text = profile.path.read_text(encoding="utf-8")
    assert DEFAULT_SECRET not in text and SITE_SECRET not in text
    secrets = {rule.params.get("secret") for rule in profile.rules} - {None}
    assert secrets <= {"default", "site"}


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_direct_identifiers_do_not_survive(profile_id: str) -> None:
    out = apply(profile_id)
    assert value(out, "PatientName") != PATIENT_NAME
    assert value(out, "PatientID") != PATIENT_ID
    assert value(out, "PatientBirthDate") != BIRTH_DATE
    assert value(out, "AccessionNumber") != ACCESSION
    assert value(out, "InstitutionName") != "Hospital Zantrovia"
    assert value(out, "ReferringPhysicianName") != "Kestrelwood^Amara"
    assert out.PatientIdentityRemoved == "YES"
    for element in out.iterall():
        assert PATIENT_ID not in str(element.value)
        assert "Quillfeather" not in str(element.value)


# --- EuCanImage ---------------------------------------------------------------------------------

def test_eucanimage_patient_id_is_sha512_256_of_site_secret_and_record_id() -> None:
    out = apply("eucanimage")
    expected = hashlib.new("sha512_256", (SITE_SECRET + PATIENT_ID).encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", out.PatientID)
    assert out.PatientID == expected


def test_eucanimage_keeps_age_weight_size_in_bands_and_removes_the_rest() -> None:
    out = apply("eucanimage")
    assert out.PatientAge == "060Y"
    assert float(out.PatientWeight) == 80
    assert float(out.PatientSize) == pytest.approx(1.75)
    assert out.PatientSex == "M"
    assert "EthnicGroup" not in out
    old = mr_dataset()
    old.PatientAge = "093Y"
    assert apply("eucanimage", old).PatientAge == "090Y"


def test_eucanimage_ids_differ_between_hospitals() -> None:
    profile = deid.load_profile("eucanimage")
    other = deid.Secrets({"default": DEFAULT_SECRET, "site": "another-hospital"})
    first = apply("eucanimage").PatientID
    second = deid.apply_profile(mr_dataset(), profile, secrets=other).dataset.PatientID
    assert first != second


# --- ProCancer-I --------------------------------------------------------------------------------

def test_procancer_patient_id_is_pca_and_a_hash_of_site_and_patient_id() -> None:
    profile = deid.load_profile("procancer_i")
    out = apply("procancer_i")
    site = profile.params["SITE_ID"]
    assert out.PatientID == "PCa" + keyed("procancer_i", "default", site + PATIENT_ID)[:16]
    assert str(out.PatientName) == out.PatientID


def test_procancer_is_an_allow_list() -> None:
    out = apply("procancer_i")
    assert deid.load_profile("procancer_i").unlisted == "remove"
    assert "SAR" not in out                              # unlisted: removed
    assert "EthnicGroup" not in out                      # Basic Profile X
    assert "PatientAge" not in out                       # not kept: the papers do not say so
    assert "AcquisitionDateTime" not in out
    assert (0x0019, 0x1008) not in out                   # private, not allow-listed


def test_procancer_keeps_the_acquisition_attributes() -> None:
    source = mr_dataset()
    out = apply("procancer_i", source)
    for keyword in ("Modality", "Manufacturer", "MagneticFieldStrength", "RepetitionTime",
                    "EchoTime", "FlipAngle", "SliceThickness", "PixelSpacing",
                    "ImagePositionPatient", "ImageOrientationPatient", "Rows", "Columns",
                    "BitsAllocated", "DiffusionBValue", "SOPClassUID", "PixelData"):
        assert keyword in out, keyword
        assert out[keyword].value == source[keyword].value, keyword
    assert out[0x0019100C].value == 1400                # Siemens b-value (safe private)
    assert out.SeriesDescription == "T2W TSE TRA"      # cleaned, nothing to remove
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                    "FrameOfReferenceUID"):
        assert keyword in out and out[keyword].value != source[keyword].value


def test_procancer_obscures_times_and_offsets_dates() -> None:
    out = apply("procancer_i")
    assert out.AcquisitionTime == "140000"
    assert out.StudyTime == "140000"
    assert out.StudyDate != "20210517"
    assert out.StudyDate == out.SeriesDate == out.AcquisitionDate


# --- INCISIVE -----------------------------------------------------------------------------------

def test_incisive_naming_convention_for_name_and_id() -> None:
    profile = deid.load_profile("incisive")
    provider = profile.params["DATA_PROVIDER"]
    out = apply("incisive")
    assert out.PatientID == f"{provider}-" + keyed("incisive", "site", PATIENT_ID)[:12]
    assert str(out.PatientName) == out.PatientID


def test_incisive_hashes_other_identifiers_seeded_with_the_patient() -> None:
    first = apply("incisive")
    assert first.AccessionNumber == keyed("incisive", "site", f"{PATIENT_ID}|{ACCESSION}")[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", first.StudyID)
    other_patient = apply("incisive", mr_dataset(patient_id="MRN-00000001"))
    assert other_patient.AccessionNumber != first.AccessionNumber


def test_incisive_dates_keep_intervals_between_examinations() -> None:
    first = apply("incisive", mr_dataset(study_date="20210517"))
    second = apply("incisive", mr_dataset(study_date="20211102"))
    assert first.StudyDate != "20210517"
    assert days(second.StudyDate) - days(first.StudyDate) == days("20211102") - days("20210517")
    assert "PatientAge" not in first                     # no characteristic retained


# --- CHAIMELEON ---------------------------------------------------------------------------------

@pytest.mark.parametrize("profile_id", ["chaimeleon_images_w_ecrfs", "chaimeleon_images_only"])
def test_chaimeleon_shifts_all_dates_keeping_intervals(profile_id: str) -> None:
    first = apply(profile_id, mr_dataset(study_date="20210517"))
    second = apply(profile_id, mr_dataset(study_date="20220101"))
    assert first.StudyDate != "20210517"
    shift = days(first.StudyDate) - days("20210517")
    assert days(second.StudyDate) - days("20220101") == shift
    assert days(first.PatientBirthDate) - days(BIRTH_DATE) == shift   # "dates of birth" too
    assert first.AcquisitionDateTime[:8] == first.StudyDate
    assert first.StudyTime == "141503.123"                            # times of day kept


@pytest.mark.parametrize("profile_id", ["chaimeleon_images_w_ecrfs", "chaimeleon_images_only"])
def test_chaimeleon_new_identifier_and_clean_descriptors(profile_id: str) -> None:
    out = apply(profile_id)
    assert out.PatientID == keyed(profile_id, "default", PATIENT_ID)[:16]
    assert str(out.PatientName) == out.PatientID
    assert out.StudyDescription.startswith("MR prostate for")
    assert "Quillfeather" not in out.StudyDescription
    assert out.SeriesDescription == "T2W TSE TRA"


def test_chaimeleon_with_ecrfs_keeps_patient_characteristics() -> None:
    out = apply("chaimeleon_images_w_ecrfs")
    assert (out.PatientAge, out.PatientSex) == ("063Y", "M")
    assert float(out.PatientWeight) == pytest.approx(81.4)


def test_chaimeleon_image_only_cases_keep_patient_characteristics_too() -> None:
    out = apply("chaimeleon_images_only")
    assert (out.PatientAge, out.PatientSex) == ("063Y", "M")
    assert out.EthnicGroup == "Zantrovian"


# --- PRIMAGE and MedDiSC ------------------------------------------------------------------------

def test_primage_replaces_name_and_id_by_the_pseudonym() -> None:
    out = apply("primage")
    assert out.PatientID == "PRIMAGE-" + keyed("primage", "default", PATIENT_ID)[:16]
    assert str(out.PatientName) == out.PatientID
    assert value(out, "StudyDate") in (None, "")            # PS3.15 Basic: no date kept
    assert "StudyDescription" not in out


def test_meddisc_default_prefixes_the_pseudo_id_and_offsets_dates() -> None:
    profile = deid.load_profile("meddisc_default")
    out = apply("meddisc_default")
    assert profile.options == ("retain_long_modified_dates",)
    assert out.PatientID.startswith(profile.params["PSEUDO_ID_PREFIX"])
    assert str(out.PatientName) == out.PatientID
    assert out.StudyDate != "20210517" and re.fullmatch(r"\d{8}", out.StudyDate)
    assert "StudyDescription" not in out                     # retain_descriptors false
    assert "PatientAge" not in out                           # retain_patient_characteristics false
