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
    assert "Dana Example (unverified)" in document and "approved with conditions" in document
    for section in ("Conclusion", "The data reviewed", "Residual risks and the mitigation",
                    "Changes since the previously signed version",
                    "rules, with reasons and sources", "Effective rule table",
                    "Comparison with the reference profiles", "k-anonymity", "Aryanto",
                    "Every finding, file by file", "Sign-off"):
        assert section in document, section
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


def _headers(document: str) -> list[str]:
    import re

    return re.findall(r"<th>(.*?)</th>", document)


def test_report_fit_for_a_dpia_file(outputs: Path) -> None:
    import hashlib
    import html as html_module

    from deid import load_profile

    document = (outputs / "report.html").read_text(encoding="utf-8")
    figures = read_figures(document)
    body = document.split("<body>", 1)[1]
    # the conclusion comes first, in plain words, and takes no decision
    assert body.index("Conclusion") < body.index("1. The data reviewed")
    assert "can still identify a patient" in body and "Before signing, decide" in body
    for decision in ("approved", "approved with conditions", "rejected"):
        assert f"&#9744; {decision}</span>" in body
    assert "checked" not in body and "&#9745;" not in body
    # the data reviewed: folder, count, a digest of the file list, a date
    profile = load_profile("chaimeleon_images_w_ecrfs")
    names = sorted([*(f"files/{p.name}" for p in (SAMPLE / "files").glob("*.dcm")),
                    *(f"cohort/{Path(p).name}" for p in FILES[1:])])
    assert figures["n_files"] == len(names)
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
    assert figures["file_list_sha256"] == digest and digest in body
    # rule counts as the Profiles page counts them; the whole effective table, no collapsing
    assert figures["n_own_rules"] == len(profile.rules)
    assert f"Its own rules ({len(profile.rules):,})" in body
    assert figures["n_effective_rules"] > 600 and "Basic Profile codes" not in body
    # named risks with their mitigation, quasi-identifier sets only with what is left
    assert figures["n_residual_risks"] > 0 and "Mitigation needed" in _headers(document)
    risks = html_module.unescape(body.split("2. Residual risks")[1].split("<h2>")[0])
    assert "PostalCode" not in risks and "InstitutionName" not in risks
    # readable labels
    for header in _headers(document):
        assert "_" not in header.replace("k_min", ""), header
    assert "No earlier version of chaimeleon_images_w_ecrfs was signed off" in body


def test_report_lists_what_changed_since_the_signed_version(tmp_path: Path) -> None:
    base = (Path(__file__).resolve().parents[1] / "deid" / "profiles" /
            "eucanimage.toml").read_text(encoding="utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text(base.replace('id = "eucanimage"', 'id = "mine"'), encoding="utf-8")
    common = [str(SAMPLE / "files" / "rtplan.dcm"), "--references", "ps315_basic",
              "--data-dir", str(tmp_path / "data"), "--ephemeral-secret"]
    status, _, err = run("signoff-report", "--profile", str(mine), *common, "--out",
                         str(tmp_path / "v1.html"), "--reviewer", "Dana", "--decision",
                         "approved")
    assert status == 0, err
    mine.write_text(mine.read_text(encoding="utf-8") + (
        '\n[[rules]]\nkeyword = "Occupation"\naction = "keep"\nreason = "Not needed."\n'
        'source = "Committee, second round"\n'), encoding="utf-8")
    status, _, err = run("signoff-report", "--profile", str(mine), *common, "--out",
                         str(tmp_path / "v2.html"))
    assert status == 0, err
    document = (tmp_path / "v2.html").read_text(encoding="utf-8")
    figures = read_figures(document)
    assert figures["n_changed_since_signed"] == 1
    changes = document.split("3. Changes since")[1].split("<h2>")[0]
    assert "(0010,2180)" in changes and "Not needed." in changes and "Dana" in changes
