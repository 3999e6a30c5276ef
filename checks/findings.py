"""The findings store (meta.findings, meta.check_runs) and the history between cuts.

A finding's identity is (check_id, domain, usubjid, record_key). Against the previous cut (the latest
other cut in meta.loads): a finding is `new` or `persisting`; a finding of the previous cut that is
gone is written again under the new cut with status `resolved`.
"""

from __future__ import annotations

import duckdb
import polars as pl

IDENTITY = ["check_id", "domain", "usubjid", "record_key"]
FINDINGS_SCHEMA = {
    "cut_id": pl.String, "check_id": pl.String, "severity": pl.String, "domain": pl.String, "usubjid": pl.String,
    "record_key": pl.String, "message": pl.String, "status": pl.String, "site": pl.String,
    "first_cut_id": pl.String, "file": pl.String, "row_number": pl.Int64,
}
_SQL_TYPES = {pl.String: "VARCHAR", pl.Int64: "BIGINT"}


def with_history(current: pl.DataFrame, previous: pl.DataFrame, cut_id: str) -> pl.DataFrame:
    """Statuses of `current` (this run) against `previous` (the previous cut's open findings).

    Both frames have the IDENTITY columns; `previous` may carry first_cut_id. Returns current rows
    with status new/persisting and first_cut_id, plus previous rows absent now with status resolved.
    """
    prev = previous.select(
        *IDENTITY,
        pl.coalesce(pl.col("first_cut_id") if "first_cut_id" in previous.columns else pl.lit(None, pl.String),
                    pl.col("cut_id") if "cut_id" in previous.columns else pl.lit(None, pl.String)).alias("_first"),
    ).unique(IDENTITY, keep="first")
    cur = current.join(prev, on=IDENTITY, how="left", nulls_equal=True).with_columns(
        pl.when(pl.col("_first").is_null()).then(pl.lit("new")).otherwise(pl.lit("persisting")).alias("status"),
        pl.coalesce("_first", pl.lit(cut_id)).alias("first_cut_id"),
    ).drop("_first")
    gone = previous.join(current.select(IDENTITY), on=IDENTITY, how="anti", nulls_equal=True).unique(IDENTITY, keep="first")
    resolved = gone.with_columns(
        pl.lit("resolved").alias("status"),
        pl.coalesce(pl.col("first_cut_id") if "first_cut_id" in gone.columns else pl.lit(None, pl.String),
                    pl.col("cut_id") if "cut_id" in gone.columns else pl.lit(None, pl.String)).alias("first_cut_id"),
    )
    cols = [c for c in FINDINGS_SCHEMA if c != "cut_id"]
    frames = [f.with_columns([pl.lit(None, FINDINGS_SCHEMA[c]).alias(c) for c in cols if c not in f.columns]).select(cols)
              for f in (cur, resolved)]
    return pl.concat([f.cast({c: FINDINGS_SCHEMA[c] for c in cols}) for f in frames]).with_columns(
        pl.lit(cut_id).alias("cut_id")).select(list(FINDINGS_SCHEMA))


def previous_cut_id(con: duckdb.DuckDBPyConnection, cut_id: str) -> str | None:
    """The latest cut in meta.loads other than `cut_id` (by load time), or None."""
    if not _has_table(con, "meta", "loads"):
        return None
    row = con.execute(
        "SELECT cut_id FROM meta.loads WHERE cut_id <> ? AND coalesce(status, 'ok') = 'ok' "
        "ORDER BY loaded_at DESC LIMIT 1", [cut_id]).fetchall()
    return row[0][0] if row else None


def previous_open_findings(con: duckdb.DuckDBPyConnection, prev_cut: str | None) -> pl.DataFrame:
    """The previous cut's findings that were still open (new or persisting)."""
    empty = pl.DataFrame(schema=FINDINGS_SCHEMA)
    if prev_cut is None or not _has_table(con, "meta", "findings"):
        return empty
    frame = con.sql("SELECT * FROM meta.findings WHERE cut_id = $c AND status <> 'resolved'", params={"c": prev_cut}).pl()
    return frame


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, table]).fetchall()[0][0] > 0


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create meta.findings / meta.check_runs, or add columns an older file lacks."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    cols = ", ".join(f'"{c}" {_SQL_TYPES[t]}' for c, t in FINDINGS_SCHEMA.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS meta.findings ({cols})")
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'meta' AND table_name = 'findings'"
    ).fetchall()}
    for c, t in FINDINGS_SCHEMA.items():
        if c not in have:
            con.execute(f'ALTER TABLE meta.findings ADD COLUMN "{c}" {_SQL_TYPES[t]}')
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.check_runs (cut_id VARCHAR, run_at TIMESTAMP, seconds DOUBLE, "
        "n_open BIGINT, by_severity VARCHAR, by_check VARCHAR, data_docs VARCHAR, gx_version VARCHAR, "
        "gx_exceptions VARCHAR, skipped VARCHAR, columns_absent VARCHAR, skipped_checks VARCHAR)")
    have_runs = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'meta' AND table_name = 'check_runs'"
    ).fetchall()}
    for c in ("columns_absent", "skipped_checks"):  # a cut checked before these were recorded
        if c not in have_runs:
            con.execute(f"ALTER TABLE meta.check_runs ADD COLUMN {c} VARCHAR")


def write_findings(con: duckdb.DuckDBPyConnection, cut_id: str, findings: pl.DataFrame) -> None:
    """Replace this cut's rows in meta.findings (a re-run of the checks on the same cut replaces them)."""
    ensure_tables(con)
    con.execute("DELETE FROM meta.findings WHERE cut_id = ?", [cut_id])
    con.register("_ck_findings", findings.select(list(FINDINGS_SCHEMA)))
    try:
        con.execute("INSERT INTO meta.findings BY NAME SELECT * FROM _ck_findings")
    finally:
        con.unregister("_ck_findings")
