"""Classic 3+3 design with de-escalation (Chang et al. 2006 variant, as R package bcrm `threep3`;
DOMAIN.md section 1a). Pure functions on counts of evaluable patients (n) and DLTs (y) per dose,
lowest dose first.

Choices where the rule table is silent (documented in the README):
- Escalation goes only into an UNTESTED higher dose. If the dose above already has patients the
  trial came down from it (>= 2 DLT there), so instead the current dose is expanded to 6, and
  with 6 and <= 1 DLT the trial stops with the current dose as MTD.
- At the highest dose, "escalate" means stop with that dose as MTD: after 0/3 on its 3 patients (bcrm threep3
  stops there, and DOMAIN.md 1a: "when no rule applies, the trial stops"; the current dose with <= 1 DLT is
  the MTD), after <= 1/6 on its 6. (Until session 15 it expanded 0/3 to 6 first, a rule of neither source.)
- Incomplete cohorts (n < 3, or 4-5 with <= 1 DLT) -> stay until the cohort is complete.
  Two DLTs decide as soon as they are seen (the cohort cannot undo them).
- More than 6 evaluable patients (e.g. an expansion cohort): the table stops at 6, so the rate
  decides: acceptable if y/n <= 1/6, too toxic if y/n > 1/6 (2/12 is acceptable, 3/12 is not).
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.escalation.result import Step

FULL = 6  # bcrm threep3: a dose is "expanded" to 6 patients


def _ok(n: int, y: int) -> bool:
    """<= 1/6 DLT with at least 6 evaluable (bcrm threep3 MTD criterion)."""
    return n >= FULL and 6 * y <= n


def _toxic(n: int, y: int) -> bool:
    """>= 2 DLT among up to 6 (bcrm threep3); beyond 6 patients, a DLT rate above 1/6."""
    return y >= 2 if n <= FULL else 6 * y > n


def _top_clear(n: Sequence[int], y: Sequence[int], i: int) -> bool:
    """0/3 at the highest dose: bcrm threep3 stops there and names it the MTD (on 3 patients)."""
    return i == len(n) - 1 and n[i] == 3 and y[i] == 0


def select_mtd(n: Sequence[int], y: Sequence[int]) -> int | None:
    """MTD (0-based) = the highest dose with <= 1/6 DLT (>= 6 evaluable), or the highest dose at 0/3 (bcrm
    threep3's stop there), lying below every dose too toxic (>= 2 DLT; DOMAIN.md 1a: 'the current dose if it has
    <= 1 DLT in 6, otherwise the dose below'); None when no dose qualifies (e.g. >= 2 DLT at dose level 1)."""
    toxic = [i for i in range(len(n)) if _toxic(n[i], y[i])]
    ceiling = toxic[0] if toxic else len(n)
    ok = [i for i in range(ceiling) if _ok(n[i], y[i]) or _top_clear(n, y, i)]
    return ok[-1] if ok else None


def decide(n: Sequence[int], y: Sequence[int], current: int, labels: Sequence[str]) -> Step:
    """3+3 decision at the current dose (DOMAIN.md 1a table)."""
    d, nd, yd = current, n[current], y[current]
    at = f"{yd}/{nd} DLT at {labels[d]}"
    if nd == 0:
        return Step("stay", d, f"no DLT-evaluable patients at {labels[d]} yet -> stay at {labels[d]} (3 patients)")
    if _toxic(nd, yd):  # >= 2 DLT among 3-6
        if d == 0:
            return Step("stop", None, f"{at}: {_too_many(nd)} at the lowest dose -> stop the trial, no dose recommended")
        below = labels[d - 1]
        if n[d - 1] < FULL:
            return Step("de-escalate", d - 1,
                        f"{at}: {_too_many(nd)} -> de-escalate to {below} ({n[d - 1]} evaluable there; expand it to 6)")
        return Step("stop", None, f"{at}: {_too_many(nd)} and {below} already has {n[d - 1]} evaluable -> stop")
    if nd < 3:
        return Step("stay", d, f"{at}: cohort of 3 not complete -> complete it at {labels[d]}")
    if nd < FULL:
        if nd == 3 and yd == 0:
            return _escalate(n, y, d, labels, f"{at}: 0/3")
        return Step("stay", d, f"{at}: <= 1 DLT in fewer than 6 -> treat 3 more at {labels[d]} (expand to 6)")
    return _escalate(n, y, d, labels, f"{at}: <= 1/6")  # n >= 6 and not toxic here


def _escalate(n: Sequence[int], y: Sequence[int], d: int, labels: Sequence[str], why: str) -> Step:
    # A dose below the current one can have become too toxic after the trial moved up (a DLT
    # adjudicated late). The table looks at the current dose only, so the step is unchanged, but
    # the MTD cannot lie above a too-toxic dose (select_mtd): say so instead of naming this dose.
    lower = [i for i in range(d) if _toxic(n[i], y[i])]
    note = (f"; note: {labels[lower[0]]} below has {y[lower[0]]}/{n[lower[0]]} DLT ({_too_many(n[lower[0]])}),"
            " so no dose from it upwards can be the MTD") if lower else ""
    mtd_here = f"; {labels[d]} is the MTD" if select_mtd(n, y) == d else ""
    if d == len(n) - 1:  # no higher dose: the trial stops (bcrm threep3), at 0/3 as at <= 1/6
        return Step("stop", None, f"{why} at the highest dose -> stop{mtd_here}{note}")
    if n[d + 1] > 0:  # escalate only into an untested dose (bcrm threep3 / Chang 2006)
        tested = f"{labels[d + 1]} already tested ({y[d + 1]}/{n[d + 1]} DLT)"
        if n[d] < FULL:
            return Step("stay", d, f"{why}; {tested} -> expand {labels[d]} to 6{note}")
        return Step("stop", None, f"{why}; {tested} -> stop{mtd_here}{note}")
    return Step("escalate", d + 1, f"{why} -> escalate to {labels[d + 1]}{note}")


def _too_many(n: int) -> str:
    return ">= 2 DLT" if n <= FULL else "DLT rate > 1/6"
