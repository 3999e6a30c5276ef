import os
from pathlib import Path

import duckdb
import pytest

from dashboard.connection import CutConnection, MissingCutError


def _cut(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT ? AS v", [value])
    con.close()


def test_connection_follows_an_atomic_swap(tmp_path: Path):
    current = tmp_path / "current.duckdb"
    _cut(current, 1)
    cut = CutConnection(current)
    assert cut.connection().execute("SELECT v FROM t").fetchall() == [(1,)]
    first = cut.identity
    tmp = tmp_path / "current.duckdb.tmp-1"
    _cut(tmp, 2)
    os.replace(tmp, current)  # what the loader does
    assert cut.identity != first
    assert cut.connection().execute("SELECT v FROM t").fetchall() == [(2,)]


def test_connection_is_read_only(tmp_path: Path):
    current = tmp_path / "current.duckdb"
    _cut(current, 1)
    with pytest.raises(duckdb.Error):
        CutConnection(current).connection().execute("INSERT INTO t VALUES (3)")


def test_missing_cut_tells_the_user_to_load(tmp_path: Path):
    with pytest.raises(MissingCutError, match="safetyboard load"):
        CutConnection(tmp_path / "nope.duckdb").connection()
