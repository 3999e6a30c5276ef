"""adam.advs: vital signs with timing, cycle and the blood-pressure category BPCAT (not an AE grade)."""

from __future__ import annotations

import polars as pl

from etl.derive.bp_category import bp_category, standardise_bp_units
from etl.derive.cycles import assign_cycle
from etl.derive.study_day import complete_date, compute_study_day
from safetyboard.protocol import Protocol

# the raw.vs columns derive_advs reads (the loader reads back only these, when present)
ADVS_INPUTS = [
    "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSSTRESN", "VSSTRESU", "VSSTAT", "VSDTC", "VSDTC_DT", "VSDTC_DTF", "VISITNUM", "VISIT",
    "VSTPT", "VSPOS", "_FILE", "_ROW",
]
ADVS_COLUMNS = [
    "USUBJID", "VSSEQ", "PARAMCD", "PARAM", "VISITNUM", "VISIT", "VSTPT", "VSPOS", "ADT", "ADY", "CYCLE", "CYCLEDY",
    "AVAL", "AVALU", "AGE", "BPCAT", "BPCATP", "BPCATN", "BPCATRSN", "_FILE", "_ROW",
]
ADVS_TYPES = {"VSSEQ": pl.Int64, "VISITNUM": pl.Float64, "_ROW": pl.Int64}  # the other optional inputs are text


def derive_advs(vs: pl.DataFrame, adsl: pl.DataFrame, adcyc: pl.DataFrame, protocol: Protocol) -> pl.DataFrame:
    get = lambda c, t=pl.String: pl.col(c) if c in vs.columns else pl.lit(None, t)  # noqa: E731
    frame = vs.join(adsl.select("USUBJID", "RFSTDT", "AGE"), on="USUBJID", how="left").with_columns(
        get("VSTESTCD").str.to_uppercase().str.strip_chars().alias("PARAMCD"),
        get("VSTEST").alias("PARAM"),
        get("VSSTRESN", pl.Float64).alias("AVAL"),
        get("VSSTRESU").alias("AVALU"),
        # a partial VSDTC is no analysis date (as adam.adlb's ADT): not placed in a cycle at an imputed 1st
        (complete_date(vs, "VSDTC") if "VSDTC_DT" in vs.columns else pl.lit(None, pl.Date)).alias("ADT"),
    )
    if "VSSTAT" in vs.columns:  # 'NOT DONE' rows have no value; they stay, with a null AVAL
        frame = frame.with_columns(pl.when(pl.col("VSSTAT").str.to_uppercase() == "NOT DONE").then(None).otherwise(pl.col("AVAL")).alias("AVAL"))
    frame = frame.with_columns(compute_study_day(pl.col("ADT"), pl.col("RFSTDT")).alias("ADY"))
    # SBP/DBP in mmHg, the unit of the protocol's thresholds (a kPa reading graded as mmHg would be category 0)
    frame = bp_category(standardise_bp_units(frame), protocol.blood_pressure)
    frame = assign_cycle(frame, "ADT", adcyc)
    # a column the export lacks (VSTPT, VSPOS, ...) is still written with its type
    for col in ADVS_COLUMNS:
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, ADVS_TYPES.get(col, pl.String)).alias(col))
    return frame.select(ADVS_COLUMNS)
