"""Audit page: audits an export against its originals and claimed profile (the tables equal
the library's), reviews an export alone, shows one pair element by element, and says what is
wrong with bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.audit import audit
from tests.test_pages_support import chart_by_key, frame_by_key, page, problems, seeded
from ui import audit as view

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "files"
AUDIT = page("audit")
NAMES = ("ct_series_slice1.dcm", "ct_series_slice2.dcm", "mr_site_meta_and_contacts.dcm",
         "sr_comprehensive_nested.dcm")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    originals = tmp_path_factory.mktemp("originals")
    for name in NAMES:
        shutil.copy(SAMPLE / name, originals / name)
    out = tmp_path_factory.mktemp("copies")
    deid.apply_profiles([str(originals)], [deid.load_profile("primage")],
                        secrets=deid.Secrets({"default": "page"}), write_dicom=out, workers=1)
    return originals, out / "primage"


def _run(expect_problem: bool = False, **values: str) -> AppTest:
    at = seeded(AUDIT).run()
    for key, value in values.items():
        if key == view.PROFILE:
            at.selectbox(key=key).select(value)
        elif key == view.PAIRING:
            at.radio(key=key).set_value(value)
        else:
            at.text_input(key=key).input(value)
    at.button(key=view.RUN_BUTTON).click().run()
    assert bool(problems(at)) is expect_problem, problems(at)
    return at


def test_an_empty_page_says_what_to_give() -> None:
    at = seeded(AUDIT).run()
    assert not problems(at)
    assert any("Name the export" in info.value for info in at.info)


def test_audit_against_the_claimed_profile(folders: tuple[Path, Path]) -> None:
    originals, exported = folders
    at = _run(**{view.EXPORTED: str(exported), view.ORIGINALS: str(originals),
                 view.PROFILE: "ps315_basic"})
    expected = audit([originals], [exported], deid.load_profile("ps315_basic"))
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Paired"] == str(len(NAMES))
    assert metrics["Deviations"] == f"{expected.n_deviations:,}" and expected.n_deviations
    shown = frame_by_key(at, view.ELEMENTS_TABLE)
    assert len(shown) == int((~expected.audit_elements["agrees"]).sum())
    chart = chart_by_key(at, view.AGREEMENT_CHART)
    assert {trace.name for trace in chart.data} == {"agrees", "deviates"}
    pair = frame_by_key(at, view.PAIR_TABLE)
    assert {"original_value", "exported_value", "claimed_action", "observed_action"} <= set(
        pair.columns)
    assert len(pair) > 20
    downloads = [button for button in at.get("download_button")]
    assert len(downloads) >= 10


def test_audit_of_a_copy_against_its_own_profile_finds_no_deviation(
        folders: tuple[Path, Path]) -> None:
    originals, exported = folders
    at = _run(**{view.EXPORTED: str(exported), view.ORIGINALS: str(originals),
                 view.PROFILE: "primage"})
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Deviations"] == "0"


def test_an_export_alone_is_reviewed(folders: tuple[Path, Path]) -> None:
    _, exported = folders
    at = _run(**{view.EXPORTED: str(exported)})
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Files"] == str(len(NAMES)) and metrics["Paired"] == "0"
    findings = frame_by_key(at, view.FINDINGS_TABLE)
    assert set(findings["profile_id"]) <= {"export"}


def test_bad_input_is_a_message(tmp_path: Path) -> None:
    at = _run(True, **{view.EXPORTED: str(tmp_path / "missing")})
    assert any("does not exist" in error.value for error in at.error)
    at = _run(True, **{view.EXPORTED: str(tmp_path), view.ORIGINALS: str(tmp_path),
                       view.PAIRING: "uid-map"})
    assert any("mapping CSV" in error.value for error in at.error)
