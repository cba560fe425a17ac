"""Without deid's comments, an exported CTP script alone imports back to what deid does.

The only elements that come back differently are those whose action CTP's language cannot
say; each carries a 'not expressible in CTP' comment with its reason codes
(:data:`deid.ctp.fidelity.NOT_EXPRESSIBLE`), and they are listed here, per profile, explicitly.
The spellings :func:`deid.ctp.fidelity.action_key` treats as one are checked against the engine.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from deid import Secrets, apply_profile
from deid.ctp.exporter import NEAREST
from deid.ctp.fidelity import NOT_EXPRESSIBLE, not_expressible
from deid.ctp.script import parse_script
from deid.policy.actions import Action
from tests.engine_helpers import profile as engine_profile
from tests.engine_helpers import sample_dataset
from tests.test_ctp_roundtrip import SHIPPED, SYNTHETIC, exported, mismatches

ROOT = Path(__file__).resolve().parents[1]
DEID_COMMENT = re.compile(r"<!--deid \{.*?\}-->")
CODES = re.compile(r"<!--not expressible in CTP: (.*?)-->")

#: What CTP cannot say, per profile: the NOT_EXPRESSIBLE codes its export carries. Every other
#: element of every profile imports back, from the script alone, to what deid does.
CANNOT_SAY: dict[str, set[str]] = {
    "chaimeleon_images_only": {"bounded-date-shift", "dummy-sequence", "clean-sequence",
                               "dummy-binary", "dummy-uid"},
    "chaimeleon_images_w_ecrfs": {"bounded-date-shift", "dummy-sequence", "clean-sequence",
                                  "dummy-binary", "dummy-uid"},
    "ctp_basic": set(),
    "ctp_default": set(),
    "dicognito_default": {"bounded-date-shift"},
    "dicom_anonymizer_default": {"dummy-sequence", "dummy-binary"},
    "eucaim": set(),
    "eucanimage": {"dummy-sequence", "dummy-binary", "dummy-uid", "hash-algorithm",
                   "hash-secret", "hash-length", "round-max", "round-step"},
    "incisive": {"bounded-date-shift", "hash-secret", "hash-input", "dummy-sequence",
                 "dummy-binary", "dummy-uid"},
    "meddisc_default": {"bounded-date-shift", "dummy-sequence", "dummy-binary", "dummy-uid"},
    "primage": {"dummy-sequence", "dummy-binary", "dummy-uid"},
    "procancer_i": {"bounded-date-shift", "dummy-sequence", "dummy-binary", "dummy-uid"},
    "ps315_basic": {"dummy-sequence", "dummy-binary", "dummy-uid"},
    "pydicom_deid_default": set(),
    "every_action": {"bounded-date-shift", "time-to-midnight", "hash-algorithm",
                     "hash-secret", "hash-length", "round-max", "round-step", "uid-secret",
                     "dummy-sequence"},
    "allow_list": set(),
    "on_basic": {"bounded-date-shift", "dummy-sequence", "clean-sequence", "dummy-binary"},
}

#: The 19 ps315_basic elements whose script imported differently without comments (issue 18):
#: ReferencedImageSequence and SourceImageSequence now come back (``@process()`` is deid's
#: keep and uid on a sequence alike); the other 17 are what CTP cannot say, and why.
PS315_BASIC_CANNOT_SAY = {
    "00080082": "dummy-sequence",  # InstitutionCodeSequence
    "00081072": "dummy-sequence",  # OperatorIdentificationSequence
    "00081111": "dummy-sequence",  # ReferencedPerformedProcedureStepSequence
    "00340001": "dummy-sequence",  # FlowIdentifierSequence
    "00340002": "dummy-binary",  # FlowIdentifier (OB)
    "00340005": "dummy-binary",  # SourceIdentifier (OB)
    "00340007": "dummy-binary",  # FrameOriginTimestamp (OB)
    "00401101": "dummy-sequence",  # PersonIdentificationCodeSequence
    "0040a073": "dummy-sequence",  # VerifyingObserverSequence
    "0040a730": "dummy-sequence",  # ContentSequence
    "0040b020": "dummy-sequence",  # WaveformAnnotationSequence
    "00420011": "dummy-binary",  # EncapsulatedDocument (OB)
    "006a0003": "dummy-uid",  # AnnotationGroupUID
    "00700001": "dummy-sequence",  # GraphicAnnotationSequence
    "00720065": "dummy-binary",  # SelectorOBValue
    "0072006d": "dummy-binary",  # SelectorUNValue
    "04000115": "dummy-binary",  # CertificateOfSigner (OB)
}


def without_comments(profile_id: str) -> str:
    return DEID_COMMENT.sub("", exported(profile_id))


def codes_by_target(text: str) -> dict[str, tuple[str, ...]]:
    """The 'not expressible' codes of each element of a script that carries them."""
    found = {}
    for item in parse_script(text, "s").of_kind("e"):
        match = CODES.search(item.raw)
        if match:
            found[item.target] = tuple(match.group(1).split(", "))
    return found


def test_every_profile_is_listed() -> None:
    assert set(CANNOT_SAY) == {*SHIPPED, *SYNTHETIC}


@pytest.mark.parametrize("profile_id", [*SHIPPED, *SYNTHETIC])
def test_without_comments_the_script_alone_gives_back_what_deid_does(profile_id: str) -> None:
    text = without_comments(profile_id)
    assert "<!--deid" not in text
    codes = codes_by_target(text)
    differ = mismatches(profile_id, text)
    unexplained = [row for row in differ if not codes.get(row[1])]
    assert unexplained == []  # every element that comes back differently says why
    used = {code for listed in codes.values() for code in listed}
    assert NEAREST not in used
    assert used == CANNOT_SAY[profile_id]


def test_ps315_basic_without_comments_differs_only_where_ctp_cannot_say_it() -> None:
    text = without_comments("ps315_basic")
    differ = {row[1] for row in mismatches("ps315_basic", text)}
    assert differ == set(PS315_BASIC_CANNOT_SAY)
    codes = codes_by_target(text)
    assert {target: codes[target] for target in differ} == {
        target: (code,) for target, code in PS315_BASIC_CANNOT_SAY.items()}
    for line in text.splitlines():
        if 't="00081140"' in line or 't="00082112"' in line:  # the two that now come back
            assert line.endswith(">@process()</e>")


def test_the_header_explains_each_code_the_script_uses() -> None:
    text = exported("incisive")
    counts = Counter(code for listed in codes_by_target(text).values() for code in listed)
    for code, count in counts.items():
        assert f"Not expressible in CTP ({count} elements): {code}: " \
               f"{NOT_EXPRESSIBLE[code][0]}." in text


def test_each_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## CTP scripts in and out", 1)[1].split("\n## ", 1)[0]
    for code in NOT_EXPRESSIBLE:
        assert f"`{code}`" in section, code


@pytest.mark.parametrize(("action", "params", "vr", "codes"), [
    (Action.SHIFT_DATE, {}, "DA", ("bounded-date-shift",)),
    (Action.SHIFT_DATE, {"max_days": 3650}, "DA", ()),
    (Action.SHIFT_DATE, {"days": -7}, "DA", ()),
    (Action.SHIFT_DATE, {}, "TM", ()),  # a time of day is kept: CTP's @keep()
    (Action.DUMMY, {}, "SQ", ("dummy-sequence",)),
    (Action.DUMMY, {}, "OB", ("dummy-binary",)),
    (Action.DUMMY, {}, "UI", ("dummy-uid",)),
    (Action.DUMMY, {"value": "1.2.3"}, "UI", ()),
    (Action.DUMMY, {"value": "X"}, "LO", ()),
    (Action.CLEAN, {}, "SQ", ("clean-sequence",)),
    (Action.CLEAN, {}, "DA", ("bounded-date-shift",)),  # cleaning a date shifts it
    (Action.HASH, {"algorithm": "sha512"}, "LO", ("hash-algorithm", "hash-length")),
    (Action.HASH, {"length": 16, "secret": "site"}, "LO", ("hash-secret",)),
    (Action.HASH, {"length": 16, "input": "{patient}"}, "LO", ()),
    (Action.PSEUDONYM, {"template": "{hash:8}", "input": "{SITE}{value}"}, "LO", ()),
    (Action.PSEUDONYM, {"template": "{hash:8}", "input": "{patient}|{value}"}, "LO",
     ("hash-input",)),
    (Action.ROUND, {"step": 5, "max": 90}, "AS", ("round-max",)),
    (Action.ROUND, {"step": 2.5}, "DS", ("round-step",)),
    (Action.TRUNCATE_DATE, {"to": "year"}, "TM", ("time-to-midnight",)),
    (Action.UID, {"secret": "site"}, "UI", ("uid-secret",)),
])
def test_what_ctp_cannot_say_is_told_by_one_table(action: Action, params: dict[str, object],
                                                  vr: str, codes: tuple[str, ...]) -> None:
    assert not_expressible(action, params, vr, {"SITE": "S1"}) == codes


#: Spellings action_key makes one: (rule A, rule B) that the engine carries out alike.
SAME_EFFECT = [
    ('keyword = "ReferencedImageSequence"\naction = "uid"\n',
     'keyword = "ReferencedImageSequence"\naction = "keep"\n'),
    ('keyword = "InstitutionName"\naction = "dummy"\nvalue = "ANONYMIZED"\n',
     'keyword = "InstitutionName"\naction = "dummy"\n'),
    ('keyword = "PatientName"\naction = "pseudonym"\ntemplate = "P-{hash:16}"\n'
     'input = "{patient}"\n',
     'keyword = "PatientName"\naction = "pseudonym"\ntemplate = "P-{patient:16}"\n'),
    ('keyword = "RequestAttributesSequence"\naction = "dummy"\nvalue = "ANON"\n',
     'keyword = "RequestAttributesSequence"\naction = "dummy"\n'),
]


@pytest.mark.parametrize(("first", "second"), SAME_EFFECT)
def test_spellings_made_one_are_carried_out_alike_by_the_engine(first: str,
                                                                second: str) -> None:
    def written(rule: str) -> object:
        text = ('unlisted = "keep"\nprivate_tags = "keep"\n'
                '[[rules]]\nkeyword = "ReferencedSOPInstanceUID"\naction = "uid"\n'
                'reason = "r"\nsource = "s"\n'
                f'[[rules]]\n{rule}reason = "r"\nsource = "s"\n')
        result = apply_profile(sample_dataset(), engine_profile(text),
                               secrets=Secrets({"default": "fidelity"}))
        return result.dataset

    assert written(first) == written(second)
