"""Counts per protocol dose level from a data cut (adam.adsl), read-only SQL.

Rules (documented in the README):
- treated = SAFFL = 'Y'; evaluable = treated and DLTEVLFL = 'Y'; DLT = evaluable and DLTFL = 'Y'
  (adam.adsl contract, DESIGN.md; DLTEVLFL is 'Y' for every subject with a DLT).
- Subjects are matched to protocol levels by the code in DOSELVLC (case-insensitive); every
  protocol level appears, lowest dose first, also when nobody was treated there.
- The current level is the level of the most recently started treated subject (max TRTSDT; among
  subjects starting the same day, the highest dose). With no treated subject it is the protocol's
  start level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard.escalation.result import LevelCounts

if TYPE_CHECKING:
    import duckdb

    from safetyboard.protocol import Protocol

_COUNTS_SQL = """
SELECT upper(trim(DOSELVLC)) AS code,
       count(*) AS n_treated,
       count(*) FILTER (WHERE DLTEVLFL = 'Y') AS n_evaluable,
       count(*) FILTER (WHERE DLTEVLFL = 'Y' AND DLTFL = 'Y') AS n_dlt
FROM adam.adsl
WHERE SAFFL = 'Y'
GROUP BY 1
"""

_LATEST_SQL = """
SELECT upper(trim(DOSELVLC)) AS code
FROM adam.adsl
WHERE SAFFL = 'Y' AND TRTSDT IS NOT NULL AND DOSELVLC IS NOT NULL
ORDER BY TRTSDT DESC, DOSELVL DESC NULLS LAST
LIMIT 1
"""

_UNASSIGNED_SQL = """
SELECT USUBJID, {code}
FROM adam.adsl
WHERE SAFFL = 'Y' AND (DOSELVLC IS NULL OR NOT list_contains(?, upper(trim(DOSELVLC))))
ORDER BY USUBJID
"""


def _ordered(protocol: Protocol) -> list[str]:
    """Protocol dose-level codes, lowest dose first (by `order`)."""
    return [d.code for d in sorted(protocol.dose_levels, key=lambda d: d.order)]


def levels_from_cut(con: duckdb.DuckDBPyConnection, protocol: Protocol) -> tuple[list[LevelCounts], int | None, list[str]]:
    """(counts per protocol level lowest first, current level index, the level codes).

    LevelCounts.label is the protocol's dose-level code."""
    codes = _ordered(protocol)
    rows = {r[0]: r[1:] for r in con.execute(_COUNTS_SQL).fetchall() if r[0] is not None}
    levels = []
    for code in codes:
        n_treated, n_evaluable, n_dlt = rows.get(code.upper(), (0, 0, 0))
        levels.append(LevelCounts(code, int(n_treated), int(n_evaluable), int(n_dlt)))
    upper = [c.upper() for c in codes]
    latest = con.execute(_LATEST_SQL).fetchone()
    current: int | None = None
    if latest is not None and latest[0] in upper:
        current = upper.index(latest[0])
    else:
        start = str(protocol.escalation.get("start_level", "")).upper()
        current = upper.index(start) if start in upper else None
    return levels, current, codes


def unassigned_subjects(con: duckdb.DuckDBPyConnection, protocol: Protocol) -> list[tuple[str, str | None]]:
    """Treated subjects (SAFFL = 'Y') whose DOSELVLC is missing or not a protocol code:
    (USUBJID, DOSELVLC, else the arm code ACTARMCD / ARMCD the subject has). They cannot be counted at any level
    and must be reported, not dropped; the arm says why (the CDISC pilot's 'XAN_LO', 'PBO'), where a missing
    DOSELVLC alone said nothing."""
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'adam' AND table_name = 'adsl'"
    ).fetchall()}
    code = "coalesce(" + ", ".join(c for c in ("DOSELVLC", "ACTARMCD", "ARMCD") if c in cols) + ")"
    upper = [c.upper() for c in _ordered(protocol)]
    return [(r[0], r[1]) for r in con.execute(_UNASSIGNED_SQL.format(code=code), [upper]).fetchall()]


_UNDECIDED_SQL = """
SELECT USUBJID, DOSELVLC, DLTUNDRSN
FROM adam.adsl
WHERE SAFFL = 'Y' AND DLTEVLFL = 'Y' AND DLTUNDFL = 'Y'
ORDER BY USUBJID
"""


def undecided_subjects(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, str]]:
    """Evaluable subjects counted without a DLT although an AE in their DLT window has an undecided
    verdict (ADSL DLTUNDFL: grade, onset or duration unknown, or a protocol DLT not adjudicated):
    (USUBJID, DOSELVLC, reason). The counts may change once the site records it, so they are reported
    beside the decision. Cuts written before DLTUNDFL existed give none."""
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'adam' AND table_name = 'adsl'"
    ).fetchall()}
    if not {"DLTUNDFL", "DLTUNDRSN"} <= cols:
        return []
    return [(r[0], r[1], r[2]) for r in con.execute(_UNDECIDED_SQL).fetchall()]


def current_cut_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The cut id of this file (latest successful row of meta.loads), or None if absent."""
    import duckdb

    try:
        row = con.execute("SELECT cut_id FROM meta.loads WHERE status = 'ok' ORDER BY loaded_at DESC LIMIT 1").fetchone()
    except duckdb.Error:
        return None
    return None if row is None else str(row[0])
