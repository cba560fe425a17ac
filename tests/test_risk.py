"""Residual risk: recall on the planted identifiers, the options' expected findings, masked
evidence, the catalogue, postal codes, and k-anonymity against a brute-force count."""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from deid import Secrets, apply_profile, read_dataset
from deid.ingest.tree import build_tree
from deid.policy.profile_loader import load_profile_text
from deid.risk.catalogue import CatalogueError, RiskKind, catalogue, read_catalogue
from deid.risk.findings import find_risks, mask
from deid.risk.kanon import (
    DEFAULT_QI_SETS,
    Record,
    k_anonymity,
    parse_qi_set,
    patient_records,
)
from deid.risk.postal import postal_code
from deid.risk.report import assess, left_quasi_identifiers
from deid.transform.plan import Planner
from tests.engine_helpers import basic

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SECRETS = Secrets({"default": "risk-test", "site": "risk-site"})
KEEP_ALL = load_profile_text('schema_version = 1\nid = "keep_all"\ntitle = "Keep all"\n'
                             'provenance = "user"\nunlisted = "keep"\nprivate_tags = "keep"\n'
                             + "".join(f'[[rules]]\ntag = "{tag}"\naction = "keep"\nreason = "r"'
                                       '\nsource = "s"\n' for tag in (
                                           "(0002,0017)", "(0002,0018)", "(0002,0100)",
                                           "(0002,0102)")))
#: What the writer always replaces (its own identity, PS3.10) or never writes (the preamble):
#: never left in a copy, so never a residual risk.
WRITER_SET = frozenset({"(0002,0012)", "(0002,0013)", "(0002,0016)", "preamble"})


@cache
def planted() -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (SAMPLE / "planted.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows[row["file"]].append(row)
    return dict(rows)


@cache
def original(name: str):  # type: ignore[no-untyped-def]
    return read_dataset(SAMPLE / name)


def findings_for(name: str, profile):  # type: ignore[no-untyped-def]
    meta, body = build_tree(original(name), read_deferred=True)
    plan = Planner(profile, SECRETS).plan(meta, body)
    return find_risks(plan, file=name, body=body)


SAMPLE_FILES = sorted(str(p.relative_to(SAMPLE)) for p in (SAMPLE / "files").glob("*.dcm"))


@pytest.mark.parametrize("name", sorted(planted()))
def test_keep_everything_flags_every_planted_identifier_and_no_decoy(name: str) -> None:
    findings = findings_for(name, KEEP_ALL)
    paths = {finding.element_path for finding in findings}
    missed = [(r["element_path"], r["keyword"]) for r in planted()[name]
              if r["decoy"] == "false" and r["element_path"] not in paths
              and r["element_path"] not in WRITER_SET]
    leaks = {finding.element_path for finding in findings
             if finding.severity == "high" and finding.risk_kind in ("free_text", "private")}
    flagged_decoys = [(r["element_path"], r["search_text"]) for r in planted()[name]
                      if r["decoy"] == "true" and r["element_path"] in leaks]
    assert missed == []
    assert flagged_decoys == []


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_evidence_never_shows_a_planted_value(name: str) -> None:
    secrets = [r["search_text"] for r in planted().get(name, []) if len(r["search_text"]) > 3]
    for finding in findings_for(name, KEEP_ALL):
        assert not any(secret in finding.evidence for secret in secrets), finding


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_basic_profile_leaves_no_direct_identifier(name: str) -> None:
    kinds = {finding.risk_kind for finding in findings_for(name, basic())}
    assert RiskKind.DIRECT_IDENTIFIER not in kinds
    assert RiskKind.FREE_TEXT not in kinds and RiskKind.PRIVATE not in kinds


OPTION_CASES = [
    # option, file, element path, expected kind (None: no finding at that path)
    ("retain_patient_characteristics", "files/ct_series_slice1.dcm", "(0010,1010)",
     RiskKind.QUASI_IDENTIFIER),
    ("retain_patient_characteristics", "files/ct_series_slice1.dcm", "(0010,0040)",
     RiskKind.QUASI_IDENTIFIER),
    ("retain_long_full_dates", "files/ct_series_slice1.dcm", "(0008,0020)",
     RiskKind.QUASI_IDENTIFIER),
    ("retain_long_full_dates", "files/ct_series_slice1.dcm", "(0010,0030)", None),
    ("retain_device_identity", "files/ct_series_slice1.dcm", "(0018,1000)", RiskKind.LINKAGE),
    ("retain_device_identity", "files/ct_series_slice1.dcm", "(0008,1010)", RiskKind.LINKAGE),
    ("retain_institution_identity", "files/ct_series_slice1.dcm", "(0008,0080)",
     RiskKind.QUASI_IDENTIFIER),
    ("retain_uids", "files/ct_series_slice1.dcm", "(0020,000D)", RiskKind.LINKAGE),
    ("retain_uids", "files/ct_series_slice1.dcm", "(0002,0003)", RiskKind.LINKAGE),
    ("retain_safe_private", "files/pt_philips_safe_and_unsafe_private.dcm", "(7053,1000)",
     None),
]


@pytest.mark.parametrize(("option", "name", "path", "kind"), OPTION_CASES)
def test_each_permissive_option_gives_the_expected_findings(option: str, name: str,
                                                            path: str, kind) -> None:  # type: ignore[no-untyped-def]
    without = {(f.element_path, f.risk_kind) for f in findings_for(name, basic())}
    with_option = {(f.element_path, f.risk_kind) for f in findings_for(name, basic(option))}
    assert not any(p == path for p, _ in without)
    if kind is None:
        assert not any(p == path for p, _ in with_option)
    else:
        assert (path, kind) in with_option


def test_safe_private_is_kept_and_unsafe_private_removed() -> None:
    name = "files/pt_philips_safe_and_unsafe_private.dcm"
    result = apply_profile(original(name), basic("retain_safe_private"), secrets=SECRETS)
    assert 0x70531000 in result.dataset and 0x00091001 not in result.dataset


def test_uid_root_that_reveals_the_organisation_is_flagged() -> None:
    name = "files/ct_series_slice1.dcm"
    root = ".".join(str(original(name).StudyInstanceUID).split(".")[:8])
    profile = load_profile_text(
        'schema_version = 1\nid = "rooted"\ntitle = "t"\nprovenance = "user"\n'
        'base = "ps315_basic"\n[[rules]]\nvr = "UI"\naction = "uid"\n'
        f'root = "{root}"\nreason = "r"\nsource = "s"\n')
    findings = findings_for(name, profile)
    rooted = [f for f in findings if f.element_path == "(0020,000D)"]
    assert rooted and rooted[0].risk_kind is RiskKind.LINKAGE
    assert "organisation" in rooted[0].reason


def test_mask_shows_no_whole_value() -> None:
    assert mask("Quillfeather^Odalys") == "Q…s (19 characters)"
    assert mask("AB") == "** (2 characters)"


@pytest.mark.parametrize(("address", "code"), [
    ("10 Downing Rd, London SW1A 2AA, UK", "SW1A 2AA"),
    ("Kerkstraat 3, 1017 GC Amsterdam, Netherlands", "1017 GC"),
    ("12 Oak St, Springfield, IL 62704, USA", "62704"),
    ("12 Oak St, Springfield, IL 62704-1234, USA", "62704-1234"),
    ("Rua Augusta 112, 1100-053 Lisboa, Portugal", "1100-053"),
    ("ul. Kwiatowa 14, 00-950 Warszawa, Poland", "00-950"),
    ("odos Eolou 78, 104 31 Athina, Greece", "104 31"),
    ("Hauptstr. 1, 10115 Berlin", "10115"),
    ("Calle Mayor 12, 46001 Valencia, Spain", "46001"),
    ("Rue Neuve 4, 1000 Bruxelles, Belgium", "1000"),
    ("no code here", None),
    ("", None),
])
def test_postal_codes(address: str, code: str | None) -> None:
    assert postal_code(address) == code


def test_cohort_postal_codes_match_the_generator_truth() -> None:
    with (SAMPLE / "cohort.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            address = str(original(row["file"]).PatientAddress)
            assert postal_code(address) == row["PostalCode"], row["file"]


def test_qi_sets_are_named_sorted_and_checked() -> None:
    assert parse_qi_set("PostalCode+PatientSex+PatientAge") == (
        "PatientAge", "PatientSex", "PostalCode")
    for bad, words in (("", "empty"), ("PatientAge+Shoe", "unknown keyword"),
                       ("PatientAge+PatientAge", "repeated")):
        with pytest.raises(ValueError, match=words):
            parse_qi_set(bad)


def brute_force(records: list[Record], names: tuple[str, ...], k: int) -> tuple[int, int]:
    """k_min and records below k by comparing every pair of records."""
    sizes = []
    for record in records:
        same = sum(all(record.values[n] == other.values[n] for n in names) for other in records)
        sizes.append(same)
    return min(sizes), sum(size < k for size in sizes)


@cache
def cohort_records() -> list[Record]:
    names = sorted({name for qi in DEFAULT_QI_SETS for name in parse_qi_set(qi)})
    items = []
    for path in sorted((SAMPLE / "cohort").glob("*.dcm")):
        dataset = read_dataset(path)
        output = apply_profile(dataset, KEEP_ALL, secrets=SECRETS).dataset
        items.append((str(path.relative_to(SAMPLE)), str(dataset.PatientID), output))
    return patient_records(items, names)


@pytest.mark.parametrize("qi", DEFAULT_QI_SETS)
@pytest.mark.parametrize("k", [2, 5])
def test_k_anonymity_equals_a_brute_force_count(qi: str, k: int) -> None:
    names = parse_qi_set(qi)
    records = cohort_records()
    result = k_anonymity(records, names, k)
    assert (result.k_min, result.n_records_below_k) == brute_force(records, names, k)
    assert result.n_records == 300


def test_the_sample_cohort_has_small_and_large_classes() -> None:
    result = k_anonymity(cohort_records(), parse_qi_set("PatientAge+PatientSex+PostalCode"), 5)
    assert result.k_min == 1 and 0 < result.n_records_below_k < 300


def test_left_quasi_identifiers_follow_the_profile() -> None:
    names = ["PatientAge", "PatientSex", "PostalCode", "StudyDate"]
    assert left_quasi_identifiers(basic(), names) == set()
    assert left_quasi_identifiers(basic("retain_patient_characteristics"), names) == {
        "PatientAge", "PatientSex"}
    assert left_quasi_identifiers(KEEP_ALL, names) == set(names)


def test_assess_builds_the_tables() -> None:
    names = ["files/ct_series_slice1.dcm", "files/ct_series_slice2.dcm",
             *[f"cohort/coh_{i:04d}.dcm" for i in range(1, 21)]]
    report = assess(((n, original(n)) for n in names), [basic(), KEEP_ALL], secrets=SECRETS,
                    k=5, qi_sets=["PatientAge+PatientSex+PostalCode"])
    kanon = report.k_anonymity.set_index("profile_id")
    assert kanon.loc["keep_all", "n_records"] == 21  # the two slices are one patient
    assert kanon.loc["ps315_basic", "k_min"] == 21
    assert kanon.loc["ps315_basic", "quasi_identifiers_left"] == ""
    combos = report.residual_risk[report.residual_risk.keyword ==
                                  "PatientAge+PatientSex+PostalCode"]
    assert set(combos.profile_id) == {"keep_all"}
    assert len(combos) == kanon.loc["keep_all", "n_records_below_k"]
    coverage = report.aryanto_coverage.set_index("profile_id")
    assert coverage.loc["keep_all", "n_untouched"] == 50
    assert coverage.loc["ps315_basic", "n_untouched"] == 0


def test_catalogue_has_the_aryanto_attributes() -> None:
    aryanto = catalogue().aryanto()
    assert len(aryanto) == 50
    assert {"PatientName", "AccessionNumber", "StudyDate", "PersonName"} <= {
        entry.keyword for entry in aryanto}


@pytest.mark.parametrize(("line", "field"), [
    ('"(0010,0010)",PatientName,secret,high,Y,r', "kind"),
    ('"(0010,0010)",PatientName,direct_identifier,dire,Y,r', "severity"),
    ('"(0010,0010)",PatientName,direct_identifier,high,maybe,r', "aryanto_2015"),
    ('"(0010,0010)",PatientName,direct_identifier,high,Y,', "reason"),
    ('"(0010,00)",PatientName,direct_identifier,high,Y,r', "matcher"),
    ('"(0010,0020)",PatientName,direct_identifier,high,Y,r', "keyword"),
])
def test_bad_catalogue_rows_are_named(tmp_path: Path, line: str, field: str) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_text("matcher,keyword,kind,severity,aryanto_2015,reason\n"
                    "private,,private,medium,N,r\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=f"line 3, field '{field}'"):
        read_catalogue(path)


def test_brute_force_helper_counts_classes() -> None:
    records = [Record(str(i), str(i), {"A": str(i % 2)}) for i in range(5)]
    assert brute_force(records, ("A",), 3) == (2, 2)


def test_class_size_distribution_adds_up() -> None:
    records = cohort_records()
    result = k_anonymity(records, parse_qi_set("PatientAge+PatientSex+PostalCode"), 5)
    assert sum(count for _, count in result.class_sizes) == result.n_records
    assert result.class_sizes[0][0] == result.k_min
    assert sum(count for size, count in result.class_sizes if size < 5) == (
        result.n_records_below_k)


@pytest.mark.parametrize(("history", "severity"), [
    ("stable after surgery, no complaints", "medium"),
    ("mother Rosalind Larkcombe at bedside", "high"),
])
def test_kept_free_text_is_reported_and_a_leak_more_strongly(history: str,
                                                             severity: str) -> None:
    """Free text PS3.15 removes or cleans is a finding whenever a profile keeps it, stronger
    when it repeats the patient's name; a nested identifier is reported at its own path."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from tests.engine_helpers import sample_dataset

    dataset = sample_dataset()
    dataset.PatientName = "Larkcombe^Rosalind"
    dataset.AdditionalPatientHistory = history
    physician = Dataset()
    physician.PersonAddress = "12 Westbury Lane, Bristol"
    dataset.ReferringPhysicianIdentificationSequence = Sequence([physician])
    findings = assess([("one.dcm", dataset)], [KEEP_ALL], secrets=SECRETS).residual_risk
    history_rows = findings[findings["element_path"] == "(0010,21B0)"]
    assert set(zip(history_rows["risk_kind"], history_rows["severity"], strict=True)) == {
        ("free_text", severity)}
    nested = findings[findings["element_path"] == "(0008,0096)[0].(0040,1102)"]
    assert set(nested["risk_kind"]) == {"direct_identifier"}
