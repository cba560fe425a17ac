"""Residual risk by batches of files, merged exactly: what a batch contributes, and the cohort
aggregation.

A batch of files is read and planned where it is (a worker process of the local pool, or a Dask
worker next to the data): it yields its element findings and one cohort item per file and
profile (the patient key and the quasi-identifier values the plan leaves). k-anonymity is then
an aggregation: items are grouped by patient (the first file of a patient stands for it, as in
one process), counted per equivalence class, and the counts of disjoint groups of patients are
added; records in classes smaller than k are found against the merged counts. Memory for the
counts is one entry per class, whatever the number of files.
"""

from __future__ import annotations

import weakref
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa

from deid.ingest.headers import error_row
from deid.ingest.reader import ArchiveCache, planning_trees
from deid.ingest.runner import BatchOut, ErrorRow
from deid.ingest.sources import IngestLimits, Source
from deid.ingest.tree import Node
from deid.policy.actions import Action
from deid.policy.dictionary import info_for_tag, keyword_to_tag
from deid.policy.profile_model import Profile
from deid.policy.resolver import resolver_for
from deid.risk.findings import Finding, findings_and_top, written_values
from deid.risk.kanon import (
    DEFAULT_QI_SETS,
    POSTAL_CODE,
    ClassKey,
    KAnonymity,
    class_counts,
    kept_names,
    parse_qi_set,
    patient_records,
    records_below_k,
    summarize,
)
from deid.risk.kanon import Record as QiRecord
from deid.risk.table import findings_arrow, residual_frame
from deid.secret_store import Secrets
from deid.transform import semantics
from deid.transform.plan import FilePlan, Planner, as_found, warm_planning
from deid.transform.semantics import keyword_for

#: ``(order, file, patient key, top-level values the plan leaves, by keyword)``; ``order``
#: sorts items as the files were listed (batch number, then position in the batch).
CohortItem = tuple[tuple[int, int], str, str, dict[str, Any]]
#: Class counts per ``(profile id, quasi-identifier set name)``.
Counts = dict[tuple[str, str], Counter[ClassKey]]


def top_values(plan: FilePlan) -> dict[str, Any]:
    """The values a de-identified file holds at its top level, by keyword."""
    return {keyword_for(element.tag): element.value for element in written_values(plan)
            if "." not in element.path}


def cohort_values(top: Mapping[int, Any], tags: frozenset[int]) -> dict[str, Any]:
    """:func:`top_values` restricted to ``tags``, from the top-level values a copy holds by
    tag (:func:`deid.risk.findings.findings_and_top`)."""
    return {keyword_for(tag): value for tag, value in top.items() if tag in tags}


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


@lru_cache(maxsize=64)
def _tags_of(keywords: frozenset[str]) -> frozenset[int]:
    return frozenset(tag for keyword in keywords if (tag := keyword_to_tag(keyword)) is not None)


@dataclass
class RiskPart:
    """What one batch of files contributes: element findings and cohort items per profile."""

    findings: list[Finding] = field(default_factory=list)
    cohort: dict[str, list[CohortItem]] = field(default_factory=dict)
    #: The files read, in order.
    files: list[str] = field(default_factory=list)
    #: Findings that arrived from another process as residual_risk rows in Arrow (they come
    #: before :attr:`findings` in the table).
    arrived: list[pa.Table] = field(default_factory=list)

    def add(self, order: tuple[int, int], file: str, plan: FilePlan, body: list[Node],
            wanted: frozenset[str]) -> None:
        """Add one file's plan under one profile (``wanted``: the top-level keywords the
        cohort items keep)."""
        tags = _tags_of(wanted)
        findings, top = findings_and_top(plan, file=file, body=body, tags=tags)
        self.findings.extend(findings)
        self.cohort.setdefault(plan.profile.id, []).append(
            (order, file, plan.patient_key, cohort_values(top, tags)))

    def __getstate__(self) -> tuple[Any, ...]:
        """Findings travel as Arrow columns (a batch's part is unpickled by the main process,
        which then holds columns of text, not an object per finding)."""
        return [*self.arrived, findings_arrow(self.findings)], self.cohort, self.files

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.arrived, self.cohort, self.files = state
        self.findings = []

    def residual_frame(self, extra: Iterable[Finding] = ()) -> pd.DataFrame:
        """The residual_risk table of the part's findings and then of ``extra``."""
        return residual_frame(self.arrived, [*self.findings, *extra])

    def extend(self, other: RiskPart, batch: int) -> None:
        """Add the contribution of batch number ``batch`` (its items renumbered so that they
        sort after those of earlier batches)."""
        self.findings.extend(other.findings)
        self.arrived.extend(other.arrived)
        self.files.extend(other.files)
        for profile_id, items in other.cohort.items():
            self.cohort.setdefault(profile_id, []).extend(
                ((batch, order[1]), file, key, top) for order, file, key, top in items)


@dataclass(frozen=True)
class Cohort:
    """The k-anonymity question: the profiles, the quasi-identifier sets and, per profile,
    which of their quasi-identifiers it leaves."""

    profile_ids: tuple[str, ...]
    sets: tuple[tuple[str, ...], ...]
    names: tuple[str, ...]
    left: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, profiles: Sequence[Profile], qi_sets: Sequence[str] | None) -> Cohort:
        """The sets (default :data:`DEFAULT_QI_SETS`) for these profiles."""
        sets = tuple(parse_qi_set(text) for text in (qi_sets or DEFAULT_QI_SETS))
        names = tuple(sorted({name for qi in sets for name in qi}))
        left = {p.id: frozenset(left_quasi_identifiers(p, names)) for p in profiles}
        return cls(tuple(p.id for p in profiles), sets, names, left)

    @property
    def wanted(self) -> frozenset[str]:
        """Top-level keywords the cohort items keep (PostalCode comes from PatientAddress)."""
        return frozenset({*self.names, "PatientAddress"})

    def records(self, items: Iterable[CohortItem]) -> list[QiRecord]:
        """One record per patient among ``items`` (the first in file order stands for it)."""
        ordered = sorted(items, key=lambda item: item[0])
        return patient_records(((file, key, top) for _, file, key, top in ordered), self.names)

    def counts(self, records: Mapping[str, Sequence[QiRecord]]) -> Counts:
        """Class counts of each profile's records, per set."""
        counts: Counts = {}
        for profile_id in self.profile_ids:
            mine = records.get(profile_id, ())
            for qi in self.sets:
                kept = kept_names(qi, self.left[profile_id])
                counts[(profile_id, "+".join(qi))] = class_counts(mine, kept)
        return counts

    def summaries(self, counts: Counts, k: int) -> list[tuple[str, KAnonymity]]:
        """``(profile id, k-anonymity)`` of every profile and set, from merged counts."""
        return [(profile_id, summarize(counts.get((profile_id, "+".join(qi)), Counter()), qi,
                                       k, kept_names(qi, self.left[profile_id])))
                for profile_id in self.profile_ids for qi in self.sets]

    def below_k(self, records: Mapping[str, Sequence[QiRecord]], counts: Counts,
                k: int) -> list[tuple[str, KAnonymity]]:
        """Like :meth:`summaries`, with the records of ``records`` in classes smaller than k
        (judged against the merged ``counts`` of the whole cohort)."""
        found = []
        for profile_id, summary in self.summaries(counts, k):
            qi = tuple(summary.quasi_identifiers.split("+"))
            below = records_below_k(records.get(profile_id, ()),
                                    counts.get((profile_id, "+".join(qi)), Counter()),
                                    summary.left, k)
            found.append((profile_id, KAnonymity(
                summary.quasi_identifiers, summary.n_records, summary.k_min,
                summary.n_records_below_k, k, summary.left, below, summary.class_sizes)))
        return found


def merge_counts(parts: Iterable[Counts]) -> Counts:
    """The cohort's class counts from those of disjoint groups of patients."""
    merged: Counts = {}
    for part in parts:
        for key, counter in part.items():
            merged.setdefault(key, Counter()).update(counter)
    return merged


def bucket_of(key: str, file: str, n_buckets: int) -> int:
    """The group a patient's items go to (stable across processes and machines)."""
    return zlib.crc32((key or f"file:{file}").encode("utf-8", "surrogatepass")) % n_buckets


def split_cohort(cohort: Mapping[str, list[CohortItem]],
                 n_buckets: int) -> list[dict[str, list[CohortItem]]]:
    """A batch's cohort items by patient group: every item of a patient lands in one group."""
    buckets: list[dict[str, list[CohortItem]]] = [{} for _ in range(n_buckets)]
    for profile_id, items in cohort.items():
        for item in items:
            buckets[bucket_of(item[2], item[1], n_buckets)].setdefault(profile_id, []).append(
                item)
    return buckets


@dataclass(frozen=True)
class RiskJob:
    """Read and plan each file of a batch under every profile; its findings and cohort items.

    ``review`` plans files as found (an export reviewed on its own) instead of applying the
    profiles."""

    profiles: tuple[Profile, ...]
    secrets: Secrets
    wanted: frozenset[str]
    limits: IngestLimits = field(default_factory=IngestLimits)
    review: bool = False
    batch: int = 0

    def planners(self) -> list[Any]:
        """One planning function per profile: ``plan(meta, body) -> FilePlan``."""
        if self.review:
            return [lambda meta, body, p=profile: as_found(p, meta, body)
                    for profile in self.profiles]
        return [Planner(profile, self.secrets).plan for profile in self.profiles]

    def warm(self) -> None:
        """Load the IOD tables and compile the profiles (once per process)."""
        warm_planning(self.profiles)

    def process_batch(self, sources: Sequence[Source]) -> BatchOut:
        return self.process_numbered(sources, self.batch)

    def process_numbered(self, sources: Sequence[Source], batch: int) -> BatchOut:
        """Process batch number ``batch`` (its items sort after those of earlier batches)."""
        part = RiskPart()
        errors: list[ErrorRow] = []
        archives = ArchiveCache()
        planners = _planners_of(self)
        for position, source in enumerate(sources):
            try:
                meta, body = planning_trees(source, self.limits, archives)
            except Exception as error:  # noqa: BLE001 - every unreadable file becomes a row
                errors.append(error_row(source.name, error))
                continue
            part.files.append(source.name)
            for plan in planners:
                part.add((batch, position), source.name, plan(meta, body), body,
                         self.wanted)
        return BatchOut(None, errors, len(sources), part)


#: The last job's planners in this process: a worker's batches share them, and so what the
#: planners remember (decisions, transformed values) across batches. They are dropped with
#: the job (they hold the keys derived from its secrets).
_LAST_PLANNERS: list[tuple[weakref.ref[RiskJob], list[Any]]] = []


def _planners_of(job: RiskJob) -> list[Any]:
    if not _LAST_PLANNERS or _LAST_PLANNERS[0][0]() is not job:
        _LAST_PLANNERS[:] = [(weakref.ref(job, _forget_planners), job.planners())]
    return _LAST_PLANNERS[0][1]


def _forget_planners(gone: weakref.ref[RiskJob]) -> None:
    if _LAST_PLANNERS and _LAST_PLANNERS[0][0] is gone:
        _LAST_PLANNERS.clear()
