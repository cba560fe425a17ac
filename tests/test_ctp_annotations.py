"""A ``<!--deid {...}-->`` comment is trusted only where exporting its action gives back the
element's very script; otherwise the script is imported and the lint names the element."""

from __future__ import annotations

import pytest

from deid import load_profile_text
from deid.ctp import export_ctp_script, import_ctp_script
from deid.ctp.annotation import judge_annotation
from deid.policy.actions import Action
from deid.policy.lint import LintFinding, lint_profile


def script(*elements: str) -> str:
    return ('<script>\n <p t="UIDROOT">1.2.40.0.99</p>\n' + "\n".join(elements)
            + '\n <r en="T" t="privategroups">Remove private groups</r>\n</script>\n')


def imported(*elements: str) -> tuple[Action, list[LintFinding]]:
    """The action of the first element's rule, and the import's findings."""
    result = import_ctp_script(script(*elements), profile_id="hostile", name="hostile.script")
    return result.profile.rules[0].action, list(result.findings)


def codes(findings: list[LintFinding]) -> set[tuple[str, str]]:
    return {(finding.severity, finding.code) for finding in findings}


def test_a_comment_saying_remove_on_a_kept_patient_name_is_not_trusted() -> None:
    action, findings = imported('<e en="T" t="00100010" n="PatientName">@keep()'
                                '<!--deid {"action":"remove"}--></e>')
    assert action is Action.KEEP  # what CTP does
    mismatch = [f for f in findings if f.code == "annotation-mismatch"]
    assert len(mismatch) == 1 and mismatch[0].severity == "error" and mismatch[0].rule == 1
    assert mismatch[0].message.startswith("PatientName (0010,0010): the deid comment claims "
                                          "remove")
    assert "'@remove()'" in mismatch[0].message and "'@keep()'" in mismatch[0].message


def test_the_lint_finds_the_mismatch_from_the_profile_file_alone() -> None:
    toml = import_ctp_script(script('<e en="T" t="00100010" n="PatientName">@keep()'
                                    '<!--deid {"action":"remove"}--></e>'),
                             profile_id="hostile", name="hostile.script").toml_text
    findings = lint_profile(load_profile_text(toml, name="hostile.toml"))
    assert ("error", "annotation-mismatch") in codes(findings)
    rule = load_profile_text(toml, name="hostile.toml").rules[0]
    assert rule.action is Action.KEEP and "is not trusted (annotation-mismatch)" in rule.reason


#: (element, the action imported): comments CTP's script contradicts, and comments it bears out.
ELEMENTS = [
    ('<e en="T" t="00100010" n="PatientName">@remove()<!--deid {"action": "keep"}--></e>',
     Action.REMOVE, True),
    ('<e en="T" t="00100010" n="PatientName">ANONYMIZED<!--deid {"action": "remove"}--></e>',
     Action.DUMMY, True),
    ('<e en="T" t="00080020" n="StudyDate">@incrementdate(this,-7)'
     '<!--deid {"action": "shift_date", "max_days": 30}--></e>', Action.SHIFT_DATE, True),
    ('<e en="T" t="00080050" n="AccessionNumber">@hash(this,16)'
     '<!--deid {"action": "remove"}--></e>', Action.HASH, True),
    ('<e en="T" t="0040a730" n="ContentSequence">@empty()<!--deid {"action": "dummy"}--></e>',
     Action.DUMMY, False),
    ('<e en="T" t="00420011" n="EncapsulatedDocument">@empty()'
     '<!--deid {"action": "dummy"}--></e>', Action.DUMMY, False),
    ('<e en="T" t="00080020" n="StudyDate">@hashdate(this,PatientID)'
     '<!--deid {"action": "shift_date", "max_days": 30}--></e>', Action.SHIFT_DATE, False),
]


@pytest.mark.parametrize(("element", "action", "contradicted"), ELEMENTS)
def test_a_comment_is_trusted_only_where_exporting_it_gives_the_script(
        element: str, action: Action, contradicted: bool) -> None:
    got, findings = imported(element)
    assert got is action
    assert (("error", "annotation-mismatch") in codes(findings)) is contradicted


def test_a_trusted_comment_keeps_its_parameters() -> None:
    result = import_ctp_script(script(
        '<e en="T" t="00080020" n="StudyDate">@hashdate(this,PatientID)'
        '<!--deid {"action": "shift_date", "max_days": 30}--></e>'),
        profile_id="t", name="t.script")
    assert result.profile.rules[0].params["max_days"] == 30
    assert "annotation-mismatch" not in {finding.code for finding in result.findings}


def test_an_unreadable_comment_is_reported_and_the_script_imported() -> None:
    action, findings = imported('<e en="T" t="00100010" n="PatientName">@keep()'
                                '<!--deid {"action": "scramble"}--></e>')
    assert action is Action.KEEP
    assert ("warning", "unreadable-annotation") in codes(findings)


def test_a_contradicted_comment_on_a_disabled_element_is_a_warning() -> None:
    _, findings = imported('<e en="F" t="00100010" n="PatientName">@keep()'
                           '<!--deid {"action":"remove"}--></e>')
    assert ("warning", "annotation-mismatch") in codes(findings)
    assert ("error", "annotation-mismatch") not in codes(findings)


def test_a_private_element_is_named_by_its_block() -> None:
    judgement = judge_annotation('{"action": "remove"}', "@keep()", None, {},
                                 "0019[GEMS_ACQU_01]8B")
    assert judgement.trusted is None and judgement.problem is not None
    assert judgement.problem.message.startswith("0019[GEMS_ACQU_01]8B: ")


def test_every_comment_of_an_export_is_trusted() -> None:
    profile = load_profile_text(
        'schema_version = 1\nid = "p"\ntitle = "t"\nprovenance = "user"\nbase = "ps315_basic"\n'
        '[[rules]]\nkeyword = "StudyDate"\naction = "shift_date"\nmax_days = 30\n'
        'reason = "r"\nsource = "s"\n', name="p.toml")
    text = export_ctp_script(profile)
    assert text.count("<!--deid ") >= 18
    result = import_ctp_script(text, profile_id="p", name="p.script")
    assert not {"annotation-mismatch", "unreadable-annotation"} & {
        finding.code for finding in result.findings}
    study_date = next(rule for rule in result.profile.rules if rule.matcher.tag == 0x00080020)
    assert study_date.action is Action.SHIFT_DATE and study_date.params["max_days"] == 30
