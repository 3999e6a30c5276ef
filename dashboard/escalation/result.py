"""Data types shared by the escalation designs and the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Decision = Literal["escalate", "stay", "de-escalate", "stop"]


@dataclass(frozen=True)
class LevelCounts:
    """Counts at one dose level. n_dlt counts DLTs among the n_evaluable patients."""

    label: str
    n_treated: int
    n_evaluable: int
    n_dlt: int


@dataclass(frozen=True)
class Step:
    """A design's decision at the current dose: what to do, where to go, and why."""

    decision: Decision
    next_level: int | None
    reason: str


@dataclass(frozen=True)
class LevelResult:
    level: int  # 0-based index, lowest dose first
    label: str
    n_treated: int
    n_evaluable: int
    n_dlt: int
    rate: float | None  # n_dlt / n_evaluable; None when nobody is evaluable
    ci_low: float | None  # exact 95% Clopper-Pearson; None when nobody is evaluable
    ci_high: float | None
    eliminated: bool  # BOIN safety rule (always False for 3+3)
    escalate_max: int | None  # BOIN boundaries at this n (None for 3+3 or n = 0)
    deescalate_min: int | None
    eliminate_min: int | None
    # BOIN: the PAVA estimate over every treated dose, eliminated ones included, as R select.mtd prints it (the MTD
    # itself is chosen on the admissible doses alone); None for 3+3
    isotonic_rate: float | None = None


@dataclass(frozen=True)
class EscalationResult:
    design: str
    target: float
    levels: tuple[LevelResult, ...]
    current: int
    decision: Decision
    next_level: int | None
    mtd: int | None
    reason: str
    lambda_e: float | None = None
    lambda_d: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
