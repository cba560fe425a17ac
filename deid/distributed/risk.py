"""``risk`` on a Dask cluster: findings per batch next to the data, k-anonymity merged exactly.

1. Each batch of files is read and planned on a worker (:class:`deid.risk.batches.RiskJob`);
   it writes its element findings as ``residual_risk/batch=N/part-0.parquet`` and keeps its
   cohort items (patient key and the quasi-identifier values each profile leaves) on the
   worker, split by patient into groups.
2. Each group gathers its items from every batch (worker to worker), keeps one record per
   patient (the first file in input order, as in one process) and counts records per class.
3. The class counts of all groups are added on a worker (one entry per distinct class); the
   client receives only the k-anonymity figures and the class-size distribution.
4. Each group finds its records in classes smaller than k against the merged counts (only those
   small classes are sent to it) and writes their findings as
   ``residual_risk/batch=cohort/part-G.parquet``.

The client never receives a value of a file: counts, masked problem rows and the tallies of
findings by profile and severity.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from deid.distributed.cluster import worker_threads
from deid.distributed.dataset import (
    COHORT_PARTITION,
    batch_name,
    part_path,
    reset_table,
    stamped,
    write_arrow,
    write_frame,
)
from deid.distributed.run import PartDone, run_batches, split
from deid.ingest.headers import problem_rows
from deid.ingest.runner import ErrorRow, Progress
from deid.ingest.sources import IngestLimits, Source, collect_sources
from deid.ingest.tables import error_frame
from deid.outputs.export import export_metadata
from deid.policy.profile_model import Profile
from deid.policy.schema import TABLES
from deid.risk.batches import Cohort as CohortQuestion
from deid.risk.batches import (
    CohortItem,
    Counts,
    RiskJob,
    RiskPart,
    merge_counts,
    split_cohort,
)
from deid.risk.findings import Finding
from deid.risk.kanon import DEFAULT_K, KAnonymity, Record, records_below_k
from deid.risk.report import (
    aryanto_coverage,
    combination_findings,
    kanon_tables,
)
from deid.risk.table import findings_arrow
from deid.secret_store import Secrets

if TYPE_CHECKING:
    from distributed import Client, Future

#: Findings per (profile id, severity): what the client is told of the findings.
Tally = Counter[tuple[str, str]]


@dataclass
class RiskBatch:
    """What a batch's task holds: counts for the client, cohort items by patient group."""

    done: PartDone
    tally: Tally
    groups: list[dict[str, list[CohortItem]]]


def tally_of(findings: Iterable[Finding]) -> Tally:
    """Findings per profile and severity."""
    return Counter((finding.profile_id, finding.severity.value) for finding in findings)


def write_findings(out: str, partition: str, findings: Sequence[Finding],
                   metadata: dict[str, str], part: int = 0) -> int:
    """Write findings as one part of the residual_risk dataset; return how many."""
    write_arrow(part_path(out, "residual_risk", partition, part),
                findings_arrow(findings, stamped(TABLES["residual_risk"].arrow_schema(),
                                                 metadata)))
    return len(findings)


def risk_batch(job: RiskJob, number: int, sources: Sequence[Source], out: str,
               metadata: dict[str, str], n_groups: int) -> RiskBatch:
    """On a worker: plan a batch under every profile, write its findings, split its cohort
    items by patient group."""
    result = job.process_numbered(sources, number)  # the worker's job: its planners last
    part = result.extra
    assert isinstance(part, RiskPart)
    rows = write_findings(out, batch_name(number), part.findings, metadata)
    return RiskBatch(PartDone(result.files, rows, list(result.errors)), tally_of(part.findings),
                     split_cohort(part.cohort, n_groups))


def done_of(batch: RiskBatch) -> tuple[PartDone, Tally]:
    """The small part of a batch's result, for the client."""
    return batch.done, batch.tally


def group_of(batch: RiskBatch, group: int) -> dict[str, list[CohortItem]]:
    """One patient group's items of a batch (runs where the batch is)."""
    return batch.groups[group]


def group_records(cohort: CohortQuestion,
                  *parts: dict[str, list[CohortItem]]) -> dict[str, list[Record]]:
    """One record per patient of a group, from its items in every batch."""
    items: dict[str, list[CohortItem]] = {}
    for part in parts:
        for profile_id, mine in part.items():
            items.setdefault(profile_id, []).extend(mine)
    return {profile_id: cohort.records(mine) for profile_id, mine in items.items()}


def group_counts(cohort: CohortQuestion, records: dict[str, list[Record]]) -> Counts:
    """A group's class counts per profile and set."""
    return cohort.counts(records)


def merged_counts(*parts: Counts) -> Counts:
    """The cohort's class counts (runs on a worker)."""
    return merge_counts(parts)


def summaries(cohort: CohortQuestion, counts: Counts, k: int) -> list[tuple[str, KAnonymity]]:
    """The k-anonymity figures of every profile and set (no values: sizes and counts)."""
    return cohort.summaries(counts, k)


def small_classes(counts: Counts, k: int) -> Counts:
    """Only the classes smaller than k (what a group needs to find its records)."""
    return {key: Counter({cls: n for cls, n in counter.items() if n < k})
            for key, counter in counts.items()}


def group_findings(records: dict[str, list[Record]], small: Counts,
                   kanons: list[tuple[str, KAnonymity]], k: int, out: str,
                   metadata: dict[str, str], group: int) -> Tally:
    """On a worker: a group's records in classes smaller than k, written as findings."""
    found = []
    for profile_id, summary in kanons:
        key = (profile_id, summary.quasi_identifiers)
        below = records_below_k(records.get(profile_id, ()), small.get(key, Counter()),
                                summary.left, k)
        found.append((profile_id, dataclasses.replace(summary, below_k=below)))
    findings = combination_findings(found, k)
    write_findings(out, COHORT_PARTITION, findings, metadata, group)
    return tally_of(findings)


@dataclass
class ClusterRisk:
    """What a risk run on a cluster tells the client, and the small tables it wrote."""

    k_anonymity: pd.DataFrame
    k_classes: pd.DataFrame
    aryanto_coverage: pd.DataFrame
    load_errors: pd.DataFrame
    n_files: int
    tally: Tally = field(default_factory=Counter)
    paths: list[Path] = field(default_factory=list)


@dataclass
class CohortHandles:
    """The client's handles on the cohort items, group by group."""

    groups: list[list[Future[Any]]]
    errors: list[ErrorRow] = field(default_factory=list)
    tally: Tally = field(default_factory=Counter)


def run_cohort(client: Client, sources: Sequence[Source], job: object, out: str,
               metadata: dict[str, str], *, threads: int, progress: Progress | None,
               task: Any = risk_batch, task_args: tuple[Any, ...] = ()) -> CohortHandles:
    """Stage 1: every batch on the workers; the client keeps handles on the groups' items."""
    batches = split(sources, threads)
    n_groups = max(1, min(len(batches), 2 * threads))
    shared = client.scatter(job, broadcast=True, hash=False)
    cohort = CohortHandles([[] for _ in range(n_groups)])

    def submit(number: int, batch: Sequence[Source]) -> Future[Any]:
        whole = client.submit(task, shared, number, list(batch), out, metadata, n_groups,
                              *task_args, pure=False)
        for group in range(n_groups):
            cohort.groups[group].append(client.submit(group_of, whole, group, pure=False))
        return client.submit(done_of, whole, pure=False)

    for _, (done, tally) in run_batches(client, batches, submit, threads=threads,
                                        progress=progress):
        cohort.errors.extend(done.errors)
        cohort.tally.update(tally)
    return cohort


def finish_cohort(client: Client, cohort: CohortHandles, question: CohortQuestion, k: int, out: str,
                  metadata: dict[str, str]) -> list[tuple[str, KAnonymity]]:
    """Stages 2-4: records per group, merged counts, cohort findings; the figures."""
    records = [client.submit(group_records, question, *parts, pure=False)
               for parts in cohort.groups]
    counts = [client.submit(group_counts, question, mine, pure=False) for mine in records]
    merged = client.submit(merged_counts, *counts, pure=False)
    kanons = client.submit(summaries, question, merged, k, pure=False).result()
    small = client.submit(small_classes, merged, k, pure=False)
    tallies = client.gather([client.submit(group_findings, mine, small, kanons, k, out,
                                           metadata, group, pure=False)
                             for group, mine in enumerate(records)])
    for tally in tallies:
        cohort.tally.update(tally)
    return kanons


def risk_on_cluster(client: Client, paths: Iterable[str | os.PathLike[str]],
                    profiles: Sequence[Profile], out: str | os.PathLike[str], *,
                    secrets: Secrets, k: int = DEFAULT_K, qi_sets: Sequence[str] | None = None,
                    limits: IngestLimits | None = None,
                    progress: Progress | None = None) -> ClusterRisk:
    """Write the residual_risk dataset and the k_anonymity, k_classes, aryanto_coverage and
    load_errors tables into ``out`` (see the module docstring)."""
    limits = limits or IngestLimits()
    base = Path(out)
    sources, problems = collect_sources(paths, (), limits)
    question = CohortQuestion.of(profiles, qi_sets)
    job = RiskJob(tuple(profiles), secrets, question.wanted, limits)
    metadata = export_metadata(profiles)
    reset_table(base, "residual_risk")
    threads = worker_threads(client)
    cohort = run_cohort(client, sources, job, str(base), metadata, threads=threads,
                        progress=progress)
    kanons = finish_cohort(client, cohort, question, k, str(base), metadata)
    errors = problem_rows(problems) + cohort.errors
    result = ClusterRisk(*kanon_tables(kanons, k), aryanto_coverage(profiles),
                         error_frame(errors), len(sources) + len(problems), cohort.tally)
    result.paths = [base / "residual_risk", *write_small(base, {
        "k_anonymity": result.k_anonymity, "k_classes": result.k_classes,
        "aryanto_coverage": result.aryanto_coverage, "load_errors": result.load_errors},
        metadata)]
    return result


def write_small(base: Path, tables: dict[str, pd.DataFrame],
                metadata: dict[str, str]) -> list[Path]:
    """Write tables held by the client, each as ``<table>/part-0.parquet``."""
    paths = []
    for name, frame in tables.items():
        reset_table(base, name)
        write_frame(base, name, frame, metadata)
        paths.append(base / name)
    return paths

