"""Figure builders and page logic on small hand-made frames."""

import datetime as dt
import json

import polars as pl

from dashboard import dlt_window
from dashboard.escalation_view import adjudication
from dashboard.figures.blood_pressure import bp_figure, high_bp_share, median_by_dose
from dashboard.figures.escalation import dlt_rate_figure
from dashboard.figures.grades import GRADE_COLORS
from dashboard.figures.heatmap import cell_events, grade_heatmap, worst_grade_matrix
from dashboard.figures.overview import load_changes, quarantine_counts
from dashboard.figures.quality import counts_per_check

AES = pl.DataFrame({
    "USUBJID": ["S1", "S1", "S2", "S3", "S3", "S2"],
    "AEDECOD": ["NAUSEA", "NAUSEA", "NAUSEA", "HYPERTENSION", "HYPERTENSION", "RASH"],
    "AETOXGRN": [1, 3, 2, None, 2, 1],
    "CYCLE": [1, 1, 2, 1, 1, None],
})


def _lightness(hex_color: str) -> float:
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_grade_colours_get_darker_as_the_grade_rises():
    lum = [_lightness(GRADE_COLORS[g]) for g in range(6)]
    assert lum == sorted(lum, reverse=True) and len(set(lum)) == 6


def test_worst_grade_per_term_and_cycle_ordered_by_frequency():
    m = worst_grade_matrix(AES, "AEDECOD")
    assert m["AEDECOD"].unique(maintain_order=True).to_list() == ["NAUSEA", "HYPERTENSION"]  # RASH has no cycle
    cell = m.filter((pl.col("AEDECOD") == "NAUSEA") & (pl.col("CYCLE") == 1)).row(0, named=True)
    assert cell["worst"] == 3 and cell["events"] == 2
    # the unknown grade does not hide the known grade 2
    assert m.filter(pl.col("AEDECOD") == "HYPERTENSION")["worst"].to_list() == [2]


def test_heatmap_writes_the_grade_in_each_cell():
    fig = grade_heatmap(worst_grade_matrix(AES, "AEDECOD"), "AEDECOD", "t")
    heat = fig.data[0]
    assert list(heat.y) == ["NAUSEA", "HYPERTENSION"] and list(heat.x) == ["C1", "C2"]
    assert [list(r) for r in heat.text] == [["3", "2"], ["2", ""]]
    assert cell_events(AES, "AEDECOD", "NAUSEA", 1).height == 2
    # the hover counts events of all grades and says how many are grade >= 3 (a DMC reads the second)
    hover = dict(zip(zip(fig.data[1].y, fig.data[1].x, strict=True), fig.data[1].customdata, strict=True))
    assert hover[("NAUSEA", "C1")] == "worst grade 3; 2 events (all grades), 1 of grade >= 3"


def test_dlt_rate_figure_draws_boundaries_and_skips_untreated_levels():
    levels = pl.DataFrame({
        "level": ["DL1", "DL2", "DL3"], "n_evaluable": [6, 3, 0], "n_dlt": [1, 2, 0],
        "rate": [1 / 6, 2 / 3, None], "ci_low": [0.004, 0.094, None], "ci_high": [0.641, 0.992, None],
        "eliminated": [False, False, False],
    })
    fig = dlt_rate_figure(levels, target=0.3, escalate_below=0.236, deescalate_above=0.358, current_level="DL2")
    assert list(fig.data[0].x) == ["DL1", "DL2"]
    assert list(fig.data[0].text) == ["1/6", "2/3"]
    assert sorted(s.y0 for s in fig.layout.shapes) == [0.236, 0.3, 0.358]
    assert list(fig.layout.xaxis.categoryarray) == ["DL1", "DL2", "DL3"]


def test_high_bp_share_counts_patients_not_measurements():
    bp = pl.DataFrame({
        "USUBJID": ["A", "A", "A", "B", "B", "C"],
        "DOSELVLC": ["DL1"] * 6,
        "PARAMCD": ["SYSBP", "SYSBP", "DIABP", "SYSBP", "DIABP", "SYSBP"],
        "CYCLE": [1, 1, 1, 1, 1, 2],
        "AVAL": [165.0, 170.0, 85.0, 130.0, 100.0, 159.0],
        "ADY": [1, 8, 1, 1, 1, 22],
    })
    share = high_bp_share(bp, 160, 100).row(0, named=True)
    assert (share["patients"], share["high"]) == (2, 2)  # A by SBP (twice, counted once), B by DBP = 100
    c2 = high_bp_share(bp, 160, 100).filter(pl.col("CYCLE") == 2).row(0, named=True)
    assert (c2["patients"], c2["high"]) == (1, 0)  # 159 is below 160
    fig = bp_figure(median_by_dose(bp, "ADY"), [[140, 90], [160, 100]], per_patient=False, category_bands={2: (140, 90), 3: (160, 100)})
    assert {s.y0 for s in fig.layout.shapes if s.type == "line"} >= {140, 160, 90, 100}
    assert any("not CTCAE AE grades" in a.text for a in fig.layout.annotations)


def test_dlt_window_lanes_and_cohort_readiness():
    subjects = pl.DataFrame({
        "USUBJID": ["A", "B", "C", "D"], "DOSELVL": [1, 1, 1, 2], "DOSELVLC": ["DL1", "DL1", "DL1", "DL2"],
        "COHORTN": [1, 1, 1, 1], "COHORT": ["DL1 cohort 1"] * 3 + ["DL2 cohort 1"],
        "TRTSDT": [dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 2, 1), dt.date(2026, 3, 1)],
        "DLTFL": ["N", "N", "Y", "N"], "DLTEVLFL": ["Y", "N", "Y", "N"], "DLTEVLRSN": [None, "missed doses", None, None],
        "DLTWCFL": ["Y", "Y", "N", "N"], "DLTWREM": [0, 0, 10, 30],
    })
    lanes = dlt_window.lanes(subjects, dt.date(2026, 3, 12))
    assert lanes["EVAL"].to_list() == ["evaluable", "not evaluable: missed doses", "DLT", "in window"]
    assert lanes.filter(pl.col("USUBJID") == "D")["CUTDY"].item() == 12
    status = dlt_window.cohort_status(lanes)
    assert status["ready_for_review"].to_list() == [True, False]
    # C's DLT completes it for the review although 10 of its days remain: DL1 waits for nobody
    assert status["max_days_remaining"].to_list() == [0, 30]
    # inside the window now: every patient with days remaining, the one with a DLT included (still observed)
    assert dlt_window.inside_window(lanes)["USUBJID"].to_list() == ["C", "D"]
    # readiness is the whole cohort's: a selection of B alone (say, one site) does not make DL1 cohort 1 ready
    subjects = subjects.with_columns(pl.when(pl.col("USUBJID") == "A").then(pl.lit("N")).otherwise(pl.col("DLTWCFL"))
                                     .alias("DLTWCFL"), pl.when(pl.col("USUBJID") == "A").then(5).otherwise(pl.col("DLTWREM"))
                                     .alias("DLTWREM"))
    every = dlt_window.cohort_status(dlt_window.lanes(subjects, dt.date(2026, 3, 12)))
    assert every.filter(pl.col("COHORT") == "DL1 cohort 1").select("ready_for_review", "max_days_remaining").row(0) == (False, 5)
    only_b = dlt_window.cohort_status(dlt_window.lanes(subjects.filter(pl.col("USUBJID") == "B"), dt.date(2026, 3, 12)))
    assert only_b["ready_for_review"].to_list() == [True]  # why the page computes it over every patient


def test_adjudication_agree_disagree_pending():
    dlts = pl.DataFrame({"DLTCFL": ["Y", "Y", "N", "Y"], "DLTFL": ["Y", "N", "Y", None]})
    assert adjudication(dlts)["ADJUD"].to_list() == ["agree", "disagree", "disagree", "pending"]


def test_load_changes_between_cuts():
    prev = {"files": json.dumps([{"file": "ae.csv", "sha256": "a", "rows_read": 10},
                                 {"file": "lb.csv", "sha256": "b", "rows_read": 5}])}
    now = {"files": json.dumps([{"file": "ae.csv", "sha256": "c", "rows_read": 12},
                                {"file": "lb.csv", "sha256": "b", "rows_read": 5},
                                {"file": "rs.csv", "sha256": "d", "rows_read": 3}])}
    ch = load_changes(prev, now)
    assert ch.select("file", "change", "rows_delta").rows() == [("ae.csv", "changed", 2), ("lb.csv", "unchanged", 0),
                                                                ("rs.csv", "added", 3)]


def test_quarantine_and_findings_counts():
    q = pl.DataFrame({"domain": ["AE", "AE", "LB"], "reason": ["bad_date", "bad_date", "unknown_subject"]})
    assert quarantine_counts(q).rows() == [("AE", "bad_date", 2), ("LB", "unknown_subject", 1)]
    f = pl.DataFrame({"check_id": ["x", "x", "y"], "severity": ["error", "error", "warning"],
                      "status": ["new", "resolved", "persisting"]})
    assert counts_per_check(f).sort("check_id").rows() == [("x", "error", 1), ("y", "warning", 1)]


def test_dlt_rules_are_described_in_the_protocol_wording():
    from dashboard.escalation_view import describe_rules
    from etl.derive.dlt_rules import rule_descriptions
    from safetyboard.protocol import load_protocol

    words = rule_descriptions(load_protocol(None))
    dlts = pl.DataFrame({"USUBJID": ["A", "B", "C", "D"], "DLTRULE": ["PLT_G4", "NEUT_G4_GT7D;DELAY_GT14D", "(no rule)", "NEW_RULE"]})
    out = describe_rules(dlts, words)
    assert out.columns == ["USUBJID", "DLTRULE", "RULEDESC"]
    assert out["RULEDESC"].to_list() == [
        "grade 4 thrombocytopenia",
        "grade 4 neutropenia lasting more than 7 days; treatment delay of more than 14 days for toxicity",
        None, "NEW_RULE",
    ]
