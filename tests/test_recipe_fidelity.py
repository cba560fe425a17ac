"""An exported recipe imports back to what deid does, with deid's comments and without them.

With its ``# deid`` comments, export then import gives back the same action for every element of
every shipped profile. Without them (and without ``# deid-settings``), the recipe's lines alone
give back what deid does, as Compare shows it (:func:`deid.transform.semantics.decide_tag`, keys
from :func:`deid.ctp.fidelity.action_key`), except the elements whose action a recipe cannot
say: each carries a ``# not expressible in a recipe`` comment with its reason codes
(:data:`deid.recipe.fidelity.NOT_EXPRESSIBLE`), and they are listed here, per profile,
explicitly. What a recipe cannot say about a whole profile (its private elements) is a code in
the recipe's header (:data:`deid.recipe.fidelity.SETTINGS_NOT_EXPRESSIBLE`)."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid import Profile, load_profile_text, resolver_for
from deid.ctp.exporter import chain_params
from deid.ctp.fidelity import action_key, canonical
from deid.outputs.compare import Universe, comparison_universe
from deid.policy.actions import ALL_VRS, Action
from deid.policy.dictionary import dictionary_entries
from deid.recipe import export_recipe, import_recipe
from deid.recipe.annotation import judge_line
from deid.recipe.exporter import CODES_PREFIX, line_action
from deid.recipe.fidelity import (
    NEAREST,
    NOT_EXPRESSIBLE,
    SETTINGS_NOT_EXPRESSIBLE,
    not_expressible,
    settings_not_expressible,
)
from deid.recipe.parse import parse_recipe, split_line
from deid.recipe.render import annotation_comment, element_field, line_text
from deid.transform.semantics import decide_tag
from tests.test_ctp_roundtrip import HEAD, SHIPPED, private_elements, rule
from tests.test_ctp_roundtrip import SYNTHETIC as CTP_SYNTHETIC
from tests.test_ctp_roundtrip import profile as ctp_profile

ROOT = Path(__file__).resolve().parents[1]
DEID_COMMENT = re.compile(r"^# deid(-settings)? \{.*\}$")
SETTINGS_CODE = re.compile(r"^# Not expressible in a recipe: ([a-z-]+): ")

#: What a recipe line cannot carry exactly: values, roots, fixed and per-patient shifts, VR
#: resolutions, private elements and blocks.
RECIPE_EDGES = (
    HEAD.replace("{id}", "recipe_edges") + 'unlisted = "keep"\nprivate_tags = "remove"\n'
    '[params]\nSITE = "S1"\n'
    + rule('keyword = "InstitutionName"', "dummy", 'value = "{SITE} # 1"\n')
    + rule('keyword = "StationName"', "dummy", 'value = "{SITE}"\n')
    + rule('keyword = "InstitutionAddress"', "dummy", 'value = "A  B"\n')
    + rule('keyword = "PatientAge"', "dummy", 'value = "050Y"\n')
    + rule('keyword = "PatientName"', "empty")
    + rule('keyword = "StudyInstanceUID"', "uid", 'root = "1.2.3"\n')
    + rule('keyword = "SeriesInstanceUID"', "uid")
    + rule('keyword = "ReferencedImageSequence"', "uid")
    + rule('keyword = "SeriesDate"', "shift_date", "days = -3\n")
    + rule('keyword = "AcquisitionDate"', "shift_date")
    + rule('keyword = "ContentTime"', "shift_date")
    + rule('keyword = "PatientWeight"', "clean")
    + rule('keyword = "ReferringPhysicianName"', "clean")
    + rule('private_creator = "GEMS_ACQU_01"\nelement = "(0019,xx8B)"', "hash")
    + rule('private_creator = "GEMS_ACQU_01"\nelement = "(0019,xx8C)"', "keep")
    + rule('private_creator = "SIEMENS CSA HEADER"', "keep"))
SYNTHETIC = [*CTP_SYNTHETIC, "recipe_edges"]

#: What a recipe cannot say, per profile: the element codes its export carries and the codes of
#: its header. Every other element of every profile imports back, from the lines alone, to what
#: deid does.
CANNOT_SAY: dict[str, set[str]] = {
    "chaimeleon_images_only": {"pseudonym", "per-patient-date-shift", "clean-text",
                               "clean-sequence", "dummy-sequence", "dummy-binary", "dummy-uid",
                               "private-remove"},
    "chaimeleon_images_w_ecrfs": {"pseudonym", "per-patient-date-shift", "clean-text",
                                  "clean-sequence", "dummy-sequence", "dummy-binary",
                                  "dummy-uid", "private-remove"},
    "ctp_basic": {"hash", "dummy-sequence", "private-remove"},
    "ctp_default": {"hash", "dummy-sequence", "private-remove"},
    "dicognito_default": {"pseudonym", "per-patient-date-shift"},
    "dicom_anonymizer_default": {"dummy-sequence", "dummy-binary", "private-remove"},
    "eucaim": {"hash", "pseudonym", "per-patient-date-shift", "truncate-date", "dummy-binary",
               "dummy-value", "uid-secret", "blank-under-remove-all"},
    "eucanimage": {"hash", "round", "dummy-sequence", "dummy-binary", "dummy-uid",
                   "private-remove"},
    "incisive": {"hash", "pseudonym", "per-patient-date-shift", "clean-text", "dummy-sequence",
                 "dummy-binary", "dummy-uid", "private-remove"},
    "meddisc_default": {"pseudonym", "per-patient-date-shift", "clean-text", "dummy-sequence",
                        "dummy-binary", "dummy-uid", "private-remove"},
    "primage": {"pseudonym", "dummy-sequence", "dummy-binary", "dummy-uid", "private-remove"},
    "procancer_i": {"pseudonym", "per-patient-date-shift", "truncate-date", "clean-text",
                    "dummy-sequence", "dummy-binary", "dummy-uid", "blank-under-remove-all"},
    "ps315_basic": {"dummy-sequence", "dummy-binary", "dummy-uid", "private-remove"},
    "pydicom_deid_default": set(),
    "every_action": {"hash", "pseudonym", "per-patient-date-shift", "truncate-date", "round",
                     "clean-text", "dummy-sequence", "uid-secret", "private-safe",
                     "private-creator-block"},
    "allow_list": {"private-kept-under-remove-all"},
    "on_basic": {"hash", "per-patient-date-shift", "clean-text", "clean-sequence",
                 "dummy-sequence", "dummy-binary", "private-safe"},
    "recipe_edges": {"hash", "per-patient-date-shift", "dummy-value", "private-remove",
                     "private-creator-block"},
}

#: The 17 ps315_basic elements whose line imports differently without comments, and why.
PS315_BASIC_CANNOT_SAY = {
    "InstitutionCodeSequence": "dummy-sequence",
    "OperatorIdentificationSequence": "dummy-sequence",
    "ReferencedPerformedProcedureStepSequence": "dummy-sequence",
    "FlowIdentifierSequence": "dummy-sequence",
    "FlowIdentifier": "dummy-binary",  # OB
    "SourceIdentifier": "dummy-binary",  # OB
    "FrameOriginTimestamp": "dummy-binary",  # OB
    "PersonIdentificationCodeSequence": "dummy-sequence",
    "VerifyingObserverSequence": "dummy-sequence",
    "ContentSequence": "dummy-sequence",
    "WaveformAnnotationSequence": "dummy-sequence",
    "EncapsulatedDocument": "dummy-binary",  # OB
    "AnnotationGroupUID": "dummy-uid",
    "GraphicAnnotationSequence": "dummy-sequence",
    "SelectorOBValue": "dummy-binary",
    "SelectorUNValue": "dummy-binary",
    "CertificateOfSigner": "dummy-binary",  # OB
}


@cache
def profile(profile_id: str) -> Profile:
    if profile_id == "recipe_edges":
        return load_profile_text(RECIPE_EDGES, name="recipe_edges.toml")
    return ctp_profile(profile_id)


@cache
def universe() -> Universe:
    """The comparison universe of every shipped and synthetic profile."""
    return comparison_universe([profile(name) for name in [*SHIPPED, *SYNTHETIC]])


@cache
def exported(profile_id: str) -> str:
    return export_recipe(profile(profile_id), universe=universe())


def without_comments(profile_id: str) -> str:
    return "\n".join(line for line in exported(profile_id).splitlines()
                     if not DEID_COMMENT.match(line)) + "\n"


def codes_by_field(text: str) -> dict[str, tuple[str, ...]]:
    """The 'not expressible' codes above each action line that carries them."""
    found: dict[str, tuple[str, ...]] = {}
    codes: tuple[str, ...] = ()
    for line in text.splitlines():
        if line.startswith(CODES_PREFIX):
            codes = tuple(line[len(CODES_PREFIX):].split(", "))
        elif line and not line.startswith(("#", "%", "FORMAT")):
            if codes:
                found[split_line(line)[1]] = codes
            codes = ()
    return found


def header_codes(text: str) -> set[str]:
    return {match.group(1) for line in text.splitlines()
            if (match := SETTINGS_CODE.match(line))}


def imported(profile_id: str, text: str) -> Profile:
    return import_recipe(text, profile_id=profile_id, name=f"{profile_id}.recipe").profile


def mismatches(profile_id: str, text: str) -> list[tuple[str, str, Any, Any]]:
    """``(label, recipe field, key before, key after)`` of the universe rows (and
    private-creator elements) where the profile and the recipe ``text`` imported back do
    different things."""
    original = profile(profile_id)
    back = imported(profile_id, text)
    before, after = resolver_for(original), resolver_for(back)
    mine, theirs = chain_params(original), chain_params(back)
    checks = [(row.tag, element_field(row.code), row.code, row.vr or "UN", None)
              for row in universe().tags]
    checks += [(f"{tag:08X} of {creator}", f'({tag >> 16:04X},"{creator}",{tag & 0xFF:02X})',
                tag, "UN", creator) for tag, creator in private_elements(original)]
    found = []
    for label, field, code, vr, creator in checks:
        a, b = decide_tag(before, code, vr, creator), decide_tag(after, code, vr, creator)
        key_a, key_b = action_key(a.action, a.params, mine, vr), action_key(b.action, b.params,
                                                                             theirs, vr)
        if key_a != key_b:
            found.append((label, field, key_a, key_b))
    return found


def test_every_profile_is_listed() -> None:
    assert set(CANNOT_SAY) == {*SHIPPED, *SYNTHETIC}


@pytest.mark.parametrize("profile_id", [*SHIPPED, *SYNTHETIC])
def test_with_comments_export_then_import_gives_back_what_deid_does(profile_id: str) -> None:
    text = exported(profile_id)
    result = import_recipe(text, profile_id=profile_id, name=f"{profile_id}.recipe")
    assert mismatches(profile_id, text) == []
    assert result.profile.effective_private_tags() == profile(
        profile_id).effective_private_tags()
    assert not {"annotation-mismatch", "unreadable-annotation"} & {
        finding.code for finding in result.findings}  # every comment deid wrote is trusted


@pytest.mark.parametrize("profile_id", [*SHIPPED, *SYNTHETIC])
def test_without_comments_the_lines_alone_give_back_what_deid_does(profile_id: str) -> None:
    text = without_comments(profile_id)
    assert "\n# deid {" not in text and "# deid-settings" not in text
    codes = codes_by_field(text)
    unexplained = [row for row in mismatches(profile_id, text) if not codes.get(row[1])]
    assert unexplained == []  # every element that comes back differently says why
    used = {code for listed in codes.values() for code in listed}
    assert NEAREST not in used
    assert used | header_codes(text) == CANNOT_SAY[profile_id]
    back = imported(profile_id, text).effective_private_tags()
    if back != profile(profile_id).effective_private_tags():
        assert header_codes(text) & {"private-remove", "private-safe",
                                     "private-kept-under-remove-all"}


def test_ps315_basic_without_comments_differs_only_where_a_recipe_cannot_say_it() -> None:
    text = without_comments("ps315_basic")
    differ = {row[1] for row in mismatches("ps315_basic", text)}
    assert differ == set(PS315_BASIC_CANNOT_SAY)
    codes = codes_by_field(text)
    assert {field: codes[field] for field in differ} == {
        field: (code,) for field, code in PS315_BASIC_CANNOT_SAY.items()}


def test_lines_say_what_deid_does_on_the_elements_vr() -> None:
    text = without_comments("recipe_edges")
    for line in ("KEEP ContentTime", "KEEP PatientWeight", "KEEP ReferencedImageSequence",
                 "REPLACE ReferringPhysicianName ANONYMIZED", "REPLACE StationName S1",
                 "REPLACE PatientAge 050Y", "BLANK PatientName", "JITTER SeriesDate -3",
                 "REPLACE StudyInstanceUID deid_func:pydicom_uuid prefix=1.2.3.",
                 "REPLACE SeriesInstanceUID deid_func:pydicom_uuid",
                 "REMOVE InstitutionName", "REMOVE InstitutionAddress", "REMOVE AcquisitionDate",
                 'REMOVE (0019,"GEMS_ACQU_01",8B)', 'KEEP (0019,"GEMS_ACQU_01",8C)'):
        assert f"\n{line}\n" in text, line


def test_the_header_explains_each_code_the_recipe_uses() -> None:
    for profile_id in ("incisive", "recipe_edges"):
        text = exported(profile_id)
        counts = Counter(code for listed in codes_by_field(text).values() for code in listed)
        assert counts
        for code, count in counts.items():
            noun = "element" if count == 1 else "elements"
            assert f"# Not expressible in a recipe ({count} {noun}): {code}: " \
                   f"{NOT_EXPRESSIBLE[code][0]}." in text
    text = exported("recipe_edges")
    for code in settings_not_expressible(profile("recipe_edges")):
        assert f"# Not expressible in a recipe: {code}: {SETTINGS_NOT_EXPRESSIBLE[code][0]}." \
            in text


def test_each_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## pydicom/deid recipes in and out", 1)[1].split("\n## ", 1)[0]
    for code in [*NOT_EXPRESSIBLE, *SETTINGS_NOT_EXPRESSIBLE]:
        assert f"`{code}`" in section, code


@pytest.mark.parametrize(("action", "params", "vr", "allow_list", "codes"), [
    (Action.HASH, {"length": 16}, "LO", False, ("hash",)),
    (Action.PSEUDONYM, {"template": "P-{hash:8}"}, "LO", False, ("pseudonym",)),
    (Action.SHIFT_DATE, {}, "DA", False, ("per-patient-date-shift",)),
    (Action.SHIFT_DATE, {"days": -3}, "DA", False, ()),
    (Action.SHIFT_DATE, {}, "TM", False, ()),  # a time of day is kept: KEEP
    (Action.TRUNCATE_DATE, {"to": "year"}, "DA", False, ("truncate-date",)),
    (Action.TRUNCATE_DATE, {"to": "day"}, "DA", False, ()),  # leaves the date as it is
    (Action.ROUND, {"step": 5}, "AS", False, ("round",)),
    (Action.CLEAN, {}, "LO", False, ("clean-text",)),
    (Action.CLEAN, {}, "SQ", False, ("clean-sequence",)),
    (Action.CLEAN, {}, "DA", False, ("per-patient-date-shift",)),  # cleaning a date shifts it
    (Action.CLEAN, {}, "PN", False, ()),  # cleaning a name writes the dummy
    (Action.DUMMY, {}, "SQ", False, ("dummy-sequence",)),
    (Action.DUMMY, {}, "OB", False, ("dummy-binary",)),
    (Action.DUMMY, {}, "AT", False, ("dummy-binary",)),
    (Action.DUMMY, {}, "UI", False, ("dummy-uid",)),
    (Action.DUMMY, {"value": "1.2.3"}, "UI", False, ()),
    (Action.DUMMY, {"value": "A # B"}, "LO", False, ("dummy-value",)),
    (Action.DUMMY, {"value": " A"}, "LO", False, ("dummy-value",)),
    (Action.DUMMY, {"value": "var:x"}, "LO", False, ("dummy-value",)),
    (Action.DUMMY, {"value": "{SITE}"}, "LO", False, ()),
    (Action.DUMMY, {"value": "{OTHER}"}, "LO", False, ("dummy-value",)),
    (Action.UID, {"secret": "site"}, "UI", False, ("uid-secret",)),
    (Action.UID, {"root": "{SITE}"}, "UI", False, ("uid-root",)),
    (Action.UID, {"root": "1.2.3"}, "UI", False, ()),
    (Action.UID, {}, "UN", False, ("uid-not-ui",)),
    (Action.UID, {}, "SQ", False, ()),  # deid walks the items, as KEEP does
    (Action.EMPTY, {}, "LO", True, ("blank-under-remove-all",)),
    (Action.EMPTY, {}, "LO", False, ()),
])
def test_what_a_recipe_cannot_say_is_told_by_one_table(
        action: Action, params: dict[str, object], vr: str, allow_list: bool,
        codes: tuple[str, ...]) -> None:
    declared = {"SITE": "S1"}
    assert not_expressible(action, params, vr, declared, allow_list) == codes
    text = line_text("X", vr, action, params, declared, allow_list)
    got = line_action(text, allow_list)
    same = action_key(*got, declared, vr) == action_key(action, params, declared, vr)
    assert same is (codes == ())  # the table names exactly the lines that import otherwise


def test_the_exported_recipe_is_one_pydicom_deid_reads() -> None:
    text = exported("every_action")
    parsed = parse_recipe(text, "every_action.recipe")
    assert parsed.format == "dicom"
    for line in parsed.header():
        if line.action in ("REMOVE", "KEEP", "BLANK"):
            assert line.value is None, line.text  # trailing text would be a condition
        assert "#" not in line.text
    assert '# deid {"action": "hash", "algorithm": "sha512_256", "keying": "concat", ' \
           '"length": 16, "prefix": "ACC", "secret": "site"}\n' \
           "# not expressible in a recipe: hash\nREMOVE AccessionNumber\n" in text
    assert "# deid-settings" in text and '"private_tags": "safe"' in text


def _keyword_of_vr(vr: str) -> str | None:
    return next((info.keyword for info in dictionary_entries() if info.keyword
                 and not info.is_pattern and info.vr == vr
                 and element_field(int(info.tag[1:5] + info.tag[6:10], 16)) == info.keyword),
                None)


FIELDS_BY_VR = {vr: keyword for vr in sorted(ALL_VRS) if (keyword := _keyword_of_vr(vr))}
VALUES = st.text(alphabet="AB1 #'\"{}:.^-", max_size=8)
ACTION_PARAMS = st.one_of(
    st.sampled_from([(Action.KEEP, {}), (Action.REMOVE, {}), (Action.EMPTY, {}),
                     (Action.CLEAN, {}), (Action.HASH, {"length": 16}),
                     (Action.PSEUDONYM, {"template": "P-{hash:8}"}),
                     (Action.SHIFT_DATE, {}), (Action.SHIFT_DATE, {"days": -3}),
                     (Action.TRUNCATE_DATE, {"to": "day"}), (Action.TRUNCATE_DATE, {}),
                     (Action.ROUND, {"step": 5}), (Action.UID, {}),
                     (Action.UID, {"root": "1.2.3"}), (Action.UID, {"root": "{SITE}"}),
                     (Action.UID, {"secret": "site"}), (Action.DUMMY, {})]),
    VALUES.map(lambda value: (Action.DUMMY, {"value": value})),
    st.sampled_from(["{SITE}", "var:x", "func:y", "deid_func:z", "A  B"]).map(
        lambda value: (Action.DUMMY, {"value": value})))


@settings(max_examples=300, deadline=None)
@given(ACTION_PARAMS, st.sampled_from(sorted(FIELDS_BY_VR.items())), st.booleans())
def test_each_line_imports_back_unless_a_code_says_why(
        action_params: tuple[Action, dict[str, Any]], field_vr: tuple[str, str],
        allow_list: bool) -> None:
    action, params = action_params
    vr, field = field_vr
    declared = {"SITE": "S1"}
    text = line_text(field, vr, action, params, declared, allow_list)
    got = line_action(text, allow_list)
    same = action_key(*got, declared, vr) == action_key(action, params, declared, vr)
    assert same is not bool(not_expressible(action, params, vr, declared, allow_list))
    comment = annotation_comment(*canonical(action, params, vr))  # what the exporter writes
    line = parse_recipe(f"FORMAT dicom\n%header\n{comment}\n{text}\n", "p.recipe").header()[0]
    assert judge_line(line, declared, allow_list).trusted is not None
