"""Every row of PS3.15 Table E.1-1, under the Basic Profile and under each option, gives the
action the table prescribes (compound codes resolved by the documented rule)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from deid import Action, Secrets, apply_profile, load_profile_text, resolver_for
from deid.policy.actions import from_ps315_code
from deid.policy.dictionary import info_for_tag
from deid.policy.resolver import ODD_GROUP_ROW, row_is_date
from deid.policy.standard import OPTION_IDS, table_e1_1
from deid.tags import TagPattern, parse_tag

ROWS = table_e1_1()
SECRETS = Secrets({"default": "table-test"})
CODE_TO_ACTION = {
    "X": Action.REMOVE, "Z": Action.EMPTY, "D": Action.DUMMY, "U": Action.UID,
    "X/Z": Action.EMPTY, "X/D": Action.DUMMY, "Z/D": Action.DUMMY, "X/Z/D": Action.DUMMY,
    "X/Z/U*": Action.UID,
}


def _profile(options: tuple[str, ...]):
    listed = ", ".join(f'"{option}"' for option in options)
    return load_profile_text(
        f'schema_version = 1\nid = "t"\ntitle = "t"\nprovenance = "user"\n'
        f'base = "ps315_basic"\noptions = [{listed}]\n'
    )


PROFILES = {"basic": _profile(())} | {option: _profile((option,)) for option in OPTION_IDS}


#: What an action does to a value of a VR when that is another action (README, "Actions"):
#: a whole-day shift keeps a time; clean shifts dates, remaps UIDs, replaces names and keeps
#: numbers and binary values.
DOES = {("shift_date", "TM"): Action.KEEP, ("clean", "TM"): Action.KEEP,
        ("clean", "DA"): Action.SHIFT_DATE, ("clean", "DT"): Action.SHIFT_DATE,
        ("clean", "UI"): Action.UID, ("clean", "PN"): Action.DUMMY,
        **{("clean", vr): Action.KEEP for vr in ("AS", "AT", "DS", "IS", "US", "SS", "UL", "SL",
                                                 "FL", "FD", "SV", "UV", "OB", "OW", "OF", "OD",
                                                 "OL", "OV", "UN")}}


def _expected(row, option: str, vr: str = "") -> Action:
    code = row.options.get(option) if option != "basic" else None
    if code == "K":
        return Action.KEEP
    if code == "C":
        modified_dates = option == "retain_long_modified_dates"
        action = Action.SHIFT_DATE if modified_dates and row_is_date(row) else Action.CLEAN
        return DOES.get((action.value, vr), action)
    return CODE_TO_ACTION[row.basic_profile]


def _example_tag(tag_text: str) -> int:
    if "x" in tag_text:
        pattern = TagPattern.parse(tag_text)
        return pattern.value | (0x0002_0000 if tag_text.startswith("(60") else 0x0000_0010)
    return parse_tag(tag_text)


def test_code_table_matches_the_documented_compound_rule() -> None:
    for code, action in CODE_TO_ACTION.items():
        assert from_ps315_code(code) is action


@pytest.mark.parametrize("option", ["basic", *OPTION_IDS])
def test_every_row_resolves_to_the_table_action(option: str) -> None:
    resolver = resolver_for(PROFILES[option])
    mismatches = []
    for row in ROWS:
        if row.tag == ODD_GROUP_ROW:
            continue
        tag = _example_tag(row.tag)
        decision = resolver.decide(tag, "LO")
        if decision.action is not _expected(row, option) or not decision.explicit:
            mismatches.append((row.tag, row.basic_profile, row.options, decision.action))
    assert mismatches == []


@pytest.mark.parametrize("option", ["basic", *OPTION_IDS])
def test_odd_group_row_is_the_private_policy(option: str) -> None:
    resolver = resolver_for(PROFILES[option])
    safe = resolver.decide(0x70531000, "DS", "Philips PET Private Group")  # (7053,xx00)
    unsafe = resolver.decide(0x00291010, "OB", "SIEMENS CSA HEADER")
    assert unsafe.action is Action.REMOVE
    expected = Action.KEEP if option == "retain_safe_private" else Action.REMOVE
    assert safe.action is expected


def _element_for(row) -> tuple[int, str] | None:
    tag = _example_tag(row.tag)
    info = info_for_tag(tag)
    vr = info.vr.split(" or ")[0] if info and info.vr else None
    return (tag, vr) if vr else None


def _dataset_with_every_row() -> tuple[Dataset, dict[int, object]]:
    dataset = Dataset()
    dataset.PatientID = "ROW-TEST-1"
    values: dict[int, object] = {}
    samples = {"DA": "20210517", "DT": "20210517101500", "TM": "101500", "UI": "1.2.3.4.5",
               "AS": "045Y", "DS": "1.5", "IS": "7", "SQ": None, "US": 1, "SS": 1, "UL": 1,
               "SL": 1, "FL": 1.0, "FD": 1.0, "AT": 0x00100010, "CS": "VALUE"}
    for row in ROWS:
        element = _element_for(row) if row.tag != ODD_GROUP_ROW else None
        if element is None:
            continue
        tag, vr = element
        if vr == "SQ":
            item = Dataset()
            item.CodeMeaning = "inner"
            value: object = [item]
        elif vr == "UR":
            value = "http://example.org/record/1"
        elif vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
            value = b"\x01\x02"
        else:
            value = samples.get(vr, "Identifying text")
        dataset.add_new(tag, vr, value)
        values[tag] = value
    return dataset, values


@pytest.mark.parametrize("option", ["basic", *OPTION_IDS])
def test_applying_the_profile_does_what_each_row_says(option: str) -> None:
    dataset, values = _dataset_with_every_row()
    result = apply_profile(dataset, PROFILES[option], secrets=SECRETS)
    by_tag = {effect.tag: effect for effect in result.effects if effect.depth == 0}
    for row in ROWS:
        element = _element_for(row) if row.tag != ODD_GROUP_ROW else None
        if element is None:
            continue
        tag, vr = element
        effect = by_tag[f"({tag >> 16:04X},{tag & 0xFFFF:04X})"]
        expected = _expected(row, option, vr)
        assert effect.action is expected, (row.tag, vr, effect)
        present = tag in result.dataset
        assert present is (expected is not Action.REMOVE), (row.tag, vr, effect)
        if present and vr != "SQ":
            _check_value(expected, values[tag], result.dataset[tag].value, row.tag)


def _check_value(action: Action, before: object, after: object, where: str) -> None:
    """The value after the action agrees with what the action means."""
    if action is Action.KEEP:
        assert after == before, where
    elif action is Action.EMPTY:
        assert after in ("", b"", None), where
    elif action in (Action.DUMMY, Action.UID):
        assert after not in ("", b"", None) and after != before, where
    elif action is Action.SHIFT_DATE and isinstance(before, str) and len(before) >= 8:
        assert after != before, where
