"""Value transformations behind the canonical actions, one VR-aware function each.

Pure functions over Python values (no pydicom datasets): dummy values, keyed hashes and UIDs,
date shifts and truncation, rounding into bands. Functions raise ``ValueError`` when a value
cannot be transformed; the engine then fails closed (removes the element and says so).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Final

from deid.policy.actions import uid_root_problem

DUMMY_TEXT: Final = "ANONYMIZED"
_DUMMY_BY_VR: Final[dict[str, object]] = {
    "AE": "ANONYMIZED",
    "AS": "000Y",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DT": "19000101000000.000000",
    "TM": "000000.00",
    "DS": "0",
    "IS": "0",
    "LO": DUMMY_TEXT,
    "LT": DUMMY_TEXT,
    "SH": DUMMY_TEXT,
    "ST": DUMMY_TEXT,
    "UC": DUMMY_TEXT,
    "UT": DUMMY_TEXT,
    "PN": DUMMY_TEXT,
    "UR": "urn:anonymized",
    "FL": 0.0,
    "FD": 0.0,
    "SS": 0,
    "US": 0,
    "SL": 0,
    "UL": 0,
    "SV": 0,
    "UV": 0,
    "AT": 0,
}


#: Values de-identifiers write to mean "nothing": this tool's dummies and common others.
NOTHING_VALUES: Final = frozenset({"ANONYMIZED", "ANONYMOUS", "ANON", "REMOVED", "DELETED", "NONE",
                                   "UNKNOWN", "XXXX", "X", "19000101", "00000000", "000000",
                                   "000000.00", "19000101000000.000000", "000Y", "0", "0.0",
                                   "URN:ANONYMIZED"})


def dummy_value(vr: str) -> object:
    """A non-empty value valid for ``vr`` that carries no information."""
    if vr in _DUMMY_BY_VR:
        return _DUMMY_BY_VR[vr]
    return b"\x00\x00"  # OB, OW, OD, OF, OL, OV, UN: an even-length zero value


def digest(value: str, secret: bytes, *, algorithm: str = "sha256", keying: str = "hmac") -> str:
    """Hex digest of ``value`` keyed by ``secret``: HMAC, or the digest of secret + value."""
    data = value.encode("utf-8")
    name = "sha512_256" if algorithm == "sha512_256" else algorithm
    if keying == "hmac":
        return str(hmac.new(secret, data, _hash_factory(name)).hexdigest())
    hasher = _hash_factory(name)()
    hasher.update(secret + data)
    return str(hasher.hexdigest())


def _hash_factory(name: str):  # type: ignore[no-untyped-def]
    if name == "sha512_256":
        return lambda *args: hashlib.new("sha512_256", *args)
    return getattr(hashlib, name)


def keyed_uid(uid: str, secret: bytes, root: str = "2.25") -> str:
    """A new UID for ``uid``: ``root`` + decimal digits of a keyed digest, at most 64 chars.

    The same UID and secret always give the same new UID, so references stay consistent.
    """
    problem = uid_root_problem(root)
    if problem is not None:
        raise ValueError(problem)
    number = int.from_bytes(hmac.digest(secret, uid.strip().encode("ascii", "replace"),
                                        "sha256")[:16], "big")
    digits = str(number)
    room = 64 - len(root) - 1
    return f"{root}.{digits[:room].lstrip('0') or '1'}"


def date_offset_days(patient_key: str, secret: bytes, max_days: int) -> int:
    """A per-patient offset in ``[-max_days, -1]`` (never zero), derived from the secret."""
    value = int.from_bytes(hmac.digest(secret, b"date-offset|" + patient_key.encode("utf-8"),
                                       "sha256")[:6], "big")
    return -(1 + value % max_days)


def _parse_date(text: str) -> tuple[dt.date, int]:
    """Parse ``YYYY``, ``YYYYMM`` or ``YYYYMMDD`` (also ``YYYY.MM.DD``); return the date and
    how many digits were given."""
    digits = text.strip().replace(".", "")
    if not re.fullmatch(r"\d{4}(\d{2}(\d{2})?)?", digits):
        raise ValueError(f"not a DICOM date: {text!r}")
    year = int(digits[:4])
    month = int(digits[4:6] or 1)
    day = int(digits[6:8] or 1)
    return dt.date(year, month, day), len(digits)


def _format_date(date: dt.date, precision: int) -> str:
    return f"{date.year:04d}{date.month:02d}{date.day:02d}"[:precision]


def shift_da(text: str, days: int) -> str:
    """Shift a DA value (or a DA range ``A-B``) by ``days``."""
    if "-" in text:
        return "-".join(shift_da(part, days) if part else "" for part in text.split("-"))
    date, precision = _parse_date(text)
    return _format_date(date + dt.timedelta(days=days), max(precision, 8) if precision == 8
                        else precision)


_DT_RE: Final = re.compile(r"^(\d{4}(?:\d{2}(?:\d{2})?)?)(.*)$")


_ONE_DT: Final = (r"\d{4}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?)?)?"
                  r"(?:[+-]\d{4})?")
_SINGLE_DT_RE: Final = re.compile(rf"^{_ONE_DT}$")
_DT_RANGE_RE: Final = re.compile(rf"^({_ONE_DT})?-({_ONE_DT})?$")
_OFFSET_RE: Final = re.compile(r"[+-](\d{2})(\d{2})$")


def shift_dt(text: str, days: int) -> str:
    """Shift the date part of a DT value, or both ends of a DT range ``A-B``, by ``days``,
    keeping times and offsets. A trailing ``-HHMM`` is an offset when it is a valid one
    (at most 14 hours); otherwise ``-`` separates a range."""
    stripped = text.strip()
    if not _is_single_dt(stripped):
        ranged = _DT_RANGE_RE.match(stripped)
        if ranged:
            return "-".join(_shift_one_dt(part, days) if part else ""
                            for part in ranged.groups(default=""))
    return _shift_one_dt(stripped, days)


def _is_single_dt(text: str) -> bool:
    if not _SINGLE_DT_RE.match(text):
        return False
    offset = _OFFSET_RE.search(text)
    return offset is None or (int(offset.group(1)) <= 14 and int(offset.group(2)) < 60)


def _shift_one_dt(text: str, days: int) -> str:
    match = _DT_RE.match(text)
    if not match:
        raise ValueError(f"not a DICOM date-time: {text!r}")
    date_text, rest = match.groups()
    return shift_da(date_text, days) + rest


def truncate_da(text: str, unit: str) -> str:
    """Truncate a DA value to the first day of its year or month (``day`` keeps it)."""
    date, precision = _parse_date(text)
    if unit == "year":
        date = date.replace(month=1, day=1)
    elif unit == "month":
        date = date.replace(day=1)
    return _format_date(date, max(precision, 8))


def truncate_tm(text: str, unit: str) -> str:
    """Truncate a TM value to its hour or minute; coarser units give midnight."""
    digits = text.strip().split(".")[0].replace(":", "")
    if not re.fullmatch(r"\d{2}(\d{2}(\d{2})?)?", digits):
        raise ValueError(f"not a DICOM time: {text!r}")
    digits = digits.ljust(6, "0")
    keep = {"hour": 2, "minute": 4}.get(unit, 0)
    return (digits[:keep] + "000000")[:6]


def truncate_dt(text: str, unit: str) -> str:
    """Truncate a DT value: the date as :func:`truncate_da`, the time as :func:`truncate_tm`."""
    match = _DT_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a DICOM date-time: {text!r}")
    date_text, rest = match.groups()
    time_digits = re.match(r"\d*", rest)
    time_text = time_digits.group(0) if time_digits else ""
    time_part = truncate_tm(time_text or "00", unit) if unit in ("hour", "minute") else "000000"
    return truncate_da(date_text, unit) + time_part


def exact(value: object) -> Decimal:
    """A number as an exact decimal: ``1.65`` is 1.65, not the nearest binary float."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def round_number(value: Decimal, step: Decimal, cap: Decimal = Decimal(0)) -> Decimal:
    """Round down to a multiple of ``step`` (the lower bound of its band), exactly in decimal;
    cap at ``cap`` when it is not zero."""
    if step <= 0:
        raise ValueError(f"step must be positive (got {step})")
    rounded = (value / step).to_integral_value(rounding=ROUND_FLOOR) * step
    if cap and rounded > cap:
        rounded = cap
    return rounded


_AS_RE: Final = re.compile(r"^(\d{3})([DWMY])$")


def round_age(text: str, step: Decimal, cap: Decimal = Decimal(0)) -> str:
    """Round an AS age such as ``063Y`` down into a band of ``step`` units (``060Y``)."""
    match = _AS_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a DICOM age: {text!r}")
    number = int(round_number(Decimal(int(match.group(1))), step, cap))
    return f"{number:03d}{match.group(2)}"


def format_number(vr: str, value: Decimal) -> object:
    """A rounded number in the Python type pydicom expects for ``vr``: DS as text of at most
    16 characters, FL/FD as float, the integer VRs as int."""
    if vr == "DS":
        text = _decimal_text(value)
        if len(text) > 16:
            raise ValueError(f"{text} does not fit a DS value (16 characters)")
        return text
    if vr in ("FL", "FD"):
        return float(value)
    if value != value.to_integral_value():
        raise ValueError(f"{value} is not an integer for VR {vr}")
    return int(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
