"""The loader: an export folder -> a new, hashed, audited data cut swapped in atomically.

read (etl/readers) -> map columns (etl/mapping) -> union split domains, pivot SUPP-- onto the
parent -> type and quarantine (etl/normalise) -> raw.* -> derive adam.* (etl/derive) -> meta.*
-> checks (checks/runner) -> atomic swap (etl/cutstore). Rows read = rows loaded + rows
quarantined for every domain; any failure leaves the current cut untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import safetyboard
from etl import cutstore
from etl.domains import REQUIRED_DOMAINS, TRIAL_DOMAINS, spec_for
from etl.mapping import ColumnMapping, load_mapping
from etl.normalise import QUARANTINE_SCHEMA, normalise_domain
from etl.readers import FORMATS, read_file
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol

Progress = Callable[[str], None]


@dataclass
class DomainStats:
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "reasons": dict(sorted(self.reasons.items())),
        }


@dataclass
class LoadResult:
    status: str
    cut_id: str
    db: Path
    cut_date: dt.date | None
    domains: dict[str, DomainStats]
    findings: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "cut_id": self.cut_id,
            "db": str(self.db),
            "cut_date": self.cut_date.isoformat() if self.cut_date else None,
            "domains": {k: v.to_json() for k, v in sorted(self.domains.items())},
        }
        if self.findings is not None:
            out["findings"] = self.findings
        return out


@dataclass(frozen=True)
class SourceFile:
    path: Path
    domain: str  # parent domain, lower case
    supp: bool
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _domain_of(stem: str, mapping: ColumnMapping) -> tuple[str, bool]:
    """(parent domain, is SUPP--) from a file name stem: ae, AE, lbch -> lb, suppae, supplbch -> lb."""
    mapped = mapping.domain_for_stem(stem)
    name = (mapped or stem).lower()
    supp = name.startswith("supp") and len(name) > 4
    if supp:
        name = name[4:]
    # split datasets (SDTMIG 4.1.7): lbch, lbhe, lbur -> lb; a 2-letter parent plus a suffix
    if len(name) > 2 and name[:2] in (*REQUIRED_DOMAINS, "sv", "ds", "rs", "tr", "tu", "qs", "fa", "mh", "cm"):
        name = name[:2]
    return name, supp


def discover(source: Path, mapping: ColumnMapping) -> list[SourceFile]:
    if not source.is_dir():
        raise BadInputError(f"{source}: not a folder (an export is a folder with one file per domain)")
    files = []
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name.startswith((".", "_")) or path.suffix.lower() not in FORMATS:
            continue
        domain, supp = _domain_of(path.stem, mapping)
        files.append(SourceFile(path, domain, supp, _sha256(path)))
    present = {f.domain for f in files if not f.supp}
    missing = [d.upper() for d in REQUIRED_DOMAINS if d not in present]
    if missing:
        raise BadInputError(
            f"{source}: required domain file(s) missing: {', '.join(missing)} "
            "(expected e.g. dm.csv, ex.xpt, ae.csv, lb.xlsx, vs.parquet)"
        )
    return files


def _read(sf: SourceFile, mapping: ColumnMapping, encoding: str) -> pl.DataFrame:
    frame = read_file(sf.path, encoding).frame
    renames = mapping.renames("supp" + sf.domain if sf.supp else sf.domain, frame.columns)
    if renames:
        targets = [renames.get(c, c) for c in frame.columns]
        clash = sorted({t for t in targets if targets.count(t) > 1})
        if clash:
            sources = [c for c in frame.columns if renames.get(c, c) in clash]
            raise BadInputError(
                f"{sf.path.name}: the column mapping gives several columns the same name "
                f"{', '.join(clash)} (from {', '.join(sources)})"
            )
        frame = frame.rename(renames)
    return frame.with_columns(pl.lit(sf.path.name).alias("_FILE"))


def _require_columns(frame: pl.DataFrame, sf: SourceFile) -> None:
    needed = ("USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL") if sf.supp else spec_for(sf.domain).required_columns
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        hint = ""
        data_cols = [c for c in frame.columns if c not in ("_ROW", "_FILE")]
        if len(data_cols) == 1:
            hint = f" (the header was read as one column {data_cols[0][:60]!r}: wrong delimiter?)"
        raise BadInputError(f"{sf.path.name}: required column(s) missing: {', '.join(missing)}{hint}")


def _pivot_supp(
    parent: pl.DataFrame, supp: pl.DataFrame, domain: str
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Pivot SUPP-- QNAM/QVAL onto the parent by USUBJID + IDVAR/IDVARVAL (or subject when IDVAR empty).

    Returns (parent with QNAM columns, quarantined supp rows, supp rows loaded).
    """
    supp = supp.with_columns(
        pl.col(c).str.strip_chars() for c in ("USUBJID", "IDVAR", "IDVARVAL", "QNAM")
    ).with_columns(pl.col("QNAM").str.to_uppercase(), pl.col("IDVAR").str.to_uppercase())
    quarantine: list[pl.DataFrame] = []
    data_cols = [c for c in supp.columns if c not in ("_FILE", "_ROW")]

    def q(rows: pl.DataFrame, reason: str, detail: pl.Expr) -> None:
        if rows.height:
            quarantine.append(
                rows.select(
                    pl.lit(f"SUPP{domain.upper()}").alias("domain"),
                    pl.col("_FILE").alias("file"),
                    pl.col("_ROW").cast(pl.Int64).alias("row_number"),
                    pl.lit(reason).alias("reason"),
                    detail.alias("detail"),
                    pl.struct(data_cols).struct.json_encode().alias("record"),
                )
            )

    key = ["USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
    incomplete = supp.filter(pl.col("USUBJID").is_null() | pl.col("QNAM").is_null())
    q(incomplete, "missing_required", pl.lit("USUBJID or QNAM is empty"))
    supp = supp.filter(pl.col("USUBJID").is_not_null() & pl.col("QNAM").is_not_null()).sort(["_FILE", "_ROW"])
    first = pl.struct(key).is_first_distinct()
    q(supp.filter(~first), "duplicate_key", pl.format("duplicate QNAM {} for the same record", pl.col("QNAM")))
    supp = supp.filter(first)

    loaded = 0
    idvars = supp["IDVAR"].fill_null("").unique().sort().to_list()
    for idvar in idvars:
        part = supp.filter(pl.col("IDVAR").fill_null("") == idvar)
        join_col = idvar if idvar else None
        if join_col and join_col not in parent.columns:
            q(part, "orphan_supp", pl.format("IDVAR {} is not a column of the parent domain", pl.col("IDVAR")))
            continue
        keys = ["USUBJID", join_col] if join_col else ["USUBJID"]
        left = parent.select(keys).unique()
        part = part.with_columns(pl.col("IDVARVAL").alias(join_col) if join_col else pl.lit(None))
        matched = part.join(left, on=keys, how="semi")
        q(
            part.join(left, on=keys, how="anti"),
            "orphan_supp",
            pl.format("no parent record {}={} for subject {}", pl.col("IDVAR"), pl.col("IDVARVAL"), pl.col("USUBJID")),
        )
        loaded += matched.height
        wide = matched.pivot(on="QNAM", index=keys, values="QVAL", aggregate_function="first")
        clash = [c for c in wide.columns if c not in keys and c in parent.columns]
        if clash:
            wide = wide.drop(clash)
        parent = parent.join(wide, on=keys, how="left")
    qframe = pl.concat(quarantine) if quarantine else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return parent, qframe.cast(QUARANTINE_SCHEMA), loaded


def _code_version() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{safetyboard.__version__}+{rev}" if rev else safetyboard.__version__


def data_cut_date(raw: dict[str, pl.DataFrame], today: dt.date | None = None) -> dt.date | None:
    """The latest complete date in the clinical domains (never later than today)."""
    today = today or dt.date.today()
    latest: dt.date | None = None
    for domain in ("ae", "lb", "vs", "ex", "sv", "ds"):
        frame = raw.get(domain)
        if frame is None:
            continue
        for col in frame.columns:
            if col.endswith("DTC_DT") and f"{col}F" in frame.columns:
                value = frame.filter(pl.col(f"{col}F").is_null() & (pl.col(col) <= today))[col].max()
                if value is not None and (latest is None or value > latest):
                    latest = value
    return latest


def _write_table(con: duckdb.DuckDBPyConnection, schema: str, name: str, frame: pl.DataFrame) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_sb_frame", frame)
    con.execute(f'CREATE OR REPLACE TABLE {schema}."{name}" AS SELECT * FROM _sb_frame')
    con.unregister("_sb_frame")


def _previous_meta(db: Path) -> dict[str, pl.DataFrame]:
    if not db.exists():
        return {}
    out: dict[str, pl.DataFrame] = {}
    try:
        with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
            tables = {
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta'"
                ).fetchall()
            }
            for name in ("loads", "findings", "check_runs"):
                if name in tables:
                    out[name] = con.sql(f"SELECT * FROM meta.{name}").pl()
    except duckdb.Error:
        return {}
    return out


def read_export(
    source: Path,
    mapping: ColumnMapping,
    encoding: str = "auto",
    progress: Progress | None = None,
) -> tuple[list[SourceFile], dict[str, pl.DataFrame], pl.DataFrame, dict[str, DomainStats], dict[str, int]]:
    """Read, type and quarantine an export. Returns (files, raw frames, quarantine, stats, rows per file)."""
    files = discover(source, mapping)
    texts: dict[str, list[pl.DataFrame]] = {}
    supps: dict[str, list[pl.DataFrame]] = {}
    stats: dict[str, DomainStats] = {}
    rows_per_file: dict[str, int] = {}
    for sf in files:
        if progress:
            progress(f"reading {sf.path.name}")
        frame = _read(sf, mapping, encoding)
        _require_columns(frame, sf)
        rows_per_file[sf.path.name] = frame.height
        key = ("supp" + sf.domain) if sf.supp else sf.domain
        st = stats.setdefault(key, DomainStats())
        st.files.append(sf.path.name)
        st.rows_read += frame.height
        (supps if sf.supp else texts).setdefault(sf.domain, []).append(frame)

    raw: dict[str, pl.DataFrame] = {}
    quarantined: list[pl.DataFrame] = []
    known: pl.Series | None = None
    for domain in ["dm", *sorted(d for d in texts if d != "dm")]:
        if progress:
            progress(f"typing {domain.upper()}")
        frame = pl.concat(texts[domain], how="diagonal_relaxed")
        if domain in supps:
            supp = pl.concat(supps[domain], how="diagonal_relaxed")
            frame, q_supp, supp_loaded = _pivot_supp(frame, supp, domain)
            st = stats["supp" + domain]
            st.rows_loaded += supp_loaded
            st.rows_quarantined += q_supp.height
            for reason, n in q_supp.group_by("reason").len().iter_rows():
                st.reasons[reason] = st.reasons.get(reason, 0) + n
            quarantined.append(q_supp)
        subjects = None if domain == "dm" or domain in TRIAL_DOMAINS else known
        loaded, q = normalise_domain(frame, spec_for(domain), subjects)
        if domain == "dm":
            known = loaded["USUBJID"]
        raw[domain] = loaded
        st = stats[domain]
        st.rows_loaded += loaded.height
        st.rows_quarantined += q.height
        for reason, n in q.group_by("reason").len().iter_rows():
            st.reasons[reason] = st.reasons.get(reason, 0) + n
        quarantined.append(q)
    for domain in supps:
        if domain not in texts:  # SUPP-- without its parent: nothing to attach to
            supp = pl.concat(supps[domain], how="diagonal_relaxed")
            q = supp.select(
                pl.lit(f"SUPP{domain.upper()}").alias("domain"),
                pl.col("_FILE").alias("file"),
                pl.col("_ROW").cast(pl.Int64).alias("row_number"),
                pl.lit("orphan_supp").alias("reason"),
                pl.lit(f"no {domain.upper()} file in the export").alias("detail"),
                pl.struct([c for c in supp.columns if c not in ("_FILE", "_ROW")]).struct.json_encode().alias("record"),
            )
            st = stats["supp" + domain]
            st.rows_quarantined += q.height
            st.reasons["orphan_supp"] = q.height
            quarantined.append(q)
    quarantine = pl.concat([q.cast(QUARANTINE_SCHEMA) for q in quarantined]) if quarantined else pl.DataFrame(
        schema=QUARANTINE_SCHEMA
    )
    for name, st in stats.items():
        assert st.rows_read == st.rows_loaded + st.rows_quarantined, f"row accounting broken for {name}"
    return files, raw, quarantine, stats, rows_per_file


def load_export(
    source: Path,
    db: Path,
    protocol: Protocol,
    mapping: Path | None = None,
    encoding: str = "auto",
    run_checks: bool = True,
    progress: Progress | None = None,
) -> LoadResult:
    """Load `source` into a new cut and make it current at `db`. Raises BadInputError on bad input."""
    source, db = Path(source), Path(db)
    colmap = load_mapping(Path(mapping) if mapping else None)
    files, raw, quarantine, stats, rows_per_file = read_export(source, colmap, encoding, progress)

    previous = _previous_meta(db)
    # loaded_at keeps microseconds so that "the latest cut" is well defined when two loads fall in
    # one second; a cut id already used (same second, same files) gets a -2, -3, ... suffix
    loaded_at = dt.datetime.now(dt.UTC)
    digest = hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()[:8]
    cut_id = f"{loaded_at:%Y%m%dT%H%M%SZ}-{digest}"
    used = set(previous["loads"]["cut_id"].to_list()) if "loads" in previous else set()
    n = 1
    while (cut_id if n == 1 else f"{cut_id}-{n}") in used:
        n += 1
    cut_id = cut_id if n == 1 else f"{cut_id}-{n}"
    cut_date = data_cut_date(raw)

    if progress:
        progress("deriving analysis tables")
    from etl.derive import build_adam

    adam = build_adam(raw, protocol, cut_date=cut_date)

    previous_cut = cutstore.current_cut_id(db)
    findings_summary: dict[str, Any] | None = None
    with cutstore.new_cut_file(db) as (tmp, con):
        for name, frame in raw.items():
            _write_table(con, "raw", name, frame)
        for name, frame in adam.items():
            _write_table(con, "adam", name, frame)
        _write_table(con, "meta", "quarantine", quarantine.with_columns(pl.lit(cut_id).alias("cut_id")))
        file_rows = []
        for sf in files:
            key = ("supp" + sf.domain) if sf.supp else sf.domain
            file_rows.append(
                {"file": sf.path.name, "domain": key.upper(), "sha256": sf.sha256, "rows_read": rows_per_file[sf.path.name]}
            )
        load_row = pl.DataFrame(
            {
                "cut_id": [cut_id],
                "loaded_at": [loaded_at.replace(tzinfo=None)],
                "cut_date": [cut_date],
                "source": [str(source.resolve())],
                "files": [json.dumps(file_rows)],
                "domains": [json.dumps({k: v.to_json() for k, v in sorted(stats.items())})],
                "code_version": [_code_version()],
                "protocol_file": [str(protocol.path)],
                "protocol_sha256": [protocol.sha256],
                "mapping_sha256": [colmap.sha256],
                "status": ["ok"],
            },
            schema_overrides={"cut_date": pl.Date, "mapping_sha256": pl.String},
        )
        history = previous.get("loads")
        loads = pl.concat([history, load_row], how="diagonal_relaxed") if history is not None else load_row
        _write_table(con, "meta", "loads", loads)
        for name in ("findings", "check_runs"):
            if name in previous:
                _write_table(con, "meta", name, previous[name])
        if run_checks:
            if progress:
                progress("running data-quality checks")
            from checks.runner import run_checks as run_all_checks

            run = run_all_checks(con, protocol, cut_id, data_docs_dir=None, db_path=db)
            findings_summary = run.summary() if hasattr(run, "summary") else None
    cutstore.publish(tmp, db, previous_cut)
    return LoadResult("ok", cut_id, db, cut_date, stats, findings_summary)
