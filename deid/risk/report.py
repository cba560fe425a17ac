"""Residual risk over a set of files and profiles: the residual_risk, k_anonymity and
aryanto_coverage tables."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from pydicom.dataset import Dataset

from deid.ingest.headers import error_row, problem_rows
from deid.ingest.reader import ArchiveCache, planning_trees
from deid.ingest.runner import ErrorRow, Progress, auto_workers, run_job
from deid.ingest.sources import IngestLimits, Upload, collect_sources
from deid.ingest.tables import error_frame
from deid.ingest.tree import Node, build_tree
from deid.policy.actions import Action
from deid.policy.dictionary import info_for_tag
from deid.policy.profile_model import Profile
from deid.policy.resolver import resolver_for
from deid.policy.schema import conform
from deid.risk.batches import (
    LEAVING_ACTIONS,
    Cohort,
    RiskJob,
    RiskPart,
    left_quasi_identifiers,
    top_values,
)
from deid.risk.catalogue import RiskKind, Severity, catalogue
from deid.risk.findings import Finding
from deid.risk.kanon import DEFAULT_K, KAnonymity
from deid.risk.kanon import Record as QiRecord
from deid.secret_store import Secrets
from deid.transform import semantics
from deid.transform.plan import FilePlan, Planner

COHORT = "cohort"
__all__ = ["COHORT", "LEAVING_ACTIONS", "RiskReport", "RiskResult", "aryanto_coverage", "assess",
           "assess_paths", "assess_plans", "assess_trees", "cohort_report",
           "combination_findings", "findings_table", "kanon_tables", "left_quasi_identifiers",
           "mark_residual_risk", "read_trees", "top_values"]


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
    cohort = Cohort.of(profiles, qi_sets)
    part = RiskPart()
    for position, (file, plan, body) in enumerate(plans):
        part.add((0, position), file, plan, body, cohort.wanted)
    return cohort_report(part, cohort, profiles, k, extra)


def cohort_report(part: RiskPart, cohort: Cohort, profiles: Sequence[Profile], k: int,
                  extra: Iterable[Finding] = ()) -> RiskReport:
    """The risk tables of the files whose contributions are ``part`` (all in one place)."""
    records = {profile_id: cohort.records(items) for profile_id, items in part.cohort.items()}
    counts = cohort.counts(records)
    kanons = cohort.below_k(records, counts, k)
    findings = [*part.findings, *extra, *combination_findings(kanons, k)]
    kanon, classes = kanon_tables(kanons, k)
    return RiskReport(findings_table(findings), kanon, aryanto_coverage(profiles), classes)


def kanon_tables(kanons: Sequence[tuple[str, KAnonymity]],
                 k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The k_anonymity and k_classes tables of ``(profile id, k-anonymity)`` pairs."""
    rows = []
    classes = []
    for profile_id, kanon in kanons:
        rows.append({"profile_id": profile_id, "quasi_identifiers": kanon.quasi_identifiers,
                     "n_records": kanon.n_records, "k_min": kanon.k_min,
                     "n_records_below_k": kanon.n_records_below_k, "k_threshold": k,
                     "quasi_identifiers_left": "+".join(kanon.left)})
        classes += [{"profile_id": profile_id, "quasi_identifiers": kanon.quasi_identifiers,
                     "class_size": size, "n_records": count}
                    for size, count in kanon.class_sizes]
    return (conform("k_anonymity", _frame(rows, "k_anonymity")),
            conform("k_classes", _frame(classes, "k_classes")))


def combination_findings(kanons: Sequence[tuple[str, KAnonymity]], k: int) -> list[Finding]:
    """One finding per record a combination of quasi-identifiers singles out."""
    findings: list[Finding] = []
    for profile_id, kanon in kanons:
        if kanon.left:  # with nothing left there is no combination to single anyone out
            findings.extend(_combination_findings(profile_id, kanon.quasi_identifiers,
                                                  kanon.below_k, k))
    return findings


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
                 limits: IngestLimits | None = None, workers: int | None = None,
                 progress: Progress | None = None) -> RiskResult:
    """:func:`assess` over files, folders, zip archives and uploads, by batches of files on
    the local worker pool (``workers``: by default one per CPU from
    :data:`deid.ingest.runner.PARALLEL_FROM` files on, else this process);
    ``progress(files_done, files_total)`` is called after each batch."""
    limits = limits or IngestLimits()
    sources, problems = collect_sources(paths, uploads, limits)
    cohort = Cohort.of(profiles, qi_sets)
    job = RiskJob(tuple(profiles), secrets, cohort.wanted, limits)
    errors = problem_rows(problems)
    part = RiskPart()
    workers = auto_workers(len(sources)) if workers is None else workers
    for number, out in enumerate(run_job(sources, job, workers=workers, progress=progress)):
        assert isinstance(out.extra, RiskPart)
        part.extend(out.extra, number)
        errors.extend(out.errors)
    report = cohort_report(part, cohort, profiles, k)
    return RiskResult(report, error_frame(errors), len(sources) + len(problems))


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
