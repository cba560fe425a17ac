"""``python -m deid scan`` and ``apply``: tables written, exit 0 with unreadable inputs, one
line on usage errors."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pydicom
import pytest

from deid.cli import main
from deid.cli_ingest import add_apply_arguments
from deid.outputs.export import read_csv_table, read_parquet_table

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = SAMPLE / "files"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_scan_writes_headers_and_load_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom")
    status, out, err = _run("scan", str(FILES / "rtplan.dcm"), str(bad), "--out",
                            str(tmp_path / "t"), "--workers", "1")
    assert status == 0, err
    assert "2 inputs" in out and "1 load_errors rows" in out
    assert "files" in err  # the progress bar
    headers = read_parquet_table(tmp_path / "t" / "headers.parquet")
    assert headers["value"].isna().all()
    errors = read_csv_table(tmp_path / "t" / "load_errors.csv", "load_errors")
    assert list(errors["error_kind"]) == ["not_dicom"]


def test_scan_include_values_and_format(tmp_path: Path) -> None:
    status, _, err = _run("scan", str(FILES / "rtplan.dcm"), "--out", str(tmp_path),
                          "--include-values", "--format", "csv")
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["headers.csv", "load_errors.csv"]
    headers = read_csv_table(tmp_path / "headers.csv", "headers")
    assert headers["value"].notna().any()


@pytest.mark.parametrize("argv", [
    ("scan", "x", "--out", "o", "--format", "xlsx"),
    ("scan", "x", "--out", "o", "--workers", "0"),
    ("scan", "x"),
    ("apply", "x", "--out", "o", "--profiles", "no_such_profile"),
])
def test_usage_errors_are_one_line(argv: tuple[str, ...]) -> None:
    status, _, err = _run(*argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("deid: error:")


def test_apply_without_secrets_draws_them_and_says_its_pseudonyms_are_unlinkable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [key for key in __import__("os").environ if key.startswith("DEID_SECRET")]:
        monkeypatch.delenv(name)
    status, _, err = _run("apply", str(FILES / "ct_series_slice1.dcm"), "--profiles",
                          "eucanimage", "--workers", "1", "--out", str(tmp_path))
    assert status == 0, err
    text = " ".join(err.split())
    assert "DEID_SECRET secret 'default': random" in text
    assert "DEID_SECRET_SITE secret 'site': random" in text
    assert "cannot be linked to any other run" in text
    assert (tmp_path / "effects.parquet").is_file()


def test_apply_can_require_its_secrets_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [key for key in __import__("os").environ if key.startswith("DEID_SECRET")]:
        monkeypatch.delenv(name)
    status, _, err = _run("apply", str(FILES), "--profiles", "ps315_basic",
                          "--require-env-secrets", "--out", str(tmp_path))
    assert status == 2
    assert "DEID_SECRET" in err and err.count("\n") == 1 and "secrets=" not in err


def test_apply_with_an_ephemeral_secret(tmp_path: Path) -> None:
    status, _, err = _run("apply", str(FILES / "ct_series_slice1.dcm"), "--profiles",
                            "ps315_basic,procancer_i", "--ephemeral-secret", "--out",
                            str(tmp_path / "t"), "--include-values", "--workers", "1",
                            "--write-dicom", str(tmp_path / "copies"))
    assert status == 0, err
    effects = read_parquet_table(tmp_path / "t" / "effects.parquet")
    assert set(effects["profile_id"]) == {"ps315_basic", "procancer_i"}
    assert (tmp_path / "copies" / "procancer_i" / "ct_series_slice1.dcm").is_file()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_copies_name_the_source_ae_title_asked_for(tmp_path: Path, workers: str) -> None:
    status, _, err = _run("apply", str(FILES), "--profiles", "ps315_basic",
                          "--ephemeral-secret", "--out", str(tmp_path / "t"),
                          "--include-values", "--workers", workers, "--source-ae-title",
                          "SITE_A_DEID", "--write-dicom", str(tmp_path / "copies"))
    assert status == 0, err
    copies = sorted((tmp_path / "copies" / "ps315_basic").glob("*.dcm"))
    assert copies
    for copy in copies:
        title = pydicom.dcmread(copy, stop_before_pixels=True).file_meta[0x00020016].value
        assert title == "SITE_A_DEID", copy
    effects = read_parquet_table(tmp_path / "t" / "effects.parquet")
    meta = effects[effects["element_path"].astype(str) == "(0002,0016)"]
    assert len(meta) == len(copies) and set(meta["result_value"]) == {"SITE_A_DEID"}


@pytest.mark.parametrize("title", ["BAD\\TITLE", "SEVENTEEN_CHARS_X", "   "])
def test_a_source_ae_title_that_is_no_ae_is_one_usage_error(tmp_path: Path, title: str) -> None:
    status, _, err = _run("apply", str(FILES), "--profiles", "ps315_basic",
                          "--ephemeral-secret", "--out", str(tmp_path / "t"),
                          "--source-ae-title", title, "--write-dicom", str(tmp_path / "c"))
    assert status == 2 and err.startswith("deid: error: --source-ae-title: ")
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c").exists() and not (tmp_path / "t").exists()


def test_apply_refuses_copies_inside_an_input_folder(tmp_path: Path) -> None:
    status, _, err = _run("apply", str(FILES), "--ephemeral-secret", "--profiles",
                          "ps315_basic", "--out", str(tmp_path), "--write-dicom",
                          str(FILES / "deid"))
    assert status == 2 and "input folder" in err
    assert not (FILES / "deid").exists()


def test_ephemeral_secret_help_says_runs_cannot_be_linked() -> None:
    parser = argparse.ArgumentParser()
    add_apply_arguments(parser)
    assert "cannot be linked to any other run" in " ".join(parser.format_help().split())
