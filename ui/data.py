"""Where things are: repository paths for display, and the bundled sample."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"

_DICM_OFFSET = 128  # PS3.10 7.1: 128-byte preamble, then the "DICM" prefix


def display_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it, else absolute (POSIX form)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


@dataclass(frozen=True)
class SampleSummary:
    """What the bundled sample folder holds."""

    folder: str
    n_files: int
    n_dicom: int


def _is_dicom_file(path: Path) -> bool:
    """True for a PS3.10 file: ``DICM`` after the 128-byte preamble."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_DICM_OFFSET + 4)
    except OSError:
        return False
    return head[_DICM_OFFSET:] == b"DICM"


@st.cache_data(show_spinner=False, ttl=60)
def sample_summary() -> SampleSummary:
    """Count the files under ``data/sample/`` and those that are DICOM (PS3.10) files."""
    files = [
        p
        for p in sorted(SAMPLE_DIR.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.parts)
    ]
    return SampleSummary(
        folder=display_path(SAMPLE_DIR) + "/",
        n_files=len(files),
        n_dicom=sum(_is_dicom_file(p) for p in files),
    )
