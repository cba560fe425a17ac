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
from deid.risk.table import findings_table
from deid.secret_store import Secrets
from deid.transform import semantics
from deid.transform.plan import FilePlan, Planner
from deid.transform.semantics import keyword_for

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


def _combination_findings(profile_id: str, left: Sequence[str],
                          below: Sequence[tuple[QiRecord, int]], k: int,
                          reported: set[tuple[str, str, str]]) -> list[Finding]:
    """One finding per patient singled out by the attributes a profile *leaves* of a set.

    Only the attributes left are named (a removed one cannot single anyone out), and a
    patient singled out by the same attributes through another set is reported once:
    ``reported`` holds ``(profile, file, attributes)`` already reported."""
    name = "+".join(sorted(left))
    found = []
    for record, size in below:
        key = (profile_id, record.file, name)
        if key in reported:
            continue
        reported.add(key)
        found.append(Finding(
            profile_id, record.file, "", "", name, RiskKind.QUASI_IDENTIFIER,
            Severity.HIGH if size == 1 else Severity.MEDIUM,
            f"Together, {', '.join(sorted(left))} put this patient in a group of {size} "
            f"(fewer than k = {k}): the combination can single them out.",
            f"class size {size}"))
    return found


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
    kanon, classes = kanon_tables(kanons, k)
    return RiskReport(part.residual_frame([*extra, *combination_findings(kanons, k)]), kanon,
                      aryanto_coverage(profiles), classes)


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
    """One finding per patient a combination of the quasi-identifiers a profile leaves
    singles out (once per patient and attributes, across sets)."""
    findings: list[Finding] = []
    reported: set[tuple[str, str, str]] = set()
    for profile_id, kanon in kanons:
        if kanon.left:  # with nothing left there is no combination to single anyone out
            findings.extend(_combination_findings(profile_id, kanon.left, kanon.below_k, k,
                                                  reported))
    return findings


@dataclass(frozen=True)
class RiskResult:
    """The risk tables and the files that could not be read."""

    report: RiskReport
    load_errors: pd.DataFrame
    n_files: int = 0
    #: The files read, in the order they were read.
    files: tuple[str, ...] = ()


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
    return RiskResult(report, error_frame(errors), len(sources) + len(problems),
                      tuple(part.files))


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


def _frame(rows: Sequence[Mapping[str, object]] | Mapping[str, Sequence[object]],
           table: str) -> pd.DataFrame:
    """A table's frame from its rows, or from its columns by name."""
    from deid.policy.schema import TABLES

    return pd.DataFrame(rows, columns=TABLES[table].column_names())


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


# -- the baseline and the per-element summary ---------------------------------------------------

#: The id of the baseline: the files as they are, before any de-identification.
BASELINE_ID = "before_deid"


def baseline_profile() -> Profile:
    """A profile that keeps everything: assessed beside the others, its findings are the
    baseline (what the files hold before de-identification)."""
    from deid.policy.profile_loader import load_profile_text

    return load_profile_text(
        f'schema_version = 1\nid = "{BASELINE_ID}"\n'
        'title = "Before de-identification (the files as they are)"\n'
        'provenance = "user"\nunlisted = "keep"\nprivate_tags = "keep"\n',
        name="baseline")


#: What each kind of residual risk needs, as a DPO's action.
MITIGATIONS: Mapping[str, str] = {
    RiskKind.DIRECT_IDENTIFIER: "Remove it or replace it with a pseudonym (remove, empty or "
                                "pseudonym), unless the release is to the patient's own care.",
    RiskKind.LINKAGE: "Remove it or replace it consistently with a secret (uid for UIDs, hash "
                      "or pseudonym for numbers), so that it no longer matches hospital systems.",
    RiskKind.QUASI_IDENTIFIER: "Generalise it (round ages into bands, truncate or shift dates) "
                               "or remove it; if the study needs it, record why and release "
                               "under a data use agreement with controlled access.",
    RiskKind.FREE_TEXT: "Remove the text or clean it (clean), then check a sample of what "
                        "remains by eye.",
    RiskKind.PRIVATE: "Remove private elements (private_tags = \"remove\") or keep only those "
                      "PS3.15 lists as safe (private_tags = \"safe\").",
    RiskKind.FLAG: "Check the pixel data before release: mask or exclude images with burned-in "
                   "text or recognisable features.",
}
#: Mitigations for single elements that need their own words.
ELEMENT_MITIGATIONS: Mapping[str, str] = {
    "PatientIdentityRemoved": "Write PatientIdentityRemoved = YES and the "
                              "DeidentificationMethod with the profile (the writer does).",
    "combination": "Generalise one of the attributes left (age into bands with round, remove "
                   "size or weight), or release under a data use agreement with controlled "
                   "access; k is the size of the smallest group of patients sharing the values.",
    "date": "Shift dates with a secret (shift_date keeps intervals) or truncate them "
            "(truncate_date).",
}
SUMMARY_COLUMNS = ("profile_id", "element", "tag", "risk_kind", "severity", "n_files",
                   "n_files_before", "action", "because", "risk", "mitigation", "summary")
_SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(Severity)}


def mitigation(kind: str, keyword: str, tag: str) -> str:
    """The mitigation a finding needs: by element where it has its own, else by kind."""
    if not tag and kind == RiskKind.QUASI_IDENTIFIER:
        return ELEMENT_MITIGATIONS["combination"]
    if keyword in ELEMENT_MITIGATIONS:
        return ELEMENT_MITIGATIONS[keyword]
    code = _tag_code(tag)
    info = info_for_tag(code) if code is not None else None
    if info is not None and info.vr.split(" or ")[0] in ("DA", "DT") \
            and kind == RiskKind.QUASI_IDENTIFIER:
        return ELEMENT_MITIGATIONS["date"]
    return MITIGATIONS.get(kind, "")


def _tag_code(tag: str) -> int | None:
    from deid.tags import parse_tag

    try:
        return parse_tag(tag) if tag else None
    except ValueError:
        return None


def _why(profile: Profile | None, tag: str) -> tuple[str, str]:
    """``(action, reason)`` of the profile's decision on a tag ('' when unknown)."""
    code = _tag_code(tag)
    if profile is None or code is None:
        return "", ""
    info = info_for_tag(code)
    vr = info.vr.split(" or ")[0] if info is not None and info.vr else "UN"
    decision = semantics.decide(resolver_for(profile), code, vr or "UN")
    return decision.action.value, decision.reason


def _files(n: int) -> str:
    return f"{n:,} file{'s' if n != 1 else ''}"


def _sentence(row: Mapping[str, Any], evidence: str = "") -> str:
    files = _files(int(row["n_files"]))
    if not row["tag"]:
        text = (f"{row['element'].replace('+', ', ')} together single out the patients of "
                f"{files} under {row['profile_id']} (groups smaller than k)")
    elif row["risk_kind"] == RiskKind.FLAG:
        text = f"{row['element']} is {evidence or 'set'} in {files} under {row['profile_id']}"
    elif row["action"] in ("", Action.KEEP.value):
        text = f"{row['element']} is kept in {files} under {row['profile_id']}"
    else:
        text = (f"{row['element']} is left ({row['action']}) in {files} under "
                f"{row['profile_id']}")
    if row["because"]:
        text += f", because: {row['because'].rstrip('.')}"
    before = row["n_files_before"]
    if before is not None and before is not pd.NA:
        text += f" (before de-identification: {_files(int(before))})"
    return text + "."


def _decided_at(path: str) -> str:
    """The tag whose decision leaves an element: its own, or for a nested element the
    top-level sequence it is in."""
    return path.split(".", 1)[0].split("[", 1)[0] if path else ""


def element_summary(findings: pd.DataFrame, profiles: Sequence[Profile]) -> pd.DataFrame:
    """One row per profile x element x risk kind: in how many files the element stays a risk,
    in how many it was one before de-identification (the :data:`BASELINE_ID` rows of
    ``findings``, when assessed; for a combination, the patients a set holding its attributes
    singled out), the profile's action and its reason, the risk, the
    mitigation it needs, and one sentence saying all that. Highest severity first."""
    by_id = {profile.id: profile for profile in profiles}
    frame = findings.astype({column: str for column in
                             ("profile_id", "keyword", "tag", "risk_kind", "severity")})
    frame = frame.assign(element=frame["keyword"].where(frame["keyword"] != "", frame["tag"]))
    keys = ["profile_id", "element", "tag", "risk_kind"]
    before: dict[tuple[str, str, str], int] = {}
    base = frame[frame["profile_id"] == BASELINE_ID]
    has_baseline = BASELINE_ID in by_id or not base.empty
    combos: dict[frozenset[str], set[str]] = {}
    for (element, tag, kind), rows in base.groupby(keys[1:], sort=False):
        before[(str(element), str(tag), str(kind))] = int(rows["file"].nunique())
        if not tag:
            combos[frozenset(str(element).split("+"))] = set(rows["file"].astype(str))
    rows = []
    why_cache: dict[tuple[str, str], tuple[str, str]] = {}
    after = frame[frame["profile_id"] != BASELINE_ID]
    for (pid, element, tag, kind), group in after.groupby(keys, sort=False):
        severity = min(group["severity"], key=lambda s: _SEVERITY_RANK.get(s, 9))
        where = _decided_at(str(group["element_path"].iloc[0])) or str(tag)
        action, because = "", ""
        if kind != RiskKind.FLAG:
            if (pid, where) not in why_cache:
                why_cache[(pid, where)] = _why(by_id.get(str(pid)), where)
            action, because = why_cache[(pid, where)]
            if where != tag and because:
                because = f"it is inside {keyword_for(_tag_code(where) or 0) or where}: {because}"
        if tag:
            n_before = before.get((str(element), str(tag), str(kind)), 0)
        else:  # patients a set holding these attributes singled out before
            attributes = set(str(element).split("+"))
            n_before = len(set().union(*(files for names, files in combos.items()
                                         if attributes <= names)))
        row: dict[str, Any] = {
            "profile_id": pid, "element": element, "tag": tag, "risk_kind": kind,
            "severity": severity, "n_files": int(group["file"].nunique()),
            "n_files_before": n_before if has_baseline else None,
            "action": action, "because": because, "risk": _risk_text(group),
            "mitigation": mitigation(str(kind), str(element), str(tag))}
        row["summary"] = _sentence(row, str(group["evidence"].iloc[0]))
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    if table.empty:
        return table.astype({"n_files": "int64", "n_files_before": "Int64"})
    table["n_files_before"] = table["n_files_before"].astype("Int64")
    table["_rank"] = table["severity"].map(_SEVERITY_RANK)
    table = table.sort_values(["_rank", "n_files", "profile_id", "element", "risk_kind"],
                              ascending=[True, False, True, True, True], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)


def _risk_text(group: pd.DataFrame) -> str:
    """Why the element is a risk: the reason its findings give, without the sentence that
    names the element (the summary says it), the most common first."""
    reasons = group["reason"].astype(str).value_counts()
    text = str(reasons.index[0])
    if not text.startswith("Together,") and ". " in text:
        text = text.split(". ", 1)[1]
    return text
