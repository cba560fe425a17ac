"""The profile linter: one small profile per finding code, and clean profiles stay clean."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from deid import load_profile, load_profile_text
from deid.policy.lint import CHECKS, SEVERITIES, LintFinding, lint_profile

HEAD = 'schema_version = 1\nid = "p"\ntitle = "t"\nprovenance = "user"\n'
NO_BASE = HEAD + 'unlisted = "keep"\nprivate_tags = "remove"\n'
ON_BASIC = HEAD + 'base = "ps315_basic"\n'


def rule(matcher: str, action: str, source: str = '"s"', extra: str = "") -> str:
    return (f'\n[[rules]]\n{matcher}\naction = "{action}"\n{extra}reason = "r"\n'
            f"source = {source}\n")


def ctp(expression: str, tag: str = "00100010", enabled: str = "T") -> str:
    """A rule source quoting a CTP element, as the importer writes it."""
    element = f'<e en="{enabled}" t="{tag}" n="x">{expression}</e>'
    return '"CTP x.script: ' + element.replace('"', '\\"') + '"'


def codes(text: str) -> list[tuple[str, str, int | None]]:
    findings = lint_profile(load_profile_text(text, name="p.toml"))
    return [(f.code, f.severity, f.rule) for f in findings]


CASES = [
    # (case, profile text, expected (code, severity, rule))
    ("unknown CTP function", NO_BASE + rule('tag = "(0010,0010)"', "remove", ctp("@foo(this)")),
     ("unknown-function", "error", 1)),
    ("unknown function in a disabled element",
     NO_BASE + rule('tag = "(0010,0010)"', "remove", ctp("@foo(this)", enabled="F")),
     ("unknown-function", "warning", 1)),
    ("unparsable CTP script", NO_BASE + rule('tag = "(0010,0010)"', "remove",
                                             ctp("@hash(this")),
     ("unparsable-expression", "error", 1)),
    ("CTP call without @ that CTP cannot run", NO_BASE + rule('tag = "(0010,0010)"', "remove",
                                                             ctp("hash(@X,this)")),
     ("call-without-at", "error", 1)),
    ("CTP call without @ written as text", NO_BASE + rule('tag = "(0010,0010)"', "dummy",
                                                         ctp("keep()"), 'value = "keep()"\n'),
     ("call-without-at", "error", 1)),
    ("literal that looks like a call", NO_BASE + rule('tag = "(0010,0010)"', "dummy",
                                                      ctp("foo()"), 'value = "foo()"\n'),
     ("suspicious-literal", "warning", 1)),
    ("dummy value the VR cannot hold", NO_BASE + rule('keyword = "ContrastBolusStartTime"',
                                                      "dummy", extra='value = "keep()"\n'),
     ("value-invalid-for-vr", "error", 1)),
    ("dummy date that does not exist", NO_BASE + rule('keyword = "StudyDate"', "dummy",
                                                      extra='value = "20240231"\n'),
     ("value-invalid-for-vr", "error", 1)),
    ("dummy from a parameter too long for SH", NO_BASE + '[params]\nSITE = "A-VERY-LONG-SITE"\n'
     + rule('keyword = "StationName"', "dummy", extra='value = "{SITE}-X"\n'),
     ("value-invalid-for-vr", "error", 1)),
    ("hash longer than the VR allows", NO_BASE + rule('keyword = "AccessionNumber"', "hash",
                                                      extra="length = 20\n"),
     ("value-invalid-for-vr", "warning", 1)),
    ("pseudonym longer than the VR allows", NO_BASE + rule(
        'keyword = "StudyID"', "pseudonym", extra='template = "STUDY-{hash:12}"\n'),
     ("value-invalid-for-vr", "warning", 1)),

    ("CTP parameter without <p>", NO_BASE + rule('tag = "(0010,0010)"', "dummy",
                                                  ctp("@param(@NOPE)")),
     ("undeclared-parameter", "warning", 1)),
    ("empty parameter", NO_BASE + '[params]\nSITE = ""\n'
     + rule('tag = "(0010,0020)"', "dummy", extra='value = "{SITE}"\n'),
     ("empty-parameter", "info", 1)),
    ("tag pydicom does not know", NO_BASE + rule('tag = "(0040,0248)"', "remove"),
     ("tag-not-in-dictionary", "warning", 1)),
    ("E.1-1 tag newer than pydicom", NO_BASE + rule('tag = "(0040,B034)"', "remove"),
     ("tag-not-in-dictionary", "info", 1)),
    ("tag rule against a pattern rule", NO_BASE + rule('pattern = "(0018,xxxx)"', "keep")
     + rule('keyword = "SliceThickness"', "remove"),
     ("contradictory-rules", "warning", 1)),
    ("keeps what the Basic Profile removes", ON_BASIC + rule('keyword = "PatientSex"', "keep"),
     ("contradictory-rules", "warning", 1)),
    ("pattern over elements of other VRs", NO_BASE + rule('pattern = "(0008,xxxx)"', "round",
                                                          extra="step = 5\n"),
     ("action-invalid-for-vr", "warning", 1)),
    ("tag with two VRs, one unfit", NO_BASE + rule('keyword = "LUTData"', "round",
                                                   extra="step = 5\n"),
     ("action-invalid-for-vr", "warning", 1)),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_each_finding_code(text: str, expected: tuple[str, str, int | None]) -> None:
    assert codes(text) == [expected]


def test_ctp_writes_an_unknown_call_as_text_into_a_date() -> None:
    text = NO_BASE + rule('keyword = "StudyDate"', "remove", ctp("@nodate(this)", tag="00080020"))
    found = lint_profile(load_profile_text(text, name="p.toml"))
    assert [(f.code, f.severity) for f in found] == [("unknown-function", "error"),
                                                     ("value-invalid-for-vr", "error")]
    assert "CTP writes '@nodate(this)' into StudyDate (DA)" in found[1].message


def test_a_template_naming_an_undeclared_parameter_is_an_error() -> None:
    profile = load_profile_text(NO_BASE + '[params]\nSITE = "S1"\n'
                                + rule('tag = "(0010,0020)"', "dummy",
                                       extra='value = "{SITE}"\n'))
    stripped = dataclasses.replace(profile, params=MappingProxyType({}))
    assert [(f.code, f.severity, f.rule) for f in lint_profile(stripped)] == [
        ("undeclared-parameter", "error", 1)]


@pytest.mark.parametrize("text", [
    NO_BASE + rule('tag = "(0010,0010)"', "remove", ctp("@remove()")),
    ON_BASIC + 'options = ["retain_patient_characteristics"]\n'
    + rule('keyword = "PatientSex"', "keep"),
    NO_BASE + rule('pattern = "(0018,xxxx)"', "keep") + rule('keyword = "SliceThickness"',
                                                              "keep"),
    NO_BASE + '[params]\nSITE = "S1"\n' + rule('tag = "(0010,0020)"', "dummy",
                                                extra='value = "{SITE}"\n'),
], ids=["ctp remove", "kept by an option", "agreeing rules", "declared parameter"])
def test_sound_profiles_have_no_findings(text: str) -> None:
    assert codes(text) == []


def test_the_standard_profile_lints_clean() -> None:
    assert lint_profile(load_profile("ps315_basic")) == []


def test_findings_are_frozen_and_sorted_errors_first() -> None:
    text = (NO_BASE + rule('tag = "(0040,B034)"', "remove")
            + rule('tag = "(0010,0010)"', "remove", ctp("@foo()")))
    findings = lint_profile(load_profile_text(text))
    assert [f.severity for f in findings] == ["error", "info"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        findings[0].severity = "info"  # type: ignore[misc]
    assert isinstance(findings[0], LintFinding) and findings[0].profile_id == "p"
    assert all(f.severity in SEVERITIES for f in findings)


def test_checks_are_one_table() -> None:
    assert set(CHECKS) == {"ctp-sources", "parameters", "dictionary", "vr",
                           "overridden-patterns", "basic-profile-kept", "values",
                           "recipe-sources"}
