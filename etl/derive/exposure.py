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
    iv = ex.select(
        "USUBJID",
        drug_of(protocol).alias("DRUG"),
        pl.col("EXTRT"),
        start.alias("START"),
        pl.coalesce(end, start).alias("END"),
        (pl.col("EXENDTC_DT").is_null() if "EXENDTC_DT" in ex.columns else pl.lit(True)).alias("OPEN"),
        pl.col("EXDOSE").alias("DOSE") if "EXDOSE" in ex.columns else pl.lit(None, pl.Float64).alias("DOSE"),
    ).filter(pl.col("START").is_not_null())
    return without_days_not_taken(iv)


def without_days_not_taken(iv: pl.DataFrame) -> pl.DataFrame:
    """Apatinib records with the days a record of dose 0 (not taken) covers cut out of them.

    An interruption is often written as a record of EXDOSE 0 for its days inside a record that runs through them
    (375 mg 01-05..01-25 and 0 mg 01-14..01-18): those days were not taken (an EXDOSE of 0 is a missed dose), so
    days on drug, DLT evaluability (DOMAIN.md 4: >= 80% of the daily doses) and dose intensity must not count
    them. The record is split around them (check ex_overlap lists the pair). Only records that meet such a dose-0
    record are split; one-day infusions are left as they are (infusion_days: a day's given record wins).
    """
    daily = (pl.col("DRUG") == "APATINIB") & (pl.col("END") >= pl.col("START"))
    zero = iv.filter(daily & (pl.col("DOSE") == 0)).select("USUBJID", pl.col("START").alias("_ZS"), pl.col("END").alias("_ZE"))
    if zero.is_empty():
        return iv
    indexed = iv.with_row_index("_T")
    taken = indexed.filter(daily & (pl.col("DOSE").is_null() | (pl.col("DOSE") > 0)))
    hit = taken.join(zero, on="USUBJID").filter((pl.col("_ZS") <= pl.col("END")) & (pl.col("_ZE") >= pl.col("START")))
    if hit.is_empty():
        return iv
    affected = taken.filter(pl.col("_T").is_in(hit["_T"].unique().implode()))
    off = (zero.join(affected.select("USUBJID").unique(), on="USUBJID")
           .select("USUBJID", pl.date_ranges("_ZS", "_ZE").alias("_DAY")).explode("_DAY").unique())
    days = (affected.with_columns(pl.date_ranges("START", "END").alias("_DAY")).explode("_DAY")
            .join(off, on=["USUBJID", "_DAY"], how="anti").sort("_T", "_DAY"))
    # consecutive days left of one record are one piece (day minus its rank is constant along a run)
    pieces = (days.with_columns((pl.col("_DAY") - pl.duration(days=pl.int_range(pl.len()).over("_T"))).alias("_RUN"))
              .group_by("_T", "_RUN", maintain_order=True)
              .agg(pl.col("USUBJID", "DRUG", "EXTRT", "DOSE").first(), pl.col("_DAY").min().alias("START"),
                   pl.col("_DAY").max().alias("END"), pl.col("OPEN").first(), pl.col("END").first().alias("_END0"))
              # an open record stays open only in the piece that ends where it did
              .with_columns((pl.col("OPEN") & (pl.col("END") == pl.col("_END0"))).alias("OPEN")))
    return pl.concat([
        indexed.filter(~pl.col("_T").is_in(affected["_T"].implode())),
        pieces.select(indexed.columns),
    ]).sort("_T", "START").drop("_T")


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
