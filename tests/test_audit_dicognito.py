"""The audit on copies made by a different de-identifier: dicognito (a dev dependency) run over
the whole sample (its files and its 300-file cohort), audited against the profile that models
it, finds what dicognito really does. Every element where dicognito's output and the profile
disagree is one docs/profiles.md lists under "What cannot be represented", pinned here by
element and reason: no tolerance."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from deid import load_profile
from deid.audit import AuditResult, audit

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
FILES = sorted((SAMPLE / "files").glob("*.dcm")) + sorted((SAMPLE / "cohort").glob("*.dcm"))
DOCS = ROOT / "docs" / "profiles.md"
dicognito = pytest.importorskip("dicognito.anonymizer",
                                reason="dicognito is a dev dependency (requirements-dev.txt)")

HOURS = "2 different date offsets for one patient: intervals are not kept"
#: (element path, profile's action, what dicognito did, audit note) -> why no profile can say it.
CANNOT_BE_REPRESENTED = {
    ("(0008,0020)", "shift_date", "shifted", HOURS):
        "dicognito's date offset is in hours",
    ("(0010,0030)", "shift_date", "shifted", HOURS):
        "dicognito's date offset is in hours",
    ("(0040,A073)[0].(0040,A030)", "shift_date", "replaced_consistently", ""):
        "dicognito's date offset is in hours",
    ("(0054,0016)[0].(0018,1078)", "shift_date", "replaced_consistently", ""):
        "dicognito's date offset is in hours",
    ("(0008,0081)", "none", "added", ""):
        "dicognito adds an InstitutionAddress",
    ("(0008,0096)[0].(0008,0081)", "none", "added", ""):
        "dicognito adds an InstitutionAddress",
    ("(0010,0010)", "pseudonym", "replaced", ""):
        "dicognito draws a first name by PatientSex",
}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    originals = tmp_path_factory.mktemp("originals")
    exported = tmp_path_factory.mktemp("dicognito")
    anonymizer = dicognito.Anonymizer(seed="deid audit test")
    for path in FILES:
        shutil.copy(path, originals / path.name)
        dataset = pydicom.dcmread(path)
        anonymizer.anonymize(dataset)
        dataset.save_as(exported / path.name)
    return audit([originals], [exported], load_profile("dicognito_default"))


def _observed(result: AuditResult, path: str) -> set[str]:
    elements = result.audit_elements
    return set(elements[elements["element_path"] == path]["observed_action"])


def _disagreeing(result: AuditResult) -> set[tuple[str, str, str, str]]:
    rows = result.audit_elements[~result.audit_elements["agrees"].astype(bool)]
    return {(r.element_path, r.claimed_action, r.observed_action, str(r.note or ""))
            for r in rows.itertuples()}


def test_dicognito_replaces_the_institution_consistently_across_files(
        audited: AuditResult) -> None:
    assert _observed(audited, "(0008,0080)") == {"replaced_consistently"}
    assert _observed(audited, "(0010,0020)") == {"replaced_consistently"}


def test_dicognito_keeps_private_elements_and_free_text(audited: AuditResult) -> None:
    assert _observed(audited, "(0029,1010)") == {"kept"}        # the Siemens CSA header
    assert _observed(audited, "(0010,21B0)") == {"kept"}        # AdditionalPatientHistory
    assert _observed(audited, "(0008,1030)") == {"kept"}        # StudyDescription
    risk = audited.risk.residual_risk
    assert risk["reason"].str.contains("patient's name").any()  # what the kept text leaks


def test_the_profile_predicts_the_file_meta_dicognito_walks(audited: AuditResult) -> None:
    elements = audited.audit_elements.set_index("element_path")
    for path in ("(0002,0017)", "(0002,0018)", "(0002,0102)"):  # AE titles, PrivateInformation
        assert (elements.loc[path, "claimed_action"], elements.loc[path, "observed_action"],
                bool(elements.loc[path, "agrees"])) == ("keep", "kept", True), path
    creator_uid = elements.loc["(0002,0100)"]  # PrivateInformationCreatorUID, a UI it remaps
    assert (creator_uid["claimed_action"], creator_uid["observed_action"]) == (
        "uid", "replaced_consistently")


def test_every_deviation_is_one_that_cannot_be_represented(audited: AuditResult) -> None:
    pairs = audited.audit_pairs
    assert set(pairs["paired_by"]) == {"path"} and len(pairs) == len(FILES)
    assert _disagreeing(audited) == set(CANNOT_BE_REPRESENTED)
    deviations = audited.audit_deviations
    found = set(zip(deviations["element_path"], deviations["claimed_action"],
                    deviations["observed_action"], strict=True))
    assert found == {key[:3] for key in CANNOT_BE_REPRESENTED}


def _days(original: str, exported: str, keyword: str) -> int:
    before, after = (pydicom.dcmread(path, stop_before_pixels=True).get(keyword)
                     for path in (original, exported))
    return (dt.datetime.strptime(after, "%Y%m%d") - dt.datetime.strptime(before, "%Y%m%d")).days


def test_the_date_offset_in_hours_moves_a_date_by_one_day_less_with_a_late_time(
        audited: AuditResult) -> None:
    """dicognito moves a date with its time of day by one offset in hours: a study date whose
    StudyTime is late in the day moves one day less far back than the birth date (no time:
    midnight) of the same file; elsewhere both move by the same days."""
    rows = audited.audit_deviations
    flagged = rows[rows["element_path"] == "(0008,0020)"]
    birth = rows[rows["element_path"] == "(0010,0030)"]
    assert set(flagged["exported"]) == set(birth["exported"]) and len(flagged) > 0
    for pair in flagged.itertuples():
        assert _days(pair.original, pair.exported, "StudyDate") == _days(
            pair.original, pair.exported, "PatientBirthDate") + 1, pair.exported
    others = audited.audit_pairs[~audited.audit_pairs["exported"].isin(flagged["exported"])]
    same = [_days(p.original, p.exported, "StudyDate") == _days(p.original, p.exported,
                                                                "PatientBirthDate")
            for p in others.itertuples() if "coh_" in p.exported]
    assert same and all(same)


def test_docs_list_each_deviation_as_not_representable() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("**What cannot be represented**", 1)[1].split("\n\n", 2)[1]
    for reason in sorted(set(CANNOT_BE_REPRESENTED.values())):
        assert reason in section.replace("\n  ", " ").replace("\n", " "), reason


def test_the_audit_names_those_deviations_in_its_elements_table(audited: AuditResult) -> None:
    elements = audited.audit_elements
    assert isinstance(elements, pd.DataFrame)
    disagreeing = elements[~elements["agrees"].astype(bool)]
    assert len(disagreeing) == len(CANNOT_BE_REPRESENTED)
