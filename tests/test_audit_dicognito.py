"""The audit on copies made by a different de-identifier: dicognito (a dev dependency) run over
the sample, audited against the profile that models it, finds what dicognito really does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest

from deid import load_profile
from deid.audit import audit

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "files"
dicognito = pytest.importorskip("dicognito.anonymizer",
                                reason="dicognito is a dev dependency (requirements-dev.txt)")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    originals = tmp_path_factory.mktemp("originals")
    exported = tmp_path_factory.mktemp("dicognito")
    anonymizer = dicognito.Anonymizer(seed="deid audit test")
    for path in sorted(SAMPLE.glob("*.dcm")):
        shutil.copy(path, originals / path.name)
        dataset = pydicom.dcmread(path)
        anonymizer.anonymize(dataset)
        dataset.save_as(exported / path.name)
    return audit([originals], [exported], load_profile("dicognito_default"))


def _observed(result, path: str) -> set[str]:  # type: ignore[no-untyped-def]
    elements = result.audit_elements
    return set(elements[elements["element_path"] == path]["observed_action"])


def test_dicognito_replaces_the_institution_consistently_across_files(audited) -> None:  # type: ignore[no-untyped-def]
    assert _observed(audited, "(0008,0080)") == {"replaced_consistently"}
    assert _observed(audited, "(0010,0020)") == {"replaced_consistently"}


def test_dicognito_keeps_private_elements_and_free_text(audited) -> None:  # type: ignore[no-untyped-def]
    assert _observed(audited, "(0029,1010)") == {"kept"}        # the Siemens CSA header
    assert _observed(audited, "(0010,21B0)") == {"kept"}        # AdditionalPatientHistory
    assert _observed(audited, "(0008,1030)") == {"kept"}        # StudyDescription
    risk = audited.risk.residual_risk
    assert risk["reason"].str.contains("patient's name").any()  # what the kept text leaks


def test_what_dicognito_does_beyond_the_profile_is_reported(audited) -> None:  # type: ignore[no-untyped-def]
    pairs = audited.audit_pairs
    assert set(pairs["paired_by"]) == {"path"} and len(pairs) == len(list(SAMPLE.glob("*.dcm")))
    deviations = audited.audit_deviations
    # dicognito keeps the file meta's AE titles, which this tool's writer drops
    kept_titles = deviations[deviations["keyword"] == "SendingApplicationEntityTitle"]
    assert set(kept_titles["observed_action"]) == {"kept"}
    assert len(deviations) < len(audited.audit_elements) // 20
