"""One semantics for what happens to an element, and the edges where it broke: every executor
(the engine, the effects table from element trees, the risk model) decides through
``deid.transform.semantics`` and agrees on multi-valued names, the patient, UID roots, rule
precedence and transforms that fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset

import deid
from deid import ProfileError, Secrets, apply_profile, load_profile_text
from deid.ingest.tree import build_tree
from deid.policy.actions import MIN_UID_DIGITS
from deid.risk.report import assess
from deid.transform import semantics
from deid.transform.values import keyed_uid
from tests.engine_helpers import basic, profile, sample_dataset, write_file

SECRETS = Secrets({"default": "one-semantics"})
CLEAN = basic("clean_descriptors")


def test_multi_valued_names_are_scrubbed_alike_by_the_engine_and_the_effects_table(
        tmp_path: Path) -> None:
    dataset = sample_dataset()
    dataset.OperatorsName = ["Abelard^Pierre", "Heloise^Xavier"]
    dataset.StudyDescription = "CT by Abelard, read by Heloise"
    written = apply_profile(dataset, CLEAN, secrets=SECRETS).dataset.StudyDescription
    assert written == "CT by ***, read by ***"
    path = write_file(tmp_path / "ct.dcm", dataset)
    effects = deid.apply_profiles([str(path)], [CLEAN], secrets=SECRETS, include_values=True,
                                  workers=1).effects
    row = effects[effects["keyword"] == "StudyDescription"].iloc[0]
    assert row["result_value"] == written


def test_identifiers_are_collected_from_every_value_of_every_person_name() -> None:
    dataset = Dataset()
    dataset.OperatorsName = ["Abelard^Pierre", "Heloise^Xavier"]
    tokens = semantics.collect_identifiers(build_tree(dataset)[1])
    assert {"Abelard", "Pierre", "Heloise", "Xavier", "Abelard^Pierre"} <= set(tokens)
    assert not any("[" in token or "'" in token for token in tokens)


def _patient(patient_id: str | None, issuer: str | None = None, name: str = "Doe^Jane",
             age: str = "040Y") -> Dataset:
    dataset = Dataset()
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.PatientName = name
    if patient_id is not None:
        dataset.PatientID = patient_id
    if issuer is not None:
        dataset.IssuerOfPatientID = issuer
    dataset.PatientAge, dataset.PatientSex = age, "F"
    return dataset


KEEP_ALL = profile('unlisted = "keep"\nprivate_tags = "keep"\n')


def _records(datasets: list[Dataset]) -> int:
    report = assess(((f"f{number}.dcm", dataset) for number, dataset in enumerate(datasets)),
                    [KEEP_ALL], secrets=SECRETS, qi_sets=["PatientAge+PatientSex"])
    return int(report.k_anonymity["n_records"].iloc[0])


def test_six_slices_without_a_patient_id_are_one_patient() -> None:
    assert _records([_patient(None) for _ in range(6)]) == 1


def test_one_id_at_two_sites_is_two_patients() -> None:
    assert _records([_patient("P1", "SITE-A"), _patient("P1", "SITE-B")]) == 2
    assert _records([_patient("P1", "SITE-A"), _patient("P1", "SITE-A")]) == 1


def test_the_engine_and_the_risk_model_share_the_patient_key() -> None:
    tree = build_tree(_patient("P1", "SITE-A"))[1]
    assert semantics.patient_key(tree) == "SITE-A|P1"
    assert semantics.patient_key(build_tree(_patient("P1"))[1]) == "P1"
    assert semantics.patient_key(build_tree(_patient(None))[1]).startswith("name:Doe^Jane")
    offsets = {apply_profile(_patient("P1", issuer), basic("retain_long_modified_dates"),
                             secrets=SECRETS).plan.patient_key for issuer in ("A", "B")}
    assert offsets == {"A|P1", "B|P1"}


def _uid_profile(root: str) -> str:
    return ('schema_version = 1\nid = "r"\ntitle = "t"\nprovenance = "user"\n'
            'unlisted = "keep"\nprivate_tags = "keep"\nparams = { UIDROOT = "' + root + '" }\n'
            '[[rules]]\nvr = "UI"\naction = "uid"\nroot = "{UIDROOT}"\nreason = "r"\n'
            'source = "s"\n')


@pytest.mark.parametrize("root", ["1." + "2" * 58, "1." + "2" * 62, "1.02.3", "1.2.", "1.a"])
def test_unusable_uid_roots_are_refused_at_load(root: str) -> None:
    with pytest.raises(ProfileError, match=r"rule 1, field 'root'"):
        load_profile_text(_uid_profile(root))


def test_the_longest_root_allowed_still_keeps_every_uid_distinct() -> None:
    root = "1." + "9" * (64 - 1 - MIN_UID_DIGITS - 2)
    loaded = load_profile_text(_uid_profile(root))
    new = {keyed_uid(f"1.2.3.{number}", b"k", root) for number in range(2000)}
    assert len(new) == 2000 and all(len(uid) <= 64 for uid in new)
    assert loaded.rules[0].params["root"] == "{UIDROOT}"
    with pytest.raises(ValueError, match="characters"):
        keyed_uid("1.2.3", b"k", root + "9")


def test_a_more_specific_private_element_rule_wins_whatever_the_order() -> None:
    rules = ('unlisted = "keep"\nprivate_tags = "keep"\n'
             '[[rules]]\nprivate_creator = "ACME 1.0"\nelement = "(0029,xx10)"\n'
             'action = "remove"\nreason = "r"\nsource = "s"\n'
             '[[rules]]\nprivate_creator = "ACME 1.0"\nelement = "(0029,1010)"\n'
             'action = "keep"\nreason = "r"\nsource = "s"\n')
    resolver = deid.resolver_for(profile(rules))
    assert resolver.decide(0x00291010, "OB", "ACME 1.0").action.value == "keep"
    assert resolver.decide(0x00291110, "OB", "ACME 1.0").action.value == "remove"


def test_a_child_naming_the_standard_table_keeps_its_bases_options(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(
        'schema_version = 1\nid = "base"\ntitle = "b"\nprovenance = "user"\n'
        'base = "ps315_basic"\noptions = ["retain_uids"]\n')
    (tmp_path / "child.toml").write_text(
        'schema_version = 1\nid = "child"\ntitle = "c"\nprovenance = "user"\nbase = "base"\n'
        'standard_table = "E.1-1"\n')
    child = deid.load_profile(str(tmp_path / "child.toml"))
    assert deid.resolver_for(child).decide(0x0020000D, "UI").action.value == "keep"
    output = apply_profile(sample_dataset(), child, secrets=SECRETS).dataset
    assert output.StudyInstanceUID == sample_dataset().StudyInstanceUID
    codes = [item.CodeValue for item in output.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113110"]  # what was done: Basic and Retain UIDs


def test_the_end_of_a_date_time_range_is_shifted_too() -> None:
    shift = profile('unlisted = "keep"\nprivate_tags = "keep"\n[[rules]]\nvr = "DT"\n'
                    'action = "shift_date"\ndays = -10\nreason = "r"\nsource = "s"\n')
    dataset = sample_dataset()
    dataset.AcquisitionDateTime = "20210517101500-20210518090000"
    output = apply_profile(dataset, shift, secrets=SECRETS).dataset
    assert output.AcquisitionDateTime == "20210507101500-20210508090000"


def test_an_overflowing_number_fails_closed_on_its_element_only() -> None:
    rounds = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientWeight"\n'
                     'action = "round"\nstep = 5\nreason = "r"\nsource = "s"\n')
    dataset = sample_dataset()
    dataset.PatientWeight = "1e400"
    result = apply_profile(dataset, rounds, secrets=SECRETS)
    weight = next(e for e in result.effects if e.keyword == "PatientWeight")
    assert weight.action.value == "remove" and "could not be applied" in weight.note
    assert any(warning.startswith("(0010,1030)") for warning in result.warnings)
    assert "PatientWeight" not in result.dataset
    assert result.dataset.PatientIdentityRemoved == "YES"  # the rest of the file is done
