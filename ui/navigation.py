"""Keep every page behind ``app.py``'s navigation, even when a page's URL is opened first.

Streamlit still knows multipage apps of its first kind, where every ``pages/*.py`` file is a
page of its own. Until a script of the process has called ``st.navigation``, a server whose
entry file has a ``pages/`` folder beside it runs a requested ``/<page>`` URL in that old mode:
the page script alone, without ``app.py`` (no sample, no sidebar status, Streamlit's own page
list). That happens to the first browser after a (re)start that opens or reconnects to a page
other than the first. :func:`through_app`, called first by every page, switches the old mode
off and reruns, so that ``app.py`` runs and its ``st.navigation`` picks the requested page.
"""

from __future__ import annotations

import streamlit as st


def through_app() -> None:
    """Rerun through ``app.py`` when this page was started without it (see the module)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
