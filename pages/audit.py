"""Audit: what a pipeline actually did to an export, against the profile it claims (with the
originals), or what identifying content an export still holds (alone)."""

from __future__ import annotations

import streamlit as st

from deid.audit import export_profile
from deid.outputs.export import export_metadata
from ui import audit as view
from ui import exports, profiles, widgets
from ui.errors import stop_on_input_error
from ui.navigation import through_app
from ui.text import md

through_app()

st.title("Audit")
st.write(
    "Everything else here predicts what a profile would do. The audit looks at data that "
    "already left a hospital: with the originals, it pairs each exported file with its "
    "original, infers for every element what was done (kept, removed, emptied, a dummy, "
    "replaced consistently, shifted, truncated, cleaned, added) and compares it with what the "
    "claimed profile says; alone, it reviews the export's own values. Both run the residual-"
    "risk model and k-anonymity on the exported values as they are. Nothing in either folder "
    "is written."
)

shipped = profiles.shipped_ids()
with st.container(border=True):
    first, second = st.columns(2)
    first.text_input("Export (a folder or zip archive on this machine)", key=view.EXPORTED,
                     persist_state="session", placeholder="/data/export")
    second.text_input("Originals (leave empty to review the export alone)",
                      key=view.ORIGINALS, persist_state="session",
                      placeholder="/data/originals")
    third, fourth, fifth = st.columns([2, 2, 3])
    widgets.keep_valid(view.PROFILE, shipped)
    third.selectbox("Claimed profile", shipped, key=view.PROFILE, persist_state="session",
                    format_func=profiles.label)
    fourth.radio("Pair files by", view.PAIRINGS, key=view.PAIRING, persist_state="session",
                 format_func=view.PAIRING_LABELS.__getitem__)
    fifth.text_input("Mapping CSV (for pairing by a mapping)", key=view.MAPPING,
                     persist_state="session")
    run_clicked = st.button("Run the audit", key=view.RUN_BUTTON, type="primary")

req = view.request()
problem = view.check(req)
result = view.kept_result(req)
if run_clicked:
    if problem:
        st.error(md("{problem}", problem=problem), icon="⚠️")
        st.stop()
    claimed = None if req.alone else profiles.get_many([req.profile_id])[0]
    with stop_on_input_error("Could not run the audit"), st.spinner("Auditing…"):
        result = view.run(req, claimed)
if result is None:
    st.info("Name the export (and the originals, to audit against a profile), then run the "
            "audit.", icon=widgets.INFO_ICON)
    st.stop()

pairs = result.audit_pairs
columns = st.columns(5)
columns[0].metric("Files", format(len(pairs), ","))
columns[1].metric("Paired", format(int(pairs["paired_by"].isin(["path", "uid-map"]).sum()), ","))
columns[2].metric("Unpaired", format(int((pairs["paired_by"] == "unpaired").sum()), ","))
columns[3].metric("Deviations", format(result.n_deviations, ","))
columns[4].metric("Risk findings", format(len(result.risk.residual_risk), ","))
if len(result.load_errors):
    st.warning(md("{n:,} problem(s) reading the files or the mapping: see below.",
                  n=len(result.load_errors)), icon="⚠️")
    widgets.table(result.load_errors, view.ERRORS_TABLE)

if not req.alone:
    elements = result.audit_elements
    st.subheader(md("Against {profile}", profile=profiles.label(req.profile_id)))
    st.plotly_chart(view.agreement_chart(elements), key=view.AGREEMENT_CHART)
    left, right = st.columns([1, 2])
    only = left.checkbox("Deviations only", key=view.ONLY_DEVIATIONS, value=True)
    search = right.text_input("Keyword or tag contains", key=view.KEYWORD_FILTER)
    shown = view.filter_elements(elements, only_deviations=only, search=search)
    widgets.table(widgets.shown(shown, "elements", "the audit_elements download"),
                  view.ELEMENTS_TABLE)

    st.caption("Deviations, file by file:")
    deviations = result.audit_deviations
    claimed_options = view.actions_in(deviations, "claimed_action")
    observed_options = view.actions_in(deviations, "observed_action")
    widgets.keep_valid(view.DEVIATION_CLAIMED, claimed_options)
    widgets.keep_valid(view.DEVIATION_OBSERVED, observed_options)
    left, middle, right = st.columns([2, 1, 1])
    text = left.text_input("Keyword, tag or file contains", key=view.DEVIATION_SEARCH)
    claimed = middle.multiselect("Claimed action", claimed_options,
                                 key=view.DEVIATION_CLAIMED, placeholder="any")
    observed = right.multiselect("Observed action", observed_options,
                                 key=view.DEVIATION_OBSERVED, placeholder="any")
    picked = view.filter_deviations(deviations, search=text, claimed=claimed, observed=observed)
    if len(picked) != len(deviations):
        st.caption(md("{n:,} of {total:,} deviations match the filters.", n=len(picked),
                      total=len(deviations)))
    widgets.table(widgets.shown(picked, "deviations", "the audit_deviations download"),
                  view.DEVIATIONS_TABLE)

    st.subheader("One file pair, element by element")
    paired = [str(name) for name in pairs[pairs["paired_by"].isin(["path", "uid-map"])][
        "exported"]]
    widgets.keep_valid(view.PAIR, paired)
    chosen = st.selectbox("Exported file", paired, key=view.PAIR, persist_state="session")
    if chosen:
        widgets.table(view.pair_details(result, str(chosen)), view.PAIR_TABLE)

st.subheader("The export's residual risk")
st.caption("The risk model on the exported values as they are (profile id \"export\"), with "
           "the export's consistency checks: markers, UID roots, dates, shared pseudonyms.")
widgets.table(widgets.shown(result.risk.residual_risk, "findings"), view.FINDINGS_TABLE)
widgets.table(result.risk.k_anonymity, view.KANON_TABLE)
st.caption("Files of both folders:")
widgets.table(pairs, view.PAIRS_TABLE)

st.subheader("Download")
claimed_profiles = [export_profile()] if req.alone else [*profiles.get_many([req.profile_id]),
                                                        export_profile()]
tables = view.downloadable(result)
st.caption("Original and exported values are left out of the downloads (the table above shows "
           "them on this machine only); the command line adds them with --include-values.")
buttons = exports.downloads(tables, export_metadata(claimed_profiles), include_values=True)
for name in tables:
    row = st.columns([6, 1, 1], vertical_alignment="center")
    row[0].markdown(md("**{name}** ({n:,} rows)", name=name, n=len(tables[name])))
    for column, download in zip(row[1:], [b for b in buttons if b.table == name], strict=True):
        column.download_button(download.fmt.upper(), download.make,
                               file_name=download.file_name, mime=download.mime,
                               key=f"audit.download.{name}.{download.fmt}",
                               on_click="ignore", icon="⬇️")
