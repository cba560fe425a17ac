"""Tag effects page: the per-tag table over the sample, each filter, a tag's decisions and
findings, and one file element by element."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.ingest import load_headers
from deid.outputs.effects import apply_to_headers
from tests.test_pages_support import (
    PROFILES,
    REPO_ROOT,
    forget_assessed_risk,
    frame_by_key,
    page,
    problems,
    sample,
    seeded,
)
from ui import compute, state, tagview
from ui.session import Inputs, Loaded

TAGS = page("tag_effects")


def _run(**extra: object) -> AppTest:
    at = seeded(TAGS, **extra).run()
    assert not problems(at), problems(at)
    return at


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return frame_by_key(_run(), state.TAG_TABLE)


def test_one_row_per_tag_with_each_profiles_action(table: pd.DataFrame) -> None:
    headers = sample().headers
    assert sorted(table["tag"]) == sorted(headers["tag"].astype(str).unique())
    assert list(table.columns[:9]) == list(tagview.TAG_COLUMNS)
    assert set(PROFILES) <= set(table.columns)
    sex = table[table["tag"] == "(0010,0040)"].iloc[0]
    assert sex["n_files"] == headers.loc[headers["tag"] == "(0010,0040)", "file"].nunique()
    actions = apply_to_headers(headers, deid.load_profile("ps315_basic"))
    assert sex["ps315_basic"] == " / ".join(
        sorted(actions.loc[headers["tag"] == "(0010,0040)", "action"].astype(str).unique()))
    # eucanimage keeps PatientSex: a residual risk, marked in the cell
    assert sex["eucanimage"] == f"keep {tagview.RISK_MARK}"
    assert sex["risky_in"] == 2 and sex["profiles_disagree"]


@pytest.mark.parametrize(("key", "value", "check"), [
    (state.TAG_SEARCH, "patient", lambda t: t["keyword"].str.lower().str.contains("patient")),
    (state.TAG_GROUPS, ["0010"], lambda t: t["group"] == "0010"),
    (state.TAG_VRS, ["DA"], lambda t: t["vr"].str.contains("DA")),
    (state.TAG_PRIVATE, "private", lambda t: t["tag"].str[4].isin(list("13579BDF"))),
    (state.TAG_PRIVATE, "standard", lambda t: ~t["tag"].str[4].isin(list("13579BDF"))),
    (state.TAG_DISAGREE, True, lambda t: t["profiles_disagree"]),
    (state.TAG_RISKY, True, lambda t: t["risky_in"] > 0),
    (state.TAG_DEPTH, (2, 5), lambda t: ~t["depth"].isin(["0", "1", "0-1"])),
])
def test_a_filter_keeps_only_matching_tags(key: str, value: object, check: object,
                                           table: pd.DataFrame) -> None:
    at = _run(**{key: value})
    filtered = frame_by_key(at, state.TAG_TABLE)
    assert 0 < len(filtered) < len(table)
    assert check(filtered).all()  # type: ignore[operator]
    assert f"{len(filtered):,} of {len(table):,} tags" in at.caption[0].value \
        or any(f"{len(filtered):,} of {len(table):,} tags" in c.value for c in at.caption)


def test_changing_a_filter_on_the_page(table: pd.DataFrame) -> None:
    at = _run()
    at.text_input(key=state.TAG_SEARCH).input("PatientAge").run()
    assert frame_by_key(at, state.TAG_TABLE)["keyword"].tolist() == ["PatientAge"]
    at.checkbox(key=state.TAG_DISAGREE).check().run()
    assert frame_by_key(at, state.TAG_TABLE)["keyword"].tolist() == ["PatientAge"]
    at.text_input(key=state.TAG_SEARCH).input("no such keyword").run()
    assert not at.exception and any("No tag passes" in i.value for i in at.info)


def test_picking_profiles_changes_the_columns() -> None:
    at = _run()
    at.multiselect(key=state.TAG_PROFILES).set_value(["ps315_basic"]).run()
    assert not problems(at)
    table = frame_by_key(at, state.TAG_TABLE)
    assert "ps315_basic" in table.columns and "eucanimage" not in table.columns
    assert not table["profiles_disagree"].any()


def test_a_tags_decisions_and_findings() -> None:
    at = _run(**{state.TAG_DETAIL: "(0010,0040)"})
    decisions = frame_by_key(at, state.TAG_DETAIL_TABLE)
    assert len(decisions) == len(PROFILES)
    by_profile = decisions.set_index("profile")
    assert by_profile.loc["eucanimage (reconstructed)", "action in the files"] == "keep"
    assert by_profile.loc["eucanimage (reconstructed)", "files at risk"] > 0
    assert "quasi_identifier" in by_profile.loc["eucanimage (reconstructed)", "risk"]
    assert by_profile.loc["ps315_basic", "files at risk"] == 0
    assert by_profile["reason"].str.len().min() > 0 and by_profile["source"].str.len().min() > 0
    findings = frame_by_key(at, state.TAG_FINDINGS_TABLE)
    assert set(findings["tag"]) == {"(0010,0040)"}
    assert set(findings["profile_id"]) == {"chaimeleon_images_w_ecrfs", "eucanimage"}


def test_one_file_element_by_element() -> None:
    file = next(f for f in sample().files if f.endswith("ct_series_slice1.dcm"))
    at = _run(**{state.TAG_DETAIL: "(0010,0010)", state.TAG_FILE: file})
    view = frame_by_key(at, state.TAG_FILE_TABLE)
    assert list(view.columns[:4]) == ["element_path", "keyword", "vr", "original_value"]
    name = view[view["keyword"] == "PatientName"].iloc[0]
    original = sample().headers
    assert name["original_value"] == original.loc[
        (original["file"] == file) & (original["tag"] == "(0010,0010)"), "value"].iloc[0]
    assert name["ps315_basic: action"] in {"empty", "dummy", "remove"}
    assert name["ps315_basic: result"] != name["original_value"]
    patient_id = view[view["keyword"] == "PatientID"].iloc[0]
    decided = deid.resolver_for(deid.load_profile("eucanimage")).decide(0x00100020, "LO")
    assert patient_id["eucanimage: action"] == decided.action.value == "hash"
    assert len(patient_id["eucanimage: result"]) == 64  # SHA-512/256 in hex
    findings = frame_by_key(at, state.TAG_FILE_FINDINGS)
    assert set(findings["file"]) == {file}


def test_a_large_load_waits_for_the_risk_assessment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "RISK_AUTO_MAX_FILES", 10)
    forget_assessed_risk()
    at = seeded(TAGS).run()
    assert not problems(at), problems(at)
    assert any("waits for you" in i.value for i in at.info)
    assert at.checkbox(key=state.TAG_RISKY).disabled
    table = frame_by_key(at, state.TAG_TABLE)
    assert (table["risky_in"] == 0).all()
    at.button(key=state.TAG_RISK_BUTTON).click().run()
    assert at.session_state[state.RISK_REQUESTED]
    assert (frame_by_key(at, state.TAG_TABLE)["risky_in"] > 0).any()


def test_no_profile_active_says_what_to_do() -> None:
    at = seeded(TAGS, []).run()
    assert not problems(at)
    assert any("No profile is active" in i.value for i in at.info)


def _loaded(paths: list[str], uploads: tuple[tuple[str, bytes], ...] = ()) -> Loaded:
    result = load_headers(paths, uploads=list(uploads), include_values=True, workers=1)
    return Loaded(Inputs(tuple(paths), tuple(uploads), "test", f"test-{paths}-{len(uploads)}"),
                  result.headers, result.load_errors, result.n_files, 0.0)


def test_one_file_from_a_zip_archive_and_from_an_upload(tmp_path: Path) -> None:
    source = REPO_ROOT / "data" / "sample" / "files" / "ct_series_slice1.dcm"
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("study/ct.dcm", source.read_bytes())
    for data in (_loaded([str(archive)]), _loaded([], (("ct.dcm", source.read_bytes()),))):
        at = seeded(TAGS, data=data, **{state.TAG_DETAIL: "(0010,0010)"}).run()
        assert not problems(at), problems(at)
        assert at.selectbox(key=state.TAG_FILE).value == data.files[0]
        view = frame_by_key(at, state.TAG_FILE_TABLE)
        assert "PatientName" in set(view["keyword"])
        assert view["ps315_basic: action"].notna().all()


def test_a_load_that_read_nothing_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not DICOM")
    at = seeded(TAGS, data=_loaded([str(tmp_path)])).run()
    assert not problems(at), problems(at)
    assert any("read no DICOM headers" in w.value for w in at.warning)


def test_summarize_joins_mixed_actions_and_counts_risky_files() -> None:
    headers = pd.DataFrame({
        "file": ["a", "a", "b", "b"],
        "element_path": ["(0010,0010)", "(0029,1010)", "(0010,0010)", "(0029,1010)"],
        "tag": pd.Categorical(["(0010,0010)", "(0029,1010)", "(0010,0010)", "(0029,1010)"]),
        "keyword": ["PatientName", "", "PatientName", ""],
        "vr": ["PN", "OB", "PN", "OB"],
        "depth": [0, 0, 0, 1],
        "is_private": [False, True, False, True],
        "private_creator": [None, "SIEMENS CSA HEADER", None, "OTHER"],
        "value": ["Doe^J", "<2 bytes>", "Roe^R", "<2 bytes>"],
    })
    actions = {"p": pd.Series(pd.Categorical(["keep", "keep", "keep", "remove"])),
               "q": pd.Series(pd.Categorical(["empty", "remove", "empty", "remove"]))}
    findings = pd.DataFrame({"profile_id": ["p", "p", "p"], "file": ["a", "b", ""],
                             "tag": ["(0010,0010)", "(0010,0010)", ""]})
    summary = tagview.summarize(headers, actions, findings)
    table = summary.table.set_index("tag")
    assert table.loc["(0010,0010)", "p"] == f"keep {tagview.RISK_MARK}"
    assert table.loc["(0029,1010)", "p"] == "keep / remove"
    assert table.loc["(0010,0010)", "n_values"] == 2
    assert table.loc["(0029,1010)", "depth"] == "0-1"
    assert table.loc["(0029,1010)", "private_creator"] == "OTHER / SIEMENS CSA HEADER"
    assert summary.risk_files["p"].tolist() == [2, 0]
    assert table["profiles_disagree"].tolist() == [True, True]
    private = tagview.apply_filters(summary, tagview.TagFilters(private="private"))
    assert private["tag"].tolist() == ["(0029,1010)"]
    nested = tagview.apply_filters(summary, tagview.TagFilters(depth=(1, 1)))
    assert nested["tag"].tolist() == ["(0029,1010)"]
