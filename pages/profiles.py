"""Profiles: every profile this dashboard knows, each one readable rule by rule with its
reasons, sources and lint findings; upload a profile (TOML) or a CTP script for this session;
record a DPO's sign-off of a profile and download its sign-off report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import deid
from deid.consensus.store import SIGNOFF_DECISIONS
from ui import audit as audit_view
from ui import compute, consensus, data, identity, profiles, session, state, widgets
from ui.errors import INPUT_ERRORS, report_input_error, stop_on_deid_error, stop_on_input_error
from ui.navigation import through_app
from ui.text import md, plain

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
    with report_input_error("Could not read " + upload.name):
        added = profiles.add_upload(upload.name, upload.getvalue(), ctp_id or None)
        st.session_state[state.PROFILE_READ] = added.id
        st.session_state[FLASH] = md("Added {id} from {file} ({n} lint findings); it is "
                                     "active on the other pages.", id=added.id,
                                     file=upload.name, n=len(added.findings))
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
with stop_on_deid_error("Could not load profile " + str(chosen)):
    profile = profiles.get(str(chosen))

st.markdown(md("### {title}", title=profile.title))
if str(profile.provenance) == profiles.RECONSTRUCTED:
    st.info("Reconstructed from the project's published descriptions, not the project's own "
            "script: every rule cites the sentence or PS3.15 option it follows.",
            icon=widgets.INFO_ICON)
facts = {
    "id": profile.id,
    "provenance": str(profile.provenance),
    "base": profile.base.id if profile.base else "none",
    "options": ", ".join(profile.options) or "none",
    "unlisted (standard elements no rule matches)":
        str(profile.unlisted) + " → " + str(profile.effective_unlisted()),
    "private tags": str(profile.private_tags) + " → " + str(profile.effective_private_tags()),
    "standard table": profile.standard_table or "none",
    "parameters": ", ".join(k + " = " + str(v) for k, v in sorted(profile.params.items()))
    or "none",
    "file": (data.display_path(profile.path) if profile.path else
             "uploaded: " + profiles.uploaded()[profile.id].name
             if profile.id in profiles.uploaded() else "—"),
    "sha256": profile.sha256 or "—",
}
widgets.table(pd.DataFrame({"fact": list(facts), "value": [str(v) for v in facts.values()]}),
              state.PROFILE_FACTS_TABLE)
if profile.description:
    with st.expander("Description", expanded=True):
        plain(profile.description)

rules = profiles.rules_table(profile)
st.write(md("**Rules** ({n:,}; disabled rules are kept for the record, not applied):",
            n=len(rules)))
widgets.table(rules, state.PROFILE_RULES_TABLE)

upload_record = profiles.uploaded().get(profile.id)
if upload_record is not None:
    findings = profiles.lint_table(upload_record.findings)
    if upload_record.kind == "ctp":
        st.download_button(md("Download {id}.toml (the imported profile)", id=profile.id),
                           upload_record.toml_text, file_name=profile.id + ".toml",
                           mime="application/toml", key=state.PROFILE_TOML_DOWNLOAD)
else:
    findings = profiles.lint_findings((profile.id, profile.sha256 or ""), profile)
st.write(md("**Lint findings** ({n}):", n=len(findings)))
if findings.empty:
    st.write("None: the profile lints clean.")
else:
    widgets.table(findings, state.PROFILE_LINT_TABLE)

# -- sign-off --------------------------------------------------------------------------------
st.subheader("Sign-off report")
st.write(md(
    "Download the report a DPO signs and files with a DPIA, then record a decision on this "
    "version of {id} (its file's sha256: a changed profile needs a new sign-off). The report "
    "is one self-contained HTML file (prints to PDF): a plain-language conclusion, the data "
    "reviewed (folder, file count, a digest of the file list, date), the residual risks with "
    "the mitigation each needs, what changed since the previously signed version, the rules "
    "({n:,} of its own, as listed above) and the full effective rule table, the comparison "
    "with PS3.15 Basic and the AI4HI profiles, k-anonymity, the Aryanto-50 coverage and the "
    "recorded sign-offs.", id=profile.id, n=len(profile.rules)))


def _sign_off(signed: deid.Profile) -> None:
    ss = st.session_state
    try:
        reviewer = identity.current(state.SIGNOFF_REVIEWER)
        if reviewer is None:
            raise ValueError("log in first: sign-offs record the name your login provider "
                             "vouches for")
        record = consensus.record_sign_off(
            str(ss.get(state.DATA_DIR) or ""), signed, reviewer=reviewer,
            decision=str(ss.get(state.SIGNOFF_DECISION) or ""),
            comments=str(ss.get(state.SIGNOFF_COMMENTS) or ""))
    except INPUT_ERRORS as exc:
        ss[state.SIGNOFF_FLASH] = ("error", "Could not record the sign-off of " + signed.id,
                                   str(exc))
        return
    ss[state.SIGNOFF_FLASH] = ("success", "", "Recorded: " + record.decision + " by "
                               + record.reviewer_label + " on " + record.signed_at + ".")
    ss[state.SIGNOFF_COMMENTS] = ""


with st.container(border=True):
    directory = widgets.data_dir_input()
    first, second = st.columns(2)
    reviewer = identity.who(state.SIGNOFF_REVIEWER, "Reviewer", where=first)
    second.selectbox("Decision", SIGNOFF_DECISIONS, key=state.SIGNOFF_DECISION, index=None,
                     placeholder="choose: approved, with conditions or rejected",
                     format_func=lambda d: d.replace("_", " "),
                     help="Nothing is chosen for you: read the report first.")
    st.text_area("Comments (conditions, reservations)", key=state.SIGNOFF_COMMENTS, height=80)
    st.button("Record the sign-off", key=state.SIGNOFF_BUTTON, on_click=_sign_off,
              args=(profile,), disabled=reviewer is None)
    widgets.flash(state.SIGNOFF_FLASH)
with stop_on_deid_error("Could not read the decision record"):
    record_check = consensus.record_check(directory)
    signoffs = consensus.sign_offs(directory, profile.id)
if record_check is not None:
    if not record_check.holds:
        widgets.broken_record(record_check)
    widgets.record_status(record_check)
if signoffs:
    st.write(md("**Sign-offs of {id}** (newest first; the report shows those of this "
                "version):", id=profile.id))
    widgets.table(consensus.signoffs_table(signoffs, profile.sha256 or ""), state.SIGNOFF_TABLE)

loaded = session.loaded()
if loaded is None or loaded.headers.empty:
    st.info("The report assesses the loaded sample: load DICOM headers on **Load** first.",
            icon="⬆️")
elif not compute.risk_wanted(loaded):
    st.info(md("{n:,} files are loaded: the report's residual-risk assessment takes a while, "
               "so it waits for you.", n=loaded.n_loaded), icon=widgets.INFO_ICON)
    if st.button("Assess residual risk", key=state.SIGNOFF_RISK_BUTTON):
        st.session_state[state.RISK_REQUESTED] = True
        st.rerun()
else:
    with stop_on_input_error("Could not prepare the sign-off report"):
        make_report = consensus.report_maker(loaded, profile, profiles.active(), directory)
    st.download_button(md("Sign-off report of {id} (HTML)", id=profile.id), make_report,
                       file_name="signoff_" + profile.id + ".html", mime="text/html",
                       key=state.SIGNOFF_DOWNLOAD, on_click="ignore", icon="⬇️", type="primary")
    st.caption(md("On {label}: {n:,} files, with the k and quasi-identifier sets of "
                  "**Residual risk**.", label=loaded.inputs.label, n=loaded.n_loaded))
    if (audited := audit_view.session_audit(profile.id)) is not None:
        st.caption(md("With the audit run on **Audit** of {export!c} against {id}: "
                      "{n:,} deviation(s).", export=audited[0].exported, id=profile.id,
                      n=audited[1].n_deviations))

# -- sample ----------------------------------------------------------------------------------
st.subheader("Sample data")
sample = data.sample_summary()
st.write(md(
    "Bundled synthetic sample headers: {folder!c}, {dicom} DICOM files ({files} files in "
    "all). See `data/sample/README.md` for how each was made and what it exercises.",
    folder=sample.folder, dicom=sample.n_dicom, files=sample.n_files))
