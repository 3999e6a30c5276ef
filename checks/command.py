"""`safetyboard check --db PATH [--fail-on error|warning] [--json]`: re-run the checks on the current cut."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from safetyboard.errors import FindingsGateError
from safetyboard.protocol import load_protocol


def _findings_json(run: Any) -> list[dict[str, Any]]:
    cols = ["check_id", "severity", "status", "domain", "usubjid", "site", "record_key", "message", "file",
            "row_number", "first_cut_id"]
    return run.findings.sort("severity", "check_id", "usubjid", "record_key", nulls_last=True).select(cols).to_dicts()


def _print_table(run: Any, out: Any = None) -> None:
    out = out or sys.stdout
    s = run.summary()
    print(f"cut {s['cut_id']} (previous: {s['previous_cut_id'] or 'none'}): {s['open']} open finding(s), "
          + ", ".join(f"{k}={v}" for k, v in s["by_severity"].items()) + f"; {s['resolved']} resolved", file=out)
    print(f"{'check':32} {'severity':8} {'open':>6} {'new':>6} {'resolved':>8} {'checked':>9}", file=out)
    for check_id, c in s["by_check"].items():
        print(f"{check_id:32} {c['severity'] or '-':8} {c['open']:>6} {c['new']:>6} {c['resolved']:>8} "
              f"{c['rows_checked']:>9}", file=out)
    for frame, why in s["skipped"].items():
        held = ", ".join(s["skipped_checks"].get(frame, []))
        print(f"not run: {frame}{f' ({held})' if held else ''}: {why}", file=out)
    for table, cols in s["columns_absent"].items():
        print(f"read as empty: {table} {', '.join(cols)} (not in this export)", file=out)
    for exc in s["gx_exceptions"]:
        print(f"GX expectation raised: {exc['check_id']} ({exc['frame']}): {exc['message']}", file=out)
    if s["data_docs"]:
        print(f"Data Docs: {s['data_docs']}", file=out)


def run(args: argparse.Namespace) -> int:
    from checks.runner import check_cut

    protocol = load_protocol(args.protocol) if getattr(args, "protocol", None) else load_protocol()
    docs = Path(args.data_docs) if getattr(args, "data_docs", None) else None
    check_run = check_cut(Path(args.db), protocol, None, data_docs_dir=docs)
    if args.json:
        print(json.dumps({"status": "ok", "db": str(Path(args.db)), **check_run.summary(),
                          "findings": _findings_json(check_run)}, default=str))
    else:
        _print_table(check_run)
    if check_run.gx_exceptions:
        print("safetyboard check: some expectations raised; their findings are unknown", file=sys.stderr)
        return 1
    n = check_run.gate(args.fail_on)
    if n:
        raise FindingsGateError(f"{n} open finding(s) at or above '{args.fail_on}' in cut {check_run.cut_id}")
    return 0
