"""Scan datasets: every table as a folder of Parquet files that pandas, pyarrow, DuckDB and Spark
read as they are.

Per-file tables (``headers``, ``effects``, ``residual_risk``, ``audit_deviations``) are
hive-partitioned by batch of files, ``<out>/<table>/batch=00012/part-0.parquet``, each part
written by the worker that read the batch (cohort findings are in ``batch=cohort``); the
other tables are one file, ``<out>/<table>/part-0.parquet``. Every part carries the table's
schema (:mod:`deid.policy.schema`) and the export metadata (tool version, DICOM edition,
profiles and their sha256). Parts are written under a hidden name and renamed, so a reader
never sees half a file. :func:`read_table` reads a table back, from such a folder or from the
``<table>.parquet`` file a run without ``--cluster`` writes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from deid.errors import DeidError
from deid.ingest.tables import frame_from_batches
from deid.outputs.export import METADATA_PREFIX, to_arrow
from deid.policy.schema import TABLES, conform

#: The hive partition key of per-file tables.
PARTITION = "batch"
#: The partition of findings about the cohort (k-anonymity), not one batch of files.
COHORT_PARTITION = "cohort"
#: Tables with one row per element of a file: read back with ``category`` text columns.
PER_ELEMENT = frozenset({"headers", "effects"})


class DatasetError(DeidError):
    """A folder that holds no readable table, or a table that cannot be read."""


def batch_name(batch: int) -> str:
    """A batch's partition value: zero-padded so that folders sort in file order."""
    return f"{batch:05d}"


def part_path(out: str | os.PathLike[str], table: str, partition: str | None = None,
              part: int = 0) -> Path:
    """Where a part of ``table`` goes: in its partition folder, or at the table's top."""
    folder = Path(out) / table
    name = f"part-{part}.parquet"
    return folder / f"{PARTITION}={partition}" / name if partition is not None else folder / name


def stamped(schema: pa.Schema, metadata: Mapping[str, str]) -> pa.Schema:
    """``schema`` with the export metadata (keys prefixed as in every export)."""
    return schema.with_metadata({f"{METADATA_PREFIX}{key}": value
                                 for key, value in metadata.items()})


def write_arrow(path: Path, table: pa.Table) -> Path:
    """Write ``table`` to ``path`` atomically (a hidden name first, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hidden = path.with_name(f".{path.name}.writing")
    pq.write_table(table, hidden)
    os.replace(hidden, path)
    return path


def write_batch(path: Path, name: str, batch: pa.RecordBatch | None,
                metadata: Mapping[str, str]) -> int:
    """Write one batch of a per-file table as a part (an empty part when no rows); return
    its number of rows."""
    schema = stamped(TABLES[name].arrow_schema(), metadata)
    if batch is None:
        table = schema.empty_table()
    else:
        table = pa.Table.from_batches([pa.RecordBatch.from_arrays(batch.columns,
                                                                  schema=schema)])
    write_arrow(path, table)
    return int(table.num_rows)


def write_frame(out: str | os.PathLike[str], name: str, frame: pd.DataFrame,
                metadata: Mapping[str, str], partition: str | None = None,
                part: int = 0) -> Path:
    """Write a table held as a pandas frame (its declared columns and types) as one part."""
    return write_arrow(part_path(out, name, partition, part), to_arrow(name, frame, metadata))


def reset_table(out: str | os.PathLike[str], name: str) -> None:
    """Remove a table's folder as an earlier run wrote it (its parts and partition folders
    only; anything else in it stays and is reported)."""
    folder = Path(out) / name
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(f"{PARTITION}=*")):
        if path.is_dir():
            for part in path.glob("*.parquet"):
                part.unlink()
            for hidden in path.glob(".*.writing"):
                hidden.unlink()
            if not any(path.iterdir()):
                path.rmdir()
    for part in folder.glob("part-*.parquet"):
        part.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()
    else:
        raise DatasetError(f"{folder}: holds files this tool did not write; move them away "
                           "or choose another --out folder")


def remove_partition(out: str | os.PathLike[str], name: str, partition: str) -> None:
    """Remove one partition of a table (a batch that is written again)."""
    folder = Path(out) / name / f"{PARTITION}={partition}"
    if folder.is_dir():
        shutil.rmtree(folder)


def table_location(folder: str | os.PathLike[str], name: str) -> Path | None:
    """Where ``folder`` holds table ``name``: a dataset folder ``<name>/`` (a cluster run) or
    a file ``<name>.parquet`` (a run on one machine); ``None`` when it holds neither."""
    base = Path(folder)
    if (base / name).is_dir() and any((base / name).rglob("*.parquet")):
        return base / name
    if (base / f"{name}.parquet").is_file():
        return base / f"{name}.parquet"
    return None


def read_arrow(location: Path, columns: list[str] | None = None) -> pa.Table:
    """A table's rows as Arrow, the partition column left out, in file order (partition
    folders sort as the batches were listed)."""
    try:
        if location.is_dir():
            dataset = ds.dataset(location, format="parquet", partitioning="hive")
            names = [n for n in dataset.schema.names if n != PARTITION]
            fragments = sorted(dataset.get_fragments(), key=lambda f: f.path)
            tables = [fragment.to_table(columns=columns or names) for fragment in fragments]
            if not tables:
                return dataset.schema.empty_table().select(columns or names)
            return pa.concat_tables(tables, promote_options="permissive")
        return pq.read_table(location, columns=columns)
    except (OSError, pa.ArrowInvalid) as error:
        raise DatasetError(f"{location}: cannot read the Parquet table ({error})") from error


def read_table(location: Path, name: str) -> pd.DataFrame:
    """A table read back as the library returns it (declared columns, types and sort)."""
    spec = TABLES[name]
    wanted = [c for c in spec.column_names() if not c.startswith("{")]
    table = read_arrow(location)
    missing = [column for column in wanted if column not in table.column_names]
    if missing:
        raise DatasetError(f"{location}: not a {name} table (no column {missing[0]!r})")
    table = table.select(wanted)
    if name in PER_ELEMENT:
        schema = spec.arrow_schema()
        table = table.cast(schema) if table.schema != schema else table
        return frame_from_batches(name, table.combine_chunks().to_batches())
    return conform(name, table.to_pandas())


def table_metadata(location: Path) -> dict[str, str]:
    """The export metadata a table carries (tool version, DICOM edition, profiles)."""
    path = location if location.is_file() else next(iter(sorted(location.rglob("*.parquet"))),
                                                       None)
    if path is None:
        return {}
    raw = pq.read_schema(path).metadata or {}
    return {key.decode()[len(METADATA_PREFIX):]: value.decode() for key, value in raw.items()
            if key.decode().startswith(METADATA_PREFIX)}


#: Tables a scan folder may hold besides headers and load_errors (what report, risk and
#: apply write), read when present.
SCAN_EXTRAS = ("effects", "residual_risk", "k_anonymity", "k_classes", "aryanto_coverage")


@dataclass(frozen=True)
class ScanDataset:
    """The tables of a folder a scan (or report, risk, apply) wrote, read back."""

    folder: Path
    headers: pd.DataFrame
    load_errors: pd.DataFrame
    tables: Mapping[str, pd.DataFrame]
    #: ``(profile id, sha256)`` of the profiles the tables were made with.
    profiles: tuple[tuple[str, str], ...]
    n_files: int


def read_scan(folder: str | os.PathLike[str]) -> ScanDataset:
    """Read the tables of a scan folder, written with ``--cluster`` (one folder per table) or
    without (``<table>.parquet``): headers and load_errors, and effects and the risk tables
    when present. DICOM files are not read."""
    base = Path(folder)
    if not base.is_dir():
        raise DatasetError(f"{base}: no such folder")
    headers_at = table_location(base, "headers")
    if headers_at is None:
        raise DatasetError(f"{base}: holds no headers table (headers/ or headers.parquet): "
                           "write one with python -m deid scan PATH --out FOLDER")
    headers = read_table(headers_at, "headers")
    errors_at = table_location(base, "load_errors")
    errors = read_table(errors_at, "load_errors") if errors_at is not None else \
        conform("load_errors", pd.DataFrame(columns=TABLES["load_errors"].column_names()))
    tables = {name: read_table(location, name) for name in SCAN_EXTRAS
              if (location := table_location(base, name)) is not None}
    profiles: dict[str, str] = {}
    for location in [table_location(base, name) for name in tables]:
        if location is not None:
            for entry in json.loads(table_metadata(location).get("profiles", "[]")):
                profiles.setdefault(str(entry["id"]), str(entry["sha256"]))
    loaded = int(headers["file"].nunique()) if len(headers) else 0
    failed = set(errors.loc[errors["severity"].astype(str) == "error", "file"].astype(str))
    return ScanDataset(base, headers, errors, tables, tuple(sorted(profiles.items())),
                       loaded + len(failed - set(headers["file"].astype(str).unique())))
