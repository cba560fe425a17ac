"""Entry point of the review dashboard: page config and navigation over ``pages/``.

Run it with ``make run`` (``streamlit run app.py``, bound to localhost).
"""

import streamlit as st

st.set_page_config(
    page_title="DICOM de-identification review",
    # An emoji favicon is drawn locally; a ":material/...:" one is fetched from a font server.
    page_icon="🛡️",
    layout="wide",
)

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Profiles", icon=":material/list_alt:", default=True),
    ]
)

with st.sidebar:
    st.caption(
        "Runs on this machine only: headers you load are not sent anywhere, "
        "and exports leave original values out unless you ask for them."
    )

navigation.run()
