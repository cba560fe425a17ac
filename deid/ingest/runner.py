"""Run a job over sources in batches, on worker processes, results in input order.

A job turns a batch of sources into a :class:`BatchOut` (an Arrow record batch and the
problem rows). Batches go to a pool of worker processes (``forkserver`` when the caller runs
threads, as the dashboard does; else ``fork``) with at most a few batches in flight, so memory
stays bounded however many files there are; a single batch runs in-process.
"""

from __future__ import annotations

import copyreg
import gc
import math
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from types import MappingProxyType
from typing import Any, Protocol

import pyarrow as pa

from deid.ingest.sources import Source

#: ``progress(files_done, files_total)``, called after every batch.
Progress = Callable[[int, int], None]
ErrorRow = tuple[str, str, str, str]  # file, error_kind, message, severity
_MAX_BATCH = 256
_MIN_BATCH = 4
_IN_FLIGHT_PER_WORKER = 2
#: From this many inputs on, :func:`auto_workers` uses the pool (starting one costs ~0.5 s).
PARALLEL_FROM = 1000
#: From this many inputs on, workers start from a fresh server process instead of a fork of
#: the caller, which holds the list of inputs (about 0.5 KB each); starting them then costs
#: about a second, under 2% of such a run.
FORK_BELOW = 20_000


@dataclass
class BatchOut:
    """What a batch produced: table rows, problem rows, how many files it covered, and what
    else the job returns (``extra``, e.g. a batch's contribution to the risk tables)."""

    table: pa.RecordBatch | None
    errors: list[ErrorRow] = field(default_factory=list)
    files: int = 0
    extra: object = None


class Job(Protocol):
    """Work done on each batch; pickled once into every worker process (a job may also have
    ``warm()``: load what every batch needs, called once per process before the first)."""

    def process_batch(self, sources: Sequence[Source]) -> BatchOut: ...


_WORKER_JOB: list[Job] = []


def mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A read-only view of ``items`` (what an unpickled ``MappingProxyType`` becomes)."""
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[Any, ...]]:
    return mapping_proxy, (dict(proxy),)


# Jobs hold profiles, whose read-only mappings are MappingProxyType: picklable for the
# forkserver and spawn start methods (the dashboard's pool, Dask) with this reducer.
copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)


def _init_worker(job: Job) -> None:
    _WORKER_JOB[:] = [job]
    _warm(job)
    _settle_garbage_collector()


#: A worker's youngest generation is collected after this many allocations (Python's default
#: is 700): a batch allocates and frees tens of thousands of short-lived tuples per file, which
#: reference counting frees; collecting them that often costs about 3% of a risk worker's time.
WORKER_GC_THRESHOLD = 5000


def _settle_garbage_collector() -> None:
    """In a worker process: what the job loaded before the first batch (tables, compiled
    profiles, and what a forked worker inherits) is moved out of the collector's sight, and
    the youngest generation is collected less often. On one 3,000-file risk job, 6% less CPU."""
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


def _warm(job: Job) -> None:
    """Let the job load what every batch needs (tables, compiled profiles) before the first
    one: in the parent before forking, the workers inherit it."""
    warm = getattr(job, "warm", None)
    if callable(warm):
        warm()


def _work(sources: Sequence[Source]) -> BatchOut:
    return _WORKER_JOB[0].process_batch(sources)


def default_workers() -> int:
    """Worker processes used by default: one per CPU."""
    return os.cpu_count() or 1


def auto_workers(n_sources: int) -> int | None:
    """Workers for ``n_sources`` inputs: this process below :data:`PARALLEL_FROM`, else the
    default (one per CPU)."""
    return None if n_sources >= PARALLEL_FROM else 1


def batch_size(n_sources: int, workers: int) -> int:
    """Files per batch: several batches per worker for balance, at most ``_MAX_BATCH``."""
    wanted = math.ceil(n_sources / max(1, workers * 8))
    return max(_MIN_BATCH, min(_MAX_BATCH, wanted))


def _context(n_sources: int = 0) -> multiprocessing.context.BaseContext:
    """``fork`` from a single-threaded caller (the CLI: cheapest, nothing re-imported) below
    :data:`FORK_BELOW` inputs; ``forkserver`` from a multi-threaded caller (the dashboard),
    where forking is unsafe, and for more inputs, so that workers do not carry the caller's
    list of them (their memory stays the same however many files there are)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and n_sources < FORK_BELOW:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["deid.ingest.runner", "deid.ingest.headers",
                                        "deid.outputs.effects", "deid.risk.batches"])
        return context
    return multiprocessing.get_context("spawn")


def run_job(sources: Sequence[Source], job: Job, *, workers: int | None = None,
            progress: Progress | None = None) -> Iterator[BatchOut]:
    """Yield the job's output batch by batch, in the order of ``sources``."""
    workers = default_workers() if workers is None else max(1, workers)
    size = batch_size(len(sources), workers)
    batches = [sources[start:start + size] for start in range(0, len(sources), size)]
    total, done = len(sources), 0
    if progress is not None:
        progress(0, total)
    for out in _outputs(batches, job, workers, total):
        done += out.files
        if progress is not None:
            progress(done, total)
        yield out


def _outputs(batches: list[Sequence[Source]], job: Job, workers: int,
             n_sources: int = 0) -> Iterator[BatchOut]:
    if workers == 1 or len(batches) <= 1:
        for batch in batches:
            yield job.process_batch(batch)
        return
    context = _context(n_sources)
    if context.get_start_method() == "fork":
        _warm(job)
    with context.Pool(min(workers, len(batches)), initializer=_init_worker,
                      initargs=(job,)) as pool:
        pending: deque[AsyncResult[BatchOut]] = deque()
        queue = iter(batches)
        limit = workers * _IN_FLIGHT_PER_WORKER
        for batch in queue:
            pending.append(pool.apply_async(_work, (batch,)))
            if len(pending) >= limit:
                break
        while pending:
            out = pending.popleft().get()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.apply_async(_work, (following,)))
            yield out
