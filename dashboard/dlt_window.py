"""DLT-window status per patient and per cohort (pure functions on adam.adsl rows).

Window length is the protocol's [dlt] window_days (registry: first two cycles, 42 days from C1D1).
A cohort is ready for the escalation review when every patient in it has completed the window or
had a DLT (DLTWCFL = Y or DLTFL = Y; DOMAIN.md 4: a DLT makes the patient evaluable early). Patients
without a protocol dose level (DOSELVL null: their arm is not a dose level) are no cohort of the
escalation: they are listed, never ready for review.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from dashboard.queries import UNASSIGNED

NO_COHORT = "(no cohort)"  # shown for patients without a cohort (their arm is not a dose level), never 'None'


def lanes(subjects: pl.DataFrame, cut_date: dt.date | None) -> pl.DataFrame:
    """One row per treated subject: CUTDY (study day of the cut date), DLTWREM, EVAL (status text)."""
    treated = subjects.filter(pl.col("TRTSDT").is_not_null())
    cut = pl.lit(cut_date, dtype=pl.Date)
    status = (
        pl.when(pl.col("DLTFL") == "Y").then(pl.lit("DLT"))
        .when(pl.col("DLTEVLFL") == "Y").then(pl.lit("evaluable"))
        .when(pl.col("DLTWCFL") == "Y").then(pl.format("not evaluable: {}", pl.col("DLTEVLRSN").fill_null("?")))
        .otherwise(pl.lit("in window"))
    )
    return treated.with_columns(
        ((cut - pl.col("TRTSDT")).dt.total_days() + 1).cast(pl.Int64).alias("CUTDY"),
        pl.col("DLTWREM").fill_null(0).cast(pl.Int64),
        status.alias("EVAL"),
        pl.col("DOSELVLC").fill_null(UNASSIGNED),
        pl.col("COHORT").cast(pl.String).fill_null(NO_COHORT),
    ).sort("DOSELVL", "COHORTN", "TRTSDT", "USUBJID", nulls_last=True)


def inside_window(lanes_df: pl.DataFrame) -> pl.DataFrame:
    """Patients still inside the DLT window at the cut: days remain (DLTWREM > 0), a patient with a DLT included
    (still observed; DLTWREM is 0 for one who died or left the study)."""
    return lanes_df.filter(pl.col("DLTWREM") > 0)


def cohort_status(lanes_df: pl.DataFrame) -> pl.DataFrame:
    """Per dose level and cohort: patients, window complete (or DLT), evaluable, DLTs, days to go, ready.

    Give it every patient of the cohorts (not a filtered selection): readiness is a fact about the whole cohort.
    Days to go is the most any patient still needed for the review has left (a patient with a DLT is complete)."""
    done = (pl.col("DLTWCFL") == "Y") | (pl.col("DLTFL") == "Y")
    return (
        lanes_df.group_by("DOSELVL", "DOSELVLC", "COHORTN", "COHORT", maintain_order=True)
        .agg(
            pl.len().alias("patients"),
            done.sum().cast(pl.Int64).alias("window_complete"),
            (pl.col("DLTEVLFL") == "Y").sum().cast(pl.Int64).alias("evaluable"),
            (pl.col("DLTFL") == "Y").sum().cast(pl.Int64).alias("with_dlt"),
            pl.col("DLTWREM").filter(~done.fill_null(False)).max().fill_null(0).alias("max_days_remaining"),
        )
        .with_columns(
            ((pl.col("window_complete") == pl.col("patients")) & pl.col("DOSELVL").is_not_null()).alias("ready_for_review")
        )
        .sort("DOSELVL", "COHORTN", nulls_last=True)
        .drop("DOSELVL", "COHORTN")
        .with_columns(pl.col("COHORT").fill_null(NO_COHORT))
    )
