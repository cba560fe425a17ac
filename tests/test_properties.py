"""Property tests of the engine's invariants."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deid import Secrets, apply_profile
from tests.engine_helpers import all_text, basic, item, profile, sample_dataset

TEXT = st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x5A), min_size=6,
               max_size=20)
SECRET = st.text(min_size=1, max_size=20)
DATES = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31))

SHIFT = profile('unlisted = "keep"\nprivate_tags = "remove"\n'
                '[[rules]]\nvr = "DA"\naction = "shift_date"\nmax_days = 3650\n'
                'reason = "r"\nsource = "s"\n')
PSEUDONYM = profile('unlisted = "keep"\nprivate_tags = "remove"\n'
                    '[[rules]]\nkeyword = "PatientID"\naction = "pseudonym"\n'
                    'template = "P-{hash:16}"\nreason = "r"\nsource = "s"\n')
REMOVE_DESCRIPTION = profile('unlisted = "keep"\nprivate_tags = "keep"\n'
                             '[[rules]]\nkeyword = "StudyDescription"\naction = "remove"\n'
                             'reason = "r"\nsource = "s"\n')


def _as_da(date: dt.date) -> str:
    return date.strftime("%Y%m%d")


@settings(max_examples=25, deadline=None)
@given(secret=SECRET)
def test_applying_a_profile_is_deterministic_for_a_secret(secret: str) -> None:
    secrets = Secrets({"default": secret})
    first = apply_profile(sample_dataset(), basic("clean_descriptors"), secrets=secrets)
    second = apply_profile(sample_dataset(), basic("clean_descriptors"), secrets=secrets)
    assert first.effects == second.effects
    assert first.dataset == second.dataset


@settings(max_examples=50, deadline=None)
@given(value=TEXT, depth=st.integers(min_value=0, max_value=5), secret=SECRET)
def test_remove_never_leaves_the_value(value: str, depth: int, secret: str) -> None:
    value = f"zq{value}"  # no marker the engine writes (e.g. REMOVED) can contain it
    dataset = Dataset()
    dataset.PatientID = "P"
    node = item(StudyDescription=value)
    for _ in range(depth):
        node = item(ReferencedStudySequence=Sequence([node]))
    dataset.ReferencedStudySequence = Sequence([node])
    dataset.StudyDescription = value
    result = apply_profile(dataset, REMOVE_DESCRIPTION, secrets=Secrets({"default": secret}))
    assert all(value not in text for text in all_text(result.dataset))


@settings(max_examples=50, deadline=None)
@given(first=DATES, second=DATES, patient=TEXT, secret=SECRET)
def test_shifting_keeps_the_interval_between_two_dates_of_a_patient(
        first: dt.date, second: dt.date, patient: str, secret: str) -> None:
    dataset = Dataset()
    dataset.PatientID = patient
    dataset.StudyDate = _as_da(first)
    dataset.ReferencedStudySequence = Sequence([item(StudyDate=_as_da(second))])
    output = apply_profile(dataset, SHIFT, secrets=Secrets({"default": secret})).dataset
    new_first = dt.datetime.strptime(output.StudyDate, "%Y%m%d").date()
    new_second = dt.datetime.strptime(output.ReferencedStudySequence[0].StudyDate,
                                      "%Y%m%d").date()
    assert new_second - new_first == second - first
    assert new_first != first


@settings(max_examples=50, deadline=None)
@given(patient=TEXT, secret_a=SECRET, secret_b=SECRET)
def test_different_secrets_give_different_pseudonyms(patient: str, secret_a: str,
                                                     secret_b: str) -> None:
    if secret_a == secret_b:
        return
    dataset = Dataset()
    dataset.PatientID = patient
    a = apply_profile(dataset, PSEUDONYM, secrets=Secrets({"default": secret_a})).dataset
    b = apply_profile(dataset, PSEUDONYM, secrets=Secrets({"default": secret_b})).dataset
    assert a.PatientID != b.PatientID
    assert patient not in a.PatientID
