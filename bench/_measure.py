"""Shared helpers for the bench/ scripts: run a command in a child process, measure its wall time
and peak RSS, print a small table of figures with targets and PASS/MISS.

Peak RSS is polled with psutil over the child and all its descendants (summed each poll), every
20 ms, so it is the peak of that process tree alone, not of the bench script. A very short RSS
spike between two polls can be missed; at program scale the steps run for seconds, so the error
is small. ru_maxrss of RUSAGE_CHILDREN is printed beside it as a cross-check (it is the largest
single child ever waited for, so it never under-reports a single-process command).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
BIN = Path(sys.executable).parent
SAFETYBOARD = str(BIN / "safetyboard")
PYTHON = sys.executable
GB = 1024**3
MB = 1024**2


@dataclass(frozen=True)
class Measurement:
    label: str
    wall_s: float
    peak_rss: int  # bytes, polled over the process tree
    returncode: int
    stdout: str
    stderr: str


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def measure(label: str, argv: list[str], env: dict[str, str] | None = None, poll_s: float = 0.02,
            cwd: Path | None = None) -> Measurement:
    """Run argv as a child process; return its wall time, peak RSS and output."""
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, text=True, cwd=cwd or REPO)
    ps = psutil.Process(proc.pid)
    peak = 0
    # the output is drained by two threads so the child never blocks on a full pipe while we poll
    chunks: dict[str, str] = {}

    def drain(name: str, stream) -> None:
        chunks[name] = stream.read()

    threads = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    while proc.poll() is None:
        peak = max(peak, _tree_rss(ps))
        time.sleep(poll_s)
    wall = time.perf_counter() - t0
    for t in threads:
        t.join()
    return Measurement(label, wall, peak, proc.returncode, chunks.get("out", ""), chunks.get("err", ""))


def children_maxrss() -> int:
    """ru_maxrss over all waited-for children so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def fmt_bytes(n: int) -> str:
    return f"{n / GB:.2f} GB" if n >= GB else f"{n / MB:.0f} MB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


def ensure_export(subjects: int, export: Path | None = None) -> tuple[Path, Measurement | None]:
    """The demo export to measure: `export` if given, else bench/out/export-N (generated, and
    timed, when it is not there yet). Returns (folder, the demo's measurement or None if reused)."""
    if export is not None:
        if not export.is_dir():
            raise SystemExit(f"--export {export}: not a folder")
        return export, None
    folder = OUT / f"export-{subjects}"
    if (folder / "dm.csv").exists() and (folder / "_truth.json").exists():
        return folder, None
    if folder.exists():
        shutil.rmtree(folder)
    OUT.mkdir(parents=True, exist_ok=True)
    m = measure(
        f"demo --subjects {subjects}", [SAFETYBOARD, "demo", "--subjects", str(subjects), "--out", str(folder)]
    )
    if m.returncode != 0:
        raise SystemExit(f"safetyboard demo failed (exit {m.returncode}):\n{m.stderr[-2000:]}")
    return folder, m


def ensure_cut(subjects: int, export: Path | None = None, db: Path | None = None) -> tuple[Path, Measurement | None]:
    """A loaded cut of the export (bench/out/cut-N/current.duckdb unless `db` names one)."""
    if db is not None:
        if not db.exists():
            raise SystemExit(f"--db {db}: no such file")
        return db, None
    folder, _ = ensure_export(subjects, export)
    path = OUT / f"cut-{subjects}" / "current.duckdb"
    if path.exists():
        return path, None
    path.parent.mkdir(parents=True, exist_ok=True)
    m = measure("load --no-checks", [SAFETYBOARD, "load", str(folder), "--db", str(path), "--no-checks"])
    if m.returncode != 0:
        raise SystemExit(f"safetyboard load failed (exit {m.returncode}):\n{m.stderr[-2000:]}")
    return path, m


def export_size(folder: Path) -> tuple[int, int]:
    """(number of data files, total bytes) of an export folder."""
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_"))]
    return len(files), sum(p.stat().st_size for p in files)


def machine_line() -> str:
    """CPU count, load average and free memory: the machine is shared, so figures need this context."""
    la = os.getloadavg()
    vm = psutil.virtual_memory()
    return (f"machine: {os.cpu_count()} cores, load average {la[0]:.1f}/{la[1]:.1f}/{la[2]:.1f}, "
            f"{fmt_bytes(vm.available)} of {fmt_bytes(vm.total)} RAM available")
