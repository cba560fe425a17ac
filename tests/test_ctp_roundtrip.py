"""Export then import gives the same action, with the same parameters, for every tag of the
comparison universe: for every shipped profile (as found at test time) and for profiles using
every action and parameter. "The same action" is what deid does to the element, as Compare shows
it (:func:`deid.transform.semantics.decide_tag`, keys from :func:`deid.ctp.fidelity.action_key`).
The exported scripts are scripts CTP accepts. Without the ``deid`` comments, see
``tests/test_ctp_fidelity.py``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from deid import Profile, list_profiles, load_profile, load_profile_text, resolver_for
from deid.ctp import export_ctp_script, import_ctp_script
from deid.ctp.fidelity import action_key
from deid.ctp.functions import FUNCTIONS
from deid.ctp.script import Call, parse_expression, parse_script
from deid.outputs.compare import Universe, comparison_universe
from deid.policy.profile_model import MatcherKind
from deid.transform.semantics import decide_tag

SHIPPED = [info.id for info in list_profiles()]
HEAD = 'schema_version = 1\nid = "{id}"\ntitle = "t"\nprovenance = "user"\n'


def rule(matcher: str, action: str, extra: str = "") -> str:
    return f'\n[[rules]]\n{matcher}\naction = "{action}"\n{extra}reason = "r"\nsource = "s"\n'


#: Profiles using every action and parameter, keyword/VR/pattern/private rules, disabled
#: rules, and defaults CTP cannot say in one command.
SYNTHETIC = {
    "every_action": HEAD + 'unlisted = "keep"\nprivate_tags = "safe"\n'
    '[params]\nSITE_ID = "S1"\nROOT = "1.2.40.0"\nDAYS = "-7"\nNAME = "Trial A"\n'
    + rule('keyword = "PatientID"', "pseudonym",
           'template = "PCa-{hash:12}"\ninput = "{SITE_ID}{value}"\n')
    + rule('keyword = "PatientName"', "pseudonym",
           'template = "{patient:8}^{NAME}"\nsecret = "site"\n')
    + rule('keyword = "OtherPatientIDs"', "pseudonym", 'template = "{hash}"\n')
    + rule('keyword = "AccessionNumber"', "hash",
           'length = 16\nprefix = "ACC"\nalgorithm = "sha512_256"\nkeying = "concat"\n'
           'secret = "site"\n')
    + rule('keyword = "StudyID"', "hash", 'input = "{patient}"\nlength = 6\n')
    + rule('keyword = "SOPInstanceUID"', "uid", 'root = "{ROOT}"\n')
    + rule('keyword = "StudyInstanceUID"', "uid", 'secret = "site"\n')
    + rule('keyword = "ReferencedImageSequence"', "uid")
    + rule('keyword = "StudyDate"', "shift_date", "days = -7\n")
    + rule('keyword = "SeriesDate"', "shift_date", "max_days = 30\n")
    + rule('keyword = "StudyTime"', "truncate_date", 'to = "hour"\n')
    + rule('keyword = "SeriesTime"', "truncate_date", 'to = "year"\n')
    + rule('keyword = "AcquisitionDateTime"', "truncate_date", 'to = "minute"\n')
    + rule('keyword = "ContentDate"', "truncate_date", 'to = "day"\n')
    + rule('keyword = "PatientAge"', "round", "step = 5\nmax = 90\n")
    + rule('keyword = "PatientWeight"', "round", "step = 2.5\n")
    + rule('keyword = "StudyDescription"', "clean")
    + rule('keyword = "InstanceCreatorUID"', "clean")
    + rule('keyword = "InstanceCreationDate"', "clean")
    + rule('keyword = "RequestAttributesSequence"', "dummy")
    + rule('keyword = "InstitutionName"', "dummy", 'value = "{NAME} @ site"\n')
    + rule('keyword = "InstitutionAddress"', "dummy", 'value = "ANONYMIZED"\n')
    + rule('keyword = "ReferringPhysicianName"', "empty")
    + rule('keyword = "PatientComments"', "remove", "enabled = false\n")
    + rule('vr = "DT"', "truncate_date", 'to = "month"\n')
    + rule('pattern = "(0018,xxxx)"', "keep")
    + rule('pattern = "(60xx,3000)"', "remove")
    + rule('tag = "(0009,1001)"', "keep")
    + rule('private_creator = "GEMS_ACQU_01"\nelement = "(0019,xx8B)"', "keep")
    + rule('private_creator = "SIEMENS CSA HEADER"', "keep"),
    "allow_list": HEAD + 'unlisted = "remove"\nprivate_tags = "keep"\n'
    + rule('keyword = "Modality"', "keep")
    + rule('keyword = "Rows"', "remove")
    + rule('pattern = "(0020,xxxx)"', "keep")
    + rule('pattern = "(60xx,xxxx)"', "remove")
    + rule('pattern = "(50xx,xxxx)"', "remove"),
    "on_basic": HEAD + 'base = "ps315_basic"\noptions = ["retain_long_modified_dates", '
    '"clean_descriptors", "retain_uids", "retain_safe_private"]\n'
    + rule('keyword = "PatientID"', "hash", "length = 10\n"),
}


@cache
def profile(profile_id: str) -> Profile:
    if profile_id in SYNTHETIC:
        return load_profile_text(SYNTHETIC[profile_id].replace("{id}", profile_id),
                                 name=f"{profile_id}.toml")
    return load_profile(profile_id)


@cache
def universe() -> Universe:
    """The comparison universe of every shipped and synthetic profile."""
    return comparison_universe([profile(name) for name in [*SHIPPED, *SYNTHETIC]])


@cache
def exported(profile_id: str) -> str:
    return export_ctp_script(profile(profile_id), universe=universe())


def chain_params(p: Profile) -> dict[str, str]:
    params: dict[str, str] = {}
    for member in p.chain:
        for name, value in member.params.items():
            params.setdefault(name, value)
    return params


def private_elements(p: Profile) -> Iterator[tuple[int, str]]:
    """(tag, creator) of every private-creator element rule of the chain."""
    for member in p.chain:
        for r in member.rules:
            if r.matcher.kind is MatcherKind.PRIVATE_ELEMENT and r.matcher.pattern:
                yield r.matcher.pattern.value | 0x1000, r.matcher.creator or ""


def mismatches(profile_id: str, text: str | None = None) -> list[tuple[str, str, Any, Any]]:
    """``(label, script target, key before, key after)`` of the universe rows (and
    private-creator elements) where the profile and its exported script (``text``, default:
    the export) imported back do different things."""
    original = profile(profile_id)
    back = import_ctp_script(exported(profile_id) if text is None else text,
                             profile_id=profile_id, name=f"{profile_id}.script").profile
    before, after = resolver_for(original), resolver_for(back)
    mine, theirs = chain_params(original), chain_params(back)
    found = []
    checks = [(row.tag, f"{row.code:08x}", row.code, row.vr or "UN", None)
              for row in universe().tags]
    checks += [(f"{tag:08X} of {creator}", f"{tag >> 16:04X}[{creator}]{tag & 0xFF:02X}", tag,
                "UN", creator) for tag, creator in private_elements(original)]
    for label, target, code, vr, creator in checks:
        a, b = decide_tag(before, code, vr, creator), decide_tag(after, code, vr, creator)
        key_a = action_key(a.action, a.params, mine, vr)
        key_b = action_key(b.action, b.params, theirs, vr)
        if key_a != key_b:
            found.append((label, target, key_a, key_b))
    return found


@pytest.mark.parametrize("profile_id", [*SHIPPED, *SYNTHETIC])
def test_export_then_import_gives_the_same_action_on_every_universe_tag(
        profile_id: str) -> None:
    assert mismatches(profile_id) == []


@pytest.mark.parametrize("profile_id", [*SHIPPED, *SYNTHETIC])
def test_the_exported_script_is_one_ctp_accepts(profile_id: str) -> None:
    text = exported(profile_id)
    root = ET.fromstring(text)
    assert root.tag == "script"
    for item in parse_script(text, profile_id).items:
        assert item.kind in ("p", "e", "k", "r")
        if item.kind == "e":
            assert len(item.target) == 8 or "[" in item.target
            pieces = parse_expression(item.text.strip())
            assert all(piece.name in FUNCTIONS for piece in pieces if isinstance(piece, Call))


def test_ctp_expressions_are_used_where_ctp_has_the_action() -> None:
    text = exported("ps315_basic")
    assert '<e en="T" t="00080018" n="SOPInstanceUID">@hashuid(@UIDROOT,this)</e>' in text
    assert '<e en="T" t="00100010" n="PatientName">@empty()</e>' in text
    assert '<r en="T" t="curves">' in text and '<r en="T" t="privategroups">' in text
    assert '<r en="F" t="unspecifiedelements">' in text
    every = exported("every_action")
    for expected in ("PCa-@hashptid(@SITE_ID,this,12)", "ACC@hash(this,16)",
                     "@hashuid(@ROOT,this)", "@incrementdate(this,-7)", "@round(this,5)",
                     "@truncate(this,2)", '@contents(this,"[0-9]+","***")',
                     "@param(@NAME) \\@ site", '<k en="T" t="0018">',
                     't="0019[GEMS_ACQU_01]8B"', '<k en="T" t="safeprivateelements">',
                     '<e en="F" t="00104000"', "SECRET_SITE"):
        assert expected in every, expected
    assert "whole private creator blocks): SIEMENS CSA HEADER" in every


def test_what_ctp_cannot_express_is_recorded_in_a_comment() -> None:
    every = exported("every_action")
    assert '"algorithm": "sha512_256"' in every and '"keying": "concat"' in every
    assert '"max": 90.0' in every
    allow = exported("allow_list")
    assert "private elements kept while unchecked elements are removed" in allow
