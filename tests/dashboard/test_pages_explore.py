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
    # a shared link to a dose level nobody has reached yet, or site '3' typed for '03'
    app_env(dash_db)
    at = _run(params={"dose": "DL3", "site": "3"})
    warnings = [w.value for w in at.warning]
    assert any("No subject of this cut has Dose level DL3; Site 3" in w and "all subjects" in w for w in warnings), warnings
    # the note follows the user to another page and goes once they choose in the sidebar
    at.switch_page("dashboard/pages/blood_pressure.py")
    at.run()
    assert any("Dose level DL3" in w.value for w in at.warning)
    at.multiselect(key="filter_dose").set_value(["DL1"]).run()
    assert not any("Dose level DL3" in w.value for w in at.warning)


def test_filters_that_match_nobody_say_so(dash_db: Path, app_env):
    app_env(dash_db)
    at = _run("dashboard/pages/overview.py", {"dose": "DL1", "age": "12-17"})  # no DL1 patient is under 18
    assert any(w.value.startswith("No subject matches the filters (Dose level: DL1; Age group: 12-17)")
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
