"""Small hand-made SDTM-shaped exports written into tmp_path (no mocks, no shared state)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from etl.loader import LoadResult, load_export
from safetyboard.protocol import Protocol

Table = list[dict[str, str]]

DM: Table = [
    {"STUDYID": "NCT07479732", "USUBJID": "S-001", "SITEID": "01", "AGE": "34", "SEX": "M", "ARMCD": "DL1",
     "RFSTDTC": "2026-01-05", "RFXSTDTC": "2026-01-05"},
    {"STUDYID": "NCT07479732", "USUBJID": "S-002", "SITEID": "01", "AGE": "15", "SEX": "F", "ARMCD": "DL1",
     "RFSTDTC": "2026-01-12", "RFXSTDTC": "2026-01-12"},
]
EX: Table = [
    {"USUBJID": "S-001", "EXSEQ": "1", "EXTRT": "APATINIB", "EXDOSE": "250", "EXDOSU": "mg",
     "EXSTDTC": "2026-01-05", "EXENDTC": "2026-02-15", "VISIT": "C1D1"},
    {"USUBJID": "S-001", "EXSEQ": "2", "EXTRT": "IRINOTECAN LIPOSOME", "EXDOSE": "50", "EXDOSU": "mg/m2",
     "EXSTDTC": "2026-01-05", "EXENDTC": "2026-01-05", "VISIT": "C1D1"},
    {"USUBJID": "S-002", "EXSEQ": "1", "EXTRT": "APATINIB", "EXDOSE": "250", "EXDOSU": "mg",
     "EXSTDTC": "2026-01-12", "EXENDTC": "2026-02-20", "VISIT": "C1D1"},
    {"USUBJID": "S-002", "EXSEQ": "2", "EXTRT": "IRINOTECAN LIPOSOME", "EXDOSE": "50", "EXDOSU": "mg/m2",
     "EXSTDTC": "2026-01-12", "EXENDTC": "2026-01-12", "VISIT": "C1D1"},
]
AE: Table = [
    {"USUBJID": "S-001", "AESEQ": "1", "AETERM": "Hypertension", "AEDECOD": "HYPERTENSION", "AETOXGR": "2",
     "AESTDTC": "2026-01-10", "AEENDTC": "2026-01-20", "AESER": "N"},
    {"USUBJID": "S-002", "AESEQ": "1", "AETERM": "Nausea", "AEDECOD": "NAUSEA", "AETOXGR": "1",
     "AESTDTC": "2026-01", "AEENDTC": "", "AESER": "N"},
]
LB: Table = [
    {"USUBJID": "S-001", "LBSEQ": "1", "LBTESTCD": "NEUT", "LBTEST": "Neutrophils", "LBORRES": "3.1",
     "LBSTRESN": "3.1", "LBSTRESU": "10^9/L", "LBSTNRLO": "1.8", "LBSTNRHI": "7.5", "LBDTC": "2026-01-05"},
    {"USUBJID": "S-001", "LBSEQ": "2", "LBTESTCD": "NEUT", "LBTEST": "Neutrophils", "LBORRES": "0.9",
     "LBSTRESN": "0.9", "LBSTRESU": "10^9/L", "LBSTNRLO": "1.8", "LBSTNRHI": "7.5", "LBDTC": "2026-01-19T08:30"},
    {"USUBJID": "S-002", "LBSEQ": "1", "LBTESTCD": "ALT", "LBTEST": "ALT", "LBORRES": "30",
     "LBSTRESN": "30", "LBSTRESU": "U/L", "LBSTNRLO": "5", "LBSTNRHI": "40", "LBDTC": "2026-01-12"},
]
VS: Table = [
    {"USUBJID": "S-001", "VSSEQ": "1", "VSTESTCD": "SYSBP", "VSTEST": "Systolic BP", "VSSTRESN": "128",
     "VSSTRESU": "mmHg", "VSDTC": "2026-01-05"},
    {"USUBJID": "S-001", "VSSEQ": "2", "VSTESTCD": "DIABP", "VSTEST": "Diastolic BP", "VSSTRESN": "82",
     "VSSTRESU": "mmHg", "VSDTC": "2026-01-05"},
    {"USUBJID": "S-002", "VSSEQ": "1", "VSTESTCD": "SYSBP", "VSTEST": "Systolic BP", "VSSTRESN": "118",
     "VSSTRESU": "mmHg", "VSDTC": "2026-01-12"},
]
BASE_TABLES: dict[str, Table] = {"dm": DM, "ex": EX, "ae": AE, "lb": LB, "vs": VS}


def csv_text(rows: Table, delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: Table, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    path.write_bytes(csv_text(rows, delimiter).encode(encoding))
    return path


ExportFactory = Callable[..., Path]


def read_table(db: Path, name: str) -> pl.DataFrame:
    """A whole table of the cut at `db` (read-only), in file order when it has _FILE and _ROW (the loader writes
    rows in no set order: polars and DuckDB versions differ)."""
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.sql(f"SELECT * FROM {name}").pl()
    return frame.sort("_FILE", "_ROW", maintain_order=True) if {"_FILE", "_ROW"} <= set(frame.columns) else frame


def load_checked(folder: Path, tmp_path: Path, protocol: Protocol, **kw: object) -> tuple[LoadResult, Path]:
    """Load `folder` into tmp_path/cuts/current.duckdb (no checks) and assert, for every domain, that
    rows read = rows loaded + rows quarantined (DESIGN.md input contract)."""
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(folder, db, protocol, run_checks=False, **kw)
    for name, st in result.domains.items():
        assert st.rows_read == st.rows_loaded + st.rows_quarantined, name
    return result, db
