"""The checks as data: frames computed in DuckDB SQL and the GX expectation each check applies.

A *frame* is one SQL query over raw.* / adam.* returning one row per record to judge, with the
record's identity (`domain`, `USUBJID`, `record_key`, `_FILE`, `_ROW`), the columns that GX
validates and a `msg_<check>` column explaining a failure. Protocol rules (visit windows, DLT
rules, eligibility, exposure) are computed into boolean `ok_<check>` columns here and validated
with standard GX expectations (`ExpectColumnValuesToBeInSet(ok_<check>, [True])`); structure rules
(allowed values, required values) are native GX expectations on the record's own columns.

Each expectation also has an SQL `violation` predicate (the same rule, used only to pre-filter
frames of large tables before they reach GX, so that 10M lab rows are not handed to pandas).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from checks.config import ChecksConfig
from etl.dates import DATE_FORM_HINT_PARAMS, date_form_hint_sql
from etl.derive.adae import GRADE_PATTERN
from etl.derive.bp_category import BP_UNIT_FACTORS
from safetyboard.protocol import Protocol


@dataclass(frozen=True)
class Check:
    """One GX expectation on one frame; a failing row is a finding of `check_id`."""

    check_id: str
    kind: str  # "flag" (ok_<check_id> is True), "not_null" (column), "in_set" (column in values)
    column: str | None = None
    values: tuple[str, ...] = ()

    @property
    def gx_column(self) -> str:
        return self.column if self.kind != "flag" else f"ok_{self.check_id}"

    def violation(self) -> str:
        """SQL predicate that is true for a failing row (pre-filter only; GX decides)."""
        if self.kind == "flag":
            return f"NOT ok_{self.check_id}"
        if self.kind == "not_null":
            return f'"{self.column}" IS NULL'
        quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in self.values)
        return f'("{self.column}" IS NOT NULL AND "{self.column}" NOT IN ({quoted}))'


@dataclass(frozen=True)
class Frame:
    """A frame of records (SQL) and the checks validated on it (one GX suite)."""

    name: str
    domain: str  # suite is named <domain>.<name>
    sql: str
    source: str | tuple[str, ...]  # table(s) whose total size decides pre-filtering (e.g. raw.lb)
    checks: tuple[Check, ...]
    params: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()  # tables that must exist (else the frame is skipped with a reason)
    # SQL giving one boolean: does the check apply to this study at all? When false the frame is skipped
    # with `not_applicable` as the reason (e.g. no visit follows the protocol schedule), not run per record.
    applies: str | None = None
    not_applicable: str = ""
    # SQL giving the number of records the frame's checks judge, for a frame whose SQL returns only the failing
    # records (an anti-join, a filter): its rows are the findings, not what was checked (`rows_checked`)
    population: str | None = None


def rows_of(tables: Iterable[str], where: str = "") -> str:
    """SQL counting the rows of `tables` (each filtered by `where`): a frame's population."""
    counts = [f"(SELECT count(*) FROM {t}{' WHERE ' + where if where else ''})" for t in tables]
    return "SELECT " + (" + ".join(counts) if counts else "0")


def complete_date_sql(alias: str, col: str, cols: Iterable[str]) -> str:
    """SQL for the date of `col` (an SDTM --DTC) when it is complete, else NULL: the analysis reads dose dates
    this way (etl/derive/study_day.complete_date), so a check on them must too, or it judges a partial date at
    its imputed 1st or last day of the month."""
    return (f"CASE WHEN {alias}.{col}_DTF IS NULL THEN {alias}.{col}_DT END" if f"{col}_DTF" in set(cols)
            else f"{alias}.{col}_DT")


def _num_key(col: str) -> str:
    """VISITNUM 308.0 -> '308', 9999.1 -> '9999.1' (record keys are text, architecture.md)."""
    return (f"CASE WHEN {col} = floor({col}) THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({col} AS VARCHAR) END")


# --SEQ (or another key) and the date compared with the death date, per domain
DOMAIN_KEYS = {"ae": "AESEQ", "lb": "LBSEQ", "vs": "VSSEQ", "ex": "EXSEQ", "sv": "VISITNUM", "rs": "RSSEQ",
               "tr": "TRSEQ", "ds": "DSSEQ", "cm": "CMSEQ", "mh": "MHSEQ", "tu": "TUSEQ", "pr": "PRSEQ"}
DOMAIN_DATES = {"ae": "AESTDTC_DT", "lb": "LBDTC_DT", "vs": "VSDTC_DT", "ex": "EXSTDTC_DT", "sv": "SVSTDTC_DT",
                "rs": "RSDTC_DT", "tr": "TRDTC_DT"}


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """'schema.table' -> column names, for the tables in this cut."""
    out: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('raw', 'adam', 'meta') ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall():
        out.setdefault(f"{schema}.{table}", []).append(column)
    return out


# Optional SDTM variables the frames read, with their raw.* type (as the loader types them). A real export
# can lack any of them (pharmaversesdtm's PSA-only lb_onco_pcwg3 has no LBSTNRLO/LBSTNRHI, a DM may have no
# DTHDTC or AGE, a VS no VISIT): the frame then reads the variable as empty (NULL), so that the checks judge
# what they can (a lab result without its range is a lab_range_missing finding; an unknown age is
# eligibility 'not verifiable') and the run lists the absent variables, instead of the whole frame not
# running. Required variables (etl/domains.SPECS) never reach here: the load stops without them.
# tests/checks/test_absent_columns.py drops every optional raw.* variable of a demo cut in turn and fails
# when a frame reads one that is not listed here.
OPTIONAL_COLUMNS: dict[str, dict[str, str]] = {
    "raw.dm": {"AGE": "DOUBLE", "DTHDTC": "VARCHAR", "DTHDTC_DT": "DATE", "DTHDTC_DTF": "VARCHAR",
               "RFXSTDTC_DT": "DATE"},
    "raw.ex": {"EXENDTC": "VARCHAR", "EXENDTC_DT": "DATE"},  # a single injection has no end
    "raw.lb": {"LBSTRESN": "DOUBLE", "LBSTRESU": "VARCHAR", "LBSTNRLO": "DOUBLE", "LBSTNRHI": "DOUBLE"},
    "raw.vs": {"VSSTRESN": "DOUBLE", "VSSTRESU": "VARCHAR", "VISIT": "VARCHAR", "VSDTC_DT": "DATE"},
}
# what the checks make of each table's absent variables (the Data quality page says it beside the list)
ABSENT_EFFECT = {
    "raw.dm": "an unknown age makes eligibility not verifiable; without a death date no record is judged as after "
              "death; without RFXSTDTC only SV visits show a patient on treatment",
    "raw.ex": "a daily-drug record without EXENDTC counts as one day of dosing (ex_end_missing lists it)",
    "raw.lb": "a result without a value is not judged; one without the reference range its CTCAE grade needs is a "
              "lab_range_missing finding; one without a unit is judged as having none",
    "raw.vs": "a reading without a value is not judged; a blood pressure without a unit is taken as mmHg; "
              "without VISIT no screening reading is found; without VSDTC screening readings are ordered by VSSEQ",
}
_RAW_TABLE = re.compile(r"\braw\.([a-z][a-z0-9]*)\b(?!\.)")


def absent_columns(tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """'raw.lb' -> the optional variables of OPTIONAL_COLUMNS that this cut's table lacks (tables present only)."""
    out = {}
    for table, wanted in OPTIONAL_COLUMNS.items():
        if table in tables:
            have = {c.upper() for c in tables[table]}
            missing = [c for c in wanted if c not in have]
            if missing:
                out[table] = missing
    return out


def reported_absent(absent: dict[str, list[str]]) -> dict[str, list[str]]:
    """`absent` as the export's variables: a date the loader derives (DTHDTC_DT, _DTF) is named by the
    variable it comes from (DTHDTC), once."""
    return {t: list(dict.fromkeys(c.removesuffix("_DTF").removesuffix("_DT") for c in cols))
            for t, cols in absent.items()}


def with_absent_columns(sql: str, absent: dict[str, list[str]]) -> str:
    """`sql` with each raw table that lacks optional variables read through a subquery adding them as
    typed NULLs: `FROM raw.lb l` -> `FROM (SELECT *, CAST(NULL AS DOUBLE) AS "LBSTNRLO", ... FROM raw.lb) l`."""
    if not absent:
        return sql

    def swap(m: re.Match[str]) -> str:
        table = f"raw.{m.group(1)}"
        if table not in absent:
            return m.group(0)
        extra = ", ".join(f'CAST(NULL AS {OPTIONAL_COLUMNS[table][c]}) AS "{c}"' for c in absent[table])
        return f"(SELECT *, {extra} FROM {table})"

    return _RAW_TABLE.sub(swap, sql)


def _record_key(domain: str, cols: list[str], alias: str = "") -> str:
    """The record's key as text ('AESEQ=3'); a domain not in DOMAIN_KEYS by its --SEQ (EGSEQ, QSSEQ, ...)
    when it has one, else the file row."""
    key = DOMAIN_KEYS.get(domain) or f"{domain[:2].upper()}SEQ"
    p = f"{alias}." if alias else ""
    if key and key in cols:
        value = _num_key(f'{p}"{key}"') if key == "VISITNUM" else f'CAST({p}"{key}" AS VARCHAR)'
        return f"'{key}=' || {value}"
    return f"'_ROW=' || CAST({p}_ROW AS VARCHAR)"


def _cols_or_null(cols: list[str], names: tuple[str, ...]) -> str:
    """Optional columns: absent ones become typed NULLs (a missing AETOXGR column makes every AE fail
    ae_grade_missing instead of skipping the AE checks)."""
    return ", ".join(f'"{n}"' if n in cols else f'NULL::VARCHAR AS "{n}"' for n in names)


AE_OPTIONAL = ("AETOXGR", "AESER", "AETERM", "AEDECOD", "AESEV", "AESTDTC", "AEENDTC", "AESTDTC_DTF", "AEENDTC_DTF",
               "AEOUT", "AESDTH")


def ae_frame(cfg: ChecksConfig, cols: list[str]) -> Frame:
    hint_start, hint_end = date_form_hint_sql("AESTDTC"), date_form_hint_sql("AEENDTC")
    dates = ", ".join(f'"{n}"' if n in cols else f'NULL::DATE AS "{n}"' for n in ("AESTDTC_DT", "AEENDTC_DT"))
    # an export without the AETOXGR column: every AE is ungraded; the message says the cause is the export
    no_grade_column = ("''" if "AETOXGR" in cols else
                       "'; the AE export has no AETOXGR column (an export that names the grade otherwise maps it to "
                       "AETOXGR with a column-mapping file, safetyboard load --mapping)'")
    sql = f"""
    WITH ae0 AS (SELECT USUBJID, AESEQ, _FILE, _ROW, {_cols_or_null(cols, AE_OPTIONAL)}, {dates} FROM raw.ae),
    -- the grade as etl/derive/adae.py reads AETOXGR ('3', '3.0', 'Grade 3', 'G3' -> 3: GRADE_PATTERN), read once
    ae AS (SELECT *, TRY_CAST(nullif(regexp_extract(AETOXGR, $grade_pattern, 1), '') AS INTEGER) AS _grade FROM ae0)
    SELECT 'AE' AS domain, USUBJID, 'AESEQ=' || AESEQ AS record_key, _FILE, _ROW, AETOXGR, AESER,
           NOT coalesce(AEENDTC_DT < AESTDTC_DT, false) AS ok_ae_dates_inverted,
           NOT (coalesce(AESTDTC_DTF, '') IN ('D', 'M') OR coalesce(AEENDTC_DTF, '') IN ('D', 'M')) AS ok_ae_date_partial,
           NOT (coalesce(AESTDTC_DTF, '') = 'X' OR coalesce(AEENDTC_DTF, '') = 'X') AS ok_ae_date_invalid,
           -- the date that is invalid named (as date_invalid words it), with why for a form dates are often exported
           -- in (a SAS day count, 2026/01/05: etl/dates.DATE_FORM_HINTS)
           concat_ws('; ',
               CASE WHEN AESTDTC_DTF = 'X' THEN 'AESTDTC ''' || coalesce(AESTDTC, '') || ''' is not a valid ISO 8601 date'
                    || coalesce(' (' || {hint_start} || ')', '') END,
               CASE WHEN AEENDTC_DTF = 'X' THEN 'AEENDTC ''' || coalesce(AEENDTC, '') || ''' is not a valid ISO 8601 date'
                    || coalesce(' (' || {hint_end} || ')', '') END)
               || ': kept as text, the date is unknown (the DLT window cannot place the AE)' AS msg_ae_date_invalid,
           'AETOXGR missing for ' || coalesce(AETERM, AEDECOD, '?') || coalesce(' (AESEV ' || AESEV || ')', '')
               || {no_grade_column} AS msg_ae_grade_missing,
           -- an AETOXGR adae cannot read leaves the AE ungraded (error); one it reads in another form than
           -- SDTM's '1'-'5' is a warning
           AETOXGR IS NULL OR _grade IS NOT NULL AS ok_ae_grade_invalid,
           _grade IS NULL OR list_contains($grade_values, AETOXGR) AS ok_ae_grade_nonstandard,
           'AETOXGR ''' || coalesce(AETOXGR, '') || ''' is not a CTCAE grade 1-5 (' || coalesce(AETERM, '?')
               || '): the AE is left ungraded, so no grade-based DLT rule or grade count includes it' AS msg_ae_grade_invalid,
           'AETOXGR ''' || coalesce(AETOXGR, '') || ''' read as grade '
               || coalesce(CAST(_grade AS VARCHAR), '?') || ' (' || coalesce(AETERM, '?')
               || '); SDTM records the grade as ' || array_to_string($grade_values, ', ') AS msg_ae_grade_nonstandard,
           -- CTCAE v5: grade 5 is death related to the AE; SDTM records the death as AEOUT FATAL / AESDTH Y. A
           -- fatal AE graded 1-4 escapes the GRADE5 DLT rule; a grade 5 AE with another outcome is a typo either way
           NOT coalesce(
               ((upper(AEOUT) = 'FATAL' OR upper(AESDTH) = 'Y') AND _grade < 5)
               OR (_grade = 5 AND AEOUT IS NOT NULL AND upper(AEOUT) <> 'FATAL'),
               false) AS ok_ae_fatal_grade_mismatch,
           CASE WHEN _grade = 5
                THEN 'grade 5 (death) but AEOUT ''' || coalesce(AEOUT, '') || ''' (' || coalesce(AETERM, '?') || ')'
                ELSE 'fatal (AEOUT ''' || coalesce(AEOUT, '') || ''', AESDTH ''' || coalesce(AESDTH, '') || ''') but AETOXGR '''
                     || coalesce(AETOXGR, '') || ''' (' || coalesce(AETERM, '?')
                     || '): the GRADE5 DLT rule does not see a death graded below 5'
           END AS msg_ae_fatal_grade_mismatch,
           'AESER ''' || coalesce(AESER, '') || ''' is not Y or N' AS msg_ae_serious_invalid,
           'AEENDTC ' || coalesce(AEENDTC, '') || ' is before AESTDTC ' || coalesce(AESTDTC, '') AS msg_ae_dates_inverted,
           'partial date: ' || concat_ws(', ',
               CASE WHEN AESTDTC_DTF IN ('D', 'M') THEN 'AESTDTC ''' || coalesce(AESTDTC, '') || '''' END,
               CASE WHEN AEENDTC_DTF IN ('D', 'M') THEN 'AEENDTC ''' || coalesce(AEENDTC, '') || '''' END)
               || ' (the analysis imputes it within its period, ADAE ASTDTF/AENDTF; confirm with the site)' AS msg_ae_date_partial
    FROM ae"""
    return Frame("ae", "AE", sql, "raw.ae", (
        Check("ae_grade_missing", "not_null", "AETOXGR"),
        Check("ae_grade_invalid", "flag"),
        Check("ae_grade_nonstandard", "flag"),
        Check("ae_fatal_grade_mismatch", "flag"),
        Check("ae_serious_invalid", "in_set", "AESER", tuple(cfg.param("ae_serious_invalid", "values"))),
        Check("ae_dates_inverted", "flag"),
        Check("ae_date_partial", "flag"),
        Check("ae_date_invalid", "flag"),
    ), {"grade_pattern": GRADE_PATTERN, "grade_values": list(cfg.param("ae_grade_nonstandard", "values")),
        **DATE_FORM_HINT_PARAMS},
        requires=("raw.ae",))


def ae_grade_term_frame(protocol: Protocol, cfg: ChecksConfig, cols: list[str]) -> Frame | None:
    """A CTCAE grade 1-5 outside the range CTCAE v5.0 defines for the term (data/checks.toml
    [checks.ae_grade_term_range.grades]: febrile neutropenia 3-5, palmar-plantar erythrodysesthesia 1-3), the
    terms being the protocol's [dlt.terms] lists (AEDECOD, else AETERM). Only the failing AEs."""
    if "AETOXGR" not in cols:
        return None
    term_col = "coalesce(AEDECOD, AETERM)" if "AEDECOD" in cols else "AETERM"
    ranges = [(key, int(lo), int(hi), list(protocol.dlt_terms.get(key, ())))
              for key, (lo, hi) in cfg.param("ae_grade_term_range", "grades").items()]
    ranges = [r for r in ranges if r[3]]
    if not ranges:
        return None
    params: dict[str, Any] = {"grade_pattern": GRADE_PATTERN}
    outside, graded = [], []
    for i, (_key, lo, hi, terms) in enumerate(ranges):
        params |= {f"t{i}": terms, f"lo{i}": lo, f"hi{i}": hi}
        outside.append(f"WHEN list_contains($t{i}, term) THEN grade NOT BETWEEN $lo{i} AND $hi{i}")
        graded.append(f"WHEN list_contains($t{i}, term) THEN $lo{i} || '-' || $hi{i}")
    sql = f"""
    WITH ae AS (SELECT USUBJID, AESEQ, _FILE, _ROW, upper(trim({term_col})) AS term,
                       -- the grade as adam.adae reads it ('Grade 3' is 3: GRADE_PATTERN)
                       TRY_CAST(regexp_extract(AETOXGR, $grade_pattern, 1) AS INTEGER) AS grade
                FROM raw.ae WHERE regexp_matches(AETOXGR, $grade_pattern)),
    judged AS (SELECT *, CASE {' '.join(outside)} ELSE false END AS outside,
                      CASE {' '.join(graded)} END AS graded FROM ae)
    SELECT 'AE' AS domain, USUBJID, 'AESEQ=' || AESEQ AS record_key, _FILE, _ROW, false AS ok_ae_grade_term_range,
           'AETOXGR ' || grade || ' is not a CTCAE v5.0 grade of ' || term || ' (graded ' || graded
               || ' only): the DLT rule on its grade cannot be applied as recorded' AS msg_ae_grade_term_range
    FROM judged WHERE outside"""
    return Frame("ae_grade_term", "AE", sql, "raw.ae", (Check("ae_grade_term_range", "flag"),), params, ("raw.ae",),
                 population="SELECT count(*) FROM raw.ae WHERE regexp_matches(AETOXGR, $grade_pattern)")


def dlt_frame() -> Frame:
    # DOMAIN.md 4: the protocol defines DLTs; DLTCFL/DLTRULE are the rules' verdict (etl/derive/dlt_rules.py),
    # DLTFL the investigator's (SUPPAE AEDLT). An undecided rule verdict (NULL) is not a mismatch.
    sql = """
    SELECT 'AE' AS domain, USUBJID, 'AESEQ=' || AESEQ AS record_key, _FILE, _ROW,
           NOT coalesce(DLTFL IS NOT NULL AND DLTCFL IS NOT NULL AND DLTFL <> DLTCFL, false) AS ok_dlt_flag_mismatch,
           -- a flag other than Y/N (CDISC NY's U) is no verdict (adam.adsl DLTUNDFL): said so, not called a disagreement
           CASE WHEN DLTFL IN ('Y', 'N') THEN 'investigator DLT flag ' || DLTFL || ' but protocol rules say '
                ELSE 'investigator DLT flag ''' || DLTFL || ''' is no verdict (Y or N expected), protocol rules say ' END
               || coalesce(DLTCFL, '?')
               || coalesce(' (' || DLTRULE || ')', '') || ': ' || coalesce(AEDECOD, AETERM, '?')
               || ' grade ' || coalesce(CAST(AETOXGRN AS VARCHAR), '?') AS msg_dlt_flag_mismatch
    FROM adam.adae"""
    return Frame("dlt", "AE", sql, "adam.adae", (Check("dlt_flag_mismatch", "flag"),), requires=("adam.adae",))


def enrolled_sql(cfg: ChecksConfig, tables: dict[str, list[str]]) -> str:
    """SQL selecting the USUBJIDs the eligibility checks judge: every DM subject except those never enrolled
    (ARMCD / ARMNRS a screen-failure value of data/checks.toml [not_enrolled]) and not treated (ADSL TRTSDT).
    Uses the parameters $ne_armcd and $ne_armnrs (see `enrolled_params`)."""
    dm = tables.get("raw.dm", [])
    tests = [f'list_contains($ne_{c.lower()}, upper(trim("{c}")))' for c in ("ARMCD", "ARMNRS") if c in dm]
    if not tests:
        return "SELECT USUBJID FROM raw.dm"
    treated = ""
    if "TRTSDT" in tables.get("adam.adsl", []):
        treated = " OR USUBJID IN (SELECT USUBJID FROM adam.adsl WHERE TRTSDT IS NOT NULL)"
    return f"SELECT USUBJID FROM raw.dm WHERE NOT coalesce({' OR '.join(tests)}, false){treated}"


def enrolled_params(cfg: ChecksConfig) -> dict[str, list[str]]:
    return {"ne_armcd": list(cfg.not_enrolled.get("ARMCD", [])) or [""],
            "ne_armnrs": list(cfg.not_enrolled.get("ARMNRS", [])) or [""]}


def dm_frame(protocol: Protocol, cfg: ChecksConfig, tables: dict[str, list[str]]) -> Frame:
    # protocol [eligibility] age_min/age_max (registry minimumAge 12, maximumAge 65); enrolled subjects only
    sql = f"""
    SELECT 'DM' AS domain, USUBJID, 'USUBJID=' || USUBJID AS record_key, _FILE, _ROW,
           coalesce(AGE BETWEEN $age_min AND $age_max, false) AS ok_eligibility_age,
           CASE WHEN AGE IS NULL THEN 'AGE missing (eligibility ' || $age_min || '-' || $age_max || ' not verifiable)'
                -- 71 rather than 71.0 (AGE is a number; a whole one is written without decimals)
                ELSE 'AGE ' || CASE WHEN AGE = round(AGE) THEN CAST(CAST(AGE AS BIGINT) AS VARCHAR) ELSE CAST(AGE AS VARCHAR) END
                     || ' outside the eligible ' || $age_min || '-' || $age_max END AS msg_eligibility_age
    FROM raw.dm WHERE USUBJID IN ({enrolled_sql(cfg, tables)})"""
    el = protocol.raw["eligibility"]
    return Frame("dm", "DM", sql, "raw.dm", (Check("eligibility_age", "flag"),),
                 {"age_min": el["age_min"], "age_max": el["age_max"], **enrolled_params(cfg)}, ("raw.dm",))


def dose_level_frame(protocol: Protocol) -> Frame:
    """A treated subject (ADSL SAFFL Y) whose arm (DM ACTARMCD, else ARMCD) is not a protocol dose level (adam.adsl
    DOSELVL null): the escalation counts treated patients per dose level, so a typo ('DL 2', 'DL02') or a
    missing arm takes the patient and any DLT out of every level's count (an untreated one is in no count
    yet). Judged only when the study codes its arms as the protocol's dose levels (some subject's arm is
    one): the CDISC pilot's arms are treatments, not levels."""
    sql = """
    SELECT 'DM' AS domain, s.USUBJID, 'USUBJID=' || s.USUBJID AS record_key, d._FILE, d._ROW,
           false AS ok_arm_not_dose_level,
           coalesce(s.DOSELVLRSN, 'no dose level') || ' (' || array_to_string($levels, ', ')
               || '): the treated patient is in no dose level of the escalation' AS msg_arm_not_dose_level
    FROM adam.adsl s JOIN raw.dm d USING (USUBJID)
    WHERE s.DOSELVL IS NULL AND s.SAFFL = 'Y'"""
    return Frame("dose_level", "DM", sql, ("raw.dm", "adam.adsl"), (Check("arm_not_dose_level", "flag"),),
                 {"levels": protocol.dose_codes}, ("raw.dm", "adam.adsl"),
                 "SELECT count(*) FILTER (WHERE DOSELVL IS NOT NULL) > 0 FROM adam.adsl",
                 "no subject's arm (DM ACTARMCD/ARMCD) is a protocol dose level: the study does not code its "
                 "arms as the protocol's dose levels, so no arm is judged",
                 population="SELECT count(*) FROM adam.adsl WHERE SAFFL = 'Y'")


def _bp_mmhg_factor(unit: str) -> str:
    """SQL: the factor to mmHg of the BP unit in column `unit`: etl/derive/bp_category.BP_UNIT_FACTORS (passed as
    $bp_units / $bp_factors, `bp_unit_params`), 1 for a missing unit (taken as mmHg, as adam.advs), NULL for an
    unknown one. The unit is written as etl/derive/lab_units.norm_unit writes these units (no spaces, lower case)."""
    norm = f"lower(regexp_replace(coalesce({unit}, ''), '\\s', '', 'g'))"
    return f"CASE WHEN {norm} = '' THEN 1.0 ELSE $bp_factors[list_position($bp_units, {norm})] END"


def bp_unit_params() -> dict[str, list]:
    return {"bp_units": list(BP_UNIT_FACTORS), "bp_factors": list(BP_UNIT_FACTORS.values())}


def screening_bp_frame(protocol: Protocol, cfg: ChecksConfig, tables: dict[str, list[str]]) -> Frame:
    """protocol [eligibility]: SBP >= 140 or DBP >= 90 at screening excludes (registry exclusion 8).

    One row per enrolled subject with screening BP readings (an exclusion is a fact about the subject, not about
    each of the 6-18 readings a screening visit takes: positions, repeats, screening 1 and 2). The finding
    points at the first reading that meets the exclusion (date, then VSSEQ) and names the highest SBP and DBP.
    The limits are mmHg: VSSTRESN is converted by the BP units of etl/derive/bp_category.BP_UNIT_FACTORS (kPa),
    a missing unit is taken as mmHg, an unknown unit is not compared (as adam.advs BPCAT).
    A reading dated on or after the first dose (adam.adsl TRTSDT) is no screening reading, whatever its visit name
    (the CDISC pilot's BASELINE visit is study day 1, the first-dose day)."""
    before_dose = ("SELECT b.* FROM named b LEFT JOIN adam.adsl s USING (USUBJID) "
                   "WHERE b.DT IS NULL OR s.TRTSDT IS NULL OR b.DT < s.TRTSDT"
                   if "TRTSDT" in tables.get("adam.adsl", []) else "SELECT * FROM named")
    sql = f"""
    WITH named AS (
        SELECT USUBJID, VSSEQ, _FILE, _ROW, upper(trim(VSTESTCD)) AS VSTESTCD,
               VSSTRESN * {_bp_mmhg_factor("VSSTRESU")} AS VSSTRESN, coalesce(VISIT, '?') AS VISIT, VSDTC_DT AS DT
        FROM raw.vs
        WHERE upper(trim(VSTESTCD)) IN ('SYSBP', 'DIABP')
          AND list_has_any([upper(VISIT), split_part(upper(VISIT), ' ', 1)], $screen)
          AND USUBJID IN ({enrolled_sql(cfg, tables)})),
    bp AS ({before_dose}),
    bp_judged AS (
        SELECT *, coalesce((VSTESTCD = 'SYSBP' AND VSSTRESN >= $sbp) OR (VSTESTCD = 'DIABP' AND VSSTRESN >= $dbp),
                           false) AS bad
        FROM bp),
    subj AS (
        SELECT USUBJID,
               first(VSSEQ ORDER BY NOT bad, DT NULLS LAST, VSSEQ) AS VSSEQ,
               first(_FILE ORDER BY NOT bad, DT NULLS LAST, VSSEQ) AS _FILE,
               first(_ROW ORDER BY NOT bad, DT NULLS LAST, VSSEQ) AS _ROW,
               count(*) FILTER (WHERE bad) AS n_bad, count(*) AS n,
               round(max(VSSTRESN) FILTER (WHERE VSTESTCD = 'SYSBP'), 1) AS sbp_max,
               first(VISIT || coalesce(' ' || CAST(DT AS VARCHAR), '') || ', VSSEQ=' || VSSEQ
                     ORDER BY VSSTRESN DESC, DT NULLS LAST, VSSEQ) FILTER (WHERE VSTESTCD = 'SYSBP') AS sbp_at,
               round(max(VSSTRESN) FILTER (WHERE VSTESTCD = 'DIABP'), 1) AS dbp_max,
               first(VISIT || coalesce(' ' || CAST(DT AS VARCHAR), '') || ', VSSEQ=' || VSSEQ
                     ORDER BY VSSTRESN DESC, DT NULLS LAST, VSSEQ) FILTER (WHERE VSTESTCD = 'DIABP') AS dbp_at
        FROM bp_judged GROUP BY USUBJID)
    SELECT 'VS' AS domain, USUBJID, 'VSSEQ=' || VSSEQ AS record_key, _FILE, _ROW, n_bad = 0 AS ok_eligibility_bp,
           'screening BP meets the exclusion (SBP >= ' || $sbp || ' or DBP >= ' || $dbp || ') in ' || n_bad || ' of '
               || n || ' screening reading(s): highest SBP ' || coalesce(CAST(sbp_max AS VARCHAR) || ' (' || sbp_at || ')', '-')
               || ', highest DBP ' || coalesce(CAST(dbp_max AS VARCHAR) || ' (' || dbp_at || ')', '-') || ' mmHg'
               AS msg_eligibility_bp
    FROM subj
    UNION ALL
    -- an enrolled subject without a screening SBP/DBP: the exclusion cannot be verified (as a missing AGE for
    -- eligibility_age); asked only of a study that records screening BP under these visit names (applies)
    SELECT 'VS', e.USUBJID, 'USUBJID=' || e.USUBJID, NULL::VARCHAR, NULL::BIGINT, false,
           CASE WHEN e.USUBJID IN (SELECT USUBJID FROM bp)
                THEN 'no screening SBP or DBP in mmHg (a result missing, or in a unit not recognised)'
                ELSE 'no screening SBP or DBP recorded (visits ' || array_to_string($screen, ', ') || ')' END
               || ': the exclusion SBP >= ' || $sbp || ' or DBP >= ' || $dbp || ' is not verifiable'
    FROM ({enrolled_sql(cfg, tables)}) e WHERE e.USUBJID NOT IN (SELECT USUBJID FROM bp WHERE VSSTRESN IS NOT NULL)"""
    el = protocol.raw["eligibility"]
    screen = [s.upper() for s in protocol.raw["schedule"]["visits"]["screening_names"]]
    applies = ("SELECT EXISTS (SELECT 1 FROM raw.vs WHERE upper(trim(VSTESTCD)) IN ('SYSBP', 'DIABP') "
               "AND list_has_any([upper(VISIT), split_part(upper(VISIT), ' ', 1)], $screen))")
    return Frame("screening_bp", "VS", sql, "raw.vs", (Check("eligibility_bp", "flag"),),
                 {"sbp": el["screening_sbp_max_exclusive"], "dbp": el["screening_dbp_max_exclusive"], "screen": screen,
                  **bp_unit_params(), **enrolled_params(cfg)}, ("raw.vs", "raw.dm"), applies,
                 "no SBP/DBP reading at a screening visit (VISIT " + " / ".join(screen) + ", protocol [schedule.visits] "
                 "screening_names): the screening BP exclusion cannot be checked; map the study's screening visit "
                 "names there")


def vs_frame(protocol: Protocol) -> Frame:
    # ranges: data/checks.toml [checks.vs_implausible.ranges] (registered as _ck_vs_ranges), in standard units:
    # SBP/DBP are judged in mmHg (a kPa value converted as adam.advs does; an unknown unit as reported)
    sql = f"""
    WITH v AS (
        SELECT *, CASE WHEN upper(trim(VSTESTCD)) IN ('SYSBP', 'DIABP')
                       THEN VSSTRESN * coalesce({_bp_mmhg_factor("VSSTRESU")}, 1.0) ELSE VSSTRESN END AS VAL
        FROM raw.vs)
    SELECT 'VS' AS domain, v.USUBJID, 'VSSEQ=' || v.VSSEQ AS record_key, v._FILE, v._ROW,
           (v.VAL IS NULL OR r.lo IS NULL OR v.VAL BETWEEN r.lo AND r.hi) AS ok_vs_implausible,
           v.VSTESTCD || ' ' || v.VSSTRESN || coalesce(' ' || v.VSSTRESU, '')
               || CASE WHEN v.VAL <> v.VSSTRESN THEN ' (' || round(v.VAL, 1) || ' mmHg)' ELSE '' END
               -- the ranges are judged for this trial's patients (protocol [eligibility] ages): a study of
               -- infants (pharmaversesdtm's peds VS, heights 54-103 cm) meets them as findings, and is told why
               || ' outside ' || r.lo || '-' || r.hi || ' (data/checks.toml: plausible in this trial''s patients, aged '
               || $age_min || '-' || $age_max || ')' AS msg_vs_implausible
    FROM v LEFT JOIN _ck_vs_ranges r ON upper(v.VSTESTCD) = r.VSTESTCD"""
    el = protocol.raw["eligibility"]
    return Frame("vs", "VS", sql, "raw.vs", (Check("vs_implausible", "flag"),),
                 {**bp_unit_params(), "age_min": el["age_min"], "age_max": el["age_max"]}, requires=("raw.vs",))


def lb_frame() -> Frame:
    # DOMAIN.md 6: a result without its normal range cannot get grade 1 (CTCAE <LLN / >ULN). Only the limit
    # the test's CTCAE grade needs is required (data/criteria/ctcae_v5_lab.csv, registered as _ck_lab_ranges:
    # LBSTNRLO for <LLN, LBSTNRHI for >ULN); a test graded without a range (urinalysis, morphology, ...) is
    # not judged. Units: data/criteria/lab_parameters.csv (registered as _ck_lab_units; _ck_lab_units_seen)
    sql = """
    SELECT 'LB' AS domain, l.USUBJID, 'LBSEQ=' || l.LBSEQ AS record_key, l._FILE, l._ROW,
           NOT (l.LBSTRESN IS NOT NULL AND ((coalesce(r.needs_lo, false) AND l.LBSTNRLO IS NULL)
                                            OR (coalesce(r.needs_hi, false) AND l.LBSTNRHI IS NULL))) AS ok_lab_range_missing,
           -- whether the grading knows the unit: _ck_lab_units_seen (checks/runner.py, by the grading's own
           -- unit normalisation)
           (l.LBSTRESN IS NULL OR u.units IS NULL OR coalesce(k.known, false)) AS ok_lab_unit_unexpected,
           l.LBTESTCD || ' ' || l.LBSTRESN || ': '
               || CASE WHEN r.needs_lo AND l.LBSTNRLO IS NULL AND r.needs_hi AND l.LBSTNRHI IS NULL
                       THEN 'LBSTNRLO and LBSTNRHI missing (grade 1 <LLN / >ULN not gradable)'
                       WHEN r.needs_lo AND l.LBSTNRLO IS NULL THEN 'LBSTNRLO missing (grade 1 <LLN not gradable)'
                       ELSE 'LBSTNRHI missing (grade 1 >ULN not gradable)' END AS msg_lab_range_missing,
           l.LBTESTCD || ' unit ''' || coalesce(l.LBSTRESU, '') || ''' is not one of '
               || array_to_string(list_transform(u.units, lambda x: CASE WHEN x = '' THEN '(no unit)' ELSE x END), ', ')
               AS msg_lab_unit_unexpected
    FROM raw.lb l
    LEFT JOIN (SELECT LBTESTCD, list(DISTINCT unit ORDER BY unit) AS units FROM _ck_lab_units GROUP BY LBTESTCD) u
           ON upper(l.LBTESTCD) = u.LBTESTCD
    LEFT JOIN _ck_lab_units_seen k ON upper(l.LBTESTCD) = k.LBTESTCD AND l.LBSTRESU IS NOT DISTINCT FROM k.LBSTRESU
    LEFT JOIN _ck_lab_ranges r ON upper(l.LBTESTCD) = r.LBTESTCD"""
    return Frame("lb", "LB", sql, "raw.lb", (Check("lab_range_missing", "flag"), Check("lab_unit_unexpected", "flag")),
                 requires=("raw.lb",))


def quote_identifier(name: str) -> str:
    """`name` as a DuckDB identifier: in double quotes, a double quote inside it doubled."""
    return '"' + name.replace('"', '""') + '"'


def duplicate_frame(domain: str, cols: list[str]) -> Frame | None:
    """Same subject and content under another --SEQ: every copy after the first (lowest --SEQ) is flagged."""
    seq = DOMAIN_KEYS.get(domain)
    if not seq or seq not in cols or "USUBJID" not in cols:
        return None
    content = [c for c in cols if c not in (seq, "_FILE", "_ROW") and not c.endswith(("_DT", "_DTF"))]
    # every column of the export is content, whatever its name: quoted as an SQL identifier (a quote doubled), so
    # a column named 'COMMENT "FREE TEXT"' does not stop the check
    part = ", ".join(quote_identifier(c) for c in content)
    sql = f"""
    SELECT '{domain.upper()}' AS domain, USUBJID, '{seq}=' || "{seq}" AS record_key, _FILE, _ROW,
           (rn = 1) AS ok_record_duplicate,
           'same content as {seq}=' || first_seq || ' (' || n || ' copies)' AS msg_record_duplicate
    FROM (
        SELECT *, row_number() OVER w AS rn, first("{seq}") OVER w AS first_seq, count(*) OVER (PARTITION BY h) AS n
        FROM (SELECT "{seq}", USUBJID, _FILE, _ROW, hash({part}) AS h FROM raw.{domain})
        WINDOW w AS (PARTITION BY h ORDER BY "{seq}", _ROW)
        QUALIFY count(*) OVER (PARTITION BY h) > 1
    )"""
    # hash() over every content column; a 64-bit collision would need the same subject as well
    # (USUBJID is part of the content), so it is negligible even at 10M rows.
    return Frame(f"dup_{domain}", domain.upper(), sql, f"raw.{domain}", (Check("record_duplicate", "flag"),),
                 requires=(f"raw.{domain}",), population=rows_of([f"raw.{domain}"]))


def after_death_frame(domains: list[str], tables: dict[str, list[str]]) -> Frame | None:
    """Records dated after the death date (DM DTHDTC; a partial death date counts to its period's end)."""
    parts = []
    for d in domains:
        cols = tables.get(f"raw.{d}", [])
        date = DOMAIN_DATES.get(d)
        if not cols or date not in cols or "USUBJID" not in cols:
            continue
        parts.append(f"""SELECT '{d.upper()}' AS domain, t.USUBJID, {_record_key(d, cols, 't')} AS record_key,
                     t._FILE, t._ROW, t."{date}" AS rec_dt, '{date.removesuffix("_DT")}' AS var,
                     {'t."VISIT"' if "VISIT" in cols else "NULL::VARCHAR"} AS visit
                     FROM raw.{d} t WHERE t."{date}" IS NOT NULL""")
    dm = tables.get("raw.dm", [])
    if not parts or "DTHDTC_DT" not in dm:
        return None
    sql = f"""
    WITH death AS (
        SELECT USUBJID, DTHDTC,
               CASE WHEN DTHDTC_DTF IS NULL THEN DTHDTC_DT
                    WHEN DTHDTC_DTF = 'D' THEN last_day(DTHDTC_DT)
                    ELSE make_date(year(DTHDTC_DT), 12, 31) END AS death_dt
        FROM raw.dm WHERE DTHDTC_DT IS NOT NULL)
    SELECT r.domain, r.USUBJID, r.record_key, r._FILE, r._ROW,
           NOT (r.rec_dt > d.death_dt) AS ok_record_after_death,
           r.var || ' ' || r.rec_dt || coalesce(' (' || r.visit || ')', '') || ' is after the death on ' || d.DTHDTC
               AS msg_record_after_death
    FROM ({" UNION ALL ".join(parts)}) r JOIN death d USING (USUBJID)"""
    sources = tuple(f"raw.{d}" for d in domains if f"raw.{d}" in tables)
    return Frame("after_death", "ALL", sql, sources, (Check("record_after_death", "flag"),), requires=("raw.dm",))


def unknown_subject_frame(tables: dict[str, list[str]]) -> Frame | None:
    """Records whose USUBJID is not in DM (only the failing rows: an anti-join)."""
    parts, judged = [], []
    for name, cols in tables.items():
        schema, table = name.split(".")
        if schema != "raw" or table == "dm" or "USUBJID" not in cols or "_ROW" not in cols:
            continue
        judged.append(name)
        parts.append(f"""SELECT '{table.upper()}' AS domain, t.USUBJID, {_record_key(table, cols, 't')} AS record_key,
                     t._FILE, t._ROW FROM raw.{table} t ANTI JOIN raw.dm d ON t.USUBJID = d.USUBJID
                     WHERE t.USUBJID IS NOT NULL""")
    if not parts:
        return None
    sql = f"""SELECT *, false AS ok_subject_unknown,
                     'USUBJID ' || USUBJID || ' is not in DM' AS msg_subject_unknown
              FROM ({" UNION ALL ".join(parts)})"""
    return Frame("unknown_subject", "ALL", sql, "raw.dm", (Check("subject_unknown", "flag"),), requires=("raw.dm",),
                 population=rows_of(sorted(judged), "USUBJID IS NOT NULL"))


def future_date_frame(tables: dict[str, list[str]], today: dt.date) -> Frame | None:
    """Dates after the day of the check, in any raw table (only the failing rows). A year typed wrong
    (2062 for 2026) puts an adverse event outside the DLT window: a grade 4 event would leave DLT review
    without a word, and the cut date ignores such dates (etl/loader.data_cut_date). Complete dates are
    compared as they are; a partial date only when its whole period is later (its year or month)."""
    parts, sources = [], []
    for name, cols in sorted(tables.items()):
        schema, table = name.split(".")
        if schema != "raw" or "_ROW" not in cols:
            continue
        dates = [c[:-3] for c in cols if c.endswith("DTC_DT") and f"{c}F" in cols and c[:-3] in cols]
        if not dates:
            continue
        sources.append(name)
        usubjid = "t.USUBJID" if "USUBJID" in cols else "NULL::VARCHAR"
        for c in dates:
            # a partial date's _DT is the start of its period (--STDTC, --DTC) or its end (--ENDTC): the
            # period lies wholly after today when its first day does
            first_day = (f'CASE WHEN t."{c}_DTF" = \'D\' THEN date_trunc(\'month\', t."{c}_DT") '
                         f'WHEN t."{c}_DTF" = \'M\' THEN date_trunc(\'year\', t."{c}_DT") ELSE t."{c}_DT" END')
            parts.append(f"""SELECT '{table.upper()}' AS domain, {usubjid} AS USUBJID, {_record_key(table, cols, 't')} AS record_key,
                         t._FILE, t._ROW, '{c}' AS variable, t."{c}" AS value
                         FROM raw.{table} t
                         WHERE t."{c}_DT" IS NOT NULL AND coalesce(t."{c}_DTF", '') <> 'X' AND {first_day} > $today""")
    if not parts:
        return None
    sql = f"""SELECT domain, USUBJID, record_key, _FILE, _ROW, false AS ok_date_in_future,
                     variable || ' ' || value || ' is after today (' || CAST($today AS VARCHAR)
                         || '): a date in the future is a typo; until it is corrected the record is placed by it '
                         || '(an adverse event outside the DLT window)' AS msg_date_in_future
              FROM ({" UNION ALL ".join(parts)})"""
    return Frame("future_date", "ALL", sql, tuple(sources), (Check("date_in_future", "flag"),), {"today": today},
                 population=rows_of(sources))


# dates another check reports as invalid (with what it means for the record)
OWN_DATE_CHECK = {("ae", "AESTDTC"), ("ae", "AEENDTC")}  # ae_date_invalid


def date_invalid_frame(tables: dict[str, list[str]]) -> Frame | None:
    """Dates that are not valid ISO 8601 in any raw table (AE onset and end: ae_date_invalid): a required date makes the
    loader quarantine its row, an optional one (DTHDTC, RFSTDTC, EXENDTC, DSSTDTC ...) is loaded with the text
    kept and the date unknown (its _DTF 'X', etl/dates.py), which changes what is derived from it (a death
    date, a reference start, an exposure end) without a word unless it is reported here."""
    parts, sources = [], []
    for name, cols in sorted(tables.items()):
        schema, table = name.split(".")
        if schema != "raw" or "_ROW" not in cols:
            continue
        dates = [c[:-3] for c in cols if c.endswith("DTC_DT") and f"{c}F" in cols and c[:-3] in cols
                 and (table, c[:-3]) not in OWN_DATE_CHECK]
        if not dates:
            continue
        sources.append(name)
        usubjid = "t.USUBJID" if "USUBJID" in cols else "NULL::VARCHAR"
        key = "'USUBJID=' || t.USUBJID" if table == "dm" and "USUBJID" in cols else _record_key(table, cols, "t")
        parts.extend(f"""SELECT '{table.upper()}' AS domain, {usubjid} AS USUBJID, {key} AS record_key,
                         t._FILE, t._ROW, '{c}' AS variable, CAST(t."{c}" AS VARCHAR) AS value
                         FROM raw.{table} t WHERE t."{c}_DTF" = 'X'""" for c in dates)
    if not parts:
        return None
    # why, for a form dates are often exported in (a SAS day count, 2026/01/05: etl/dates.DATE_FORM_HINTS)
    hint = date_form_hint_sql("value")
    sql = f"""SELECT domain, USUBJID, record_key, _FILE, _ROW, false AS ok_date_invalid,
                     variable || ' ''' || value || ''' is not a valid ISO 8601 date: kept as text, the date is unknown'
                         || coalesce('; ' || {hint}, '') AS msg_date_invalid
              FROM ({" UNION ALL ".join(parts)})"""
    return Frame("date_invalid", "ALL", sql, tuple(sources), (Check("date_invalid", "flag"),),
                 DATE_FORM_HINT_PARAMS, population=rows_of(sources))


def value_not_numeric_frame(tables: dict[str, list[str]]) -> Frame | None:
    """Optional numeric values that were not numbers ('<5' as LBSTNRLO, '>89' as AGE): loaded as NULL
    with the text kept in <VAR>_TEXT (etl/normalise.py); one finding per value."""
    from etl.normalise import TEXT_SUFFIX

    parts, sources = [], []
    for name, cols in sorted(tables.items()):
        schema, table = name.split(".")
        if schema != "raw" or "_ROW" not in cols:
            continue
        subject = "t.USUBJID" if "USUBJID" in cols else "NULL::VARCHAR"
        # DM's record is its subject (architecture.md record keys)
        key = "'USUBJID=' || t.USUBJID" if table == "dm" and "USUBJID" in cols else _record_key(table, cols, "t")
        for col in cols:
            base = col.removesuffix(TEXT_SUFFIX)
            if col.endswith(TEXT_SUFFIX) and base in cols:
                parts.append(
                    f"SELECT '{table.upper()}' AS domain, {subject} AS USUBJID, "
                    f"{key} AS record_key, t._FILE, t._ROW, '{base}' AS variable, "
                    f'''t."{col}" AS text FROM raw.{table} t WHERE t."{col}" IS NOT NULL'''
                )
                sources.append(name)
    if not parts:
        return None
    message = (f"variable || ' ''' || text || ''' is not a number: loaded as NULL, the text is kept in ' "
               f"|| variable || '{TEXT_SUFFIX}'")
    sql = (f"SELECT *, false AS ok_value_not_numeric, {message} AS msg_value_not_numeric "
           f"FROM ({' UNION ALL '.join(parts)})")
    return Frame("value_not_numeric", "ALL", sql, tuple(sorted(set(sources))), (Check("value_not_numeric", "flag"),),
                 population=rows_of(sorted(set(sources))))


def result_mismatch_frame(tables: dict[str, list[str]]) -> Frame | None:
    """--STRESN against --STRESC in every findings table that has both (LB, VS, EG, ...). SDTMIG 3.3 (LB
    specification): --STRESN is "copied in numeric format from --STRESC". The analysis and the CTCAE grades
    read --STRESN only, so a value that disagrees with its own standard text (a real SAS-made VS: VSSTRESC '63',
    VSSTRESN 6.3) is analysed wrongly, and a number in --STRESC with --STRESN empty is not analysed at all.
    Agreement is judged at the text's precision (STRESC '16.58', STRESN 16.5779 agree); a text that is not a
    plain number ('<0.2', 'NEGATIVE') is not judged."""
    parts, sources = [], []
    for name, cols in sorted(tables.items()):
        schema, table = name.split(".")
        prefix = table[:2].upper()
        stresc, stresn = f"{prefix}STRESC", f"{prefix}STRESN"
        if schema != "raw" or not {stresc, stresn, "_ROW", "USUBJID"} <= set(cols):
            continue
        test = f"{prefix}TESTCD" if f"{prefix}TESTCD" in cols else None
        parts.append(
            f"SELECT '{table.upper()}' AS domain, t.USUBJID, {_record_key(table, cols, 't')} AS record_key, t._FILE, "
            f"t._ROW, '{prefix}' AS p, {f't.{test}' if test else 'NULL::VARCHAR'} AS test, trim(t.{stresc}) AS c, "
            f"t.{stresn} AS n FROM raw.{table} t WHERE t.{stresc} IS NOT NULL")
        sources.append(name)
    if not parts:
        return None
    sql = f"""
    WITH r AS ({' UNION ALL '.join(parts)}),
    v AS (SELECT *, CASE WHEN regexp_full_match(c, '[+-]?[0-9]+(\\.[0-9]*)?|[+-]?\\.[0-9]+') THEN TRY_CAST(c AS DOUBLE) END AS cn,
                 CAST(length(regexp_extract(c, '\\.([0-9]*)$', 1)) AS INTEGER) AS decimals FROM r)
    SELECT domain, USUBJID, record_key, _FILE, _ROW,
           (cn IS NULL OR (n IS NOT NULL AND round(n, decimals) = round(cn, decimals))) AS ok_result_stresc_mismatch,
           coalesce(test || ': ', '') || p || 'STRESC ''' || c || ''' but ' || p || 'STRESN '
               || coalesce(CAST(n AS VARCHAR), 'empty')
               || CASE WHEN n IS NULL THEN ' (the result is not analysed or graded)'
                       ELSE ' (the analysis and grades read ' || p || 'STRESN)' END AS msg_result_stresc_mismatch
    FROM v"""
    return Frame("result_mismatch", "ALL", sql, tuple(sources), (Check("result_stresc_mismatch", "flag"),))


def visit_frame() -> Frame:
    # adam.adsv (etl/derive/adsv.py): planned date from the schedule anchored on the cycle's day 1,
    # window from protocol [schedule.windows]; OOWFL computed there (DOMAIN.md 6)
    sql = f"""
    SELECT 'SV' AS domain, USUBJID, 'VISITNUM=' || {_num_key('VISITNUM')} AS record_key, _FILE, _ROW,
           coalesce(OOWFL, 'N') <> 'Y' AS ok_visit_out_of_window,
           VISIT || ' on ' || coalesce(CAST(ADT AS VARCHAR), '?') || ', planned ' || coalesce(CAST(PLANDT AS VARCHAR), '?')
               || ' (' || CASE WHEN DEV >= 0 THEN '+' ELSE '' END || coalesce(CAST(DEV AS VARCHAR), '?')
               || ' d; window -' || coalesce(CAST(WINLO AS VARCHAR), '?') || '/+' || coalesce(CAST(WINHI AS VARCHAR), '?') || ' d)'
               AS msg_visit_out_of_window
    FROM adam.adsv"""
    return Frame("visits", "SV", sql, "adam.adsv", (Check("visit_out_of_window", "flag"),), requires=("adam.adsv",))


def missing_visit_frame(protocol: Protocol) -> Frame:
    """Scheduled visits absent from SV (DOMAIN.md 6): the adam.adsv MISSFL rows (etl/derive/adsv.py: every
    visit day of every cycle of adam.adcyc, whose cycles come from the infusions, SV and EX visit names, so
    that a subject continuing on apatinib alone keeps its schedule), due (planned + late window) by the last
    dose and the cut date. The rule lives there only: a second copy here had anchored cycles on a partial
    SV date's imputed day and expected visits of a subject never dosed."""
    sql = f"""
    SELECT 'SV' AS domain, USUBJID, 'VISITNUM=' || {_num_key('VISITNUM')} AS record_key,
           NULL::VARCHAR AS _FILE, NULL::BIGINT AS _ROW, false AS ok_visit_missing,
           any_value(VISIT) || ' (planned ' || coalesce(CAST(min(PLANDT) AS VARCHAR), '?') || ') is missing from SV'
               AS msg_visit_missing
    FROM adam.adsv WHERE MISSFL = 'Y' GROUP BY USUBJID, VISITNUM"""
    # a study whose SV has no visit of the protocol schedule (C<n>D<d>, or a name the protocol config maps)
    # is not judged on that schedule: every cycle of every subject would 'miss' its D8 and D15
    applies = "SELECT EXISTS (SELECT 1 FROM adam.adsv WHERE VISITTYP = 'SCHEDULED' AND coalesce(MISSFL, 'N') <> 'Y')"
    return Frame("visits_missing", "SV", sql, "adam.adsv", (Check("visit_missing", "flag"),),
                 {}, ("adam.adsv",), applies,
                 "no SV visit is a scheduled visit of the protocol (C<n>D<d> or a name mapped in the protocol "
                 "config), so none can be missing; map the study's visit names in the protocol config",
                 population="SELECT count(*) FROM (SELECT DISTINCT USUBJID, VISITNUM FROM adam.adsv "
                            "WHERE VISITTYP = 'SCHEDULED')")


def visit_number_frame() -> Frame:
    """An SV visit whose VISITNUM is not 100 x cycle + day of its name (DESIGN.md input contract: C1D8 is
    VISITNUM 108). Cycles and visit days come from the name (adam.adsv AVISITCY/AVISITDY), so the number
    is only inconsistent, but SV's key is USUBJID + VISITNUM: a typed 208 on C2D1 takes C2D8's number and one
    of the two is quarantined as a duplicate key. Judged only when the study numbers its visits this way
    (most of its scheduled visits do): a sponsor mapping other names in the protocol config may number its
    visits otherwise."""
    sql = f"""
    SELECT 'SV' AS domain, USUBJID, 'VISITNUM=' || {_num_key('VISITNUM')} AS record_key, _FILE, _ROW,
           VISITNUM = 100 * AVISITCY + AVISITDY AS ok_visit_number_mismatch,
           VISIT || ' has VISITNUM ' || {_num_key('VISITNUM')} || ', not ' || (100 * AVISITCY + AVISITDY)
               || ' (100 x cycle + day)' AS msg_visit_number_mismatch
    FROM adam.adsv WHERE VISITTYP = 'SCHEDULED' AND _ROW IS NOT NULL AND VISITNUM IS NOT NULL"""
    applies = ("SELECT count(*) FILTER (WHERE VISITNUM = 100 * AVISITCY + AVISITDY) * 2 > count(*) FROM adam.adsv "
               "WHERE VISITTYP = 'SCHEDULED' AND _ROW IS NOT NULL AND VISITNUM IS NOT NULL")
    return Frame("visit_numbers", "SV", sql, "adam.adsv", (Check("visit_number_mismatch", "flag"),), {},
                 ("adam.adsv",), applies,
                 "SV has no scheduled visit (C<n>D<d>), or its scheduled visits are mostly not numbered 100 x "
                 "cycle + day (VISITNUM 108 for C1D8), so their numbers are not judged")


def exposure_frame(protocol: Protocol, cfg: ChecksConfig, tables: dict[str, list[str]]) -> Frame:
    # DOMAIN.md 6 / 4: inside the DLT window (adam.adsl DLTWEND, protocol [dlt] window_days) every planned
    # nal-IRI infusion (protocol [schedule] irinotecan_days of each cycle, from the cycle's day 1) up to the
    # window end, the cut date and the last dose must have an EX record (adam.adex IRIINF per cycle).
    # The last dose is the later of ADSL TRTEDT and the last nal-IRI record (a TRTEDT before the last
    # infusion would otherwise hide a gap before it). greatest/least ignore NULLs in DuckDB.
    # An infusion is due at the cut once its window's late days have passed (protocol [schedule.windows]: C2D15
    # planned on the cut date may still be given two days later, as visit_missing allows).
    # An infusion planned while an AE held the drug is not expected (the dose was withheld; EX records only
    # doses given): AEACN in data/checks.toml interrupted_actions, from the AE's onset to its end (ongoing:
    # open) and, when it began in this cycle, to the cycle's end (an infusion missed within a cycle is not
    # made up; the next cycle restarts at D1); withdrawn_actions, from the onset on.
    if "AEACN" in tables.get("adam.adae", []):
        holds = """SELECT USUBJID, AESEQ, ASTDT AS hs,
                          CASE WHEN list_contains($withdrawn, upper(trim(AEACN))) THEN DATE '9999-12-31'
                               ELSE coalesce(AENDT, DATE '9999-12-31') END AS he
                   FROM adam.adae WHERE ASTDT IS NOT NULL
                     AND list_contains(list_concat($interrupted, $withdrawn), upper(trim(AEACN)))"""
    else:
        holds = "SELECT NULL::VARCHAR AS USUBJID, NULL::BIGINT AS AESEQ, NULL::DATE AS hs, NULL::DATE AS he WHERE false"
    sql = f"""
    WITH cut AS (SELECT max(cut_date) AS cut_date FROM meta.loads WHERE cut_id = $cut_id),
    iri AS (SELECT USUBJID, max({complete_date_sql("x", "EXSTDTC", tables.get("raw.ex", []))}) AS last_iri
            FROM raw.ex x WHERE list_contains($iri, upper(trim(x.EXTRT))) GROUP BY USUBJID),
    holds AS ({holds}),
    cyc AS (
        SELECT x.USUBJID, x.CYCLE, x.CYSTDT, coalesce(x.IRIINF, 0) AS given,
               least(s.DLTWEND, coalesce(greatest(s.TRTEDT, i.last_iri), s.DLTWEND),
                     coalesce((SELECT cut_date FROM cut), s.DLTWEND)) AS upto,
               least(s.DLTWEND, coalesce(greatest(s.TRTEDT, i.last_iri), s.DLTWEND)) AS dosed_upto,
               coalesce((SELECT cut_date FROM cut), s.DLTWEND) AS cut_date
        FROM adam.adex x JOIN adam.adsl s USING (USUBJID) LEFT JOIN iri i USING (USUBJID)
        WHERE s.DLTWEND IS NOT NULL AND x.CYSTDT IS NOT NULL AND x.CYSTDT <= s.DLTWEND),
    planned AS (
        SELECT c.USUBJID, c.CYCLE, c.CYSTDT + CAST(t.day - 1 AS INTEGER) AS pdt,
               (SELECT min(h.AESEQ) FROM holds h WHERE h.USUBJID = c.USUBJID
                  AND h.hs <= c.CYSTDT + CAST(t.day - 1 AS INTEGER)
                  AND (h.he >= c.CYSTDT + CAST(t.day - 1 AS INTEGER) OR h.hs >= c.CYSTDT)) AS held_by
        FROM cyc c CROSS JOIN (SELECT unnest($days) AS day, unnest($late) AS late) t
        WHERE c.CYSTDT + CAST(t.day - 1 AS INTEGER) <= c.dosed_upto
          AND c.CYSTDT + CAST(t.day - 1 + t.late AS INTEGER) <= c.cut_date),
    counted AS (
        SELECT c.*, count(p.pdt) FILTER (WHERE p.held_by IS NULL) AS expected,
               count(p.pdt) FILTER (WHERE p.held_by IS NOT NULL) AS held,
               string_agg(DISTINCT 'AESEQ=' || p.held_by, ', ') AS held_by
        FROM cyc c LEFT JOIN planned p USING (USUBJID, CYCLE) GROUP BY ALL)
    SELECT 'EX' AS domain, USUBJID, 'CYCLE=' || CYCLE AS record_key, NULL::VARCHAR AS _FILE, NULL::BIGINT AS _ROW,
           given >= expected AS ok_exposure_gap_in_dlt_window,
           'cycle ' || CYCLE || ': ' || given || ' nal-IRI infusion(s) recorded, ' || expected
               || ' planned by ' || upto || ' (DLT window)'
               || CASE WHEN held > 0 THEN '; ' || held || ' more planned while the drug was held (' || held_by || ')'
                       ELSE '' END AS msg_exposure_gap_in_dlt_window
    FROM counted"""
    days = list(protocol.raw["schedule"]["irinotecan_days"])
    late = [int(protocol.windows.get(d, (0, 0))[1]) for d in days]
    iri = [d.upper() for d in protocol.drugs.get("irinotecan", ())]
    # a study without any nal-IRI record (other drugs) has no infusion schedule to miss
    applies = "SELECT EXISTS (SELECT 1 FROM raw.ex WHERE list_contains($iri, upper(trim(EXTRT))))"
    return Frame("exposure", "EX", sql, "adam.adex", (Check("exposure_gap_in_dlt_window", "flag"),),
                 {"days": days, "late": late, "cut_id": None, "iri": iri,
                  "interrupted": [str(a).upper() for a in cfg.param("exposure_gap_in_dlt_window", "interrupted_actions")] or [""],
                  "withdrawn": [str(a).upper() for a in cfg.param("exposure_gap_in_dlt_window", "withdrawn_actions")] or [""]},
                 ("adam.adex", "adam.adsl", "meta.loads", "raw.ex"), applies,
                 "no EX record of nal-IRI (EXTRT " + " / ".join(iri) + " of protocol [drugs] irinotecan) in this cut, "
                 "so there is no infusion schedule to check")


def lab_ae_frame(cfg: ChecksConfig, tables: dict[str, list[str]] | None = None) -> Frame:
    """A lab-derived CTCAE grade >= min_grade (adam.adlb ATOXGRL/ATOXGRH) needs an AE of a matching term
    (data/checks.toml [lab_ae_terms]) and grade >= min_grade within +-days; and the reverse for lab-type AEs.

    Lab side, per episode, not per result: results of one parameter and direction at grade >= min_grade
    that follow each other within `days` are one episode (one AE is expected for it, not one per draw); the
    finding points at the episode's first result. An AE of the matching term in the window whose grade is
    unknown leaves the question undecided: no mismatch (ae_grade_missing lists that AE).

    A grade that is admiral's worst case (adam.adlb ATOXWCL/ATOXWCH 'Y': urate > ULN as grade 3, sodium 125-129 as
    grade 3, which CTCAE grades by symptoms the value cannot show) does not ask for an AE of that grade."""
    have = set((tables or {}).get("adam.adlb", []))
    certain = {d: f" AND ATOXWC{d} IS DISTINCT FROM 'Y'" if f"ATOXWC{d}" in have else "" for d in ("L", "H")}
    value = "AVAL" if "AVAL" in have else "NULL::DOUBLE"
    unit = "AVALU" if "AVALU" in have else "NULL::VARCHAR"
    sql = f"""
    WITH labs AS (
        SELECT USUBJID, LBSEQ, _FILE, _ROW, ADT, PARAMCD || '_L' AS k, ATOXGRL AS g, {value} AS v, {unit} AS u
        FROM adam.adlb WHERE ATOXGRL >= $g{certain["L"]}
        UNION ALL
        SELECT USUBJID, LBSEQ, _FILE, _ROW, ADT, PARAMCD || '_H' AS k, ATOXGRH AS g, {value} AS v, {unit} AS u
        FROM adam.adlb WHERE ATOXGRH >= $g{certain["H"]}),
    starts AS (
        SELECT *, CASE WHEN ADT - lag(ADT) OVER (PARTITION BY USUBJID, k ORDER BY ADT NULLS LAST, LBSEQ) <= $days
                       THEN 0 ELSE 1 END AS new_ep
        FROM labs),
    episodes AS (
        SELECT *, sum(new_ep) OVER (PARTITION BY USUBJID, k ORDER BY ADT NULLS LAST, LBSEQ) AS ep FROM starts),
    termed AS (
        -- an AE without an end date is ongoing (at the cut): it covers every later result, not its onset day only
        SELECT a.USUBJID, a.AESEQ, a._FILE, a._ROW, a.ASTDT, coalesce(a.AENDT, DATE '9999-12-31') AS endt,
               coalesce(a.AEDECOD, a.AETERM) AS AEDECOD, a.AETOXGRN, t.k
        -- the coded term, else the verbatim one while the AE awaits MedDRA coding (as the DLT rules read it)
        FROM adam.adae a JOIN _ck_lab_terms t ON upper(trim(coalesce(a.AEDECOD, a.AETERM))) = t.term
        WHERE a.ASTDT IS NOT NULL AND (a.AETOXGRN >= $g OR a.AETOXGRN IS NULL)),
    aes AS (SELECT * FROM termed WHERE AETOXGRN >= $g),
    judged AS (
        SELECT l.*,
               EXISTS (SELECT 1 FROM termed a WHERE a.USUBJID = l.USUBJID AND a.k = l.k
                       AND (a.AETOXGRN >= $g OR a.AETOXGRN IS NULL)
                       AND l.ADT BETWEEN a.ASTDT - $days AND a.endt + $days) AS matched
        FROM episodes l)
    SELECT 'LB' AS domain, USUBJID, 'LBSEQ=' || first(LBSEQ ORDER BY ADT NULLS LAST, LBSEQ) AS record_key,
           first(_FILE ORDER BY ADT NULLS LAST, LBSEQ) AS _FILE, first(_ROW ORDER BY ADT NULLS LAST, LBSEQ) AS _ROW,
           bool_or(matched) AS ok_lab_ae_grade_mismatch,
           'lab grade ' || CASE WHEN min(g) = max(g) THEN CAST(max(g) AS VARCHAR) ELSE min(g) || '-' || max(g) END
               || ' (' || k || ') '
               || CASE WHEN count(*) = 1 THEN coalesce(CAST(round(first(v), 4) AS VARCHAR) || coalesce(' ' || first(u), '') || ' ', '')
                                              || 'on ' || coalesce(CAST(min(ADT) AS VARCHAR), '?')
                       ELSE 'from ' || coalesce(CAST(min(ADT) AS VARCHAR), '?') || ' to ' || coalesce(CAST(max(ADT) AS VARCHAR), '?')
                            || ' (' || count(*) || ' results: ' || string_agg('LBSEQ=' || LBSEQ, ', ' ORDER BY ADT, LBSEQ) || ')' END
               || ' without a matching AE of grade >= ' || $g || ' within ' || $days || ' days' AS msg_lab_ae_grade_mismatch
    FROM judged GROUP BY USUBJID, k, ep
    UNION ALL
    SELECT 'AE', a.USUBJID, 'AESEQ=' || a.AESEQ, a._FILE, a._ROW,
           bool_or(EXISTS (SELECT 1 FROM labs l WHERE l.USUBJID = a.USUBJID AND l.k = a.k
                   AND l.ADT BETWEEN a.ASTDT - $days AND a.endt + $days)),
           'AE ' || a.AEDECOD || ' grade ' || a.AETOXGRN || ' without a lab grade >= ' || $g || ' within ' || $days || ' days'
    FROM aes a GROUP BY ALL"""
    return Frame("lab_ae", "ALL", sql, "adam.adlb", (Check("lab_ae_grade_mismatch", "flag"),),
                 {"g": int(cfg.param("lab_ae_grade_mismatch", "min_grade")),
                  "days": int(cfg.param("lab_ae_grade_mismatch", "days"))}, ("adam.adlb", "adam.adae"))


def ex_end_frame(protocol: Protocol, tables: dict[str, list[str]]) -> Frame | None:
    """A record of a daily drug (protocol [drugs] apatinib) without a usable EXENDTC. DLT evaluability
    (DOMAIN.md 4: >= 80% of the 42 daily doses) and dose intensity count the days of EXSTDTC..EXENDTC
    (etl/derive/exposure.py); a record without its end counts as its start day alone, which understates
    the days on drug and can leave a patient not DLT-evaluable. Nothing is imputed: the site is asked."""
    cols = tables.get("raw.ex", [])
    if not cols or "EXTRT" not in cols:
        return None
    sql = f"""
    SELECT 'EX' AS domain, t.USUBJID, {_record_key("ex", cols, "t")} AS record_key, t._FILE, t._ROW,
           t.EXENDTC_DT IS NOT NULL AS ok_ex_end_missing,
           t.EXTRT || ' from ' || coalesce(t.EXSTDTC, '?') || ': '
               || CASE WHEN t.EXENDTC IS NULL THEN 'no EXENDTC' ELSE 'EXENDTC ' || t.EXENDTC || ' is not a date' END
               || ', so the record counts as one day of dosing (days on drug in the DLT window and DLT'
               || ' evaluability may be understated)' AS msg_ex_end_missing
    FROM raw.ex t WHERE list_contains($daily, upper(trim(t.EXTRT)))"""
    daily = [d.upper() for d in protocol.drugs.get("apatinib", ())]
    applies = "SELECT EXISTS (SELECT 1 FROM raw.ex WHERE list_contains($daily, upper(trim(EXTRT))))"
    return Frame("ex_end", "EX", sql, "raw.ex", (Check("ex_end_missing", "flag"),), {"daily": daily or [""]},
                 ("raw.ex",), applies,
                 "no EX record of the daily drug (EXTRT " + " / ".join(daily) + " of protocol [drugs] apatinib) "
                 "in this cut")


def ex_date_partial_frame(tables: dict[str, list[str]]) -> Frame | None:
    """An EX record whose start or end is a partial date ('2026-01'). Dose dates are never imputed
    (etl/derive/exposure.py, as admiral's ADSL template): a record with a partial EXSTDTC is no dose date (first
    dose, cycles, DLT window, days on drug leave it out), one with a partial EXENDTC counts its start day alone.
    Imputed, the first dose and the 42-day DLT window could move up to a month, and apatinib days not known to
    be taken would count toward DLT evaluability. Only the failing records."""
    cols = tables.get("raw.ex", [])
    if "EXSTDTC_DTF" not in cols:
        return None
    end_partial = "t.EXENDTC_DTF IN ('D', 'M')" if "EXENDTC_DTF" in cols else "false"
    sql = f"""
    SELECT 'EX' AS domain, t.USUBJID, {_record_key("ex", cols, "t")} AS record_key, t._FILE, t._ROW,
           false AS ok_ex_date_partial,
           coalesce(t.EXTRT, '?') || ': ' || CASE
               WHEN t.EXSTDTC_DTF IN ('D', 'M') THEN 'EXSTDTC ' || t.EXSTDTC || ' is a partial date, so the record is '
                   || 'not used as a dose date (first dose, cycles, DLT window and days on drug leave it out)'
               ELSE 'EXENDTC ' || t.EXENDTC || ' is a partial date, so the record counts as its start day alone '
                   || '(days on drug in the DLT window and DLT evaluability may be understated)' END
               || '; nothing is imputed: ask the site for the day' AS msg_ex_date_partial
    FROM raw.ex t WHERE t.EXSTDTC_DTF IN ('D', 'M') OR {end_partial}"""
    return Frame("ex_date_partial", "EX", sql, "raw.ex", (Check("ex_date_partial", "flag"),), {}, ("raw.ex",),
                 population=rows_of(["raw.ex"]))


def result_date_partial_frame(tables: dict[str, list[str]]) -> Frame | None:
    """A lab or vital-sign record whose date is partial ('2026-01'). Its analysis date is not imputed
    (etl/derive/study_day.complete_date, as admiral's ADLB/ADVS): the result has no study day and no cycle, and
    is never the baseline. Imputed to the 1st, a draw after the first dose could have become the baseline that
    the ALT/AST/bilirubin/creatinine grades are relative to. Only the failing records."""
    parts, sources = [], []
    for table, col in (("lb", "LBDTC"), ("vs", "VSDTC")):
        cols = tables.get(f"raw.{table}", [])
        if f"{col}_DTF" not in cols or "_ROW" not in cols:
            continue
        test = f"{table.upper()}TESTCD"
        what = f"coalesce(t.{test}, '?')" if test in cols else "'?'"
        sources.append(f"raw.{table}")
        parts.append(f"""SELECT '{table.upper()}' AS domain, t.USUBJID, {_record_key(table, cols, "t")} AS record_key,
                         t._FILE, t._ROW, {what} || ' ' || '{col} ' || {f"t.{col}" if col in cols else "'?'"} AS what
                         FROM raw.{table} t WHERE t.{col}_DTF IN ('D', 'M')""")
    if not parts:
        return None
    sql = f"""SELECT domain, USUBJID, record_key, _FILE, _ROW, false AS ok_result_date_partial,
                     what || ' is a partial date, so the result has no analysis date (no study day, no cycle, never '
                         || 'the baseline); nothing is imputed: ask the site or the laboratory for the day'
                         AS msg_result_date_partial
              FROM ({" UNION ALL ".join(parts)})"""
    return Frame("result_date_partial", "ALL", sql, tuple(sources), (Check("result_date_partial", "flag"),),
                 population=rows_of(sources))


def ex_dose_unit_frame(protocol: Protocol, tables: dict[str, list[str]]) -> Frame | None:
    """An EX record of a study drug given (EXDOSE > 0) whose EXDOSU is not the unit of the protocol's dose levels
    for that drug (protocol [dose_units]: apatinib mg, nal-IRI mg/m2), or has none. Dose intensity and dose
    reductions (adam.adex) compare EXDOSE with the level's dose as it is: nal-IRI written as absolute mg (85 mg
    for 50 mg/m2) reads as 170 % intensity, apatinib in g (0.25) as a reduction. Nothing is converted (a BSA
    is not in the export). Compared ignoring case, spaces and the superscript of mg/m²."""
    cols = tables.get("raw.ex", [])
    if not protocol.dose_units or not {"EXTRT", "EXDOSE"} <= set(cols):
        return None
    unit = "t.EXDOSU" if "EXDOSU" in cols else "NULL::VARCHAR"
    folded = f"replace(replace(lower({unit}), ' ', ''), '²', '2')"
    whens, params = [], {}
    for i, (drug, units) in enumerate(sorted(protocol.dose_units.items())):
        params |= {f"trt{i}": [t.upper() for t in protocol.drugs.get(drug, ())] or [""],
                   f"units{i}": [u.lower().replace(" ", "").replace("²", "2") for u in units],
                   f"shown{i}": " or ".join(units)}
        whens.append((f"list_contains($trt{i}, upper(trim(t.EXTRT)))", f"list_contains($units{i}, {folded})", f"$shown{i}"))
    drug_case = "CASE " + " ".join(f"WHEN {w} THEN {ok}" for w, ok, _ in whens) + " END"
    shown_case = "CASE " + " ".join(f"WHEN {w} THEN {shown}" for w, _, shown in whens) + " END"
    sql = f"""
    SELECT 'EX' AS domain, t.USUBJID, {_record_key("ex", cols, "t")} AS record_key, t._FILE, t._ROW,
           coalesce({drug_case}, false) AS ok_ex_dose_unit_unexpected,
           t.EXTRT || ' ' || CAST(t.EXDOSE AS VARCHAR) || ' ' || coalesce({unit}, '(no EXDOSU)') || ': the protocol''s dose '
               || 'levels are in ' || {shown_case} || ', so dose intensity and reductions compare this dose with them '
               || 'as it is (nothing is converted)' AS msg_ex_dose_unit_unexpected
    FROM raw.ex t WHERE t.EXDOSE > 0 AND ({" OR ".join(w for w, _, _ in whens)})"""
    applies = "SELECT EXISTS (SELECT 1 FROM raw.ex t WHERE " + " OR ".join(w for w, _, _ in whens) + ")"
    return Frame("ex_dose_unit", "EX", sql, "raw.ex", (Check("ex_dose_unit_unexpected", "flag"),), params, ("raw.ex",),
                 applies, "no EX record of a study drug of protocol [drugs] in this cut")


def ex_dosing_frame(tables: dict[str, list[str]]) -> Frame | None:
    """The EX records' dosing days, one pass over raw.ex for two checks:
    - ex_dates_inverted: EXENDTC before EXSTDTC, so the record covers no day (etl/derive/exposure.py) and
      its doses are missing from days on drug, DLT evaluability and dose intensity;
    - ex_overlap: records of one drug for one subject whose dosing days overlap (a duplicated record, a
      dose change written on both records, two infusions on one day). Days on drug, DLT evaluability and
      dose intensity count each day once (etl/derive/exposure.new_days), so the site is asked which
      record is right. Records of a dose of 0 (not taken) and inverted ones do not cover a day."""
    cols = tables.get("raw.ex", [])
    if not cols or not {"EXTRT", "EXSTDTC_DT"} <= set(cols):
        return None
    # the dosing days as the derivations read them (etl/derive/exposure.exposure_intervals): complete dates only,
    # a record with a partial EXSTDTC no dose date, one with a partial EXENDTC its start day (ex_date_partial)
    start, end = complete_date_sql("t", "EXSTDTC", cols), complete_date_sql("t", "EXENDTC", cols)
    sql = f"""
    WITH iv AS (
        SELECT t.USUBJID, upper(trim(t.EXTRT)) AS drug, t.EXTRT, {_record_key("ex", cols, "t")} AS record_key,
               t._FILE, t._ROW, {start} AS s, coalesce({end}, {start}) AS e,
               t.EXENDTC AS end_txt, t.EXSTDTC AS start_txt,
               (t.EXDOSE IS NULL OR t.EXDOSE > 0) AND coalesce({end} >= {start}, true) AS covers,
               coalesce(t.EXDOSE = 0 AND coalesce({end} >= {start}, true), false) AS not_taken
        FROM raw.ex t WHERE {start} IS NOT NULL AND t.EXTRT IS NOT NULL),
    seen AS (
        SELECT *,
               max(e) FILTER (WHERE covers) OVER w AS covered_to,
               arg_max(record_key, e) FILTER (WHERE covers) OVER w AS by_key
        FROM iv WINDOW w AS (PARTITION BY USUBJID, drug ORDER BY s, e, _FILE, _ROW
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
    SELECT 'EX' AS domain, USUBJID, record_key, _FILE, _ROW,
           e >= s AS ok_ex_dates_inverted,
           EXTRT || ': EXENDTC ' || coalesce(end_txt, '') || ' is before EXSTDTC ' || coalesce(start_txt, '')
               || ', so the record counts as no day of dosing (days on drug, DLT evaluability, dose intensity)'
               AS msg_ex_dates_inverted,
           NOT (covers OR not_taken) OR covered_to IS NULL OR s > covered_to AS ok_ex_overlap,
           EXTRT || ' ' || CAST(s AS VARCHAR) || CASE WHEN e > s THEN ' to ' || CAST(e AS VARCHAR) ELSE '' END
               || CASE WHEN not_taken
                       -- a dose of 0 (not taken) inside a dosing record: the days count as dosed (the dosing record
                       -- covers them), so an interruption written this way is not seen by days on drug
                       THEN ' with EXDOSE 0 (not taken) lies inside ' || coalesce(by_key, '?') || ' (dosed to '
                            || CAST(covered_to AS VARCHAR) || '): '
                            || CAST(datediff('day', s, least(e, covered_to)) + 1 AS VARCHAR)
                            || ' day(s) recorded both as taken and as not taken; they count as not taken for days on '
                            || 'drug, DLT evaluability and dose intensity (etl/derive/exposure.without_days_not_taken)'
                       ELSE ' overlaps ' || coalesce(by_key, '?') || ' (dosed to ' || CAST(covered_to AS VARCHAR) || '): '
                            || CAST(datediff('day', s, least(e, covered_to)) + 1 AS VARCHAR)
                            || ' day(s) on two records; each day counts once for days on drug, DLT evaluability and '
                            || 'dose intensity' END
               AS msg_ex_overlap
    FROM seen"""
    return Frame("ex_dosing", "EX", sql, "raw.ex",
                 (Check("ex_dates_inverted", "flag"), Check("ex_overlap", "flag")), {}, ("raw.ex",))


def lab_predose_frame(protocol: Protocol, tables: dict[str, list[str]]) -> Frame | None:
    """An nal-IRI infusion without a lab draw in the hours before it (DOMAIN.md 6: "labs within 72 h before
    dosing"; protocol [schedule.windows] lab_before_dose_hours). Infusions are judged by date: a draw counts
    from the day the hours reach back to (72 h: 3 days before) up to the infusion's own day, whose order
    within the day the dates cannot tell. Each infusion is one finding, keyed by its EX record."""
    ex, lb = tables.get("raw.ex", []), tables.get("raw.lb", [])
    if not {"EXTRT", "EXSTDTC_DT"} <= set(ex) or "LBDTC_DT" not in lb:
        return None
    dosed = "(x.EXDOSE IS NULL OR x.EXDOSE > 0)" if "EXDOSE" in ex else "TRUE"
    # complete dates only: a partial date's imputed day would invent a finding or clear one (ae_date_partial
    # and the loader's DTF flags say which are partial)
    ex_complete = "x.EXSTDTC_DTF IS NULL" if "EXSTDTC_DTF" in ex else "TRUE"
    lb_complete = "LBDTC_DTF IS NULL" if "LBDTC_DTF" in lb else "TRUE"
    # hours -> whole days back, rounded up (72 h = 3 days): a draw 3 days before by date may be < 72 h
    days_back = -(-protocol.lab_before_dose_hours // 24)
    sql = f"""
    WITH inf AS (
        SELECT x.USUBJID, {_record_key("ex", ex, "x")} AS record_key, x._FILE, x._ROW, x.EXSTDTC_DT AS d
        FROM raw.ex x WHERE x.EXSTDTC_DT IS NOT NULL AND {ex_complete} AND list_contains($iri, upper(trim(x.EXTRT)))
          AND {dosed}),
    draws AS (SELECT DISTINCT USUBJID, LBDTC_DT AS d FROM raw.lb
              WHERE LBDTC_DT IS NOT NULL AND {lb_complete} AND USUBJID IN (SELECT USUBJID FROM inf)),
    last AS (
        SELECT i.USUBJID, i.record_key, i._FILE, i._ROW, i.d, max(l.d) AS drawn
        FROM inf i LEFT JOIN draws l ON l.USUBJID = i.USUBJID AND l.d <= i.d AND l.d >= i.d - $days_back
        GROUP BY ALL)
    SELECT 'EX' AS domain, USUBJID, record_key, _FILE, _ROW,
           drawn IS NOT NULL AS ok_lab_predose_missing,
           'nal-IRI infusion on ' || CAST(d AS VARCHAR) || ': no lab draw from ' || CAST(d - $days_back AS VARCHAR)
               || ' to the infusion day (labs are due within ' || $hours || ' h before dosing)' AS msg_lab_predose_missing
    FROM last"""
    iri = [d.upper() for d in protocol.drugs.get("irinotecan", ())]
    applies = "SELECT EXISTS (SELECT 1 FROM raw.ex WHERE list_contains($iri, upper(trim(EXTRT))))"
    return Frame("lab_predose", "EX", sql, "raw.ex", (Check("lab_predose_missing", "flag"),),
                 {"iri": iri or [""], "days_back": days_back, "hours": str(protocol.lab_before_dose_hours)},
                 ("raw.ex", "raw.lb"), applies,
                 "no EX record of nal-IRI (EXTRT " + " / ".join(iri) + " of protocol [drugs] irinotecan) in this cut")


def ex_missing_frame(tables: dict[str, list[str]]) -> Frame | None:
    """A subject shown to be on treatment (DM RFXSTDTC, or a scheduled treatment visit C<n>D<d> in SV) without
    an EX record of a dose given (adam.adsl SAFFL 'N'; etl/derive/adsl.py): DOMAIN.md 6 "patient in the DLT
    window without complete exposure records". Such a patient counts as neither treated nor DLT-evaluable in
    the escalation, so the site is asked for the dosing records."""
    if "SAFFL" not in tables.get("adam.adsl", []):
        return None
    visits = ("(SELECT USUBJID, min(ADT) AS first_visit, arg_min(VISIT, ADT) AS visit FROM adam.adsv "
              "WHERE VISITTYP = 'SCHEDULED' AND ADT IS NOT NULL GROUP BY USUBJID)"
              if {"VISITTYP", "ADT", "VISIT"} <= set(tables.get("adam.adsv", [])) else
              "(SELECT NULL::VARCHAR AS USUBJID, NULL::DATE AS first_visit, NULL::VARCHAR AS visit WHERE false)")
    sql = f"""
    SELECT 'EX' AS domain, s.USUBJID, 'USUBJID=' || s.USUBJID AS record_key, NULL::VARCHAR AS _FILE, NULL::BIGINT AS _ROW,
           false AS ok_ex_missing,
           concat_ws(' and ', 'DM RFXSTDTC ' || CAST(d.RFXSTDTC_DT AS VARCHAR), 'visit ' || v.visit || ' on ' || CAST(v.first_visit AS VARCHAR))
               || ', but no EX record of a dose given: the patient is counted as neither treated nor DLT-evaluable'
               AS msg_ex_missing
    FROM adam.adsl s LEFT JOIN raw.dm d USING (USUBJID) LEFT JOIN {visits} v USING (USUBJID)
    WHERE coalesce(s.SAFFL, 'N') <> 'Y' AND (d.RFXSTDTC_DT IS NOT NULL OR v.first_visit IS NOT NULL)"""
    requires = ("adam.adsl", "raw.dm", *(("adam.adsv",) if "adam.adsv" in tables else ()))
    return Frame("ex_missing", "EX", sql, "adam.adsl", (Check("ex_missing", "flag"),), {}, requires,
                 population="SELECT count(*) FROM adam.adsl WHERE coalesce(SAFFL, 'N') <> 'Y'")


def build_frames(protocol: Protocol, cfg: ChecksConfig, tables: dict[str, list[str]]) -> list[Frame]:
    """Every frame to validate on this cut (frames whose tables are absent are still listed: they are skipped)."""
    frames = [ae_frame(cfg, tables.get("raw.ae", [])), dlt_frame(), dm_frame(protocol, cfg, tables),
              dose_level_frame(protocol),
              screening_bp_frame(protocol, cfg, tables), vs_frame(protocol), lb_frame(), visit_frame(), missing_visit_frame(protocol), visit_number_frame(),
              exposure_frame(protocol, cfg, tables), lab_ae_frame(cfg, tables)]
    for d in cfg.param("record_duplicate", "domains"):
        frame = duplicate_frame(d, tables.get(f"raw.{d}", []))
        if frame:
            frames.append(frame)
    for frame in (after_death_frame(list(cfg.param("record_after_death", "domains")), tables),
                  unknown_subject_frame(tables), value_not_numeric_frame(tables), result_mismatch_frame(tables),
                  ex_end_frame(protocol, tables), ex_date_partial_frame(tables), result_date_partial_frame(tables),
                  ex_dose_unit_frame(protocol, tables),
                  ex_dosing_frame(tables), ex_missing_frame(tables), ae_grade_term_frame(protocol, cfg, tables.get("raw.ae", [])),
                  lab_predose_frame(protocol, tables), future_date_frame(tables, dt.date.today()),
                  date_invalid_frame(tables)):
        if frame:
            frames.append(frame)
    return frames
