"""Lab parameters and units: LBTESTCD -> PARAMCD and conversion into the grading criteria's units.

The table is data (data/criteria/lab_parameters.csv, one row per accepted source unit with its
factor and source); a new synonym or unit is a row, not code. A value in a unit the table does not
know keeps its reported value but is not graded (GRADE_REASON says why), never converted by guess.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

CRITERIA_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "criteria"
# columns standardise_lab_units adds beside AVAL: the reported unit (as norm_unit writes it) and its factor
SOURCE_UNIT, SOURCE_FACTOR = "_SRCUNIT", "_SRCFACTOR"


@cache
def lab_parameters() -> pl.DataFrame:
    return pl.read_csv(CRITERIA_DIR / "lab_parameters.csv", schema_overrides={"factor": pl.Float64})


def norm_unit(expr: pl.Expr) -> pl.Expr:
    # micro: U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU (NFKC folds the first into the second)
    # an empty unit is a unit too ('' in the table: INR and pH are ratios without one)
    return (expr.str.strip_chars().str.replace_all(r"\s+", "").str.replace_all("[\u00b5\u03bc]", "u")
            .str.to_lowercase().fill_null(""))


def standardise_lab_units(lb: pl.DataFrame) -> pl.DataFrame:
    """Add PARAMCD, PARAM, AVAL, AVALU, ANRLO, ANRHI (criteria units), UNITRSN (why not convertible) and, for
    converted values, the reported unit and its factor (SOURCE_UNIT, SOURCE_FACTOR)."""
    params = lab_parameters()
    codes = params.select(pl.col("lbtestcd").str.to_uppercase().alias("_CODE"), "paramcd", "param").unique(subset=["_CODE"])
    units = params.select(
        "paramcd", norm_unit(pl.col("source_unit")).alias("_UNIT"), "factor", pl.col("unit").alias("_TOUNIT")
    ).unique(subset=["paramcd", "_UNIT"])
    get = lambda c, t=pl.String: pl.col(c) if c in lb.columns else pl.lit(None, t)  # noqa: E731
    # the criteria grade blood; a urine test (LBSPEC URINE, or LBCAT URINALYSIS when the export has no
    # LBSPEC, as the CDISC pilot) keeps its code but is not graded: urine pH 8 is not alkalosis.
    # The text tests and the two lookups run on the distinct (test, unit, specimen, category) combinations, then
    # one join takes them to the rows (0.24 s -> 0.12 s for 661,000 demo lab rows; a few dozen combinations)
    keys = [c for c in ("LBTESTCD", "LBSTRESU", "LBSPEC", "LBCAT") if c in lb.columns]  # LBTESTCD is required
    distinct = lb.select(keys).unique().with_columns(
        get("LBTESTCD").str.to_uppercase().str.strip_chars().alias("_CODE"),
        norm_unit(get("LBSTRESU")).alias("_UNIT"),
        (get("LBSPEC").str.contains("(?i)URIN").fill_null(False)
         | get("LBCAT").str.contains("(?i)URIN").fill_null(False)).alias("_URINE"),
    ).join(codes, on="_CODE", how="left").join(units, on=["paramcd", "_UNIT"], how="left")
    frame = lb.join(distinct, on=keys, how="left", nulls_equal=True, maintain_order="left")
    is_urine = pl.col("_URINE")
    known = pl.col("paramcd").is_not_null() & ~is_urine
    converted = pl.col("factor").is_not_null() & known
    value = get("LBSTRESN", pl.Float64)
    text = get("LBORRES")
    return frame.with_columns(
        pl.when(known).then(pl.col("paramcd")).otherwise(pl.col("_CODE")).alias("PARAMCD"),
        pl.when(known).then(pl.col("param")).otherwise(get("LBTEST")).alias("PARAM"),
        pl.when(converted).then(value * pl.col("factor")).otherwise(value).alias("AVAL"),
        pl.when(converted).then(pl.col("_TOUNIT")).otherwise(get("LBSTRESU")).alias("AVALU"),
        pl.when(converted).then(get("LBSTNRLO", pl.Float64) * pl.col("factor")).otherwise(get("LBSTNRLO", pl.Float64)).alias("ANRLO"),
        pl.when(converted).then(get("LBSTNRHI", pl.Float64) * pl.col("factor")).otherwise(get("LBSTNRHI", pl.Float64)).alias("ANRHI"),
        pl.when(is_urine & pl.col("paramcd").is_not_null()).then(pl.lit("urine test: the CTCAE criteria grade blood values"))
        .when(~known).then(None)
        .when(value.is_null() & text.is_not_null()).then(pl.format("non-numeric result: {}", text))
        .when(value.is_null()).then(pl.lit("no result"))
        .when(~converted).then(pl.format("unit not recognised: {}", get("LBSTRESU").fill_null("(empty)")))
        .otherwise(None).alias("UNITRSN"),
        # the reported unit and its factor, for criteria CTCAE states in that unit (lab_grades: mg/dL calcium)
        pl.when(converted).then(pl.col("_UNIT")).alias(SOURCE_UNIT),
        pl.when(converted).then(pl.col("factor")).alias(SOURCE_FACTOR),
    ).drop("_CODE", "_UNIT", "_URINE", "paramcd", "param", "factor", "_TOUNIT")
