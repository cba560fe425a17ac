"""The CTP function language, one tiny script per function family: element script -> canonical
action and parameters (and findings), and the imported profile applied to a small data set
gives a sensible value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deid import Secrets, apply_profile, resolver_for
from deid.ctp import CtpImport, import_ctp_script
from deid.ctp.functions import FUNCTIONS
from deid.ctp.sources import element_vr
from deid.tags import parse_tag

PARAMS = {"UIDROOT": "1.2.3", "DATEINC": "-10", "SITEID": "S1", "AGEGROUP": "10",
          "SECRET_KEY": "do-not-write-me"}
SECRETS = Secrets({"default": "test-secret", "key": "key-secret"})
KEYWORDS = {
    "(0010,0010)": "PatientName", "(0010,0020)": "PatientID", "(0008,0050)": "AccessionNumber",
    "(0008,0018)": "SOPInstanceUID", "(0008,0020)": "StudyDate", "(0008,0030)": "StudyTime",
    "(0010,1010)": "PatientAge", "(0008,1030)": "StudyDescription",
    "(0012,0040)": "ClinicalTrialSubjectID", "(0008,002A)": "AcquisitionDateTime",
    "(0008,0017)": "AcquisitionUID", "(0008,1110)": "ReferencedStudySequence",
}


def script(expression: str, tag: str, extra: str = "") -> str:
    """A script with the test parameters and one element."""
    params = "".join(f' <p t="{name}">{value}</p>\n' for name, value in PARAMS.items())
    hexes = tag[1:5] + tag[6:10]
    return (f"<script>\n{params} <e en=\"T\" t=\"{hexes}\" n=\"{KEYWORDS.get(tag, '')}\">"
            f"{expression}</e>\n{extra} <r en=\"T\" t=\"privategroups\">Remove private "
            "groups</r>\n</script>\n")


def imported(expression: str, tag: str, extra: str = "") -> CtpImport:
    return import_ctp_script(script(expression, tag, extra), profile_id="t", name="t.script")


def sample() -> Dataset:
    ds = Dataset()
    ds.PatientName = "DOE^JOHN"
    ds.PatientID = "123456"
    ds.AccessionNumber = "A123"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.77"
    ds.AcquisitionUID = "1.2.826.0.1.3680043.8.498.78"
    ds.StudyDate = "20200315"
    ds.StudyTime = "141516"
    ds.AcquisitionDateTime = "20200315141516"
    ds.PatientAge = "063Y"
    ds.StudyDescription = "CT 123456 chest"
    ds.ClinicalTrialSubjectID = "SUBJ-1"
    ref = Dataset()
    ref.ReferencedSOPInstanceUID = "1.2.3.4.5"
    ds.ReferencedStudySequence = Sequence([ref])
    return ds


Check = Callable[[Any], bool]


def changed(value: Any) -> bool:
    return value is not None and str(value) not in ("DOE^JOHN", "123456", "A123", "")


# (expression, tag, expected action, expected parameters (subset), check of the new value)
CASES: list[tuple[str, str, str, Mapping[str, Any], Check]] = [
    # CTP's own actions
    ("@keep()", "(0010,0010)", "keep", {}, lambda v: v == "DOE^JOHN"),
    ("@remove()", "(0010,0010)", "remove", {}, lambda v: v is None),
    ("@empty()", "(0010,0010)", "empty", {}, lambda v: v == ""),
    ("@blank(3)", "(0010,0010)", "empty", {}, lambda v: v == ""),
    ("", "(0010,0010)", "empty", {}, lambda v: v == ""),
    ("@always()", "(0010,0010)", "empty", {}, lambda v: v == ""),
    ("@require()", "(0010,0020)", "keep", {}, lambda v: v == "123456"),
    ("@process()", "(0008,1110)", "keep", {}, lambda v: v is not None and len(v) == 1),
    ("@always()@append(){deid test}", "(0008,1030)", "keep", {},
     lambda v: v == "CT 123456 chest"),
    # literals and parameters
    ("ANON", "(0010,0010)", "dummy", {"value": "ANON"}, lambda v: v == "ANON"),
    ("@always()YES", "(0010,0010)", "dummy", {"value": "YES"}, lambda v: v == "YES"),
    ("@param(@SITEID)", "(0010,0020)", "dummy", {"value": "{SITEID}"}, lambda v: v == "S1"),
    ("Site @param(@SITEID)", "(0010,0020)", "dummy", {"value": "Site {SITEID}"},
     lambda v: v == "Site S1"),
    ("ANONYMIZED", "(0008,1030)", "dummy", {"value": ""}, lambda v: v == "ANONYMIZED"),
    ("@date()", "(0008,0020)", "dummy", {"value": ""}, lambda v: v == "19000101"),
    ("@time()", "(0008,0030)", "dummy", {"value": ""}, lambda v: v == "000000.00"),
    # hashing
    ("@hash(this,10)", "(0010,0020)", "hash", {"length": 10},
     lambda v: changed(v) and len(v) == 10),
    ("@hash(this)", "(0008,0050)", "hash", {"length": 32},
     lambda v: changed(v) and len(v) == 16),  # SH holds 16 characters
    ("@hash(PatientID,8)", "(0008,0050)", "hash", {"length": 8, "input": "{patient}"},
     lambda v: changed(v) and len(v) == 8),
    ("@hashname(this,6,2)", "(0010,0010)", "hash", {"length": 6},
     lambda v: changed(v) and len(str(v)) == 6),
    ("X-@hash(this,8)", "(0010,0020)", "hash", {"prefix": "X-", "length": 8},
     lambda v: v.startswith("X-") and len(v) == 10),
    ("@encrypt(this,@SECRET_KEY)", "(0010,0020)", "hash", {"secret": "key"}, changed),
    ("@decrypt(this,@SECRET_KEY)", "(0010,0020)", "keep", {}, lambda v: v == "123456"),
    ("@hashptid(@SITEID,PatientID)", "(0010,0020)", "pseudonym",
     {"template": "{hash:32}", "input": "{SITEID}{value}"}, changed),
    ("@hashptid(@SITEID,PatientID,12)", "(0012,0040)", "pseudonym",
     {"template": "{hash:12}", "input": "{SITEID}{patient}"},
     lambda v: changed(v) and len(v) == 12),
    ("@param(EUCAIM-)@hashptid(@SECRET_KEY,this)", "(0010,0020)", "pseudonym",
     {"template": "EUCAIM-{hash:32}", "secret": "key"},
     lambda v: v.startswith("EUCAIM-") and len(v) == 39),
    ("PCa@hashptid(@SITEID,this,16)", "(0010,0020)", "pseudonym",
     {"template": "PCa{hash:16}", "input": "{SITEID}{value}"},
     lambda v: v.startswith("PCa") and len(v) == 19),
    ("@integer(this,ptid,6)", "(0010,0020)", "pseudonym", {"template": "{hash:6}"},
     lambda v: changed(v) and len(v) == 6),
    ("@lookup(this,ptid)", "(0010,0020)", "pseudonym", {"template": "{hash}"}, changed),
    # UIDs
    ("@hashuid(@UIDROOT,this)", "(0008,0018)", "uid", {"root": "{UIDROOT}"},
     lambda v: v.startswith("1.2.3.")),
    ("@hash(this,16)", "(0008,0017)", "uid", {"root": "2.25"},
     lambda v: v.startswith("2.25.")),
    # dates and times
    ("@incrementdate(this,@DATEINC)", "(0008,0020)", "shift_date", {"days": -10},
     lambda v: v == "20200305"),
    ("@incrementdate(this,-3)", "(0008,0020)", "shift_date", {"days": -3},
     lambda v: v == "20200312"),
    ("@incrementdate(this,0)", "(0008,0020)", "keep", {}, lambda v: v == "20200315"),
    ("@incrementdate(this,@NOPE)", "(0008,0020)", "empty", {}, lambda v: v == ""),
    ("@hashdate(this,PatientID)", "(0008,0020)", "shift_date", {"max_days": 3650},
     lambda v: v != "20200315" and v < "20200315"),
    ("@dateinterval(this,basedate,PatientID)", "(0008,0020)", "shift_date", {},
     lambda v: v < "20200315"),
    ("@modifydate(this,*,1,1)", "(0008,0020)", "truncate_date", {"to": "year"},
     lambda v: v == "20200101"),
    ("@modifydate(this,*,*,1)", "(0008,0020)", "truncate_date", {"to": "month"},
     lambda v: v == "20200301"),
    ("@modifydate(this,*,*,*)", "(0008,0020)", "truncate_date", {"to": "day"},
     lambda v: v == "20200315"),
    ("@modifydate(this,2000,*,*)", "(0008,0020)", "dummy", {}, lambda v: v == "19000101"),
    ("@truncate(this,2)", "(0008,0030)", "truncate_date", {"to": "hour"},
     lambda v: v == "140000"),
    ("@truncate(this,6)", "(0008,002A)", "truncate_date", {"to": "month"},
     lambda v: v.startswith("20200301")),
    # numbers
    ("@round(this,5)", "(0010,1010)", "round", {"step": 5.0}, lambda v: v == "060Y"),
    ("@round(this,@AGEGROUP)", "(0010,1010)", "round", {"step": 10.0}, lambda v: v == "060Y"),
    # text
    ("@contents(this)", "(0008,1030)", "keep", {}, lambda v: v == "CT 123456 chest"),
    ('@contents(this,"[0-9]+")', "(0008,1030)", "clean", {}, lambda v: "123456" not in v),
    ("@value(this)", "(0008,1030)", "keep", {}, lambda v: v == "CT 123456 chest"),
    ("@contents(PatientName)", "(0008,1030)", "dummy", {}, lambda v: v == "ANONYMIZED"),
    ("@lowercase(this)", "(0008,1030)", "keep", {}, lambda v: v == "CT 123456 chest"),
    ("@uppercase(PatientName)", "(0008,1030)", "dummy", {}, lambda v: v == "ANONYMIZED"),
    ("@pathelement(this,1)", "(0008,1030)", "dummy", {}, lambda v: v == "ANONYMIZED"),
    ("@truncate(this,3)", "(0008,1030)", "clean", {}, lambda v: "123456" not in v),
    ("@initials(PatientName)", "(0010,0010)", "clean", {}, changed),
    # conditionals: the most permissive branch that lets the object through
    ("@if(this,exists){@hash(this,8)}{@remove()}", "(0010,0020)", "hash", {"length": 8},
     lambda v: changed(v) and len(v) == 8),
    ("@if(this,isblank){@remove()}{@keep()}", "(0010,0020)", "keep", {},
     lambda v: v == "123456"),
    ('@if(PatientName,contains,"TEST"){@quarantine()}{@empty()}', "(0010,0020)", "empty", {},
     lambda v: v == ""),
    ("@select(){@keep()}{@remove()}", "(0010,0020)", "keep", {}, lambda v: v == "123456"),
    ("@if(this,exists){@quarantine()}{@skip()}", "(0010,0020)", "remove", {},
     lambda v: v is None),
    ("@quarantine()", "(0010,0020)", "remove", {}, lambda v: v is None),
    ("@skip()", "(0010,0020)", "remove", {}, lambda v: v is None),
    # what CTP does not define or cannot run: the most protective action, reported
    ("@call(plugin,this)", "(0010,0020)", "remove", {}, lambda v: v is None),
    ('@setSubstring(0,6)+"01"', "(0008,0020)", "remove", {}, lambda v: v is None),
    ("hashuid(@UIDROOT,this,PatientID)", "(0008,0018)", "remove", {}, lambda v: v is None),
    ("@hash(this,10", "(0010,0020)", "remove", {}, lambda v: v is None),
    ("keep()", "(0010,0020)", "dummy", {"value": "keep()"}, lambda v: v == "keep()"),
    ("@round(this,5)", "(0010,0010)", "dummy", {}, lambda v: v == "ANONYMIZED"),
]


@pytest.mark.parametrize(("expression", "tag", "action", "params", "check"), CASES,
                         ids=[f"{case[0] or 'empty'}@{case[1]}" for case in CASES])
def test_element_maps_to_action_and_applies(expression: str, tag: str, action: str,
                                            params: Mapping[str, Any], check: Check) -> None:
    result = imported(expression, tag)
    code = parse_tag(tag)
    decision = resolver_for(result.profile).decide(code, element_vr(code) or "UN")
    assert decision.action.value == action
    for key, value in params.items():
        assert decision.params[key] == value, key
    output = apply_profile(sample(), result.profile, secrets=SECRETS).dataset
    element = output.get(code)
    assert check(element.value if element is not None else None), element


FINDINGS = [
    ("@incrementdate(this,@NOPE)", "(0008,0020)", "undeclared-parameter", "warning"),
    ("@call(plugin,this)", "(0010,0020)", "unmappable-function", "warning"),
    ('@setSubstring(0,6)+"01"', "(0008,0020)", "unknown-function", "error"),
    ("hashuid(@UIDROOT,this,PatientID)", "(0008,0018)", "call-without-at", "error"),
    ("@foo(this", "(0008,0018)", "unparsable-expression", "error"),
    ("@hash(this,10", "(0010,0020)", "unparsable-expression", "error"),
    ("@round(this,x)", "(0010,1010)", "unparsable-expression", "error"),
    ("keep()", "(0010,0020)", "call-without-at", "error"),
    ("keep()", "(0018,1042)", "value-invalid-for-vr", "error"),
    ("foo()", "(0010,0020)", "suspicious-literal", "warning"),
    ('@setSubstring(0,6)+"01"', "(0008,0012)", "value-invalid-for-vr", "error"),
    ("@hash(this,16)", "(0008,0017)", "action-invalid-for-vr", "warning"),
    ("@round(this,5)", "(0010,0010)", "action-invalid-for-vr", "warning"),
]


@pytest.mark.parametrize(("expression", "tag", "code", "severity"), FINDINGS,
                         ids=[case[2] + ":" + case[0] for case in FINDINGS])
def test_problem_elements_are_reported_with_their_rule(expression: str, tag: str, code: str,
                                                       severity: str) -> None:
    result = imported(expression, tag)
    found = [(f.code, f.severity, f.rule) for f in result.findings if f.code == code]
    assert found == [(code, severity, 1)]


def test_a_disabled_element_is_a_disabled_rule_with_milder_findings() -> None:
    text = script("@keep()", "(0010,0010)").replace('en="T" t="00100010"',
                                                     'en="F" t="00100010"')
    text = text.replace("@keep()", "@setSubstring(1)")
    result = import_ctp_script(text, profile_id="t", name="t.script")
    rule = result.profile.rules[0]
    assert not rule.enabled and rule.action.value == "remove"
    assert rule.reason.startswith("Disabled in the script")
    found = [(f.code, f.severity) for f in result.findings if f.code != "secret-parameter"]
    assert found == [("unknown-function", "warning")]
    decision = resolver_for(result.profile).decide(0x00100010, "PN")
    assert decision.action.value == "keep" and not decision.explicit


def test_hashuid_salted_with_a_keyed_element_uses_that_secret() -> None:
    extra = (' <e en="T" t="00100020" n="PatientID">'
             "@param(EUCAIM-)@hashptid(@SECRET_KEY,this)</e>\n")
    result = imported("@hashuid(@UIDROOT,this,PatientID)", "(0008,0018)", extra)
    decision = resolver_for(result.profile).decide(0x00080018, "UI")
    assert decision.params["secret"] == "key" and decision.params["root"] == "{UIDROOT}"


def test_rules_quote_the_element_and_say_how_it_was_mapped() -> None:
    rule = imported("@hash(this,10)", "(0010,0020)").profile.rules[0]
    assert rule.source == ('CTP t.script: <e en="T" t="00100020" n="PatientID">@hash(this,10)'
                           "</e>")
    assert "MD5" in rule.reason and "Nearest action: hash" in rule.reason
    exact = imported("@remove()", "(0010,0020)").profile.rules[0]
    assert "Mapped to remove" in exact.reason


def test_secret_parameters_are_named_not_written() -> None:
    result = imported("@param(EUCAIM-)@hashptid(@SECRET_KEY,this)", "(0010,0020)")
    assert "do-not-write-me" not in result.toml_text
    assert "SECRET_KEY" not in result.profile.params
    assert any(f.code == "secret-parameter" and "DEID_SECRET_KEY" in f.message
               for f in result.findings)


def test_every_function_of_the_table_is_covered_by_a_case() -> None:
    covered = {name for case in CASES for name in FUNCTIONS if f"@{name}(" in case[0]}
    assert covered == set(FUNCTIONS)
