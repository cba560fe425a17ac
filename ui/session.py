"""What one dashboard session holds: the loaded headers, the inputs they came from, secrets.

Headers are loaded explicitly (with a progress bar) and kept in ``st.session_state``; what is
derived from them is cached in :mod:`ui.compute`, keyed by :attr:`Inputs.key`, a random token
drawn at each load (never derived from file content or paths). A scan dataset (the tables a
CLI or cluster run wrote) is opened instead of reading DICOM: its headers, and its effects and
risk tables when it has them.
"""

from __future__ import annotations

import os
import secrets as _random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

import deid
from deid.distributed.dataset import read_scan
from deid.ingest import IngestLimits, load_headers
from deid.ingest.sources import open_archive, read_member
from deid.outputs.effects import required_secrets
from deid.secret_store import env_var_for
from ui import state
from ui.data import SAMPLE_DIR
from ui.text import md

#: Folders of the bundled sample that hold DICOM files (its README and CSVs are not DICOM).
SAMPLE_FOLDERS = ("files", "cohort")
#: Below this many inputs headers are read in this process (a worker pool costs ~0.5 s).
PARALLEL_FROM = 1000

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class Inputs:
    """Where the loaded headers come from: paths on this machine and uploaded files."""

    paths: tuple[str, ...]
    uploads: tuple[tuple[str, bytes], ...]
    label: str
    key: str
    #: The scan dataset folder the tables were read from (no DICOM file is read then).
    dataset: str | None = None
    #: A scan dataset's other tables (effects, residual_risk, k_anonymity, ...), by name.
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    #: ``(profile id, sha256)`` of the profiles a dataset's tables were made with.
    dataset_profiles: tuple[tuple[str, str], ...] = ()

    def upload_bytes(self, name: str) -> bytes | None:
        for upload_name, data in self.uploads:
            if upload_name.lstrip("/") == name:
                return data
        return None

    def single(self, file: str) -> tuple[list[str], list[tuple[str, bytes]]]:
        """``(paths, uploads)`` that read only ``file`` (a name of the headers table), so
        one file can be applied and assessed without re-reading the others."""
        data = self.upload_bytes(file)
        if data is not None:
            return [], [(file, data)]
        if "!" in file:
            archive, member = file.split("!", 1)
            blob = self.upload_bytes(archive)
            with open_archive(archive if blob is None else None, blob) as opened:
                return [], [(file, read_member(opened, member, IngestLimits()))]
        return [file], []


@dataclass(frozen=True, eq=False)
class Loaded:
    """Headers and load errors of one load."""

    inputs: Inputs
    headers: pd.DataFrame
    load_errors: pd.DataFrame
    n_files: int
    seconds: float
    @property
    def from_dataset(self) -> bool:
        """True when the headers come from a scan dataset (no DICOM file can be read)."""
        return self.inputs.dataset is not None

    @property
    def key(self) -> str:
        return self.inputs.key

    @property
    def files(self) -> list[str]:
        """Loaded files in load order."""
        column = self.headers["file"]
        return [str(name) for name in pd.unique(column.astype(object))] if len(column) else []

    @property
    def n_loaded(self) -> int:
        return int(self.headers["file"].nunique()) if len(self.headers) else 0


def loaded() -> Loaded | None:
    """The session's loaded headers, or ``None``."""
    value = st.session_state.get(state.LOADED)
    return value if isinstance(value, Loaded) else None


def shown_path(path: Path | str) -> str:
    """A path relative to the working folder when inside it (shorter names in tables)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return resolved.as_posix()


def files_root(inputs: Inputs) -> str:
    """The folder the loaded files are named relative to in tables: the loaded folder, or
    the common folder of several ('' when nothing was loaded from this machine)."""
    roots = [p if os.path.isdir(p) else os.path.dirname(p) for p in inputs.paths]
    if not roots:
        return ""
    try:
        return os.path.commonpath([os.path.abspath(root) for root in roots])
    except ValueError:  # paths on different drives
        return ""


def relative_files(files: pd.Series, inputs: Inputs) -> pd.Series:
    """File names relative to :func:`files_root` (short enough to leave room for the keyword
    and the reason); a file outside it, an upload or a zip member keeps its name."""
    root = files_root(inputs)
    if not root:
        return files.astype(str)
    prefix = root.rstrip(os.sep) + os.sep

    def relative(name: str) -> str:
        absolute = name if os.path.isabs(name) else os.path.abspath(name)
        return absolute[len(prefix):] if absolute.startswith(prefix) else name

    names = files.astype(str)
    mapping = {name: relative(name) for name in names.unique()}
    return names.map(mapping)


def sample_paths() -> list[str]:
    return [shown_path(SAMPLE_DIR / name) for name in SAMPLE_FOLDERS]


def _count_inputs(paths: Sequence[str]) -> int:
    count = 0
    for path in paths:
        if os.path.isdir(path):
            for _, _, files in os.walk(path):
                count += len(files)
                if count >= PARALLEL_FROM:
                    return count
        else:
            count += 1
    return count


def load(paths: Sequence[str], uploads: Sequence[tuple[str, bytes]], label: str,
         progress: Progress | None = None) -> Loaded:
    """Read the headers (values included: the dashboard shows them) and keep them in the
    session. Unreadable inputs become load_errors rows; nothing is written anywhere."""
    started = time.perf_counter()
    many = _count_inputs(paths) + len(uploads) >= PARALLEL_FROM
    result = load_headers(list(paths), uploads=list(uploads), include_values=True,
                          workers=None if many else 1, progress=progress)
    inputs = Inputs(tuple(paths), tuple(uploads), label, _random.token_hex(8))
    data = Loaded(inputs, result.headers, result.load_errors, result.n_files,
                  time.perf_counter() - started)
    st.session_state[state.LOADED] = data
    forget_requests()
    return data


def open_dataset(folder: str) -> Loaded:
    """Open the tables a scan (or report, risk, apply) wrote into ``folder``, with or without
    ``--cluster``: nothing is read from DICOM files. Raises
    :class:`deid.distributed.dataset.DatasetError` when the folder holds no headers table."""
    started = time.perf_counter()
    scan = read_scan(folder)
    inputs = Inputs((), (), f"scan dataset {shown_path(folder)}", _random.token_hex(8),
                    str(scan.folder), dict(scan.tables), scan.profiles)
    data = Loaded(inputs, scan.headers, scan.load_errors, scan.n_files,
                  time.perf_counter() - started)
    st.session_state[state.LOADED] = data
    forget_requests()
    return data


def forget_requests() -> None:
    """A new load asks again before the long computations."""
    st.session_state.pop(state.RISK_REQUESTED, None)
    st.session_state.pop(state.EFFECTS_REQUESTED, None)


def clear() -> None:
    st.session_state.pop(state.LOADED, None)
    forget_requests()


def progress_bar(what: str) -> Progress:
    """A progress bar on the page and a ``progress(done, total)`` callback updating it."""
    bar = st.progress(0.0, text=md("{what}…", what=what))

    def update(done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        bar.progress(min(1.0, fraction), text=md("{what}: {done:,} of {total:,} files",
                                                 what=what, done=done, total=total))

    return update


def start() -> None:
    """First run of a session: load the bundled sample so the dashboard opens with data."""
    if state.SAMPLE_OFFERED in st.session_state:
        return
    st.session_state[state.SAMPLE_OFFERED] = True
    if loaded() is None and all(Path(p).is_dir() for p in sample_paths()):
        with st.spinner("Loading the bundled sample…"):
            load(sample_paths(), [], "bundled sample (data/sample/)")


@dataclass(frozen=True, eq=False)
class SessionSecrets:
    """The secrets pseudonyms, keyed hashes, new UIDs and date shifts use in this session."""

    secrets: deid.Secrets
    origin: str  # "environment" or "ephemeral"
    token: str  # random; keys caches, never derived from the secrets

    @property
    def names(self) -> tuple[str, ...]:
        return self.secrets.names()


def secrets_for(profiles: Sequence[deid.Profile]) -> SessionSecrets:
    """The environment's secrets (``DEID_SECRET``, ``DEID_SECRET_<NAME>``) when every secret
    the profiles need is set there; otherwise random secrets drawn once per session (and
    extended, never redrawn, when a profile needs another name)."""
    needed = set(required_secrets(profiles))
    current = st.session_state.get(state.SECRETS)
    env = deid.Secrets.from_env()
    if needed <= set(env.names()):
        if not (isinstance(current, SessionSecrets) and current.origin == "environment"
                and set(current.names) == set(env.names())):
            current = SessionSecrets(env, "environment", _random.token_hex(8))
            st.session_state[state.SECRETS] = current
        return current
    if isinstance(current, SessionSecrets) and current.origin == "ephemeral" \
            and needed <= set(current.names):
        return current
    values: dict[str, bytes] = {}
    if isinstance(current, SessionSecrets) and current.origin == "ephemeral":
        values = {name: current.secrets.get(name) for name in current.names}
    fresh = deid.Secrets.ephemeral(*sorted(needed - set(values)))
    values.update({name: fresh.get(name) for name in fresh.names()})
    current = SessionSecrets(deid.Secrets(values), "ephemeral", _random.token_hex(8))
    st.session_state[state.SECRETS] = current
    return current


def secrets_note(current: SessionSecrets) -> str:
    """One sentence for the sidebar on where this session's secrets come from."""
    if current.origin == "environment":
        names = ", ".join(env_var_for(name) for name in current.names)
        return f"Secrets come from the environment ({names}): pseudonyms match other runs " \
               "that use the same secrets."
    return ("Secrets: none set in the environment, so random ones were drawn for this session: "
            "pseudonyms in this session are random and cannot be linked to any other run.")
