"""Where a load's memory goes: run etl.loader.load_export in this process with a sampler thread
that reads the process RSS every 10 ms, and print the peak RSS and wall time of every stage (the
loader's progress messages mark the stages). Run by bench_load.py --trace-memory, or alone:

    python bench/_trace_memory.py EXPORT_DIR DB_PATH [--checks]

Prints one JSON line: {"wall_s", "peak_rss", "stages": [[message, seconds, peak_rss_bytes, cpu_seconds], ...]}
(cpu_seconds / seconds = cores busy on average: 2.0 means this 2-core machine was saturated).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def main(argv: list[str]) -> int:
    export, db = Path(argv[0]), Path(argv[1])
    from etl.loader import load_export
    from safetyboard.protocol import load_protocol

    proc = psutil.Process()
    stages: list[list] = [["start", time.perf_counter(), 0, _cpu(proc)]]
    lock = threading.Lock()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = proc.memory_info().rss
            with lock:
                if rss > stages[-1][2]:
                    stages[-1][2] = rss
            time.sleep(0.01)

    def progress(message: str) -> None:
        with lock:
            stages.append([message, time.perf_counter(), proc.memory_info().rss, _cpu(proc)])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    load_export(export, db, load_protocol(None), run_checks="--checks" in argv, progress=progress)
    end, end_cpu = time.perf_counter(), _cpu(proc)
    done.set()
    sampler.join()
    out = []
    for i, (message, start, peak, cpu) in enumerate(stages):
        stop, stop_cpu = (stages[i + 1][1], stages[i + 1][3]) if i + 1 < len(stages) else (end, end_cpu)
        out.append([message, round(stop - start, 2), peak, round(stop_cpu - cpu, 2)])
    print(json.dumps({"wall_s": end - t0, "peak_rss": max(s[2] for s in stages), "stages": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
