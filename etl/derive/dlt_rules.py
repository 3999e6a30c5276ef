"""Protocol DLT rules applied to adverse events (DOMAIN.md section 4; parameters in the TOML [dlt]).

Sources: PMC3839288 Table 1 and COG-style phase I definitions (haematological, non-haematological
with exceptions, grade 5, treatment delay); apatinib-specific items are typical TKI DLTs [R] and
configurable. Only events with onset inside the DLT window are candidates.

Verdicts are three-valued: 'Y' (a rule is met), 'N' (no rule can be met) and null (undecided: the
data cannot tell yet, e.g. the grade is missing). A rule on how long an event lasted ("more than 7
days", "resolving within 72 h") reads the shortest and the longest duration the dates allow: a
partial date spans its month or year, and an event still ongoing (no end date) has lasted at least
until the cut date and may go on. The rule is met when even the shortest duration exceeds the
limit, not met when even the longest stays within it, and undecided in between: a grade 3
hypertension 5 days old at the cut is not yet "uncontrolled within 14 days", nor shown controlled.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.study_day import period_end, period_start
from safetyboard.protocol import Protocol

# rule id -> short description shown beside DLTRULE on the dashboard
RULES: dict[str, str] = {
    "GRADE5": "any grade 5 event",
    "FEBRILE_NEUTROPENIA": "febrile neutropenia (grade >= 3)",
    "NEUT_G4_GT7D": "grade 4 neutropenia lasting more than {neutropenia_g4_min_days} days",
    "PLT_G4": "grade 4 thrombocytopenia",
    "PLT_G3_BLEEDING": "grade 3 thrombocytopenia with bleeding",
    "HTN_G4": "grade 4 hypertension",
    "HTN_G3_UNCONTROLLED": "grade 3 hypertension not controlled within {hypertension_g3_max_days} days",
    "HFSR_G3_GT7D": "grade >= 3 hand-foot skin reaction lasting more than {hfsr_g3_max_days} days",
    "PROTEINURIA_G3": "grade >= 3 proteinuria",
    "PNEUMOTHORAX_G2": "grade >= {pneumothorax_min_grade} pneumothorax",
    "NONHEME_G3": (
        "grade >= {nonheme_min_grade} non-haematological toxicity, except grade 3 resolving in time: nausea/vomiting"
        " within {nausea_vomiting_max_days} days, diarrhoea within {diarrhoea_max_days}, electrolytes within"
        " {electrolyte_max_days}, ALT/AST within {transaminase_g3_max_days}, a non-serious lab abnormality in"
        " less than {transient_lab_max_hours} h"
    ),
    "DELAY_GT14D": "treatment delay of more than {treatment_delay_max_days} days for toxicity",
}


def rule_descriptions(protocol: Protocol) -> dict[str, str]:
    return {k: v.format(**protocol.dlt) for k, v in RULES.items()}


def _term_in(protocol: Protocol, key: str) -> pl.Expr:
    return pl.col("_TERM").is_in(list(protocol.dlt_terms.get(key, ()))).fill_null(False)


def _lasting_more_than(days: int) -> pl.Expr:
    """Kleene: True when the event lasted more than `days` whatever the dates' uncertainty, False
    when it cannot have, null when the dates allow both (columns of :func:`duration_bounds`)."""
    return (
        pl.when(pl.col("_DURLO") > days).then(True)
        .when(pl.col("_DURHI") <= days).then(False)
        .otherwise(None)
    )


def _lasting_at_most(days: int) -> pl.Expr:
    return ~_lasting_more_than(days)


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype)


def _no_end(frame: pl.DataFrame) -> pl.Expr:
    """No end date at all (AEENDTC empty or absent): the event is ongoing (an unreadable one is not)."""
    end_text = _column(frame, "AEENDTC", pl.String()).cast(pl.String).str.strip_chars()
    return pl.col("AENDT").is_null() & (end_text.is_null() | (end_text == ""))


def duration_bounds(frame: pl.DataFrame, cut_date: dt.date | None) -> pl.DataFrame:
    """Add _DURLO / _DURHI: the shortest and longest duration in days (both end days counted, as
    ADURN; to the minute when both ends carry a time of day) that the dates allow; _DURHI null = no upper
    bound (the event is ongoing). Also adds the onset and end bounds of :func:`event_bounds` they come from.

    The onset runs from ASTDT (imputed to the earliest possible day) to the end of its period when
    ASTDTF says it is partial; the end from the start of its period to AENDT (imputed to the last day,
    etl/dates.py). No end date at all (AEENDTC empty or absent): ongoing at the cut, so it lasted at
    least to the cut date (today without one) and has no upper bound. An end given but unreadable,
    or before the onset, bounds nothing: both null (undecided wherever a duration matters).
    """
    frame = event_bounds(frame, cut_date)
    stf, enf = _column(frame, "ASTDTF", pl.String()), _column(frame, "AENDTF", pl.String())
    lo = ((pl.col("_ELO") - pl.col("_SHI")).dt.total_days() + 1).clip(lower_bound=1)
    hi = (pl.col("_EHI") - pl.col("_SLO")).dt.total_days() + 1
    no_end = _no_end(frame)
    # no onset, or an end given but unreadable or before the onset (event_bounds leaves it no latest end)
    bad = pl.col("_SLO").is_null() | (pl.col("_EHI").is_null() & ~no_end)
    # both ends with a time of day (ASTDTM / AENDTM, complete dates only): the duration in days to the minute, so
    # that "controlled within 72 h" reads hours (a nausea of 71 h over four calendar days was a DLT)
    start_tm, end_tm = _column(frame, "ASTDTM", pl.Datetime("us")), _column(frame, "AENDTM", pl.Datetime("us"))
    timed_days = (end_tm - start_tm).dt.total_seconds() / 86400
    timed = (start_tm.is_not_null() & end_tm.is_not_null() & (end_tm >= start_tm) & stf.is_null() & enf.is_null())
    return frame.with_columns(
        pl.when(bad).then(None).when(timed).then(timed_days).otherwise(lo.cast(pl.Float64)).alias("_DURLO"),
        pl.when(bad | no_end).then(None).when(timed).then(timed_days).otherwise(hi.cast(pl.Float64)).alias("_DURHI"),
    )


def event_bounds(frame: pl.DataFrame, cut_date: dt.date | None) -> pl.DataFrame:
    """Add _SLO, _SHI (earliest, latest onset) and _ELO, _EHI (earliest, latest end) the dates allow; null = no
    bound. A partial date spans its period; the onset is not after the end; no end date at all: ongoing, so
    it ran at least to the cut (today without one) and has no latest end; an unreadable end, or one before
    the onset, bounds nothing (the onset's own bounds stay)."""
    cut = cut_date or dt.date.today()
    stf, enf = _column(frame, "ASTDTF", pl.String()), _column(frame, "AENDTF", pl.String())
    no_end = _no_end(frame)
    end = pl.when(pl.col("ASTDT").is_null() | (pl.col("AENDT") >= pl.col("ASTDT"))).then(pl.col("AENDT"))  # usable end
    start_hi = pl.when(pl.col("ASTDT").is_not_null()).then(period_end(pl.col("ASTDT"), stf))
    return frame.with_columns(
        pl.col("ASTDT").alias("_SLO"),
        pl.min_horizontal(start_hi, end).alias("_SHI"),  # min ignores a null: an unknown onset is bounded by the end
        pl.when(no_end).then(pl.max_horizontal(pl.lit(cut), pl.col("ASTDT")))
        .otherwise(pl.max_horizontal(pl.when(end.is_not_null()).then(period_start(end, enf)), pl.col("ASTDT")))
        .alias("_ELO"),
        end.alias("_EHI"),
    )


def _overlap(a: str, b: str) -> tuple[pl.Expr, pl.Expr]:
    """(certain, impossible) that events a and b (bounds of :func:`event_bounds`, suffixes `a`, `b`) overlapped:
    certain when the latest onset of each is not after the earliest end of the other, impossible when one
    certainly began after the other certainly ended."""
    def c(name: str, side: str) -> pl.Expr:
        return pl.col(name + side)
    certain = ((c("_SHI", a) <= c("_ELO", b)) & (c("_SHI", b) <= c("_ELO", a))).fill_null(False)
    impossible = ((c("_SLO", a) > c("_EHI", b)) | (c("_SLO", b) > c("_EHI", a))).fill_null(False)
    return certain, impossible


def _transient(frame: pl.DataFrame, max_hours: int) -> pl.Expr:
    """Shown to have lasted STRICTLY LESS than `max_hours` (DOMAIN.md 4 "transient (<24 h)"; never null).

    Both dates complete (no --DTF imputation) and the end not before the start. With a time of day on
    both (ASTDTM, AENDTM) the hours between them; else the longest span the dates allow, ADURN whole
    days (just under ADURN x 24 h: a same-day event is at most 00:00-23:59), must be within the limit.
    An unknown or partial end cannot be shown to have resolved, so it is never transient.
    """
    complete = (
        pl.col("ASTDT").is_not_null() & pl.col("AENDT").is_not_null() & (pl.col("AENDT") >= pl.col("ASTDT"))
        & _column(frame, "ASTDTF", pl.String()).is_null() & _column(frame, "AENDTF", pl.String()).is_null()
    )
    start, end = _column(frame, "ASTDTM", pl.Datetime("us")), _column(frame, "AENDTM", pl.Datetime("us"))
    seconds = (end - start).dt.total_seconds()
    by_time = (seconds >= 0) & (seconds < max_hours * 3600)
    by_date = ((pl.col("AENDT") - pl.col("ASTDT")).dt.total_days() + 1) * 24 <= max_hours
    timed = start.is_not_null() & end.is_not_null()
    return (complete & pl.when(timed).then(by_time).otherwise(by_date)).fill_null(False)


def _not_serious(frame: pl.DataFrame) -> pl.Expr:
    """AESER recorded as 'N' (DOMAIN.md 4 "no clinical sequelae", proxy in the TOML [dlt]): a serious
    event, or one whose seriousness is not recorded, is not shown to be free of sequelae."""
    ser = _column(frame, "AESER", pl.String()).cast(pl.String).str.to_uppercase().str.strip_chars()
    return ser.is_in(["N", "NO"]).fill_null(False)


def derive_dlt_candidates(adae: pl.DataFrame, protocol: Protocol, cut_date: dt.date | None = None) -> pl.DataFrame:
    """Add DLTCFL ('Y'; 'N'; null = undecided) and DLTRULE (';'-joined rule ids of the rules met).

    Undecided: no rule is met but one may be, because the grade is missing, the onset cannot be
    placed in or out of the window (DLTWINFL null), or a duration rule cannot be settled by the dates
    (see the module docstring; `cut_date` bounds events still ongoing, today without one).
    Needs: USUBJID, AEDECOD or AETERM, AETOXGRN, ASTDT, AENDT, DLTWINFL; also reads ASTDTF, AENDTF
    (absent: dates complete), AEENDTC (absent: no end date means ongoing), ASTDTM, AENDTM (the
    transient lab exception; absent: no times) and AESER (absent: not shown to be non-serious, so
    never excepted).
    """
    d = protocol.dlt
    term = pl.coalesce(
        pl.col("AEDECOD") if "AEDECOD" in adae.columns else pl.lit(None, pl.String), pl.col("AETERM")
    ).str.to_uppercase().str.strip_chars()
    g = pl.col("AETOXGRN")
    frame = duration_bounds(adae.with_columns(term.alias("_TERM")), cut_date)

    # grade 3 thrombocytopenia needs a bleeding event overlapping it (same subject): the intervals
    # overlap whichever began first (DOMAIN.md 4 "with bleeding"; a bleed already going on when the
    # platelets fell counts). Three-valued on the span each event's dates allow (event_bounds): True when
    # some bleed certainly overlapped, False when none can have (or there is none), else null: partial dates
    # ('2026-03' for both) no longer assert an overlap, a bleed with an unknown onset is no longer left out
    bounded = frame.with_row_index("_I")  # with the onset and end bounds duration_bounds added
    sides = ["_SLO", "_SHI", "_ELO", "_EHI"]
    bleeding = bounded.filter(_term_in(protocol, "bleeding")).select("USUBJID", "_I", *sides)
    plt3 = bounded.filter(_term_in(protocol, "thrombocytopenia") & (g == 3)).select("USUBJID", "_I", *sides)
    certain, impossible = _overlap("", "_b")
    pairs = plt3.join(bleeding, on="USUBJID", suffix="_b").filter(pl.col("_I") != pl.col("_I_b"))
    bleed = pairs.group_by("_I").agg(certain.any().alias("_C"), impossible.all().alias("_X")).select(
        "_I", pl.when(pl.col("_C")).then(True).when(pl.col("_X")).then(False).otherwise(None).alias("_BLEED"),
        pl.lit(True).alias("_PAIRED"))
    frame = (frame.with_row_index("_I").join(bleed, on="_I", how="left", maintain_order="left")
             .with_columns(pl.when(pl.col("_PAIRED").is_null()).then(False).otherwise(pl.col("_BLEED")).alias("_BLEED"))
             .drop("_I", "_PAIRED"))

    specific = ["hypertension", "hfsr", "proteinuria", "pneumothorax", "haematological"]
    excepted = (
        (_term_in(protocol, "nausea_vomiting") & (g == 3) & _lasting_at_most(d["nausea_vomiting_max_days"]))
        | (_term_in(protocol, "diarrhoea") & (g == 3) & _lasting_at_most(d["diarrhoea_max_days"]))
        | (_term_in(protocol, "electrolyte") & (g == 3) & _lasting_at_most(d["electrolyte_max_days"]))
        | (_term_in(protocol, "transaminase") & (g == 3) & _lasting_at_most(d["transaminase_g3_max_days"]))
        # DOMAIN.md 4: transient grade 3 lab abnormality (< 24 h) with no clinical sequelae
        | (_term_in(protocol, "lab_abnormality") & (g == 3) & _transient(frame, d["transient_lab_max_hours"])
           & _not_serious(frame))
    )
    not_specific = ~pl.any_horizontal([_term_in(protocol, k) for k in specific])
    rules: list[tuple[str, pl.Expr]] = [
        ("GRADE5", pl.lit(bool(d["grade5_is_dlt"])) & (g == 5)),
        ("FEBRILE_NEUTROPENIA", pl.lit(bool(d["febrile_neutropenia"])) & _term_in(protocol, "febrile_neutropenia") & (g >= 3)),
        ("NEUT_G4_GT7D", _term_in(protocol, "neutropenia") & (g == 4) & _lasting_more_than(d["neutropenia_g4_min_days"])),
        ("PLT_G4", pl.lit(bool(d["thrombocytopenia_g4"])) & _term_in(protocol, "thrombocytopenia") & (g == 4)),
        ("PLT_G3_BLEEDING", pl.lit(bool(d["thrombocytopenia_g3_with_bleeding"])) & _term_in(protocol, "thrombocytopenia") & (g == 3) & pl.col("_BLEED")),
        ("HTN_G4", pl.lit(bool(d["hypertension_g4"])) & _term_in(protocol, "hypertension") & (g == 4)),
        ("HTN_G3_UNCONTROLLED", _term_in(protocol, "hypertension") & (g == 3) & _lasting_more_than(d["hypertension_g3_max_days"])),
        # CTCAE v5 grades hand-foot skin reaction 1-3 only: a recorded grade 4 is at least grade 3
        # and goes by the same rule (before: no rule at all, so never a DLT)
        ("HFSR_G3_GT7D", _term_in(protocol, "hfsr") & (g >= 3) & (g < 5) & _lasting_more_than(d["hfsr_g3_max_days"])),
        ("PROTEINURIA_G3", pl.lit(bool(d["proteinuria_g3"])) & _term_in(protocol, "proteinuria") & (g >= 3)),
        ("PNEUMOTHORAX_G2", _term_in(protocol, "pneumothorax") & (g >= d["pneumothorax_min_grade"])),
        ("NONHEME_G3", not_specific & (g >= d["nonheme_min_grade"]) & (g < 5) & ~excepted),
    ]
    # Kleene logic throughout: a null condition (grade missing, a duration the dates cannot settle)
    # stays null through & and |, so "may meet a rule" is kept apart from "meets none"; an onset that
    # cannot be placed (DLTWINFL null: no start date, or no first dose) leaves a rule it would meet
    # undecided, never 'N': it may be a DLT inside the window
    in_window = pl.when(pl.col("DLTWINFL").is_null()).then(None).otherwise(pl.col("DLTWINFL") == "Y")
    verdicts = [in_window & cond for _, cond in rules]
    fired = pl.concat_list([pl.when(v.fill_null(False)).then(pl.lit(name)).otherwise(None)
                            for (name, _), v in zip(rules, verdicts, strict=True)]).list.drop_nulls()
    out = frame.with_columns(fired.alias("_FIRED"), pl.any_horizontal(verdicts).alias("_ANY"))
    out = out.with_columns(
        pl.when(pl.col("_FIRED").list.len() > 0).then(pl.col("_FIRED").list.join(";")).otherwise(None).alias("DLTRULE"),
        pl.when(pl.col("_FIRED").list.len() > 0).then(pl.lit("Y"))
        .when(pl.col("_ANY").is_null()).then(None)
        .otherwise(pl.lit("N")).alias("DLTCFL"),
    )
    return out.drop("_TERM", "_BLEED", "_FIRED", "_ANY", "_DURLO", "_DURHI", "_SLO", "_SHI", "_ELO", "_EHI")


# AEACN values (CDISC CT C66767 "Action Taken with Study Treatment") that hold treatment: an AE with
# one of them is what delayed the next cycle, even when it resolved just before the planned day 1
HOLDING_ACTIONS = ("DRUG INTERRUPTED", "DRUG WITHDRAWN")
# ... and values that say the AE did not hold it: such an AE is not the cause of a delay even while it is ongoing
NOT_HOLDING_ACTIONS = ("DOSE NOT CHANGED", "DOSE INCREASED", "NOT APPLICABLE")


def add_delay_rule(adae: pl.DataFrame, delays: pl.DataFrame, cycle_length_days: int) -> pl.DataFrame:
    """Mark the AE that caused a delayed planned day 1 with DELAY_GT14D (DOMAIN.md 4: a toxicity
    causing a treatment delay of more than 14 days).

    `delays`: USUBJID, PLAND1DT of the cycles whose delay exceeds the limit inside the window. The
    cause is, first, an AE whose action taken held treatment (AEACN) and that ran during the cycle
    before (onset by the planned day 1, not ended before that cycle began); else an AE still ongoing
    at the planned day 1 whose AEACN does not say treatment went on unchanged (DOSE NOT CHANGED: that
    AE did not delay it). Among them the highest grade.
    """
    if "RUNNING" not in delays.columns:  # delays given as over the limit only
        delays = delays.with_columns(pl.lit(False).alias("RUNNING"))
    if "DELAYDY" not in delays.columns:
        delays = delays.with_columns(pl.lit(None, pl.Int32).alias("DELAYDY"))
    adae = adae.with_columns(pl.lit(None, pl.String).alias("DLTPENDRSN"))
    if delays.height == 0 or adae.height == 0:
        return adae
    action = pl.col("AEACN").str.to_uppercase().str.strip_chars() if "AEACN" in adae.columns else pl.lit(None, pl.String)
    acn = action.is_in(list(HOLDING_ACTIONS)).fill_null(False)
    not_held = action.is_in(list(NOT_HOLDING_ACTIONS)).fill_null(False)
    started = pl.col("ASTDT") <= pl.col("PLAND1DT")
    ongoing = (pl.col("AENDT").is_null() | (pl.col("AENDT") >= pl.col("PLAND1DT"))) & ~not_held
    held = acn & (pl.col("AENDT").is_null() | (pl.col("AENDT") >= pl.col("PLAND1DT") - pl.duration(days=cycle_length_days)))
    cand = (
        adae.with_row_index("_I")
        .join(delays.select("USUBJID", "PLAND1DT", "DELAYDY", "RUNNING"), on="USUBJID")
        .filter(started & (ongoing | held) & pl.col("AETOXGRN").is_not_null())
        .with_columns(held.alias("_HELD"))
        .sort(["_HELD", "AETOXGRN", "_I"], descending=[True, True, False])
        .unique(subset=["USUBJID", "PLAND1DT"], keep="first")
        .select("_I", "RUNNING", "DELAYDY", "PLAND1DT")
    )
    over, running = cand.filter(~pl.col("RUNNING")), cand.filter(pl.col("RUNNING"))
    # a delay still running at the cut (due, no infusion yet, within the limit so far): its AE may yet be a DLT
    pending = running.group_by("_I").agg(pl.format("treatment delay still running at the cut ({} days since the "
                                                   "planned day 1 of {})", pl.col("DELAYDY"), pl.col("PLAND1DT")).first()
                                         .alias("_PEND"))
    marked = (adae.with_row_index("_I").with_columns(pl.col("_I").is_in(over["_I"].implode()).alias("_DEL"))
              .join(pending, on="_I", how="left", maintain_order="left"))
    return marked.with_columns(
        pl.when(pl.col("_DEL"))
        .then(pl.when(pl.col("DLTRULE").is_null()).then(pl.lit("DELAY_GT14D")).otherwise(pl.col("DLTRULE") + ";DELAY_GT14D"))
        .otherwise(pl.col("DLTRULE")).alias("DLTRULE"),
        pl.when(pl.col("_DEL")).then(pl.lit("Y"))
        .when(pl.col("_PEND").is_not_null() & (pl.col("DLTCFL") == "N")).then(None)
        .otherwise(pl.col("DLTCFL")).alias("DLTCFL"),
        pl.when(~pl.col("_DEL") & (pl.col("DLTCFL") != "Y").fill_null(True)).then(pl.col("_PEND")).alias("DLTPENDRSN"),
    ).drop("_I", "_DEL", "_PEND")
