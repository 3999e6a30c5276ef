"""Every page runs headless (AppTest) on the demo cut without an exception and shows its key numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP

PAGES = {
    "Overview": "dashboard/pages/overview.py",
    "Dose escalation": "dashboard/pages/dose_escalation.py",
    "DLT window": "dashboard/pages/dlt_window.py",
    "Toxicity heatmap": "dashboard/pages/heatmap.py",
    "Blood pressure": "dashboard/pages/blood_pressure.py",
    "Data quality": "dashboard/pages/data_quality.py",
}


def _run(db: Path, page: str | None = None, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(PAGES[page])
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _cut(db: Path) -> tuple[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cut_id, cut_date = con.execute(
            "SELECT cut_id, cut_date FROM meta.loads WHERE status = 'ok' ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall()[0]
    finally:
        con.close()
    return cut_id, str(cut_date)


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def test_navigation_titles_are_the_contract():
    text = APP.read_text()
    for title, path in PAGES.items():
        assert f'("{title}", "{Path(path).name}"' in text


@pytest.mark.parametrize("page", list(PAGES))
def test_page_runs_and_shows_the_cut(page: str, dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, page)
    cut_id, cut_date = _cut(dash_db)
    text = _text(at)
    assert cut_id in text and cut_date in text  # cut id and cut date on every page
    assert at.title[0].value == page


def test_overview_numbers_match_the_cut(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, "Overview")
    con = duckdb.connect(str(dash_db), read_only=True)
    n_subjects = con.execute("SELECT count(*) FROM adam.adsl").fetchall()[0][0]
    n_quarantined = con.execute("SELECT count(*) FROM meta.quarantine").fetchall()[0][0]
    con.close()
    per_dose = at.dataframe[0].value
    assert int(per_dose["subjects"].sum()) == n_subjects
    assert f"{n_quarantined} rows quarantined" in _text(at)
    files = at.dataframe[1].value
    assert {"file", "sha256", "rows_read"} <= set(files.columns) and files["sha256"].str.len().eq(64).all()


def test_overview_shows_changes_since_the_previous_cut(two_cut_db: Path, app_env):
    app_env(two_cut_db)
    at = _run(two_cut_db, "Overview")
    changes = at.dataframe[-1].value
    assert set(changes["change"]) == {"unchanged"}  # the same export loaded twice


def test_filters_from_the_link_restrict_subjects(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, None, {"dose": "DL1", "sex": "F"})
    per_dose = at.dataframe[0].value
    assert list(per_dose["DOSELVLC"]) == ["DL1"]
    con = duckdb.connect(str(dash_db), read_only=True)
    n = con.execute("SELECT count(*) FROM adam.adsl WHERE DOSELVLC = 'DL1' AND SEX = 'F'").fetchall()[0][0]
    con.close()
    assert int(per_dose["subjects"].sum()) == n
    assert at.multiselect(key="filter_dose").value == ["DL1"]
    # changing a filter writes it back to the URL
    at.multiselect(key="filter_sex").set_value([]).run()
    assert "sex" not in at.query_params and at.query_params["dose"] in ("DL1", ["DL1"])


@pytest.mark.parametrize("page", ["DLT window", "Toxicity heatmap", "Blood pressure", "Data quality"])
def test_pages_run_with_filters(page: str, dash_db: Path, app_env):
    app_env(dash_db)
    _run(dash_db, page, {"dose": "DL2", "age": "18-39"})


def test_dose_escalation_page_shows_the_command_numbers(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, "Dose escalation")
    out = subprocess.run([sys.executable, "-m", "safetyboard.cli", "escalation", "--db", str(dash_db), "--json"],
                         capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Decision"] == doc["decision"].upper()
    assert metrics["Current dose"] == doc["current_level"]
    assert metrics["MTD estimate"] == (doc["mtd"] or "not yet")
    table = at.dataframe[0].value
    for lv in doc["levels"]:
        row = table[table["level"] == lv["level"]].iloc[0]
        assert (row["n_treated"], row["n_evaluable"], row["n_dlt"]) == (lv["n_treated"], lv["n_evaluable"], lv["n_dlt"])
        if lv["rate"] is not None:
            assert row["rate"] == pytest.approx(lv["rate"]) and row["ci_high"] == pytest.approx(lv["ci_high"])


def test_what_if_panel_gives_the_engine_decision(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, "Dose escalation")
    at.selectbox(key="wi_dose").set_value("DL1")
    at.number_input(key="wi_k").set_value(3)
    at.number_input(key="wi_j").set_value(3).run()
    assert not at.exception
    msg = at.success[0].value
    # the same question asked of the command line's what-if (--counts): DL1 is the 2nd protocol level
    cut = json.loads(subprocess.run([sys.executable, "-m", "safetyboard.cli", "escalation", "--db", str(dash_db),
                                     "--json"], capture_output=True, text=True, check=True).stdout)
    codes = [lv["level"] for lv in cut["levels"]]
    counts = [(lv["n_evaluable"] + (3 if lv["level"] == "DL1" else 0), lv["n_dlt"] + (3 if lv["level"] == "DL1" else 0))
              for lv in cut["levels"]]
    out = subprocess.run([sys.executable, "-m", "safetyboard.cli", "escalation", "--json", "--counts",
                          ",".join(f"{n}:{y}" for n, y in counts), "--current", str(codes.index("DL1") + 1)],
                         capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert msg.startswith(f"If the next 3 patients at DL1 have 3 DLT(s): **{doc['decision']}**")
    nxt = "none" if doc["next_level"] is None else codes[doc["next_level"] - 1]
    assert f"next dose {nxt};" in msg


def test_dlt_listing_has_adjudication(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, "Dose escalation")
    listing = next(d.value for d in at.dataframe if "adjudication" in d.value.columns)
    assert {"rule fired (DLTRULE)", "investigator (DLTFL)", "adjudication"} <= set(listing.columns)
    assert set(listing["adjudication"]) <= {"agree", "disagree", "pending"}
    assert len(listing) > 0


def test_not_evaluable_patients_are_listed_with_why(dash_db: Path, app_env):
    """DOMAIN.md 4: non-evaluable patients are replaced; the DMC sees who and why beside the counts (the
    per-level table counts treated minus evaluable)."""
    app_env(dash_db)
    at = _run(dash_db, "Dose escalation")
    with duckdb.connect(str(dash_db), read_only=True) as con:
        expected = con.sql("SELECT USUBJID, DLTEVLRSN FROM adam.adsl WHERE SAFFL = 'Y' AND DOSELVL IS NOT NULL "
                           "AND DLTEVLFL = 'N' AND DLTWCFL = 'Y' ORDER BY DOSELVL, USUBJID").fetchall()
    assert expected  # the demo has withdrawals and progressions inside the window
    listed = next(d.value for d in at.dataframe if "why not evaluable" in d.value.columns)
    assert list(zip(listed["USUBJID"], listed["why not evaluable"], strict=True)) == expected
    assert any(e.label == f"Treated patients not DLT-evaluable, to be replaced ({len(expected)})" for e in at.expander)
    per_level = at.dataframe[0].value
    assert int((per_level["n_treated"] - per_level["n_evaluable"]).sum()) >= len(expected)


def test_missing_cut_shows_how_to_load(tmp_path: Path, app_env):
    app_env(tmp_path / "nothing.duckdb")
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception
    assert "safetyboard load" in at.error[0].value


def test_page_controls_run_without_error(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run(dash_db, "Blood pressure")
    at.radio(key="bp_view").set_value("Per patient")
    at.radio(key="bp_x").set_value("Study day").run()
    assert not at.exception
    at = _run(dash_db, "Toxicity heatmap")
    at.selectbox(key="hm_level").set_value("DL2")
    at.checkbox(key="hm_teae").uncheck().run()
    assert not at.exception
    events = at.dataframe[0].value  # events behind the first (term, cycle) cell
    assert len(events) > 0 and set(events["DOSELVLC"]) == {"DL2"}
    at = _run(dash_db, "DLT window")
    at.radio(key="dw_show").set_value("all treated").run()
    assert not at.exception
    shown = at.dataframe[-1].value
    assert len(shown) == int(at.metric[0].value)  # every treated patient listed


def test_sql_aggregates_match_the_polars_definitions(dash_db: Path):
    import polars as pl

    from dashboard import queries
    from dashboard.figures.blood_pressure import high_bp_share, median_by_dose
    from dashboard.filters import Filters

    con = duckdb.connect(str(dash_db), read_only=True)
    try:
        rows = queries.blood_pressure(con, Filters())
        for x in ("ADY", "CYCLE"):
            sql = queries.bp_median(con, Filters(), x).sort("DOSELVLC", "PARAMCD", x)
            ref = median_by_dose(rows, x).sort("DOSELVLC", "PARAMCD", x)
            assert sql.select("DOSELVLC", "PARAMCD", x, "n").rows() == ref.select("DOSELVLC", "PARAMCD", x, "n").rows()
            assert sql["AVAL"].to_list() == pytest.approx(ref["AVAL"].to_list())
        sql = queries.bp_high_share(con, Filters(), 160, 100).sort("DOSELVLC", "CYCLE")
        ref = high_bp_share(rows, 160, 100).sort("DOSELVLC", "CYCLE")
        assert sql.select("DOSELVLC", "CYCLE", "patients", "high").rows() == ref.select(
            "DOSELVLC", "CYCLE", "patients", "high").rows()
        assert ref["high"].sum() > 0 and sql["share"].cast(pl.Float64).to_list() == pytest.approx(ref["share"].to_list())
        assert queries.bp_patient_count(con, Filters()) == rows["USUBJID"].n_unique()
    finally:
        con.close()


def test_heatmap_sql_matches_the_polars_definition(dash_db: Path):
    import polars as pl

    from dashboard import queries
    from dashboard.figures.heatmap import cell_events, worst_grade_matrix
    from dashboard.filters import Filters

    con = duckdb.connect(str(dash_db), read_only=True)
    try:
        events = queries.adverse_events(con, Filters())
        for row in ("AEDECOD", "USUBJID"):
            for level, teae in ((None, False), ("DL2", True)):
                e = events if level is None else events.filter(pl.col("DOSELVLC") == level)
                e = e.filter(pl.col("TRTEMFL") == "Y") if teae else e
                ref = worst_grade_matrix(e, row)
                sql = queries.worst_grade(con, Filters(), row, level, teae)
                assert sql[row].unique(maintain_order=True).to_list() == ref[row].unique(maintain_order=True).to_list()
                key = [row, "CYCLE"]
                assert sql.sort(key).select(*key, "worst", "events", "severe").rows() == ref.sort(key).select(
                    *key, "worst", "events", "severe").rows()
        term, cycle = ref.row(0)[0], ref.row(0)[1]
        assert queries.ae_events(con, Filters(), "DL2", True, "USUBJID", term, cycle).height == cell_events(
            e, "USUBJID", term, cycle).height
    finally:
        con.close()


def test_data_quality_says_when_there_is_no_previous_cut(dash_db: Path, two_cut_db: Path, app_env):
    # on the first cut every finding is 'new' by definition: 'new since previous cut' would mislead
    app_env(dash_db)
    labels = [m.label for m in _run(dash_db, "Data quality").metric]
    assert "New (first cut: nothing to compare with)" in labels and "New since previous cut" not in labels
    app_env(two_cut_db)
    labels = [m.label for m in _run(two_cut_db, "Data quality").metric]
    assert "New since previous cut" in labels and "Resolved since previous cut" in labels


def test_dlt_window_cohort_readiness_counts_every_patient_of_the_cohort(dash_db: Path, app_env):
    """With a sidebar filter (one sex), a cohort is listed when it holds a selected patient, and its readiness and
    patient count are the whole cohort's, as the escalation review needs; the metric counts patients with days left."""
    app_env(dash_db)
    at = _run(dash_db, "DLT window", {"sex": "F"})
    cohorts = next(d.value for d in at.dataframe if "ready_for_review" in d.value.columns)
    con = duckdb.connect(str(dash_db), read_only=True)
    try:
        whole = dict(con.execute("SELECT COHORT, count(*) FROM adam.adsl WHERE TRTSDT IS NOT NULL AND COHORT IS NOT NULL "
                                 "GROUP BY 1").fetchall())
        listed = {r[0] for r in con.execute("SELECT DISTINCT COHORT FROM adam.adsl WHERE TRTSDT IS NOT NULL "
                                            "AND SEX = 'F' AND COHORT IS NOT NULL").fetchall()}
        inside = con.execute("SELECT count(*) FROM adam.adsl WHERE TRTSDT IS NOT NULL AND SEX = 'F' AND DLTWREM > 0").fetchall()[0][0]
    finally:
        con.close()
    got = dict(zip(cohorts["COHORT"], cohorts["patients"], strict=True))
    assert set(got) == listed and all(got[c] == whole[c] for c in listed)
    assert {m.label: m.value for m in at.metric}["Inside the DLT window now"] == str(inside)
