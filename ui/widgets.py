"""Widgets and messages shared by the pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

import deid
from deid.consensus.store import RecordCheck
from ui import profiles, session
from ui.errors import stop_on_deid_error
from ui.text import escape, md, plain

#: The "i" emoji, written with escapes (ruff flags the character as a confusable letter).
INFO_ICON = "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}"
#: Cell style of a residual risk.
RISK_STYLE = "background-color: #fde0dd; color: #67000d; font-weight: 600"
#: Tables longer than this are cut for display (the export has every row).
MAX_SHOWN_ROWS = 5000

NO_DATA = ("No DICOM headers are loaded. Open **Load** in the sidebar: load the bundled sample, "
           "a folder or a zip on this machine, or upload files.")
NO_PROFILES = ("No profile is active. Choose profiles on the **Load** page (or upload one on "
               "**Profiles**).")


#: Our own style rules (no supplied text): captions dark enough for WCAG AA (4.5:1 on the
#: sidebar's grey and on white) and a keyboard focus ring that shows (3 px, dark blue).
ACCESSIBLE_CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] [data-testid="stTooltipHoverTarget"] { color: #3d4450; }
:focus-visible { outline: 3px solid #0b4fb3 !important; outline-offset: 2px !important; }
[data-baseweb="input"]:focus-within, [data-baseweb="select"] > div:focus-within,
[data-baseweb="textarea"]:focus-within { box-shadow: 0 0 0 3px #0b4fb3 !important; }
</style>
"""


def accessible_style() -> None:
    """Apply :data:`ACCESSIBLE_CSS` (our constant: the one HTML the dashboard writes)."""
    st.html(ACCESSIBLE_CSS)


def require_data() -> session.Loaded:
    """The loaded headers; otherwise say what to do and stop the page."""
    data = session.loaded()
    if data is None:
        st.info(NO_DATA, icon="⬆️")
        st.stop()
    if data.headers.empty:
        st.warning("The last load read no DICOM headers: see the load errors on **Load**.",
                   icon="⚠️")
        st.stop()
    return data


def require_profiles(ids: Sequence[str] | None = None) -> list[deid.Profile]:
    """The profiles (default: the active ones); otherwise say what to do and stop."""
    chosen = list(profiles.active_ids() if ids is None else ids)
    if not chosen:
        st.info(NO_PROFILES, icon="✏️")
        st.stop()
    with stop_on_deid_error("Could not load a profile"):
        return profiles.get_many(chosen)


def profile_note(ids: Sequence[str]) -> None:
    """Say which of these profiles are reconstructions, once per page."""
    rebuilt = [pid for pid in ids if profiles.provenance_of(pid) == profiles.RECONSTRUCTED]
    if rebuilt:
        st.caption(md(
            "Reconstructed from published descriptions (not the projects' own scripts): "
            "{ids}. Every rule cites the sentence or PS3.15 option it follows.",
            ids=", ".join(rebuilt)))


def shown(frame: pd.DataFrame, what: str = "rows", where: str = "the Export page"
          ) -> pd.DataFrame:
    """The first :data:`MAX_SHOWN_ROWS` rows, with a caption when rows were left out that
    says ``where`` they all are (a download that has every row)."""
    if len(frame) > MAX_SHOWN_ROWS:
        st.caption(md("Showing the first {shown:,} of {total:,} {what}; {where} has them all.",
                      shown=MAX_SHOWN_ROWS, total=len(frame), what=what, where=where))
        return frame.head(MAX_SHOWN_ROWS)
    return frame


def highlight(frame: pd.DataFrame, flags: pd.DataFrame) -> object:
    """A Styler colouring the cells where ``flags`` is True (same index and columns)."""
    styles = flags.reindex(index=frame.index, columns=frame.columns, fill_value=False)
    css = pd.DataFrame(np.where(styles.to_numpy(dtype=bool), RISK_STYLE, ""),
                       index=frame.index, columns=frame.columns)
    return frame.style.apply(lambda _: css, axis=None)


def sidebar_status() -> None:
    """What is loaded, which profiles are active, where the secrets come from."""
    data = session.loaded()
    if data is None:
        st.caption("Nothing loaded.")
    else:
        errors = len(data.load_errors)
        st.caption(md("**Loaded:** {label}: {n:,} files, {elements:,} elements"
                      + (", {errors:,} load errors" if errors else ""),
                      label=data.inputs.label, n=data.n_loaded, elements=len(data.headers),
                      errors=errors))
    ids = profiles.active_ids()
    st.caption(md("**Active profiles ({n}):** {ids}", n=len(ids),
                  ids=", ".join(ids) if ids else "none"))
    if ids:
        try:
            current = session.secrets_for(profiles.get_many(ids))
        except deid.DeidError as exc:
            st.caption(md("Secrets: not available ({error})", error=exc))
        else:
            st.caption(escape(session.secrets_note(current)))


def family_buttons(target: str, available: Sequence[str], key_of: Callable[[str], str],
                   what: str = "Choose") -> None:
    """One button per family of shipped profiles (:data:`ui.profiles.FAMILIES`) that puts
    the family's available profiles into the multiselect ``target`` (its key)."""
    offered = set(available)

    def choose(family: tuple[str, ...]) -> None:
        st.session_state[target] = [pid for pid in family if pid in offered]

    for column, (name, label, family) in zip(st.columns(len(profiles.FAMILIES)),
                                              profiles.FAMILIES, strict=True):
        column.button(label, on_click=choose, args=(family,), key=key_of(name),
                      help=what + " this family: " + ", ".join(family))


def keep_valid(key: str, options: Sequence[object]) -> None:
    """Drop a remembered choice (or the items of a remembered list) no longer offered, so a
    widget whose options changed since (a new load, other profiles) still renders."""
    if key not in st.session_state:
        return
    value = st.session_state[key]
    allowed = set(options)
    if isinstance(value, list | tuple):
        cleaned = [item for item in value if item in allowed]
        if len(cleaned) != len(value):
            st.session_state[key] = cleaned
    elif value not in allowed:
        del st.session_state[key]


def keep_in_range(key: str, low: int, high: int) -> None:
    """Clamp a remembered range slider to ``[low, high]``."""
    value = st.session_state.get(key)
    if isinstance(value, list | tuple) and len(value) == 2:
        clamped = (max(low, min(high, int(value[0]))), max(low, min(high, int(value[1]))))
        if tuple(value) != clamped:
            st.session_state[key] = clamped


def table(data: object, key: str, *, where: object = None, **kwargs: object) -> None:
    """A read-only table inside a container with ``key`` (tests and the browser find it by
    that key; a table without selection has no key of its own)."""
    parent = st if where is None else where
    with parent.container(key=key):  # type: ignore[attr-defined]
        st.dataframe(data, hide_index=True, **kwargs)  # type: ignore[arg-type]


def data_dir_input() -> str:
    """The data folder of the decision record, as typed (default: ``$DEID_DATA_DIR``, else
    ``~/.deid-review``), with where the database is; kept for the session."""
    from ui import consensus, state

    st.session_state.setdefault(state.DATA_DIR, consensus.default_data_dir())
    directory = st.text_input(
        "Data folder of the decision record", key=state.DATA_DIR, persist_state="session",
        help="Decisions and sign-offs are rows in decisions.sqlite in this folder (default: "
             "$DEID_DATA_DIR, else ~/.deid-review). Rows are only ever added.")
    path = consensus.database_path(str(directory or ""))
    st.caption(md("Decision record: {path!c}"
                  + ("" if path.is_file() else " (created by the first decision or sign-off)"),
                  path=path))
    return str(directory or "")


def flash(key: str) -> None:
    """Show, once, the outcome a callback or a button left under ``key``: ``(kind, title,
    message)`` with kind ``"success"`` or ``"error"``; title and message are text (shown
    escaped: they quote names and reasons people typed)."""
    outcome = st.session_state.pop(key, None)
    if not outcome:
        return
    kind, title, message = outcome
    if kind == "error":
        st.error(escape(message), title=escape(title) if title else None, icon="⚠️")
    else:
        st.success(escape(message), icon="✔️")


def broken_record(check: RecordCheck) -> None:
    """Say that the decision record's hash chain breaks, where and why (as text)."""
    st.error("Rows were changed, removed or added outside deid: do not trust the record from "
             "the break on, and restore it from a copy. `python -m deid verify-record` gives "
             "the same verdict.", title="The decision record fails its check", icon="⚠️")
    for chain in (check.decisions, check.signoffs):
        if not chain.holds:
            plain(chain.summary())


def record_status(check: RecordCheck) -> None:
    """One line on the decision record's hash chains: intact (with the head to note), or
    broken (said above the page's content)."""
    if check.holds:
        st.caption(md("Hash chain verified: {n:,} decisions and {s:,} sign-offs as they were "
                      "written (head {head!c}; note it to pin this state of the record).",
                      n=check.decisions.n_rows, s=check.signoffs.n_rows,
                      head=check.decisions.head[:16]))
    else:
        st.caption("The hash chain breaks: see the message at the top of the page.")

