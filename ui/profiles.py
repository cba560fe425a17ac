"""Profiles for the dashboard: shipped ones cached by (id, sha256), uploaded ones per session.

Profile objects are not hashable by content, so caches are keyed by what identifies a profile
(its id and the sha256 of its file or text) and the objects are passed as ``_``-arguments.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

import deid
from deid.ctp import CtpImport, import_ctp_script
from deid.outputs.compare import PUBLISHED_FIGURES
from deid.policy.lint import LintFinding, lint_profile
from ui import state

#: Uploaded profile kinds, by how the file name ends.
TOML_SUFFIXES = (".toml",)
CTP_SUFFIXES = (".script", ".xml", ".txt")
RECONSTRUCTED = "reconstructed"
_ID_CHARS = re.compile(r"[^a-z0-9_]+")

ProfileKey = tuple[str, str]


@dataclass(frozen=True)
class ShippedProfile:
    """A shipped profile file: what the catalogue shows and what identifies its content."""

    id: str
    title: str
    provenance: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class UploadedProfile:
    """A profile uploaded in this session (a TOML file, or a CTP script imported as one)."""

    id: str
    name: str
    kind: str  # "toml" or "ctp"
    text: str
    toml_text: str
    findings: tuple[LintFinding, ...] = field(default=())


#: Families of shipped profiles for quick selection: (name, button label, profile ids).
FAMILIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ai4hi", "The six AI4HI profiles", tuple(PUBLISHED_FIGURES)),
    ("ps315", "PS3.15", ("ps315_basic",)),
    ("ctp", "CTP", ("ctp_basic", "ctp_default", "eucaim")),
    ("tools", "The tools", ("pydicom_deid_default", "dicognito_default",
                            "dicom_anonymizer_default")),
)


@st.cache_data(show_spinner=False, ttl=60)
def shipped() -> list[ShippedProfile]:
    """Every shipped profile with the sha256 of its file (re-read at most once a minute)."""
    rows = []
    for info in deid.list_profiles():
        try:
            digest = hashlib.sha256(info.path.read_bytes()).hexdigest()
        except OSError as exc:
            raise deid.ProfileError(info.path, f"cannot read the file ({exc.strerror})") from exc
        rows.append(ShippedProfile(info.id, info.title, info.provenance, info.path, digest))
    return rows


@st.cache_resource(show_spinner=False, max_entries=64)
def _shipped_profile(profile_id: str, sha256: str) -> deid.Profile:
    """A shipped profile, loaded once per content (``sha256`` keys the cache)."""
    del sha256
    return deid.load_profile(profile_id)


@st.cache_resource(show_spinner=False, max_entries=64)
def profile_from_toml(text: str, name: str) -> deid.Profile:
    """A profile from TOML text (raises :class:`deid.ProfileError`; errors are not cached)."""
    return deid.load_profile_text(text, name=name)


@st.cache_resource(show_spinner=False, max_entries=32)
def import_ctp(text: str, profile_id: str, name: str) -> CtpImport:
    """A CTP DicomAnonymizer script imported as a profile, with its findings."""
    return import_ctp_script(text, profile_id=profile_id, name=name)


def uploaded() -> dict[str, UploadedProfile]:
    """This session's uploaded profiles by id."""
    return dict(st.session_state.get(state.UPLOADED_PROFILES, {}))


def shipped_ids() -> list[str]:
    return [info.id for info in shipped()]


def available_ids() -> list[str]:
    """Shipped ids, then this session's uploaded ids."""
    return shipped_ids() + [pid for pid in uploaded() if pid not in set(shipped_ids())]


def provenance_of(profile_id: str) -> str:
    for info in shipped():
        if info.id == profile_id:
            return info.provenance
    upload = uploaded().get(profile_id)
    return "user (uploaded)" if upload else ""


def label(profile_id: str) -> str:
    """``procancer_i (reconstructed)`` for reconstructed profiles, else the id."""
    return f"{profile_id} ({RECONSTRUCTED})" if provenance_of(profile_id) == RECONSTRUCTED \
        else profile_id


def get(profile_id: str) -> deid.Profile:
    """A shipped or uploaded profile by id (raises :class:`deid.ProfileError`)."""
    upload = uploaded().get(profile_id)
    if upload is not None:
        return profile_from_toml(upload.toml_text, upload.name)
    for info in shipped():
        if info.id == profile_id:
            return _shipped_profile(info.id, info.sha256)
    raise deid.ProfileError(profile_id, "no such profile: not shipped and not uploaded in "
                                        "this session")


def get_many(profile_ids: Sequence[str]) -> list[deid.Profile]:
    return [get(pid) for pid in profile_ids]


def key_of(profiles: Sequence[deid.Profile]) -> tuple[ProfileKey, ...]:
    """What identifies the profiles' content, for cache keys."""
    return tuple((p.id, p.sha256 or "") for p in profiles)


def active_ids() -> list[str]:
    """The active profile ids (default: every shipped profile), known ones only."""
    known = set(available_ids())
    chosen = st.session_state.get(state.ACTIVE_PROFILES)
    if chosen is None:
        return shipped_ids()
    return [pid for pid in chosen if pid in known]


def active() -> list[deid.Profile]:
    return get_many(active_ids())


def suggested_id(file_name: str) -> str:
    """A profile id from a file name: lower-case letters, digits and ``_``."""
    stem = Path(file_name).stem.lower()
    text = _ID_CHARS.sub("_", stem).strip("_")
    if not text or not text[0].isalpha():
        text = f"p_{text}".rstrip("_")
    return text[:64]


def add_upload(name: str, data: bytes, ctp_id: str | None = None) -> UploadedProfile:
    """Read an uploaded profile file and add it to the session's profiles (and active set).

    A ``.toml`` file is read as a profile; any other file as a CTP DicomAnonymizer script,
    imported under ``ctp_id``. Raises :class:`deid.DeidError` for an invalid file, an id that
    is already taken, or text that is not UTF-8.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise deid.ProfileError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from exc
    if name.lower().endswith(TOML_SUFFIXES):
        profile = profile_from_toml(text, name)
        upload = UploadedProfile(profile.id, name, "toml", text, text,
                                 tuple(lint_profile(profile)))
    else:
        profile_id = ctp_id or suggested_id(name)
        imported = import_ctp(text, profile_id, name)
        profile = imported.profile
        upload = UploadedProfile(profile.id, name, "ctp", text, imported.toml_text,
                                 tuple(imported.findings))
    if profile.id in set(shipped_ids()):
        raise deid.ProfileError(name, f"profile id {profile.id!r} is a shipped profile's id; "
                                "give yours another id")
    uploads = uploaded()
    uploads[profile.id] = upload
    st.session_state[state.UPLOADED_PROFILES] = uploads
    chosen = active_ids()
    if profile.id not in chosen:
        st.session_state[state.ACTIVE_PROFILES] = [*chosen, profile.id]
    return upload


def catalogue_table() -> pd.DataFrame:
    """One row per profile (shipped, then uploaded): id, title, provenance and file."""
    from ui.data import display_path

    rows = [(p.id, p.title, p.provenance, display_path(p.path)) for p in shipped()]
    for upload in uploaded().values():
        profile = profile_from_toml(upload.toml_text, upload.name)
        rows.append((profile.id, profile.title, str(profile.provenance),
                     f"uploaded: {upload.name}"))
    return pd.DataFrame(rows, columns=["id", "title", "provenance", "file"])


def rules_table(profile: deid.Profile) -> pd.DataFrame:
    """The profile's own rules: number, matcher, action, parameters, reason, source, enabled."""
    rows = [{
        "rule": rule.number,
        "matcher": rule.matcher.describe(),
        "action": rule.action.value,
        "params": ", ".join(f"{k}={v}" for k, v in sorted(rule.params.items())),
        "reason": rule.reason,
        "source": rule.source,
        "enabled": rule.enabled,
    } for rule in profile.rules]
    return pd.DataFrame(rows, columns=["rule", "matcher", "action", "params", "reason",
                                       "source", "enabled"])


def lint_table(findings: Sequence[LintFinding]) -> pd.DataFrame:
    rows = [{"severity": f.severity, "rule": f.rule, "code": f.code, "message": f.message}
            for f in findings]
    frame = pd.DataFrame(rows, columns=["severity", "rule", "code", "message"])
    return frame.astype({"rule": "Int64"})


@st.cache_data(show_spinner=False, max_entries=64)
def lint_findings(profile_key: ProfileKey, _profile: deid.Profile) -> pd.DataFrame:
    """Lint findings of a profile, cached by (id, sha256)."""
    del profile_key
    return lint_table(lint_profile(_profile))
