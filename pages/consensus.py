"""Consensus: a committee reconciles profiles tag by tag, each decision with its reason in a
shared record, and saves the consensus profile (TOML, CTP script) and the record."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from deid.consensus.worklist import profile_views
from deid.policy.actions import Action
from ui import compute, consensus, glossary, identity, profiles, session, state, widgets
from ui.errors import report_input_error, stop_on_deid_error, stop_on_input_error
from ui.navigation import through_app
from ui.text import md, plain

through_app()

st.title("Consensus")
st.write(
    "Reconcile several profiles tag by tag. The worklist holds the tags where they take "
    "different actions, with each profile's rule and the majority, and puts first what "
    "matters: the tags present in the loaded files, and among them those that stay a "
    "residual risk under any of the profiles. Each decision names its decider and reason and "
    "is added to a shared decision record, which also keeps the consensus's set-up (profiles, "
    "sample): a consensus reopens where it was, from this page's URL or from the list below. "
    "The consensus profile takes the decisions, and the majority (marked *provisional*) where "
    "nothing is decided yet."
)

# -- which consensus: a reload or a shared link reopens it -------------------------------------
if state.CONS_URL_READ not in st.session_state:
    st.session_state[state.CONS_URL_READ] = True
    consensus.read_url()

with st.container(border=True):
    directory = widgets.data_dir_input()
    with stop_on_deid_error("Could not read the decision record"):
        record_check = consensus.record_check(directory)
    if record_check is not None and not record_check.holds:
        widgets.broken_record(record_check)
    with stop_on_deid_error("Could not read the decision record"):
        known = consensus.overview(directory)
    names = known["consensus_id"].astype(str).tolist()
    described = {str(row.consensus_id): f"{row.consensus_id} ({row.n_decisions:,} decisions"
                 + (f"; {row.profiles})" if row.profiles else ")") for row in known.itertuples()}
    widgets.keep_valid(state.CONS_OPEN, ["", *names])
    st.selectbox("Open a consensus from the record", ["", *names], key=state.CONS_OPEN,
                 format_func=lambda n: described.get(n, n) if n else "(choose one, or name a "
                 "new one below)", on_change=consensus.open_chosen,
                 disabled=not names,
                 help="Reopens the consensus with the profiles and sample it was set up with.")
    if names:
        st.caption(md("Consensus names in this record: {names}", names=", ".join(names)))
    first, second = st.columns(2)
    name = first.text_input("Consensus name (the consensus profile's id)", key=state.CONS_NAME,
                            persist_state="session",
                            placeholder="e.g. " + consensus.NAME_EXAMPLE)
    decider = identity.who(state.CONS_DECIDER, "Your name (recorded with each decision)",
                           where=second)
    name = (name or "").strip()
    name_ok = False
    if name:
        with report_input_error("Not a valid consensus name"):
            name = consensus.check_name(name)
            name_ok = True
    with stop_on_input_error("Could not load a profile"):
        available = profiles.available_ids()
        saved = consensus.reopen_if_new(directory, name, available) if name_ok else None
    consensus.show_url(directory, name if name_ok else "")
    widgets.keep_valid(state.CONS_PROFILES, available)
    st.session_state.setdefault(state.CONS_PROFILES, profiles.active_ids())
    chosen_ids = st.multiselect("Profiles to reconcile (default: the active profiles)",
                                available, key=state.CONS_PROFILES, format_func=profiles.label,
                                persist_state="session")
    widgets.family_buttons(state.CONS_PROFILES, available,
                           lambda family: state.CONS_FAMILY_BUTTON_PREFIX + family, "Reconcile")
note = st.session_state.pop(state.CONS_RESTORE_NOTE, None)
if note:
    st.warning(md("Reopened {name}, but some of its profiles are {what}.", name=name,
                  what="; ".join(note)), icon="⚠️")
if len(chosen_ids) < 2:
    st.info("Choose at least two profiles to reconcile.", icon=widgets.INFO_ICON)
    st.stop()
chosen = widgets.require_profiles(chosen_ids)
widgets.profile_note(chosen_ids)

if not name:
    st.info("Name a new consensus, or open one from the record, to record decisions "
            "(lower-case letters, digits and _).", icon=widgets.INFO_ICON)
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
        findings, risk_key = consensus.risk_findings(data, chosen, secrets)
elif st.button("Assess the residual risk each action leaves", key=state.CONS_RISK_BUTTON,
               help=md("{n:,} files are loaded: the assessment waits for you{estimate}.",
                       n=data.n_loaded,
                       estimate=compute.risk_estimate(data, chosen))):
    compute.request_risk(chosen)
    st.rerun()
setup = consensus.Setup(profiles.key_of(chosen), str(st.session_state.get(state.CONS_TITLE)
                                                     or ""), tuple(consensus.sources_of(data)))
if name_ok:
    consensus.setup_status(directory, name, saved, setup, decider is not None, data)

# -- worklist ----------------------------------------------------------------------------------
st.subheader("Worklist")
all_tags = st.toggle("All tags (not only those where the profiles disagree)",
                     key=state.CONS_ALL_TAGS, persist_state="session")
with stop_on_input_error("Could not build the worklist"), st.spinner("Comparing the profiles…"):
    present = (consensus.presence(data.key, profiles.key_of(chosen), data.headers, chosen)
               if data is not None and not data.headers.empty else None)
    table = consensus.worklist(profiles.key_of(chosen), bool(all_tags), risk_key,
                               data.key if present is not None and data is not None else None,
                               chosen, findings, present)
view = consensus.worklist_view(table, chosen_ids, decisions)
done, total = consensus.progress(table, decisions)
if name_ok:
    st.progress(done / total if total else 1.0,
                text=md("Decided {done:,} / {total:,} tags where the profiles disagree",
                        done=done, total=total))
    consensus.decisions_outside(decisions, table, name)
else:
    st.caption(md("{total:,} tags where the profiles disagree. Name or open a consensus to "
                  "record decisions on them.", total=total))

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
    columns = st.columns(4, vertical_alignment="bottom")
    status_labels = dict(consensus.STATUS_CHOICES)
    status = columns[0].radio("Status", list(status_labels), format_func=status_labels.get,
                              key=state.CONS_STATUS, horizontal=True, persist_state="session")
    in_files = columns[1].checkbox(
        "Present in my files", key=state.CONS_PRESENT, persist_state="session",
        disabled=present is None,
        help="Only tags that occur (at any depth) in the loaded files.")
    risky_any = columns[2].checkbox(
        "Risky under any profile", key=state.CONS_RISKY_ANY, persist_state="session",
        disabled=findings is None,
        help="Only tags that stay a residual risk on the loaded files under at least one of "
             "the profiles (see the column 'risky under').")
    risky = columns[3].checkbox("Risk left by the majority", key=state.CONS_RISKY,
                                persist_state="session", disabled=findings is None,
                                help="Only tags where the majority action leaves a residual "
                                     "risk on the loaded files.")
    order_labels = dict(consensus.ORDER_CHOICES)
    order = st.radio("Order", list(order_labels), format_func=order_labels.get,
                     key=state.CONS_ORDER, horizontal=True, persist_state="session")
filtered = consensus.apply_filters(view, consensus.WorklistFilters(
    tuple(chosen_groups), search or "", bool(risky and findings is not None), status or "all",
    tuple(chosen_deciders), bool(risky_any and findings is not None),
    bool(in_files and present is not None), str(order or "matters")))
st.caption(md("{shown:,} of {total:,} tags · {n} profiles", shown=len(filtered),
              total=len(view), n=len(chosen_ids)))
st.session_state[state.CONS_TABLE_TAGS] = filtered["tag"].tolist()[:widgets.MAX_SHOWN_ROWS]


def _select_from_table() -> None:
    selection = st.session_state.get(state.CONS_TABLE)
    rows = getattr(getattr(selection, "selection", None), "rows", None) or []
    tags = st.session_state.get(state.CONS_TABLE_TAGS, [])
    if rows and rows[0] < len(tags):
        st.session_state[state.CONS_TAG] = tags[rows[0]]


st.dataframe(
    widgets.shown(filtered.reset_index(drop=True), "tags", "the worklist download below"),
    key=state.CONS_TABLE, hide_index=True, on_select=_select_from_table,
    selection_mode="single-row", height=380,
    column_order=["tag", "keyword", "n_files", "risky_under", "decided", "decided_by",
                  "majority_action", "risk", *chosen_ids, "majority_profiles", "vr", "name",
                  "group"],
    column_config={"n_files": st.column_config.NumberColumn(
                       "in files", help="Loaded files that hold the tag (at any depth)"),
                   "risky_under": st.column_config.TextColumn(
                       "risky under", help="Profiles under which the tag stays a residual "
                                           "risk on the loaded files"),
                   "majority_action": st.column_config.TextColumn("majority"),
                   "decided_by": st.column_config.TextColumn("decided by"),
                   "majority_profiles": st.column_config.TextColumn("majority of"),
                   "vr": st.column_config.TextColumn("VR", help=glossary.help_text("VR")),
                   "risk": st.column_config.TextColumn(
                       "risk left by the majority",
                       help="Residual-risk findings of the majority action on the sample")},
)
columns = st.columns([1, 1, 4])
for column, download in zip(columns, consensus.worklist_downloads(filtered, chosen),
                            strict=False):
    column.download_button(download.file_name, download.make, file_name=download.file_name,
                           mime=download.mime, key=state.worklist_download_key(download.fmt),
                           on_click="ignore", icon="⬇️",
                           help="The worklist as filtered above, every row")

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
                  state.CONS_VIEWS_TABLE,
                  column_config={"explicit": st.column_config.CheckboxColumn(
                      "explicit", help=glossary.help_text("explicit"))})
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
            format_func=consensus.action_label, help=glossary.help_text("action")))
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
                  on_click=consensus.decide_from_form, args=(tag, views, setup))
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
