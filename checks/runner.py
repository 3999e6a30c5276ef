"""Run every data-quality check on a cut and store the findings with their history.

`run_checks` works inside an open read-write connection (the loader calls it on the new cut before
the swap); `check_cut` re-runs the checks on the current cut through a private copy and the cut
store's atomic swap (a dashboard may be reading the current file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from checks.config import SEVERITIES, ChecksConfig, load_checks_config
from checks.findings import previous_cut_id, previous_open_findings, with_history, write_findings
from checks.rules import (
    Frame,
    absent_columns,
    build_frames,
    reported_absent,
    table_columns,
    with_absent_columns,
)
from etl.derive.lab_units import norm_unit
from safetyboard.errors import BadInputError, FindingsGateError
from safetyboard.protocol import Protocol

OPEN = ("new", "persisting")


@dataclass
class CheckRun:
    """The outcome of one run: every finding (with status) and counts of the open ones."""

    cut_id: str
    findings: pl.DataFrame  # checks.findings.FINDINGS_SCHEMA, including resolved rows
    previous_cut_id: str | None = None
    data_docs: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # frame -> why it could not run
    gx_exceptions: list[dict[str, str]] = field(default_factory=list)
    evaluated: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    severities: dict[str, str] = field(default_factory=dict)  # check id -> configured severity
    # 'raw.lb' -> optional variables this export lacks, read by the checks as empty (checks.rules.OPTIONAL_COLUMNS)
    columns_absent: dict[str, list[str]] = field(default_factory=dict)
    skipped_checks: dict[str, list[str]] = field(default_factory=dict)  # frame not run -> the check ids it holds

    @property
    def open_findings(self) -> pl.DataFrame:
        return self.findings.filter(pl.col("status").is_in(OPEN))

    def by_severity(self) -> dict[str, int]:
        counts = dict(self.open_findings.group_by("severity").len().iter_rows())
        return {s: int(counts.get(s, 0)) for s in SEVERITIES}

    def by_check(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for check_id in sorted(set(self.evaluated) | set(self.findings["check_id"].to_list())):
            rows = self.findings.filter(pl.col("check_id") == check_id)
            status = dict(rows.group_by("status").len().iter_rows())
            sev = self.severities.get(check_id) or (rows["severity"][0] if rows.height else None)
            out[check_id] = {"severity": sev, "open": int(status.get("new", 0) + status.get("persisting", 0)),
                             "new": int(status.get("new", 0)), "persisting": int(status.get("persisting", 0)),
                             "resolved": int(status.get("resolved", 0)), "rows_checked": self.evaluated.get(check_id, 0)}
        return out

    def gate(self, fail_on: str | None) -> int:
        """Open findings at or above `fail_on` ('error' or 'warning'); 0 when no gate."""
        if fail_on is None:
            return 0
        if fail_on not in ("error", "warning"):
            raise BadInputError(f"--fail-on must be error or warning, not {fail_on!r}")
        levels = ["error"] if fail_on == "error" else ["error", "warning"]
        return self.open_findings.filter(pl.col("severity").is_in(levels)).height

    def summary(self) -> dict[str, Any]:
        """JSON-able counts (the loader prints this after a load)."""
        return {"cut_id": self.cut_id, "previous_cut_id": self.previous_cut_id,
                "open": self.open_findings.height, "by_severity": self.by_severity(), "by_check": self.by_check(),
                "resolved": self.findings.filter(pl.col("status") == "resolved").height,
                "data_docs": str(self.data_docs) if self.data_docs else None, "skipped": self.skipped,
                "columns_absent": self.columns_absent, "skipped_checks": self.skipped_checks, "gx_exceptions": self.gx_exceptions, "seconds": round(self.seconds, 2)}


def default_data_docs_dir(db: Path) -> Path:
    """<db folder>/<db stem>.gx/data_docs (beside the current cut file)."""
    return db.parent / f"{db.stem}.gx" / "data_docs"


def _lab_units_seen(con: duckdb.DuckDBPyConnection, cfg: ChecksConfig, tables: dict[str, list[str]]) -> pl.DataFrame:
    """Each (LBTESTCD, LBSTRESU) pair of the cut and whether the lab grading knows that unit for the test,
    decided by the grading's own unit normalisation (etl/derive/lab_units.norm_unit: case, spaces, micro
    sign; no unit is '' for INR and pH), so a unit the grading converts is never 'unexpected'. The pairs
    are few (distinct values), so this costs one aggregate over raw.lb."""
    schema = {"LBTESTCD": pl.String, "LBSTRESU": pl.String, "known": pl.Boolean}
    if not {"LBTESTCD", "LBSTRESU"} <= set(tables.get("raw.lb", [])):
        return pl.DataFrame(schema=schema)
    seen = con.sql("SELECT DISTINCT upper(LBTESTCD) AS LBTESTCD, LBSTRESU FROM raw.lb").pl()
    accepted = pl.DataFrame([(k, u) for k, units in cfg.lab_units.items() for u in units],
                            schema={"LBTESTCD": pl.String, "unit": pl.String}, orient="row")
    accepted = accepted.select("LBTESTCD", norm_unit(pl.col("unit")).alias("_N")).unique().with_columns(pl.lit(True).alias("known"))
    return (seen.with_columns(norm_unit(pl.col("LBSTRESU")).alias("_N"))
            .join(accepted, on=["LBTESTCD", "_N"], how="left")
            .select("LBTESTCD", "LBSTRESU", pl.col("known").fill_null(False)))


def _register_lookups(con: duckdb.DuckDBPyConnection, cfg: ChecksConfig, tables: dict[str, list[str]]) -> list[str]:
    ranges = cfg.param("vs_implausible", "ranges")
    lookups = {
        "_ck_vs_ranges": pl.DataFrame({"VSTESTCD": [k.upper() for k in ranges],
                                       "lo": [float(v[0]) for v in ranges.values()],
                                       "hi": [float(v[1]) for v in ranges.values()]}),
        "_ck_lab_units": pl.DataFrame([(k, u) for k, units in cfg.lab_units.items() for u in units],
                                      schema={"LBTESTCD": pl.String, "unit": pl.String}, orient="row"),
        "_ck_lab_units_seen": _lab_units_seen(con, cfg, tables),
        "_ck_lab_terms": pl.DataFrame([(k, t) for k, terms in cfg.lab_ae_terms.items() for t in terms],
                                      schema={"k": pl.String, "term": pl.String}, orient="row"),
        "_ck_lab_ranges": pl.DataFrame([(k, lo, hi) for k, (lo, hi) in cfg.lab_range_needs.items()],
                                       schema={"LBTESTCD": pl.String, "needs_lo": pl.Boolean, "needs_hi": pl.Boolean},
                                       orient="row"),
    }
    for name, frame in lookups.items():
        con.register(name, frame)
    return list(lookups)


def _params(frame: Frame, cut_id: str, sql: str) -> dict[str, Any] | None:
    """The frame's parameters that `sql` uses ($cut_id is this cut)."""
    params = {k: (cut_id if k == "cut_id" else v) for k, v in frame.params.items()}
    return {k: v for k, v in params.items() if f"${k}" in sql} or None


def frame_applies(con: duckdb.DuckDBPyConnection, frame: Frame, cut_id: str,
                  absent: dict[str, list[str]] | None = None) -> bool:
    """False when the frame's check does not apply to this study (Frame.applies)."""
    if frame.applies is None:
        return True
    sql = with_absent_columns(frame.applies, absent or {})
    rows = con.sql(sql, params=_params(frame, cut_id, sql)).fetchall()
    return bool(rows and rows[0][0])


def is_prefiltered(frame: Frame, max_rows: int, sizes: dict[str, int]) -> bool:
    """A frame over a large source table is validated on the rows that break one of its rules only."""
    sources = (frame.source,) if isinstance(frame.source, str) else frame.source
    return sum(sizes.get(t, 0) for t in sources) > max_rows


def collect_frame(con: duckdb.DuckDBPyConnection, frame: Frame, cut_id: str, max_rows: int,
                  sizes: dict[str, int], absent: dict[str, list[str]] | None = None) -> pl.DataFrame:
    """The frame's rows; for a large source table only the rows that break one of its rules. Optional
    variables the export lacks (`absent`, checks.rules.absent_columns) are read as NULL."""
    sql = with_absent_columns(frame.sql, absent or {})
    if is_prefiltered(frame, max_rows, sizes):
        sql = f"SELECT * FROM ({sql}) WHERE " + " OR ".join(c.violation() for c in frame.checks)
    return con.sql(sql, params=_params(frame, cut_id, sql)).pl()


def judged_count(con: duckdb.DuckDBPyConnection, frame: Frame, cut_id: str, rows: int, prefiltered: bool,
                 absent: dict[str, list[str]] | None = None) -> int:
    """How many records the frame's checks judged (`rows_checked`): its population for a frame that returns
    only the failing records, every row of its SQL for one validated on its failing rows only (a large
    table), else the `rows` validated."""
    if frame.population is not None:
        sql = with_absent_columns(frame.population, absent or {})
    elif prefiltered:
        sql = f"SELECT count(*) FROM ({with_absent_columns(frame.sql, absent or {})})"
    else:
        return rows
    return int(con.sql(sql, params=_params(frame, cut_id, sql)).fetchall()[0][0])


def run_checks(con: duckdb.DuckDBPyConnection, protocol: Protocol, cut_id: str, *,
               data_docs_dir: Path | None = None, db_path: Path | None = None,
               config: ChecksConfig | None = None) -> CheckRun:
    """Run every check on the cut open in `con`, write meta.findings and meta.check_runs, return the run.

    `db_path` is the current cut's final path: Data Docs go beside it unless `data_docs_dir` is given
    (no Data Docs when both are None).
    """
    from checks.gx_runner import validate_frames

    started = time.perf_counter()
    cfg = config or load_checks_config()
    tables = table_columns(con)
    sizes = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
             for name in tables if name.split(".")[0] in ("raw", "adam")}
    if data_docs_dir is None and db_path is not None:
        data_docs_dir = default_data_docs_dir(Path(db_path))
    if data_docs_dir is not None:
        data_docs_dir = Path(data_docs_dir).resolve()  # recorded in meta.check_runs for the dashboard
    absent = absent_columns(tables)
    registered = _register_lookups(con, cfg, tables)
    collected: list[tuple[Frame, pl.DataFrame]] = []
    skipped: dict[str, str] = {}
    held: dict[str, list[str]] = {}  # frame -> its check ids, for the frames that did not run
    judged: dict[str, int] = {}  # check id -> records judged (rows_checked)
    try:
        for frame in build_frames(protocol, cfg, tables):
            held[frame.name] = sorted({c.check_id for c in frame.checks})
            missing = [t for t in frame.requires if t not in tables]
            if missing:
                skipped[frame.name] = f"table(s) {', '.join(missing)} not in this cut"
                continue
            try:
                if not frame_applies(con, frame, cut_id, absent):
                    skipped[frame.name] = f"not applicable: {frame.not_applicable}"
                    continue
                data = collect_frame(con, frame, cut_id, cfg.gx_max_rows, sizes, absent)
                n = judged_count(con, frame, cut_id, data.height, is_prefiltered(frame, cfg.gx_max_rows, sizes), absent)
                for check in frame.checks:
                    judged[check.check_id] = judged.get(check.check_id, 0) + n
                collected.append((frame, data))
            except duckdb.Error as exc:  # e.g. a column the check needs is absent from this export
                skipped[frame.name] = f"cannot run: {str(exc).splitlines()[0]}"  # reported, never silent
    finally:
        for name in registered:
            con.unregister(name)
    outcome = validate_frames(collected, data_docs_dir)

    current = outcome.findings.with_columns(
        pl.col("check_id").replace_strict({c: cfg.severity(c) for c in cfg.checks}, default="error").alias("severity"),
    ).unique(["check_id", "domain", "usubjid", "record_key"], keep="first", maintain_order=True)
    prev = previous_cut_id(con, cut_id)
    findings = with_history(current, previous_open_findings(con, prev), cut_id)
    if "adam.adsl" in tables:
        sites = con.sql("SELECT USUBJID AS usubjid, SITEID AS site_ FROM adam.adsl").pl()
        findings = findings.join(sites, on="usubjid", how="left").with_columns(
            pl.coalesce("site", "site_").alias("site")).drop("site_")
    run = CheckRun(cut_id, findings, prev, outcome.data_docs, skipped, outcome.exceptions, judged,
                   severities={c: cfg.severity(c) for c in cfg.checks}, columns_absent=reported_absent(absent),
                   skipped_checks={f: held[f] for f in skipped})
    write_findings(con, cut_id, findings)
    run.seconds = time.perf_counter() - started
    con.execute("DELETE FROM meta.check_runs WHERE cut_id = ?", [cut_id])
    con.execute("INSERT INTO meta.check_runs (cut_id, run_at, seconds, n_open, by_severity, by_check, data_docs, "
                "gx_version, gx_exceptions, skipped, columns_absent, skipped_checks) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        cut_id, dt.datetime.now(dt.UTC).replace(tzinfo=None), run.seconds, run.open_findings.height,
        json.dumps(run.by_severity()), json.dumps(run.by_check()), str(run.data_docs) if run.data_docs else None,
        outcome.gx_version, json.dumps(run.gx_exceptions), json.dumps(skipped), json.dumps(run.columns_absent),
        json.dumps(run.skipped_checks)])
    return run


def check_cut(db: Path, protocol: Protocol, fail_on: str | None = None, *,
              data_docs_dir: Path | None = None) -> CheckRun:
    """Re-run the checks on the current cut at `db` (private copy, then atomic swap; never in place).

    Raises FindingsGateError (exit 3) when open findings reach `fail_on` ('error' or 'warning').
    """
    from etl import cutstore

    db = Path(db)
    if not db.is_file():
        raise BadInputError(f"{db}: no such cut file")
    cut_id = cutstore.current_cut_id(db)
    if cut_id is None:
        raise BadInputError(f"{db}: not a SafetyBoard cut (no meta.loads row with status ok)")
    before = cutstore.file_state(db)
    tmp = cutstore.copy_current_to_temp(db)
    try:
        with contextlib.closing(duckdb.connect(str(tmp))) as con:
            run = run_checks(con, protocol, cut_id, data_docs_dir=data_docs_dir or default_data_docs_dir(db), db_path=db)
            con.execute("CHECKPOINT")
        # same cut, re-checked: nothing to archive; refused when a load swapped in a new cut meanwhile
        cutstore.publish_unless_changed(tmp, db, None, before, "check")
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    n = run.gate(fail_on)
    if n:
        raise FindingsGateError(f"{n} open finding(s) at or above '{fail_on}' in cut {cut_id}")
    return run
