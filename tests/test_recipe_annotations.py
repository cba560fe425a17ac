"""A ``# deid {...}`` comment above a recipe line is trusted only where exporting its action gives
back that very line; otherwise the line is imported as pydicom/deid runs it and the lint names
the field (``annotation-mismatch``), from the import and from the profile file alone."""

from __future__ import annotations

import pytest

from deid import Action, load_profile_text, resolver_for
from deid.policy.actions import ACTIONS
from deid.policy.lint import LintFinding, lint_profile
from deid.policy.profile_model import Profile
from deid.recipe import export_recipe, import_recipe
from deid.recipe.annotation import field_element, judge_line
from deid.recipe.parse import parse_recipe


def recipe(*lines: str, settings: str = "") -> str:
    return f"FORMAT dicom\n{settings}\n%header\n" + "\n".join(lines) + "\n"


def imported(*lines: str, settings: str = "") -> tuple[Profile, list[LintFinding]]:
    result = import_recipe(recipe(*lines, settings=settings), profile_id="hostile",
                           name="hostile.recipe")
    return result.profile, list(result.findings)


def action_of(profile: Profile, tag: int, vr: str) -> tuple[Action, dict[str, object]]:
    """The action and its parameters other than their defaults."""
    decision = resolver_for(profile).decide(tag, vr)
    spec = ACTIONS[decision.action].params
    return decision.action, {key: value for key, value in decision.params.items()
                             if value != spec[key].default}


def codes(findings: list[LintFinding]) -> set[tuple[str, str]]:
    return {(finding.severity, finding.code) for finding in findings}


def test_a_comment_saying_remove_above_a_kept_patient_name_is_not_trusted() -> None:
    profile, findings = imported('# deid {"action": "remove"}', "KEEP PatientName")
    assert action_of(profile, 0x00100010, "PN")[0] is Action.KEEP  # what pydicom/deid does
    mismatch = [f for f in findings if f.code == "annotation-mismatch"]
    assert len(mismatch) == 1 and mismatch[0].severity == "error" and mismatch[0].rule == 1
    assert mismatch[0].message.startswith(
        "PatientName (0010,0010), line 5 'KEEP PatientName': the deid comment claims remove, "
        "but exporting remove gives 'REMOVE PatientName'")


def test_the_lint_finds_the_mismatch_from_the_profile_file_alone() -> None:
    toml = import_recipe(recipe('# deid {"action": "keep"}', "REMOVE PatientName"),
                         profile_id="hostile", name="hostile.recipe").toml_text
    reloaded = load_profile_text(toml, name="hostile.toml")
    findings = lint_profile(reloaded)
    assert ("error", "annotation-mismatch") in codes(findings)
    assert any(f.message.startswith("PatientName (0010,0010), line 5") for f in findings)
    rule = reloaded.rules[0]
    assert rule.action is Action.REMOVE
    assert "is not trusted (annotation-mismatch)" in rule.reason
    assert rule.source == ('deid recipe hostile.recipe line 5: REMOVE PatientName\n'
                           'with the comment above it: # deid {"action": "keep"}')


#: (lines, tag, VR, the action imported, whether the comment is contradicted by its line)
LINES = [
    (['# deid {"action": "keep"}', "REMOVE PatientName"], 0x00100010, "PN",
     Action.REMOVE, True),
    (['# deid {"action": "hash"}', "REPLACE AccessionNumber X"], 0x00080050, "SH",
     Action.DUMMY, True),
    (['# deid {"action": "shift_date", "days": 5}', "JITTER StudyDate 7"], 0x00080020, "DA",
     Action.SHIFT_DATE, True),
    (['# deid {"action": "empty"}', "REMOVE PatientName"], 0x00100010, "PN",
     Action.REMOVE, True),  # deid would write BLANK: no REMOVE ALL here
    (["REMOVE ALL", '# deid {"action": "empty"}', "REMOVE PatientName"], 0x00100010, "PN",
     Action.EMPTY, False),  # under REMOVE ALL a BLANK line would remove: REMOVE is deid's
    (['# deid {"action": "hash", "length": 16}', "REMOVE AccessionNumber"], 0x00080050, "SH",
     Action.HASH, False),
    (['# deid {"action": "hash", "length": 16}', "REMOVE accessionnumber"], 0x00080050, "SH",
     Action.REMOVE, True),  # deid writes the keyword as the dictionary spells it
    (['# deid {"action": "uid", "root": "1.2.3"}',
      "REPLACE StudyInstanceUID deid_func:pydicom_uuid"], 0x0020000D, "UI", Action.UID, True),
    (['# deid {"action": "uid", "secret": "site"}',
      "REPLACE StudyInstanceUID deid_func:pydicom_uuid"], 0x0020000D, "UI", Action.UID, False),
    (['# deid {"action": "dummy", "value": "A # B"}', "REMOVE InstitutionName"], 0x00080080,
     "LO", Action.DUMMY, False),
    (['# deid {"action": "dummy", "value": "AB"}', "REMOVE InstitutionName"], 0x00080080,
     "LO", Action.REMOVE, True),
    (['# deid {"action": "remove"}', "REMOVE endswith:Date"], 0x00080020, "DA",
     Action.REMOVE, True),  # a field expression names no single element
]


@pytest.mark.parametrize(("lines", "tag", "vr", "action", "contradicted"), LINES)
def test_a_comment_is_trusted_only_where_exporting_it_gives_the_line(
        lines: list[str], tag: int, vr: str, action: Action, contradicted: bool) -> None:
    profile, findings = imported(*lines)
    assert action_of(profile, tag, vr)[0] is action
    assert (("error", "annotation-mismatch") in codes(findings)) is contradicted


def test_a_trusted_comment_keeps_its_parameters() -> None:
    profile, findings = imported('# deid {"action": "shift_date", "max_days": 30}',
                                 "REMOVE StudyDate")
    assert action_of(profile, 0x00080020, "DA") == (Action.SHIFT_DATE, {"max_days": 30})
    assert "annotation-mismatch" not in {finding.code for finding in findings}


def test_the_comment_is_judged_with_the_recipe_parameters() -> None:
    settings = '# deid-settings {"params": {"SITE": "S1"}}'
    comment = '# deid {"action": "dummy", "value": "{SITE}"}'
    profile, findings = imported(comment, "REPLACE StationName S1", settings=settings)
    assert action_of(profile, 0x00081010, "SH") == (Action.DUMMY, {"value": "{SITE}"})
    assert "annotation-mismatch" not in {finding.code for finding in findings}
    profile, findings = imported(comment, "REMOVE StationName", settings=settings)
    assert action_of(profile, 0x00081010, "SH")[0] is Action.REMOVE
    assert ("error", "annotation-mismatch") in codes(findings)


def test_an_unreadable_comment_is_reported_and_the_line_imported() -> None:
    profile, findings = imported('# deid {"action": "scramble"}', "KEEP PatientName")
    assert action_of(profile, 0x00100010, "PN")[0] is Action.KEEP
    assert ("warning", "unreadable-annotation") in codes(findings)


def test_a_comment_on_a_field_expression_says_why() -> None:
    _, findings = imported('# deid {"action": "hash"}', "REMOVE endswith:Date")
    message = next(f.message for f in findings if f.code == "annotation-mismatch")
    assert message.startswith("endswith:Date, line 5 'REMOVE endswith:Date': the deid "
                              "comment claims hash")
    assert "names no single element" in message


def test_a_comment_on_a_line_no_rule_quotes_is_reported_once() -> None:
    _, findings = imported('# deid {"action": "keep"}', "REMOVE PatientName", "KEEP PatientName")
    assert sum(1 for f in findings if f.code == "annotation-mismatch") == 1


def test_a_private_element_is_named_by_its_field() -> None:
    line = parse_recipe(recipe('# deid {"action": "remove"}', 'KEEP (0019,"GEMS_ACQU_01",8B)'),
                        "p.recipe").header()[0]
    judgement = judge_line(line, {}, False)
    assert judgement.trusted is None and judgement.problem is not None
    assert judgement.problem.message.startswith(
        '(0019,"GEMS_ACQU_01",8B), line 5 \'KEEP (0019,"GEMS_ACQU_01",8B)\': the deid comment '
        "claims remove, but exporting remove gives 'REMOVE (0019,\"GEMS_ACQU_01\",8B)'")


@pytest.mark.parametrize(("field", "label", "written", "vr"), [
    ("PatientName", "PatientName (0010,0010)", "PatientName", "PN"),
    ("(0010,0010)", "PatientName (0010,0010)", "PatientName", "PN"),
    ("00100010", "PatientName (0010,0010)", "PatientName", "PN"),
    ('(0019,"GEMS_ACQU_01",8b)', '(0019,"GEMS_ACQU_01",8B)', '(0019,"GEMS_ACQU_01",8B)', "UN"),
])
def test_the_element_a_field_names(field: str, label: str, written: str, vr: str) -> None:
    element = field_element(field)
    assert element is not None
    assert (element.label, element.field, element.vr) == (label, written, vr)


@pytest.mark.parametrize("field", ["endswith:Date", "select:VR:PN", "ALL", "PatientsName",
                                   "OverlayData"])
def test_fields_naming_no_single_element(field: str) -> None:
    assert field_element(field) is None


def test_every_comment_of_an_export_is_trusted() -> None:
    profile = load_profile_text(
        'schema_version = 1\nid = "p"\ntitle = "t"\nprovenance = "user"\nbase = "ps315_basic"\n'
        '[[rules]]\nkeyword = "StudyDate"\naction = "shift_date"\nmax_days = 30\n'
        'reason = "r"\nsource = "s"\n', name="p.toml")
    text = export_recipe(profile)
    assert text.count("\n# deid {") >= 18
    result = import_recipe(text, profile_id="p", name="p.recipe")
    assert not {"annotation-mismatch", "unreadable-annotation"} & {
        finding.code for finding in result.findings}
    assert action_of(result.profile, 0x00080020, "DA") == (Action.SHIFT_DATE, {"max_days": 30})
