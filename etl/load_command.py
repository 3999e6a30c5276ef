"""`safetyboard load SOURCE --db PATH`: the command over etl.loader.load_export."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from etl.loader import LoadResult, load_export
from safetyboard.errors import BadInputError
from safetyboard.protocol import load_protocol


def _print_summary(result: LoadResult) -> None:
    print(f"cut {result.cut_id} -> {result.db} (data cut date {result.cut_date})")
    print(f"{'domain':<10}{'files':>6}{'read':>10}{'loaded':>10}{'quarantined':>13}  reasons")
    for name, st in sorted(result.domains.items()):
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(st.reasons.items()))
        print(f"{name.upper():<10}{len(st.files):>6}{st.rows_read:>10}{st.rows_loaded:>10}{st.rows_quarantined:>13}  {reasons}")
    if result.findings:
        print("findings:", ", ".join(f"{k}={v}" for k, v in sorted(result.findings.get("by_severity", {}).items())))


def run(args: argparse.Namespace) -> int:
    protocol = load_protocol(args.protocol)
    cut_date = None
    if args.cut_date:
        try:
            cut_date = dt.date.fromisoformat(args.cut_date)
        except ValueError as exc:
            raise BadInputError(f"--cut-date {args.cut_date!r} is not a date (YYYY-MM-DD)") from exc
    bar = None
    progress = None
    if sys.stderr.isatty() and not args.json:
        from tqdm import tqdm

        bar = tqdm(total=None, unit=" step", desc="load", file=sys.stderr, leave=False)

        def progress(message: str) -> None:
            bar.set_description(message[:40])
            bar.update(1)

    try:
        result = load_export(
            Path(args.source), Path(args.db), protocol, mapping=args.mapping, encoding=args.encoding,
            run_checks=not args.no_checks, progress=progress, cut_date=cut_date,
        )
    finally:
        if bar is not None:
            bar.close()
    for warning in result.warnings:  # on stderr in both modes: stdout stays the JSON document
        print(f"safetyboard load: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_summary(result)
    return 0
