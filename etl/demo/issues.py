"""Planted data issues: what a real export contains, at a controlled rate, each one recorded.

Every issue marks the affected row with an `_ISSUE` id; after the files' final row order is
fixed, generate.py turns the marks into `_truth.json` entries (file, 1-based row, record key and
the expected outcome: a check id of the data-quality checks, or a loader quarantine reason).
Issues are planted on subjects chosen at random; DLT-relevant records are avoided where an issue
would change the escalation history (e.g. grades are removed only from grade 1-2 events outside
the DLT window).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass
class Planted:
    id: str
    kind: str
    domain: str
    usubjid: str
    expect: dict[str, str]


class Planter:
    def __init__(self, frames: dict[str, pl.DataFrame], rng: np.random.Generator, per_kind: int) -> None:
        self.frames = frames
        self.rng = rng
        self.per_kind = per_kind
        self.issues: list[Planted] = []
        for name, frame in frames.items():
            frames[name] = frame.with_columns(pl.lit(None, pl.String).alias("_ISSUE"))

    def _pick(self, domain: str, cond: pl.Expr, k: int | None = None) -> pl.DataFrame:
        frame = self.frames[domain].with_row_index("_I")
        cand = frame.filter(cond & pl.col("_ISSUE").is_null())
        if cand.height == 0:
            return cand
        k = min(k or self.per_kind, cand.height)
        # one issue per subject and kind, at random
        subjects = cand["USUBJID"].unique().sort().to_list()
        chosen = self.rng.choice(len(subjects), size=min(k, len(subjects)), replace=False)
        picks = cand.filter(pl.col("USUBJID").is_in([subjects[i] for i in chosen])).group_by("USUBJID", maintain_order=True).first()
        return picks

    def _register(self, kind: str, domain: str, picks: pl.DataFrame, expect: dict[str, str]) -> pl.DataFrame:
        """Give each picked row an issue id (in pick order) and record the issues."""
        first = len(self.issues) + 1
        ids = [f"I{first + i:04d}" for i in range(picks.height)]
        for iid, subject in zip(ids, picks["USUBJID"].to_list(), strict=True):
            self.issues.append(Planted(iid, kind, domain.upper(), subject, expect))
        return picks.with_columns(pl.Series("_NEWID", ids, dtype=pl.String))

    def modify(self, kind: str, domain: str, cond: pl.Expr, changes: dict[str, pl.Expr], expect: dict[str, str]) -> None:
        for col in changes:
            if col not in self.frames[domain].columns:
                self.frames[domain] = self.frames[domain].with_columns(pl.lit(None, pl.String).alias(col))
        picks = self._register(kind, domain, self._pick(domain, cond), expect)
        # the new ids by row index: a lookup, not a join (a join would copy every column of a
        # 13 M-row lab frame once per planted kind)
        new_id = pl.col("_I").replace_strict(picks["_I"], picks["_NEWID"], default=None, return_dtype=pl.String)
        frame = self.frames[domain].with_row_index("_I").with_columns(new_id.alias("_NEWID"))
        hit = pl.col("_NEWID").is_not_null()
        frame = frame.with_columns(
            [pl.when(hit).then(expr).otherwise(pl.col(col)).alias(col) for col, expr in changes.items()]
            + [pl.coalesce("_NEWID", "_ISSUE").alias("_ISSUE")]
        )
        self.frames[domain] = frame.drop("_I", "_NEWID")

    def append(self, kind: str, domain: str, cond: pl.Expr, changes: dict[str, pl.Expr], expect: dict[str, str]) -> None:
        """Append a changed copy of picked rows (duplicates, extra records)."""
        picks = self._register(kind, domain, self._pick(domain, cond), expect)
        if picks.height:
            extra = picks.drop("_I").with_columns(**changes).with_columns(pl.col("_NEWID").alias("_ISSUE")).drop("_NEWID")
            self.frames[domain] = pl.concat([self.frames[domain], extra], how="diagonal_relaxed")

    def remove(self, kind: str, domain: str, cond: pl.Expr, expect: dict[str, str], marker: str) -> None:
        """Delete picked rows; the truth points at the subject and the record named by `marker`."""
        picks = self._pick(domain, cond)
        first = len(self.issues)
        for i, row in enumerate(picks.select("USUBJID", marker).iter_rows()):
            planted = Planted(f"I{first + i + 1:04d}", kind, domain.upper(), row[0], expect)
            value = row[1]
            planted.removed_key = f"{marker}={value:g}" if isinstance(value, float) else f"{marker}={value}"  # type: ignore[attr-defined]
            self.issues.append(planted)
        gone = picks["_I"].implode()
        self.frames[domain] = self.frames[domain].with_row_index("_I").filter(~pl.col("_I").is_in(gone)).drop("_I")


def plant_issues(frames: dict[str, pl.DataFrame], subjects: pl.DataFrame, rng: np.random.Generator, window_days: int,
                 cut_date: dt.date) -> list[Planted]:
    n = subjects.height
    per_kind = max(1, round(n * 0.03))  # ~3% of subjects per kind (2 in a 56-subject trial)
    p = Planter(frames, rng, per_kind)
    c1d1 = dict(subjects.select("USUBJID", "C1D1").iter_rows())
    dead = subjects.filter(pl.col("DTHDT").is_not_null())
    # subjects whose DLT is in the data (one drawn for a window that reaches past the cut may not be yet)
    dlt_subjects = subjects.filter(pl.col("DLTSEEN") if "DLTSEEN" in subjects.columns else pl.col("DLT"))["USUBJID"].to_list()
    # AE: low-grade events outside the DLT window only (no effect on DLT status)
    outside = pl.col("AESTDT") > pl.col("USUBJID").replace_strict(c1d1, return_dtype=pl.Date) + pl.duration(days=window_days + 7)
    low = pl.col("AETOXGR").is_in(["1", "2"]) & (pl.col("AEDLT") == "N")
    p.modify("missing_grade", "ae", low & outside, {"AETOXGR": pl.lit(None, pl.String)}, {"check": "ae_grade_missing"})
    p.modify("invalid_grade", "ae", low & outside, {"AETOXGR": pl.lit("6")}, {"check": "ae_grade_invalid"})
    p.modify("dates_inverted", "ae", low & outside & pl.col("AEENDT").is_not_null(),
             {"AEENDT": pl.col("AESTDT") - pl.duration(days=3)}, {"check": "ae_dates_inverted"})
    p.modify("invalid_optional_date", "ae", low & outside & pl.col("AEENDT").is_not_null(),
             {"AEENDTC_TEXT": pl.lit("2026-02-30")}, {"check": "ae_date_invalid"})
    p.modify("partial_date", "ae", low & outside, {"AESTDTC_TEXT": pl.col("AESTDT").dt.strftime("%Y-%m")}, {"check": "ae_date_partial"})
    # a second, non-qualifying event flagged as a DLT by the investigator (subject already has a DLT)
    p.modify("dlt_flag_mismatch", "ae", pl.col("USUBJID").is_in(dlt_subjects) & (pl.col("AEDLT") == "N") & pl.col("AETOXGR").is_in(["1", "2"])
             & ~outside & (pl.col("AESTDT") >= pl.col("USUBJID").replace_strict(c1d1, return_dtype=pl.Date)),
             {"AEDLT": pl.lit("Y")}, {"check": "dlt_flag_mismatch"})
    # visits
    # (moved no later than the cut date: a date after it would move the cut date the loader derives)
    p.modify("visit_out_of_window", "sv", pl.col("VISIT").str.ends_with("D8") & (pl.col("CYCLE") > 2)
             & (pl.col("DATE") <= pl.lit(cut_date) - pl.duration(days=6)),
             {"DATE": pl.col("DATE") + pl.duration(days=6)}, {"check": "visit_out_of_window"})
    # a missing visit is only visible once its window has closed before the cut date
    due = pl.col("DATE") <= pl.lit(cut_date) - pl.duration(days=7)
    p.remove("visit_missing", "sv", pl.col("VISIT").str.ends_with("D15") & (pl.col("CYCLE") > 2) & due, {"check": "visit_missing"}, "VISITNUM")
    # labs
    p.modify("lab_range_missing", "lb", (pl.col("LBTESTCD") == "ALT") & (pl.col("VISITNUM") > 0),
             {"LBSTNRLO": pl.lit(None, pl.Float64), "LBSTNRHI": pl.lit(None, pl.Float64)}, {"check": "lab_range_missing"})
    p.modify("lab_unit_unexpected", "lb", (pl.col("LBTESTCD") == "PLAT") & (pl.col("VISITNUM") > 0),
             {"LBSTRESU": pl.lit("mg/dL"), "LBORRESU": pl.lit("mg/dL")}, {"check": "lab_unit_unexpected"})
    maxseq = frames["lb"]["LBSEQ"].max() or 0
    p.append("record_duplicate", "lb", (pl.col("LBTESTCD") == "SODIUM") & (pl.col("VISITNUM") > 0),
             {"LBSEQ": pl.lit(int(maxseq) + 1000, pl.Int64)}, {"check": "record_duplicate"})
    # vitals
    p.modify("vs_implausible", "vs", (pl.col("VSTESTCD") == "SYSBP") & (pl.col("VISITNUM") > 0),
             {"VSSTRESN": pl.lit(400.0), "VSORRES": pl.lit("400")}, {"check": "vs_implausible"})
    p.modify("eligibility_bp", "vs", (pl.col("VSTESTCD") == "SYSBP") & (pl.col("VISITNUM") == 0),
             {"VSSTRESN": pl.lit(152.0), "VSORRES": pl.lit("152")}, {"check": "eligibility_bp"})
    # demographics
    p.modify("eligibility_age", "dm", pl.lit(True), {"AGE": pl.lit(9)}, {"check": "eligibility_age"})
    # records after death
    if dead.height:
        death = dict(dead.select("USUBJID", "DTHDT").iter_rows())
        died_early = [u for u, d in death.items() if d + dt.timedelta(days=5) <= cut_date]
        p.append("record_after_death", "vs", pl.col("USUBJID").is_in(died_early) & (pl.col("VSTESTCD") == "PULSE"),
                 {"VSDT": pl.col("USUBJID").replace_strict(death, return_dtype=pl.Date) + pl.duration(days=5),
                  "VSSEQ": pl.lit(99_999, pl.Int64), "VISIT": pl.lit("UNSCHEDULED"), "VISITNUM": pl.lit(9999.1)},
                 {"check": "record_after_death"})
    # exposure gap inside the DLT window: a missing D8 infusion for a subject whose window is open, given
    # before any AE that interrupted the drug (an infusion planned while an AE held it is not expected)
    in_window = pl.col("START") <= pl.col("USUBJID").replace_strict(c1d1, return_dtype=pl.Date) + pl.duration(days=window_days - 1)
    first_hold = dict(frames["ae"].filter(pl.col("AEACN") == "DRUG INTERRUPTED").group_by("USUBJID").agg(pl.col("AESTDT").min()).iter_rows())
    before_hold = pl.col("START") < pl.col("USUBJID").replace_strict(first_hold, default=dt.date(9999, 12, 31), return_dtype=pl.Date)
    p.remove("exposure_gap", "ex", (pl.col("EXTRT") == "IRINOTECAN LIPOSOME") & (pl.col("VISIT") == "C1D8") & in_window & before_hold
             & pl.col("USUBJID").is_in(dlt_subjects), {"check": "exposure_gap_in_dlt_window"}, "EXSEQ")
    # rows the loader must quarantine
    p.append("invalid_date", "lb", (pl.col("LBTESTCD") == "CREAT") & (pl.col("VISITNUM") > 0),
             {"LBDTC_TEXT": pl.lit("2026-02-30"), "LBSEQ": pl.lit(int(maxseq) + 3000, pl.Int64)}, {"quarantine": "invalid_date"})
    p.append("duplicate_key", "ae", low & outside, {"AETERM": pl.col("AETERM") + " (re-entered)"}, {"quarantine": "duplicate_key"})
    p.append("unknown_subject", "lb", pl.col("VISITNUM") > 0, {"USUBJID": pl.col("USUBJID") + "-X", "LBSEQ": pl.lit(1, pl.Int64)},
             {"quarantine": "unknown_subject"})
    p.append("non_numeric", "lb", (pl.col("LBTESTCD") == "K") & (pl.col("VISITNUM") > 0),
             {"LBSTRESN_TEXT": pl.lit("4,1"), "LBSEQ": pl.lit(int(maxseq) + 2000, pl.Int64)}, {"quarantine": "non_numeric"})
    # planted last, so that the kinds above pick the same rows as before it existed: a diastolic pressure whose
    # standard text and number disagree (a transcription slip; VSSTRESC '88' with VSSTRESN 78.0)
    p.modify("result_stresc_mismatch", "vs", (pl.col("VSTESTCD") == "DIABP") & (pl.col("VISITNUM") > 0),
             {"VSSTRESC_TEXT": (pl.col("VSSTRESN") + 10).round(0).cast(pl.Int64).cast(pl.String)},
             {"check": "result_stresc_mismatch"})
    # planted after it for the same reason: a grade in another form than SDTM's ('Grade 1' for '1': read as
    # the same grade, so no DLT status changes), and a reference start exported as its SAS day count (RFSTDTC
    # '24279' for 2026-06-22; RFSTDT then falls back to RFXSTDTC, the same day here, so no study day changes)
    p.modify("nonstandard_grade", "ae", low & outside, {"AETOXGR": pl.lit("Grade ") + pl.col("AETOXGR")},
             {"check": "ae_grade_nonstandard"})
    sas_days = (pl.col("RFSTDT") - pl.lit(dt.date(1960, 1, 1))).dt.total_days().cast(pl.String)
    p.modify("invalid_reference_date", "dm", pl.col("RFSTDT").is_not_null() & (pl.col("RFSTDT") == pl.col("RFXSTDT")),
             {"RFSTDTC_TEXT": sas_days}, {"check": "date_invalid"})
    # planted after those, for the same reason: partial dates that are not imputed. A sodium draw of cycle 3 or
    # later dated by its month only (it then has no analysis date: no cycle, never the baseline, which is drawn
    # before the first dose), and the end of an apatinib record of cycle 3 or later that is not the subject's
    # last record (it then counts its start day alone: that cycle's dose intensity falls; the DLT window of
    # cycles 1-2, the last dose and the treatment-emergent window stay as they were)
    p.modify("partial_lab_date", "lb", (pl.col("LBTESTCD") == "SODIUM") & (pl.col("VISITNUM") >= 300),
             {"LBDTC_TEXT": pl.col("LBDT").dt.strftime("%Y-%m")}, {"check": "result_date_partial"})
    later_cycle = pl.col("VISIT").str.extract(r"^C(\d+)D", 1).cast(pl.Int64, strict=False) >= 3
    not_last = pl.col("END") < pl.col("END").max().over("USUBJID")
    p.modify("partial_dose_date", "ex", (pl.col("EXTRT") == "APATINIB") & later_cycle & not_last,
             {"EXENDTC_TEXT": pl.col("END").dt.strftime("%Y-%m")}, {"check": "ex_date_partial"})
    return p.issues
