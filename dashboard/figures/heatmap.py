"""Toxicity heatmaps: worst CTCAE grade per AE term x cycle and per patient x cycle."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.figures.grades import discrete_grade_colorscale

SEVERE_GRADE = 3  # "grade >= 3" events, the count a DMC reads beside all grades (CTCAE v5: severe or worse)


def worst_grade_matrix(events: pl.DataFrame, row: str) -> pl.DataFrame:
    """Worst grade, number of events (all grades) and of grade >= 3 events per `row` (AEDECOD or USUBJID) and CYCLE.

    Events without a cycle are left out (they are listed on the page); events with an unknown grade
    count in `events` but not in the worst grade. Rows ordered by frequency (subjects with the term,
    then events), most frequent first.
    """
    e = events.filter(pl.col("CYCLE").is_not_null() & pl.col(row).is_not_null())
    cells = e.group_by(row, "CYCLE").agg(
        pl.col("AETOXGRN").max().alias("worst"), pl.len().alias("events"),
        (pl.col("AETOXGRN") >= SEVERE_GRADE).sum().cast(pl.UInt32).alias("severe"),
    )
    freq = e.group_by(row).agg(pl.col("USUBJID").n_unique().alias("_subj"), pl.len().alias("_n"))
    return (
        cells.join(freq, on=row)
        .sort(["_subj", "_n", row, "CYCLE"], descending=[True, True, False, False])
        .drop("_subj", "_n")
    )


MAX_ROWS = 80  # one row per term or patient stays readable up to about this many (the trial plans 56 patients)


def grade_heatmap(matrix: pl.DataFrame, row: str, title: str, max_rows: int = MAX_ROWS) -> go.Figure:
    """Heatmap of `worst_grade_matrix` output; grades written in the cells, rows in frequency order.

    At most `max_rows` rows are drawn (the most frequent); the title then says how many of how many.
    Plotly cannot select a heatmap cell, so an invisible marker sits on every cell with events: clicking
    it selects the point (x = 'C<cycle>', y = the row) for the page's events listing.
    """
    all_rows = matrix[row].unique(maintain_order=True).to_list()
    rows = all_rows[:max_rows]
    if len(all_rows) > len(rows):
        what = "terms" if row == "AEDECOD" else "patients"
        title = f"{title}: the first {len(rows)} of {len(all_rows)} {what} drawn (pick any below)"
    cycles = sorted(matrix["CYCLE"].unique().to_list())
    severe = matrix["severe"] if "severe" in matrix.columns else pl.Series([None] * matrix.height)
    lookup = {(r, c): (w, n, s) for (r, c, w, n), s in
              zip(matrix.select(row, "CYCLE", "worst", "events").iter_rows(), severe, strict=True)}
    z, text = [], []
    px, py, ptext = [], [], []
    for r in rows:
        zr, tr = [], []
        for c in cycles:
            w, n, s = lookup.get((r, c), (None, 0, None))
            zr.append(w if w is not None else (None if n == 0 else 0))
            tr.append("" if n == 0 else (str(w) if w is not None else "?"))
            if n:
                px.append(f"C{c}")
                py.append(r)
                ptext.append(f"worst grade {w if w is not None else '?'}; {n} event{'s' if n != 1 else ''} (all grades)"
                             + (f", {s} of grade >= {SEVERE_GRADE}" if s is not None else ""))
        z.append(zr)
        text.append(tr)
    # one figure from dicts (one validation pass; update_* calls validate again each: 2x slower)
    ncat = [f"C{c}" for c in cycles]
    layout: dict = {
        "title": {"text": title}, "height": max(300, 22 * len(rows) + 140), "margin": {"t": 60, "l": 10},
        "clickmode": "event+select",
        # fixed ranges: the markers must not pad the axes (most frequent row on top)
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": rows,
                  "range": [len(rows) - 0.5, -0.5] if rows else None, "autorange": False if rows else "reversed"},
        "xaxis": {"type": "category", "title": {"text": "Cycle"}, "categoryorder": "array", "categoryarray": ncat,
                  "range": [-0.5, len(cycles) - 0.5] if cycles else None},
    }
    if not rows:
        layout["annotations"] = [{"text": "No adverse events for this selection", "showarrow": False, "x": 0.5, "y": 0.5,
                                  "xref": "paper", "yref": "paper"}]
    heat = {
        "type": "heatmap", "z": z, "x": ncat, "y": rows, "text": text, "texttemplate": "%{text}",
        "colorscale": discrete_grade_colorscale(5), "zmin": -0.5, "zmax": 5.5, "xgap": 2, "ygap": 2,
        "colorbar": {"title": {"text": "Worst grade"}, "tickvals": [0, 1, 2, 3, 4, 5], "ticktext": ["?", "1", "2", "3", "4", "5"]},
        "hoverinfo": "skip",
    }
    cells = {
        "type": "scatter", "x": px, "y": py, "mode": "markers", "customdata": ptext, "showlegend": False, "name": "cells",
        "marker": {"symbol": "square", "size": 16, "opacity": 0},
        "selected": {"marker": {"opacity": 0}}, "unselected": {"marker": {"opacity": 0}},
        "hovertemplate": "%{y}, %{x}: %{customdata} (click to list them)<extra></extra>",
    }
    fig = go.Figure({"data": [heat, cells], "layout": layout})
    return fig


def cell_events(events: pl.DataFrame, row: str, row_value: str, cycle: int) -> pl.DataFrame:
    """The events behind one heatmap cell."""
    return events.filter((pl.col(row) == row_value) & (pl.col("CYCLE") == cycle))
