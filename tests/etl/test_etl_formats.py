"""One export written as CSV, SAS XPT, XLSX or Parquet loads into identical raw.* and adam.* tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyreadstat
import pytest

from etl.domains import is_numeric, is_seq
from etl.loader import load_export
from safetyboard.protocol import Protocol


def convert(csv_folder: Path, target: Path, fmt: str) -> Path:
    target.mkdir()
    for path in sorted(csv_folder.glob("*.csv")):
        frame = pl.read_csv(path, infer_schema=False)  # SDTM numeric variables typed as the format holds them
        frame = frame.with_columns(pl.col(c).cast(pl.Float64) for c in frame.columns if is_numeric(c) or is_seq(c))
        out = target / f"{path.stem}.{fmt}"
        if fmt == "xpt":
            pyreadstat.write_xport(frame.to_pandas(), str(out), table_name=path.stem.upper(), file_format_version=5)
        elif fmt == "xlsx":
            frame.write_excel(out)
        else:
            frame.write_parquet(out)
    return target


def all_tables(db: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'adam') ORDER BY 1"
        ).fetchall()
        out = {}
        for (name,) in names:
            frame = con.sql(f"SELECT * FROM {name}").pl()
            frame = frame.drop("_FILE") if "_FILE" in frame.columns else frame
            out[name] = frame.sort(frame.columns, nulls_last=True)
        return out


@pytest.mark.parametrize("fmt", ["xpt", "xlsx", "parquet"])
def test_formats_give_identical_tables(make_export, tmp_path: Path, protocol: Protocol, fmt: str) -> None:
    csv_folder = make_export()
    a = load_export(csv_folder, tmp_path / "a" / "current.duckdb", protocol, run_checks=False)
    b = load_export(convert(csv_folder, tmp_path / fmt, fmt), tmp_path / "b" / "current.duckdb", protocol, run_checks=False)
    assert {k: (v.rows_loaded, v.rows_quarantined) for k, v in a.domains.items()} == {
        k: (v.rows_loaded, v.rows_quarantined) for k, v in b.domains.items()}
    ta, tb = all_tables(a.db), all_tables(b.db)
    assert ta.keys() == tb.keys()
    for name in ta:
        assert ta[name].schema == tb[name].schema, name
        assert ta[name].equals(tb[name], null_equal=True), name
