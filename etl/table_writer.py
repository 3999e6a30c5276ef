"""Appending Polars frames to DuckDB tables in large inserts, written behind the caller's back.

DuckDB writes a table fastest in large inserts: measured on 4 M adlb rows (27 columns, this
2-core machine), inserts of 1 M rows took 4.6 s, of 260 k rows 7.5 s and of 100 k rows 14.8 s
(each insert starts new, partly filled row groups). The loader's batches are smaller than that
(a CSV batch after quarantine, a batch of subjects' derived labs), so frames are buffered per
table and written once `flush_rows` rows are waiting, or when the caller flushes.

A full buffer is inserted by one background thread on its own cursor while the caller prepares
the next batch (DuckDB and Polars both release the GIL); at most one insert is in flight, so
memory holds one batch more. `flush` returns only when everything given for that table is written.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import duckdb
import polars as pl

FLUSH_ROWS = 1_000_000


class TableWriter:
    """Buffered appends to `schema.name` tables of one database (new columns are added)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, flush_rows: int = FLUSH_ROWS, background: bool = True) -> None:
        self.flush_rows = flush_rows
        self._con = con.cursor() if background else con
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sb-insert") if background else None
        self._inflight: Future | None = None
        self._created: set[tuple[str, str]] = set()
        self._pending: dict[tuple[str, str], list[pl.DataFrame]] = {}

    def append(self, schema: str, name: str, frame: pl.DataFrame) -> None:
        key = (schema, name)
        waiting = self._pending.setdefault(key, [])
        waiting.append(frame)
        if sum(f.height for f in waiting) >= self.flush_rows:
            self._submit(key)

    def flush(self, schema: str, name: str) -> None:
        """Write what waits for this table (creating it from the first frame ever given) and wait."""
        self._submit((schema, name))
        self._wait()

    def flush_all(self) -> None:
        for key in list(self._pending):
            self._submit(key)
        self._wait()

    def close(self) -> None:
        """Write everything still waiting, then stop the background thread."""
        try:
            self.flush_all()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._con.close()

    def abort(self) -> None:
        """After an error: drop what waits, let an insert in flight end, stop the thread."""
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._con.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _submit(self, key: tuple[str, str]) -> None:
        waiting = self._pending.pop(key, [])
        if not waiting:
            return
        frame = waiting[0] if len(waiting) == 1 else pl.concat(waiting, how="diagonal_relaxed")
        del waiting
        create = key not in self._created
        self._created.add(key)
        self._wait()  # one insert at a time, in the order given
        if self._pool is None:
            _insert(self._con, key[0], key[1], frame, create)
        else:
            self._inflight = self._pool.submit(_insert, self._con, key[0], key[1], frame, create)

    def _wait(self) -> None:
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()  # re-raises an insert's error in the caller


def _insert(con: duckdb.DuckDBPyConnection, schema: str, name: str, frame: pl.DataFrame, create: bool) -> None:
    table = f'{schema}."{name}"'
    con.register("_sb_frame", frame)
    try:
        if create:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _sb_frame")
            return
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?", [schema, name]
        ).fetchall()}
        for col, ctype in con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM _sb_frame)").fetchall():
            if col not in have:
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{col}" {ctype}')
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _sb_frame")
    finally:
        con.unregister("_sb_frame")
