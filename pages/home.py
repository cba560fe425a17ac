"""Profiles: the de-identification profiles this tool knows, and where the sample data is."""

import streamlit as st

from ui import data, state
from ui.errors import stop_on_deid_error

st.title("Profiles")
st.write(
    "De-identification profiles available for review. Each one says, tag by tag, what happens "
    "to a DICOM header element and why. Profiles marked *reconstructed* were rebuilt from "
    "published descriptions; every rule cites the sentence or PS3.15 option it follows."
)

with stop_on_deid_error("Could not load the profiles"):
    profiles = data.profiles_table()

if profiles.empty:
    st.info("No profiles found. Shipped profiles live in `deid/profiles/`, one TOML file each.")
else:
    st.dataframe(profiles, key=state.PROFILES_TABLE, hide_index=True)

st.subheader("Sample data")
sample = data.sample_summary()
st.write(
    f"Bundled synthetic sample headers: `{sample.folder}`, "
    f"{sample.n_dicom} DICOM files ({sample.n_files} files in all). "
    "See `data/sample/README.md` for how each was made and what it exercises."
)
