"""Consensus: a committee reconciles profiles tag by tag, each decision with its reason in a
shared record, and saves the consensus profile (TOML, CTP script) and the record."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from deid.consensus.worklist import profile_views
from deid.policy.actions import ACTIONS, Action
from ui import compute, consensus, identity, profiles, session, state, widgets
from ui.errors import report_input_error, stop_on_deid_error, stop_on_input_error
from ui.navigation import through_app
from ui.text import md, plain

through_app()

st.title("Consensus")
st.write(
    "Reconcile several profiles tag by tag. The worklist holds the tags where they take "
    "different actions, with each profile's rule, the majority and the residual risk the "
    "majority leaves on the loaded sample. Each decision names its decider and reason and is "
    "added to a shared decision record; the consensus profile takes the decisions, and the "
    "majority (marked *provisional*) where nothing is decided yet."
)

# -- who, what, where ------------------------------------------------------------------------
with st.container(border=True):
    directory = widgets.data_dir_input()
    first, second = st.columns(2)
    name = first.text_input("Consensus name (the consensus profile's id)", key=state.CONS_NAME,
                            persist_state="session",
                            placeholder="e.g. " + consensus.NAME_EXAMPLE)
    decider = identity.who(state.CONS_DECIDER, "Your name (recorded with each decision)",
                           where=second)
    available = profiles.available_ids()
    widgets.keep_valid(state.CONS_PROFILES, available)
    st.session_state.setdefault(state.CONS_PROFILES, profiles.active_ids())
    chosen_ids = st.multiselect("Profiles to reconcile (default: the active profiles)",
                                available, key=state.CONS_PROFILES, format_func=profiles.label,
                                persist_state="session")
if len(chosen_ids) < 2:
    st.info("Choose at least two profiles to reconcile.", icon=widgets.INFO_ICON)
    st.stop()
chosen = widgets.require_profiles(chosen_ids)
widgets.profile_note(chosen_ids)

name = (name or "").strip()
with stop_on_deid_error("Could not read the decision record"):
    record_check = consensus.record_check(directory)
    known = consensus.consensus_names(directory)
if record_check is not None and not record_check.holds:
    widgets.broken_record(record_check)
if known:
    st.caption(md("Consensus names in this record: {names}", names=", ".join(known)))
name_ok = False
if not name:
    st.info("Name the consensus to record decisions (lower-case letters, digits and _).",
            icon=widgets.INFO_ICON)
else:
    with report_input_error("Not a valid consensus name"):
        name = consensus.check_name(name)
        name_ok = True
with stop_on_deid_error("Could not read the decision record"):
    decisions = consensus.current_decisions(directory, name) if name_ok else {}

# -- residual risk on the loaded sample --------------------------------------------------------
data = session.loaded()
findings: pd.DataFrame | None = None
risk_key: object = None
if data is None or data.headers.empty:
    st.caption("No DICOM headers loaded: load a sample on **Load** to see the residual risk "
               "each action would leave.")
elif compute.risk_wanted(data, chosen):
    with stop_on_input_error("Could not assess the residual risk"):
        secrets = session.secrets_for(chosen)
        findings = compute.risk_for(data, chosen, secrets).residual_risk
    risk_key = (data.key, compute.risk_key(secrets))
elif st.button("Assess the residual risk each action leaves", key=state.CONS_RISK_BUTTON,
               help=md("{n:,} files are loaded: the assessment waits for you{estimate}.",
                       n=data.n_loaded,
                       estimate=compute.risk_estimate(data, chosen))):
    compute.request_risk(chosen)
    st.rerun()

# -- worklist ----------------------------------------------------------------------------------
st.subheader("Worklist")
all_tags = st.toggle("All tags (not only those where the profiles disagree)",
                     key=state.CONS_ALL_TAGS, persist_state="session")
with stop_on_input_error("Could not build the worklist"), st.spinner("Comparing the profiles…"):
    table = consensus.worklist(profiles.key_of(chosen), bool(all_tags), risk_key, chosen,
                               findings)
view = consensus.worklist_view(table, chosen_ids, decisions)
done, total = consensus.progress(table, decisions)
st.progress(done / total if total else 1.0,
            text=md("Decided {done:,} / {total:,} tags where the profiles disagree",
                    done=done, total=total))

groups = sorted(view["group"].unique())
deciders = sorted({d for d in view["decided_by"] if d})
widgets.keep_valid(state.CONS_GROUPS, groups)
widgets.keep_valid(state.CONS_DECIDED_BY, deciders)
with st.container(border=True):
    columns = st.columns(3)
    chosen_groups = columns[0].multiselect("Group", groups, key=state.CONS_GROUPS,
                                           persist_state="session", placeholder="all groups")
    search = columns[1].text_input("Keyword or tag contains", key=state.CONS_SEARCH,
                                   persist_state="session", placeholder="e.g. Patient or 0010")
    chosen_deciders = columns[2].multiselect("Decided by", deciders, key=state.CONS_DECIDED_BY,
                                             persist_state="session", placeholder="anyone")
    columns = st.columns(3, vertical_alignment="bottom")
    status_labels = dict(consensus.STATUS_CHOICES)
    status = columns[0].radio("Status", list(status_labels), format_func=status_labels.get,
                              key=state.CONS_STATUS, horizontal=True, persist_state="session")
    risky = columns[1].checkbox("Has a finding", key=state.CONS_RISKY, persist_state="session",
                                disabled=findings is None,
                                help="The majority action leaves a residual risk on the sample.")
filtered = consensus.apply_filters(view, consensus.WorklistFilters(
    tuple(chosen_groups), search or "", bool(risky and findings is not None), status or "all",
    tuple(chosen_deciders)))
st.caption(md("{shown:,} of {total:,} tags · {n} profiles", shown=len(filtered),
              total=len(view), n=len(chosen_ids)))
st.session_state[state.CONS_TABLE_TAGS] = filtered["tag"].tolist()


def _select_from_table() -> None:
    selection = st.session_state.get(state.CONS_TABLE)
    rows = getattr(getattr(selection, "selection", None), "rows", None) or []
    tags = st.session_state.get(state.CONS_TABLE_TAGS, [])
    if rows and rows[0] < len(tags):
        st.session_state[state.CONS_TAG] = tags[rows[0]]


st.dataframe(
    widgets.shown(filtered.reset_index(drop=True), "tags"), key=state.CONS_TABLE,
    hide_index=True, on_select=_select_from_table, selection_mode="single-row", height=380,
    column_order=["tag", "keyword", "vr", "decided", "decided_by", "majority_action", "risk",
                  *chosen_ids, "majority_profiles", "name", "group"],
    column_config={"majority_action": st.column_config.TextColumn("majority"),
                   "decided_by": st.column_config.TextColumn("decided by"),
                   "majority_profiles": st.column_config.TextColumn("majority of"),
                   "risk": st.column_config.TextColumn(
                       "risk left by the majority",
                       help="Residual-risk findings of the majority action on the sample")},
)

# -- one tag -----------------------------------------------------------------------------------
st.subheader("Decide one tag")
if filtered.empty:
    st.info("No tag passes the filters: clear some of them.", icon=widgets.INFO_ICON)
else:
    options = filtered["tag"].tolist()
    if st.session_state.get(state.CONS_TAG) not in options:
        undecided = filtered[filtered["decided"] == ""]
        st.session_state[state.CONS_TAG] = (undecided if len(undecided) else filtered)[
            "tag"].iloc[0]
    keywords = dict(zip(filtered["tag"], filtered["keyword"], strict=True))
    tag = str(st.selectbox("Tag (or click a row above)", options, key=state.CONS_TAG,
                           format_func=lambda t: (str(t) + " " + keywords.get(t, "")).strip()))
    row = filtered[filtered["tag"] == tag].iloc[0]
    views = profile_views(chosen, tag, str(row["vr"]))
    st.markdown(md("**{tag} {keyword}** ({name}, VR {vr}): majority **{action}** ({of})",
                   tag=tag, keyword=row["keyword"], name=row["name"], vr=row["vr"],
                   action=row["majority_action"], of=row["majority_profiles"]))
    widgets.table(consensus.views_table(views, tag, findings, profiles.label),
                  state.CONS_VIEWS_TABLE)
    current = decisions.get(tag)
    if current is not None:
        st.success(md("Decided: **{action}** by {who} on {when} (decision #{id}). Reason:",
                      action=current.new_action, who=current.decider_label,
                      when=current.decided_at, id=current.id), icon="✔️")
        plain(current.reason)
        with stop_on_deid_error("Could not read the decision record"):
            history = consensus.tag_history(directory, name, tag)
        st.write(md("History of {tag} ({n} decisions, newest first):", tag=tag,
                    n=len(history)))
        widgets.table(consensus.history_table(history), state.CONS_HISTORY_TABLE)

    if st.session_state.get(state.CONS_FORM_TAG) != tag \
            or state.CONS_ACTION not in st.session_state:  # a new tag, or the page reopened
        consensus.new_form(tag, str(row["majority_action"]))

    def _take_label(pid: str) -> str:
        if not pid:
            return "(choose a profile)"
        view = next(v for v in views if v.profile_id == pid)
        params = consensus.params_text(consensus.compact_params(view.action.value, view.params))
        return (profiles.label(pid) + ": " + view.action.value
                + (" (" + params + ")" if params else ""))

    with st.container(border=True):
        st.selectbox("Take a profile's rule (copies its action and parameters below)",
                     ["", *chosen_ids], key=state.CONS_TAKE, format_func=_take_label,
                     on_change=consensus.copy_rule, args=(views,))
        action = str(st.selectbox(
            "Action (default: the majority)", [a.value for a in Action], key=state.CONS_ACTION,
            format_func=lambda a: str(a) + ": " + ACTIONS[Action(a)].meaning))
        inputs = consensus.param_inputs(action)
        if st.session_state.get(state.CONS_FORM_ACTION) != action or any(
                state.consensus_param_key(item.name) not in st.session_state for item in inputs):
            consensus.fill_params(action)  # another action: its defaults
        for item in inputs:
            key = state.consensus_param_key(item.name)
            label = item.name + (" (required)" if item.required else "")
            if item.choices:
                st.selectbox(label, item.choices, key=key, help=item.doc)
            elif item.kind is str:
                st.text_input(label, key=key, help=item.doc)
            else:
                st.number_input(label, key=key, help=item.doc,
                                step=1 if item.kind is int else 1.0)
        if not consensus.applies_to(action, str(row["vr"])):
            st.warning(md("{action} is not meant for VR {vr}.", action=action, vr=row["vr"]),
                       icon="⚠️")
        st.text_area("Reason (required): why the committee decides this", key=state.CONS_REASON,
                     height=80)
        st.button("Decide", key=state.CONS_DECIDE_BUTTON, type="primary",
                  disabled=not name_ok or decider is None,
                  on_click=consensus.decide_from_form, args=(tag, views))
        widgets.flash(state.CONS_FLASH)

# -- save --------------------------------------------------------------------------------------
st.subheader("Save the consensus")
if not name_ok:
    st.info("Name the consensus above to save it.", icon=widgets.INFO_ICON)
    st.stop()
default_title = "Consensus " + name
title = st.text_input("Title", key=state.CONS_TITLE, persist_state="session",
                      placeholder=default_title) or default_title
st.write(md("**{name}**: {n:,} tags decided ({done:,} of the {total:,} disagreements); "
            "{left:,} still take the majority, marked *provisional*.", name=name,
            n=len(decisions), done=done, total=total, left=total - done))


def _built() -> consensus.ConsensusProfile:
    return consensus.consensus_profile(name, title, profiles.key_of(chosen),
                                       consensus.decision_ids(decisions), chosen, decisions)


def _toml() -> str:
    return _built().toml_text


def _ctp() -> str:
    built = _built()
    return consensus.ctp_script((built.profile.id, built.profile.sha256 or ""), built.profile)


columns = st.columns(3)
columns[0].download_button(md("{name}.toml", name=name), _toml, file_name=name + ".toml",
                           mime="application/toml", key=state.CONS_TOML_DOWNLOAD,
                           on_click="ignore", icon="⬇️")
columns[1].download_button(md("{name}.script (CTP)", name=name), _ctp,
                           file_name=name + ".script", mime="text/xml",
                           key=state.CONS_CTP_DOWNLOAD, on_click="ignore", icon="⬇️")
if columns[2].button("Use in this session", key=state.CONS_USE_BUTTON,
                     help="Adds the consensus profile to this session's active profiles: "
                          "Compare profiles and the other pages show it."):
    with report_input_error("Could not add the consensus profile"):
        added = consensus.use_in_session(_built())
        st.session_state[state.CONS_SAVE_FLASH] = (
            "success", "", added.id + " is now an active profile of this session (see "
                                      "Compare profiles).")
        st.rerun()
widgets.flash(state.CONS_SAVE_FLASH)

others = [pid for pid in available if pid != name]
widgets.keep_valid(state.CONS_DIFF_PROFILE, ["", *others])
other = st.selectbox("Compare the consensus with", ["", *others], key=state.CONS_DIFF_PROFILE,
                     format_func=lambda p: profiles.label(p) if p else "(choose a profile)")
if other:
    with stop_on_input_error("Could not compare the consensus"), st.spinner("Comparing…"):
        built = _built()
        pair = [built.profile, profiles.get(str(other))]
        diff = compute.pairwise(profiles.key_of(pair), 2, name, str(other), pair)
    st.caption(md("{n:,} tags where {name} and {other} take different actions.", n=len(diff),
                  name=name, other=other))
    widgets.table(widgets.shown(diff, "tags"), state.CONS_DIFF_TABLE)

# -- the decision record -----------------------------------------------------------------------
st.subheader("Decision record")
with stop_on_deid_error("Could not read the decision record"):
    record = consensus.decisions_record(directory, name)
if record_check is not None:
    widgets.record_status(record_check)
if record.empty:
    st.caption(md("No decision recorded for {name} yet.", name=name))
else:
    st.caption(md("{n:,} decisions on {tags:,} tags, oldest first (the decisions table: rows "
                  "are never changed, each carries the hash that chains it to the one before).",
                  n=len(record), tags=record["tag"].nunique()))
    widgets.table(widgets.shown(record, "decisions"), state.CONS_DECISIONS_TABLE)
    columns = st.columns([1, 1, 4])
    for column, download in zip(columns, consensus.decision_downloads(record, chosen,
                                                                      record_check),
                                strict=False):
        column.download_button(download.file_name, download.make, file_name=download.file_name,
                               mime=download.mime, key=state.decisions_download_key(download.fmt),
                               on_click="ignore", icon="⬇️")
