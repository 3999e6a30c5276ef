"""Adapter from a cut to the escalation engine (dashboard.escalation), for the Dose escalation page.

All numbers come from the engine (`from_cut.levels_from_cut` + `engine.evaluate` / `engine.what_if`)
with the design parameters of the protocol's [escalation] section, so the page agrees with
`safetyboard escalation --db ... --json`. Level indices are mapped back to the protocol's codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl

from dashboard.escalation import engine
from dashboard.escalation.result import EscalationResult, LevelCounts
from safetyboard.protocol import Protocol


def design_kwargs(protocol: Protocol, design: str | None = None, target: float | None = None) -> dict[str, Any]:
    """engine.evaluate keyword arguments exactly as `safetyboard escalation` builds them."""
    from dashboard.escalation import command

    return command._design_options(protocol, (design or protocol.design).lower(), target or protocol.target)


def levels_from_cut(con: duckdb.DuckDBPyConnection, protocol: Protocol) -> tuple[list[LevelCounts], int | None]:
    """Counts per protocol dose level (lowest first) and the current level index (None = engine default)."""
    from dashboard.escalation import from_cut

    levels, current, _codes = from_cut.levels_from_cut(con, protocol)
    return list(levels), current


def unassigned_subjects(con: duckdb.DuckDBPyConnection, protocol: Protocol) -> list[tuple[str, str | None]]:
    """Treated subjects with no protocol dose level (not counted at any level; shown as a warning)."""
    from dashboard.escalation import from_cut

    return from_cut.unassigned_subjects(con, protocol)


def undecided_subjects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Evaluable subjects counted without a DLT whose window holds an AE with no DLT verdict yet."""
    from dashboard.escalation import from_cut

    rows = from_cut.undecided_subjects(con)
    return pl.DataFrame({"USUBJID": [r[0] for r in rows], "DOSELVLC": [r[1] for r in rows], "reason": [r[2] for r in rows]},
                        schema={"USUBJID": pl.String, "DOSELVLC": pl.String, "reason": pl.String})


def not_evaluable_subjects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Treated patients at a dose level whose DLT window is over without making them DLT-evaluable (died or
    left the study early, too few doses: adam.adsl DLTEVLRSN): the escalation does not count them, and the
    design replaces them (DOMAIN.md 4). USUBJID, DOSELVLC, COHORT, why not evaluable; in dose order."""
    from dashboard.queries import columns_of

    schema = {"USUBJID": pl.String, "DOSELVLC": pl.String, "COHORT": pl.String, "why not evaluable": pl.String}
    cols = set(columns_of(con, "adam", "adsl"))
    if not {"SAFFL", "DLTEVLFL", "DLTWCFL", "DOSELVL"} <= cols:
        return pl.DataFrame(schema=schema)
    cohort = "COHORT" if "COHORT" in cols else "NULL"
    reason = "DLTEVLRSN" if "DLTEVLRSN" in cols else "NULL"
    return con.sql(
        f"SELECT USUBJID, DOSELVLC, CAST({cohort} AS VARCHAR) AS COHORT, {reason} AS \"why not evaluable\" FROM adam.adsl "
        "WHERE SAFFL = 'Y' AND DOSELVL IS NOT NULL AND DLTEVLFL = 'N' AND DLTWCFL = 'Y' "
        "ORDER BY DOSELVL, USUBJID"
    ).pl().cast(schema)  # type: ignore[arg-type]


def unassigned_summary(con: duckdb.DuckDBPyConnection, protocol: Protocol) -> pl.DataFrame:
    """The treated subjects without a protocol dose level, with the reason (adam.adsl DOSELVLRSN):
    USUBJID, DOSELVLC, ARMCD, reason. One row per subject; the page summarises them in one message."""
    unassigned = unassigned_subjects(con, protocol)
    schema = {"USUBJID": pl.String, "DOSELVLC": pl.String, "ARMCD": pl.String, "reason": pl.String}
    if not unassigned:
        return pl.DataFrame(schema=schema)
    from dashboard.queries import columns_of

    cols = set(columns_of(con, "adam", "adsl"))
    arm = "coalesce(ACTARMCD, ARMCD)" if {"ACTARMCD", "ARMCD"} <= cols else ("ARMCD" if "ARMCD" in cols else "NULL")
    reason = "DOSELVLRSN" if "DOSELVLRSN" in cols else "NULL"
    detail = con.sql(
        f"SELECT USUBJID, {arm} AS ARMCD, {reason} AS reason FROM adam.adsl "
        "WHERE USUBJID IN (SELECT unnest(CAST(? AS VARCHAR[])))",
        params=[[u for u, _ in unassigned]],
    ).pl()
    frame = pl.DataFrame({"USUBJID": [u for u, _ in unassigned], "DOSELVLC": [c for _, c in unassigned]},
                         schema={"USUBJID": pl.String, "DOSELVLC": pl.String})
    out = frame.join(detail.cast({"ARMCD": pl.String, "reason": pl.String}), on="USUBJID", how="left")
    return out.with_columns(
        pl.col("reason").fill_null(pl.format("dose level '{}' is not a protocol level", pl.col("DOSELVLC").fill_null("")))
    ).select(list(schema)).sort("USUBJID")


def unassigned_message(summary: pl.DataFrame) -> str:
    """One sentence for the page: how many treated subjects are not counted, and why (by reason)."""
    by_reason = summary.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    reasons = "; ".join(f"{r} ({n})" for r, n in by_reason.iter_rows())
    n = summary.height
    return (f"{n} treated subject{'s' if n != 1 else ''} ha{'ve' if n != 1 else 's'} no protocol dose level and "
            f"{'are' if n != 1 else 'is'} not counted at any level: {reasons}.")


def evaluate(levels: Sequence[LevelCounts], current: int | None, protocol: Protocol,
             design: str | None = None, target: float | None = None) -> EscalationResult:
    design = (design or protocol.design).lower()
    target = target or protocol.target
    return engine.evaluate(levels, current, design, target, **design_kwargs(protocol, design, target))


def what_if(levels: Sequence[LevelCounts], current: int | None, dose: int, k: int, j: int, protocol: Protocol,
            design: str | None = None, target: float | None = None) -> EscalationResult:
    design = (design or protocol.design).lower()
    target = target or protocol.target
    return engine.what_if(levels, current, dose, k, j, design, target, **design_kwargs(protocol, design, target))


def as_json(result: EscalationResult, protocol: Protocol) -> dict[str, Any]:
    """The same document as `safetyboard escalation --db ... --json` (levels named by protocol code)."""
    from dashboard.escalation import command

    codes = level_codes(protocol)
    labels = [protocol.dose_level(c).label for c in codes]  # type: ignore[union-attr]
    return command.to_json(result, codes, labels)


def level_codes(protocol: Protocol) -> list[str]:
    """Protocol dose-level codes, lowest dose first (the engine's level index order)."""
    return [lv.code for lv in sorted(protocol.dose_levels, key=lambda d: d.order)]


def levels_frame(result: EscalationResult, protocol: Protocol) -> pl.DataFrame:
    """One row per dose level with the numbers of `safetyboard escalation --json`, level as its code."""
    rows = as_json(result, protocol)["levels"]
    return pl.DataFrame(rows, infer_schema_length=None).rename({
        "escalate_max": "escalate_if_dlt_at_most", "deescalate_min": "deescalate_if_dlt_at_least",
        "eliminate_min": "eliminate_if_dlt_at_least",
    })


def code_of(index: int | None, protocol: Protocol) -> str | None:
    codes = level_codes(protocol)
    return None if index is None else codes[index]


def adjudication(dlts: pl.DataFrame) -> pl.DataFrame:
    """Add ADJUD: agree (investigator flag DLTFL and protocol rule DLTCFL both Y, or both N),
    disagree (one Y, the other N), pending (investigator flag not recorded)."""
    inv = pl.col("DLTFL")
    rule = pl.col("DLTCFL").fill_null("N")
    out = dlts.with_columns(
        pl.when(inv.is_null()).then(pl.lit("pending"))
        .when(inv == rule).then(pl.lit("agree"))
        .otherwise(pl.lit("disagree")).alias("ADJUD")
    )
    if "DLTRULE" in out.columns:  # an event the investigator flagged that no rule caught: say so, not 'None'
        out = out.with_columns(pl.col("DLTRULE").fill_null(pl.lit("(no rule)")))
    return out


def describe_rules(dlts: pl.DataFrame, descriptions: dict[str, str]) -> pl.DataFrame:
    """Add RULEDESC: the protocol's wording of each rule id in DLTRULE (';'-joined ids; from
    etl.derive.dlt_rules.rule_descriptions), so the listing says "grade 4 thrombocytopenia", not PLT_G4.
    An id the table does not know is shown as it is."""
    if "DLTRULE" not in dlts.columns:
        return dlts
    words = (pl.col("DLTRULE").str.split(";").list.eval(pl.element().replace(descriptions)).list.join("; "))
    out = dlts.with_columns(
        pl.when(pl.col("DLTRULE").is_null() | (pl.col("DLTRULE") == "(no rule)")).then(None).otherwise(words).alias("RULEDESC")
    )
    order = list(dlts.columns)
    order.insert(order.index("DLTRULE") + 1, "RULEDESC")
    return out.select(order)

