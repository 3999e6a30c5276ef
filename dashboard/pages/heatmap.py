"""Toxicity heatmap: worst CTCAE grade per AE term x cycle and per patient x cycle; events behind a cell."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import ui
from dashboard.figures.heatmap import cell_events, grade_heatmap, worst_grade_matrix

filters = ui.current_filters()
cut = ui.header("Toxicity heatmap", filters)

events = ui.query("adverse_events", filters)
levels = ["all dose levels", *[v for v in events["DOSELVLC"].unique(maintain_order=True).to_list() if v]]
c1, c2 = st.columns(2)
level = c1.selectbox("Dose level", levels, key="hm_level")
teae = c2.checkbox("Treatment-emergent only (TRTEMFL = Y)", value=True, key="hm_teae")
e = events if level == levels[0] else events.filter(pl.col("DOSELVLC") == level)
if teae:
    e = e.filter(pl.col("TRTEMFL") == "Y")
no_cycle = e.filter(pl.col("CYCLE").is_null())
st.caption(f"{e.height} events; {no_cycle.height} without a cycle (listed below, not in the heatmap). "
           "Colours: lighter = lower grade, darker = higher; the grade is written in each cell.")


def show(row: str, title: str, key: str) -> None:
    matrix = worst_grade_matrix(e, row)
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
        ui.table(cell_events(e, row, r, c), f"{key}_events", f"Events behind {r}, cycle {c}")


show("AEDECOD", "Worst grade per AE term and cycle (terms by frequency)", "hm_term")
show("USUBJID", "Worst grade per patient and cycle", "hm_patient")
if no_cycle.height:
    ui.table(no_cycle, "events_without_cycle", "Events without a cycle (onset before C1D1 or unknown)")
