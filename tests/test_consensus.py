"""Committee consensus: the worklist, the decision record (persistent, concurrent), the
consensus profile that loads back and agrees with the decisions, and its CTP export."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from deid import load_profiles
from deid.consensus.build import build_consensus
from deid.consensus.store import DecisionStore, DecisionStoreError, data_dir
from deid.consensus.worklist import build_worklist, majority, profile_views
from deid.ctp import export_ctp_script, import_ctp_script
from deid.outputs.compare import compare
from deid.policy.profile_loader import load_profile

PROFILES = "ps315_basic,primage,chaimeleon_images_w_ecrfs"


@pytest.fixture(scope="module")
def profiles():  # type: ignore[no-untyped-def]
    return load_profiles(PROFILES)


def test_majority_breaks_ties_towards_protection() -> None:
    assert majority(["keep", "keep", "remove"]) == "keep"
    assert majority(["keep", "remove"]) == "remove"
    assert majority(["shift_date", "empty"]) == "empty"


def test_worklist_lists_disagreements_with_majority_and_risk(profiles) -> None:  # type: ignore[no-untyped-def]
    findings = __import__("pandas").DataFrame([{
        "profile_id": "ps315_basic", "file": "a.dcm", "element_path": "(0010,0040)",
        "tag": "(0010,0040)", "keyword": "PatientSex", "risk_kind": "quasi_identifier",
        "severity": "low", "reason": "r", "evidence": "e"}])
    worklist = build_worklist(profiles, findings=findings).set_index("tag")
    assert worklist["disagree"].all()
    age = worklist.loc["(0010,1010)"]  # PatientAge: removed by two, kept by CHAIMELEON
    assert age["majority_action"] == "remove"
    assert age["majority_profiles"] == "ps315_basic,primage"
    assert "chaimeleon_images_w_ecrfs: keep" in age["actions"]
    assert "(0010,0010)" in worklist.index  # names: empty vs pseudonyms
    every = build_worklist(profiles, all_tags=True)
    assert len(every) > len(worklist) and not every["disagree"].all()
    views = {v.profile_id: v for v in profile_views(profiles, "(0010,1010)", "AS")}
    assert views["chaimeleon_images_w_ecrfs"].action.value == "keep"
    assert views["ps315_basic"].reason and views["ps315_basic"].source


def test_decisions_have_history_and_survive_a_restart(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.decide("c1", "(0010,1010)", decider="Ana", action="remove", reason="Not needed.")
    store.decide("c1", "(0010,1010)", decider="Ben", action="round", params={"step": 5.0},
                 reason="Bands are enough.", agreeing_profiles=["eucanimage"])
    reopened = DecisionStore(tmp_path)
    history = reopened.history("c1", "(0010,1010)")
    assert [d.new_action for d in history] == ["remove", "round"]
    assert [d.previous_action for d in history] == [None, "remove"]
    assert reopened.current("c1")["(0010,1010)"].decider == "Ben"
    assert reopened.current("c1")["(0010,1010)"].params == {"step": 5.0}
    table = reopened.decisions_table("c1")
    assert list(table["decider"]) == ["Ana", "Ben"] and table["decided_at"].notna().all()
    assert reopened.consensus_ids() == ["c1"]


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"decider": "", "action": "keep", "reason": "r"}, "decider"),
    ({"decider": "Ana", "action": "keep", "reason": " "}, "reason"),
])
def test_incomplete_decisions_are_refused(tmp_path: Path, kwargs, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DecisionStoreError, match=words):
        DecisionStore(tmp_path).decide("c1", "(0010,0010)", **kwargs)


def test_data_dir_default_and_environment(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DEID_DATA_DIR", raising=False)
    assert data_dir() == Path("~/.deid-review").expanduser()
    monkeypatch.setenv("DEID_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path


def _writer(directory: str, who: str, count: int) -> None:
    store = DecisionStore(directory)
    for index in range(count):
        store.decide("shared", f"(0010,{index:04X})", decider=who, action="remove",
                     reason=f"{who} {index}")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(tmp_path), f"w{n}", 40))
               for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    history = DecisionStore(tmp_path).history("shared")
    assert len(history) == 160
    assert {d.decider for d in history} == {"w0", "w1", "w2", "w3"}


def test_signoffs_are_recorded(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.sign_off("primage", "abc", reviewer="Dana", decision="approved", comments="ok")
    with pytest.raises(DecisionStoreError, match="unknown sign-off decision"):
        store.sign_off("primage", "abc", reviewer="Dana", decision="maybe")
    assert [s.reviewer for s in DecisionStore(tmp_path).sign_offs("primage")] == ["Dana"]


def test_consensus_profile_loads_back_and_agrees_with_the_decisions(tmp_path: Path,
                                                                    profiles) -> None:  # type: ignore[no-untyped-def]
    store = DecisionStore(tmp_path)
    decided = {
        "(0010,1010)": ("round", {"step": 5.0}),
        "(0010,0010)": ("pseudonym", {"template": "C-{hash:10}"}),
        "(0008,0020)": ("shift_date", {}),
        "(0010,0040)": ("keep", {}),
    }
    for tag, (action, params) in decided.items():
        store.decide("committee", tag, decider="Ana", action=action, params=params,
                     reason=f"Decided {action}.")
    consensus = build_consensus("committee", "Committee", profiles, store.current("committee"))
    path = tmp_path / "committee.toml"
    path.write_text(consensus.toml_text, encoding="utf-8")
    loaded = load_profile(path)
    assert loaded.provenance.value == "consensus" and consensus.n_decided == 4
    actions = compare([loaded, *profiles]).tables["tag_matrix"].set_index("tag")
    for tag, (action, _) in decided.items():
        assert actions.loc[tag, "committee"] == action
    rules = {rule.matcher.describe(): rule for rule in loaded.rules}
    assert rules["(0010,1010)"].decided_by == "Ana (unverified)"
    assert rules["(0010,0040)"].agreeing_profiles == ("chaimeleon_images_w_ecrfs",)
    undecided = build_worklist(profiles).set_index("tag")
    for tag in undecided.index:
        if tag not in decided:
            assert actions.loc[tag, "committee"] == undecided.loc[tag, "majority_action"]
    script = export_ctp_script(loaded)
    back = import_ctp_script(script, profile_id="committee", name="committee.script").profile
    matrix = compare([loaded]).tables["tag_matrix"].set_index("tag")
    again = compare([back]).tables["tag_matrix"].set_index("tag")
    for tag in decided:
        assert again.loc[tag, "committee"] == matrix.loc[tag, "committee"]


def test_consensus_name_must_be_an_id(profiles) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="lower-case"):
        build_consensus("Committee A", "t", profiles, {})


def test_store_refuses_unknown_actions_and_parameters(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    with pytest.raises(DecisionStoreError, match="unknown action"):
        store.decide("c1", "(0010,0010)", decider="Ana", action="scramble", reason="r")
    with pytest.raises(DecisionStoreError, match="takes no parameter 'length'"):
        store.decide("c1", "(0010,0010)", decider="Ana", action="remove", reason="r",
                     params={"length": 4})


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "decisions.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DecisionStoreError, match="cannot use the decision record"):
        DecisionStore(tmp_path)
