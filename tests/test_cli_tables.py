"""The table-writing commands of ``python -m deid``: files written, one-line errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest

from deid.cli import main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_compare_writes_every_table_in_both_formats(tmp_path: Path) -> None:
    status, out, err = run("compare", "--profiles", "ps315_basic,primage", "--out",
                           str(tmp_path), "--pair", "ps315_basic,primage")
    assert status == 0, err
    for table in ("profile_actions", "tag_matrix", "modified_by_all_profiles",
                  "differences_among_profiles", "profile_summary", "pairwise_diff"):
        assert (tmp_path / f"{table}.parquet").is_file()
        assert (tmp_path / f"{table}.csv").is_file()
    summary = pd.read_csv(tmp_path / "profile_summary.csv")
    assert list(summary["profile_id"]) == ["primage", "ps315_basic"]
    assert "universe:" in out and "modified by all" in out


def test_compare_csv_only_and_three_states(tmp_path: Path) -> None:
    status, _, err = run("compare", "--profiles", "ps315_basic,eucaim", "--out",
                         str(tmp_path), "--format", "csv", "--states", "3")
    assert status == 0, err
    assert not list(tmp_path.glob("*.parquet"))
    differences = pd.read_csv(tmp_path / "differences_among_profiles.csv")
    assert "unspecified" in set(differences["eucaim"]) | set(differences["ps315_basic"])


def test_compare_usage_errors_are_one_line(tmp_path: Path) -> None:
    for argv, words in (
        (["--profiles", "nope"], "unknown profile id"),
        (["--profiles", " , "], "names no profile"),
        (["--format", "xlsx"], "--format takes parquet, csv or both"),
        (["--profiles", "ps315_basic", "--pair", "ps315_basic"], "--pair takes two"),
    ):
        status, _, err = run("compare", *argv, "--out", str(tmp_path / "x"))
        assert status == 2
        assert words in err and err.count("\n") == 1


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_risk_writes_findings_k_anonymity_and_coverage(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEID_SECRET", "cli-test")
    monkeypatch.setenv("DEID_SECRET_SITE", "cli-site")
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "broken.dcm").write_bytes(b"not dicom")
    status, out, err = run("risk", str(SAMPLE / "files" / "ct_series_slice1.dcm"),
                           str(SAMPLE / "cohort"), str(bad), "--profiles",
                           "ps315_basic,eucanimage", "--k", "3", "--qi",
                           "PatientSex+PatientAge", "--out", str(tmp_path / "out"))
    assert status == 0, err
    kanon = pd.read_csv(tmp_path / "out" / "k_anonymity.csv")
    assert list(kanon["quasi_identifiers"]) == ["PatientAge+PatientSex"] * 2
    assert set(kanon["k_threshold"]) == {3}
    errors = pd.read_csv(tmp_path / "out" / "load_errors.csv")
    assert list(errors["file"]) == [str(bad / "broken.dcm")] or len(errors) == 1
    risk = pd.read_csv(tmp_path / "out" / "residual_risk.csv")
    assert {"ps315_basic", "eucanimage"} >= set(risk["profile_id"])
    assert (tmp_path / "out" / "aryanto_coverage.parquet").is_file()
    assert "findings" in out


@pytest.mark.parametrize("command", ["risk", "report", "signoff-report"])
def test_review_commands_draw_random_secrets_and_list_them_all(
        command: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in [key for key in os.environ if key.startswith("DEID_SECRET")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEID_DATA_DIR", str(tmp_path / "record"))
    argv = ["--profiles", "eucanimage"] if command != "signoff-report" else [
        "--profile", "eucanimage", "--references", "ps315_basic"]
    out = tmp_path / ("report.html" if command == "signoff-report" else "out")
    status, _, err = run(command, str(SAMPLE / "files" / "rtplan.dcm"), *argv,
                         "--out", str(out))
    assert status == 0, err
    # every secret at once, each with its variable, and no Python in the words
    assert "DEID_SECRET " in err and "DEID_SECRET_SITE" in err
    assert "secret 'default': random, drawn for this run" in err
    assert "secret 'site': random, drawn for this run" in err
    assert "reviewing needs no secret of yours" in err
    assert "secrets=" not in err and "pass " not in err


def test_secrets_set_in_the_environment_are_said_to_be_used(tmp_path: Path,
                                                            monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEID_SECRET", "cli-test")
    monkeypatch.delenv("DEID_SECRET_SITE", raising=False)
    status, _, err = run("risk", str(SAMPLE / "files" / "rtplan.dcm"), "--profiles",
                         "eucanimage", "--out", str(tmp_path))
    assert status == 0, err
    assert "secret 'default': from the environment" in err
    assert "secret 'site': random, drawn for this run" in err
    assert "set DEID_SECRET_SITE to use your own" in err
    assert "cli-test" not in err


def test_require_env_secrets_names_every_missing_variable_at_once(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in [key for key in os.environ if key.startswith("DEID_SECRET")]:
        monkeypatch.delenv(name)
    status, _, err = run("risk", str(SAMPLE / "files"), "--profiles", "eucanimage",
                         "--require-env-secrets", "--out", str(tmp_path))
    assert status == 2 and err.count("\n") == 1
    assert "DEID_SECRET (secret 'default')" in err and "DEID_SECRET_SITE (secret 'site')" in err
    assert "secrets=" not in err


def test_risk_refuses_a_bad_qi_set(tmp_path: Path) -> None:
    status, _, err = run("risk", str(SAMPLE / "files"), "--qi", "PatientShoeSize",
                         "--out", str(tmp_path))
    assert status == 2 and "unknown keyword" in err


def test_report_writes_every_table_and_marks_risky_effects(tmp_path: Path,
                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEID_SECRET", "cli-test")
    status, out, err = run("report", str(SAMPLE / "files"), "--profiles",
                           "ps315_basic,chaimeleon_images_w_ecrfs", "--out", str(tmp_path),
                           "--format", "parquet")
    assert status == 0, err
    names = {path.stem for path in tmp_path.glob("*.parquet")}
    assert names == {"headers", "load_errors", "effects", "profile_actions", "tag_matrix",
                     "modified_by_all_profiles", "differences_among_profiles",
                     "profile_summary", "residual_risk", "k_anonymity", "k_classes",
                     "aryanto_coverage"}
    effects = pd.read_parquet(tmp_path / "effects.parquet")
    findings = pd.read_parquet(tmp_path / "residual_risk.parquet")
    risky = effects[effects["residual_risk"]]
    keys = set(zip(findings["file"], findings["element_path"], findings["profile_id"],
                   strict=True))
    assert len(risky) > 0
    assert all(key in keys for key in zip(risky["file"], risky["element_path"],
                                          risky["profile_id"], strict=True))
    assert effects["original_value"].isna().all()  # values only when asked
    assert "residual-risk findings" in out
