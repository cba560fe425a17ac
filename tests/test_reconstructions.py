"""The key published statements of each AI4HI reconstruction, pinned to the actions the resolver
decides (what the engine does to an element), not to the text of the profile files.

Each test names the sentence it pins (Kondylakis et al. 2023, Eur Radiol Exp 7:20; Kondylakis
et al. 2024, Insights Imaging 15:130; the AI4HI slides)."""

from __future__ import annotations

import re
from functools import cache

import pytest

import deid
from deid import Action, Decision
from deid.outputs.compare import comparison_universe
from deid.policy.dictionary import dictionary_entries, keyword_to_tag
from deid.policy.standard import table_e1_1
from deid.tags import parse_tag

RECONSTRUCTED = ("procancer_i", "chaimeleon_images_w_ecrfs", "chaimeleon_images_only", "primage",
                 "incisive", "eucanimage")
CHAIMELEON = ("chaimeleon_images_w_ecrfs", "chaimeleon_images_only")
REMOVED_OR_EMPTIED = {Action.REMOVE, Action.EMPTY}
#: Choices every reconstruction must state where the papers are silent (header comments).
SILENT_POINTS = ("Pseudonym", "UIDs:", "Private tags:", "Times of day:", "Burned-in text:",
                 "Markers:", "(0012,0062)", "(0028,0303)")


@cache
def decide(profile_id: str, keyword: str) -> Decision:
    tag = keyword_to_tag(keyword)
    assert tag is not None, keyword
    vr = next(info.vr for info in dictionary_entries() if info.keyword == keyword)
    return deid.resolver_for(deid.load_profile(profile_id)).decide(tag, vr.split(" or ")[0])


def e11_rows_with(codes: set[str]) -> list[tuple[int, str, str]]:
    """(tag, attribute name, code) of the single-tag Table E.1-1 rows with one of ``codes``."""
    return [(parse_tag(row.tag), row.attribute_name, row.basic_profile) for row in table_e1_1()
            if row.basic_profile in codes and "x" not in row.tag
            and not row.tag.startswith("(gggg")]


# --- What every reconstruction states -----------------------------------------------------------

@pytest.mark.parametrize("profile_id", RECONSTRUCTED)
def test_every_reconstruction_states_its_choices_where_the_papers_are_silent(
        profile_id: str) -> None:
    path = deid.load_profile(profile_id).path
    assert path is not None
    header = path.read_text(encoding="utf-8").split("schema_version")[0]
    for point in SILENT_POINTS:
        assert point in header, f"{profile_id} does not state its choice on {point}"


# --- CHAIMELEON ---------------------------------------------------------------------------------

@pytest.mark.parametrize("profile_id", CHAIMELEON)
def test_chaimeleon_step_1_options_are_the_three_published_ones(profile_id: str) -> None:
    """ "(a) clean descriptors, (b) retain longitudinal full dates, and (c) retain patient
    characteristics" (2023), with step 2's shift making the dates the Modified Dates option."""
    options = set(deid.load_profile(profile_id).all_options())
    assert options == {"clean_descriptors", "retain_long_modified_dates",
                       "retain_patient_characteristics"}
    assert decide(profile_id, "StudyDescription").action is Action.CLEAN
    for keyword in ("PatientAge", "PatientSex", "PatientSize", "PatientWeight", "EthnicGroup",
                    "SmokingStatus", "PregnancyStatus"):
        assert decide(profile_id, keyword).action is Action.KEEP, keyword


@pytest.mark.parametrize("profile_id", CHAIMELEON)
def test_chaimeleon_birth_date_and_every_date_are_shifted(profile_id: str) -> None:
    """Step 1: "All dates, including exam dates and dates of birth, are kept at this stage";
    step 2: "all dates are shifted to keep longitudinal information" (2023)."""
    birth = decide(profile_id, "PatientBirthDate")
    assert birth.action is Action.SHIFT_DATE and "dates of birth" in birth.source
    dates = [info for info in dictionary_entries() if info.vr in ("DA", "DT")
             and not info.is_pattern]
    resolver = deid.resolver_for(deid.load_profile(profile_id))
    for info in dates:
        decision = resolver.decide(parse_tag(info.tag), info.vr)
        assert decision.action is Action.SHIFT_DATE, info.keyword
    assert decide(profile_id, "StudyTime").action is Action.SHIFT_DATE  # whole days: time kept


@pytest.mark.parametrize("profile_id", CHAIMELEON)
def test_chaimeleon_new_identifier_with_no_correspondence(profile_id: str) -> None:
    """Step 2: "a new patient identifier is generated (no table of correspondence kept)"."""
    for keyword in ("PatientID", "PatientName"):
        decision = decide(profile_id, keyword)
        assert decision.action is Action.PSEUDONYM
        assert decision.params["template"] == "{hash:16}"
        assert "no table of correspondence kept" in decision.source


def test_the_two_chaimeleon_profiles_differ_on_no_tag() -> None:
    """The papers state a difference between the two pathways but none for any DICOM tag."""
    first, second = (deid.load_profile(pid) for pid in CHAIMELEON)
    universe = comparison_universe([first, second])
    a, b = deid.resolver_for(first), deid.resolver_for(second)
    differing = [row.tag for row in universe.tags
                 if (a.decide(row.code, row.vr or "UN").action, a.decide(row.code, row.vr or
                                                                          "UN").params)
                 != (b.decide(row.code, row.vr or "UN").action,
                     b.decide(row.code, row.vr or "UN").params)]
    assert differing == []


# --- EuCanImage ---------------------------------------------------------------------------------

def test_eucanimage_patient_id_is_sha512_256_of_site_secret_and_id_in_64_hex() -> None:
    """ "The standard hash algorithm adopted by the platform is SHA512/256"; "a secret key
    (unique for each hospital) concatenated together with the personal patient's ID"; "a 64
    alphanumeric characters code" (slides)."""
    decision = decide("eucanimage", "PatientID")
    assert decision.action is Action.HASH
    assert dict(decision.params) == {"algorithm": "sha512_256", "keying": "concat",
                                     "secret": "site", "length": 0, "prefix": "",
                                     "input": "{value}"}
    assert "SHA512/256" in decision.source and "64 alphanumeric" in decision.source


def test_eucanimage_keeps_age_and_weight_modified_per_protocol() -> None:
    """ "DICOM tags that might be clinically relevant such as the patient's age or weight are
    kept and modified according to the study protocol" (2024, Table 1)."""
    for keyword in ("PatientAge", "PatientWeight"):
        assert decide("eucanimage", keyword).action is Action.ROUND


# --- ProCancer-I --------------------------------------------------------------------------------

def test_procancer_second_stage_is_an_allow_list() -> None:
    """ "The second step (whitelisting) ensured that only specific DICOM tags were preserved"
    (2024, Table 1): what the allow-list does not name is removed, private tags included."""
    profile = deid.load_profile("procancer_i")
    resolver = deid.resolver_for(profile)
    unlisted = resolver.decide(keyword_to_tag("SAR") or 0, "DS")
    assert unlisted.action is Action.REMOVE and not unlisted.explicit
    assert resolver.decide(0x00191008, "LO", "SOME VENDOR").action is Action.REMOVE
    assert decide("procancer_i", "PatientAge").action is Action.REMOVE
    for keyword in ("Modality", "RepetitionTime", "EchoTime", "DiffusionBValue", "PixelData"):
        assert decide("procancer_i", keyword).action is Action.KEEP, keyword
    kept = sum(1 for info in dictionary_entries() if not info.is_pattern
               and resolver.decide(parse_tag(info.tag), info.vr.split(" or ")[0]).action
               is Action.KEEP)
    assert 0 < kept < 150


def test_procancer_identity_is_pca_and_a_hash_of_site_and_patient_id() -> None:
    """ "The case's final identity is defined by the parameter PCa followed by a hash string
    generated from the site ID and the original patient ID" (2024, Table 1)."""
    decision = decide("procancer_i", "PatientID")
    assert decision.action is Action.PSEUDONYM
    assert re.fullmatch(r"PCa\{hash(:\d+)?\}", decision.params["template"])
    assert decision.params["input"] == "{SITE_ID}{value}"


def test_procancer_dates_offset_and_times_obscured() -> None:
    """ "An offset was defined from the original examination date for the dates"; "Other extreme
    accuracy fields such as time of acquisition were obscured" (slides)."""
    assert decide("procancer_i", "StudyDate").action is Action.SHIFT_DATE
    acquisition = decide("procancer_i", "AcquisitionTime")
    assert acquisition.action is Action.TRUNCATE_DATE and acquisition.params["to"] == "hour"


# --- PRIMAGE and INCISIVE: removed or emptied ---------------------------------------------------

@pytest.mark.parametrize("profile_id", ["primage", "incisive"])
def test_compound_codes_are_removed_or_emptied_never_a_dummy(profile_id: str) -> None:
    """PRIMAGE: "all the DICOM tags with sensitive information as stated in the DICOM standards
    PS3.15 are removed or emptied"; INCISIVE: "either removed completely or replaced with a
    zero-length value"."""
    resolver = deid.resolver_for(deid.load_profile(profile_id))
    for tag, name, code in e11_rows_with({"X/D", "Z/D", "X/Z/D", "X/Z", "X", "Z"}):
        decision = resolver.decide(tag, "UN")
        assert decision.action is not Action.DUMMY, f"{name} ({code}) gets a dummy"
    assert decide(profile_id, "InstitutionName").action in REMOVED_OR_EMPTIED
    assert decide(profile_id, "ContentDate").action in (REMOVED_OR_EMPTIED
                                                         | {Action.SHIFT_DATE})


@pytest.mark.parametrize("profile_id", ["primage", "incisive"])
def test_a_dummy_is_kept_only_where_the_table_codes_d_alone_and_says_why(
        profile_id: str) -> None:
    resolver = deid.resolver_for(deid.load_profile(profile_id))
    dummies = 0
    for tag, name, _ in e11_rows_with({"D"}):
        decision = resolver.decide(tag, "UN")
        if decision.action is Action.DUMMY:
            dummies += 1
            assert "Type 1" in decision.reason and "removed or emptied" in decision.reason, name
    assert dummies > 20


def test_primage_pseudonym_replaces_name_and_id() -> None:
    """ "this pseudonym is used to substitute personal data in the DICOM files such as the
    patient name or the patient ID" (2023)."""
    for keyword in ("PatientID", "PatientName"):
        decision = decide("primage", keyword)
        assert decision.action is Action.PSEUDONYM and decision.params["template"].startswith(
            "PRIMAGE-")
    assert decide("primage", "StudyDate").action in REMOVED_OR_EMPTIED


def test_incisive_dates_are_offset_including_those_outside_table_e1_1() -> None:
    """ "For the dates, it was mandatory to keep the original offset between consecutive
    examinations of the patient the same after the de-identification process" (slides)."""
    for keyword in ("StudyDate", "SeriesDate", "DateOfGainCalibration", "AcquisitionDateTime"):
        assert decide("incisive", keyword).action is Action.SHIFT_DATE, keyword
    birth = decide("incisive", "PatientBirthDate")
    assert birth.action is Action.EMPTY and "examination" in birth.reason


def test_incisive_other_identifiers_hashed_with_the_patient_as_seed() -> None:
    """ "For other different identifiers, a hash function would be applied using the
    de-identified patient id as a seed" (slides)."""
    for keyword in ("AccessionNumber", "StudyID", "RequestedProcedureID"):
        decision = decide("incisive", keyword)
        assert decision.action is Action.HASH and "{patient}" in decision.params["input"]
    naming = decide("incisive", "PatientID")
    assert naming.action is Action.PSEUDONYM and "{DATA_PROVIDER}" in naming.params["template"]
