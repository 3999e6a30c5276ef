"""Semicolon- or tab-delimited CSV as European-locale Excel writes it, with decimal commas ('9,5'): the numbers
are read (they were all quarantined as non_numeric: every lab and vital-sign row of such an export), the load
says so, and a comma-delimited file's '4,1' stays the unusable value it is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from etl.domains import spec_for
from etl.loader import load_export
from etl.normalise import normalise_domain
from etl.readers import iter_batches


def _batch(**columns: list[str | None]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame(columns, schema={k: pl.String for k in columns}).with_columns(
        pl.lit("lb.csv").alias("_FILE"), pl.int_range(1, n + 1, dtype=pl.Int64).alias("_ROW"))


def test_decimal_commas_are_read_and_counted_only_when_asked() -> None:
    batch = _batch(USUBJID=["S-1"] * 6, LBSEQ=["1", "2", "3", "4", "5", "6"], LBTESTCD=["HGB"] * 6,
                   LBORRES=["9,5", "-0,25", "12", "9.5", "1,234,5", "7,"],
                   LBSTRESN=["9,5", "-0,25", "12", "9.5", "1,234,5", "7,"],
                   LBSTNRLO=["12,0", None, "12", "12", "12", "12"], LBDTC=["2026-01-05"] * 6)
    counts: dict[str, int] = {}
    loaded, quarantine = normalise_domain(batch, spec_for("lb"), pl.Series(["S-1"]), counts)
    assert loaded["LBSTRESN"].to_list() == [9.5, -0.25, 12.0, 9.5]
    assert loaded["LBSTNRLO"].to_list() == [12.0, None, 12.0, 12.0]
    assert loaded["LBORRES"].to_list() == ["9,5", "-0,25", "12", "9.5"]  # text as the file writes it
    assert quarantine.select("row_number", "detail").rows() == [
        (5, "LBSTRESN '1,234,5' is not a number"), (6, "LBSTRESN '7,' is not a number")]
    assert counts == {"LBSTRESN": 2, "LBSTNRLO": 1}
    _, strict = normalise_domain(batch, spec_for("lb"), pl.Series(["S-1"]))  # a comma-delimited file
    assert strict.height == 4 and set(strict["reason"]) == {"non_numeric"}


def test_the_reader_reports_the_delimiter_it_reads_with(tmp_path: Path) -> None:
    """The decimal-comma decision uses the reader's own delimiter (BOM, Excel 'sep=' line, sniffed header)."""
    cases = {"a.csv": b"\xef\xbb\xbfUSUBJID;LBSEQ\nS-1;1\n", "b.csv": b"sep=\t\nUSUBJID,LBSEQ\nS-1,1\n",
             "c.csv": b"USUBJID,LBSEQ\nS-1,1\n", "d.csv": b"USUBJID\tAETERM\nS-1\tx\n"}
    found = []
    for name, text in cases.items():
        (tmp_path / name).write_bytes(text)
        dialect: dict[str, str] = {}
        next(iter_batches(tmp_path / name, dialect=dialect))
        found.append(dialect.get("delimiter"))
    assert found == [";", "\t", ",", "\t"]
    pl.DataFrame({"USUBJID": ["S-1"]}).write_parquet(tmp_path / "e.parquet")
    dialect = {}
    next(iter_batches(tmp_path / "e.parquet", dialect=dialect))
    assert dialect == {}  # not CSV: no delimiter, no decimal-comma reading


def test_a_semicolon_export_with_decimal_commas_loads_like_the_comma_export(tmp_path: Path, demo_export_dir: Path,
                                                                            protocol) -> None:
    export = tmp_path / "eu"
    shutil.copytree(demo_export_dir, export)
    for name in ("lb.csv", "vs.csv"):
        frame = pl.read_csv(export / name, infer_schema=False)
        numeric = [c for c in frame.columns if c.endswith(("STRESN", "STNRLO", "STNRHI"))]
        frame.with_columns(pl.col(c).str.replace(r"^(-?\d+)\.(\d+)$", "$1,$2") for c in numeric).write_csv(
            export / name, separator=";")
    eu = load_export(export, tmp_path / "eu.duckdb", protocol, run_checks=False)
    base = load_export(demo_export_dir, tmp_path / "base.duckdb", protocol, run_checks=False)
    assert eu.domains["lb"].rows_loaded >= base.domains["lb"].rows_loaded > 10000
    assert eu.domains["vs"].rows_loaded == base.domains["vs"].rows_loaded
    notes = [n for n in eu.warnings if "decimal comma" in n]
    assert [n.split(" is ")[0] for n in notes] == ["lb.csv", "vs.csv"]
    assert notes[0].startswith("lb.csv is semicolon-delimited and writes ") and "LBSTRESN" in notes[0]
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{tmp_path / 'eu.duckdb'}' AS eu (READ_ONLY)")
        con.execute(f"ATTACH '{tmp_path / 'base.duckdb'}' AS base (READ_ONLY)")
        assert "decimal comma" in con.execute("SELECT notes FROM eu.meta.loads").fetchall()[0][0]
        key = "USUBJID, LBSEQ, LBSTRESN, LBSTNRLO, LBSTNRHI"
        # every value the comma export loaded is loaded alike; the only extra rows are the demo's planted
        # '4,1' results, unusable in a comma-delimited file and a plain decimal comma in a semicolon one
        assert con.execute(f"SELECT count(*) FROM (SELECT {key} FROM base.raw.lb EXCEPT ALL "
                           f"SELECT {key} FROM eu.raw.lb)").fetchall()[0][0] == 0
        extra = con.execute(f"SELECT LBSTRESN FROM (SELECT {key} FROM eu.raw.lb EXCEPT ALL "
                            f"SELECT {key} FROM base.raw.lb)").fetchall()
        planted = con.execute("SELECT count(*) FROM base.meta.quarantine WHERE detail LIKE 'LBSTRESN ''%,%'' is not a number'"
                              ).fetchall()[0][0]
        assert len(extra) == planted
        vs = "USUBJID, VSSEQ, VSSTRESN"
        assert con.execute(f"SELECT count(*) FROM (SELECT {vs} FROM base.raw.vs EXCEPT ALL "
                           f"SELECT {vs} FROM eu.raw.vs)").fetchall()[0][0] == 0


def test_a_point_before_three_digits_beside_decimal_commas_is_counted_for_the_warning() -> None:
    # '1.234' in a file of decimal commas loaded as 1.234 without a word: if the point groups thousands, 1000x off
    from etl.loader import decimal_comma_note

    batch = _batch(USUBJID=["S-1"] * 5, LBSEQ=["1", "2", "3", "4", "5"], LBTESTCD=["PLAT"] * 5,
                   LBORRES=["23,1", "1.234", "0.125", "12.5", " 250.000 "],
                   LBSTRESN=["23,1", "1.234", "0.125", "12.5", " 250.000 "], LBDTC=["2026-01-05"] * 5)
    commas: dict[str, int] = {}
    groups: dict[str, int] = {}
    loaded, _ = normalise_domain(batch, spec_for("lb"), pl.Series(["S-1"]), commas, groups)
    assert loaded["LBSTRESN"].to_list() == [23.1, 1.234, 0.125, 12.5, 250.0]  # read as written; nothing changed
    assert commas == {"LBSTRESN": 1} and groups == {"LBSTRESN": 2}  # not 0.125 (no leading zero groups) nor 12.5
    note = decimal_comma_note("lb.csv", ";", commas, groups)
    assert note.endswith("it also writes 2 numbers like '1.234' (a point before three digits), read as decimals "
                         "(1.234), though beside decimal commas the point may group thousands (1234): check them in "
                         "the file (LBSTRESN 2)")
    assert "1.234" not in decimal_comma_note("lb.csv", ";", commas, {})
