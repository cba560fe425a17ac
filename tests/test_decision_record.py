"""The decision record can be trusted: a hash chain shows any row changed, removed or added
outside deid (``verify-record`` says where), malformed rows are a message naming the row, a
reader without write access can view it, and every name says whether a login vouched for it."""

from __future__ import annotations

import ctypes
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deid.cli import main
from deid.consensus.chain import GENESIS, row_hash
from deid.consensus.store import DATABASE_NAME, DecisionStore, DecisionStoreError, Identity
from deid.outputs.export import table_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3
AGE, SEX, NAME = "(0010,1010)", "(0010,0040)", "(0010,0010)"
VERIFIED = Identity("Ada Lovelace", verified=True,
                    subject="ada@example.org (https://login.example.org)")


def _record(folder: Path) -> DecisionStore:
    store = DecisionStore(folder)
    store.decide("c1", AGE, decider="Ana", action="round", params={"step": 5.0},
                 reason="Bands are enough.", agreeing_profiles=["eucanimage"])
    store.decide("c1", SEX, decider=VERIFIED, action="empty", reason="Not analysed.")
    store.decide("c1", NAME, decider="Ben", action="remove", reason="Direct identifier.")
    store.sign_off("primage", "abc", reviewer="Dana", decision="approved", comments="ok")
    return store


def _sql(folder: Path, statement: str, *args: object) -> None:
    with sqlite3.connect(folder / DATABASE_NAME) as connection:
        connection.execute(statement, args)


def _verify(folder: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["verify-record", "--data-dir", str(folder)], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


# -- the hash chain ----------------------------------------------------------------------------

def test_every_row_is_chained_to_the_one_before(tmp_path: Path) -> None:
    store = _record(tmp_path)
    history = store.history("c1")
    previous = GENESIS
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        rows = connection.execute("SELECT prev_hash, row_hash FROM decisions ORDER BY id")
        for decision, (prev_hash, hashed) in zip(history, rows, strict=True):
            assert prev_hash == previous and hashed == decision.row_hash
            assert len(hashed) == 64 and hashed != previous
            previous = hashed
    check = store.verify()
    assert check.holds and check.decisions.n_rows == 3 and check.signoffs.n_rows == 1
    assert check.decisions.head == history[-1].row_hash
    status, out, _ = _verify(tmp_path)
    assert status == 0
    assert "decisions: 3 rows, the hash chain holds" in out
    assert "signoffs: 1 rows, the hash chain holds" in out


@pytest.mark.parametrize(("tamper", "row", "words"), [
    ("UPDATE decisions SET new_action = 'keep' WHERE id = 2", 2, "changed after it was written"),
    ("UPDATE decisions SET decider = 'Mallory' WHERE id = 1", 1, "changed after it was written"),
    ("UPDATE decisions SET verified = 1 WHERE id = 3", 3, "changed after it was written"),
    ("DELETE FROM decisions WHERE id = 2", 3, "row #2 is missing"),
    ("DELETE FROM decisions WHERE id = 3", 3, "rows after #2 were removed"),
    ("INSERT INTO decisions (consensus_id, tag, decider, decided_at, new_action, params, "
     "reason, agreeing_profiles) VALUES ('c1', '(0010,0030)', 'Eve', '2026-01-01', 'keep', "
     "'{}', 'sneaked in', '[]')", 4, "no hash"),
])
def test_tampering_shows_where_the_chain_breaks(tmp_path: Path, tamper: str, row: int,
                                                words: str) -> None:
    _record(tmp_path)
    _sql(tmp_path, tamper)
    check = DecisionStore(tmp_path, read_only=True).verify()
    assert not check.holds and check.signoffs.holds
    assert check.decisions.broken_at == row and words in check.decisions.problem
    status, out, err = _verify(tmp_path)
    assert status == 1, err
    assert f"the hash chain breaks at row #{row}" in out and words in out


def test_a_row_rehashed_by_hand_breaks_the_link_to_the_next(tmp_path: Path) -> None:
    """Someone who knows the formula rewrites row 2 and its hash: row 3 no longer follows."""
    _record(tmp_path)
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.execute("UPDATE decisions SET new_action = 'keep' WHERE id = 2")
        fields = connection.execute(
            "SELECT id, consensus_id, tag, decider, verified, subject, decided_at, "
            "previous_action, new_action, params, reason, agreeing_profiles, prev_hash "
            "FROM decisions WHERE id = 2").fetchone()
        connection.execute("UPDATE decisions SET row_hash = ? WHERE id = 2",
                           (row_hash("decisions", fields[-1], fields[:-1]),))
    check = DecisionStore(tmp_path).verify().decisions
    assert (check.broken_at, "does not follow the one before it" in check.problem) == (3, True)


def test_sign_offs_are_chained_too(tmp_path: Path) -> None:
    _record(tmp_path)
    _sql(tmp_path, "UPDATE signoffs SET decision = 'rejected'")
    check = DecisionStore(tmp_path).verify()
    assert check.decisions.holds and not check.signoffs.holds
    assert check.signoffs.broken_at == 1


def _writer(directory: str, who: str, count: int) -> None:
    store = DecisionStore(directory)
    for index in range(count):
        store.decide("shared", f"(0010,{index:04X})", decider=who, action="remove",
                     reason=f"{who} {index}")


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path: Path) -> None:
    """Four processes (started afresh: a page test may have left Streamlit's script as
    ``__main__``, which a spawned process would re-run) decide at once."""
    code = "import sys; from tests.test_decision_record import _writer; _writer(*sys.argv[1:3], 15)"
    workers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), f"w{n}"],
                                cwd=REPO_ROOT) for n in range(4)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    check = DecisionStore(tmp_path).verify()
    assert check.holds and check.decisions.n_rows == 60


def test_a_record_written_before_the_chain_is_chained_when_opened_for_writing(
        tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.executescript(textwrap.dedent("""
            CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT,
                consensus_id TEXT NOT NULL, tag TEXT NOT NULL, decider TEXT NOT NULL,
                decided_at TEXT NOT NULL, previous_action TEXT, new_action TEXT NOT NULL,
                params TEXT NOT NULL, reason TEXT NOT NULL, agreeing_profiles TEXT NOT NULL);
            CREATE TABLE signoffs (id INTEGER PRIMARY KEY AUTOINCREMENT,
                profile_id TEXT NOT NULL, profile_sha256 TEXT NOT NULL, reviewer TEXT NOT NULL,
                signed_at TEXT NOT NULL, decision TEXT NOT NULL, comments TEXT NOT NULL);
            INSERT INTO decisions (consensus_id, tag, decider, decided_at, new_action, params,
                reason, agreeing_profiles) VALUES ('c1', '(0010,1010)', 'Ana', '2025-01-01',
                'remove', '{}', 'Old decision.', '[]');
        """))
    old = DecisionStore(tmp_path, read_only=True)
    assert [d.decider_label for d in old.history("c1")] == ["Ana (unverified)"]
    assert "no hash" in old.verify().decisions.problem
    store = DecisionStore(tmp_path)
    store.decide("c1", SEX, decider="Ben", action="keep", reason="New decision.")
    assert store.verify().holds and [d.id for d in store.history("c1")] == [1, 2]


# -- malformed rows ----------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "value", "words"), [
    ("params", "not json", "params is not JSON"),
    ("params", "[1, 2]", "params is not a JSON object"),
    ("agreeing_profiles", '"primage"', "agreeing_profiles is not a list"),
    ("agreeing_profiles", "{oops", "agreeing_profiles is not JSON"),
    ("new_action", "scramble", "new_action 'scramble' is not an action"),
    ("reason", b"\x00binary", "reason is not text"),
])
def test_a_malformed_row_is_a_message_naming_it(tmp_path: Path, column: str, value: object,
                                                 words: str) -> None:
    _record(tmp_path)
    _sql(tmp_path, f"UPDATE decisions SET {column} = ? WHERE id = 2", value)
    store = DecisionStore(tmp_path, read_only=True)
    with pytest.raises(DecisionStoreError) as raised:
        store.current("c1")
    message = str(raised.value)
    assert "decision #2" in message and words in message
    assert "verify-record" in message


# -- who decided -------------------------------------------------------------------------------

def test_names_say_whether_a_login_vouched_for_them(tmp_path: Path) -> None:
    store = _record(tmp_path)
    labels = {d.tag: d.decider_label for d in store.history("c1")}
    assert labels == {AGE: "Ana (unverified)", SEX: "Ada Lovelace", NAME: "Ben (unverified)"}
    table = store.decisions_table("c1").set_index("tag")
    assert table.loc[SEX, "decider_verified"] and not table.loc[AGE, "decider_verified"]
    assert table.loc[SEX, "decider_subject"] == VERIFIED.subject
    assert table.loc[AGE, "row_hash"] == store.history("c1")[0].row_hash
    assert b"decider_verified" in table_bytes("decisions", table.reset_index(), "csv")
    assert store.sign_offs("primage")[0].reviewer_label == "Dana (unverified)"


def test_an_empty_verified_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DecisionStoreError, match="decider"):
        DecisionStore(tmp_path).decide("c1", AGE, decider=Identity(" ", verified=True),
                                       action="keep", reason="r")


# -- read-only viewing -------------------------------------------------------------------------

_VIEWER = textwrap.dedent("""
    import io, sys
    from deid.cli import main
    from ui import consensus
    folder = sys.argv[1]
    print(consensus.consensus_names(folder))
    print(len(consensus.decisions_record(folder, "c1")))
    print([s.reviewer for s in consensus.sign_offs(folder, "primage")])
    print(consensus.record_check(folder).holds)
    out = io.StringIO()
    print(main(["verify-record", "--data-dir", folder], stdout=out, stderr=sys.stderr))
""")


def _without_write_access() -> None:
    """In the child, before it runs: a normal user cannot write a file or folder whose mode
    says so; root can, unless it gives up the capabilities that let it (for good: dropped
    from the bounding set, so not regained by running Python)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def test_a_reader_without_write_access_can_view_the_record(tmp_path: Path) -> None:
    shared_folder = tmp_path / "record"
    _record(shared_folder)
    (shared_folder / DATABASE_NAME).chmod(0o444)
    shared_folder.chmod(0o555)
    before = sorted(p.name for p in shared_folder.iterdir())
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", _VIEWER, str(shared_folder)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                              check=False, env=environment, preexec_fn=_without_write_access)
    finally:
        shared_folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:5] == ["['c1']", "3", "['Dana']", "True", "0"], (
        done.stdout + done.stderr)
    assert sorted(p.name for p in shared_folder.iterdir()) == before


def test_viewing_creates_nothing_and_a_missing_record_is_a_message(tmp_path: Path) -> None:
    with pytest.raises(DecisionStoreError, match="no decision record"):
        DecisionStore(tmp_path / "none", read_only=True)
    assert not (tmp_path / "none").exists()
    status, _, err = _verify(tmp_path / "none")
    assert status == 2 and "no decision record" in err

