"""Dose-escalation figure: observed DLT rate per dose level with exact CI and the design boundaries."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl


def dlt_rate_figure(
    levels: pl.DataFrame,
    target: float | None = None,
    escalate_below: float | None = None,
    deescalate_above: float | None = None,
    current_level: str | None = None,
) -> go.Figure:
    """Observed DLT rate (n_dlt / n_evaluable) per level with its Clopper-Pearson CI.

    `levels` has the columns of `safetyboard escalation --json` levels: level, n_evaluable, n_dlt,
    rate, ci_low, ci_high, eliminated. Boundaries (BOIN lambda_e / lambda_d) are drawn when given.
    """
    df = levels.filter(pl.col("n_evaluable") > 0)
    x = df["level"].cast(pl.String).to_list()
    rate = df["rate"].to_list()
    colors = [
        "#a50f15" if elim else ("#08519c" if str(lvl) == str(current_level) else "#6baed6")
        for lvl, elim in zip(x, df["eliminated"].to_list(), strict=True)
    ]
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=rate,
        mode="markers+text",
        marker={"size": 14, "color": colors, "symbol": "diamond"},
        text=[f"{y}/{n}" for y, n in zip(df["n_dlt"].to_list(), df["n_evaluable"].to_list(), strict=True)],
        textposition="middle right",
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [hi - r for hi, r in zip(df["ci_high"].to_list(), rate, strict=True)],
            "arrayminus": [r - lo for lo, r in zip(df["ci_low"].to_list(), rate, strict=True)],
            "color": "#525252",
        },
        name="DLT rate (95% exact CI)",
        hovertemplate="%{x}: rate %{y:.2f} (%{text})<extra></extra>",
    )
    for value, label, dash in (
        (target, "target", "solid"),
        (escalate_below, "escalate if rate <=", "dot"),
        (deescalate_above, "de-escalate if rate >=", "dash"),
    ):
        if value is not None:
            fig.add_hline(y=value, line_dash=dash, line_color="#252525",
                          annotation_text=f"{label} {value:.3f}", annotation_position="top left")
    # all protocol levels on the axis, including untreated ones, in dose order
    # (a category axis shrinks to the categories with data unless its range is given)
    all_levels = levels["level"].cast(pl.String).to_list()
    fig.update_xaxes(categoryorder="array", categoryarray=all_levels, type="category",
                     range=[-0.5, len(all_levels) - 0.5])
    fig.update_layout(
        title="DLT rate per dose level (evaluable patients, 95% Clopper-Pearson CI)",
        xaxis_title="Dose level", yaxis_title="DLT rate", yaxis_range=[-0.02, 1.02], height=420,
        margin={"t": 60}, showlegend=False,
    )
    if df.is_empty():
        fig.add_annotation(text="No DLT-evaluable patients yet", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig
