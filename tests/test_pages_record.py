"""The decision record on the pages: a malformed row or a broken hash chain is a message
naming the row (never an exception box), and who decides or signs off comes from the login
provider when one is configured (verified), else from a typed name marked unverified."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from deid.consensus.store import DATABASE_NAME, DecisionStore
from tests.test_pages_support import frame_by_key, page, problems, seeded
from ui import state

PROFILES = ["ps315_basic", "eucanimage"]
SEX, AGE = "(0010,0040)", "(0010,1010)"
NAME = "committee"
LOGGED_IN = {"is_logged_in": True, "name": "Ada Lovelace", "email": "ada@example.org",
             "iss": "https://login.example.org"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "record"
    store = DecisionStore(folder)
    store.decide(NAME, AGE, decider="Ana", action="remove", reason="Not needed.")
    store.decide(NAME, SEX, decider="Ben", action="empty", reason="Not analysed.")
    return folder


def _consensus(data_dir: Path, **extra: object) -> AppTest:
    return seeded(page("consensus"), PROFILES, **{
        state.DATA_DIR: str(data_dir), state.CONS_NAME: NAME, state.CONS_SEARCH: "PatientSex",
        state.CONS_TAG: SEX, **extra})


def _sql(folder: Path, statement: str) -> None:
    with sqlite3.connect(folder / DATABASE_NAME) as connection:
        connection.execute(statement)


def _errors(at: AppTest) -> str:
    return " ".join(f"{e.proto.title} {e.value}" for e in at.error).replace("\\", "")


# -- malformed rows and tampering --------------------------------------------------------------

@pytest.mark.parametrize(("statement", "words"), [
    ("UPDATE decisions SET params = 'not json' WHERE id = 2", "params is not JSON"),
    ("UPDATE decisions SET agreeing_profiles = '\"x\"' WHERE id = 2",
     "agreeing_profiles is not a list"),
])
def test_a_malformed_row_is_a_message_naming_it(data_dir: Path, statement: str,
                                                 words: str) -> None:
    _sql(data_dir, statement)
    at = _consensus(data_dir).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = _errors(at)
    assert "decision #2" in errors and words in errors
    assert "The decision record fails its check" in errors  # the row was changed, too


def test_tampering_is_shown_where_the_chain_breaks(data_dir: Path) -> None:
    _sql(data_dir, "UPDATE decisions SET new_action = 'keep' WHERE id = 2")
    at = _consensus(data_dir).run()
    assert not at.exception
    assert "The decision record fails its check" in _errors(at)
    lines = [str(t.value) for t in at.get("text")]
    assert any("breaks at row #2" in line and "changed after it was written" in line
               for line in lines), lines


def test_an_intact_record_says_so_with_its_head(data_dir: Path) -> None:
    at = _consensus(data_dir).run()
    assert not problems(at), problems(at)
    head = DecisionStore(data_dir).verify().decisions.head
    assert any("Hash chain verified: 2 decisions" in c.value and head[:16] in c.value
               for c in at.caption)


def test_a_broken_record_shows_on_the_profiles_page(data_dir: Path) -> None:
    DecisionStore(data_dir).sign_off("ps315_basic", "x", reviewer="Dana", decision="approved")
    _sql(data_dir, "UPDATE signoffs SET decision = 'rejected'")
    at = seeded(page("profiles"), PROFILES, **{state.DATA_DIR: str(data_dir),
                                               state.PROFILE_READ: "ps315_basic"}).run()
    assert not at.exception
    assert "The decision record fails its check" in _errors(at)
    assert any("signoffs: the hash chain breaks at row #1" in str(t.value)
               for t in at.get("text"))


# -- who decides ---------------------------------------------------------------------------------

def _decide(at: AppTest) -> AppTest:
    at.text_area(key=state.CONS_REASON).input("Sex is not analysed.").run()
    return at.button(key=state.CONS_DECIDE_BUTTON).click().run()


def test_without_a_login_provider_a_typed_name_is_recorded_unverified(data_dir: Path) -> None:
    at = _consensus(data_dir).run()
    box = at.text_input(key=state.CONS_DECIDER)
    assert "recorded as unverified" in box.label
    box.input("Ada").run()
    at = _decide(at)
    assert not problems(at), problems(at)
    decision = DecisionStore(data_dir).current(NAME)[SEX]
    assert (decision.decider, decision.verified, decision.decider_label) == (
        "Ada", False, "Ada (unverified)")
    history = frame_by_key(at, state.CONS_HISTORY_TABLE)
    assert history["decider"].tolist()[0] == "Ada (unverified)"
    record = frame_by_key(at, state.CONS_DECISIONS_TABLE)
    assert record["decider_verified"].tolist() == [False, False, False]


def test_with_a_login_the_provider_vouches_for_the_decider(data_dir: Path) -> None:
    at = _consensus(data_dir)
    at.user = dict(LOGGED_IN)
    at.run()
    assert not [w for w in at.text_input if w.key == state.CONS_DECIDER]  # nothing to type
    assert any("Signed in as **Ada Lovelace**" in c.value for c in at.caption)
    assert at.button(key=state.logout_key(state.CONS_DECIDER))
    at = _decide(at)
    assert not problems(at), problems(at)
    decision = DecisionStore(data_dir).current(NAME)[SEX]
    assert (decision.decider, decision.verified) == ("Ada Lovelace", True)
    assert decision.subject == "ada@example.org (https://login.example.org)"
    assert decision.decider_label == "Ada Lovelace"
    record = frame_by_key(at, state.CONS_DECISIONS_TABLE)
    assert record["decider_verified"].tolist() == [False, False, True]


def test_with_a_login_provider_nobody_decides_before_logging_in(data_dir: Path) -> None:
    at = _consensus(data_dir)
    at.user = {"is_logged_in": False}
    at.session_state[state.CONS_DECIDER] = "Mallory"  # a typed name is not accepted
    at.run()
    assert not problems(at), problems(at)
    assert at.button(key=state.CONS_DECIDE_BUTTON).disabled
    assert at.button(key=state.login_key(state.CONS_DECIDER, None)).label == "Log in"
    assert not [w for w in at.text_input if w.key == state.CONS_DECIDER]
    assert len(DecisionStore(data_dir).history(NAME)) == 2


def test_a_sign_off_with_a_login_is_verified(data_dir: Path) -> None:
    at = seeded(page("profiles"), PROFILES, **{state.DATA_DIR: str(data_dir),
                                               state.PROFILE_READ: "ps315_basic"})
    at.user = dict(LOGGED_IN)
    at.run()
    at.selectbox(key=state.SIGNOFF_DECISION).set_value("approved")
    at.button(key=state.SIGNOFF_BUTTON).click().run()
    assert not problems(at), problems(at)
    signoff = DecisionStore(data_dir).sign_offs("ps315_basic")[-1]
    assert (signoff.reviewer, signoff.verified, signoff.reviewer_label) == (
        "Ada Lovelace", True, "Ada Lovelace")
    table = frame_by_key(at, state.SIGNOFF_TABLE)
    assert table["reviewer"].tolist() == ["Ada Lovelace"]


def test_a_typed_reviewer_is_labelled_unverified_in_the_report(data_dir: Path) -> None:
    at = seeded(page("profiles"), PROFILES, **{state.DATA_DIR: str(data_dir),
                                               state.PROFILE_READ: "ps315_basic"}).run()
    at.text_input(key=state.SIGNOFF_REVIEWER).input("Dr DPO").run()
    at.selectbox(key=state.SIGNOFF_DECISION).set_value("approved")
    at.button(key=state.SIGNOFF_BUTTON).click().run()
    assert not problems(at), problems(at)
    assert any("Dr DPO (unverified)" in s.value for s in at.success)


def test_each_configured_provider_gets_a_log_in_button(data_dir: Path) -> None:
    at = _consensus(data_dir)
    at.user = {"is_logged_in": False}
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x",
        "hospital": {"client_id": "a", "client_secret": "b",
                     "server_metadata_url": "https://login.hospital.example/.well-known/x"},
        "university": {"client_id": "c", "client_secret": "d",
                       "server_metadata_url": "https://sso.uni.example/.well-known/x"}}
    at.run()
    assert not problems(at), problems(at)
    labels = {at.button(key=state.login_key(state.CONS_DECIDER, p)).label
              for p in ("hospital", "university")}
    assert labels == {"Log in with hospital", "Log in with university"}
