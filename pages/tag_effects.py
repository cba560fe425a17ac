"""Tag effects: per tag over every loaded file, what each profile does and where a residual
risk remains; then one tag's decisions and findings, and one file element by element."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import compute, profiles, session, state, tagview, widgets
from ui.errors import stop_on_input_error
from ui.navigation import through_app
from ui.text import md

through_app()

st.title("Tag effects")
st.write(md(
    "One row per tag over every loaded file: how many files and elements carry it, how many "
    "distinct values, and each profile's action. A cell marked {mark} (shaded) is a residual "
    "risk: after that profile the element can still identify or help identify the patient. "
    "Pick a tag for the reasons, then a file to see original and resulting values element by "
    "element.", mark=tagview.RISK_MARK))

data = widgets.require_data()
active_ids = profiles.active_ids()
if not active_ids:
    st.info(widgets.NO_PROFILES, icon="✏️")
    st.stop()
active = widgets.require_profiles(active_ids)

shown_current = [pid for pid in st.session_state.get(state.TAG_PROFILES, active_ids)
                 if pid in active_ids]
st.session_state[state.TAG_PROFILES] = shown_current or active_ids
with st.expander(md("Profiles shown: {n} of {total} active",
                    n=len(st.session_state[state.TAG_PROFILES]), total=len(active_ids))):
    chosen_ids = st.multiselect("Profiles shown", active_ids, key=state.TAG_PROFILES,
                                format_func=profiles.label, persist_state="session")
    widgets.profile_note(chosen_ids)
chosen = widgets.require_profiles(chosen_ids)

with stop_on_input_error("Could not prepare the secrets"):
    secrets = session.secrets_for(active)

findings: pd.DataFrame | None = None
risk_key: object = None
if compute.risk_wanted(data, active):
    with stop_on_input_error("Could not assess the residual risk"):
        risk = compute.risk_for(data, active, secrets)
    findings = risk.residual_risk
    risk_key = compute.risk_key(secrets)
else:
    st.info(md("{n:,} files are loaded: the residual-risk assessment applies every profile to "
               "every file and takes a while{estimate}, so it waits for you.", n=data.n_loaded,
               estimate=compute.risk_estimate(data, active)),
            icon=widgets.INFO_ICON)
    if st.button("Assess residual risk", key=state.TAG_RISK_BUTTON):
        compute.request_risk(active)
        st.rerun()

with st.spinner("Summarising tags…"):
    summary = compute.tag_summary(data.key, profiles.key_of(chosen), risk_key, data.headers,
                                  chosen, findings)

# -- filters ---------------------------------------------------------------------------------
table = summary.table
max_depth = int(summary.depth_max.max()) if len(table) else 0
widgets.keep_valid(state.TAG_GROUPS, sorted(table["group"].unique()))
widgets.keep_valid(state.TAG_VRS, tagview.vr_options(summary))
widgets.keep_in_range(state.TAG_DEPTH, 0, max_depth)
with st.container(border=True):
    first, second, third = st.columns([2, 2, 3])
    groups = first.multiselect("Group", sorted(table["group"].unique()), key=state.TAG_GROUPS,
                               persist_state="session", placeholder="all groups")
    search = second.text_input("Keyword or tag contains", key=state.TAG_SEARCH,
                               persist_state="session", placeholder="e.g. Patient or 0010")
    vrs = third.multiselect("VR", tagview.vr_options(summary), key=state.TAG_VRS,
                            persist_state="session", placeholder="all VRs")
    first, second, third, fourth = st.columns([2, 2, 1.5, 1.5])
    depth = None
    if max_depth > 0:
        if state.TAG_DEPTH not in st.session_state:
            st.session_state[state.TAG_DEPTH] = (0, max_depth)
        depth = first.slider("Nesting depth (0 = top level)", 0, max_depth,
                             key=state.TAG_DEPTH, persist_state="session")
    else:
        first.caption("No nested elements (every element is at the top level).")
    private_labels = dict(tagview.PRIVATE_CHOICES)
    private = second.radio("Private", list(private_labels), format_func=private_labels.get,
                           key=state.TAG_PRIVATE, horizontal=True, persist_state="session")
    disagree = third.checkbox("Profiles disagree", key=state.TAG_DISAGREE,
                              persist_state="session",
                              help="Tags on which the shown profiles take different actions.")
    risky = fourth.checkbox("Risky only", key=state.TAG_RISKY, persist_state="session",
                            disabled=findings is None,
                            help="Tags a shown profile leaves as a residual risk in some file.")

filters = tagview.TagFilters(tuple(groups), search or "", tuple(vrs),
                             tuple(depth) if depth is not None else None, private or "all",
                             bool(disagree), bool(risky and findings is not None))
filtered = tagview.apply_filters(summary, filters)
st.caption(md("{shown:,} of {total:,} tags · {files:,} files · {elements:,} elements"
              + ("" if findings is None else " · {findings:,} residual-risk findings"),
              shown=len(filtered), total=len(table), files=data.n_loaded,
              elements=len(data.headers), findings=0 if findings is None else len(findings)))

flags = tagview.risk_flags(summary, filtered)
st.session_state[state.TAG_TABLE_TAGS] = filtered["tag"].tolist()


def _select_from_table() -> None:
    selection = st.session_state.get(state.TAG_TABLE)
    rows = getattr(getattr(selection, "selection", None), "rows", None) or []
    tags = st.session_state.get(state.TAG_TABLE_TAGS, [])
    if rows and rows[0] < len(tags):
        st.session_state[state.TAG_DETAIL] = tags[rows[0]]


st.dataframe(
    widgets.highlight(filtered.reset_index(drop=True), flags.reset_index(drop=True)),
    key=state.TAG_TABLE, hide_index=True, on_select=_select_from_table,
    selection_mode="single-row", height=420,
    column_order=["tag", "keyword", "vr", *chosen_ids, "risky_in", "profiles_disagree",
                  "n_files", "n_elements", "n_values", "depth", "group", "private_creator"],
    column_config={
        "group": st.column_config.TextColumn("group", width="small"),
        "n_files": st.column_config.NumberColumn("files", help="Files that carry the tag"),
        "n_elements": st.column_config.NumberColumn("elements"),
        "n_values": st.column_config.NumberColumn("distinct values"),
        "profiles_disagree": st.column_config.CheckboxColumn("disagree"),
        "risky_in": st.column_config.NumberColumn(
            "risky in", help="Shown profiles that leave a residual risk on the tag"),
    },
)
if filtered.empty:
    st.info("No tag passes the filters: clear some of them.", icon=widgets.INFO_ICON)
    st.stop()

# -- one tag ---------------------------------------------------------------------------------
st.subheader("Why: one tag")
options = filtered["tag"].tolist()
if st.session_state.get(state.TAG_DETAIL) not in options:
    risky_rows = filtered[filtered["risky_in"] > 0]
    st.session_state[state.TAG_DETAIL] = (risky_rows if len(risky_rows) else filtered)[
        "tag"].iloc[0]
keywords = dict(zip(filtered["tag"], filtered["keyword"], strict=True))
tag = st.selectbox("Tag (or click a row above)", options, key=state.TAG_DETAIL,
                   format_func=lambda t: (str(t) + " " + keywords.get(t, "")).strip())
decision_frame, tag_findings = tagview.tag_decisions(
    filtered[filtered["tag"] == tag].iloc[0], chosen, findings, profiles.label)
widgets.table(
    widgets.highlight(decision_frame, pd.DataFrame(
        {"files at risk": decision_frame["files at risk"] > 0,
         "risk": decision_frame["files at risk"] > 0})), state.TAG_DETAIL_TABLE)
if len(tag_findings):
    st.write("Residual-risk findings on this tag (evidence is masked):")
    widgets.table(widgets.shown(tag_findings, "findings"), state.TAG_FINDINGS_TABLE)

# -- one file --------------------------------------------------------------------------------
st.subheader("One file, element by element")
tag_files = data.headers.loc[data.headers["tag"].astype(str) == tag, "file"]
files = [str(f) for f in pd.unique(tag_files.astype(object))] or data.files
if st.session_state.get(state.TAG_FILE) not in files:
    st.session_state[state.TAG_FILE] = files[0]
file = st.selectbox(md("File ({n:,} carry {tag})", n=len(files), tag=tag), files,
                    key=state.TAG_FILE)
with stop_on_input_error("Could not apply the profiles to " + str(file)), st.spinner(
        md("Applying {n} profiles to {file}…", n=len(chosen), file=file)):
    one = compute.file_effects(data.key, file, profiles.key_of(chosen), secrets.token,
                               data.inputs, chosen, secrets.secrets)
if not one.load_errors.empty:
    widgets.table(one.load_errors, state.TAG_FILE_TABLE + ".errors")
view, view_flags = tagview.file_view(one.effects, chosen_ids, one.findings)
st.caption("Shaded cells: the profile leaves a residual risk on the element. "
           "Result empty: the element is removed or emptied.")
widgets.table(widgets.highlight(view, view_flags) if len(view_flags) else view,
              state.TAG_FILE_TABLE, height=480)
if len(one.findings):
    st.write("Findings in this file:")
    widgets.table(one.findings, state.TAG_FILE_FINDINGS)
