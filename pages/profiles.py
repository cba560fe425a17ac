"""Profiles: every profile this dashboard knows, each one readable rule by rule with its
reasons, sources and lint findings; upload a profile (TOML) or a CTP script for this session."""

from __future__ import annotations

import streamlit as st

from ui import data, profiles, state, widgets
from ui.errors import report_input_error, stop_on_deid_error
from ui.navigation import through_app

through_app()

FLASH = "profiles.flash"

st.title("Profiles")
st.write(
    "De-identification profiles available for review. Each one says, tag by tag, what happens "
    "to a DICOM header element and why. Profiles marked *reconstructed* were rebuilt from "
    "published descriptions; every rule cites the sentence or PS3.15 option it follows."
)

with stop_on_deid_error("Could not load the profiles"):
    catalogue = profiles.catalogue_table()

if catalogue.empty:
    st.info("No profiles found. Shipped profiles live in `deid/profiles/`, one TOML file each.")
else:
    widgets.table(catalogue, state.PROFILES_TABLE)

# -- upload ----------------------------------------------------------------------------------
st.subheader("Add a profile for this session")
st.write(
    "A profile file (`.toml`, the format in the README) or an RSNA CTP DicomAnonymizer "
    "script (any other name), imported as a profile. It joins the active profiles of this "
    "session; nothing is written to disk."
)
upload = st.file_uploader("Profile (.toml) or CTP script", key=state.PROFILE_UPLOAD)
is_script = upload is not None and not upload.name.lower().endswith(profiles.TOML_SUFFIXES)
ctp_id = ""
if is_script and upload is not None:
    ctp_id = st.text_input("Id of the imported profile (lower-case letters, digits, _)",
                           value=profiles.suggested_id(upload.name), key=state.PROFILE_CTP_ID)
if st.button("Add the profile", key=state.PROFILE_ADD_BUTTON, disabled=upload is None) \
        and upload is not None:
    with report_input_error(f"Could not read {upload.name}"):
        added = profiles.add_upload(upload.name, upload.getvalue(), ctp_id or None)
        st.session_state[state.PROFILE_READ] = added.id
        st.session_state[FLASH] = (f"Added {added.id} from {upload.name} "
                                   f"({len(added.findings)} lint findings); it is active on "
                                   "the other pages.")
        st.rerun()
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon="✔️")

# -- read one --------------------------------------------------------------------------------
st.subheader("Read a profile")
ids = catalogue["id"].tolist()
if not ids:
    st.stop()
if st.session_state.get(state.PROFILE_READ) not in ids:
    st.session_state[state.PROFILE_READ] = ids[0]
chosen = st.selectbox("Profile", ids, key=state.PROFILE_READ, format_func=profiles.label)
with stop_on_deid_error(f"Could not load profile {chosen}"):
    profile = profiles.get(str(chosen))

st.markdown(f"### {profile.title}")
if str(profile.provenance) == profiles.RECONSTRUCTED:
    st.info("Reconstructed from the project's published descriptions, not the project's own "
            "script: every rule cites the sentence or PS3.15 option it follows.",
            icon=widgets.INFO_ICON)
facts = {
    "id": f"`{profile.id}`",
    "provenance": str(profile.provenance),
    "base": f"`{profile.base.id}`" if profile.base else "none",
    "options": ", ".join(f"`{o}`" for o in profile.options) or "none",
    "unlisted (standard elements no rule matches)":
        f"{profile.unlisted} → {profile.effective_unlisted()}",
    "private tags": f"{profile.private_tags} → {profile.effective_private_tags()}",
    "standard table": profile.standard_table or "none",
    "parameters": ", ".join(f"`{k}` = `{v}`" for k, v in sorted(profile.params.items()))
    or "none",
    "file": (data.display_path(profile.path) if profile.path else
             f"uploaded: {profiles.uploaded()[profile.id].name}"
             if profile.id in profiles.uploaded() else "—"),
    "sha256": f"`{profile.sha256}`" if profile.sha256 else "—",
}
st.markdown("\n".join(f"- **{name}**: {value}" for name, value in facts.items()))
if profile.description:
    with st.expander("Description", expanded=True):
        st.markdown(profile.description)

rules = profiles.rules_table(profile)
st.write(f"**Rules** ({len(rules):,}; disabled rules are kept for the record, not applied):")
widgets.table(rules, state.PROFILE_RULES_TABLE)

upload_record = profiles.uploaded().get(profile.id)
if upload_record is not None:
    findings = profiles.lint_table(upload_record.findings)
    if upload_record.kind == "ctp":
        st.download_button(f"Download {profile.id}.toml (the imported profile)",
                           upload_record.toml_text, file_name=f"{profile.id}.toml",
                           mime="application/toml", key=state.PROFILE_TOML_DOWNLOAD)
else:
    findings = profiles.lint_findings((profile.id, profile.sha256 or ""), profile)
st.write(f"**Lint findings** ({len(findings)}):")
if findings.empty:
    st.write("None: the profile lints clean.")
else:
    widgets.table(findings, state.PROFILE_LINT_TABLE)

# -- sample ----------------------------------------------------------------------------------
st.subheader("Sample data")
sample = data.sample_summary()
st.write(
    f"Bundled synthetic sample headers: `{sample.folder}`, "
    f"{sample.n_dicom} DICOM files ({sample.n_files} files in all). "
    "See `data/sample/README.md` for how each was made and what it exercises."
)
