"""Committee consensus and DPO sign-off for the dashboard, over :mod:`deid.consensus` and
:mod:`deid.outputs.signoff`.

The worklist, the profile built from the decisions, its CTP script and the sign-off report are
cached (keyed by the profiles' ids and sha256s, the load's and the secrets' tokens, and the ids
of the decisions and sign-offs they use). The decision record itself is read afresh on every
run: another session may have decided in the meantime. Viewing a page never creates the data
folder or its database; the first decision or sign-off does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import deid
from deid.consensus.build import ConsensusProfile, build_consensus
from deid.consensus.store import (
    DATABASE_NAME,
    Decision,
    DecisionStore,
    DecisionStoreError,
    Identity,
    RecordCheck,
    SignOff,
    data_dir,
)
from deid.consensus.worklist import ProfileView, build_worklist
from deid.ctp import export_ctp_script
from deid.outputs.export import export_metadata, table_bytes
from deid.outputs.signoff import (
    REFERENCE_IDS,
    SignOffReport,
    reference_comparison,
    render_signoff_report,
)
from deid.policy.actions import ACTIONS, Action
from deid.policy.profile_loader import is_profile_id
from deid.risk.report import RiskReport
from ui import compute, identity, profiles, session, state
from ui.errors import INPUT_ERRORS
from ui.profiles import ProfileKey, UploadedProfile
from ui.session import Loaded

#: A consensus name becomes the consensus profile's id
#: (``deid.policy.profile_loader.is_profile_id``).
NAME_EXAMPLE = "committee_2026"
#: Worklist status filter, as (value, label) rows.
STATUS_CHOICES = (("all", "All"), ("undecided", "Undecided"), ("decided", "Decided"))
_MIME = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}


# -- the data folder and the decision record ---------------------------------------------------

def default_data_dir() -> str:
    """The documented default data folder: ``$DEID_DATA_DIR``, else ``~/.deid-review``."""
    return str(data_dir())


def database_path(directory: str) -> Path:
    return data_dir(directory or None) / DATABASE_NAME


@contextmanager
def _database_errors(directory: str) -> Iterator[None]:
    """SQLite's own errors (a file that is not a database, a locked or read-only one) as
    :class:`DecisionStoreError` naming the file: the store wraps only failures to connect."""
    try:
        yield
    except sqlite3.Error as error:
        raise DecisionStoreError(f"{database_path(directory)}: cannot use the decision "
                                 f"record ({error})") from error


def open_store(directory: str) -> DecisionStore:
    """The decision record in ``directory`` (created when missing; raises
    :class:`~deid.consensus.store.DecisionStoreError`)."""
    with _database_errors(directory):
        return DecisionStore(directory or None)


def existing_store(directory: str) -> DecisionStore | None:
    """The decision record, opened read-only, if its database exists already (reading
    creates nothing, and needs no write access)."""
    if not database_path(directory).is_file():
        return None
    with _database_errors(directory):
        return DecisionStore(directory or None, read_only=True)


def record_check(directory: str) -> RecordCheck | None:
    """Whether the record's hash chains hold (None before the record exists)."""
    store = existing_store(directory)
    with _database_errors(directory):
        return store.verify() if store is not None else None


def current_decisions(directory: str, name: str) -> dict[str, Decision]:
    """Each decided tag's latest decision (none before the record exists)."""
    store = existing_store(directory)
    with _database_errors(directory):
        return store.current(name) if store is not None and name else {}


def consensus_names(directory: str) -> list[str]:
    store = existing_store(directory)
    with _database_errors(directory):
        return store.consensus_ids() if store is not None else []


def tag_history(directory: str, name: str, tag: str) -> list[Decision]:
    store = existing_store(directory)
    with _database_errors(directory):
        return store.history(name, tag) if store is not None else []


def decisions_record(directory: str, name: str) -> pd.DataFrame:
    """The ``decisions`` table of the consensus (empty before the record exists)."""
    store = existing_store(directory)
    with _database_errors(directory):
        return store.decisions_table(name) if store is not None else pd.DataFrame()


def check_name(name: str) -> str:
    """The consensus name, stripped; raises ``ValueError`` when it cannot be a profile id."""
    name = name.strip()
    if not is_profile_id(name):
        raise ValueError(f"consensus name {name!r}: use lower-case letters, digits and _, "
                         f"starting with a letter (it becomes the profile id), e.g. "
                         f"{NAME_EXAMPLE}")
    return name


# -- the worklist ------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16)
def worklist(profile_keys: tuple[ProfileKey, ...], all_tags: bool, risk_key: object,
             _profiles: Sequence[deid.Profile], _findings: pd.DataFrame | None
             ) -> pd.DataFrame:
    """:func:`deid.consensus.worklist.build_worklist` (``risk_key`` names the findings)."""
    del profile_keys, risk_key
    return build_worklist(list(_profiles), all_tags=all_tags, findings=_findings)


def worklist_view(table: pd.DataFrame, ids: Sequence[str],
                  decisions: Mapping[str, Decision]) -> pd.DataFrame:
    """The worklist with one action column per profile and the current decision."""
    view = table.copy()
    per_profile: dict[str, list[str]] = {pid: [] for pid in ids}
    for text in view["actions"].astype(str):
        actions = dict(part.split(": ", 1) for part in text.split("; ") if ": " in part)
        for pid in ids:
            per_profile[pid].append(actions.get(pid, ""))
    for pid in ids:
        view[pid] = per_profile[pid]
    tags = view["tag"].astype(str)
    view["decided"] = [decisions[t].new_action if t in decisions else "" for t in tags]
    view["decided_by"] = [decisions[t].decider_label if t in decisions else "" for t in tags]
    return view


@dataclass(frozen=True)
class WorklistFilters:
    """The worklist filters: group, keyword or tag, risky only, status, deciders."""

    groups: tuple[str, ...] = ()
    search: str = ""
    risky: bool = False
    status: str = "all"
    deciders: tuple[str, ...] = ()


def apply_filters(view: pd.DataFrame, filters: WorklistFilters) -> pd.DataFrame:
    keep = pd.Series(True, index=view.index)
    if filters.groups:
        keep &= view["group"].isin(filters.groups)
    text = filters.search.strip().lower()
    if text:
        keep &= (view["keyword"].astype(str).str.lower().str.contains(text, regex=False)
                 | view["tag"].astype(str).str.lower().str.contains(text, regex=False)
                 | view["name"].astype(str).str.lower().str.contains(text, regex=False))
    if filters.risky:
        keep &= view["risk"].astype(str) != ""
    if filters.status == "decided":
        keep &= view["decided"] != ""
    elif filters.status == "undecided":
        keep &= view["decided"] == ""
    if filters.deciders:
        keep &= view["decided_by"].isin(filters.deciders)
    return view[keep]


def progress(table: pd.DataFrame, decisions: Mapping[str, Decision]) -> tuple[int, int]:
    """``(decided, to decide)``: the disagreements that have a decision, and all of them."""
    disagreements = table.loc[table["disagree"].astype(bool), "tag"].astype(str)
    return int(disagreements.isin(list(decisions)).sum()), len(disagreements)


def _risk_of(findings: pd.DataFrame | None, tag: str, profile_id: str) -> str:
    if findings is None or findings.empty:
        return ""
    rows = findings[(findings["tag"].astype(str) == tag)
                    & (findings["profile_id"].astype(str) == profile_id)]
    if rows.empty:
        return ""
    kinds = ", ".join(f"{kind} ({severity})" for (kind, severity), _ in
                      rows.groupby(["risk_kind", "severity"], sort=True))
    return f"{kinds} in {rows['file'].nunique()} file(s)"


def params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def views_table(views: Sequence[ProfileView], tag: str, findings: pd.DataFrame | None,
                label: Callable[[str], str] = str) -> pd.DataFrame:
    """Each profile's action, parameters, reason, source and the risk it leaves on the tag."""
    rows = [{"profile": label(v.profile_id), "action": v.action.value,
             "params": params_text(v.params), "explicit": v.explicit,
             "risk on the sample": _risk_of(findings, tag, v.profile_id),
             "reason": v.reason, "source": v.source} for v in views]
    return pd.DataFrame(rows, columns=["profile", "action", "params", "explicit",
                                       "risk on the sample", "reason", "source"])


def history_table(history: Sequence[Decision]) -> pd.DataFrame:
    """A tag's decisions, newest first."""
    rows = [{"decision": d.id, "decided_at": d.decided_at, "decider": d.decider_label,
             "previous_action": d.previous_action or "", "new_action": d.new_action,
             "params": params_text(d.params), "reason": d.reason,
             "agreeing_profiles": ", ".join(d.agreeing_profiles)} for d in reversed(history)]
    return pd.DataFrame(rows, columns=["decision", "decided_at", "decider", "previous_action",
                                       "new_action", "params", "reason", "agreeing_profiles"])


# -- the decision form -------------------------------------------------------------------------

@dataclass(frozen=True)
class ParamInput:
    """One parameter input of the decision form, generated from
    :data:`deid.policy.actions.ACTIONS`."""

    name: str
    kind: type
    default: Any
    choices: tuple[str, ...]
    doc: str

    @property
    def required(self) -> bool:
        return self.default is None


def param_inputs(action: str) -> list[ParamInput]:
    """The inputs of an action's parameters (text, number, or a choice of words)."""
    inputs = []
    for name, param in ACTIONS[Action(action)].params.items():
        choices: tuple[str, ...] = ()
        if param.kind is str:
            choices = param.choices
        inputs.append(ParamInput(name, param.kind, param.default, choices, param.doc))
    return inputs


def params_from_inputs(action: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters typed for ``action``, checked, without those left at their default.
    Raises ``ValueError`` naming the parameter and what is wrong."""
    params: dict[str, Any] = {}
    for name, param in ACTIONS[Action(action)].params.items():
        value = values.get(name)
        if value is None or (param.kind is str and str(value).strip() == ""):
            if param.required:
                raise ValueError(f"{action} needs the parameter {name!r} ({param.doc})")
            continue
        value = param.kind(value.strip() if isinstance(value, str) else value)
        problem = param.check(value)
        if problem:
            raise ValueError(f"parameter {name!r} of {action}: {problem}")
        if value != param.default:
            params[name] = value
    return params


def compact_params(action: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without those equal to the action's defaults (a rule taken from a profile)."""
    spec = ACTIONS[Action(action)].params
    return {k: v for k, v in params.items() if k not in spec or v != spec[k].default}


def applies_to(action: str, vr: str) -> bool:
    """Whether the action is meant for the VR (unknown and multiple VRs pass)."""
    return len(vr) != 2 or vr in ACTIONS[Action(action)].vrs


def fill_params(action: str, params: Mapping[str, Any] | None = None) -> None:
    """Put the action's parameters into the decision form: ``params``, else the defaults."""
    given = params or {}
    st.session_state[state.CONS_FORM_ACTION] = action
    for item in param_inputs(action):
        value = given.get(item.name, item.default)
        if value is not None and not (item.choices and value not in item.choices):
            value = item.kind(value)
        st.session_state[state.consensus_param_key(item.name)] = value


def new_form(tag: str, majority: str) -> None:
    """An empty decision form for ``tag``: the majority action with its defaults."""
    st.session_state[state.CONS_FORM_TAG] = tag
    st.session_state[state.CONS_TAKE] = ""
    st.session_state[state.CONS_REASON] = ""
    st.session_state[state.CONS_ACTION] = majority
    fill_params(majority)


def copy_rule(views: Sequence[ProfileView]) -> None:
    """Callback of "take a profile's rule": its action and parameters into the form."""
    chosen = st.session_state.get(state.CONS_TAKE)
    view = next((v for v in views if v.profile_id == chosen), None)
    if view is None:
        return
    st.session_state[state.CONS_ACTION] = view.action.value
    fill_params(view.action.value, view.params)


def decide_from_form(tag: str, views: Sequence[ProfileView]) -> None:
    """Callback of Decide: record the form's decision on ``tag``; the outcome is flashed."""
    ss = st.session_state
    try:
        action = str(ss.get(state.CONS_ACTION))
        params = params_from_inputs(action, {
            item.name: ss.get(state.consensus_param_key(item.name))
            for item in param_inputs(action)})
        decider = identity.current(state.CONS_DECIDER)
        if decider is None:
            raise ValueError("log in first: decisions record the name your login provider "
                             "vouches for")
        decision = decide(str(ss.get(state.DATA_DIR) or ""), str(ss.get(state.CONS_NAME) or ""),
                          tag, decider=decider, action=action, params=params,
                          reason=str(ss.get(state.CONS_REASON) or ""), views=views)
    except INPUT_ERRORS as exc:
        ss[state.CONS_FLASH] = ("error", "Could not record the decision on " + tag, str(exc))
        return
    ss[state.CONS_FLASH] = ("success", "", f"Decided {tag}: {decision.new_action} (decision "
                            f"#{decision.id} by {decision.decider_label}).")
    ss[state.CONS_REASON] = ""
    ss[state.CONS_TAKE] = ""


def decide(directory: str, name: str, tag: str, *, decider: str | Identity, action: str,
           params: Mapping[str, Any], reason: str,
           views: Sequence[ProfileView]) -> Decision:
    """Record a decision; the profiles whose action it is are its agreeing profiles."""
    agreeing = [v.profile_id for v in views if v.action.value == action]
    name = check_name(name)
    store = open_store(directory)
    with _database_errors(directory):
        return store.decide(name, tag, decider=decider, action=action, reason=reason,
                            params=params, agreeing_profiles=agreeing)


# -- the consensus profile and the decision record ---------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=8)
def consensus_profile(name: str, title: str, profile_keys: tuple[ProfileKey, ...],
                      decision_ids: tuple[int, ...], _profiles: Sequence[deid.Profile],
                      _decisions: Mapping[str, Decision]) -> ConsensusProfile:
    """:func:`deid.consensus.build.build_consensus` (raises ``ValueError`` for a bad name)."""
    del profile_keys, decision_ids
    return build_consensus(name, title, list(_profiles), dict(_decisions))


def decision_ids(decisions: Mapping[str, Decision]) -> tuple[int, ...]:
    return tuple(sorted(d.id for d in decisions.values()))


@st.cache_data(show_spinner=False, max_entries=8)
def ctp_script(profile_key: ProfileKey, _profile: deid.Profile) -> str:
    del profile_key
    return export_ctp_script(_profile)


def use_in_session(built: ConsensusProfile) -> UploadedProfile:
    """Add the consensus profile to this session's profiles and active set (replacing an
    earlier version of it)."""
    return profiles.add_upload(f"{built.profile.id}.toml", built.toml_text.encode())


@dataclass(frozen=True)
class TableDownload:
    fmt: str
    file_name: str
    mime: str
    make: Callable[[], bytes]


def decision_downloads(table: pd.DataFrame, compared: Sequence[deid.Profile],
                       check: RecordCheck | None = None) -> list[TableDownload]:
    """The ``decisions`` table as Parquet and CSV (the CLI's columns and metadata; Parquet
    also carries whether the record's hash chain held and its head)."""
    metadata = export_metadata(compared)
    if check is not None:
        metadata["record_chain"] = check.decisions.summary()
        metadata["record_head"] = check.decisions.head

    def maker(fmt: str) -> Callable[[], bytes]:
        return lambda: table_bytes("decisions", table, fmt, metadata)

    return [TableDownload(fmt, f"decisions.{fmt}", _MIME[fmt], maker(fmt))
            for fmt in ("parquet", "csv")]


# -- sign-off ----------------------------------------------------------------------------------

def sign_offs(directory: str, profile_id: str) -> list[SignOff]:
    store = existing_store(directory)
    with _database_errors(directory):
        return store.sign_offs(profile_id) if store is not None else []


def record_sign_off(directory: str, profile: deid.Profile, *, reviewer: str | Identity,
                    decision: str, comments: str) -> SignOff:
    store = open_store(directory)
    with _database_errors(directory):
        return store.sign_off(profile.id, profile.sha256 or "", reviewer=reviewer,
                              decision=decision, comments=comments)


def signoffs_table(signoffs: Sequence[SignOff], sha256: str) -> pd.DataFrame:
    rows = [{"signed_at": s.signed_at, "reviewer": s.reviewer_label, "decision": s.decision,
             "comments": s.comments, "profile_sha256": s.profile_sha256,
             "this version": s.profile_sha256 == sha256} for s in reversed(signoffs)]
    return pd.DataFrame(rows, columns=["signed_at", "reviewer", "decision", "comments",
                                       "profile_sha256", "this version"])


def references() -> list[deid.Profile]:
    """PS3.15 Basic and the AI4HI profiles (the shipped ones, cached)."""
    shipped = set(profiles.shipped_ids())
    return profiles.get_many([pid for pid in REFERENCE_IDS if pid in shipped])


@st.cache_data(show_spinner=False, max_entries=16)
def signoff_report(data_key: str, profile_key: ProfileKey, risk_key: object,
                   signoff_ids: tuple[int, ...], n_files: int, n_load_errors: int,
                   _profile: deid.Profile, _risk: RiskReport,
                   _signoffs: Sequence[SignOff]) -> SignOffReport:
    """The HTML sign-off report of a profile on the loaded sample."""
    del data_key, profile_key, risk_key, signoff_ids
    comparison = reference_comparison(_profile, references())
    return render_signoff_report(_profile, comparison, _risk, n_files=n_files,
                                 n_load_errors=n_load_errors, signoffs=list(_signoffs))


def report_maker(data: Loaded, profile: deid.Profile, active: Sequence[deid.Profile],
                 directory: str) -> Callable[[], str]:
    """A deferred maker of the report's HTML (for a download button): the residual risk of
    the session's settings (the one other pages show when the profile is active, else the
    profile's own; :class:`ui.compute.RiskTables` holds every table of the library's
    ``RiskReport``), and the recorded sign-offs of this version of the profile.

    Everything the maker needs is read now: it may run outside the page's script run."""
    group = list(active) if profile.id in {p.id for p in active} else [profile]
    secrets = session.secrets_for(group)
    k, qi_sets = compute.risk_settings()
    signed = tuple(s for s in sign_offs(directory, profile.id)
                   if s.profile_sha256 == (profile.sha256 or ""))

    def make() -> str:
        risk = compute.risk(data.key, profiles.key_of(group), secrets.token, k, qi_sets,
                            data.inputs, group, secrets.secrets)
        report = risk.report
        return signoff_report(data.key, (profile.id, profile.sha256 or ""),
                              (secrets.token, k, qi_sets), tuple(s.id for s in signed),
                              data.n_files, len(risk.load_errors), profile, report,
                              signed).html

    return make
