"""AE grades rise with dose, not only their incidence (DOMAIN.md 3: probabilities raised with dose level)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from etl.demo.adverse_events import generate_aes
from etl.demo.cohorts import Enrolment
from etl.demo.subjects import build_cycles, build_subjects, treatment_end
from etl.demo.visits import generate_visits
from safetyboard.protocol import Protocol

PER_LEVEL = 800
CUT = dt.date(2030, 1, 1)


def _aes(protocol: Protocol, levels: list[int]) -> pl.DataFrame:
    """The AEs of PER_LEVEL patients at each level, each on 8 cycles (no DLT, nobody withdrawn)."""
    n = PER_LEVEL * len(levels)
    en = Enrolment(level=np.repeat(levels, PER_LEVEL), start_day=np.zeros(n, int), dlt=np.zeros(n, bool),
                   evaluable=np.ones(n, bool), cohort=np.arange(n) // 3 + 1, expansion=np.zeros(n, bool), decisions=(),
                   cycles=np.full(n, 8), withdraw_day=np.zeros(n, int))
    rng = np.random.default_rng(5)
    subjects = build_subjects(en, protocol, rng, dt.date(2029, 1, 1), CUT)
    cycles = build_cycles(subjects, protocol, rng, CUT)
    subjects = treatment_end(subjects, cycles, protocol, CUT)
    visits = generate_visits(subjects, cycles, protocol, rng, CUT)
    return generate_aes(subjects, cycles, visits, protocol, rng).join(subjects.select("USUBJID", "LEVEL", "C1D1"), on="USUBJID")


def test_share_of_grade_3_or_more_rises_with_dose(protocol: Protocol) -> None:
    codes = protocol.dose_codes
    levels = [codes.index(c) for c in ("DL1", "DL2", "DL3", "DL4")]
    aes = _aes(protocol, levels)
    # outside the DLT window, where no grade cap applies (DLT-free patients' in-window grades are capped)
    out = aes.filter((pl.col("START") - pl.col("C1D1")).dt.total_days() >= protocol.dlt_window_days)
    for key in ("HTN", "HFSR", "NEUT"):
        share = out.filter(pl.col("KEY") == key).group_by("LEVEL").agg((pl.col("GRADE") >= 3).mean().alias("S"), pl.len()).sort("LEVEL")
        s = share["S"].to_list()
        assert share["LEVEL"].to_list() == levels and share["len"].min() > 300, key
        assert s == sorted(s) and s[-1] - s[0] > 0.1, (key, s)  # e.g. hypertension 0.10 at DL1 -> 0.25 at DL4


def test_hypertension_incidence_rises_with_dose(protocol: Protocol) -> None:
    codes = protocol.dose_codes
    levels = [codes.index(c) for c in ("DL1", "DL4")]
    aes = _aes(protocol, levels)
    patients = aes.filter(pl.col("KEY") == "HTN").group_by("LEVEL").agg(pl.col("USUBJID").n_unique().alias("N")).sort("LEVEL")
    low, high = (n / PER_LEVEL for n in patients["N"].to_list())
    assert high > low + 0.1, (low, high)
