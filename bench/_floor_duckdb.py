"""The floor for bench_load.py: DuckDB's own read_csv of every CSV file of an export into plain
tables (one table per file) in a new DuckDB file. Run as a child process:

    python bench/_floor_duckdb.py EXPORT_DIR DB_PATH

Prints one line per table (name, rows) so the parent can check that every file was read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def main(export: Path, db: Path) -> int:
    if db.exists():
        db.unlink()
    con = duckdb.connect(str(db))
    for path in sorted(export.glob("*.csv")):
        if path.name.startswith((".", "_")):
            continue
        table = path.stem.lower()
        if not table.isidentifier():
            raise SystemExit(f"{path.name}: file name is not a plain table name")
        # the table name is a checked identifier, the path a bound parameter
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_csv(?)', [str(path)])
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        print(f"{table}\t{rows}")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
