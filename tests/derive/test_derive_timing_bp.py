"""Study day, cycle anchoring and the blood-pressure category BPCAT."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.derive.bp_category import bp_category
from etl.derive.cycles import assign_cycle, cycle_day1_dates, derive_adcyc
from etl.derive.study_day import compute_study_day
from safetyboard.protocol import Protocol

REF = dt.date(2026, 1, 5)


@pytest.mark.parametrize(("offset", "study_day"), [(-10, -10), (-1, -1), (0, 1), (1, 2), (41, 42)])
def test_study_day_has_no_day_zero(offset: int, study_day: int) -> None:
    frame = pl.DataFrame({"D": [REF + dt.timedelta(days=offset)], "R": [REF]})
    assert frame.select(compute_study_day(pl.col("D"), pl.col("R")))[0, 0] == study_day


def test_study_day_null_when_a_date_is_missing() -> None:
    frame = pl.DataFrame({"D": [None, REF], "R": [REF, None]}, schema={"D": pl.Date, "R": pl.Date})
    assert frame.select(compute_study_day(pl.col("D"), pl.col("R"))).to_series().to_list() == [None, None]


def d(offset: int) -> dt.date:
    return REF + dt.timedelta(days=offset)


# infusions on D1/D8/D15; cycle 2 starts 5 days late (offset 26), cycle 3 on time relative to it (47)
INFUSION_OFFSETS = [0, 7, 14, 26, 33, 40, 47]


def test_cycle_day1_from_dates_alone() -> None:
    d1s = cycle_day1_dates([d(o) for o in INFUSION_OFFSETS], 21, 1)
    assert d1s == [d(0), d(26), d(47)]


def ex_frame(offsets: list[int], visits: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({
        "USUBJID": ["S1"] * len(offsets), "EXTRT": ["IRINOTECAN LIPOSOME"] * len(offsets),
        "EXDOSE": [50.0] * len(offsets), "EXSTDTC_DT": [d(o) for o in offsets],
        "EXENDTC_DT": [d(o) for o in offsets], "VISIT": visits,
    }, schema_overrides={"VISIT": pl.String})


def test_delayed_cycle_anchors_the_next_cycle_on_its_actual_day1(protocol: Protocol) -> None:
    adcyc = derive_adcyc(ex_frame(INFUSION_OFFSETS, [None] * 7), pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [REF]}),
                         protocol, cut_date=d(60))
    assert adcyc["CYCLE"].to_list() == [1, 2, 3]
    assert adcyc["D1DT"].to_list() == [d(0), d(26), d(47)]
    assert adcyc["PLAND1DT"].to_list() == [d(0), d(21), d(47)]  # cycle 3 planned from the ACTUAL C2D1
    assert adcyc["DELAYDY"].to_list() == [0, 5, 0]
    assert set(adcyc["CYCLSRC"]) == {"INFUSION"}


def test_cycle_day1_prefers_visit_names(protocol: Protocol) -> None:
    visits = ["C1D1", "C1D8", "C1D15", "C2D1", "C2D8", "C2D15", "C3D1"]
    # a D15 infusion given 6 days late would look like a new cycle by dates; the visit name says otherwise
    ex = ex_frame([0, 7, 20, 26, 33, 40, 47], visits)
    adcyc = derive_adcyc(ex, pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [REF]}), protocol, cut_date=d(50))
    assert adcyc["D1DT"].to_list() == [d(0), d(26), d(47)]


def test_assign_cycle_and_cycle_day(protocol: Protocol) -> None:
    adcyc = derive_adcyc(ex_frame(INFUSION_OFFSETS, [None] * 7), pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [REF]}),
                         protocol, cut_date=d(60))
    events = pl.DataFrame({"USUBJID": ["S1"] * 5, "ADT": [d(-2), d(0), d(25), d(26), None]},
                          schema={"USUBJID": pl.String, "ADT": pl.Date})
    out = assign_cycle(events, "ADT", adcyc)
    assert out["ADT"].to_list() == events["ADT"].to_list()  # order kept
    assert out["CYCLE"].to_list() == [None, 1, 1, 2, None]
    assert out["CYCLEDY"].to_list() == [None, 1, 26, 1, None]


def test_fixed_cycles_without_infusions(protocol: Protocol) -> None:
    ex = pl.DataFrame({"USUBJID": ["S1"], "EXTRT": ["PLACEBO"], "EXDOSE": [1.0], "EXSTDTC_DT": [REF], "EXENDTC_DT": [d(50)]})
    adcyc = derive_adcyc(ex, pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [REF]}), protocol, cut_date=d(100))
    assert adcyc["D1DT"].to_list() == [d(0), d(21), d(42)] and set(adcyc["CYCLSRC"]) == {"FIXED"}


def bp(protocol: Protocol, rows: list[tuple[str, float, float | None]]) -> list[int | None]:
    frame = pl.DataFrame(
        [{"USUBJID": f"S{i}", "ADT": REF, "PARAMCD": p, "AVAL": v, "AGE": a} for i, (p, v, a) in enumerate(rows)],
        schema={"USUBJID": pl.String, "ADT": pl.Date, "PARAMCD": pl.String, "AVAL": pl.Float64, "AGE": pl.Float64},
    )
    return bp_category(frame, protocol.blood_pressure)["BPCAT"].to_list()


ADULT = [
    ("SYSBP", 119, 0), ("SYSBP", 120, 1), ("SYSBP", 139, 1), ("SYSBP", 140, 2), ("SYSBP", 159, 2), ("SYSBP", 160, 3),
    ("DIABP", 79, 0), ("DIABP", 80, 1), ("DIABP", 89, 1), ("DIABP", 90, 2), ("DIABP", 99, 2), ("DIABP", 100, 3),
]
# adolescents (12-17): category 1 >= 120/80; category 2 SBP 130-139 or DBP 80-89; nothing above 2
ADOLESCENT = [
    ("SYSBP", 119, 0), ("SYSBP", 120, 1), ("SYSBP", 129, 1), ("SYSBP", 130, 2), ("SYSBP", 139, 2), ("SYSBP", 170, 2),
    ("DIABP", 79, 0), ("DIABP", 80, 2), ("DIABP", 89, 2), ("DIABP", 105, 2),
]


@pytest.mark.parametrize(("param", "value", "cat"), ADULT)
def test_bpcat_adult_boundaries(protocol: Protocol, param: str, value: float, cat: int) -> None:
    assert bp(protocol, [(param, value, 40)]) == [cat]
    assert bp(protocol, [(param, value, 18)]) == [cat]  # 18 is an adult


@pytest.mark.parametrize(("param", "value", "cat"), ADOLESCENT)
def test_bpcat_adolescent_fixed_cutoffs(protocol: Protocol, param: str, value: float, cat: int) -> None:
    assert bp(protocol, [(param, value, 15)]) == [cat]
    assert bp(protocol, [(param, value, 17)]) == [cat]


def test_bpcat_reasons_age_unknown_and_pairs(protocol: Protocol) -> None:
    frame = pl.DataFrame(
        {"USUBJID": ["A", "A", "B", "C", "D"], "ADT": [REF] * 5,
         "PARAMCD": ["SYSBP", "DIABP", "SYSBP", "SYSBP", "PULSE"], "AVAL": [128.0, 101.0, 165.0, 165.0, 80.0],
         "AGE": [40.0, 40.0, None, 15.0, 40.0]},
    )
    out = bp_category(frame, protocol.blood_pressure)
    assert out["BPCAT"].to_list() == [1, 3, 3, 2, None]
    assert out["BPCATP"].to_list()[:2] == [3, 3]  # the pair takes the worse of SBP and DBP
    reasons = out["BPCATRSN"].to_list()
    assert reasons[2] == "age unknown: adult thresholds"
    assert reasons[3].startswith("adolescent") and "percentile" in reasons[3]
    assert reasons[4] is None
    assert "not a CTCAE AE grade" in out["BPCATN"][0]


def test_bpcat_null_value(protocol: Protocol) -> None:
    assert bp(protocol, [("SYSBP", None, 40)]) == [None]
