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

# stage -> (module file suffix, function name); cumulative time of that function
STAGES = {
    "hash": ("etl/loader.py", "_sha256"),
    "read": ("etl/readers.py", "read_file"),
    "supp pivot": ("etl/loader.py", "_pivot_supp"),
    "type+quarantine": ("etl/normalise.py", "normalise_domain"),
    "cut date": ("etl/loader.py", "data_cut_date"),
    "derive": ("etl/derive/__init__.py", "build_adam"),
    "write": ("etl/loader.py", "_write_table"),
    "checks": ("checks/runner.py", "run_checks"),
    "publish": ("etl/cutstore.py", "publish"),
}
# the parts of derive, for the hotspot list
DERIVE_PARTS = {
    "adsl base": ("etl/derive/adsl.py", "derive_adsl_base"),
    "adcyc": ("etl/derive/cycles.py", "derive_adcyc"),
    "delays": ("etl/derive/__init__.py", "_delays"),
    "adae": ("etl/derive/adae.py", "derive_adae"),
    "adsl dlt": ("etl/derive/adsl.py", "derive_adsl_dlt"),
    "adlb": ("etl/derive/adlb.py", "derive_adlb"),
    "advs": ("etl/derive/advs.py", "derive_advs"),
    "adex": ("etl/derive/adex.py", "derive_adex"),
    "adsv": ("etl/derive/adsv.py", "derive_adsv"),
}


def _cumulative(stats: pstats.Stats, where: tuple[str, str]) -> float:
    suffix, name = where
    total = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and filename.replace("\\", "/").endswith(suffix):
            total += ct
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
