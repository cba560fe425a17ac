"""Per-file tables in column form: schemas from :mod:`deid.policy.schema`, frames, streamed writing.

:class:`TableSink` writes record batches as they come, to Parquet (``ParquetWriter``, one row
group per batch) and CSV (``CSVWriter``), so peak memory is one batch whatever the number of
files. The Parquet files carry the same metadata as every other export; CSV cells that a
spreadsheet would run as a formula are guarded as in every other CSV
(:func:`deid.outputs.export.guard_formulas`), Parquet keeps them exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from deid.outputs.export import (
    CSV_OPTIONS,
    FORMATS,
    METADATA_PREFIX,
    export_metadata,
    guard_formulas,
    write_tables,
)
from deid.policy.profile_model import Profile
from deid.policy.schema import TABLES


@dataclass
class Written:
    """What a streamed export wrote: the files (or dataset folders), and how many inputs,
    rows and load errors; for a rescan, how many inputs were unchanged and not read again."""

    paths: list[Path] = field(default_factory=list)
    files: int = 0
    rows: int = 0
    load_errors: int = 0
    skipped: int = 0
    #: Why a rescan read everything although a previous scan was there ('' otherwise).
    full_reason: str = ""


def table_schema(name: str) -> pa.Schema:
    """The Arrow schema of a table declared in :mod:`deid.policy.schema`."""
    return TABLES[name].arrow_schema()


def frame_from_batches(name: str, batches: Sequence[pa.RecordBatch]) -> pd.DataFrame:
    """A pandas frame (``category`` text columns) from record batches of one table."""
    table = pa.Table.from_batches(list(batches), schema=table_schema(name))
    frame = table.to_pandas()
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype("boolean")
        elif frame[column].dtype == "int64":
            frame[column] = frame[column].astype("Int64")
    return frame


def error_frame(rows: Iterable[tuple[str, str, str, str]]) -> pd.DataFrame:
    """The load_errors table, sorted by file (a file's rows in the order they arose)."""
    ordered = sorted(rows, key=lambda row: row[0])
    columns = TABLES["load_errors"].column_names()
    frame = pd.DataFrame(ordered, columns=columns)
    return frame.astype({column: "string" for column in columns})


def _stamped(schema: pa.Schema, profiles: Iterable[Profile]) -> pa.Schema:
    stamped = {f"{METADATA_PREFIX}{key}": value
               for key, value in export_metadata(profiles).items()}
    return schema.with_metadata(stamped)


class TableSink:
    """Write one table batch by batch to ``<name>.parquet`` and/or ``<name>.csv``."""

    def __init__(self, name: str, out_dir: str | Path, formats: Sequence[str] = FORMATS,
                 profiles: Iterable[Profile] = ()) -> None:
        unknown = [fmt for fmt in formats if fmt not in FORMATS]
        if unknown:
            raise ValueError(f"unknown format {unknown[0]!r}; use parquet, csv or both")
        self.name = name
        self.directory = Path(out_dir)
        self.formats = tuple(formats)
        self.schema = _stamped(table_schema(name), profiles)
        self.paths: list[Path] = []
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pa_csv.CSVWriter | None = None

    def __enter__(self) -> TableSink:
        self.directory.mkdir(parents=True, exist_ok=True)
        if "parquet" in self.formats:
            path = self.directory / f"{self.name}.parquet"
            self._parquet = pq.ParquetWriter(path, self.schema)
            self.paths.append(path)
        if "csv" in self.formats:
            path = self.directory / f"{self.name}.csv"
            self._csv = pa_csv.CSVWriter(path, self.schema, write_options=CSV_OPTIONS)
            self.paths.append(path)
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one batch of rows."""
        batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        if self._parquet is not None:
            self._parquet.write_batch(batch)
        if self._csv is not None:
            self._csv.write_batch(guard_formulas(batch))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()

    @staticmethod
    def write_frame(name: str, frame: pd.DataFrame, out_dir: str | Path,
                    formats: Sequence[str] = FORMATS,
                    profiles: Iterable[Profile] = ()) -> list[Path]:
        """Write a small table (e.g. load_errors) in one go."""
        return write_tables({name: frame}, out_dir, formats=formats,
                            metadata=export_metadata(profiles))
