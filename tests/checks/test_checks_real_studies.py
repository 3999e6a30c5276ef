"""Checks judged as a data manager would on real studies they were not written for (CDISC pilot, pharmaverse):
one finding per problem, not per measurement; no finding where the rule cannot apply. Small hand-made cuts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import polars as pl

from checks.runner import CheckRun, run_checks
from tests.checks.handmade_cut import base_rows, write_cut

D = dt.date


def _run(protocol, rows: dict[str, list[dict[str, Any]]]) -> CheckRun:
    con = duckdb.connect()
    try:
        write_cut(con, rows)
        return run_checks(con, protocol, "C1")
    finally:
        con.close()


def _hits(run: CheckRun, check_id: str) -> pl.DataFrame:
    return run.findings.filter(pl.col("check_id") == check_id).sort("usubjid", "record_key")


def _vs(subj: str, seq: int, test: str, value: float, visit: str, day: dt.date) -> dict[str, Any]:
    return {"USUBJID": subj, "VSSEQ": seq, "VSTESTCD": test, "VSSTRESN": value, "VISIT": visit,
            "VISITNUM": 1.0 if visit.endswith("1") else 2.0, "VSDTC_DT": day, "_FILE": "vs.csv", "_ROW": 100 + seq}


def test_eligibility_bp_is_one_finding_per_subject_not_per_reading(protocol) -> None:
    """CDISC pilot: 3 positions x 2 screening visits = 12 BP readings per subject; 1389 findings over 195
    subjects. The exclusion is one fact about the subject: one finding, at its first excluding reading."""
    rows = base_rows()
    s1, s2 = D(2026, 1, 1), D(2026, 1, 3)
    rows["raw.vs"] = [r for r in rows["raw.vs"] if r["USUBJID"] != "P-02"] + [
        _vs("P-02", 1, "DIABP", 85.0, "SCREENING 1", s1), _vs("P-02", 2, "DIABP", 92.0, "SCREENING 1", s1),
        _vs("P-02", 3, "DIABP", 80.0, "SCREENING 2", s2),
        _vs("P-02", 7, "SYSBP", 150.0, "SCREENING 1", s1), _vs("P-02", 8, "SYSBP", 155.0, "SCREENING 1", s1),
        _vs("P-02", 9, "SYSBP", 142.0, "SCREENING 2", s2),
        _vs("P-02", 20, "SYSBP", 170.0, "C1D1", D(2026, 1, 5)),  # on treatment: not an eligibility reading
    ]
    got = _hits(_run(protocol, rows), "eligibility_bp")
    assert got.select("usubjid", "record_key").rows() == [("P-02", "VSSEQ=2")]  # first excluding reading by date, VSSEQ
    finding = got.row(0, named=True)
    assert (finding["file"], finding["row_number"]) == ("vs.csv", 102)
    assert "in 4 of 6 screening reading(s)" in finding["message"]
    assert "highest SBP 155.0 (SCREENING 1 2026-01-01, VSSEQ=8)" in finding["message"]
    assert "highest DBP 92.0 (SCREENING 1 2026-01-01, VSSEQ=2)" in finding["message"]


def test_eligibility_not_judged_on_screen_failures(protocol) -> None:
    """CDISC pilot: 43 of the 260 age findings were screen failures (ARMCD 'Scrnfail'): a subject excluded at
    screening is the screening working, not a deviation. A treated subject is always judged."""
    rows = base_rows()
    rows["raw.dm"] += [
        {"USUBJID": "P-04", "SITEID": "01", "ARMCD": "Scrnfail", "AGE": 80.0, "_FILE": "dm.csv", "_ROW": 4},
        {"USUBJID": "P-05", "SITEID": "01", "ARMCD": "SCRNFAIL", "AGE": 70.0, "_FILE": "dm.csv", "_ROW": 5},
    ]
    rows["adam.adsl"].append({"USUBJID": "P-05", "SITEID": "01", "TRTSDT": D(2026, 1, 5)})  # treated anyway
    rows["raw.vs"] += [_vs("P-04", 1, "SYSBP", 160.0, "SCREENING", D(2026, 1, 1)),
                       _vs("P-05", 1, "SYSBP", 160.0, "SCREENING", D(2026, 1, 1))]
    run = _run(protocol, rows)
    assert set(_hits(run, "eligibility_age")["usubjid"]) == {"P-02", "P-05"}
    assert set(_hits(run, "eligibility_bp")["usubjid"]) == {"P-02", "P-05"}


def test_lab_range_missing_only_for_the_limit_the_grade_needs(protocol) -> None:
    """CDISC pilot: 2041 findings, all on urinalysis and morphology results (KETONES, UROBIL, ANISO, ...)
    that have no numeric range and no CTCAE grade. Neutrophils are graded <LLN, ALT >ULN."""
    rows = base_rows()

    def lb(seq: int, test: str, lo: float | None, hi: float | None) -> dict[str, Any]:
        return {"USUBJID": "P-02", "LBSEQ": seq, "LBTESTCD": test, "LBSTRESN": 1.0, "LBSTRESU": None,
                "LBSTNRLO": lo, "LBSTNRHI": hi}

    rows["raw.lb"] = [r for r in rows["raw.lb"] if r["USUBJID"] != "P-02"] + [
        lb(10, "KETONES", None, None), lb(11, "ANISO", None, None),  # not graded: no finding
        lb(12, "NEUT", 1.8, None),  # <LLN needs LBSTNRLO only
        lb(13, "NEUT", None, 7.5),
        lb(14, "ALT", 0.0, None),  # >ULN needs LBSTNRHI
        lb(15, "SODIUM", None, None),  # graded both ways
    ]
    got = _hits(_run(protocol, rows), "lab_range_missing")
    assert got["record_key"].to_list() == ["LBSEQ=13", "LBSEQ=14", "LBSEQ=15"]
    messages = dict(zip(got["record_key"], got["message"], strict=True))
    assert "LBSTNRLO missing" in messages["LBSEQ=13"] and "LBSTNRHI" not in messages["LBSEQ=13"]
    assert "LBSTNRHI missing" in messages["LBSEQ=14"]
    assert "LBSTNRLO and LBSTNRHI missing" in messages["LBSEQ=15"]


def test_visit_missing_not_applicable_when_no_visit_follows_the_schedule(protocol) -> None:
    """CDISC pilot: visits are SCREENING 1, BASELINE, WEEK 2, ... (none C<n>D<d>); the cycles derived from the
    first dose still 'expected' C<n>D8 and C<n>D15: 2694 findings. The check says why it did not run."""
    rows = base_rows()
    rows["adam.adsv"] = [{"USUBJID": s, "VISITNUM": 4.0, "VISIT": "WEEK 2", "VISITTYP": "OTHER", "ADT": D(2026, 1, 19),
                          "_FILE": "sv.csv", "_ROW": 1} for s in ("P-01", "P-02")]
    run = _run(protocol, rows)
    assert _hits(run, "visit_missing").height == 0
    assert run.skipped["visits_missing"].startswith("not applicable: no SV visit is a scheduled visit")


def test_exposure_gap_not_applicable_without_any_nal_iri(protocol) -> None:
    """CDISC pilot (xanomeline / placebo): every subject 'missed' every infusion of cycles 1-2: 475 findings."""
    rows = base_rows()
    rows["raw.ex"] = [{"USUBJID": "P-01", "EXSEQ": 1, "EXTRT": "XANOMELINE", "EXSTDTC": "2026-01-05",
                       "EXSTDTC_DT": D(2026, 1, 5)}]
    run = _run(protocol, rows)
    assert _hits(run, "exposure_gap_in_dlt_window").height == 0
    assert run.skipped["exposure"].startswith("not applicable: no EX record of nal-IRI")


def test_exposure_gap_excuses_infusions_withheld_for_an_ae(protocol) -> None:
    """Demo: 11 of the 13 findings were infusions withheld after a DLT (AEACN DRUG INTERRUPTED): the dose was
    not given, which is what EX shows. A gap before the AE is still found."""
    rows = base_rows()
    # P-01 cycle 2 (D1 01-26): only D1 given; neutropenia from 01-30 to 02-01 interrupted the drug, and the
    # D8 (02-02) and D15 (02-09) infusions of that cycle were not given
    rows["raw.ex"] = [r for r in rows["raw.ex"] if not (r["USUBJID"] == "P-01" and r["EXSTDTC_DT"] > D(2026, 1, 26))]
    for r in rows["adam.adex"]:
        if r["USUBJID"] == "P-01" and r["CYCLE"] == 2:
            r["IRIINF"] = 1
    rows["adam.adae"].append({"USUBJID": "P-01", "AESEQ": 5, "AEDECOD": "Neutrophil count decreased", "AETOXGRN": 2,
                              "AEACN": "DRUG INTERRUPTED", "ASTDT": D(2026, 1, 30), "AENDT": D(2026, 2, 1),
                              "DLTFL": "N", "DLTCFL": "N"})
    # P-02 cycle 1 (D1 01-05, D8 given, D15 01-19 missing): an interruption that began in cycle 2 does not excuse it
    rows["adam.adae"].append({"USUBJID": "P-02", "AESEQ": 10, "AEDECOD": "Diarrhoea", "AETOXGRN": 2,
                              "AEACN": "DRUG INTERRUPTED", "ASTDT": D(2026, 2, 10), "AENDT": D(2026, 2, 12),
                              "DLTFL": "N", "DLTCFL": "N"})
    got = _hits(_run(protocol, rows), "exposure_gap_in_dlt_window")
    assert got.select("usubjid", "record_key").rows() == [("P-02", "CYCLE=1")]

    for r in rows["adam.adae"]:  # the same AE with the dose not changed explains nothing
        if r["USUBJID"] == "P-01" and r["AESEQ"] == 5:
            r["AEACN"] = "DOSE NOT CHANGED"
    got = _hits(_run(protocol, rows), "exposure_gap_in_dlt_window")
    assert got.select("usubjid", "record_key").rows() == [("P-01", "CYCLE=2"), ("P-02", "CYCLE=1")]


def test_lab_ae_mismatch_once_per_episode_and_not_for_an_ungraded_ae(protocol) -> None:
    """CDISC pilot: four grade-3 bilirubin draws in ten days were four findings, although an (ungraded)
    hyperbilirubinaemia AE began on the second draw's date: one episode, and undecided, not a mismatch."""
    rows = base_rows()

    def lab(seq: int, day: dt.date, subj: str = "P-01") -> dict[str, Any]:
        return {"USUBJID": subj, "LBSEQ": seq, "PARAMCD": "BILI", "ADT": day, "ATOXGRL": 0, "ATOXGRH": 3,
                "_FILE": "lb.csv", "_ROW": seq}

    rows["adam.adlb"] += [lab(40, D(2026, 4, 1)), lab(41, D(2026, 4, 4)), lab(42, D(2026, 4, 7)), lab(43, D(2026, 4, 10)),
                          lab(44, D(2026, 5, 20)),  # a second episode, six weeks later
                          lab(50, D(2026, 4, 1), "P-03"), lab(51, D(2026, 4, 4), "P-03")]
    rows["adam.adae"].append({"USUBJID": "P-03", "AESEQ": 30, "AEDECOD": "HYPERBILIRUBINAEMIA", "AETOXGRN": None,
                              "ASTDT": D(2026, 4, 4), "DLTFL": None, "DLTCFL": None})
    got = _hits(_run(protocol, rows), "lab_ae_grade_mismatch").filter(pl.col("usubjid") != "P-02")
    assert got.select("usubjid", "record_key").rows() == [("P-01", "LBSEQ=40"), ("P-01", "LBSEQ=44")]
    first = got.row(0, named=True)
    assert "from 2026-04-01 to 2026-04-10 (4 results: LBSEQ=40, LBSEQ=41, LBSEQ=42, LBSEQ=43)" in first["message"]
    assert first["row_number"] == 40


def test_lab_ae_mismatch_reads_an_uncoded_ae_by_its_verbatim_term(protocol) -> None:
    """An AE awaiting MedDRA coding (AEDECOD empty, AETERM 'Neutropenia') is the AE a grade-3 neutrophil
    count needs: no 'lab grade without a matching AE' finding (the DLT rules read AETERM the same way)."""
    rows = base_rows()
    rows["adam.adlb"].append({"USUBJID": "P-01", "LBSEQ": 60, "PARAMCD": "NEUT", "ADT": D(2026, 4, 1),
                              "ATOXGRL": 3, "ATOXGRH": 0, "_FILE": "lb.csv", "_ROW": 60})
    rows["adam.adae"].append({"USUBJID": "P-01", "AESEQ": 31, "AETERM": "Neutropenia ", "AEDECOD": None,
                              "AETOXGRN": 3, "ASTDT": D(2026, 3, 30), "DLTFL": None, "DLTCFL": None})
    got = _hits(_run(protocol, rows), "lab_ae_grade_mismatch").filter(pl.col("usubjid") == "P-01")
    assert got.height == 0, got["message"].to_list()


def test_an_ongoing_lab_type_ae_covers_the_later_lab_grades(protocol) -> None:
    """A grade 3 neutropenia AE without an end date is ongoing at the cut: the grade 3 ANC results three weeks
    after its onset belong to it (read as a one-day event, each asked for an AE of its own: 249 false findings in
    a 2,000-subject demo)."""
    rows = base_rows()
    rows["adam.adlb"] += [{"USUBJID": "P-01", "LBSEQ": 70 + i, "PARAMCD": "NEUT", "ADT": D(2026, 4, 1) + dt.timedelta(days=21 * i),
                           "ATOXGRL": 3, "ATOXGRH": 0, "_FILE": "lb.csv", "_ROW": 70 + i} for i in range(4)]
    rows["adam.adae"].append({"USUBJID": "P-01", "AESEQ": 32, "AEDECOD": "Neutrophil count decreased", "AETOXGRN": 3,
                              "ASTDT": D(2026, 4, 1), "AENDT": None, "DLTFL": None, "DLTCFL": None})
    got = _hits(_run(protocol, rows), "lab_ae_grade_mismatch").filter(pl.col("usubjid") == "P-01")
    assert got.height == 0, got["message"].to_list()


def test_lab_unit_unexpected_agrees_with_what_the_grading_converts(protocol) -> None:
    """A unit the lab grading converts (case, spaces and micro sign do not matter; INR and pH have no unit)
    is never 'unexpected'; one it cannot convert is. The CDISC pilot's urine pH had 874 such errors."""
    rows = base_rows()

    def lb(seq: int, test: str, unit: str | None) -> dict[str, Any]:
        return {"USUBJID": "P-02", "LBSEQ": seq, "LBTESTCD": test, "LBSTRESN": 1.0, "LBSTRESU": unit,
                "LBSTNRLO": 0.5, "LBSTNRHI": 1.5}

    rows["raw.lb"] = [r for r in rows["raw.lb"] if r["USUBJID"] != "P-02"] + [
        lb(10, "CREAT", "mg/dl"), lb(11, "CREAT", " \u00b5mol / L"), lb(12, "INR", None), lb(13, "PH", None),
        lb(14, "CREAT", "mmol"), lb(15, "NEUT", None),  # not convertible: findings
    ]
    got = _hits(_run(protocol, rows), "lab_unit_unexpected")
    assert got["record_key"].to_list() == ["LBSEQ=14", "LBSEQ=15"]
    assert "(no unit)" not in got["message"][0] and "mg/dL" in got["message"][0]


def test_ex_end_missing_for_daily_drug_records_only(protocol) -> None:
    """A daily apatinib record without a usable EXENDTC counts as one day of dosing (etl/derive/exposure.py),
    so days on drug and DLT evaluability may be understated: the data manager is told. Infusion records
    (one day each, no end date needed) and studies without the daily drug are not judged."""
    con = duckdb.connect()
    try:
        write_cut(con, base_rows())
        con.execute("""INSERT INTO raw.ex (USUBJID, EXSEQ, EXTRT, EXSTDTC, EXSTDTC_DT, EXENDTC, EXENDTC_DT, _FILE, _ROW)
            VALUES ('P-01', 90, 'APATINIB', '2026-01-05', DATE '2026-01-05', '2026-01-25', DATE '2026-01-25', 'ex.csv', 90),
                   ('P-01', 91, 'APATINIB', '2026-01-26', DATE '2026-01-26', NULL, NULL, 'ex.csv', 91),
                   ('P-02', 92, 'Apatinib ', '2026-01-05', DATE '2026-01-05', '2026-02-30', NULL, 'ex.csv', 92)""")
        run = run_checks(con, protocol, "C1")
    finally:
        con.close()
    got = _hits(run, "ex_end_missing")
    assert got["record_key"].to_list() == ["EXSEQ=91", "EXSEQ=92"]
    assert "no EXENDTC" in got["message"][0] and "counts as one day" in got["message"][0]
    assert "EXENDTC 2026-02-30 is not a date" in got["message"][1]
    assert got["severity"].unique().to_list() == ["warning"]


def test_ex_overlap_lists_records_whose_dosing_days_overlap(protocol) -> None:
    """Days on drug, DLT evaluability and dose intensity count a day on two EX records once
    (etl/derive/exposure.new_days): the data manager is told which records overlap. Adjacent records
    (a dose change on the next day) are not findings; a record of a dose not taken (0) inside a dosing record is
    (its days count as taken, so an interruption written that way is not seen)."""
    con = duckdb.connect()
    try:
        write_cut(con, base_rows())
        con.execute("""INSERT INTO raw.ex (USUBJID, EXSEQ, EXTRT, EXDOSE, EXSTDTC, EXSTDTC_DT, EXENDTC, EXENDTC_DT, _FILE, _ROW)
            VALUES ('P-01', 90, 'APATINIB', 250, '2026-03-01', DATE '2026-03-01', '2026-03-10', DATE '2026-03-10', 'ex.csv', 90),
                   ('P-01', 91, 'APATINIB', 125, '2026-03-10', DATE '2026-03-10', '2026-03-20', DATE '2026-03-20', 'ex.csv', 91),
                   ('P-01', 92, 'APATINIB', 125, '2026-03-21', DATE '2026-03-21', '2026-03-30', DATE '2026-03-30', 'ex.csv', 92),
                   ('P-01', 93, 'APATINIB', 0, '2026-03-25', DATE '2026-03-25', '2026-03-26', DATE '2026-03-26', 'ex.csv', 93),
                   ('P-02', 94, 'IRINOTECAN LIPOSOME', 50, '2026-03-02', DATE '2026-03-02', NULL, NULL, 'ex.csv', 94),
                   ('P-02', 95, 'IRINOTECAN LIPOSOME', 50, '2026-03-02', DATE '2026-03-02', NULL, NULL, 'ex.csv', 95)""")
        run = run_checks(con, protocol, "C1")
    finally:
        con.close()
    got = _hits(run, "ex_overlap")
    assert got["record_key"].to_list() == ["EXSEQ=91", "EXSEQ=93", "EXSEQ=95"]
    assert got["message"][1] == ("APATINIB 2026-03-25 to 2026-03-26 with EXDOSE 0 (not taken) lies inside EXSEQ=92 (dosed "
                                 "to 2026-03-30): 2 day(s) recorded both as taken and as not taken; they count as not "
                                 "taken for days on drug, DLT evaluability and dose intensity "
                                 "(etl/derive/exposure.without_days_not_taken)")
    assert got["message"][0] == ("APATINIB 2026-03-10 to 2026-03-20 overlaps EXSEQ=90 (dosed to 2026-03-10): 1 day(s) on two "
                                 "records; each day counts once for days on drug, DLT evaluability and dose intensity")
    assert got["message"][2].startswith("IRINOTECAN LIPOSOME 2026-03-02 overlaps EXSEQ=94 (dosed to 2026-03-02): 1 day(s)")
    assert got["severity"].unique().to_list() == ["warning"]


def test_ex_dates_inverted_is_an_error_naming_both_dates(protocol) -> None:
    """An EX record ending before it starts covers no day: its doses are missing from days on drug and
    DLT evaluability, so the data manager must have it corrected."""
    con = duckdb.connect()
    try:
        write_cut(con, base_rows())
        con.execute("""INSERT INTO raw.ex (USUBJID, EXSEQ, EXTRT, EXDOSE, EXSTDTC, EXSTDTC_DT, EXENDTC, EXENDTC_DT, _FILE, _ROW)
            VALUES ('P-01', 90, 'APATINIB', 250, '2026-03-21', DATE '2026-03-21', '2026-03-12', DATE '2026-03-12', 'ex.csv', 90),
                   ('P-01', 91, 'APATINIB', 250, '2026-03-22', DATE '2026-03-22', '2026-03-22', DATE '2026-03-22', 'ex.csv', 91)""")
        run = run_checks(con, protocol, "C1")
    finally:
        con.close()
    got = _hits(run, "ex_dates_inverted")
    assert got["record_key"].to_list() == ["EXSEQ=90"]
    assert got["message"][0] == ("APATINIB: EXENDTC 2026-03-12 is before EXSTDTC 2026-03-21, so the record counts as no day "
                                 "of dosing (days on drug, DLT evaluability, dose intensity)")
    assert got["severity"].unique().to_list() == ["error"]


def test_date_in_future_finds_a_typed_year_but_not_this_month(protocol) -> None:
    """An AE onset typed 2062 for 2026 falls outside the DLT window: a grade 4 event would leave DLT
    review. A partial date is a finding only when its whole period lies after today."""
    today = dt.date.today()
    this_month = today.strftime("%Y-%m")  # partial: its first day is not after today
    con = duckdb.connect()
    try:
        write_cut(con, base_rows())
        con.execute("""INSERT INTO raw.ae (USUBJID, AESEQ, AETERM, AETOXGR, AESER, AESTDTC, AESTDTC_DT, AESTDTC_DTF,
                                           AEENDTC, AEENDTC_DT, AEENDTC_DTF, _FILE, _ROW)
            VALUES ('P-01', 90, 'Neutropenia', '4', 'N', '2062-03-15', DATE '2062-03-15', NULL, NULL, NULL, NULL, 'ae.csv', 90),
                   ('P-01', 91, 'Nausea', '1', 'N', '2026-03-15', DATE '2026-03-15', NULL, '2099', DATE '2099-12-31', 'M',
                    'ae.csv', 91),
                   ('P-02', 92, 'Rash', '1', 'N', ?, CAST(? AS DATE), 'D', NULL, NULL, NULL, 'ae.csv', 92)""",
                    [this_month, today.replace(day=1)])
        run = run_checks(con, protocol, "C1")
    finally:
        con.close()
    got = _hits(run, "date_in_future")
    assert got["record_key"].to_list() == ["AESEQ=90", "AESEQ=91"]
    assert got["message"][0].startswith(f"AESTDTC 2062-03-15 is after today ({today.isoformat()}): a date in the future")
    assert got["message"][1].startswith("AEENDTC 2099 is after today")
    assert got["severity"].unique().to_list() == ["error"]


def test_result_stresc_mismatch_flags_a_standard_number_that_is_not_its_text(protocol) -> None:
    """A real SAS-made VS (MPrithvidhar/SDTM-Project, vs.xpt): VSSTRESC '63' with VSSTRESN 6.3 in 3,049 of 3,075
    rows, so every diastolic pressure is analysed as 6 mmHg. SDTMIG 3.3: --STRESN is copied from --STRESC."""
    con = duckdb.connect()
    try:
        write_cut(con, base_rows())
        vs = [("P-01", 1, "DIABP", "63", 6.3), ("P-01", 2, "SYSBP", "120", 120.0),
              ("P-01", 3, "WEIGHT", "16.58", 16.5779),  # agrees at the text's precision
              ("P-01", 4, "TEMP", " 36.6 ", 36.6), ("P-01", 5, "HEIGHT", "-", None),
              ("P-01", 6, "PULSE", "72", None),  # a number that never reached VSSTRESN: not analysed
              ("P-01", 7, "OTHER", "NEGATIVE", None), ("P-01", 8, "BMI", "<18.5", None)]
        frame = pl.DataFrame([{"USUBJID": u, "VSSEQ": q, "VSTESTCD": t, "VSSTRESC": c, "VSSTRESN": n,
                               "VSSTRESU": None, "VISIT": "C1D1", "VISITNUM": 101.0, "VSDTC_DT": D(2026, 1, 5),
                               "_FILE": "vs.csv", "_ROW": q + 1} for u, q, t, c, n in vs],
                             schema_overrides={"VSSTRESN": pl.Float64, "VSSTRESU": pl.String})
        con.register("_vs", frame)
        con.execute("CREATE OR REPLACE TABLE raw.vs AS SELECT * FROM _vs")
        con.execute("CREATE TABLE raw.eg AS SELECT 'P-01' AS USUBJID, 1::BIGINT AS EGSEQ, 'QTCF' AS EGTESTCD, "
                    "'450' AS EGSTRESC, 45.0 AS EGSTRESN, 'eg.csv' AS _FILE, 2::BIGINT AS _ROW")
        run = run_checks(con, protocol, "C1")
    finally:
        con.close()
    got = _hits(run, "result_stresc_mismatch").sort("domain", "record_key")
    assert got.select("domain", "record_key").rows() == [("EG", "EGSEQ=1"), ("VS", "VSSEQ=1"), ("VS", "VSSEQ=6")]
    msgs = got["message"].to_list()
    assert msgs[0] == "QTCF: EGSTRESC '450' but EGSTRESN 45.0 (the analysis and grades read EGSTRESN)"
    assert msgs[1] == "DIABP: VSSTRESC '63' but VSSTRESN 6.3 (the analysis and grades read VSSTRESN)"
    assert msgs[2] == "PULSE: VSSTRESC '72' but VSSTRESN empty (the result is not analysed or graded)"
    assert got.filter(pl.col("domain") == "VS")["row_number"].to_list() == [2, 7]


def test_visit_number_mismatch_when_the_study_numbers_visits_by_cycle_and_day(protocol) -> None:
    """C2D1 typed with VISITNUM 208 (C2D8's number: SV's key, so one of the two would be a duplicate key):
    a warning on that visit. A study numbering its visits otherwise (1, 2, 3 ...) is not judged."""
    from tests.checks.handmade_cut import _sv

    rows = base_rows()
    rows["adam.adsv"] = [r for r in rows["adam.adsv"] if not (r["USUBJID"] == "P-02" and r["AVISITCY"] == 2)] + [
        _sv("P-02", 2, 1, D(2026, 2, 9), VISITNUM=208.0, _ROW=9)]
    got = _hits(_run(protocol, rows), "visit_number_mismatch")
    assert got.select("usubjid", "record_key", "message", "row_number").rows() == [
        ("P-02", "VISITNUM=208", "C2D1 has VISITNUM 208, not 201 (100 x cycle + day)", 9)]
    for r in rows["adam.adsv"]:  # the sponsor's own numbering: most visits are not 100 x cycle + day
        if r["_ROW"] is not None:
            r["VISITNUM"] = float(r["AVISITDY"])
    run = _run(protocol, rows)
    assert _hits(run, "visit_number_mismatch").height == 0
    assert run.skipped["visit_numbers"].startswith("not applicable: SV has no scheduled visit")


def test_vs_implausible_says_the_range_is_for_this_trials_patients(protocol) -> None:
    """pharmaversesdtm's peds VS (ages 1-2, heights 54-103 cm): 62 findings, right for a trial of patients aged
    12-65, and the message says which population the range is for."""
    rows = base_rows()
    rows["raw.vs"].append(_vs("P-01", 50, "HEIGHT", 74.1, "C1D1", D(2026, 1, 5)))
    got = _hits(_run(protocol, rows), "vs_implausible").filter(pl.col("record_key") == "VSSEQ=50")
    assert got["message"].to_list() == [
        "HEIGHT 74.1 outside 90.0-230.0 (data/checks.toml: plausible in this trial's patients, aged 12-65)"]
