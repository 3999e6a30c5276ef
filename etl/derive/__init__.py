"""Derivations: one module per analysis table or rule (pure Polars functions).

`build_adam` turns the typed raw.* frames into the adam.* analysis tables of DESIGN.md.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.adae import derive_adae
from etl.derive.adex import derive_adex
from etl.derive.adlb import ADLB_INPUTS, derive_adlb
from etl.derive.adsl import derive_adsl_base, derive_adsl_dlt, disposition_ends
from etl.derive.adsv import derive_adsv
from etl.derive.advs import ADVS_INPUTS, derive_advs
from etl.derive.cycles import derive_adcyc
from etl.derive.exposure import exposure_intervals, infusion_days
from safetyboard.protocol import Protocol


def _stopped_for_other_reasons(ds: pl.DataFrame | None) -> list[str]:
    """Subjects whose disposition gives a reason other than an adverse event (progression, withdrawal...).

    Their treatment stop is not a toxicity delay (DOMAIN.md 4: a delay *for toxicity*).
    """
    ends = disposition_ends(ds)
    return ends.filter(pl.col("EXITWHY") != "ADVERSE EVENT")["USUBJID"].unique().to_list()


def _delays(adcyc: pl.DataFrame, adsl: pl.DataFrame, protocol: Protocol, cut_date: dt.date | None = None,
            not_toxicity: list[str] | None = None, ex: pl.DataFrame | None = None) -> pl.DataFrame:
    """Cycles whose planned day 1 lies inside the DLT window and whose delay exceeds the limit (RUNNING False),
    and those due but not given by the cut whose delay has not reached it yet (RUNNING True: undecided).

    Includes the cycle after the last one begun by an infusion when no infusion was given for more than
    the limit after it was due (treatment held or stopped: the delay is still running), so that a
    toxicity that stops treatment inside the window is not missed (DOMAIN.md 4, delay > 14 days). The
    delay ends at the first nal-IRI infusion given from the due date on (its D1 window's early days
    included), such as a C2D8 infusion after a held C2D1 dose, or runs to the cut date.
    """
    limit = int(protocol.dlt["treatment_delay_max_days"])
    window = protocol.dlt_window_days
    starts = adsl.select("USUBJID", "TRTSDT")
    in_window = pl.col("PLAND1DT") <= pl.col("TRTSDT") + pl.duration(days=window - 1)
    started = adcyc.join(starts, on="USUBJID").filter(
        (pl.col("CYCLE") > 1) & (pl.col("DELAYDY") > limit) & in_window
    ).select("USUBJID", "CYCLE", "PLAND1DT", "DELAYDY")
    cut = cut_date or dt.date.today()
    pending = (
        adcyc.filter(pl.col("CYCLSRC") == "INFUSION").sort("USUBJID", "CYCLE").group_by("USUBJID").last()
        .with_columns(
            (pl.col("CYCLE") + 1).cast(pl.Int32).alias("CYCLE"),
            (pl.col("D1DT") + pl.duration(days=protocol.cycle_length_days)).alias("PLAND1DT"),
        )
    )
    early = protocol.windows.get(1, (0, 0))[0]
    resumed = pl.lit(None, pl.Date)
    if ex is not None and ex.height:
        given = infusion_days(exposure_intervals(ex, protocol)).filter(pl.col("GIVEN")).select("USUBJID", "START")
        first = pending.select("USUBJID", "PLAND1DT").join(given, on="USUBJID").filter(
            pl.col("START") >= pl.col("PLAND1DT") - pl.duration(days=early)
        ).group_by("USUBJID").agg(pl.col("START").min().alias("_RESUMED"))
        pending = pending.join(first, on="USUBJID", how="left")
        resumed = pl.col("_RESUMED")
    pending = (
        pending.with_columns(
            (pl.coalesce(resumed, pl.lit(cut)) - pl.col("PLAND1DT")).dt.total_days().cast(pl.Int32).alias("DELAYDY"),
            # due, not given by the cut and not yet over the limit: it exceeds the limit unless treatment resumes in
            # time, so the AE holding it is undecided, not cleared (RUNNING; not counted as a delay)
            resumed.is_null().alias("RUNNING") if ex is not None and ex.height else pl.lit(True).alias("RUNNING"),
        )
        .join(starts, on="USUBJID")
        .filter(in_window & ~pl.col("USUBJID").is_in(not_toxicity or []))
    )
    over = pending.filter(pl.col("DELAYDY") > limit).with_columns(pl.lit(False).alias("RUNNING"))
    running = pending.filter(pl.col("RUNNING") & (pl.col("DELAYDY") >= 1) & (pl.col("DELAYDY") <= limit))
    columns = ["USUBJID", "CYCLE", "PLAND1DT", "DELAYDY", "RUNNING"]
    started = started.with_columns(pl.lit(False).alias("RUNNING")).select(columns)
    return pl.concat([started.cast(over.select(columns).schema), over.select(columns), running.select(columns)])


def build_core(raw: dict[str, pl.DataFrame], protocol: Protocol, cut_date: dt.date | None = None) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """adsl, adae, adex, adsv, adcyc, and the subject base that adlb/advs need.

    Needs dm, ex, ae (and sv when present); lb and vs are derived per subject batch with
    :func:`derive_measurements`, so a program-scale lab table is never held whole.
    """
    dm, ex, ae = raw["dm"], raw["ex"], raw["ae"]
    base = derive_adsl_base(dm, ex, protocol)
    adcyc = derive_adcyc(ex, base.select("USUBJID", "TRTSDT"), protocol, cut_date, raw.get("sv"))
    delays = _delays(adcyc, base, protocol, cut_date, _stopped_for_other_reasons(raw.get("ds")), ex)
    adae = derive_adae(ae, base, adcyc, delays, protocol, cut_date)
    adsl = derive_adsl_dlt(base, adae, ex, delays, protocol, cut_date, raw.get("ds"))
    tables = {
        "adsl": adsl,
        "adae": adae,
        "adex": derive_adex(ex, base, adcyc, protocol, cut_date),
        "adsv": derive_adsv(raw.get("sv"), base, adcyc, protocol, cut_date),
        "adcyc": adcyc,
    }
    return tables, base


def derive_measurements(domain: str, frame: pl.DataFrame, base: pl.DataFrame, adcyc: pl.DataFrame, protocol: Protocol) -> pl.DataFrame:
    """adlb from raw lb, or advs from raw vs, for any subset of whole subjects."""
    if domain == "lb":
        return derive_adlb(frame, base, adcyc)
    if domain == "vs":
        return derive_advs(frame, base, adcyc, protocol)
    raise ValueError(f"no per-subject derivation for {domain!r}")


MEASUREMENT_TABLES = {"lb": "adlb", "vs": "advs"}
MEASUREMENT_INPUTS = {"lb": ADLB_INPUTS, "vs": ADVS_INPUTS}  # raw columns each derivation reads


def build_adam(raw: dict[str, pl.DataFrame], protocol: Protocol, cut_date: dt.date | None = None) -> dict[str, pl.DataFrame]:
    """adsl, adae, adlb, advs, adex, adsv, adcyc from raw frames held in memory (architecture.md)."""
    tables, base = build_core(raw, protocol, cut_date)
    for domain, name in MEASUREMENT_TABLES.items():
        tables[name] = derive_measurements(domain, raw[domain], base, tables["adcyc"], protocol)
    return tables
