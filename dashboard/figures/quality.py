"""Data-quality figures: findings per check and severity, and the trend over cuts."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

SEVERITY_COLORS = {"error": "#a50f15", "warning": "#fd8d3c", "info": "#9ecae1"}


def counts_per_check(findings: pl.DataFrame) -> pl.DataFrame:
    """Open findings (not resolved) per check and severity."""
    return (
        findings.filter(pl.col("status").fill_null("new") != "resolved")
        .group_by("check_id", "severity")
        .agg(pl.len().alias("findings"))
        .sort(["findings", "check_id"], descending=[True, False])
    )


def findings_bar(counts: pl.DataFrame, filtered: bool = False) -> go.Figure:
    """Open findings per check and severity; `filtered`: the sidebar filters restrict the subjects, so an
    empty chart means none for those subjects, not none in the cut."""
    fig = go.Figure()
    for sev in counts["severity"].unique(maintain_order=True).to_list():
        part = counts.filter(pl.col("severity") == sev)
        fig.add_bar(y=part["check_id"].to_list(), x=part["findings"].to_list(), name=sev, orientation="h",
                    marker_color=SEVERITY_COLORS.get(str(sev), "#bdbdbd"), text=part["findings"].to_list(),
                    textangle=0, textposition="inside", insidetextanchor="end")
    fig.update_layout(barmode="stack", title="Open findings per check and severity", xaxis_title="Findings",
                      height=max(280, 26 * counts["check_id"].n_unique() + 120), margin={"t": 50})
    fig.update_yaxes(autorange="reversed", type="category")
    if counts.is_empty():
        fig.add_annotation(text="No open findings for the selected subjects" if filtered else "No open findings in this cut", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig


def trend_figure(trend: pl.DataFrame, filtered: bool = False) -> go.Figure:
    """Open findings per cut and severity, for all subjects (the trend does not follow the sidebar filters,
    and says so when they are active)."""
    fig = go.Figure()
    for sev in trend["severity"].unique(maintain_order=True).to_list():
        part = trend.filter(pl.col("severity") == sev)
        fig.add_scatter(x=part["cut_id"].to_list(), y=part["n"].to_list(), mode="lines+markers", name=str(sev),
                        line={"color": SEVERITY_COLORS.get(str(sev), "#bdbdbd")})
    title = "Open findings over cuts" + (" (all subjects: the sidebar filters do not apply)" if filtered else "")
    fig.update_layout(title=title, xaxis_title="Cut", yaxis_title="Findings", height=320)
    fig.update_xaxes(type="category")
    return fig
