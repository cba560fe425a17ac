"""Importing CTP scripts: the three published scripts, the global commands, CTP's built-in
behaviour, and elements that cannot be imported as they stand."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from deid import Action, resolver_for
from deid.ctp import CtpImport, CtpScriptError, import_ctp_script
from deid.policy.profile_model import MatcherKind

SOURCES = Path(__file__).resolve().parents[1] / "tools" / "ctp_sources"
SCRIPTS = {
    "ctp_basic": "rsna_ctp/DICOM-PS3.15-Basic",
    "ctp_default": "rsna_ctp/example-ctp-dicom-anonymizer.script",
    "eucaim": "eucaim/anon.script",
}


@cache
def published(profile_id: str) -> CtpImport:
    text = (SOURCES / SCRIPTS[profile_id]).read_text(encoding="utf-8")
    return import_ctp_script(text, profile_id=profile_id, name=Path(SCRIPTS[profile_id]).name,
                             provenance="published-script")


def decide(result: CtpImport, tag: int, vr: str = "UN") -> Action:
    return resolver_for(result.profile).decide(tag, vr).action


@pytest.mark.parametrize("profile_id", sorted(SCRIPTS))
def test_every_element_of_a_published_script_becomes_a_rule(profile_id: str) -> None:
    text = (SOURCES / SCRIPTS[profile_id]).read_text(encoding="utf-8")
    elements = re.findall(r'<e [^>]*en="(.)"', text)
    result = published(profile_id)
    quoted = [rule for rule in result.profile.rules if rule.source.startswith("CTP ")
              and "<e " in rule.source]
    assert len(quoted) == len(elements)
    assert [rule.enabled for rule in quoted] == [flag == "T" for flag in elements]
    assert all(rule.reason and rule.source for rule in result.profile.rules)
    assert all(rule.matcher.kind is not MatcherKind.TAG or
               re.fullmatch(r"\([0-9A-F]{4},[0-9A-F]{4}\)", _tag_text(rule.matcher.tag))
               for rule in result.profile.rules)
    assert result.profile.provenance.value == "published-script"


def _tag_text(tag: int | None) -> str:
    return f"({(tag or 0) >> 16:04X},{(tag or 0) & 0xFFFF:04X})"


def test_ctp_basic_removes_private_groups_curves_and_overlays_but_not_unlisted() -> None:
    result = published("ctp_basic")
    assert result.profile.unlisted.value == "keep"
    assert result.profile.private_tags.value == "remove"
    assert decide(result, 0x50000005) is Action.REMOVE
    assert decide(result, 0x60003000) is Action.REMOVE
    assert decide(result, 0x00180050, "DS") is Action.KEEP
    assert decide(result, 0x00080018, "UI") is Action.UID
    assert decide(result, 0x00080020, "DA") is Action.DUMMY  # @date(): today's date


def test_ctp_default_keeps_its_parameters_and_disabled_elements() -> None:
    result = published("ctp_default")
    profile = result.profile
    assert profile.params["DATEINC"] == "-3210" and profile.params["UIDROOT"]
    assert sum(1 for rule in profile.rules if not rule.enabled) >= 759
    shift = resolver_for(profile).decide(0x00080020, "DA")
    assert shift.action is Action.SHIFT_DATE and shift.params["days"] == -3210
    assert decide(result, 0x00100010, "PN") is Action.HASH  # @hashname(this,6,2)
    assert decide(result, 0x00080008, "CS") is Action.KEEP  # disabled: CTP leaves it
    assert decide(result, 0x00180015, "CS") is Action.KEEP  # <k t="0018"> is off anyway


def test_eucaim_is_an_allow_list_keeping_groups_0018_0020_0028() -> None:
    result = published("eucaim")
    profile = result.profile
    assert profile.unlisted.value == "remove" and profile.private_tags.value == "remove"
    assert decide(result, 0x0018FFF0) is Action.KEEP  # unscripted, in a kept group
    assert decide(result, 0x0020FFF0) is Action.KEEP
    assert decide(result, 0x0028FFF0) is Action.KEEP
    assert decide(result, 0x0010FFF0) is Action.REMOVE  # unscripted elsewhere
    assert decide(result, 0x00091010) is Action.REMOVE  # private
    patient = resolver_for(profile).decide(0x00100020, "LO")
    assert patient.action is Action.PSEUDONYM
    assert patient.params["template"] == "EUCAIM-{hash:32}" and patient.params["secret"] == "key"
    assert "SECRET_KEY" not in profile.params


def test_eucaim_reports_setsubstring_and_the_broken_elements() -> None:
    findings = {(f.code, f.severity) for f in published("eucaim").findings}
    assert ("unknown-function", "error") in findings
    assert ("call-without-at", "error") in findings
    assert ("value-invalid-for-vr", "error") in findings
    messages = [f.message for f in published("eucaim").findings
                if f.code == "unknown-function"]
    assert any("@setSubstring" in message for message in messages)


def test_eucaim_three_defects_a_ctp_user_hits_are_each_reported() -> None:
    """@setSubstring (no such function: CTP writes the call text into a DA), hashuid(...)
    without '@' (CTP fails and quarantines the object) and keep() without '@' (CTP writes the
    text "keep()" into a TM)."""
    findings = published("eucaim").findings
    by_rule = {}
    for finding in findings:
        by_rule.setdefault(finding.rule, set()).add((finding.code, finding.severity))
    rules = {rule.number: rule for rule in published("eucaim").profile.rules}
    keyword_rules = {match.group(1): number for number, rule in rules.items()
                     if (match := re.search(r' n="([^"]*)"', rule.source))}
    assert by_rule[keyword_rules["InstanceCreationDate"]] == {
        ("unknown-function", "error"), ("value-invalid-for-vr", "error")}
    assert by_rule[keyword_rules["ManufacturerDeviceClassUID"]] == {("call-without-at", "error")}
    for keyword in ("ContrastBolusStartTime", "ContrastBolusStopTime"):
        assert by_rule[keyword_rules[keyword]] == {("call-without-at", "error"),
                                                   ("value-invalid-for-vr", "error")}
    message = next(f.message for f in findings if f.rule == keyword_rules[
        "ContrastBolusStartTime"] and f.code == "value-invalid-for-vr")
    assert "'keep()'" in message and "TM" in message


def script(*items: str) -> str:
    return "<script>\n" + "\n".join(f" {item}" for item in items) + "\n</script>\n"


GLOBALS = [
    # (commands, unlisted, private_tags, curves (5000,0005), overlays (6000,3000))
    ((), "keep", "keep", Action.KEEP, Action.KEEP),
    (('<r en="T" t="privategroups">x</r>',), "keep", "remove", Action.KEEP, Action.KEEP),
    (('<r en="T" t="privategroups">x</r>', '<k en="T" t="safeprivateelements">x</k>'),
     "keep", "safe", Action.KEEP, Action.KEEP),
    (('<r en="T" t="unspecifiedelements">x</r>',), "remove", "remove", Action.KEEP,
     Action.KEEP),
    (('<r en="T" t="unspecifiedelements">x</r>', '<r en="T" t="curves">x</r>',
      '<r en="T" t="overlays">x</r>'), "remove", "remove", Action.REMOVE, Action.REMOVE),
    (('<r en="F" t="curves">x</r>', '<r en="T" t="overlays">x</r>'), "keep", "keep",
     Action.KEEP, Action.REMOVE),
]


@pytest.mark.parametrize(("commands", "unlisted", "private", "curves", "overlays"), GLOBALS)
def test_global_commands_become_defaults_and_patterns(commands: tuple[str, ...], unlisted: str,
                                                      private: str, curves: Action,
                                                      overlays: Action) -> None:
    result = import_ctp_script(script(*commands), profile_id="g", name="g.script")
    assert result.profile.unlisted.value == unlisted
    assert result.profile.private_tags.value == private
    assert decide(result, 0x50000005, "US") is curves
    assert decide(result, 0x60003000, "OW") is overlays


def test_ctp_built_in_keeps_apply_when_unscripted_elements_are_removed() -> None:
    result = import_ctp_script(script('<r en="T" t="unspecifiedelements">x</r>',
                                      '<e en="T" t="00080018" n="SOPInstanceUID">@remove()</e>'),
                               profile_id="b", name="b.script")
    assert decide(result, 0x7FE00010, "OW") is Action.KEEP
    assert decide(result, 0x00280010, "US") is Action.KEEP
    assert decide(result, 0x00080016, "UI") is Action.KEEP
    assert decide(result, 0x00080018, "UI") is Action.REMOVE  # scripted
    assert decide(result, 0x00100010, "PN") is Action.REMOVE


def test_overlay_removal_wins_over_an_overlay_element_script() -> None:
    result = import_ctp_script(script('<r en="T" t="overlays">x</r>',
                                      '<e en="T" t="60003000" n="OverlayData">@keep()</e>'),
                               profile_id="o", name="o.script")
    assert decide(result, 0x60003000, "OW") is Action.REMOVE


def test_two_enabled_elements_for_one_tag_keep_the_last() -> None:
    result = import_ctp_script(script('<e en="T" t="00100010" n="PatientName">@keep()</e>',
                                      '<e en="T" t="00100010" n="PatientName">@empty()</e>'),
                               profile_id="d", name="d.script")
    assert [rule.enabled for rule in result.profile.rules] == [False, True]
    assert decide(result, 0x00100010, "PN") is Action.EMPTY
    assert [(f.code, f.rule) for f in result.findings] == [("contradictory-rules", 1)]


def test_private_block_elements_become_private_creator_rules() -> None:
    result = import_ctp_script(script('<e en="T" t="0019[GEMS_ACQU_01]8B" n="x">@keep()</e>',
                                      '<r en="T" t="privategroups">x</r>'),
                               profile_id="p", name="p.script")
    rule = result.profile.rules[0]
    assert rule.matcher.kind is MatcherKind.PRIVATE_ELEMENT
    assert rule.matcher.creator == "GEMS_ACQU_01" and str(rule.matcher.pattern) == "(0019,xx8B)"
    resolver = resolver_for(result.profile)
    assert resolver.decide(0x0019108B, "DS", "GEMS_ACQU_01").action is Action.KEEP
    assert resolver.decide(0x0019108B, "DS", "OTHER").action is Action.REMOVE


def test_elements_and_commands_that_cannot_be_read_are_reported_not_dropped() -> None:
    result = import_ctp_script(script('<e en="T" t="0010001" n="x">@keep()</e>',
                                      '<r en="T" t="everything">x</r>',
                                      '<k en="T" t="zz">x</k>', '<p t="bad name">1</p>'),
                               profile_id="u", name="u.script")
    codes = sorted(f.code for f in result.findings)
    assert codes == ["unknown-command", "unknown-command", "unreadable-tag",
                     "unusable-parameter"]
    assert result.profile.rules == ()


def test_a_script_that_is_not_xml_raises_a_clear_error() -> None:
    with pytest.raises(CtpScriptError, match=r"x\.script: not well-formed XML"):
        import_ctp_script("<script><e></script>", profile_id="x", name="x.script")


def test_the_imported_eucaim_profile_applies_to_a_data_set() -> None:
    from pydicom.dataset import Dataset

    from deid import Secrets, apply_profile

    ds = Dataset()
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "MRN-1234"
    ds.StudyDate = "20210517"
    ds.InstitutionName = "Hospital"
    ds.SliceThickness = "1.5"
    ds.add_new(0x00091001, "LO", "private")
    ds.add_new(0x00090010, "LO", "VENDOR")
    output = apply_profile(ds, published("eucaim").profile,
                           secrets=Secrets({"default": "d", "key": "k"})).dataset
    assert output.PatientID.startswith("EUCAIM-")
    assert str(output.PatientName).startswith("EUCAIM-")
    assert str(output.PatientName).endswith("^Anonymous")
    assert output.StudyDate == "20210501"  # @modifydate(this,*,*,1)
    assert output.InstitutionName == ""  # PROVIDERID is empty until set
    assert output.SliceThickness == "1.5"  # group 0018 kept
    assert 0x00091001 not in output
