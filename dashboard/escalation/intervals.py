"""Exact (Clopper-Pearson) binomial confidence interval for a DLT rate."""

from __future__ import annotations

import math


def clopper_pearson(y: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Two-sided exact 100(1-alpha)% interval for y events in n (Clopper & Pearson 1934).

    lower = Beta(alpha/2; y, n-y+1) quantile (0 when y = 0), upper = Beta(1-alpha/2; y+1, n-y)
    quantile (1 when y = n). n = 0 gives (nan, nan): no patients, no information, and a
    dashboard must show a blank rather than a misleading (0, 1).
    """
    if n < 0 or y < 0 or y > n:
        raise ValueError(f"clopper_pearson: need 0 <= y <= n, got y={y}, n={n}")
    if not 0 < alpha < 1:
        raise ValueError(f"clopper_pearson: alpha must be in (0, 1), got {alpha}")
    if n == 0:
        return (math.nan, math.nan)
    from scipy.special import betaincinv  # lazy: keeps `safetyboard escalation --help` fast

    low = 0.0 if y == 0 else float(betaincinv(y, n - y + 1, alpha / 2))
    high = 1.0 if y == n else float(betaincinv(y + 1, n - y, 1 - alpha / 2))
    return (low, high)
