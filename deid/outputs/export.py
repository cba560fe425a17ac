"""Write tables as Parquet and CSV with the same columns, order and rows.

Parquet files carry metadata: the tool version, the DICOM edition of the standard tables and,
for every compared profile, its id and the sha256 of its file. CSV files are UTF-8 with a
header line. Rows and columns are already in their fixed order (:func:`deid.policy.schema.conform`).

CSV cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return; a number such as ``-2.5`` is left alone) are written with a
leading apostrophe (:func:`guard_formulas`); :func:`read_csv_table` takes it off again. Parquet
holds every value exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from deid.policy.profile_model import Profile
from deid.policy.schema import PROFILE_COLUMNS, TABLES
from deid.policy.standard import dicom_edition
from deid.version import __version__

FORMATS = ("parquet", "csv")
METADATA_PREFIX = "deid."
#: How every CSV is written: UTF-8, a header line, quotes only where needed.
CSV_OPTIONS = pa_csv.WriteOptions(quoting_style="needed")
#: What makes a spreadsheet read a cell as a formula: these first characters (after any
#: apostrophes a cell already starts with, so that guarding can be undone exactly) ...
_ALWAYS_FORMULA = r"^'*[=@\t\r]"
#: ... and a sign followed by anything ...
_SIGNED = r"(?s)^'*[+-]."
#: ... except a plain number such as ``-2.5`` or ``+1e3``, which stays as it is.
_SIGNED_NUMBER = r"^'*[+-](\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: The character that makes a spreadsheet show a cell as text.
GUARD = "'"


def export_metadata(profiles: Iterable[Profile] = ()) -> dict[str, str]:
    """Metadata stamped into Parquet files: tool version, DICOM edition, profiles."""
    return {
        "tool_version": __version__,
        "dicom_edition": dicom_edition(),
        "profiles": json.dumps([{"id": p.id, "sha256": p.sha256} for p in profiles]),
    }


def _profile_ids(table: str, frame: pd.DataFrame) -> list[str]:
    spec = TABLES.get(table)
    if spec is None or all(column != PROFILE_COLUMNS for column, _ in spec.columns):
        return []
    fixed = {column for column, _ in spec.columns}
    return [column for column in frame.columns if column not in fixed]


def to_arrow(table: str, frame: pd.DataFrame, metadata: Mapping[str, str]) -> pa.Table:
    """The table as Arrow with its declared schema and the metadata."""
    spec = TABLES.get(table)
    schema = spec.arrow_schema(_profile_ids(table, frame)) if spec else None
    arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    stamped = {f"{METADATA_PREFIX}{key}".encode(): value.encode()
               for key, value in metadata.items()}
    return arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **stamped})


def _runs_as_formula(values: pa.Array) -> pa.Array:
    """True where a text cell would run as a formula in a spreadsheet (null stays false)."""
    always = pc.match_substring_regex(values, _ALWAYS_FORMULA)
    signed = pc.and_(pc.match_substring_regex(values, _SIGNED),
                     pc.invert(pc.match_substring_regex(values, _SIGNED_NUMBER)))
    return pc.fill_null(pc.or_(always, signed), False)


def _map_text(column: pa.Array | pa.ChunkedArray,
              change: Callable[[pa.Array], pa.Array]) -> pa.Array | pa.ChunkedArray:
    """Apply ``change`` to a text column's values (a dictionary's values, not each row)."""
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([_map_text(chunk, change) for chunk in column.chunks],
                                type=column.type)
    if pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
        return pa.DictionaryArray.from_arrays(column.indices, change(column.dictionary))
    if pa.types.is_string(column.type):
        return change(column)
    return column


def _guard(values: pa.Array) -> pa.Array:
    guarded = pc.binary_join_element_wise(pa.scalar(GUARD), values, "")
    return pc.if_else(_runs_as_formula(values), guarded, values)


def _unguard(values: pa.Array) -> pa.Array:
    rest = pc.utf8_slice_codeunits(values, 1)
    was_guarded = pc.and_(pc.fill_null(pc.starts_with(values, GUARD), False),
                          _runs_as_formula(rest))
    return pc.if_else(was_guarded, rest, values)


def guard_formulas(table: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """The table with every text cell a spreadsheet would run as a formula prefixed with an
    apostrophe (``=1+1`` -> ``'=1+1``; ``-2.5`` unchanged). A cell that already starts with
    apostrophes before such text gets one more, so :func:`unguard_formulas` restores every
    value exactly."""
    columns = [_map_text(column, _guard) for column in table.columns]
    if isinstance(table, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(columns, schema=table.schema)
    return pa.Table.from_arrays(columns, schema=table.schema)


def unguard_formulas(table: pa.Table) -> pa.Table:
    """Undo :func:`guard_formulas` (reading a CSV this module wrote)."""
    return pa.Table.from_arrays([_map_text(column, _unguard) for column in table.columns],
                                schema=table.schema)


def write_csv(table: pa.Table | pa.RecordBatch, sink: str | Path | pa.NativeFile) -> None:
    """Write ``table`` as CSV with formula cells guarded (:func:`guard_formulas`)."""
    pa_csv.write_csv(guard_formulas(table), sink, CSV_OPTIONS)


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: str | Path, *,
                 formats: Sequence[str] = FORMATS,
                 metadata: Mapping[str, str] | None = None) -> list[Path]:
    """Write each table as ``<name>.parquet`` and/or ``<name>.csv`` into ``out_dir``."""
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r}; use parquet, csv or both")
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        arrow = to_arrow(name, frame, metadata or {})
        if "parquet" in formats:
            path = directory / f"{name}.parquet"
            pq.write_table(arrow, path)
            written.append(path)
        if "csv" in formats:
            path = directory / f"{name}.csv"
            write_csv(arrow, path)
            written.append(path)
    return written


def table_bytes(table: str, frame: pd.DataFrame, fmt: str,
                metadata: Mapping[str, str] | None = None) -> bytes:
    """The table as the bytes of ``<table>.parquet`` or ``<table>.csv``, exactly as
    :func:`write_tables` writes the file (for downloads, without touching the disk)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use parquet or csv")
    arrow = to_arrow(table, frame, metadata or {})
    sink = pa.BufferOutputStream()
    if fmt == "parquet":
        pq.write_table(arrow, sink)
    else:
        write_csv(arrow, sink)
    return bytes(sink.getvalue().to_pybytes())


def read_csv_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read a CSV written by :func:`write_tables` back with the table's types.

    An unquoted empty field is null, a quoted empty field ``""`` an empty string; the
    apostrophe that guards a formula-like cell is taken off.
    """
    names = list(pd.read_csv(path, nrows=0).columns)
    schema = TABLES[table].arrow_schema(_profile_ids(table, pd.DataFrame(columns=names)))
    arrow = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
        column_types={field.name: field.type for field in schema},
        strings_can_be_null=True, quoted_strings_can_be_null=False))
    return unguard_formulas(arrow).to_pandas(types_mapper=_pandas_types)


def read_parquet_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_tables` with the same pandas dtypes."""
    return pq.read_table(path).to_pandas(types_mapper=_pandas_types)


def _pandas_types(arrow_type: pa.DataType) -> object:
    if arrow_type == pa.bool_():
        return pd.BooleanDtype()
    if arrow_type == pa.int64():
        return pd.Int64Dtype()
    if arrow_type == pa.string():
        return pd.StringDtype()
    return None
