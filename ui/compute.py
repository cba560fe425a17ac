"""Cached calls into ``deid`` for the pages.

Every cache is keyed by what determines the result: the load's token (:attr:`Inputs.key`), the
profiles' ids and sha256s, the secrets' random token, and the options. The objects themselves
(frames, profiles, secrets) are passed as ``_``-arguments, which Streamlit does not hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

import deid
from deid.outputs.compare import compare, pairwise_diff
from deid.outputs.effects import apply_profiles, apply_to_headers
from deid.risk.kanon import DEFAULT_K, DEFAULT_QI_SETS, parse_qi_set
from deid.risk.report import RiskReport, assess_paths
from ui import state
from ui.profiles import ProfileKey
from ui.session import PARALLEL_FROM, Inputs, Loaded, SessionSecrets
from ui.tagview import TagSummary, summarize

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
    """The risk report of the loaded files (``deid.risk``) and the files it could not read."""

    report: RiskReport
    load_errors: pd.DataFrame

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


@st.cache_data(show_spinner=False, max_entries=32)  # Consensus caches one entry per profile
def risk(data_key: str, profile_keys: tuple[ProfileKey, ...], secrets_token: str, k: int,
         qi_sets: tuple[str, ...], _inputs: Inputs, _profiles: Sequence[deid.Profile],
         _secrets: deid.Secrets) -> RiskTables:
    """Residual risk of every loaded file under every profile (``deid.risk``)."""
    del data_key, profile_keys, secrets_token
    result = assess_paths(list(_inputs.paths), list(_profiles), secrets=_secrets,
                          uploads=list(_inputs.uploads), k=k, qi_sets=list(qi_sets))
    return RiskTables(result.report, result.load_errors)


@st.cache_data(show_spinner=False, max_entries=4)
def effects(data_key: str, profile_keys: tuple[ProfileKey, ...], secrets_token: str,
            n_files: int, _inputs: Inputs, _profiles: Sequence[deid.Profile],
            _secrets: deid.Secrets) -> pd.DataFrame:
    """The effects table of every loaded file (values included)."""
    del data_key, profile_keys, secrets_token
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


@st.cache_data(show_spinner=False, max_entries=64)
def file_effects(data_key: str, file: str, profile_keys: tuple[ProfileKey, ...],
                 secrets_token: str, _inputs: Inputs, _profiles: Sequence[deid.Profile],
                 _secrets: deid.Secrets) -> FileEffects:
    """Apply and assess the profiles on one loaded file only (fast at any load size)."""
    del data_key, profile_keys, secrets_token
    paths, uploads = _inputs.single(file)
    applied = apply_profiles(paths, list(_profiles), secrets=_secrets, uploads=uploads,
                             include_values=True, workers=1)
    assessed = assess_paths(paths, list(_profiles), secrets=_secrets, uploads=uploads)
    findings = assessed.report.residual_risk
    findings = findings[findings["element_path"].astype(str) != ""].reset_index(drop=True)
    return FileEffects(applied.effects, findings,
                       pd.concat([applied.load_errors, assessed.load_errors])
                       .drop_duplicates().reset_index(drop=True))


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


def risk_wanted(data: Loaded) -> bool:
    """Assess without asking for a small load; a large one waits for the user's click."""
    return data.n_loaded <= RISK_AUTO_MAX_FILES or bool(st.session_state.get(
        state.RISK_REQUESTED))


def effects_wanted(data: Loaded) -> bool:
    """Apply every profile to every file without asking for a small load only."""
    return data.n_loaded <= RISK_AUTO_MAX_FILES or bool(st.session_state.get(
        state.EFFECTS_REQUESTED))


def risk_for(data: Loaded, profiles: Sequence[deid.Profile],
             secrets: SessionSecrets) -> RiskTables:
    """The risk tables for the session's settings (cached)."""
    from ui.profiles import key_of

    k, sets = risk_settings()
    return risk(data.key, key_of(profiles), secrets.token, k, sets, data.inputs, profiles,
                secrets.secrets)


def risk_key(secrets: SessionSecrets) -> tuple[object, ...]:
    k, sets = risk_settings()
    return (secrets.token, k, sets)


