"""``report`` on a Dask cluster: every table in one pass over the files.

Each batch is read once on a worker and gives its headers, its effects (marked where a finding
names the element) and its findings, written as parts of three datasets; k-anonymity is then
merged as for ``risk`` (:mod:`deid.distributed.risk`). The comparison tables, which do not
depend on the files, are computed by the client.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from deid.distributed.cluster import worker_threads
from deid.distributed.dataset import batch_name, part_path, reset_table, write_batch
from deid.distributed.risk import (
    ClusterRisk,
    RiskBatch,
    finish_cohort,
    run_cohort,
    tally_of,
    write_findings,
    write_small,
)
from deid.distributed.run import PartDone
from deid.ingest.headers import HeaderColumns, error_row, problem_rows, warning_rows
from deid.ingest.kinds import severity
from deid.ingest.reader import ArchiveCache, read_elements, trees_to_plan
from deid.ingest.runner import ErrorRow, Progress
from deid.ingest.sources import IngestLimits, Source, collect_sources
from deid.ingest.tables import error_frame
from deid.outputs.compare import compare
from deid.outputs.effects import EffectColumns, plan_rows
from deid.outputs.export import export_metadata
from deid.policy.profile_model import Profile
from deid.risk.batches import Cohort, RiskPart, split_cohort
from deid.risk.kanon import DEFAULT_K
from deid.risk.report import aryanto_coverage, kanon_tables
from deid.secret_store import Secrets
from deid.transform.plan import Planner

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client


@dataclass(frozen=True)
class ReportJob:
    """Read a batch once: its headers, every profile's plan, effects and findings."""

    profiles: tuple[Profile, ...]
    secrets: Secrets
    wanted: frozenset[str]
    include_values: bool = False
    limits: IngestLimits = field(default_factory=IngestLimits)


@dataclass
class _Batch:
    headers: HeaderColumns
    effects: EffectColumns
    part: RiskPart = field(default_factory=RiskPart)
    errors: list[ErrorRow] = field(default_factory=list)


def _read_batch(job: ReportJob, number: int, sources: Sequence[Source]) -> _Batch:
    batch = _Batch(HeaderColumns(job.include_values), EffectColumns(job.include_values))
    archives = ArchiveCache()
    planners = [Planner(profile, job.secrets) for profile in job.profiles]
    for position, source in enumerate(sources):
        try:
            read = read_elements(source, job.limits, archives)
        except Exception as error:  # noqa: BLE001 - one bad file never stops the run
            batch.errors.append(error_row(source.name, error,
                                          include_values=job.include_values))
            continue
        batch.headers.add_file(source.name, read.tree)
        batch.errors.extend(warning_rows(source.name, read, include_values=job.include_values))
        try:
            meta, body = trees_to_plan(read, source, job.limits, archives)
            for planner in planners:
                plan = planner.plan(meta, body)
                batch.effects.add(source.name, planner.profile.id,
                                  plan_rows(plan, job.include_values))
                batch.part.add((number, position), source.name, plan, body, job.wanted)
        except Exception as error:  # noqa: BLE001 - reported per file, the run goes on
            row = error_row(source.name, error, include_values=job.include_values)
            batch.errors.append((row[0], "apply_failed", row[2], severity("apply_failed")))
    return batch


def marked_effects(batch: _Batch) -> pa.RecordBatch:
    """The batch's effects with ``residual_risk`` true where an element finding names the
    profile, file and element path, false elsewhere."""
    keys = {(f.profile_id, f.file, f.element_path) for f in batch.part.findings
            if f.element_path}
    columns = batch.effects.columns
    files = batch.effects.files
    marks = [(str(profile), files[int(str(index))], str(path)) in keys
             for profile, index, path in zip(columns["profile"], columns["file"],
                                             columns["path"], strict=True)]
    effects = batch.effects.batch()
    return effects.set_column(effects.schema.get_field_index("residual_risk"), "residual_risk",
                              pa.array(marks, pa.bool_()))


def report_batch(job: ReportJob, number: int, sources: Sequence[Source], out: str,
                 metadata: dict[str, str], n_groups: int) -> RiskBatch:
    """On a worker: write a batch's headers, effects and findings parts."""
    batch = _read_batch(job, number, sources)
    name = batch_name(number)
    rows = write_batch(part_path(out, "headers", name), "headers", batch.headers.batch(),
                       metadata)
    rows += write_batch(part_path(out, "effects", name), "effects", marked_effects(batch),
                        metadata)
    rows += write_findings(out, name, batch.part.findings, metadata)
    return RiskBatch(PartDone(len(sources), rows, batch.errors), tally_of(batch.part.findings),
                     split_cohort(batch.part.cohort, n_groups))


def report_on_cluster(client: Client, paths: Iterable[str | os.PathLike[str]],
                      profiles: Sequence[Profile], out: str | os.PathLike[str], *,
                      secrets: Secrets, include_values: bool = False, k: int = DEFAULT_K,
                      qi_sets: Sequence[str] | None = None, limits: IngestLimits | None = None,
                      progress: Progress | None = None) -> ClusterRisk:
    """Write every table of ``report`` into ``out``: headers, effects and residual_risk as
    datasets, the others as one-part tables."""
    limits = limits or IngestLimits()
    base = Path(out)
    sources, problems = collect_sources(paths, (), limits)
    question = Cohort.of(profiles, qi_sets)
    job = ReportJob(tuple(profiles), secrets, question.wanted, include_values, limits)
    metadata = export_metadata(profiles)
    for table in ("headers", "effects", "residual_risk"):
        reset_table(base, table)
    threads = worker_threads(client)
    cohort = run_cohort(client, sources, job, str(base), metadata, threads=threads,
                        progress=progress, task=report_batch)
    kanons = finish_cohort(client, cohort, question, k, str(base), metadata)
    errors = problem_rows(problems) + cohort.errors
    result = ClusterRisk(*kanon_tables(kanons, k), aryanto_coverage(profiles),
                         error_frame(errors), len(sources) + len(problems), cohort.tally)
    small: dict[str, pd.DataFrame] = {
        "load_errors": result.load_errors, **compare(profiles).tables,
        "k_anonymity": result.k_anonymity, "k_classes": result.k_classes,
        "aryanto_coverage": result.aryanto_coverage}
    result.paths = [base / "headers", base / "effects", base / "residual_risk",
                    *write_small(base, small, metadata)]
    return result
