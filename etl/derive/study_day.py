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


def period_start(date: pl.Expr, flag: pl.Expr) -> pl.Expr:
    """First day of the period a partial date stands for (its --DTF 'D': the month; 'M': the year); a complete
    date is itself. `date` is the imputed first day (etl/dates.parse_iso_date)."""
    return (pl.when(flag == "D").then(date.dt.month_start())
            .when(flag == "M").then(pl.date(date.dt.year(), 1, 1)).otherwise(date))


def period_end(date: pl.Expr, flag: pl.Expr) -> pl.Expr:
    """Last day of the period a partial date stands for: the latest day it can be (a DS exit or a death is inside
    the DLT window only when this day is)."""
    return (pl.when(flag == "D").then(date.dt.month_end())
            .when(flag == "M").then(pl.date(date.dt.year(), 12, 31)).otherwise(date))


def complete_date(frame: pl.DataFrame, col: str) -> pl.Expr:
    """The date of `col`_DT when it is complete (no imputation flag), else null: the analysis date of a dose,
    a lab draw or a vital sign (admiral derives ADT / EXSTDTM with `derive_vars_dt(m)` and no date imputation,
    `highest_imputation = "n"` / `"h"`). AE onsets and ends are imputed (etl/derive/adae.py), these are not."""
    flag = f"{col}_DTF"
    date = pl.col(f"{col}_DT")
    return pl.when(pl.col(flag).is_null()).then(date).otherwise(None) if flag in frame.columns else date
