"""Exact Clopper-Pearson intervals."""

from __future__ import annotations

import math
from math import comb

import pytest

from dashboard.escalation.intervals import clopper_pearson


def _tail_ge(y: int, n: int, p: float) -> float:
    return sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(y, n + 1))


@pytest.mark.parametrize(("y", "n"), [(1, 3), (2, 6), (13, 40), (4, 12)])
def test_interval_ends_solve_the_binomial_tail_equations(y: int, n: int) -> None:
    lo, hi = clopper_pearson(y, n)
    assert _tail_ge(y, n, lo) == pytest.approx(0.025, abs=1e-9)  # Pr(X >= y | lo) = alpha/2
    assert 1 - _tail_ge(y + 1, n, hi) == pytest.approx(0.025, abs=1e-9)  # Pr(X <= y | hi) = alpha/2


def test_known_values() -> None:
    assert clopper_pearson(0, 3) == pytest.approx((0.0, 1 - 0.025 ** (1 / 3)))
    assert clopper_pearson(3, 3) == pytest.approx((0.025 ** (1 / 3), 1.0))
    assert clopper_pearson(1, 3) == pytest.approx((0.0084, 0.9057), abs=5e-5)


def test_no_patients_gives_nan_and_bad_counts_raise() -> None:
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))
    with pytest.raises(ValueError):
        clopper_pearson(4, 3)
    with pytest.raises(ValueError):
        clopper_pearson(-1, 3)
