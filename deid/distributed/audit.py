"""``audit`` on a Dask cluster: pairs read by batches on the workers, in two passes.

1. Each batch of pairs is read (original planned under the claimed profile, elements
   compared) on a worker: it writes the findings of its exported files (the risk model on the
   values as found and the per-file checks) as a part of ``residual_risk``, keeps its cohort
   items by patient group, and what judging needs from every pair (replacements seen, date
   offsets per patient) and the export-wide checks need (who each PatientID stands for, a
   sample of instance UIDs). These are merged on a worker.
2. Each batch is read again and judged with the merged state: it writes its deviations as a
   part of ``audit_deviations`` (values only when asked for) and sends the client its
   audit_elements counts (element paths, actions, counts: no values).

k-anonymity of the export is merged as for ``risk``. The client writes audit_pairs (file
names), audit_elements, k_anonymity, k_classes and load_errors. An export reviewed alone
takes the first pass only.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from deid.audit import (
    AuditState,
    ElementCounts,
    audit_tables,
    export_pairs,
    export_profile,
    judge_batch,
    merge_element_counts,
    planner_for,
    read_pair_batch,
)
from deid.audit.checks import (
    PseudonymIndex,
    file_findings,
    instance_uids,
    merge_pseudonyms,
    pseudonym_findings,
    pseudonym_index,
    root_findings,
    root_sample,
)
from deid.audit.pairs import Pair, UidReader, pair_files, sop_instance_uids
from deid.distributed.cluster import worker_threads
from deid.distributed.dataset import (
    COHORT_PARTITION,
    batch_name,
    reset_table,
    write_frame,
)
from deid.distributed.risk import (
    CohortHandles,
    RiskBatch,
    Tally,
    done_of,
    finish_cohort,
    group_of,
    tally_of,
    write_findings,
    write_small,
)
from deid.distributed.run import PartDone, run_batches, split
from deid.ingest.runner import ErrorRow, Progress, batch_size
from deid.ingest.sources import IngestLimits, Source
from deid.ingest.tables import error_frame
from deid.outputs.export import export_metadata
from deid.policy.profile_model import Profile
from deid.risk.batches import Cohort, RiskPart, split_cohort
from deid.risk.kanon import DEFAULT_K
from deid.risk.report import kanon_tables
from deid.transform.plan import Planner, as_found

if TYPE_CHECKING:
    from distributed import Client, Future


@dataclass(frozen=True)
class AuditJob:
    """What every batch of an audit needs."""

    profile: Profile | None
    planner: Planner | None
    wanted: frozenset[str]
    include_values: bool = False
    limits: IngestLimits = field(default_factory=IngestLimits)

    @property
    def alone(self) -> bool:
        return self.planner is None


@dataclass
class AuditBatch(RiskBatch):
    """A first-pass batch: its risk contribution and what is merged over every pair."""

    state: AuditState = field(default_factory=AuditState)
    pseudonyms: PseudonymIndex = field(default_factory=dict)
    roots: set[str] = field(default_factory=set)


def first_pass(job: AuditJob, number: int, pairs: Sequence[Pair], out: str,
               metadata: dict[str, str], n_groups: int) -> AuditBatch:
    """On a worker: read a batch of pairs; write its export findings; keep the rest."""
    planner = job.planner or planner_for(export_profile())
    read = read_pair_batch(pairs, planner, job.limits, alone=job.alone)
    review = export_profile()
    part = RiskPart()
    for position, (name, meta, body) in enumerate(read.exported):
        part.add((number, position), name, as_found(review, meta, body), body, job.wanted)
        part.findings.extend(file_findings(name, body))
    bodies = [(name, body) for name, _, body in read.exported]
    rows = write_findings(out, batch_name(number), part.findings, metadata)
    return AuditBatch(PartDone(len(pairs), rows, read.errors), tally_of(part.findings),
                      split_cohort(part.cohort, n_groups), AuditState.of(read.done),
                      pseudonym_index(bodies), root_sample(instance_uids(bodies)))


def state_of(batch: AuditBatch) -> AuditState:
    return batch.state


def checks_of(batch: AuditBatch) -> tuple[PseudonymIndex, set[str]]:
    return batch.pseudonyms, batch.roots


def merged_state(*states: AuditState) -> AuditState:
    """The state of every pair (runs on a worker)."""
    merged = AuditState()
    for state in states:
        merged.update(state)
    return merged


def export_checks(out: str, metadata: dict[str, str], part: int,
                  *checks: tuple[PseudonymIndex, set[str]]) -> Tally:
    """On a worker: the export-wide checks (shared pseudonyms, a common UID root), written
    as a part of residual_risk."""
    index = merge_pseudonyms(pseudonyms for pseudonyms, _ in checks)
    sample: set[str] = set()
    for _, roots in checks:
        sample = root_sample(sample | roots)
    findings = pseudonym_findings(index) + root_findings(sample)
    write_findings(out, COHORT_PARTITION, findings, metadata, part)
    return tally_of(findings)


def second_pass(job: AuditJob, number: int, pairs: Sequence[Pair], state: AuditState,
                out: str, metadata: dict[str, str]) -> ElementCounts:
    """On a worker: read a batch of pairs again and judge it; write its deviations."""
    assert job.planner is not None
    read = read_pair_batch(pairs, job.planner, job.limits)
    counts, deviations = judge_batch(read.done, state, job.include_values)
    table = audit_tables([], {}, deviations)[2]
    write_frame(out, "audit_deviations", table, metadata, batch_name(number))
    return counts


@dataclass
class ClusterAudit:
    """What an audit on a cluster tells the client, and the small tables it wrote."""

    audit_pairs: pd.DataFrame
    audit_elements: pd.DataFrame
    k_anonymity: pd.DataFrame
    k_classes: pd.DataFrame
    load_errors: pd.DataFrame
    tally: Tally = field(default_factory=Counter)
    paths: list[Path] = field(default_factory=list)

    @property
    def n_deviations(self) -> int:
        """Deviations: elements judged not to agree with the claim."""
        rows = self.audit_elements[~self.audit_elements["agrees"].astype(bool)]
        return int(rows["n_files"].sum())


def cluster_uids(client: Client, limits: IngestLimits, threads: int) -> UidReader:
    """Read the SOP Instance UIDs a uid-map names on the workers; only UIDs the mapping names
    (which the client has already) come back."""
    def read(sources: Sequence[Source], wanted: set[str]) -> dict[str, str]:
        named = client.scatter([wanted], broadcast=True, hash=False)[0]
        futures = [client.submit(sop_instance_uids, batch, named, limits, pure=False)
                   for batch in split(sources, threads)]
        found: dict[str, str] = {}
        for part in client.gather(futures):
            found.update(part)
        return found

    return read


def _pair_batches(pairs: Sequence[Pair], threads: int) -> list[list[Pair]]:
    size = batch_size(len(pairs), threads)
    return [list(pairs[start:start + size]) for start in range(0, len(pairs), size)]


def audit_on_cluster(client: Client, originals: Iterable[str | os.PathLike[str]],
                     exported: Iterable[str | os.PathLike[str]], profile: Profile | None,
                     out: str | os.PathLike[str], *, pair: str = "path",
                     mapping: str | os.PathLike[str] | None = None,
                     include_values: bool = False, k: int = DEFAULT_K,
                     qi_sets: Sequence[str] | None = None, limits: IngestLimits | None = None,
                     progress: Progress | None = None) -> ClusterAudit:
    """Audit on the cluster (``profile`` None: review the export alone); write every audit
    table into ``out`` (see the module docstring)."""
    limits = limits or IngestLimits()
    base = Path(out)
    threads = worker_threads(client)
    pairing = pair_files(originals, exported, mode=pair, mapping=mapping, limits=limits,
                         uids=cluster_uids(client, limits, threads))
    pairs = [p for p in pairing.pairs if profile is None or (p.original and p.exported)]
    listed = export_pairs(pairing.pairs) if profile is None else pairing.pairs
    review = export_profile()
    question = Cohort.of([review], qi_sets)
    job = AuditJob(profile, planner_for(profile) if profile is not None else None,
                   question.wanted, include_values, limits)
    metadata = export_metadata([profile, review] if profile is not None else [review])
    for table in ("residual_risk", "audit_deviations"):
        reset_table(base, table)
    batches = _pair_batches(pairs, threads)
    n_groups = max(1, min(len(batches), 2 * threads))
    shared = client.scatter(job, broadcast=True, hash=False)
    cohort = CohortHandles([[] for _ in range(n_groups)])
    states: list[Future[Any]] = []
    checks: list[Future[Any]] = []
    by_batch: dict[int, list[ErrorRow]] = {}

    def submit(number: int, batch: Sequence[Any]) -> Future[Any]:
        whole = client.submit(first_pass, shared, number, list(batch), str(base), metadata,
                              n_groups, pure=False)
        for group in range(n_groups):
            cohort.groups[group].append(client.submit(group_of, whole, group, pure=False))
        states.append(client.submit(state_of, whole, pure=False))
        checks.append(client.submit(checks_of, whole, pure=False))
        return client.submit(done_of, whole, pure=False)

    for number, (done, tally) in run_batches(client, batches, submit, threads=threads,
                                             progress=progress):
        by_batch[number] = done.errors
        cohort.tally.update(tally)
    cohort.tally.update(client.submit(export_checks, str(base), metadata, n_groups, *checks,
                                      pure=False).result())
    counts: ElementCounts = {}
    if profile is not None:
        state = client.submit(merged_state, *states, pure=False)
        futures = [client.submit(second_pass, shared, number, batch, state, str(base),
                                 metadata, pure=False) for number, batch in enumerate(batches)]
        counts = merge_element_counts(client.gather(futures))
    else:
        write_frame(base, "audit_deviations", audit_tables([], {}, [])[2], metadata,
                    batch_name(0))
    kanons = finish_cohort(client, cohort, question, k, str(base), metadata)
    errors = list(pairing.errors) + [row for number in sorted(by_batch)
                                     for row in by_batch[number]]
    pairs_table, elements, _ = audit_tables(listed, counts, [])
    result = ClusterAudit(pairs_table, elements, *kanon_tables(kanons, k), error_frame(errors),
                          cohort.tally)
    result.paths = [base / "audit_deviations", base / "residual_risk", *write_small(base, {
        "audit_pairs": result.audit_pairs, "audit_elements": result.audit_elements,
        "k_anonymity": result.k_anonymity, "k_classes": result.k_classes,
        "load_errors": result.load_errors}, metadata)]
    return result
