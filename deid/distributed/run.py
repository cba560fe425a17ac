"""Batches of files on a Dask cluster: submitted a few at a time, results as they finish.

Each batch is one task. A task reads its files on the worker, writes its rows there as a part
of the table's dataset (:mod:`deid.distributed.dataset`) and returns only counts and problem
rows (``load_errors``: quoted values masked unless values were asked for), so header rows and
values never travel to the client. At most a few tasks per worker thread are in flight: the
scheduler's memory does not grow with the number of files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deid.distributed.dataset import batch_name, part_path, write_batch
from deid.ingest.runner import ErrorRow, Job, Progress, batch_size
from deid.ingest.sources import Source

if TYPE_CHECKING:
    from distributed import Client, Future

#: Tasks in flight per worker thread.
IN_FLIGHT_PER_THREAD = 3


@dataclass
class PartDone:
    """What a batch's task tells the client: files, rows written, problem rows."""

    files: int = 0
    rows: int = 0
    errors: list[ErrorRow] = field(default_factory=list)


def split(sources: Sequence[Source], threads: int) -> list[list[Source]]:
    """Batches of consecutive sources, several per worker thread, at most a few hundred files
    each (:func:`deid.ingest.runner.batch_size`)."""
    size = batch_size(len(sources), threads)
    return [list(sources[start:start + size]) for start in range(0, len(sources), size)]


def write_part(job: Job, sources: Sequence[Source], path: str, table: str,
               metadata: Mapping[str, str]) -> PartDone:
    """On a worker: run ``job`` on a batch and write its rows as one part of ``table``."""
    out = job.process_batch(sources)
    rows = write_batch(Path(path), table, out.table, metadata)
    return PartDone(out.files, rows, list(out.errors))


Submit = Callable[[int, Sequence[Any]], "Future[Any]"]


def run_batches(client: Client, batches: Sequence[Sequence[Any]], submit: Submit, *,
                threads: int, progress: Progress | None = None) -> Iterator[tuple[int, Any]]:
    """Submit ``submit(number, batch)`` for every batch, at most a few per worker thread at
    once; yield ``(number, result)`` in the order tasks finish (a task's exception is raised
    here)."""
    from distributed import as_completed

    total = sum(len(batch) for batch in batches)
    done = 0
    if progress is not None:
        progress(0, total)
    queue = iter(enumerate(batches))
    sizes: dict[object, tuple[int, int]] = {}
    finished = as_completed()
    for number, batch in islice(queue, max(1, threads * IN_FLIGHT_PER_THREAD)):
        future = submit(number, batch)
        sizes[future.key] = (number, len(batch))
        finished.add(future)
    for future in finished:
        number, size = sizes.pop(future.key)
        result = future.result()
        following = next(queue, None)
        if following is not None:
            nxt = submit(*following)
            sizes[nxt.key] = (following[0], len(following[1]))
            finished.add(nxt)
        done += size
        if progress is not None:
            progress(done, total)
        yield number, result


def run_parts(client: Client, batches: Sequence[Sequence[Source]], job: Job, out: Path,
              table: str, metadata: Mapping[str, str], *, threads: int,
              progress: Progress | None = None,
              numbers: Sequence[int] | None = None) -> Iterator[tuple[int, PartDone]]:
    """Run ``job`` on every batch, each writing ``<out>/<table>/batch=N/part-0.parquet``
    (``numbers``: the batches' numbers, by default 0, 1, ...)."""
    shared = client.scatter(job, broadcast=True, hash=False)
    names = list(numbers) if numbers is not None else list(range(len(batches)))

    def submit(index: int, batch: Sequence[Source]) -> Future[Any]:
        path = str(part_path(out, table, batch_name(names[index])))
        return client.submit(write_part, shared, list(batch), path, table, dict(metadata),
                             pure=False)

    for index, done in run_batches(client, batches, submit, threads=threads,
                                   progress=progress):
        yield names[index], done
