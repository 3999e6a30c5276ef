"""Checks benchmark (issue 4): `safetyboard check --db X` on the program-scale cut, timed beside
the load of that cut (`safetyboard load --no-checks`), each in a child process, same run.

    .venv/bin/python bench/bench_checks.py [--subjects 50000] [--export DIR] [--db PATH] [--keep]
                                           [--load-seconds S]

Without --db it loads the export (bench/out/export-N, generated when missing) into
bench/out/checks-N/current.duckdb and times that load. With --db it checks that cut and compares
with --load-seconds (required then, e.g. the figure printed by bench_load.py). Target: the checks
take at most half the load's wall time. If `safetyboard check` is not available yet it says so and
exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import (
    GB,
    OUT,
    SAFETYBOARD,
    ensure_export,
    fmt_bytes,
    machine_line,
    measure,
    print_table,
    verdict,
)

RATIO_TARGET = 0.5
RSS_TARGET = 4 * GB


def _check_available() -> str | None:
    """None when `safetyboard check` can run, else why not."""
    from safetyboard.cli import COMMANDS

    module = COMMANDS.get("check", "").split(":")[0]
    if not module or importlib.util.find_spec(module) is None:
        return f"the check command's module {module or '?'} does not exist yet"
    return None


def _remove_cut(db: Path) -> None:
    for p in [*db.parent.glob(db.name + "*"), db.parent / f"{db.stem}.cuts", db.parent / f"{db.stem}.gx"]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=50000)
    ap.add_argument("--export", type=Path, default=None, help="an existing export folder to load")
    ap.add_argument("--db", type=Path, default=None, help="check this existing cut instead of loading one")
    ap.add_argument("--load-seconds", type=float, default=None, help="the load time to compare with (with --db)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch cut")
    args = ap.parse_args()

    why = _check_available()
    if why:
        print(f"bench_checks: not measured: {why} (safetyboard check is not available)")
        return 0
    if args.db is not None and args.load_seconds is None:
        ap.error("--db needs --load-seconds (the load time of that cut, e.g. from bench_load.py)")

    print(machine_line() + " (before)")
    rows = []
    if args.db is None:
        export, _demo = ensure_export(args.subjects, args.export)
        db = OUT / f"checks-{args.subjects}" / "current.duckdb"
        db.parent.mkdir(parents=True, exist_ok=True)
        _remove_cut(db)
        load = measure("safetyboard load --no-checks", [SAFETYBOARD, "load", str(export), "--db", str(db), "--no-checks"])
        if load.returncode != 0:
            raise SystemExit(f"load failed (exit {load.returncode}):\n{load.stderr[-3000:]}")
        load_s = load.wall_s
        rows.append([load.label, f"{load_s:.1f}", fmt_bytes(load.peak_rss), "", ""])
    else:
        db, load_s = args.db, float(args.load_seconds)
        rows.append(["load (given)", f"{load_s:.1f}", "", "", ""])

    check = measure("safetyboard check", [SAFETYBOARD, "check", "--db", str(db)])
    # exit 3 = findings reached --fail-on: not used here, so 0 is the only success
    if check.returncode != 0:
        raise SystemExit(f"safetyboard check failed (exit {check.returncode}):\n{check.stderr[-3000:]}")
    ratio = check.wall_s / load_s
    rows.append([check.label, f"{check.wall_s:.1f}", fmt_bytes(check.peak_rss),
                 f"<= {RATIO_TARGET:.1f}x load = {RATIO_TARGET * load_s:.1f} s", verdict(ratio <= RATIO_TARGET)])
    rows.append(["check / load wall time", f"{ratio:.2f}x", "", f"<= {RATIO_TARGET:.1f}x", verdict(ratio <= RATIO_TARGET)])
    rows.append(["check peak RSS", "", fmt_bytes(check.peak_rss), f"<= {fmt_bytes(RSS_TARGET)}",
                 verdict(check.peak_rss <= RSS_TARGET)])
    print(f"\ncut: {db} ({fmt_bytes(db.stat().st_size)})")
    print_table(["step", "wall s", "peak RSS", "target", "result"], rows)
    print(machine_line() + " (after)")
    tail = [line for line in check.stdout.splitlines() if line.strip()][-15:]
    if tail:
        print("\nsafetyboard check output (last lines):")
        print("\n".join(tail))
    if args.db is None and not args.keep:
        _remove_cut(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
