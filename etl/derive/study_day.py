"""Analysis dates: the complete date of an SDTM --DTC, and the study day `--DY = date - RFSTDTC + 1` on or after
the reference date, else `date - RFSTDTC`.

Source: DOMAIN.md section 6 (sdtmval calc_DY, Rsdtm make_dy; SDTMIG 4.4.4). There is no day 0.
"""

from __future__ import annotations

import polars as pl


def compute_study_day(date: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """Study day of `date` relative to `reference` (both Date expressions); null if either is null."""
    diff = (date - reference).dt.total_days()
    return pl.when(diff >= 0).then(diff + 1).otherwise(diff).cast(pl.Int32)


def complete_date(frame: pl.DataFrame, col: str) -> pl.Expr:
    """The date of `col`_DT when it is complete (no imputation flag), else null: the analysis date of a dose,
    a lab draw or a vital sign (admiral derives ADT / EXSTDTM with `derive_vars_dt(m)` and no date imputation,
    `highest_imputation = "n"` / `"h"`). AE onsets and ends are imputed (etl/derive/adae.py), these are not."""
    flag = f"{col}_DTF"
    date = pl.col(f"{col}_DT")
    return pl.when(pl.col(flag).is_null()).then(date).otherwise(None) if flag in frame.columns else date
