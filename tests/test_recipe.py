"""pydicom/deid recipes in and out, tested from recipe files alone (pydicom/deid itself is never
installed here: its module is also called ``deid``).

Each action line is replayed as pydicom/deid runs it; what a profile cannot say is reported, never
dropped; lint re-reads the quoted lines from the profile file alone. Export then import, with and
without deid's comments: ``tests/test_recipe_fidelity.py``; the comments themselves:
``tests/test_recipe_annotations.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from deid import Action, Profile, list_profiles, load_profile, load_profile_text, resolver_for
from deid.cli import main
from deid.policy.actions import ACTIONS as ACTION_SPECS
from deid.policy.dictionary import dictionary_entries, keyword_to_tag
from deid.policy.lint import lint_profile
from deid.recipe import RecipeError, import_recipe
from deid.recipe.parse import parse_recipe

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "recipe" / "example.recipe"
SHIPPED = [info.id for info in list_profiles()]


def recipe(*lines: str, head: str = "FORMAT dicom\n%header\n") -> str:
    return head + "\n".join(lines) + "\n"


def imported(*lines: str, remove_private: bool = False) -> Profile:
    return import_recipe(recipe(*lines), profile_id="r", name="r.recipe",
                         remove_private=remove_private).profile


def decide(profile: Profile, keyword: str) -> tuple[str, dict[str, object]]:
    tag = keyword_to_tag(keyword)
    assert tag is not None
    vr = next(info.vr for info in dictionary_entries() if info.keyword == keyword)
    decision = resolver_for(profile).decide(tag, vr.split(" or ")[0])
    spec = ACTION_SPECS[decision.action].params
    return decision.action.value, {key: value for key, value in decision.params.items()
                                   if key in ("value", "days", "root")
                                   and value != spec[key].default}


ACTIONS = [
    # (case, recipe lines, keyword, expected action, expected value/days)
    ("KEEP", ["KEEP PatientName"], "PatientName", "keep", {}),
    ("REMOVE", ["REMOVE PatientName"], "PatientName", "remove", {}),
    ("BLANK", ["BLANK PatientName"], "PatientName", "empty", {}),
    ("REPLACE", ["REPLACE PatientName ANON"], "PatientName", "dummy", {"value": "ANON"}),
    ("ADD", ["ADD PatientIdentityRemoved YES"], "PatientIdentityRemoved", "dummy",
     {"value": "YES"}),
    ("JITTER", ["JITTER StudyDate -30"], "StudyDate", "shift_date", {"days": -30}),
    ("deid_func jitter", ["JITTER StudyDate deid_func:jitter days=7"], "StudyDate",
     "shift_date", {"days": 7}),
    ("deid_func pydicom_uuid", ["REPLACE StudyInstanceUID deid_func:pydicom_uuid"],
     "StudyInstanceUID", "uid", {}),
    ("deid_func pydicom_uuid with a prefix",
     ["REPLACE StudyInstanceUID deid_func:pydicom_uuid prefix=1.2.3."], "StudyInstanceUID",
     "uid", {"root": "1.2.3"}),
    ("deid_func pydicom_uuid without stable remapping is random",
     ["REPLACE StudyInstanceUID deid_func:pydicom_uuid stable_remapping=false"],
     "StudyInstanceUID", "dummy", {}),
    ("deid_func pydicom_uuid with a bad prefix writes nothing",
     ["REPLACE StudyInstanceUID deid_func:pydicom_uuid prefix=1.2.3"], "StudyInstanceUID",
     "keep", {}),
    ("deid_func dicom_uuid is random", ["REPLACE StudyInstanceUID deid_func:dicom_uuid"],
     "StudyInstanceUID", "dummy", {}),
    ("tag (gggg,eeee)", ["REMOVE (0010,0010)"], "PatientName", "remove", {}),
    ("tag ggggeeee", ["REMOVE 00100010"], "PatientName", "remove", {}),
    ("keyword, any case", ["REMOVE patientname"], "PatientName", "remove", {}),
    ("field expression", ["REMOVE endswith:Date"], "ContentDate", "remove", {}),
    ("select:group", ["REMOVE select:group:0032"], "RequestingPhysician", "remove", {}),
    ("select:VR", ["REMOVE select:VR:AS"], "PatientAge", "remove", {}),
    ("unlisted is kept", ["REMOVE PatientName"], "PatientID", "keep", {}),
    ("KEEP shields from a later REMOVE", ["KEEP StudyDate", "REMOVE endswith:Date"],
     "StudyDate", "keep", {}),
    ("REPLACE shields from REMOVE, in any order", ["REMOVE PatientName",
                                                    "REPLACE PatientName X"],
     "PatientName", "dummy", {"value": "X"}),
    ("ADD writes a kept element", ["KEEP OperatorsName", "ADD OperatorsName OP"],
     "OperatorsName", "dummy", {"value": "OP"}),
    ("REMOVE beats BLANK in any order", ["BLANK PatientName", "REMOVE PatientName"],
     "PatientName", "remove", {}),
    ("ADD of a var the caller did not supply adds nothing", ["REMOVE PatientID",
                                                             "ADD PatientID var:entity_id"],
     "PatientID", "remove", {}),
    ("REPLACE with an unsupplied func leaves the value and blocks REMOVE",
     ["REMOVE AccessionNumber", "REPLACE AccessionNumber func:make"], "AccessionNumber",
     "keep", {}),
    ("REMOVE with trailing text never removes", ["REMOVE PatientName # why"], "PatientName",
     "keep", {}),
    ("two jitters add up", ["JITTER StudyDate 5", "JITTER StudyDate 2"], "StudyDate",
     "shift_date", {"days": 7}),
]


@pytest.mark.parametrize(("lines", "keyword", "action", "params"),
                         [case[1:] for case in ACTIONS], ids=[case[0] for case in ACTIONS])
def test_each_line_is_replayed_as_pydicom_deid_runs_it(lines: list[str], keyword: str,
                                                       action: str,
                                                       params: dict[str, object]) -> None:
    assert decide(imported(*lines), keyword) == (action, params)


def test_remove_all_is_an_allow_list_and_private_tags_follow_the_run() -> None:
    allow = imported("REMOVE ALL", "KEEP Modality", "REPLACE PatientName X")
    assert allow.unlisted == "remove" and allow.private_tags == "remove"
    assert decide(allow, "Modality") == ("keep", {})
    assert decide(allow, "PatientName") == ("dummy", {"value": "X"})
    assert imported("KEEP Modality").private_tags == "keep"
    assert imported("KEEP Modality", remove_private=True).private_tags == "remove"


def test_a_private_creator_field_is_a_private_element_rule() -> None:
    profile = imported('KEEP (0019,"GEMS_ACQU_01",8B)', "REMOVE ALL")
    resolver = resolver_for(profile)
    assert resolver.decide(0x0019108B, "UN", "GEMS_ACQU_01").action is Action.KEEP
    assert resolver.decide(0x0019108C, "UN", "GEMS_ACQU_01").action is Action.REMOVE


def test_every_rule_quotes_its_deciding_line() -> None:
    profile = imported("REMOVE endswith:Date", "KEEP StudyDate")
    study = resolver_for(profile).decide(0x00080020, "DA")
    assert study.source == "deid recipe r.recipe line 4: KEEP StudyDate"
    assert "line 3 REMOVE; line 4 KEEP" in study.reason


def findings_of(path: Path) -> set[tuple[str, str]]:
    result = import_recipe(path.read_text(encoding="utf-8"), profile_id="example",
                           name=path.name)
    return {(f.code, f.severity) for f in result.findings}


def test_what_a_profile_cannot_say_is_reported_never_dropped() -> None:
    result = import_recipe(EXAMPLE.read_text(encoding="utf-8"), profile_id="example",
                           name="example.recipe")
    messages = [f"{f.severity} {f.code} {f.message}" for f in result.findings]

    def has(*words: str) -> bool:
        return any(all(word in message for word in words) for message in messages)

    assert has("error not-representable", "values:cookie_names")
    assert has("warning unknown-field", "PatientsName")
    assert has("not-representable", "endswith:Date expanded over pydicom's data dictionary")
    assert has("not-representable", "%fields identifiers holds field expressions")
    assert has("not-representable", "var:entity_id", "adds nothing")
    assert has("not-representable", "func:make_accession", "leaves the element")
    assert has("not-representable", "deid_func:basic_uuid", "random UUID")
    assert has("not-representable", "deid_func:dicom_uuid", "random UID under org_root")
    assert has("not-representable", "REMOVE SeriesDate #", "never removes")
    assert has("info not-representable", "%filter LABEL", "pixel")
    assert has("info not-representable", "select:VR:AS")


def test_lint_rereads_the_quoted_lines_from_the_profile_file_alone() -> None:
    toml_text = import_recipe(EXAMPLE.read_text(encoding="utf-8"), profile_id="example",
                              name="example.recipe").toml_text
    reloaded = load_profile_text(toml_text, name="example.toml")
    found = [(f.code, f.message) for f in lint_profile(reloaded)]
    assert sum(1 for code, message in found if code == "not-representable"
               and "endswith:Date" in message) == 1   # once per line, not once per rule
    assert any("deid_func:basic_uuid" in message for _, message in found)


@pytest.mark.parametrize(("text", "message"), [
    ("%header\nREMOVE PatientName\n", "no FORMAT line"),
    ("FORMAT nifti\n%header\n", "FORMAT nifti is not supported"),
    ("FORMAT dicom\nREMOVE PatientName\n", "line 2: an action before any section"),
    ("FORMAT dicom\n%body\n", "line 2: %body is not a recipe section"),
    ("FORMAT dicom\n%filter\n", "line 2: %filter needs a name"),
    ("FORMAT dicom\n%header\nADD PatientName\n", "line 3: 'ADD PatientName': ADD needs a value"),
    ("FORMAT dicom\n%header\nREMOVE\n", "line 3: 'REMOVE': REMOVE needs a field"),
])
def test_unreadable_recipes_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(RecipeError) as raised:
        parse_recipe(text, "bad.recipe")
    assert str(raised.value).startswith("bad.recipe")
    assert message in str(raised.value)


# --- The command line ----------------------------------------------------------------------------

def test_cli_import_and_export_recipe(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "example.toml"
    assert main(["import-recipe", str(EXAMPLE), "--id", "example", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "example: error not-representable: line" in printed
    assert f"wrote {out}: profile example" in printed
    assert load_profile(out).id == "example"
    recipe_out = tmp_path / "primage.recipe"
    assert main(["export-recipe", "primage", "--out", str(recipe_out)]) == 0
    assert recipe_out.read_text(encoding="utf-8").count("FORMAT dicom") == 1
    assert main(["import-recipe", str(tmp_path / "missing.recipe"), "--id", "x", "--out",
                 str(tmp_path / "x.toml")]) == 2
    bad = tmp_path / "bad.recipe"
    bad.write_text("FORMAT nifti\n", encoding="utf-8")
    assert main(["import-recipe", str(bad), "--id", "x", "--out", str(tmp_path / "x.toml")]) == 2
    assert "bad.recipe, line 1: FORMAT nifti is not supported" in capsys.readouterr().err
