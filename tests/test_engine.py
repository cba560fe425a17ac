"""The engine on data sets: nesting, private blocks, repeating groups, file meta, safety."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from deid import (
    Action,
    DeidError,
    DicomInputError,
    Effect,
    SecretMissingError,
    Secrets,
    apply_profile,
    read_dataset,
)
from deid.transform.dispatch import DerivedKeys
from deid.transform.semantics import DEFAULT_WRITER
from deid.transform.values import digest
from tests.engine_helpers import (
    all_text,
    basic,
    from_bytes,
    item,
    profile,
    sample_dataset,
    to_bytes,
    write_file,
)

SECRETS = Secrets({"default": "engine-test"})
PLANTED = ["Quillfeather", "MRN-48213977", "19580412", "ACC-771902", "Hospital Zantrovia",
           "RP-99812", "1.2.826.0.1.3680043.8.498.100"]


def effects_by_path(result):  # type: ignore[no-untyped-def]
    return {effect.path: effect for effect in result.effects}


def test_input_dataset_is_never_modified() -> None:
    dataset = sample_dataset()
    before = to_bytes(dataset)
    snapshot = copy.deepcopy(dataset)
    result = apply_profile(dataset, basic(), secrets=SECRETS)
    assert to_bytes(dataset) == before
    assert dataset == snapshot
    result.dataset.PatientSex = "M"
    result.dataset.ReferencedImageSequence[0].ReferencedSOPClassUID = "1.2.3"
    assert to_bytes(dataset) == before


def test_basic_profile_leaves_no_planted_value_and_output_reads_back() -> None:
    result = apply_profile(sample_dataset(), basic(), secrets=SECRETS)
    reread = from_bytes(to_bytes(result.dataset))
    text = "\n".join(all_text(reread))
    for value in PLANTED:
        assert value not in text, value


def test_every_element_is_reported_with_its_path() -> None:
    result = apply_profile(sample_dataset(), basic(), secrets=SECRETS)
    paths = effects_by_path(result)
    nested = paths["(0040,0275)"]
    assert nested.action is Action.REMOVE  # RequestAttributesSequence is X
    assert "(0008,1140)[0].(0008,1155)" in paths  # ReferencedImageSequence: U inside
    inner = paths["(0008,1140)[0].(0008,1155)"]
    assert inner.action is Action.UID and inner.depth == 1
    assert inner.before == "1.2.826.0.1.3680043.8.498.1000" and inner.after != inner.before
    assert paths["(0010,0010)"].effect is Effect.MODIFY
    assert paths["(0028,0010)"].effect is Effect.KEEP
    assert [e.path for e in result.effects] == sorted(
        (e.path for e in result.effects), key=lambda p: [(part[:11], part[11:])
                                                       for part in p.split(".")])


def test_nested_rules_apply_at_any_depth() -> None:
    dataset = Dataset()
    dataset.PatientID = "P1"
    deep = item(AccessionNumber="DEEP-ACC-1")
    for _ in range(6):
        deep = item(RequestAttributesSequence=Sequence([deep]))
    dataset.ReferencedStudySequence = Sequence([deep])
    keep_sequences = profile('unlisted = "keep"\nprivate_tags = "remove"\n'
                             '[[rules]]\nkeyword = "AccessionNumber"\naction = "remove"\n'
                             'reason = "r"\nsource = "s"\n')
    result = apply_profile(dataset, keep_sequences, secrets=SECRETS)
    assert "DEEP-ACC-1" not in "\n".join(all_text(result.dataset))
    deepest = [e for e in result.effects if e.keyword == "AccessionNumber"]
    assert deepest[0].depth == 7 and deepest[0].action is Action.REMOVE


def test_media_storage_uid_follows_sop_instance_uid() -> None:
    result = apply_profile(sample_dataset(), basic(), secrets=SECRETS)
    assert result.dataset.file_meta.MediaStorageSOPInstanceUID == result.dataset.SOPInstanceUID
    assert result.dataset.SOPInstanceUID != sample_dataset().SOPInstanceUID
    kept = apply_profile(sample_dataset(), basic("retain_uids"), secrets=SECRETS)
    assert kept.dataset.SOPInstanceUID == sample_dataset().SOPInstanceUID
    assert kept.dataset.file_meta.MediaStorageSOPInstanceUID == kept.dataset.SOPInstanceUID


def test_uid_remapping_is_consistent_across_references() -> None:
    dataset = sample_dataset()
    dataset.ReferencedImageSequence[0].ReferencedSOPInstanceUID = dataset.SeriesInstanceUID
    result = apply_profile(dataset, basic(), secrets=SECRETS).dataset
    reference = result.ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert reference == result.SeriesInstanceUID != dataset.SeriesInstanceUID
    again = apply_profile(sample_dataset(), basic(), secrets=SECRETS).dataset
    assert again.StudyInstanceUID == result.StudyInstanceUID


def test_private_blocks_by_creator_and_safe_private() -> None:
    safe = apply_profile(sample_dataset(), basic("retain_safe_private"), secrets=SECRETS)
    paths = effects_by_path(safe)
    assert paths["(7053,1000)"].action is Action.KEEP
    assert paths["(7053,0010)"].action is Action.KEEP  # its creator stays with it
    assert paths["(0029,1010)"].action is Action.REMOVE
    assert paths["(0029,0010)"].action is Action.REMOVE  # no element of the block kept
    assert paths["(0029,1010)"].private_creator == "SIEMENS CSA HEADER"
    block = safe.dataset.private_block(0x7053, "Philips PET Private Group")
    assert block[0x00].value == "1.234"
    keep_csa = profile('base = "ps315_basic"\n[[rules]]\nprivate_creator = "SIEMENS CSA HEADER"'
                       '\nelement = "(0029,xx20)"\naction = "keep"\nreason = "r"\nsource = "s"\n')
    result = apply_profile(sample_dataset(), keep_csa, secrets=SECRETS)
    paths = effects_by_path(result)
    assert paths["(0029,1020)"].action is Action.KEEP
    assert paths["(0029,1010)"].action is Action.REMOVE
    assert paths["(0029,0010)"].action is Action.KEEP


def test_repeating_groups_follow_patterns() -> None:
    dataset = sample_dataset()
    dataset.add_new(0x60023000, "OW", b"\x01\x00" * 4)
    result = apply_profile(dataset, basic(), secrets=SECRETS)
    assert 0x60003000 not in result.dataset and 0x60023000 not in result.dataset
    keep_overlays = profile('base = "ps315_basic"\n[[rules]]\npattern = "(60xx,3000)"\n'
                            'action = "keep"\nreason = "r"\nsource = "s"\n')
    result = apply_profile(dataset, keep_overlays, secrets=SECRETS)
    assert 0x60023000 in result.dataset and 0x60004000 not in result.dataset


def test_markers_record_the_method() -> None:
    result = apply_profile(sample_dataset(), basic("retain_uids", "clean_descriptors"),
                           secrets=SECRETS)
    output = result.dataset
    assert output.PatientIdentityRemoved == "YES"
    assert output.DeidentificationMethod == "deid profile t"
    codes = [entry.CodeValue for entry in output.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113110", "113105"]
    assert output.LongitudinalTemporalInformationModified == "REMOVED"
    shifted = apply_profile(sample_dataset(), basic("retain_long_modified_dates"),
                            secrets=SECRETS)
    assert shifted.dataset.LongitudinalTemporalInformationModified == "MODIFIED"
    full = apply_profile(sample_dataset(), basic("retain_long_full_dates"), secrets=SECRETS)
    assert full.dataset.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_keep_everything_changes_nothing_and_adds_no_markers() -> None:
    keep_all = profile('unlisted = "keep"\nprivate_tags = "keep"\n')
    dataset = sample_dataset()
    result = apply_profile(dataset, keep_all, secrets=SECRETS)
    body = [effect for effect in result.effects if not effect.tag.startswith("(0002,")]
    assert body and all(effect.effect is Effect.KEEP for effect in body)
    assert "PatientIdentityRemoved" not in result.dataset
    assert result.dataset.PatientName == dataset.PatientName
    assert list(result.dataset) == list(dataset)
    # the file meta names this writer, not the original one (PS3.10 7.1)
    meta = result.dataset.file_meta
    assert meta.ImplementationClassUID == DEFAULT_WRITER.implementation_class_uid
    assert meta.SourceApplicationEntityTitle == DEFAULT_WRITER.source_ae_title


def test_clean_structured_content_cleans_text_inside() -> None:
    dataset = sample_dataset()
    dataset.ContentSequence = Sequence([item(
        ValueType="TEXT", TextValue="Seen by Quillfeather on 2021-05-17, MRN-48213977.",
        ContentSequence=Sequence([item(ValueType="TEXT", TextValue="No focal lesion.")]))])
    dummy = apply_profile(dataset, basic(), secrets=SECRETS)
    # D on a sequence: its structure is kept, what it says is replaced
    first = dummy.dataset.ContentSequence[0]
    assert first.ValueType == "TEXT" and first.TextValue == "ANONYMIZED"
    assert first.ContentSequence[0].TextValue == "ANONYMIZED"
    cleaned = apply_profile(dataset, basic("clean_structured_content"), secrets=SECRETS)
    first = cleaned.dataset.ContentSequence[0]
    assert "Quillfeather" not in first.TextValue and "MRN-48213977" not in first.TextValue
    assert "2021-05-17" not in first.TextValue and first.TextValue.startswith("Seen by ***")
    assert first.ContentSequence[0].TextValue == "No focal lesion."


def test_clean_descriptors_scrubs_identifiers_but_keeps_words() -> None:
    result = apply_profile(sample_dataset(), basic("clean_descriptors"), secrets=SECRETS)
    assert result.dataset.StudyDescription == "CT chest for *** ***"


def test_fail_closed_when_a_value_cannot_be_transformed() -> None:
    dataset = sample_dataset()
    dataset.StudyDate = "17/05/2021"  # not a DICOM date
    shift = profile('base = "ps315_basic"\n[[rules]]\nkeyword = "StudyDate"\n'
                    'action = "shift_date"\nreason = "r"\nsource = "s"\n')
    result = apply_profile(dataset, shift, secrets=SECRETS)
    effect = effects_by_path(result)["(0008,0020)"]
    # failed closed: no value left; StudyDate is Type 2 in the CT IOD, so it stays, empty
    assert effect.action is Action.EMPTY and "could not be applied" in effect.note
    assert result.dataset.StudyDate == ""
    assert any("(0008,0020)" in warning for warning in result.warnings)


def test_undecodable_values_are_removed_unless_kept() -> None:
    dataset = sample_dataset()
    rows, age = Tag(0x00280010), Tag(0x00101010)
    dataset[rows] = RawDataElement(rows, "US", 3, b"\x01\x02\x03", 0, False, True)
    dataset[age] = RawDataElement(age, "XX", 4, b"063Y", 0, False, True)
    result = apply_profile(dataset, basic("retain_patient_characteristics"), secrets=SECRETS)
    paths = effects_by_path(result)
    assert paths["(0028,0010)"].action is Action.KEEP  # Rows is unlisted: kept as raw bytes
    assert result.dataset[rows].VR == "UN" and result.dataset[rows].value == b"\x01\x02\x03"
    assert paths["(0010,1010)"].action is Action.KEEP  # PatientAge kept by the option
    removed = apply_profile(dataset, basic(), secrets=SECRETS)
    assert effects_by_path(removed)["(0010,1010)"].action is Action.REMOVE
    assert age not in removed.dataset
    assert "could not be decoded" in effects_by_path(removed)["(0010,1010)"].note
    from_bytes(to_bytes(result.dataset))
    from_bytes(to_bytes(removed.dataset))


def test_hash_and_pseudonym_are_keyed_and_fit_the_vr() -> None:
    rules = ('base = "ps315_basic"\nparams = { SITE = "VAL" }\n'
             '[[rules]]\nkeyword = "PatientID"\naction = "pseudonym"\n'
             'template = "{SITE}-{hash:10}"\nreason = "r"\nsource = "s"\n'
             '[[rules]]\nkeyword = "AccessionNumber"\naction = "hash"\nlength = 12\n'
             'prefix = "A"\nreason = "r"\nsource = "s"\n'
             '[[rules]]\nkeyword = "PatientName"\naction = "pseudonym"\n'
             'template = "PCa-{patient:8}"\nreason = "r"\nsource = "s"\n')
    result = apply_profile(sample_dataset(), profile(rules), secrets=SECRETS)
    output = result.dataset
    assert output.PatientID.startswith("VAL-") and len(output.PatientID) == 14
    assert len(output.AccessionNumber) == 13 and output.AccessionNumber.startswith("A")
    assert str(output.PatientName).startswith("PCa-") and len(str(output.PatientName)) == 12
    other = apply_profile(sample_dataset(), profile(rules), secrets=Secrets({"default": "x"}))
    assert other.dataset.PatientID != output.PatientID


def test_missing_secret_is_a_clear_error() -> None:
    with pytest.raises(SecretMissingError, match="DEID_SECRET"):
        apply_profile(sample_dataset(), basic(), secrets=Secrets())


def test_secrets_from_environment() -> None:
    secrets = Secrets.from_env({"DEID_SECRET": "s3cr3t-1", "DEID_SECRET_SITE": "s3cr3t-2",
                                "HOME": "/"})
    assert secrets.names() == ("default", "site")
    assert secrets.get("site") == b"s3cr3t-2"
    assert "s3cr3t" not in repr(secrets)


def test_apply_profile_rejects_what_is_not_a_dataset() -> None:
    with pytest.raises(DeidError, match="needs a pydicom Dataset"):
        apply_profile(b"DICM", basic(), secrets=SECRETS)  # type: ignore[arg-type]


@pytest.mark.parametrize(("content", "words"), [
    (b"", "not a DICOM file"),
    (b"\x00" * 128 + b"DICM" + b"\x02\x00", "cannot read"),
    (bytes(range(256)) * 4, "not a DICOM file"),
    (b"hello, this is not DICOM at all", "not a DICOM file"),
])
def test_bad_dicom_input_is_a_clear_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "input.dcm"
    path.write_bytes(content)
    with pytest.raises(DicomInputError, match=words) as caught:
        read_dataset(path)
    assert str(path) in str(caught.value)


def test_missing_and_folder_inputs(tmp_path: Path) -> None:
    with pytest.raises(DicomInputError, match="no such file"):
        read_dataset(tmp_path / "absent.dcm")
    with pytest.raises(DicomInputError, match="folder"):
        read_dataset(tmp_path)


def test_reading_and_applying_never_touches_the_file(tmp_path: Path) -> None:
    path = write_file(tmp_path / "ct.dcm", sample_dataset())
    before = path.read_bytes()
    result = apply_profile(read_dataset(path), basic(), secrets=SECRETS)
    write_file(tmp_path / "out.dcm", result.dataset)
    assert path.read_bytes() == before


def test_character_sets_survive() -> None:
    dataset = sample_dataset()
    dataset.SeriesDescription = "Körper Übersicht"
    keep_all = profile('unlisted = "keep"\nprivate_tags = "keep"\n')
    result = apply_profile(dataset, keep_all, secrets=SECRETS)
    assert from_bytes(to_bytes(result.dataset)).SeriesDescription == "Körper Übersicht"


def test_hash_input_template_combines_parameters_and_value() -> None:
    rules = ('base = "ps315_basic"\nparams = { SITE_ID = "S01" }\n'
             '[[rules]]\nkeyword = "PatientID"\naction = "pseudonym"\n'
             'template = "PCa{hash:12}"\ninput = "{SITE_ID}{value}"\nreason = "r"\n'
             'source = "s"\n')
    applied = profile(rules)
    output = apply_profile(sample_dataset(), applied, secrets=SECRETS).dataset
    key = DerivedKeys(SECRETS, applied.id).get("default")
    assert output.PatientID == f"PCa{digest('S01MRN-48213977', key)[:12]}"
    linked = profile(rules.replace('base = "ps315_basic"\n',
                                   'base = "ps315_basic"\nlinkage = ["default"]\n'))
    output = apply_profile(sample_dataset(), linked, secrets=SECRETS).dataset
    assert output.PatientID == f"PCa{digest('S01MRN-48213977', b'engine-test')[:12]}"


def test_disabled_rules_are_kept_but_not_applied() -> None:
    rules = ('base = "ps315_basic"\n[[rules]]\nkeyword = "PatientName"\naction = "keep"\n'
             'enabled = false\nreason = "r"\nsource = "s"\n'
             '[[rules]]\nkeyword = "PatientName"\naction = "dummy"\nvalue = "{SITE}"\n'
             'reason = "r"\nsource = "s"\n'
             '[[rules]]\nkeyword = "SOPInstanceUID"\naction = "uid"\nroot = "{ROOT}"\n'
             'reason = "r"\nsource = "s"\n')
    loaded = profile('params = { SITE = "SITE-7", ROOT = "1.2.826.0.1.3680043.10.9" }\n'
                     + rules)
    assert [rule.enabled for rule in loaded.rules] == [False, True, True]
    output = apply_profile(sample_dataset(), loaded, secrets=SECRETS).dataset
    assert output.PatientName == "SITE-7"
    assert output.SOPInstanceUID.startswith("1.2.826.0.1.3680043.10.9.")


def test_kept_elements_keep_empty_and_invalid_values_as_they_are() -> None:
    dataset = sample_dataset()
    dataset.add_new(0x00181050, "DS", None)  # SpatialResolution, empty
    number = Tag(0x00200013)  # InstanceNumber, read from a file as the invalid IS "1A"
    dataset[number] = RawDataElement(number, "IS", 2, b"1A", 0, False, True)
    keep_all = profile('unlisted = "keep"\nprivate_tags = "keep"\n')
    result = apply_profile(dataset, keep_all, secrets=SECRETS)
    assert 0x00181050 in result.dataset and result.dataset[0x00181050].value in (None, "")
    assert str(result.dataset[0x00200013].value) == "1A"
    assert effects_by_path(result)["(0018,1050)"].after == ""


def test_multi_valued_identifiers_are_scrubbed_one_by_one() -> None:
    # no ID-like pattern matches these: only the identifiers collected from the file clean them
    dataset = sample_dataset()
    dataset.OtherPatientIDs = ["alias quokka", "alias wombat"]
    dataset.StudyDescription = "Also known as alias wombat"
    result = apply_profile(dataset, basic("clean_descriptors"), secrets=SECRETS)
    assert result.dataset.StudyDescription == "Also known as ***"
