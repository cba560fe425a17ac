"""Property test: on generated data sets (multi-valued text and names, nested items with their
own character set, sequences and items of undefined length nested in each other, private
blocks, date-time ranges, extreme numbers), for every shipped profile, the engine's written
copy, the byte writer's copy, the effects table computed from element trees and the risk
model's patient grouping agree."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

import deid
from deid import Secrets, list_profiles, load_profile
from deid.ingest.tree import build_tree
from deid.outputs.effects import required_secrets
from deid.transform import semantics
from tests.engine_helpers import write_file
from tests.test_byte_writer import both, elements
from tests.test_bytes_truth import _check_file

NAMES = st.sampled_from(["Abelard^Pierre", "Heloise^Xavier", "Müller^Jürgen", "Ngata^Aroha",
                         "Okafor^Chidi"])
WORDS = st.sampled_from(["scan", "follow-up", "by", "with", "contrast", "read"])
NUMBERS = st.sampled_from(["0", "-0", "72.4", "1e2", "1e308", "9999999999999999", "-2.5"])
RANGES = st.sampled_from(["20210517101500-20210518090000", "20210517", "-20200101",
                          "20210517101500.5-0500"])


@cache
def profiles() -> tuple[deid.Profile, ...]:
    return tuple(load_profile(info.id) for info in list_profiles())


@cache
def secrets() -> Secrets:
    return Secrets({name: f"agree-{name}" for name in required_secrets(profiles())})


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    dataset = Dataset()
    dataset.SpecificCharacterSet = "ISO_IR 192"
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.{draw(st.integers(1, 10**6))}"
    if draw(st.booleans()):
        dataset.PatientID = draw(st.sampled_from(["P1", "P2", "MRN-48213977"]))
    if draw(st.booleans()):
        dataset.IssuerOfPatientID = draw(st.sampled_from(["SITE-A", "SITE-B"]))
    names = draw(st.lists(NAMES, min_size=1, max_size=3))
    dataset.PatientName = names[0]
    dataset.OperatorsName = names
    words = draw(st.lists(WORDS, min_size=1, max_size=4))
    dataset.StudyDescription = " ".join([*words, "by", names[-1].split("^")[0]])
    dataset.AcquisitionDateTime = draw(RANGES)
    dataset.PatientWeight = draw(NUMBERS)
    dataset.StudyDate = "20210517"
    item = Dataset()
    if draw(st.booleans()):
        item.SpecificCharacterSet = draw(st.sampled_from(["ISO_IR 192", "ISO_IR 100"]))
    item.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.77"
    dataset.ReferencedStudySequence = Sequence([item])
    request = Dataset()
    code = Dataset()  # a sequence as an item's first element (undefined lengths: see below)
    code.CodeValue, code.CodingSchemeDesignator = "CTCHEST", "99LOCAL"
    code.CodeMeaning = f"chest CT for {names[-1].split('^')[0]}"
    request.ProcedureCodeSequence = Sequence([code])
    request.RequestedProcedureDescription = f"request from {names[0].replace('^', ' ')}"
    request.RequestedProcedureID = draw(st.sampled_from(["RP-1", "RP-2"]))
    dataset.RequestAttributesSequence = Sequence([request])
    if draw(st.booleans()):
        block = dataset.private_block(0x0029, "ACME 1.0", create=True)
        block.add_new(0x10, "LO", f"ACME note {names[0]}")
    lengths = draw(st.sampled_from(["defined", "undefined", "mixed"]))
    for keyword in ("ReferencedStudySequence", "RequestAttributesSequence"):
        _undefined_lengths(dataset[keyword], lengths, draw)
    _undefined_lengths(request["ProcedureCodeSequence"], lengths, draw)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.SourceApplicationEntityTitle = "SITE_PACS_1"
    dataset.file_meta = meta
    return dataset


def _undefined_lengths(element: DataElement, mode: str, draw: st.DrawFn) -> None:
    """Write a sequence and its items with explicit lengths, undefined lengths, or each drawn
    (``mode``: defined, undefined, mixed)."""
    def undefined() -> bool:
        return mode == "undefined" or (mode == "mixed" and draw(st.booleans()))

    element.is_undefined_length = undefined()
    for item in element.value:
        item.is_undefined_length_sequence_item = undefined()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=datasets())
def test_the_engine_the_effects_table_and_the_bytes_agree(dataset: Dataset) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(Path(folder) / "in.dcm", dataset)
        out = Path(folder) / "out"
        written = deid.apply_profiles([str(path)], profiles(), secrets=secrets(),
                                      include_values=True, write_dicom=out, workers=1)
        computed = deid.apply_profiles([str(path)], profiles(), secrets=secrets(),
                                       include_values=True, workers=1)
        assert written.load_errors.empty and computed.load_errors.empty
        assert computed.effects.drop(columns=["residual_risk", "writer"]).equals(
            written.effects.drop(columns=["residual_risk", "writer"]))
        for profile in profiles():
            mine = written.effects[written.effects["profile_id"].astype(str) == profile.id]
            assert len(mine) > 10, profile.id
            problems = _check_file(mine, path, out / profile.id / "in.dcm")
            assert problems == [], (profile.id, problems)
            copies = both(path, profile)
            assert copies is not None
            engine, byte_copy = ({**elements(copy.file_meta), **elements(copy)}
                                 for copy in copies)
            assert engine == byte_copy, profile.id


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group=st.lists(datasets(), min_size=1, max_size=5))
def test_the_risk_model_groups_patients_as_the_engine_keys_them(group: list[Dataset]) -> None:
    keys = {semantics.patient_key(build_tree(dataset)[1]) or f"file{number}"
            for number, dataset in enumerate(group)}
    report = deid.assess(((f"file{number}", dataset) for number, dataset in enumerate(group)),
                         profiles(), secrets=secrets(), qi_sets=["PatientSex"])
    assert len(report.k_anonymity) == len(profiles())
    assert set(report.k_anonymity["n_records"]) == {len(keys)}
