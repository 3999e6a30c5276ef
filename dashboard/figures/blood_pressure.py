"""Blood-pressure figures: SBP/DBP per patient and median per dose level, share above a threshold.

BPCAT is the hypertension category computed from the measured value (CTCAE v5 thresholds); it is
not an AE grade, and the figures say so.
"""

from __future__ import annotations

import json
from functools import cache

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

PARAMS = (("SYSBP", "Systolic BP (mmHg)"), ("DIABP", "Diastolic BP (mmHg)"))
BPCAT_COLORS = {1: "#fff5eb", 2: "#fdd0a2", 3: "#fd8d3c"}
DOSE_COLORS = ["#08519c", "#e6550d", "#31a354", "#756bb1", "#636363", "#de2d26"]


def median_by_dose(bp: pl.DataFrame, x: str) -> pl.DataFrame:
    """Median value per dose level, parameter and x (ADY or CYCLE)."""
    return (
        bp.filter(pl.col(x).is_not_null())
        .group_by("DOSELVLC", "PARAMCD", x)
        .agg(pl.col("AVAL").median().alias("AVAL"), pl.col("USUBJID").n_unique().alias("n"))
        .sort("DOSELVLC", "PARAMCD", x)
    )


def _lines(df: pl.DataFrame, group: str, x: str) -> tuple[list, list, list]:
    """x, y and hover text of one trace drawing one line per `group` (None breaks between groups)."""
    xs: list = []
    ys: list = []
    names: list = []
    counts = "n" in df.columns  # medians: how many patients each point is the median of
    for key, g in df.sort(group, x).group_by(group, maintain_order=True):
        xs += [*g[x].to_list(), None]
        ys += [*g["AVAL"].to_list(), None]
        if counts:
            names += [f"{key[0]}, median of {n} patient{'s' if n != 1 else ''}" for n in g["n"].to_list()] + [None]
        else:
            names += [key[0]] * g.height + [None]
    return xs, ys, names


@cache
def _two_panel_layout() -> str:
    """make_subplots' layout for SBP over DBP (shared x axis, panel titles), as JSON: built once, since
    make_subplots and update_* calls validate the whole figure again each time (80-90 ms a figure)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[p[1] for p in PARAMS])
    return json.dumps(fig.layout.to_plotly_json())


def bp_figure(
    bp: pl.DataFrame,
    reference_lines: list[list[float]],
    x: str = "ADY",
    per_patient: bool = True,
    htn: pl.DataFrame | None = None,
    category_bands: dict[int, tuple[float, float]] | None = None,
) -> go.Figure:
    """SBP (top) and DBP (bottom) over study day or cycle; per patient or the median per dose level.

    bp: the records (per_patient=True) or the medians of `median_by_dose` / `queries.bp_median`.

    reference_lines: [[sbp, dbp], ...] from the protocol's [blood_pressure] reference_lines.
    category_bands: BP category -> (SBP lower bound, DBP lower bound), shaded as BP categories (the page passes the
    adult thresholds; adolescents' BPCAT uses lower fixed cut-offs, DOMAIN.md 2, so the note says "adult").
    htn: hypertension AEs (USUBJID, ASTDY, CYCLE, AETOXGRN), marked on the SBP panel.
    One trace per dose level and panel (patients are broken lines within it), so the figure stays
    light at program scale.
    """
    layout = json.loads(_two_panel_layout())
    data = bp
    group = "USUBJID" if per_patient else "DOSELVLC"
    levels = bp["DOSELVLC"].unique(maintain_order=True).to_list()
    color = {lv: DOSE_COLORS[i % len(DOSE_COLORS)] for i, lv in enumerate(levels)}
    traces: list[dict] = []
    shapes: list[dict] = []
    notes: list[dict] = []
    for i, (paramcd, _label) in enumerate(PARAMS, start=1):
        xref, yref = ("x", "y") if i == 1 else (f"x{i}", f"y{i}")
        part = data.filter(pl.col("PARAMCD") == paramcd)
        for level in levels:
            xs, ys, names = _lines(part.filter(pl.col("DOSELVLC") == level), group, x)
            traces.append({
                "type": "scatter", "x": xs, "y": ys, "customdata": names, "mode": "lines" if per_patient else "lines+markers",
                "name": str(level), "legendgroup": str(level), "showlegend": (i == 1), "xaxis": xref, "yaxis": yref,
                "line": {"width": 1 if per_patient else 2.5, "color": color.get(level, "#636363")},
                "opacity": 0.5 if per_patient else 1.0, "connectgaps": False,
                "hovertemplate": "%{customdata}<br>" + x + "=%{x}: %{y:.0f} mmHg<extra></extra>",
            })
        top = max([float(part["AVAL"].max() or 0), *[r[i - 1] for r in reference_lines]]) + 15
        if category_bands:
            bounds = sorted(category_bands.items())
            for j, (cat, lows) in enumerate(bounds):
                hi = bounds[j + 1][1][i - 1] if j + 1 < len(bounds) else top
                shapes.append({"type": "rect", "xref": f"{xref} domain", "yref": yref, "x0": 0, "x1": 1,
                               "y0": lows[i - 1], "y1": hi, "fillcolor": BPCAT_COLORS.get(cat, "#fee6ce"),
                               "opacity": 0.35, "line": {"width": 0}, "layer": "below"})
            notes.append({"text": "shaded: adult BP categories 1-3 from values (not CTCAE AE grades)", "showarrow": False,
                          "xref": f"{xref} domain", "yref": f"{yref} domain", "x": 0, "y": 1,
                          "xanchor": "left", "yanchor": "bottom", "font": {"size": 10}})
        for ref in reference_lines:
            shapes.append({"type": "line", "xref": f"{xref} domain", "yref": yref, "x0": 0, "x1": 1,
                           "y0": ref[i - 1], "y1": ref[i - 1], "line": {"dash": "dash", "color": "#a50f15"}})
            notes.append({"text": f"{ref[i - 1]:.0f}", "showarrow": False, "xref": f"{xref} domain", "yref": yref,
                          "x": 1, "y": ref[i - 1], "xanchor": "left", "font": {"size": 10, "color": "#a50f15"}})
    if htn is not None and htn.height:
        # one marker per day (or cycle) with the number of hypertension AEs and their worst grade
        xcol = "ASTDY" if x == "ADY" else "CYCLE"
        marks = (
            htn.filter(pl.col(xcol).is_not_null())
            .group_by(xcol).agg(pl.len().alias("n"), pl.col("AETOXGRN").max().alias("worst"))
            .sort(xcol)
        )
        mark = max([r[0] for r in reference_lines], default=160) + 25  # above the highest SBP reference line
        traces.append({
            "type": "scatter", "x": marks[xcol].to_list(), "y": [mark] * marks.height, "mode": "markers",
            "name": "Hypertension AE", "xaxis": "x", "yaxis": "y",
            "marker": {"symbol": "triangle-down", "size": 11, "color": "#a50f15"},
            "customdata": list(zip(marks["n"].to_list(), marks["worst"].to_list(), strict=True)),
            "hovertemplate": "%{customdata[0]} hypertension AE(s), worst grade %{customdata[1]}, onset at "
                             + x + " %{x}<extra></extra>",
        })
    what = "per patient" if per_patient else "median per dose level"
    if bp.is_empty():
        notes.append({"text": "No blood-pressure measurement for this selection", "showarrow": False, "x": 0.5,
                      "y": 0.5, "xref": "paper", "yref": "paper"})
    layout["shapes"] = shapes
    layout["annotations"] = [*layout.get("annotations", []), *notes]
    layout["xaxis2"] = {**layout["xaxis2"], "title": {"text": "Study day" if x == "ADY" else "Cycle"}}
    layout.update(title={"text": f"Blood pressure {what}"}, height=640, margin={"t": 70, "r": 40})
    return go.Figure({"data": traces, "layout": layout})


def high_bp_share(bp: pl.DataFrame, sbp_min: float, dbp_min: float) -> pl.DataFrame:
    """Per dose level and cycle: patients measured, patients with SBP >= sbp_min or DBP >= dbp_min, share."""
    flagged = bp.filter(pl.col("CYCLE").is_not_null()).with_columns(
        (
            ((pl.col("PARAMCD") == "SYSBP") & (pl.col("AVAL") >= sbp_min))
            | ((pl.col("PARAMCD") == "DIABP") & (pl.col("AVAL") >= dbp_min))
        ).alias("_high")
    )
    per_subject = flagged.group_by("DOSELVLC", "CYCLE", "USUBJID").agg(pl.col("_high").any())
    return (
        per_subject.group_by("DOSELVLC", "CYCLE")
        .agg(pl.len().alias("patients"), pl.col("_high").sum().cast(pl.Int64).alias("high"))
        .with_columns((pl.col("high") / pl.col("patients")).alias("share"))
        .sort("DOSELVLC", "CYCLE")
    )


def high_bp_share_figure(share: pl.DataFrame, sbp_min: float, dbp_min: float) -> go.Figure:
    fig = go.Figure()
    for i, (key, g) in enumerate(share.group_by("DOSELVLC", maintain_order=True)):
        fig.add_scatter(
            x=g["CYCLE"].to_list(), y=g["share"].to_list(), mode="lines+markers+text", name=str(key[0]),
            line={"color": DOSE_COLORS[i % len(DOSE_COLORS)]},
            # written only where someone is high: the '0/n' of every dose level at 0 piled up unreadably
            text=[f"{h}/{n}" if h else "" for h, n in zip(g["high"].to_list(), g["patients"].to_list(), strict=True)],
            customdata=list(zip(g["high"].to_list(), g["patients"].to_list(), strict=True)),
            textposition="top center",
            hovertemplate=f"{key[0]}, cycle %{{x}}: %{{customdata[0]}} of %{{customdata[1]}} patients measured"
                          "<extra></extra>",
        )
    fig.update_layout(
        title=f"Patients with SBP >= {sbp_min:.0f} or DBP >= {dbp_min:.0f} mmHg, by cycle and dose level",
        xaxis_title="Cycle", yaxis_title="Share of patients measured", yaxis_range=[0, 1.05], height=380,
    )
    if share.is_empty():
        fig.add_annotation(text="No blood-pressure measurement for this selection", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig
