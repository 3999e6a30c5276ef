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


def test_complete_dates_fast_path_equals_the_general_parse() -> None:
    """A batch of complete YYYY-MM-DD dates takes the fast path; one partial date sends the column
    down the general path: the typed dates, flags and quarantine are the same either way."""
    from etl.dates import parse_iso_date

    complete = ["2026-01-05", None, "2026-02-30", "2024-02-29", "2026-13-01", "0001-01-01"]
    for end in (False, True):
        frame = pl.DataFrame({"AEENDTC": complete}, schema={"AEENDTC": pl.String})
        general = frame.select(e.alias(n) for e, n in zip(parse_iso_date("AEENDTC", end=end), "dfi", strict=True))
        fast = frame.select(
            e.alias(n) for e, n in zip(parse_iso_date("AEENDTC", end=end, complete_only=True), "dfi", strict=True)
        )
        assert fast.equals(general)
        assert fast["i"].to_list() == [False, False, True, False, True, False]
    # LBDTC is a required date: the impossible dates are quarantined on both paths
    fast_batch = _batch(USUBJID=["S-1"] * 3, LBSEQ=["1", "2", "3"], LBTESTCD=["HGB"] * 3,
                        LBDTC=["2026-01-05", "2026-02-30", "2026-01-07"])
    mixed_batch = _batch(USUBJID=["S-1"] * 4, LBSEQ=["1", "2", "3", "4"], LBTESTCD=["HGB"] * 4,
                         LBDTC=["2026-01-05", "2026-02-30", "2026-01-07", "2026-01"])
    loaded_fast, q_fast = normalise_domain(fast_batch, spec_for("lb"), pl.Series(["S-1"]))
    loaded_mixed, q_mixed = normalise_domain(mixed_batch, spec_for("lb"), pl.Series(["S-1"]))
    assert loaded_fast.equals(loaded_mixed.head(2))
    assert q_fast["detail"].to_list() == q_mixed["detail"].to_list() == ["LBDTC '2026-02-30' is not a valid ISO 8601 date"]
    assert loaded_mixed["LBDTC_DTF"].to_list() == [None, None, "D"]
