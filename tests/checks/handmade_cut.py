"""A small hand-made cut: raw.*, adam.* and meta.loads with the columns the checks read.

Subjects: P-01 has no issue, P-02 has one record per check that must be flagged, P-03 died on
2026-05-10; X-99 / X-98 are records of subjects not in DM. EXPECTED lists every finding the checks
must raise on this cut, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import polars as pl

D = dt.date
CUT_DATE = D(2026, 6, 30)

SCHEMAS: dict[str, dict[str, Any]] = {
    "raw.dm": {"USUBJID": pl.String, "SITEID": pl.String, "ARMCD": pl.String, "AGE": pl.Float64, "DTHDTC": pl.String,
               "DTHDTC_DT": pl.Date, "DTHDTC_DTF": pl.String, "RFXSTDTC_DT": pl.Date, "_FILE": pl.String, "_ROW": pl.Int64},
    "raw.ae": {"USUBJID": pl.String, "AESEQ": pl.Int64, "AETERM": pl.String, "AEDECOD": pl.String,
               "AETOXGR": pl.String, "AESER": pl.String, "AESTDTC": pl.String, "AESTDTC_DT": pl.Date,
               "AESTDTC_DTF": pl.String, "AEENDTC": pl.String, "AEENDTC_DT": pl.Date, "AEENDTC_DTF": pl.String,
               "_FILE": pl.String, "_ROW": pl.Int64},
    "raw.lb": {"USUBJID": pl.String, "LBSEQ": pl.Int64, "LBTESTCD": pl.String, "LBSTRESN": pl.Float64,
               "LBSTRESU": pl.String, "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64, "LBDTC": pl.String,
               "LBDTC_DT": pl.Date, "LBDTC_DTF": pl.String, "VISITNUM": pl.Float64, "_FILE": pl.String, "_ROW": pl.Int64},
    "raw.vs": {"USUBJID": pl.String, "VSSEQ": pl.Int64, "VSTESTCD": pl.String, "VSSTRESN": pl.Float64,
               "VSSTRESU": pl.String, "VISIT": pl.String, "VISITNUM": pl.Float64, "VSDTC_DT": pl.Date,
               "_FILE": pl.String, "_ROW": pl.Int64},
    "raw.sv": {"USUBJID": pl.String, "VISITNUM": pl.Float64, "VISIT": pl.String, "SVSTDTC_DT": pl.Date,
               "_FILE": pl.String, "_ROW": pl.Int64},
    "raw.ex": {"USUBJID": pl.String, "EXSEQ": pl.Int64, "EXTRT": pl.String, "EXDOSE": pl.Float64, "EXSTDTC": pl.String,
               "EXSTDTC_DT": pl.Date, "EXSTDTC_DTF": pl.String,
               "EXENDTC": pl.String, "EXENDTC_DT": pl.Date, "_FILE": pl.String, "_ROW": pl.Int64},
    "adam.adsl": {"USUBJID": pl.String, "SITEID": pl.String, "TRTSDT": pl.Date, "TRTEDT": pl.Date,
                  "DLTWEND": pl.Date, "DTHDT": pl.Date, "SAFFL": pl.String, "DOSELVL": pl.Int32, "DOSELVLRSN": pl.String},
    "adam.adae": {"USUBJID": pl.String, "AESEQ": pl.Int64, "AETERM": pl.String, "AEDECOD": pl.String,
                  "AETOXGRN": pl.Int8, "AEACN": pl.String, "ASTDT": pl.Date, "AENDT": pl.Date, "DLTFL": pl.String,
                  "DLTCFL": pl.String, "DLTRULE": pl.String, "_FILE": pl.String, "_ROW": pl.Int64},
    "adam.adlb": {"USUBJID": pl.String, "LBSEQ": pl.Int64, "PARAMCD": pl.String, "ADT": pl.Date,
                  "ATOXGRL": pl.Int8, "ATOXGRH": pl.Int8, "ATOXWCL": pl.String, "ATOXWCH": pl.String,
                  "AVAL": pl.Float64, "AVALU": pl.String, "_FILE": pl.String, "_ROW": pl.Int64},
    "adam.adsv": {"USUBJID": pl.String, "VISITNUM": pl.Float64, "VISIT": pl.String, "VISITTYP": pl.String,
                  "AVISITCY": pl.Int32, "AVISITDY": pl.Int32, "ADT": pl.Date, "PLANDT": pl.Date, "DEV": pl.Int32,
                  "WINLO": pl.Int32, "WINHI": pl.Int32, "OOWFL": pl.String, "MISSFL": pl.String,
                  "_FILE": pl.String, "_ROW": pl.Int64},
    "adam.adcyc": {"USUBJID": pl.String, "CYCLE": pl.Int32, "D1DT": pl.Date},
    "adam.adex": {"USUBJID": pl.String, "CYCLE": pl.Int32, "CYSTDT": pl.Date, "IRIINF": pl.Int64},
    "meta.loads": {"cut_id": pl.String, "loaded_at": pl.Datetime("us"), "cut_date": pl.Date, "status": pl.String},
}


def write_cut(con: duckdb.DuckDBPyConnection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Create every table of SCHEMAS (empty unless `rows` has records for it)."""
    for name, schema in SCHEMAS.items():
        frame = pl.DataFrame(rows.get(name, []), schema=schema)
        schema_name = name.split(".")[0]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_name}")
        con.register("_t", frame)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _t")
        con.unregister("_t")


def _ae(subj: str, seq: int, **kw: Any) -> dict[str, Any]:
    row = {"USUBJID": subj, "AESEQ": seq, "AETERM": f"Term {seq}", "AEDECOD": f"Term {seq}", "AETOXGR": "1",
           "AESER": "N", "AESTDTC": "2026-02-01", "AESTDTC_DT": D(2026, 2, 1), "AEENDTC": "2026-02-05",
           "AEENDTC_DT": D(2026, 2, 5), "_FILE": "ae.csv", "_ROW": seq}
    return row | kw


def _sv(subj: str, cyc: int, day: int, adt: dt.date, **kw: Any) -> dict[str, Any]:
    return {"USUBJID": subj, "VISITNUM": float(cyc * 100 + day), "VISIT": f"C{cyc}D{day}", "VISITTYP": "SCHEDULED",
            "AVISITCY": cyc, "AVISITDY": day, "ADT": adt, "PLANDT": adt, "DEV": 0, "WINLO": 2, "WINHI": 2,
            "OOWFL": "N", "_FILE": "sv.csv", "_ROW": 1} | kw


def base_rows(cut_id: str = "C1", loaded_at: dt.datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    c1 = D(2026, 1, 5)
    return {
        "raw.dm": [
            {"USUBJID": "P-01", "SITEID": "01", "AGE": 30.0, "_FILE": "dm.csv", "_ROW": 1},
            {"USUBJID": "P-02", "SITEID": "02", "AGE": 9.0, "_FILE": "dm.csv", "_ROW": 2},
            {"USUBJID": "P-03", "SITEID": "01", "AGE": 65.0, "DTHDTC": "2026-05-10", "DTHDTC_DT": D(2026, 5, 10),
             "_FILE": "dm.csv", "_ROW": 3},
        ],
        "raw.ae": [
            _ae("P-01", 1, AETOXGR="2"),
            _ae("P-02", 1, AETOXGR=None),
            _ae("P-02", 2, AETOXGR="6"),
            _ae("P-02", 3, AESER="X"),
            _ae("P-02", 4, AESTDTC="2026-02-05", AESTDTC_DT=D(2026, 2, 5), AEENDTC="2026-02-01", AEENDTC_DT=D(2026, 2, 1)),
            _ae("P-02", 5, AESTDTC="2026-02", AESTDTC_DTF="D"),
            _ae("P-02", 6, AETERM="Nausea", AEDECOD="Nausea", _ROW=6),
            _ae("P-02", 7, AETERM="Nausea", AEDECOD="Nausea", _ROW=7),
            _ae("P-03", 1, AESTDTC="2026-05-20", AESTDTC_DT=D(2026, 5, 20), AEENDTC=None, AEENDTC_DT=None),
            _ae("P-03", 2, AESTDTC="2026-05-01", AESTDTC_DT=D(2026, 5, 1), AEENDTC=None, AEENDTC_DT=None),
            _ae("X-99", 1),
        ],
        "raw.vs": [
            {"USUBJID": "P-01", "VSSEQ": 1, "VSTESTCD": "SYSBP", "VSSTRESN": 139.0, "VISIT": "SCREENING", "VISITNUM": 0.0},
            {"USUBJID": "P-01", "VSSEQ": 2, "VSTESTCD": "DIABP", "VSSTRESN": 89.0, "VISIT": "SCREENING", "VISITNUM": 0.0},
            {"USUBJID": "P-02", "VSSEQ": 1, "VSTESTCD": "SYSBP", "VSSTRESN": 140.0, "VISIT": "SCREENING", "VISITNUM": 0.0},
            {"USUBJID": "P-02", "VSSEQ": 2, "VSTESTCD": "DIABP", "VSSTRESN": 90.0, "VISIT": "SCREENING", "VISITNUM": 0.0},
            {"USUBJID": "P-02", "VSSEQ": 3, "VSTESTCD": "DIABP", "VSSTRESN": 95.0, "VISIT": "C1D1", "VISITNUM": 101.0},
            {"USUBJID": "P-02", "VSSEQ": 4, "VSTESTCD": "SYSBP", "VSSTRESN": 400.0, "VISIT": "C1D8", "VISITNUM": 108.0},
            # without a screening BP, P-03's eligibility would be 'not verifiable' (eligibility_bp)
            {"USUBJID": "P-03", "VSSEQ": 1, "VSTESTCD": "SYSBP", "VSSTRESN": 120.0, "VISIT": "SCREENING", "VISITNUM": 0.0},
        ],
        "raw.lb": [
            # P-01: a draw on the day of each of its six infusions (lab_predose_missing: none)
            *({"USUBJID": "P-01", "LBSEQ": i + 1, "LBTESTCD": "ALT", "LBSTRESN": 30.0, "LBSTRESU": "U/L", "LBSTNRLO": 0.0,
               "LBSTNRHI": 40.0, "LBDTC": day.isoformat(), "LBDTC_DT": day}
              for i, day in enumerate([c1, D(2026, 1, 12), D(2026, 1, 19), D(2026, 1, 26), D(2026, 2, 2), D(2026, 2, 9)])),
            # P-02: 72 h (3 days) before its first infusion, on the day of its second, none before its third (02-09)
            {"USUBJID": "P-02", "LBSEQ": 1, "LBTESTCD": "ALT", "LBSTRESN": 30.0, "LBSTRESU": "U/L",
             "LBDTC": "2026-01-02", "LBDTC_DT": D(2026, 1, 2)},
            {"USUBJID": "P-02", "LBSEQ": 2, "LBTESTCD": "PLAT", "LBSTRESN": 200.0, "LBSTRESU": "mg/dL",
             "LBSTNRLO": 150.0, "LBSTNRHI": 400.0, "LBDTC": "2026-01-12", "LBDTC_DT": D(2026, 1, 12)},
        ],
        "raw.ex": [
            {"USUBJID": s, "EXSEQ": i + 1, "EXTRT": "IRINOTECAN LIPOSOME", "EXSTDTC": day.isoformat(), "EXSTDTC_DT": day,
             "_FILE": "ex.csv", "_ROW": row}
            for row, (s, i, day) in enumerate(
                [("P-01", i, d) for i, d in enumerate([c1, D(2026, 1, 12), D(2026, 1, 19), D(2026, 1, 26), D(2026, 2, 2),
                                                       D(2026, 2, 9)])]
                + [("P-02", i, d) for i, d in enumerate([c1, D(2026, 1, 12), D(2026, 2, 9)])], start=1)
        ] + [  # daily apatinib with its end date (ex_end_missing applies, no finding)
            {"USUBJID": "P-01", "EXSEQ": 50, "EXTRT": "APATINIB", "EXSTDTC": c1.isoformat(), "EXSTDTC_DT": c1,
             "EXENDTC": "2026-02-15", "EXENDTC_DT": D(2026, 2, 15), "_FILE": "ex.csv", "_ROW": 50},
        ],
        "raw.sv": [{"USUBJID": "X-98", "VISITNUM": 101.0, "VISIT": "C1D1", "SVSTDTC_DT": c1, "_FILE": "sv.csv", "_ROW": 9}],
        "adam.adsl": [
            {"USUBJID": s, "SITEID": site, "TRTSDT": c1, "TRTEDT": D(2026, 6, 1), "DLTWEND": D(2026, 2, 15), "SAFFL": "Y",
             "DOSELVL": level, "DOSELVLRSN": why}
            for s, site, level, why in (("P-01", "01", 2, None), ("P-02", "02", None, "arm 'DL 9' is not a protocol dose level"))
        ] + [{"USUBJID": "P-03", "SITEID": "01", "TRTSDT": c1, "TRTEDT": D(2026, 5, 1), "DLTWEND": D(2026, 2, 15),
              "DTHDT": D(2026, 5, 10), "SAFFL": "Y", "DOSELVL": 2}],
        "adam.adae": [
            {"USUBJID": "P-01", "AESEQ": 1, "AEDECOD": "Fatigue", "AETOXGRN": 2, "ASTDT": D(2026, 2, 1), "DLTFL": "N", "DLTCFL": "N"},
            {"USUBJID": "P-01", "AESEQ": 8, "AEDECOD": "Neutrophil count decreased", "AETOXGRN": 3,
             "ASTDT": D(2026, 3, 1), "DLTFL": "N", "DLTCFL": "N"},
            {"USUBJID": "P-02", "AESEQ": 1, "AEDECOD": "Fatigue", "AETOXGRN": 2, "ASTDT": D(2026, 2, 1), "DLTFL": "Y", "DLTCFL": "N"},
            {"USUBJID": "P-02", "AESEQ": 2, "AEDECOD": "Diarrhoea", "AETOXGRN": 3, "ASTDT": None, "DLTFL": "Y", "DLTCFL": None},
            {"USUBJID": "P-02", "AESEQ": 9, "AEDECOD": "Platelet count decreased", "AETOXGRN": 4,
             "ASTDT": D(2026, 4, 1), "DLTFL": "N", "DLTCFL": "N"},
        ],
        "adam.adlb": [
            # within +-7 days of the AE onset (inclusive) -> matched
            {"USUBJID": "P-01", "LBSEQ": 3, "PARAMCD": "NEUT", "ADT": D(2026, 3, 8), "ATOXGRL": 3, "ATOXGRH": 0},
            {"USUBJID": "P-02", "LBSEQ": 3, "PARAMCD": "NEUT", "ADT": D(2026, 3, 3), "ATOXGRL": 4, "ATOXGRH": 0},
            {"USUBJID": "P-02", "LBSEQ": 4, "PARAMCD": "ALT", "ADT": D(2026, 3, 3), "ATOXGRL": 0, "ATOXGRH": 2},
        ],
        "adam.adsv": [
            _sv("P-01", 1, 1, c1), _sv("P-01", 1, 8, D(2026, 1, 12)), _sv("P-01", 1, 15, D(2026, 1, 19)),
            _sv("P-02", 1, 1, c1), _sv("P-02", 1, 8, D(2026, 1, 17), DEV=5, OOWFL="Y"),
            _sv("P-02", 1, 15, None, OOWFL=None, MISSFL="Y", PLANDT=D(2026, 1, 19), _FILE=None, _ROW=None),
            _sv("P-02", 2, 1, D(2026, 2, 9)),
            # cycle 2 (day 1 from SV) misses its D8 and D15, as adam.adsv says (MISSFL)
            _sv("P-02", 2, 8, None, OOWFL=None, MISSFL="Y", PLANDT=D(2026, 2, 16), _FILE=None, _ROW=None),
            _sv("P-02", 2, 15, None, OOWFL=None, MISSFL="Y", PLANDT=D(2026, 2, 23), _FILE=None, _ROW=None),
        ],
        "adam.adcyc": [{"USUBJID": "P-01", "CYCLE": 1, "D1DT": c1}, {"USUBJID": "P-02", "CYCLE": 1, "D1DT": c1},
                       {"USUBJID": "P-02", "CYCLE": 2, "D1DT": D(2026, 2, 9)}],
        "adam.adex": [
            {"USUBJID": "P-01", "CYCLE": 1, "CYSTDT": c1, "IRIINF": 3},
            {"USUBJID": "P-01", "CYCLE": 2, "CYSTDT": D(2026, 1, 26), "IRIINF": 3},
            {"USUBJID": "P-02", "CYCLE": 1, "CYSTDT": c1, "IRIINF": 2},
            # cycle 2 from 02-09: only day 1 is planned by the DLT window end (02-15)
            {"USUBJID": "P-02", "CYCLE": 2, "CYSTDT": D(2026, 2, 9), "IRIINF": 1},
        ],
        "meta.loads": [{"cut_id": cut_id, "loaded_at": loaded_at or dt.datetime(2026, 7, 1, 8, 0),
                        "cut_date": CUT_DATE, "status": "ok"}],
    }


# check id -> {(USUBJID, record key)} that must be flagged; every other record must not be
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "ae_grade_missing": {("P-02", "AESEQ=1")},
    "ae_grade_invalid": {("P-02", "AESEQ=2")},
    "arm_not_dose_level": {("P-02", "USUBJID=P-02")},
    "ae_serious_invalid": {("P-02", "AESEQ=3")},
    "ae_dates_inverted": {("P-02", "AESEQ=4")},
    "ae_date_partial": {("P-02", "AESEQ=5")},
    "record_duplicate": {("P-02", "AESEQ=7")},
    "record_after_death": {("P-03", "AESEQ=1")},
    "subject_unknown": {("X-99", "AESEQ=1"), ("X-98", "VISITNUM=101")},
    "eligibility_age": {("P-02", "USUBJID=P-02")},
    "eligibility_bp": {("P-02", "VSSEQ=1")},  # one per subject: its first screening reading that excludes
    "vs_implausible": {("P-02", "VSSEQ=4")},
    "lab_range_missing": {("P-02", "LBSEQ=1")},
    "lab_unit_unexpected": {("P-02", "LBSEQ=2")},
    "dlt_flag_mismatch": {("P-02", "AESEQ=1")},
    "lab_ae_grade_mismatch": {("P-02", "LBSEQ=3"), ("P-02", "AESEQ=9")},
    "visit_out_of_window": {("P-02", "VISITNUM=108")},
    "visit_missing": {("P-02", "VISITNUM=115"), ("P-02", "VISITNUM=208"), ("P-02", "VISITNUM=215")},
    "exposure_gap_in_dlt_window": {("P-02", "CYCLE=1")},
    "lab_predose_missing": {("P-02", "EXSEQ=3")},
}
