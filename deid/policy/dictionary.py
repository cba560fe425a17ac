"""The universe of standard DICOM tags: pydicom's data dictionary, retired entries included.

Single tags come from ``pydicom.datadict.DicomDictionary``; repeating-group entries such as
Overlay Data ``(60xx,3000)`` come from ``pydicom.datadict.RepeatersDictionary`` and are kept as
patterns. Entries are sorted by their tag text: upper-case hex digits sort before ``x``, so single
tags are in numeric order and a pattern follows every single tag sharing its fixed prefix, e.g.
``(7FE0,0010)`` < ``(7Fxx,0010)`` < ``(FFFA,FFFA)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pydicom
from pydicom.datadict import DicomDictionary, RepeatersDictionary

from deid.tags import TagPattern, format_tag, is_private_group

DICTIONARY_SOURCE: str = f"pydicom {pydicom.__version__} data dictionary"


@dataclass(frozen=True, slots=True)
class TagInfo:
    """One data dictionary entry.

    ``tag`` is ``(gggg,eeee)``, or a pattern such as ``(60xx,3000)`` when ``is_pattern``;
    ``vr`` and ``vm`` are as pydicom gives them (e.g. ``"OB or OW"``, ``"1-n"``);
    ``keyword`` is empty for the few retired entries the standard leaves unnamed.
    """

    tag: str
    keyword: str
    name: str
    vr: str
    vm: str
    retired: bool
    is_pattern: bool


def _info(tag: str, entry: tuple[str, str, str, str, str], is_pattern: bool) -> TagInfo:
    vr, vm, name, retired, keyword = entry
    return TagInfo(tag, keyword, name, vr, vm, retired == "Retired", is_pattern)


def _pattern_text(mask: str) -> str:
    """pydicom's ``'60xx3000'`` as ``'(60xx,3000)'``."""
    return TagPattern.parse(f"({mask[:4]},{mask[4:]})").text


@cache
def dictionary_entries() -> tuple[TagInfo, ...]:
    """Every single tag and repeater pattern, sorted by tag text (see the module docstring)."""
    singles = (_info(format_tag(tag), entry, False) for tag, entry in DicomDictionary.items())
    patterns = (
        _info(_pattern_text(mask), entry, True) for mask, entry in RepeatersDictionary.items()
    )
    return tuple(sorted((*singles, *patterns), key=lambda info: info.tag))


@cache
def _by_tag() -> dict[int, TagInfo]:
    return {tag: _info(format_tag(tag), entry, False) for tag, entry in DicomDictionary.items()}


@cache
def _patterns() -> tuple[tuple[TagPattern, TagInfo], ...]:
    """Repeater patterns, most specific (fewest wildcards) first."""
    pairs = [(TagPattern.parse(info.tag), info) for info in dictionary_entries() if info.is_pattern]
    return tuple(sorted(pairs, key=lambda pair: (pair[0].wildcards, pair[1].tag)))


@cache
def _by_keyword() -> dict[str, int]:
    return {entry[4]: tag for tag, entry in DicomDictionary.items() if entry[4]}


def info_for_tag(tag: int) -> TagInfo | None:
    """The entry for ``tag``: the exact tag, else the most specific matching repeater pattern.

    Patterns match standard (even) groups only, so a private ``(6001,3000)`` is not Overlay Data.
    """
    exact = _by_tag().get(tag)
    if exact is not None or is_private_group(tag):
        return exact
    return next((info for pattern, info in _patterns() if pattern.matches(tag)), None)


def keyword_to_tag(keyword: str) -> int | None:
    """The tag of a single-tag keyword, e.g. ``PatientName`` -> ``0x00100010``.

    Keywords of repeater patterns (``OverlayData``) give ``None``, as in
    ``pydicom.datadict.tag_for_keyword``: they name a family of tags, not one.
    """
    return _by_keyword().get(keyword)
