"""A rescan into the same folder, without ``--cluster``: the rows of unchanged files are copied
from the previous ``headers.parquet`` (read by row group, never the DICOM files), the changed
and new files are read, and both are merged in file order, so the table is the one a full
scan would write.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from deid.ingest.runner import ErrorRow

#: Rows gathered before a merged batch is written (one Parquet row group).
_ROWS_PER_WRITE = 64_000


def file_runs(batch: pa.RecordBatch) -> Iterator[tuple[str, pa.RecordBatch]]:
    """``(file, its rows)`` for each file of a batch of a per-file table (a file's rows are
    consecutive)."""
    if batch.num_rows == 0:
        return
    column = batch.column(0)
    if isinstance(column, pa.DictionaryArray):
        codes = column.indices.to_numpy(zero_copy_only=False)
        names = column.dictionary.to_pylist()
        starts = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist()]
        files = [names[codes[start]] for start in starts]
    else:
        values = column.to_pylist()
        starts = [0, *[i for i in range(1, len(values)) if values[i] != values[i - 1]]]
        files = [values[start] for start in starts]
    ends = [*starts[1:], batch.num_rows]
    for file, start, end in zip(files, starts, ends, strict=True):
        yield str(file), batch.slice(start, end - start)


def previous_rows(path: Path, keep: set[str]) -> Iterator[pa.RecordBatch]:
    """The rows of the files in ``keep`` from a table file written earlier, row group by row
    group."""
    handle = pq.ParquetFile(path)
    for group in range(handle.num_row_groups):
        table = handle.read_row_group(group)
        for batch in table.to_batches():
            for file, rows in file_runs(batch):
                if file in keep:
                    yield rows


def merge_by_file(*streams: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Batches of several per-file streams, each in file order, merged in file order and
    regrouped into batches of a few tens of thousands of rows."""
    def runs(number: int, stream: Iterable[pa.RecordBatch]
             ) -> Iterator[tuple[str, int, pa.RecordBatch]]:
        for batch in stream:
            for file, rows in file_runs(batch):
                yield file, number, rows

    pending: list[pa.RecordBatch] = []
    count = 0
    for _, _, rows in heapq.merge(*(runs(n, s) for n, s in enumerate(streams)),
                                  key=lambda run: (run[0], run[1])):
        pending.append(rows)
        count += rows.num_rows
        if count >= _ROWS_PER_WRITE:
            yield _combined(pending)
            pending, count = [], 0
    if pending:
        yield _combined(pending)


def _combined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    table = pa.Table.from_batches(batches).combine_chunks()
    return table.to_batches()[0] if table.num_rows else batches[0]


def previous_errors(path: Path, keep: set[str]) -> list[ErrorRow]:
    """The rows of ``load_errors.parquet`` written earlier for the files in ``keep``."""
    table = pq.read_table(path).to_pydict()
    return [(file, kind, message, severity) for file, kind, message, severity in zip(
        table["file"], table["error_kind"], table["message"], table["severity"], strict=True)
        if file in keep]


def set_aside(path: Path) -> Path:
    """Move a table file out of the way (it is read while its successor is written)."""
    aside = path.with_name(f".{path.name}.previous")
    os.replace(path, aside)
    return aside
