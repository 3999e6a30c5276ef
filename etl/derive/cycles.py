"""Treatment cycles anchored on each cycle's ACTUAL day 1 (DOMAIN.md section 6).

Day 1 of a cycle is a nal-IRI infusion. When EX names the visit (VISIT 'C<n>D1'), that date is
day 1 of cycle n. Otherwise, from dates alone: the first infusion is C1D1 and a later infusion
starts a new cycle when it falls at least `cycle_length - early window of D1` days after the
current day 1 (D8/D15 infusions never do). Without any infusion (e.g. a study of other drugs),
cycles are fixed blocks of `cycle_length` days from the first dose, and CYCLSRC says so.
Planned D1 = previous actual D1 + cycle length; the delay is actual - planned (DOMAIN.md 6).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from safetyboard.protocol import Protocol

ADCYC_SCHEMA = {
    "USUBJID": pl.String,
    "CYCLE": pl.Int32,
    "D1DT": pl.Date,
    "PLAND1DT": pl.Date,
    "DELAYDY": pl.Int32,
    "CYCLSRC": pl.String,
}


def _is_drug(protocol: Protocol, drug: str) -> pl.Expr:
    return pl.col("EXTRT").str.to_uppercase().str.strip_chars().is_in(list(protocol.drugs[drug]))


def cycle_day1_dates(infusions: list[dt.date], visits: list[str | None], cycle_length: int, d1_early: int) -> list[dt.date]:
    """Day-1 dates from one subject's infusion dates (sorted) and their EX visit names."""
    named: dict[int, dt.date] = {}
    for date, visit in zip(infusions, visits, strict=True):
        if visit:
            v = visit.strip().upper()
            if v.startswith("C") and v.endswith("D1") and v[1:-2].isdigit():
                named.setdefault(int(v[1:-2]), date)
    if named and 1 in named:
        return [named[c] for c in sorted(named)]
    d1s: list[dt.date] = []
    for date in infusions:
        if not d1s or (date - d1s[-1]).days >= cycle_length - d1_early:
            d1s.append(date)
    return d1s


def derive_adcyc(ex: pl.DataFrame, first_dose: pl.DataFrame, protocol: Protocol, cut_date: dt.date | None) -> pl.DataFrame:
    """One row per subject and cycle. `first_dose`: USUBJID, TRTSDT (first dose date)."""
    length = protocol.cycle_length_days
    early = protocol.windows.get(1, (0, 0))[0]
    rows: list[dict] = []
    inf = (
        ex.filter(_is_drug(protocol, "irinotecan") & pl.col("EXSTDTC_DT").is_not_null())
        .filter(pl.col("EXDOSE").fill_null(1) > 0)
        .select("USUBJID", pl.col("EXSTDTC_DT").alias("DT"), pl.col("VISIT") if "VISIT" in ex.columns else pl.lit(None, pl.String).alias("VISIT"))
        .sort("USUBJID", "DT")
    )
    # one pass over each subject's infusions as plain lists (the day-1 rule is sequential: a new
    # cycle depends on the previous day 1); list columns avoid a frame per subject
    per_subject = inf.group_by("USUBJID", maintain_order=True).agg("DT", "VISIT")
    with_infusions = set()
    for subject, dates, visits in per_subject.iter_rows():
        with_infusions.add(subject)
        d1s = cycle_day1_dates(dates, visits, length, early)
        for i, d1 in enumerate(d1s):
            planned = d1 if i == 0 else d1s[i - 1] + dt.timedelta(days=length)
            rows.append({"USUBJID": subject, "CYCLE": i + 1, "D1DT": d1, "PLAND1DT": planned,
                         "DELAYDY": (d1 - planned).days, "CYCLSRC": "INFUSION"})
    # fixed blocks for subjects dosed without any nal-IRI infusion
    last_date = ex.group_by("USUBJID").agg(
        pl.max_horizontal(pl.col("EXENDTC_DT").max() if "EXENDTC_DT" in ex.columns else pl.lit(None, pl.Date), pl.col("EXSTDTC_DT").max()).alias("LAST")
    )
    others = first_dose.filter(~pl.col("USUBJID").is_in(list(with_infusions)) & pl.col("TRTSDT").is_not_null()).join(
        last_date, on="USUBJID", how="left"
    )
    for subject, start, last in others.select("USUBJID", "TRTSDT", "LAST").iter_rows():
        end = last or start
        if cut_date is not None:
            end = min(end, cut_date) if end else cut_date
        n = max(1, (end - start).days // length + 1)
        for i in range(n):
            d1 = start + dt.timedelta(days=i * length)
            rows.append({"USUBJID": subject, "CYCLE": i + 1, "D1DT": d1, "PLAND1DT": d1, "DELAYDY": 0, "CYCLSRC": "FIXED"})
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
