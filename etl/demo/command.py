"""`safetyboard demo --out DIR`: write the synthetic export and its _truth.json."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from etl.demo.generate import write_demo_export
from safetyboard.errors import BadInputError
from safetyboard.protocol import load_protocol


def run(args: argparse.Namespace) -> int:
    if args.subjects < 1:
        raise BadInputError("--subjects must be at least 1")
    protocol = load_protocol(args.protocol)
    start = time.perf_counter()
    if sys.stderr.isatty() and not args.json:
        print(f"writing a demo export of {args.subjects} subjects to {args.out} ...", file=sys.stderr)
    truth = write_demo_export(Path(args.out), subjects=args.subjects, seed=args.seed, fmt=args.format,
                              protocol=protocol, plant_issues=not args.no_issues)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"status": "ok", "out": str(args.out), "subjects": truth["subjects"], "files": truth["files"],
                          "issues": len(truth["issues"]), "cut_date": truth["cut_date"], "seconds": round(seconds, 2)}))
    else:
        files = ", ".join(f"{k} ({v} rows)" for k, v in truth["files"].items())
        print(f"{truth['subjects']} subjects, data cut {truth['cut_date']}, {len(truth['issues'])} planted issues -> {args.out}")
        print(f"files: {files}")
    return 0
