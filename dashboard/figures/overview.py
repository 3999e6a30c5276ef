"""Overview figures: subjects per dose level, quarantine by domain and reason."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl


def subjects_per_dose_figure(per_dose: pl.DataFrame) -> go.Figure:
    """Grouped bars per dose level: treated, DLT-evaluable, with a DLT (columns of queries.subjects_per_dose)."""
    fig = go.Figure()
    labels = per_dose["DOSELVLC"].to_list()
    for col, name, color in (
        ("treated", "Treated", "#9ecae1"),
        ("dlt_evaluable", "DLT-evaluable", "#3182bd"),
        ("with_dlt", "With DLT", "#08306b"),
    ):
        values = per_dose[col].to_list()
        fig.add_bar(x=labels, y=values, name=name, marker_color=color, text=values, textposition="outside")
    fig.update_layout(
        barmode="group", title="Subjects per dose level", xaxis_title="Dose level", yaxis_title="Subjects",
        height=360, margin={"t": 50, "b": 40}, legend={"orientation": "h", "y": -0.2},
    )
    if per_dose.is_empty():
        fig.add_annotation(text="No subject for this selection", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig


def quarantine_figure(counts: pl.DataFrame) -> go.Figure:
    """Stacked bars of quarantined rows per domain, one colour per reason (columns domain, reason, rows)."""
    fig = go.Figure()
    for reason in counts["reason"].unique(maintain_order=True).to_list():
        part = counts.filter(pl.col("reason") == reason)
        fig.add_bar(x=part["domain"].to_list(), y=part["rows"].to_list(), name=reason, text=part["rows"].to_list())
    fig.update_layout(
        barmode="stack", title="Quarantined rows by domain and reason", xaxis_title="Domain",
        yaxis_title="Rows", height=320, margin={"t": 50, "b": 40},
    )
    if counts.is_empty():
        fig.add_annotation(text="No rows quarantined in this cut", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig


def quarantine_counts(listing: pl.DataFrame) -> pl.DataFrame:
    """Quarantined rows per domain and reason, most first."""
    return (
        listing.group_by("domain", "reason").agg(pl.len().alias("rows")).sort(["rows", "domain"], descending=[True, False])
    )


def load_changes(previous: dict, current: dict) -> pl.DataFrame:
    """What changed between two loads: per source file, the rows read before and now and whether it changed.

    `previous` and `current` are meta.loads rows; files are compared by name and sha256.
    """
    import json

    def files(row: dict) -> dict[str, dict]:
        return {f["file"]: f for f in json.loads(row.get("files") or "[]")}

    before, now = files(previous), files(current)
    rows = []
    for name in sorted(set(before) | set(now)):
        b, n = before.get(name), now.get(name)
        if b is None:
            change = "added"
        elif n is None:
            change = "removed"
        elif b.get("sha256") != n.get("sha256"):
            change = "changed"
        else:
            change = "unchanged"
        rows.append({
            "file": name,
            "change": change,
            "rows_before": b.get("rows_read") if b else None,
            "rows_now": n.get("rows_read") if n else None,
        })
    schema = {"file": pl.String, "change": pl.String, "rows_before": pl.Int64, "rows_now": pl.Int64}
    df = pl.DataFrame(rows, schema=schema, orient="row")
    return df.with_columns((pl.col("rows_now").fill_null(0) - pl.col("rows_before").fill_null(0)).alias("rows_delta"))
