"""Committee consensus and DPO sign-off for the dashboard, over :mod:`deid.consensus` and
:mod:`deid.outputs.signoff`.

The worklist, the profile built from the decisions, its CTP script and the sign-off report are
cached (keyed by the profiles' ids and sha256s, the load's and the secrets' tokens, and the ids
of the decisions and sign-offs they use). The decision record itself is read afresh on every
run: another session may have decided in the meantime. Viewing a page never creates the data
folder or its database; the first decision or sign-off does.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import deid
from deid.audit import AuditResult
from deid.consensus.build import ConsensusProfile, build_consensus
from deid.consensus.store import (
    DATABASE_NAME,
    ConsensusSettings,
    Decision,
    DecisionStore,
    DecisionStoreError,
    Identity,
    RecordCheck,
    SignOff,
    data_dir,
)
from deid.consensus.worklist import ProfileView, build_worklist, files_by_tag
from deid.ctp import export_ctp_script
from deid.outputs.compare import comparison_universe
from deid.outputs.export import export_metadata, table_bytes
from deid.outputs.signoff import (
    REFERENCE_IDS,
    PreviousVersion,
    ReviewedData,
    SignOffReport,
    previous_version,
    reference_comparison,
    render_signoff_report,
    reviewed_data,
)
from deid.policy.actions import ACTIONS, Action
from deid.policy.profile_loader import is_profile_id
from deid.risk.report import RiskReport, baseline_profile
from ui import audit as audit_view
from ui import compute, identity, profiles, session, state
from ui.errors import INPUT_ERRORS
from ui.profiles import ProfileKey, UploadedProfile
from ui.session import Loaded
from ui.text import label_text, md

#: A consensus name becomes the consensus profile's id
#: (``deid.policy.profile_loader.is_profile_id``).
NAME_EXAMPLE = "committee_2026"
#: Worklist status filter, as (value, label) rows.
STATUS_CHOICES = (("all", "All"), ("undecided", "Undecided"), ("decided", "Decided"))
#: Worklist order, as (value, label) rows.
ORDER_CHOICES = (("matters", "What matters first: in my files, risky under any profile"),
                 ("tag", "Tag order"))
_MIME = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}
#: The "i" emoji, written with escapes (ruff flags the character as a confusable letter).
INFO = "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}"


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


# -- reopening a consensus ---------------------------------------------------------------------

def overview(directory: str) -> pd.DataFrame:
    """Every consensus in the record: decisions, last decision, profiles, sample."""
    store = existing_store(directory)
    with _database_errors(directory):
        return store.overview() if store is not None else pd.DataFrame(
            columns=["consensus_id", "n_decisions", "n_tags_decided", "last_decided_at",
                     "profiles", "sample"])


def settings_of(directory: str, name: str) -> ConsensusSettings | None:
    """The saved set-up of a consensus (None before the record or the set-up exists)."""
    store = existing_store(directory)
    with _database_errors(directory):
        return store.settings(name) if store is not None and name else None


def restore(settings: ConsensusSettings, available: Sequence[str]) -> list[str]:
    """Put a saved set-up into the page's widgets (its profiles, title and sample) and say
    what could not be restored: profiles this session does not have, or whose content
    changed since the set-up was saved."""
    ss = st.session_state
    notes: list[str] = []
    ids = [pid for pid in settings.profile_ids if pid in set(available)]
    missing = [pid for pid in settings.profile_ids if pid not in set(available)]
    if missing:
        notes.append("not available in this session (upload them on Profiles): "
                     + ", ".join(missing))
    changed = [pid for pid, sha in settings.profiles if pid in set(ids) and sha and sha != (
        profiles.get(pid).sha256 or "")]
    if changed:
        notes.append("changed since the set-up was saved (their rules may differ): "
                     + ", ".join(changed))
    ss[state.CONS_PROFILES] = ids
    if settings.title:
        ss[state.CONS_TITLE] = settings.title
    ss[state.CONS_SOURCES] = list(settings.sources)
    return notes


def sources_of(data: Loaded | None) -> list[str]:
    """The paths the session's sample was read from, absolute (uploads are not kept)."""
    if data is None:
        return []
    return [str(Path(path).resolve()) for path in data.inputs.paths]


@dataclass(frozen=True)
class Setup:
    """What the page reconciles now: profiles (id, sha256), title, sample paths."""

    profiles: tuple[ProfileKey, ...]
    title: str
    sources: tuple[str, ...]

    def differs_from(self, saved: ConsensusSettings | None) -> bool:
        return saved is None or (tuple(saved.profiles), saved.title, tuple(saved.sources)) != (
            self.profiles, self.title, self.sources)


def save_setup(directory: str, name: str, setup: Setup, who: str | Identity) -> None:
    """Record the set-up of a consensus (a new row; the latest is the one that reopens)."""
    store = open_store(directory)
    with _database_errors(directory):
        store.save_settings(check_name(name), saved_by=who, profiles=setup.profiles,
                            title=setup.title, sources=setup.sources)


def save_setup_from_page(name: str, setup: Setup) -> None:
    """Callback of "Save this set-up"; the outcome is flashed."""
    ss = st.session_state
    try:
        who = identity.current(state.CONS_DECIDER)
        if who is None:
            raise ValueError("give your name (or log in) first: the set-up records who saved "
                             "it")
        save_setup(str(ss.get(state.DATA_DIR) or ""), name, setup, who)
    except INPUT_ERRORS as exc:
        ss[state.CONS_FLASH] = ("error", "Could not save the set-up of " + name, str(exc))
        return
    ss[state.CONS_FLASH] = ("success", "", f"Saved: {name} reopens with "
                            f"{', '.join(pid for pid, _ in setup.profiles)} (from this URL or "
                            "the list of consensuses in the record).")


def read_url() -> None:
    """Take the data folder and the consensus from the page's URL (``?consensus=NAME&record=
    FOLDER``), once per session, before the widgets are made: a reload or a link reopens it."""
    params = st.query_params
    record = params.get(state.QUERY_RECORD)
    if record:
        st.session_state[state.DATA_DIR] = record
    name = params.get(state.QUERY_CONSENSUS)
    if name and not st.session_state.get(state.CONS_NAME):
        st.session_state[state.CONS_NAME] = name


def show_url(directory: str, name: str) -> None:
    """Keep the open consensus (and a data folder other than the default) in the URL."""
    params = st.query_params
    wanted = {state.QUERY_CONSENSUS: name} if name else {}
    if name and directory and str(data_dir(directory)) != default_data_dir():
        wanted[state.QUERY_RECORD] = directory
    for key in (state.QUERY_CONSENSUS, state.QUERY_RECORD):
        if key in wanted and params.get(key) != wanted[key]:
            params[key] = wanted[key]
        elif key not in wanted and key in params:
            del params[key]


def open_chosen() -> None:
    """Callback of "Open a consensus from the record": its name into the name input (its
    set-up is restored on the run that follows)."""
    chosen = st.session_state.get(state.CONS_OPEN)
    if chosen:
        st.session_state[state.CONS_NAME] = chosen
        st.session_state.pop(state.CONS_OPENED, None)


def reopen_if_new(directory: str, name: str, available: Sequence[str]
                  ) -> ConsensusSettings | None:
    """The consensus's saved set-up; when the page shows this consensus for the first time
    (a new name, folder or session), its profiles, title and sample are restored (before the
    widgets that show them are made)."""
    saved = settings_of(directory, name)
    opened = (str(data_dir(directory or None)), name)
    if st.session_state.get(state.CONS_OPENED) != opened:
        st.session_state[state.CONS_OPENED] = opened
        if saved is not None:
            notes = restore(saved, available)
            if notes:
                st.session_state[state.CONS_RESTORE_NOTE] = notes
    return saved


def restore_saved(saved: ConsensusSettings) -> None:
    """Callback of "Back to the saved profiles"."""
    notes = restore(saved, profiles.available_ids())
    if notes:
        st.session_state[state.CONS_RESTORE_NOTE] = notes


def setup_status(directory: str, name: str, saved: ConsensusSettings | None, setup: Setup,
                 can_save: bool, data: Loaded | None) -> None:
    """Say how the page's set-up compares with the one saved for the consensus, and offer to
    save it, to go back to it, or to load the sample it was assessed on."""
    if saved is None:
        st.caption(md("{name} has no saved set-up yet: the first decision saves it (the "
                      "profiles reconciled and the sample), or save it now.", name=name))
    elif [pid for pid, _ in setup.profiles] != list(saved.profile_ids):
        st.warning(md("{name} was set up with {saved} (saved by {who} on {when}); you are "
                      "reconciling {now}. The worklist and its counts are for your choice; the "
                      "decisions stay as recorded.", name=name,
                      saved=", ".join(saved.profile_ids), who=saved.saved_by_label,
                      when=saved.saved_at, now=", ".join(pid for pid, _ in setup.profiles)),
                   icon="⚠️")
        st.button("Back to the saved profiles", key=state.CONS_RESTORE_BUTTON,
                  on_click=restore_saved, args=(saved,))
    else:
        st.caption(md("{name} reopens with these profiles (set up by {who} on {when}).",
                      name=name, who=saved.saved_by_label, when=saved.saved_at))
    if setup.differs_from(saved):
        st.button("Save this set-up in the record", key=state.CONS_SAVE_SETUP_BUTTON,
                  on_click=save_setup_from_page, args=(name, setup), disabled=not can_save,
                  help="Remembers the profiles, title and sample paths, so that the consensus "
                       "reopens with them (a new row of the record; the latest counts).")
    sources = list(saved.sources) if saved is not None else []
    if sources and sources != sources_of(data):
        missing = [path for path in sources if not Path(path).exists()]
        st.info(md("{name} was assessed on {paths}.", name=name, paths=", ".join(sources))
                + (md(" Not on this machine: {missing}.", missing=", ".join(missing))
                   if missing else ""), icon=INFO)
        if not missing and st.button("Load those files", key=state.CONS_LOAD_SOURCES_BUTTON):
            session.load(sources, [], f"the sample of consensus {name}",
                         session.progress_bar("Reading headers"))
            st.rerun()


def decisions_outside(decisions: Mapping[str, Decision], table: pd.DataFrame,
                      name: str) -> None:
    """Say how many recorded decisions are on tags this worklist does not show (none is
    lost: another set of profiles, or every tag, shows them)."""
    outside = sorted(set(decisions) - set(table["tag"].astype(str)))
    if outside:
        st.caption(md("{n:,} more decisions of {name} are on tags where these profiles agree "
                      "(turn on **All tags** to see them): {tags}.", n=len(outside), name=name,
                      tags=", ".join(outside[:10]) + (" …" if len(outside) > 10 else "")))


def risk_findings(data: Loaded, chosen: Sequence[deid.Profile],
                  secrets: session.SessionSecrets) -> tuple[pd.DataFrame, object]:
    """The residual-risk findings of every chosen profile on the sample (each profile assessed
    once per session: a profile removed or added again costs nothing), and the key that names
    them."""
    findings = compute.risk_for(data, chosen, secrets).residual_risk
    return findings, (data.key, *compute.risk_key(secrets))


# -- the worklist ------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=8)
def presence(data_key: str, profile_keys: tuple[ProfileKey, ...],
             _headers: pd.DataFrame, _profiles: Sequence[deid.Profile]) -> dict[str, int]:
    """Universe tag -> loaded files holding it (:func:`deid.consensus.worklist.files_by_tag`)."""
    del data_key, profile_keys
    return files_by_tag(_headers, comparison_universe(list(_profiles)))


@st.cache_data(show_spinner=False, max_entries=16)
def worklist(profile_keys: tuple[ProfileKey, ...], all_tags: bool, risk_key: object,
             data_key: str | None, _profiles: Sequence[deid.Profile],
             _findings: pd.DataFrame | None, _present: Mapping[str, int] | None
             ) -> pd.DataFrame:
    """:func:`deid.consensus.worklist.build_worklist` (``risk_key`` names the findings,
    ``data_key`` the load the tags' presence was counted on)."""
    del profile_keys, risk_key, data_key
    return build_worklist(list(_profiles), all_tags=all_tags, findings=_findings,
                          present=_present)


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
    """The worklist filters: group, keyword or tag, risk left by the majority, risky under
    any profile, present in the loaded files, status, deciders; and the order."""

    groups: tuple[str, ...] = ()
    search: str = ""
    risky: bool = False
    status: str = "all"
    deciders: tuple[str, ...] = ()
    risky_any: bool = False
    present: bool = False
    order: str = "matters"


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
    if filters.risky_any:
        keep &= view["risky_under"].astype(str) != ""
    if filters.present:
        keep &= view["n_files"] > 0
    if filters.status == "decided":
        keep &= view["decided"] != ""
    elif filters.status == "undecided":
        keep &= view["decided"] == ""
    if filters.deciders:
        keep &= view["decided_by"].isin(filters.deciders)
    shown = view[keep]
    return shown.sort_values("tag", kind="stable") if filters.order == "tag" else shown


def worklist_downloads(view: pd.DataFrame, compared: Sequence[deid.Profile]
                       ) -> list[TableDownload]:
    """The worklist as shown (filters applied, every row) as Parquet and CSV."""
    frame = view.drop(columns=["actions"], errors="ignore").reset_index(drop=True)
    metadata = export_metadata(compared)

    def maker(fmt: str) -> Callable[[], bytes]:
        return lambda: table_bytes("worklist", frame, fmt, metadata)

    return [TableDownload(fmt, f"worklist.{fmt}", _MIME[fmt], maker(fmt))
            for fmt in ("parquet", "csv")]


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


def action_label(action: str) -> str:
    """An action as the decision form lists it: its name and meaning, without the code
    marks of the vocabulary's text (an option label shows them as they are)."""
    return f"{action}: {label_text(ACTIONS[Action(action)].meaning)}"


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


def decide_from_form(tag: str, views: Sequence[ProfileView], setup: Setup | None = None
                     ) -> None:
    """Callback of Decide: record the form's decision on ``tag`` (and the consensus's
    set-up, when it changed since it was saved); the outcome is flashed."""
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
        directory, name = str(ss.get(state.DATA_DIR) or ""), str(ss.get(state.CONS_NAME) or "")
        if setup is not None and setup.differs_from(settings_of(directory, name.strip())):
            save_setup(directory, name.strip(), setup, decider)
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
    if not decision:
        raise ValueError("choose the decision: approved, approved with conditions or rejected")
    store = open_store(directory)
    with _database_errors(directory):
        return store.sign_off(profile.id, profile.sha256 or "", reviewer=reviewer,
                              decision=decision, comments=comments,
                              profile_text=profile_text(profile))


def profile_text(profile: deid.Profile) -> str | None:
    """The text of the profile's file (shipped or uploaded), whose sha256 it carries."""
    upload = profiles.uploaded().get(profile.id)
    if upload is not None:
        return upload.toml_text
    if profile.path is not None:
        try:
            return Path(profile.path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return None


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
                   _signoffs: Sequence[SignOff], _reviewed: ReviewedData | None = None,
                   _previous: PreviousVersion | None = None,
                   _relative_to: str = "", audit_key: object = None,
                   _audit: AuditResult | None = None) -> SignOffReport:
    """The HTML sign-off report of a profile on the loaded sample (the data reviewed and the
    previously signed version are fixed by the load's and the sign-offs' keys; an audit of an
    export made with the profile, run on the Audit page, by ``audit_key``)."""
    del data_key, profile_key, risk_key, signoff_ids, audit_key
    comparison = reference_comparison(_profile, references())
    return render_signoff_report(_profile, comparison, _risk, n_files=n_files,
                                 n_load_errors=n_load_errors, signoffs=list(_signoffs),
                                 reviewed=_reviewed, previous=_previous,
                                 relative_to=_relative_to, audit=_audit)


def report_maker(data: Loaded, profile: deid.Profile, active: Sequence[deid.Profile],
                 directory: str) -> Callable[[], str]:
    """A deferred maker of the report's HTML (for a download button): the residual risk of
    the session's settings (the one other pages show when the profile is active, else the
    profile's own; :class:`ui.compute.RiskTables` holds every table of the library's
    ``RiskReport``) beside the baseline before de-identification, the data reviewed, the
    previously signed version of the profile, and the recorded sign-offs of this version.

    Everything the maker needs is read now: it may run outside the page's script run."""
    group = list(active) if profile.id in {p.id for p in active} else [profile]
    secrets = session.secrets_for(group)
    k, qi_sets = compute.risk_settings()
    everything = sign_offs(directory, profile.id)
    signed = tuple(s for s in everything if s.profile_sha256 == (profile.sha256 or ""))
    with _database_errors(directory):
        previous = previous_version(existing_store(directory), profile)
    baseline = baseline_profile()
    audited = audit_view.session_audit(profile.id)

    def make() -> str:
        risk = compute.risk(data.key, profiles.key_of(group), secrets.token, k, qi_sets,
                            data.inputs, group, secrets.secrets)
        before = compute.risk(data.key, profiles.key_of([baseline]), secrets.token, k,
                              qi_sets, data.inputs, [baseline], secrets.secrets)
        report = dataclasses.replace(risk.report, residual_risk=pd.concat(
            [risk.residual_risk, before.residual_risk], ignore_index=True))
        folders = [session.shown_path(p) for p in data.inputs.paths] or [
            name for name, _ in data.inputs.uploads]
        reviewed = reviewed_data(list(data.inputs.paths) or folders, data.files,
                                 len(risk.load_errors))
        reviewed = dataclasses.replace(reviewed, folder=", ".join(folders))
        return signoff_report(data.key, (profile.id, profile.sha256 or ""),
                              (secrets.token, k, qi_sets), tuple(s.id for s in everything),
                              data.n_files, len(risk.load_errors), profile, report,
                              signed, reviewed, previous,
                              session.files_root(data.inputs),
                              audited[0] if audited else None,
                              audited[1] if audited else None).html

    return make
