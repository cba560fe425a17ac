"""The tag universe over pydicom's data dictionary."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.datadict import DicomDictionary, RepeatersDictionary

from deid.policy import dictionary
from deid.tags import TagPattern, parse_tag


@pytest.mark.parametrize(
    ("keyword", "tag", "vr", "retired"),
    [
        ("PatientName", "(0010,0010)", "PN", False),
        ("PatientID", "(0010,0020)", "LO", False),
        ("StudyInstanceUID", "(0020,000D)", "UI", False),
        ("AcquisitionComments", "(0018,4000)", "LT", True),
        ("OtherPatientIDs", "(0010,1000)", "LO", True),
    ],
)
def test_keyword_lookup(keyword: str, tag: str, vr: str, retired: bool) -> None:
    value = dictionary.keyword_to_tag(keyword)
    assert value == parse_tag(tag)
    info = dictionary.info_for_tag(value)
    assert info is not None
    assert (info.tag, info.keyword, info.vr, info.retired, info.is_pattern) == (
        tag,
        keyword,
        vr,
        retired,
        False,
    )


@pytest.mark.parametrize("keyword", ["NotAKeyword", "", "OverlayData"])
def test_keyword_without_single_tag(keyword: str) -> None:
    assert dictionary.keyword_to_tag(keyword) is None


@pytest.mark.parametrize(
    ("tag", "pattern", "name", "retired"),
    [
        (0x60003000, "(60xx,3000)", "Overlay Data", False),
        (0x60023000, "(60xx,3000)", "Overlay Data", False),
        (0x601E4000, "(60xx,4000)", "Overlay Comments", True),
        (0x50103000, "(50xx,3000)", "Curve Data", True),
        (0x7F020010, "(7Fxx,0010)", "Variable Pixel Data", True),
        (0x002031AB, "(0020,31xx)", "Source Image IDs", True),
    ],
)
def test_info_for_tag_falls_back_to_repeater_pattern(
    tag: int, pattern: str, name: str, retired: bool
) -> None:
    info = dictionary.info_for_tag(tag)
    assert info is not None
    assert (info.tag, info.name, info.retired, info.is_pattern) == (pattern, name, retired, True)


@pytest.mark.parametrize("tag", [0x60013000, 0x00090010, 0x00291010, 0x00100011])
def test_info_for_tag_unknown_or_private(tag: int) -> None:
    assert dictionary.info_for_tag(tag) is None


def test_universe_is_pydicom_dictionary_plus_repeaters() -> None:
    entries = dictionary.dictionary_entries()
    patterns = [info for info in entries if info.is_pattern]
    assert len(entries) > 4000
    assert len(entries) == len(DicomDictionary) + len(RepeatersDictionary)
    assert len(patterns) == len(RepeatersDictionary)
    assert any(info.retired for info in entries if not info.is_pattern)


def test_entries_sorted_unique_and_well_formed() -> None:
    tags = [info.tag for info in dictionary.dictionary_entries()]
    assert tags == sorted(tags)
    assert len(set(tags)) == len(tags)
    for info in dictionary.dictionary_entries():
        if info.is_pattern:
            assert TagPattern.parse(info.tag).text == info.tag and "x" in info.tag
        else:
            assert dictionary.info_for_tag(parse_tag(info.tag)) == info


def test_patterns_sort_after_single_tags_of_their_prefix() -> None:
    tags = [info.tag for info in dictionary.dictionary_entries()]
    assert tags.index("(7FE0,0010)") < tags.index("(7Fxx,0010)") < tags.index("(FFFA,FFFA)")
    assert tags.index("(0020,1209)") < tags.index("(0020,31xx)") < tags.index("(0020,3401)")


def test_repeater_patterns_do_not_overlap() -> None:
    patterns = [TagPattern.parse(i.tag) for i in dictionary.dictionary_entries() if i.is_pattern]
    for index, pattern in enumerate(patterns):
        assert not any(pattern.overlaps(other) for other in patterns[index + 1 :]), pattern


def test_source_names_pydicom_version() -> None:
    assert f"pydicom {pydicom.__version__} data dictionary" == dictionary.DICTIONARY_SOURCE
