"""Audit page: audits an export against its originals and claimed profile (the tables equal
the library's), filters the elements and the deviations, downloads the library's tables,
reviews an export alone, shows one pair element by element, says what is wrong with bad input,
and hands its audit to the Profiles page's sign-off report."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.audit import AuditResult, audit
from deid.outputs.signoff import read_figures
from tests.test_pages_support import (
    Deferred,
    chart_by_key,
    downloaded,
    frame_by_key,
    page,
    problems,
    record_deferred,
    seeded,
    table_from,
)
from ui import audit as view
from ui import state

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


@pytest.fixture(scope="module")
def expected(folders: tuple[Path, Path]) -> AuditResult:
    """The library's audit of the primage copies against ps315_basic (values left out)."""
    originals, exported = folders
    return audit([originals], [exported], deid.load_profile("ps315_basic"))


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deferred]:
    """The makers of the deferred download buttons rendered."""
    yield record_deferred(monkeypatch)


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


def _against_ps315(folders: tuple[Path, Path]) -> AppTest:
    originals, exported = folders
    return _run(**{view.EXPORTED: str(exported), view.ORIGINALS: str(originals),
                   view.PROFILE: "ps315_basic"})


def test_audit_against_the_claimed_profile(folders: tuple[Path, Path],
                                           expected: AuditResult) -> None:
    at = _against_ps315(folders)
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


def _keys(frame: pd.DataFrame, *columns: str) -> list[tuple[str, ...]]:
    """The rows of ``frame`` as sorted tuples of ``columns`` (as text)."""
    return sorted(tuple(str(value) for value in row)
                  for row in frame[list(columns)].itertuples(index=False))


ELEMENT_KEY = ("element_path", "claimed_action", "observed_action")
DEVIATION_KEY = ("exported", "element_path", "claimed_action", "observed_action")


def test_the_element_filters_change_the_rows_shown(folders: tuple[Path, Path],
                                                   expected: AuditResult) -> None:
    elements = expected.audit_elements
    deviating = elements[~elements["agrees"]]
    at = _against_ps315(folders)
    assert _keys(frame_by_key(at, view.ELEMENTS_TABLE), *ELEMENT_KEY) == _keys(
        deviating, *ELEMENT_KEY)

    at.checkbox(key=view.ONLY_DEVIATIONS).uncheck().run()
    assert not problems(at), problems(at)
    every = frame_by_key(at, view.ELEMENTS_TABLE)
    assert len(every) == len(elements) > len(deviating)
    assert _keys(every, *ELEMENT_KEY) == _keys(elements, *ELEMENT_KEY)

    at.checkbox(key=view.ONLY_DEVIATIONS).check().run()
    at.text_input(key=view.KEYWORD_FILTER).input("patient").run()
    by_keyword = deviating[deviating["keyword"].str.lower().str.contains("patient")]
    assert 0 < len(by_keyword) < len(deviating)
    assert _keys(frame_by_key(at, view.ELEMENTS_TABLE), *ELEMENT_KEY) == _keys(
        by_keyword, *ELEMENT_KEY)

    at.text_input(key=view.KEYWORD_FILTER).input("(0008,0080)").run()
    shown = frame_by_key(at, view.ELEMENTS_TABLE)
    assert set(shown["keyword"]) == {"InstitutionName"}
    assert _keys(shown, *ELEMENT_KEY) == _keys(deviating[deviating["tag"] == "(0008,0080)"],
                                               *ELEMENT_KEY)

    at.text_input(key=view.KEYWORD_FILTER).input("NoSuchKeyword").run()
    assert frame_by_key(at, view.ELEMENTS_TABLE).empty


def test_the_deviation_filters_change_the_rows_shown(folders: tuple[Path, Path],
                                                     expected: AuditResult) -> None:
    deviations = expected.audit_deviations
    at = _against_ps315(folders)
    assert _keys(frame_by_key(at, view.DEVIATIONS_TABLE), *DEVIATION_KEY) == _keys(
        deviations, *DEVIATION_KEY)
    claimed = at.multiselect(key=view.DEVIATION_CLAIMED)
    observed = at.multiselect(key=view.DEVIATION_OBSERVED)
    assert list(claimed.options) == sorted(set(deviations["claimed_action"]))
    assert list(observed.options) == sorted(set(deviations["observed_action"]))

    def shown() -> list[tuple[str, ...]]:
        assert not problems(at), problems(at)
        return _keys(frame_by_key(at, view.DEVIATIONS_TABLE), *DEVIATION_KEY)

    at.text_input(key=view.DEVIATION_SEARCH).input("SLICE1").run()  # a file's name
    in_one_file = deviations[deviations["exported"].str.contains("slice1")]
    assert 0 < len(in_one_file) < len(deviations)
    assert shown() == _keys(in_one_file, *DEVIATION_KEY)
    assert any("match the filters" in caption.value for caption in at.caption)

    at.text_input(key=view.DEVIATION_SEARCH).input("PatientName").run()  # a keyword
    by_name = deviations[deviations["keyword"] == "PatientName"]
    assert shown() == _keys(by_name, *DEVIATION_KEY) and len(by_name) == len(NAMES)

    at.text_input(key=view.DEVIATION_SEARCH).input("(0008,0080)").run()  # a tag
    assert shown() == _keys(deviations[deviations["tag"] == "(0008,0080)"], *DEVIATION_KEY)

    at.text_input(key=view.DEVIATION_SEARCH).input("").run()
    at.multiselect(key=view.DEVIATION_CLAIMED).select("dummy").run()
    dummies = deviations[deviations["claimed_action"] == "dummy"]
    assert 0 < len(dummies) < len(deviations)
    assert shown() == _keys(dummies, *DEVIATION_KEY)

    at.multiselect(key=view.DEVIATION_OBSERVED).select("removed").run()
    both = dummies[dummies["observed_action"] == "removed"]
    assert 0 < len(both) < len(dummies)
    assert shown() == _keys(both, *DEVIATION_KEY)

    at.multiselect(key=view.DEVIATION_CLAIMED).unselect("dummy").run()
    at.multiselect(key=view.DEVIATION_OBSERVED).unselect("removed").run()
    assert shown() == _keys(deviations, *DEVIATION_KEY)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_downloads_are_the_library_tables(folders: tuple[Path, Path], expected: AuditResult,
                                              deferred: Deferred,
                                              fmt: str, tmp_path: Path) -> None:
    at = _against_ps315(folders)
    at.checkbox(key=view.ONLY_DEVIATIONS).uncheck().run()
    assert not problems(at), problems(at)
    for table, shown_key in (("audit_elements", view.ELEMENTS_TABLE),
                             ("audit_deviations", view.DEVIATIONS_TABLE),
                             ("audit_pairs", view.PAIRS_TABLE)):
        data = downloaded(at, f"audit.download.{table}.{fmt}", deferred)
        got = table_from(data, fmt, table, tmp_path)
        library = expected.tables()[table].reset_index(drop=True)
        assert len(library), table
        pd.testing.assert_frame_equal(got.reset_index(drop=True), library, check_dtype=False,
                                      obj=table)
        shown = frame_by_key(at, shown_key)
        key = [c for c in got.columns if c not in ("original_value", "exported_value")]
        assert _keys(got, *key) == _keys(shown, *key), table
    deviations = table_from(downloaded(at, f"audit.download.audit_deviations.{fmt}",
                                         deferred), fmt, "audit_deviations", tmp_path)
    assert deviations["original_value"].isna().all() and deviations[
        "exported_value"].isna().all()  # the page shows values, the download leaves them out
    assert frame_by_key(at, view.DEVIATIONS_TABLE)["original_value"].notna().any()


def test_the_sign_off_report_carries_the_audit_run_on_the_page(
        folders: tuple[Path, Path], expected: AuditResult,
        deferred: Deferred, tmp_path: Path) -> None:
    """The Audit page keeps its run in the session; the Profiles page's sign-off report of
    the claimed profile carries its figures (pages share the session state only: the run is
    handed over as a browser session would)."""
    record = str(tmp_path / "record")

    def report(profile_id: str, **session: object) -> tuple[str, AppTest]:
        at = seeded(page("profiles"), **{state.DATA_DIR: record,
                                         state.PROFILE_READ: profile_id}, **session).run()
        assert not problems(at), problems(at)
        return downloaded(at, state.SIGNOFF_DOWNLOAD, deferred).decode("utf-8"), at

    before, at = report("ps315_basic")
    assert "Audit of an export" not in before  # no audit run yet
    assert not [c.value for c in at.caption if "audit run on" in c.value]
    kept = _against_ps315(folders).session_state[view.RESULT]

    html, at = report("ps315_basic", **{view.RESULT: kept})
    assert "Audit of an export made with this profile" in html
    assert [c.value for c in at.caption if "audit run on" in c.value] == [
        f"With the audit run on **Audit** of `{folders[1]}` against ps315_basic: "
        f"{expected.n_deviations:,} deviation(s)."]
    figures = read_figures(html)
    elements = expected.audit_elements
    assert {key: figures[key] for key in figures if key.startswith("audit_")} == {
        "audit_files_paired": len(NAMES), "audit_files_unpaired": 0,
        "audit_deviations": expected.n_deviations,
        "audit_elements_deviating": int((~elements["agrees"]).sum()),
        "audit_export_findings": len(expected.risk.residual_risk)}
    assert expected.n_deviations > 0
    # The audit was against ps315_basic: another profile's report does not carry it.
    other, _ = report("primage", **{view.RESULT: kept})
    assert "Audit of an export" not in other and "audit_deviations" not in read_figures(other)


DEVIATIONS = pd.DataFrame({
    "original": ["o/a.dcm", "o/a.dcm", "o/b.dcm"],
    "exported": ["e/a.dcm", "e/a.dcm", "e/b.dcm"],
    "element_path": ["(0010,0010)", "(0008,1111)[0].(0008,1155)", "(0008,0080)"],
    "tag": ["(0010,0010)", "(0008,1155)", "(0008,0080)"],
    "keyword": ["PatientName", "ReferencedSOPInstanceUID", "InstitutionName"],
    "claimed_action": ["empty", "uid", "dummy"],
    "observed_action": ["replaced_consistently", "kept", "emptied"],
})


@pytest.mark.parametrize(("search", "claimed", "observed", "rows"), [
    ("", (), (), [0, 1, 2]),
    ("patientname", (), (), [0]),  # keyword, case aside
    ("(0008,1111)", (), (), [1]),  # a sequence in the element path
    ("B.DCM", (), (), [2]),  # a file
    ("  a.dcm ", (), (), [0, 1]),  # spaces around the text are ignored
    ("", ("uid", "dummy"), (), [1, 2]),
    ("", (), ("kept",), [1]),
    ("a.dcm", ("dummy",), (), []),
    ("[0]", (), (), [1]),  # plain text, not a pattern
])
def test_filter_deviations(search: str, claimed: tuple[str, ...], observed: tuple[str, ...],
                           rows: list[int]) -> None:
    shown = view.filter_deviations(DEVIATIONS, search=search, claimed=claimed,
                                   observed=observed)
    assert shown.index.tolist() == rows


def test_action_options_are_the_actions_present() -> None:
    assert view.actions_in(DEVIATIONS, "claimed_action") == ["dummy", "empty", "uid"]
