"""Treatment cycles anchored on each cycle's ACTUAL day 1 (DOMAIN.md section 6).

Day 1 of a cycle is the day its treatment starts (the nal-IRI infusion, with apatinib). Where the
export names visits (EX VISIT or SV VISIT 'C<n>D<d>'), cycle n is the one the name says, with its day 1
from, in order: the nal-IRI infusion named CnD1 (CYCLSRC 'INFUSION'), the SV visit CnD1 ('VISIT'), another
EX record named CnD1, e.g. apatinib when the infusion was not given ('EXPOSURE'). A cycle known only from a
later day (C2D8 recorded, C2D1 not) or from a later cycle keeps its planned day 1 ('PLANNED'), so that a
skipped day 1 neither renumbers the later cycles nor reads as a delay. Only complete dates anchor a cycle
(a partial date's imputed day would invent a delay). Without any visit name, from dates alone: the first
infusion is C1D1 and a later infusion starts a new cycle when it falls at least `cycle_length - early window
of D1` days after the current day 1 (D8/D15 infusions never do). While dosing continues (to the last dose,
at most the cut date) after the last cycle so found, further cycles follow every `cycle_length` days
('FIXED'), as do the cycles of a subject dosed without any nal-IRI infusion (e.g. a study of other drugs).
Planned D1 = previous actual D1 + cycle length; the delay is actual - planned (DOMAIN.md 6).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.study_day import complete_date
from safetyboard.protocol import Protocol

ADCYC_SCHEMA = {
    "USUBJID": pl.String,
    "CYCLE": pl.Int32,
    "D1DT": pl.Date,
    "PLAND1DT": pl.Date,
    "DELAYDY": pl.Int32,
    "CYCLSRC": pl.String,
}
# a scheduled treatment visit: C<cycle>D<day> (DESIGN.md input contract), case and spaces ignored; a sponsor's
# other names come from the protocol ([schedule.visits] name_patterns)
SCHEDULED_VISIT = r"^C(?P<cycle>\d+)D(?P<day>\d+)$"
# which record names a cycle's day 1 when several do (lower wins)
_SOURCES = {"INFUSION": 0, "VISIT": 1, "EXPOSURE": 2}


def visit_cycle_day(visit: pl.Expr, patterns: tuple[str, ...] = ()) -> tuple[pl.Expr, pl.Expr]:
    """(cycle, day) of a scheduled visit name (upper-cased, blanks removed): 'C<n>D<d>', or one that a protocol
    pattern matches (groups 'cycle' and 'day': '^CYCLE(?P<cycle>\\d+)DAY(?P<day>\\d+)$' for 'Cycle 1 Day 8'),
    the first that matches; else nulls."""
    name = visit.str.to_uppercase().str.replace_all(r"\s+", "")
    found = [name.str.extract_groups(p) for p in (SCHEDULED_VISIT, *patterns)]
    # the first pattern that matches gives both (a pattern that does not match gives nulls)
    cycle, day = (pl.coalesce([f.struct.field(g) for f in found]).cast(pl.Int32) for g in ("cycle", "day"))
    return cycle, day


def _is_drug(protocol: Protocol, drug: str) -> pl.Expr:
    return pl.col("EXTRT").str.to_uppercase().str.strip_chars().is_in(list(protocol.drugs[drug]))


def cycle_day1_dates(infusions: list[dt.date], cycle_length: int, d1_early: int) -> list[dt.date]:
    """Day-1 dates from one subject's infusion dates alone (sorted; no visit names)."""
    d1s: list[dt.date] = []
    for date in infusions:
        if not d1s or (date - d1s[-1]).days >= cycle_length - d1_early:
            d1s.append(date)
    return d1s


def named_cycles(day1: dict[int, tuple[dt.date, str]], last_named: int, first_dose: dt.date | None,
                 cycle_length: int) -> list[tuple[int, dt.date, dt.date, str]]:
    """(cycle, actual D1, planned D1, source) for cycles 1..last_named of one subject whose records name
    their visits. `day1`: cycle -> (day-1 date, source) from the records named C<n>D1. A cycle without a
    named day 1 keeps its planned one (C1: the first dose, DOMAIN.md 6)."""
    out: list[tuple[int, dt.date, dt.date, str]] = []
    for cycle in range(1, last_named + 1):
        if cycle == 1:
            planned = day1[1][0] if 1 in day1 else first_dose
        else:
            planned = out[-1][1] + dt.timedelta(days=cycle_length)
        if planned is None:
            return []
        actual, source = day1.get(cycle, (planned, "PLANNED"))
        out.append((cycle, actual, planned, source))
    return out


def _named_records(ex: pl.DataFrame, sv: pl.DataFrame | None, protocol: Protocol) -> pl.DataFrame:
    """USUBJID, CYC, DAY, DT (complete date or null), SRC of every EX and SV record named C<n>D<d>."""
    parts = []
    if "VISIT" in ex.columns:
        cyc, day = visit_cycle_day(pl.col("VISIT"), protocol.visit_name_patterns)
        infusion = _is_drug(protocol, "irinotecan") & (pl.col("EXDOSE").fill_null(1) > 0 if "EXDOSE" in ex.columns else pl.lit(True))
        parts.append(ex.select(
            "USUBJID", cyc.alias("CYC"), day.alias("DAY"), complete_date(ex, "EXSTDTC").alias("DT"),
            pl.when(infusion).then(pl.lit("INFUSION")).otherwise(pl.lit("EXPOSURE")).alias("SRC"),
        ))
    if sv is not None and sv.height and "VISIT" in sv.columns and "SVSTDTC_DT" in sv.columns:
        cyc, day = visit_cycle_day(pl.col("VISIT"), protocol.visit_name_patterns)
        parts.append(sv.select("USUBJID", cyc.alias("CYC"), day.alias("DAY"), complete_date(sv, "SVSTDTC").alias("DT"),
                               pl.lit("VISIT").alias("SRC")))
    schema = {"USUBJID": pl.String, "CYC": pl.Int32, "DAY": pl.Int32, "DT": pl.Date, "SRC": pl.String}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.cast(schema) for p in parts]).filter(pl.col("CYC") >= 1)


def derive_adcyc(ex: pl.DataFrame, first_dose: pl.DataFrame, protocol: Protocol, cut_date: dt.date | None,
                 sv: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per subject and cycle. `first_dose`: USUBJID, TRTSDT (first dose date); `sv`: raw SV."""
    length = protocol.cycle_length_days
    early = protocol.windows.get(1, (0, 0))[0]
    rows: list[dict] = []
    starts = dict(first_dose.filter(pl.col("TRTSDT").is_not_null()).select("USUBJID", "TRTSDT").iter_rows())
    # cycles named by the records: the last one named (any day), and each named day 1 (best source, earliest)
    named = _named_records(ex, sv, protocol).filter(pl.col("USUBJID").is_in(list(starts)))
    last_named = dict(named.group_by("USUBJID").agg(pl.col("CYC").max()).iter_rows())
    day1: dict[str, dict[int, tuple[dt.date, str]]] = {}
    firsts = (
        named.filter((pl.col("DAY") == 1) & pl.col("DT").is_not_null())
        .with_columns(pl.col("SRC").replace_strict(_SOURCES, return_dtype=pl.Int32).alias("_P"))
        .sort("USUBJID", "CYC", "_P", "DT").group_by("USUBJID", "CYC", maintain_order=True).first()
    )
    for subject, cycle, date, source in firsts.select("USUBJID", "CYC", "DT", "SRC").iter_rows():
        day1.setdefault(subject, {})[cycle] = (date, source)
    # dates alone: given nal-IRI infusions (one pass over each subject's sorted dates: a new cycle depends
    # on the previous day 1)
    inf = (
        ex.filter(_is_drug(protocol, "irinotecan") & pl.col("EXSTDTC_DT").is_not_null())
        .filter(pl.col("EXDOSE").fill_null(1) > 0)
        .select("USUBJID", complete_date(ex, "EXSTDTC").alias("DT")).drop_nulls().sort("USUBJID", "DT")
    )
    infusions = dict(inf.group_by("USUBJID", maintain_order=True).agg("DT").iter_rows())
    # the last dose known to a day (exposure.exposure_intervals: partial dose dates are not imputed)
    end = pl.max_horizontal(complete_date(ex, "EXENDTC").max() if "EXENDTC_DT" in ex.columns else pl.lit(None, pl.Date),
                            complete_date(ex, "EXSTDTC").max())
    last_dose = dict(ex.group_by("USUBJID").agg(end.alias("LAST")).iter_rows())
    for subject, start in starts.items():
        if subject in last_named:
            cycles = named_cycles(day1.get(subject, {}), last_named[subject], start, length)
        elif subject in infusions:
            d1s = cycle_day1_dates(infusions[subject], length, early)
            cycles = [(i + 1, d1, d1 if i == 0 else d1s[i - 1] + dt.timedelta(days=length), "INFUSION")
                      for i, d1 in enumerate(d1s)]
        else:
            cycles = [(1, start, start, "FIXED")]
        # dosing continues after the last cycle found: fixed blocks up to the last dose (at most the cut)
        limit = last_dose.get(subject) or start
        if cut_date is not None:
            limit = min(limit, cut_date)
        while cycles and cycles[-1][1] + dt.timedelta(days=length) <= limit:
            d1 = cycles[-1][1] + dt.timedelta(days=length)
            cycles.append((cycles[-1][0] + 1, d1, d1, "FIXED"))
        for cycle, d1, planned, source in cycles:
            rows.append({"USUBJID": subject, "CYCLE": cycle, "D1DT": d1, "PLAND1DT": planned,
                         "DELAYDY": (d1 - planned).days, "CYCLSRC": source})
    return pl.DataFrame(rows, schema=ADCYC_SCHEMA).sort("USUBJID", "CYCLE")


def assign_cycle(frame: pl.DataFrame, date_col: str, adcyc: pl.DataFrame) -> pl.DataFrame:
    """Add CYCLE and CYCLEDY (day within the cycle) for `date_col`: the cycle whose [D1, next D1) holds it.

    Dates before C1D1 (or with no date) get null.
    """
    cyc = adcyc.select("USUBJID", "CYCLE", pl.col("D1DT").alias("_D1")).sort("_D1")
    # the as-of join sorts by date: done on the keys alone, then put back in the frame's row
    # order, so that a wide frame (every lab column) is never sorted
    keys = frame.select("USUBJID", pl.col(date_col).alias("_DT")).with_row_index("_ORD")
    has = keys.filter(pl.col("_DT").is_not_null()).sort("_DT")
    joined = has.join_asof(cyc, left_on="_DT", right_on="_D1", by="USUBJID", strategy="backward", check_sortedness=False)
    joined = joined.select(
        "_ORD", pl.col("CYCLE").cast(pl.Int32), ((pl.col("_DT") - pl.col("_D1")).dt.total_days() + 1).cast(pl.Int32).alias("CYCLEDY")
    )
    placed = keys.select("_ORD").join(joined, on="_ORD", how="left", maintain_order="left")
    return frame.with_columns(placed["CYCLE"], placed["CYCLEDY"])
