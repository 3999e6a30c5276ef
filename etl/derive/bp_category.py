"""BPCAT: a blood-pressure category from the measured value, using CTCAE v5 hypertension thresholds.

Not an AE grade: the CTCAE grade also depends on treatment and symptoms (DOMAIN.md section 2;
eviq.org.au standard-ctcae/hypertension; PMC8451955). Adults: 1 = SBP 120-139 or DBP 80-89,
2 = 140-159 / 90-99, 3 = >= 160 / >= 100. Adolescents (12-17): only the fixed cut-offs (1 = >=
120/80, 2 = SBP 130-139 or DBP 80-89); percentile categories need height tables, so a value above
them stays category 2 with the reason stated. Thresholds come from the TOML [blood_pressure].
"""

from __future__ import annotations

import polars as pl


def _category(value: pl.Expr, cuts: list[tuple[int, float]]) -> pl.Expr:
    expr = pl.lit(0, pl.Int8)
    for cat, cut in sorted(cuts):
        expr = pl.when(value >= cut).then(pl.lit(cat, pl.Int8)).otherwise(expr)
    return pl.when(value.is_null()).then(None).otherwise(expr)


def bp_category(vs: pl.DataFrame, thresholds: dict, pair_keys: list[str] | None = None) -> pl.DataFrame:
    """Add BPCAT (per reading), BPCATP (max of the SBP/DBP pair at one time point) and BPCATRSN.

    Needs PARAMCD (SYSBP/DIABP), AVAL, AGE. `pair_keys` identify one time point (default: USUBJID, ADT
    and VSTPT when present).
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
    out = vs.with_columns(
        pl.when(~(is_sbp | is_dbp)).then(None).when(teen_row).then(teen_cat).otherwise(adult_cat).cast(pl.Int8).alias("BPCAT"),
        pl.when(~(is_sbp | is_dbp)).then(None)
        .when(teen_row & adult_would_be_3).then(pl.lit("adolescent: fixed cut-offs only (percentile tables needed above category 2)"))
        .when(teen_row).then(pl.lit("adolescent fixed cut-offs"))
        .when(pl.col("AGE").is_null()).then(pl.lit("age unknown: adult thresholds"))
        .otherwise(pl.lit("adult thresholds")).alias("BPCATRSN"),
    )
    keys = pair_keys or [k for k in ("USUBJID", "ADT", "VSTPT") if k in vs.columns]
    out = out.with_columns(
        pl.when(is_sbp | is_dbp).then(pl.col("BPCAT").max().over([*keys, (is_sbp | is_dbp).alias("_BP")])).alias("BPCATP")
    )
    return out.with_columns(
        pl.when(pl.col("BPCAT").is_not_null()).then(pl.format("BP category {} (from values; not a CTCAE AE grade)", pl.col("BPCAT")))
        .alias("BPCATN")
    )
