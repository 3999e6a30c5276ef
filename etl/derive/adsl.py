"""adam.adsl: one row per subject: dose level, treatment dates, DLT window, evaluability, DLT flags.

DLT-evaluable (DOMAIN.md 4; TOML [dlt.evaluable]): a DLT in the window, or the window completed
with >= the configured share of planned daily apatinib doses and >= the configured number of
nal-IRI infusions (NAPOLI-1 per-protocol definition, Chen EJC 2018).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.exposure import days_in_window, dose_given, exposure_intervals, infusions_in_window
from etl.derive.study_day import complete_date, period_end
from safetyboard.protocol import Protocol


def _dm_col(dm: pl.DataFrame, name: str, dtype: type[pl.DataType] = pl.String) -> pl.Expr:
    return pl.col(name) if name in dm.columns else pl.lit(None, dtype).alias(name)


def _dm_date(dm: pl.DataFrame, name: str) -> pl.Expr:
    """DM's reference date `name` (RFSTDTC, RFXSTDTC, RFXENDTC) as <name>_DT when it is complete, else null: a
    partial reference date is not imputed (study days are not computed from a partial RFSTDTC, SDTMIG 4.4.4; a
    first dose is not moved to the 1st of a month, as for EX: etl/derive/study_day.complete_date)."""
    if f"{name}_DT" not in dm.columns:
        return pl.lit(None, pl.Date).alias(f"{name}_DT")
    return complete_date(dm, name).alias(f"{name}_DT")


def age_group(protocol: Protocol) -> pl.Expr:
    bounds = protocol.raw["analysis"]["age_groups"]  # protocol [analysis] (validated on load)
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for lo, hi in bounds:
        expr = expr.when((pl.col("AGE") >= lo) & (pl.col("AGE") <= hi)).then(pl.lit(f"{lo}-{hi}"))
    return expr.otherwise(pl.when(pl.col("AGE").is_not_null()).then(pl.lit("other")))


def derive_adsl_base(dm: pl.DataFrame, ex: pl.DataFrame, protocol: Protocol) -> pl.DataFrame:
    codes = {d.code.upper(): d for d in protocol.dose_levels}
    # first/last dose and treated (SAFFL) from records that gave treatment: an EXDOSE 0 record of an
    # active drug (a held dose) is not a first dose (etl/derive/exposure.dose_given)
    iv = exposure_intervals(ex, protocol).filter(dose_given())
    # treatment ongoing (TRTONGFL): the subject's last record of a drug given over days (not a one-day infusion)
    # has no end date and DM gives no RFXENDTC, so treatment may not have ended at TRTEDT (the last day
    # known, as a live trial's cut finds a patient still on apatinib); the treatment-emergent window then
    # stays open (adam.adae TRTEMFL) rather than closing 30 days after a day that was not the last dose
    over_days = (pl.col("DRUG") != "IRINOTECAN").fill_null(True)
    last_start = pl.col("START").filter(over_days).max()
    dates = iv.group_by("USUBJID").agg(
        pl.col("START").min().alias("EXSTART"), pl.col("END").max().alias("EXEND"),
        (pl.col("OPEN") & over_days & (pl.col("START") == last_start)).any().alias("_OPEN"),
    )
    frame = dm.select(
        "USUBJID",
        _dm_col(dm, "STUDYID"), _dm_col(dm, "SITEID"), _dm_col(dm, "AGE", pl.Float64), _dm_col(dm, "SEX"),
        _dm_col(dm, "ARMCD"), _dm_col(dm, "ACTARMCD"), _dm_col(dm, "ARM"), _dm_col(dm, "DTHFL"),
        # the death date is imputed (admiral ADSL: DTHDT with highest_imputation "M"), the reference dates are not
        _dm_date(dm, "RFXSTDTC"), _dm_date(dm, "RFSTDTC"), _dm_col(dm, "DTHDTC_DT", pl.Date),
        _dm_col(dm, "DTHDTC_DTF"), _dm_col(dm, "DTHDTC"), _dm_col(dm, "RFXENDTC"), _dm_date(dm, "RFXENDTC"),
    ).join(dates, on="USUBJID", how="left")
    arm = pl.coalesce(pl.col("ACTARMCD"), pl.col("ARMCD")).str.to_uppercase().str.strip_chars()
    known = pl.col("_ARM").is_in(list(codes))
    frame = frame.with_columns(arm.alias("_ARM")).with_columns(
        pl.when(known).then(pl.col("_ARM").replace_strict({k: v.code for k, v in codes.items()}, default=None)).alias("DOSELVLC"),
        pl.when(known).then(pl.col("_ARM").replace_strict({k: v.order for k, v in codes.items()}, default=None)).cast(pl.Int32).alias("DOSELVL"),
        pl.when(known).then(pl.col("_ARM").replace_strict({k: v.label for k, v in codes.items()}, default=None)).alias("DOSELVLN"),
        pl.when(pl.col("_ARM").is_null()).then(pl.lit("no ARMCD/ACTARMCD"))
        .when(~known).then(pl.format("arm '{}' is not a protocol dose level", pl.col("_ARM")))
        .otherwise(None).alias("DOSELVLRSN"),
        pl.coalesce("EXSTART", "RFXSTDTC_DT").alias("TRTSDT"),
        # the last record still open: the last dose is DM's RFXENDTC when it gives one (EX knows only the start)
        pl.when(pl.col("_OPEN") & pl.col("RFXENDTC_DT").is_not_null()).then(pl.max_horizontal("EXEND", "RFXENDTC_DT"))
        .otherwise(pl.col("EXEND")).alias("TRTEDT"),
        # ongoing: the last record open and no RFXENDTC (one given, even unreadable, says treatment ended: SDTM)
        pl.when(pl.col("EXSTART").is_null()).then(None)
        .when(pl.col("_OPEN") & pl.col("RFXENDTC").is_null()).then(pl.lit("Y")).otherwise(pl.lit("N"))
        .alias("TRTONGFL"),
        pl.coalesce("RFSTDTC_DT", "RFXSTDTC_DT", "EXSTART").alias("RFSTDT"),
        pl.when(pl.col("EXSTART").is_not_null()).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("SAFFL"),
        pl.col("DTHDTC_DT").alias("DTHDT"),
        pl.col("DTHDTC_DTF").alias("DTHDTF"),  # imputation flag of DTHDT (admiral: D day, M month imputed)
        # a death date that is no valid date still records a death (SDTM: DTHDTC is given only for a death;
        # the check date_invalid reports the value): DTHFL Y, DTHDT unknown
        pl.when((pl.col("DTHFL").str.to_uppercase() == "Y") | pl.col("DTHDTC_DT").is_not_null() | pl.col("DTHDTC").is_not_null())
        .then(pl.lit("Y")).otherwise(None).alias("DTHFL"),
        age_group(protocol).alias("AGEGR"),
    )
    # dose check: first dose of each drug against the level's doses (EX EXDOSE, mg and mg/m2)
    first = iv.filter(pl.col("DRUG").is_not_null()).sort("START").group_by("USUBJID", "DRUG").agg(pl.col("DOSE").first())
    wide = first.pivot(on="DRUG", index="USUBJID", values="DOSE")
    for drug in ("APATINIB", "IRINOTECAN"):
        if drug not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(drug))
    apa = {d.code: d.apatinib_mg for d in protocol.dose_levels}
    iri = {d.code: d.irinotecan_mg_m2 for d in protocol.dose_levels}
    frame = frame.join(wide.select("USUBJID", pl.col("APATINIB").alias("_APA1"), pl.col("IRINOTECAN").alias("_IRI1")), on="USUBJID", how="left")
    frame = frame.with_columns(
        pl.when(pl.col("DOSELVLC").is_null() | (pl.col("_APA1").is_null() & pl.col("_IRI1").is_null())).then(None)
        .when(
            (pl.col("_APA1").is_null() | (pl.col("_APA1") == pl.col("DOSELVLC").replace_strict(apa, default=None)))
            & (pl.col("_IRI1").is_null() | (pl.col("_IRI1") == pl.col("DOSELVLC").replace_strict(iri, default=None)))
        ).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("DOSECHK")
    )
    # cohorts: order of first dose within a dose level, in groups of the cohort size
    size = int(protocol.escalation["cohort_size"])  # protocol [escalation] (validated)
    frame = frame.with_columns(
        pl.when(pl.col("DOSELVLC").is_not_null() & pl.col("TRTSDT").is_not_null())
        .then(((pl.col("TRTSDT").rank("ordinal").over("DOSELVLC") - 1) // size + 1).cast(pl.Int32))
        .alias("COHORTN")
    ).with_columns(
        pl.when(pl.col("COHORTN").is_not_null()).then(pl.format("{} cohort {}", pl.col("DOSELVLC"), pl.col("COHORTN"))).alias("COHORT")
    )
    return frame.drop("_ARM", "_APA1", "_IRI1", "_OPEN", "EXSTART", "EXEND", "RFXSTDTC_DT", "RFSTDTC_DT", "DTHDTC_DT", "DTHDTC_DTF", "DTHDTC", "RFXENDTC", "RFXENDTC_DT")


# DS dispositions that do not end the patient's participation
NOT_AN_END = ("COMPLETED",)


def disposition_ends(ds: pl.DataFrame | None) -> pl.DataFrame:
    """USUBJID, EXITDT, EXITWHY of every DS disposition event that ended participation (DSCAT 'DISPOSITION EVENT'
    or no DSCAT; DSDECOD other than COMPLETED: withdrawal, adverse event, progression, lost to follow-up,
    death ...). EXITDT is the latest date its DSSTDTC allows (a partial date's period end), null when the
    date is missing or invalid."""
    schema = {"USUBJID": pl.String, "EXITDT": pl.Date, "EXITWHY": pl.String}
    if ds is None or ds.height == 0 or "DSDECOD" not in ds.columns:
        return pl.DataFrame(schema=schema)
    day = pl.col("DSSTDTC_DT") if "DSSTDTC_DT" in ds.columns else pl.lit(None, pl.Date)
    flag = pl.col("DSSTDTC_DTF") if "DSSTDTC_DTF" in ds.columns else pl.lit(None, pl.String)
    latest = period_end(day, flag)
    event = (pl.col("DSCAT").str.to_uppercase().str.contains("DISPOSITION").fill_null(True) if "DSCAT" in ds.columns
             else pl.lit(True))
    reason = pl.col("DSDECOD").str.to_uppercase().str.strip_chars()
    return (ds.filter(event & reason.is_not_null() & ~reason.is_in(list(NOT_AN_END)))
            .select("USUBJID", latest.alias("EXITDT"), reason.alias("EXITWHY")).cast(schema))


def study_exits(ds: pl.DataFrame | None) -> pl.DataFrame:
    """USUBJID, EXITDT, EXITWHY: each subject's first dated disposition end (:func:`disposition_ends`; one with
    no usable date is not used), so that a departure counts only where its date is certain."""
    return (disposition_ends(ds).drop_nulls("EXITDT").sort("USUBJID", "EXITDT", "EXITWHY")
            .group_by("USUBJID", maintain_order=True).first())


def derive_adsl_dlt(base: pl.DataFrame, adae: pl.DataFrame, ex: pl.DataFrame, delays: pl.DataFrame,
                    protocol: Protocol, cut_date: dt.date | None, ds: pl.DataFrame | None = None) -> pl.DataFrame:
    """`ds`: raw DS; a patient who left the study inside the window without a DLT did not complete it."""
    window = protocol.dlt_window_days
    iv = exposure_intervals(ex, protocol)
    starts = base.select("USUBJID", "TRTSDT").filter(pl.col("TRTSDT").is_not_null())
    apa = days_in_window(iv, starts, window, "APATINIB")
    inf = infusions_in_window(iv, starts, window)
    has_inv_flag = "DLTFL" in adae.columns and adae["DLTFL"].is_not_null().any()
    # the investigator's DLT flag counts on an AE in the window, and on one whose onset cannot be
    # placed (DLTWINFL null: the investigator adjudicated it as a DLT, which is an event of the window);
    # a flag on an AE placed outside the window is listed by the check dlt_flag_mismatch
    inv_dlt = (pl.col("DLTFL") == "Y") & pl.col("DLTWINFL").is_null()
    win = adae.filter((pl.col("DLTWINFL") == "Y") | inv_dlt.fill_null(False)).group_by("USUBJID").agg(
        (pl.col("DLTFL") == "Y").any().alias("_INV"),
        (pl.col("DLTCFL") == "Y").any().alias("_RULE"),
        pl.col("DLTRULE").drop_nulls().str.split(";").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().str.join(";").alias("DLTRULES"),
        pl.col("ASTDT").filter((pl.col("DLTFL") == "Y") | (pl.col("DLTCFL") == "Y")).min().alias("DLTDT"),
    )
    # DOMAIN.md 4: a *toxicity* causing a delay of more than N days is a DLT. The delay counts when
    # an AE ongoing at the delayed planned day 1 explains it (adae DLTRULE DELAY_GT14D, whatever the
    # AE's onset); a long delay with no AE recorded is shown (DLTDLYFL) for adjudication, not counted.
    # an AE whose DLT verdict is undecided (DLTCFL null: grade missing in the window, or an onset that
    # cannot be placed for an event that would meet a rule): the subject's DLT status is not known,
    # so a subject without a DLT is not shown as DLT-free (DLTUNDFL, listed with the escalation)
    # With investigator flags in the export the investigator's flag decides DLTFL: an AE the
    # investigator adjudicated (AEDLT Y or N) is decided whatever the rules say, and one without a
    # verdict (AEDLT missing: not adjudicated yet) is undecided when the rules say DLT or cannot tell
    # (a missing flag is not a 'N').
    seq = pl.col("AESEQ").cast(pl.String) if "AESEQ" in adae.columns else pl.lit("?")
    name = pl.coalesce(*[pl.col(c) for c in ("AEDECOD", "AETERM") if c in adae.columns], pl.lit("?"))
    # a flag other than Y or N (CDISC NY's U, unknown; a typo) is no verdict either: it counted as 'not a DLT'
    no_verdict = ~pl.col("DLTFL").is_in(["Y", "N"]).fill_null(False) if "DLTFL" in adae.columns else pl.lit(True)
    unadjudicated = pl.lit(has_inv_flag) & (pl.col("DLTCFL") == "Y") & (pl.col("DLTWINFL") == "Y") & no_verdict
    rules_undecided = pl.col("DLTCFL").is_null() & (no_verdict | pl.lit(not has_inv_flag))
    why = (
        pl.when((pl.col("DLTCFL") == "Y") & pl.col("DLTFL").is_not_null()).then(
            pl.format("meets {}, investigator DLT flag '{}' is no Y/N verdict", pl.col("DLTRULE"), pl.col("DLTFL")))
        .when(pl.col("DLTCFL") == "Y").then(pl.format("meets {}, no investigator DLT flag", pl.col("DLTRULE")))
        .when(pl.col("AETOXGRN").is_null()).then(pl.lit("grade missing"))
        .when(pl.col("DLTWINFL").is_null()).then(pl.lit("onset not placed in or out of the window"))
        .when(pl.col("DLTPENDRSN").is_not_null() if "DLTPENDRSN" in adae.columns else pl.lit(False))
        .then(pl.col("DLTPENDRSN") if "DLTPENDRSN" in adae.columns else pl.lit(None, pl.String))
        .otherwise(pl.lit("duration not settled by the dates"))
    )
    undecided = adae.filter((rules_undecided | unadjudicated).fill_null(False)).group_by("USUBJID").agg(
        pl.format("AESEQ={} {} ({})", seq, name, why).sort().str.join(", ").alias("_UND")
    )
    tox_delay = adae.filter(pl.col("DLTRULE").str.contains("DELAY_GT14D").fill_null(False))
    delayed = tox_delay.select("USUBJID").unique().with_columns(pl.lit(True).alias("_DELAY"))
    settled = delays.filter(~pl.col("RUNNING")) if "RUNNING" in delays.columns else delays
    any_delay = settled.select("USUBJID").unique().with_columns(pl.lit("Y").alias("DLTDLYFL"))
    cut = cut_date or dt.date.today()
    frame = (
        base.join(win, on="USUBJID", how="left").join(delayed, on="USUBJID", how="left")
        .join(undecided, on="USUBJID", how="left")
        .join(any_delay, on="USUBJID", how="left")
        .join(apa, on="USUBJID", how="left").join(inf, on="USUBJID", how="left")
        .join(study_exits(ds), on="USUBJID", how="left")
    )
    planned_inf = protocol.planned_irinotecan_in_window
    frame = frame.with_columns(
        (pl.col("TRTSDT") + pl.duration(days=window - 1)).alias("DLTWEND"),
        pl.col("DAYS").fill_null(0).alias("APADAYS"),
        pl.col("INFUSIONS").fill_null(0).cast(pl.Int32).alias("IRIINF"),
        (pl.col("_RULE").fill_null(False) | pl.col("_DELAY").fill_null(False)).alias("_RULEANY"),
        pl.when(pl.col("_DELAY").fill_null(False) & ~pl.col("DLTRULES").fill_null("").str.contains("DELAY_GT14D"))
        .then(pl.concat_str([pl.col("DLTRULES").replace("", None), pl.lit("DELAY_GT14D")], separator=";", ignore_nulls=True))
        .otherwise(pl.col("DLTRULES").replace("", None)).alias("DLTRULES"),
    ).with_columns(
        pl.when(pl.col("TRTSDT").is_null()).then(None)
        .when(pl.col("_RULEANY")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("DLTCFL"),
        (pl.col("APADAYS") / window).alias("APASHARE"),
    )
    if has_inv_flag:
        frame = frame.with_columns(
            pl.when(pl.col("TRTSDT").is_null()).then(None)
            .when(pl.col("_INV").fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("DLTFL"),
            pl.lit("INVESTIGATOR").alias("DLTSRC"),
        )
    else:  # no investigator DLT flag in this export: the protocol rules decide, and DLTSRC says so
        frame = frame.with_columns(pl.col("DLTCFL").alias("DLTFL"), pl.lit("PROTOCOL RULES").alias("DLTSRC"))
    died_in_window = pl.col("DTHDT").is_not_null() & (pl.col("DTHDT") <= pl.col("DLTWEND"))
    # died before the window's last day: not observed through the window (DOMAIN.md 4 "completed the
    # window"), so evaluable only with a DLT; a death from a DLT is a grade 5 AE (rule GRADE5)
    # A partial death date counts only when its whole period falls before that day (as a DS exit, EXITDT): DTHDT
    # is imputed to the period's first day, and '2026-02' for a window ending on 15 February does not say the
    # patient died inside it
    death_latest = period_end(pl.col("DTHDT"), pl.col("DTHDTF"))
    died_early = (death_latest < pl.col("DLTWEND")).fill_null(False)
    # left the study (DS disposition: withdrawal, adverse event, progression ...) before the window's last
    # day: not observed through the window either (DOMAIN.md 4 "completed the window"), evaluable only
    # with a DLT, and replaced; the window is over for them, so their cohort need not wait for it
    left_early = (pl.col("EXITDT") < pl.col("DLTWEND")).fill_null(False) & ~died_early
    over_early = died_in_window | left_early
    frame = frame.with_columns(
        pl.when(pl.col("TRTSDT").is_null()).then(None)
        .when((pl.lit(cut) >= pl.col("DLTWEND")) | (pl.col("DLTFL") == "Y") | over_early).then(pl.lit("Y"))
        .otherwise(pl.lit("N")).alias("DLTWCFL"),
        pl.when(pl.col("TRTSDT").is_null()).then(None).when(over_early).then(0)
        .otherwise(((pl.col("DLTWEND") - pl.lit(cut)).dt.total_days() + 0).clip(lower_bound=0)).cast(pl.Int32).alias("DLTWREM"),
    )
    share = float(protocol.evaluable_min_share_apatinib)
    min_inf = int(protocol.evaluable_min_infusions_irinotecan)
    completed = (pl.lit(cut) >= pl.col("DLTWEND")) & ~died_early & ~left_early
    # evaluable patients are treated patients (SAFFL): with no dose in EX, a first-dose date from DM
    # RFXSTDTC alone places the window but makes nobody evaluable (the escalation counts SAFFL = 'Y')
    no_dose = pl.col("SAFFL") != "Y"
    frame = frame.with_columns(
        pl.when(pl.col("TRTSDT").is_null()).then(None)
        .when(no_dose).then(pl.lit("N"))
        .when(pl.col("DLTFL") == "Y").then(pl.lit("Y"))
        .when(completed & (pl.col("APASHARE") >= share) & (pl.col("IRIINF") >= min_inf)).then(pl.lit("Y"))
        .otherwise(pl.lit("N")).alias("DLTEVLFL"),
        pl.when(pl.col("TRTSDT").is_null()).then(pl.lit("not treated"))
        .when(no_dose).then(pl.lit("no dose recorded in EX"))
        .when(pl.col("DLTFL") == "Y").then(pl.lit("DLT in window"))
        .when(died_early & pl.col("DTHDTF").is_null()).then(pl.format("died on day {} of the window without a DLT",
                                         (pl.col("DTHDT") - pl.col("TRTSDT")).dt.total_days() + 1))
        .when(died_early).then(pl.format("died by day {} of the window without a DLT (partial death date)",
                                         (death_latest - pl.col("TRTSDT")).dt.total_days() + 1))
        .when(left_early).then(pl.format("left the study on day {} of the window without a DLT ({})",
                                         (pl.col("EXITDT") - pl.col("TRTSDT")).dt.total_days() + 1, pl.col("EXITWHY")))
        .when(~completed).then(pl.lit("window not completed"))
        # an open last record (TRTONGFL: no EXENDTC, no RFXENDTC) counts its start day only, nothing imputed: the
        # reason says so, so that "21/42 days" of a patient still on apatinib is not read as missed doses
        .when(pl.col("APASHARE") < share).then(pl.format("apatinib {}/{} days (< {}%){}", pl.col("APADAYS"), pl.lit(window),
                                                         pl.lit(round(share * 100)),
                                                         pl.when(pl.col("TRTONGFL") == "Y")
                                                         .then(pl.lit("; the last EX record has no EXENDTC, so its days after "
                                                                      "the start are not counted (check ex_end_missing)"))
                                                         .otherwise(pl.lit(""))))
        .when(pl.col("IRIINF") < min_inf).then(pl.format("nal-IRI {}/{} infusions (< {})", pl.col("IRIINF"), pl.lit(planned_inf), pl.lit(min_inf)))
        .otherwise(pl.lit("window completed with enough doses")).alias("DLTEVLRSN"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("TRTSDT").is_null()).then(None)
        .when((pl.col("DLTFL") != "Y").fill_null(True) & pl.col("_UND").is_not_null()).then(pl.lit("Y"))
        .otherwise(pl.lit("N")).alias("DLTUNDFL"),
        pl.when((pl.col("DLTFL") != "Y").fill_null(True) & pl.col("_UND").is_not_null())
        .then(pl.format("DLT status undecided: {}", pl.col("_UND")))
        .alias("DLTUNDRSN"),
    )
    return frame.drop("_INV", "_RULE", "_DELAY", "_RULEANY", "DAYS", "INFUSIONS", "_UND")
