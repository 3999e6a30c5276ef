"""etl/normalise.py: typing, trimming and the quarantine reasons of one batch."""

from __future__ import annotations

import polars as pl

from etl.domains import spec_for
from etl.normalise import normalise_domain


def _batch(**columns: list[str | None]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame(columns, schema={k: pl.String for k in columns}).with_columns(
        pl.lit("lb.csv").alias("_FILE"), pl.int_range(1, n + 1, dtype=pl.Int64).alias("_ROW")
    )


def test_padded_text_is_trimmed_and_blank_text_is_null() -> None:
    batch = _batch(
        USUBJID=["S-1", " S-1 ", "S-1"],
        LBSEQ=["1", " 2", "3 "],
        LBTESTCD=["NEUT", "PLAT", "HGB"],
        LBORRES=["1.2", "   ", "\t140\t"],
        LBSTRESN=["1.2", None, " 140 "],
        LBDTC=["2026-01-05", " 2026-01-06 ", "2026-01"],
    )
    loaded, quarantine = normalise_domain(batch, spec_for("lb"), pl.Series(["S-1"]))
    assert quarantine.height == 0
    assert loaded["USUBJID"].to_list() == ["S-1", "S-1", "S-1"]
    assert loaded["LBSEQ"].to_list() == [1, 2, 3]
    assert loaded["LBORRES"].to_list() == ["1.2", None, "140"]
    assert loaded["LBSTRESN"].to_list() == [1.2, None, 140.0]
    assert [str(d) for d in loaded["LBDTC_DT"].to_list()] == ["2026-01-05", "2026-01-06", "2026-01-01"]
    assert loaded["LBDTC_DTF"].to_list() == [None, None, "D"]
    assert loaded.columns[:8] == ["USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBSTRESN", "LBDTC", "LBDTC_DT", "LBDTC_DTF"]


def test_the_first_reason_that_applies_wins_and_names_the_value() -> None:
    batch = _batch(
        USUBJID=["S-1", "S-1", "S-9", None, "S-1"],
        LBSEQ=["1", "x", "3", "4", "5.5"],
        LBTESTCD=["NEUT"] * 5,
        LBSTRESN=["1", "2", "abc", "4", "5"],
        LBDTC=["2026-02-30", "2026-01-01", "2026-01-01", "2026-01-01", "2026-01-01"],
    )
    loaded, quarantine = normalise_domain(batch, spec_for("lb"), pl.Series(["S-1"]))
    assert loaded.height == 0
    got = quarantine.select("row_number", "reason", "detail").rows()
    assert got == [
        (1, "invalid_date", "LBDTC '2026-02-30' is not a valid ISO 8601 date"),
        (2, "non_numeric", "LBSEQ 'x' is not a number"),
        (3, "non_numeric", "LBSTRESN 'abc' is not a number"),  # before unknown_subject
        (4, "missing_required", "USUBJID is empty"),
        (5, "non_numeric", "LBSEQ '5.5' is not a whole number"),
    ]
    assert all(r.startswith("{") for r in quarantine["record"])
