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
    assert out["GRADE_REASON"].to_list()[:3] == [None, None, "Neutrophil count decreased: no reference range (LLN)"]
    assert out["ATOXGRH"][3] is None
    assert out["GRADE_REASON"][3] == "Alanine aminotransferase increased: no reference range (ULN)"


def test_the_reason_names_the_direction_left_ungraded() -> None:
    # Hgb 70 g/L without a range: grade 3 anemia by the absolute cut-off; Hemoglobin increased needs the ULN
    out = graded([lab("HGB", 70, "g/L"), lab("HGB", 110, "g/L")])
    assert out["ATOXGRL"].to_list() == [3, None] and out["ATOXGRH"].to_list() == [None, None]
    assert out["GRADE_REASON"].to_list() == [
        "Hemoglobin increased: no reference range (ULN)",
        "Anemia: no reference range (LLN); Hemoglobin increased: no reference range (ULN)",
    ]


def test_units_per_mm3_and_conventional_chemistry() -> None:
    out = graded([
        lab("NEUT", 450, "/mm3", 1800, 7500),        # 0.45 x 10^9/L -> grade 4
        lab("CREAT", 2.0, "mg/dL", 0.6, 1.1),        # 176.8 umol/L, ULN 97.2: > 1.5 x ULN -> grade 2 (no baseline:
        # admiral guards the baseline alternatives with !is.na(BASE), so they do not hold)
        lab("BILI", 1.0, "mg/dL", 0.2, 1.2),         # within range -> 0
    ])
    assert out["ATOXGRL"][0] == 4
    assert out["AVAL"][1] == pytest.approx(176.8)
    assert out["ATOXGRH"].to_list()[1:] == [2, 0]
    assert out["GRADE_REASON"][1] is None


def test_parameter_without_criterion_has_a_reason() -> None:
    out = graded([lab("TSH", 2.0, "mU/L", 0.4, 4.0)])
    assert out["ATOXGRL"][0] is None and out["ATOXGRH"][0] is None
    assert out["GRADE_REASON"][0] == "no CTCAE v5 criterion for TSH"


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


# CTCAE v5.0 terms beyond DOMAIN.md's table, graded as admiral's ncictcaev5.json writes them (each vector
# sits on or beside a published boundary): (PARAMCD, direction, LLN, ULN, BASE, BNRIND, value, grade)
MORE_VECTORS = [
    # Alkaline phosphatase, baseline normal: >ULN-2.5, >2.5-5, >5-20, >20 x ULN
    *[("ALP", "H", 40, 100, 80, "NORMAL", v, g) for v, g in [(100, 0), (101, 1), (250, 1), (251, 2), (501, 3), (2001, 4)]],
    # ... baseline abnormal: >=2-2.5, >2.5-5, >5-20, >20 x baseline
    *[("ALP", "H", 40, 100, 150, "HIGH", v, g) for v, g in [(299, 0), (300, 1), (376, 2), (751, 3), (3001, 4)]],
    # GGT, baseline abnormal: grade 1 is > 2 x baseline (strict, unlike ALP)
    *[("GGT", "H", 10, 60, 100, "HIGH", v, g) for v, g in [(200, 0), (201, 1), (251, 2)]],
    *[("LIPASE", "H", 10, 60, None, None, v, g) for v, g in [(60, 0), (61, 1), (91, 2), (121, 3), (301, 4)]],
    *[("AMYLASE", "H", 30, 110, None, None, v, g) for v, g in [(166, 2), (221, 3), (551, 4)]],
    *[("CK", "H", 30, 200, None, None, v, g) for v, g in [(201, 1), (501, 2), (1001, 3), (2001, 4)]],
    *[("LDH", "H", 100, 250, None, None, v, g) for v, g in [(250, 0), (251, 1), (2000, 1)]],
    *[("APTT", "H", 25, 35, None, None, v, g) for v, g in [(36, 1), (53, 2), (88, 3)]],
    # Hemoglobin increased, g/L: >ULN, > ULN + 20 (2 g/dL), > ULN + 40 (4 g/dL)
    *[("HGB", "H", 120, 160, None, None, v, g) for v, g in [(160, 0), (161, 1), (180, 1), (181, 2), (201, 3)]],
    *[("WBC", "H", 4, 10, None, None, v, g) for v, g in [(99, 0), (101, 3)]],
    *[("LYM", "H", 1, 4, None, None, v, g) for v, g in [(4, 0), (4.1, 2), (20.1, 3)]],
    *[("CD4", "L", 0.5, 1.5, None, None, v, g) for v, g in [(0.45, 2), (0.19, 3), (0.04, 4)]],
    # Hypoalbuminemia, g/L: <LLN-30, <30-20, <20
    *[("ALB", "L", 35, 50, None, None, v, g) for v, g in [(35, 0), (34, 1), (29, 2), (19, 3)]],
    *[("CA", "L", 2.1, 2.6, None, None, v, g) for v, g in [(2.05, 1), (1.9, 2), (1.7, 3), (1.4, 4)]],
    *[("CA", "H", 2.1, 2.6, None, None, v, g) for v, g in [(2.7, 1), (3.0, 2), (3.2, 3), (3.5, 4)]],
    *[("MG", "L", 0.7, 1.0, None, None, v, g) for v, g in [(0.6, 1), (0.45, 2), (0.35, 3), (0.25, 4)]],
    # Hypermagnesemia has no grade 2: >ULN-1.23 -> 1, >1.23-3.30 -> 3, >3.30 -> 4
    *[("MG", "H", 0.7, 1.0, None, None, v, g) for v, g in [(1.1, 1), (1.3, 3), (3.4, 4)]],
    *[("GLUC", "L", 3.9, 5.6, None, None, v, g) for v, g in [(3.5, 1), (2.9, 2), (2.1, 3), (1.6, 4)]],
    *[("CHOL", "H", 3, 5.2, None, None, v, g) for v, g in [(6, 1), (8, 2), (11, 3), (13, 4)]],
    *[("TRIG", "H", 0.5, 1.7, None, None, v, g) for v, g in [(1.71, 0), (1.72, 1), (3.43, 2), (5.71, 3), (11.41, 4)]],
    # Hyperuricemia: >ULN, admiral's worst case (grade 3, "with physiologic consequences")
    *[("URATE", "H", 150, 420, None, None, v, g) for v, g in [(420, 0), (421, 3)]],
    # INR: >1.2-1.5, >1.5-2.5, >2.5 (or the same multiples of the baseline)
    *[("INR", "H", None, None, 1.0, "NORMAL", v, g) for v, g in [(1.0, 0), (1.1, 1), (1.3, 1), (1.6, 2), (2.6, 3)]],
    # ... a low baseline lets the multiples of the baseline grade first
    *[("INR", "H", None, None, 0.8, "NORMAL", v, g) for v, g in [(0.8, 0), (1.0, 1), (1.25, 2), (2.05, 3)]],
]


@pytest.mark.parametrize("vector", MORE_VECTORS, ids=[f"{v[0]}{v[1]}-{v[4]}-{v[6]}->{v[7]}" for v in MORE_VECTORS])
def test_more_ctcae_terms(vector: tuple) -> None:
    out = grade_labs(frame([vector])).row(0, named=True)
    assert out["ATOXGRL" if vector[1] == "L" else "ATOXGRH"] == vector[7]


@pytest.mark.parametrize(("uln", "base", "value", "grade"), [
    (100, None, 101, 1), (100, None, 151, 2), (100, None, 301, 3), (100, None, 601, 4), (100, None, 100, 0),
    # no ULN: the baseline alternatives still grade 2 and 3; grade 1 (> ULN) cannot be told apart
    (None, 60, 91, 2), (None, 60, 181, 3), (None, 60, 80, None), (None, None, 500, None),
])
def test_creatinine_with_a_missing_reference_is_graded_as_admiral(uln, base, value, grade) -> None:
    # admiral ncictcaev5.json: "!is.na(BASE) & AVAL > 1.5 * BASE ~ 2" - a missing reference makes that
    # alternative false; grade 1 "is.na(ANRHI) ~ NA" stops with null
    out = grade_labs(frame([("CREAT", "H", 50, uln, base, None if base is None else "NORMAL", value, None)]))
    assert out["ATOXGRH"][0] == grade
    assert (out["GRADE_REASON"][0] is None) == (grade is not None)


def test_abnormal_baseline_transaminase_still_needs_the_uln() -> None:
    # admiral GRADE_NA_CODE "is.na(AVAL) | is.na(ANRHI) ~ NA" holds whatever the baseline class
    out = grade_labs(frame([("ALT", "H", None, None, 60, "HIGH", 400, None), ("ALT", "H", None, 40, 60, "HIGH", 400, None)]))
    assert out["ATOXGRH"].to_list() == [None, 3]
    assert out["GRADE_REASON"][0] == "Alanine aminotransferase increased: no reference range (ULN)"


def test_inr_without_baseline_grades_only_above_the_absolute_cut_offs() -> None:
    out = grade_labs(frame([("INR", "H", None, None, None, None, v, None) for v in (1.1, 1.3, 2.6)]))
    assert out["ATOXGRH"].to_list() == [None, 1, 3]
    assert out["GRADE_REASON"][0] == "INR increased: no baseline value"


def test_conventional_units_of_the_added_chemistry() -> None:
    out = graded([
        lab("CA", 6.8, "mg/dL", 8.5, 10.5),     # 1.70 mmol/L -> grade 3 (< 1.75)
        lab("GLUC", 38, "mg/dL", 70, 100),      # 2.11 mmol/L -> grade 3 (< 2.2)
        lab("ALB", 2.5, "g/dL", 3.5, 5.0),      # 25 g/L -> grade 2 (< 30)
        lab("MG", 0.9, "mg/dL", 1.7, 2.2),      # CTCAE's mg/dL cut-offs: not < 0.9 -> grade 2 (as 0.37 mmol/L: 3)
        lab("INR", 1.6, None),                  # a ratio without a unit -> grade 2 (> 1.5)
        lab("ALKPH", 600, "U/L", 40, 100),      # the ADaM code of alkaline phosphatase: > 5 x ULN -> 3
    ])
    assert out["UNITRSN"].to_list() == [None] * 6
    assert out["PARAMCD"].to_list() == ["CA", "GLUC", "ALB", "MG", "INR", "ALP"]
    assert out["ATOXGRL"].to_list()[:4] == [3, 3, 2, 2]
    assert out["ATOXGRH"].to_list()[4:] == [2, 3]


# CTCAE v5.0 states these cut-offs in both unit systems, and the conventional ones are not exact conversions of the
# SI ones (8.0 mg/dL calcium = 1.996 mmol/L, under the SI grade 2 cut-off of 2.0): a value is graded on the cut-offs
# of the unit it was reported in (admiral ncictcaev5_uscv.json; anemia in mmol/L: CTCAE's own text), on the
# boundaries exactly and just past them
@pytest.mark.parametrize(("code", "unit", "lo", "hi", "values", "low", "high"), [
    ("HGB", "mmol/L", 7.4, 9.9, [6.2, 6.19, 4.9, 4.89], [1, 2, 2, 3], [0, 0, 0, 0]),
    ("HGB", "g/dL", 12.0, 16.0, [10.0, 9.9, 8.0, 7.9], [1, 2, 2, 3], [0, 0, 0, 0]),
    ("CA", "mg/dL", 8.5, 10.5, [8.0, 7.99, 7.0, 6.0, 5.9], [1, 2, 2, 3, 4], [0, 0, 0, 0, 0]),
    ("CA", "mg/dL", 8.5, 10.5, [11.5, 11.6, 12.5, 12.6, 13.5, 13.6], [0] * 6, [1, 2, 2, 3, 3, 4]),
    ("CA", "mmol/L", 2.15, 2.55, [2.0, 1.99, 2.9, 2.91], [1, 2, 0, 0], [0, 0, 1, 2]),
    ("MG", "mg/dL", 1.7, 2.2, [1.2, 1.19, 0.7, 3.0, 3.1, 8.0, 8.1], [1, 2, 3, 0, 0, 0, 0], [0, 0, 0, 1, 3, 3, 4]),
    ("GLUC", "mg/dL", 70, 100, [55, 54, 40, 39, 30, 29], [1, 2, 2, 3, 3, 4], [None] * 6),
    ("CHOL", "mg/dL", None, 200, [300, 301, 400, 401, 500, 501], [None] * 6, [1, 2, 2, 3, 3, 4]),
    ("TRIG", "mg/dL", None, 150, [150, 151, 300, 301, 1000, 1001], [None] * 6, [0, 1, 1, 2, 3, 4]),
])
def test_a_value_is_graded_on_the_cut_offs_of_the_unit_it_was_reported_in(code, unit, lo, hi, values, low, high) -> None:
    out = graded([lab(code, v, unit, lo, hi) for v in values])
    assert out["UNITRSN"].to_list() == [None] * len(values)
    assert out["ATOXGRL"].to_list() == low
    assert out["ATOXGRH"].to_list() == high


def test_urinalysis_is_not_graded_as_blood_even_without_lbspec() -> None:
    # the CDISC pilot gives urine pH and glucose under LBCAT URINALYSIS with no LBSPEC: pH 8 is not alkalosis
    lb = pl.DataFrame({"USUBJID": ["S1", "S1"], "LBTESTCD": ["PH", "PH"], "LBTEST": ["pH", "pH"],
                       "LBCAT": ["URINALYSIS", "CHEMISTRY"], "LBSTRESN": [8.0, 7.6], "LBSTRESU": [None, None],
                       "LBSTNRLO": [5.0, 7.35], "LBSTNRHI": [8.0, 7.45], "LBORRES": ["8", "7.6"]},
                      schema_overrides={"LBSTRESU": pl.String})
    std = standardise_lab_units(lb).with_columns(pl.lit(None, pl.Float64).alias("BASE"), pl.lit(None, pl.String).alias("BNRIND"))
    out = grade_labs(std)
    assert out["ATOXGRH"].to_list() == [None, 3]
    assert out["GRADE_REASON"][0] == "urine test: the CTCAE criteria grade blood values"


def test_worst_case_grades_are_marked() -> None:
    # admiral grades urate > ULN as 3, sodium 125-129 as 3, potassium < LLN as 2: CTCAE decides these by symptoms or
    # consequences the value cannot show (ATOXWCL/ATOXWCH 'Y'); sodium 120-124 is grade 3 regardless of symptoms
    out = graded([
        lab("URATE", 450, "umol/L", 200, 420), lab("SODIUM", 127, "mmol/L", 135, 145), lab("SODIUM", 122, "mmol/L", 135, 145),
        lab("K", 3.2, "mmol/L", 3.5, 5.1), lab("NEUT", 0.4, "10^9/L", 1.8, 7.5), lab("SODIUM", 119, "mmol/L", 135, 145),
    ])
    assert out["ATOXGRH"][0] == 3 and out["ATOXGRL"].to_list()[1:] == [3, 3, 2, 4, 4]
    assert out["ATOXWCH"].to_list()[0] == "Y"
    assert out["ATOXWCL"].to_list()[1:] == ["Y", None, "Y", None, None]


def test_a_float_nan_is_no_value_and_grades_nothing() -> None:
    # NaN compares above every threshold: ALT 50 with ANRHI NaN came out grade 4, a NaN result grade 4 too
    nan = float("nan")
    out = grade_labs(frame([("ALT", "H", 5, nan, 30, "NORMAL", 50.0, None), ("ALT", "H", 5, 40, 30, "NORMAL", nan, None),
                            ("NEUT", "L", nan, 7.5, None, None, 1.6, None)]))
    assert out["ATOXGRH"].to_list()[:2] == [None, None]
    assert out["ATOXGRL"].to_list()[2] is None  # grade 1 needs the LLN
    assert out["GRADE_REASON"].to_list()[1] == "no result"
