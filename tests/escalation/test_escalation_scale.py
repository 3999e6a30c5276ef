"""BOIN at program scale: tens of thousands of patients at one dose neither overflow nor stall."""

import math

from dashboard.escalation import boin
from dashboard.escalation.engine import LevelCounts, evaluate


def test_elimination_probability_at_large_n_is_finite_and_monotone() -> None:
    n = 40_000
    y_min = boin.eliminate_min(n, 0.30)
    assert y_min is not None
    # just below the elimination count the probability is <= 0.95, at it > 0.95
    assert boin.prob_above_target(y_min - 1, n, 0.30) <= 0.95 < boin.prob_above_target(y_min, n, 0.30)
    # with 40,000 patients the posterior is tight: the count sits just above 30%
    assert 0.30 < y_min / n < 0.31
    assert math.isfinite(boin.prob_above_target(n // 2, n, 0.30))


def test_engine_evaluates_a_program_scale_dose() -> None:
    levels = [LevelCounts("DL1", 9, 8, 0), LevelCounts("DL2", 40_000, 39_000, 9_000)]
    result = evaluate(levels, 1, "boin", 0.30, cohort_size=3, max_per_dose=12)
    assert result.decision in {"escalate", "stay", "de-escalate", "stop"}
    assert result.mtd is not None
