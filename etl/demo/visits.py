"""Demo visits (SV) and exposure (EX).

Scheduled visits C<c>D<d> (VISITNUM = 100c + d) on days 1, 8 and 15 of each cycle, with jitter
inside the protocol windows; SCREENING (VISITNUM 0) 3-10 days before C1D1; some UNSCHEDULED visits
(fractional VISITNUM). A lab-type AE that no scheduled visit falls in gets an UNSCHEDULED visit on
its onset (the draw that found it), and a febrile neutropenia one on its onset (the fever visit): labs
and vitals are drawn at scheduled visits and those (LABDRAW). Apatinib: one EX record per cycle
(constant dose), interrupted at a DLT and reduced after a grade >= 3 event; nal-IRI: one record per
infusion on D1/D8/D15, withheld when that visit's ANC is below the protocol's
[dose_modification] irinotecan_withhold_anc_below (not withheld when the protocol gives none).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from safetyboard.protocol import Protocol

ONSET_DRAW_DAYS = 3  # a lab-type AE's value is drawn within 3 days of its onset (illustrative)


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
    # a visit planned on or before the last treatment day is kept on its planned day when the jitter would move it
    # past that day (a withdrawal's last visit), so that every infusion due by the last dose is recorded
    planned = pl.col("D1DT") + pl.duration(days=pl.col("DAY") - 1)
    sched = sched.with_columns(
        pl.when((pl.col("DATE") > pl.col("TRTEND")) & (planned <= pl.col("TRTEND"))).then(planned).otherwise(pl.col("DATE")).alias("DATE")
    ).filter((pl.col("DATE") <= pl.col("TRTEND")) & (pl.col("DATE") <= cut_date))
    screening = subjects.select(
        "USUBJID", (pl.col("C1D1") - pl.duration(days=pl.Series(rng.integers(3, 11, subjects.height)))).alias("DATE"),
    ).with_columns(pl.lit(0.0).alias("VISITNUM"), pl.lit("SCREENING").alias("VISIT"), pl.lit(0, pl.Int32).alias("CYCLE"), pl.lit(0, pl.Int32).alias("DAY"))
    unsched = sched.filter((pl.col("DAY") == 8) & pl.Series(rng.random(sched.height) < 0.03)).with_columns(
        (pl.col("DATE") + pl.duration(days=2)).alias("DATE"), (pl.col("VISITNUM") + 0.1).alias("VISITNUM"), pl.lit("UNSCHEDULED").alias("VISIT"),
    )
    cols = ["USUBJID", "VISITNUM", "VISIT", "CYCLE", "DAY", "DATE"]
    allv = pl.concat([screening.select(cols), sched.select(cols), unsched.filter(pl.col("DATE") <= cut_date).select(cols)])
    # labs and vitals are drawn at screening and the scheduled visits (and at the AE visits of add_ae_visits)
    return allv.with_columns((pl.col("VISIT") != "UNSCHEDULED").alias("LABDRAW")).sort("USUBJID", "VISITNUM")


def add_ae_visits(visits: pl.DataFrame, aes: pl.DataFrame, cut_date: dt.date) -> pl.DataFrame:
    """UNSCHEDULED visits with a lab draw on the onset of every lab-type AE that no scheduled visit falls in
    (its value is then in the AE's grade band: measurements.py), and on the onset of every febrile neutropenia
    (CTCAE v5: ANC < 1.0 with a temperature > 38.3 C, DOMAIN.md 2: the visit records both). VISITNUM: the
    preceding scheduled visit's + 0.2, 0.3, ... (+0.1 is the random unscheduled visit's)."""
    sched = visits.filter(pl.col("VISIT") != "UNSCHEDULED").select("USUBJID", "DATE", "VISITNUM", "CYCLE")
    lab_aes = aes.filter(pl.col("LAB").is_not_null() & (pl.col("START") <= cut_date)).select("USUBJID", "KEY", "START", "END")
    # a scheduled draw within the event's first ONSET_DRAW_DAYS days shows it; else one is added on its onset
    seen = lab_aes.with_row_index("_E").join(sched.select("USUBJID", "DATE"), on="USUBJID").filter(
        (pl.col("DATE") >= pl.col("START")) & (pl.col("DATE") <= pl.min_horizontal("END", pl.col("START") + pl.duration(days=ONSET_DRAW_DAYS)))
    )["_E"].unique()
    on_date = sched.select("USUBJID", pl.col("DATE").alias("START"), pl.lit(True).alias("_SCHED")).unique()
    need = lab_aes.with_row_index("_E").filter(~pl.col("_E").is_in(seen.implode()) | (pl.col("KEY") == "FN")).join(
        on_date, on=["USUBJID", "START"], how="left").filter(pl.col("_SCHED").is_null()).select("USUBJID", pl.col("START").alias("DATE")).unique()
    if need.height == 0:
        return visits
    need = need.sort("USUBJID", "DATE").join_asof(
        sched.sort("USUBJID", "DATE").rename({"DATE": "_PREV"}), left_on="DATE", right_on="_PREV", by="USUBJID", strategy="backward", check_sortedness=False,
    ).filter(pl.col("VISITNUM").is_not_null()).with_columns(
        (pl.col("VISITNUM") + 0.1 * (1 + pl.int_range(1, pl.len() + 1).over("USUBJID", "VISITNUM"))).round(1).alias("VISITNUM"),
    ).filter(pl.col("VISITNUM") - pl.col("VISITNUM").floor() < 0.95)
    extra = need.select(
        "USUBJID", "VISITNUM", pl.lit("UNSCHEDULED").alias("VISIT"), "CYCLE", pl.lit(0, pl.Int32).alias("DAY"), "DATE",
        pl.lit(True).alias("LABDRAW"),
    )
    return pl.concat([visits, extra.cast(visits.schema)]).sort("USUBJID", "VISITNUM")


def withheld_infusions(visits: pl.DataFrame, labs: pl.DataFrame, cycles: pl.DataFrame, protocol: Protocol) -> pl.DataFrame:
    """The scheduled nal-IRI infusion visits whose ANC is below the protocol's withholding threshold ([dose_modification]
    irinotecan_withhold_anc_below, the ONIVYDE label's 1.5 x 10^9/L): USUBJID, VISITNUM, DATE (the visit) and PLANNED (the
    cycle's day 1 + day - 1, DOMAIN.md 6)."""
    threshold = protocol.irinotecan_withhold_anc_below
    if threshold is None:
        return pl.DataFrame(schema={"USUBJID": pl.String, "VISITNUM": pl.Float64, "DATE": pl.Date, "PLANNED": pl.Date})
    anc = labs.filter(pl.col("LBTESTCD") == "NEUT").select("USUBJID", "VISITNUM", pl.col("LBSTRESN").alias("_ANC"))
    return visits.filter(pl.col("DAY").is_in(list(protocol.irinotecan_days)) & (pl.col("VISIT") != "UNSCHEDULED")).join(
        anc, on=["USUBJID", "VISITNUM"]).filter(pl.col("_ANC") < threshold).join(
        cycles.select("USUBJID", "CYCLE", "D1DT"), on=["USUBJID", "CYCLE"], how="left").select(
        "USUBJID", "VISITNUM", "DATE", (pl.col("D1DT") + pl.duration(days=pl.col("DAY") - 1)).alias("PLANNED"))


def generate_exposure(subjects: pl.DataFrame, cycles: pl.DataFrame, visits: pl.DataFrame, aes: pl.DataFrame,
                      protocol: Protocol, rng: np.random.Generator, withheld: pl.DataFrame | None = None) -> pl.DataFrame:
    """USUBJID, EXTRT, EXDOSE, EXDOSU, EXDOSFRQ, EXROUTE, START, END, VISIT, EXADJ.

    withheld: infusion visits (USUBJID, VISITNUM) not given (low ANC: withheld_infusions)."""
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
    # outside the window by the planned day (DOMAIN.md 6: the cycle's day 1 + day - 1), not the visit's jittered one
    planned = pl.col("D1DT") + pl.duration(days=pl.col("DAY") - 1)
    skip = (pl.col("DAY") == 15) & pl.Series(rng.random(inf.height) < 0.08) & ((planned - pl.col("C1D1")).dt.total_days() >= window)
    # within the DLT's own cycle only (DLTDT on or after the cycle's day 1): later cycles resume (they were all skipped)
    after_dlt = (pl.col("DLTDT").is_not_null() & (pl.col("DLTDT") >= pl.col("D1DT")) & (pl.col("DATE") > pl.col("DLTDT"))
                 & (pl.col("DATE") < pl.coalesce("NEXTD1", pl.lit(dt.date(9999, 1, 1)))))
    inf = inf.filter(~skip & ~after_dlt)
    if withheld is not None and withheld.height:
        inf = inf.join(withheld.select("USUBJID", "VISITNUM"), on=["USUBJID", "VISITNUM"], how="anti", maintain_order="left")
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
