"""Show errors from ``deid`` as ``st.error`` on the page, never as a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

import deid

#: Every error the library raises on bad input (``ProfileError``, ``DicomInputError``, ...).
#: Anything else is a bug and reaches Streamlit's generic error box, without a traceback
#: (``client.showErrorDetails = "none"``).
DEID_ERRORS: tuple[type[Exception], ...] = (deid.DeidError,)


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
        st.error(str(exc), title=doing, icon=":material/error:")
        st.stop()
