"""CTCAE v5.0 grades from lab values, in both directions (ATOXGRL low, ATOXGRH high).

Method of admiral (DOMAIN.md section 2; pharmaverse/admiral derive_var_atoxgr, criteria
data-raw/adlb_grading/ncictcaev5.json): grades are tried 4 -> 3 -> 2 -> 1 and the first that holds
wins, else 0; a missing value gives null. The criteria are data (data/criteria/ctcae_v5_lab.csv):
one generic function grades every term. A grade whose criterion cannot be evaluated (e.g. <LLN
without a reference range) stops the search with null and a reason, since a lower grade cannot be
told apart from it; absolute cut-offs still grade (ANC 0.4 is grade 4 without a range).
"""

from __future__ import annotations

from functools import cache

import polars as pl

from etl.derive.lab_units import CRITERIA_DIR

# comparisons are made on values rounded to this many decimals, so that 3 x 40 = 120.00000000000001
# does not cross a boundary (admiral rounds with signif(); 9 decimals is below any lab's precision)
_DECIMALS = 9


@cache
def lab_criteria() -> pl.DataFrame:
    return pl.read_csv(CRITERIA_DIR / "ctcae_v5_lab.csv", schema_overrides={"factor": pl.Float64, "grade": pl.Int8})


_REASONS = {"LLN": "no reference range (LLN)", "ULN": "no reference range (ULN)", "BASE": "no baseline value"}


def _grade_direction(df: pl.DataFrame, direction: str) -> pl.DataFrame:
    """_I, grade, term and reason for one direction: every row joined to its parameter's criteria.

    Walking grades 4 -> 1 and stopping at the first that holds or cannot be evaluated is the same
    as: the highest grade that holds, unless a higher grade cannot be evaluated (then null).
    """
    crit = lab_criteria().filter(pl.col("direction") == direction).select(
        pl.col("paramcd").alias("PARAMCD"), "grade", "term", "op", "factor", "basis", "baseline"
    )
    rows = df.select("_I", "PARAMCD", "AVAL", "ANRLO", "ANRHI", "BASE", "BNRIND").join(crit, on="PARAMCD", how="inner")
    ref = (
        pl.when(pl.col("basis") == "ABS").then(pl.lit(1.0))
        .when(pl.col("basis") == "LLN").then(pl.col("ANRLO"))
        .when(pl.col("basis") == "ULN").then(pl.col("ANRHI"))
        .otherwise(pl.col("BASE"))
    )
    value = pl.col("AVAL").round(_DECIMALS)
    threshold = (ref * pl.col("factor")).round(_DECIMALS)
    cond = (
        pl.when(pl.col("op") == "<").then(value < threshold)
        .when(pl.col("op") == "<=").then(value <= threshold)
        .when(pl.col("op") == ">").then(value > threshold)
        .otherwise(value >= threshold)
    )
    abnormal = (pl.col("BNRIND").str.to_uppercase() == "HIGH").fill_null(False)
    applies = (
        pl.when(pl.col("baseline") == "ABNORMAL").then(abnormal)
        .when(pl.col("baseline") == "NORMAL").then(~abnormal)
        .otherwise(pl.lit(True))
    )
    rows = rows.with_columns(cond.alias("_C"), applies.alias("_A")).filter(pl.col("_A"))
    rows = rows.with_columns(
        pl.when(pl.col("_C").fill_null(False)).then(pl.col("grade")).alias("_HOLD"),
        pl.when(pl.col("_C").is_null()).then(pl.col("grade")).alias("_UNK"),
        pl.when(pl.col("_C").is_null()).then(pl.col("basis").replace_strict(_REASONS, default="no value")).alias("_WHY"),
    )
    per_row = rows.group_by("_I").agg(
        pl.col("_HOLD").max().alias("_H"),
        pl.col("_UNK").max().alias("_U"),
        pl.col("_WHY").sort_by("_UNK", descending=True, nulls_last=True).first().alias("_W"),
        pl.col("term").first().alias("TERM"),
    )
    unknown_higher = pl.col("_U").is_not_null() & (pl.col("_H").is_null() | (pl.col("_U") > pl.col("_H")))
    return per_row.select(
        "_I",
        pl.when(unknown_higher).then(None).otherwise(pl.col("_H").fill_null(0)).cast(pl.Int8).alias("GRADE"),
        "TERM",
        pl.when(unknown_higher).then(pl.col("_W")).alias("REASON"),
    )


def grade_labs(df: pl.DataFrame) -> pl.DataFrame:
    """Add ATOXGRL, ATOXGRH (0-4 or null), ATOXDSCL, ATOXDSCH and GRADE_REASON.

    Needs PARAMCD, AVAL, ANRLO, ANRHI, BASE, BNRIND; an optional UNITRSN (from
    standardise_lab_units) makes a row ungradable with that reason.
    """
    crit = lab_criteria()
    low_params = crit.filter(pl.col("direction") == "L")["paramcd"].unique().to_list()
    high_params = crit.filter(pl.col("direction") == "H")["paramcd"].unique().to_list()
    indexed = df.with_row_index("_I")
    low = _grade_direction(indexed, "L").rename({"GRADE": "_GL", "TERM": "ATOXDSCL", "REASON": "_RL"})
    high = _grade_direction(indexed, "H").rename({"GRADE": "_GH", "TERM": "ATOXDSCH", "REASON": "_RH"})
    out = indexed.join(low, on="_I", how="left").join(high, on="_I", how="left").sort("_I")
    unit_problem = pl.col("UNITRSN") if "UNITRSN" in df.columns else pl.lit(None, pl.String)
    gradable = pl.col("PARAMCD").is_in(low_params + high_params)
    blocked = unit_problem.is_not_null() | pl.col("AVAL").is_null()
    return out.with_columns(
        pl.when(~pl.col("PARAMCD").is_in(low_params) | blocked).then(None).otherwise(pl.col("_GL")).cast(pl.Int8).alias("ATOXGRL"),
        pl.when(~pl.col("PARAMCD").is_in(high_params) | blocked).then(None).otherwise(pl.col("_GH")).cast(pl.Int8).alias("ATOXGRH"),
        pl.when(~gradable).then(pl.format("no CTCAE v5 criterion for {}", pl.col("PARAMCD")))
        .when(unit_problem.is_not_null()).then(unit_problem)
        .when(pl.col("AVAL").is_null()).then(pl.lit("no result"))
        .otherwise(pl.coalesce("_RL", "_RH"))
        .alias("GRADE_REASON"),
    ).drop("_I", "_GL", "_GH", "_RL", "_RH")
