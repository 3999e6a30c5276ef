"""BOIN against DOMAIN.md section 1b (BOIN R package get.boundary / get.oc / select.mtd)."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest

from dashboard.escalation import boin
from dashboard.escalation.boin import (
    boundaries,
    decide,
    eliminated,
    isotonic_estimates,
    lambdas,
    pava,
    prob_above_target,
    select_mtd,
)

# DOMAIN.md 1b "Computed boundaries": n -> (E, D, El); El None = cannot eliminate at this n.
TABLE = {
    0.25: {
        "n": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18],
        "E": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 3],
        "D": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 6],
        "El": [None, None, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 8],
    },
    0.30: {
        "n": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18],
        "E": [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4],
        "D": [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 6, 7],
        "El": [None, None, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9],
    },
}
EXACT_TARGET = {0.25: Fraction(1, 4), 0.30: Fraction(3, 10)}


def _exact_boundary(phi: Fraction, n: int) -> tuple[int, int, int | None]:
    """(E, D, El) from the get.boundary formulas, decided in exact rational arithmetic.

    lambda = ln A / ln B with B > 1, so E = floor(lambda_e n) is the E with B^E <= A^n < B^(E+1)
    and D = ceil(lambda_d n) the D with B^(D-1) < A^n <= B^D."""
    phi1, phi2 = Fraction(6, 10) * phi, Fraction(14, 10) * phi
    a_e, b_e = (1 - phi1) / (1 - phi), phi * (1 - phi1) / (phi1 * (1 - phi))
    a_d, b_d = (1 - phi) / (1 - phi2), phi2 * (1 - phi) / (phi * (1 - phi2))
    e = next(k for k in range(n + 1) if b_e**k <= a_e**n < b_e ** (k + 1))
    d = next(k for k in range(1, n + 1) if b_d ** (k - 1) < a_d**n <= b_d**k)
    el = None
    if n >= 3:
        # 1 - pbeta(phi, y+1, n-y+1) = Pr(Binomial(n+1, phi) <= y)
        el = next((y for y in range(1, n + 1)
                   if sum(comb(n + 1, k) * phi**k * (1 - phi) ** (n + 1 - k) for k in range(y + 1)) > Fraction(95, 100)), None)
    if el is not None and d > el:
        d = el
    return e, d, el


@pytest.mark.parametrize("target", [0.25, 0.30])
def test_boundaries_match_published_table(target: float) -> None:
    got = {b.n: b for b in boundaries(target, 18)}
    t = TABLE[target]
    for n, e, d, el in zip(t["n"], t["E"], t["D"], t["El"], strict=True):
        assert (got[n].escalate_max, got[n].deescalate_min, got[n].eliminate_min) == (e, d, el), n


@pytest.mark.parametrize("target", [0.25, 0.30])
def test_boundaries_n1_to_18_agree_with_exact_rational_computation(target: float) -> None:
    got = boundaries(target, 18)
    assert [b.n for b in got] == list(range(1, 19))
    for b in got:  # includes n = 13, 14, 16, 17 which the table does not list
        assert (b.escalate_max, b.deescalate_min, b.eliminate_min) == _exact_boundary(EXACT_TARGET[target], b.n), b.n


def test_lambdas_match_domain_values() -> None:
    assert lambdas(0.25) == pytest.approx((0.1968, 0.2984), abs=5e-5)
    assert lambdas(0.30) == pytest.approx((0.2365, 0.3585), abs=5e-5)
    with pytest.raises(ValueError):
        lambdas(0.3, p_saf=0.35)


@pytest.mark.parametrize(
    ("y", "n", "target", "pr"),
    [(2, 3, 0.30, 0.916), (3, 3, 0.30, 0.992), (3, 6, 0.30, 0.874), (4, 6, 0.30, 0.971), (2, 3, 0.25, 0.9492)],
)
def test_elimination_probabilities(y: int, n: int, target: float, pr: float) -> None:
    assert prob_above_target(y, n, target) == pytest.approx(pr, abs=5e-4 if pr != 0.9492 else 5e-5)


LABELS = ["DL1", "DL2", "DL3"]


def _one_dose(y: int, n: int, target: float) -> tuple[str, bool]:
    """Decision at the middle of three doses (others untreated) and whether it is eliminated."""
    step = decide([0, n, 0], [0, y, 0], 1, LABELS, target)
    return step.decision, eliminated([0, n, 0], [0, y, 0], target)[1]


@pytest.mark.parametrize(
    ("y", "n", "target", "decision", "elim"),
    [
        (0, 3, 0.30, "escalate", False), (1, 3, 0.30, "stay", False), (2, 3, 0.30, "de-escalate", False),
        (3, 3, 0.30, "de-escalate", True), (2, 6, 0.30, "stay", False), (3, 6, 0.30, "de-escalate", False),
        (4, 6, 0.30, "de-escalate", True),
        (1, 3, 0.25, "de-escalate", False),  # 3+3 would stay here
        (2, 3, 0.25, "de-escalate", False), (3, 3, 0.25, "de-escalate", True),
        (1, 6, 0.25, "escalate", False), (2, 6, 0.25, "de-escalate", False), (2, 9, 0.25, "stay", False),
    ],
)
def test_one_dose_vectors(y: int, n: int, target: float, decision: str, elim: bool) -> None:
    assert _one_dose(y, n, target) == (decision, elim)


def test_eliminating_a_dose_eliminates_all_higher_doses() -> None:
    assert eliminated([3, 3, 0, 6], [0, 3, 0, 0], 0.30) == [False, True, True, True]


def test_never_skips_and_escalates_only_one_level() -> None:
    assert decide([3, 0, 0], [0, 0, 0], 0, LABELS, 0.30).next_level == 1


def test_escalation_into_an_eliminated_dose_stays() -> None:
    step = decide([0, 6, 3], [0, 1, 3], 1, LABELS, 0.30)  # DL3 3/3 eliminated; 1/6 at DL2 says escalate
    assert (step.decision, step.next_level) == ("stay", 1)
    assert "DL3 is eliminated" in step.reason


def test_top_dose_escalate_means_stay_and_dose1_deescalate_means_stay() -> None:
    assert decide([3, 3, 3], [0, 0, 0], 2, LABELS, 0.30).decision == "stay"
    step = decide([3, 0, 0], [2, 0, 0], 0, LABELS, 0.30)  # 2/3 at dose 1: de-escalate -> stay
    assert (step.decision, step.next_level) == ("stay", 0)


def test_dose1_eliminated_stops_without_mtd() -> None:
    step = decide([3, 0, 0], [3, 0, 0], 0, LABELS, 0.30)
    assert (step.decision, step.next_level) == ("stop", None)
    assert select_mtd([3, 0, 0], [3, 0, 0], 0.30) is None


def test_elimination_of_current_dose_deescalates() -> None:
    step = decide([3, 3, 0], [0, 3, 0], 1, LABELS, 0.30)
    assert (step.decision, step.next_level) == ("de-escalate", 0)
    assert "eliminated" in step.reason


def test_early_stop_only_when_the_decision_is_stay() -> None:
    # 4/12 at DL2 (phi .30): E=2, D=5 -> stay; with n.earlystop 12 the trial stops
    assert decide([3, 12, 0], [0, 4, 0], 1, LABELS, 0.30, n_earlystop=12).decision == "stop"
    # 2/12 -> escalate even though 12 are treated (get.oc stops only on a 'stay')
    assert decide([3, 12, 0], [0, 2, 0], 1, LABELS, 0.30, n_earlystop=12).decision == "escalate"
    assert decide([3, 9, 0], [0, 4, 0], 1, LABELS, 0.30, n_earlystop=12).decision == "de-escalate"


def test_extrasafe_stops_at_lowest_dose_with_lower_cutoff() -> None:
    # 2/3 at phi .25: Pr = 0.9492 > 0.95 - 0.05 with extrasafe, not > 0.95 without
    assert decide([3, 0, 0], [2, 0, 0], 0, LABELS, 0.25).decision == "stay"
    assert decide([3, 0, 0], [2, 0, 0], 0, LABELS, 0.25, extrasafe=True).decision == "stop"


@pytest.mark.parametrize(
    ("n", "y", "mtd"),
    [
        ([3, 3, 15, 9, 0], [0, 0, 4, 4, 0], 2),  # package example: MTD = dose 3
        ([3, 6, 6], [0, 2, 1], 2),  # PAVA pools doses 2-3; tie rule -> dose 3
        ([6, 6, 3], [0, 1, 3], 1),  # dose 3 eliminated -> dose 2
        ([3, 3], [3, 0], None),  # dose 1 eliminated -> no MTD
    ],
)
def test_select_mtd_vectors(n: list[int], y: list[int], mtd: int | None) -> None:
    assert select_mtd(n, y, 0.30) == mtd


def test_isotonic_estimates_of_package_example() -> None:
    iso = isotonic_estimates([3, 3, 15, 9, 0], [0, 0, 4, 4, 0])
    assert iso[:4] == pytest.approx([0.0161, 0.0161, 0.2682, 0.4451], abs=5e-5)
    assert iso[4] is None


def test_pava_pools_with_inverse_variance_weights_not_n() -> None:
    iso = isotonic_estimates([3, 6, 6], [0, 2, 1])
    assert iso[1] == iso[2] == pytest.approx(0.236, abs=5e-4)
    # weights n (6, 6) would give the plain mean 0.254
    assert pava([2.05 / 6.1, 1.05 / 6.1], [6, 6])[0] == pytest.approx(0.254, abs=5e-4)


def test_tie_rule_above_target_takes_lowest_dose() -> None:
    # doses 2 and 3 pool above the target (3/6 then 2/6 -> ~0.42): the lowest tied dose wins
    n, y = [3, 6, 6], [0, 3, 2]
    iso = isotonic_estimates(n, y)
    assert iso[1] == iso[2] > 0.30
    assert select_mtd(n, y, 0.30) == 1


def test_untreated_doses_are_not_selected() -> None:
    assert select_mtd([3, 0, 3], [0, 0, 1], 0.30) == 2
    assert select_mtd([0, 0], [0, 0], 0.30) is None


def test_bound_mtd_requires_estimate_below_lambda_d() -> None:
    n, y = [3, 6, 3], [0, 2, 2]  # dose 3 pooled estimate ~0.42 > lambda_d
    assert select_mtd(n, y, 0.30, bound_mtd=True) in (0, 1)
    assert select_mtd([6], [3], 0.30, bound_mtd=True) is None


@pytest.mark.parametrize("target", [0.30, 0.40])
def test_deescalation_count_when_lambda_d_times_n_is_whole(target: float) -> None:
    # BOIN 2.7.2 R/get.boundary.R line 154: b.d = round(lambda2 * n) + 1 when lambda2 * n is a whole
    # number (tol 1e-12), else ceiling(lambda2 * n). p_tox = 1 - target gives lambda_d = 1/2, which
    # floats to 0.5 at target 0.30 and 0.49999999999999994 at 0.40: both must give D = n/2 + 1.
    assert lambdas(target, None, 1 - target)[1] == pytest.approx(0.5, abs=1e-15)
    got = [b.deescalate_min for b in boundaries(target, 6, p_tox=1 - target)]
    assert got[1] == 2 and got[3] == 3  # n = 2: D = 2 (not 1); n = 4: D = 3 (not 2)
    # 2/4 at the current dose (y/n = lambda_d exactly): stay, not de-escalate
    step = decide([3, 4], [0, 2], 1, ["L1", "L2"], target, p_tox=1 - target)
    assert (step.decision, step.next_level) == ("stay", 1)


@pytest.mark.parametrize(
    ("target", "p_saf", "p_tox", "ok"),
    [(0.05, None, None, True), (0.6, None, None, True), (0.049, None, None, False), (0.61, None, None, False),
     (0.3, 0.27, 0.33, True), (0.3, 0.28, None, False), (0.3, None, 0.32, False)],
)
def test_targets_and_margins_the_boin_package_refuses_are_refused(target: float, p_saf: float | None,
                                                                  p_tox: float | None, ok: bool) -> None:
    # R/get.boundary.R stops for a target below 0.05 or above 0.6 and for p.saf / p.tox closer than 10 % of the
    # target; SafetyBoard gave boundaries and decisions for them
    if ok:
        lam_e, lam_d = boin.lambdas(target, p_saf, p_tox)
        assert 0 < lam_e < target < lam_d < 1
    else:
        with pytest.raises(ValueError, match="the BOIN package refuses"):
            boin.lambdas(target, p_saf, p_tox)
