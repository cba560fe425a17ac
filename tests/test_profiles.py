"""Profile files: the format, layering, and one clear error per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from deid import Action, ProfileError, list_profiles, load_profile, load_profiles, resolver_for

HEAD = 'schema_version = 1\nid = "p"\ntitle = "Test profile"\nprovenance = "user"\n'
NO_BASE = HEAD + 'unlisted = "keep"\nprivate_tags = "keep"\n'
RULE = '[[rules]]\n{matcher}\naction = "{action}"\nreason = "r"\nsource = "s"\n'


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rule(matcher: str, action: str = "remove", extra: str = "") -> str:
    return RULE.format(matcher=matcher, action=action) + extra


BAD_PROFILES = [
    # (case, text, rule number, field, words in the message)
    ("unknown top-level key", NO_BASE + 'colour = "red"\n', None, "colour", "unknown"),
    ("missing schema_version", NO_BASE.replace("schema_version = 1\n", ""), None,
     "schema_version", "must be 1"),
    ("missing title", NO_BASE.replace('title = "Test profile"\n', ""), None, "title",
     "required"),
    ("bad id", NO_BASE.replace('id = "p"', 'id = "Bad Id"'), None, "id", "lower-case"),
    ("unknown provenance", NO_BASE.replace('"user"', '"folklore"'), None, "provenance",
     "unknown value"),
    ("unknown unlisted", NO_BASE.replace('unlisted = "keep"', 'unlisted = "maybe"'), None,
     "unlisted", "unknown value"),
    ("no base but unlisted = base", NO_BASE.replace('unlisted = "keep"', 'unlisted = "base"'),
     None, "unlisted", "only allowed"),
    ("unlisted missing without base", NO_BASE.replace('unlisted = "keep"\n', ""), None,
     "unlisted", "required"),
    ("unknown option", NO_BASE + 'options = ["retain_everything"]\n', None, "options",
     "unknown PS3.15 option"),
    ("option contradicts private policy",
     NO_BASE.replace('private_tags = "keep"', 'private_tags = "remove"')
     + 'options = ["retain_safe_private"]\n', None, "private_tags", "contradicts"),
    ("unknown base", HEAD + 'base = "nope"\n', None, "base", "not found"),
    ("unknown action", NO_BASE + rule('tag = "(0010,0010)"', "scramble"), 1, "action",
     "unknown action"),
    ("unknown rule key", NO_BASE + rule('tag = "(0010,0010)"', extra='colour = "red"\n'), 1,
     "colour", "unknown rule key"),
    ("malformed tag", NO_BASE + rule('tag = "(0010,00G0)"'), 1, "tag", "malformed tag"),
    ("malformed tag without parentheses", NO_BASE + rule('tag = "00100010"'), 1, "tag",
     "(gggg,eeee)"),
    ("malformed pattern", NO_BASE + rule('pattern = "(60xx,30)"'), 1, "pattern",
     "malformed tag pattern"),
    ("unknown keyword", NO_BASE + rule('keyword = "PatientShoeSize"'), 1, "keyword",
     "unknown keyword"),
    ("unknown VR", NO_BASE + rule('vr = "ZZ"'), 1, "vr", "unknown VR"),
    ("two matchers", NO_BASE + rule('tag = "(0010,0010)"\nvr = "PN"'), 1, None,
     "exactly one matcher"),
    ("no matcher", NO_BASE + rule(""), 1, None, "exactly one matcher"),
    ("element without private_creator", NO_BASE + rule('tag = "(0029,1010)"',
                                                       extra='element = "(0029,xx10)"\n'), 1,
     "element", "narrows"),
    ("element in an even group", NO_BASE + rule('private_creator = "ACME"',
                                                extra='element = "(0028,xx10)"\n'), 1,
     "element", "odd (private) group"),
    ("missing reason", NO_BASE + rule('tag = "(0010,0010)"').replace('reason = "r"\n', ""),
     1, "reason", "required"),
    ("missing source", NO_BASE + rule('tag = "(0010,0010)"').replace('source = "s"\n', ""),
     1, "source", "required"),
    ("conflicting rules", NO_BASE + rule('tag = "(0010,0010)"')
     + rule('keyword = "PatientName"', "keep"), 2, "tag", "conflicts with rule 1"),
    ("duplicate VR rules", NO_BASE + rule('vr = "PN"') + rule('vr = "PN"', "empty"), 2, "vr",
     "conflicts with rule 1"),
    ("overlapping patterns", NO_BASE + rule('pattern = "(60xx,3000)"')
     + rule('pattern = "(6x0x,3000)"', "keep"), 2, "pattern", "conflicts"),
    ("action invalid for the VR", NO_BASE + rule('keyword = "PatientName"', "shift_date"), 1,
     "action", "not valid for VR PN"),
    ("missing required parameter", NO_BASE + rule('keyword = "PatientAge"', "round"), 1,
     "step", "required"),
    ("parameter of the wrong type", NO_BASE + rule('keyword = "PatientID"', "hash",
                                                   'length = "twelve"\n'), 1, "length",
     "type int"),
    ("parameter out of range", NO_BASE + rule('keyword = "PatientID"', "hash",
                                              "length = 500\n"), 1, "length", "0..128"),
    ("unknown parameter for the action", NO_BASE + rule('keyword = "PatientID"', "remove",
                                                        "length = 5\n"), 1, "length",
     "unknown rule key"),
    ("template with an undeclared field", NO_BASE + rule(
        'keyword = "PatientID"', "pseudonym", 'template = "{SITE}-{hash:8}"\n'), 1,
     "template", "neither hash nor patient"),
    ("not TOML", "id = = 3", None, None, "not valid TOML"),
]


@pytest.mark.parametrize(("case", "text", "number", "field", "words"), BAD_PROFILES,
                         ids=[case[0] for case in BAD_PROFILES])
def test_bad_profiles_get_errors_naming_file_rule_and_field(
        tmp_path: Path, case: str, text: str, number: int | None, field: str | None,
        words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    error = caught.value
    assert error.source == str(path)
    assert error.rule == number
    assert error.field == field
    assert words in str(error)
    assert str(path) in str(error)


def test_base_loop_is_reported(tmp_path: Path) -> None:
    write(tmp_path, HEAD.replace('"p"', '"a"') + 'base = "b"\n', "a.toml")
    write(tmp_path, HEAD.replace('"p"', '"b"') + 'base = "a"\n', "b.toml")
    with pytest.raises(ProfileError, match="loops: a -> b -> a"):
        load_profile(tmp_path / "a.toml")


def test_unknown_id_lists_the_shipped_profiles() -> None:
    with pytest.raises(ProfileError, match="ps315_basic"):
        load_profile("no_such_profile")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(tmp_path / "absent.toml")


def test_shipped_profiles_all_load_and_are_listed() -> None:
    infos = list_profiles()
    assert "ps315_basic" in [info.id for info in infos]
    for info in infos:
        profile = load_profile(info.id)
        assert profile.id == info.id == info.path.stem
        assert profile.sha256 and len(profile.sha256) == 64


def test_keep_everything_profile(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, NO_BASE))
    resolver = resolver_for(profile)
    assert resolver.decide(0x00100010, "PN").action is Action.KEEP
    assert resolver.decide(0x00291010, "OB", "SIEMENS CSA HEADER").action is Action.KEEP


LAYERED = HEAD + '''base = "ps315_basic"
options = ["retain_patient_characteristics"]
params = { SITE = "VAL" }

[[rules]]
keyword = "PatientID"
action = "pseudonym"
template = "{SITE}-{hash:8}"
reason = "Registry pseudonym."
source = "Protocol 4.2"

[[rules]]
vr = "PN"
action = "dummy"
reason = "All person names replaced."
source = "Protocol 4.3"

[[rules]]
private_creator = "SIEMENS CSA HEADER"
element = "(0029,xx10)"
action = "keep"
reason = "Needed for diffusion."
source = "Protocol 4.4"

[[rules]]
private_creator = "SIEMENS CSA HEADER"
action = "remove"
reason = "Rest of the CSA block."
source = "Protocol 4.4"

[[rules]]
pattern = "(60xx,3000)"
action = "keep"
reason = "Overlays carry annotations we need."
source = "Protocol 4.5"
'''

LAYER_CASES = [
    # tag, vr, creator, action, origin starts with, explicit
    (0x00100020, "LO", None, Action.PSEUDONYM, "p rule 1", True),          # own tag rule
    (0x00100010, "PN", None, Action.DUMMY, "p rule 2", True),  # own VR rule beats base tag
    (0x00100030, "DA", None, Action.EMPTY, "PS3.15 Table E.1-1", True),    # base tag rule
    (0x00101010, "AS", None, Action.KEEP, "PS3.15 options", True),         # option K
    (0x00380500, "LO", None, Action.CLEAN, "PS3.15 options", True),        # option C
    (0x00291010, "OB", "SIEMENS CSA HEADER", Action.KEEP, "p rule 3", True),
    (0x00291020, "OB", "SIEMENS CSA HEADER", Action.REMOVE, "p rule 4", True),
    (0x00191020, "OB", "OTHER", Action.REMOVE, "ps315_basic private_tags", False),
    (0x60023000, "OW", None, Action.KEEP, "p rule 5", True),               # pattern
    (0x60004000, "LT", None, Action.REMOVE, "PS3.15 Table E.1-1", True),   # base pattern
    (0x00280010, "US", None, Action.KEEP, "ps315_basic unlisted", False),  # Rows: unlisted
]


@pytest.mark.parametrize(("tag", "vr", "creator", "action", "origin", "explicit"),
                         LAYER_CASES)
def test_layers_and_specificity(tmp_path: Path, tag: int, vr: str, creator: str | None,
                                action: Action, origin: str, explicit: bool) -> None:
    resolver = resolver_for(load_profile(write(tmp_path, LAYERED)))
    decision = resolver.decide(tag, vr, creator)
    assert decision.action is action
    assert decision.origin.startswith(origin)
    assert decision.explicit is explicit
    assert decision.reason and decision.source


def test_own_rule_beats_base_for_the_same_tag(tmp_path: Path) -> None:
    text = HEAD + 'base = "ps315_basic"\n' + rule('keyword = "PatientName"', "keep")
    decision = resolver_for(load_profile(write(tmp_path, text))).decide(0x00100010, "PN")
    assert decision.action is Action.KEEP


def test_allow_list_removes_unlisted(tmp_path: Path) -> None:
    text = HEAD + 'base = "ps315_basic"\nunlisted = "remove"\n' + rule(
        'keyword = "Rows"', "keep")
    resolver = resolver_for(load_profile(write(tmp_path, text)))
    assert resolver.decide(0x00280010, "US").action is Action.KEEP
    assert resolver.decide(0x00280011, "US").action is Action.REMOVE  # Columns, unlisted
    assert resolver.decide(0x00100010, "PN").action is Action.EMPTY   # base rule still wins


def test_option_conflict_takes_the_most_protective_action(tmp_path: Path) -> None:
    text = HEAD + ('base = "ps315_basic"\n'
                   'options = ["retain_device_identity", "retain_long_modified_dates"]\n')
    resolver = resolver_for(load_profile(write(tmp_path, text)))
    decision = resolver.decide(0x0018700C, "DA")  # Date of Last Detector Calibration: K vs C
    assert decision.action is Action.SHIFT_DATE
    assert "most protective" in decision.reason


def test_safe_private_policy_keeps_only_e3_10_1_attributes(tmp_path: Path) -> None:
    text = HEAD + 'base = "ps315_basic"\noptions = ["retain_safe_private"]\n'
    resolver = resolver_for(load_profile(write(tmp_path, text)))
    assert resolver.decide(0x70531000, "DS", "Philips PET Private Group").action is Action.KEEP
    assert resolver.decide(0x70531099, "DS", "Philips PET Private Group").action is (
        Action.REMOVE)
    assert resolver.decide(0x70531000, "DS", "Someone Else").action is Action.REMOVE


def test_load_profiles_takes_ids_and_paths(tmp_path: Path) -> None:
    path = write(tmp_path, NO_BASE)
    profiles = load_profiles(f"ps315_basic, {path}")
    assert [profile.id for profile in profiles] == ["ps315_basic", "p"]
    assert {p.id for p in load_profiles("")} == {info.id for info in list_profiles()}
    with pytest.raises(ProfileError, match="given twice"):
        load_profiles("ps315_basic,ps315_basic")
