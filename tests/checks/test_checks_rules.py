"""Every check on a small hand-made cut: the planted record is flagged, the clean ones are not."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from checks.runner import CheckRun, run_checks
from tests.checks.handmade_cut import EXPECTED, SCHEMAS, base_rows, write_cut


@pytest.fixture(scope="module")
def handmade_run(protocol) -> tuple[CheckRun, pl.DataFrame]:
    con = duckdb.connect()
    write_cut(con, base_rows("C1"))
    run = run_checks(con, protocol, "C1")
    stored = con.sql("SELECT * FROM meta.findings").pl()
    con.close()
    return run, stored


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_check_flags_exactly_the_planted_records(handmade_run, check_id: str) -> None:
    run, _ = handmade_run
    got = run.findings.filter(pl.col("check_id") == check_id)
    assert set(zip(got["usubjid"], got["record_key"], strict=True)) == EXPECTED[check_id]


def test_no_expectation_raised_and_nothing_skipped(handmade_run) -> None:
    run, _ = handmade_run
    assert run.gx_exceptions == []
    assert run.skipped == {}


def test_clean_subject_has_no_finding(handmade_run) -> None:
    run, _ = handmade_run
    assert run.findings.filter(pl.col("usubjid") == "P-01").height == 0


def test_findings_stored_with_severity_site_and_trace(handmade_run) -> None:
    run, stored = handmade_run
    assert stored.height == run.findings.height
    assert set(stored["status"]) == {"new"} and set(stored["cut_id"]) == {"C1"}
    missing = stored.filter(pl.col("check_id") == "ae_grade_missing").row(0, named=True)
    assert missing["severity"] == "error" and missing["site"] == "02"
    assert (missing["file"], missing["row_number"]) == ("ae.csv", 1)
    oow = stored.filter(pl.col("check_id") == "visit_out_of_window").row(0, named=True)
    assert oow["severity"] == "warning" and "+5 d" in oow["message"]


def test_summary_counts(handmade_run) -> None:
    run, _ = handmade_run
    summary = run.summary()
    by_check = summary["by_check"]
    assert by_check["eligibility_bp"]["open"] == 1 and by_check["eligibility_bp"]["severity"] == "error"
    n_err = sum(len(v) for k, v in EXPECTED.items() if by_check[k]["severity"] == "error")
    assert summary["by_severity"]["error"] == n_err
    assert summary["open"] == sum(len(v) for v in EXPECTED.values())


def test_gate_counts_open_findings_at_or_above(handmade_run) -> None:
    run, _ = handmade_run
    errors = run.by_severity()["error"]
    assert run.gate("error") == errors
    assert run.gate("warning") == errors + run.by_severity()["warning"]
    assert run.gate(None) == 0


def test_a_frame_that_cannot_run_is_reported_not_fatal(protocol) -> None:
    con = duckdb.connect()
    write_cut(con, base_rows("C1"))
    # a column of the wrong type (an optional variable that is absent is read as empty instead: below)
    con.execute("ALTER TABLE raw.vs ALTER COLUMN VSSTRESN TYPE VARCHAR")
    run = run_checks(con, protocol, "C1")
    assert run.skipped["vs"].startswith("cannot run: Binder Error"), run.skipped
    assert run.summary()["skipped"] == run.skipped
    assert run.findings.filter(pl.col("check_id") == "ae_grade_missing").height == 1  # the other checks ran
    con.close()


def test_an_absent_optional_variable_is_read_as_empty_and_reported(protocol) -> None:
    con = duckdb.connect()
    write_cut(con, base_rows("C1"))
    con.execute("ALTER TABLE raw.vs DROP COLUMN VSSTRESN")
    run = run_checks(con, protocol, "C1")
    assert "vs" not in run.skipped and run.columns_absent == {"raw.vs": ["VSSTRESN"]}
    assert run.summary()["columns_absent"] == {"raw.vs": ["VSSTRESN"]}
    # no SBP/DBP value at screening: eligibility cannot be verified, said per subject, never 'eligible'
    bp = run.findings.filter(pl.col("check_id") == "eligibility_bp")
    assert bp.height and bp["message"].str.contains("not verifiable").all(), bp["message"].to_list()
    con.close()


def test_missing_optional_ae_column_flags_every_ae(protocol) -> None:
    con = duckdb.connect()
    write_cut(con, base_rows("C1"))
    con.execute("ALTER TABLE raw.ae DROP COLUMN AETOXGR")
    run = run_checks(con, protocol, "C1")
    n_ae = con.execute("SELECT count(*) FROM raw.ae").fetchall()[0][0]
    assert run.findings.filter(pl.col("check_id") == "ae_grade_missing").height == n_ae
    assert run.findings.filter(pl.col("check_id") == "ae_grade_invalid").height == 0
    con.close()


def test_exposure_gap_counts_up_to_the_last_infusion_even_after_trtedt(protocol) -> None:
    """ADSL TRTEDT before the last nal-IRI record must not hide the missing infusion before it."""
    import datetime as dt

    rows = base_rows("C1")
    for r in rows["adam.adsl"]:
        if r["USUBJID"] == "P-02":
            r["TRTEDT"] = dt.date(2026, 1, 10)
    rows["raw.ex"] = [{"USUBJID": "P-02", "EXSEQ": 1, "EXTRT": "IRINOTECAN LIPOSOME", "EXSTDTC_DT": dt.date(2026, 1, 5)},
                      {"USUBJID": "P-02", "EXSEQ": 2, "EXTRT": "IRINOTECAN LIPOSOME", "EXSTDTC_DT": dt.date(2026, 1, 19)}]
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    got = run.findings.filter(pl.col("check_id") == "exposure_gap_in_dlt_window")
    assert set(zip(got["usubjid"], got["record_key"], strict=True)) == {("P-02", "CYCLE=1")}
    assert "3 planned" in got["message"][0]
    con.close()


@pytest.mark.parametrize(("cut", "expected"), [(18, 2), (19, 2), (20, 2), (21, 3)])
def test_an_infusion_is_due_at_the_cut_only_once_its_window_has_passed(protocol, cut: int, expected: int) -> None:
    """C1D15 is planned on 2026-01-19 with a window of +2 days (protocol [schedule.windows] d15): at a cut on 01-19
    or 01-20 it may still be given, so only C1D1 and C1D8 are due; on 01-21 all three are."""
    import datetime as dt

    rows = base_rows("C1")
    c1 = dt.date(2026, 1, 5)
    rows["adam.adsl"] = [{"USUBJID": "P-01", "SITEID": "01", "TRTSDT": c1, "TRTEDT": dt.date(2026, 2, 28), "DLTWEND": dt.date(2026, 2, 15),
                          "SAFFL": "Y", "DOSELVL": 2}]
    rows["adam.adex"] = [{"USUBJID": "P-01", "CYCLE": 1, "CYSTDT": c1, "IRIINF": 1}]
    rows["raw.ex"] = [{"USUBJID": "P-01", "EXSEQ": 1, "EXTRT": "IRINOTECAN LIPOSOME", "EXSTDTC_DT": c1}]
    rows["meta.loads"][0]["cut_date"] = dt.date(2026, 1, cut)
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    con.close()
    got = run.findings.filter((pl.col("check_id") == "exposure_gap_in_dlt_window") & (pl.col("usubjid") == "P-01"))
    assert got["message"].to_list() == [
        f"cycle 1: 1 nal-IRI infusion(s) recorded, {expected} planned by 2026-01-{cut} (DLT window)"]


def test_lab_predose_window_edges_follow_the_protocol_hours(protocol) -> None:
    """DOMAIN.md 6: labs within 72 h before dosing. By date: 3 days before counts, 4 days before does not, a draw
    after the infusion does not; a record of dose 0 is no infusion. With 48 h in the protocol, 3 days is too early."""
    import dataclasses
    import datetime as dt

    rows = base_rows("C1")
    day = dt.date(2026, 3, 10)
    infusions = [(day, 10.0, None), (day + dt.timedelta(days=7), 0.0, None), (day + dt.timedelta(days=14), 50.0, None),
                 (day + dt.timedelta(days=21), 50.0, None), (dt.date(2026, 5, 1), 50.0, "D")]  # '2026-05': not judged
    rows["raw.ex"] = [{"USUBJID": "P-01", "EXSEQ": i + 1, "EXTRT": "Irinotecan Liposome ", "EXDOSE": dose,
                       "EXSTDTC_DT": d, "EXSTDTC_DTF": dtf, "_FILE": "ex.csv", "_ROW": i + 1}
                      for i, (d, dose, dtf) in enumerate(infusions)]
    # the last draw's date is partial (LBDTC_DTF 'D'): its imputed day, EXSEQ=4's day here, clears nothing
    draws = [(day - dt.timedelta(days=3), None), (day + dt.timedelta(days=14 - 4), None), (day + dt.timedelta(days=22), None),
             (day + dt.timedelta(days=21), "D")]
    rows["raw.lb"] = [{"USUBJID": "P-01", "LBSEQ": i + 1, "LBTESTCD": "ALT", "LBSTRESN": 30.0, "LBSTRESU": "U/L",
                       "LBSTNRLO": 0.0, "LBSTNRHI": 40.0, "LBDTC_DT": d, "LBDTC_DTF": dtf} for i, (d, dtf) in enumerate(draws)]

    def flagged(p) -> dict[str, str]:
        con = duckdb.connect()
        write_cut(con, rows)
        got = run_checks(con, p, "C1").findings.filter(pl.col("check_id") == "lab_predose_missing")
        con.close()
        return dict(zip(got["record_key"], got["message"], strict=True))

    got = flagged(protocol)
    assert set(got) == {"EXSEQ=3", "EXSEQ=4"}  # 4 days before; the only draw is the day after
    assert got["EXSEQ=3"] == "nal-IRI infusion on 2026-03-24: no lab draw from 2026-03-21 to the infusion day (labs are due within 72 h before dosing)"
    assert set(flagged(dataclasses.replace(protocol, lab_before_dose_hours=48))) == {"EXSEQ=1", "EXSEQ=3", "EXSEQ=4"}


def test_ex_missing_names_patients_on_treatment_without_a_dose_in_ex(protocol) -> None:
    """DOMAIN.md 6 "patient in the DLT window without complete exposure records": DM says the first dose was
    given (RFXSTDTC) or a C<n>D<d> visit took place, yet EX has no dose, so the escalation counts the patient
    as neither treated nor evaluable. A subject with neither (never dosed) is no finding."""
    import datetime as dt

    from tests.checks.handmade_cut import _sv

    rows = base_rows("C1")
    rows["raw.dm"] += [{"USUBJID": s, "SITEID": "01", "AGE": 40.0, "RFXSTDTC_DT": rfx}
                       for s, rfx in (("P-04", dt.date(2026, 1, 7)), ("P-05", None), ("P-06", None))]
    rows["adam.adsl"] += [{"USUBJID": s, "SITEID": "01", "SAFFL": "N"} for s in ("P-04", "P-05", "P-06")]
    rows["adam.adsv"] += [_sv("P-05", 1, 1, dt.date(2026, 1, 9)), _sv("P-05", 1, 8, dt.date(2026, 1, 16))]
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    con.close()
    got = run.findings.filter(pl.col("check_id") == "ex_missing").sort("usubjid")
    assert got.select("usubjid", "record_key").rows() == [("P-04", "USUBJID=P-04"), ("P-05", "USUBJID=P-05")]
    assert got["message"].to_list() == [
        "DM RFXSTDTC 2026-01-07, but no EX record of a dose given: the patient is counted as neither treated nor DLT-evaluable",
        "visit C1D1 on 2026-01-09, but no EX record of a dose given: the patient is counted as neither treated nor DLT-evaluable",
    ]


def test_ae_grade_outside_the_terms_ctcae_grades(protocol) -> None:
    """CTCAE v5.0: febrile neutropenia is graded 3-5 (DOMAIN.md 2 "no grade 1 or 2"), palmar-plantar
    erythrodysesthesia 1-3; a grade outside them decides a DLT rule wrongly, so it is an error to query."""
    from tests.checks.handmade_cut import _ae

    rows = base_rows("C1")
    rows["raw.ae"] = [
        _ae("P-01", 1, AEDECOD="Febrile neutropenia", AETOXGR="2"),
        _ae("P-01", 2, AEDECOD="FEBRILE NEUTROPENIA", AETOXGR="3"),
        _ae("P-01", 3, AEDECOD=None, AETERM="Hand-foot skin reaction ", AETOXGR="4"),
        _ae("P-01", 4, AEDECOD="Palmar-plantar erythrodysesthesia syndrome", AETOXGR="3"),
        _ae("P-01", 5, AEDECOD="Fatigue", AETOXGR="1"),
        _ae("P-01", 6, AEDECOD="Febrile neutropenia", AETOXGR="6"),  # not a grade at all: ae_grade_invalid
    ]
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    con.close()
    got = run.findings.filter(pl.col("check_id") == "ae_grade_term_range").sort("record_key")
    assert got["record_key"].to_list() == ["AESEQ=1", "AESEQ=3"]
    assert got["message"].to_list() == [
        "AETOXGR 2 is not a CTCAE v5.0 grade of FEBRILE NEUTROPENIA (graded 3-5 only): the DLT rule on its grade "
        "cannot be applied as recorded",
        "AETOXGR 4 is not a CTCAE v5.0 grade of HAND-FOOT SKIN REACTION (graded 1-3 only): the DLT rule on its grade "
        "cannot be applied as recorded",
    ]
    assert set(got["severity"]) == {"error"}


def test_ae_grade_text_is_read_as_adae_reads_it(protocol) -> None:
    """'3.0' (a numeric export), 'Grade 2', 'G4' are grades adam.adae reads: a warning that says which grade was
    read, not an error claiming there is no grade; 'Grade 6' and 'severe' are no CTCAE grade (error). The
    term-range check reads the grade the same way, so an FN recorded as 'Grade 2' is still caught."""
    from etl.derive.adae import compute_grade
    from tests.checks.handmade_cut import _ae

    grades = {1: "3.0", 2: "Grade 2", 3: "G4", 4: "Grade 6", 5: "severe", 6: "3"}
    rows = base_rows("C1")
    rows["raw.ae"] = [_ae("P-01", seq, AEDECOD="Fatigue", AETOXGR=g) for seq, g in grades.items()]
    rows["raw.ae"].append(_ae("P-01", 7, AEDECOD="Febrile neutropenia", AETOXGR="Grade 2"))
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    con.close()

    def hits(check_id: str) -> dict[str, tuple[str, str]]:
        got = run.findings.filter(pl.col("check_id") == check_id)
        return {k: (s, m) for k, s, m in got.select("record_key", "severity", "message").iter_rows()}

    read = pl.DataFrame({"g": list(grades.values())}).select(compute_grade(pl.col("g")))["g"].to_list()
    assert read == [3, 2, 4, None, None, 3]
    assert hits("ae_grade_nonstandard") == {
        "AESEQ=1": ("warning", "AETOXGR '3.0' read as grade 3 (Term 1); SDTM records the grade as 1, 2, 3, 4, 5"),
        "AESEQ=2": ("warning", "AETOXGR 'Grade 2' read as grade 2 (Term 2); SDTM records the grade as 1, 2, 3, 4, 5"),
        "AESEQ=3": ("warning", "AETOXGR 'G4' read as grade 4 (Term 3); SDTM records the grade as 1, 2, 3, 4, 5"),
        "AESEQ=7": ("warning", "AETOXGR 'Grade 2' read as grade 2 (Term 7); SDTM records the grade as 1, 2, 3, 4, 5"),
    }
    invalid = hits("ae_grade_invalid")
    assert set(invalid) == {"AESEQ=4", "AESEQ=5"}
    assert invalid["AESEQ=4"] == ("error", "AETOXGR 'Grade 6' is not a CTCAE grade 1-5 (Term 4): the AE is left "
                                           "ungraded, so no grade-based DLT rule or grade count includes it")
    assert set(hits("ae_grade_term_range")) == {"AESEQ=7"}


def test_every_graded_lab_direction_has_ae_terms() -> None:
    # lab_ae_grade_mismatch looks for an AE of the term that matches a lab grade: a parameter and direction
    # the CTCAE criteria grade but data/checks.toml [lab_ae_terms] does not name would flag every grade 3
    # result of it as "without a matching AE", whatever the AE data say
    from checks.config import load_checks_config
    from etl.derive.lab_grades import lab_criteria

    terms = load_checks_config().lab_ae_terms
    graded = {f"{p}_{d}" for p, d in lab_criteria().select("paramcd", "direction").unique().iter_rows()}
    assert sorted(graded - set(terms)) == []
    assert all(terms[k] for k in graded)


def test_rows_checked_counts_the_records_judged_not_the_findings(protocol) -> None:
    """`rows_checked` (the CLI's 'checked' column) said 0 for date_invalid, subject_unknown and record_duplicate
    on every clean cut: their SQL returns the failing records only. It now counts the records each rule judged,
    also for a large table validated on its failing rows only."""
    import dataclasses

    from checks.config import load_checks_config

    rows = base_rows("C1")
    raw = {name: len(v) for name, v in rows.items() if name.startswith("raw.")}
    with_subject = sum(sum(1 for r in v if r.get("USUBJID") is not None)
                       for name, v in rows.items() if name.startswith("raw.") and name != "raw.dm")
    # tables with a date as the loader types it (<DTC>, <DTC>_DT, <DTC>_DTF); AESTDTC/AEENDTC are ae_date_invalid's
    dated = sum(n for name, n in raw.items() if name != "raw.ae"
                and any(c.endswith("DTC_DTF") and c[:-4] in SCHEMAS[name] for c in SCHEMAS[name]))
    assert dated > 0
    for max_rows in (None, 1):  # 1: every frame over a table is validated on its failing rows only
        cfg = load_checks_config()
        if max_rows is not None:
            cfg = dataclasses.replace(cfg, gx_max_rows=max_rows)
        con = duckdb.connect()
        write_cut(con, rows)
        by_check = run_checks(con, protocol, "C1", config=cfg).summary()["by_check"]
        con.close()
        assert by_check["subject_unknown"]["rows_checked"] == with_subject
        assert by_check["date_invalid"]["rows_checked"] == dated
        assert by_check["lab_range_missing"]["rows_checked"] == raw["raw.lb"]
        assert by_check["vs_implausible"]["rows_checked"] == raw["raw.vs"]


def test_dlt_flag_without_a_verdict_is_said_so_not_called_a_disagreement(protocol) -> None:
    """SUPPAE AEDLT 'U' (CDISC NY: unknown) is no investigator verdict (adam.adsl DLTUNDFL): the finding stays on
    the list, since the event needs adjudication, but its message says the flag is no verdict; Y against N is
    worded as a disagreement; an undecided rule verdict (DLTCFL NULL) is no finding."""
    rows = base_rows("C1")
    rows["adam.adae"] = [
        {"USUBJID": "P-01", "AESEQ": 1, "AEDECOD": "Neutropenia", "AETOXGRN": 4, "DLTFL": "U", "DLTCFL": "Y",
         "DLTRULE": "grade 4 neutropenia > 7 days"},
        {"USUBJID": "P-01", "AESEQ": 2, "AEDECOD": "Fatigue", "AETOXGRN": 3, "DLTFL": "N", "DLTCFL": "Y",
         "DLTRULE": "non-hematologic grade >= 3"},
        {"USUBJID": "P-01", "AESEQ": 3, "AEDECOD": "Diarrhoea", "AETOXGRN": 3, "DLTFL": "U", "DLTCFL": None},
        {"USUBJID": "P-01", "AESEQ": 4, "AEDECOD": "Nausea", "AETOXGRN": 1, "DLTFL": "N", "DLTCFL": "N"},
    ]
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    con.close()
    got = run.findings.filter(pl.col("check_id") == "dlt_flag_mismatch").sort("record_key")
    assert got["message"].to_list() == [
        "investigator DLT flag 'U' is no verdict (Y or N expected), protocol rules say Y (grade 4 neutropenia > 7 days): "
        "Neutropenia grade 4",
        "investigator DLT flag N but protocol rules say Y (non-hematologic grade >= 3): Fatigue grade 3",
    ]


def test_a_worst_case_lab_grade_asks_for_no_ae(protocol) -> None:
    """Urate > ULN is grade 3 only as admiral's worst case (CTCAE v5: grade 3 "with physiologic consequences", which
    the value cannot show; adam.adlb ATOXWCH 'Y'): no grade 3 AE is expected for it. A certain grade 4 still is, and
    its message gives the value."""
    import datetime as dt

    rows = base_rows("C1")
    rows["adam.adae"] = []
    rows["adam.adlb"] = [
        {"USUBJID": "P-01", "LBSEQ": 1, "PARAMCD": "URATE", "ADT": dt.date(2026, 2, 1), "ATOXGRL": None, "ATOXGRH": 3,
         "ATOXWCH": "Y", "AVAL": 446.1, "AVALU": "umol/L"},
        {"USUBJID": "P-01", "LBSEQ": 2, "PARAMCD": "NEUT", "ADT": dt.date(2026, 2, 1), "ATOXGRL": 4, "ATOXGRH": None,
         "AVAL": 0.42, "AVALU": "10^9/L"},
    ]
    con = duckdb.connect()
    write_cut(con, rows)
    run = run_checks(con, protocol, "C1")
    con.close()
    got = run.findings.filter(pl.col("check_id") == "lab_ae_grade_mismatch")
    assert got["record_key"].to_list() == ["LBSEQ=2"]
    assert got["message"][0] == "lab grade 4 (NEUT_L) 0.42 10^9/L on 2026-02-01 without a matching AE of grade >= 3 within 7 days"


def test_messages_name_the_variable_and_write_whole_ages_without_decimals(handmade_run) -> None:
    """A data manager reads the message, not the SQL: record_after_death names the date variable (and the visit when
    the domain has one); eligibility_age writes AGE 71, not 71.0."""
    run, _ = handmade_run
    msg = dict(zip(run.findings["check_id"], run.findings["message"], strict=False))
    assert msg["record_after_death"].startswith("AESTDTC 2026-") and "is after the death on 2026-05-10" in msg["record_after_death"]
    assert msg["eligibility_age"].startswith("AGE ") and ".0 " not in msg["eligibility_age"]


def test_a_column_named_with_quotes_does_not_stop_the_duplicate_check(protocol) -> None:
    # an export's free-text column 'Comment "free text"' (a CSV header 'Comment ""free text""'): every column is
    # content for record_duplicate, and an unescaped name stopped it for the whole domain (Binder Error)
    con = duckdb.connect()
    write_cut(con, base_rows("C1"))
    con.execute('ALTER TABLE raw.ae ADD COLUMN "COMMENT ""FREE TEXT""" VARCHAR')
    copied = con.execute("SELECT _ROW FROM raw.ae ORDER BY _ROW LIMIT 1").fetchall()[0][0]
    con.execute("INSERT INTO raw.ae SELECT * REPLACE (AESEQ + 100 AS AESEQ, _ROW + 1000 AS _ROW) FROM raw.ae "
                "WHERE _ROW = ?", [copied])
    run = run_checks(con, protocol, "C1")
    assert not any(k.startswith("dup_") for k in run.skipped), run.skipped
    dups = run.findings.filter((pl.col("check_id") == "record_duplicate") & (pl.col("domain") == "AE"))
    assert copied + 1000 in dups["row_number"].to_list()
