"""adam.adae: adverse events with numeric grade, timing, cycle, treatment-emergence and DLT flags."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.dates import parse_iso_datetime
from etl.derive.cycles import assign_cycle
from etl.derive.dlt_rules import add_delay_rule, derive_dlt_candidates
from etl.derive.study_day import compute_study_day, period_end
from safetyboard.protocol import Protocol

# "3", "3.0", "Grade 3", "G3" -> 3 (CTCAE grades 1-5 as the AE CRF records them in AETOXGR; SDTM's form is
# "1"-"5", the others are read and reported by the check ae_grade_nonstandard). RE2 and Rust regex alike.
GRADE_PATTERN = r"(?i)^\s*(?:GRADE\s*|G)?([1-5])(?:\.0+)?\s*$"
# the investigator's DLT flag (SUPPAE AEDLT) in the spellings exports use for CDISC NY's Y/N (any other value,
# such as NY's U, is kept as written and is no verdict: etl/derive/adsl.py)
AEDLT_CODES = {"YES": "Y", "NO": "N", "1": "Y", "0": "N", "1.0": "Y", "0.0": "N", "TRUE": "Y", "FALSE": "N",
               "T": "Y", "F": "N"}
# adam.adae text columns of the storage contract (DESIGN.md) taken from raw.ae as they are
CONTRACT_TEXT = ("AETERM", "AEDECOD", "AEBODSYS", "AESER")


def compute_grade(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.String).str.extract(GRADE_PATTERN, 1).cast(pl.Int8)


def derive_adae(ae: pl.DataFrame, adsl: pl.DataFrame, adcyc: pl.DataFrame, delays: pl.DataFrame, protocol: Protocol,
                cut_date: dt.date | None = None) -> pl.DataFrame:
    """`cut_date` bounds how long an event without an end date has lasted (DLT duration rules)."""
    window = protocol.dlt_window_days
    te_days = int(protocol.raw["analysis"]["treatment_emergent_days_after_last_dose"])  # protocol [analysis]
    cols = ae.columns
    grade_text = pl.col("AETOXGR") if "AETOXGR" in cols else pl.lit(None, pl.String)
    frame = ae.join(adsl.select("USUBJID", "TRTSDT", "TRTEDT", "TRTONGFL", "RFSTDT"), on="USUBJID", how="left")
    frame = frame.with_columns(
        compute_grade(grade_text).alias("AETOXGRN"),
        pl.when(grade_text.is_null()).then(pl.lit("AETOXGR missing" if "AETOXGR" in cols else "no AETOXGR in export"))
        .when(compute_grade(grade_text).is_null()).then(pl.format("AETOXGR '{}' is not a grade 1-5", grade_text))
        .otherwise(None).alias("GRADERSN"),
        pl.col("AESTDTC_DT").alias("ASTDT") if "AESTDTC_DT" in cols else pl.lit(None, pl.Date).alias("ASTDT"),
        pl.col("AESTDTC_DTF").alias("ASTDTF") if "AESTDTC_DTF" in cols else pl.lit(None, pl.String).alias("ASTDTF"),
        pl.col("AEENDTC_DT").alias("AENDT") if "AEENDTC_DT" in cols else pl.lit(None, pl.Date).alias("AENDT"),
        pl.col("AEENDTC_DTF").alias("AENDTF") if "AEENDTC_DTF" in cols else pl.lit(None, pl.String).alias("AENDTF"),
        # CDISC NY codelist Y/N (U: unknown, kept as written); YES/NO and a numeric or boolean export's 1/0,
        # TRUE/FALSE read as Y/N: a '1' kept as '1' counted as no investigator DLT in the escalation
        (pl.col("AEDLT").str.to_uppercase().str.strip_chars().replace(AEDLT_CODES) if "AEDLT" in cols
         else pl.lit(None, pl.String)).alias("DLTFL"),
    )
    # A partial onset date whose period holds the first dose is imputed to the first dose, not to the
    # 1st of the month/year (ADaMIG imputation; admiral derive_vars_dt(min_dates = TRTSDT)): else an
    # event in the first month of treatment would fall before dosing, outside the DLT window. The
    # onset cannot be after the end (AENDT, imputed to the last possible day): an event that ended
    # before the first dose keeps the 1st of its period (it was not treatment-emergent, nor a DLT).
    frame = frame.with_columns(
        pl.when(pl.col("ASTDTF").is_not_null() & (pl.col("ASTDT") < pl.col("TRTSDT"))
                & (period_end(pl.col("ASTDT"), pl.col("ASTDTF")) >= pl.col("TRTSDT"))
                & (pl.col("AENDT").is_null() | (pl.col("AENDT") >= pl.col("TRTSDT"))))
        .then(pl.col("TRTSDT")).otherwise(pl.col("ASTDT")).alias("ASTDT")
    )
    # date-times (DESIGN.md: extra ADAE columns) for the transient lab-abnormality DLT exception
    no_time = pl.lit(None, pl.Datetime("us"))
    frame = frame.with_columns(
        (parse_iso_datetime(pl.col("AESTDTC"), pl.col("ASTDT")) if "AESTDTC" in cols else no_time).alias("ASTDTM"),
        (parse_iso_datetime(pl.col("AEENDTC"), pl.col("AENDT")) if "AEENDTC" in cols else no_time).alias("AENDTM"),
    )
    wend = pl.col("TRTSDT") + pl.duration(days=window - 1)
    # the end bounds the onset (it began by then) unless it lies before it: contradictory dates bound nothing (an
    # onset '2026-04' ending 2026-02-15 was a certain in-window DLT on the strength of the wrong end)
    end_bound = pl.when(pl.col("AENDT") >= pl.col("ASTDT")).then(pl.col("AENDT"))
    latest_onset = pl.min_horizontal(period_end(pl.col("ASTDT"), pl.col("ASTDTF")), end_bound)
    frame = frame.with_columns(
        compute_study_day(pl.col("ASTDT"), pl.col("RFSTDT")).alias("ASTDY"),
        compute_study_day(pl.col("AENDT"), pl.col("RFSTDT")).alias("AENDY"),
        pl.when(pl.col("AENDT") >= pl.col("ASTDT")).then((pl.col("AENDT") - pl.col("ASTDT")).dt.total_days() + 1)
        .otherwise(None).cast(pl.Int32).alias("ADURN"),
        # treatment-emergent: onset on/after first dose and up to last dose + N days ([R] convention). An
        # onset that is unknown (missing or invalid AESTDTC) counts as treatment-emergent unless the end
        # date proves the event was over before the first dose (admiral derive_var_trtemfl: start date
        # missing and end date missing or on/after treatment start -> "Y"): a grade 4 event with a typo
        # in its onset stays in the treatment-emergent counts. Never dosed: null.
        pl.when(pl.col("TRTSDT").is_null()).then(None)
        .when(pl.col("ASTDT").is_null())
        .then(pl.when(pl.col("AENDT").is_not_null() & (pl.col("AENDT") < pl.col("TRTSDT"))).then(pl.lit("N")).otherwise(pl.lit("Y")))
        # treatment still ongoing (ADSL TRTONGFL: the last daily-drug record has no end date): no end to the window
        .when((pl.col("ASTDT") >= pl.col("TRTSDT"))
              & ((pl.col("TRTONGFL") == "Y").fill_null(False)
                 | (pl.col("ASTDT") <= pl.coalesce("TRTEDT", "TRTSDT") + pl.duration(days=te_days))))
        .then(pl.lit("Y")).otherwise(pl.lit("N")).alias("TRTEMFL"),
        # DLT window: C1D1 .. C1D1 + window - 1 (registry: first two cycles, 6 weeks). A partial onset
        # whose period runs past the window's last day ('2026-02' when the window ends on 2026-02-15)
        # may lie inside or after it: null (undecided, as an onset that cannot be placed), not 'Y' on
        # the strength of the imputed 1st; the end date bounds the onset (it began by then).
        pl.when(pl.col("TRTSDT").is_null()).then(None)
        # an unknown onset is undecided, unless the end proves the event was over before the first dose
        .when(pl.col("ASTDT").is_null()).then(pl.when(pl.col("AENDT") < pl.col("TRTSDT")).then(pl.lit("N")))
        .when((pl.col("ASTDT") < pl.col("TRTSDT")) | (pl.col("ASTDT") > wend)).then(pl.lit("N"))
        .when(latest_onset <= wend).then(pl.lit("Y"))
        .otherwise(None).alias("DLTWINFL"),
    )
    frame = assign_cycle(frame, "ASTDT", adcyc)
    frame = derive_dlt_candidates(frame, protocol, cut_date)
    frame = add_delay_rule(frame, delays, protocol.cycle_length_days)
    # DESIGN.md's adam.adae columns that come from the export: an export may lack the optional ones (a
    # real EX/AE set without AEBODSYS or AESER; AEDECOD before MedDRA coding); null, never absent (added
    # last, so no derivation above mistakes them for values the export gave)
    absent = [c for c in CONTRACT_TEXT if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
    return frame.drop("TRTSDT", "TRTEDT", "TRTONGFL", "RFSTDT")
