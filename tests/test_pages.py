"""The dashboard renders: AppTest over the entry file and every page, and the Profiles page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import deid

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py"))]
HOME = REPO_ROOT / "pages" / "home.py"


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Each test sees ``deid`` as it is now, not a value cached by an earlier test."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _run(script: Path) -> AppTest:
    return AppTest.from_file(str(script), default_timeout=30).run()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_renders_on_an_empty_session(script: Path) -> None:
    at = _run(script)
    assert not at.exception, [e.value for e in at.exception]


def test_home_lists_every_profile() -> None:
    expected = [info.id for info in deid.list_profiles()]
    at = _run(HOME)
    assert not at.exception
    if not expected:
        assert any("No profiles found" in i.value for i in at.info)
        return
    table = at.dataframe[0].value
    assert list(table.columns) == ["id", "title", "provenance", "file"]
    assert list(table["id"]) == expected


def test_home_shows_given_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [
        deid.ProfileInfo(
            id="site_a", title="Site A", provenance="user", path=REPO_ROOT / "x" / "site_a.toml"
        ),
        deid.ProfileInfo(
            id="site_b", title="Site B", provenance="reconstructed", path=Path("/elsewhere/b.toml")
        ),
    ]
    monkeypatch.setattr(deid, "list_profiles", lambda: fake)
    at = _run(HOME)
    table = at.dataframe[0].value
    assert table.to_dict("records") == [
        {"id": "site_a", "title": "Site A", "provenance": "user", "file": "x/site_a.toml"},
        {
            "id": "site_b",
            "title": "Site B",
            "provenance": "reconstructed",
            "file": "/elsewhere/b.toml",
        },
    ]


def test_home_shows_a_profile_error_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[deid.ProfileInfo]:
        raise deid.ProfileError("broken.toml", "unknown action 'scramble'", rule=3, field="action")

    monkeypatch.setattr(deid, "list_profiles", broken)
    at = _run(HOME)
    assert not at.exception
    assert len(at.error) == 1
    assert "broken.toml" in at.error[0].value
    assert "scramble" in at.error[0].value
    assert not at.dataframe


def test_home_states_where_the_sample_data_is() -> None:
    at = _run(HOME)
    assert any("data/sample/" in m.value and "DICOM files" in m.value for m in at.markdown)
