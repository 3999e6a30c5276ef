"""Problems found by using the pages as the DMC, the PI and data managers do (exploratory testing)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.filters import Filters, split_known
from tests.dashboard.conftest import APP


def _run(page: str | None = None, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_split_known_names_the_values_the_cut_lacks():
    kept, dropped = split_known(Filters(dose=("DL2", "DL3"), site=("3",)), {"dose": ["DL1", "DL2"], "site": ["03"]})
    assert kept == Filters(dose=("DL2",))
    assert dropped == {"Dose level": ("DL3",), "Site": ("3",)}


def test_a_link_value_the_cut_lacks_is_named_not_silently_dropped(dash_db: Path, app_env):
    # a shared link to a dose level nobody has reached yet (the demo never de-escalates to DL-1), or site '3'
    # typed for '03'
    app_env(dash_db)
    at = _run(params={"dose": "DL-1", "site": "3"})
    warnings = [w.value for w in at.warning]
    assert any("No subject of this cut has Dose level DL-1; Site 3" in w and "all subjects" in w for w in warnings), warnings
    # the note follows the user to another page and goes once they choose in the sidebar
    at.switch_page("dashboard/pages/blood_pressure.py")
    at.run()
    assert any("Dose level DL-1" in w.value for w in at.warning)
    at.multiselect(key="filter_dose").set_value(["DL1"]).run()
    assert not any("Dose level DL-1" in w.value for w in at.warning)


def test_filters_that_match_nobody_say_so(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run("dashboard/pages/overview.py", {"dose": "DL1", "age": "40-65"})  # the demo's 3 DL1 patients are under 18
    assert any(w.value.startswith("No subject matches the filters (Dose level: DL1; Age group: 40-65)")
               for w in at.warning), [w.value for w in at.warning]
    at = _run("dashboard/pages/overview.py", {"dose": "DL1"})
    assert not any("No subject matches" in w.value for w in at.warning)


def _annotations(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_empty_selection_figures_say_why_they_are_empty():
    import polars as pl

    from dashboard.figures.blood_pressure import bp_figure, high_bp_share_figure
    from dashboard.figures.overview import subjects_per_dose_figure
    from dashboard.figures.quality import findings_bar, trend_figure

    bp = pl.DataFrame(schema={"DOSELVLC": pl.String, "PARAMCD": pl.String, "CYCLE": pl.Int64, "AVAL": pl.Float64,
                              "n": pl.Int64})
    assert "No blood-pressure measurement for this selection" in _annotations(
        bp_figure(bp, [[140.0, 90.0]], x="CYCLE", per_patient=False))
    share = pl.DataFrame(schema={"DOSELVLC": pl.String, "CYCLE": pl.Int64, "patients": pl.Int64, "high": pl.Int64,
                                 "share": pl.Float64})
    assert "No blood-pressure measurement for this selection" in _annotations(high_bp_share_figure(share, 160, 100))
    per_dose = pl.DataFrame(schema={"DOSELVLC": pl.String, "treated": pl.Int64, "dlt_evaluable": pl.Int64,
                                    "with_dlt": pl.Int64})
    assert "No subject for this selection" in _annotations(subjects_per_dose_figure(per_dose))
    counts = pl.DataFrame(schema={"check_id": pl.String, "severity": pl.String, "findings": pl.Int64})
    # filtered to nobody, the cut's findings are hidden, not absent
    assert "No open findings for the selected subjects" in _annotations(findings_bar(counts, filtered=True))
    assert "No open findings in this cut" in _annotations(findings_bar(counts))
    trend = pl.DataFrame({"cut_id": ["c1"], "severity": ["error"], "n": [3]})
    assert "all subjects" in trend_figure(trend, filtered=True).layout.title.text


def _matrix(n_rows: int):
    import polars as pl

    return pl.DataFrame({"USUBJID": [f"P{i:03d}" for i in range(n_rows)], "CYCLE": [1] * n_rows,
                         "worst": [2] * n_rows, "events": [n_rows - i for i in range(n_rows)]})


def test_patient_heatmap_draws_every_patient_of_the_trial():
    from dashboard.figures.heatmap import grade_heatmap

    # the demo trial has 54 patients with AEs: all drawn (40 were, without a word)
    fig = grade_heatmap(_matrix(54), "USUBJID", "Worst grade per patient")
    assert len(fig.data[0].y) == 54 and fig.layout.title.text == "Worst grade per patient"


def test_patient_heatmap_says_when_it_draws_only_the_first_rows():
    from dashboard.figures.heatmap import grade_heatmap

    fig = grade_heatmap(_matrix(90), "USUBJID", "Worst grade per patient", max_rows=80)
    assert len(fig.data[0].y) == 80
    assert "the first 80 of 90 patients drawn" in fig.layout.title.text


def test_every_heatmap_cell_with_events_can_be_clicked():
    import polars as pl

    from dashboard.figures.heatmap import grade_heatmap, worst_grade_matrix

    aes = pl.DataFrame({"USUBJID": ["S1", "S1", "S2"], "AEDECOD": ["NAUSEA", "RASH", "NAUSEA"],
                        "AETOXGRN": [1, None, 3], "CYCLE": [1, 2, 2]})
    fig = grade_heatmap(worst_grade_matrix(aes, "AEDECOD"), "AEDECOD", "t")
    # plotly cannot select a heatmap cell: a selectable (invisible) marker sits on each cell with events
    cells = [t for t in fig.data if t.type == "scatter"]
    assert len(cells) == 1
    assert sorted(zip(cells[0].x, cells[0].y, strict=True)) == [("C1", "NAUSEA"), ("C2", "NAUSEA"), ("C2", "RASH")]
    assert fig.layout.clickmode == "event+select"


def test_dlt_rate_axis_shows_every_protocol_level_also_untreated_ones():
    import polars as pl

    from dashboard.figures.escalation import dlt_rate_figure

    levels = pl.DataFrame({
        "level": ["DL-1", "DL1", "DL2", "DL3", "DL4"], "n_evaluable": [0, 8, 40, 0, 0], "n_dlt": [0, 0, 13, 0, 0],
        "rate": [None, 0.0, 0.325, None, None], "ci_low": [None, 0.0, 0.19, None, None],
        "ci_high": [None, 0.37, 0.49, None, None], "eliminated": [False] * 5,
    })
    fig = dlt_rate_figure(levels, target=0.3)
    # a category axis shrinks to DL1 and DL2 (the levels with data) unless the range spans all five
    assert list(fig.layout.xaxis.categoryarray) == ["DL-1", "DL1", "DL2", "DL3", "DL4"]
    assert tuple(fig.layout.xaxis.range) == (-0.5, 4.5)


def test_swimmer_lane_text_keeps_the_dlt_visible_and_fits():
    import polars as pl

    from dashboard.figures.swimmer import lane_label, swimmer_figure

    assert lane_label("in window", 29) == "29 d left"
    assert lane_label("DLT", 4) == "DLT, 4 d left"  # was '4 d left': the DLT was hidden
    assert lane_label("DLT", 0) == "DLT" and lane_label("evaluable", 0) == "evaluable"
    assert lane_label("not evaluable: apatinib 21/42 days (< 80%)", 0) == "not evaluable"
    lanes = pl.DataFrame({"USUBJID": ["A", "B"], "DOSELVLC": ["DL2", "DL2"], "CUTDY": [38, 60],
                          "DLTWREM": [4, 0], "EVAL": ["DLT", "not evaluable: apatinib 21/42 days (< 80%)"]})
    doses = pl.DataFrame({"USUBJID": ["A", "A", "B"], "EXTRT": ["IRINOTECAN LIPOSOME", "APATINIB", "APATINIB"],
                          "STDY": [1, 1, 1], "ENDY": [1, 21, 21]})
    events = pl.DataFrame(schema={"USUBJID": pl.String, "AEDECOD": pl.String, "AETOXGRN": pl.Int64,
                                  "ASTDY": pl.Int64, "DLT": pl.Boolean})
    fig = swimmer_figure(lanes, doses, events, 42)
    text = next(t for t in fig.data if t.type == "scatter" and t.mode == "text")
    assert list(text.text) == ["DLT, 4 d left", "not evaluable"]
    assert "apatinib 21/42" in text.customdata[1]  # the full reason in the hover
    # the two drugs are told apart (they were the same grey tick in the legend)
    drugs = [t for t in fig.data if (t.name or "").startswith("Dose: ")]
    assert len(drugs) == 2 and len({(t.marker.symbol, t.marker.color) for t in drugs}) == 2


def test_high_bp_share_labels_only_the_points_with_someone_high():
    import polars as pl

    from dashboard.figures.blood_pressure import high_bp_share_figure

    share = pl.DataFrame({"DOSELVLC": ["DL1", "DL1", "DL2", "DL2"], "CYCLE": [1, 2, 1, 2],
                          "patients": [8, 7, 33, 30], "high": [0, 2, 0, 0], "share": [0.0, 2 / 7, 0.0, 0.0]})
    fig = high_bp_share_figure(share, 160, 100)
    # the '0/8' and '0/33' of two dose levels at 0 were drawn on top of each other
    assert [list(t.text) for t in fig.data] == [["", "2/7"], ["", ""]]
    assert list(fig.data[1].customdata[0]) == [0, 33]  # the counts stay in the hover (and the table)


def test_bp_median_hover_says_how_many_patients():
    import polars as pl

    from dashboard.figures.blood_pressure import bp_figure

    med = pl.DataFrame({"DOSELVLC": ["DL2", "DL2"], "PARAMCD": ["SYSBP", "SYSBP"], "CYCLE": [1, 7],
                        "AVAL": [125.0, 150.0], "n": [47, 1]})
    fig = bp_figure(med, [[140.0, 90.0]], x="CYCLE", per_patient=False)
    sbp = next(t for t in fig.data if t.name == "DL2" and t.y is not None and len(t.y) and t.y[0] is not None)
    assert list(sbp.customdata)[:2] == ["DL2, median of 47 patients", "DL2, median of 1 patient"]


def test_tables_show_dates_as_dates_and_words_for_missing_values(dash_db: Path, pilot_cut_db: Path, app_env):
    import json

    import duckdb
    import polars as pl

    from dashboard import dlt_window, queries
    from dashboard.escalation_view import adjudication

    app_env(dash_db)
    at = _run("dashboard/pages/dlt_window.py")
    at.radio(key="dw_show").set_value("all treated").run()
    patients = at.dataframe[-1]
    config = json.loads(patients.proto.columns)
    # TRTSDT and DLTWEND are dates: drawn as '2026-10-12', not '2026-10-12 00:00:00'
    for col in ("TRTSDT", "DLTWEND"):
        assert config[col]["type_config"]["type"] == "date" and config[col]["type_config"]["format"] == "YYYY-MM-DD"
    # an AE the investigator flagged that no protocol rule caught: '(no rule)', not 'None'
    listing = adjudication(pl.DataFrame({"DLTRULE": [None, "PLT_G4"], "DLTCFL": ["N", "Y"], "DLTFL": ["Y", "Y"]}))
    assert listing["DLTRULE"].to_list() == ["(no rule)", "PLT_G4"]
    # the pilot's patients have no cohort: '(no cohort)', not 'None'
    with duckdb.connect(str(pilot_cut_db), read_only=True) as con:
        lanes = dlt_window.lanes(queries.subjects(con, Filters()), None)
    assert set(lanes["COHORT"]) == {dlt_window.NO_COHORT}
    assert dlt_window.cohort_status(lanes)["COHORT"].to_list() == [dlt_window.NO_COHORT]


def test_swimmer_draws_a_dose_not_taken_apart_from_the_doses():
    # a held C2D1 infusion (EXDOSE 0) was drawn as a dose: the PI read treatment given on a day it was not
    import polars as pl

    from dashboard.figures.swimmer import swimmer_figure

    lanes = pl.DataFrame({"USUBJID": ["A"], "DOSELVLC": ["DL1"], "CUTDY": [40], "DLTWREM": [2], "EVAL": ["in window"]})
    doses = pl.DataFrame({"USUBJID": ["A"] * 3, "EXTRT": ["IRINOTECAN LIPOSOME"] * 3, "EXDOSE": [50.0, 0.0, None],
                          "STDY": [1, 22, 29], "ENDY": [1, 22, 29]})
    events = pl.DataFrame(schema={"USUBJID": pl.String, "AEDECOD": pl.String, "AETOXGRN": pl.Int64,
                                  "ASTDY": pl.Int64, "DLT": pl.Boolean})
    fig = swimmer_figure(lanes, doses, events, 42)
    by_name = {t.name: t for t in fig.data if t.type == "scatter"}
    assert list(by_name["Dose: IRINOTECAN LIPOSOME"].x) == [1, 29]  # a record without a dose counts as given
    assert list(by_name["Dose not taken (EXDOSE 0)"].x) == [22]
