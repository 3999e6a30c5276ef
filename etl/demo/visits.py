"""Demo visits (SV) and exposure (EX).

Scheduled visits C<c>D<d> (VISITNUM = 100c + d) on days 1, 8 and 15 of each cycle, with jitter
inside the protocol windows; SCREENING (VISITNUM 0) 3-10 days before C1D1; some UNSCHEDULED visits
(fractional VISITNUM). Apatinib: one EX record per cycle (constant dose), interrupted at a DLT and
reduced after a grade >= 3 event; nal-IRI: one record per infusion on D1/D8/D15.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from safetyboard.protocol import Protocol


def generate_visits(subjects: pl.DataFrame, cycles: pl.DataFrame, protocol: Protocol, rng: np.random.Generator, cut_date: dt.date) -> pl.DataFrame:
    days = pl.DataFrame({"DAY": list(protocol.visit_days)}, schema={"DAY": pl.Int32})
    sched = cycles.sort("USUBJID", "CYCLE").join(days, how="cross", maintain_order="left_right")
    m = sched.height
    # D1 is the infusion day that defines the cycle; D8/D15 move by at most one day (inside +-2)
    jitter = np.where(sched["DAY"].to_numpy() == 1, 0, rng.integers(-1, 2, m))
    sched = sched.with_columns(
        (pl.col("D1DT") + pl.duration(days=pl.col("DAY") - 1 + pl.Series(jitter))).alias("DATE"),
        (pl.col("CYCLE") * 100 + pl.col("DAY")).cast(pl.Float64).alias("VISITNUM"),
        pl.format("C{}D{}", pl.col("CYCLE"), pl.col("DAY")).alias("VISIT"),
    ).join(subjects.select("USUBJID", "TRTEND", "WITHDRAWDY", "C1D1"), on="USUBJID", maintain_order="left")
    sched = sched.filter((pl.col("DATE") <= pl.col("TRTEND")) & (pl.col("DATE") <= cut_date))
    screening = subjects.select(
        "USUBJID", (pl.col("C1D1") - pl.duration(days=pl.Series(rng.integers(3, 11, subjects.height)))).alias("DATE"),
    ).with_columns(pl.lit(0.0).alias("VISITNUM"), pl.lit("SCREENING").alias("VISIT"), pl.lit(0, pl.Int32).alias("CYCLE"), pl.lit(0, pl.Int32).alias("DAY"))
    unsched = sched.filter(pl.Series(rng.random(sched.height) < 0.03) & (pl.col("DAY") == 8)).with_columns(
        (pl.col("DATE") + pl.duration(days=2)).alias("DATE"), (pl.col("VISITNUM") + 0.1).alias("VISITNUM"), pl.lit("UNSCHEDULED").alias("VISIT"),
    )
    cols = ["USUBJID", "VISITNUM", "VISIT", "CYCLE", "DAY", "DATE"]
    allv = pl.concat([screening.select(cols), sched.select(cols), unsched.filter(pl.col("DATE") <= cut_date).select(cols)])
    return allv.sort("USUBJID", "VISITNUM")


def generate_exposure(subjects: pl.DataFrame, cycles: pl.DataFrame, visits: pl.DataFrame, aes: pl.DataFrame,
                      protocol: Protocol, rng: np.random.Generator) -> pl.DataFrame:
    """USUBJID, EXTRT, EXDOSE, EXDOSU, EXDOSFRQ, EXROUTE, START, END, VISIT, EXADJ."""
    length = protocol.cycle_length_days
    window = protocol.dlt_window_days
    # reductions: after the first grade >= 3 event, later cycles get the reduced dose
    g3 = aes.filter(pl.col("GRADE") >= 3).group_by("USUBJID").agg(pl.col("START").min().alias("G3DT"))
    dlt_onset = aes.filter(pl.col("AEDLT") == "Y").group_by("USUBJID").agg(pl.col("START").min().alias("DLTDT"))
    cyc = (
        cycles.join(subjects.select("USUBJID", "APADOSE", "IRIDOSE", "TRTEND", "C1D1"), on="USUBJID")
        .join(g3, on="USUBJID", how="left").join(dlt_onset, on="USUBJID", how="left")
        .sort("USUBJID", "CYCLE")
        .with_columns(pl.col("D1DT").shift(-1).over("USUBJID").alias("NEXTD1"))
    )
    reduced = pl.col("G3DT").is_not_null() & (pl.col("G3DT") < pl.col("D1DT"))
    apa_end = pl.min_horizontal(
        pl.coalesce(pl.col("NEXTD1") - pl.duration(days=1), pl.col("D1DT") + pl.duration(days=length - 1)), pl.col("TRTEND")
    )
    # a DLT interrupts apatinib until the next cycle
    apa_end = pl.when(pl.col("DLTDT").is_not_null() & (pl.col("DLTDT") >= pl.col("D1DT")) & (pl.col("DLTDT") <= apa_end)).then(
        pl.col("DLTDT")
    ).otherwise(apa_end)
    apa = cyc.select(
        "USUBJID",
        pl.lit("APATINIB").alias("EXTRT"),
        pl.when(reduced).then(pl.max_horizontal(pl.col("APADOSE") - 125, pl.lit(125.0))).otherwise(pl.col("APADOSE")).alias("EXDOSE"),
        pl.lit("mg").alias("EXDOSU"), pl.lit("QD").alias("EXDOSFRQ"), pl.lit("ORAL").alias("EXROUTE"),
        pl.col("D1DT").alias("START"), apa_end.alias("END"),
        pl.format("C{}D1", pl.col("CYCLE")).alias("VISIT"),
        pl.when(reduced).then(pl.lit("ADVERSE EVENT")).otherwise(None).alias("EXADJ"),
    )
    # nal-IRI on the D1/D8/D15 visit dates; skipped after a DLT within its cycle, and 8% of D15
    # infusions are skipped outside the DLT window
    inf = visits.filter(pl.col("DAY").is_in(list(protocol.irinotecan_days)) & (pl.col("VISIT") != "UNSCHEDULED")).join(
        cyc.select("USUBJID", "CYCLE", "IRIDOSE", "D1DT", "NEXTD1", "DLTDT", "C1D1", reduced.alias("RED")), on=["USUBJID", "CYCLE"]
    ).sort("USUBJID", "DATE", "VISITNUM")
    skip = (pl.col("DAY") == 15) & pl.Series(rng.random(inf.height) < 0.08) & ((pl.col("DATE") - pl.col("C1D1")).dt.total_days() >= window)
    # within the DLT's own cycle only (DLTDT on or after the cycle's day 1): later cycles resume (they were all skipped)
    after_dlt = (pl.col("DLTDT").is_not_null() & (pl.col("DLTDT") >= pl.col("D1DT")) & (pl.col("DATE") > pl.col("DLTDT"))
                 & (pl.col("DATE") < pl.coalesce("NEXTD1", pl.lit(dt.date(9999, 1, 1)))))
    inf = inf.filter(~skip & ~after_dlt)
    iri = inf.select(
        "USUBJID",
        pl.lit("IRINOTECAN LIPOSOME").alias("EXTRT"),
        pl.when(pl.col("RED")).then(pl.col("IRIDOSE") - 10).otherwise(pl.col("IRIDOSE")).alias("EXDOSE"),
        pl.lit("mg/m2").alias("EXDOSU"), pl.lit("ONCE").alias("EXDOSFRQ"), pl.lit("INTRAVENOUS").alias("EXROUTE"),
        pl.col("DATE").alias("START"), pl.col("DATE").alias("END"),
        pl.col("VISIT"),
        pl.when(pl.col("RED")).then(pl.lit("ADVERSE EVENT")).otherwise(None).alias("EXADJ"),
    )
    return pl.concat([apa, iri]).sort("USUBJID", "START", "EXTRT")
