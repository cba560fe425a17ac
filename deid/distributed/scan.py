"""``scan`` and ``apply`` on a Dask cluster: the headers and effects datasets, written by the
workers batch by batch; load_errors written by the client (its rows carry no values unless
they were asked for).

A rescan into the same folder reads only the inputs whose size or modification time changed
(:mod:`deid.ingest.manifest`): the partitions that held rows of changed or removed files are
rewritten without them (a Parquet filter on a worker, no DICOM read) and the files read again
go to new batches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from deid.distributed.cluster import worker_threads
from deid.distributed.dataset import (
    PARTITION,
    batch_name,
    read_table,
    remove_partition,
    reset_table,
    stamped,
    write_arrow,
    write_frame,
)
from deid.distributed.run import run_parts, split
from deid.ingest.headers import HeadersJob, problem_rows
from deid.ingest.manifest import DATASET, Manifest, Rescan, plan_rescan
from deid.ingest.runner import ErrorRow, Progress
from deid.ingest.sources import IngestLimits, collect_sources
from deid.ingest.tables import Written, error_frame
from deid.outputs.effects import effects_job
from deid.outputs.export import export_metadata
from deid.policy.profile_model import Profile
from deid.policy.schema import TABLES
from deid.secret_store import Secrets
from deid.transform.semantics import DEFAULT_WRITER, WriterIdentity

if TYPE_CHECKING:
    from distributed import Client


def scan_on_cluster(client: Client, paths: Iterable[str | os.PathLike[str]],
                    out: str | os.PathLike[str], *, include_values: bool = False,
                    limits: IngestLimits | None = None,
                    progress: Progress | None = None) -> Written:
    """Write the ``headers`` dataset and ``load_errors`` into ``out``, reading on the cluster
    only the inputs that changed since a previous scan into ``out``."""
    limits = limits or IngestLimits()
    base = Path(out)
    sources, problems = collect_sources(paths, (), limits)
    metadata = export_metadata(())
    rescan = plan_rescan(base, sources, include_values=include_values, layout=DATASET,
                         kept_tables=[base / "headers", base / "load_errors"])
    errors = problem_rows(problems)
    entries: dict[str, tuple[int, int, int]] = {}
    first = 0
    if rescan.previous is None:
        reset_table(base, "headers")
    else:
        errors += _kept_errors(base, rescan)
        _drop_changed(client, base, "headers", rescan, metadata)
        for source in rescan.unchanged:
            stamp = rescan.stamps[source.name]
            assert stamp is not None
            entries[source.name] = (*stamp, rescan.previous.entries[source.name][2])
        first = max((entry[2] for entry in rescan.previous.entries.values()), default=-1) + 1
    threads = worker_threads(client)
    batches = split(rescan.read, threads)
    numbers = list(range(first, first + len(batches)))
    for number, batch in zip(numbers, batches, strict=True):
        for source in batch:
            stamp = rescan.stamps[source.name]
            if stamp is not None:
                entries[source.name] = (*stamp, number)
    written = Written(files=len(sources) + len(problems), skipped=len(rescan.unchanged),
                      full_reason=rescan.reason)
    job = HeadersJob(include_values, limits)
    for _, done in run_parts(client, batches, job, base, "headers", metadata,
                             threads=threads, progress=progress, numbers=numbers):
        written.rows += done.rows
        errors.extend(done.errors)
    if rescan.previous is not None:  # the rows the dataset holds, kept ones included
        written.rows = count_rows(base / "headers")
    written.paths = [base / "headers", *_write_errors(base, errors, metadata)]
    written.load_errors = len(errors)
    Manifest(entries, include_values, DATASET).write(base)
    return written


def count_rows(folder: Path) -> int:
    """Rows of a dataset folder, from its parts' footers (no row is read)."""
    if not folder.is_dir():
        return 0
    return int(ds.dataset(folder, format="parquet", partitioning="hive").count_rows())


def _kept_errors(base: Path, rescan: Rescan) -> list[ErrorRow]:
    """The previous scan's load_errors rows of the files not read again."""
    previous = read_table(base / "load_errors", "load_errors")
    kept = {source.name for source in rescan.unchanged}
    rows = previous[previous["file"].astype(str).isin(kept)]
    return [(str(row[0]), str(row[1]), str(row[2]), str(row[3]))
            for row in rows.itertuples(index=False)]


def _drop_changed(client: Client, base: Path, table: str, rescan: Rescan,
                  metadata: dict[str, str]) -> None:
    """Rewrite, on the workers, each partition that held rows of a changed or removed file
    without those rows (a partition left empty is removed)."""
    assert rescan.previous is not None
    keep_by_batch: dict[int, list[str]] = {batch: [] for batch in rescan.dirty_batches}
    for source in rescan.unchanged:
        batch = rescan.previous.entries[source.name][2]
        if batch in keep_by_batch:
            keep_by_batch[batch].append(source.name)
    futures = [client.submit(filter_partition, str(base), table, batch_name(batch), keep,
                             metadata, pure=False)
               for batch, keep in sorted(keep_by_batch.items())]
    client.gather(futures)


def filter_partition(out: str, table: str, partition: str, keep: Sequence[str],
                     metadata: dict[str, str]) -> int:
    """On a worker: keep only the rows of the files ``keep`` in one partition; return the rows
    kept (the partition is removed when none is)."""
    folder = Path(out) / table / f"{PARTITION}={partition}"
    if not keep:
        remove_partition(out, table, partition)
        return 0
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("*.parquet"))
    tables = [pq.read_table(part) for part in parts]
    whole = pa.concat_tables(tables) if tables else TABLES[table].arrow_schema().empty_table()
    files = pc.cast(whole.column("file"), pa.string())
    kept = whole.filter(pc.is_in(files, value_set=pa.array(sorted(keep), pa.string())))
    kept = kept.cast(stamped(TABLES[table].arrow_schema(), metadata))
    for part in parts:
        part.unlink()
    write_arrow(folder / "part-0.parquet", kept)
    return int(kept.num_rows)


def _write_errors(base: Path, errors: list[ErrorRow], metadata: dict[str, str]) -> list[Path]:
    reset_table(base, "load_errors")
    write_frame(base, "load_errors", error_frame(errors), metadata)
    return [base / "load_errors"]


def apply_on_cluster(client: Client, paths: Iterable[str | os.PathLike[str]],
                     profiles: Sequence[Profile], out: str | os.PathLike[str], *,
                     secrets: Secrets, include_values: bool = False,
                     limits: IngestLimits | None = None,
                     write_dicom: str | os.PathLike[str] | None = None,
                     progress: Progress | None = None,
                     writer: WriterIdentity = DEFAULT_WRITER) -> Written:
    """Write the ``effects`` dataset and ``load_errors`` into ``out`` (and, when asked,
    de-identified copies, written by the workers under ``write_dicom``, naming ``writer``)."""
    base = Path(out)
    inputs = [os.fspath(path) for path in paths]
    sources, errors, job = effects_job(inputs, profiles, secrets=secrets,
                                       include_values=include_values, limits=limits,
                                       write_dicom=write_dicom, writer=writer)
    metadata = export_metadata(profiles)
    files = len(sources) + sum(1 for row in errors if row[1] != "output_refused")
    written = Written(files=files)
    reset_table(base, "effects")
    threads = worker_threads(client)
    for _, done in run_parts(client, split(sources, threads), job, base, "effects", metadata,
                             threads=threads, progress=progress):
        written.rows += done.rows
        errors.extend(done.errors)
    written.paths = [base / "effects", *_write_errors(base, errors, metadata)]
    written.load_errors = len(errors)
    return written
