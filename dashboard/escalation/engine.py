"""The escalation engine: counts per dose level in, decision + MTD + per-level statistics out.

`evaluate` is the one entry point used by the dashboard, the CLI and the demo-trial generator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dashboard.escalation import boin, three_plus_three
from dashboard.escalation.intervals import clopper_pearson
from dashboard.escalation.result import EscalationResult, LevelCounts, LevelResult, Step

__all__ = ["DESIGNS", "EscalationResult", "LevelCounts", "LevelResult", "evaluate", "what_if"]

DESIGNS = ("boin", "3+3")


def _check(levels: Sequence[LevelCounts]) -> None:
    if not levels:
        raise ValueError("no dose levels given")
    for i, lv in enumerate(levels):
        if not (0 <= lv.n_dlt <= lv.n_evaluable <= lv.n_treated):
            raise ValueError(
                f"dose level {i + 1} ({lv.label}): need 0 <= DLTs <= evaluable <= treated, got "
                f"{lv.n_dlt} DLTs, {lv.n_evaluable} evaluable, {lv.n_treated} treated"
            )


def default_current(levels: Sequence[LevelCounts]) -> int:
    """The highest level with evaluable patients, else 0."""
    treated = [i for i, lv in enumerate(levels) if lv.n_evaluable > 0]
    return treated[-1] if treated else 0


def evaluate(
    levels: Sequence[LevelCounts],
    current: int | None,
    design: str,
    target: float,
    *,
    cohort_size: int = 3,
    max_per_dose: int | None = None,
    p_saf: float | None = None,
    p_tox: float | None = None,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
) -> EscalationResult:
    """Decision at the current dose, MTD estimate and per-level statistics.

    levels: lowest dose first; counts use n_evaluable (DLT-evaluable) and n_dlt.
    current: 0-based index; None -> the highest level with evaluable patients (or 0).
    design: "boin" or "3+3". For BOIN, max_per_dose is get.oc's n.earlystop.
    cohort_size is informational (both designs decide on cumulative counts).
    """
    _check(levels)
    design = design.strip().lower()
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, got {target}")
    if cohort_size < 1:
        raise ValueError(f"cohort_size must be >= 1, got {cohort_size}")
    cur = default_current(levels) if current is None else current
    if not 0 <= cur < len(levels):
        raise ValueError(f"current level {cur + 1} is out of range 1..{len(levels)}")
    n = [lv.n_evaluable for lv in levels]
    y = [lv.n_dlt for lv in levels]
    labels = [lv.label for lv in levels]
    lam_e = lam_d = None
    if design == "boin":
        lam_e, lam_d = boin.lambdas(target, p_saf, p_tox)
        step: Step = boin.decide(n, y, cur, labels, target, p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli,
                                 n_earlystop=max_per_dose, extrasafe=extrasafe)
        mtd = boin.select_mtd(n, y, target, p_tox=p_tox, cutoff_eli=cutoff_eli, extrasafe=extrasafe)
        elim = boin.eliminated(n, y, target, cutoff_eli, extrasafe)
        iso = boin.isotonic_estimates(n, y)
    else:
        step = three_plus_three.decide(n, y, cur, labels)
        mtd = three_plus_three.select_mtd(n, y)
        elim = [False] * len(n)
        iso = [None] * len(n)
    rows = []
    for i, lv in enumerate(levels):
        rate = lv.n_dlt / lv.n_evaluable if lv.n_evaluable else None
        lo, hi = clopper_pearson(lv.n_dlt, lv.n_evaluable)
        b = boin.boundary(lv.n_evaluable, target, p_saf, p_tox, cutoff_eli) if design == "boin" and lv.n_evaluable else None
        rows.append(LevelResult(
            level=i, label=lv.label, n_treated=lv.n_treated, n_evaluable=lv.n_evaluable, n_dlt=lv.n_dlt,
            rate=rate, ci_low=None if math.isnan(lo) else lo, ci_high=None if math.isnan(hi) else hi,
            eliminated=elim[i], escalate_max=b.escalate_max if b else None,
            deescalate_min=b.deescalate_min if b else None, eliminate_min=b.eliminate_min if b else None,
            isotonic_rate=iso[i],
        ))
    reason = step.reason
    pending = levels[cur].n_treated - levels[cur].n_evaluable
    if pending > 0:  # the DMC must see that the decision rests on part of the treated patients
        reason += (f" (note: {pending} of {levels[cur].n_treated} treated at {labels[cur]} not DLT-evaluable:"
                   " window still open, too few doses, or died or left the study inside the window)")
    if step.decision == "stop" or mtd is not None:
        reason += f". MTD estimate: {labels[mtd]}" if mtd is not None else ". No MTD"
    return EscalationResult(
        design=design, target=target, levels=tuple(rows), current=cur, decision=step.decision,
        next_level=step.next_level, mtd=mtd, reason=reason, lambda_e=lam_e, lambda_d=lam_d,
    )


def what_if(levels: Sequence[LevelCounts], current: int | None, dose: int, k: int, j: int, design: str,
            target: float, **kwargs: object) -> EscalationResult:
    """The result if the next k evaluable patients at dose index `dose` have j DLTs (dose becomes
    the current level). Other keyword arguments as for evaluate."""
    if not 0 <= dose < len(levels):
        raise ValueError(f"dose {dose + 1} is out of range 1..{len(levels)}")
    if not 0 <= j <= k:
        raise ValueError(f"need 0 <= j <= k, got k={k}, j={j}")
    new = list(levels)
    lv = new[dose]
    new[dose] = LevelCounts(lv.label, lv.n_treated + k, lv.n_evaluable + k, lv.n_dlt + j)
    return evaluate(new, dose, design, target, **kwargs)  # type: ignore[arg-type]
