"""Real exports lack optional SDTM variables (pharmaversesdtm's PSA-only LB has no LBSTNRLO/LBSTNRHI): every
check still runs, reading an absent optional variable as empty, and the run lists what was absent."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from checks import runner
from checks.config import load_checks_config
from checks.rules import (
    OPTIONAL_COLUMNS,
    absent_columns,
    build_frames,
    reported_absent,
    table_columns,
    with_absent_columns,
)
from etl.domains import spec_for


@pytest.fixture()
def cut_in_memory(demo_cut_db: Path):
    """The demo cut's tables copied into an in-memory database (so columns can be dropped and rolled back)."""
    con = duckdb.connect()
    # ATTACH takes no query parameter before DuckDB 2.0: the path as an SQL string literal
    con.execute("ATTACH '" + str(demo_cut_db).replace("'", "''") + "' AS src (READ_ONLY)")
    for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'src'").fetchall():
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM src.{schema}.{table}")
    con.execute("DETACH src")
    yield con
    con.close()


def _frames_that_fail(con: duckdb.DuckDBPyConnection, protocol, cut_id: str, naming: str | None = None) -> dict[str, str]:
    """Frames that raise; with `naming`, only the frames whose SQL names that variable (the others cannot
    depend on it: frames built from a table's column list are rebuilt from the current columns)."""
    cfg = load_checks_config()
    tables = table_columns(con)
    absent = absent_columns(tables)
    registered = runner._register_lookups(con, cfg, tables)
    failed = {}
    try:
        for frame in build_frames(protocol, cfg, tables):
            if any(t not in tables for t in frame.requires):
                continue
            if naming and not re.search(rf"\b{naming}\b", frame.sql + " " + (frame.applies or "")):
                continue
            try:
                if runner.frame_applies(con, frame, cut_id, absent):
                    runner.collect_frame(con, frame, cut_id, 10**9, {}, absent)
            except duckdb.Error as exc:
                failed[frame.name] = str(exc).splitlines()[0]
    finally:
        for name in registered:
            con.unregister(name)
    return failed


def test_every_frame_runs_without_each_optional_variable(cut_in_memory, protocol) -> None:
    """Drop each raw.* variable that the load does not require and that some frame's SQL names, one at a time:
    no frame may fail to run. A new frame reading an optional variable not in OPTIONAL_COLUMNS fails here."""
    con = cut_in_memory
    cut_id = con.execute("SELECT cut_id FROM meta.loads ORDER BY loaded_at DESC LIMIT 1").fetchone()[0]
    assert _frames_that_fail(con, protocol, cut_id) == {}
    tables = table_columns(con)
    text = " ".join(f.sql + " " + (f.applies or "") for f in build_frames(protocol, load_checks_config(), tables))
    named = set(re.findall(r"[A-Z][A-Z0-9_]+", text))
    dropped: list[str] = []
    for table, cols in tables.items():
        if not table.startswith("raw."):
            continue
        spec = spec_for(table.split(".")[1])
        # the loader's own columns, and the date it derives from a required date (EXSTDTC -> EXSTDTC_DT, _DTF)
        required = {*spec.required_columns, "_FILE", "_ROW",
                    *(f"{c}{s}" for c in spec.required_columns for s in ("_DT", "_DTF"))}
        for col in cols:
            if col in required or col not in named:
                continue
            con.execute("BEGIN")
            con.execute(f'ALTER TABLE {table} DROP COLUMN "{col}"')
            try:
                failed = _frames_that_fail(con, protocol, cut_id, col)
            finally:
                con.execute("ROLLBACK")
            assert failed == {}, f"without {table}.{col}: {failed}"
            dropped.append(f"{table}.{col}")
    # the variables real exports were seen to lack were among those dropped
    assert {"raw.lb.LBSTNRLO", "raw.lb.LBSTNRHI", "raw.dm.AGE", "raw.dm.DTHDTC", "raw.vs.VISIT"} <= set(dropped)


def test_absent_variables_are_read_as_typed_nulls() -> None:
    tables = {"raw.lb": ["USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN"], "raw.ae": ["USUBJID"]}
    absent = absent_columns(tables)
    assert absent == {"raw.lb": ["LBSTRESU", "LBSTNRLO", "LBSTNRHI"]}
    sql = with_absent_columns("SELECT l.LBSTNRLO FROM raw.lb l JOIN raw.ae a USING (USUBJID)", absent)
    assert sql == ('SELECT l.LBSTNRLO FROM (SELECT *, CAST(NULL AS VARCHAR) AS "LBSTRESU", CAST(NULL AS DOUBLE) '
                   'AS "LBSTNRLO", CAST(NULL AS DOUBLE) AS "LBSTNRHI" FROM raw.lb) l JOIN raw.ae a USING (USUBJID)')
    assert with_absent_columns("SELECT * FROM raw.lbx", absent) == "SELECT * FROM raw.lbx"  # another table
    assert set(OPTIONAL_COLUMNS) == {"raw.dm", "raw.ex", "raw.lb", "raw.vs"}
    # reported as the export's variables: a date the loader derives is named by the variable it comes from
    assert reported_absent({"raw.dm": ["AGE", "DTHDTC", "DTHDTC_DT", "DTHDTC_DTF"], "raw.vs": ["VSDTC_DT"]}) == {
        "raw.dm": ["AGE", "DTHDTC"], "raw.vs": ["VSDTC"]}
