"""The Audit page's state, its cached run and its picture (no page layout here)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import deid
from deid.audit import AuditResult, audit, audit_export

EXPORTED: Final = "audit.exported"
ORIGINALS: Final = "audit.originals"
PROFILE: Final = "audit.profile"
PAIRING: Final = "audit.pairing"
MAPPING: Final = "audit.mapping"
RUN_BUTTON: Final = "audit.run"
RESULT: Final = "audit.result"
ONLY_DEVIATIONS: Final = "audit.only_deviations"
KEYWORD_FILTER: Final = "audit.keyword"
DEVIATION_SEARCH: Final = "audit.deviation_search"
DEVIATION_CLAIMED: Final = "audit.deviation_claimed"
DEVIATION_OBSERVED: Final = "audit.deviation_observed"
ELEMENTS_TABLE: Final = "audit.elements_table"
DEVIATIONS_TABLE: Final = "audit.deviations_table"
PAIRS_TABLE: Final = "audit.pairs_table"
PAIR: Final = "audit.pair"
PAIR_TABLE: Final = "audit.pair_table"
FINDINGS_TABLE: Final = "audit.findings_table"
KANON_TABLE: Final = "audit.kanon_table"
ERRORS_TABLE: Final = "audit.errors_table"
AGREEMENT_CHART: Final = "audit.agreement_chart"
PAIRINGS = ("path", "uid-map")
PAIRING_LABELS = {"path": "the same relative path",
                  "uid-map": "a mapping CSV (original,exported: SOP Instance UIDs or paths)"}
AGREE_COLOURS = {"agrees": "#1f77b4", "deviates": "#d62728"}


@dataclass(frozen=True)
class AuditRequest:
    """What the user asked to audit (the key of a run kept in the session)."""

    exported: str
    originals: str
    profile_id: str
    pairing: str
    mapping: str

    @property
    def alone(self) -> bool:
        return not self.originals


def request() -> AuditRequest:
    """The request the page's inputs describe."""
    def text(key: str) -> str:
        return str(st.session_state.get(key, "") or "").strip()

    return AuditRequest(text(EXPORTED), text(ORIGINALS), text(PROFILE) or "ps315_basic",
                        text(PAIRING) or "path", text(MAPPING))


def check(req: AuditRequest) -> str | None:
    """What is missing or wrong in the request, said for the user, or None."""
    if not req.exported:
        return "Name the folder or zip archive of the export."
    for label, value in (("export", req.exported), ("originals", req.originals)):
        if value and not Path(value).expanduser().exists():
            return f"The {label} folder {value!r} does not exist on this machine."
    if req.pairing == "uid-map" and not req.alone and not req.mapping:
        return "Pairing by a mapping needs the mapping CSV."
    return None


def run(req: AuditRequest, profile: deid.Profile | None) -> AuditResult:
    """Run the audit (every element of every pair kept, values included: this is a local
    page) and keep it in the session under its request."""
    exported = Path(req.exported).expanduser()
    if req.alone or profile is None:
        result = audit_export([exported])
    else:
        result = audit([Path(req.originals).expanduser()], [exported], profile,
                       pair=req.pairing, mapping=req.mapping or None, include_values=True,
                       details=True)
    st.session_state[RESULT] = (req, result)
    return result


def kept_result(req: AuditRequest) -> AuditResult | None:
    """The result of this very request, when it was run in this session."""
    kept = st.session_state.get(RESULT)
    if kept is not None and kept[0] == req:
        result: AuditResult = kept[1]
        return result
    return None


def session_audit(profile_id: str) -> tuple[AuditRequest, AuditResult] | None:
    """The audit run on the Audit page in this session against ``profile_id`` (with
    originals), for the profile's sign-off report; None when there is none."""
    kept = st.session_state.get(RESULT)
    if kept is None:
        return None
    req, result = kept
    if req.alone or req.profile_id != profile_id:
        return None
    return req, result


def _contains(frame: pd.DataFrame, columns: tuple[str, ...], text: str) -> pd.Series:
    """Rows where any of ``columns`` contains ``text`` (case-insensitive, plain text)."""
    needle = text.strip().lower()
    hits = pd.Series(False, index=frame.index)
    for column in columns:
        hits |= frame[column].astype(str).str.lower().str.contains(needle, regex=False)
    return hits


def filter_elements(elements: pd.DataFrame, *, only_deviations: bool,
                    search: str = "") -> pd.DataFrame:
    """The audit_elements rows shown: only those that deviate when asked, and those whose
    keyword or tag contains ``search`` (case-insensitive) when it is given."""
    shown = elements[~elements["agrees"].astype(bool)] if only_deviations else elements
    if search.strip():
        shown = shown[_contains(shown, ("keyword", "tag"), search)]
    return shown


def filter_deviations(deviations: pd.DataFrame, *, search: str = "",
                      claimed: Sequence[str] = (), observed: Sequence[str] = ()
                      ) -> pd.DataFrame:
    """The audit_deviations rows shown: those whose keyword, tag, element path or file
    (original or exported) contains ``search`` (case-insensitive), whose claimed action is
    one of ``claimed`` and whose observed action is one of ``observed`` (an empty choice
    keeps every row)."""
    shown = deviations
    if search.strip():
        shown = shown[_contains(shown, ("keyword", "tag", "element_path", "original",
                                        "exported"), search)]
    if claimed:
        shown = shown[shown["claimed_action"].astype(str).isin(list(claimed))]
    if observed:
        shown = shown[shown["observed_action"].astype(str).isin(list(observed))]
    return shown


def actions_in(frame: pd.DataFrame, column: str) -> list[str]:
    """The distinct actions of ``column``, sorted (the options of an action filter)."""
    return sorted({str(value) for value in frame[column].dropna()})


def agreement(elements: pd.DataFrame, top: int = 30) -> pd.DataFrame:
    """Files agreeing and deviating per element (keyword, else tag), most deviations first."""
    if elements.empty:
        return pd.DataFrame(columns=["element", "agrees", "deviates"])
    named = elements.assign(element=elements["keyword"].astype(str).where(
        elements["keyword"].astype(str) != "", elements["tag"].astype(str)))
    named["outcome"] = named["agrees"].map({True: "agrees", False: "deviates"})
    counts = named.pivot_table(index="element", columns="outcome", values="n_files",
                               aggfunc="sum", fill_value=0)
    for column in ("agrees", "deviates"):
        if column not in counts:
            counts[column] = 0
    counts = counts.sort_values(["deviates", "agrees"], ascending=False).head(top)
    return counts.reset_index()[["element", "agrees", "deviates"]]


def agreement_chart(elements: pd.DataFrame) -> go.Figure:
    """Per element, how many files agree with the claimed profile and how many deviate."""
    counts = agreement(elements)
    figure = go.Figure()
    labels = [html.escape(str(value)) for value in counts["element"]]
    for column in ("agrees", "deviates"):
        figure.add_bar(y=labels, x=counts[column], name=column, orientation="h",
                       marker_color=AGREE_COLOURS[column])
    figure.update_layout(barmode="stack", height=max(260, 22 * len(counts) + 80),
                         margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         yaxis={"autorange": "reversed"}, xaxis_title="files",
                         title="Agreement with the claimed profile, by element")
    return figure


def pair_details(result: AuditResult, exported: str) -> pd.DataFrame:
    """Every element of one pair: original and exported values, claimed and observed."""
    details = result.details
    if details is None or details.empty:
        return pd.DataFrame()
    mine = details[details["exported"].astype(str) == exported]
    return mine[["element_path", "keyword", "vr", "original_value", "exported_value",
                 "claimed_action", "observed_action", "agrees", "note"]]


def downloadable(result: AuditResult) -> dict[str, pd.DataFrame]:
    """The audit's tables for download, without original or exported values."""
    tables = dict(result.tables())
    deviations = tables["audit_deviations"].copy()
    for column in ("original_value", "exported_value"):
        deviations[column] = pd.Series([pd.NA] * len(deviations), dtype="string")
    tables["audit_deviations"] = deviations
    return tables
