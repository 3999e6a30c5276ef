"""Lab baseline (BASE, ABLFL, BNRIND): the last non-missing value on or before the first dose (admiral's
ADLB template; SDTMIG 3.3 --LOBXFL)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.adlb import derive_baseline

D = dt.date


def labs(rows: list[tuple], extra: dict[str, list] | None = None) -> pl.DataFrame:
    """rows: (USUBJID, PARAMCD, LBSEQ, VISITNUM, ADT, AVAL, TRTSDT)"""
    cols = ["USUBJID", "PARAMCD", "LBSEQ", "VISITNUM", "ADT", "AVAL", "TRTSDT"]
    frame = pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], schema={
        "USUBJID": pl.String, "PARAMCD": pl.String, "LBSEQ": pl.Int64, "VISITNUM": pl.Float64, "ADT": pl.Date,
        "AVAL": pl.Float64, "TRTSDT": pl.Date})
    frame = frame.with_columns(pl.lit(3.0).alias("ANRLO"), pl.lit(5.0).alias("ANRHI"))
    return frame.with_columns(**{k: pl.Series(v) for k, v in (extra or {}).items()})


def test_last_value_before_first_dose_wins_over_the_screening_lbblfl() -> None:
    # the CDISC pilot pattern: LBBLFL on the screening draw, an unscheduled draw later but before dosing
    frame = labs([
        ("S1", "K", 1, 1.0, D(2026, 1, 2), 4.0, D(2026, 1, 10)),   # screening, LBBLFL = Y
        ("S1", "K", 2, 1.1, D(2026, 1, 6), 5.5, D(2026, 1, 10)),   # unscheduled, before the first dose
        ("S1", "K", 3, 4.0, D(2026, 1, 17), 3.9, D(2026, 1, 10)),  # on treatment
    ], {"LBBLFL": ["Y", None, None]})
    out = derive_baseline(frame)
    assert out["BASE"].to_list() == [5.5, 5.5, 5.5]
    assert out["ABLFL"].to_list() == [None, "Y", None]
    assert out["BNRIND"].to_list() == ["HIGH"] * 3


def test_first_dose_day_counts_a_missing_value_does_not() -> None:
    frame = labs([
        ("S1", "K", 1, 1.0, D(2026, 1, 2), 4.0, D(2026, 1, 10)),
        ("S1", "K", 2, 101.0, D(2026, 1, 10), 2.5, D(2026, 1, 10)),    # C1D1, pre-dose draw: baseline
        ("S1", "K", 3, 101.0, D(2026, 1, 10), None, D(2026, 1, 10)),   # no result: never the baseline
        ("S1", "K", 4, 108.0, D(2026, 1, 17), 4.4, D(2026, 1, 10)),
    ])
    out = derive_baseline(frame)
    assert out["ABLFL"].to_list() == [None, "Y", None, None]
    assert out["BASE"][0] == 2.5 and out["BNRIND"][0] == "LOW"


def test_same_day_ties_go_to_the_later_visit_then_the_later_lbseq() -> None:
    # admiral orders by ADT, AVISITN, LBSEQ and keeps the last
    frame = labs([
        ("S1", "K", 7, 1.1, D(2026, 1, 8), 4.1, D(2026, 1, 10)),
        ("S1", "K", 5, 1.1, D(2026, 1, 8), 4.2, D(2026, 1, 10)),
        ("S1", "K", 9, 1.0, D(2026, 1, 8), 4.3, D(2026, 1, 10)),
    ])
    out = derive_baseline(frame)
    assert out["ABLFL"].to_list() == ["Y", None, None]


def test_lblobxfl_given_by_the_export_is_taken() -> None:
    frame = labs([
        ("S1", "K", 1, 1.0, D(2026, 1, 2), 4.0, D(2026, 1, 10)),
        ("S1", "K", 2, 1.1, D(2026, 1, 6), 4.6, D(2026, 1, 10)),
    ], {"LBLOBXFL": ["Y", None]})
    assert derive_baseline(frame)["ABLFL"].to_list() == ["Y", None]


def test_no_first_dose_no_baseline_and_parameters_are_separate() -> None:
    frame = labs([
        ("S1", "K", 1, 1.0, D(2026, 1, 2), 4.0, None),             # never dosed
        ("S2", "K", 1, 1.0, D(2026, 1, 2), 4.0, D(2026, 1, 10)),
        ("S2", "SODIUM", 2, 1.0, D(2026, 1, 3), 140.0, D(2026, 1, 10)),
    ])
    out = derive_baseline(frame)
    assert out["BASE"].to_list() == [None, 4.0, 140.0]
    assert out["BNRIND"][0] is None
