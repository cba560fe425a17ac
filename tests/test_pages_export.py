"""Export downloads: ``deid.outputs.export.table_bytes`` gives the bytes ``write_tables``
writes, and the dashboard's export leaves header values out unless asked."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.ingest import load_headers
from deid.outputs.export import export_metadata, read_csv_table, table_bytes, write_tables
from deid.policy.schema import TABLES
from tests.test_pages_support import app_test, forget_assessed_risk, page, problems, seeded
from ui import exports, state

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


# -- the Export page -------------------------------------------------------------------------

ALL_TABLES = list(exports.TABLE_NOTES)
COMPARISON_TABLES = ["profile_actions", "tag_matrix", "modified_by_all_profiles",
                     "differences_among_profiles", "profile_summary"]


def _buttons(at: AppTest) -> set[tuple[str, str]]:
    found = set()
    for table in ALL_TABLES:
        for fmt in ("parquet", "csv"):
            try:
                at.download_button(key=state.download_key(table, fmt))
            except KeyError:
                continue
            found.add((table, fmt))
    return found


def test_every_table_in_both_formats() -> None:
    at = seeded(page("export")).run()
    assert not problems(at), problems(at)
    assert _buttons(at) == {(t, f) for t in ALL_TABLES for f in ("parquet", "csv")}
    box = at.checkbox(key=state.EXPORT_VALUES)
    assert box.label == exports.VALUES_LABEL and not box.value
    assert "these can identify patients" in box.label
    assert any("left out" in c.value for c in at.caption)
    box.check().run()
    assert any("hold the original header values" in w.value for w in at.warning)


def test_without_headers_the_comparison_tables_are_exported() -> None:
    at = app_test(page("export"))
    at.session_state[state.ACTIVE_PROFILES] = ["ps315_basic", "eucanimage"]
    at.run()
    assert not problems(at), problems(at)
    assert any("No DICOM headers are loaded" in i.value for i in at.info)
    assert _buttons(at) == {(t, f) for t in COMPARISON_TABLES for f in ("parquet", "csv")}


def test_a_large_load_prepares_effects_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import compute

    monkeypatch.setattr(compute, "RISK_AUTO_MAX_FILES", 10)
    forget_assessed_risk()
    at = seeded(page("export")).run()
    assert not problems(at), problems(at)
    found = _buttons(at)
    assert ("headers", "csv") in found and ("effects", "csv") not in found
    assert ("residual_risk", "csv") not in found
    assert any("Not ready: effects" in c.value for c in at.caption)
    at.button(key=state.EXPORT_EFFECTS_BUTTON).click().run()
    assert ("effects", "parquet") in _buttons(at)


def test_each_table_says_which_profiles_it_covers() -> None:
    at = seeded(page("export")).run()
    texts = " ".join(m.value for m in at.markdown)
    assert "covers the loaded files (no profile)" in texts
    assert ("profile\\_actions** (" in texts or "profile_actions** (" in texts)
    assert "covers the active profiles (chaimeleon_images_w_ecrfs, eucanimage, ps315_basic)" \
        in texts
    assert "covers the loaded files under the active profiles" in texts
