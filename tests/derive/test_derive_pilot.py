"""The real CDISC pilot (read in place) derives without exceptions; every ungraded lab row says why."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl.derive import build_adam
from etl.derive.lab_grades import lab_criteria
from etl.loader import data_cut_date, read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol


@pytest.fixture(scope="module")
def pilot_raw(pilot_dir: Path) -> dict[str, pl.DataFrame]:
    return read_export(pilot_dir, ColumnMapping())[1]


@pytest.fixture(scope="module")
def pilot_adam(pilot_raw: dict[str, pl.DataFrame], protocol: Protocol) -> dict[str, pl.DataFrame]:
    return build_adam(pilot_raw, protocol, cut_date=data_cut_date(pilot_raw))


def test_pilot_derives_every_table(pilot_raw: dict[str, pl.DataFrame], pilot_adam: dict[str, pl.DataFrame]) -> None:
    assert set(pilot_adam) == {"adsl", "adae", "adlb", "advs", "adex", "adsv", "adcyc"}
    adsl = pilot_adam["adsl"]
    assert adsl.height == 306 and adsl["USUBJID"].n_unique() == 306
    # the pilot's arms are not this protocol's dose levels: each subject says so instead of guessing
    assert adsl["DOSELVLC"].is_null().all() and adsl["DOSELVLRSN"].is_not_null().all()
    # one analysis row per raw row: nothing dropped on the way
    for raw_name, adam_name in (("ae", "adae"), ("lb", "adlb"), ("vs", "advs")):
        assert pilot_adam[adam_name].height == pilot_raw[raw_name].height, adam_name
    sbp = pilot_adam["advs"].filter(pl.col("PARAMCD") == "SYSBP")
    assert sbp.height > 0 and (sbp["BPCAT"].is_null() == sbp["AVAL"].is_null()).all()
    assert pilot_adam["adae"]["AETOXGRN"].is_not_null().any() or "AETOXGR" not in pilot_raw["ae"].columns


def test_pilot_every_ungraded_lab_row_has_a_reason(pilot_adam: dict[str, pl.DataFrame]) -> None:
    adlb = pilot_adam["adlb"]
    criteria = lab_criteria()
    low = set(criteria.filter(pl.col("direction") == "L")["paramcd"])
    high = set(criteria.filter(pl.col("direction") == "H")["paramcd"])
    ungraded = (
        (pl.col("PARAMCD").is_in(list(low)) & pl.col("ATOXGRL").is_null())
        | (pl.col("PARAMCD").is_in(list(high)) & pl.col("ATOXGRH").is_null())
        | ~pl.col("PARAMCD").is_in(list(low | high))
    )
    missing_reason = adlb.filter(ungraded & pl.col("GRADE_REASON").is_null())
    assert missing_reason.height == 0, missing_reason.head(5)
    with_criterion = adlb.filter(pl.col("PARAMCD").is_in(list(low | high)))
    gradable = with_criterion.filter(~ungraded)
    share = gradable.height / with_criterion.height
    reasons = with_criterion.filter(ungraded).group_by("GRADE_REASON").len().sort("len", descending=True)
    print(f"\npilot ADLB: {gradable.height}/{with_criterion.height} rows with a CTCAE criterion are gradable ({share:.2%})")
    print(reasons)
    assert with_criterion.height > 10_000
    assert share > 0.5
