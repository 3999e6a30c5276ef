"""SAS XPT, XLSX and Parquet files whose values the loader lost, changed or crashed on. Real files in tmp_path."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from etl_sample_export import BASE_TABLES, LB, csv_text
from etl_sample_export import load_checked as load
from etl_sample_export import read_table as table

from safetyboard.protocol import Protocol


def export_without(tmp_path: Path, domain: str) -> Path:
    """The sample export as CSV without `domain`'s file (the test writes it in another format)."""
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for d, rows in BASE_TABLES.items():
        if d != domain:
            (folder / f"{d}.csv").write_text(csv_text(rows), encoding="utf-8")
    return folder


def lb_frame(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(LB).with_columns(pl.Series(name, values) for name, values in columns.items())


@pytest.mark.parametrize("suffix", [".xpt", ".parquet"])
def test_numbers_beyond_int64_and_infinities_are_not_nulled(tmp_path: Path, protocol: Protocol, suffix: str) -> None:
    # a whole float was printed through Int64: 1e20 and inf did not fit and became NULL, silently (the
    # row loaded without its result)
    lb = lb_frame(LBSEQ=[1.0, 2.0, 1.0], LBSTRESN=[1e20, float("inf"), 30.0], LBSTNRHI=[7.5, 7.5, -2.0**64])
    folder = export_without(tmp_path, "lb")
    if suffix == ".xpt":
        pyreadstat.write_xport(lb.to_pandas(), str(folder / "lb.xpt"), table_name="LB", file_format_version=5)
    else:
        lb.write_parquet(folder / "lb.parquet")
    _, db = load(folder, tmp_path, protocol)
    raw = table(db, "raw.lb").sort("_ROW")
    assert raw["_ROW"].to_list() == [1, 3]
    assert raw["LBSTRESN"].to_list() == [1e20, 30.0]
    assert raw["LBSTNRHI"].to_list() == [7.5, -2.0**64]
    quarantine = table(db, "meta.quarantine")
    assert quarantine.select("row_number", "reason", "detail").rows() == [(2, "non_numeric", "LBSTRESN 'inf' is not a number")]
