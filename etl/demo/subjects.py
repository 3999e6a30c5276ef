"""Demo subjects and their treatment course: demographics, cycles (day 1 dates, delays), end of
treatment and disposition. Vectorised with numpy/Polars so that 50,000 subjects take seconds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from etl.demo.cohorts import Enrolment
from safetyboard.protocol import Protocol

SITES = ("01", "02", "03", "04", "05")  # five Chinese sites (registry: multicenter, Beijing lead)


def build_subjects(en: Enrolment, protocol: Protocol, rng: np.random.Generator, first_day: dt.date, cut_date: dt.date) -> pl.DataFrame:
    n = len(en.level)
    codes = protocol.dose_codes
    levels = protocol.dose_levels
    adolescent = rng.random(n) < 0.3
    age = np.where(adolescent, rng.integers(12, 18, n), rng.integers(18, 66, n))
    c1d1 = np.array([first_day + dt.timedelta(days=int(d)) for d in en.start_day], dtype="datetime64[D]")
    # the course that decides DLT-evaluability was drawn with the enrolment (cohorts.py), so that the
    # escalation decisions counted the patients the protocol's evaluability rule counts: the cycles until
    # progression (geometric around the median) and a withdrawal inside the DLT window
    planned_cycles = en.cycles
    withdraw_day = en.withdraw_day
    frame = pl.DataFrame(
        {
            "IDX": np.arange(n),
            "USUBJID": [f"{protocol.studyid}-{SITES[i % len(SITES)]}-{i + 1:05d}" for i in range(n)],
            "SITEID": [SITES[i % len(SITES)] for i in range(n)],
            "AGE": age,
            "SEX": np.where(rng.random(n) < 0.62, "M", "F"),  # osteosarcoma is more frequent in males
            "LEVEL": en.level,
            "ARMCD": [codes[i] for i in en.level],
            "ARM": [levels[i].label for i in en.level],
            "APADOSE": [levels[i].apatinib_mg for i in en.level],
            "IRIDOSE": [levels[i].irinotecan_mg_m2 for i in en.level],
            "C1D1": c1d1,
            "DLT": en.dlt,
            "EVALUABLE": en.evaluable,
            "COHORT": en.cohort,
            "EXPANSION": en.expansion,
            "LUNGMETS": rng.random(n) < 0.7,
            "NCYC": planned_cycles,
            "WITHDRAWDY": withdraw_day,
            # stopping for an adverse event inside the DLT window would be a DLT (delay > 14 days):
            # only DLT subjects or later cycles end that way
            "ENDREASON": np.where(withdraw_day > 0, "WITHDRAWAL BY SUBJECT",
                                  np.where((rng.random(n) < 0.08) & ((planned_cycles > 2) | en.dlt),
                                           "ADVERSE EVENT", "PROGRESSIVE DISEASE")),
            "DIES": rng.random(n) < 0.45,
            "DEATHLAG": rng.integers(20, 160, n),
        }
    ).with_columns(pl.col("C1D1").cast(pl.Date))
    return frame.filter(pl.col("C1D1") <= cut_date)


def build_cycles(subjects: pl.DataFrame, protocol: Protocol, rng: np.random.Generator, cut_date: dt.date) -> pl.DataFrame:
    """One row per subject and cycle with the actual day 1; cycles that start after the cut are dropped.

    Delays (cycle 2 and later): 25% of cycles slip 1-7 days (inside the 14-day DLT limit).
    """
    length = protocol.cycle_length_days
    rows = subjects.sort("IDX").select("USUBJID", "IDX", "C1D1", "NCYC", "WITHDRAWDY").with_columns(
        pl.int_ranges(1, pl.col("NCYC") + 1).alias("CYCLE")
    ).explode("CYCLE")
    m = rows.height
    slip = np.where(rng.random(m) < 0.25, rng.integers(1, 8, m), 0)
    rows = rows.with_columns(pl.Series("SLIP", slip)).with_columns(
        pl.when(pl.col("CYCLE") == 1).then(0).otherwise(pl.col("SLIP") + length).alias("_STEP")
    ).with_columns(
        (pl.col("C1D1") + pl.duration(days=pl.col("_STEP").cum_sum().over("USUBJID"))).alias("D1DT"),
        pl.when(pl.col("CYCLE") == 1).then(0).otherwise(pl.col("SLIP")).alias("DELAY"),
    )
    # withdrawn subjects stop inside cycle 1 or 2
    rows = rows.filter((pl.col("WITHDRAWDY") == 0) | ((pl.col("D1DT") - pl.col("C1D1")).dt.total_days() < pl.col("WITHDRAWDY")))
    return rows.filter(pl.col("D1DT") <= cut_date).select("USUBJID", "IDX", "CYCLE", "D1DT", "DELAY").cast({"CYCLE": pl.Int32})


def treatment_end(subjects: pl.DataFrame, cycles: pl.DataFrame, protocol: Protocol, cut_date: dt.date) -> pl.DataFrame:
    """Last dose date, whether treatment ended before the cut, death date (after the end, before the cut)."""
    length = protocol.cycle_length_days
    last = cycles.group_by("USUBJID").agg(pl.col("D1DT").max().alias("LASTD1"), pl.col("CYCLE").max().alias("LASTCYC"))
    out = subjects.join(last, on="USUBJID", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("WITHDRAWDY") > 0).then(pl.col("C1D1") + pl.duration(days=pl.col("WITHDRAWDY")))
        .otherwise(pl.col("LASTD1") + pl.duration(days=length - 1)).alias("_END")
    )
    ongoing = (pl.col("_END") >= cut_date) & (pl.col("WITHDRAWDY") == 0) & (pl.col("LASTCYC") >= pl.col("NCYC")).not_()
    out = out.with_columns(
        pl.min_horizontal("_END", pl.lit(cut_date)).alias("TRTEND"),
        ((pl.col("_END") < cut_date) | (pl.col("WITHDRAWDY") > 0)).alias("ENDED"),
    ).with_columns(ongoing.alias("_ONG"))
    death = pl.col("TRTEND") + pl.duration(days=pl.col("DEATHLAG"))
    return out.with_columns(
        pl.when(pl.col("ENDED") & pl.col("DIES") & (pl.col("ENDREASON") == "PROGRESSIVE DISEASE") & (death <= cut_date))
        .then(death).otherwise(None).alias("DTHDT")
    ).drop("_END", "_ONG")
