"""Entry point of the review dashboard: page config, navigation over ``pages/``, sidebar status.

Run it with ``make run`` (``streamlit run app.py``, bound to localhost). The first run of a
session loads the bundled sample, so the dashboard opens with data.
"""

import streamlit as st

from ui import session, widgets

st.set_page_config(
    page_title="DICOM de-identification review",
    # Emoji icons are drawn by the browser (these also by common text fonts); a ":material/...:"
    # icon would be fetched from a font server.
    page_icon="🛡️",
    layout="wide",
)

navigation = st.navigation(
    [
        st.Page("pages/load.py", title="Load", icon="⬆️", default=True),
        st.Page("pages/tag_effects.py", title="Tag effects", icon="⚙️"),
        st.Page("pages/compare.py", title="Compare profiles", icon="⚖️"),
        st.Page("pages/risk.py", title="Residual risk", icon="⚠️"),
        st.Page("pages/consensus.py", title="Consensus", icon="☑️"),
        st.Page("pages/audit.py", title="Audit", icon="🔎"),
        st.Page("pages/profiles.py", title="Profiles", icon="✏️"),
        st.Page("pages/export.py", title="Export", icon="⬇️"),
        st.Page("pages/glossary.py", title="Glossary", icon=widgets.INFO_ICON),
    ]
)

widgets.accessible_style()
session.start()

with st.sidebar:
    widgets.sidebar_status()
    st.caption(
        "Runs on this machine only: headers you load are not sent anywhere, "
        "and exports leave original values out unless you ask for them."
    )

navigation.run()
