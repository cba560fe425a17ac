"""Helpers shared by the page tests (no tests here): the bundled sample loaded once per test
run, fixed session secrets, and AppTest runs seeded with them.

The sample and the secrets are the same objects in every test, so the dashboard's caches
(keyed by the load's token and the secrets' token) are shared across tests and the suite
stays fast.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

import deid
from deid.ingest import load_headers
from deid.outputs.effects import required_secrets
from deid.outputs.export import read_csv_table
from ui import state
from ui.session import Inputs, Loaded, SessionSecrets

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "app.py"
PAGES = REPO_ROOT / "pages"
SAMPLE_PATHS = ("data/sample/files", "data/sample/cohort")
#: Profiles the behaviour tests activate: few, so that risk and effects run quickly, and
#: chosen to differ (eucanimage keeps sex and bands the age; chaimeleon_images_w_ecrfs keeps
#: patient characteristics; ps315_basic is the standard).
PROFILES = ("chaimeleon_images_w_ecrfs", "eucanimage", "ps315_basic")
TIMEOUT_S = 60


def page(name: str) -> Path:
    return PAGES / f"{name}.py"


@functools.cache
def sample() -> Loaded:
    """The bundled sample's headers, loaded once (paths relative to the repository)."""
    paths = tuple(str(REPO_ROOT / p) for p in SAMPLE_PATHS)
    result = load_headers(paths, include_values=True, workers=1)
    return Loaded(Inputs(paths, (), "bundled sample (tests)", "tests-sample"), result.headers,
                  result.load_errors, result.n_files, 0.0)


@functools.cache
def secrets() -> SessionSecrets:
    """Fixed random secrets for every profile that ships (one token: shared caches)."""
    names = required_secrets(deid.load_profiles())
    return SessionSecrets(deid.Secrets.ephemeral(*names), "ephemeral", "tests-secrets")


def app_test(script: Path) -> AppTest:
    return AppTest.from_file(str(script), default_timeout=TIMEOUT_S)


def seeded(script: Path, profiles: Sequence[str] = PROFILES, *, data: Loaded | None = None,
           **extra: object) -> AppTest:
    """An AppTest of ``script`` whose session already holds the sample (or ``data``), the
    active ``profiles`` and the fixed secrets; ``extra`` seeds more session-state keys."""
    at = app_test(script)
    at.session_state[state.SAMPLE_OFFERED] = True
    at.session_state[state.LOADED] = data or sample()
    at.session_state[state.ACTIVE_PROFILES] = list(profiles)
    at.session_state[state.SECRETS] = secrets()
    for key, value in extra.items():
        at.session_state[key] = value
    return at


def problems(at: AppTest) -> list[str]:
    """Exceptions and error messages on the page (expected to be empty)."""
    return [e.value for e in at.exception] + [e.value for e in at.error]


def frame_by_key(at: AppTest, key: str) -> pd.DataFrame:
    """The data of the table with this key (:func:`ui.widgets.table` or a selectable one)."""
    for element in at.dataframe:
        if element.key == key:
            return element.value
    try:
        block = at.get_by_key(key)
    except KeyError:
        raise AssertionError(f"no table with key {key!r} on the page") from None
    tables = block.dataframe
    assert len(tables) == 1, f"{key}: {len(tables)} tables in the container"
    return tables[0].value


def chart_by_key(at: AppTest, key: str) -> go.Figure:
    """The plotly figure of the ``st.plotly_chart`` with this key."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return plotly.io.from_json(element.proto.spec)
    raise AssertionError(f"no plotly chart with key {key!r}")


def values(data: object) -> np.ndarray:
    """A trace's array (plotly writes numeric arrays as base64 typed arrays in JSON)."""
    if isinstance(data, dict) and "bdata" in data:
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        shape = data.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.asarray(data)


def forget_assessed_risk() -> None:
    """Empty the process-wide store of assessed risk (other tests assessed the same sample:
    a test of a large load that waits for the click needs none assessed yet)."""
    from ui import compute

    compute._stores.clear()


#: The makers of deferred download buttons, by the file id a button's proto carries.
Deferred = dict[str, Callable[[], object]]


def record_deferred(monkeypatch: object) -> Deferred:
    """Record the maker of every deferred download button rendered from now on (what Streamlit
    runs when a browser clicks the button); ``monkeypatch`` is pytest's fixture."""
    made: Deferred = {}
    add = MediaFileManager.add_deferred

    def recording(self: MediaFileManager, data_callable: Callable[[], object],
                  *args: object, **kwargs: object) -> str:
        file_id = add(self, data_callable, *args, **kwargs)  # type: ignore[arg-type]
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)  # type: ignore[attr-defined]
    return made


def downloaded(at: AppTest, key: str, made: Deferred) -> bytes:
    """The bytes the download button with ``key`` gives (its deferred maker run)."""
    for element in at.get("download_button"):
        if element.key == key:
            data = made[element.proto.deferred_file_id]()
            assert isinstance(data, bytes | str)
            return data if isinstance(data, bytes) else data.encode("utf-8")
    raise AssertionError(f"no download button with key {key!r}")


def table_from(data: bytes, fmt: str, table: str, folder: Path) -> pd.DataFrame:
    """A downloaded table read back as the library reads its Parquet or CSV exports."""
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    path = folder / f"{table}.csv"
    path.write_bytes(data)
    return read_csv_table(path, table)
