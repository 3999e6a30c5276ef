"""adam.adsv: visits with planned date, deviation and window (DOMAIN.md section 6; TOML [schedule]).

Planned dates: 'cycle' anchor: CnD1 planned = actual C(n-1)D1 + cycle length; CnDd planned = actual
CnD1 + (d - 1); 'fixed' anchor: C1D1 + length x (n - 1) + (d - 1). The cycles and their actual day 1 are
adam.adcyc's (etl/derive/cycles.py: from the infusions, SV and EX visit names). A late D1 is a dose delay
(DELAYFL), not a deviation. A visit whose date is partial (ADTF) has no deviation: its imputed day would
invent one. Expected scheduled visits that are absent are added with MISSFL='Y' (every cycle of the
subject up to max_cycles_expected, planned on or before the last dose date and the cut date, once the
SV of the study holds any scheduled visit: a study of another schedule is not judged on this one).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.cycles import visit_cycle_day
from safetyboard.protocol import Protocol

ADSV_SCHEMA = {
    "USUBJID": pl.String, "VISITNUM": pl.Float64, "VISIT": pl.String, "VISITTYP": pl.String,
    "AVISITCY": pl.Int32, "AVISITDY": pl.Int32, "ADT": pl.Date, "ADTF": pl.String, "PLANDT": pl.Date, "DEV": pl.Int32,
    "WINLO": pl.Int32, "WINHI": pl.Int32, "OOWFL": pl.String, "DELAYFL": pl.String, "MISSFL": pl.String,
    "_FILE": pl.String, "_ROW": pl.Int64,
}


def derive_adsv(sv: pl.DataFrame | None, adsl: pl.DataFrame, adcyc: pl.DataFrame, protocol: Protocol, cut_date: dt.date | None) -> pl.DataFrame:
    length = protocol.cycle_length_days
    if sv is None or sv.height == 0:
        visits = pl.DataFrame(schema={"USUBJID": pl.String, "VISITNUM": pl.Float64, "VISIT": pl.String, "ADT": pl.Date,
                                      "ADTF": pl.String, "_FILE": pl.String, "_ROW": pl.Int64})
    else:
        visits = sv.select(
            "USUBJID", pl.col("VISITNUM").cast(pl.Float64),
            (pl.col("VISIT") if "VISIT" in sv.columns else pl.lit(None, pl.String)).alias("VISIT"),
            pl.col("SVSTDTC_DT").alias("ADT"),
            (pl.col("SVSTDTC_DTF") if "SVSTDTC_DTF" in sv.columns else pl.lit(None, pl.String)).alias("ADTF"), "_FILE", "_ROW",
        )
    name = pl.col("VISIT").str.to_uppercase().str.replace_all(r"\s+", "")
    screening = list(protocol.screening_names)
    unscheduled = list(protocol.unscheduled_names)
    cycle, day = visit_cycle_day(pl.col("VISIT"), protocol.visit_name_patterns)
    visits = visits.with_columns(cycle.alias("AVISITCY"), day.alias("AVISITDY")).with_columns(
        pl.when(pl.col("AVISITCY").is_not_null()).then(pl.lit("SCHEDULED"))
        .when(name.is_in(screening)).then(pl.lit("SCREENING"))
        .when(name.str.starts_with("UNSCHED") | name.is_in(unscheduled)).then(pl.lit("UNSCHEDULED"))
        .otherwise(pl.lit("OTHER")).alias("VISITTYP"),
        pl.lit(None, pl.String).alias("MISSFL"),
    )
    d1 = adcyc.select("USUBJID", pl.col("CYCLE").alias("AVISITCY"), "D1DT", "PLAND1DT")
    starts = adsl.select("USUBJID", "TRTSDT", "TRTEDT")

    # expected scheduled visits: every configured day of every cycle (to max_cycles_expected), up to last
    # dose and cut, when the study's SV follows this schedule at all (a study of other drugs and visits
    # has fixed blocks of cycles, and no visit of theirs is named C<n>D<d>)
    follows = visits.filter(pl.col("VISITTYP") == "SCHEDULED").height > 0
    expected = d1.filter(pl.lit(follows) & (pl.col("AVISITCY") <= protocol.max_cycles_expected)).join(pl.DataFrame({"AVISITDY": list(protocol.visit_days)}, schema={"AVISITDY": pl.Int32}), how="cross")
    expected = expected.with_columns(
        (pl.col("AVISITCY") * 100 + pl.col("AVISITDY")).cast(pl.Float64).alias("VISITNUM"),
        pl.format("C{}D{}", pl.col("AVISITCY"), pl.col("AVISITDY")).alias("VISIT"),
        (pl.col("D1DT") + pl.duration(days=pl.col("AVISITDY") - 1)).alias("_PL"),
    ).join(starts, on="USUBJID", how="left")
    limit = pl.min_horizontal(pl.col("TRTEDT"), pl.lit(cut_date)) if cut_date else pl.col("TRTEDT")
    late = pl.col("AVISITDY").replace_strict({d: w[1] for d, w in protocol.windows.items()}, default=0, return_dtype=pl.Int32)
    expected = expected.filter(pl.col("_PL") + pl.duration(days=late) <= limit)
    missing = expected.join(visits.filter(pl.col("VISITTYP") == "SCHEDULED"), on=["USUBJID", "AVISITCY", "AVISITDY"], how="anti").select(
        "USUBJID", "VISITNUM", "VISIT", "AVISITCY", "AVISITDY", pl.lit("SCHEDULED").alias("VISITTYP"),
        pl.lit(None, pl.Date).alias("ADT"), pl.lit("Y").alias("MISSFL"), pl.lit(None, pl.String).alias("_FILE"), pl.lit(None, pl.Int64).alias("_ROW"),
    )
    allv = pl.concat([visits, missing], how="diagonal_relaxed")
    allv = allv.join(d1, on=["USUBJID", "AVISITCY"], how="left").join(starts, on="USUBJID", how="left")
    actual_d1 = pl.col("D1DT")
    if protocol.anchor == "fixed":
        planned = pl.col("TRTSDT") + pl.duration(days=(pl.col("AVISITCY") - 1) * length + pl.col("AVISITDY") - 1)
    else:
        planned = pl.when(pl.col("AVISITDY") == 1).then(pl.col("PLAND1DT")).otherwise(actual_d1 + pl.duration(days=pl.col("AVISITDY") - 1))
    early = pl.col("AVISITDY").replace_strict({d: w[0] for d, w in protocol.windows.items()}, default=None, return_dtype=pl.Int32)
    late = pl.col("AVISITDY").replace_strict({d: w[1] for d, w in protocol.windows.items()}, default=None, return_dtype=pl.Int32)
    allv = allv.with_columns(planned.alias("PLANDT"), early.alias("WINLO"), late.alias("WINHI"))
    # a partial date (imputed day) gives no deviation (DESIGN.md: never invent precision silently)
    complete = pl.when(pl.col("ADTF").is_null()).then(pl.col("ADT"))
    allv = allv.with_columns((complete - pl.col("PLANDT")).dt.total_days().cast(pl.Int32).alias("DEV"))
    is_d1_late = (pl.col("AVISITDY") == 1) & (pl.col("DEV") > pl.col("WINHI"))
    allv = allv.with_columns(
        pl.when(pl.col("DEV").is_null() | pl.col("WINLO").is_null()).then(None)
        .when(is_d1_late).then(pl.lit("N"))
        .when((pl.col("DEV") < -pl.col("WINLO")) | (pl.col("DEV") > pl.col("WINHI"))).then(pl.lit("Y"))
        .otherwise(pl.lit("N")).alias("OOWFL"),
        pl.when(is_d1_late).then(pl.lit("Y")).when(pl.col("DEV").is_not_null()).then(pl.lit("N")).alias("DELAYFL"),
    )
    return allv.select(list(ADSV_SCHEMA)).cast(ADSV_SCHEMA).sort("USUBJID", "VISITNUM", nulls_last=True)
