"""Residual risk as a DPO reads it: combination findings name only the attributes a profile
leaves, once per patient and set of attributes; the per-element summary with the baseline
before de-identification, the profile's reason and the mitigation each risk needs."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from deid import Secrets
from deid.policy.profile_loader import load_profile
from deid.risk.catalogue import RiskKind
from deid.risk.report import (
    BASELINE_ID,
    MITIGATIONS,
    RiskResult,
    assess_paths,
    baseline_profile,
    element_summary,
    mitigation,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SECRETS = Secrets({"default": "summary-test", "site": "summary-site"})
PROFILES = ("chaimeleon_images_only", "procancer_i", "ps315_basic")


@cache
def assessed() -> RiskResult:
    profiles = [load_profile(pid) for pid in PROFILES] + [baseline_profile()]
    return assess_paths([SAMPLE / "cohort"], profiles, secrets=SECRETS)


def _combinations(findings: pd.DataFrame) -> pd.DataFrame:
    return findings[findings["tag"].astype(str) == ""]


def test_combinations_name_only_the_attributes_left() -> None:
    findings = _combinations(assessed().report.residual_risk)
    chaimeleon = findings[findings["profile_id"] == "chaimeleon_images_only"]
    assert len(chaimeleon) > 0
    # CHAIMELEON keeps age, sex, size and weight but removes the address and the institution
    for keyword, reason in zip(chaimeleon["keyword"], chaimeleon["reason"], strict=True):
        assert "PostalCode" not in keyword and "InstitutionName" not in keyword, keyword
        assert "PostalCode" not in reason and "InstitutionName" not in reason, reason
        for name in keyword.split("+"):
            assert name in reason


def test_one_fact_is_reported_once() -> None:
    findings = _combinations(assessed().report.residual_risk)
    keys = findings[["profile_id", "file", "keyword"]].astype(str)
    assert not keys.duplicated().any()


def test_the_baseline_keeps_everything_so_it_has_the_most_findings() -> None:
    findings = assessed().report.residual_risk
    counts = findings["profile_id"].astype(str).value_counts()
    assert counts[BASELINE_ID] >= counts.max()


def test_summary_has_one_row_per_element_with_baseline_reason_and_mitigation() -> None:
    profiles = [load_profile(pid) for pid in PROFILES] + [baseline_profile()]
    summary = element_summary(assessed().report.residual_risk, profiles)
    assert not summary.empty
    assert BASELINE_ID not in set(summary["profile_id"])
    assert not summary.duplicated(["profile_id", "element", "tag", "risk_kind"]).any()
    ranks = summary["severity"].map({"high": 0, "medium": 1, "low": 2})
    assert ranks.is_monotonic_increasing
    assert (summary["mitigation"] != "").all()
    age = summary[(summary["profile_id"] == "chaimeleon_images_only")
                  & (summary["element"] == "PatientAge")].iloc[0]
    assert age["action"] == "keep" and "Retain Patient Characteristics" in age["because"]
    assert age["n_files_before"] >= age["n_files"] > 0
    assert age["summary"].startswith(f"PatientAge is kept in {age['n_files']:,} files under "
                                     "chaimeleon_images_only, because:")
    assert "before de-identification" in age["summary"]


def test_summary_without_a_baseline_leaves_the_before_column_empty() -> None:
    findings = assessed().report.residual_risk
    profiles = [load_profile(pid) for pid in PROFILES]
    summary = element_summary(findings[findings["profile_id"] != BASELINE_ID], profiles)
    assert summary["n_files_before"].isna().all()
    assert not summary["summary"].str.contains("before de-identification").any()


@pytest.mark.parametrize("kind", list(RiskKind))
def test_every_kind_has_a_mitigation(kind: RiskKind) -> None:
    assert MITIGATIONS[kind]
    assert mitigation(kind.value, "x", "(0010,1010)")


def test_dates_and_combinations_have_their_own_mitigation() -> None:
    assert "shift_date" in mitigation("quasi_identifier", "StudyDate", "(0008,0020)")
    assert "Generalise one" in mitigation("quasi_identifier", "PatientAge+PatientSex", "")


def test_a_combination_counts_the_patients_a_fuller_set_singled_out_before() -> None:
    profiles = [load_profile(pid) for pid in PROFILES] + [baseline_profile()]
    summary = element_summary(assessed().report.residual_risk, profiles)
    combos = summary[summary["tag"] == ""]
    assert len(combos) and (combos["n_files_before"] >= combos["n_files"]).all()
