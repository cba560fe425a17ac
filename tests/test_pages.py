"""The dashboard renders: AppTest over the entry file and every page, on an empty session and
with the sample; the Load and Profiles pages' behaviour."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import deid
from tests.test_pages_support import (
    APP,
    PAGES,
    REPO_ROOT,
    app_test,
    frame_by_key,
    page,
    problems,
    sample,
    seeded,
)
from ui import profiles, state

#: Files in the bundled sample (data/sample, every .dcm at any depth).
N_SAMPLE = sum(1 for _ in (Path(__file__).resolve().parents[1] / "data" / "sample").rglob("*.dcm"))

SCRIPTS = [APP, *sorted(PAGES.glob("*.py"))]
DATA_PAGES = ["tag_effects", "risk"]
SAMPLE_FILE = REPO_ROOT / "data" / "sample" / "files" / "ct_series_slice1.dcm"


@pytest.fixture(autouse=True)
def _no_environment_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's secrets are random unless a test sets them in the environment."""
    for name in ("DEID_SECRET", "DEID_SECRET_KEY", "DEID_SECRET_SITE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh_profile_list() -> None:
    """Tests that change ``deid.list_profiles`` must not see a cached list."""
    profiles.shipped.clear()
    yield
    profiles.shipped.clear()


# -- smoke -----------------------------------------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_renders_on_an_empty_session(script: Path) -> None:
    at = app_test(script)
    at.session_state[state.SAMPLE_OFFERED] = True  # app.py would load the sample otherwise
    at.run()
    assert not problems(at), problems(at)
    if script.stem in DATA_PAGES:
        assert any("No DICOM headers are loaded" in i.value for i in at.info)


def test_app_opens_with_the_sample_and_every_page_renders() -> None:
    at = app_test(APP).run()
    assert not problems(at), problems(at)
    loaded = at.session_state[state.LOADED]
    assert loaded.n_loaded == sample().n_loaded == N_SAMPLE
    assert at.title[0].value == "Load"
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert f"{N_SAMPLE} files" in sidebar
    assert "cannot be linked to any other run" in sidebar
    for script in sorted(PAGES.glob("*.py")):
        at.switch_page(str(script.relative_to(REPO_ROOT))).run()
        assert not problems(at), (script.name, problems(at))
        assert at.title, script.name


def test_secrets_come_from_the_environment_when_all_are_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEID_SECRET", "DEID_SECRET_KEY", "DEID_SECRET_SITE"):
        monkeypatch.setenv(name, f"test value of {name}")
    at = app_test(APP)
    at.session_state[state.SAMPLE_OFFERED] = True
    at.run()
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "from the environment" in sidebar and "DEID_SECRET_SITE" in sidebar
    assert "test value" not in sidebar
    assert at.session_state[state.SECRETS].origin == "environment"


# -- Load ------------------------------------------------------------------------------------

def test_load_the_sample_with_the_button() -> None:
    at = app_test(page("load")).run()
    assert any("Nothing is loaded" in i.value for i in at.info)
    at.button(key=state.LOAD_SAMPLE_BUTTON).click().run()
    assert not problems(at), problems(at)
    loaded = at.session_state[state.LOADED]
    assert loaded.n_loaded == N_SAMPLE and len(loaded.headers) == len(sample().headers)
    assert any("Loaded bundled sample" in s.value for s in at.success)
    assert [m.value for m in at.metric][:2] == [str(N_SAMPLE), f"{len(sample().headers):,}"]
    files = frame_by_key(at, state.LOAD_FILES_TABLE)
    assert len(files) == N_SAMPLE and set(files.columns) >= {"file", "elements"}


def test_load_a_folder_and_refuse_a_missing_one(tmp_path: Path) -> None:
    at = app_test(page("load")).run()
    at.text_input(key=state.LOAD_FOLDER).input(str(tmp_path / "nowhere"))
    at.button(key=state.LOAD_FOLDER_BUTTON).click().run()
    assert not at.exception
    assert len(at.error) == 1 and "no such folder" in at.error[0].value
    assert state.LOADED not in at.session_state

    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "a.dcm").write_bytes(SAMPLE_FILE.read_bytes())
    (folder / "notes.txt").write_text("not DICOM")
    at.text_input(key=state.LOAD_FOLDER).input(str(folder))
    at.button(key=state.LOAD_FOLDER_BUTTON).click().run()
    assert not problems(at), problems(at)
    assert at.session_state[state.LOADED].n_loaded == 1
    errors = frame_by_key(at, state.LOAD_ERRORS_TABLE)
    assert errors["file"].str.endswith("notes.txt").tolist() == [True]
    assert errors["error_kind"].tolist() == ["not_dicom"]
    assert errors["meaning"].iloc[0]


def test_load_a_zip_path_refuses_climbing_members(tmp_path: Path) -> None:
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("study/ct.dcm", SAMPLE_FILE.read_bytes())
        zipped.writestr("../evil.dcm", SAMPLE_FILE.read_bytes())
    at = app_test(page("load")).run()
    at.text_input(key=state.LOAD_ZIP).input(str(archive))
    at.button(key=state.LOAD_ZIP_BUTTON).click().run()
    assert not problems(at), problems(at)
    assert at.session_state[state.LOADED].files == [f"{archive.as_posix()}!study/ct.dcm"]
    errors = frame_by_key(at, state.LOAD_ERRORS_TABLE)
    assert errors["error_kind"].tolist() == ["unsafe_member"]

    at.text_input(key=state.LOAD_ZIP).input(str(SAMPLE_FILE))
    at.button(key=state.LOAD_ZIP_BUTTON).click().run()
    assert "not a zip archive" in at.error[0].value


def test_load_uploaded_files() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("b.dcm", SAMPLE_FILE.read_bytes())
    at = app_test(page("load")).run()
    at.file_uploader(key=state.LOAD_UPLOADS).set_value([
        ("a.dcm", SAMPLE_FILE.read_bytes(), "application/dicom"),
        ("bundle.zip", buffer.getvalue(), "application/zip"),
        ("readme.txt", b"hello", "text/plain"),
    ]).run()
    at.button(key=state.LOAD_UPLOADS_BUTTON).click().run()
    assert not problems(at), problems(at)
    loaded = at.session_state[state.LOADED]
    assert loaded.files == ["a.dcm", "bundle.zip!b.dcm"]
    assert frame_by_key(at, state.LOAD_ERRORS_TABLE)["file"].tolist() == ["readme.txt"]


def test_choose_the_active_profiles() -> None:
    at = app_test(page("load")).run()
    picker = at.multiselect(key=state.ACTIVE_PROFILES)
    assert picker.value == [info.id for info in deid.list_profiles()]
    assert "procancer_i (reconstructed)" in picker.options
    picker.set_value(["ps315_basic", "eucanimage"]).run()
    assert at.session_state[state.ACTIVE_PROFILES] == ["ps315_basic", "eucanimage"]


# -- Profiles --------------------------------------------------------------------------------

def test_profiles_lists_every_profile(fresh_profile_list: None) -> None:
    at = app_test(page("profiles")).run()
    assert not problems(at), problems(at)
    table = frame_by_key(at, state.PROFILES_TABLE)
    assert list(table.columns) == ["id", "title", "provenance", "file"]
    assert list(table["id"]) == [info.id for info in deid.list_profiles()]
    assert any("data/sample/" in m.value and "DICOM files" in m.value for m in at.markdown)


def test_profiles_shows_given_profiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      fresh_profile_list: None) -> None:
    shipped = {info.id: info for info in deid.list_profiles()}
    fake = [deid.ProfileInfo("ps315_basic", "Basic", "standard", shipped["ps315_basic"].path),
            deid.ProfileInfo("eucanimage", "EuCanImage", "reconstructed",
                             shipped["eucanimage"].path)]
    monkeypatch.setattr(deid, "list_profiles", lambda: fake)
    at = app_test(page("profiles")).run()
    table = frame_by_key(at, state.PROFILES_TABLE)
    assert table.to_dict("records") == [
        {"id": "ps315_basic", "title": "Basic", "provenance": "standard",
         "file": "deid/profiles/ps315_basic.toml"},
        {"id": "eucanimage", "title": "EuCanImage", "provenance": "reconstructed",
         "file": "deid/profiles/eucanimage.toml"},
    ]


def test_profiles_shows_a_profile_error_without_traceback(monkeypatch: pytest.MonkeyPatch,
                                                           fresh_profile_list: None) -> None:
    def broken() -> list[deid.ProfileInfo]:
        raise deid.ProfileError("broken.toml", "unknown action 'scramble'", rule=3, field="action")

    monkeypatch.setattr(deid, "list_profiles", broken)
    at = app_test(page("profiles")).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "broken.toml" in at.error[0].value and "scramble" in at.error[0].value


def test_read_a_profile_rule_by_rule() -> None:
    at = app_test(page("profiles"))
    at.session_state[state.PROFILE_READ] = "eucanimage"
    at.run()
    assert not problems(at), problems(at)
    assert any("Reconstructed" in i.value for i in at.info)
    rules = frame_by_key(at, state.PROFILE_RULES_TABLE)
    assert list(rules.columns) == ["rule", "matcher", "action", "params", "reason", "source",
                                   "enabled"]
    profile = deid.load_profile("eucanimage")
    assert len(rules) == len(profile.rules)
    assert rules["matcher"].tolist() == [r.matcher.describe() for r in profile.rules]
    assert rules["reason"].str.len().min() > 0 and rules["source"].str.len().min() > 0
    lint = frame_by_key(at, state.PROFILE_LINT_TABLE)
    assert "warning" in lint["severity"].tolist()
    facts = frame_by_key(at, state.PROFILE_FACTS_TABLE).set_index("fact")["value"]
    assert facts["base"] == "ps315_basic" and facts["sha256"] == profile.sha256


@pytest.mark.parametrize("profile_id", ["ps315_basic", "procancer_i",
                                        "chaimeleon_images_w_ecrfs", "eucanimage"])
def test_the_sign_off_report_counts_the_rules_the_profiles_page_lists(profile_id: str) -> None:
    """The report's "Its own rules (N)" is the number of rows the page's rule table shows,
    and the same rules in the same order."""
    from deid.outputs.signoff import own_rules

    at = app_test(page("profiles"))
    at.session_state[state.PROFILE_READ] = profile_id
    at.run()
    assert not problems(at), problems(at)
    shown = frame_by_key(at, state.PROFILE_RULES_TABLE)
    reported = own_rules(deid.load_profile(profile_id))
    assert len(reported) == len(shown)
    assert any(f"({len(shown):,};" in text.value for text in at.markdown), "no rule count"
    if len(shown):
        common = [c for c in reported.columns if c in shown.columns]
        assert "reason" in common
        assert reported[common].astype(str).values.tolist() == shown[common].astype(
            str).values.tolist()


USER_PROFILE = """\
schema_version = 1
id = "site_registry"
title = "Site registry"
provenance = "user"
base = "ps315_basic"

[[rules]]
keyword = "PatientSex"
action = "keep"
reason = "The registry analyses sex."
source = "Protocol 4.2"
"""


def test_upload_a_toml_profile_joins_the_active_set() -> None:
    at = app_test(page("profiles")).run()
    at.file_uploader(key=state.PROFILE_UPLOAD).set_value(
        ("site.toml", USER_PROFILE.encode(), "application/toml")).run()
    at.button(key=state.PROFILE_ADD_BUTTON).click().run()
    assert not problems(at), problems(at)
    assert "site_registry" in at.session_state[state.UPLOADED_PROFILES]
    assert "site_registry" in at.session_state[state.ACTIVE_PROFILES]
    table = frame_by_key(at, state.PROFILES_TABLE)
    assert table["file"].iloc[-1] == "uploaded: site.toml"
    assert at.selectbox(key=state.PROFILE_READ).value == "site_registry"


def test_a_bad_profile_upload_is_an_error_message() -> None:
    at = app_test(page("profiles")).run()
    bad = USER_PROFILE.replace('action = "keep"', 'action = "scramble"')
    at.file_uploader(key=state.PROFILE_UPLOAD).set_value(
        ("bad.toml", bad.encode(), "application/toml")).run()
    at.button(key=state.PROFILE_ADD_BUTTON).click().run()
    assert not at.exception
    assert len(at.error) == 1
    assert "bad.toml" in at.error[0].value and "rule 1" in at.error[0].value
    assert state.UPLOADED_PROFILES not in at.session_state


CTP_SCRIPT = """\
<script>
  <p t="SITEID">VAL01</p>
  <e en="T" t="00100010" n="PatientName">@empty()</e>
  <e en="T" t="00100020" n="PatientID">@hashptid(@SITEID,PatientID)</e>
  <e en="T" t="00081030" n="StudyDescription">@frobnicate()</e>
  <r en="T" t="privategroups">Remove private groups</r>
</script>
"""


def test_upload_a_ctp_script_shows_its_findings_and_profile() -> None:
    at = app_test(page("profiles")).run()
    at.file_uploader(key=state.PROFILE_UPLOAD).set_value(
        ("Site Anon.script", CTP_SCRIPT.encode(), "text/xml")).run()
    assert at.text_input(key=state.PROFILE_CTP_ID).value == "site_anon"
    at.button(key=state.PROFILE_ADD_BUTTON).click().run()
    assert not problems(at), problems(at)
    upload = at.session_state[state.UPLOADED_PROFILES]["site_anon"]
    assert upload.kind == "ctp" and 'id = "site_anon"' in upload.toml_text
    lint = frame_by_key(at, state.PROFILE_LINT_TABLE)
    assert "frobnicate" in " ".join(lint["message"]) and "error" in lint["severity"].tolist()
    assert at.download_button(key=state.PROFILE_TOML_DOWNLOAD)


def test_uploaded_profiles_are_applied_on_the_other_pages() -> None:
    at = seeded(page("tag_effects"), ["ps315_basic"])
    upload = profiles.UploadedProfile("site_registry", "site.toml", "toml", USER_PROFILE,
                                      USER_PROFILE)
    at.session_state[state.UPLOADED_PROFILES] = {"site_registry": upload}
    at.session_state[state.ACTIVE_PROFILES] = ["ps315_basic", "site_registry"]
    at.session_state[state.TAG_SEARCH] = "PatientSex"
    at.run()
    assert not problems(at), problems(at)
    table = frame_by_key(at, state.TAG_TABLE)
    row = table[table["keyword"] == "PatientSex"].iloc[0]
    assert row["ps315_basic"] == "empty" and row["site_registry"].startswith("keep")

