"""`safetyboard serve`: run the Streamlit dashboard on the current cut (headless, local by default)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from dashboard.connection import DEFAULT_DB, ENV_DB
from safetyboard.errors import BadInputError

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def command(db: Path, port: int, address: str) -> list[str]:
    """The streamlit command line (headless, no usage stats, no browser)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.runOnSave", "false",
    ]


def run(args: argparse.Namespace) -> int:
    db = Path(args.db) if args.db else DEFAULT_DB
    if not 0 < int(args.port) < 65536:
        raise BadInputError(f"--port {args.port}: not a TCP port")
    if not db.exists():
        # not fatal: the dashboard shows how to create a cut, and picks it up once loaded
        print(f"safetyboard serve: no cut at {db} yet; run `safetyboard load EXPORT_DIR --db {db}`", file=sys.stderr)
    env = dict(os.environ)
    env[ENV_DB] = str(db.resolve())
    if getattr(args, "protocol", None):
        env["SAFETYBOARD_PROTOCOL"] = str(Path(args.protocol).resolve())
    print(f"SafetyBoard dashboard on http://{args.address}:{args.port} (cut file {db})", file=sys.stderr)
    proc = subprocess.Popen(command(db, args.port, args.address), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
