"""Dose escalation: DLT rate per dose level with exact CI and boundaries, decision, MTD, DLT listing, what-if."""

from __future__ import annotations

import streamlit as st

from dashboard import escalation_view as ev
from dashboard import ui
from dashboard.figures.escalation import dlt_rate_figure
from etl.derive.dlt_rules import rule_descriptions

filters = ui.current_filters()
cut = ui.header("Dose escalation", filters)
protocol = ui.get_protocol()
if filters.active:
    st.warning("The escalation decision always uses ALL subjects of the cut; the sidebar filters apply to "
               "the DLT listing only.")

levels, current = ui.call("levels_from_cut", lambda con: ev.levels_from_cut(con, protocol))
try:
    result = ev.evaluate(levels, current, protocol)
except (ValueError, ArithmeticError) as exc:  # show the engine's problem, not a traceback
    st.error(f"The escalation engine could not evaluate this cut: {exc!r}. Counts per level: "
             + ", ".join(f"{lv.label} {lv.n_dlt}/{lv.n_evaluable}" for lv in levels))
    st.stop()
unassigned = ui.call("unassigned_summary", lambda con: ev.unassigned_summary(con, protocol))
if unassigned.height:  # one message, however many (a study whose arms are not dose levels has hundreds)
    st.error(ev.unassigned_message(unassigned))
    with st.expander(f"Treated subjects without a protocol dose level ({unassigned.height})"):
        ui.table(unassigned, "unassigned_subjects")
    if not any(lv.n_treated for lv in levels):
        st.warning("No treated subject is at a protocol dose level: the decision below is the design's starting "
                   "point, not a decision about these patients.")
undecided = ui.call("undecided_subjects", ev.undecided_subjects)
if undecided.height:
    st.warning(f"{undecided.height} evaluable patient(s) counted without a DLT have an adverse event in the DLT window "
               "whose DLT status is undecided (grade, onset or duration unknown, or not yet adjudicated): the decision may "
               "change once it is recorded.")
    with st.expander(f"Patients whose DLT status is undecided ({undecided.height})"):
        ui.table(undecided, "undecided_dlt_status")
frame = ev.levels_frame(result, protocol)
current_code = ev.code_of(result.current, protocol)
next_code = ev.code_of(result.next_level, protocol)
mtd_code = ev.code_of(result.mtd, protocol)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Design", result.design.upper(), help=f"target DLT rate {result.target:.2f}")
c2.metric("Current dose", current_code or "-")
c3.metric("Decision", result.decision.upper(), help=f"next dose: {next_code or '-'}")
c4.metric("MTD estimate", mtd_code or "not yet")
st.info(f"Design {result.design.upper()}, target DLT rate {result.target:.2f}. **Decision at {current_code}: {result.decision}** -> next dose {next_code or 'none'}. {result.reason}")
eliminated = frame.filter(frame["eliminated"])["level"].to_list()
st.markdown(f"Eliminated doses: **{', '.join(eliminated) if eliminated else 'none'}**")

st.plotly_chart(
    dlt_rate_figure(frame, target=result.target, escalate_below=result.lambda_e,
                    deescalate_above=result.lambda_d, current_level=current_code),
    key="dlt_rate",
)
ui.table(frame, "dlt_rate_per_dose_level", "Per dose level (rate = DLTs / DLT-evaluable; exact 95% CI)")
not_evaluable = ui.call("not_evaluable_subjects", ev.not_evaluable_subjects)
if not_evaluable.height:
    with st.expander(f"Treated patients not DLT-evaluable, to be replaced ({not_evaluable.height})"):
        ui.table(not_evaluable, "not_evaluable_patients",
                 "Their DLT window is over without a DLT and without completing it with enough doses "
                 "(died or left the study early, doses missed): not counted above")

st.subheader("DLT listing")
dlts = ev.describe_rules(ev.adjudication(ui.query("dlt_listing", filters)), rule_descriptions(protocol)).rename({
    "DLTRULE": "rule fired (DLTRULE)", "RULEDESC": "rule (protocol wording)", "DLTFL": "investigator (DLTFL)", "ADJUD": "adjudication",
    "ASTDY": "onset day", "AETOXGRN": "grade",
})
ui.table(dlts, "dlt_listing",
         "AEs meeting a protocol DLT rule or flagged by the investigator; adjudication = agree / disagree / pending")

st.subheader("What if")
codes = ev.level_codes(protocol)
w1, w2, w3 = st.columns(3)
dose = w1.selectbox("Next patients at dose", codes, index=result.current, key="wi_dose")
max_k = int(protocol.escalation.get("max_per_dose", protocol.escalation["cohort_size"]))  # protocol [escalation]
k = int(w2.number_input("k patients (evaluable)", min_value=1, max_value=max_k,
                        value=int(protocol.escalation["cohort_size"]), step=1, key="wi_k"))
j = int(w3.number_input("j with a DLT", min_value=0, max_value=k, value=min(1, k), step=1, key="wi_j"))
wi = ev.what_if(levels, current, codes.index(dose), k, j, protocol)
st.success(f"If the next {k} patients at {dose} have {j} DLT(s): **{wi.decision}** -> next dose "
           f"{ev.code_of(wi.next_level, protocol) or 'none'}; MTD estimate "
           f"{ev.code_of(wi.mtd, protocol) or 'not yet'}. {wi.reason}")
