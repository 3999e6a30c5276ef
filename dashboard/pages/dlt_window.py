"""DLT window: swimmer plot from C1D1 to the end of the window, days remaining, cohort readiness."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import dlt_window, ui
from dashboard.figures.swimmer import swimmer_figure

filters = ui.current_filters()
cut = ui.header("DLT window", filters)
protocol = ui.get_protocol()
window = protocol.dlt_window_days

subjects = ui.query("subjects", filters)
lanes = dlt_window.lanes(subjects, cut.get("cut_date"))
inside = dlt_window.inside_window(lanes)
# readiness counts every patient of a cohort whatever the filters; the filters choose which cohorts are listed
every = dlt_window.lanes(ui.query("subjects", ui.Filters()), cut.get("cut_date"))
cohorts = dlt_window.cohort_status(every).join(lanes.select("COHORT").unique(), on="COHORT", how="semi",
                                                 maintain_order="left")
c1, c2, c3 = st.columns(3)
c1.metric("Treated patients", lanes.height)
c2.metric("Inside the DLT window now", inside.height)
in_design = cohorts.filter(pl.col("DOSELVLC") != dlt_window.UNASSIGNED)  # patients without a dose level are no cohort
c3.metric("Cohorts ready for review", f"{in_design['ready_for_review'].sum()} / {in_design.height}")

ui.table(cohorts, "cohort_status", f"Per cohort: complete (all patients through day {window} or with a DLT) "
         "and ready for the escalation review; counted over every patient of the cohort, whatever the filters")

show = st.radio("Patients", ["inside the window now", "all treated"], horizontal=True, key="dw_show",
                index=1 if inside.is_empty() else 0)
shown = lanes if show == "all treated" else inside
ids = tuple(shown["USUBJID"].head(80).to_list())
doses = ui.query("exposure_for", ids)
events = ui.query("adverse_events_for", ids).with_columns(
    ((pl.col("DLTFL") == "Y") | (pl.col("DLTCFL") == "Y")).fill_null(False).alias("DLT")
)
MAX_LANES = 80  # one lane per patient stays readable up to about this many
if shown.is_empty():
    st.info("No patient is inside the DLT window at this cut.")
elif shown.height > MAX_LANES:
    st.warning(f"{shown.height} patients selected: the swimmer plot shows one lane per patient, so it is drawn for "
               f"at most {MAX_LANES}. Narrow the selection with the sidebar filters (dose level, cohort, site); "
               "the table below lists them all.")
    st.plotly_chart(swimmer_figure(shown.head(MAX_LANES), doses, events, window), key="swimmer")
else:
    st.plotly_chart(swimmer_figure(shown, doses, events, window), key="swimmer")
ui.table(shown.select("USUBJID", "DOSELVLC", "COHORT", "TRTSDT", "DLTWEND", "CUTDY", "DLTWREM", "EVAL"),
         "dlt_window_patients", "Patients (CUTDY = study day of the cut date; DLTWREM = days remaining in the window)")
