"""adam.advs BP category: which SBP and DBP make one reading, and readings in other units.

DOMAIN.md 2 (hypertension, CTCAE v5): a category is "SBP x-y or DBP x-y", so the category of a reading
is the worse of its SBP and its DBP (BPCATP). Two different readings must not be merged: another visit on
the same day, another time of day, another position (VSPOS) or replicate (VSTPT) is another reading.
Thresholds are in mmHg (protocol [blood_pressure]); a reading in kPa is the same pressure in another unit.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol
from tests.derive.derive_sample_trial import C1D1, Subject, day, write_trial

VS_COLUMNS = ["USUBJID", "VSSEQ", "VSTESTCD", "VSSTRESN", "VSSTRESU", "VSDTC", "VISIT", "VISITNUM", "VSTPT", "VSPOS"]


def _advs(tmp_path: Path, protocol: Protocol, readings: list[dict[str, object]], age: int = 40) -> pl.DataFrame:
    """advs of one subject whose vs.csv holds exactly `readings` (SBP/DBP rows; VSSEQ in order)."""
    folder = write_trial(tmp_path / "export", [Subject("S1", age)])
    rows = [{"USUBJID": "S1", "VSSEQ": i, "VSSTRESU": "mmHg", "VSDTC": day(3), "VISIT": "UNSCHEDULED",
             "VISITNUM": "", "VSTPT": "", "VSPOS": ""} | r for i, r in enumerate(readings, start=1)]
    with (folder / "vs.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=VS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    _files, raw, quarantine, _stats, _rows = read_export(folder, ColumnMapping())
    assert quarantine.height == 0, quarantine.to_dicts()
    return build_adam(raw, protocol, cut_date=C1D1 + dt.timedelta(days=120))["advs"].sort("VSSEQ")


def test_two_visits_on_one_day_are_two_readings(tmp_path: Path, protocol: Protocol) -> None:
    # the CDISC pilot: SCREENING 1 and SCREENING 2 on the same date, 154/80 then 130/68 (adult)
    out = _advs(tmp_path, protocol, [
        {"VSTESTCD": "SYSBP", "VSSTRESN": 154, "VISIT": "SCREENING 1", "VISITNUM": 1},
        {"VSTESTCD": "DIABP", "VSSTRESN": 80, "VISIT": "SCREENING 1", "VISITNUM": 1},
        {"VSTESTCD": "SYSBP", "VSSTRESN": 130, "VISIT": "SCREENING 2", "VISITNUM": 2},
        {"VSTESTCD": "DIABP", "VSSTRESN": 68, "VISIT": "SCREENING 2", "VISITNUM": 2},
    ])
    assert out["BPCAT"].to_list() == [2, 1, 1, 0]
    assert out["BPCATP"].to_list() == [2, 2, 1, 1]


def test_times_positions_and_replicates_are_separate_readings(tmp_path: Path, protocol: Protocol) -> None:
    out = _advs(tmp_path, protocol, [
        # same day, before and after the infusion
        {"VSTESTCD": "SYSBP", "VSSTRESN": 150, "VSDTC": day(3) + "T08:00"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 70, "VSDTC": day(3) + "T08:00"},
        {"VSTESTCD": "SYSBP", "VSSTRESN": 118, "VSDTC": day(3) + "T14:00"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 78, "VSDTC": day(3) + "T14:00"},
        # same day, two positions
        {"VSTESTCD": "SYSBP", "VSSTRESN": 165, "VSDTC": day(4), "VSPOS": "SUPINE"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 80, "VSDTC": day(4), "VSPOS": "SUPINE"},
        {"VSTESTCD": "SYSBP", "VSSTRESN": 118, "VSDTC": day(4), "VSPOS": "STANDING"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 76, "VSDTC": day(4), "VSPOS": "STANDING"},
        # three replicates at one visit
        {"VSTESTCD": "SYSBP", "VSSTRESN": 118, "VSDTC": day(5), "VSTPT": "READING 1"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 78, "VSDTC": day(5), "VSTPT": "READING 1"},
        {"VSTESTCD": "SYSBP", "VSSTRESN": 145, "VSDTC": day(5), "VSTPT": "READING 2"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 85, "VSDTC": day(5), "VSTPT": "READING 2"},
        {"VSTESTCD": "SYSBP", "VSSTRESN": 122, "VSDTC": day(5), "VSTPT": "READING 3"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 101, "VSDTC": day(5), "VSTPT": "READING 3"},
    ])
    assert out["BPCATP"].to_list() == [2, 2, 0, 0, 3, 3, 0, 0, 0, 0, 2, 2, 3, 3]


def test_worse_of_sbp_and_dbp_and_a_lone_value(tmp_path: Path, protocol: Protocol) -> None:
    out = _advs(tmp_path, protocol, [
        {"VSTESTCD": "SYSBP", "VSSTRESN": 125, "VSDTC": day(3)},  # SBP category 1 ...
        {"VSTESTCD": "DIABP", "VSSTRESN": 100, "VSDTC": day(3)},  # ... DBP category 3: the worse wins
        {"VSTESTCD": "SYSBP", "VSSTRESN": 150, "VSDTC": day(4)},  # SBP alone at this time point
        {"VSTESTCD": "DIABP", "VSSTRESN": 95, "VSDTC": day(5)},   # DBP alone
    ])
    assert out["BPCATP"].to_list() == [3, 3, 2, 2]


def test_kpa_is_converted_to_mmhg(tmp_path: Path, protocol: Protocol) -> None:
    # 1 mmHg = 133.322 Pa: 20 kPa = 150.0 mmHg, 12 kPa = 90.0 mmHg (category 2, not 0)
    out = _advs(tmp_path, protocol, [
        {"VSTESTCD": "SYSBP", "VSSTRESN": 20, "VSSTRESU": "kPa"},
        {"VSTESTCD": "DIABP", "VSSTRESN": 12, "VSSTRESU": "kPa"},
    ])
    assert out["AVAL"].round(1).to_list() == [150.0, 90.0]
    assert out["AVALU"].to_list() == ["mmHg", "mmHg"]
    assert out["BPCAT"].to_list() == [2, 2] and out["BPCATP"].to_list() == [2, 2]
    assert all("kPa" in r for r in out["BPCATRSN"].to_list())


@pytest.mark.parametrize("unit", ["mmHg", "mm Hg", "MMHG", "mm[Hg]"])
def test_mmhg_spellings_are_mmhg(tmp_path: Path, protocol: Protocol, unit: str) -> None:
    out = _advs(tmp_path, protocol, [{"VSTESTCD": "SYSBP", "VSSTRESN": 160, "VSSTRESU": unit}])
    assert out["BPCAT"].to_list() == [3] and out["AVAL"].to_list() == [160.0]


def test_unknown_unit_is_not_categorised_and_missing_unit_is_taken_as_mmhg(tmp_path: Path, protocol: Protocol) -> None:
    out = _advs(tmp_path, protocol, [
        {"VSTESTCD": "SYSBP", "VSSTRESN": 15, "VSSTRESU": "cmHg", "VSDTC": day(3)},
        {"VSTESTCD": "SYSBP", "VSSTRESN": 150, "VSSTRESU": "", "VSDTC": day(4)},
    ])
    assert out["BPCAT"].to_list() == [None, 2]
    assert out["AVAL"].to_list() == [15.0, 150.0]  # an unknown unit keeps its value, never converted by guess
    reasons = out["BPCATRSN"].to_list()
    assert "cmHg" in reasons[0] and "not" in reasons[0]
    assert "unit missing" in reasons[1]
