"""Export: every table as Parquet and CSV, with the command line's columns; original header
values left out unless asked for."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from deid.outputs.export import export_metadata
from ui import compute, exports, profiles, session, state, widgets
from ui.errors import stop_on_input_error
from ui.navigation import through_app
from ui.text import md

through_app()

st.title("Export")
st.write(
    "Every table as Parquet and as CSV, with the same columns, order and rows as "
    "`python -m deid … --out DIR` writes them (Parquet files also carry the tool version, the "
    "DICOM edition and each profile's id and sha256). Tables are for the loaded files and "
    "the active profiles (chosen on **Load**); each row says which it covers. **Compare "
    "profiles** exports its own selection of profiles, and **Consensus** its worklist. In "
    "CSV, a cell a spreadsheet would run as a formula (text starting "
    "with =, +, -, @, a tab or a carriage return; numbers such as -2.5 stay as they are) "
    "starts with an apostrophe; Parquet holds every value exactly."
)

include_values = st.checkbox(exports.VALUES_LABEL, key=state.EXPORT_VALUES, value=False)
if include_values:
    st.warning("Exports now hold the original header values (headers.value, "
               "effects.original_value and effects.result_value).", icon="⚠️")
else:
    st.caption("Original header values are left out: the value columns are empty (null).")

data = session.loaded()
active = widgets.require_profiles()
active_ids = [p.id for p in active]
st.caption(md("Active profiles ({n}): {ids}.", n=len(active_ids), ids=", ".join(active_ids)))
tables: dict[str, pd.DataFrame] = {}
missing: list[str] = []
risk: compute.RiskTables | None = None
with stop_on_input_error("Could not prepare the secrets"):
    secrets = session.secrets_for(active)

if data is None:
    st.info(widgets.NO_DATA + " The comparison tables below need no files.", icon="⬆️")
else:
    tables["headers"] = data.headers
    if compute.risk_wanted(data, active):
        with stop_on_input_error("Could not assess the residual risk"):
            risk = compute.risk_for(data, active, secrets)
    tables["load_errors"] = data.load_errors
    if compute.effects_wanted(data):
        with stop_on_input_error("Could not apply the profiles"), st.spinner(
                md("Applying {profiles} profiles to {n:,} files…", profiles=len(active),
                   n=data.n_loaded)):
            effects = compute.effects(data.key, profiles.key_of(active), secrets.token,
                                      data.n_loaded, data.inputs, active, secrets.secrets)
        tables["effects"] = exports.mark_residual_risk(
            effects, risk.residual_risk if risk is not None else None)
    else:
        missing.insert(0, "effects")
        if st.button(md("Prepare the effects table ({profiles} profiles x {n:,} files)",
                        profiles=len(active), n=data.n_loaded),
                     key=state.EXPORT_EFFECTS_BUTTON):
            st.session_state[state.EFFECTS_REQUESTED] = True
            st.rerun()
    if risk is None:
        missing += ["residual_risk", "k_anonymity", "k_classes", "aryanto_coverage"]

with stop_on_input_error("Could not compare the profiles"), st.spinner("Comparing…"):
    comparison = compute.comparison(profiles.key_of(active), 2, active)
tables.update(comparison.tables)
if risk is not None:
    tables["residual_risk"] = risk.residual_risk
    tables["k_anonymity"] = risk.k_anonymity
    tables["k_classes"] = risk.k_classes
    tables["aryanto_coverage"] = risk.aryanto_coverage

order = [name for name in exports.TABLE_NOTES if name in tables]
if missing:
    st.caption("Not ready: " + ", ".join(missing) + ". With many files loaded these wait for "
               "a click: the button above for effects, **Residual risk** for the risk tables.")

metadata = export_metadata(active)
buttons = exports.downloads({name: tables[name] for name in order}, metadata,
                            bool(include_values))
for name in order:
    row = st.columns([6, 1, 1], vertical_alignment="center")
    row[0].markdown(md("**{name}** ({n:,} rows): ", name=name, n=len(tables[name]))
                    + exports.TABLE_NOTES[name]
                    + md(" — covers {what}", what=exports.covers(name, active_ids)))
    for column, download in zip(row[1:], [b for b in buttons if b.table == name],
                                strict=True):
        column.download_button(download.fmt.upper(), download.make,
                               file_name=download.file_name, mime=download.mime,
                               key=state.download_key(name, download.fmt),
                               on_click="ignore", icon="⬇️")
