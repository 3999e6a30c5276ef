"""A sponsor's other visit names (DESIGN.md input contract: "a sponsor with other visit names maps them in the
protocol config"): [schedule.visits] name_patterns, read by the one visit-name parser that cycles and ADSV use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
from derive_sample_trial import Subject
from test_derive_visits_cycles import at, derive_with, infusions

from etl.derive.cycles import visit_cycle_day
from safetyboard.protocol import Protocol


def parsed(names: list[str | None], patterns: tuple[str, ...]) -> list[tuple[int | None, int | None]]:
    cycle, day = visit_cycle_day(pl.col("VISIT"), patterns)
    return pl.DataFrame({"VISIT": names}, schema={"VISIT": pl.String}).select(cycle, day).rows()


def test_visit_names_read_by_the_protocol_patterns(protocol: Protocol) -> None:
    names = ["C1D8", "c01d08", "Cycle 1 Day 8", "CYCLE 2 DAY 15", "cycle12day1", "SCREENING", "Week 1", None]
    assert parsed(names, protocol.visit_name_patterns) == [
        (1, 8), (1, 8), (1, 8), (2, 15), (12, 1), (None, None), (None, None), (None, None)]
    # C<n>D<d> is the contract and always counts; the other spelling only by the protocol's pattern
    assert parsed(["C1D8", "Cycle 1 Day 8"], ()) == [(1, 8), (None, None)]
    assert parsed(["D8 C2"], (r"^D(?P<day>\d+)C(?P<cycle>\d+)$",)) == [(2, 8)]


def test_a_sponsor_spelling_keeps_the_schedule(tmp_path: Path, protocol: Protocol) -> None:
    # SV and EX visits named 'Cycle n Day d': scheduled visits on time, nothing missing, cycles from the infusions
    named = infusions(2)
    subject = Subject("SPELLED", apatinib=[(0, 41, 250.0)], infusions=named, visits=[(n, o) for o, _d, n in named])
    spelled = {n: n.replace("C", "Cycle ").replace("D", " Day ") for _o, _d, n in named}
    # VISIT is the last column of ex.csv, the one before SVSTDTC in sv.csv
    patches = {"ex.csv": {f",{n}\n": f",{v}\n" for n, v in spelled.items()},
               "sv.csv": {f",{n},": f",{v}," for n, v in spelled.items()}}
    adam = derive_with(tmp_path, [subject], protocol, cut_offset=60, patches=patches)
    adsv = adam["adsv"].filter(pl.col("USUBJID") == "SPELLED").sort("PLANDT")
    assert adsv["VISITTYP"].to_list() == ["SCHEDULED"] * 6
    assert adsv.select("AVISITCY", "AVISITDY", "DEV").rows() == [(1, 1, 0), (1, 8, 0), (1, 15, 0), (2, 1, 0), (2, 8, 0), (2, 15, 0)]
    assert adsv["MISSFL"].drop_nulls().to_list() == []
    adcyc = adam["adcyc"].filter(pl.col("USUBJID") == "SPELLED").sort("CYCLE")
    assert adcyc.select("CYCLE", "D1DT", "CYCLSRC").rows() == [(1, at(0), "INFUSION"), (2, at(21), "INFUSION")]
    # without the pattern the same visits are OTHER: the schedule cannot be followed, and nothing is expected
    bare = derive_with(tmp_path / "bare", [subject], dataclasses.replace(protocol, visit_name_patterns=()), cut_offset=60,
                       patches=patches)
    assert set(bare["adsv"].filter(pl.col("USUBJID") == "SPELLED")["VISITTYP"].to_list()) == {"OTHER"}
