"""Overview: the current cut, its source files, subjects per dose level, quarantine, changes since the last cut."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import queries, ui
from dashboard.figures import overview as fig

filters = ui.current_filters()
cut = ui.header("Overview", filters)

per_dose = ui.query("subjects_per_dose", filters)
listing = ui.query("quarantine", cut.get("cut_id", ""))
st.markdown(f"Current cut **`{cut.get('cut_id', '?')}`** · source `{cut.get('source')}` · "
            f"code version {cut.get('code_version')}")
c1, c2, c3 = st.columns(3)
c1.metric("Cut date", str(cut.get("cut_date")),
          help="given with --cut-date" if cut.get("cut_date_source") == "given"
          else "derived: the latest complete date in AE, LB, VS, EX, SV and DS, not taken from a record dated after "
               "its subject's death")
c2.metric("Subjects", int(per_dose["subjects"].sum()))
c3.metric("Quarantined rows", listing.height, help="every quarantined row of the cut, whatever the filters (a row may "
          "have no known subject)")

left, right = st.columns([3, 2])
with left:
    st.plotly_chart(fig.subjects_per_dose_figure(per_dose), key="subjects_per_dose")
with right:
    ui.table(per_dose.drop("DOSELVL"), "subjects_per_dose", "Subjects per dose level")

st.subheader("Source files")
ui.table(queries.source_files(cut), "source_files")

st.subheader("Rows per domain")
ui.table(queries.domain_rows(cut), "rows_per_domain")

st.subheader("Quarantine")
counts = fig.quarantine_counts(listing)
st.plotly_chart(fig.quarantine_figure(counts), key="quarantine")
ui.table(counts, "quarantine_counts", f"{listing.height} rows quarantined, by domain and reason")
domains = ["(all)", *sorted(listing["domain"].unique().to_list())]
pick = st.selectbox("Quarantined rows of domain", domains, key="q_domain")
shown = listing if pick == "(all)" else listing.filter(pl.col("domain") == pick)
ui.table(shown, "quarantined_rows")

st.subheader("What changed since the previous cut")
history = ui.query("loads")
broke = history.filter(pl.col("NOTES").is_not_null() & (pl.col("NOTES") != ""))
for row in broke.iter_rows(named=True):  # e.g. the previous current file could not be read: history restarts there
    st.warning(f"Load {row['cut_id']}: {row['NOTES']}")
ui.table(history.select("cut_id", "loaded_at", "cut_date", "status", "code_version", "NOTES"), "load_history", "Load history")
ok = history.filter(pl.col("status") == "ok")
if ok.height >= 2:
    prev, now = ok.row(-2, named=True), ok.row(-1, named=True)
    st.markdown(f"Files of cut **{now['cut_id']}** against cut **{prev['cut_id']}**")
    ui.table(fig.load_changes(prev, now), "changes_since_previous_cut")
else:
    st.info("This is the first cut: nothing to compare with yet.")
