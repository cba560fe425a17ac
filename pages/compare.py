"""Compare profiles: what each does to every tag of the DICOM dictionary, where they differ,
the published AI4HI figures beside ours, and a pairwise diff with reasons and sources."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from deid.outputs.compare import PUBLISHED_DIFFERENCES, PUBLISHED_FIGURES, PUBLISHED_MODIFIED_BY_ALL
from deid.outputs.export import export_metadata
from ui import charts, compute, exports, glossary, profiles, state, widgets
from ui.errors import stop_on_input_error
from ui.navigation import through_app
from ui.text import md

AI4HI = tuple(PUBLISHED_FIGURES)
STATE_LABELS = {2: "2 states: modify / keep",
                3: "3 states: modify / keep / unspecified (left to the profile's default)"}
HEATMAP_MODES = {"group": "by DICOM group", "tag": "every tag"}

through_app()

st.title("Compare profiles")
st.write(
    "What each profile would do to every tag of the DICOM data dictionary (not only the tags "
    "in your files), reduced to **modify** (any action but keep) or **keep**: the tags all "
    "profiles modify, the tags they treat differently, and two profiles side by side with "
    "each rule's reason and source."
)

with stop_on_input_error("Could not list the profiles"):
    available = profiles.available_ids()
widgets.keep_valid(state.CMP_PROFILES, available)
if state.CMP_PROFILES not in st.session_state:
    st.session_state[state.CMP_PROFILES] = profiles.active_ids()


chosen_ids = st.multiselect("Profiles compared", available, key=state.CMP_PROFILES,
                            format_func=profiles.label, persist_state="session")
widgets.family_buttons(state.CMP_PROFILES, available,
                       lambda name: state.CMP_AI4HI_BUTTON if name == "ai4hi"
                       else state.CMP_FAMILY_BUTTON_PREFIX + name, "Compare")
states = st.radio("States", list(STATE_LABELS), format_func=STATE_LABELS.get,
                  key=state.CMP_STATES, horizontal=True, persist_state="session",
                  help=glossary.help_text("modify / keep / unspecified")) or 2
chosen = widgets.require_profiles(chosen_ids)
widgets.profile_note(chosen_ids)

with stop_on_input_error("Could not compare the profiles"), st.spinner(
        md("Comparing {n} profiles over the dictionary…", n=len(chosen))):
    result = compute.comparison(profiles.key_of(chosen), int(states), chosen)
tables = result.tables
st.caption(md("Universe: {size:,} tags — {source}.", size=result.universe_size,
              source=result.universe_source))

summary = tables["profile_summary"]
modified_all = tables["modified_by_all_profiles"]
differences = tables["differences_among_profiles"]
columns = st.columns(3)
columns[0].metric("Tags compared", format(result.universe_size, ","))
columns[1].metric("Modified by all profiles", format(len(modified_all), ","))
columns[2].metric("Treated differently", format(len(differences), ","),
                  help="Not the same effect under every profile "
                       + ("(3 states)" if states == 3 else "(modify/keep)"))

with st.expander(md("Export what this page shows: the tables of these {n} profiles "
                   "({states} states)", n=len(chosen), states=states)):
    st.caption(md("For {ids}. The Export page exports the active profiles instead.",
                  ids=", ".join(result.profile_ids)))
    shown_tables = {name: tables[name] for name in exports.COMPARISON_TABLES}
    buttons = exports.downloads(shown_tables, {**export_metadata(chosen),
                                               "states": str(states)}, True)
    for name in shown_tables:
        row = st.columns([6, 1, 1], vertical_alignment="center")
        row[0].markdown(md("**{name}** ({n:,} rows): ", name=name, n=len(tables[name]))
                        + exports.TABLE_NOTES[name])
        for column, download in zip(row[1:], [b for b in buttons if b.table == name],
                                    strict=True):
            column.download_button(download.fmt.upper(), download.make,
                                   file_name=download.file_name, mime=download.mime,
                                   key=state.compare_download_key(name, download.fmt),
                                   on_click="ignore", icon="⬇️")

heat, overview, agreed, differ, published, pair = st.tabs([
    "Heat map", "Counts", "Modified by all", "Differences", "Published figures", "Two profiles"])

with overview:
    st.plotly_chart(charts.modified_kept_bars(summary), key=state.CMP_COUNTS)
    widgets.table(summary, state.CMP_SUMMARY_TABLE)

with heat:
    mode = st.radio("Heat map", list(HEATMAP_MODES), format_func=HEATMAP_MODES.get,
                    key=state.CMP_HEATMAP_MODE, horizontal=True, persist_state="session",
                    help="About 5,200 tags do not fit on a screen: by group, each cell is the "
                         "share of the group's tags the profile modifies.")
    actions = tables["profile_actions"]
    if mode == "tag":
        first, second = st.columns(2)
        found = first.text_input("Find tags (tag, keyword or name contains)",
                                 key=state.CMP_HEATMAP_SEARCH, persist_state="session",
                                 placeholder="e.g. Patient or (0010")
        all_groups = sorted(actions["tag"].astype(str).str[1:5].unique())
        widgets.keep_valid(state.CMP_HEATMAP_GROUPS, all_groups)
        picked = second.multiselect("DICOM groups", all_groups, key=state.CMP_HEATMAP_GROUPS,
                                    persist_state="session", placeholder="all groups")
        actions = charts.filter_tags(actions, str(found or ""), list(picked))
        st.caption(md("{n:,} tags. Hover a cell for its tag, keyword and action; up to {m} "
                      "tags are labelled one by one, more by group.",
                      n=actions["tag"].nunique(), m=charts.TAG_LABELS_UP_TO))
    if actions.empty:
        st.info("No tag matches: clear the search or the groups.", icon=widgets.INFO_ICON)
    else:
        figure = (charts.heatmap_by_tag(actions, result.profile_ids, int(states))
                  if mode == "tag" else charts.heatmap_by_group(actions, result.profile_ids,
                                                                int(states)))
        st.plotly_chart(figure, key=state.CMP_HEATMAP)

with agreed:
    st.write(md("**ModifiedByAllProfiles**: {n:,} tags every compared profile modifies, with "
                "each profile's action.", n=len(modified_all)))
    widgets.table(widgets.shown(modified_all, "tags"), state.CMP_MODIFIED_TABLE)

with differ:
    st.write(md("**DifferencesAmongProfiles**: {n:,} tags not treated the same by every "
                "compared profile.", n=len(differences)))
    widgets.table(widgets.shown(differences, "tags"), state.CMP_DIFFERENCES_TABLE)

with published:
    st.write(md(
        "Kondylakis et al. (2024, Insights Imaging 15:130) compared the six AI4HI methods "
        "over the DICOM tags, reduced to Modify or Keep: **{all}** tags modified by all "
        "(ModifiedByAllProfiles) and **{differ:,}** treated differently "
        "(DifferencesAmongProfiles). Ours, for the profiles compared above: **{ours_all:,}** "
        "and **{ours_differ:,}**.", all=PUBLISHED_MODIFIED_BY_ALL, differ=PUBLISHED_DIFFERENCES,
        ours_all=len(modified_all), ours_differ=len(differences)))
    if set(chosen_ids) != set(AI4HI):
        st.warning("The published figures are for exactly the six AI4HI profiles; use "
                   "**The six AI4HI profiles** above to compare like with like.", icon="⚖️")
    rows = []
    for record in summary.itertuples(index=False):
        if record.profile_id in PUBLISHED_FIGURES:
            rows.append({
                "profile": profiles.label(str(record.profile_id)),
                "modified (all tags)": record.n_modified,
                "modified in the differences: ours": record.n_modified_in_differences,
                "modified in the differences: published":
                    record.published_n_modified_in_differences,
                "only this profile modifies: ours": record.n_only_modified_by_this_profile,
                "only this profile modifies: published": record.published_n_only_modified,
            })
    if rows:
        widgets.table(pd.DataFrame(rows), state.CMP_PUBLISHED_TABLE)
    procancer = PUBLISHED_FIGURES["procancer_i"][0]
    others = sum(figure[0] for pid, figure in PUBLISHED_FIGURES.items() if pid != "procancer_i")
    st.markdown(md(
        "**Why they differ, and why they must.**\n"
        "- *The profiles are reconstructions.* No script was published for five of the six "
        "projects; ours rebuild them from the publications' sentences and are never tuned to "
        "hit the published counts.\n"
        "- *Faithful reconstructions modify more.* PS3.15 Basic changes every one of the 656 "
        "Table E.1-1 attributes and the documented options still change most of them, so many "
        "more than {all} tags are modified by all six.\n"
        "- *The dictionary edition differs* (pydicom's dictionary plus PS3.15 2026c).\n"
        "- *The published figures cannot all hold in two states.* The other five profiles "
        "modify at most {terms} = **{others:,}** of the {differ:,} differing tags, so at least "
        "{procancer:,} - {others:,} = **{only:,}** of ProCancer-I's modified tags are modified "
        "by no one else — not {published_only:,}. The analysis probably had a third state for "
        "tags a profile does not mention: switch to **3 states** above for that view.",
        all=PUBLISHED_MODIFIED_BY_ALL,
        terms=" + ".join(str(PUBLISHED_FIGURES[p][0]) for p in AI4HI[1:]), others=others,
        differ=PUBLISHED_DIFFERENCES, procancer=procancer, only=procancer - others,
        published_only=PUBLISHED_FIGURES["procancer_i"][1]))

with pair:
    if len(chosen_ids) < 2:
        st.info("Compare at least two profiles to see them side by side.", icon="⚖️")
    else:
        widgets.keep_valid(state.CMP_PAIR_A, chosen_ids)
        widgets.keep_valid(state.CMP_PAIR_B, chosen_ids)
        st.session_state.setdefault(state.CMP_PAIR_A, chosen_ids[0])
        st.session_state.setdefault(state.CMP_PAIR_B, chosen_ids[1])
        first, second = st.columns(2)
        a = first.selectbox("Profile A", chosen_ids, key=state.CMP_PAIR_A,
                            format_func=profiles.label, persist_state="session")
        b = second.selectbox("Profile B", chosen_ids, key=state.CMP_PAIR_B,
                             format_func=profiles.label, persist_state="session")
        if a == b:
            st.info("Choose two different profiles.", icon="⚖️")
        else:
            with stop_on_input_error("Could not compare the two profiles"):
                diff = compute.pairwise(profiles.key_of(chosen), int(states), str(a), str(b),
                                        chosen)
            st.write(md("{n:,} tags where **{a}** and **{b}** take different actions (of "
                        "which {effect:,} differ in modify/keep).", n=len(diff), a=a, b=b,
                        effect=int((diff["effect_a"] != diff["effect_b"]).sum())))
            widgets.table(widgets.shown(diff, "tags"), state.CMP_PAIR_TABLE)
