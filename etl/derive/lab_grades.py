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
# does not cross a boundary (admiral rounds with signif(); 12 decimals is below any lab's precision)
_DECIMALS = 9


@cache
def lab_criteria() -> pl.DataFrame:
    return pl.read_csv(CRITERIA_DIR / "ctcae_v5_lab.csv", schema_overrides={"factor": pl.Float64, "grade": pl.Int8})


def _reference(basis: str) -> pl.Expr:
    return {"ABS": pl.lit(1.0), "LLN": pl.col("ANRLO"), "ULN": pl.col("ANRHI"), "BASE": pl.col("BASE")}[basis]


def _condition(row: dict) -> tuple[pl.Expr, pl.Expr]:
    """(condition on AVAL, reason when not evaluable) for one criteria row."""
    ref = _reference(row["basis"]) * row["factor"]
    value = pl.col("AVAL").round(_DECIMALS)
    threshold = ref.round(_DECIMALS)
    cond = {"<": value < threshold, "<=": value <= threshold, ">": value > threshold, ">=": value >= threshold}[row["op"]]
    reason = {"LLN": "no reference range (LLN)", "ULN": "no reference range (ULN)", "BASE": "no baseline value"}.get(
        row["basis"], "no value"
    )
    return cond, pl.lit(reason)


def _baseline_applies(baseline: str) -> pl.Expr:
    abnormal = pl.col("BNRIND").str.to_uppercase() == "HIGH"
    if baseline == "ABNORMAL":
        return abnormal.fill_null(False)
    if baseline == "NORMAL":
        return ~abnormal.fill_null(False)
    return pl.lit(True)


def _grade_direction(direction: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(grade, term, reason) expressions for one direction across all parameters."""
    crit = lab_criteria().filter(pl.col("direction") == direction)
    grade_expr: pl.Expr = pl.lit(None, pl.Int8)
    reason_expr: pl.Expr = pl.lit(None, pl.String)
    term_expr: pl.Expr = pl.lit(None, pl.String)
    for (param,), rows in crit.group_by("paramcd", maintain_order=True):
        is_param = pl.col("PARAMCD") == param
        term_expr = pl.when(is_param).then(pl.lit(rows["term"][0])).otherwise(term_expr)
        # per grade: OR over its rows (e.g. creatinine > 1.5 x ULN or > 1.5 x BASE); evaluated 4 -> 1
        g_expr: pl.Expr = pl.lit(0, pl.Int8)
        r_expr: pl.Expr = pl.lit(None, pl.String)
        for grade in sorted(rows["grade"].unique().to_list()):
            applicable = rows.filter(pl.col("grade") == grade).to_dicts()
            parts = [(_condition(r), _baseline_applies(r["baseline"])) for r in applicable]
            holds = pl.any_horizontal([c.fill_null(False) & b for (c, _), b in parts])
            unknown = pl.any_horizontal([c.is_null() & b for (c, _), b in parts]) & ~holds
            why = pl.coalesce([pl.when(c.is_null() & b).then(rsn) for (c, rsn), b in parts])
            # lower grades are wrapped first so that the highest grade is tested first
            g_expr = pl.when(holds).then(pl.lit(grade, pl.Int8)).when(unknown).then(pl.lit(None, pl.Int8)).otherwise(g_expr)
            r_expr = pl.when(holds).then(pl.lit(None, pl.String)).when(unknown).then(why).otherwise(r_expr)
        grade_expr = pl.when(is_param).then(g_expr).otherwise(grade_expr)
        reason_expr = pl.when(is_param).then(r_expr).otherwise(reason_expr)
    return grade_expr, term_expr, reason_expr


def grade_labs(df: pl.DataFrame) -> pl.DataFrame:
    """Add ATOXGRL, ATOXGRH (0-4 or null), ATOXDSCL, ATOXDSCH and GRADE_REASON.

    Needs PARAMCD, AVAL, ANRLO, ANRHI, BASE, BNRIND; an optional UNITRSN (from
    standardise_lab_units) makes a row ungradable with that reason.
    """
    crit = lab_criteria()
    low_params = crit.filter(pl.col("direction") == "L")["paramcd"].unique().to_list()
    high_params = crit.filter(pl.col("direction") == "H")["paramcd"].unique().to_list()
    gl, tl, rl = _grade_direction("L")
    gh, th, rh = _grade_direction("H")
    unit_problem = pl.col("UNITRSN") if "UNITRSN" in df.columns else pl.lit(None, pl.String)
    gradable = pl.col("PARAMCD").is_in(low_params + high_params)
    no_value = pl.col("AVAL").is_null()
    blocked = unit_problem.is_not_null() | no_value
    return df.with_columns(
        pl.when(~pl.col("PARAMCD").is_in(low_params) | blocked).then(None).otherwise(gl).alias("ATOXGRL"),
        pl.when(~pl.col("PARAMCD").is_in(high_params) | blocked).then(None).otherwise(gh).alias("ATOXGRH"),
        tl.alias("ATOXDSCL"),
        th.alias("ATOXDSCH"),
        pl.when(~gradable).then(pl.format("no CTCAE v5 criterion for {}", pl.col("PARAMCD")))
        .when(unit_problem.is_not_null()).then(unit_problem)
        .when(no_value).then(pl.lit("no result"))
        .otherwise(pl.coalesce(pl.when(pl.col("PARAMCD").is_in(low_params)).then(rl), pl.when(pl.col("PARAMCD").is_in(high_params)).then(rh)))
        .alias("GRADE_REASON"),
    )
