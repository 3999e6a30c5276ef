"""BOIN design (Liu & Yuan 2015, JRSS-C 64:507; Yuan et al. 2016, Clin Cancer Res 22:4291).

Follows the CRAN package BOIN (`get.boundary`, `get.oc`, `select.mtd`; DOMAIN.md section 1b).
Pure functions on counts; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dashboard.escalation.result import Step


@dataclass(frozen=True)
class Boundary:
    """BOIN boundaries at n evaluable patients: escalate if y <= escalate_max, de-escalate if
    y >= deescalate_min, eliminate the dose (and all higher) if y >= eliminate_min (None: cannot
    be eliminated at this n)."""

    n: int
    escalate_max: int
    deescalate_min: int
    eliminate_min: int | None


# the targets and margins the BOIN package accepts (R/get.boundary.R and get.oc.R stop() outside them: a target
# below 0.05 or above 0.6 is "too low/high", and p.saf, p.tox must lie at least 10 % of the target away from it)
TARGET_MIN, TARGET_MAX = 0.05, 0.6
MIN_MARGIN = 0.1  # times the target


def check_design(target: float, p_saf: float | None = None, p_tox: float | None = None) -> tuple[float, float]:
    """(p_saf, p_tox) with the package defaults 0.6 * target and 1.4 * target; ValueError where get.boundary stops."""
    if not TARGET_MIN <= target <= TARGET_MAX:
        raise ValueError(f"BOIN target must be between {TARGET_MIN} and {TARGET_MAX} (the BOIN package refuses "
                         f"others), got {target:g}")
    phi1 = 0.6 * target if p_saf is None else p_saf
    phi2 = 1.4 * target if p_tox is None else p_tox
    if not 0 < phi1 < target < phi2 < 1:
        raise ValueError(f"BOIN needs 0 < p_saf < target < p_tox < 1, got {phi1:g}, {target:g}, {phi2:g}")
    margin = MIN_MARGIN * target - 1e-12  # (1e-12: 0.9 x and 1.1 x the target are allowed, as in R)
    if target - phi1 < margin or phi2 - target < margin:
        raise ValueError(f"BOIN needs p_saf and p_tox at least {MIN_MARGIN:g} x the target away from it (the BOIN "
                         f"package refuses closer ones), got p_saf {phi1:g}, target {target:g}, p_tox {phi2:g}")
    return phi1, phi2


def lambdas(target: float, p_saf: float | None = None, p_tox: float | None = None) -> tuple[float, float]:
    """(lambda_e, lambda_d), the escalation and de-escalation thresholds on y/n (get.boundary).

    Defaults p_saf = 0.6 * target, p_tox = 1.4 * target (BOIN package defaults)."""
    phi1, phi2 = check_design(target, p_saf, p_tox)
    lam_e = math.log((1 - phi1) / (1 - target)) / math.log(target * (1 - phi1) / (phi1 * (1 - target)))
    lam_d = math.log((1 - target) / (1 - phi2)) / math.log(phi2 * (1 - target) / (target * (1 - phi2)))
    return lam_e, lam_d


def _binomial_terms(n: int, x: float) -> Iterator[float]:
    """P(Binomial(n, x) = k) for k = 0, 1, ..., n, in log space (no overflow at program scale)."""
    log_x, log_1x = math.log(x), math.log1p(-x)
    base = math.lgamma(n + 1)
    for k in range(n + 1):
        yield math.exp(base - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_x + (n - k) * log_1x)


def prob_above_target(y: int, n: int, target: float) -> float:
    """Pr(p > target | y of n) under a Beta(1, 1) prior = 1 - pbeta(target, y+1, n-y+1).

    For integer shape parameters 1 - I_x(y+1, n-y+1) = Pr(Binomial(n+1, x) <= y), summed exactly
    term by term (no scipy needed, same value as R's pbeta to rounding)."""
    if n < 0 or y < 0 or y > n:
        raise ValueError(f"need 0 <= y <= n, got y={y}, n={n}")
    terms = _binomial_terms(n + 1, target)
    return math.fsum(next(terms) for _ in range(y + 1))


def eliminate_min(n: int, target: float, cutoff_eli: float = 0.95) -> int | None:
    """Smallest y with Pr(p > target | y, n) > cutoff_eli, for n >= 3 (get.boundary); else None."""
    if n < 3:  # BOIN: elimination needs at least 3 patients at the dose
        return None
    # Pr(p > target | y, n) = Pr(Binomial(n+1, target) <= y) grows with y: one pass over the terms
    partial: list[float] = []
    running = 0.0
    for y, term in enumerate(_binomial_terms(n + 1, target)):
        partial.append(term)
        running += term
        # the running sum decides quickly; an exact sum settles values next to the cut-off
        if 1 <= y <= n and running > cutoff_eli - 1e-9 and math.fsum(partial) > cutoff_eli:
            return y
        if y >= n:
            break
    return None


def boundary(n: int, target: float, p_saf: float | None = None, p_tox: float | None = None,
             cutoff_eli: float = 0.95) -> Boundary:
    """The boundaries at one n (n >= 1), as get.boundary computes them."""
    if n < 1:
        raise ValueError(f"BOIN boundaries need n >= 1, got {n}")
    lam_e, lam_d = lambdas(target, p_saf, p_tox)
    esc = math.floor(lam_e * n)  # get.boundary: b.e = floor(lambda1 * n)
    de = _deescalate_count(lam_d, n)
    eli = eliminate_min(n, target, cutoff_eli)
    if eli is not None and de > eli:  # get.boundary caps b.d at the elimination count
        de = eli
    return Boundary(n, esc, de, eli)


_WHOLE_TOL = 1e-12  # get.boundary's tol for "lambda_d * n is a whole number"


def _deescalate_count(lam_d: float, n: int) -> int:
    """get.boundary (BOIN 2.7.2, R/get.boundary.R line 154): b.d = ceiling(lambda_d * n), except
    when lambda_d * n is a whole number k (within 1e-12), then k + 1: de-escalate only if y/n > lambda_d.
    Without the tolerance the count would hang on rounding: with p_tox = 1 - target, lambda_d = 1/2
    and lambda_d * 2 comes out as 1.0 for some targets and 1.0000000000000002 for others."""
    x = lam_d * n
    k = round(x)
    return k + 1 if abs(k - x) < _WHOLE_TOL else math.ceil(x)


def boundaries(target: float, n_max: int, p_saf: float | None = None, p_tox: float | None = None,
               cutoff_eli: float = 0.95) -> list[Boundary]:
    """Boundaries for n = 1..n_max."""
    return [boundary(n, target, p_saf, p_tox, cutoff_eli) for n in range(1, n_max + 1)]


def eliminated(n: Sequence[int], y: Sequence[int], target: float, cutoff_eli: float = 0.95,
               extrasafe: bool = False, offset: float = 0.05) -> list[bool]:
    """Per dose (lowest first): eliminated by the BOIN safety rule (select.mtd / get.oc).

    The first dose with n >= 3 and Pr(p > target) > cutoff_eli is eliminated with every higher
    dose. extrasafe: the lowest dose (and so all) with cutoff_eli - offset."""
    out = [False] * len(n)
    for i, (ni, yi) in enumerate(zip(n, y, strict=True)):
        if ni >= 3 and prob_above_target(yi, ni, target) > cutoff_eli:
            out[i:] = [True] * (len(n) - i)
            break
    if extrasafe and n and n[0] >= 3 and prob_above_target(y[0], n[0], target) > cutoff_eli - offset:
        out = [True] * len(n)
    return out


def pava(x: Sequence[float], wt: Sequence[float]) -> list[float]:
    """Pool-adjacent-violators as in BOIN's select.mtd: repeatedly merge the FIRST violating
    adjacent pair of level sets into their weighted mean."""
    vals = list(x)
    n = len(vals)
    if n <= 1:
        return vals
    lvl = list(range(n))
    while True:
        viol = [i for i in range(n - 1) if vals[i + 1] - vals[i] < 0]
        if not viol:
            return vals
        i = viol[0]
        l1, l2 = lvl[i], lvl[i + 1]
        idx = [k for k in range(n) if lvl[k] in (l1, l2)]
        mean = sum(vals[k] * wt[k] for k in idx) / sum(wt[k] for k in idx)
        for k in idx:
            vals[k] = mean
            lvl[k] = l1


def isotonic_estimates(n: Sequence[int], y: Sequence[int]) -> list[float | None]:
    """Isotonic DLT-rate estimates per dose as select.mtd computes them for treated doses
    (Beta(0.05, 0.05) posterior means pooled by PAVA with weights 1/variance); None if n = 0."""
    idx = [i for i, ni in enumerate(n) if ni > 0]
    ph, wt = _phat_and_weights([n[i] for i in idx], [y[i] for i in idx])
    iso = pava(ph, wt)
    out: list[float | None] = [None] * len(n)
    for k, i in enumerate(idx):
        out[i] = iso[k]
    return out


def _phat_and_weights(n: Sequence[int], y: Sequence[int]) -> tuple[list[float], list[float]]:
    # select.mtd: phat = (y+0.05)/(n+0.1); var = (y+0.05)(n-y+0.05)/((n+0.1)^2 (n+1.1)); weight 1/var
    ph = [(yi + 0.05) / (ni + 0.1) for ni, yi in zip(n, y, strict=True)]
    var = [(yi + 0.05) * (ni - yi + 0.05) / ((ni + 0.1) ** 2 * (ni + 0.1 + 1)) for ni, yi in zip(n, y, strict=True)]
    return ph, [1 / v for v in var]


def select_mtd(n: Sequence[int], y: Sequence[int], target: float, *, bound_mtd: bool = False,
               p_tox: float | None = None, cutoff_eli: float = 0.95, extrasafe: bool = False,
               offset: float = 0.05) -> int | None:
    """BOIN MTD (0-based dose index) or None (select.mtd's 99: dose 1 eliminated / nothing treated).

    Admissible doses: treated and not eliminated. PAVA on 1/variance weights, then k * 1e-10 is
    added to the k-th admissible dose and the estimate closest to the target wins; this makes ties
    go to the highest dose below the target and the lowest above it. bound_mtd: only doses whose
    estimate is below lambda_d (select.mtd boundMTD)."""
    if len(n) != len(y):
        raise ValueError("n and y must have the same length")
    elim = eliminated(n, y, target, cutoff_eli, extrasafe, offset)
    if not n or elim[0] or sum(ni for ni, e in zip(n, elim, strict=True) if not e) == 0:
        return None
    adm = [i for i in range(len(n)) if n[i] > 0 and not elim[i]]
    ph, wt = _phat_and_weights([n[i] for i in adm], [y[i] for i in adm])
    iso = pava(ph, wt)
    iso = [p + (k + 1) * 1e-10 for k, p in enumerate(iso)]
    cand = list(range(len(adm)))
    if bound_mtd:
        lam_d = lambdas(target, None, p_tox)[1]
        cand = [k for k in cand if iso[k] < lam_d]
        if not cand:
            return None
    best = min(cand, key=lambda k: abs(iso[k] - target))  # first minimum, like R's stable sort
    return adm[best]


def decide(n: Sequence[int], y: Sequence[int], current: int, labels: Sequence[str], target: float, *,
           p_saf: float | None = None, p_tox: float | None = None, cutoff_eli: float = 0.95,
           n_earlystop: int | None = None, extrasafe: bool = False, offset: float = 0.05) -> Step:
    """BOIN decision at the current dose with the get.oc rules (DOMAIN.md 1b): never skip; an
    eliminated next dose or the top dose turns 'escalate' into 'stay'; dose 1 turns 'de-escalate'
    into 'stay'; dose 1 eliminated (or extrasafe) -> stop; n_earlystop: stop when the current dose
    has that many patients and the decision is to stay."""
    d, nd, yd = current, n[current], y[current]
    elim = eliminated(n, y, target, cutoff_eli, extrasafe, offset)
    if elim[0]:
        pr = prob_above_target(y[0], n[0], target)
        return Step("stop", None, f"{y[0]}/{n[0]} DLT at {labels[0]}: Pr(DLT rate > {target:g}) = {pr:.3f} > "
                    f"{cutoff_eli - offset if extrasafe else cutoff_eli:g} -> lowest dose eliminated; stop, no MTD")
    if any(elim[:d]):  # a lower dose is eliminated, so this one is too: go below the lowest eliminated
        first = elim.index(True)
        return _down_to_admissible(elim, d, labels, f"{labels[first]} and all higher doses are eliminated")
    if nd == 0:
        return Step("stay", d, f"no DLT-evaluable patients at {labels[d]} yet -> stay at {labels[d]}")
    b = boundary(nd, target, p_saf, p_tox, cutoff_eli)
    at = f"{yd}/{nd} DLT at {labels[d]}"
    if yd <= b.escalate_max:
        why = f"{at}: {yd} <= {b.escalate_max} (escalation boundary)"
        if d == len(n) - 1:
            step = Step("stay", d, f"{why}, but {labels[d]} is the highest dose -> stay")
        elif elim[d + 1]:
            step = Step("stay", d, f"{why}, but {labels[d + 1]} is eliminated -> stay")
        else:
            step = Step("escalate", d + 1, f"{why} -> escalate to {labels[d + 1]}")
    elif yd >= b.deescalate_min:
        why = f"{at}: {yd} >= {b.deescalate_min} (de-escalation boundary)"
        if elim[d]:
            pr = prob_above_target(yd, nd, target)
            why += f"; Pr(DLT rate > {target:g}) = {pr:.3f} > {cutoff_eli:g}: {labels[d]} and higher eliminated"
        if d == 0:
            step = Step("stay", d, f"{why}, but {labels[d]} is the lowest dose -> stay")
        else:
            step = Step("de-escalate", d - 1, f"{why} -> de-escalate to {labels[d - 1]}")
    else:
        step = Step("stay", d, f"{at}: {yd} > {b.escalate_max} (escalation boundary) and {yd} < "
                    f"{b.deescalate_min} (de-escalation boundary) -> stay")
    if n_earlystop is not None and nd >= n_earlystop and step.decision == "stay":
        # get.oc: stop when n at the current dose reaches n.earlystop and the dose would not change
        return Step("stop", None, f"{step.reason}; {nd} >= {n_earlystop} patients at {labels[d]} "
                    "(early-stop size) -> stop and select the MTD")
    return step


def _down_to_admissible(elim: Sequence[bool], d: int, labels: Sequence[str], why: str) -> Step:
    j = max(i for i in range(d) if not elim[i])  # elim[0] is False here
    return Step("de-escalate", j, f"{why} -> de-escalate to {labels[j]}")
