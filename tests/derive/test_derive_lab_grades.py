"""CTCAE v5 lab grades against the published vectors of DOMAIN.md section 2 (admiral method)."""

from __future__ import annotations

import polars as pl
import pytest

from etl.derive.lab_grades import grade_labs
from etl.derive.lab_units import standardise_lab_units

# (PARAMCD, direction, LLN, ULN, BASE, BNRIND, value, expected grade), exactly as DOMAIN.md section 2 lists them
VECTORS = [
    *[("NEUT", "L", 1.8, 7.5, None, None, v, g) for v, g in [(1.6, 1), (1.5, 1), (1.49, 2), (1.0, 2), (0.99, 3), (0.5, 3), (0.49, 4)]],
    *[("PLAT", "L", 150, 400, None, None, v, g) for v, g in [(75, 1), (74.9, 2), (49.9, 3), (24.9, 4)]],
    *[("HGB", "L", 120, 160, None, None, v, g) for v, g in [(100, 1), (99, 2), (80, 2), (79, 3)]],
    *[("ALT", "H", 5, 40, 30, "NORMAL", v, g) for v, g in [(41, 1), (120, 1), (121, 2), (201, 3), (801, 4)]],
    *[("ALT", "H", 5, 40, 60, "HIGH", v, g) for v, g in [(89, 0), (90, 1), (181, 2), (301, 3), (1201, 4)]],
    *[("BILI", "H", 3, 21, 10, "NORMAL", v, g) for v, g in [(22, 1), (32, 2), (64, 3), (211, 4)]],
    *[("CREAT", "H", 50, 100, 90, "NORMAL", v, g) for v, g in [(101, 1), (136, 2), (271, 3), (601, 4)]],
    *[("CREAT", "H", 50, 100, 60, "NORMAL", v, g) for v, g in [(91, 2), (181, 3)]],
    *[("SODIUM", "L", 135, 145, None, None, v, g) for v, g in [(130, 1), (129, 3), (119, 4)]],
    *[("K", "L", 3.5, 5.1, None, None, v, g) for v, g in [(3.4, 2), (2.99, 3), (2.49, 4)]],
]


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"PARAMCD": p, "ANRLO": lo, "ANRHI": hi, "BASE": b, "BNRIND": bn, "AVAL": v} for p, _, lo, hi, b, bn, v, _ in rows],
        schema={"PARAMCD": pl.String, "ANRLO": pl.Float64, "ANRHI": pl.Float64, "BASE": pl.Float64, "BNRIND": pl.String,
                "AVAL": pl.Float64},
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[f"{v[0]}-{v[5] or ''}-{v[4]}-{v[6]}->{v[7]}" for v in VECTORS])
def test_domain_md_vector(vector: tuple) -> None:
    out = grade_labs(frame([vector])).row(0, named=True)
    column = "ATOXGRL" if vector[1] == "L" else "ATOXGRH"
    assert out[column] == vector[7]
    assert out["GRADE_REASON"] is None


def test_all_vectors_at_once_agree_with_one_by_one() -> None:
    out = grade_labs(frame(VECTORS))
    got = [r["ATOXGRL"] if v[1] == "L" else r["ATOXGRH"] for r, v in zip(out.to_dicts(), VECTORS, strict=True)]
    assert got == [v[7] for v in VECTORS]


def lab(testcd: str, value: float | None, unit: str | None, lo: float | None = None, hi: float | None = None,
        orres: str | None = None) -> dict:
    return {"USUBJID": "S1", "LBTESTCD": testcd, "LBTEST": testcd, "LBSTRESN": value, "LBSTRESU": unit,
            "LBSTNRLO": lo, "LBSTNRHI": hi, "LBORRES": orres if orres is not None else (None if value is None else str(value))}


def graded(rows: list[dict]) -> pl.DataFrame:
    lb = pl.DataFrame(rows, schema={"USUBJID": pl.String, "LBTESTCD": pl.String, "LBTEST": pl.String, "LBSTRESN": pl.Float64,
                                    "LBSTRESU": pl.String, "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64, "LBORRES": pl.String})
    std = standardise_lab_units(lb).with_columns(pl.lit(None, pl.Float64).alias("BASE"), pl.lit(None, pl.String).alias("BNRIND"))
    return grade_labs(std)


def test_hemoglobin_g_dl_and_mmol_l_are_converted_to_g_l() -> None:
    out = graded([
        lab("HGB", 9.9, "g/dL", 12, 16),      # 99 g/L -> grade 2
        lab("HGB", 7.9, "g/dL", 12, 16),      # 79 g/L -> grade 3
        lab("HGB", 6.1, "mmol/L", 7.4, 9.9),  # 98.3 g/L -> grade 2 (DOMAIN.md: 6.2 mmol/L = 10 g/dL)
        lab("HGB", 4.8, "mmol/L", 7.4, 9.9),  # 77.3 g/L -> grade 3 (4.9 mmol/L = 8 g/dL)
        lab("HGB", 7.0, "mmol/L", 7.4, 9.9),  # 112.8 g/L < LLN 119.2 -> grade 1
    ])
    assert out["AVALU"].to_list() == ["g/L"] * 5
    assert out["AVAL"].round(1).to_list() == [99.0, 79.0, 98.3, 77.3, 112.8]
    assert out["ATOXGRL"].to_list() == [2, 3, 2, 3, 1]


def test_unknown_unit_and_text_result_are_not_graded_with_a_reason() -> None:
    out = graded([
        lab("NEUT", 0.3, "cells/hpf", 1.8, 7.5),
        lab("NEUT", None, "10^9/L", 1.8, 7.5, orres="<0.2"),
        lab("NEUT", None, "10^9/L", 1.8, 7.5, orres=None),
    ])
    assert out["ATOXGRL"].to_list() == [None, None, None]
    reasons = out["GRADE_REASON"].to_list()
    assert "unit not recognised: cells/hpf" in reasons[0]
    assert "<0.2" in reasons[1]
    assert reasons[2] == "no result"


def test_missing_range_blocks_grade_1_but_absolute_grades_still_apply() -> None:
    out = graded([
        lab("NEUT", 0.4, "10^9/L"),   # grade 4 by the absolute cut-off
        lab("NEUT", 1.2, "10^9/L"),   # grade 2 by the absolute cut-off
        lab("NEUT", 1.7, "10^9/L"),   # grade 0 or 1: needs the LLN
        lab("ALT", 100, "U/L"),       # every ALT grade needs the ULN
    ])
    assert out["ATOXGRL"].to_list()[:3] == [4, 2, None]
    assert out["GRADE_REASON"].to_list()[:3] == [None, None, "no reference range (LLN)"]
    assert out["ATOXGRH"][3] is None and out["GRADE_REASON"][3] == "no reference range (ULN)"


def test_units_per_mm3_and_conventional_chemistry() -> None:
    out = graded([
        lab("NEUT", 450, "/mm3", 1800, 7500),        # 0.45 x 10^9/L -> grade 4
        lab("CREAT", 2.0, "mg/dL", 0.6, 1.1),        # 176.8 umol/L, ULN 97.2: >1.5 x ULN, but without a
        # baseline grade 3 (> 3 x BASE) cannot be ruled out, so not graded (as admiral: NA | FALSE = NA)
        lab("BILI", 1.0, "mg/dL", 0.2, 1.2),         # within range -> 0
    ])
    assert out["ATOXGRL"][0] == 4
    assert out["AVAL"][1] == pytest.approx(176.8)
    assert out["ATOXGRH"].to_list()[1:] == [None, 0]
    assert out["GRADE_REASON"][1] == "no baseline value"


def test_parameter_without_criterion_has_a_reason() -> None:
    out = graded([lab("GLUC", 5.0, "mmol/L", 3.9, 5.6)])
    assert out["ATOXGRL"][0] is None and out["ATOXGRH"][0] is None
    assert out["GRADE_REASON"][0] == "no CTCAE v5 criterion for GLUC"


@pytest.mark.parametrize("unit", ["umol/L", "\u00b5mol/L", "\u03bcmol/L", "\u00b5mol/l", " \u03bcmol / L"])
def test_micro_sign_and_greek_mu_are_the_same_unit(unit: str) -> None:
    # U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU both mean micro (Unicode NFKC maps one to
    # the other); exports use either, and a creatinine in umol/L must be graded whichever is typed
    out = graded([lab("CREAT", 600.0, unit, 45, 90)])  # > 6 x ULN: grade 4 without a baseline
    assert out["UNITRSN"][0] is None and out["AVALU"][0] == "umol/L"
    assert out["ATOXGRH"][0] == 4 and out["GRADE_REASON"][0] is None


@pytest.mark.parametrize(("value", "unit"), [
    (0.45, "10*9/L"), (0.45, "10E9/L"), (0.45, "x10E9/L"), (0.45, "10^3/uL"), (0.45, "10E3/uL"), (0.45, "K/uL"),
    (0.45, "x10^3/uL"), (0.45, "10^3/mm3"), (450, "cells/uL"), (450, "/uL"), (450, "cells/mm3"),
])
def test_neutrophil_count_spellings_are_converted_and_graded(value: float, unit: str) -> None:
    # UCUM '10*9/L', E notation and the US thousands-per-microlitre spellings all mean a count the
    # criteria grade in 10^9/L: 0.45 x 10^9/L neutrophils is grade 4 (< 0.5; CTCAE v5)
    lln = 1.8 if value < 1 else 1800
    out = graded([lab("NEUT", value, unit, lln, lln * 4)])
    assert out["UNITRSN"][0] is None and out["AVALU"][0] == "10^9/L"
    assert out["AVAL"][0] == pytest.approx(0.45) and out["ATOXGRL"][0] == 4


def test_transaminase_in_microkatal_is_converted_to_u_per_l() -> None:
    out = graded([lab("ALT", 3.5, "ukat/L", 0.1, 0.6)])  # 210 U/L against ULN 36: > 5 x ULN, no baseline
    assert out["AVAL"][0] == pytest.approx(210) and out["ANRHI"][0] == pytest.approx(36)
    assert out["AVALU"][0] == "U/L" and out["UNITRSN"][0] is None
