"""Consensus page and sign-off: the worklist over the active profiles with the residual risk on
the sample; deciding a tag (own action and parameters, or a profile's rule) updates the
worklist, the progress, the history and the saved consensus profile, which loads back and
compares as decided; the decision record exports; sign-offs are recorded and the report's
figures equal the ``risk`` command's tables. Every test uses its own data folder."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.cli import main as cli
from deid.consensus.build import build_consensus
from deid.consensus.store import DecisionStore
from deid.consensus.worklist import build_worklist, profile_views
from deid.outputs.compare import compare
from deid.outputs.signoff import read_figures
from tests.test_pages_support import (
    PROFILES,
    app_test,
    frame_by_key,
    page,
    problems,
    sample,
    secrets,
    seeded,
)
from ui import consensus, state
from ui.profiles import FAMILIES

CONSENSUS = page("consensus")
NAME = "committee_2026"
SEX = "(0010,0040)"  # PatientSex: chaimeleon and eucanimage keep it, ps315_basic empties it
AGE = "(0010,1010)"  # PatientAge: eucanimage rounds it into bands
STUDY_DATE = "(0008,0020)"


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A data folder of the test's own (the page's default comes from DEID_DATA_DIR)."""
    folder = tmp_path / "record"
    monkeypatch.setenv("DEID_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def chosen() -> list[deid.Profile]:
    return deid.load_profiles(",".join(PROFILES))


def _page(**extra: object) -> AppTest:
    """The page with the sample, the test profiles, a consensus name and a decider."""
    values = {state.CONS_NAME: NAME, state.CONS_DECIDER: "Ada", **extra}
    at = seeded(CONSENSUS, **values).run()
    assert not problems(at), problems(at)
    return at


def _progress(at: AppTest) -> str:
    return str(at.get("progress")[0].proto.text)


def _decide(at: AppTest, tag: str, reason: str, *, action: str | None = None,
            take: str = "", **params: object) -> AppTest:
    at.selectbox(key=state.CONS_TAG).set_value(tag).run()
    at.selectbox(key=state.CONS_TAKE).set_value(take).run()
    if action is not None:
        at.selectbox(key=state.CONS_ACTION).set_value(action).run()
    for name, value in params.items():
        widget = at.get_by_key(state.consensus_param_key(name))
        widget.set_value(value)
    at.text_area(key=state.CONS_REASON).input(reason)
    return at.button(key=state.CONS_DECIDE_BUTTON).click().run()


def _worklist_row(at: AppTest, tag: str) -> pd.Series:
    table = frame_by_key(at, state.CONS_TABLE)
    return table[table["tag"] == tag].iloc[0]


# -- empty session -----------------------------------------------------------------------------

def test_renders_on_an_empty_session_and_creates_nothing(data_dir: Path) -> None:
    at = app_test(CONSENSUS)
    at.session_state[state.SAMPLE_OFFERED] = True
    at.run()
    assert not problems(at), problems(at)
    assert at.text_input(key=state.DATA_DIR).value == str(data_dir)
    assert any("No DICOM headers loaded" in c.value for c in at.caption)
    assert any("Name the consensus" in i.value for i in at.info)
    assert at.multiselect(key=state.CONS_PROFILES).value == [
        info.id for info in deid.list_profiles()]
    assert len(frame_by_key(at, state.CONS_TABLE)) > 100
    assert at.button(key=state.CONS_DECIDE_BUTTON).disabled
    assert not data_dir.exists(), "viewing the page must not create the data folder"


# -- worklist ----------------------------------------------------------------------------------

def test_worklist_shows_disagreements_with_each_profile_and_the_risk(
        chosen: list[deid.Profile]) -> None:
    at = _page()
    expected = build_worklist(chosen)
    table = frame_by_key(at, state.CONS_TABLE)
    assert sorted(table["tag"]) == sorted(expected["tag"])
    assert table["n_files"].iloc[0] > 0 and table["risky_under"].iloc[0] != ""
    assert _progress(at) == f"Decided 0 / {len(expected):,} tags where the profiles disagree"
    sex = _worklist_row(at, SEX)
    assert (sex["chaimeleon_images_w_ecrfs"], sex["eucanimage"], sex["ps315_basic"]) == (
        "keep", "keep", "empty")
    assert sex["majority_action"] == "keep" and "quasi_identifier" in sex["risk"]
    assert sex["decided"] == "" and sex["decided_by"] == ""

    at.selectbox(key=state.CONS_TAG).set_value(SEX).run()
    views = frame_by_key(at, state.CONS_VIEWS_TABLE)
    views.index = views["profile"].str.split(" ").str[0]  # "eucanimage (reconstructed)"
    assert views.index.tolist() == list(PROFILES)
    assert views["reason"].str.len().min() > 0 and views["source"].str.len().min() > 0
    assert views.loc["ps315_basic", "risk on the sample"] == ""
    assert "quasi_identifier" in views.loc["eucanimage", "risk on the sample"]
    assert at.selectbox(key=state.CONS_ACTION).value == "keep"  # the majority

    at.toggle(key=state.CONS_ALL_TAGS).set_value(True).run()
    assert len(frame_by_key(at, state.CONS_TABLE)) > len(expected)
    assert _progress(at).startswith(f"Decided 0 / {len(expected):,}")


@pytest.mark.parametrize(("key", "value", "check"), [
    (state.CONS_GROUPS, ["0010"], lambda t: t["group"] == "0010"),
    (state.CONS_SEARCH, "date", lambda t: (t["keyword"] + t["name"]).str.lower()
     .str.contains("date")),
    (state.CONS_RISKY, True, lambda t: t["risk"] != ""),
])
def test_worklist_filters(key: str, value: object, check: object) -> None:
    at = _page(**{key: value})
    table = frame_by_key(at, state.CONS_TABLE)
    assert len(table) and check(table).all()  # type: ignore[operator]


# -- deciding ----------------------------------------------------------------------------------

def test_a_decision_updates_the_worklist_and_the_saved_profile(
        chosen: list[deid.Profile], data_dir: Path) -> None:
    at = _page()
    total = len(frame_by_key(at, state.CONS_TABLE))
    at = _decide(at, SEX, "The registry does not analyse sex.", action="empty")
    assert not problems(at), problems(at)
    assert any(f"Decided {SEX}: empty" in s.value for s in at.success)
    assert _progress(at) == f"Decided 1 / {total:,} tags where the profiles disagree"
    row = _worklist_row(at, SEX)
    assert (row["decided"], row["decided_by"]) == ("empty", "Ada (unverified)")
    assert at.text_area(key=state.CONS_REASON).value == ""  # ready for the next decision

    at.radio(key=state.CONS_STATUS).set_value("decided").run()
    assert frame_by_key(at, state.CONS_TABLE)["tag"].tolist() == [SEX]
    at.radio(key=state.CONS_STATUS).set_value("undecided").run()
    assert SEX not in frame_by_key(at, state.CONS_TABLE)["tag"].tolist()
    at.radio(key=state.CONS_STATUS).set_value("all").run()
    at.multiselect(key=state.CONS_DECIDED_BY).set_value(["Ada (unverified)"]).run()
    assert frame_by_key(at, state.CONS_TABLE)["tag"].tolist() == [SEX]
    at.multiselect(key=state.CONS_DECIDED_BY).set_value([]).run()

    # the record survives the session: a new one reads it back
    decisions = DecisionStore(data_dir).current(NAME)
    assert list(decisions) == [SEX] and decisions[SEX].agreeing_profiles == ("ps315_basic",)

    at.button(key=state.CONS_USE_BUTTON).click().run()
    assert not problems(at), problems(at)
    assert NAME in at.session_state[state.ACTIVE_PROFILES]
    text = at.session_state[state.UPLOADED_PROFILES][NAME].toml_text
    saved = deid.load_profile_text(text, name=f"{NAME}.toml")
    rule = next(r for r in saved.rules if r.matcher.describe() == SEX)
    assert (rule.action.value, rule.decided_by, rule.reason) == (
        "empty", "Ada (unverified)", "The registry does not analyse sex.")

    # the saved profile, compared with the reconciled ones, does what was decided, the
    # majority where the profiles disagree and nothing is decided, and their common action
    matrix = compare([saved, *chosen]).tables["tag_matrix"].set_index("tag")
    worklist = build_worklist(chosen).set_index("tag")
    for tag, actions in matrix.iterrows():
        if tag == SEX:
            expected = "empty"
        elif tag in worklist.index:
            expected = worklist.loc[tag, "majority_action"]
        else:
            expected = actions[PROFILES[0]]
        assert actions[NAME] == expected, (tag, actions.to_dict())


def test_two_decisions_in_a_row_keep_the_history(data_dir: Path) -> None:
    at = _page()
    at = _decide(at, STUDY_DATE, "Month is enough for the analyses.",
                 action="truncate_date", to="year")
    at = _decide(at, STUDY_DATE, "Intervals matter: shift instead.", action="shift_date",
                 max_days=180)
    assert not problems(at), problems(at)
    history = frame_by_key(at, state.CONS_HISTORY_TABLE)
    assert history["new_action"].tolist() == ["shift_date", "truncate_date"]
    assert history["previous_action"].tolist() == ["truncate_date", ""]
    assert history["params"].tolist() == ["max_days=180", "to=year"]
    assert _worklist_row(at, STUDY_DATE)["decided"] == "shift_date"
    record = frame_by_key(at, state.CONS_DECISIONS_TABLE)
    assert record["new_action"].tolist() == ["truncate_date", "shift_date"]
    assert len(DecisionStore(data_dir).history(NAME, STUDY_DATE)) == 2
    for fmt in ("parquet", "csv"):
        assert at.get_by_key(state.decisions_download_key(fmt))


def test_take_a_profiles_rule_copies_its_action_and_parameters(
        chosen: list[deid.Profile], data_dir: Path) -> None:
    at = _page()
    at = _decide(at, AGE, "Age bands as EuCanImage does.", take="eucanimage")
    assert not problems(at), problems(at)
    view = next(v for v in profile_views(chosen, AGE, "AS") if v.profile_id == "eucanimage")
    decision = DecisionStore(data_dir).current(NAME)[AGE]
    assert decision.new_action == view.action.value == "round"
    assert dict(decision.params) == consensus.compact_params("round", view.params)
    assert decision.params  # the band width is not the default
    assert decision.agreeing_profiles == ("eucanimage",)
    assert at.selectbox(key=state.CONS_TAKE).value == ""  # ready for the next decision


def test_decision_errors_are_messages(data_dir: Path, tmp_path: Path) -> None:
    at = _page(**{state.CONS_DECIDER: ""})
    at = _decide(at, SEX, "A reason.", action="empty")
    assert "decider's name is required" in at.error[0].value
    at.text_input(key=state.CONS_DECIDER).input("Ada").run()
    at = _decide(at, SEX, "", action="empty")
    assert "reason is required" in at.error[0].value
    at = _decide(at, "(0010,0010)", "Registry pseudonyms.", action="pseudonym")
    assert "needs the parameter 'template'" in at.error[0].value
    assert not DecisionStore(data_dir).history(NAME)

    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    at.text_input(key=state.DATA_DIR).input(str(blocked)).run()
    at = _decide(at, SEX, "A reason.", action="empty")
    assert "cannot create the data folder" in at.error[0].value
    assert not at.exception


def test_a_file_that_is_not_a_decision_record_is_a_message(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "decisions.sqlite").write_bytes(b"not SQLite at all" * 100)
    at = seeded(CONSENSUS, **{state.CONS_NAME: NAME}).run()
    assert not at.exception
    assert "cannot use the decision record" in at.error[0].value
    at = seeded(page("profiles")).run()
    assert not at.exception and "decisions.sqlite" in at.error[0].value


def test_a_bad_consensus_name_is_refused() -> None:
    at = seeded(CONSENSUS, **{state.CONS_NAME: "Committee 2026"}).run()
    assert "lower-case letters" in at.error[0].value and not at.exception
    assert at.button(key=state.CONS_DECIDE_BUTTON).disabled
    for name in ("Committee 2026", "2026", "a-b", "committee_2026", "c"):
        try:
            consensus.check_name(name)
            ours = True
        except ValueError:
            ours = False
        try:
            build_consensus(name, "t", deid.load_profiles("ps315_basic,primage"), {})
            theirs = True
        except ValueError:
            theirs = False
        assert ours == theirs, name


def test_a_consensus_named_like_a_shipped_profile_cannot_join_the_session() -> None:
    at = _page(**{state.CONS_NAME: "ps315_basic"})
    at.button(key=state.CONS_USE_BUTTON).click().run()
    assert "shipped profile's id" in at.error[0].value and not at.exception


def test_compare_the_consensus_with_a_profile(chosen: list[deid.Profile]) -> None:
    at = _page(**{state.CONS_DIFF_PROFILE: "ps315_basic"})
    diff = frame_by_key(at, state.CONS_DIFF_TABLE)
    worklist = build_worklist(chosen)
    differing = worklist[worklist["majority_action"] != worklist["actions"].str.extract(
        r"ps315_basic: (\w+)")[0]]
    assert sorted(diff["tag"]) == sorted(differing["tag"])


def test_decision_record_downloads_are_the_decisions_table(data_dir: Path,
                                                            chosen: list[deid.Profile]) -> None:
    store = DecisionStore(data_dir)
    store.decide(NAME, SEX, decider="Ada", action="empty", reason="r", params={})
    table = store.decisions_table(NAME)
    made = {d.fmt: d.make() for d in consensus.decision_downloads(table, chosen)}
    assert pd.read_csv(io.BytesIO(made["csv"]))["tag"].tolist() == [SEX]
    assert pd.read_parquet(io.BytesIO(made["parquet"])).equals(table)


# -- sign-off ----------------------------------------------------------------------------------

def test_record_a_sign_off(data_dir: Path) -> None:
    at = seeded(page("profiles"), **{state.PROFILE_READ: "primage"}).run()
    assert not problems(at), problems(at)
    assert at.download_button(key=state.SIGNOFF_DOWNLOAD)
    assert at.selectbox(key=state.SIGNOFF_DECISION).value is None  # nothing preselected
    at.text_input(key=state.SIGNOFF_REVIEWER).input("Dr DPO")
    at.button(key=state.SIGNOFF_BUTTON).click().run()
    assert "choose the decision" in at.error[0].value
    assert not DecisionStore(data_dir).sign_offs("primage")
    at.selectbox(key=state.SIGNOFF_DECISION).set_value("approved_with_conditions")
    at.text_area(key=state.SIGNOFF_COMMENTS).input("Burned-in text is checked apart.")
    at.button(key=state.SIGNOFF_BUTTON).click().run()
    assert not problems(at), problems(at)
    rows = frame_by_key(at, state.SIGNOFF_TABLE)
    assert rows[["reviewer", "decision", "comments", "this version"]].to_dict("records") == [
        {"reviewer": "Dr DPO (unverified)", "decision": "approved_with_conditions",
         "comments": "Burned-in text is checked apart.", "this version": True}]
    (signed,) = DecisionStore(data_dir).sign_offs("primage")
    assert signed.profile_sha256 == deid.load_profile("primage").sha256


def _report_script() -> None:
    import streamlit as st

    from ui import consensus, profiles, session, state

    make = consensus.report_maker(session.loaded(), profiles.get(st.session_state["signed"]),
                                  profiles.active(), st.session_state[state.DATA_DIR])
    st.session_state["html"] = make()


@pytest.mark.parametrize("profile_id", ["chaimeleon_images_w_ecrfs", "primage"],
                         ids=["active", "not-active"])
def test_the_report_figures_equal_the_risk_command(profile_id: str, data_dir: Path,
                                                   tmp_path: Path) -> None:
    DecisionStore(data_dir).sign_off(profile_id, deid.load_profile(profile_id).sha256 or "",
                                     reviewer="Dr DPO", decision="approved", comments="")
    at = AppTest.from_function(_report_script, default_timeout=60)
    for key, value in {state.SAMPLE_OFFERED: True, state.LOADED: sample(),
                       state.ACTIVE_PROFILES: list(PROFILES), state.SECRETS: secrets(),
                       state.DATA_DIR: str(data_dir), "signed": profile_id}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    html = at.session_state["html"]
    assert "Dr DPO" in html and "approved" in html
    figures = read_figures(html)

    out = tmp_path / "risk"
    status = cli(["risk", *sample().inputs.paths, "--profiles", profile_id, "--out", str(out),
                  "--format", "csv", "--ephemeral-secret"], stdout=io.StringIO())
    assert status == 0
    findings = pd.read_csv(out / "residual_risk.csv")
    kanon = pd.read_csv(out / "k_anonymity.csv")
    coverage = pd.read_csv(out / "aryanto_coverage.csv")
    assert figures["n_findings"] == len(findings)
    assert figures["findings_by_kind"] == findings["risk_kind"].value_counts().to_dict()
    assert figures["findings_by_severity"] == findings["severity"].value_counts().to_dict()
    assert figures["k_anonymity"] == {
        row.quasi_identifiers: {"k_min": row.k_min, "n_records": row.n_records,
                                "n_records_below_k": row.n_records_below_k,
                                "k_threshold": row.k_threshold} for row in kanon.itertuples()}
    assert figures["aryanto_untouched"] == int(coverage["n_untouched"].iloc[0])
    assert figures["profile_sha256"] == deid.load_profile(profile_id).sha256


# -- reopening, ranking, families, the worklist download ----------------------------------------

def _decided_session(data_dir: Path) -> None:
    """A first session decides one tag of a consensus over two profiles."""
    at = _page(**{state.CONS_PROFILES: ["eucanimage", "ps315_basic"]})
    at = _decide(at, SEX, "Needed for the analyses.", action="keep")
    assert not problems(at), problems(at)
    settings = DecisionStore(data_dir).settings(NAME)
    assert settings is not None and settings.profile_ids == ("eucanimage", "ps315_basic")
    assert settings.sources and all(Path(p).is_absolute() for p in settings.sources)


def test_a_reload_reopens_the_consensus_from_the_url(data_dir: Path) -> None:
    _decided_session(data_dir)
    again = seeded(CONSENSUS, **{state.CONS_DECIDER: "Ada"})  # a new session: other profiles
    again.query_params["consensus"] = NAME
    again.run()
    assert not problems(again), problems(again)
    assert again.text_input(key=state.CONS_NAME).value == NAME
    assert again.multiselect(key=state.CONS_PROFILES).value == ["eucanimage", "ps315_basic"]
    assert _progress(again).startswith("Decided 1 / ")
    assert again.query_params.get("consensus") in (NAME, [NAME])


def test_a_consensus_opens_from_the_list_in_the_record(data_dir: Path) -> None:
    _decided_session(data_dir)
    again = seeded(CONSENSUS, **{state.CONS_DECIDER: "Ada"}).run()
    assert not problems(again), problems(again)
    assert _progress_or_none(again) is None  # no consensus named: no "Decided 0 / N"
    assert any("Name or open a consensus" in c.value for c in again.caption)
    again.selectbox(key=state.CONS_OPEN).set_value(NAME).run()
    assert not problems(again), problems(again)
    assert again.text_input(key=state.CONS_NAME).value == NAME
    assert again.multiselect(key=state.CONS_PROFILES).value == ["eucanimage", "ps315_basic"]
    assert _progress(again).startswith("Decided 1 / ")


def _progress_or_none(at: AppTest) -> str | None:
    bars = at.get("progress")
    return str(bars[0].proto.text) if bars else None


def test_another_profile_set_warns_and_goes_back(data_dir: Path) -> None:
    _decided_session(data_dir)
    at = _page()  # the three test profiles, not the two saved
    at.multiselect(key=state.CONS_PROFILES).set_value(list(PROFILES)).run()
    assert any("was set up with eucanimage, ps315_basic" in w.value for w in at.warning)
    at.button(key=state.CONS_RESTORE_BUTTON).click().run()
    assert at.multiselect(key=state.CONS_PROFILES).value == ["eucanimage", "ps315_basic"]
    assert not at.warning


def test_the_set_up_can_be_saved_before_any_decision(data_dir: Path) -> None:
    at = _page()
    at.button(key=state.CONS_SAVE_SETUP_BUTTON).click().run()
    assert not problems(at), problems(at)
    settings = DecisionStore(data_dir).settings(NAME)
    assert settings is not None and settings.profile_ids == PROFILES


def test_family_buttons_choose_and_a_removal_keeps_the_rest() -> None:
    """How quick a change is, is measured by bench/bench_dashboard.py (target: 1 s)."""
    at = _page()
    at.button(key=state.CONS_FAMILY_BUTTON_PREFIX + "ai4hi").click().run()
    assert not problems(at), problems(at)
    ai4hi = list(deid.outputs.compare.PUBLISHED_FIGURES)
    assert at.multiselect(key=state.CONS_PROFILES).value == ai4hi
    at.multiselect(key=state.CONS_PROFILES).set_value(ai4hi[1:-1]).run()
    assert at.multiselect(key=state.CONS_PROFILES).value == ai4hi[1:-1]
    assert not problems(at), problems(at)


def test_present_and_risky_under_any_profile_filters() -> None:
    at = _page(**{state.CONS_PRESENT: True})
    table = frame_by_key(at, state.CONS_TABLE)
    assert len(table) and (table["n_files"] > 0).all()
    at = _page(**{state.CONS_RISKY_ANY: True})
    table = frame_by_key(at, state.CONS_TABLE).set_index("keyword")
    for keyword in ("PatientAge", "PatientSex", "PatientSize", "PatientWeight"):
        assert "chaimeleon_images_w_ecrfs" in table.loc[keyword, "risky_under"], keyword
    at = _page(**{state.CONS_ORDER: "tag"})
    tags = frame_by_key(at, state.CONS_TABLE)["tag"].tolist()
    assert tags == sorted(tags)


def test_the_worklist_downloads_as_shown(tmp_path: Path) -> None:
    at = _page(**{state.CONS_SEARCH: "Patient"})
    shown = frame_by_key(at, state.CONS_TABLE)
    button = at.download_button(key=state.worklist_download_key("csv"))
    assert button is not None
    made = consensus.worklist_downloads(shown.assign(actions=""), [])
    data = pd.read_csv(io.BytesIO(made[1].make()))
    assert data["tag"].tolist() == shown["tag"].tolist()


def test_a_long_worklist_points_to_its_own_download() -> None:
    at = _page(**{state.CONS_ALL_TAGS: True})
    captions = " ".join(c.value for c in at.caption)
    assert "the worklist download below has them all" in captions
    assert "Export page" not in captions


# -- reopening from another record, its sample, and profiles that moved -------------------------

def _saved_elsewhere(folder: Path, profiles: list[tuple[str, str]],
                     sources: tuple[str, ...] = ()) -> None:
    """A consensus set up and decided on once in ``folder`` (not the page's default)."""
    store = DecisionStore(folder)
    store.save_settings(NAME, saved_by="Ana", profiles=profiles, sources=sources)
    store.decide(NAME, SEX, decider="Ana", action="keep", reason="Needed for the analyses.")


def _opened_from_url(record: Path | None = None, **extra: object) -> AppTest:
    at = seeded(CONSENSUS, **{state.CONS_DECIDER: "Ben", **extra})
    at.query_params["consensus"] = NAME
    if record is not None:
        at.query_params["record"] = str(record)
    at.run()
    assert not problems(at), problems(at)
    return at


def _shipped(*ids: str) -> list[tuple[str, str]]:
    return [(pid, deid.load_profile(pid).sha256 or "") for pid in ids]


def test_the_record_folder_in_the_url_reopens_a_consensus_kept_elsewhere(
        data_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "committee_share"
    _saved_elsewhere(elsewhere, _shipped("eucanimage", "ps315_basic"))
    at = _opened_from_url(elsewhere)
    assert at.text_input(key=state.DATA_DIR).value == str(elsewhere)
    assert at.text_input(key=state.CONS_NAME).value == NAME
    assert at.multiselect(key=state.CONS_PROFILES).value == ["eucanimage", "ps315_basic"]
    assert _progress(at).startswith("Decided 1 / ")
    assert at.query_params.get("record") in (str(elsewhere), [str(elsewhere)])
    assert not data_dir.exists(), "the default folder is not used"
    without = _opened_from_url()  # the same link without the folder: the default record
    assert without.text_input(key=state.DATA_DIR).value == str(data_dir)
    assert _progress(without).startswith("Decided 0 / ")


def test_load_those_files_loads_the_sample_the_consensus_was_assessed_on(
        data_dir: Path) -> None:
    files = str((Path(sample().inputs.paths[0])).resolve())  # data/sample/files alone
    _saved_elsewhere(data_dir, _shipped("eucanimage", "ps315_basic"), (files,))
    at = _opened_from_url()  # the session holds the whole sample (files and cohort)
    notes = [i.value for i in at.info if "was assessed on" in i.value]
    assert notes and files in notes[0] and "Not on this machine" not in notes[0]
    at.button(key=state.CONS_LOAD_SOURCES_BUTTON).click().run()
    assert not problems(at), problems(at)
    loaded = at.session_state[state.LOADED]
    assert loaded.inputs.paths == (files,)
    assert loaded.n_files == len([p for p in Path(files).rglob("*") if p.is_file()])
    assert not [i for i in at.info if "was assessed on" in i.value]  # now the same sample
    assert not [b for b in at.button if b.key == state.CONS_LOAD_SOURCES_BUTTON]


def test_a_sample_not_on_this_machine_is_named_and_not_offered(data_dir: Path,
                                                              tmp_path: Path) -> None:
    gone = str(tmp_path / "site_b_export")
    _saved_elsewhere(data_dir, _shipped("eucanimage", "ps315_basic"), (gone,))
    at = _opened_from_url()
    notes = [i.value for i in at.info if "was assessed on" in i.value]
    assert notes and "Not on this machine: " + gone in notes[0].replace("\\", "")
    assert not [b for b in at.button if b.key == state.CONS_LOAD_SOURCES_BUTTON]


def test_a_missing_or_changed_profile_is_named_when_the_consensus_reopens(
        data_dir: Path) -> None:
    profiles = [("eucanimage", "0" * 64), *_shipped("ps315_basic"),
                ("site_b_profile", "1" * 64)]
    _saved_elsewhere(data_dir, profiles)
    at = _opened_from_url()
    warning = " ".join(w.value for w in at.warning if "Reopened" in w.value)
    assert "not available in this session (upload them on Profiles): site_b_profile" in (
        warning.replace("\\", ""))
    assert "changed since the set-up was saved (their rules may differ): eucanimage" in warning
    assert "ps315_basic" not in warning  # unchanged: its sha256 is the shipped file's
    assert at.multiselect(key=state.CONS_PROFILES).value == ["eucanimage", "ps315_basic"]


@pytest.mark.parametrize(("family", "ids"), [(name, ids) for name, _, ids in FAMILIES])
def test_each_family_button_chooses_its_profiles(family: str, ids: tuple[str, ...]) -> None:
    shipped = {info.id for info in deid.list_profiles()}
    assert set(ids) <= shipped, "a family names a profile that does not ship"
    at = _page()
    at.button(key=state.CONS_FAMILY_BUTTON_PREFIX + family).click().run()
    assert not problems(at), problems(at)
    assert at.multiselect(key=state.CONS_PROFILES).value == list(ids)
