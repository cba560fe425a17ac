"""Value transformations behind the actions, table-driven."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deid.policy.actions import Action, from_ps315_code, resolve_compound
from deid.transform.values import (
    date_offset_days,
    digest,
    dummy_value,
    exact,
    format_number,
    keyed_uid,
    round_age,
    round_number,
    shift_da,
    shift_dt,
    truncate_da,
    truncate_dt,
    truncate_tm,
)

SECRET = b"unit-test-secret"


@pytest.mark.parametrize(("code", "single", "action"), [
    ("X", "X", Action.REMOVE), ("Z", "Z", Action.EMPTY), ("D", "D", Action.DUMMY),
    ("U", "U", Action.UID), ("K", "K", Action.KEEP), ("C", "C", Action.CLEAN),
    ("X/Z", "Z", Action.EMPTY), ("X/D", "D", Action.DUMMY), ("Z/D", "D", Action.DUMMY),
    ("X/Z/D", "D", Action.DUMMY), ("X/Z/U*", "U", Action.UID),
])
def test_compound_codes_resolve_to_their_last_code(code: str, single: str,
                                                   action: Action) -> None:
    assert resolve_compound(code) == single
    assert from_ps315_code(code) is action


def test_unknown_code_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown PS3\.15 action code"):
        from_ps315_code("Q")


@pytest.mark.parametrize(("vr", "expected"), [
    ("DA", "19000101"), ("TM", "000000.00"), ("AS", "000Y"), ("PN", "ANONYMIZED"),
    ("DS", "0"), ("US", 0), ("OB", b"\x00\x00"), ("UN", b"\x00\x00"),
])
def test_dummy_values_are_valid_for_the_vr(vr: str, expected: object) -> None:
    assert dummy_value(vr) == expected


@pytest.mark.parametrize(("function", "value", "argument", "expected"), [
    (shift_da, "20210517", -10, "20210507"),
    (shift_da, "20210301", -1, "20210228"),
    (shift_da, "2021.03.01", -1, "20210228"),
    (shift_da, "202103", -1, "202102"),
    (shift_da, "20200101-20201231", 1, "20200102-20210101"),
    (shift_dt, "20210517101500.000000+0100", -17, "20210430101500.000000+0100"),
    (shift_dt, "20210517", 1, "20210518"),
    (truncate_da, "20210517", "month", "20210501"),
    (truncate_da, "20210517", "year", "20210101"),
    (truncate_da, "20210517", "day", "20210517"),
    (truncate_tm, "101534.123", "hour", "100000"),
    (truncate_tm, "101534", "minute", "101500"),
    (truncate_tm, "1015", "day", "000000"),
    (truncate_dt, "20210517101534", "month", "20210501000000"),
    (truncate_dt, "20210517101534", "hour", "20210517100000"),
    (round_age, "063Y", 5, "060Y"),
    (round_age, "011M", 6, "006M"),
])
def test_date_and_age_transforms(function, value, argument, expected) -> None:  # type: ignore[no-untyped-def]
    assert function(value, argument) == expected


@pytest.mark.parametrize(("function", "value", "argument"), [
    (shift_da, "17/05/2021", 1), (shift_dt, "yesterday", 1), (truncate_tm, "25h", "hour"),
    (round_age, "63 years", 1),
])
def test_unparsable_values_raise_value_error(function, value, argument) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="not a DICOM"):
        function(value, argument)


def test_round_number_floors_to_band_and_caps() -> None:
    assert round_number(Decimal("72.4"), Decimal(5)) == 70
    assert round_number(Decimal(97), Decimal(5), cap=Decimal(90)) == 90


@pytest.mark.parametrize(("value", "step", "expected"), [
    ("1.65", "0.05", "1.65"), ("1.90", "0.05", "1.9"), ("1.69", "0.05", "1.65"),
    ("0.3", "0.1", "0.3"), ("-2.5", "1", "-3"), ("81.4", "5", "80"), ("1e2", "7", "98"),
])
def test_round_is_exact_decimal_arithmetic(value: str, step: str, expected: str) -> None:
    rounded = round_number(exact(value), exact(step))
    assert format_number("DS", rounded) == expected


def test_rounding_refuses_what_is_not_a_finite_number() -> None:
    for bad in ("1e400x", "nan", "inf", ""):
        with pytest.raises(ValueError):
            exact(bad)
    with pytest.raises(ValueError, match="16 characters"):
        format_number("DS", exact("1e400"))
    assert round_age("097Y", 5, 90) == "090Y"


def test_keyed_uid_is_valid_consistent_and_keyed() -> None:
    uid = keyed_uid("1.2.3.4", SECRET)
    assert uid == keyed_uid("1.2.3.4", SECRET)
    assert uid != keyed_uid("1.2.3.4", b"other")
    assert uid != keyed_uid("1.2.3.5", SECRET)
    assert uid.startswith("2.25.") and len(uid) <= 64
    assert all(part.isdigit() and (part == "0" or not part.startswith("0"))
               for part in uid.split("."))
    rooted = keyed_uid("1.2.3.4", SECRET, root="1.2.826.0.1.3680043.10.999")
    assert rooted.startswith("1.2.826.0.1.3680043.10.999.") and len(rooted) <= 64


@pytest.mark.parametrize(("made", "expected"), [
    (lambda: keyed_uid("1.2.840.113619.2.55.3.1", b"pinned secret"),
     "2.25.242573161317303669115823479471616489199"),
    (lambda: keyed_uid("1.2.3.4", b"pinned secret", "1.2.826.0.1.3680043.10.999"),
     "1.2.826.0.1.3680043.10.999.2777340508769335262110206833362851002"),
    (lambda: date_offset_days("patient-1", b"pinned secret", 365), -185),
    (lambda: date_offset_days("patient-2", b"pinned secret", 30), -22),
])
def test_keyed_values_never_change_between_versions(made: object, expected: object) -> None:
    """New UIDs and date offsets of an earlier release are found again: a project that
    de-identifies in several runs links them (HMAC-SHA-256 of the value, first 16 bytes for a
    UID and 6 for an offset)."""
    assert made() == expected  # type: ignore[operator]


@pytest.mark.parametrize("length", [5, 20, 43])
def test_keyed_uids_under_long_roots_stay_valid_and_distinct(length: int) -> None:
    root = "1." + "7" * (length - 2)
    uids = {keyed_uid(f"1.2.840.99.{number}", SECRET, root) for number in range(500)}
    assert len(uids) == 500
    assert all(len(uid) <= 64 and uid.startswith(root + ".") for uid in uids)


@pytest.mark.parametrize("root", ["1." + "7" * 42, "1." + "7" * 62, "1..2", "01.2"])
def test_keyed_uid_refuses_a_root_without_room_or_malformed(root: str) -> None:
    with pytest.raises(ValueError, match="UID root"):
        keyed_uid("1.2.3.4", SECRET, root)


def test_digest_variants() -> None:
    assert len(digest("MRN1", SECRET)) == 64
    assert len(digest("MRN1", SECRET, algorithm="sha512_256", keying="concat")) == 64
    assert digest("MRN1", SECRET) != digest("MRN1", SECRET, keying="concat")


def test_date_offset_is_never_zero_and_within_range() -> None:
    offsets = {date_offset_days(f"patient-{i}", SECRET, 30) for i in range(200)}
    assert offsets <= set(range(-30, 0))
    assert len(offsets) > 10
