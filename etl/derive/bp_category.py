"""BPCAT: a blood-pressure category from the measured value, using CTCAE v5 hypertension thresholds.

Not an AE grade: the CTCAE grade also depends on treatment and symptoms (DOMAIN.md section 2;
eviq.org.au standard-ctcae/hypertension; PMC8451955). Adults: 1 = SBP 120-139 or DBP 80-89,
2 = 140-159 / 90-99, 3 = >= 160 / >= 100. Adolescents (12-17): only the fixed cut-offs (1 = >=
120/80, 2 = SBP 130-139 or DBP 80-89); percentile categories need height tables, so a value above
them stays category 2 with the reason stated. Thresholds come from the TOML [blood_pressure].
"""

from __future__ import annotations

import polars as pl

from etl.derive.lab_units import norm_unit

BP_PARAMS = ("SYSBP", "DIABP")
# The thresholds ([blood_pressure], [eligibility]) are mmHg. A BP unit -> its factor to mmHg, keyed by the unit
# as norm_unit writes it (no spaces, lower case; 'mm[hg]' is the UCUM code). 1 mmHg = 133.322387415 Pa (the
# conventional millimetre of mercury, NIST SP 811 appendix B.8), so 1 kPa = 1000 / 133.322387415 mmHg.
# Any other unit keeps its value and gets no category (never converted by guess, as the lab units).
BP_UNIT_FACTORS: dict[str, float] = {"mmhg": 1.0, "mm[hg]": 1.0, "kpa": 1000 / 133.322387415}


def standardise_bp_units(frame: pl.DataFrame) -> pl.DataFrame:
    """SBP/DBP AVAL into mmHg (AVALU 'mmHg') when AVALU is a known BP unit; adds _BPUNITOK and _BPUNITRSN.

    A missing unit is taken as mmHg (the SDTM standard unit of VSSTRESU for BP, DOMAIN.md 7) and said so;
    an unknown unit keeps AVAL as reported and _BPUNITOK false (bp_category then gives no category).
    Needs PARAMCD, AVAL, AVALU; rows other than SBP/DBP are returned unchanged."""
    is_bp = pl.col("PARAMCD").is_in(BP_PARAMS)
    unit = norm_unit(pl.col("AVALU"))
    # the unit's factor and whether it is missing, once per row (each use of an expression is computed again)
    frame = frame.with_columns(
        pl.when(is_bp).then(unit.replace_strict(BP_UNIT_FACTORS, default=None, return_dtype=pl.Float64)).alias("_F"),
        pl.when(is_bp).then(unit == "").alias("_NOUNIT"),
    )
    factor, missing = pl.col("_F"), pl.col("_NOUNIT")
    return frame.with_columns(
        pl.when(factor.is_not_null()).then(pl.col("AVAL") * factor).otherwise(pl.col("AVAL")).alias("AVAL"),
        pl.when(factor.is_not_null()).then(pl.lit("mmHg")).otherwise(pl.col("AVALU")).alias("AVALU"),
        pl.when(is_bp).then(missing | factor.is_not_null()).alias("_BPUNITOK"),
        pl.when(~is_bp | (factor == 1.0)).then(None)
        .when(factor.is_not_null()).then(pl.format("converted from {} to mmHg", pl.col("AVALU").str.strip_chars()))
        .when(missing).then(pl.when(pl.col("AVAL").is_not_null()).then(pl.lit("unit missing, taken as mmHg")))
        .otherwise(pl.format("unit not recognised: {} (no category)", pl.col("AVALU"))).alias("_BPUNITRSN"),
    ).drop("_F", "_NOUNIT")


def _category(value: pl.Expr, cuts: list[tuple[int, float]]) -> pl.Expr:
    expr = pl.lit(0, pl.Int8)
    for cat, cut in sorted(cuts):
        expr = pl.when(value >= cut).then(pl.lit(cat, pl.Int8)).otherwise(expr)
    return pl.when(value.is_null()).then(None).otherwise(expr)


def bp_category(vs: pl.DataFrame, thresholds: dict, pair_keys: list[str] | None = None) -> pl.DataFrame:
    """Add BPCAT (per reading), BPCATP (max of the SBP/DBP pair at one time point) and BPCATRSN.

    Needs PARAMCD (SYSBP/DIABP), AVAL (mmHg), AGE; uses _BPUNITOK / _BPUNITRSN of `standardise_bp_units` when
    present. `pair_keys` identify one reading (default: USUBJID, VISITNUM, the date-time VSDTC, else ADT, VSTPT
    and VSPOS, those present): the category of a reading is its worse value, so an SBP is paired only with the
    DBP of the same reading, never with another visit, time of day, position or replicate on the same day.
    """
    adult = {k: thresholds[f"adult_cat{k}"] for k in (1, 2, 3)}
    teen = {k: thresholds[f"adolescent_cat{k}"] for k in (1, 2)}
    teen_max = thresholds["adolescent_age_max"]
    is_sbp = pl.col("PARAMCD") == "SYSBP"
    is_dbp = pl.col("PARAMCD") == "DIABP"
    adult_cat = pl.when(is_sbp).then(_category(pl.col("AVAL"), [(k, v[0]) for k, v in adult.items()])).when(is_dbp).then(
        _category(pl.col("AVAL"), [(k, v[1]) for k, v in adult.items()])
    )
    teen_cat = pl.when(is_sbp).then(_category(pl.col("AVAL"), [(k, v[0]) for k, v in teen.items()])).when(is_dbp).then(
        _category(pl.col("AVAL"), [(k, v[1]) for k, v in teen.items()])
    )
    teen_row = pl.col("AGE").is_not_null() & (pl.col("AGE") <= teen_max)
    adult_would_be_3 = adult_cat >= 3
    unit_ok = pl.col("_BPUNITOK").fill_null(True) if "_BPUNITOK" in vs.columns else pl.lit(True)
    unit_note = pl.col("_BPUNITRSN") if "_BPUNITRSN" in vs.columns else pl.lit(None, pl.String)
    reason = (
        pl.when(teen_row & adult_would_be_3).then(pl.lit("adolescent: fixed cut-offs only (percentile tables needed above category 2)"))
        .when(teen_row).then(pl.lit("adolescent fixed cut-offs"))
        .when(pl.col("AGE").is_null()).then(pl.lit("age unknown: adult thresholds"))
        .otherwise(pl.lit("adult thresholds"))
    )
    out = vs.with_columns(
        pl.when(~(is_sbp | is_dbp) | ~unit_ok).then(None).when(teen_row).then(teen_cat).otherwise(adult_cat)
        .cast(pl.Int8).alias("BPCAT"),
        pl.when(~(is_sbp | is_dbp)).then(None).when(~unit_ok).then(unit_note)
        .otherwise(pl.concat_str([reason, unit_note], separator="; ", ignore_nulls=True)).alias("BPCATRSN"),
    )
    time = "VSDTC" if "VSDTC" in vs.columns else "ADT"
    keys = pair_keys or [k for k in ("USUBJID", "VISITNUM", time, "VSTPT", "VSPOS") if k in vs.columns]
    out = out.with_columns(
        pl.when(is_sbp | is_dbp).then(pl.col("BPCAT").max().over([*keys, (is_sbp | is_dbp).alias("_BP")])).alias("BPCATP")
    )
    return out.with_columns(
        pl.when(pl.col("BPCAT").is_not_null()).then(pl.format("BP category {} (from values; not a CTCAE AE grade)", pl.col("BPCAT")))
        .alias("BPCATN")
    )
