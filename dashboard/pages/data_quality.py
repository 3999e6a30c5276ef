"""Data quality: findings per check and severity, trend over cuts, filterable listing, downloads."""

from __future__ import annotations

import polars as pl
import streamlit as st

from checks.rules import ABSENT_EFFECT
from dashboard import ui
from dashboard.figures import quality as fig
from dashboard.quality_docs import find_data_docs

filters = ui.current_filters()
cut = ui.header("Data quality", filters)

found = ui.query("findings", cut.get("cut_id", ""), filters)
counts = fig.counts_per_check(found)
c1, c2, c3 = st.columns(3)
open_ = found.filter(pl.col("status").fill_null("new") != "resolved")
c1.metric("Open findings", open_.height)
new, resolved = found.filter(pl.col("status") == "new").height, found.filter(pl.col("status") == "resolved").height
if ui.query("loads").filter(pl.col("status") == "ok").height > 1:
    c2.metric("New since previous cut", new)
    c3.metric("Resolved since previous cut", resolved)
else:  # nothing to compare with: every finding is new by definition, say so instead of a 'since'
    c2.metric("New (first cut: nothing to compare with)", new)
    c3.metric("Resolved", "-", help="the first cut of this file has no previous cut to compare with")

st.plotly_chart(fig.findings_bar(counts, filtered=filters.active), key="findings_bar")
ui.table(counts, "findings_per_check", "Open findings per check and severity")

trend = ui.query("findings_trend")
if trend.height:
    st.plotly_chart(fig.trend_figure(trend, filtered=filters.active), key="findings_trend")

st.subheader("Findings")
cols = st.columns(4)
choices = {}
for col, (name, label) in zip(cols, [("check_id", "Check"), ("site", "Site"), ("usubjid", "Subject"),
                                     ("status", "Status")], strict=True):
    values = sorted(v for v in found[name].unique().to_list() if v is not None)
    choices[name] = col.multiselect(label, values, key=f"dq_{name}")
listing = found
for name, picked in choices.items():
    if picked:
        listing = listing.filter(pl.col(name).is_in(picked))
listing = listing.select([c for c in listing.columns if c != "cut_id"] + ["cut_id"])
ui.table(listing, "findings")
st.download_button("Download findings.xlsx", ui.xlsx_bytes(listing), file_name="findings.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx_findings")

run = ui.query("check_run", cut.get("cut_id", ""))
if run:
    st.caption(f"Checks run at {run.get('run_at')} in {run.get('seconds') or 0:.1f} s "
               f"(Great Expectations {run.get('gx_version')}).")
else:
    st.warning("The checks have not run on this cut: run `safetyboard check --db ...`.")
if run.get("skipped"):  # a check that cannot judge this study says so here, never a silent zero
    held = run.get("skipped_checks") or {}
    ui.table(pl.DataFrame({"check group": list(run["skipped"]),
                           "checks": [", ".join(held.get(f, [])) for f in run["skipped"]],
                           "why it did not run": list(run["skipped"].values())},
                          schema={"check group": pl.String, "checks": pl.String, "why it did not run": pl.String}),
             "checks_not_run", "Checks that did not run on this cut (their findings above are not zero, they are unknown)")
for table_name, absent in (run.get("columns_absent") or {}).items():
    st.info(f"{table_name} has no {', '.join(absent)}: the export lacks these optional variables, so the checks "
            f"read them as empty ({ABSENT_EFFECT.get(table_name, 'judged as unknown')}).")
docs = find_data_docs(ui.db_path(), run.get("data_docs") if run else None)
if docs is not None:
    st.markdown(f"Great Expectations Data Docs: [{docs}]({docs.as_uri()}) (open the file in a browser on this machine)")
else:
    st.caption("No Great Expectations Data Docs found beside the cut (run `safetyboard check --db ...`).")
