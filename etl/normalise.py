"""Typing and quarantine: text records of one domain -> typed raw.<domain> rows + quarantined rows.

Rules (DESIGN.md input contract, docs/architecture.md raw conventions):
- text trimmed, empty -> NULL; --SEQ -> Int64; other numeric SDTM variables -> Float64;
- every --DTC keeps its text and gains <NAME>_DT (imputed date) and <NAME>_DTF (imputation flag);
- a row is quarantined (never dropped) with the FIRST reason that applies, in this order:
  missing_required (a key column or a required date is empty), invalid_date (a required date's
  text is not a valid ISO 8601 date; an invalid optional date keeps its row with the date
  unknown and <VAR>_DTF = 'X'), non_numeric (text in a number column the analysis
  needs, e.g. LBSTRESN), unknown_subject (USUBJID not in DM); duplicate_key (second and later
  rows with the same key) is decided over the whole domain by the loader.
"""

from __future__ import annotations

import json

import polars as pl

from etl.dates import parse_iso_date
from etl.domains import DomainSpec, is_date, is_end_date, is_numeric, is_seq

QUARANTINE_SCHEMA = {
    "domain": pl.String,
    "file": pl.String,
    "row_number": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "record": pl.String,
}

INVALID_DATE_FLAG = "X"  # <VAR>_DTF when the text is not a valid ISO 8601 date (date unknown)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _record_json(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    rows = frame.select(columns).to_dicts()
    return pl.Series("record", [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows])


def normalise_domain(
    frame: pl.DataFrame,
    spec: DomainSpec,
    known_subjects: pl.Series | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (typed rows, quarantined rows) for one domain. `frame` holds text columns, _FILE, _ROW."""
    data_cols = [c for c in frame.columns if c not in ("_FILE", "_ROW")]
    text = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
        for c in data_cols
    )

    reasons: list[tuple[pl.Expr, pl.Expr]] = []  # (condition, detail) in priority order, with reason
    reason_names: list[str] = []

    def add(reason: str, cond: pl.Expr, detail: pl.Expr) -> None:
        reasons.append((cond, detail))
        reason_names.append(reason)

    for col in spec.key_columns + spec.required_dates:
        if col in data_cols:
            add("missing_required", pl.col(col).is_null(), pl.lit(f"{col} is empty"))

    typed: list[pl.Expr] = []
    for col in data_cols:
        if is_date(col):
            date, flag, invalid = parse_iso_date(col, end=is_end_date(col))
            if col in spec.required_dates:
                add("invalid_date", invalid, pl.format(f"{col} '{{}}' is not a valid ISO 8601 date", pl.col(col)))
            else:
                # an invalid optional date (AESTDTC, AEENDTC, DTHDTC...) must not take its record out of
                # the analysis (a grade 4 AE would leave DLT review): the row stays, the date is
                # unknown, the flag says why, and the check date_invalid lists it for the data manager
                flag = pl.when(invalid).then(pl.lit(INVALID_DATE_FLAG)).otherwise(flag)
            typed += [pl.col(col), date.alias(f"{col}_DT"), flag.alias(f"{col}_DTF")]
        elif is_seq(col) or is_numeric(col):
            as_float = pl.col(col).cast(pl.Float64, strict=False)
            bad = pl.col(col).is_not_null() & ~pl.col(col).str.contains(_NUMBER)
            if is_seq(col) or col in spec.strict_numeric or col in spec.key_columns:
                add("non_numeric", bad, pl.format(f"{col} '{{}}' is not a number", pl.col(col)))
            else:
                typed_value = pl.when(bad).then(None).otherwise(as_float)
                as_float = typed_value
            if is_seq(col):
                not_whole = as_float.is_not_null() & (as_float != as_float.round(0))
                add("non_numeric", not_whole, pl.format(f"{col} '{{}}' is not a whole number", pl.col(col)))
                typed.append(as_float.cast(pl.Int64, strict=False).alias(col))
            else:
                typed.append(as_float.alias(col))
        else:
            typed.append(pl.col(col))

    if known_subjects is not None and "USUBJID" in data_cols:
        add(
            "unknown_subject",
            pl.col("USUBJID").is_not_null() & ~pl.col("USUBJID").is_in(known_subjects.implode()),
            pl.format("USUBJID '{}' is not in DM", pl.col("USUBJID")),
        )

    reason_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    detail_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for (cond, detail), name in zip(reversed(reasons), reversed(reason_names), strict=True):
        reason_expr = pl.when(cond).then(pl.lit(name)).otherwise(reason_expr)
        detail_expr = pl.when(cond).then(detail).otherwise(detail_expr)

    flagged = text.with_columns(reason_expr.alias("_REASON"), detail_expr.alias("_DETAIL"))

    # duplicate keys are found across all batches of a domain by the loader (etl/loader.py
    # _remove_duplicates: the first row in file order is kept)

    bad_rows = flagged.filter(pl.col("_REASON").is_not_null())
    good_rows = flagged.filter(pl.col("_REASON").is_null())

    quarantine = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if bad_rows.height:
        quarantine = pl.DataFrame(
            {
                "domain": [spec.name.upper()] * bad_rows.height,
                "file": bad_rows["_FILE"],
                "row_number": bad_rows["_ROW"].cast(pl.Int64),
                "reason": bad_rows["_REASON"],
                "detail": bad_rows["_DETAIL"],
                "record": _record_json(bad_rows, data_cols),
            },
            schema=QUARANTINE_SCHEMA,
        )
    loaded = good_rows.select([*typed, pl.col("_FILE"), pl.col("_ROW").cast(pl.Int64)])
    return loaded, quarantine
