"""Pages on a study whose arms are not protocol dose levels (the real CDISC pilot): subjects without a
dose level are shown under one label, counted in every figure, summarised once, and are no cohort."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
from streamlit.testing.v1 import AppTest

from dashboard import dlt_window, queries
from dashboard.figures.blood_pressure import bp_figure
from dashboard.filters import Filters
from tests.dashboard.conftest import render_page


def _run(page: str) -> AppTest:
    return render_page(page)


def _treated_without_level(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM adam.adsl WHERE SAFFL = 'Y' AND DOSELVLC IS NULL").fetchone()[0]


def test_escalation_page_summarises_unassigned_subjects_once(pilot_cut_db: Path, app_env):
    n = _treated_without_level(pilot_cut_db)
    assert n > 100  # the pilot's placebo and xanomeline arms are not dose levels
    app_env(pilot_cut_db)
    at = _run("dashboard/pages/dose_escalation.py")
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors[:3]
    assert errors[0].startswith(f"{n} treated subjects have no protocol dose level")
    assert "arm 'PBO' is not a protocol dose level" in errors[0]
    listed = [d.value for d in at.dataframe if "USUBJID" in d.value.columns and "reason" in d.value.columns]
    assert listed and len(listed[0]) == n  # every subject listed, none dropped
    # no one is at a protocol level: the decision shown is the design's start, and the page says so
    assert any("No treated subject is at a protocol dose level" in w.value for w in at.warning)


def test_bp_figures_keep_subjects_without_a_dose_level(pilot_cut_db: Path):
    with duckdb.connect(str(pilot_cut_db), read_only=True) as con:
        median = queries.bp_median(con, Filters(), "CYCLE")
        share = queries.bp_high_share(con, Filters(), 160, 100)
        rows = queries.blood_pressure(con, Filters())
    assert median.height and median["DOSELVLC"].unique().to_list() == [queries.UNASSIGNED]
    assert share["DOSELVLC"].null_count() == 0 and rows["DOSELVLC"].null_count() == 0
    fig = bp_figure(median, [[140.0, 90.0]], x="CYCLE", per_patient=False)
    drawn = [t for t in fig.data if t.name == queries.UNASSIGNED and t.y is not None and len(t.y)]
    assert drawn, "the median line of the subjects without a dose level is missing"


def test_unassigned_subjects_are_no_cohort_ready_for_review(pilot_cut_db: Path, app_env):
    with duckdb.connect(str(pilot_cut_db), read_only=True) as con:
        subjects = queries.subjects(con, Filters())
    status = dlt_window.cohort_status(dlt_window.lanes(subjects, None))
    unassigned = status.filter(pl.col("DOSELVLC") == queries.UNASSIGNED)
    assert unassigned.height == 1 and unassigned["ready_for_review"].to_list() == [False]
    app_env(pilot_cut_db)
    at = _run("dashboard/pages/dlt_window.py")
    ready = {m.label: m.value for m in at.metric}["Cohorts ready for review"]
    assert ready == "0 / 0"


def test_overview_says_where_the_load_history_breaks(tmp_path: Path, pilot_dir: Path, protocol, app_env):
    # a current file that is no readable cut: the next load starts the history again and its note says so;
    # the Overview shows that note above the load history instead of a history that silently begins there
    from etl.loader import load_export

    db = tmp_path / "current.duckdb"
    assert load_export(pilot_dir, db, protocol, run_checks=False).status == "ok"
    db.write_bytes(db.read_bytes()[:20000])  # a DuckDB header, no readable cut
    assert load_export(pilot_dir, db, protocol, run_checks=False).status == "ok"
    app_env(db)
    at = _run("dashboard/pages/overview.py")
    notes = [w.value for w in at.warning if "unreadable" in w.value]
    assert len(notes) == 1 and "current.cuts/unreadable-" in notes[0], [w.value for w in at.warning]
    history = [d.value for d in at.dataframe if "NOTES" in d.value.columns]
    assert history and "unreadable" in history[0]["NOTES"][0]


def test_escalation_page_lists_patients_whose_dlt_status_is_undecided(dash_db: Path, tmp_path: Path, app_env):
    # an evaluable patient counted without a DLT whose window holds an ungraded AE: the page says the
    # decision may change and lists the patient with the AE (ADSL DLTUNDFL / DLTUNDRSN)
    import shutil

    db = tmp_path / "current.duckdb"
    shutil.copy(dash_db, db)
    reason = "DLT status undecided (grade or onset missing in the DLT window): AESEQ=1 Fatigue"
    with duckdb.connect(str(db)) as con:
        subject = con.execute("SELECT min(USUBJID) FROM adam.adsl WHERE DLTEVLFL = 'Y' AND DLTFL = 'N'").fetchone()[0]
        con.execute("UPDATE adam.adsl SET DLTUNDFL = 'Y', DLTUNDRSN = ? WHERE USUBJID = ?", [reason, subject])
    app_env(db)
    at = _run("dashboard/pages/dose_escalation.py")
    assert any(w.value.startswith("1 evaluable patient(s) counted without a DLT have an adverse event in the DLT window")
               for w in at.warning)
    listed = [d.value for d in at.dataframe if "reason" in d.value.columns and "DOSELVLC" in d.value.columns
              and len(d.value) == 1]
    assert listed and listed[0]["USUBJID"].tolist() == [subject] and listed[0]["reason"].tolist() == [reason]
