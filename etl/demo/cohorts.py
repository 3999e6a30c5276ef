"""Enrolment of the demo trial: cohorts dosed by the protocol's escalation design, then expansion.

Each escalation cohort is dosed by the escalation engine (dashboard.escalation.engine) from the
DLT outcomes of the cohorts whose 42-day windows were complete when it started, so the simulated
history agrees with the decisions taken. A patient counts as DLT-evaluable exactly as the protocol
[dlt.evaluable] rule and adam.adsl DLTEVLFL define it (DOMAIN.md 4): a DLT in the window, or the
window completed on treatment with enough doses. So the course that decides it (early withdrawal,
stopping for progression before the window ends) is drawn here, per patient, and subjects.py
follows it. Patients who are not evaluable are not counted: BOIN decides on the evaluable
patients at each dose (R BOIN get.oc), and when it says "stay" the next cohort at that dose
replaces them (DOMAIN.md 4: non-evaluable patients are replaced). When a dose reaches the protocol's maximum per dose (or
the engine stops or selects no higher dose), the remaining subjects join an expansion cohort at
the MTD estimate. True DLT probabilities (illustrative, rising with dose) live in
TRUE_DLT_PROBABILITY.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.escalation.command import _design_options
from dashboard.escalation.engine import LevelCounts, evaluate
from safetyboard.protocol import Protocol

# Illustrative true DLT probability per dose level, lowest dose first (DL-1 .. DL4). Not data:
# there are no published data for this combination (DOMAIN.md section 3).
TRUE_DLT_PROBABILITY = (0.05, 0.10, 0.20, 0.32, 0.45)
# Share of DLT-free patients who leave the DLT window early (withdrawal) and are not evaluable.
NOT_EVALUABLE_SHARE = 0.06
MEDIAN_CYCLES = 6.4  # median PFS 4.5 months (Xie et al. 2019) ~ 6.4 cycles of 21 days
WITHDRAW_DAYS = (8, 26)  # withdrawals inside the DLT window: study day 8..25 (half-open range)
COHORT_GAP_DAYS = 4  # days between the last window completing and the next cohort's first dose
STAGGER_DAYS = (0, 2, 5)  # first doses within a cohort


@dataclass(frozen=True)
class Enrolment:
    level: np.ndarray  # dose-level index (0-based, lowest dose first) per subject
    start_day: np.ndarray  # day of C1D1 relative to the first patient
    dlt: np.ndarray  # bool: the subject has a DLT in the window
    evaluable: np.ndarray  # bool: DLT, or window completed with enough doses (protocol [dlt.evaluable])
    cohort: np.ndarray  # cohort number (1-based, trial-wide)
    expansion: np.ndarray  # bool
    decisions: tuple[tuple[int, str, int | None], ...]  # (cohort, decision, next level) in order
    cycles: np.ndarray  # planned number of cycles (until progression), at least 1
    withdraw_day: np.ndarray  # study day of a withdrawal inside the DLT window (0: none)


def _course(m: int, p_dlt: float, protocol: Protocol, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """DLT, withdrawal day, planned cycles and DLT-evaluability of m patients at one dose.

    Evaluable (protocol [dlt.evaluable], DOMAIN.md 4; as etl/derive/adsl.py derives DLTEVLFL): a DLT in
    the window, else the whole window on treatment. A DLT-free patient who withdraws inside the window,
    or stops for progression after fewer cycles than the window spans (DS before its last day), is not
    evaluable. Dosing inside the window is kept at >= min_share_apatinib and >= min_infusions_irinotecan
    for the others (visits.py and adverse_events.py hold at most what that rule allows)."""
    dlt = rng.random(m) < p_dlt
    withdraw = ~dlt & (rng.random(m) < NOT_EVALUABLE_SHARE)
    withdraw_day = np.where(withdraw, rng.integers(*WITHDRAW_DAYS, m), 0)
    p = 1 - 0.5 ** (1 / MEDIAN_CYCLES)
    cycles = rng.geometric(p, m).clip(1, int(protocol.max_cycles_expected))
    # the window ends on day window_days; a course of k cycles ends on day k * cycle_length (or later,
    # with delays): complete when k * cycle_length >= window_days
    window_cycles = -(-protocol.dlt_window_days // protocol.cycle_length_days)
    evaluable = dlt | (~withdraw & (cycles >= window_cycles))
    return dlt, withdraw_day, cycles, evaluable


def simulate_enrolment(n: int, protocol: Protocol, rng: np.random.Generator) -> Enrolment:
    esc = protocol.escalation
    size = int(esc["cohort_size"])  # protocol [escalation] (validated)
    # the same design options as `safetyboard escalation` and the dashboard (protocol [escalation], no code
    # defaults), so that the demo's history follows the decisions the dashboard shows
    options = _design_options(protocol, protocol.design.lower(), protocol.target)
    max_per = options.get("max_per_dose")
    n_levels = len(protocol.dose_levels)
    probs = np.resize(np.array(TRUE_DLT_PROBABILITY), n_levels)
    current = [d.code.upper() for d in protocol.dose_levels].index(str(esc["start_level"]).upper())
    treated = np.zeros(n_levels, int)
    evaluable = np.zeros(n_levels, int)
    dlts = np.zeros(n_levels, int)
    level: list[int] = []
    start: list[int] = []
    dlt: list[bool] = []
    evl: list[bool] = []
    cohort: list[int] = []
    expansion: list[bool] = []
    decisions: list[tuple[int, str, int | None]] = []
    cyc: list[int] = []
    wday: list[int] = []
    day = 0
    k = 0
    mtd: int | None = None
    window = protocol.dlt_window_days
    while len(level) < n:
        k += 1
        m = min(size, n - len(level))
        d, w, c, e = _course(m, float(probs[current]), protocol, rng)
        cyc += [int(x) for x in c]
        wday += [int(x) for x in w]
        for i in range(m):
            level.append(current)
            start.append(day + STAGGER_DAYS[i % len(STAGGER_DAYS)])
            dlt.append(bool(d[i]))
            evl.append(bool(e[i]))
            cohort.append(k)
            expansion.append(False)
        treated[current] += m
        evaluable[current] += int(e.sum())
        dlts[current] += int((d & e).sum())
        day += STAGGER_DAYS[-1] + window + COHORT_GAP_DAYS
        counts = [
            LevelCounts(protocol.dose_levels[j].code, int(treated[j]), int(evaluable[j]), int(dlts[j]))
            for j in range(n_levels)
        ]
        result = evaluate(counts, current, protocol.design, protocol.target, **options)
        decisions.append((k, result.decision, result.next_level))
        full = max_per is not None and treated[result.next_level] >= max_per if result.next_level is not None else False
        if result.decision == "stop" or result.next_level is None or full:
            mtd = result.mtd
            break
        current = result.next_level
    remaining = n - len(level)
    if remaining > 0 and mtd is not None:
        k += 1
        # expansion: the remaining subjects over about six months (faster at program scale)
        span = max(180, remaining // 50)
        offsets = np.sort(rng.integers(0, span, remaining))
        d, w, c, e = _course(remaining, float(probs[mtd]), protocol, rng)
        cyc += [int(x) for x in c]
        wday += [int(x) for x in w]
        level += [mtd] * remaining
        start += [int(day + o) for o in offsets]
        dlt += [bool(x) for x in d]
        evl += [bool(x) for x in e]
        cohort += [int(k + i // size) for i in range(remaining)]
        expansion += [True] * remaining
    return Enrolment(
        level=np.array(level, int), start_day=np.array(start, int), dlt=np.array(dlt, bool),
        evaluable=np.array(evl, bool), cohort=np.array(cohort, int), expansion=np.array(expansion, bool),
        decisions=tuple(decisions), cycles=np.array(cyc, int), withdraw_day=np.array(wday, int),
    )
