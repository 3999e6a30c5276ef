"""Load benchmark (issue 2): `safetyboard load --no-checks` at program scale against DuckDB's own
read_csv of the same files (the floor), each in a child process, same machine, same run.

    .venv/bin/python bench/bench_load.py [--subjects 50000] [--export DIR] [--db PATH] [--keep]
                                         [--repeats 1] [--profile] [--against REV]

Without --export it uses bench/out/export-N, generating it with `safetyboard demo --subjects N`
(timed) when it is not there. Scratch databases go under bench/out/ and are removed unless --keep.
Targets: load wall time <= 2x the floor's; load peak RSS <= 4 GB; demo "in minutes" (<= 10 min).
--profile also runs one load under cProfile (in a child) and prints the stage breakdown.
--against REV also times the loader of commit REV (its tree from `git archive`, run with this venv)
in every repeat, interleaved with the floor and this tree's loader: a before/after on one machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import (
    GB,
    OUT,
    PYTHON,
    SAFETYBOARD,
    Measurement,
    children_maxrss,
    ensure_export,
    export_size,
    fmt_bytes,
    machine_line,
    measure,
    print_table,
    verdict,
)

LOAD_RATIO_TARGET = 2.0
RSS_TARGET = 4 * GB
DEMO_TARGET_S = 600.0
BENCH = Path(__file__).resolve().parent


def _run_checked(m: Measurement) -> Measurement:
    if m.returncode != 0:
        raise SystemExit(f"{m.label} failed (exit {m.returncode}):\n{m.stderr[-3000:]}")
    return m


def _best(runs: list[Measurement]) -> Measurement:
    """The median run by wall time (its own peak RSS kept; max RSS over runs printed apart)."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    return ordered[len(ordered) // 2]


def _remove_cut(db: Path) -> None:
    """The cut file, its WAL/temp files and its archive of earlier cuts (etl.cutstore: <stem>.cuts/)."""
    for p in [*db.parent.glob(db.name + "*"), db.parent / f"{db.stem}.cuts", db.parent / f"{db.stem}.gx"]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def code_of(rev: str) -> Path:
    """The tree of commit `rev` under bench/out/code-<sha> (git archive; reused when already there)."""
    repo = BENCH.parent
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    tree = OUT / f"code-{sha}"
    if not (tree / "etl" / "loader.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(repo), "archive", sha], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def profile(export: Path, db: Path, with_checks: bool) -> dict:
    argv = [PYTHON, str(BENCH / "_profile_load.py"), str(export), str(db)]
    if with_checks:
        argv.append("--checks")
    m = _run_checked(measure("profiled load", argv))
    return json.loads(m.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=50000)
    ap.add_argument("--export", type=Path, default=None, help="an existing export folder (CSV) to load")
    ap.add_argument("--db", type=Path, default=None, help="scratch cut path (default bench/out/load-N/current.duckdb)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases")
    ap.add_argument("--repeats", type=int, default=1, help="runs of load and floor each (median reported)")
    ap.add_argument("--profile", action="store_true", help="also profile one load and print the stage breakdown")
    ap.add_argument("--profile-checks", action="store_true", help="profile a load with the checks on")
    ap.add_argument("--against", metavar="REV", help="also time the loader of this commit, interleaved")
    args = ap.parse_args()
    other = code_of(args.against) if args.against else None

    export, demo = ensure_export(args.subjects, args.export)
    export = export.resolve()  # --against runs the other loader from its own folder
    n_files, n_bytes = export_size(export)
    work = OUT / f"load-{args.subjects}"
    work.mkdir(parents=True, exist_ok=True)
    db = args.db or work / "current.duckdb"
    floor_db = work / "floor.duckdb"

    print(machine_line() + " (before)")
    loads, floors, others = [], [], []
    other_db = work / "against.duckdb"
    for _ in range(args.repeats):
        # a fresh cut each time (no archive of earlier cuts to copy meta from)
        _remove_cut(db)
        floors.append(_run_checked(measure("floor: duckdb read_csv", [PYTHON, str(BENCH / "_floor_duckdb.py"), str(export), str(floor_db)])))
        if other is not None:  # `python -m` from the other tree: its packages come first on sys.path
            _remove_cut(other_db)
            others.append(_run_checked(measure(f"load --no-checks at {args.against}", [
                PYTHON, "-m", "safetyboard.cli", "load", str(export), "--db", str(other_db), "--no-checks"], cwd=other)))
        loads.append(_run_checked(measure("safetyboard load --no-checks", [SAFETYBOARD, "load", str(export), "--db", str(db), "--no-checks"])))
    load, floor = _best(loads), _best(floors)
    ratio = load.wall_s / floor.wall_s
    load_rss = max(m.peak_rss for m in loads)

    print(f"\nexport: {export} ({n_files} files, {n_bytes / 1024**2:.0f} MB), subjects: {args.subjects}, repeats: {args.repeats}")
    rows = []
    if demo is not None:
        rows.append([f"safetyboard demo --subjects {args.subjects}", f"{demo.wall_s:.1f}", fmt_bytes(demo.peak_rss),
                     f"<= {DEMO_TARGET_S:.0f} s", verdict(demo.wall_s <= DEMO_TARGET_S)])
    rows.append([floor.label, f"{floor.wall_s:.1f}", fmt_bytes(max(m.peak_rss for m in floors)), "(floor)", ""])
    rows.append([load.label, f"{load.wall_s:.1f}", fmt_bytes(load_rss),
                 f"<= {LOAD_RATIO_TARGET:.0f}x floor = {LOAD_RATIO_TARGET * floor.wall_s:.1f} s", verdict(ratio <= LOAD_RATIO_TARGET)])
    rows.append(["load / floor wall time", f"{ratio:.2f}x", "", f"<= {LOAD_RATIO_TARGET:.0f}x", verdict(ratio <= LOAD_RATIO_TARGET)])
    if others:
        before = _best(others)
        rows.append([before.label, f"{before.wall_s:.1f}", fmt_bytes(max(m.peak_rss for m in others)),
                     f"{before.wall_s / floor.wall_s:.2f}x floor", ""])
    rows.append(["load peak RSS", "", fmt_bytes(load_rss), f"<= {fmt_bytes(RSS_TARGET)}", verdict(load_rss <= RSS_TARGET)])
    print_table(["step", "wall s", "peak RSS", "target", "result"], rows)
    print(machine_line() + " (after)")
    if args.repeats > 1:
        print(f"load wall times: {', '.join(f'{m.wall_s:.1f}' for m in loads)} s (median {statistics.median(m.wall_s for m in loads):.1f})")
        print(f"floor wall times: {', '.join(f'{m.wall_s:.1f}' for m in floors)} s")
        if others:
            print(f"load wall times at {args.against}: {', '.join(f'{m.wall_s:.1f}' for m in others)} s")
    print(f"(cross-check: largest single child ru_maxrss {fmt_bytes(children_maxrss())})")
    db_size = db.stat().st_size if db.exists() else 0
    print(f"cut file {fmt_bytes(db_size)}, floor file {fmt_bytes(floor_db.stat().st_size)}")

    if args.profile or args.profile_checks:
        pdb = work / "profile.duckdb"
        result = profile(export, pdb, args.profile_checks)
        wall = result["wall_s"]
        print(f"\nprofile of one load{' with checks' if args.profile_checks else ' (--no-checks)'} under cProfile: {wall:.1f} s")
        stage_rows = [[k, f"{v:.2f}", f"{100 * v / wall:.0f}%"] for k, v in result["stages"].items() if v > 0]
        accounted = sum(v for k, v in result["stages"].items() if not k.startswith("  "))
        stage_rows.append(["other (discover, meta.*, cut id, imports)", f"{wall - accounted:.2f}", f"{100 * (wall - accounted) / wall:.0f}%"])
        print_table(["stage", "s", "share"], stage_rows)
        print("\nderive parts:")
        print_table(["table", "s"], [[k, f"{v:.2f}"] for k, v in result["derive"].items()])
        print("\nheaviest functions by own time:")
        print_table(["own s", "function"], [[f"{t:.2f}", name] for t, name in result["top_own"]])
        _remove_cut(pdb)

    if not args.keep:
        _remove_cut(db)
        _remove_cut(floor_db)
        _remove_cut(other_db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
