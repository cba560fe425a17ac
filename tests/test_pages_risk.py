"""Residual risk page: findings and charts match ``deid.risk``; k and the quasi-identifier
sets are adjustable; class sizes agree with k-anonymity; Aryanto coverage."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.risk.kanon import DEFAULT_QI_SETS
from deid.risk.report import assess_paths
from tests.test_pages_support import (
    PROFILES,
    chart_by_key,
    forget_assessed_risk,
    frame_by_key,
    page,
    problems,
    sample,
    secrets,
    seeded,
    values,
)
from ui import state

RISK = page("risk")


def _run(**extra: object) -> AppTest:
    at = seeded(RISK, **extra).run()
    assert not problems(at), problems(at)
    return at


@pytest.fixture(scope="module")
def page_run() -> AppTest:
    return _run()


@pytest.fixture(scope="module")
def expected() -> deid.risk.report.RiskResult:
    return assess_paths(list(sample().inputs.paths), deid.load_profiles(",".join(PROFILES)),
                        secrets=secrets().secrets)


def test_findings_match_the_library(page_run: AppTest, expected: object) -> None:
    report = expected.report  # type: ignore[attr-defined]
    metrics = {m.label: m.value for m in page_run.metric}
    assert metrics["Findings"] == f"{len(report.residual_risk):,}"
    shown = frame_by_key(page_run, state.RISK_FINDINGS_TABLE)
    assert list(shown.columns) == list(report.residual_risk.columns)
    assert len(shown) == min(len(report.residual_risk), 5000)
    kinds = {t.name: values(t.y) for t in chart_by_key(page_run, state.RISK_BY_KIND).data}
    counts = report.residual_risk.groupby(["risk_kind"], observed=True).size()
    assert {k: int(v.sum()) for k, v in kinds.items()} == {str(k): int(n)
                                                          for k, n in counts.items()}
    severities = chart_by_key(page_run, state.RISK_BY_SEVERITY).data
    assert sum(int(values(t.y).sum()) for t in severities) == len(report.residual_risk)


def test_k_anonymity_and_class_sizes(page_run: AppTest, expected: object) -> None:
    report = expected.report  # type: ignore[attr-defined]
    kanon = frame_by_key(page_run, state.RISK_KANON_TABLE)
    assert kanon["quasi_identifiers"].tolist() == report.k_anonymity[
        "quasi_identifiers"].astype(str).tolist()
    assert kanon["k_min"].tolist() == report.k_anonymity["k_min"].tolist()
    assert set(kanon["quasi_identifiers"]) == set(DEFAULT_QI_SETS)
    figure = chart_by_key(page_run, state.RISK_CLASS_SIZES)
    assert figure.layout.title.text.endswith(DEFAULT_QI_SETS[0])
    for trace in figure.data:  # every record of the cohort is in one class
        assert int(values(trace.y).sum()) == kanon["n_records"].iloc[0]


def test_class_sizes_agree_with_k_anonymity(expected: object) -> None:
    report = expected.report  # type: ignore[attr-defined]
    classes = report.k_classes
    for row in report.k_anonymity.itertuples():
        mine = classes[(classes["profile_id"] == row.profile_id)
                       & (classes["quasi_identifiers"] == row.quasi_identifiers)]
        assert mine["class_size"].min() == row.k_min
        assert mine["n_records"].sum() == row.n_records
        assert mine.loc[mine["class_size"] < row.k_threshold, "n_records"].sum() == \
            row.n_records_below_k


def test_change_k_and_add_a_set() -> None:
    at = _run(**{state.RISK_K: 2, state.RISK_QI_EXTRA: "PatientWeight + PatientSex"})
    kanon = frame_by_key(at, state.RISK_KANON_TABLE)
    assert set(kanon["k_threshold"]) == {2}
    assert "PatientSex+PatientWeight" in set(kanon["quasi_identifiers"])
    assert "PatientSex+PatientWeight" in at.multiselect(key=state.RISK_QI_SETS).options


def test_a_bad_set_is_an_error_and_the_rest_renders() -> None:
    at = seeded(RISK, **{state.RISK_QI_EXTRA: "PatientFoo+PatientSex"}).run()
    assert not at.exception
    assert len(at.error) == 1 and "PatientFoo" in at.error[0].value
    kanon = frame_by_key(at, state.RISK_KANON_TABLE)
    assert set(kanon["quasi_identifiers"]) == set(DEFAULT_QI_SETS)


def test_filter_findings_by_profile_and_kind() -> None:
    at = _run(**{state.RISK_PROFILE_FILTER: ["eucanimage"],
                 state.RISK_KIND_FILTER: ["quasi_identifier"]})
    shown = frame_by_key(at, state.RISK_FINDINGS_TABLE)
    assert len(shown) and set(shown["profile_id"]) == {"eucanimage"}
    assert set(shown["risk_kind"]) == {"quasi_identifier"}


def test_aryanto_coverage(page_run: AppTest) -> None:
    coverage = frame_by_key(page_run, state.RISK_ARYANTO_TABLE)
    assert coverage.set_index("profile_id").loc["eucanimage", "untouched_keywords"] == \
        "PatientSex"
    assert (coverage["n_attributes"] == 50).all()
    bars = {t.name: values(t.y) for t in chart_by_key(page_run, state.RISK_ARYANTO_CHART).data}
    assert (bars["modified"] + bars["untouched (kept)"] == 50).all()


def test_a_large_load_waits_for_the_click(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import compute

    monkeypatch.setattr(compute, "RISK_AUTO_MAX_FILES", 10)
    forget_assessed_risk()
    at = seeded(RISK).run()
    assert not problems(at)
    assert any("waits for you" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.button(key=state.RISK_BUTTON).click().run()
    assert not problems(at) and at.get("plotly_chart")




def test_the_element_summary_comes_first_with_the_baseline(page_run: AppTest) -> None:
    summary = frame_by_key(page_run, state.RISK_SUMMARY_TABLE)
    assert not summary.empty
    assert set(summary["profile_id"]) <= set(PROFILES)
    age = summary[(summary["profile_id"] == "chaimeleon_images_w_ecrfs")
                  & (summary["element"] == "PatientAge")].iloc[0]
    assert age["summary"].startswith("PatientAge is kept in ")
    assert age["n_files_before"] >= age["n_files"] > 0 and age["mitigation"]


def test_findings_name_files_relative_to_the_loaded_folder(page_run: AppTest) -> None:
    findings = frame_by_key(page_run, state.RISK_FINDINGS_TABLE)
    files = findings["file"].astype(str)
    assert not files.str.startswith("/").any()
    assert files.str.startswith(("files/", "cohort/")).all(), files.head()
