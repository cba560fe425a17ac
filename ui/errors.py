"""Show errors from ``deid`` as ``st.error`` on the page, never as a traceback."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

import deid
from ui.text import escape

#: Every error the library raises on bad input (``ProfileError``, ``DicomInputError``, ...).
#: Anything else is a bug and reaches Streamlit's generic error box, without a traceback
#: (``client.showErrorDetails = "none"``).
DEID_ERRORS: tuple[type[Exception], ...] = (deid.DeidError,)
#: Errors from bad input that do not come from ``deid``: a value the user typed that does not
#: parse (``ValueError``), a file or archive that cannot be opened.
INPUT_ERRORS: tuple[type[Exception], ...] = (
    *DEID_ERRORS, ValueError, OSError, zipfile.BadZipFile, KeyError,
)


def show_error(doing: str, exc: BaseException) -> None:
    """One error message: what failed (the title) and why (the library's message). Both can
    quote a file name, a profile or a typed value, so both are shown as text."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError):
        message = "not found: " + str(exc.args[0] if exc.args else "")
    st.error(escape(message), title=escape(doing), icon="⚠️")


@contextmanager
def stop_on_deid_error(doing: str) -> Iterator[None]:
    """Run the block; if ``deid`` raises, show what failed and why, then stop the page.

    Parameters
    ----------
    doing
        What the block was doing, as the error's title, e.g. ``"Could not load the profiles"``.
    """
    try:
        yield
    except DEID_ERRORS as exc:
        show_error(doing, exc)
        st.stop()


@contextmanager
def stop_on_input_error(doing: str) -> Iterator[None]:
    """Like :func:`stop_on_deid_error`, also for bad typed values and unreadable files."""
    try:
        yield
    except INPUT_ERRORS as exc:
        show_error(doing, exc)
        st.stop()


@contextmanager
def report_input_error(doing: str) -> Iterator[None]:
    """Show an input error and carry on with the rest of the page (no stop)."""
    try:
        yield
    except INPUT_ERRORS as exc:
        show_error(doing, exc)
