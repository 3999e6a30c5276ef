"""engine.evaluate / what_if: the API the dashboard, the CLI and the demo generator use."""

from __future__ import annotations

import pytest

from dashboard.escalation.engine import LevelCounts, evaluate, what_if


def _levels(*pairs: tuple[int, int]) -> list[LevelCounts]:
    return [LevelCounts(f"DL{i + 1}", n, n, y) for i, (n, y) in enumerate(pairs)]


def test_boin_stay_reason_names_counts_and_boundaries() -> None:
    r = evaluate(_levels((3, 0), (3, 1), (0, 0)), None, "boin", 0.30)
    assert (r.current, r.decision, r.next_level) == (1, "stay", 1)
    assert r.reason.startswith("1/3 DLT at DL2: 1 > 0 (escalation boundary) and 1 < 2 (de-escalation boundary) -> stay")


def test_per_level_statistics() -> None:
    r = evaluate([LevelCounts("A", 4, 3, 1), LevelCounts("B", 0, 0, 0)], 0, "boin", 0.30)
    a, b = r.levels
    assert (a.level, a.label, a.n_treated, a.n_evaluable, a.n_dlt) == (0, "A", 4, 3, 1)
    assert a.rate == pytest.approx(1 / 3)
    assert (a.ci_low, a.ci_high) == pytest.approx((0.0084, 0.9057), abs=5e-5)
    assert (a.escalate_max, a.deescalate_min, a.eliminate_min) == (0, 2, 3)
    assert (b.rate, b.ci_low, b.ci_high, b.escalate_max) == (None, None, None, None)
    assert r.lambda_e == pytest.approx(0.2365, abs=5e-5)


def test_decisions_use_evaluable_not_treated_patients() -> None:
    # 4 treated, 3 evaluable, 0 DLT: 0/3 -> escalate (BOIN and 3+3)
    lv = [LevelCounts("DL1", 4, 3, 0), LevelCounts("DL2", 0, 0, 0)]
    assert evaluate(lv, 0, "boin", 0.30).decision == "escalate"
    assert evaluate(lv, 0, "3+3", 0.30).decision == "escalate"
    assert "1 of 4 treated at DL1 not DLT-evaluable" in evaluate(lv, 0, "boin", 0.30).reason


def test_default_current_is_highest_level_with_evaluable_patients() -> None:
    assert evaluate(_levels((3, 0), (3, 0), (0, 0)), None, "boin", 0.3).current == 1
    assert evaluate(_levels((0, 0), (0, 0)), None, "boin", 0.3).current == 0


def test_eliminated_levels_and_mtd_in_result() -> None:
    r = evaluate(_levels((6, 0), (6, 1), (3, 3)), 2, "boin", 0.30)
    assert [lv.eliminated for lv in r.levels] == [False, False, True]
    assert (r.decision, r.next_level, r.mtd) == ("de-escalate", 1, 1)
    assert "MTD estimate: DL2" in r.reason


def test_boin_dose1_eliminated_stops_with_no_mtd() -> None:
    r = evaluate(_levels((3, 3), (0, 0)), 0, "boin", 0.30)
    assert (r.decision, r.next_level, r.mtd) == ("stop", None, None)
    assert r.reason.endswith("No MTD")


def test_max_per_dose_is_the_early_stop() -> None:
    lv = _levels((3, 0), (12, 4), (0, 0))
    assert evaluate(lv, 1, "boin", 0.30).decision == "stay"
    r = evaluate(lv, 1, "boin", 0.30, max_per_dose=12)
    assert (r.decision, r.mtd) == ("stop", 1)


def test_three_plus_three_result_has_no_boin_fields() -> None:
    r = evaluate(_levels((6, 1), (3, 2), (0, 0)), 1, "3+3", 0.30)
    assert (r.design, r.decision, r.next_level, r.mtd) == ("3+3", "stop", None, 0)
    assert all(lv.escalate_max is None and not lv.eliminated for lv in r.levels)


@pytest.mark.parametrize(
    ("levels", "current", "design", "target"),
    [
        ([LevelCounts("DL1", 3, 3, 4)], 0, "boin", 0.3),  # DLTs > evaluable
        ([LevelCounts("DL1", 2, 3, 0)], 0, "boin", 0.3),  # evaluable > treated
        ([LevelCounts("DL1", 3, 3, 0)], 1, "boin", 0.3),  # current out of range
        ([LevelCounts("DL1", 3, 3, 0)], 0, "crm", 0.3),
        ([LevelCounts("DL1", 3, 3, 0)], 0, "boin", 1.3),
        ([], 0, "boin", 0.3),
    ],
)
def test_bad_input_raises_value_error(levels: list[LevelCounts], current: int, design: str, target: float) -> None:
    with pytest.raises(ValueError):
        evaluate(levels, current, design, target)


def test_what_if_next_patients() -> None:
    lv = _levels((3, 0), (0, 0), (0, 0))
    assert (what_if(lv, 0, 1, 3, 0, "boin", 0.30).decision, what_if(lv, 0, 1, 3, 0, "boin", 0.30).next_level) == ("escalate", 2)
    r = what_if(lv, 0, 1, 3, 2, "boin", 0.30)
    assert (r.current, r.decision, r.next_level) == (1, "de-escalate", 0)
    assert r.levels[1].n_dlt == 2 and lv[1].n_dlt == 0  # input not changed
    with pytest.raises(ValueError):
        what_if(lv, 0, 1, 3, 4, "boin", 0.30)
    with pytest.raises(ValueError):
        what_if(lv, 0, 5, 3, 0, "boin", 0.30)


def test_simulated_boin_trial_follows_the_boundaries() -> None:
    """Walking a BOIN trial cohort by cohort: every decision agrees with the published table."""
    outcomes = [0, 0, 1, 0, 2, 1, 1, 0]  # DLTs per cohort of 3 at whatever dose the engine picks
    counts = [[0, 0] for _ in range(4)]
    cur = 0
    for dlt in outcomes:
        counts[cur][0] += 3
        counts[cur][1] += dlt
        r = evaluate(_levels(*map(tuple, counts)), cur, "boin", 0.30)
        n, y = counts[cur]
        e, d = {3: (0, 2), 6: (1, 3), 9: (2, 4), 12: (2, 5)}[n]
        expected = "escalate" if y <= e else "de-escalate" if y >= d else "stay"
        if (expected == "de-escalate" and cur == 0) or (expected == "escalate" and cur == 3):
            expected = "stay"
        assert r.decision == expected, (counts, cur)
        cur = r.next_level if r.next_level is not None else cur
