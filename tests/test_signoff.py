"""The sign-off report: self-contained HTML holding the figures the CLI tables give for the
same inputs, the sign-off recorded in the decision record, and no original values."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from deid.cli import main
from deid.consensus.store import DecisionStore
from deid.outputs.signoff import read_figures

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = [str(SAMPLE / "files"), *(str(p) for p in sorted((SAMPLE / "cohort").glob("*.dcm"))[:40])]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("signoff")
    mp = pytest.MonkeyPatch()
    mp.setenv("DEID_SECRET", "signoff-test")
    mp.setenv("DEID_SECRET_SITE", "signoff-site")
    try:
        status, _, err = run("risk", *FILES, "--profiles", "chaimeleon_images_w_ecrfs",
                             "--out", str(folder / "tables"))
        assert status == 0, err
        status, _, err = run("signoff-report", "--profile", "chaimeleon_images_w_ecrfs",
                               *FILES, "--out", str(folder / "report.html"), "--reviewer",
                               "Dana Example", "--decision", "approved_with_conditions",
                               "--comments", "Ages in bands before release.",
                               "--data-dir", str(folder / "data"))
        assert status == 0, err
    finally:
        mp.undo()
    return folder


def test_report_holds_the_figures_of_the_cli_tables(outputs: Path) -> None:
    figures = read_figures((outputs / "report.html").read_text(encoding="utf-8"))
    risk = pd.read_csv(outputs / "tables" / "residual_risk.csv", keep_default_na=False)
    kanon = pd.read_csv(outputs / "tables" / "k_anonymity.csv")
    coverage = pd.read_csv(outputs / "tables" / "aryanto_coverage.csv")
    assert figures["n_findings"] == len(risk)
    assert figures["findings_by_kind"] == risk["risk_kind"].value_counts().sort_index().to_dict()
    assert figures["findings_by_severity"] == (
        risk["severity"].value_counts().sort_index().to_dict())
    for row in kanon.itertuples():
        assert figures["k_anonymity"][row.quasi_identifiers] == {
            "k_min": row.k_min, "n_records": row.n_records,
            "n_records_below_k": row.n_records_below_k, "k_threshold": row.k_threshold}
    assert figures["aryanto_untouched"] == int(coverage["n_untouched"].iloc[0])


def test_report_is_self_contained_and_records_the_signoff(outputs: Path) -> None:
    document = (outputs / "report.html").read_text(encoding="utf-8")
    assert document.startswith("<!DOCTYPE html>")
    assert "<link" not in document and "src=" not in document and "http" not in document.split(
        "<body>")[0]
    assert "Dana Example (unverified)" in document and "approved_with_conditions" in document
    for section in ("Rules, with reasons and sources", "Comparison with the reference profiles",
                    "Residual risk on the loaded sample", "k-anonymity", "Aryanto", "Sign-off"):
        assert section in document
    signoffs = DecisionStore(outputs / "data").sign_offs("chaimeleon_images_w_ecrfs")
    assert [s.decision for s in signoffs] == ["approved_with_conditions"]


def test_report_shows_no_original_value(outputs: Path) -> None:
    document = (outputs / "report.html").read_text(encoding="utf-8")
    with (SAMPLE / "planted.csv").open(encoding="utf-8") as handle:
        planted = [row["search_text"] for row in csv.DictReader(handle)
                   if row["decoy"] == "false" and len(row["search_text"]) > 5
                   and row["kind"] in ("direct_identifier", "free_text", "private")]
    assert planted
    assert [value for value in planted if value in document] == []


def test_reviewer_without_decision_is_refused(tmp_path: Path) -> None:
    status, _, err = run("signoff-report", "--profile", "primage", str(SAMPLE / "files"),
                         "--out", str(tmp_path / "r.html"), "--reviewer", "X",
                         "--ephemeral-secret", "--data-dir", str(tmp_path))
    assert status == 2 and "--decision" in err
