"""Glossary: the words of DICOM de-identification and of this dashboard, in plain words."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import glossary, state, widgets
from ui.navigation import through_app

through_app()

st.title("Glossary")
st.write("The words the pages use, in plain words. Hover over a column header or the (?) "
         "next to a control to read the same explanation where the word is used.")
search = st.text_input("Find a word", key=state.GLOSSARY_SEARCH, placeholder="e.g. k_min")
text = (search or "").strip().lower()
rows = [(term, meaning) for term, meaning in glossary.TERMS.items()
        if not text or text in term.lower() or text in meaning.lower()]
if not rows:
    st.info("No word matches: clear the search.", icon=widgets.INFO_ICON)
else:
    widgets.table(pd.DataFrame(rows, columns=["word", "meaning"]), state.GLOSSARY_TABLE,
                  column_config={"meaning": st.column_config.TextColumn(width="large")},
                  row_height=80)
