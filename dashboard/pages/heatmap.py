"""Toxicity heatmap: worst CTCAE grade per AE term x cycle and per patient x cycle; events behind a cell."""

from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.figures.heatmap import grade_heatmap

filters = ui.current_filters()
cut = ui.header("Toxicity heatmap", filters)

levels = ["all dose levels", *ui.query("filter_options").get("dose", [])]
c1, c2 = st.columns(2)
level_pick = c1.selectbox("Dose level", levels, key="hm_level")
teae = c2.checkbox("Treatment-emergent only (TRTEMFL = Y)", value=True, key="hm_teae")
level = None if level_pick == levels[0] else level_pick
counts = ui.query("ae_scope_counts", filters, level, teae)
st.caption(f"{counts['events']} events; {counts['no_cycle']} without a cycle (listed below, not in the heatmap). "
           "Colours: lighter = lower grade, darker = higher; the grade is written in each cell. Click a cell to list "
           "its events (double-click the chart to clear), or pick the row and cycle below it.")


def show(row: str, title: str, key: str) -> None:
    matrix = ui.query("worst_grade", filters, row, level, teae)
    fig = grade_heatmap(matrix, row, title)
    state = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points")
    points = (state or {}).get("selection", {}).get("points", []) if state else []
    rows = matrix[row].unique(maintain_order=True).to_list()
    cycles = sorted(matrix["CYCLE"].unique().to_list())
    if points:
        r, c = points[0]["y"], int(str(points[0]["x"]).lstrip("C"))
    else:  # fallback selection without clicking
        s1, s2 = st.columns(2)
        r = s1.selectbox(f"{'Term' if row == 'AEDECOD' else 'Patient'}", rows, key=f"{key}_row") if rows else None
        c = s2.selectbox("Cycle", cycles, key=f"{key}_cycle") if cycles else None
    if r is not None and c is not None:
        ui.table(ui.query("ae_events", filters, level, teae, row, r, int(c)), f"{key}_events",
                 f"Events behind {r}, cycle {c}")


show("AEDECOD", "Worst grade per AE term and cycle (terms by frequency)", "hm_term")
show("USUBJID", "Worst grade per patient and cycle (patients by number of events)", "hm_patient")
if counts["no_cycle"]:
    ui.table(ui.query("ae_events", filters, level, teae), "events_without_cycle",
             "Events without a cycle (onset before C1D1 or unknown)")
