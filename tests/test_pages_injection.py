"""Text that a file, a profile or a person supplied is shown as text on every page: Markdown
planted in a profile's title, description and reasons, in the decision record (decider,
reason, consensus name, reviewer, comments), in the name of a load and in error messages never
becomes a link, an image or HTML. (The browser test checks the same in a real browser, where
a live image would make a request.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from streamlit.testing.v1 import AppTest

import deid
from deid.consensus.store import DecisionStore
from tests.test_pages_support import app_test, frame_by_key, page, problems, sample, seeded
from ui import audit as audit_view
from ui import profiles, state
from ui.session import Inputs, Loaded

IMAGE = "![pixel](http://attacker.example/pixel.png)"
LINK = "[Session expired: sign in](https://attacker.example/login)"
HTML = '<img src="http://attacker.example/i.png">'
BARE = "www.attacker.example and http://attacker.example/x and eve@attacker.example"
HOSTILE = f"{IMAGE} {LINK} {HTML} {BARE}"
PROFILE_ID = "hostile_profile"
HOSTILE_PROFILE = f"""\
schema_version = 1
id = "{PROFILE_ID}"
title = '{HOSTILE}'
description = '''{HOSTILE}
# A heading
- a list item
{LINK}'''
provenance = "user"
base = "ps315_basic"

[[rules]]
keyword = "PatientSex"
action = "keep"
reason = '{HOSTILE}'
source = '{LINK}'
"""
SEX = "(0010,0040)"
SAMPLE_FILE = (Path(__file__).resolve().parents[1] / "data" / "sample" / "files"
               / "ct_series_slice1.dcm")
CONSENSUS = "committee"
#: What Markdown would turn into a link, an image or HTML: ``](``, ``![``, ``<tag`` unless
#: backslash-escaped; a URL scheme, ``www.`` or an e-mail address (GFM links them whatever
#: the backslashes) unless a word joiner splits them.
_LIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)!\[|(?<!\\)<[A-Za-z/!]|(?i:https?|ftp)\\?://"
                   r"|(?i:\bwww)\\?\.|[A-Za-z0-9]\\?@[A-Za-z0-9]")


def live_markdown(text: str) -> list[str]:
    return _LIVE.findall(text)


def _texts(at: AppTest) -> Iterator[str]:
    """Every string the page renders as Markdown: message bodies and titles, headings,
    captions, expander, tab and widget labels, button labels."""
    for kind in ("markdown", "caption", "title", "header", "subheader", "latex"):
        for element in at.get(kind):
            yield str(element.value)
    for kind in ("success", "error", "info", "warning", "exception"):
        for element in at.get(kind):
            yield str(element.value)
            yield str(getattr(element.proto, "title", "") or "")
    for kind in ("expander", "tab", "button", "download_button", "text_input", "text_area",
                 "selectbox", "multiselect", "checkbox", "toggle", "radio", "number_input",
                 "slider", "metric"):
        for element in at.get(kind):
            yield str(getattr(element, "label", "") or "")
            yield str(getattr(element, "help", "") or "")


def assert_shown_as_text(at: AppTest, planted: str = "Session expired") -> None:
    texts = list(_texts(at))
    live = {text: live_markdown(text) for text in texts if live_markdown(text)}
    assert not live, live
    assert any(planted in text.replace("\\", "") for text in texts) or any(
        planted in str(element.value) for element in at.get("text")), (
        "the planted text is not on the page at all")


@pytest.fixture
def record(tmp_path: Path) -> Path:
    folder = tmp_path / "record"
    store = DecisionStore(folder)
    store.decide(CONSENSUS, SEX, decider=HOSTILE, action="empty", reason=HOSTILE)
    store.decide(HOSTILE, SEX, decider="Ana", action="keep", reason=LINK)
    profile = deid.load_profile("ps315_basic")
    store.sign_off("ps315_basic", profile.sha256 or "", reviewer=HOSTILE, decision="approved",
                   comments=HOSTILE)
    return folder


def _uploaded(at: AppTest) -> AppTest:
    at.file_uploader(key=state.PROFILE_UPLOAD).set_value(
        ("hostile.toml", HOSTILE_PROFILE.encode(), "application/toml")).run()
    at.button(key=state.PROFILE_ADD_BUTTON).click().run()
    return at


def test_a_hostile_profile_on_the_profiles_page(record: Path) -> None:
    at = app_test(page("profiles"))
    at.session_state[state.DATA_DIR] = str(record)
    at = _uploaded(at.run())
    assert not problems(at), problems(at)
    assert at.selectbox(key=state.PROFILE_READ).value == PROFILE_ID
    assert_shown_as_text(at)
    description = [str(t.value) for t in at.get("text")]
    assert any(HOSTILE in text and "# A heading" in text for text in description)


def test_the_sign_offs_of_a_hostile_reviewer(record: Path) -> None:
    at = app_test(page("profiles"))
    at.session_state[state.DATA_DIR] = str(record)
    at.session_state[state.PROFILE_READ] = "ps315_basic"
    at.run()
    assert not problems(at), problems(at)
    assert_shown_as_text(at, planted="Hash chain verified")
    signoffs = frame_by_key(at, state.SIGNOFF_TABLE)
    assert signoffs["reviewer"].tolist() == [HOSTILE + " (unverified)"]
    assert signoffs["comments"].tolist() == [HOSTILE]


@pytest.mark.parametrize("name", ["load", "tag_effects", "compare", "risk", "consensus",
                                  "audit", "profiles", "export", "glossary"])
def test_every_page_shows_a_hostile_load_label_and_profile_as_text(name: str,
                                                                   record: Path) -> None:
    base = sample()
    hostile_load = Loaded(Inputs(base.inputs.paths, (), HOSTILE, base.inputs.key),
                          base.headers, base.load_errors, base.n_files, 0.0)
    uploads = {PROFILE_ID: profiles.UploadedProfile(PROFILE_ID, "hostile.toml", "toml",
                                                    HOSTILE_PROFILE, HOSTILE_PROFILE)}
    at = seeded(page(name), ["ps315_basic", PROFILE_ID], data=hostile_load, **{
        state.UPLOADED_PROFILES: uploads, state.DATA_DIR: str(record),
        state.CONS_NAME: CONSENSUS, state.CONS_SEARCH: "PatientSex", state.CONS_TAG: SEX,
        state.PROFILE_READ: PROFILE_ID, state.TAG_SEARCH: "PatientSex"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = list(_texts(at))
    assert not {t: live_markdown(t) for t in texts if live_markdown(t)}


def test_the_decision_record_on_the_consensus_page(record: Path) -> None:
    at = seeded(page("consensus"), ["ps315_basic", "eucanimage"], **{
        state.DATA_DIR: str(record), state.CONS_NAME: CONSENSUS,
        state.CONS_SEARCH: "PatientSex", state.CONS_TAG: SEX})
    at.run()
    assert not problems(at), problems(at)
    assert_shown_as_text(at)
    reasons = [str(t.value) for t in at.get("text")]
    assert HOSTILE in reasons  # the current decision's reason, exactly as typed
    assert any("consensus names in this record" in c.value.lower() for c in at.caption)


def test_error_messages_quote_input_as_text(record: Path) -> None:
    at = app_test(page("load")).run()
    at.text_input(key=state.LOAD_FOLDER).input(HOSTILE).run()
    at.button(key=state.LOAD_FOLDER_BUTTON).click().run()
    assert len(at.error) == 1
    assert_shown_as_text(at)

    at = app_test(page("profiles")).run()
    bad = HOSTILE_PROFILE.replace('action = "keep"', f"action = '{LINK}'")
    at.file_uploader(key=state.PROFILE_UPLOAD).set_value(
        ("hostile.toml", bad.encode(), "application/toml")).run()
    at.button(key=state.PROFILE_ADD_BUTTON).click().run()
    assert len(at.error) == 1 and "Session expired" in at.error[0].value.replace("\\", "")
    assert_shown_as_text(at)


def test_the_checker_sees_live_markdown() -> None:
    for text in (IMAGE, LINK, HTML, "see www.attacker.example", "http://attacker.example",
                 "mail eve@attacker.example"):
        assert live_markdown(text), text
    from ui.text import escape, md
    assert not live_markdown(escape(HOSTILE)) and not live_markdown(md("{x}", x=HOSTILE))


def test_an_audit_of_hostile_files_shows_them_as_text(tmp_path: Path) -> None:
    """The Audit page run on files whose name and values are hostile: its messages, captions
    and labels quote them as text."""
    name = "[Session expired](javascript:x) ![p](x) <b>x www.attacker.example.dcm"
    originals, exported = tmp_path / "originals", tmp_path / "copies"
    originals.mkdir()
    dataset = pydicom.dcmread(SAMPLE_FILE)
    for keyword in ("InstitutionName", "StudyDescription", "SeriesDescription"):
        setattr(dataset, keyword, HOSTILE[:64] if keyword == "InstitutionName" else HOSTILE)
    dataset.save_as(originals / name)
    deid.apply_profiles([str(originals)], [deid.load_profile("primage")],
                        secrets=deid.Secrets({"default": "page"}), write_dicom=exported,
                        workers=1)
    at = app_test(page("audit")).run()
    at.text_input(key=audit_view.EXPORTED).input(str(exported / "primage"))
    at.text_input(key=audit_view.ORIGINALS).input(str(originals))
    at.selectbox(key=audit_view.PROFILE).select("ps315_basic")
    at.button(key=audit_view.RUN_BUTTON).click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = frame_by_key(at, audit_view.DEVIATIONS_TABLE)["original_value"].astype(str)
    assert shown.str.contains("attacker", regex=False).any(), "no hostile value in the audit"
    texts = list(_texts(at))
    assert not {t: live_markdown(t) for t in texts if live_markdown(t)}
    pairs = at.selectbox(key=audit_view.PAIR)
    assert any(name in str(option) for option in pairs.options), pairs.options
    pairs.select(pairs.options[0]).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = list(_texts(at))
    assert not {t: live_markdown(t) for t in texts if live_markdown(t)}
