"""Server render time of each dashboard page (queries + figures + layout) at trial and program scale.

For each scale it builds a demo cut (cached under bench/out/), then runs every page headless with
Streamlit's AppTest: 'cold' is the first run of the page in a fresh app (queries hit DuckDB),
'warm' a rerun (queries served from st.cache_data). Targets: 300 ms/page at trial scale (56
subjects), 2 s/page at program scale (50,000 subjects).

    .venv/bin/python bench/bench_pages.py [--scales 56,50000] [--db PATH ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
SB = str(Path(sys.executable).parent / "safetyboard")
PAGES = {
    "Overview": "dashboard/pages/overview.py",
    "Dose escalation": "dashboard/pages/dose_escalation.py",
    "DLT window": "dashboard/pages/dlt_window.py",
    "Toxicity heatmap": "dashboard/pages/heatmap.py",
    "Blood pressure": "dashboard/pages/blood_pressure.py",
    "Data quality": "dashboard/pages/data_quality.py",
}
TARGET_S = {56: 0.3}


def replicate_cut(src: Path, dst: Path, subjects: int) -> Path:
    """A program-scale cut made by replicating the demo cut's subjects (new USUBJIDs) until `subjects`.

    Used because loading a 50,000-subject demo export needs more memory than this machine has
    (see the report); the page queries only see adam.*, raw.ex and meta.* tables.
    """
    import duckdb

    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    con = duckdb.connect(str(dst))
    con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
    n = con.execute("SELECT count(*) FROM src.adam.adsl").fetchall()[0][0]
    copies = -(-subjects // n)
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'src'"
    ).fetchall()
    for schema, table in tables:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cols = [r[0] for r in con.execute(f"DESCRIBE src.{schema}.{table}").fetchall()]
        if schema == "raw" and table != "ex":
            continue
        if "USUBJID" in cols and schema in ("adam", "raw"):
            con.execute(
                f"CREATE TABLE {schema}.{table} AS SELECT * REPLACE (USUBJID || '-R' || k AS USUBJID) "
                f"FROM src.{schema}.{table}, range({copies}) r(k)"
            )
        else:
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM src.{schema}.{table}")
    con.close()
    return dst


def build_cut(subjects: int) -> Path:
    export = OUT / f"export-{subjects}"
    db = OUT / f"cut-{subjects}" / "current.duckdb"
    if db.exists():
        return db
    db.parent.mkdir(parents=True, exist_ok=True)
    if subjects > 5000:
        return replicate_cut(build_cut(56), db, subjects)
    t = time.perf_counter()
    subprocess.run([SB, "demo", "--out", str(export), "--subjects", str(subjects)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([SB, "load", str(export), "--db", str(db), "--no-checks"], check=True, stdout=subprocess.DEVNULL)
    print(f"built the {subjects}-subject cut in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return db


def time_pages(db: Path, repeats: int = 3) -> dict[str, tuple[float, float]]:
    from streamlit.testing.v1 import AppTest

    os.environ["SAFETYBOARD_DB"] = str(db)
    results: dict[str, tuple[float, float]] = {}
    for path in PAGES.values():  # one unmeasured pass: imports and the first connection are not page cost
        at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=600)
        at.run()
        at.switch_page(path)
        at.run()
    for title, path in PAGES.items():
        cold, warm = [], []
        for _ in range(repeats):
            at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=600)
            at.run()  # the entry script (sidebar filters); the default page runs here too
            at.switch_page(path)
            _clear_caches()
            t = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t)
            if at.exception:
                print(f"{title}: page raised {at.exception[0].value}", file=sys.stderr)
                cold[-1] = float("nan")
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
        results[title] = (statistics.median(cold), statistics.median(warm))
    return results


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="56,50000", help="subjects per demo cut, comma-separated")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for subjects in [int(s) for s in args.scales.split(",")]:
        db = build_cut(subjects)
        target = TARGET_S.get(subjects, 2.0)
        for title, (cold, warm) in time_pages(db, args.repeats).items():
            rows.append((subjects, title, cold, warm, target))
    print(f"{'subjects':>8}  {'page':<18}{'cold ms':>9}{'warm ms':>9}{'target ms':>10}  ok")
    for subjects, title, cold, warm, target in rows:
        ok = "ERROR" if cold != cold else ("yes" if cold <= target else "NO")
        print(f"{subjects:>8}  {title:<18}{cold * 1000:>9.0f}{warm * 1000:>9.0f}{target * 1000:>10.0f}  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
