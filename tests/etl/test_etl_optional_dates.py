"""An invalid optional date keeps its record (an AE never leaves DLT review over a date typo)."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from etl.loader import load_export
from safetyboard.protocol import Protocol
from tests.etl.etl_sample_export import AE


def test_invalid_ae_dates_keep_the_event_with_the_date_unknown(make_export, tmp_path: Path, protocol: Protocol) -> None:
    ae = [
        dict(AE[0], AEENDTC="2026-02-30"),          # impossible end date
        dict(AE[1], AESTDTC="2026-13-01", AETOXGR="4"),  # impossible onset of a grade 4 event
    ]
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(make_export(ae=ae), db, protocol, run_checks=True)
    assert result.domains["ae"].rows_loaded == 2 and result.domains["ae"].rows_quarantined == 0
    with duckdb.connect(str(db), read_only=True) as con:
        raw = con.sql('SELECT AESEQ, USUBJID, AEENDTC, AEENDTC_DT, AEENDTC_DTF, AESTDTC_DT, AESTDTC_DTF FROM raw.ae ORDER BY USUBJID').pl()
        adae = con.sql("SELECT USUBJID, AETOXGRN, ASTDT, DLTWINFL, DLTCFL FROM adam.adae ORDER BY USUBJID").pl()
        findings = con.sql("SELECT usubjid, record_key, severity FROM meta.findings WHERE check_id = 'ae_date_invalid' ORDER BY usubjid").pl()
    assert raw["AEENDTC"][0] == "2026-02-30" and raw["AEENDTC_DT"][0] is None and raw["AEENDTC_DTF"][0] == "X"
    assert raw["AESTDTC_DT"][1] is None and raw["AESTDTC_DTF"][1] == "X"
    # the grade 4 event is still in the analysis, its DLT status undecided rather than 'N'
    g4 = adae.filter(adae["AETOXGRN"] == 4)
    assert g4.height == 1 and g4["ASTDT"][0] is None and g4["DLTCFL"][0] is None
    assert findings["usubjid"].to_list() == ["S-001", "S-002"]
    assert set(findings["severity"]) == {"error"}


def test_invalid_optional_dates_of_other_domains_are_reported(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """A death date, a reference start or an exposure end that is no date loads with the date unknown (the
    record stays): the data manager is told which value, and a plain number is named as a likely SAS date
    (a SAS-made CSV writes RFSTDTC 23403 for 2024-01-27)."""
    from tests.etl.etl_sample_export import DM, EX

    ae = [dict(AE[0], AESTDTC="23432"), *AE[1:]]
    dm = [dict(DM[0], RFSTDTC="23403", DTHDTC=""), dict(DM[1], DTHDTC="2026-02-30"), *(dict(r, DTHDTC="") for r in DM[2:])]
    ex = [dict(EX[0], EXENDTC="2026-02-15T25:00"), *EX[1:]]
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(make_export(dm=dm, ex=ex, ae=ae), db, protocol, run_checks=True)
    assert result.domains["dm"].rows_quarantined == 0 and result.domains["ex"].rows_quarantined == 0
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.sql("SELECT domain, usubjid, record_key, severity, message FROM meta.findings "
                      "WHERE check_id = 'date_invalid' ORDER BY domain, usubjid").fetchall()
        ae_msg = con.sql("SELECT message FROM meta.findings WHERE check_id = 'ae_date_invalid'").fetchall()
        deaths = con.sql("SELECT USUBJID, DTHFL, DTHDT FROM adam.adsl ORDER BY USUBJID").fetchall()
    hint = ("; it is a number (a SAS date counts days since 1960-01-01, an Excel date days since 1899-12-30), "
            "and dates must be ISO 8601 text")
    assert got == [
        ("DM", "S-001", "USUBJID=S-001", "error",
         "RFSTDTC '23403' is not a valid ISO 8601 date: kept as text, the date is unknown" + hint),
        ("DM", "S-002", "USUBJID=S-002", "error",
         "DTHDTC '2026-02-30' is not a valid ISO 8601 date: kept as text, the date is unknown"),
        ("EX", "S-001", "EXSEQ=1", "error",
         "EXENDTC '2026-02-15T25:00' is not a valid ISO 8601 date: kept as text, the date is unknown"),
    ]
    # the death with an invalid date is still a death (its date unknown)
    assert [d for d in deaths if d[0] in ("S-001", "S-002")] == [("S-001", None, None), ("S-002", "Y", None)]
    # AE's own check (ae_date_invalid) names the likely SAS date too, and AE is not reported twice
    assert len(ae_msg) == 1  # the date that is invalid is named, and why
    assert ae_msg[0][0] == ("AESTDTC '23432' is not a valid ISO 8601 date (" + hint.removeprefix("; ") + "): kept as "
                            "text, the date is unknown (the DLT window cannot place the AE)")


def test_an_ae_with_an_unknown_onset_counts_as_treatment_emergent(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """admiral derive_var_trtemfl: an onset that is not known is treatment-emergent unless the end date proves
    the event was over before the first dose, so that a typo in AESTDTC never drops an event from the
    treatment-emergent counts (the heatmap's TRTEMFL = 'Y' filter)."""
    ae = [
        dict(AE[0], AESTDTC="2026-13-01", AEENDTC=""),          # invalid onset, no end: treatment-emergent
        dict(AE[1], AESTDTC="", AEENDTC="2026-01-02"),          # no onset, ended before the first dose (2026-01-05)
    ]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(ae=ae), db, protocol, run_checks=False)
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.sql("SELECT USUBJID, ASTDT, TRTEMFL FROM adam.adae ORDER BY USUBJID").fetchall()
    assert got == [("S-001", None, "Y"), ("S-002", None, "N")]


def test_an_ae_while_apatinib_is_still_being_taken_is_treatment_emergent(make_export, tmp_path: Path,
                                                                         protocol: Protocol) -> None:
    """A live trial's cut finds patients still on apatinib: their last EX record has no EXENDTC yet. TRTEDT is
    then only the last day known (the record's start), and an AE 30 days after it is not 'after treatment':
    the treatment-emergent window stays open (ADSL TRTONGFL Y). When DM gives RFXENDTC, treatment ended then
    (TRTEDT, and the window closes 30 days later)."""
    from tests.etl.etl_sample_export import DM, EX

    ex = [dict(EX[0], EXENDTC=""), EX[1], dict(EX[2], EXENDTC=""), EX[3]]
    dm = [dict(DM[0], RFXENDTC=""), dict(DM[1], RFXENDTC="2026-02-20")]  # S-002: DM says treatment ended
    ae = [dict(AE[0], AESTDTC="2026-04-20", AEENDTC="2026-04-25"), dict(AE[1], AESTDTC="2026-03-10", AEENDTC=""),
          dict(AE[1], AESEQ="2", AESTDTC="2026-04-20", AEENDTC="")]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(dm=dm, ex=ex, ae=ae), db, protocol, run_checks=False)
    with duckdb.connect(str(db), read_only=True) as con:
        adsl = con.sql("SELECT USUBJID, CAST(TRTEDT AS VARCHAR), TRTONGFL FROM adam.adsl ORDER BY USUBJID").fetchall()
        adae = con.sql("SELECT USUBJID, AESEQ, TRTEMFL FROM adam.adae ORDER BY USUBJID, AESEQ").fetchall()
    assert adsl == [("S-001", "2026-01-05", "Y"), ("S-002", "2026-02-20", "N")]
    # S-002: 18 days after DM's last dose (within 30), then 59 days after it
    assert adae == [("S-001", 1, "Y"), ("S-002", 1, "Y"), ("S-002", 2, "N")]


def test_an_open_apatinib_record_is_named_in_the_evaluability_reason(make_export, tmp_path: Path,
                                                                     protocol: Protocol) -> None:
    """Nothing is imputed for an apatinib record without EXENDTC (it counts its start day), but the reason
    a patient is not evaluable says so: '1/42 days' of a patient still on drug is not a record of missed doses."""
    from tests.etl.etl_sample_export import DM, EX

    ex = [dict(EX[0], EXENDTC=""), *EX[1:]]
    dm = [dict(DM[0], RFXENDTC=""), dict(DM[1], RFXENDTC="")]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(dm=dm, ex=ex), db, protocol, run_checks=False)
    with duckdb.connect(str(db), read_only=True) as con:
        rsn = dict(con.sql("SELECT USUBJID, DLTEVLRSN FROM adam.adsl").fetchall())
    assert rsn["S-001"] == ("apatinib 1/42 days (< 80%); the last EX record has no EXENDTC, so its days after the "
                            "start are not counted (check ex_end_missing)")
    assert "EXENDTC" not in rsn["S-002"]  # its records are closed: no such note, whatever its reason


def test_partial_dose_dates_are_not_imputed(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """A partial EXSTDTC ('2026-01') imputed to the 1st put the first dose, and the 42-day DLT window, 11 days
    before the patient's first infusion; a partial EXENDTC ('2026-02') imputed to the 28th counted apatinib days
    not known to be taken toward DLT evaluability. Dose dates are complete dates only (admiral's ADSL template):
    the record with a partial start is no dose date, the one with a partial end counts its start day; the check
    ex_date_partial lists both."""
    from tests.etl.etl_sample_export import EX

    ex = [dict(EX[0], EXENDTC="2026-02"), EX[1], dict(EX[2], EXSTDTC="2026-01"), EX[3]]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(ex=ex), db, protocol, run_checks=True)
    with duckdb.connect(str(db), read_only=True) as con:
        adsl = {r[0]: r[1:] for r in con.sql("SELECT USUBJID, TRTSDT, DLTWEND, DLTEVLRSN FROM adam.adsl").fetchall()}
        cycle1 = dict(con.sql("SELECT USUBJID, D1DT FROM adam.adcyc WHERE CYCLE = 1").fetchall())
        found = con.sql("SELECT usubjid, record_key, severity, message FROM meta.findings "
                        "WHERE check_id = 'ex_date_partial' ORDER BY usubjid").fetchall()
    # S-002's first dose is its nal-IRI infusion of 2026-01-12, not the 1st of January
    assert adsl["S-002"][:2] == (dt.date(2026, 1, 12), dt.date(2026, 2, 22))
    assert cycle1 == {"S-001": dt.date(2026, 1, 5), "S-002": dt.date(2026, 1, 12)}
    assert adsl["S-001"][0] == dt.date(2026, 1, 5)
    assert adsl["S-001"][2].startswith("apatinib 1/42 days (< 80%)")  # its start day only, not 2026-01-05..02-28
    assert [(u, k, s) for u, k, s, _ in found] == [("S-001", "EXSEQ=1", "error"), ("S-002", "EXSEQ=1", "error")]
    assert "EXENDTC 2026-02 is a partial date, so the record counts as its start day alone" in found[0][3]
    assert "EXSTDTC 2026-01 is a partial date, so the record is not used as a dose date" in found[1][3]


def test_a_partial_lab_date_is_no_analysis_date(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """An ALT drawn on treatment with LBDTC '2026-01' was dated the 1st (imputed), before S-001's first dose of
    2026-01-05, and became the baseline (200 U/L) that ALT grades are relative to. ADT is a complete date only
    (admiral ADLB, derive_vars_dt without imputation): the screening draw stays the baseline, the partial one has
    no study day and no cycle, and result_date_partial lists it."""
    from tests.etl.etl_sample_export import LB

    alt = {"USUBJID": "S-001", "LBTESTCD": "ALT", "LBTEST": "ALT", "LBSTRESU": "U/L", "LBSTNRLO": "5", "LBSTNRHI": "40"}
    lb = [*LB, dict(alt, LBSEQ="10", LBORRES="20", LBSTRESN="20", LBDTC="2025-12-20"),
          dict(alt, LBSEQ="11", LBORRES="200", LBSTRESN="200", LBDTC="2026-01"),
          dict(alt, LBSEQ="12", LBORRES="90", LBSTRESN="90", LBDTC="2026-01-26")]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(lb=lb), db, protocol, run_checks=True)
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.sql("SELECT LBSEQ, ADT, ADY, CYCLE, BASE, ABLFL FROM adam.adlb WHERE USUBJID = 'S-001' "
                      "AND PARAMCD = 'ALT' ORDER BY LBSEQ").fetchall()
        found = con.sql("SELECT record_key, severity, message FROM meta.findings "
                        "WHERE check_id = 'result_date_partial'").fetchall()
    assert got[0] == (10, dt.date(2025, 12, 20), -16, None, 20.0, "Y")
    assert got[1] == (11, None, None, None, 20.0, None)
    assert got[2][:2] == (12, dt.date(2026, 1, 26)) and got[2][4] == 20.0
    assert found == [("LBSEQ=11", "warning", "ALT LBDTC 2026-01 is a partial date, so the result has no analysis date "
                                             "(no study day, no cycle, never the baseline); nothing is imputed: ask "
                                             "the site or the laboratory for the day")]


def test_partial_dm_reference_dates_are_not_imputed(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """DM RFSTDTC/RFXSTDTC '2026-01' were imputed to the 1st: study days counted from 2026-01-01 and, without EX
    dates, the first dose and DLT window moved there. A partial reference date is no date (SDTMIG 4.4.4: no --DY
    from a partial date); the first dose comes from EX."""
    from tests.etl.etl_sample_export import DM, LB

    dm = [DM[0], dict(DM[1], RFSTDTC="2026-01", RFXSTDTC="2026-01")]
    lb = [*LB, dict(LB[2], LBSEQ="2", LBDTC="2026-01-19")]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(dm=dm, lb=lb), db, protocol, run_checks=False)
    with duckdb.connect(str(db), read_only=True) as con:
        adsl = dict(con.sql("SELECT USUBJID, TRTSDT FROM adam.adsl").fetchall())
        ady = con.sql("SELECT LBSEQ, ADY FROM adam.adlb WHERE USUBJID = 'S-002' ORDER BY LBSEQ").fetchall()
    assert adsl["S-002"] == dt.date(2026, 1, 12)  # its first EX record, not 2026-01-01
    assert ady == [(1, 1), (2, 8)]  # 2026-01-12 is day 1 of the first dose (RFSTDT falls back to it)



@pytest.mark.parametrize(("text", "why"), [
    ("20260105", "it is written YYYYMMDD (20260105), and SDTM dates are written 2026-01-05"),
    ("24111", "it is a number (a SAS date counts days since 1960-01-01"),
    ("2026/01/05", "it separates year, month and day with '/' or '.'"),
    ("05/01/2026", "it puts the year last, so day and month cannot be told apart"),
    ("05JAN2026", "it is SAS DATE9. text (05JAN2026); export ISO 8601 dates (SAS format E8601DA.)"),
    ("2026年1月5日", "it is written in Chinese"),
    ("2026-02-30", None),
])
def test_an_invalid_date_says_which_form_it_is_in(make_export, tmp_path: Path, protocol: Protocol, text: str,
                                                  why: str | None) -> None:
    """A required date in a form exports often use (a Chinese site's 2026年1月5日, SAS's 05JAN2026, a US 05/01/2026)
    was quarantined as 'not a valid ISO 8601 date' alone; the detail now says what form it is in and what to do.
    The same text in an optional date (an AE onset) is named the same way by ae_date_invalid."""
    from tests.etl.etl_sample_export import LB

    lb = [dict(LB[0], LBDTC=text), *LB[1:]]
    ae = [dict(AE[0], AESTDTC=text), *AE[1:]]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(lb=lb, ae=ae), db, protocol, run_checks=True)
    with duckdb.connect(str(db), read_only=True) as con:
        detail = con.sql("SELECT detail FROM meta.quarantine WHERE domain = 'LB'").fetchall()[0][0]
        ae_msg = con.sql("SELECT message FROM meta.findings WHERE check_id = 'ae_date_invalid'").fetchall()[0][0]
    assert detail.startswith(f"LBDTC '{text}' is not a valid ISO 8601 date")
    if why is None:
        assert detail == f"LBDTC '{text}' is not a valid ISO 8601 date"
        assert ae_msg.startswith(f"AESTDTC '{text}' is not a valid ISO 8601 date: kept as text")
    else:
        assert detail.startswith(f"LBDTC '{text}' is not a valid ISO 8601 date: {why}")
        assert ae_msg.startswith(f"AESTDTC '{text}' is not a valid ISO 8601 date ({why}") and "): kept as text" in ae_msg


def test_a_dose_in_another_unit_than_the_protocol_levels_is_reported(make_export, tmp_path: Path,
                                                                    protocol: Protocol) -> None:
    """nal-IRI written as absolute mg (85 mg for 50 mg/m2 at a BSA of 1.7) read as 170 % dose intensity, without a
    word: dose intensity compares EXDOSE with the level's dose as it is. ex_dose_unit_unexpected (protocol
    [dose_units]) lists such records; case, spaces and the superscript of mg/m² do not matter."""
    from tests.etl.etl_sample_export import EX

    ex = [dict(EX[0], EXDOSU=""), dict(EX[1], EXDOSE="85", EXDOSU="mg"), dict(EX[2], EXDOSU="MG "),
          dict(EX[3], EXDOSU="mg/m²")]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(ex=ex), db, protocol, run_checks=True)
    with duckdb.connect(str(db), read_only=True) as con:
        found = con.sql("SELECT usubjid, record_key, severity, message FROM meta.findings "
                        "WHERE check_id = 'ex_dose_unit_unexpected' ORDER BY usubjid, record_key").fetchall()
        rdi = con.sql("SELECT IRIRDI FROM adam.adex WHERE USUBJID = 'S-001' AND CYCLE = 1").fetchall()[0][0]
    assert [(u, k, s) for u, k, s, _ in found] == [("S-001", "EXSEQ=1", "warning"), ("S-001", "EXSEQ=2", "warning")]
    assert found[0][3].startswith("APATINIB 250.0 (no EXDOSU): the protocol's dose levels are in mg")
    assert found[1][3].startswith("IRINOTECAN LIPOSOME 85.0 mg: the protocol's dose levels are in mg/m2")
    # what the finding warns of: 85 'mg' is taken as 85 mg/m2 against the cycle's 3 x 50 mg/m2 planned
    assert rdi == pytest.approx(85 / 150)


def test_the_dosing_checks_read_dose_dates_as_the_derivations_do(make_export, tmp_path: Path,
                                                                 protocol: Protocol) -> None:
    """ex_overlap judged a partial EXENDTC ('2026-01') at its imputed 31st, so an apatinib record from the 20th
    'overlapped' it, while days on drug count that record's start day alone: the check told the site of an
    overlap the analysis does not have. The dosing checks read complete dates, as exposure_intervals does."""
    from tests.etl.etl_sample_export import EX

    ex = [dict(EX[0], EXENDTC="2026-01"), EX[1], dict(EX[0], EXSEQ="3", EXSTDTC="2026-01-20"), EX[2], EX[3]]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(ex=ex), db, protocol, run_checks=True)
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.sql("SELECT check_id, record_key FROM meta.findings WHERE usubjid = 'S-001' AND check_id IN "
                      "('ex_overlap', 'ex_dates_inverted', 'ex_date_partial') ORDER BY 1").fetchall()
    assert got == [("ex_date_partial", "EXSEQ=1")]
