"""Export downloads: ``deid.export.table_bytes`` gives the bytes ``write_tables`` writes, and
the dashboard's export leaves header values out unless asked."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import deid
from deid.export import export_metadata, read_csv_table, table_bytes, write_tables
from deid.ingest import load_headers
from deid.schema import TABLES
from ui import exports

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FILES = REPO_ROOT / "data" / "sample" / "files"


@pytest.fixture(scope="module")
def headers() -> pd.DataFrame:
    return load_headers([SAMPLE_FILES], include_values=True, workers=1).headers


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_table_bytes_are_the_file_write_tables_writes(headers: pd.DataFrame, fmt: str,
                                                      tmp_path: Path) -> None:
    metadata = export_metadata([deid.load_profile("ps315_basic")])
    (path,) = write_tables({"headers": headers}, tmp_path, formats=[fmt], metadata=metadata)
    assert table_bytes("headers", headers, fmt, metadata) == path.read_bytes()


def test_table_bytes_refuses_an_unknown_format(headers: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown format 'xlsx'"):
        table_bytes("headers", headers, "xlsx")


def test_values_are_left_out_unless_asked(headers: pd.DataFrame, tmp_path: Path) -> None:
    assert headers["value"].notna().any()
    metadata = export_metadata()
    made = {(d.table, d.fmt): d for d in exports.downloads({"headers": headers}, metadata,
                                                           include_values=False)}
    assert set(made) == {("headers", "parquet"), ("headers", "csv")}
    csv = tmp_path / "headers.csv"
    csv.write_bytes(made["headers", "csv"].make())
    back = read_csv_table(csv, "headers")
    assert list(back.columns) == TABLES["headers"].column_names()
    assert back["value"].isna().all()
    assert back["tag"].tolist() == headers["tag"].astype(str).tolist()
    parquet = pq.read_table(io.BytesIO(made["headers", "parquet"].make()))
    assert parquet.column("value").null_count == len(headers)
    assert parquet.schema.metadata[b"deid.tool_version"] == deid.__version__.encode()

    kept = exports.downloads({"headers": headers}, metadata, include_values=True)
    csv.write_bytes(kept[1].make())
    assert read_csv_table(csv, "headers")["value"].notna().sum() == headers["value"].notna().sum()


def test_without_values_keeps_other_tables_as_they_are() -> None:
    frame = pd.DataFrame({"profile_id": ["a"], "tag": ["(0010,0010)"]})
    assert exports.without_values("tag_matrix", frame) is frame


def test_residual_risk_is_marked_from_the_findings() -> None:
    effects = pd.DataFrame({
        "file": ["a.dcm", "a.dcm", "b.dcm"], "element_path": ["(0010,0040)"] * 3,
        "profile_id": ["p", "q", "p"], "residual_risk": [False, False, False],
    })
    findings = pd.DataFrame({
        "profile_id": ["p", "p"], "file": ["a.dcm", "b.dcm"], "element_path": ["(0010,0040)", ""],
    })
    marked = exports.mark_residual_risk(effects, findings)
    assert marked["residual_risk"].tolist() == [True, False, False]
    assert exports.mark_residual_risk(effects, None) is effects
