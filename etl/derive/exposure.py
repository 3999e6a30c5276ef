"""Exposure facts shared by ADSL and ADEX: first/last dose, days on apatinib, infusions in a window."""

from __future__ import annotations

import polars as pl

from etl.derive.study_day import complete_date
from safetyboard.protocol import Protocol


def drug_of(protocol: Protocol) -> pl.Expr:
    """'APATINIB' / 'IRINOTECAN' / null from EXTRT, using the TOML [drugs] names."""
    trt = pl.col("EXTRT").str.to_uppercase().str.strip_chars()
    return (
        pl.when(trt.is_in(list(protocol.drugs["apatinib"]))).then(pl.lit("APATINIB"))
        .when(trt.is_in(list(protocol.drugs["irinotecan"]))).then(pl.lit("IRINOTECAN"))
        .otherwise(None)
    )


def exposure_intervals(ex: pl.DataFrame, protocol: Protocol) -> pl.DataFrame:
    """USUBJID, DRUG, START, END (end = start for one-day records), OPEN (no usable EXENDTC: END is the start
    day alone, the record may still run), DOSE (null dose counts as given).

    Dose dates are complete dates only, never imputed (admiral's ADSL template derives EXSTDTM/EXENDTM with
    `highest_imputation = "h"`): a partial EXSTDTC ('2026-01') imputed to the 1st would move the first dose,
    and the 42-day DLT window with it, up to a month early; a partial EXENDTC imputed to the month's last day
    would count apatinib days not known to be taken toward DLT evaluability. A record with a partial start is
    no dose date; one with a partial end counts its start day alone (check ex_date_partial lists both)."""
    end = complete_date(ex, "EXENDTC") if "EXENDTC_DT" in ex.columns else pl.lit(None, pl.Date)
    start = complete_date(ex, "EXSTDTC")
    return ex.select(
        "USUBJID",
        drug_of(protocol).alias("DRUG"),
        pl.col("EXTRT"),
        start.alias("START"),
        pl.coalesce(end, start).alias("END"),
        (pl.col("EXENDTC_DT").is_null() if "EXENDTC_DT" in ex.columns else pl.lit(True)).alias("OPEN"),
        pl.col("EXDOSE").alias("DOSE") if "EXDOSE" in ex.columns else pl.lit(None, pl.Float64).alias("DOSE"),
    ).filter(pl.col("START").is_not_null())


def dose_given() -> pl.Expr:
    """An exposure record that gave study treatment: a dose > 0, no dose recorded, or placebo (dose 0
    by nature). A record with EXDOSE 0 of an active drug is a dose not taken (held, missed), so it
    does not make a subject treated nor set the first or last dose date (admiral's ADSL template:
    EXDOSE > 0 | (EXDOSE == 0 & EXTRT contains PLACEBO))."""
    placebo = pl.col("EXTRT").cast(pl.String).str.to_uppercase().str.contains("PLACEBO").fill_null(False)
    return pl.col("DOSE").is_null() | (pl.col("DOSE") > 0) | placebo


def new_days(lo: str, hi: str, by: list[str]) -> pl.Expr:
    """Days of [lo, hi] not already covered by an earlier-starting interval of the same `by` group,
    on a frame sorted by `by` then `lo` (one day covered by two records counts once).

    The interval with the latest end so far began on or before `lo`, so it covers every day from
    `lo` up to that end: only the days after it are new. Two records of one drug for one day
    (a duplicate, or a dose change written on both records) would otherwise count that day twice,
    and days on drug could reach the DLT-evaluability threshold (DOMAIN.md 4) without the doses
    (the check ex_overlap lists such records).
    """
    covered = pl.col(hi).cum_max().shift(1).over(by)
    first_new = pl.max_horizontal(pl.col(lo), covered + pl.duration(days=1))
    return ((pl.col(hi) - first_new).dt.total_days() + 1).clip(lower_bound=0).fill_null(0)


def days_in_window(iv: pl.DataFrame, starts: pl.DataFrame, window_days: int, drug: str) -> pl.DataFrame:
    """Per subject: days covered by `drug` records with a dose > 0 inside [TRTSDT, TRTSDT+window-1],
    each day once however many records cover it."""
    part = iv.filter((pl.col("DRUG") == drug) & (pl.col("DOSE").fill_null(1) > 0)).join(starts, on="USUBJID")
    part = part.with_columns(
        pl.max_horizontal("START", "TRTSDT").alias("_LO"),
        pl.min_horizontal("END", pl.col("TRTSDT") + pl.duration(days=window_days - 1)).alias("_HI"),
    ).filter(pl.col("_HI") >= pl.col("_LO")).sort("USUBJID", "_LO")
    return part.with_columns(new_days("_LO", "_HI", ["USUBJID"]).alias("_D")).group_by("USUBJID").agg(
        pl.col("_D").sum().alias("DAYS")
    )


def infusion_days(iv: pl.DataFrame) -> pl.DataFrame:
    """One nal-IRI infusion per subject and day (USUBJID, START, DOSE = the day's highest dose, GIVEN = a
    record of the day has a dose > 0 or none recorded): a second record of the same day (a duplicate under
    another EXSEQ) is not a second infusion (check ex_overlap)."""
    return iv.filter(pl.col("DRUG") == "IRINOTECAN").group_by("USUBJID", "START").agg(
        pl.col("DOSE").max(), (pl.col("DOSE").fill_null(1) > 0).any().alias("GIVEN"))


def infusions_in_window(iv: pl.DataFrame, starts: pl.DataFrame, window_days: int) -> pl.DataFrame:
    part = infusion_days(iv).filter(pl.col("GIVEN")).join(starts, on="USUBJID")
    inside = (pl.col("START") >= pl.col("TRTSDT")) & (pl.col("START") <= pl.col("TRTSDT") + pl.duration(days=window_days - 1))
    return part.filter(inside).group_by("USUBJID").agg(pl.len().alias("INFUSIONS"))
