"""Residual risk: what each profile leaves that could identify a patient, by kind and
severity; k-anonymity of the quasi-identifier sets a profile leaves; Aryanto-50 coverage."""

from __future__ import annotations

import streamlit as st

from deid.risk.kanon import DEFAULT_K, DEFAULT_QI_SETS
from deid.risk.report import baseline_profile
from ui import charts, compute, glossary, profiles, session, state, widgets
from ui.errors import report_input_error, stop_on_input_error
from ui.navigation import through_app
from ui.text import md

through_app()
BASELINE = baseline_profile()

st.title("Residual risk")
st.write(
    "After a profile is applied, an element is a residual risk when what remains could "
    "identify or help identify the patient: direct identifiers and linkage keys kept, "
    "quasi-identifiers (age, sex, size, weight, dates, institution, postal code), the "
    "patient's own names or IDs in free text, private elements kept, and flags such as "
    "burned-in annotation. Over the loaded cohort, combinations of quasi-identifiers can "
    "single a patient out: k is the size of the smallest group of patients who share the "
    "values a profile leaves."
)

data = widgets.require_data()
active = widgets.require_profiles()
active_ids = [p.id for p in active]
widgets.profile_note(active_ids)
with stop_on_input_error("Could not prepare the secrets"):
    secrets = session.secrets_for(active)

# -- settings --------------------------------------------------------------------------------
with st.container(border=True):
    first, second = st.columns([1, 4])
    st.session_state.setdefault(state.RISK_K, DEFAULT_K)
    first.number_input("k", min_value=1, max_value=1000, step=1, key=state.RISK_K,
                       persist_state="session",
                       help="Records in groups smaller than k are findings (default 5). "
                            + glossary.help_text("k, k_min"))
    extra_text = str(st.session_state.get(state.RISK_QI_EXTRA, "") or "")
    extra: tuple[str, ...] = ()
    with report_input_error("A quasi-identifier set below is not valid"):
        extra = compute.parse_extra_qi_sets(extra_text)
    qi_options = list(dict.fromkeys([*DEFAULT_QI_SETS, *extra]))
    widgets.keep_valid(state.RISK_QI_SETS, qi_options)
    st.session_state.setdefault(state.RISK_QI_SETS, list(DEFAULT_QI_SETS))
    second.multiselect("Quasi-identifier sets", qi_options, key=state.RISK_QI_SETS,
                       persist_state="session")
    st.text_area("More sets, one per line: DICOM keywords joined by +, and PostalCode (derived "
                 "from PatientAddress)", key=state.RISK_QI_EXTRA, persist_state="session",
                 placeholder="PatientAge+PatientSex+PatientWeight", height=68)
k, qi_sets = compute.risk_settings()
if not st.session_state.get(state.RISK_QI_SETS) and not extra:
    st.caption("No set chosen: the default sets are evaluated.")

if not compute.risk_wanted(data, active):
    st.info(md("{n:,} files are loaded: the assessment applies every profile to every file "
               "and takes a while{estimate}, so it waits for you. It shows its progress and "
               "can be cancelled.", n=data.n_loaded,
               estimate=compute.risk_estimate(data, active)),
            icon=widgets.INFO_ICON)
    if st.button("Assess residual risk", key=state.RISK_BUTTON, type="primary"):
        compute.request_risk(active)
        st.rerun()
    st.stop()

with stop_on_input_error("Could not assess the residual risk"):
    risk = compute.risk_for(data, active, secrets)
compute.risk_source_note(risk)
findings = risk.residual_risk

# -- findings --------------------------------------------------------------------------------
st.subheader("Findings")
columns = st.columns(4)
columns[0].metric("Findings", format(len(findings), ","))
columns[1].metric("High severity", format(int((findings["severity"] == "high").sum()), ","))
columns[2].metric("Files with a finding", format(findings["file"].nunique(), ","))
with_findings = {str(pid) for pid in findings["profile_id"].unique()}  # once, not per profile
clean = [pid for pid in active_ids if pid not in with_findings]
columns[3].metric("Profiles without findings", str(len(clean)))
kinds = sorted(findings["risk_kind"].astype(str).unique())
widgets.keep_valid(state.RISK_PROFILE_FILTER, active_ids)
widgets.keep_valid(state.RISK_KIND_FILTER, kinds)
first, second = st.columns(2)
chosen_profiles = first.multiselect("Profile", active_ids, key=state.RISK_PROFILE_FILTER,
                                    format_func=profiles.label, persist_state="session",
                                    placeholder="all profiles")
chosen_kinds = second.multiselect("Risk kind", kinds, key=state.RISK_KIND_FILTER,
                                  persist_state="session", placeholder="all kinds")
shown = findings
if chosen_profiles:
    shown = shown[shown["profile_id"].astype(str).isin(chosen_profiles)]
if chosen_kinds:
    shown = shown[shown["risk_kind"].astype(str).isin(chosen_kinds)]

st.markdown("**Element by element** (highest severity first): in how many files each element "
            "stays a risk under each profile, in how many it was one before "
            "de-identification, the profile's reason, and the mitigation it needs.")
with stop_on_input_error("Could not assess the files before de-identification"):
    baseline = compute.risk_for(data, [BASELINE], secrets,  # with progress and Cancel
                                cancel_key=compute.RISK_CANCEL + ".baseline").residual_risk
summary = compute.element_summary_of(data.key, compute.risk_key(secrets),
                                     profiles.key_of([*active, BASELINE]),
                                     tuple(chosen_profiles), tuple(chosen_kinds), shown,
                                     baseline, [*active, BASELINE])
widgets.table(widgets.shown(summary, "elements"), state.RISK_SUMMARY_TABLE,
              column_order=["summary", "severity", "risk_kind", "n_files", "n_files_before",
                            "mitigation", "risk", "profile_id", "element", "action",
                            "because", "tag"],
              column_config={"summary": st.column_config.TextColumn("what stays", width="large"),
                             "n_files": st.column_config.NumberColumn("files after"),
                             "n_files_before": st.column_config.NumberColumn(
                                 "files before", help=glossary.help_text("baseline")),
                             "risk_kind": st.column_config.TextColumn("risk kind"),
                             "mitigation": st.column_config.TextColumn(width="large"),
                             "because": st.column_config.TextColumn("the profile's reason")})

st.markdown("**File by file**: every finding, with the file named relative to "
            + md("{root!c}", root=session.shown_path(session.files_root(data.inputs))
                 if session.files_root(data.inputs) else "the loaded files")
            + ".")
st.caption(md("{n:,} findings shown. Evidence is masked: first and last character and the "
              "length, never the value.", n=len(shown)))
per_file = shown.assign(file=session.relative_files(shown["file"], data.inputs))
widgets.table(widgets.shown(per_file, "findings"), state.RISK_FINDINGS_TABLE,
              column_order=["keyword", "severity", "risk_kind", "reason", "file", "profile_id",
                            "element_path", "tag", "evidence"],
              column_config={"reason": st.column_config.TextColumn(width="large"),
                             "risk_kind": st.column_config.TextColumn("risk kind")})

left, right = st.columns(2)
left.plotly_chart(charts.findings_by_kind(findings, active_ids), key=state.RISK_BY_KIND)
right.plotly_chart(charts.findings_by_severity(findings, active_ids),
                   key=state.RISK_BY_SEVERITY)

# -- k-anonymity -----------------------------------------------------------------------------
st.subheader("k-anonymity of quasi-identifier combinations")
st.write(md(
    "One record per patient. Only the quasi-identifiers a profile *leaves* (keeps, cleans, "
    "rounds or truncates) split the cohort; k_min is the smallest group, and records in "
    "groups smaller than k = {k} can be singled out.", k=k))
kanon = risk.k_anonymity
widgets.table(kanon, state.RISK_KANON_TABLE)
evaluated = set(kanon["quasi_identifiers"].astype(str))
set_options = [qi for qi in qi_sets if qi in evaluated] or sorted(evaluated)
widgets.keep_valid(state.RISK_KANON_SET, set_options)
chosen_set = st.selectbox("Distribution of group sizes for", set_options,
                          key=state.RISK_KANON_SET, persist_state="session")
if chosen_set:
    st.plotly_chart(charts.class_size_bars(risk.k_classes, str(chosen_set), k, active_ids),
                    key=state.RISK_CLASS_SIZES)

# -- Aryanto ---------------------------------------------------------------------------------
st.subheader("Aryanto et al. (2015): 50 attributes")
st.write("Of the 50 attributes Aryanto et al. evaluated, how many each profile leaves "
         "untouched (keeps) and which.")
left, right = st.columns([2, 3])
left.plotly_chart(charts.aryanto_bars(risk.aryanto_coverage), key=state.RISK_ARYANTO_CHART)
widgets.table(risk.aryanto_coverage, state.RISK_ARYANTO_TABLE, where=right)
