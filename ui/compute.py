"""Cached calls into ``deid`` for the pages.

Every cache is keyed by what determines the result: the load's token (:attr:`Inputs.key`), the
profiles' ids and sha256s, the secrets' random token, and the options. The objects themselves
(frames, profiles, secrets) are passed as ``_``-arguments, which Streamlit does not hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

import deid
from deid.outputs.compare import compare, pairwise_diff
from deid.outputs.effects import apply_profiles, apply_to_headers
from deid.policy.schema import TABLES, conform
from deid.risk.kanon import DEFAULT_K, DEFAULT_QI_SETS, parse_qi_set
from deid.risk.report import (
    BASELINE_ID,
    RiskReport,
    aryanto_coverage,
    assess_paths,
    element_summary,
)
from ui import state
from ui.profiles import ProfileKey
from ui.progress import Progress, estimate, long_work
from ui.session import PARALLEL_FROM, Inputs, Loaded, SessionSecrets
from ui.tagview import TagSummary, summarize
from ui.text import md

#: Up to this many loaded files the residual-risk assessment and the effects table (every
#: profile applied to every file) are computed without being asked.
RISK_AUTO_MAX_FILES = 1000


def _workers(n_files: int) -> int | None:
    return None if n_files >= PARALLEL_FROM else 1


@st.cache_data(show_spinner=False, max_entries=8)
def element_actions(data_key: str, profile_keys: tuple[ProfileKey, ...],
                    _headers: pd.DataFrame, _profiles: Sequence[deid.Profile]
                    ) -> dict[str, pd.Series]:
    """Each header row's action under each profile (vectorized, one decision per distinct
    tag, VR and private creator)."""
    del data_key, profile_keys
    return {p.id: apply_to_headers(_headers, p)["action"] for p in _profiles}


@st.cache_data(show_spinner=False, max_entries=8)
def tag_summary(data_key: str, profile_keys: tuple[ProfileKey, ...], risk_key: object,
                _headers: pd.DataFrame, _profiles: Sequence[deid.Profile],
                _findings: pd.DataFrame | None) -> TagSummary:
    """The per-tag table of the Tag effects page (``risk_key`` names the findings used)."""
    del risk_key
    actions = element_actions(data_key, profile_keys, _headers, _profiles)
    return summarize(_headers, actions, _findings)


@dataclass(frozen=True)
class RiskTables:
    """The risk report of the loaded files (``deid.risk``) and the files it could not read.

    ``missing`` names profiles that could not be assessed (a scan dataset without their
    tables); ``note`` says where the tables come from when not from this session."""

    report: RiskReport
    load_errors: pd.DataFrame
    missing: tuple[str, ...] = ()
    note: str = ""

    @property
    def residual_risk(self) -> pd.DataFrame:
        return self.report.residual_risk

    @property
    def k_anonymity(self) -> pd.DataFrame:
        return self.report.k_anonymity

    @property
    def k_classes(self) -> pd.DataFrame:
        return self.report.k_classes

    @property
    def aryanto_coverage(self) -> pd.DataFrame:
        return self.report.aryanto_coverage


#: The report's tables, each with a profile_id column.
_RISK_TABLES = ("residual_risk", "k_anonymity", "aryanto_coverage", "k_classes")


def _only(tables: RiskTables, profile_id: str) -> RiskTables:
    """The tables of one profile."""
    parts = {name: frame[frame["profile_id"].astype(str) == profile_id].reset_index(drop=True)
             for name, frame in tables.report.tables().items()}
    return RiskTables(RiskReport(**parts), tables.load_errors)


def _joined(parts: Sequence[RiskTables]) -> RiskTables:
    """Tables of several profiles (each assessed on its own: findings and k-anonymity are
    per profile) as one report, rows sorted as the library sorts them."""
    if len(parts) == 1:
        return parts[0]
    frames = {name: conform(name, pd.concat([part.report.tables()[name] for part in parts],
                                            ignore_index=True))
              for name in _RISK_TABLES}
    errors = parts[0].load_errors if parts else pd.DataFrame()
    return RiskTables(RiskReport(**frames), errors,
                      tuple(pid for part in parts for pid in part.missing),
                      next((part.note for part in parts if part.note), ""))


class _RiskStores:
    """Risk assessed per load (the load's random token), per settings and profile, for the
    last few loads of any session (as ``st.cache_data`` keeps its entries)."""

    def __init__(self, loads: int = 8) -> None:
        self.loads = loads
        self.lock = threading.Lock()
        self.by_load: OrderedDict[str, dict[object, object]] = OrderedDict()

    def of(self, data_key: str) -> dict[object, object]:
        with self.lock:
            store = self.by_load.pop(data_key, None) or {}
            self.by_load[data_key] = store
            while len(self.by_load) > self.loads:
                self.by_load.popitem(last=False)
            return store


@st.cache_resource
def _stores() -> _RiskStores:
    return _RiskStores()


#: Where the last report joined from several profiles' is kept in a load's store.
_JOINED = "joined"


def _store(data_key: str) -> dict[object, object]:
    return _stores().of(data_key)


def _settings(data_key: str, secrets_token: str, k: int,
              qi_sets: tuple[str, ...]) -> tuple[object, ...]:
    return (data_key, secrets_token, k, qi_sets)


def assessed(data_key: str, profile_keys: tuple[ProfileKey, ...], secrets_token: str, k: int,
             qi_sets: tuple[str, ...]) -> bool:
    """True when every profile's risk for these files, secrets and settings is already in
    this session (showing it is no new work)."""
    store = _store(data_key)
    base = _settings(data_key, secrets_token, k, qi_sets)
    return all((base, key) in store for key in profile_keys)


def risk(data_key: str, profile_keys: tuple[ProfileKey, ...], secrets_token: str, k: int,
         qi_sets: tuple[str, ...], _inputs: Inputs, _profiles: Sequence[deid.Profile],
         _secrets: deid.Secrets, _progress: Progress | None = None) -> RiskTables:
    """Residual risk of every loaded file under every profile (``deid.risk``).

    Each profile is assessed once per session for these files, secrets and settings (the
    profiles not yet assessed together, in one pass over the files, on the worker pool for a
    large load), so any page showing any subset of them reuses the work. A scan dataset's own
    risk tables are used as they are (:func:`dataset_risk`)."""
    if _inputs.dataset is not None:
        return dataset_risk(_inputs, _profiles)
    store = _store(data_key)
    base = _settings(data_key, secrets_token, k, qi_sets)
    joined = (base, profile_keys)
    last = store.get(_JOINED)
    if isinstance(last, tuple) and last[0] == joined:
        return last[1]  # type: ignore[no-any-return]
    missing = [(p, key) for p, key in zip(_profiles, profile_keys, strict=True)
               if (base, key) not in store]
    if missing:
        result = assess_paths(list(_inputs.paths), [p for p, _ in missing], secrets=_secrets,
                              uploads=list(_inputs.uploads), k=k, qi_sets=list(qi_sets),
                              progress=_progress)
        tables = RiskTables(result.report, result.load_errors)
        for profile, key in missing:
            store[(base, key)] = _only(tables, profile.id)
    result_tables = _joined([store[(base, key)] for key in profile_keys])  # type: ignore[misc]
    store[_JOINED] = (joined, result_tables)  # the last one only: one copy of the findings
    return result_tables


@st.cache_data(show_spinner=False, max_entries=8)
def element_summary_of(data_key: str, risk_key: tuple[object, ...],
                       profile_keys: tuple[ProfileKey, ...], chosen_profiles: tuple[str, ...],
                       chosen_kinds: tuple[str, ...], _findings: pd.DataFrame,
                       _baseline: pd.DataFrame,
                       _profiles: Sequence[deid.Profile]) -> pd.DataFrame:
    """The Residual risk page's element summary of the findings shown and the baseline's
    (``deid.risk.report.element_summary``: seconds for 10,000 files), once per load, risk
    settings, profiles and filter, not on every rerun."""
    del data_key, risk_key, profile_keys, chosen_profiles, chosen_kinds
    return element_summary(pd.concat([_findings, _baseline], ignore_index=True), _profiles)


def dataset_risk(inputs: Inputs, profiles: Sequence[deid.Profile]) -> RiskTables:
    """The risk tables a scan dataset holds for these profiles (same id and sha256); the
    others are ``missing``: their risk needs the DICOM files."""
    made = dict(inputs.dataset_profiles)
    have = [p for p in profiles if made.get(p.id) == p.sha256]
    ids = {p.id for p in have}
    frames = {}
    for name in _RISK_TABLES:
        table = inputs.tables.get(name)
        if name == "aryanto_coverage":
            frames[name] = aryanto_coverage(profiles)
        elif table is None:
            frames[name] = conform(name, pd.DataFrame(columns=TABLES[name].column_names()))
        else:
            frames[name] = table[table["profile_id"].astype(str).isin(ids)].reset_index(
                drop=True)
    missing = tuple(p.id for p in profiles if p.id not in ids or
                    inputs.tables.get("residual_risk") is None)
    kanon = inputs.tables.get("k_anonymity")
    k = int(kanon["k_threshold"].iloc[0]) if kanon is not None and len(kanon) else None
    note = ("From the scan dataset (" + (f"k = {k}, " if k is not None else "")
            + "quasi-identifier sets as the run that wrote it chose them).")
    return RiskTables(RiskReport(**frames), conform("load_errors", pd.DataFrame(
        columns=TABLES["load_errors"].column_names())), missing, note)


@st.cache_data(show_spinner=False, max_entries=4)
def effects(data_key: str, profile_keys: tuple[ProfileKey, ...], secrets_token: str,
            n_files: int, _inputs: Inputs, _profiles: Sequence[deid.Profile],
            _secrets: deid.Secrets) -> pd.DataFrame:
    """The effects table of every loaded file (values included); a scan dataset's own
    effects table for these profiles (empty when it has none)."""
    del data_key, profile_keys, secrets_token
    if _inputs.dataset is not None:
        table = _inputs.tables.get("effects")
        if table is None:
            return pd.DataFrame(columns=TABLES["effects"].column_names())
        ids = [p.id for p in _profiles]
        return table[table["profile_id"].astype(str).isin(ids)].reset_index(drop=True)
    result = apply_profiles(list(_inputs.paths), list(_profiles), secrets=_secrets,
                            uploads=list(_inputs.uploads), include_values=True,
                            workers=_workers(n_files))
    return result.effects


@dataclass(frozen=True)
class FileEffects:
    """One file: what each profile does to each element, and the element findings."""

    effects: pd.DataFrame
    findings: pd.DataFrame
    load_errors: pd.DataFrame
    #: Why result values are missing ('' when they are there).
    note: str = ""


@st.cache_data(show_spinner=False, max_entries=64)
def file_effects(data_key: str, file: str, profile_keys: tuple[ProfileKey, ...],
                 secrets_token: str, _inputs: Inputs, _profiles: Sequence[deid.Profile],
                 _secrets: deid.Secrets) -> FileEffects:
    """Apply and assess the profiles on one loaded file only (fast at any load size); for a
    scan dataset, its rows of the dataset's tables."""
    del data_key, profile_keys, secrets_token
    if _inputs.dataset is not None:
        return _dataset_file(file, _inputs, _profiles)
    paths, uploads = _inputs.single(file)
    applied = apply_profiles(paths, list(_profiles), secrets=_secrets, uploads=uploads,
                             include_values=True, workers=1)
    assessed_ = assess_paths(paths, list(_profiles), secrets=_secrets, uploads=uploads,
                             workers=1)
    findings = assessed_.report.residual_risk
    findings = findings[findings["element_path"].astype(str) != ""].reset_index(drop=True)
    return FileEffects(applied.effects, findings,
                       pd.concat([applied.load_errors, assessed_.load_errors])
                       .drop_duplicates().reset_index(drop=True))


def _dataset_file(file: str, inputs: Inputs, profiles: Sequence[deid.Profile]) -> FileEffects:
    """One file of a scan dataset: its effects rows (or its header rows with each profile's
    action when the dataset has no effects), and its element findings."""
    ids = [p.id for p in profiles]
    table = inputs.tables.get("effects")
    note = ""
    if table is not None:
        rows = table[(table["file"].astype(str) == file)
                     & table["profile_id"].astype(str).isin(ids)].reset_index(drop=True)
    else:
        rows = _header_actions(file, inputs, profiles)
        note = ("The scan dataset has no effects table: the actions are each profile's "
                "decision for the element; resulting values need the files (python -m deid "
                "apply or report into the dataset's folder).")
    found = inputs.tables.get("residual_risk")
    findings = pd.DataFrame(columns=TABLES["residual_risk"].column_names())
    if found is not None:
        findings = found[(found["file"].astype(str) == file)
                         & (found["element_path"].astype(str) != "")
                         & found["profile_id"].astype(str).isin(ids)].reset_index(drop=True)
    return FileEffects(rows, findings, pd.DataFrame(columns=TABLES["load_errors"]
                                                    .column_names()), note)


def _header_actions(file: str, inputs: Inputs, profiles: Sequence[deid.Profile]) -> pd.DataFrame:
    from ui.session import loaded

    data = loaded()
    headers = data.headers if data is not None and data.inputs is inputs else pd.DataFrame()
    if headers.empty:
        return pd.DataFrame(columns=TABLES["effects"].column_names())
    mine = headers[headers["file"].astype(str) == file].reset_index(drop=True)
    frames = []
    for profile in profiles:
        actions = apply_to_headers(mine, profile)
        actions["original_value"] = mine["value"].astype(object)
        actions["result_value"] = None
        frames.append(actions)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class ComparisonTables:
    """The comparison tables and the universe they cover."""

    tables: dict[str, pd.DataFrame]
    universe_size: int
    universe_source: str
    profile_ids: tuple[str, ...]


@st.cache_data(show_spinner=False, max_entries=16)
def comparison(profile_keys: tuple[ProfileKey, ...], states: int,
               _profiles: Sequence[deid.Profile]) -> ComparisonTables:
    """``deid.outputs.compare.compare`` of the profiles over the whole dictionary."""
    del profile_keys
    result = compare(list(_profiles), states=states)
    return ComparisonTables(dict(result.tables), result.universe.size, result.universe.source,
                            tuple(p.id for p in _profiles))


@st.cache_data(show_spinner=False, max_entries=32)
def pairwise(profile_keys: tuple[ProfileKey, ...], states: int, profile_a: str,
             profile_b: str, _profiles: Sequence[deid.Profile]) -> pd.DataFrame:
    """Tags where two of the compared profiles take different actions."""
    actions = comparison(profile_keys, states, _profiles).tables["profile_actions"]
    return pairwise_diff(actions, profile_a, profile_b)


# -- risk settings, shared by the Tag effects and Residual risk pages -------------------------

def parse_extra_qi_sets(text: str) -> tuple[str, ...]:
    """Quasi-identifier sets typed by the user, one per line or comma-separated, each
    normalised (sorted keywords joined by ``+``). Raises ``ValueError`` naming a bad one."""
    sets = []
    for part in text.replace(",", "\n").splitlines():
        if part.strip():
            sets.append("+".join(parse_qi_set(part)))
    return tuple(sets)


def risk_settings() -> tuple[int, tuple[str, ...]]:
    """The k threshold and quasi-identifier sets chosen on the Residual risk page (defaults
    until then); a typed set that does not parse is left out here (the page says why)."""
    k = int(st.session_state.get(state.RISK_K, DEFAULT_K) or DEFAULT_K)
    chosen = st.session_state.get(state.RISK_QI_SETS)
    sets = list(DEFAULT_QI_SETS if chosen is None else chosen)
    try:
        extra = parse_extra_qi_sets(str(st.session_state.get(state.RISK_QI_EXTRA, "") or ""))
    except ValueError:
        extra = ()
    for qi in extra:
        if qi not in sets:
            sets.append(qi)
    return max(1, k), tuple(sets)


def risk_wanted(data: Loaded, profiles: Sequence[deid.Profile] | None = None) -> bool:
    """Assess without asking for a small load or a scan dataset; a large load waits for the
    user's click (:func:`request_risk`) for these profiles, unless their risk is already in
    this session (showing it is no new work)."""
    if data.n_loaded <= RISK_AUTO_MAX_FILES or data.from_dataset:
        return True
    requested = st.session_state.get(state.RISK_REQUESTED)
    if profiles is None:
        return bool(requested)
    from ui.profiles import active_ids, key_of

    ids = {p.id for p in profiles}
    if isinstance(requested, (set, frozenset)):
        if ids <= requested:
            return True
    elif requested is True and ids <= set(active_ids()):
        return True
    secrets = st.session_state.get(state.SECRETS)
    token = secrets.token if isinstance(secrets, SessionSecrets) else ""
    k, sets = risk_settings()
    return assessed(data.key, key_of(profiles), token, k, sets)


def request_risk(profiles: Sequence[deid.Profile]) -> None:
    """The user asked for the risk of these profiles (a large load)."""
    before = st.session_state.get(state.RISK_REQUESTED)
    ids = set(before) if isinstance(before, (set, frozenset)) else set()
    st.session_state[state.RISK_REQUESTED] = frozenset(ids | {p.id for p in profiles})


def forget_risk_request() -> None:
    st.session_state.pop(state.RISK_REQUESTED, None)


def effects_wanted(data: Loaded) -> bool:
    """Apply every profile to every file without asking for a small load (or a scan dataset)
    only."""
    return data.n_loaded <= RISK_AUTO_MAX_FILES or data.from_dataset or bool(
        st.session_state.get(state.EFFECTS_REQUESTED))


#: The Cancel button of a long assessment.
RISK_CANCEL = "risk.cancel"
#: What the measured rate of assessments is recorded under (file x profile plans per second).
RISK_RATE = "risk.plans"


def risk_for(data: Loaded, profiles: Sequence[deid.Profile], secrets: SessionSecrets,
             cancel_key: str = RISK_CANCEL) -> RiskTables:
    """The risk tables for the session's settings: from this session's store when assessed
    before; else assessed now, with a progress bar (counts, rate, time left) and a Cancel
    button for a large load (a click stops the work and forgets the request)."""
    from ui.profiles import key_of

    k, sets = risk_settings()
    keys = key_of(profiles)
    small = data.n_loaded <= RISK_AUTO_MAX_FILES or data.from_dataset
    if small or assessed(data.key, keys, secrets.token, k, sets):
        return risk(data.key, keys, secrets.token, k, sets, data.inputs, profiles,
                    secrets.secrets)
    if st.session_state.get(cancel_key):
        forget_risk_request()
        st.toast("Assessment cancelled: nothing was kept.", icon="✖️")
        st.rerun()
    what = (f"Assessing residual risk under {len(profiles)} profiles" if len(profiles) != 1
            else f"Assessing residual risk under {profiles[0].id}" if profiles[0].id !=
            BASELINE_ID else "Assessing the files as they are (the baseline)")
    with long_work(what, cancel_key, rate_of=RISK_RATE, scale=len(profiles)) as progress:
        return risk(data.key, keys, secrets.token, k, sets, data.inputs, profiles,
                    secrets.secrets, progress)


def risk_estimate(data: Loaded, profiles: Sequence[deid.Profile]) -> str:
    """`` (about 3 min on this machine)``: how long assessing these profiles should take at
    the speed measured in this session ('' when nothing was measured yet)."""
    text = estimate(RISK_RATE, data.n_loaded * len(profiles))
    return f" ({text} on this machine)" if text else ""


def risk_source_note(risk: RiskTables) -> None:
    """Say where a scan dataset's risk tables come from and which profiles they lack."""
    if risk.note:
        st.caption(risk.note)
    if risk.missing:
        st.info(md("The scan dataset holds no residual-risk tables for {ids}: assessing them "
                   "needs the DICOM files (python -m deid risk PATH --profiles ... --out "
                   "FOLDER, or load the files).", ids=", ".join(risk.missing)),
                icon="\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}")


def risk_key(secrets: SessionSecrets) -> tuple[object, ...]:
    k, sets = risk_settings()
    return (secrets.token, k, sets)
