"""SafetyBoard dashboard entry point: `safetyboard serve` runs `streamlit run streamlit_app.py`.

The cut file comes from the SAFETYBOARD_DB environment variable (set by `serve --db`), default
var/cuts/current.duckdb. The navigation titles below are a contract (tests and links use them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import ui  # noqa: E402

st.set_page_config(page_title="SafetyBoard", layout="wide")

PAGES = [
    ("Overview", "overview.py", "overview"),
    ("Dose escalation", "dose_escalation.py", "dose-escalation"),
    ("DLT window", "dlt_window.py", "dlt-window"),
    ("Toxicity heatmap", "heatmap.py", "toxicity-heatmap"),
    ("Blood pressure", "blood_pressure.py", "blood-pressure"),
    ("Data quality", "data_quality.py", "data-quality"),
]

ui.require_cut()
# Streamlit serves the default page at the root URL only, so /overview (a link someone copied or
# typed) would show "Page not found": the same page is also registered, hidden from the menu, at
# its own path; the default keeps an internal path ("home"), which Streamlit needs unique but never serves
nav = st.navigation(
    [
        st.Page(f"dashboard/pages/{file}", title=title, url_path="home" if i == 0 else url, default=(i == 0))
        for i, (title, file, url) in enumerate(PAGES)
    ]
    + [st.Page(f"dashboard/pages/{PAGES[0][1]}", title=PAGES[0][0], url_path=PAGES[0][2], visibility="hidden")]
)
ui.filters_sidebar()
st.sidebar.caption(f"SafetyBoard · {ui.get_protocol().studyid} · cut file `{ui.db_path()}`")
nav.run()
