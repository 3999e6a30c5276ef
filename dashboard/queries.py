"""All SQL the dashboard runs: read-only, parameterised, one function per data need.

Each function takes a DuckDB connection (read-only cut) and the global `Filters`, and returns a
Polars frame. Subject filters are applied through adam.adsl (see `filters.subject_predicate`).
Tables that a cut may lack (meta.findings before checks ran, raw.ex in an odd export) give an
empty frame with the expected columns rather than an error.
"""

from __future__ import annotations

import functools
import json

import duckdb
import polars as pl

from dashboard.figures.heatmap import SEVERE_GRADE
from dashboard.filters import Filters, subject_predicate


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or []).pl()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    rows = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        params=[schema, table],
    ).fetchall()
    return rows[0][0] > 0


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.sql(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        params=[schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _subjects(filters: Filters) -> tuple[str, list]:
    """`USUBJID IN (...)` restricted to the filtered subjects, with its parameters."""
    pred, params = subject_predicate(filters)
    return f"USUBJID IN (SELECT USUBJID FROM adam.adsl WHERE {pred})", params


# ---------------------------------------------------------------- cut and loads (meta.loads)
def loads(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every cut's meta.loads row, oldest first; NOTES = the load's warnings joined (e.g. the history
    broke because the previous current file was unreadable), empty for cuts written before the column."""
    notes = ("array_to_string(CAST(json_extract_string(notes, '$[*]') AS VARCHAR[]), ' | ')"
             if "notes" in columns_of(con, "meta", "loads") else "NULL")
    return _frame(
        con,
        "SELECT cut_id, loaded_at, cut_date, source, files, domains, code_version, protocol_sha256, status, "
        f"{notes} AS NOTES FROM meta.loads ORDER BY loaded_at",
    )


def current_cut(con: duckdb.DuckDBPyConnection) -> dict:
    """The current cut's meta.loads row (the latest successful load) as a dict."""
    # how the cut date was set: given with --cut-date, or derived from the data (cuts before the column: derived)
    source = "cut_date_source" if "cut_date_source" in columns_of(con, "meta", "loads") else "'derived'"
    df = _frame(
        con,
        f"SELECT cut_id, loaded_at, cut_date, {source} AS cut_date_source, source, files, domains, code_version, status "
        "FROM meta.loads WHERE status = 'ok' ORDER BY loaded_at DESC LIMIT 1",
    )
    if df.is_empty():
        return {}
    return df.row(0, named=True)


def source_files(load_row: dict) -> pl.DataFrame:
    """The source files of one load (file, domain, sha256, rows read) from its JSON column."""
    items = json.loads(load_row.get("files") or "[]")
    schema = {"file": pl.String, "domain": pl.String, "sha256": pl.String, "rows_read": pl.Int64}
    return pl.DataFrame(
        [{k: item.get(k) for k in schema} for item in items], schema=schema, orient="row"
    )


def domain_rows(load_row: dict) -> pl.DataFrame:
    """Rows read / loaded / quarantined per domain of one load."""
    items = json.loads(load_row.get("domains") or "{}")
    schema = {"domain": pl.String, "rows_read": pl.Int64, "rows_loaded": pl.Int64, "rows_quarantined": pl.Int64}
    rows = [
        {"domain": d.upper(), **{k: v.get(k) for k in ("rows_read", "rows_loaded", "rows_quarantined")}}
        for d, v in sorted(items.items())
    ]
    return pl.DataFrame(rows, schema=schema, orient="row")


def quarantine(con: duckdb.DuckDBPyConnection, cut_id: str) -> pl.DataFrame:
    """Quarantined rows of the cut: file, row, reason, detail and the raw record."""
    return _frame(
        con,
        "SELECT upper(domain) AS domain, file, row_number AS row, reason, detail, record "
        "FROM meta.quarantine WHERE cut_id = ? ORDER BY domain, file, row_number",
        [cut_id],
    )


# ---------------------------------------------------------------- subjects
# a subject whose arm is not a protocol dose level (DOSELVLC null, reason in DOSELVLRSN) is shown under
# this label in every table and figure by dose level: never left out of a median or a share
UNASSIGNED = "(unassigned)"
_DOSE_LABEL = f"coalesce(s.DOSELVLC, '{UNASSIGNED}') AS DOSELVLC"


def subjects(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """adam.adsl rows of the filtered subjects (the columns the pages use)."""
    pred, params = subject_predicate(filters)
    cols = set(columns_of(con, "adam", "adsl"))
    wanted = [
        "USUBJID", "SITEID", "AGE", "AGEGR", "SEX", "DOSELVL", "DOSELVLC", "DOSELVLN", "COHORTN", "COHORT",
        "TRTSDT", "TRTEDT", "SAFFL", "DLTEVLFL", "DLTEVLRSN", "DLTFL", "DLTCFL", "DLTWEND", "DLTWCFL",
        "DLTWREM", "DTHFL",
    ]
    select = ", ".join(f'"{c}"' if c in cols else f'NULL AS "{c}"' for c in wanted)
    return _frame(con, f"SELECT {select} FROM adam.adsl WHERE {pred} ORDER BY DOSELVL, COHORTN, USUBJID", params)


def subject_count(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    """Number of adam.adsl subjects the filters select."""
    pred, params = subject_predicate(filters)
    return con.sql(f"SELECT count(*) FROM adam.adsl WHERE {pred}", params=params).fetchall()[0][0]


def filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Distinct values of each filter column in adam.adsl (for the sidebar)."""
    from dashboard.filters import FILTER_COLUMNS

    cols = set(columns_of(con, "adam", "adsl"))
    out: dict[str, list[str]] = {name: [] for name in FILTER_COLUMNS}
    parts = []
    # one query for every filter (one round trip: each page's sidebar runs this on a cold cache)
    for i, (_key, column, _label) in enumerate(FILTER_COLUMNS.values()):
        if column in cols:
            # dose levels in protocol order, the others by their text
            order = "CAST(min(DOSELVL) AS DOUBLE)" if column == "DOSELVLC" and "DOSELVL" in cols else "CAST(NULL AS DOUBLE)"
            parts.append(f'SELECT {i} AS f, CAST("{column}" AS VARCHAR) AS v, {order} AS o FROM adam.adsl '
                         f'WHERE "{column}" IS NOT NULL GROUP BY 2')
    if parts:
        names = list(FILTER_COLUMNS)
        sql = " UNION ALL ".join(f"({p})" for p in parts) + " ORDER BY f, o, v"
        for f, v, _o in con.execute(sql).fetchall():
            out[names[f]].append(v)
    return out


def subjects_per_dose(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """Per dose level: subjects, treated (SAFFL), DLT-evaluable, with a DLT."""
    pred, params = subject_predicate(filters)
    return _frame(
        con,
        f"SELECT DOSELVL, coalesce(DOSELVLC, '{UNASSIGNED}') AS DOSELVLC, count(*) AS subjects, "
        "count(*) FILTER (WHERE SAFFL = 'Y') AS treated, count(*) FILTER (WHERE DLTEVLFL = 'Y') AS dlt_evaluable, "
        "count(*) FILTER (WHERE DLTFL = 'Y') AS with_dlt "
        f"FROM adam.adsl WHERE {pred} GROUP BY ALL ORDER BY DOSELVL NULLS LAST",
        params,
    )


# ---------------------------------------------------------------- adverse events
_AE_COLS = (
    f"e.USUBJID, s.DOSELVL, {_DOSE_LABEL}, s.COHORT, e.AESEQ, e.AETERM, e.AEDECOD, e.AEBODSYS, e.AETOXGRN, "
    "e.ASTDT, e.AENDT, e.ASTDY, e.AENDY, e.CYCLE, e.TRTEMFL, e.AESER, e.DLTFL, e.DLTCFL, e.DLTRULE"
)


def adverse_events(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """adam.adae joined to the subject's dose level, filtered subjects."""
    pred, params = subject_predicate(filters, "s")
    return _frame(
        con,
        f"SELECT {_AE_COLS} FROM adam.adae e JOIN adam.adsl s USING (USUBJID) WHERE {pred} "
        "ORDER BY s.DOSELVL, e.USUBJID, e.ASTDT, e.AESEQ",
        params,
    )


def dlt_listing(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """AEs that meet a protocol DLT rule (DLTCFL) or that the investigator flagged (DLTFL)."""
    pred, params = subject_predicate(filters, "s")
    return _frame(
        con,
        f"SELECT e.USUBJID, {_DOSE_LABEL}, e.AESEQ, e.AEDECOD, e.AETERM, e.AETOXGRN, e.ASTDY, e.DLTRULE, "
        "e.DLTCFL, e.DLTFL FROM adam.adae e JOIN adam.adsl s USING (USUBJID) "
        f"WHERE (e.DLTCFL = 'Y' OR e.DLTFL = 'Y') AND {pred} ORDER BY s.DOSELVL, e.USUBJID, e.ASTDY, e.AESEQ",
        params,
    )


_EXPOSURE_SCHEMA = {"USUBJID": pl.String, "EXTRT": pl.String, "EXDOSE": pl.Float64, "STDY": pl.Int64,
                    "ENDY": pl.Int64}


def _exposure_rows(con: duckdb.DuckDBPyConnection, where: str, params: list) -> pl.DataFrame:
    """Dosing records (raw.ex) with study days from the subject's first dose. EXENDTC is optional in SDTM (a
    single injection has none: a real export's EX without the column): a record without an end ends on its start."""
    cols = columns_of(con, "raw", "ex")  # none: the cut has no raw.ex
    if not cols:
        return pl.DataFrame(schema=_EXPOSURE_SCHEMA)
    # dose dates as the derivations read them: complete dates only (etl/derive/exposure.exposure_intervals), so a
    # partial EXSTDTC is not drawn at its imputed 1st of the month, nor a partial EXENDTC to the month's end
    end_ok = "x.EXENDTC_DTF IS NULL" if "EXENDTC_DTF" in cols else "true"
    end = f"coalesce(CASE WHEN {end_ok} THEN x.EXENDTC_DT END, x.EXSTDTC_DT)" if "EXENDTC_DT" in cols else "x.EXSTDTC_DT"
    start_ok = " AND x.EXSTDTC_DTF IS NULL" if "EXSTDTC_DTF" in cols else ""
    return _frame(
        con,
        "SELECT x.USUBJID, x.EXTRT, x.EXDOSE, "
        "CAST(x.EXSTDTC_DT - s.TRTSDT + 1 AS BIGINT) AS STDY, "
        f"CAST({end} - s.TRTSDT + 1 AS BIGINT) AS ENDY "
        f"FROM raw.ex x JOIN adam.adsl s USING (USUBJID) WHERE {where} AND x.EXSTDTC_DT IS NOT NULL{start_ok} "
        "ORDER BY x.USUBJID, STDY",
        params,
    )


def exposure(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """Dosing records (raw.ex) of the selected subjects, with study days from the subject's first dose."""
    pred, params = subject_predicate(filters, "s")
    return _exposure_rows(con, pred, params)


# ---------------------------------------------------------------- vital signs
def blood_pressure(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """SBP and DBP records with BP category (BPCAT from the value; not an AE grade)."""
    pred, params = subject_predicate(filters, "s")
    return _frame(
        con,
        f"SELECT v.USUBJID, s.DOSELVL, {_DOSE_LABEL}, v.PARAMCD, v.ADT, v.ADY, v.CYCLE, v.AVAL, v.BPCAT "
        "FROM adam.advs v JOIN adam.adsl s USING (USUBJID) "
        f"WHERE v.PARAMCD IN ('SYSBP', 'DIABP') AND v.AVAL IS NOT NULL AND {_PLAUSIBLE_BP} AND {pred} "
        "ORDER BY s.DOSELVL, v.USUBJID, v.ADY",
        [*_plausible_bp(), *params],
    )


def hypertension_events(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """Hypertension AEs (MedDRA PT containing 'HYPERTENSION'; the verbatim term while not coded)."""
    pred, params = subject_predicate(filters, "s")
    return _frame(
        con,
        f"SELECT e.USUBJID, {_DOSE_LABEL}, e.AESEQ, e.AEDECOD, e.AETOXGRN, e.ASTDY, e.CYCLE "
        "FROM adam.adae e JOIN adam.adsl s USING (USUBJID) "
        f"WHERE upper(coalesce(e.AEDECOD, e.AETERM)) LIKE '%HYPERTENSION%' AND {pred} ORDER BY e.USUBJID, e.ASTDY",
        params,
    )


# ---------------------------------------------------------------- data quality (meta.findings)
FINDING_SCHEMA = {
    "cut_id": pl.String, "check_id": pl.String, "severity": pl.String, "domain": pl.String,
    "usubjid": pl.String, "site": pl.String, "record_key": pl.String, "message": pl.String, "status": pl.String,
}


def findings(con: duckdb.DuckDBPyConnection, cut_id: str, filters: Filters) -> pl.DataFrame:
    """Findings of the cut (new / persisting / resolved), with the subject's site."""
    if not table_exists(con, "meta", "findings"):
        return pl.DataFrame(schema=FINDING_SCHEMA)
    pred, params = subject_predicate(filters, "s")
    # Findings without a subject (file-level) are shown unless a subject filter is active.
    no_subject = "TRUE" if not filters.active else "FALSE"
    return _frame(
        con,
        "SELECT f.cut_id, f.check_id, f.severity, f.domain, f.usubjid, s.SITEID AS site, f.record_key, "
        "f.message, f.status FROM meta.findings f LEFT JOIN adam.adsl s ON s.USUBJID = f.usubjid "
        f"WHERE f.cut_id = ? AND ((f.usubjid IS NULL AND {no_subject}) OR ({pred})) "
        "ORDER BY f.severity, f.check_id, f.usubjid, f.record_key",
        [cut_id, *params],
    )


def findings_trend(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Open findings (new + persisting) per cut and severity, oldest cut first."""
    if not table_exists(con, "meta", "findings"):
        return pl.DataFrame(schema={"cut_id": pl.String, "loaded_at": pl.Datetime, "severity": pl.String, "n": pl.Int64})
    return _frame(
        con,
        "SELECT f.cut_id, l.loaded_at, f.severity, count(*) AS n FROM meta.findings f "
        "LEFT JOIN meta.loads l USING (cut_id) WHERE coalesce(f.status, 'new') <> 'resolved' "
        "GROUP BY ALL ORDER BY l.loaded_at, f.severity",
    )


def check_run(con: duckdb.DuckDBPyConnection, cut_id: str) -> dict:
    """The latest checks run on the cut (meta.check_runs): time, open findings, Data Docs path, the checks
    that did not run and why (`skipped`) with their check ids (`skipped_checks`), the optional variables read
    as empty (`columns_absent`); the last three decoded from JSON, empty for a cut checked by an older version
    that did not record them."""
    if not table_exists(con, "meta", "check_runs"):
        return {}
    df = _frame(con, "SELECT * FROM meta.check_runs WHERE cut_id = ? ORDER BY run_at DESC LIMIT 1", [cut_id])
    if df.is_empty():
        return {}
    row = df.row(0, named=True)
    for key in ("skipped", "columns_absent", "skipped_checks"):
        row[key] = json.loads(row[key]) if row.get(key) else {}
    return row


@functools.cache
def _plausible_bp() -> list[float]:
    """SBP and DBP plausible ranges of the vs_implausible check (data/checks.toml): figures leave out
    values that check flags (a 400 mmHg typo must not count as hypertension on the DMC's page)."""
    from checks.config import load_checks_config

    ranges = load_checks_config().param("vs_implausible", "ranges")
    return [*map(float, ranges["SYSBP"]), *map(float, ranges["DIABP"])]


# ... and only values in mmHg: adam.advs converts the BP units it knows (kPa) and writes AVALU 'mmHg'; a missing
# unit is taken as mmHg (etl/derive/bp_category.standardise_bp_units); a value in an unknown unit is not plotted as mmHg
_PLAUSIBLE_BP = ("(coalesce(v.AVALU, 'mmHg') = 'mmHg' AND "
                 "((v.PARAMCD = 'SYSBP' AND v.AVAL BETWEEN ? AND ?) OR (v.PARAMCD = 'DIABP' AND v.AVAL BETWEEN ? AND ?)))")
_BP_X = {"ADY": "v.ADY", "CYCLE": "v.CYCLE"}  # whitelisted x columns (identifiers cannot be parameters)


def bp_patient_count(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    pred, params = subject_predicate(filters, "s")
    return con.sql(
        "SELECT count(DISTINCT v.USUBJID) FROM adam.advs v JOIN adam.adsl s USING (USUBJID) "
        f"WHERE v.PARAMCD IN ('SYSBP', 'DIABP') AND v.AVAL IS NOT NULL AND {_PLAUSIBLE_BP} AND {pred}",
        params=[*_plausible_bp(), *params],
    ).fetchall()[0][0]


def bp_median(con: duckdb.DuckDBPyConnection, filters: Filters, x: str) -> pl.DataFrame:
    """Median SBP/DBP per dose level and x (ADY or CYCLE), computed in DuckDB (same result as
    figures.blood_pressure.median_by_dose on the rows)."""
    pred, params = subject_predicate(filters, "s")
    xcol = _BP_X[x]
    return _frame(
        con,
        f"SELECT {_DOSE_LABEL}, v.PARAMCD, {xcol} AS {x}, median(v.AVAL) AS AVAL, count(DISTINCT v.USUBJID) AS n "
        "FROM adam.advs v JOIN adam.adsl s USING (USUBJID) "
        f"WHERE v.PARAMCD IN ('SYSBP', 'DIABP') AND v.AVAL IS NOT NULL AND {xcol} IS NOT NULL AND {_PLAUSIBLE_BP} "
        f"AND {pred} GROUP BY ALL ORDER BY DOSELVLC, v.PARAMCD, {x}",
        [*_plausible_bp(), *params],
    )


def bp_high_share(con: duckdb.DuckDBPyConnection, filters: Filters, sbp_min: float, dbp_min: float) -> pl.DataFrame:
    """Per dose level and cycle: patients measured, patients with SBP >= sbp_min or DBP >= dbp_min, share
    (same result as figures.blood_pressure.high_bp_share on the rows)."""
    pred, params = subject_predicate(filters, "s")
    return _frame(
        con,
        f"WITH p AS (SELECT {_DOSE_LABEL}, v.CYCLE, v.USUBJID, "
        "bool_or((v.PARAMCD = 'SYSBP' AND v.AVAL >= ?) OR (v.PARAMCD = 'DIABP' AND v.AVAL >= ?)) AS high "
        "FROM adam.advs v JOIN adam.adsl s USING (USUBJID) "
        f"WHERE v.PARAMCD IN ('SYSBP', 'DIABP') AND v.AVAL IS NOT NULL AND v.CYCLE IS NOT NULL AND {_PLAUSIBLE_BP} "
        f"AND {pred} GROUP BY ALL) "
        "SELECT DOSELVLC, CYCLE, count(*) AS patients, CAST(count(*) FILTER (WHERE high) AS BIGINT) AS high, "
        "count(*) FILTER (WHERE high) / count(*) AS share FROM p GROUP BY ALL ORDER BY DOSELVLC, CYCLE",
        [sbp_min, dbp_min, *_plausible_bp(), *params],
    )


def exposure_for(con: duckdb.DuckDBPyConnection, ids: tuple[str, ...]) -> pl.DataFrame:
    """Dosing records (study days from first dose) of the given subjects only."""
    if not ids:
        return pl.DataFrame(schema=_EXPOSURE_SCHEMA)
    return _exposure_rows(con, "x.USUBJID IN (SELECT unnest(CAST(? AS VARCHAR[])))", [list(ids)])


def adverse_events_for(con: duckdb.DuckDBPyConnection, ids: tuple[str, ...]) -> pl.DataFrame:
    """adam.adae rows (with dose level) of the given subjects only."""
    return _frame(
        con,
        f"SELECT {_AE_COLS} FROM adam.adae e JOIN adam.adsl s USING (USUBJID) "
        "WHERE e.USUBJID IN (SELECT unnest(CAST(? AS VARCHAR[]))) ORDER BY e.USUBJID, e.ASTDT, e.AESEQ",
        [list(ids)],
    )


# whitelisted heatmap rows. An AE not yet MedDRA-coded (AEDECOD null: routine in a live trial) is its verbatim
# term, marked, not left out: a grade 4 event must be in the DMC's heatmap before the coder gets to it
NOT_CODED = " (not coded)"
_AE_ROWS = {"AEDECOD": f"coalesce(e.AEDECOD, e.AETERM || '{NOT_CODED}')", "USUBJID": "e.USUBJID"}


def _ae_scope(filters: Filters, level: str | None, teae: bool) -> tuple[str, list]:
    pred, params = subject_predicate(filters, "s")
    where = [pred]
    if level:
        where.append("s.DOSELVLC = ?")
        params = [*params, level]
    if teae:
        where.append("e.TRTEMFL = 'Y'")
    return " AND ".join(where), params


def worst_grade(con: duckdb.DuckDBPyConnection, filters: Filters, row: str, level: str | None,
                teae: bool) -> pl.DataFrame:
    """Worst grade and events per row (AEDECOD or USUBJID) and cycle, rows by frequency; computed in
    DuckDB with the same definition as figures.heatmap.worst_grade_matrix."""
    col = _AE_ROWS[row]
    where, params = _ae_scope(filters, level, teae)
    return _frame(
        con,
        f"WITH e AS (SELECT {col} AS r, e.CYCLE, e.AETOXGRN, e.USUBJID FROM adam.adae e "
        f"JOIN adam.adsl s USING (USUBJID) WHERE {where} AND e.CYCLE IS NOT NULL AND {col} IS NOT NULL), "
        "f AS (SELECT r, count(DISTINCT USUBJID) AS subj, count(*) AS n FROM e GROUP BY r) "
        f"SELECT e.r AS {row}, e.CYCLE, max(e.AETOXGRN) AS worst, count(*) AS events, "
        f"CAST(count(*) FILTER (WHERE e.AETOXGRN >= {SEVERE_GRADE}) AS UINTEGER) AS severe "
        "FROM e JOIN f USING (r) GROUP BY e.r, e.CYCLE, f.subj, f.n "
        "ORDER BY f.subj DESC, f.n DESC, e.r, e.CYCLE",
        params,
    )


def ae_scope_counts(con: duckdb.DuckDBPyConnection, filters: Filters, level: str | None, teae: bool) -> dict:
    where, params = _ae_scope(filters, level, teae)
    total, no_cycle = con.sql(
        "SELECT count(*), count(*) FILTER (WHERE e.CYCLE IS NULL) FROM adam.adae e JOIN adam.adsl s USING (USUBJID) "
        f"WHERE {where}",
        params=params,
    ).fetchall()[0]
    return {"events": total, "no_cycle": no_cycle}


def ae_events(con: duckdb.DuckDBPyConnection, filters: Filters, level: str | None, teae: bool,
              row: str | None = None, value: str | None = None, cycle: int | None = None) -> pl.DataFrame:
    """The events behind a heatmap cell (row = value, CYCLE = cycle), or those without a cycle (cycle None)."""
    where, params = _ae_scope(filters, level, teae)
    if row is not None:
        where += f" AND {_AE_ROWS[row]} = ? AND e.CYCLE = ?"
        params = [*params, value, cycle]
    else:
        where += " AND e.CYCLE IS NULL"
    return _frame(
        con,
        f"SELECT {_AE_COLS} FROM adam.adae e JOIN adam.adsl s USING (USUBJID) WHERE {where} "
        "ORDER BY e.USUBJID, e.ASTDT, e.AESEQ",
        params,
    )
