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

from dataclasses import dataclass, field
from typing import Any

import duckdb

from checks.config import ChecksConfig
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


def _record_key(domain: str, cols: list[str], alias: str = "") -> str:
    key = DOMAIN_KEYS.get(domain)
    p = f"{alias}." if alias else ""
    if key and key in cols:
        value = _num_key(f'{p}"{key}"') if key == "VISITNUM" else f'CAST({p}"{key}" AS VARCHAR)'
        return f"'{key}=' || {value}"
    return f"'_ROW=' || CAST({p}_ROW AS VARCHAR)"


def _cols_or_null(cols: list[str], names: tuple[str, ...]) -> str:
    """Optional columns: absent ones become typed NULLs (a missing AETOXGR column makes every AE fail
    ae_grade_missing instead of skipping the AE checks)."""
    return ", ".join(f'"{n}"' if n in cols else f'NULL::VARCHAR AS "{n}"' for n in names)


AE_OPTIONAL = ("AETOXGR", "AESER", "AETERM", "AEDECOD", "AESTDTC", "AEENDTC", "AESTDTC_DTF", "AEENDTC_DTF")


def ae_frame(cfg: ChecksConfig, cols: list[str]) -> Frame:
    dates = ", ".join(f'"{n}"' if n in cols else f'NULL::DATE AS "{n}"' for n in ("AESTDTC_DT", "AEENDTC_DT"))
    sql = f"""
    WITH ae AS (SELECT USUBJID, AESEQ, _FILE, _ROW, {_cols_or_null(cols, AE_OPTIONAL)}, {dates} FROM raw.ae)
    SELECT 'AE' AS domain, USUBJID, 'AESEQ=' || AESEQ AS record_key, _FILE, _ROW, AETOXGR, AESER,
           NOT coalesce(AEENDTC_DT < AESTDTC_DT, false) AS ok_ae_dates_inverted,
           NOT (coalesce(AESTDTC_DTF, '') IN ('D', 'M') OR coalesce(AEENDTC_DTF, '') IN ('D', 'M')) AS ok_ae_date_partial,
           NOT (coalesce(AESTDTC_DTF, '') = 'X' OR coalesce(AEENDTC_DTF, '') = 'X') AS ok_ae_date_invalid,
           'date not valid ISO 8601, kept with the date unknown (DLT window undecided): AESTDTC '''
               || coalesce(AESTDTC, '') || ''', AEENDTC ''' || coalesce(AEENDTC, '') || '''' AS msg_ae_date_invalid,
           'AETOXGR missing for ' || coalesce(AETERM, AEDECOD, '?') AS msg_ae_grade_missing,
           'AETOXGR ''' || coalesce(AETOXGR, '') || ''' is not a CTCAE grade 1-5 (' || coalesce(AETERM, '?') || ')'
               AS msg_ae_grade_invalid,
           'AESER ''' || coalesce(AESER, '') || ''' is not Y or N' AS msg_ae_serious_invalid,
           'AEENDTC ' || coalesce(AEENDTC, '') || ' is before AESTDTC ' || coalesce(AESTDTC, '') AS msg_ae_dates_inverted,
           'partial date: AESTDTC ''' || coalesce(AESTDTC, '') || ''', AEENDTC ''' || coalesce(AEENDTC, '')
               || ''' (imputed; confirm with the site)' AS msg_ae_date_partial
    FROM ae"""
    return Frame("ae", "AE", sql, "raw.ae", (
        Check("ae_grade_missing", "not_null", "AETOXGR"),
        Check("ae_grade_invalid", "in_set", "AETOXGR", tuple(cfg.param("ae_grade_invalid", "values"))),
        Check("ae_serious_invalid", "in_set", "AESER", tuple(cfg.param("ae_serious_invalid", "values"))),
        Check("ae_dates_inverted", "flag"),
        Check("ae_date_partial", "flag"),
        Check("ae_date_invalid", "flag"),
    ), requires=("raw.ae",))


def dlt_frame() -> Frame:
    # DOMAIN.md 4: the protocol defines DLTs; DLTCFL/DLTRULE are the rules' verdict (etl/derive/dlt_rules.py),
    # DLTFL the investigator's (SUPPAE AEDLT). An undecided rule verdict (NULL) is not a mismatch.
    sql = """
    SELECT 'AE' AS domain, USUBJID, 'AESEQ=' || AESEQ AS record_key, _FILE, _ROW,
           NOT coalesce(DLTFL IS NOT NULL AND DLTCFL IS NOT NULL AND DLTFL <> DLTCFL, false) AS ok_dlt_flag_mismatch,
           'investigator DLT flag ' || coalesce(DLTFL, '?') || ' but protocol rules say ' || coalesce(DLTCFL, '?')
               || coalesce(' (' || DLTRULE || ')', '') || ': ' || coalesce(AEDECOD, AETERM, '?')
               || ' grade ' || coalesce(CAST(AETOXGRN AS VARCHAR), '?') AS msg_dlt_flag_mismatch
    FROM adam.adae"""
    return Frame("dlt", "AE", sql, "adam.adae", (Check("dlt_flag_mismatch", "flag"),), requires=("adam.adae",))


def dm_frame(protocol: Protocol) -> Frame:
    # protocol [eligibility] age_min/age_max (registry minimumAge 12, maximumAge 65)
    sql = """
    SELECT 'DM' AS domain, USUBJID, 'USUBJID=' || USUBJID AS record_key, _FILE, _ROW,
           coalesce(AGE BETWEEN $age_min AND $age_max, false) AS ok_eligibility_age,
           CASE WHEN AGE IS NULL THEN 'AGE missing (eligibility ' || $age_min || '-' || $age_max || ' not verifiable)'
                ELSE 'AGE ' || AGE || ' outside the eligible ' || $age_min || '-' || $age_max END AS msg_eligibility_age
    FROM raw.dm"""
    el = protocol.raw["eligibility"]
    return Frame("dm", "DM", sql, "raw.dm", (Check("eligibility_age", "flag"),),
                 {"age_min": el["age_min"], "age_max": el["age_max"]}, ("raw.dm",))


def screening_bp_frame(protocol: Protocol) -> Frame:
    # protocol [eligibility]: SBP >= 140 or DBP >= 90 at screening excludes (registry exclusion 8)
    sql = """
    SELECT 'VS' AS domain, USUBJID, 'VSSEQ=' || VSSEQ AS record_key, _FILE, _ROW,
           NOT coalesce((VSTESTCD = 'SYSBP' AND VSSTRESN >= $sbp) OR (VSTESTCD = 'DIABP' AND VSSTRESN >= $dbp), false)
               AS ok_eligibility_bp,
           'screening ' || VSTESTCD || ' ' || VSSTRESN || ' mmHg at ' || coalesce(VISIT, '?')
               || ' (exclusion: SBP >= ' || $sbp || ' or DBP >= ' || $dbp || ')' AS msg_eligibility_bp
    FROM raw.vs
    WHERE VSTESTCD IN ('SYSBP', 'DIABP')
      AND list_has_any([upper(VISIT), split_part(upper(VISIT), ' ', 1)], $screen)"""
    el = protocol.raw["eligibility"]
    screen = [s.upper() for s in protocol.raw["schedule"]["visits"]["screening_names"]]
    return Frame("screening_bp", "VS", sql, "raw.vs", (Check("eligibility_bp", "flag"),),
                 {"sbp": el["screening_sbp_max_exclusive"], "dbp": el["screening_dbp_max_exclusive"], "screen": screen},
                 ("raw.vs",))


def vs_frame() -> Frame:
    # ranges: data/checks.toml [checks.vs_implausible.ranges] (registered as _ck_vs_ranges)
    sql = """
    SELECT 'VS' AS domain, v.USUBJID, 'VSSEQ=' || v.VSSEQ AS record_key, v._FILE, v._ROW,
           (v.VSSTRESN IS NULL OR r.lo IS NULL OR v.VSSTRESN BETWEEN r.lo AND r.hi) AS ok_vs_implausible,
           v.VSTESTCD || ' ' || v.VSSTRESN || coalesce(' ' || v.VSSTRESU, '') || ' outside the plausible '
               || r.lo || '-' || r.hi AS msg_vs_implausible
    FROM raw.vs v LEFT JOIN _ck_vs_ranges r ON upper(v.VSTESTCD) = r.VSTESTCD"""
    return Frame("vs", "VS", sql, "raw.vs", (Check("vs_implausible", "flag"),), requires=("raw.vs",))


def lb_frame() -> Frame:
    # DOMAIN.md 6: a result without its normal range cannot get grade 1 (CTCAE <LLN / >ULN);
    # units: data/criteria/lab_parameters.csv (registered as _ck_lab_units)
    sql = """
    SELECT 'LB' AS domain, l.USUBJID, 'LBSEQ=' || l.LBSEQ AS record_key, l._FILE, l._ROW,
           NOT (l.LBSTRESN IS NOT NULL AND (l.LBSTNRLO IS NULL OR l.LBSTNRHI IS NULL)) AS ok_lab_range_missing,
           (l.LBSTRESN IS NULL OR u.units IS NULL OR coalesce(list_contains(u.units, l.LBSTRESU), false))
               AS ok_lab_unit_unexpected,
           l.LBTESTCD || ' ' || l.LBSTRESN || ': normal range missing (LBSTNRLO '
               || coalesce(CAST(l.LBSTNRLO AS VARCHAR), 'missing') || ', LBSTNRHI '
               || coalesce(CAST(l.LBSTNRHI AS VARCHAR), 'missing') || ')' AS msg_lab_range_missing,
           l.LBTESTCD || ' unit ''' || coalesce(l.LBSTRESU, '') || ''' is not one of ' || array_to_string(u.units, ', ')
               AS msg_lab_unit_unexpected
    FROM raw.lb l
    LEFT JOIN (SELECT LBTESTCD, list(unit) AS units FROM _ck_lab_units GROUP BY LBTESTCD) u
           ON upper(l.LBTESTCD) = u.LBTESTCD"""
    return Frame("lb", "LB", sql, "raw.lb", (Check("lab_range_missing", "flag"), Check("lab_unit_unexpected", "flag")),
                 requires=("raw.lb",))


def duplicate_frame(domain: str, cols: list[str]) -> Frame | None:
    """Same subject and content under another --SEQ: every copy after the first (lowest --SEQ) is flagged."""
    seq = DOMAIN_KEYS.get(domain)
    if not seq or seq not in cols or "USUBJID" not in cols:
        return None
    content = [c for c in cols if c not in (seq, "_FILE", "_ROW") and not c.endswith(("_DT", "_DTF"))]
    part = ", ".join(f'"{c}"' for c in content)
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
                 requires=(f"raw.{domain}",))


def after_death_frame(domains: list[str], tables: dict[str, list[str]]) -> Frame | None:
    """Records dated after the death date (DM DTHDTC; a partial death date counts to its period's end)."""
    parts = []
    for d in domains:
        cols = tables.get(f"raw.{d}", [])
        date = DOMAIN_DATES.get(d)
        if not cols or date not in cols or "USUBJID" not in cols:
            continue
        parts.append(f"""SELECT '{d.upper()}' AS domain, t.USUBJID, {_record_key(d, cols, 't')} AS record_key,
                     t._FILE, t._ROW, t."{date}" AS rec_dt FROM raw.{d} t WHERE t."{date}" IS NOT NULL""")
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
           'dated ' || r.rec_dt || ', after death on ' || d.DTHDTC AS msg_record_after_death
    FROM ({" UNION ALL ".join(parts)}) r JOIN death d USING (USUBJID)"""
    sources = tuple(f"raw.{d}" for d in domains if f"raw.{d}" in tables)
    return Frame("after_death", "ALL", sql, sources, (Check("record_after_death", "flag"),), requires=("raw.dm",))


def unknown_subject_frame(tables: dict[str, list[str]]) -> Frame | None:
    """Records whose USUBJID is not in DM (only the failing rows: an anti-join)."""
    parts = []
    for name, cols in tables.items():
        schema, table = name.split(".")
        if schema != "raw" or table == "dm" or "USUBJID" not in cols or "_ROW" not in cols:
            continue
        parts.append(f"""SELECT '{table.upper()}' AS domain, t.USUBJID, {_record_key(table, cols, 't')} AS record_key,
                     t._FILE, t._ROW FROM raw.{table} t ANTI JOIN raw.dm d ON t.USUBJID = d.USUBJID
                     WHERE t.USUBJID IS NOT NULL""")
    if not parts:
        return None
    sql = f"""SELECT *, false AS ok_subject_unknown,
                     'USUBJID ' || USUBJID || ' is not in DM' AS msg_subject_unknown
              FROM ({" UNION ALL ".join(parts)})"""
    return Frame("unknown_subject", "ALL", sql, "raw.dm", (Check("subject_unknown", "flag"),), requires=("raw.dm",))


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
    """Scheduled visits absent from SV (DOMAIN.md 6): adam.adsv MISSFL rows, plus the later-day visits of
    every cycle whose day 1 is in SV or adam.adcyc (adcyc holds only cycles started by an infusion, so a
    subject continuing on apatinib alone would otherwise have no expected visits), planned on the cycle's
    actual day 1 + (day - 1) ('cycle' anchor), due (planned + late window) by the last dose and the cut date."""
    sql = f"""
    WITH cut AS (SELECT max(cut_date) AS cut_date FROM meta.loads WHERE cut_id = $cut_id),
    sched AS (SELECT USUBJID, AVISITCY, AVISITDY FROM adam.adsv
              WHERE VISITTYP = 'SCHEDULED' AND coalesce(MISSFL, 'N') <> 'Y'),
    d1 AS (SELECT USUBJID, CYCLE, min(D1) AS D1 FROM (
               SELECT USUBJID, CYCLE, D1DT AS D1 FROM adam.adcyc WHERE D1DT IS NOT NULL
               UNION ALL
               SELECT USUBJID, AVISITCY, ADT FROM adam.adsv
               WHERE VISITTYP = 'SCHEDULED' AND AVISITDY = 1 AND ADT IS NOT NULL) GROUP BY ALL),
    expected AS (
        SELECT d1.USUBJID, d1.CYCLE, w.day, d1.D1 + CAST(w.day - 1 AS INTEGER) AS plandt
        FROM d1 CROSS JOIN (SELECT unnest($days) AS day, unnest($late) AS late) w
        JOIN adam.adsl s ON s.USUBJID = d1.USUBJID
        WHERE w.day > 1 AND $anchor = 'cycle'
          AND d1.D1 + CAST(w.day - 1 + w.late AS INTEGER)
              <= least(coalesce(s.TRTEDT, (SELECT cut_date FROM cut)), coalesce((SELECT cut_date FROM cut), s.TRTEDT))),
    missing AS (
        SELECT USUBJID, CAST(CYCLE * 100 + day AS DOUBLE) AS VISITNUM, 'C' || CYCLE || 'D' || day AS VISIT,
               plandt AS PLANDT
        FROM expected e WHERE NOT EXISTS (SELECT 1 FROM sched v WHERE v.USUBJID = e.USUBJID
                                          AND v.AVISITCY = e.CYCLE AND v.AVISITDY = e.day)
        UNION ALL
        SELECT USUBJID, VISITNUM, VISIT, PLANDT FROM adam.adsv WHERE MISSFL = 'Y')
    SELECT 'SV' AS domain, USUBJID, 'VISITNUM=' || {_num_key('VISITNUM')} AS record_key,
           NULL::VARCHAR AS _FILE, NULL::BIGINT AS _ROW, false AS ok_visit_missing,
           any_value(VISIT) || ' (planned ' || coalesce(CAST(min(PLANDT) AS VARCHAR), '?') || ') is missing from SV'
               AS msg_visit_missing
    FROM missing GROUP BY USUBJID, VISITNUM"""
    days = sorted(protocol.windows)
    return Frame("visits_missing", "SV", sql, "adam.adsv", (Check("visit_missing", "flag"),),
                 {"cut_id": None, "days": days, "late": [protocol.windows[d][1] for d in days], "anchor": protocol.anchor},
                 ("adam.adsv", "adam.adcyc", "adam.adsl", "meta.loads"))


def exposure_frame(protocol: Protocol) -> Frame:
    # DOMAIN.md 6 / 4: inside the DLT window (adam.adsl DLTWEND, protocol [dlt] window_days) every planned
    # nal-IRI infusion (protocol [schedule] irinotecan_days of each cycle, from the cycle's day 1) up to the
    # window end, the cut date and the last dose must have an EX record (adam.adex IRIINF per cycle).
    # The last dose is the later of ADSL TRTEDT and the last nal-IRI record (a TRTEDT before the last
    # infusion would otherwise hide a gap before it). greatest/least ignore NULLs in DuckDB.
    sql = """
    WITH cut AS (SELECT max(cut_date) AS cut_date FROM meta.loads WHERE cut_id = $cut_id),
    iri AS (SELECT USUBJID, max(EXSTDTC_DT) AS last_iri FROM raw.ex
            WHERE list_contains($iri, upper(EXTRT)) GROUP BY USUBJID),
    cyc AS (
        SELECT x.USUBJID, x.CYCLE, x.CYSTDT, coalesce(x.IRIINF, 0) AS given,
               least(s.DLTWEND, coalesce(greatest(s.TRTEDT, i.last_iri), s.DLTWEND),
                     coalesce((SELECT cut_date FROM cut), s.DLTWEND)) AS upto
        FROM adam.adex x JOIN adam.adsl s USING (USUBJID) LEFT JOIN iri i USING (USUBJID)
        WHERE s.DLTWEND IS NOT NULL AND x.CYSTDT IS NOT NULL AND x.CYSTDT <= s.DLTWEND)
    SELECT 'EX' AS domain, USUBJID, 'CYCLE=' || CYCLE AS record_key, NULL::VARCHAR AS _FILE, NULL::BIGINT AS _ROW,
           given >= expected AS ok_exposure_gap_in_dlt_window,
           'cycle ' || CYCLE || ': ' || given || ' nal-IRI infusion(s) recorded, ' || expected
               || ' planned by ' || upto || ' (DLT window)' AS msg_exposure_gap_in_dlt_window
    FROM (SELECT *, (SELECT count(*) FROM unnest($days) AS t(day) WHERE CYSTDT + CAST(day - 1 AS INTEGER) <= upto)
                 AS expected FROM cyc)"""
    days = list(protocol.raw["schedule"]["irinotecan_days"])
    return Frame("exposure", "EX", sql, "adam.adex", (Check("exposure_gap_in_dlt_window", "flag"),),
                 {"days": days, "cut_id": None, "iri": [d.upper() for d in protocol.drugs.get("irinotecan", ())]},
                 ("adam.adex", "adam.adsl", "meta.loads", "raw.ex"))


def lab_ae_frame(cfg: ChecksConfig) -> Frame:
    # a lab-derived CTCAE grade >= min_grade (adam.adlb ATOXGRL/ATOXGRH) needs an AE of a matching term
    # (data/checks.toml [lab_ae_terms]) and grade >= min_grade within +-days; and the reverse for lab-type AEs
    sql = """
    WITH labs AS (
        SELECT USUBJID, LBSEQ, _FILE, _ROW, ADT, PARAMCD || '_L' AS k, ATOXGRL AS g FROM adam.adlb WHERE ATOXGRL >= $g
        UNION ALL
        SELECT USUBJID, LBSEQ, _FILE, _ROW, ADT, PARAMCD || '_H' AS k, ATOXGRH AS g FROM adam.adlb WHERE ATOXGRH >= $g),
    aes AS (
        SELECT a.USUBJID, a.AESEQ, a._FILE, a._ROW, a.ASTDT, coalesce(a.AENDT, a.ASTDT) AS endt, a.AEDECOD,
               a.AETOXGRN, t.k
        FROM adam.adae a JOIN _ck_lab_terms t ON upper(a.AEDECOD) = t.term
        WHERE a.AETOXGRN >= $g AND a.ASTDT IS NOT NULL)
    SELECT 'LB' AS domain, l.USUBJID, 'LBSEQ=' || l.LBSEQ AS record_key, l._FILE, l._ROW,
           EXISTS (SELECT 1 FROM aes a WHERE a.USUBJID = l.USUBJID AND a.k = l.k
                   AND l.ADT BETWEEN a.ASTDT - $days AND a.endt + $days) AS ok_lab_ae_grade_mismatch,
           'lab grade ' || l.g || ' (' || l.k || ') on ' || coalesce(CAST(l.ADT AS VARCHAR), '?')
               || ' without a matching AE of grade >= ' || $g || ' within ' || $days || ' days' AS msg_lab_ae_grade_mismatch
    FROM labs l
    UNION ALL
    SELECT 'AE', a.USUBJID, 'AESEQ=' || a.AESEQ, a._FILE, a._ROW,
           bool_or(EXISTS (SELECT 1 FROM labs l WHERE l.USUBJID = a.USUBJID AND l.k = a.k
                   AND l.ADT BETWEEN a.ASTDT - $days AND a.endt + $days)),
           'AE ' || a.AEDECOD || ' grade ' || a.AETOXGRN || ' without a lab grade >= ' || $g || ' within ' || $days || ' days'
    FROM aes a GROUP BY ALL"""
    return Frame("lab_ae", "ALL", sql, "adam.adlb", (Check("lab_ae_grade_mismatch", "flag"),),
                 {"g": int(cfg.param("lab_ae_grade_mismatch", "min_grade")),
                  "days": int(cfg.param("lab_ae_grade_mismatch", "days"))}, ("adam.adlb", "adam.adae"))


def build_frames(protocol: Protocol, cfg: ChecksConfig, tables: dict[str, list[str]]) -> list[Frame]:
    """Every frame to validate on this cut (frames whose tables are absent are still listed: they are skipped)."""
    frames = [ae_frame(cfg, tables.get("raw.ae", [])), dlt_frame(), dm_frame(protocol), screening_bp_frame(protocol), vs_frame(), lb_frame(),
              visit_frame(), missing_visit_frame(protocol), exposure_frame(protocol), lab_ae_frame(cfg)]
    for d in cfg.param("record_duplicate", "domains"):
        frame = duplicate_frame(d, tables.get(f"raw.{d}", []))
        if frame:
            frames.append(frame)
    for frame in (after_death_frame(list(cfg.param("record_after_death", "domains")), tables),
                  unknown_subject_frame(tables)):
        if frame:
            frames.append(frame)
    return frames
