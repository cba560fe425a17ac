"""The decision record: every consensus decision and every sign-off, in an SQLite file.

Rows are only ever added, never changed: a tag's current decision is its latest row, and its
history is all of them. Every write is one short ``BEGIN IMMEDIATE`` transaction on a database
in WAL mode with a busy timeout, so two browser sessions (or processes) deciding at the same
time both land; nothing is lost and decisions survive a restart.

The record is tamper-evident: each row carries a hash of its content chained to the row before
it (:mod:`deid.consensus.chain`); :meth:`DecisionStore.verify` says whether the chain holds and
where it breaks. Each row says whether a login provider vouched for the decider's name
(``verified``, with the provider's account in ``subject``) or the name was typed
(unverified). Opened with ``read_only=True`` the record is only read (``mode=ro``): a reader
without write access can view it, and viewing never creates or changes anything.

A consensus also keeps its set-up (``consensus_settings``, chained like the others): the
profiles it reconciles with their sha256, its title and the paths of the sample it was
assessed on, so that it reopens where it was. A sign-off can keep the signed profile's text
(``signed_profiles``, keyed by its own sha256, so a changed text shows), from which the next
version's report says what changed.

The file lives in a data folder of the user's choosing: ``data_dir`` when given, else the
environment variable ``DEID_DATA_DIR``, else ``~/.deid-review``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from deid.consensus.chain import GENESIS, ChainCheck, ChainRow, check_chain, row_hash
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
CREATE TABLE IF NOT EXISTS consensus_settings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    consensus_id TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    title TEXT NOT NULL,
    profiles TEXT NOT NULL,
    sources TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    subject TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL DEFAULT '',
    row_hash TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS signed_profiles (
    sha256 TEXT PRIMARY KEY,
    profile_id TEXT NOT NULL,
    text TEXT NOT NULL
);
"""
#: Columns added to both tables after their first version (a record written before gets them,
#: and its rows are chained, the first time it is opened for writing).
_ADDED_COLUMNS = {
    "verified": "INTEGER NOT NULL DEFAULT 0",
    "subject": "TEXT NOT NULL DEFAULT ''",
    "prev_hash": "TEXT NOT NULL DEFAULT ''",
    "row_hash": "TEXT NOT NULL DEFAULT ''",
}
#: Each table's hashed fields, in order, then the two hash columns.
_FIELDS = {
    "decisions": ("id", "consensus_id", "tag", "decider", "verified", "subject", "decided_at",
                  "previous_action", "new_action", "params", "reason", "agreeing_profiles"),
    "signoffs": ("id", "profile_id", "profile_sha256", "reviewer", "verified", "subject",
                 "signed_at", "decision", "comments"),
    "consensus_settings": ("id", "consensus_id", "saved_by", "verified", "subject", "saved_at",
                           "title", "profiles", "sources"),
}
_DEFAULTS = {"verified": "0", "subject": "''", "prev_hash": "''", "row_hash": "''"}
_REPAIR = ("The record was edited outside deid: restore it from a copy or choose another "
           "data folder (`python -m deid verify-record` says where it was changed).")


class DecisionStoreError(DeidError):
    """The decision database cannot be used, a decision is incomplete, or a row is
    malformed."""


UNVERIFIED = "unverified"


def labelled(name: str, verified: bool) -> str:
    """A name as reports show it: as it is when a login provider vouched for it, else
    marked ``(unverified)``."""
    return name if verified else f"{name} ({UNVERIFIED})"


@dataclass(frozen=True)
class Identity:
    """Who decides or signs off: a name, and whether a login provider vouched for it.

    Attributes
    ----------
    name
        The name recorded (the provider's display name, or the name as typed).
    verified
        True when the name comes from a login (Streamlit's OIDC ``st.login``); False for a
        typed name (local, single-user runs).
    subject
        The provider's account behind a verified name (e-mail or subject, and issuer).
    """

    name: str
    verified: bool = False
    subject: str = ""

    @property
    def label(self) -> str:
        return labelled(self.name, self.verified)


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
    verified: bool = False
    subject: str = ""
    row_hash: str = ""

    @property
    def decider_label(self) -> str:
        """The decider's name, marked ``(unverified)`` unless a login vouched for it."""
        return labelled(self.decider, self.verified)


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
    verified: bool = False
    subject: str = ""
    row_hash: str = ""

    @property
    def reviewer_label(self) -> str:
        """The reviewer's name, marked ``(unverified)`` unless a login vouched for it."""
        return labelled(self.reviewer, self.verified)


@dataclass(frozen=True)
class ConsensusSettings:
    """What a consensus was set up with, saved in the record so that it reopens where it was:
    the profiles reconciled (id and sha256 of each), its title and the files its residual risk
    was assessed on (paths on the machine that saved it; uploads are not kept)."""

    id: int
    consensus_id: str
    saved_by: str
    saved_at: str
    title: str
    profiles: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]
    verified: bool = False

    @property
    def profile_ids(self) -> tuple[str, ...]:
        return tuple(pid for pid, _ in self.profiles)

    @property
    def saved_by_label(self) -> str:
        return labelled(self.saved_by, self.verified)


@dataclass(frozen=True)
class RecordCheck:
    """The hash chains of the decisions, the sign-offs and the consensus settings."""

    decisions: ChainCheck
    signoffs: ChainCheck
    settings: ChainCheck | None = None

    @property
    def chains(self) -> tuple[ChainCheck, ...]:
        return tuple(c for c in (self.decisions, self.signoffs, self.settings) if c is not None)

    @property
    def holds(self) -> bool:
        return all(chain.holds for chain in self.chains)

    def summary(self) -> list[str]:
        return [chain.summary() for chain in self.chains]


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


def _identity(who: str | Identity, what: str) -> Identity:
    if isinstance(who, Identity):
        return Identity(_required(who.name, what), who.verified, who.subject.strip())
    return Identity(_required(who, what))


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
    """Decisions and sign-offs in ``<data dir>/decisions.sqlite``.

    ``read_only=True`` opens an existing record for reading only: nothing is created, and a
    reader without write access to the file or its folder can view it.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *,
                 read_only: bool = False) -> None:
        folder = data_dir(directory)
        self.path = folder / DATABASE_NAME
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise DecisionStoreError(f"{self.path}: no decision record here")
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DecisionStoreError(f"{folder}: cannot create the data folder "
                                     f"({error.strerror})") from error
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
        with self._write() as connection:
            for table in _FIELDS:
                _add_columns(connection, table)

    def _open(self) -> sqlite3.Connection:
        timeout = _BUSY_TIMEOUT_MS / 1000
        if not self.read_only:
            return sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        uri = self.path.resolve().as_uri()
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout,
                                     isolation_level=None)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL database in a folder the reader cannot write: its shared-memory file
            # cannot be made, so read the file as it is.
            connection.close()
            connection = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True,
                                         timeout=timeout, isolation_level=None)
        return connection

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._open()
        except sqlite3.Error as error:
            raise DecisionStoreError(f"{self.path}: cannot use the decision record "
                                     f"({error})") from error
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
        if self.read_only:
            raise DecisionStoreError(f"{self.path}: opened read-only")
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def decide(self, consensus_id: str, tag: str, *, decider: str | Identity, action: str,
               reason: str, params: Mapping[str, Any] | None = None,
               agreeing_profiles: Sequence[str] = ()) -> Decision:
        """Record a decision; its previous action is the tag's current one (if any).
        ``decider`` is a typed name (recorded as unverified) or an :class:`Identity`."""
        consensus_id = _required(consensus_id, "consensus name")
        who = _identity(decider, "decider's name")
        reason = _required(reason, "reason")
        _check_action(action, params or {})
        with self._write() as connection:
            row = connection.execute(
                "SELECT new_action FROM decisions WHERE consensus_id = ? AND tag = ? "
                "ORDER BY id DESC LIMIT 1", (consensus_id, tag)).fetchone()
            previous = row[0] if row else None
            values = {"consensus_id": consensus_id, "tag": tag, "decider": who.name,
                      "verified": int(who.verified), "subject": who.subject,
                      "decided_at": _now(), "previous_action": previous, "new_action": action,
                      "params": json.dumps(dict(params or {}), sort_keys=True),
                      "reason": reason, "agreeing_profiles": json.dumps(list(agreeing_profiles))}
            stored = _append(connection, "decisions", values)
        return self._decision(stored)

    def _decision(self, row: Sequence[Any]) -> Decision:
        """A stored row as a :class:`Decision`; raises :class:`DecisionStoreError` naming the
        row when a field is not what deid writes."""
        (number, consensus_id, tag, decider, verified, subject, decided_at, previous, action,
         params_text, reason, agreeing_text, _, hashed) = row
        where = f"decision #{number}"
        for name, value in (("consensus_id", consensus_id), ("tag", tag),
                            ("decider", decider), ("decided_at", decided_at),
                            ("reason", reason)):
            if not isinstance(value, str):
                raise self._malformed(where, f"{name} is not text")
        where = f"decision #{number} ({consensus_id} {tag})"
        params = self._json(where, "params", params_text)
        if not isinstance(params, dict):
            raise self._malformed(where, "params is not a JSON object")
        agreeing = self._json(where, "agreeing_profiles", agreeing_text)
        if not isinstance(agreeing, list) or not all(isinstance(p, str) for p in agreeing):
            raise self._malformed(where, "agreeing_profiles is not a list of profile ids")
        known = {a.value for a in Action}
        if action not in known:
            raise self._malformed(where, f"new_action {action!r} is not an action")
        if previous is not None and previous not in known:
            raise self._malformed(where, f"previous_action {previous!r} is not an action")
        return Decision(int(number), consensus_id, tag, decider, decided_at, previous, action,
                        params, reason, tuple(agreeing), bool(verified), str(subject or ""),
                        str(hashed or ""))

    def _json(self, where: str, field: str, text: object) -> Any:
        if not isinstance(text, str):
            raise self._malformed(where, f"{field} is not JSON text")
        try:
            return json.loads(text)
        except ValueError as error:
            raise self._malformed(where, f"{field} is not JSON ({error})") from None

    def _malformed(self, where: str, what: str) -> DecisionStoreError:
        return DecisionStoreError(f"{self.path}: {where} is malformed: {what}. {_REPAIR}")

    def _decisions(self, where: str, args: Sequence[Any]) -> list[Decision]:
        with self._connect() as connection:
            columns = _select_list(connection, "decisions")
            rows = connection.execute(f"SELECT {columns} FROM decisions {where} ORDER BY id",
                                      tuple(args)).fetchall()
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
        return [str(row[0]) for row in rows]

    def sign_off(self, profile_id: str, profile_sha256: str, *, reviewer: str | Identity,
                 decision: str, comments: str = "", profile_text: str | None = None) -> SignOff:
        """Record a DPO's sign-off of a profile (its file's sha256 pins the version).
        ``reviewer`` is a typed name (recorded as unverified) or an :class:`Identity`;
        ``profile_text``, the profile file's text, is kept by its sha256 so that the next
        version's report can say what changed since this one was signed."""
        who = _identity(reviewer, "reviewer's name")
        if decision not in SIGNOFF_DECISIONS:
            raise DecisionStoreError(f"unknown sign-off decision {decision!r}; use one of "
                                     f"{', '.join(SIGNOFF_DECISIONS)}")
        values = {"profile_id": profile_id, "profile_sha256": profile_sha256,
                  "reviewer": who.name, "verified": int(who.verified), "subject": who.subject,
                  "signed_at": _now(), "decision": decision, "comments": comments}
        with self._write() as connection:
            stored = _append(connection, "signoffs", values)
            if profile_text is not None and _sha256(profile_text) == profile_sha256:
                connection.execute("INSERT OR IGNORE INTO signed_profiles (sha256, profile_id, "
                                   "text) VALUES (?, ?, ?)",
                                   (profile_sha256, profile_id, profile_text))
        return _sign_off(stored)

    def signed_profile_text(self, sha256: str) -> str | None:
        """The text of a signed profile version, when it was kept and still matches its
        sha256 (a text changed afterwards is not returned)."""
        with self._connect() as connection:
            if not _columns(connection, "signed_profiles"):
                return None
            row = connection.execute("SELECT text FROM signed_profiles WHERE sha256 = ?",
                                     (sha256,)).fetchone()
        if row is None or not isinstance(row[0], str) or _sha256(row[0]) != sha256:
            return None
        return row[0]

    def save_settings(self, consensus_id: str, *, saved_by: str | Identity,
                      profiles: Sequence[tuple[str, str]], title: str = "",
                      sources: Sequence[str] = ()) -> ConsensusSettings:
        """Record what a consensus is set up with (a new row each time it changes; the latest
        is current): its profiles as ``(id, sha256)``, title and the sample's paths."""
        consensus_id = _required(consensus_id, "consensus name")
        who = _identity(saved_by, "name")
        if not profiles:
            raise DecisionStoreError("a consensus reconciles at least one profile")
        values = {"consensus_id": consensus_id, "saved_by": who.name,
                  "verified": int(who.verified), "subject": who.subject, "saved_at": _now(),
                  "title": title.strip(),
                  "profiles": json.dumps([[str(p), str(h)] for p, h in profiles]),
                  "sources": json.dumps([str(path) for path in sources])}
        with self._write() as connection:
            stored = _append(connection, "consensus_settings", values)
        return self._settings(stored)

    def settings(self, consensus_id: str) -> ConsensusSettings | None:
        """The latest settings of a consensus, or None when none were saved."""
        with self._connect() as connection:
            if not _columns(connection, "consensus_settings"):
                return None
            row = connection.execute(
                f"SELECT {_select_list(connection, 'consensus_settings')} FROM "
                "consensus_settings WHERE consensus_id = ? ORDER BY id DESC LIMIT 1",
                (consensus_id,)).fetchone()
        return self._settings(row) if row is not None else None

    def _settings(self, row: Sequence[Any]) -> ConsensusSettings:
        (number, consensus_id, saved_by, verified, _, saved_at, title, profiles_text,
         sources_text, _, _) = row
        where = f"consensus settings #{number} ({consensus_id})"
        profiles = self._json(where, "profiles", profiles_text)
        if not isinstance(profiles, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                for p in profiles):
            raise self._malformed(where, "profiles is not a list of [id, sha256] pairs")
        sources = self._json(where, "sources", sources_text)
        if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
            raise self._malformed(where, "sources is not a list of paths")
        return ConsensusSettings(int(number), str(consensus_id), str(saved_by), str(saved_at),
                                 str(title), tuple((p, h) for p, h in profiles), tuple(sources),
                                 bool(verified))

    def overview(self) -> pd.DataFrame:
        """One row per consensus in the record: its decisions, last decision, profiles."""
        with self._connect() as connection:
            counts = {str(row[0]): row[1:] for row in connection.execute(
                "SELECT consensus_id, count(*), count(DISTINCT tag), max(decided_at) FROM "
                "decisions GROUP BY consensus_id").fetchall()}
        rows = []
        for name in sorted(set(counts) | set(self._settings_ids())):
            n, tags, last = counts.get(name, (0, 0, ""))
            settings = self.settings(name)
            rows.append({
                "consensus_id": name, "n_decisions": int(n), "n_tags_decided": int(tags),
                "last_decided_at": str(last or ""),
                "profiles": ", ".join(settings.profile_ids) if settings else "",
                "sample": ", ".join(settings.sources) if settings else ""})
        return pd.DataFrame(rows, columns=["consensus_id", "n_decisions", "n_tags_decided",
                                           "last_decided_at", "profiles", "sample"])

    def _settings_ids(self) -> list[str]:
        with self._connect() as connection:
            if not _columns(connection, "consensus_settings"):
                return []
            rows = connection.execute("SELECT DISTINCT consensus_id FROM consensus_settings"
                                      ).fetchall()
        return [str(row[0]) for row in rows]

    def sign_offs(self, profile_id: str | None = None) -> list[SignOff]:
        """Sign-offs (of one profile), oldest first."""
        with self._connect() as connection:
            query = f"SELECT {_select_list(connection, 'signoffs')} FROM signoffs"
            args: tuple[Any, ...] = ()
            if profile_id is not None:
                query += " WHERE profile_id = ?"
                args = (profile_id,)
            rows = connection.execute(query + " ORDER BY id", args).fetchall()
        return [_sign_off(row) for row in rows]

    def verify(self) -> RecordCheck:
        """Whether the hash chains of the decisions and the sign-offs hold, and where they
        break."""
        with self._connect() as connection:
            checks = [_check_table(connection, table) for table in _FIELDS]
        return RecordCheck(*checks)

    def decisions_table(self, consensus_id: str | None = None) -> pd.DataFrame:
        """The ``decisions`` export table (every decision, oldest first)."""
        decisions = (self.history(consensus_id) if consensus_id is not None else
                     self._decisions("", ()))
        rows = [{"decision_id": d.id, "consensus_id": d.consensus_id, "tag": d.tag,
                 "decider": d.decider, "decided_at": d.decided_at,
                 "previous_action": d.previous_action, "new_action": d.new_action,
                 "params": json.dumps(dict(d.params), sort_keys=True), "reason": d.reason,
                 "agreeing_profiles": ",".join(d.agreeing_profiles),
                 "decider_verified": d.verified, "decider_subject": d.subject,
                 "row_hash": d.row_hash} for d in decisions]
        return conform("decisions", pd.DataFrame(rows, columns=TABLES["decisions"]
                                                 .column_names()))


def _sign_off(row: Sequence[Any]) -> SignOff:
    (number, profile_id, sha256, reviewer, verified, subject, signed_at, decision, comments,
     _, hashed) = row
    return SignOff(int(number), str(profile_id), str(sha256), str(reviewer), str(signed_at),
                   str(decision), str(comments), bool(verified), str(subject or ""),
                   str(hashed or ""))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in connection.execute(f"PRAGMA table_info({table})")}


def _select_list(connection: sqlite3.Connection, table: str) -> str:
    """The hashed fields and the two hashes; a record written before a column existed (and
    opened read-only) reads that column's default."""
    present = _columns(connection, table)
    names = (*_FIELDS[table], "prev_hash", "row_hash")
    return ", ".join(name if name in present else f"{_DEFAULTS[name]} AS {name}"
                     for name in names)


def _add_columns(connection: sqlite3.Connection, table: str) -> None:
    """Bring a record written by an earlier version up to date: add the missing columns, and
    chain its rows when it had no chain yet."""
    missing = [name for name in _ADDED_COLUMNS if name not in _columns(connection, table)]
    for name in missing:
        connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {_ADDED_COLUMNS[name]}")
    if "row_hash" not in missing:
        return
    previous = GENESIS
    fields = ", ".join(_FIELDS[table])
    for row in connection.execute(f"SELECT {fields} FROM {table} ORDER BY id").fetchall():
        hashed = row_hash(table, previous, row)
        connection.execute(f"UPDATE {table} SET prev_hash = ?, row_hash = ? WHERE id = ?",
                           (previous, hashed, row[0]))
        previous = hashed


def _append(connection: sqlite3.Connection, table: str,
            values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Insert one row chained to the last (inside the caller's write transaction); return
    it as stored: its fields, then its two hashes."""
    last = connection.execute(
        f"SELECT row_hash FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
    number = _highest_id(connection, table) + 1
    fields = (number, *(values[name] for name in _FIELDS[table][1:]))
    previous = str(last[0]) if last else GENESIS
    hashed = row_hash(table, previous, fields)
    names = ", ".join((*_FIELDS[table], "prev_hash", "row_hash"))
    marks = ", ".join("?" * (len(fields) + 2))
    connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                       (*fields, previous, hashed))
    return (*fields, previous, hashed)


def _highest_id(connection: sqlite3.Connection, table: str) -> int:
    """The highest row number the database ever gave in ``table`` (0 before the first)."""
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                             (table,)).fetchone()
    top = connection.execute(f"SELECT max(id) FROM {table}").fetchone()
    return max(int(row[0]) if row and row[0] is not None else 0,
               int(top[0]) if top and top[0] is not None else 0)


def _check_table(connection: sqlite3.Connection, table: str) -> ChainCheck:
    if not _columns(connection, table):  # a record written before the table existed
        return ChainCheck(table, 0, True, GENESIS)
    rows = connection.execute(
        f"SELECT {_select_list(connection, table)} FROM {table} ORDER BY id").fetchall()
    chain_rows = [ChainRow(int(row[0]), tuple(row[:-2]), str(row[-2] or ""),
                           str(row[-1] or "")) for row in rows]
    return check_chain(table, chain_rows, _highest_id(connection, table))
