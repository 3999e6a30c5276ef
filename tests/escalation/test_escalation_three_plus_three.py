"""3+3 against the DOMAIN.md 1a table (bcrm threep3, Chang et al. 2006 variant)."""

from __future__ import annotations

import pytest

from dashboard.escalation.three_plus_three import decide, select_mtd

L = ["DL1", "DL2", "DL3"]


@pytest.mark.parametrize(
    ("n", "y", "current", "decision", "next_level"),
    [
        ([3, 0, 0], [0, 0, 0], 0, "escalate", 1),  # 0/3 -> escalate into the untested next dose
        ([3, 3, 0], [0, 1, 0], 1, "stay", 1),  # 1/3 -> 3 more at the same dose
        ([3, 6, 0], [0, 1, 0], 1, "escalate", 2),  # <= 1/6 -> escalate
        ([3, 6, 0], [0, 0, 0], 1, "escalate", 2),
        ([3, 3, 0], [0, 2, 0], 1, "de-escalate", 0),  # >= 2 among 3, lower dose has 3 < 6 -> expand it
        ([3, 6, 0], [0, 2, 0], 1, "de-escalate", 0),  # >= 2 among 6
        ([3, 3, 0], [0, 3, 0], 1, "de-escalate", 0),
        ([3, 0, 0], [2, 0, 0], 0, "stop", None),  # >= 2 at dose level 1 -> stop
        ([6, 0, 0], [2, 0, 0], 0, "stop", None),
        ([6, 3, 0], [1, 2, 0], 1, "stop", None),  # lower dose already has 6 -> stop (MTD = DL1)
    ],
)
def test_rule_table(n: list[int], y: list[int], current: int, decision: str, next_level: int | None) -> None:
    step = decide(n, y, current, L)
    assert (step.decision, step.next_level) == (decision, next_level)
    assert L[current] in step.reason


def test_one_of_three_stays_where_boin_025_deescalates() -> None:
    assert decide([0, 3, 0], [0, 1, 0], 1, L).decision == "stay"


def test_no_escalation_into_an_already_tested_dose() -> None:
    # came down from DL3 (2/3) to DL2: 0/3 there -> expand DL2 to 6, not back up
    step = decide([3, 3, 3], [0, 0, 2], 1, L)
    assert (step.decision, step.next_level) == ("stay", 1)
    step = decide([3, 6, 3], [0, 1, 2], 1, L)
    assert (step.decision, step.next_level) == ("stop", None)
    assert select_mtd([3, 6, 3], [0, 1, 2]) == 1


def test_highest_dose_at_0_of_3_stops_with_it_as_mtd_as_bcrm_does() -> None:
    # bcrm threep3: 0/3 at the highest dose stops the trial, the MTD that dose (DOMAIN.md 1a: "when no rule
    # applies, the trial stops"); it used to expand to 6 first, a rule of neither source
    step = decide([3, 3, 3], [0, 0, 0], 2, L)
    assert (step.decision, step.next_level) == ("stop", None)
    assert "at the highest dose -> stop; DL3 is the MTD" in step.reason
    assert select_mtd([3, 3, 3], [0, 0, 0]) == 2
    # 1/3 there: treat 3 more; <= 1/6 then stops with it as MTD, >= 2/6 de-escalates
    assert decide([3, 3, 3], [0, 0, 1], 2, L).decision == "stay"
    assert select_mtd([3, 3, 3], [0, 0, 1]) is None
    step = decide([3, 3, 6], [0, 0, 1], 2, L)
    assert step.decision == "stop"
    assert select_mtd([3, 3, 6], [0, 0, 1]) == 2
    assert decide([3, 3, 6], [0, 0, 2], 2, L).decision == "de-escalate"
    # 0/3 at a lower dose is no MTD yet (the trial escalates); nor 0/3 at the top below a too-toxic dose
    assert select_mtd([3, 3, 0], [0, 0, 0]) is None
    assert select_mtd([6, 3], [2, 0]) is None


def test_incomplete_cohort_waits() -> None:
    assert decide([2, 0, 0], [1, 0, 0], 0, L).decision == "stay"
    assert decide([0, 0, 0], [0, 0, 0], 0, L).decision == "stay"
    # two DLTs decide before the cohort of 3 is complete
    assert decide([3, 2, 0], [0, 2, 0], 1, L).decision == "de-escalate"


@pytest.mark.parametrize(
    ("n", "y", "mtd"),
    [
        ([6, 6, 3], [0, 1, 2], 1),  # highest dose with <= 1/6
        ([6, 6, 0], [1, 2, 0], 0),  # the dose below the one with >= 2
        ([3, 2, 0], [2, 0, 0], None),  # >= 2 at dose level 1 -> no dose recommended
        ([3, 3, 0], [0, 0, 0], None),  # no dose has 6 patients yet
        ([6, 6, 6], [0, 1, 1], 2),
    ],
)
def test_mtd_rule(n: list[int], y: list[int], mtd: int | None) -> None:
    assert select_mtd(n, y) == mtd


def test_beyond_six_patients_the_rate_decides() -> None:
    assert select_mtd([6, 12, 0], [0, 2, 0]) == 1  # 2/12 = 1/6 is acceptable
    assert select_mtd([6, 12, 0], [0, 3, 0]) == 0  # 3/12 > 1/6
    assert decide([6, 12, 0], [0, 3, 0], 1, L).decision == "stop"  # DL1 already has 6


@pytest.mark.parametrize(
    ("n", "y", "current", "decision"),
    [
        ([6, 6], [2, 1], 1, "stop"),        # DL1 became 2/6 after the trial moved up (late DLT)
        ([6, 6, 3], [2, 0, 2], 1, "stop"),  # came down from DL3, DL1 too toxic meanwhile
        ([6, 6, 0], [2, 1, 0], 1, "escalate"),
    ],
)
def test_reason_never_names_an_mtd_that_select_mtd_rejects(n: list[int], y: list[int], current: int,
                                                           decision: str) -> None:
    # the step follows the table at the current dose; the MTD is select_mtd's (none above a dose
    # with >= 2 DLT), and the sentence the DMC reads must not name another one
    step = decide(n, y, current, L)
    assert step.decision == decision
    assert select_mtd(n, y) is None
    assert "is the MTD" not in step.reason
    assert "DL1 below has 2/6 DLT" in step.reason


def test_reason_names_the_dose_above_factually_when_it_is_not_too_toxic() -> None:
    # --current below a tested dose that is not (or no longer) too toxic: the table still does not
    # go back up, but the reason must not call it '>= 2 DLT' nor name the current dose as MTD
    step = decide([6, 7, 0], [0, 0, 0], 0, L)
    assert step.decision == "stop"
    assert "DL2 already tested (0/7 DLT)" in step.reason and "is the MTD" not in step.reason
    assert select_mtd([6, 7, 0], [0, 0, 0]) == 1
    step = decide([6, 3, 0], [1, 2, 0], 0, L)
    assert "DL2 already tested (2/3 DLT) -> stop; DL1 is the MTD" in step.reason
