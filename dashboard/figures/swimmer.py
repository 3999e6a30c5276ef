"""DLT-window swimmer plot: one lane per patient from C1D1 to the end of the DLT window."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.figures.grades import grade_color

# (symbol, colour) per drug: a thin tick and a small triangle above the lane, in different colours
DOSE_MARKERS = [("line-ns-open", "#252525"), ("triangle-down", "#6a51a3"), ("diamond-tall", "#238b45")]


def lane_label(status: str, days_left: int | None) -> str:
    """The short text at the right of a lane: the status (EVAL) and, while the window runs, days left.

    A patient with a DLT inside a window that is still open reads 'DLT, 4 d left' (not '4 d left');
    a reason for non-evaluability is left to the hover (it does not fit beside the lane).
    """
    left = int(days_left or 0)
    if status == "in window":
        return f"{left} d left"
    short = "not evaluable" if status.startswith("not evaluable") else status
    return f"{short}, {left} d left" if left > 0 else short


def swimmer_figure(
    lanes: pl.DataFrame,
    doses: pl.DataFrame,
    events: pl.DataFrame,
    window_days: int,
) -> go.Figure:
    """Swimmer plot of the DLT window.

    lanes: USUBJID, DOSELVLC, CUTDY (study day of the cut date), DLTWREM (days remaining), EVAL (status text);
    doses: USUBJID, EXTRT, STDY, ENDY; events: USUBJID, AEDECOD, AETOXGRN, ASTDY, DLT (bool).
    Days are study days (day 1 = first dose, C1D1).
    """
    order = lanes["USUBJID"].to_list()
    fig = go.Figure()
    # lane: from day 1 to the cut day (capped at the window end)
    ends = [min(max(int(c or 1), 1), window_days) for c in lanes["CUTDY"].to_list()]
    fig.add_bar(
        y=order, x=[e - 0.5 for e in ends], base=[0.5] * len(order), orientation="h",
        marker_color="#d9d9d9", name="On study (to cut date)", width=0.6,
        customdata=list(zip(lanes["DOSELVLC"].to_list(), lanes["DLTWREM"].to_list(), lanes["EVAL"].to_list(), strict=True)),
        hovertemplate="%{y} (%{customdata[0]})<br>days remaining: %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
    )
    # dosing: one tick per dosing record start (and a thin line over its span). A record of dose 0 is a dose not
    # taken (held, missed: etl/derive/exposure.dose_given), drawn apart, not as a dose
    d = doses.filter(pl.col("STDY") <= window_days)
    not_taken = (pl.col("EXDOSE") == 0).fill_null(False) if "EXDOSE" in d.columns else pl.lit(False)
    held, d = d.filter(not_taken), d.filter(~not_taken)
    if held.height:
        fig.add_scatter(
            y=held["USUBJID"].to_list(), x=held["STDY"].to_list(), mode="markers", name="Dose not taken (EXDOSE 0)",
            marker={"symbol": "x-thin-open", "size": 10, "color": "#737373", "line": {"width": 2, "color": "#737373"}},
            customdata=held["EXTRT"].to_list(), hovertemplate="%{y} day %{x}: %{customdata} not taken<extra></extra>",
        )
    for i, trt in enumerate(sorted(d["EXTRT"].drop_nulls().unique().to_list())):
        part = d.filter(pl.col("EXTRT") == trt)
        style = DOSE_MARKERS[i % len(DOSE_MARKERS)]  # one look per drug, told apart in the legend
        fig.add_scatter(
            y=part["USUBJID"].to_list(), x=part["STDY"].to_list(), mode="markers", name=f"Dose: {trt}",
            marker={"symbol": style[0], "size": 10, "color": style[1], "line": {"width": 2, "color": style[1]}},
            hovertemplate="%{y} day %{x}: " + str(trt) + "<extra></extra>",
        )
    # AEs in the window coloured by grade, DLTs as a larger open marker
    e = events.filter(pl.col("ASTDY").is_not_null() & (pl.col("ASTDY") <= window_days))
    for grade in sorted({g for g in e["AETOXGRN"].to_list()}, key=lambda g: (g is None, g)):
        part = e.filter(pl.col("AETOXGRN").is_null() if grade is None else pl.col("AETOXGRN") == grade)
        fig.add_scatter(
            y=part["USUBJID"].to_list(), x=part["ASTDY"].to_list(), mode="markers+text",
            name=f"AE grade {grade if grade is not None else '?'}",
            text=[str(grade) if grade is not None else "?"] * part.height, textposition="top center",
            marker={"symbol": "circle", "size": 11, "color": grade_color(grade), "line": {"color": "#000", "width": 1}},
            customdata=part["AEDECOD"].to_list(),
            hovertemplate="%{y} day %{x}: %{customdata} (grade " + str(grade) + ")<extra></extra>",
        )
    dlt = e.filter(pl.col("DLT"))
    if dlt.height:
        fig.add_scatter(
            y=dlt["USUBJID"].to_list(), x=dlt["ASTDY"].to_list(), mode="markers", name="DLT",
            marker={"symbol": "x-thin-open", "size": 20, "color": "#a50f15", "line": {"width": 3}},
            customdata=dlt["AEDECOD"].to_list(), hovertemplate="%{y} day %{x}: DLT %{customdata}<extra></extra>",
        )
    # the cut date, per patient (each lane has its own study day for the cut)
    fig.add_scatter(
        y=order, x=[c for c in lanes["CUTDY"].to_list()], mode="markers", name="Cut date",
        marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": "#e6550d"}},
        hovertemplate="%{y}: cut date = day %{x}<extra></extra>",
    )
    # status and days remaining, written at the right of each lane (the full reason is in the hover)
    fig.add_scatter(
        y=order, x=[window_days + 1] * len(order), mode="text", showlegend=False,
        text=[lane_label(s, r) for r, s in zip(lanes["DLTWREM"].to_list(), lanes["EVAL"].to_list(), strict=True)],
        customdata=lanes["EVAL"].to_list(), textposition="middle right",
        hovertemplate="%{y}: %{customdata}<extra></extra>",
    )
    fig.add_vline(x=window_days, line_dash="dash", line_color="#252525",
                  annotation_text=f"end of DLT window (day {window_days})", annotation_position="top")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), type="category", title=None)
    fig.update_xaxes(range=[0, window_days + 12], title="Study day (day 1 = C1D1)")
    fig.update_layout(
        title="DLT window per patient", barmode="overlay", height=max(320, 28 * len(order) + 140),
        legend={"orientation": "v", "x": 1.02, "y": 1}, margin={"t": 60, "r": 20},
    )
    return fig
