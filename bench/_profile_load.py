"""Profile one load (etl.loader.load_export) under cProfile and print the stage breakdown as JSON.
Run as a child process by bench_load.py --profile:

    python bench/_profile_load.py EXPORT_DIR DB_PATH [--checks] [--pstats FILE]

Stages are the cumulative times of the loader's own functions (cProfile adds some overhead to
Python-heavy code; Polars and DuckDB work runs in native code and is barely affected):
hash (sha256 of the files), read (etl.readers.read_file), supp pivot, type+quarantine
(etl.normalise.normalise_domain), derive (etl.derive.build_adam and its parts), write
(_write_table into DuckDB), checks (checks.runner.run_checks), publish (atomic swap).
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# stage -> (module file suffix, function name[, caller name]): cumulative time of that function
# (only the calls made from `caller` when one is given). Matches the loader with etl/table_writer.py (buffered inserts).
STAGES = {
    # the files' sha256 run on a background thread (etl/loader.py), which cProfile does not see
    "read (CSV batches)": ("etl/readers.py", "iter_batches"),
    "  of which the ragged-row screen": ("etl/csv_rows.py", "find_ragged_rows"),
    "SUPP prepare": ("etl/loader.py", "prepare"),
    "SUPP attach": ("etl/loader.py", "attach"),
    "type+quarantine": ("etl/normalise.py", "normalise_domain"),
    "write raw.* (buffered appends)": ("etl/table_writer.py", "append", "stream_export"),
    "write raw.* (last insert per domain)": ("etl/table_writer.py", "flush", "stream_export"),
    "duplicate keys (SQL)": ("etl/loader.py", "_remove_duplicates"),
    "cut date": ("etl/loader.py", "_cut_date_from"),
    "derive adam.* (incl. reading raw back)": ("etl/loader.py", "_derive_into"),
    "  of which write adam.*": ("etl/table_writer.py", "flush", "_derive_into"),
    "  all DuckDB inserts (raw + adam)": ("etl/table_writer.py", "_insert"),
    "checks": ("checks/runner.py", "run_checks"),
    "publish (atomic swap)": ("etl/cutstore.py", "publish"),
}
NESTED = {"  of which the ragged-row screen", "  of which write adam.*", "  all DuckDB inserts (raw + adam)"}  # already inside another stage: not added to the total
# the parts of derive, for the hotspot list
DERIVE_PARTS = {
    "core tables (adsl, adae, adcyc, adex, adsv)": ("etl/derive/__init__.py", "build_core"),
    "adsl base": ("etl/derive/adsl.py", "derive_adsl_base"),
    "adcyc": ("etl/derive/cycles.py", "derive_adcyc"),
    "adae": ("etl/derive/adae.py", "derive_adae"),
    "adsl dlt": ("etl/derive/adsl.py", "derive_adsl_dlt"),
    "adex": ("etl/derive/adex.py", "derive_adex"),
    "adsv": ("etl/derive/adsv.py", "derive_adsv"),
    "adlb + advs (per subject batch)": ("etl/derive/__init__.py", "derive_measurements"),
    "adlb": ("etl/derive/adlb.py", "derive_adlb"),
    "advs": ("etl/derive/advs.py", "derive_advs"),
}


def _cumulative(stats: pstats.Stats, where: tuple[str, ...]) -> float:
    suffix, name = where[0], where[1]
    caller = where[2] if len(where) > 2 else None
    total = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func != name or not filename.replace("\\", "/").endswith(suffix):
            continue
        if caller is None:
            total += ct
        else:
            total += sum(v[3] for (_f, _l, cname), v in callers.items() if cname == caller)
    return total


def main(argv: list[str]) -> int:
    export, db = Path(argv[0]), Path(argv[1])
    run_checks = "--checks" in argv
    pstats_file = argv[argv.index("--pstats") + 1] if "--pstats" in argv else None

    from etl.loader import load_export
    from safetyboard.protocol import load_protocol

    protocol = load_protocol(None)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    load_export(export, db, protocol, run_checks=run_checks)
    profiler.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    if pstats_file:
        stats.dump_stats(pstats_file)
    stages = {k: _cumulative(stats, v) for k, v in STAGES.items()}
    derive = {k: _cumulative(stats, v) for k, v in DERIVE_PARTS.items()}
    # the heaviest functions by own time, for the report
    own = sorted(
        ((tt, f"{Path(f).name}:{ln}:{fn}") for (f, ln, fn), (_cc, _nc, tt, _ct, _c) in stats.stats.items()),  # type: ignore[attr-defined]
        reverse=True,
    )[:12]
    print(json.dumps({"wall_s": wall, "stages": stages, "derive": derive, "top_own": own}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
