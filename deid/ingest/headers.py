"""The ``headers`` and ``load_errors`` tables: every element of every loaded file.

Rows are built per batch of files in column form (Arrow, dictionary-encoded text columns):
no Python object per element outlives its batch. :func:`load_headers` returns pandas frames
(``category`` columns); :func:`write_headers` streams batches straight into Parquet and CSV so
memory does not grow with the number of files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from deid.ingest.decode import keyword_of, tag_text
from deid.ingest.kinds import severity
from deid.ingest.manifest import FILES, MANIFEST, NO_BATCH, Manifest, Rescan, plan_rescan
from deid.ingest.reader import ArchiveCache, Elements, ReadError, ReadResult, read_elements
from deid.ingest.rescan import merge_by_file, previous_errors, previous_rows, set_aside
from deid.ingest.runner import BatchOut, ErrorRow, Job, Progress, run_job
from deid.ingest.sources import IngestLimits, Source, SourceProblem, Upload, collect_sources
from deid.ingest.tables import (
    TableSink,
    Written,
    error_frame,
    frame_from_batches,
    table_schema,
)
from deid.ingest.tree import Node
from deid.policy.profile_model import Profile


class HeaderColumns:
    """Column lists of the headers table for one batch."""

    def __init__(self, include_values: bool) -> None:
        self.include_values = include_values
        self.files: list[str] = []
        self.file: list[int] = []
        self.path: list[str] = []
        self.tag: list[str] = []
        self.keyword: list[str] = []
        self.vr: list[str] = []
        self.depth: list[int] = []
        self.private: list[bool] = []
        self.creator: list[str | None] = []
        self.value: list[str | None] = []

    def add_file(self, name: str, tree: list[Node]) -> None:
        """Append every element of one file, depth first in tag order."""
        self.files.append(name)
        self._level(len(self.files) - 1, tree, "", 0)

    def _level(self, index: int, nodes: list[Node], prefix: str, depth: int) -> None:
        values = self.include_values
        for node in nodes:
            tag = node.tag
            path = prefix + tag_text(tag)
            self.file.append(index)
            self.path.append(path)
            self.tag.append(tag_text(tag))
            private = bool(tag >> 16 & 1)
            low = tag & 0xFFFF
            if private and 0x10 <= low <= 0xFF:
                self.keyword.append("PrivateCreator")
            else:
                self.keyword.append(keyword_of(tag))
            self.vr.append(node.vr)
            self.depth.append(depth)
            self.private.append(private)
            self.creator.append(node.creator)
            self.value.append(node.shown if values else None)
            if node.items:
                for number, item in enumerate(node.items):
                    self._level(index, item, f"{path}[{number}].", depth + 1)

    def batch(self) -> pa.RecordBatch:
        """The rows as an Arrow record batch with the table's schema."""
        files = pa.DictionaryArray.from_arrays(pa.array(self.file, pa.int32()),
                                               pa.array(self.files, pa.string()))
        columns = [files, _dict(self.path), _dict(self.tag), _dict(self.keyword),
                   _dict(self.vr), pa.array(self.depth, pa.int64()),
                   pa.array(self.private, pa.bool_()), _dict(self.creator),
                   _dict(self.value)]
        return pa.RecordBatch.from_arrays(columns, schema=table_schema("headers"))


def _dict(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, pa.string()).dictionary_encode()


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|b'[^'\n]*'")


def without_values(message: str) -> str:
    """``message`` with every quoted value replaced by ``'…'``: pydicom's messages quote the
    values they could not read (``Invalid value for VR IS: 'MRN12345678'``)."""
    return _QUOTED.sub("'…'", message)


def warning_rows(name: str, result: ReadResult | Elements, *,
                 include_values: bool = False) -> list[ErrorRow]:
    """A file's read warnings as load_errors rows (quoted values masked unless asked for)."""
    return [(name, kind, message if include_values else without_values(message),
             severity(kind)) for kind, message in result.warnings]


def error_row(name: str, error: Exception, *, include_values: bool = False) -> ErrorRow:
    """A failed read as a load_errors row (quoted values masked unless asked for)."""
    if isinstance(error, ReadError):
        kind, message = error.kind, str(error)
    else:
        kind, message = "corrupt", f"cannot read the file ({type(error).__name__}: {error})"
    return (name, kind, message if include_values else without_values(message),
            severity(kind))


@dataclass(frozen=True)
class HeadersJob:
    """Read each file's header and emit its rows (values only when asked)."""

    include_values: bool = False
    limits: IngestLimits = field(default_factory=IngestLimits)

    def process_batch(self, sources: Sequence[Source]) -> BatchOut:
        columns = HeaderColumns(self.include_values)
        errors: list[ErrorRow] = []
        archives = ArchiveCache()
        for source in sources:
            try:
                result = read_elements(source, self.limits, archives,
                                       show=self.include_values)
            except Exception as error:  # noqa: BLE001 - one bad file never stops the run
                errors.append(error_row(source.name, error,
                                        include_values=self.include_values))
                continue
            columns.add_file(source.name, result.tree)
            errors.extend(warning_rows(source.name, result,
                                       include_values=self.include_values))
        return BatchOut(columns.batch(), errors, len(sources))


def problem_rows(problems: Iterable[SourceProblem]) -> list[ErrorRow]:
    """Problems found while listing inputs, as load_errors rows."""
    return [(p.name, p.kind, p.message, severity(p.kind)) for p in problems]


@dataclass
class HeadersResult:
    """The loaded headers and the load errors, as pandas frames."""

    headers: pd.DataFrame
    load_errors: pd.DataFrame
    n_files: int

    @property
    def n_loaded(self) -> int:
        """Files whose elements are in ``headers``."""
        return int(self.headers["file"].nunique()) if len(self.headers) else 0


def load_headers(paths: Iterable[str | os.PathLike[str]] = (), *,
                 uploads: Iterable[Upload] = (), include_values: bool = False,
                 workers: int | None = None, progress: Progress | None = None,
                 limits: IngestLimits | None = None) -> HeadersResult:
    """Load the headers of every file under ``paths`` (files, folders, zip archives) and in
    ``uploads`` (``(name, bytes)`` pairs).

    Parameters
    ----------
    paths, uploads
        Where the files are; nothing is ever written there.
    include_values
        Fill the ``value`` column (else it is null: values can identify).
    workers
        Worker processes (default: one per CPU); 1 reads in this process.
    progress
        Called as ``progress(files_done, files_total)`` after each batch.
    limits
        Guards against hostile input (:class:`IngestLimits`).
    """
    limits = limits or IngestLimits()
    sources, problems = collect_sources(paths, uploads, limits)
    job = HeadersJob(include_values, limits)
    batches: list[pa.RecordBatch] = []
    errors = problem_rows(problems)
    for out in run_job(sources, job, workers=workers, progress=progress):
        if out.table is not None and out.table.num_rows:
            batches.append(out.table)
        errors.extend(out.errors)
    return HeadersResult(frame_from_batches("headers", batches), error_frame(errors),
                         len(sources) + len(problems))


def write_headers(paths: Iterable[str | os.PathLike[str]], out_dir: str | Path, *,
                  uploads: Iterable[Upload] = (), include_values: bool = False,
                  formats: Sequence[str] = ("parquet", "csv"), workers: int | None = None,
                  progress: Progress | None = None,
                  limits: IngestLimits | None = None, incremental: bool = True) -> Written:
    """Stream ``headers`` and ``load_errors`` into ``out_dir`` batch by batch; return the
    files written and counts. Arguments as for :func:`load_headers`.

    ``incremental``: when ``out_dir`` holds an earlier scan of these inputs (Parquet written,
    same ``include_values``), only inputs whose size or modification time changed are read;
    the rows of the others are copied from it (:mod:`deid.ingest.rescan`).
    """
    limits = limits or IngestLimits()
    uploads = list(uploads)
    sources, problems = collect_sources(paths, uploads, limits)
    job = HeadersJob(include_values, limits)
    out = Path(out_dir)
    files = len(sources) + len(problems)
    tracked = incremental and not uploads and "parquet" in formats
    rescan = plan_rescan(out, sources, include_values=include_values, layout=FILES,
                         kept_tables=[out / "headers.parquet", out / "load_errors.parquet"]
                         ) if tracked else None
    (out / MANIFEST).unlink(missing_ok=True)  # until this scan is complete
    if rescan is not None and rescan.previous is not None:
        written = _rescan(rescan, out, job, formats, problem_rows(problems), files, workers,
                          progress)
    else:
        written = stream_job("headers", sources, job, out_dir, formats,
                             errors=problem_rows(problems), files=files, workers=workers,
                             progress=progress)
        written.full_reason = rescan.reason if rescan is not None else ""
    if rescan is not None:
        Manifest({name: (*stamp, NO_BATCH) for name, stamp in rescan.stamps.items()
                  if stamp is not None}, include_values, FILES).write(out)
    return written


def _rescan(rescan: Rescan, out: Path, job: Job, formats: Sequence[str],
            errors: list[ErrorRow], files: int, workers: int | None,
            progress: Progress | None) -> Written:
    """Copy the unchanged files' rows, read the others, merge both in file order."""
    keep = {source.name for source in rescan.unchanged}
    errors += previous_errors(out / "load_errors.parquet", keep)
    previous = set_aside(out / "headers.parquet")
    written = Written(files=files, skipped=len(rescan.unchanged))

    def read() -> Iterator[pa.RecordBatch]:
        for batch in run_job(rescan.read, job, workers=workers, progress=progress):
            errors.extend(batch.errors)
            if batch.table is not None and batch.table.num_rows:
                yield batch.table

    try:
        with TableSink("headers", out, formats) as sink:
            for batch in merge_by_file(previous_rows(previous, keep), read()):
                sink.write(batch)
                written.rows += batch.num_rows
    finally:
        previous.unlink()
    written.paths = sink.paths + TableSink.write_frame("load_errors", error_frame(errors),
                                                       out, formats)
    written.load_errors = len(errors)
    return written


def stream_job(table: str, sources: Sequence[Source], job: Job, out_dir: str | Path,
               formats: Sequence[str], *, errors: list[ErrorRow], files: int,
               profiles: Sequence[Profile] = (), workers: int | None = None,
               progress: Progress | None = None) -> Written:
    """Run ``job`` over ``sources``, writing ``table`` batch by batch and then ``load_errors``
    (``errors`` plus the job's own) into ``out_dir``."""
    written = Written(files=files)
    with TableSink(table, out_dir, formats, profiles) as sink:
        for out in run_job(sources, job, workers=workers, progress=progress):
            if out.table is not None and out.table.num_rows:
                sink.write(out.table)
                written.rows += out.table.num_rows
            errors.extend(out.errors)
    written.paths = sink.paths + TableSink.write_frame("load_errors", error_frame(errors),
                                                       out_dir, formats, profiles)
    written.load_errors = len(errors)
    return written
