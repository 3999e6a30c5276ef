"""`safetyboard demo`: a realistic synthetic SDTM export of the trial, with planted data issues.

Deterministic for a seed. Dates are placed so that the last subjects are inside their DLT window
on the fixed data-cut date (CUT_DATE); the escalation history starts earlier than the registry's
estimated start when the simulated escalation needs more time. `_truth.json` lists every planted
issue with its file, row and expected outcome, and the subjects with no planted issue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from etl.demo.adverse_events import ANC_KEYS, generate_aes
from etl.demo.cohorts import simulate_enrolment
from etl.demo.efficacy import generate_tumours
from etl.demo.issues import plant_issues as plant_data_issues
from etl.demo.measurements import generate_labs, generate_vitals
from etl.demo.subjects import build_cycles, build_subjects, treatment_end
from etl.demo.visits import add_ae_visits, generate_exposure, generate_visits, withheld_infusions
from safetyboard.protocol import Protocol, load_protocol

CUT_DATE = dt.date(2026, 11, 20)
LAST_START_BEFORE_CUT = 12  # days: the last subject started 12 days before the cut (inside the window)
TE_DAYS = 30  # AEs are collected up to 30 days after the last dose


def _iso(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y-%m-%d")


def _visitnum() -> pl.Expr:
    """VISITNUM as SDTM exports show it: 308, 108.1 (no trailing .0)."""
    v = pl.col("VISITNUM")
    return pl.when(v == v.round(0)).then(v.cast(pl.Int64).cast(pl.String)).otherwise(v.cast(pl.String)).alias("VISITNUM")


def _seq(frame: pl.DataFrame, name: str, order: list[str]) -> pl.DataFrame:
    return frame.sort(["USUBJID", *order]).with_columns(pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64).alias(name))


def build_domains(n: int, seed: int, protocol: Protocol) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    rng = np.random.default_rng(seed)
    en = simulate_enrolment(n, protocol, rng)
    first_day = CUT_DATE - dt.timedelta(days=int(en.start_day.max()) + LAST_START_BEFORE_CUT)
    subjects = build_subjects(en, protocol, rng, first_day, CUT_DATE)
    cycles = build_cycles(subjects, protocol, rng, CUT_DATE)
    subjects = treatment_end(subjects, cycles, protocol, CUT_DATE)
    visits = generate_visits(subjects, cycles, protocol, rng, CUT_DATE)
    aes = generate_aes(subjects, cycles, visits, protocol, rng)
    aes = aes.join(subjects.select("USUBJID", "TRTEND", "DTHDT"), on="USUBJID").filter(
        (pl.col("START") <= pl.col("TRTEND") + pl.duration(days=TE_DAYS)) & (pl.col("START") <= CUT_DATE)
        & (pl.col("DTHDT").is_null() | (pl.col("START") < pl.col("DTHDT")))
    )
    # lab draws where lab-type AEs need them, then labs, vitals, and the infusions their ANC withholds
    visits = add_ae_visits(visits, aes, CUT_DATE)
    lb = generate_labs(visits, subjects, aes, rng)
    vs = generate_vitals(visits, subjects, aes, rng)
    withheld = withheld_infusions(visits, lb, cycles, protocol)
    ex = generate_exposure(subjects, cycles, visits, aes, protocol, rng, withheld)
    # an ANC-lowering AE that withheld an infusion: the drug was interrupted (AEACN), from its onset, which is
    # on or before the infusion's planned day (a D8 visit one day late found the low count the day before)
    held = aes.with_row_index("_E").filter(pl.col("KEY").is_in(ANC_KEYS)).join(withheld.select("USUBJID", "DATE", "PLANNED"), on="USUBJID").filter(
        (pl.col("DATE") >= pl.col("START")) & (pl.col("DATE") <= pl.col("END"))).group_by("_E").agg(pl.col("PLANNED").min())
    aes = aes.with_row_index("_E").join(held, on="_E", how="left", maintain_order="left").with_columns(
        pl.col("PLANNED").is_not_null().alias("HELD"),
        pl.min_horizontal("START", pl.coalesce("PLANNED", "START")).alias("START"),
    ).drop("_E", "PLANNED")
    tr, rs = generate_tumours(subjects, rng)

    studyid = protocol.studyid
    dm = subjects.select(
        pl.lit(studyid).alias("STUDYID"), pl.lit("DM").alias("DOMAIN"), "USUBJID",
        pl.col("USUBJID").str.split("-").list.last().alias("SUBJID"),
        pl.col("C1D1").alias("RFSTDT"), pl.col("TRTEND").alias("RFENDT"), pl.col("C1D1").alias("RFXSTDT"),
        "DTHDT", pl.when(pl.col("DTHDT").is_not_null()).then(pl.lit("Y")).alias("DTHFL"),
        "SITEID", "AGE", pl.lit("YEARS").alias("AGEU"), "SEX", pl.lit("ASIAN").alias("RACE"),
        "ARMCD", "ARM", pl.col("ARMCD").alias("ACTARMCD"), pl.col("ARM").alias("ACTARM"), pl.lit("CHN").alias("COUNTRY"),
    )
    ae = aes.with_columns(
        pl.when(pl.col("END") < CUT_DATE).then(pl.col("END")).otherwise(None).alias("AEENDT"),
    ).select(
        pl.lit(studyid).alias("STUDYID"), pl.lit("AE").alias("DOMAIN"), "USUBJID",
        pl.col("AEDECOD").alias("AETERM"), "AEDECOD", "AEBODSYS", pl.col("GRADE").cast(pl.String).alias("AETOXGR"),
        pl.when(pl.col("GRADE") >= 4).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("AESER"),
        pl.lit("RELATED").alias("AEREL"),
        pl.when((pl.col("AEDLT") == "Y") | pl.col("HELD")).then(pl.lit("DRUG INTERRUPTED")).otherwise(pl.lit("DOSE NOT CHANGED")).alias("AEACN"),
        pl.when(pl.col("AEENDT").is_not_null()).then(pl.lit("RECOVERED/RESOLVED")).otherwise(pl.lit("NOT RECOVERED/NOT RESOLVED")).alias("AEOUT"),
        pl.col("START").alias("AESTDT"), "AEENDT", "AEDLT",
    )
    ae = _seq(ae, "AESEQ", ["AESTDT", "AETERM"])
    ex = _seq(ex.with_columns(pl.lit(studyid).alias("STUDYID"), pl.lit("EX").alias("DOMAIN")), "EXSEQ", ["START", "EXTRT"])
    sv = visits.with_columns(pl.lit(studyid).alias("STUDYID"), pl.lit("SV").alias("DOMAIN"))
    lb = _seq(lb.with_columns(pl.lit(studyid).alias("STUDYID"), pl.lit("LB").alias("DOMAIN")), "LBSEQ", ["VISITNUM", "LBTESTCD"])
    vs = _seq(vs.with_columns(pl.lit(studyid).alias("STUDYID"), pl.lit("VS").alias("DOMAIN")), "VSSEQ", ["VISITNUM", "VSTESTCD"])
    ds = subjects.filter(pl.col("ENDED")).select(
        pl.lit(studyid).alias("STUDYID"), pl.lit("DS").alias("DOMAIN"), "USUBJID",
        pl.col("ENDREASON").alias("DSTERM"), pl.col("ENDREASON").alias("DSDECOD"), pl.lit("DISPOSITION EVENT").alias("DSCAT"),
        pl.col("TRTEND").alias("DSSTDT"),
    )
    deaths = subjects.filter(pl.col("DTHDT").is_not_null()).select(
        pl.lit(studyid).alias("STUDYID"), pl.lit("DS").alias("DOMAIN"), "USUBJID",
        pl.lit("DEATH").alias("DSTERM"), pl.lit("DEATH").alias("DSDECOD"), pl.lit("DISPOSITION EVENT").alias("DSCAT"),
        pl.col("DTHDT").alias("DSSTDT"),
    )
    ds = _seq(pl.concat([ds, deaths]), "DSSEQ", ["DSSTDT"])
    rs = _seq(rs.with_columns(pl.lit(studyid).alias("STUDYID"), pl.lit("RS").alias("DOMAIN")), "RSSEQ", ["RSDT"])
    tr = _seq(tr.with_columns(pl.lit(studyid).alias("STUDYID"), pl.lit("TR").alias("DOMAIN")), "TRSEQ", ["TRDT", "TRLNKID"])
    frames = {"dm": dm, "ae": ae, "ex": ex, "sv": sv, "lb": lb, "vs": vs, "ds": ds, "rs": rs, "tr": tr}
    # a DLT drawn for a subject whose window reaches past the cut is in the data once it happened
    observed = aes.filter(pl.col("AEDLT") == "Y")["USUBJID"].unique().implode()
    subjects = subjects.with_columns((pl.col("DLT") & pl.col("USUBJID").is_in(observed)).alias("DLTSEEN"))
    return frames, subjects


def _text_override(frame: pl.DataFrame, col: str, default: pl.Expr) -> pl.Expr:
    return pl.coalesce(pl.col(f"{col}_TEXT"), default) if f"{col}_TEXT" in frame.columns else default


def _format_dm(dm: pl.DataFrame) -> pl.DataFrame:
    return dm.select(
        "STUDYID", "DOMAIN", "USUBJID", "SUBJID", _text_override(dm, "RFSTDTC", _iso("RFSTDT")).alias("RFSTDTC"),
        _iso("RFENDT").alias("RFENDTC"),
        _iso("RFXSTDT").alias("RFXSTDTC"), _iso("DTHDT").alias("DTHDTC"), "DTHFL", "SITEID", "AGE", "AGEU", "SEX", "RACE",
        "ARMCD", "ARM", "ACTARMCD", "ACTARM", "COUNTRY", "_ISSUE",
    ).sort("USUBJID")


def _format_ae(ae: pl.DataFrame) -> pl.DataFrame:
    """AE with AEDLT still attached (SUPPAE is made from it, then it is dropped)."""
    return ae.select(
        "STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AESER", "AEREL", "AEACN", "AEOUT",
        _text_override(ae, "AESTDTC", _iso("AESTDT")).alias("AESTDTC"),
        _text_override(ae, "AEENDTC", _iso("AEENDT")).alias("AEENDTC"), "AEDLT", "_ISSUE",
    ).sort("USUBJID", "AESEQ", maintain_order=True)


def _format_suppae(ae: pl.DataFrame) -> pl.DataFrame:
    return ae.filter(pl.col("AEDLT").is_not_null()).select(
        "STUDYID", pl.lit("AE").alias("RDOMAIN"), "USUBJID", pl.lit("AESEQ").alias("IDVAR"), pl.col("AESEQ").cast(pl.String).alias("IDVARVAL"),
        pl.lit("AEDLT").alias("QNAM"), pl.lit("Dose-Limiting Toxicity").alias("QLABEL"), pl.col("AEDLT").alias("QVAL"),
        pl.lit("CRF").alias("QORIG"), pl.lit(None, pl.String).alias("_ISSUE"),
    ).unique(subset=["USUBJID", "IDVARVAL"], keep="first", maintain_order=True)


def _format_ex(ex: pl.DataFrame) -> pl.DataFrame:
    return ex.select(
        "STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRQ", "EXROUTE", "VISIT",
        _iso("START").alias("EXSTDTC"), _text_override(ex, "EXENDTC", _iso("END")).alias("EXENDTC"), "EXADJ", "_ISSUE",
    ).sort("USUBJID", "EXSEQ")


def _format_sv(sv: pl.DataFrame) -> pl.DataFrame:
    return sv.select(
        "STUDYID", "DOMAIN", "USUBJID", _visitnum(), "VISIT", _iso("DATE").alias("SVSTDTC"), _iso("DATE").alias("SVENDTC"), "_ISSUE",
    ).sort("USUBJID", pl.col("VISITNUM").cast(pl.Float64))


PIECE_ROWS = 1_000_000  # lab rows formatted to text and written at a time


def _format_lb(lb: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The lab rows as text, in pieces: put in order by a stable sort on keys the formatting leaves
    alone (so the same row order as sorting the text), then formatted and written a piece at a
    time, so that neither a sorted copy nor the text of 13 M lab rows is ever held whole."""
    # the sort order from the keys alone; each piece gathers its rows (sorting the whole frame
    # would copy every column of it)
    order = lb.select("USUBJID", "LBSEQ").with_row_index("_I").sort("USUBJID", "LBSEQ", maintain_order=True)["_I"]
    for offset in range(0, max(lb.height, 1), PIECE_ROWS):
        part = lb[order.slice(offset, PIECE_ROWS)]
        yield part.select(
            "STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES", "LBORRESU",
            _text_override(part, "LBSTRESN", pl.col("LBSTRESN").cast(pl.String)).alias("LBSTRESN"), "LBSTRESU",
            "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBBLFL", _visitnum(), "VISIT",
            _text_override(part, "LBDTC", _iso("LBDT")).alias("LBDTC"), "_ISSUE",
        )


def _format_vs(vs: pl.DataFrame) -> pl.DataFrame:
    return vs.select(
        "STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU",
        # the standard result as text (SDTMIG: STRESN is copied from STRESC): the original result, as no VS
        # unit is converted here
        _text_override(vs, "VSSTRESC", pl.col("VSORRES")).alias("VSSTRESC"), "VSSTRESN", "VSSTRESU", "VSBLFL",
        _visitnum(), "VISIT", _iso("VSDT").alias("VSDTC"), "_ISSUE",
    ).sort("USUBJID", "VSSEQ")


def _format_events(name: str, date_col: str, cols: list[str]) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def fmt(f: pl.DataFrame) -> pl.DataFrame:
        dtc = date_col.replace("DT", "DTC") if name != "ds" else "DSSTDTC"
        return f.select("STUDYID", "DOMAIN", "USUBJID", *cols, _iso(date_col).alias(dtc), "_ISSUE").sort("USUBJID", cols[0])
    return fmt


def _whole(fmt: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[pl.DataFrame], Iterator[pl.DataFrame]]:
    return lambda frame: iter([fmt(frame)])


# the domains in the order their files are written (and listed in _truth.json); each formatter
# gives the text in pieces: one for all but lb
_FORMATTERS: dict[str, Callable[[pl.DataFrame], Iterator[pl.DataFrame]]] = {
    "dm": _whole(_format_dm), "ae": _whole(_format_ae), "ex": _whole(_format_ex), "sv": _whole(_format_sv),
    "lb": _format_lb, "vs": _whole(_format_vs),
    "ds": _whole(_format_events("ds", "DSSTDT", ["DSSEQ", "DSTERM", "DSDECOD", "DSCAT"])),
    "rs": _whole(_format_events("rs", "RSDT", ["RSSEQ", "RSTESTCD", "RSTEST", "RSSTRESC", "RSEVAL", "VISIT"])),
    "tr": _whole(_format_events("tr", "TRDT", ["TRSEQ", "TRLNKID", "TRTESTCD", "TRTEST", "TRSTRESN", "TRSTRESU", "VISIT"])),
}


def _formatted(frames: dict[str, pl.DataFrame]) -> Iterator[tuple[str, Iterator[pl.DataFrame]]]:
    """Final SDTM columns as text (ISO 8601 dates), rows in their file order: one domain at a time,
    each typed frame released once it is formatted (at 50,000 subjects the lab frame alone is GBs)."""
    for name, fmt in _FORMATTERS.items():
        if "_ISSUE" not in frames[name].columns:
            frames[name] = frames[name].with_columns(pl.lit(None, pl.String).alias("_ISSUE"))
        pieces = fmt(frames.pop(name))  # the formatter holds the only reference to the typed frame
        if name == "ae":  # SUPPAE is made from AE's AEDLT, which then leaves AE
            (ae,) = pieces
            yield "ae", iter([ae.drop("AEDLT")])
            yield "suppae", iter([_format_suppae(ae)])
        else:
            yield name, pieces


_KEY = {"dm": "USUBJID", "ae": "AESEQ", "ex": "EXSEQ", "sv": "VISITNUM", "lb": "LBSEQ", "vs": "VSSEQ", "ds": "DSSEQ", "rs": "RSSEQ", "tr": "TRSEQ"}


class _Sink:
    """One export file written piece by piece: CSV appended (header once), XPT written whole at the end."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.pieces: list[pl.DataFrame] = []
        self.fh = path.open("wb") if fmt == "csv" else None
        self.first = True

    def write(self, frame: pl.DataFrame) -> None:
        if self.fh is not None:
            frame.write_csv(self.fh, include_header=self.first)
        else:
            self.pieces.append(frame)
        self.first = False

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            return
        import pyreadstat

        frame = pl.concat(self.pieces)
        pyreadstat.write_xport(frame.to_pandas(), str(self.path), file_format_version=5, table_name=self.path.stem.upper()[:8])
        _fix_xpt_timestamps(self.path, CUT_DATE)


# SAS transport (XPORT v5) header date-times: 'ddMMMyy:hh:mm:ss', 16 bytes, ASCII
_XPT_STAMP = re.compile(rb"\d\d(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\d\d:\d\d:\d\d:\d\d")
_XPT_NAMESTR = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"


def _fix_xpt_timestamps(path: Path, cut: dt.date) -> None:
    """Same seed -> byte-identical XPT: pyreadstat stamps the write time into the library header (created and
    modified, records 2-3) and the member header (records 6-7) of the XPORT v5 file (SAS TS-140 layout). They
    are set to the data cut date at midnight, in place: only the header before the NAMESTR record is touched
    (the same 16 bytes, so no offset moves), never the data."""
    data = bytearray(path.read_bytes())
    end = data.find(_XPT_NAMESTR)
    month = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")[cut.month - 1]  # not the locale's
    stamp = f"{cut.day:02d}{month}{cut.year % 100:02d}:00:00:00".encode("ascii")
    head = _XPT_STAMP.sub(stamp, bytes(data[:end if end > 0 else 0]))
    data[:len(head)] = head
    path.write_bytes(bytes(data))


def write_demo_export(out: Path, subjects: int = 56, seed: int = 20260305, fmt: str = "csv",
                      protocol: Protocol | None = None, plant_issues: bool = True) -> dict[str, Any]:
    """Write the export (one file per domain) and `_truth.json`; return the truth dict."""
    protocol = protocol or load_protocol()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames, subj = build_domains(subjects, seed, protocol)
    planted = (plant_data_issues(frames, subj, np.random.default_rng(seed + 1), protocol.dlt_window_days, CUT_DATE)
               if plant_issues else [])
    by_id = {p.id: p for p in planted}
    issues: list[dict[str, Any]] = []
    rows: dict[str, int] = {}
    suffix = ".csv" if fmt == "csv" else ".xpt"
    for name, pieces in _formatted(frames):
        key = _KEY.get(name, "USUBJID")
        sink = _Sink(out / (name + suffix), fmt)
        written = 0
        for piece in pieces:
            marked = piece.with_row_index("_R", offset=written + 1).filter(pl.col("_ISSUE").is_not_null())
            for row in marked.iter_rows(named=True):
                p = by_id[row["_ISSUE"]]
                value = row[key]
                issues.append({
                    "id": p.id, "kind": p.kind, "domain": p.domain, "usubjid": row["USUBJID"],
                    "record_key": f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}",
                    "file": name + suffix, "row": int(row["_R"]), "expect": p.expect,
                })
            data = piece.drop("_ISSUE")
            sink.write(data)
            written += data.height
        sink.close()
        rows[name + suffix] = written
    for p in planted:  # removed records: no row in the file; the key names what is missing
        if hasattr(p, "removed_key"):
            issues.append({"id": p.id, "kind": p.kind, "domain": p.domain, "usubjid": p.usubjid,
                           "record_key": p.removed_key, "file": None, "row": None, "expect": p.expect})
    issues.sort(key=lambda i: i["id"])
    with_issue = {i["usubjid"] for i in issues} | {p.usubjid for p in planted}
    truth = {
        "seed": seed, "subjects": int(subj.height), "requested_subjects": subjects, "cut_date": CUT_DATE.isoformat(),
        "format": fmt, "files": rows,
        "clean_subjects": sorted(set(subj["USUBJID"].to_list()) - with_issue),
        "dlt_subjects": sorted(subj.filter(pl.col("DLTSEEN"))["USUBJID"].to_list()),
        "issues": issues,
    }
    (out / "_truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return truth
