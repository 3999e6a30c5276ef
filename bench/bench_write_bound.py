"""What the loader's writes alone cost, against the floor (issue 2's load target, explained).

    .venv/bin/python bench/bench_write_bound.py CUT.duckdb EXPORT_DIR [--tables raw.lb,adam.adlb,...]

CUT is a cut written by `safetyboard load` of EXPORT_DIR (e.g. `bench_load.py --keep` leaves
bench/out/load-N/current.duckdb). Each of its tables is read into memory (not timed), then
written into a new DuckDB file exactly as the loader writes it (etl/table_writer.py: Polars
frames, inserts of 1 M rows), and timed. No reading of CSV, no typing, no deriving: only the
inserts every load has to make. The floor (DuckDB's own read_csv of the export's files into
plain tables) runs in the same process run, before, for the ratio.

If the inserts alone come close to 2x the floor, no amount of faster typing or deriving can meet
the 2x target while the loader writes typed raw.* and adam.* tables from Polars frames.

--native writes each table DuckDB to DuckDB instead (`CREATE TABLE AS SELECT * FROM` the cut,
attached read-only): no Polars, no Arrow, no parsing. That is the least any loader must spend to
store the same tables, even one that typed and derived everything in DuckDB's own SQL.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _floor_duckdb import main as floor  # noqa: E402
from _measure import machine_line, print_table  # noqa: E402

from etl.table_writer import TableWriter  # noqa: E402

BATCH = 1_000_000  # rows handed to the writer at a time (the loader's CSV batch size)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _copy_native(target: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[int, int, float, float]:
    """One table of the attached cut copied by DuckDB itself: (rows, columns, wall s, CPU s)."""
    target.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")  # schema and name come from the cut's catalog
    wall, cpu = time.perf_counter(), _cpu()
    target.execute(f'CREATE TABLE {schema}."{name}" AS SELECT * FROM src.{schema}."{name}"')
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    height = target.execute(f'SELECT count(*) FROM {schema}."{name}"').fetchone()[0]
    width = len(target.execute(f'SELECT * FROM {schema}."{name}" LIMIT 0').description)
    return height, width, wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cut", type=Path)
    ap.add_argument("export", type=Path)
    ap.add_argument("--tables", default="", help="schema.table list (default: every raw.* and adam.* table)")
    ap.add_argument("--native", action="store_true",
                    help="write DuckDB to DuckDB (CREATE TABLE AS from the attached cut) instead of from Polars frames")
    args = ap.parse_args()
    print(machine_line() + " (before)")
    with tempfile.TemporaryDirectory(prefix="sb-bound-", dir=REPO / "bench" / "out") as tmp:
        t0 = time.perf_counter()
        floor(args.export, Path(tmp) / "floor.duckdb")
        floor_s = time.perf_counter() - t0

        source = duckdb.connect(str(args.cut), read_only=True)
        tables = [t for t in args.tables.split(",") if t] or [
            f"{s}.{n}" for s, n in source.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('raw', 'adam') AND table_type = 'BASE TABLE' ORDER BY 1, 2"
            ).fetchall()
        ]
        target = duckdb.connect(str(Path(tmp) / "writes.duckdb"))
        target.execute("SET preserve_insertion_order = false")  # as the loader
        if args.native:
            source.close()
            # ATTACH takes no query parameter before DuckDB 2.0: the path as an SQL string literal
            target.execute("ATTACH '" + str(args.cut).replace("'", "''") + "' AS src (READ_ONLY)")
        writer = TableWriter(target)
        rows, total_s, total_cpu = [], 0.0, 0.0
        for qualified in tables:
            schema, name = qualified.split(".", 1)
            if args.native:
                height, width, wall, cpu = _copy_native(target, schema, name)
            else:
                frame = source.sql(f'SELECT * FROM {schema}."{name}"').pl()  # a checked name from the catalog
                height, width = frame.height, len(frame.columns)
                wall, cpu = time.perf_counter(), _cpu()
                for offset in range(0, frame.height, BATCH):
                    writer.append(schema, name, frame.slice(offset, BATCH))
                writer.flush(schema, name)
                wall, cpu = time.perf_counter() - wall, _cpu() - cpu
                del frame
            total_s, total_cpu = total_s + wall, total_cpu + cpu
            rows.append([qualified, f"{height:,}", width, f"{wall:.1f}", f"{cpu:.1f}"])
        t0 = time.perf_counter()
        target.execute("CHECKPOINT")
        checkpoint_s = time.perf_counter() - t0
        total_s += checkpoint_s
        rows.append(["CHECKPOINT", "", "", f"{checkpoint_s:.1f}", ""])
        rows.append(["all inserts", "", "", f"{total_s:.1f}", f"{total_cpu:.1f}"])
        print_table(["table", "rows", "columns", "wall s", "CPU s"], rows)
        what = "the same tables copied DuckDB to DuckDB" if args.native else "the loader's inserts alone"
        print(f"\nfloor (read_csv of every file): {floor_s:.1f} s; {what}: {total_s:.1f} s "
              f"= {total_s / floor_s:.2f}x the floor (target for the whole load: 2x)")
    print(machine_line() + " (after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
