"""Residual risk over a set of files and profiles: the residual_risk, k_anonymity and
aryanto_coverage tables."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydicom.dataset import Dataset

from deid.ingest.headers import error_row, problem_rows
from deid.ingest.reader import ArchiveCache, planning_trees
from deid.ingest.runner import ErrorRow
from deid.ingest.sources import IngestLimits, Upload, collect_sources
from deid.ingest.tables import error_frame
from deid.ingest.tree import Node, build_tree
from deid.policy.actions import Action
from deid.policy.dictionary import info_for_tag, keyword_to_tag
from deid.policy.profile_model import Profile
from deid.policy.resolver import resolver_for
from deid.policy.schema import conform
from deid.risk.catalogue import RiskKind, Severity, catalogue
from deid.risk.findings import Finding, find_risks, written_values
from deid.risk.kanon import (
    DEFAULT_K,
    DEFAULT_QI_SETS,
    POSTAL_CODE,
    k_anonymity,
    parse_qi_set,
    patient_records,
)
from deid.risk.kanon import Record as QiRecord
from deid.secret_store import Secrets
from deid.transform import semantics
from deid.transform.plan import FilePlan, Planner
from deid.transform.semantics import keyword_for

COHORT = "cohort"


@dataclass(frozen=True)
class RiskReport:
    """The risk tables for one set of files and profiles."""

    residual_risk: pd.DataFrame
    k_anonymity: pd.DataFrame
    aryanto_coverage: pd.DataFrame
    k_classes: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by their export names."""
        return {"residual_risk": self.residual_risk, "k_anonymity": self.k_anonymity,
                "k_classes": self.k_classes, "aryanto_coverage": self.aryanto_coverage}


def _combination_findings(profile_id: str, qi: str, below: Sequence[tuple[QiRecord, int]],
                          k: int) -> list[Finding]:
    return [Finding(profile_id, record.file, "", "", qi, RiskKind.QUASI_IDENTIFIER,
                    Severity.HIGH if size == 1 else Severity.MEDIUM,
                    f"Together, {qi.replace('+', ', ')} put this patient in a group of {size} "
                    f"(fewer than k = {k}): the combination can single them out.",
                    f"class size {size}") for record, size in below]


def assess(sources: Iterable[tuple[str, Dataset]], profiles: Sequence[Profile], *,
           secrets: Secrets, k: int = DEFAULT_K,
           qi_sets: Sequence[str] | None = None) -> RiskReport:
    """Apply every profile to every ``(file, dataset)`` and collect residual risks.

    Parameters
    ----------
    sources
        ``(file name, original data set)`` pairs; the data sets are not modified.
    qi_sets
        Quasi-identifier sets such as ``"PatientAge+PatientSex+PostalCode"``; by default
        :data:`deid.risk.kanon.DEFAULT_QI_SETS`.
    """
    trees = ((file, *build_tree(dataset, read_deferred=True)) for file, dataset in sources)
    return assess_trees(trees, profiles, secrets=secrets, k=k, qi_sets=qi_sets)


def assess_trees(trees: Iterable[tuple[str, list[Node], list[Node]]],
                 profiles: Sequence[Profile], *, secrets: Secrets, k: int = DEFAULT_K,
                 qi_sets: Sequence[str] | None = None,
                 extra: Iterable[Finding] = ()) -> RiskReport:
    """:func:`assess` over ``(file name, file meta tree, data set tree)`` items: each file is
    planned once per profile (:mod:`deid.transform.plan`) and its findings and
    quasi-identifiers are read from the plan."""
    planners = [Planner(profile, secrets) for profile in profiles]
    plans = ((file, planner.plan(meta, body), body) for file, meta, body in trees
             for planner in planners)
    return assess_plans(plans, profiles, k=k, qi_sets=qi_sets, extra=extra)


def assess_plans(plans: Iterable[tuple[str, FilePlan, list[Node]]],
                 profiles: Sequence[Profile], *, k: int = DEFAULT_K,
                 qi_sets: Sequence[str] | None = None,
                 extra: Iterable[Finding] = ()) -> RiskReport:
    """The risk tables from ``(file name, plan, original data set tree)`` items of the
    ``profiles``; ``extra`` findings (e.g. an audit's consistency checks) are added."""
    sets = [parse_qi_set(text) for text in (qi_sets or DEFAULT_QI_SETS)]
    names = sorted({name for qi in sets for name in qi})
    findings: list[Finding] = []
    cohort: dict[str, list[tuple[str, str, dict[str, Any]]]] = {p.id: [] for p in profiles}
    wanted = {*names, "PatientAddress"}
    for file, plan, body in plans:
        findings.extend(find_risks(plan, file=file, body=body))
        top = {keyword: value for keyword, value in top_values(plan).items()
               if keyword in wanted}
        cohort[plan.profile.id].append((file, plan.patient_key, top))
    findings.extend(extra)
    rows = []
    classes = []
    for profile in profiles:
        records = patient_records(cohort[profile.id], names)
        left = left_quasi_identifiers(profile, names)
        for qi in sets:
            kanon = k_anonymity(records, qi, k, left=left)
            rows.append({"profile_id": profile.id, "quasi_identifiers": kanon.quasi_identifiers,
                         "n_records": kanon.n_records, "k_min": kanon.k_min,
                         "n_records_below_k": kanon.n_records_below_k, "k_threshold": k,
                         "quasi_identifiers_left": "+".join(kanon.left)})
            classes += [{"profile_id": profile.id, "quasi_identifiers": kanon.quasi_identifiers,
                         "class_size": size, "n_records": count}
                        for size, count in kanon.class_sizes]
            if kanon.left:  # with nothing left there is no combination to single anyone out
                findings.extend(_combination_findings(profile.id, kanon.quasi_identifiers,
                                                      kanon.below_k, k))
    return RiskReport(findings_table(findings),
                      conform("k_anonymity", _frame(rows, "k_anonymity")),
                      aryanto_coverage(profiles),
                      conform("k_classes", _frame(classes, "k_classes")))


def top_values(plan: FilePlan) -> dict[str, Any]:
    """The values a de-identified file holds at its top level, by keyword."""
    return {keyword_for(element.tag): element.value for element in written_values(plan)
            if "." not in element.path}


#: Actions that leave a quasi-identifier's real value, or a generalisation of it, linkable.
LEAVING_ACTIONS = frozenset({Action.KEEP, Action.CLEAN, Action.ROUND, Action.TRUNCATE_DATE})


def left_quasi_identifiers(profile: Profile, names: Sequence[str]) -> set[str]:
    """The quasi-identifiers whose real values (or generalisations) the profile leaves."""
    resolver = resolver_for(profile)
    left = set()
    for name in names:
        keyword = "PatientAddress" if name == POSTAL_CODE else name
        tag = keyword_to_tag(keyword)
        info = info_for_tag(tag) if tag is not None else None
        if tag is None or info is None:
            continue
        vr = info.vr.split(" or ")[0] or "UN"
        action = semantics.decide(resolver, tag, vr).action
        if action in LEAVING_ACTIONS and not (action is Action.CLEAN and vr in ("DA", "DT")):
            left.add(name)
    return left


@dataclass(frozen=True)
class RiskResult:
    """The risk tables and the files that could not be read."""

    report: RiskReport
    load_errors: pd.DataFrame
    n_files: int = 0


def read_trees(paths: Iterable[str | os.PathLike[str]] = (), *, uploads: Iterable[Upload] = (),
               limits: IngestLimits | None = None,
               errors: list[ErrorRow] | None = None) -> Iterator[tuple[str, list[Node],
                                                                      list[Node]]]:
    """``(file name, file meta tree, data set tree)`` for every readable file under ``paths``
    and in ``uploads`` (folders, zip archives), read by the fast reader where it can; unreadable
    ones are appended to ``errors`` as load_errors rows."""
    limits = limits or IngestLimits()
    sources, problems = collect_sources(paths, uploads, limits)
    rows = errors if errors is not None else []
    rows.extend(problem_rows(problems))
    archives = ArchiveCache()
    for source in sources:
        try:
            meta, body = planning_trees(source, limits, archives)
        except Exception as error:  # noqa: BLE001 - every unreadable file becomes a row
            rows.append(error_row(source.name, error))
            continue
        yield source.name, meta, body


def assess_paths(paths: Iterable[str | os.PathLike[str]], profiles: Sequence[Profile], *,
                 secrets: Secrets, uploads: Iterable[Upload] = (), k: int = DEFAULT_K,
                 qi_sets: Sequence[str] | None = None,
                 limits: IngestLimits | None = None) -> RiskResult:
    """:func:`assess` over files, folders, zip archives and uploads."""
    errors: list[ErrorRow] = []
    read: list[str] = []

    def counted() -> Iterator[tuple[str, list[Node], list[Node]]]:
        for name, meta, body in read_trees(paths, uploads=uploads, limits=limits,
                                           errors=errors):
            read.append(name)
            yield name, meta, body

    report = assess_trees(counted(), profiles, secrets=secrets, k=k, qi_sets=qi_sets)
    return RiskResult(report, error_frame(errors), len(read) + len(errors))


def mark_residual_risk(effects: pd.DataFrame, findings: pd.DataFrame | None) -> pd.DataFrame:
    """``effects`` with ``residual_risk`` true where a finding names the same profile, file and
    element path, false elsewhere (``apply`` alone leaves it empty: not assessed)."""
    if effects.empty:
        return effects
    marked = effects.copy()
    if findings is None or findings.empty:
        marked["residual_risk"] = pd.array([False] * len(effects), dtype="boolean")
        return marked
    element = findings[findings["element_path"].astype(str) != ""]
    keys = pd.MultiIndex.from_arrays([element["profile_id"].astype(str),
                                      element["file"].astype(str),
                                      element["element_path"].astype(str)])
    rows = pd.MultiIndex.from_arrays([effects["profile_id"].astype(str),
                                      effects["file"].astype(str),
                                      effects["element_path"].astype(str)])
    marked["residual_risk"] = pd.array(rows.isin(keys), dtype="boolean")
    return marked


def _frame(rows: Sequence[Mapping[str, object]], table: str) -> pd.DataFrame:
    from deid.policy.schema import TABLES

    return pd.DataFrame(rows, columns=TABLES[table].column_names())


def findings_table(findings: Iterable[Finding]) -> pd.DataFrame:
    """The residual_risk table."""
    rows = [{"profile_id": f.profile_id, "file": f.file, "element_path": f.element_path,
             "tag": f.tag, "keyword": f.keyword, "risk_kind": f.risk_kind.value,
             "severity": f.severity.value, "reason": f.reason, "evidence": f.evidence}
            for f in findings]
    return conform("residual_risk", _frame(rows, "residual_risk"))


def aryanto_coverage(profiles: Sequence[Profile]) -> pd.DataFrame:
    """Per profile: how many of the 50 attributes of Aryanto et al. (2015) it leaves
    untouched (keeps) and which."""
    entries = catalogue().aryanto()
    rows = []
    for profile in profiles:
        resolver = resolver_for(profile)
        untouched = []
        for entry in entries:
            assert entry.tag is not None
            info = info_for_tag(entry.tag)
            vr = info.vr.split(" or ")[0] if info and info.vr else "UN"
            if semantics.decide(resolver, entry.tag, vr).action is Action.KEEP:
                untouched.append(entry.keyword or entry.matcher)
        rows.append({"profile_id": profile.id, "n_attributes": len(entries),
                     "n_untouched": len(untouched), "n_modified": len(entries) - len(untouched),
                     "untouched_keywords": ";".join(untouched)})
    return conform("aryanto_coverage", _frame(rows, "aryanto_coverage"))
