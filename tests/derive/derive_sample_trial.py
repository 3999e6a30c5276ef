"""Hand-made SDTM-shaped trials for the derivation tests: written as CSV, read and typed by the loader.

Days are offsets from C1D1 (offset 0 = study day 1), so a test reads like the protocol: an AE from
offset 9 lasting 8 days, a C2D1 delayed by 15 days, and so on.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol

C1D1 = dt.date(2026, 1, 5)


def day(offset: int, start: dt.date = C1D1) -> str:
    return (start + dt.timedelta(days=offset)).isoformat()


@dataclass
class Subject:
    usubjid: str
    age: int = 40
    arm: str = "DL1"
    start: dt.date = C1D1
    # apatinib: (first offset, last offset, daily dose mg)
    apatinib: list[tuple[int, int, float]] = field(default_factory=lambda: [(0, 41, 250.0)])
    # nal-IRI infusions: (offset, dose mg/m2, visit name or "")
    infusions: list[tuple[int, float, str]] = field(
        default_factory=lambda: [(0, 50.0, "C1D1"), (7, 50.0, "C1D8"), (14, 50.0, "C1D15"),
                                 (21, 50.0, "C2D1"), (28, 50.0, "C2D8"), (35, 50.0, "C2D15")]
    )
    # AEs: (AEDECOD, grade text, start offset, end offset or None)
    aes: list[tuple[str, str, int, int | None]] = field(default_factory=list)
    # SV visits: (VISIT, offset)
    visits: list[tuple[str, int]] = field(default_factory=list)
    aedlt: dict[int, str] = field(default_factory=dict)  # AESEQ -> SUPPAE AEDLT value


def _write(path: Path, rows: list[dict[str, object]], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_trial(folder: Path, subjects: list[Subject]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dm, ex, ae, lb, vs, sv, supp = [], [], [], [], [], [], []
    for s in subjects:
        dm.append({"STUDYID": "T", "USUBJID": s.usubjid, "AGE": s.age, "SEX": "F", "ARMCD": s.arm,
                   "RFSTDTC": s.start.isoformat(), "RFXSTDTC": s.start.isoformat()})
        seq = 0
        for first, last, dose in s.apatinib:
            seq += 1
            ex.append({"USUBJID": s.usubjid, "EXSEQ": seq, "EXTRT": "APATINIB", "EXDOSE": dose, "EXDOSU": "mg",
                       "EXSTDTC": day(first, s.start), "EXENDTC": day(last, s.start), "VISIT": ""})
        for offset, dose, visit in s.infusions:
            seq += 1
            ex.append({"USUBJID": s.usubjid, "EXSEQ": seq, "EXTRT": "IRINOTECAN LIPOSOME", "EXDOSE": dose,
                       "EXDOSU": "mg/m2", "EXSTDTC": day(offset, s.start), "EXENDTC": day(offset, s.start), "VISIT": visit})
        for i, (decod, grade, st, en) in enumerate(s.aes, start=1):
            ae.append({"USUBJID": s.usubjid, "AESEQ": i, "AETERM": decod.title(), "AEDECOD": decod, "AETOXGR": grade,
                       "AESTDTC": day(st, s.start), "AEENDTC": "" if en is None else day(en, s.start), "AESER": "N"})
        for seq_, value in s.aedlt.items():
            supp.append({"USUBJID": s.usubjid, "RDOMAIN": "AE", "IDVAR": "AESEQ", "IDVARVAL": seq_, "QNAM": "AEDLT",
                         "QVAL": value})
        lb.append({"USUBJID": s.usubjid, "LBSEQ": 1, "LBTESTCD": "NEUT", "LBSTRESN": 3.0, "LBSTRESU": "10^9/L",
                   "LBSTNRLO": 1.8, "LBSTNRHI": 7.5, "LBDTC": day(0, s.start)})
        vs.append({"USUBJID": s.usubjid, "VSSEQ": 1, "VSTESTCD": "SYSBP", "VSSTRESN": 118, "VSSTRESU": "mmHg",
                   "VSDTC": day(0, s.start)})
        for visit, offset in s.visits:
            num = int(visit[1:].split("D")[0]) * 100 + int(visit.split("D")[1]) if visit.startswith("C") else 1
            sv.append({"USUBJID": s.usubjid, "VISITNUM": num, "VISIT": visit, "SVSTDTC": day(offset, s.start)})
    _write(folder / "dm.csv", dm, ["STUDYID", "USUBJID", "AGE", "SEX", "ARMCD", "RFSTDTC", "RFXSTDTC"])
    _write(folder / "ex.csv", ex, ["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC", "EXENDTC", "VISIT"])
    _write(folder / "ae.csv", ae, ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AETOXGR", "AESTDTC", "AEENDTC", "AESER"])
    _write(folder / "lb.csv", lb, ["USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC"])
    _write(folder / "vs.csv", vs, ["USUBJID", "VSSEQ", "VSTESTCD", "VSSTRESN", "VSSTRESU", "VSDTC"])
    if sv:
        _write(folder / "sv.csv", sv, ["USUBJID", "VISITNUM", "VISIT", "SVSTDTC"])
    if supp:
        _write(folder / "suppae.csv", supp, ["USUBJID", "RDOMAIN", "IDVAR", "IDVARVAL", "QNAM", "QVAL"])
    return folder


def derive(tmp_path: Path, subjects: list[Subject], protocol: Protocol, cut_offset: int = 120) -> dict[str, pl.DataFrame]:
    """build_adam on the typed raw frames of a written trial; the cut date is C1D1 + cut_offset."""
    folder = write_trial(tmp_path / "export", subjects)
    _files, raw, quarantine, _stats, _rows = read_export(folder, ColumnMapping())
    assert quarantine.height == 0, quarantine.to_dicts()
    return build_adam(raw, protocol, cut_date=C1D1 + dt.timedelta(days=cut_offset))
