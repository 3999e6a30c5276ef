"""Disposition (DS) and tumour response (RS) agree: a patient who stopped for progression has PD as the last
response, and nobody is dosed after an RS PD (RECIST 1.1, DOMAIN.md 5)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl.demo.generate import write_demo_export
from safetyboard.protocol import Protocol


@pytest.mark.parametrize("seed", [20260305, 2, 4])
def test_progression_ends_treatment_and_is_the_last_response(tmp_path: Path, protocol: Protocol, seed: int) -> None:
    write_demo_export(tmp_path, subjects=56, seed=seed, protocol=protocol)
    ds = pl.read_csv(tmp_path / "ds.csv", infer_schema=False)
    rs = pl.read_csv(tmp_path / "rs.csv", infer_schema=False).with_columns(pl.col("RSDTC").str.to_date().alias("D"))
    ex = pl.read_csv(tmp_path / "ex.csv", infer_schema=False).with_columns(pl.col("EXSTDTC").str.to_date().alias("D"))
    pd_ = ds.filter(pl.col("DSDECOD") == "PROGRESSIVE DISEASE").select("USUBJID", pl.col("DSSTDTC").str.to_date().alias("DSDT"))
    assert pd_.height > 10
    last = rs.sort("D").group_by("USUBJID").agg(pl.col("RSSTRESC").last().alias("LAST"), pl.col("D").last().alias("LASTDT"))
    x = pd_.join(last, on="USUBJID", how="left")
    assert x.filter((pl.col("LAST") != "PD") | pl.col("LAST").is_null()).to_dicts() == []
    assert (x["LASTDT"] == x["DSDT"]).all()  # the scan that showed it, on the day treatment ended
    first_pd = rs.filter(pl.col("RSSTRESC") == "PD").group_by("USUBJID").agg(pl.col("D").min().alias("PDDT"))
    assert set(first_pd["USUBJID"]) == set(pd_["USUBJID"])  # PD only where it ended treatment
    assert ex.join(first_pd, on="USUBJID").filter(pl.col("D") > pl.col("PDDT")).to_dicts() == []
