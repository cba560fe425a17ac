"""What the written copies claim is what was done, and what the tables say leaks nothing:
file meta, markers, pseudonyms per profile, actions that change nothing, item character sets,
damaged pixel data, and original values in load_errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

import deid
from deid import Secrets, apply_profile, load_profile
from deid.ingest.reader import Elements, ReadError, check_whole
from deid.ingest.tree import Node
from deid.outputs.compare import profile_actions
from deid.outputs.effects import required_secrets
from deid.transform.markers import CID_7050
from deid.transform.semantics import DEFAULT_WRITER, WriterIdentity
from tests.engine_helpers import basic, profile, sample_dataset, to_bytes, write_file

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SECRETS = Secrets({"default": "truth-test", "site": "truth-site"})
SITE_META = SAMPLE / "files" / "mr_site_meta_and_contacts.dcm"


def codes(dataset: Dataset) -> list[str]:
    return [item.CodeValue for item in dataset.get("DeidentificationMethodCodeSequence", [])]


# -- file meta (PS3.10) ----------------------------------------------------------------------

def test_file_meta_names_the_writer_and_drops_the_sites_titles() -> None:
    original = pydicom.dcmread(SITE_META)
    result = apply_profile(original, load_profile("ps315_basic"), secrets=SECRETS)
    meta = result.dataset.file_meta
    assert meta.SourceApplicationEntityTitle == DEFAULT_WRITER.source_ae_title
    assert meta.ImplementationClassUID == DEFAULT_WRITER.implementation_class_uid
    assert meta.ImplementationVersionName == DEFAULT_WRITER.implementation_version_name
    for keyword in ("SendingApplicationEntityTitle", "ReceivingApplicationEntityTitle",
                    "PrivateInformationCreatorUID", "PrivateInformation"):
        assert keyword not in meta
    written = to_bytes(result.dataset)
    assert written[:128] == b"\0" * 128  # the preamble named the patient
    effects = {effect.path: effect for effect in result.effects}
    assert effects["(0002,0017)"].action.value == "remove"
    assert effects["(0002,0016)"].effect.value == "modify"


def test_a_rule_that_names_a_meta_element_keeps_it_and_it_is_reviewed() -> None:
    keeps = profile('unlisted = "keep"\nprivate_tags = "keep"\n[[rules]]\ntag = "(0002,0017)"\n'
                    'action = "keep"\nreason = "r"\nsource = "s"\n')
    original = pydicom.dcmread(SITE_META)
    result = apply_profile(original, keeps, secrets=SECRETS)
    assert result.dataset.file_meta.SendingApplicationEntityTitle == "FENNIMORE_PACS"
    assert "ReceivingApplicationEntityTitle" not in result.dataset.file_meta
    report = deid.assess([("f.dcm", original)], [keeps], secrets=SECRETS)
    found = report.residual_risk
    assert "(0002,0017)" in set(found["element_path"])


def test_the_source_ae_title_is_configurable_and_checked() -> None:
    writer = WriterIdentity(source_ae_title="RESEARCH_HUB")
    result = apply_profile(pydicom.dcmread(SITE_META), load_profile("ps315_basic"),
                           secrets=SECRETS, writer=writer)
    assert result.dataset.file_meta.SourceApplicationEntityTitle == "RESEARCH_HUB"
    for bad in ("", "A" * 17, "BACK\\SLASH"):
        with pytest.raises(ValueError, match="Source AE Title"):
            WriterIdentity(source_ae_title=bad)


# -- markers: only what was done -------------------------------------------------------------

def test_the_basic_profile_code_only_when_the_basic_profile_is_met() -> None:
    dataset = sample_dataset()
    dataset.PatientSex = "F"
    assert codes(apply_profile(dataset, basic(), secrets=SECRETS).dataset) == [
        CID_7050["basic"]]
    keeps_sex = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientSex"\n'
                        'action = "keep"\nreason = "r"\nsource = "s"\n')
    output = apply_profile(dataset, keeps_sex, secrets=SECRETS).dataset
    assert codes(output) == []
    assert "PatientSex kept" in list(output.DeidentificationMethod)
    option = apply_profile(dataset, basic("retain_patient_characteristics"),
                           secrets=SECRETS).dataset
    assert codes(option) == [CID_7050["basic"], CID_7050["retain_patient_characteristics"]]


def test_an_option_code_only_when_the_file_needed_it() -> None:
    dataset = sample_dataset()
    for keyword in ("PatientSex", "PatientAge", "PatientWeight", "PatientSize"):
        if keyword in dataset:
            delattr(dataset, keyword)
    output = apply_profile(dataset, basic("retain_patient_characteristics"),
                           secrets=SECRETS).dataset
    assert CID_7050["retain_patient_characteristics"] not in codes(output)


def test_patient_identity_removed_says_no_when_a_name_is_left() -> None:
    keeps_name = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientName"\n'
                         'action = "keep"\nreason = "r"\nsource = "s"\n')
    output = apply_profile(sample_dataset(), keeps_name, secrets=SECRETS).dataset
    assert output.PatientIdentityRemoved == "NO"
    assert apply_profile(sample_dataset(), basic(), secrets=SECRETS).dataset \
        .PatientIdentityRemoved == "YES"


def test_temporal_marker_follows_what_happened_to_the_dates() -> None:
    dataset = sample_dataset()
    assert apply_profile(dataset, basic(), secrets=SECRETS).dataset \
        .LongitudinalTemporalInformationModified == "REMOVED"
    shifted = apply_profile(dataset, basic("retain_long_modified_dates"), secrets=SECRETS)
    assert shifted.dataset.LongitudinalTemporalInformationModified == "MODIFIED"
    kept = apply_profile(dataset, basic("retain_long_full_dates"), secrets=SECRETS)
    assert kept.dataset.LongitudinalTemporalInformationModified == "UNMODIFIED"


# -- an action that changes nothing is not a change ------------------------------------------

def test_a_day_shift_keeps_a_time_and_says_so() -> None:
    shifts = basic("retain_long_modified_dates")
    dataset = sample_dataset()
    dataset.StudyTime = "131905"
    result = apply_profile(dataset, shifts, secrets=SECRETS)
    effect = next(e for e in result.effects if e.keyword == "StudyTime")
    assert (effect.action.value, effect.effect.value) == ("keep", "keep")
    assert "whole-day date shift" in effect.reason
    assert result.dataset.StudyTime == "131905"
    actions = profile_actions([shifts]).set_index("tag")
    assert actions.loc["(0008,0030)", "action"] == "keep"  # the comparison says the same
    assert actions.loc["(0008,0020)", "action"] == "shift_date"


def test_a_result_equal_to_the_input_is_keep_whatever_the_action() -> None:
    rounds = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientWeight"\n'
                     'action = "round"\nstep = 5\nreason = "r"\nsource = "s"\n')
    dataset = sample_dataset()
    dataset.PatientWeight = "80"
    effect = next(e for e in apply_profile(dataset, rounds, secrets=SECRETS).effects
                  if e.keyword == "PatientWeight")
    assert (effect.action.value, effect.effect.value) == ("round", "keep")
    assert "unchanged" in effect.note


@pytest.mark.parametrize(("size", "expected"), [("1.65", "1.65"), ("1.90", "1.9"),
                                                 ("1.69", "1.65"), ("0.30", "0.3")])
def test_round_is_exact_on_decimal_values(size: str, expected: str) -> None:
    rounds = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientSize"\n'
                     'action = "round"\nstep = 0.05\nreason = "r"\nsource = "s"\n')
    dataset = sample_dataset()
    dataset.PatientSize = size
    assert apply_profile(dataset, rounds, secrets=SECRETS).dataset.PatientSize == float(expected)


def test_a_transform_that_raises_anything_fails_closed() -> None:
    rounds = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientSize"\n'
                     'action = "round"\nstep = 0.05\nreason = "r"\nsource = "s"\n')
    dataset = sample_dataset()
    dataset.PatientSize = "1e400"
    result = apply_profile(dataset, rounds, secrets=SECRETS)
    effect = next(e for e in result.effects if e.keyword == "PatientSize")
    assert effect.action.value == "remove" and "PatientSize" not in result.dataset
    assert "could not be applied" in effect.note


# -- pseudonyms per profile ------------------------------------------------------------------

def _pseudonymising(profile_id: str, linkage: str = "") -> deid.Profile:
    return deid.load_profile_text(
        f'schema_version = 1\nid = "{profile_id}"\ntitle = "t"\nprovenance = "user"\n'
        f'base = "ps315_basic"\n{linkage}[[rules]]\nkeyword = "PatientID"\n'
        'action = "pseudonym"\ntemplate = "P{hash:16}"\nreason = "r"\nsource = "s"\n')


def test_two_profiles_with_one_secret_give_unlinkable_pseudonyms() -> None:
    dataset = sample_dataset()
    first = apply_profile(dataset, _pseudonymising("first"), secrets=SECRETS).dataset
    second = apply_profile(dataset, _pseudonymising("second"), secrets=SECRETS).dataset
    assert first.PatientID != second.PatientID
    assert first.PatientID[1:] not in second.PatientID
    assert first.StudyInstanceUID != second.StudyInstanceUID  # UIDs too


def _hashing_and_shifting(profile_id: str, linkage: str = "") -> deid.Profile:
    return deid.load_profile_text(
        f'schema_version = 1\nid = "{profile_id}"\ntitle = "t"\nprovenance = "user"\n'
        f'base = "ps315_basic"\n{linkage}'
        '[[rules]]\nkeyword = "AccessionNumber"\naction = "hash"\nreason = "r"\nsource = "s"\n'
        '[[rules]]\nkeyword = "StudyDate"\naction = "shift_date"\nreason = "r"\nsource = "s"\n')


@pytest.mark.parametrize("linked", [False, True])
def test_hashes_and_date_offsets_are_per_profile_unless_linked(linked: bool) -> None:
    dataset = sample_dataset()
    dataset.AccessionNumber, dataset.StudyDate = "ACC-20210517-0042", "20210517"
    linkage = 'linkage = ["default"]\n' if linked else ""
    first, second = (apply_profile(dataset, _hashing_and_shifting(pid, linkage),
                                   secrets=SECRETS).dataset for pid in ("first", "second"))
    assert first.AccessionNumber != dataset.AccessionNumber
    assert first.StudyDate != dataset.StudyDate
    assert (first.AccessionNumber == second.AccessionNumber) is linked
    assert (first.StudyDate == second.StudyDate) is linked


def test_a_named_linkage_secret_links_on_purpose() -> None:
    dataset = sample_dataset()
    linked = 'linkage = ["default"]\n'
    first = apply_profile(dataset, _pseudonymising("first", linked), secrets=SECRETS).dataset
    second = apply_profile(dataset, _pseudonymising("second", linked), secrets=SECRETS).dataset
    assert first.PatientID == second.PatientID


def test_shipped_chaimeleon_and_primage_pseudonyms_are_not_linkable() -> None:
    dataset = sample_dataset()
    chaimeleon = apply_profile(dataset, load_profile("chaimeleon_images_w_ecrfs"),
                               secrets=SECRETS).dataset
    primage = apply_profile(dataset, load_profile("primage"), secrets=SECRETS).dataset
    assert str(chaimeleon.PatientID) not in str(primage.PatientID)


# -- the fast reader and the engine on an item with its own character set --------------------

def test_an_item_with_its_own_character_set_reads_and_writes_the_same(tmp_path: Path) -> None:
    dataset = sample_dataset()
    dataset.SpecificCharacterSet = "ISO_IR 100"
    item = Dataset()
    item.SpecificCharacterSet = "ISO_IR 192"
    item.PersonName = "Müller^Jürgen"
    dataset.ContentSequence = Sequence([item])
    path = write_file(tmp_path / "item.dcm", dataset)
    pseudonym = profile('unlisted = "keep"\nprivate_tags = "keep"\n[[rules]]\n'
                        'keyword = "PersonName"\naction = "hash"\nlength = 12\nreason = "r"\n'
                        'source = "s"\n')
    result = deid.apply_profiles([str(path)], [pseudonym], secrets=SECRETS,
                                 include_values=True, write_dicom=tmp_path / "out", workers=1)
    row = result.effects[result.effects["keyword"] == "PersonName"].iloc[0]
    assert row["original_value"] == "Müller^Jürgen"
    written = pydicom.dcmread(tmp_path / "out" / pseudonym.id / "item.dcm")
    assert written.ContentSequence[0].PersonName == row["result_value"]
    fast = deid.apply_profiles([str(path)], [pseudonym], secrets=SECRETS, include_values=True,
                               workers=1).effects
    assert fast[fast["keyword"] == "PersonName"].iloc[0]["result_value"] == row["result_value"]


# -- damaged input is a load error, never a silent loss --------------------------------------

def test_a_whole_read_that_lost_elements_is_refused() -> None:
    node = Node(0x00100010, "PN", None, "A^B", "A^B", None, 0)
    with pytest.raises(ReadError, match="could not be read whole"):
        check_whole(Elements([], [node]), Dataset())


def test_load_errors_carry_no_original_value_unless_asked(tmp_path: Path) -> None:
    dataset = sample_dataset()
    tag = Tag(0x00200013)  # InstanceNumber that is no number, written as raw bytes
    dataset[tag] = RawDataElement(tag, "IS", 12, b"MRN12345678X", 0, False, True)
    path = write_file(tmp_path / "bad_is.dcm", dataset)
    hidden = deid.load_headers([str(path)]).load_errors
    assert len(hidden) and not hidden["message"].str.contains("MRN12345678").any()
    shown = deid.load_headers([str(path)], include_values=True).load_errors
    assert shown["message"].str.contains("MRN12345678").any()


def test_writing_a_copy_warns_with_no_original_value(tmp_path: Path) -> None:
    """pydicom's warnings while a copy is written quote values: they never reach the console
    (what they say is in load_errors, masked)."""
    dataset = sample_dataset()
    tag = Tag(0x00200013)
    dataset[tag] = RawDataElement(tag, "IS", 12, b"MRN12345678X", 0, False, True)
    path = write_file(tmp_path / "bad_is.dcm", dataset)
    profiles = [deid.load_profile("ps315_basic"), deid.load_profile("procancer_i")]
    secrets = deid.Secrets({name: "w" for name in required_secrets(profiles)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = deid.apply_profiles([str(path)], profiles, secrets=secrets,
                                     write_dicom=tmp_path / "out", workers=1)
    assert set(result.effects["writer"].astype(str)) == {"pydicom"}
    assert not [str(w.message) for w in caught if "MRN12345678" in str(w.message)]
    assert not result.load_errors["message"].str.contains("MRN12345678").any()
