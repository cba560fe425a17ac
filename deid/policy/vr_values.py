"""Is a text value valid for a VR? The value rules of DICOM PS3.5 Table 6.2-1, as data.

Used by the linter to report a profile or script that writes a value its element cannot hold
(``keep()`` in a TM, a 20-character hash in an SH, lower-case letters in a CS).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

#: Maximum length of one value, in characters (PS3.5 Table 6.2-1); PN: per component group.
MAX_LENGTH: Mapping[str, int] = MappingProxyType({
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64, "LT": 10240,
    "PN": 64, "SH": 16, "ST": 1024, "TM": 14, "UI": 64,
})
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_FORMATS: Mapping[str, tuple[re.Pattern[str], str]] = MappingProxyType({
    "AS": (re.compile(r"\d{3}[DWMY]"), "nnnD, nnnW, nnnM or nnnY"),
    "CS": (re.compile(r"[A-Z0-9 _]*"), "upper-case letters, digits, space and _"),
    "DA": (re.compile(r"\d{8}"), "YYYYMMDD"),
    "DS": (re.compile(r" *[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)? *"), "a decimal number"),
    "DT": (re.compile(r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})? *"),
           "YYYYMMDDHHMMSS.FFFFFF&ZZXX"),
    "IS": (re.compile(r" *[+-]?\d+ *"), "an integer"),
    "TM": (re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)? *"), "HHMMSS.FFFFFF"),
    "UI": (re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*"),
           "digits in components separated by '.', no leading zeros"),
})


def value_problem(vr: str, text: str) -> str | None:
    """Why ``text`` cannot be one value of an element of ``vr``, or ``None`` if it can.

    Only the string VRs are checked; other VRs (numbers, binary, sequences) give ``None``.
    """
    if vr == "PN":
        longest = max((len(group) for group in text.split("=")), default=0)
        return (f"{text!r} has a component group of {longest} characters; PN allows 64"
                if longest > MAX_LENGTH["PN"] else _control(text))
    check = _CHECKS.get(vr)
    problem = check(text) if check else None
    limit = MAX_LENGTH.get(vr)
    if problem is None and limit is not None and len(text.rstrip(" ")) > limit:
        problem = f"{text!r} is {len(text.rstrip(' '))} characters; {vr} allows {limit}"
    return problem


def values_problem(vr: str, text: str) -> str | None:
    """:func:`value_problem` for each of the backslash-separated values of ``text``."""
    if vr in ("LT", "ST", "UT", "UR"):
        return value_problem(vr, text)  # single-valued: a backslash is text
    for value in text.split("\\"):
        problem = value_problem(vr, value)
        if problem:
            return problem
    return None


def _control(text: str) -> str | None:
    return f"{text!r} holds control characters" if _TEXT_CONTROL.search(text) else None


def _format(vr: str) -> Callable[[str], str | None]:
    pattern, expected = _FORMATS[vr]

    def check(text: str) -> str | None:
        if text == "":
            return None
        if not pattern.fullmatch(text):
            return f"{text!r} is not a valid {vr} value ({expected})"
        return _calendar(vr, text.strip())

    return check


_FIRST_YEAR = 1000


def _calendar(vr: str, text: str) -> str | None:
    """Dates and times that look right but do not exist (20240231, 2561)."""
    try:
        if vr in ("DA", "DT") and len(text) >= 4 and int(text[:4]) < _FIRST_YEAR:
            return (f"{text!r} is before the year {_FIRST_YEAR}: validators (dciodvfy) refuse "
                    "such dates")
        if vr in ("DA", "DT") and len(text) >= 8:
            dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        if vr == "TM" and (int(text[:2]) > 23 or (len(text) >= 4 and int(text[2:4]) > 59)):
            return f"{text!r} is not a time of day"
    except ValueError:
        return f"{text!r} is not a calendar date"
    return None


def _ae(text: str) -> str | None:
    if "\\" in text or (text and not text.strip()):
        return f"{text!r} is not a valid AE title"
    return _control(text)


_CHECKS: Mapping[str, Callable[[str], str | None]] = MappingProxyType({
    **{vr: _format(vr) for vr in _FORMATS},
    "AE": _ae,
    **{vr: _control for vr in ("LO", "SH", "LT", "ST", "UC", "UT")},
})
