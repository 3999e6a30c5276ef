"""Check eligibility_bp: protocol [eligibility] (registry exclusion 8) SBP >= 140 or DBP >= 90 at screening.

The limits are mmHg: a screening reading in kPa is compared in mmHg (1 mmHg = 133.322 Pa), as adam.advs
categorises it; an unknown unit is not compared (never converted by guess). A subject without a usable
screening SBP/DBP gets a finding that the exclusion is not verifiable (as a missing AGE for eligibility_age).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from checks.runner import run_checks
from tests.checks.handmade_cut import write_cut

C1 = dt.date(2026, 1, 5)
SCREEN = dt.date(2025, 12, 29)

# subject -> (screening readings [(VSTESTCD, VSSTRESN, VSSTRESU, VISIT)], excluded?)
CASES: dict[str, tuple[list[tuple[str, float, str | None, str]], bool]] = {
    "S140-85": ([("SYSBP", 140, "mmHg", "SCREENING"), ("DIABP", 85, "mmHg", "SCREENING")], True),
    "S139-89": ([("SYSBP", 139, "mmHg", "SCREENING"), ("DIABP", 89, "mmHg", "SCREENING")], False),
    "S120-90": ([("SYSBP", 120, "mmHg", "SCREENING"), ("DIABP", 90, "mmHg", "SCREENING")], True),
    # 19 / 11 kPa = 142.5 / 82.5 mmHg; 18.5 / 11.5 kPa = 138.8 / 86.3 mmHg
    "KPA-HIGH": ([("SYSBP", 19, "kPa", "SCREENING"), ("DIABP", 11, "kPa", "SCREENING")], True),
    "KPA-OK": ([("SYSBP", 18.5, "kPa", "SCREENING"), ("DIABP", 11.5, "kPa", "SCREENING")], False),
    "UCUM": ([("SYSBP", 150, "mm[Hg]", "SCREENING"), ("DIABP", 80, "mm[Hg]", "SCREENING")], True),
    "NO-UNIT": ([("SYSBP", 150, None, "SCREENING")], True),  # taken as mmHg, as adam.advs does
    # not compared (never converted by guess), so the exclusion is not verifiable: a finding that says so
    "UNKNOWN-UNIT": ([("SYSBP", 15, "cmHg", "SCREENING")], True),
    "NO-SCREENING": ([("SYSBP", 120, "mmHg", "C1D8")], True),  # not verifiable either
    "LOWER-CODE": ([("sysbp", 150, "mmHg", "SCREENING")], True),
    "SCREENING-1": ([("SYSBP", 145, "mmHg", "Screening 1"), ("DIABP", 80, "mmHg", "Screening 1")], True),
    "ON-TREATMENT": ([("SYSBP", 120, "mmHg", "SCREENING"), ("DIABP", 70, "mmHg", "SCREENING"),
                      ("SYSBP", 170, "mmHg", "C1D8")], False),  # a high BP on treatment is no exclusion
}


@pytest.fixture(scope="module")
def findings(protocol) -> pl.DataFrame:
    vs, dm, adsl = [], [], []
    for i, (subj, (readings, _)) in enumerate(CASES.items(), start=1):
        dm.append({"USUBJID": subj, "SITEID": "01", "AGE": 40.0, "_FILE": "dm.csv", "_ROW": i})
        adsl.append({"USUBJID": subj, "SITEID": "01", "TRTSDT": C1, "TRTEDT": C1 + dt.timedelta(days=60)})
        for seq, (code, value, unit, visit) in enumerate(readings, start=1):
            vs.append({"USUBJID": subj, "VSSEQ": seq, "VSTESTCD": code, "VSSTRESN": float(value), "VSSTRESU": unit,
                       "VISIT": visit, "VISITNUM": 0.0 if visit != "C1D8" else 108.0,
                       "VSDTC_DT": SCREEN if visit != "C1D8" else C1 + dt.timedelta(days=7),
                       "_FILE": "vs.csv", "_ROW": 100 * i + seq})
    con = duckdb.connect()
    write_cut(con, {"raw.dm": dm, "raw.vs": vs, "adam.adsl": adsl,
                    "meta.loads": [{"cut_id": "C1", "loaded_at": dt.datetime(2026, 3, 1), "cut_date": dt.date(2026, 3, 1),
                                    "status": "ok"}]})
    run = run_checks(con, protocol, "C1")
    con.close()
    assert run.gx_exceptions == [] and "screening_bp" not in run.skipped
    return run.findings.filter(pl.col("check_id") == "eligibility_bp")


@pytest.mark.parametrize("subject", sorted(CASES))
def test_screening_bp_exclusion(findings: pl.DataFrame, subject: str) -> None:
    assert (subject in findings["usubjid"].to_list()) is CASES[subject][1]


def test_unverifiable_screening_bp_says_why(findings: pl.DataFrame) -> None:
    by_subject = dict(zip(findings["usubjid"], findings["message"], strict=True))
    assert by_subject["UNKNOWN-UNIT"].startswith("no screening SBP or DBP in mmHg (a result missing, or in a unit not")
    assert by_subject["NO-SCREENING"] == ("no screening SBP or DBP recorded (visits SCREENING, SCREEN, BASELINE): the "
                                          "exclusion SBP >= 140 or DBP >= 90 is not verifiable")
    assert findings.filter(pl.col("usubjid") == "NO-SCREENING")["record_key"].to_list() == ["USUBJID=NO-SCREENING"]


def test_no_screening_visit_in_the_study_skips_the_check_with_its_reason(protocol) -> None:
    con = duckdb.connect()
    write_cut(con, {"raw.dm": [{"USUBJID": "A", "SITEID": "01", "AGE": 40.0}],
                    "raw.vs": [{"USUBJID": "A", "VSSEQ": 1, "VSTESTCD": "SYSBP", "VSSTRESN": 150.0, "VISIT": "VISIT 1"}],
                    "adam.adsl": [{"USUBJID": "A", "SITEID": "01", "TRTSDT": C1}],
                    "meta.loads": [{"cut_id": "C1", "loaded_at": dt.datetime(2026, 3, 1), "status": "ok"}]})
    run = run_checks(con, protocol, "C1")
    con.close()
    assert run.findings.filter(pl.col("check_id") == "eligibility_bp").height == 0
    assert "screening_names" in run.skipped["screening_bp"]


def test_kpa_reading_is_reported_in_mmhg(findings: pl.DataFrame) -> None:
    msg = findings.filter(pl.col("usubjid") == "KPA-HIGH")["message"][0]
    assert "highest SBP 142.5" in msg and "highest DBP 82.5" in msg and msg.endswith("mmHg")


def test_vs_implausible_judges_bp_in_mmhg(protocol) -> None:
    # data/checks.toml ranges are mmHg: 20 kPa (150 mmHg) is plausible; 400 mmHg and 60 kPa (450 mmHg) are not;
    # an unknown unit is judged as reported (15 'cmHg' is below the SBP range: the data manager sees it)
    readings = [("SYSBP", 20, "kPa"), ("SYSBP", 400, "mmHg"), ("SYSBP", 60, "kPa"), ("SYSBP", 15, "cmHg"),
                ("DIABP", 12, "kPa"), ("PULSE", 70, "beats/min")]
    vs = [{"USUBJID": "S1", "VSSEQ": i, "VSTESTCD": code, "VSSTRESN": float(v), "VSSTRESU": u, "VISIT": "C1D8",
           "VISITNUM": 108.0, "VSDTC_DT": C1, "_FILE": "vs.csv", "_ROW": i}
          for i, (code, v, u) in enumerate(readings, start=1)]
    con = duckdb.connect()
    write_cut(con, {"raw.dm": [{"USUBJID": "S1", "SITEID": "01", "AGE": 40.0, "_FILE": "dm.csv", "_ROW": 1}],
                    "raw.vs": vs, "adam.adsl": [{"USUBJID": "S1", "SITEID": "01", "TRTSDT": C1}],
                    "meta.loads": [{"cut_id": "C1", "loaded_at": dt.datetime(2026, 3, 1), "cut_date": dt.date(2026, 3, 1),
                                    "status": "ok"}]})
    run = run_checks(con, protocol, "C1")
    con.close()
    got = run.findings.filter(pl.col("check_id") == "vs_implausible")
    assert sorted(got["record_key"]) == ["VSSEQ=2", "VSSEQ=3", "VSSEQ=4"]
    assert "(450.0 mmHg)" in got.filter(pl.col("record_key") == "VSSEQ=3")["message"][0]
