"""Blood pressure: SBP/DBP per patient and median per dose level, reference lines, BP categories,
hypertension AEs, share of patients at or above the highest reference line by cycle and dose level."""

from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.figures.blood_pressure import bp_figure, high_bp_share_figure

filters = ui.current_filters()
cut = ui.header("Blood pressure", filters)
protocol = ui.get_protocol()
bp_cfg = protocol.blood_pressure
reference = [list(map(float, r)) for r in bp_cfg.get("reference_lines", [])]
# BP categories from values (CTCAE v5 hypertension thresholds, adults; [blood_pressure] adult_cat*)
bands = {i: tuple(map(float, bp_cfg[f"adult_cat{i}"])) for i in (1, 2, 3) if f"adult_cat{i}" in bp_cfg}

htn = ui.query("hypertension_events", filters)
c1, c2 = st.columns(2)
x = c1.radio("X axis", ["Cycle", "Study day"], horizontal=True, key="bp_x")
view = c2.radio("Show", ["Median per dose level", "Per patient"], horizontal=True, key="bp_view")
xcol = "ADY" if x == "Study day" else "CYCLE"
teen_sbp, teen_dbp = bp_cfg["adolescent_cat2"]  # protocol [blood_pressure]; ages from [eligibility]
st.caption(f"Shaded bands are the adult BP categories computed from the measured values (CTCAE v5 thresholds; "
           f"adolescents {protocol.age_min:g}-{bp_cfg['adolescent_age_max']:g} have lower fixed cut-offs: category 2 "
           f"from {teen_sbp:g}/{teen_dbp:g}), not CTCAE adverse-event grades. Triangles mark hypertension AEs.")
MAX_PATIENT_LINES = 300  # per-patient lines beyond this are unreadable and heavy for the browser
n_patients = ui.query("bp_patient_count", filters)
per_patient = view == "Per patient"
if per_patient and n_patients > MAX_PATIENT_LINES:
    st.warning(f"{n_patients} patients selected: per-patient lines are drawn for at most {MAX_PATIENT_LINES}. "
               "Showing the median per dose level; narrow the selection with the sidebar filters.")
    per_patient = False
data = ui.query("blood_pressure", filters) if per_patient else ui.query("bp_median", filters, xcol)
st.plotly_chart(bp_figure(data, reference, x=xcol, per_patient=per_patient, htn=htn, category_bands=bands),
                key="bp_lines")

# the share uses the CTCAE v5 category-3 thresholds of the protocol ([blood_pressure] adult_cat3)
sbp_min, dbp_min = map(float, bp_cfg["adult_cat3"])
share = ui.query("bp_high_share", filters, sbp_min, dbp_min)
st.plotly_chart(high_bp_share_figure(share, sbp_min, dbp_min), key="bp_share")
ui.table(share, "high_bp_share", f"Patients with SBP >= {sbp_min:.0f} or DBP >= {dbp_min:.0f} mmHg")
ui.table(htn, "hypertension_aes", "Hypertension adverse events")
