"""The demo's escalation history follows BOIN on the patients the protocol counts as DLT-evaluable.

The generator decides each cohort's dose from the DLT outcomes known when it starts; the patients it
counts must be those adam.adsl flags DLTEVLFL = 'Y' once the export is loaded (protocol [dlt.evaluable],
DOMAIN.md 4): a DLT in the window, or the window completed with enough doses. A patient who stops for
progression after one cycle, or withdraws, inside the window is not evaluable."""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from dashboard.escalation.command import _design_options
from dashboard.escalation.engine import LevelCounts, evaluate
from etl.demo.cohorts import simulate_enrolment
from etl.demo.generate import write_demo_export
from etl.loader import load_export
from safetyboard.protocol import Protocol

SUBJECTS = 56


def _adsl(tmp_path: Path, protocol: Protocol, seed: int) -> pl.DataFrame:
    out = tmp_path / "demo"
    write_demo_export(out, subjects=SUBJECTS, seed=seed, protocol=protocol)
    db = tmp_path / "cut.duckdb"
    load_export(out, db, protocol, run_checks=False)
    with duckdb.connect(str(db), read_only=True) as con:
        adsl = con.sql("SELECT USUBJID, DOSELVLC, DLTEVLFL, DLTFL, DLTWCFL FROM adam.adsl").pl()
    # the subject's index in the enrolment: SUBJID 00001 is the first enrolled
    return adsl.with_columns((pl.col("USUBJID").str.split("-").list.last().cast(pl.Int64) - 1).alias("I")).sort("I")


@pytest.mark.parametrize("seed", [20260305, 4])
def test_cohort_doses_follow_boin_on_the_evaluable_patients_adsl_counts(tmp_path: Path, protocol: Protocol, seed: int) -> None:
    adsl = _adsl(tmp_path, protocol, seed)
    en = simulate_enrolment(SUBJECTS, protocol, np.random.default_rng(seed))  # the generator's own first draw
    assert adsl.height == SUBJECTS and adsl["I"].to_list() == list(range(SUBJECTS))
    codes = protocol.dose_codes
    assert adsl["DOSELVLC"].to_list() == [codes[j] for j in en.level]
    # the evaluability the escalation used is the protocol's, wherever the window is over at the cut
    over = adsl.filter(pl.col("DLTWCFL") == "Y")
    idx = over["I"].to_numpy()
    assert (over["DLTEVLFL"] == "Y").to_list() == en.evaluable[idx].tolist()
    assert (over["DLTFL"] == "Y").to_list() == en.dlt[idx].tolist()
    # and every escalation cohort's dose is the engine's decision on the ADSL counts of the cohorts before it
    flags = dict(zip(adsl["I"], zip(adsl["DLTEVLFL"], adsl["DLTFL"], strict=True), strict=True))
    options = _design_options(protocol, protocol.design, protocol.target)
    esc = ~en.expansion
    cohorts = sorted(set(en.cohort[esc].tolist()))
    assert len(cohorts) > 5
    for prev, nxt in itertools.pairwise(cohorts):
        before = [i for i in range(SUBJECTS) if esc[i] and en.cohort[i] <= prev]
        counts = [LevelCounts(code, sum(en.level[i] == j for i in before),
                              sum(en.level[i] == j and flags[i][0] == "Y" for i in before),
                              sum(en.level[i] == j and flags[i] == ("Y", "Y") for i in before)) for j, code in enumerate(codes)]
        current = int(en.level[en.cohort == prev][0])
        result = evaluate(counts, current, protocol.design, protocol.target, **options)
        assert int(en.level[en.cohort == nxt][0]) == result.next_level, (prev, result.reason)


def test_patients_who_stop_for_progression_inside_the_window_are_not_evaluable(protocol: Protocol) -> None:
    """About 10% stop after one cycle (DS PROGRESSIVE DISEASE on day 21): not DLT-evaluable unless they had a DLT."""
    en = simulate_enrolment(2000, protocol, np.random.default_rng(12))
    window_cycles = -(-protocol.dlt_window_days // protocol.cycle_length_days)
    short = (en.cycles < window_cycles) & ~en.dlt
    assert short.sum() > 50
    assert not en.evaluable[short].any()
    assert not en.evaluable[(en.withdraw_day > 0) & ~en.dlt].any()
    assert en.evaluable[en.dlt].all()
