"""The decision record: every consensus decision and every sign-off, in an SQLite file.

Rows are only ever added, never changed: a tag's current decision is its latest row, and its
history is all of them. Every write is one short ``BEGIN IMMEDIATE`` transaction on a database
in WAL mode with a busy timeout, so two browser sessions (or processes) deciding at the same
time both land; nothing is lost and decisions survive a restart.

The file lives in a data folder of the user's choosing: ``data_dir`` when given, else the
environment variable ``DEID_DATA_DIR``, else ``~/.deid-review``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from deid.errors import DeidError
from deid.policy.actions import ACTIONS, Action
from deid.policy.schema import TABLES, conform

DATA_DIR_ENV = "DEID_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.deid-review")
DATABASE_NAME = "decisions.sqlite"
SIGNOFF_DECISIONS = ("approved", "approved_with_conditions", "rejected")
_BUSY_TIMEOUT_MS = 30_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    consensus_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    decider TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    previous_action TEXT,
    new_action TEXT NOT NULL,
    params TEXT NOT NULL,
    reason TEXT NOT NULL,
    agreeing_profiles TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_tag ON decisions (consensus_id, tag, id);
CREATE TABLE IF NOT EXISTS signoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id TEXT NOT NULL,
    profile_sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    decision TEXT NOT NULL,
    comments TEXT NOT NULL
);
"""


class DecisionStoreError(DeidError):
    """The decision database cannot be used, or a decision is incomplete."""


@dataclass(frozen=True)
class Decision:
    """One recorded consensus decision on one tag."""

    id: int
    consensus_id: str
    tag: str
    decider: str
    decided_at: str
    previous_action: str | None
    new_action: str
    params: Mapping[str, Any]
    reason: str
    agreeing_profiles: tuple[str, ...]


@dataclass(frozen=True)
class SignOff:
    """One recorded sign-off of a profile."""

    id: int
    profile_id: str
    profile_sha256: str
    reviewer: str
    signed_at: str
    decision: str
    comments: str


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: ``explicit``, else ``$DEID_DATA_DIR``, else ``~/.deid-review``."""
    chosen = explicit or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _required(value: str, what: str) -> str:
    if not value or not value.strip():
        raise DecisionStoreError(f"a {what} is required")
    return value.strip()


def _check_action(action: str, params: Mapping[str, Any]) -> None:
    """Refuse an unknown action or a parameter the action does not take."""
    try:
        spec = ACTIONS[Action(action)]
    except ValueError:
        raise DecisionStoreError(f"unknown action {action!r}; use one of "
                                 f"{', '.join(a.value for a in Action)}") from None
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        raise DecisionStoreError(f"action {action!r} takes no parameter {unknown[0]!r}; it "
                                 f"takes {', '.join(spec.params) or 'none'}")


class DecisionStore:
    """Decisions and sign-offs in ``<data dir>/decisions.sqlite``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        folder = data_dir(directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DecisionStoreError(f"{folder}: cannot create the data folder "
                                     f"({error.strerror})") from error
        self.path = folder / DATABASE_NAME
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None)
        except sqlite3.Error as error:
            raise DecisionStoreError(f"{self.path}: cannot open the database ({error})") from error
        try:
            connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            yield connection
        except sqlite3.Error as error:
            raise DecisionStoreError(f"{self.path}: cannot use the decision record "
                                     f"({error})") from error
        finally:
            connection.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def decide(self, consensus_id: str, tag: str, *, decider: str, action: str,
               reason: str, params: Mapping[str, Any] | None = None,
               agreeing_profiles: Sequence[str] = ()) -> Decision:
        """Record a decision; its previous action is the tag's current one (if any)."""
        consensus_id = _required(consensus_id, "consensus name")
        decider = _required(decider, "decider's name")
        reason = _required(reason, "reason")
        _check_action(action, params or {})
        with self._write() as connection:
            row = connection.execute(
                "SELECT new_action FROM decisions WHERE consensus_id = ? AND tag = ? "
                "ORDER BY id DESC LIMIT 1", (consensus_id, tag)).fetchone()
            previous = row[0] if row else None
            values = (consensus_id, tag, decider, _now(), previous, action,
                      json.dumps(dict(params or {}), sort_keys=True), reason,
                      json.dumps(list(agreeing_profiles)))
            cursor = connection.execute(
                "INSERT INTO decisions (consensus_id, tag, decider, decided_at, "
                "previous_action, new_action, params, reason, agreeing_profiles) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            decision_id = int(cursor.lastrowid or 0)
        return self._decision((decision_id, *values))

    @staticmethod
    def _decision(row: Sequence[Any]) -> Decision:
        return Decision(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                        json.loads(row[7]), row[8], tuple(json.loads(row[9])))

    def _decisions(self, where: str, args: Sequence[Any]) -> list[Decision]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id, consensus_id, tag, decider, decided_at, previous_action, "
                f"new_action, params, reason, agreeing_profiles FROM decisions {where} "
                "ORDER BY id", tuple(args)).fetchall()
        return [self._decision(row) for row in rows]

    def history(self, consensus_id: str, tag: str | None = None) -> list[Decision]:
        """Every decision of a consensus (of one tag), oldest first."""
        if tag is None:
            return self._decisions("WHERE consensus_id = ?", (consensus_id,))
        return self._decisions("WHERE consensus_id = ? AND tag = ?", (consensus_id, tag))

    def current(self, consensus_id: str) -> dict[str, Decision]:
        """The latest decision of every decided tag."""
        return {decision.tag: decision for decision in self.history(consensus_id)}

    def consensus_ids(self) -> list[str]:
        """Every consensus with at least one decision."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT DISTINCT consensus_id FROM decisions ORDER BY consensus_id").fetchall()
        return [row[0] for row in rows]

    def sign_off(self, profile_id: str, profile_sha256: str, *, reviewer: str, decision: str,
                 comments: str = "") -> SignOff:
        """Record a DPO's sign-off of a profile (its file's sha256 pins the version)."""
        reviewer = _required(reviewer, "reviewer's name")
        if decision not in SIGNOFF_DECISIONS:
            raise DecisionStoreError(f"unknown sign-off decision {decision!r}; use one of "
                                     f"{', '.join(SIGNOFF_DECISIONS)}")
        values = (profile_id, profile_sha256, reviewer, _now(), decision, comments)
        with self._write() as connection:
            cursor = connection.execute(
                "INSERT INTO signoffs (profile_id, profile_sha256, reviewer, signed_at, "
                "decision, comments) VALUES (?, ?, ?, ?, ?, ?)", values)
            sign_id = int(cursor.lastrowid or 0)
        return SignOff(sign_id, *values)

    def sign_offs(self, profile_id: str | None = None) -> list[SignOff]:
        """Sign-offs (of one profile), oldest first."""
        query = ("SELECT id, profile_id, profile_sha256, reviewer, signed_at, decision, "
                 "comments FROM signoffs")
        args: tuple[Any, ...] = ()
        if profile_id is not None:
            query += " WHERE profile_id = ?"
            args = (profile_id,)
        with self._connect() as connection:
            rows = connection.execute(query + " ORDER BY id", args).fetchall()
        return [SignOff(int(row[0]), *row[1:]) for row in rows]

    def decisions_table(self, consensus_id: str | None = None) -> pd.DataFrame:
        """The ``decisions`` export table (every decision, oldest first)."""
        decisions = (self.history(consensus_id) if consensus_id is not None else
                     self._decisions("", ()))
        rows = [{"decision_id": d.id, "consensus_id": d.consensus_id, "tag": d.tag,
                 "decider": d.decider, "decided_at": d.decided_at,
                 "previous_action": d.previous_action, "new_action": d.new_action,
                 "params": json.dumps(dict(d.params), sort_keys=True), "reason": d.reason,
                 "agreeing_profiles": ",".join(d.agreeing_profiles)} for d in decisions]
        return conform("decisions", pd.DataFrame(rows, columns=TABLES["decisions"]
                                                 .column_names()))
