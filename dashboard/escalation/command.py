"""`safetyboard escalation`: the escalation status from a cut (--db) or from what-if counts.

Imports only the light engine at module level (no Polars, GX or Streamlit); duckdb and scipy
are imported when needed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from dashboard.escalation.engine import EscalationResult, LevelCounts, evaluate
from safetyboard.errors import BadInputError

_PAIR = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def parse_counts(text: str) -> list[LevelCounts]:
    """'n:y,n:y,...' (evaluable:DLT per level, lowest first) -> LevelCounts labelled "level 1".."level K"."""
    if not text or not text.strip():
        raise BadInputError('--counts is empty: give "n:y,n:y,..." (evaluable:DLT per dose level)')
    out = []
    for k, part in enumerate(text.split(","), start=1):
        m = _PAIR.match(part)
        if not m:
            raise BadInputError(
                f'--counts item {k} {part.strip()!r} is not "n:y" with whole numbers n >= 0 and y >= 0'
            )
        n, y = int(m.group(1)), int(m.group(2))
        if y > n:
            raise BadInputError(f"--counts item {k} {part.strip()!r}: {y} DLTs among {n} patients (need y <= n)")
        out.append(LevelCounts(f"level {k}", n, n, y))
    return out


def _design_options(protocol: Any, design: str, target: float) -> dict[str, Any]:
    esc = protocol.escalation
    # every key below is required and checked by safetyboard.protocol (no defaults in code)
    opts: dict[str, Any] = {"cohort_size": int(esc["cohort_size"])}
    if design == "boin":
        opts.update(
            max_per_dose=int(esc["max_per_dose"]) if esc.get("max_per_dose") is not None else None,
            p_saf=float(esc["p_saf_factor"]) * target,
            p_tox=float(esc["p_tox_factor"]) * target,
            cutoff_eli=float(esc["elimination_cutoff"]),
            extrasafe=bool(esc["extrasafe"]),
        )
    return opts


def to_json(result: EscalationResult, names: list[Any], labels: list[str]) -> dict[str, Any]:
    """The DESIGN.md JSON; `names` are what `level`, `current_level`, `next_level`, `mtd` show."""
    def name(i: int | None) -> Any:
        return None if i is None else names[i]

    levels = []
    for lv in result.levels:
        levels.append({
            "level": names[lv.level], "label": labels[lv.level], "n_treated": lv.n_treated,
            "n_evaluable": lv.n_evaluable, "n_dlt": lv.n_dlt, "rate": lv.rate, "ci_low": lv.ci_low,
            "ci_high": lv.ci_high, "eliminated": lv.eliminated, "escalate_max": lv.escalate_max,
            "deescalate_min": lv.deescalate_min, "eliminate_min": lv.eliminate_min,
            "isotonic_rate": lv.isotonic_rate,
        })
    return {
        "design": result.design, "target": result.target, "levels": levels,
        "current_level": name(result.current), "decision": result.decision,
        "next_level": name(result.next_level), "mtd": name(result.mtd), "reason": result.reason,
        "lambda_e": result.lambda_e, "lambda_d": result.lambda_d,
    }


def _fmt(x: float | None, pct: bool = True) -> str:
    return "-" if x is None else (f"{100 * x:.0f}%" if pct else f"{x:.2f}")


def to_text(doc: dict[str, Any]) -> str:
    head = f"{'level':<8}{'treated':>8}{'eval':>6}{'DLT':>5}{'rate':>7}  {'95% CI (exact)':<16}"
    boin = doc["design"] == "boin"
    if boin:
        head += f"{'E<=':>5}{'D>=':>5}{'El>=':>6}  elim"
    lines = [f"Design {doc['design']}, target DLT rate {doc['target']:g}", head]
    for lv in doc["levels"]:
        ci = "-" if lv["ci_low"] is None else f"{_fmt(lv['ci_low'])}-{_fmt(lv['ci_high'])}"
        mark = "*" if lv["level"] == doc["current_level"] else " "
        row = f"{mark}{lv['level']!s:<7}{lv['n_treated']:>8}{lv['n_evaluable']:>6}{lv['n_dlt']:>5}{_fmt(lv['rate']):>7}  {ci:<16}"
        if boin:
            def b(v: int | None) -> str:
                return "-" if v is None else str(v)
            row += f"{b(lv['escalate_max']):>5}{b(lv['deescalate_min']):>5}{b(lv['eliminate_min']):>6}  {'yes' if lv['eliminated'] else ''}"
        lines.append(row)
    nxt = "" if doc["next_level"] is None else f" -> {doc['next_level']}"
    lines += [
        f"(* = current level {doc['current_level']})",
        f"Decision: {doc['decision'].upper()}{nxt}",
        f"MTD estimate: {doc['mtd'] if doc['mtd'] is not None else 'none'}",
        f"Why: {doc['reason']}",
    ]
    if doc.get("cut_id"):
        lines.append(f"Cut: {doc['cut_id']}")
    lines += unassigned_warnings(doc.get("unassigned", []))
    lines += undecided_warnings(doc.get("undecided", []))
    return "\n".join(lines)


def undecided_warnings(undecided: list) -> list[str]:
    """Evaluable subjects counted without a DLT while an AE in their window has no DLT verdict yet."""
    if not undecided:
        return []
    head = (f"WARNING: {len(undecided)} evaluable subject(s) counted without a DLT have an adverse event in the "
            "DLT window whose DLT status is undecided (grade, onset or duration unknown, or not yet adjudicated); the decision may change once it is recorded")
    listed = [f"  {u} ({c}): {r}" for u, c, r in undecided[:MAX_LISTED]]
    more = [f"  ... and {len(undecided) - MAX_LISTED} more (--json lists them under 'undecided')"] if len(undecided) > MAX_LISTED else []
    return [head, *listed, *more]


MAX_LISTED = 10  # subjects named one by one in the text output; --json lists them all


def unassigned_warnings(unassigned: list) -> list[str]:
    """The warning about treated subjects without a protocol dose level: one line per subject for a
    few, else one summary line by dose-level code (a study whose arms are not dose levels has hundreds)."""
    if not unassigned:
        return []
    if len(unassigned) <= MAX_LISTED:
        return [f"WARNING: treated subject {u} has no dose level or arm code: not counted" if c is None else
                f"WARNING: treated subject {u} has dose level or arm {c!r}, not a protocol level: not counted"
                for u, c in unassigned]
    codes: dict[str, int] = {}
    for _u, c in unassigned:
        label = "no dose level or arm" if c is None else repr(c)
        codes[label] = codes.get(label, 0) + 1
    by_code = ", ".join(f"{c} ({n})" for c, n in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])))
    return [f"WARNING: {len(unassigned)} treated subjects have a dose level or arm that is not a protocol level "
            f"and are not counted: {by_code}; --json lists them under 'unassigned'"]


def run(args: argparse.Namespace) -> int:
    from safetyboard.protocol import load_protocol

    protocol = load_protocol(args.protocol)
    design = (args.design or protocol.design).lower()
    target = protocol.target if args.target is None else float(args.target)
    if not 0 < target < 1:
        raise BadInputError(f"--target must be between 0 and 1 (exclusive), got {args.target}")
    opts = _design_options(protocol, design, target)
    extra: dict[str, Any] = {}
    if args.counts is not None:
        levels = parse_counts(args.counts)
        if args.current is not None and not 1 <= args.current <= len(levels):
            raise BadInputError(f"--current {args.current} is out of range 1..{len(levels)}")
        current = None if args.current is None else args.current - 1
        names: list[Any] = list(range(1, len(levels) + 1))
        labels = [f"level {k}" for k in names]
    else:
        if args.current is not None:
            raise BadInputError("--current applies to --counts only (with --db the cut gives the current level)")
        levels, current, names, labels, extra = _from_db(Path(args.db), protocol)
    try:
        result = evaluate(levels, current, design, target, **opts)
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc
    doc = to_json(result, names, labels) | extra
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(to_text(doc))
    if args.json:
        for line in unassigned_warnings(extra.get("unassigned", [])) + undecided_warnings(extra.get("undecided", [])):
            print(line, file=sys.stderr)
    return 0


def _from_db(path: Path, protocol: Any) -> tuple[list[LevelCounts], int | None, list[Any], list[str], dict[str, Any]]:
    import duckdb

    from dashboard.escalation.from_cut import (
        current_cut_id,
        levels_from_cut,
        unassigned_subjects,
        undecided_subjects,
    )

    if not path.is_file():
        raise BadInputError(f"--db {path}: no such file")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BadInputError(f"--db {path}: cannot open as a DuckDB database ({exc})") from exc
    try:
        try:
            levels, current, codes = levels_from_cut(con, protocol)
            unassigned = unassigned_subjects(con, protocol)
            undecided = undecided_subjects(con)
        except duckdb.Error as exc:
            raise BadInputError(f"--db {path}: not a SafetyBoard cut with adam.adsl ({exc})") from exc
        cut_id = current_cut_id(con)
    finally:
        con.close()
    by_code = {d.code: d.label for d in protocol.dose_levels}
    extra = {"db": str(path), "cut_id": cut_id, "unassigned": [list(u) for u in unassigned],
             "undecided": [list(u) for u in undecided]}
    return levels, current, list(codes), [by_code[c] for c in codes], extra
