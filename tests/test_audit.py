"""Audit of exports: this tool's own copies agree with the profile that wrote them, a copy
audited against another profile deviates exactly where the two differ, an export on its own is
checked, and bad input is reported without writing into either folder."""

from __future__ import annotations

import csv
import os
import shutil
from functools import cache
from pathlib import Path

import pandas as pd
import pydicom
import pytest

import deid
from deid import Secrets, list_profiles, load_profile
from deid.audit import audit, audit_export
from deid.audit.observe import OBSERVED
from deid.audit.pairs import PairingError
from deid.cli import main
from deid.outputs.effects import required_secrets
from tests.engine_helpers import profile

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = sorted(SAMPLE.glob("files/*.dcm")) + sorted(SAMPLE.glob("cohort/*.dcm"))[:3]
KEEP_ALL = profile('unlisted = "keep"\nprivate_tags = "keep"\n')


@cache
def secrets() -> Secrets:
    shipped = [load_profile(info.id) for info in list_profiles()]
    return Secrets({name: f"audit-{name}" for name in required_secrets(shipped)})


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("originals")
    for path in FILES:
        shutil.copy(path, folder / path.name)
    return folder


def _export(originals: Path, target: Path, chosen: deid.Profile) -> Path:
    deid.apply_profiles([str(originals)], [chosen], secrets=secrets(), write_dicom=target,
                        workers=1)
    return target / chosen.id


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("profile_id", [info.id for info in list_profiles()])
def test_our_own_copies_agree_with_the_profile_that_wrote_them(profile_id: str, originals: Path,
                                                               tmp_path: Path) -> None:
    chosen = load_profile(profile_id)
    exported = _export(originals, tmp_path, chosen)
    before = _snapshot(originals) | _snapshot(exported)
    result = audit([originals], [exported], chosen)
    assert result.load_errors.empty
    assert set(result.audit_pairs["paired_by"]) == {"path"}
    assert len(result.audit_pairs) == len(FILES)
    deviations = result.audit_deviations
    assert deviations.empty, deviations[["exported", "element_path", "claimed_action",
                                         "observed_action", "note"]].to_string()
    assert result.audit_elements["agrees"].all()
    assert set(result.audit_elements["observed_action"]) <= set(OBSERVED)
    assert _snapshot(originals) | _snapshot(exported) == before  # nothing written


def _effects(originals: Path, chosen: deid.Profile) -> pd.DataFrame:
    effects = deid.apply_profiles([str(originals)], [chosen], secrets=secrets(),
                                  workers=1).effects
    effects["name"] = effects["file"].astype(str).map(lambda name: Path(name).name)
    return effects


def _changed_elements(originals: Path, chosen: deid.Profile) -> set[tuple[str, str]]:
    """(file name, element path) of every element ``chosen`` changes, from its effects table
    and the headers table: values changed, sequences removed or emptied with everything in
    them (a sequence kept with changes inside agrees: its items carry the changes)."""
    effects = _effects(originals, chosen)
    effects = effects[~effects["element_path"].astype(str).str.endswith(",0000)")]
    modified = effects[effects["effect"] == "modify"]
    sequences = modified["vr"].astype(str) == "SQ"
    gone = modified[sequences & modified["action"].astype(str).isin(["remove", "empty"])]
    changed = {(row.name, str(row.element_path))
               for row in pd.concat([modified[~sequences], gone]).itertuples()}
    headers = deid.load_headers([str(originals)]).headers
    for row in gone.itertuples():
        inside = headers[(headers["file"].astype(str) == str(row.file))
                         & headers["element_path"].astype(str).str.startswith(
                             f"{row.element_path}[")]
        changed |= {(row.name, str(path)) for path in inside["element_path"]}
    return changed


def test_a_copy_audited_against_another_profile_deviates_where_they_differ(
        originals: Path, tmp_path: Path) -> None:
    basic = load_profile("ps315_basic")
    exported = _export(originals, tmp_path, basic)
    result = audit([originals], [exported], KEEP_ALL)
    found = {(Path(row.exported).name, row.element_path)
             for row in result.audit_deviations.itertuples()}
    # independently: every element ps315_basic changes and keep-all does not (both write the
    # writer's file meta), and every marker ps315_basic added
    expected = _changed_elements(originals, basic) - _changed_elements(originals, KEEP_ALL)
    for path in sorted(exported.glob("*.dcm")):
        copy = pydicom.dcmread(path)
        for keyword in ("PatientIdentityRemoved", "DeidentificationMethod",
                        "DeidentificationMethodCodeSequence",
                        "LongitudinalTemporalInformationModified"):
            if keyword in copy:
                element = copy[keyword]
                expected.add((path.name, f"({element.tag.group:04X},{element.tag.element:04X})"))
                for number, item in enumerate(element.value if element.VR == "SQ" else []):
                    for child in item:
                        expected.add((path.name, f"({element.tag.group:04X},"
                                      f"{element.tag.element:04X})[{number}].({child.tag.group:04X},"
                                      f"{child.tag.element:04X})"))
    assert found == expected


def test_a_profile_that_would_have_changed_what_was_kept_deviates_the_other_way(
        originals: Path, tmp_path: Path) -> None:
    exported = _export(originals, tmp_path, KEEP_ALL)
    basic = load_profile("ps315_basic")
    result = audit([originals], [exported], basic)
    deviations = result.audit_deviations
    kept = deviations[deviations["observed_action"].isin(["kept", "added"])]
    expected = _changed_elements(originals, basic) - _changed_elements(originals, KEEP_ALL)
    assert {(Path(row.exported).name, row.element_path)
            for row in deviations.itertuples()} >= expected
    assert len(kept)
    # the markers are the writer's, not the profile's: their absence is a finding on the export
    assert deviations[deviations["claimed_action"] == "add"].empty
    flags = result.risk.residual_risk
    assert flags[flags["keyword"] == "PatientIdentityRemoved"]["file"].nunique() == len(FILES)


def test_pairing_by_a_uid_map(originals: Path, tmp_path: Path) -> None:
    basic = load_profile("ps315_basic")
    exported = _export(originals, tmp_path / "copies", basic)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    rows = []
    for number, path in enumerate(sorted(exported.glob("*.dcm"))):
        shutil.copy(path, renamed / f"x{number}.dcm")
        rows.append((pydicom.dcmread(originals / path.name).SOPInstanceUID,
                     pydicom.dcmread(path).SOPInstanceUID))
    mapping = tmp_path / "map.csv"
    with mapping.open("w", newline="") as handle:
        csv.writer(handle).writerows([("original", "exported"), *rows])
    result = audit([originals], [renamed], basic, pair="uid-map", mapping=mapping)
    assert set(result.audit_pairs["paired_by"]) == {"uid-map"}
    assert result.audit_deviations.empty


def test_bad_input_is_reported_and_nothing_is_written(originals: Path, tmp_path: Path) -> None:
    basic = load_profile("ps315_basic")
    exported = _export(originals, tmp_path / "copies", basic)
    (exported / "notes.dcm").write_text("not a DICOM file")
    (exported / FILES[0].name).unlink()
    before = _snapshot(originals) | _snapshot(exported)
    result = audit([originals], [exported], basic)
    pairs = result.audit_pairs
    assert FILES[0].name in " ".join(pairs[pairs["paired_by"] == "unpaired"]["original"])
    assert "notes.dcm" in " ".join(pairs[pairs["paired_by"] == "unpaired"]["exported"])
    mapping = tmp_path / "map.csv"
    mapping.write_text("original,exported\n1.2.3.4.5,9.9.9\n"
                       f"{FILES[1].name},{FILES[1].name}\n{FILES[1].name},{FILES[2].name}\n")
    mapped = audit([originals], [exported], basic, pair="uid-map", mapping=mapping)
    kinds = set(mapped.load_errors["error_kind"])
    assert {"unknown_name", "claimed_twice"} <= kinds
    assert "mapping line 2" in " ".join(mapped.load_errors["file"])
    (tmp_path / "bad.csv").write_text("from,to\na,b\n")
    with pytest.raises(PairingError, match="original,exported"):
        audit([originals], [exported], basic, pair="uid-map", mapping=tmp_path / "bad.csv")
    exports_only = audit_export([exported])
    assert "notes.dcm" in " ".join(exports_only.load_errors["file"])
    assert _snapshot(originals) | _snapshot(exported) == before


def test_an_export_alone_is_checked(originals: Path, tmp_path: Path) -> None:
    clean = audit_export([_export(originals, tmp_path / "copies", load_profile("ps315_basic"))])
    reasons = " ".join(clean.risk.residual_risk["reason"])
    assert "not truthful" not in reasons and "starts with" not in reasons
    untouched = audit_export([originals]).risk.residual_risk
    assert untouched["reason"].str.contains("Every instance UID of the export starts with").any()
    assert untouched["reason"].str.contains("PatientIdentityRemoved|does not say").any()
    liar = pydicom.dcmread(FILES[0])
    liar.PatientIdentityRemoved = "YES"
    code = pydicom.Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "113100", "DCM", "Basic"
    liar.DeidentificationMethodCodeSequence = [code]
    liar.StudyDate = "18000101"
    folder = tmp_path / "liar"
    folder.mkdir()
    liar.save_as(folder / "a.dcm")
    twin = pydicom.dcmread(FILES[1])
    twin.PatientID, twin.PatientSex = liar.PatientID, "M" if liar.PatientSex != "M" else "F"
    twin.save_as(folder / "b.dcm")
    found = audit_export([folder]).risk.residual_risk
    assert found["reason"].str.contains("markers are not truthful").any()
    assert found["reason"].str.contains("outside 1850-2100").any()
    assert found["reason"].str.contains("one pseudonym may stand for two patients").any()
    assert found["reason"].str.contains("root of pydicom").any()


def test_the_command_line_audits_and_refuses_misuse(originals: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    exported = _export(originals, tmp_path / "copies", load_profile("primage"))
    env = {f"DEID_SECRET{'' if n == 'default' else '_' + n.upper()}": "x"
           for n in required_secrets([load_profile("primage")])}
    os.environ.update(env)
    out = tmp_path / "tables"
    assert main(["audit", str(originals), str(exported), "--profile", "primage",
                 "--out", str(out)]) == 0
    assert "0 deviation(s)" in capsys.readouterr().out
    for table in ("audit_pairs", "audit_elements", "audit_deviations", "residual_risk",
                  "k_anonymity"):
        assert (out / f"{table}.parquet").exists() and (out / f"{table}.csv").exists()
    assert main(["audit", str(originals), str(exported), "--out", str(tmp_path / "t2")]) == 2
    assert "needs --profile" in capsys.readouterr().err
    assert main(["audit", str(exported), "--out", str(exported / "inside")]) == 2
    assert main(["audit", str(exported), "--out", str(tmp_path / "t3")]) == 0


def test_the_sign_off_report_carries_the_audit_figures(originals: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    exported = _export(originals, tmp_path / "copies", load_profile("ps315_basic"))
    report = tmp_path / "report.html"
    assert main(["signoff-report", "--profile", "primage", str(originals), "--out", str(report),
                 "--audit", str(originals), str(exported), "--data-dir",
                 str(tmp_path / "record")]) == 0
    text = report.read_text(encoding="utf-8")
    assert "Audit of an export made with this profile" in text
    figures = text.split('id="figures">')[1].split("</script>")[0]
    assert '"audit_files_paired": ' + str(len(FILES)) in figures
    assert '"audit_deviations": 0' not in figures  # ps315_basic copies against primage deviate
    capsys.readouterr()


def test_example_values_only_when_asked(originals: Path, tmp_path: Path) -> None:
    """Deviations carry the original and exported values only with ``include_values``; without
    it, no table of the audit holds any planted identifying value."""
    exported = _export(originals, tmp_path, load_profile("ps315_basic"))
    hidden = audit([originals], [exported], KEEP_ALL)
    shown = audit([originals], [exported], KEEP_ALL, include_values=True)
    assert len(hidden.audit_deviations) == len(shown.audit_deviations) > 0
    assert hidden.audit_deviations[["original_value", "exported_value"]].isna().all().all()
    assert shown.audit_deviations["original_value"].notna().any()
    with (Path(__file__).resolve().parents[1] / "data" / "sample" / "planted.csv").open(
            encoding="utf-8") as handle:
        planted = {row["search_text"] for row in csv.DictReader(handle)
                   if row["decoy"] == "false" and len(row["search_text"]) >= 6}
    text = " ".join(frame.astype(str).to_csv(index=False) for frame in hidden.tables().values())
    assert not {value for value in planted if value in text}
    shown_text = shown.audit_deviations.astype(str).to_csv(index=False)
    assert {value for value in planted if value in shown_text}
