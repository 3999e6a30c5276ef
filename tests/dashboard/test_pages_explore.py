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
