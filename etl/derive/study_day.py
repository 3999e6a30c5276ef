"""Study day: `--DY = date - RFSTDTC + 1` on or after the reference date, else `date - RFSTDTC`.

Source: DOMAIN.md section 6 (sdtmval calc_DY, Rsdtm make_dy; SDTMIG 4.4.4). There is no day 0.
"""

from __future__ import annotations

import polars as pl


def compute_study_day(date: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """Study day of `date` relative to `reference` (both Date expressions); null if either is null."""
    diff = (date - reference).dt.total_days()
    return pl.when(diff >= 0).then(diff + 1).otherwise(diff).cast(pl.Int32)
