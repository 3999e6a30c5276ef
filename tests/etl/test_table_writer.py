"""etl/table_writer.py: buffered inserts into a real DuckDB file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.table_writer import TableWriter


@pytest.fixture()
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with contextlib.closing(duckdb.connect(str(tmp_path / "cut.duckdb"))) as c:
        yield c


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()


def test_frames_are_buffered_until_the_threshold_or_a_flush(con: duckdb.DuckDBPyConnection) -> None:
    writer = TableWriter(con, flush_rows=5)
    writer.append("raw", "lb", pl.DataFrame({"ID": [1, 2], "V": ["a", "b"]}))
    writer.append("raw", "lb", pl.DataFrame({"ID": [3, 4], "V": ["c", "d"]}))
    assert _tables(con) == []  # 4 rows wait below the threshold of 5
    writer.append("raw", "lb", pl.DataFrame({"ID": [5], "V": ["e"]}))  # reaches 5: inserted
    assert con.execute('SELECT count(*) FROM raw."lb"').fetchall() == [(5,)]
    writer.append("raw", "lb", pl.DataFrame({"ID": [6], "V": ["f"]}))
    writer.flush("raw", "lb")
    assert con.execute('SELECT ID, V FROM raw."lb" ORDER BY ID').fetchall() == list(zip(range(1, 7), "abcdef", strict=True))


def test_a_later_frame_may_bring_new_columns(con: duckdb.DuckDBPyConnection) -> None:
    writer = TableWriter(con, flush_rows=1)
    writer.append("raw", "ae", pl.DataFrame({"ID": [1]}))
    writer.append("raw", "ae", pl.DataFrame({"ID": [2], "GRADE": [3]}))
    writer.flush_all()
    assert con.execute('SELECT ID, GRADE FROM raw."ae" ORDER BY ID').fetchall() == [(1, None), (2, 3)]


def test_frames_of_one_flush_are_unioned_by_name(con: duckdb.DuckDBPyConnection) -> None:
    writer = TableWriter(con, flush_rows=100)
    writer.append("raw", "vs", pl.DataFrame({"ID": [1], "V": [None]}))  # an all-null column first
    writer.append("raw", "vs", pl.DataFrame({"V": [120.5], "ID": [2]}))
    writer.flush("raw", "vs")
    assert con.execute('SELECT ID, V FROM raw."vs" ORDER BY ID').fetchall() == [(1, None), (2, 120.5)]
