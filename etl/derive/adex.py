"""adam.adex: one row per subject and cycle: planned and given doses per drug, relative dose
intensity, delay days and dose reductions (planned doses from the subject's protocol dose level)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.exposure import exposure_intervals, infusion_days, new_days
from safetyboard.protocol import Protocol

ADEX_SCHEMA = {
    "USUBJID": pl.String, "CYCLE": pl.Int32, "CYSTDT": pl.Date, "CYENDT": pl.Date, "DELAYDY": pl.Int32,
    "APAPLAN": pl.Float64, "APAGIVEN": pl.Float64, "APARDI": pl.Float64, "APADAYS": pl.Int64,
    "IRIPLAN": pl.Float64, "IRIGIVEN": pl.Float64, "IRIRDI": pl.Float64, "IRIINF": pl.Int64,
    "APAREDFL": pl.String, "IRIREDFL": pl.String, "REDUCTNS": pl.Int64,
}


def derive_adex(ex: pl.DataFrame, adsl: pl.DataFrame, adcyc: pl.DataFrame, protocol: Protocol, cut_date: dt.date | None) -> pl.DataFrame:
    if adcyc.height == 0:
        return pl.DataFrame(schema=ADEX_SCHEMA)
    length = protocol.cycle_length_days
    levels = {d.code: d for d in protocol.dose_levels}
    cyc = adcyc.sort("USUBJID", "CYCLE").with_columns(
        pl.col("D1DT").alias("CYSTDT"),
        pl.coalesce(pl.col("D1DT").shift(-1).over("USUBJID") - pl.duration(days=1), pl.col("D1DT") + pl.duration(days=length - 1)).alias("CYENDT"),
    )
    if cut_date is not None:
        cyc = cyc.with_columns(pl.min_horizontal("CYENDT", pl.lit(cut_date)).alias("CYENDT"))
    cyc = cyc.join(adsl.select("USUBJID", "DOSELVLC"), on="USUBJID", how="left").with_columns(
        pl.col("DOSELVLC").replace_strict({k: v.apatinib_mg for k, v in levels.items()}, default=None, return_dtype=pl.Float64).alias("_APALVL"),
        pl.col("DOSELVLC").replace_strict({k: v.irinotecan_mg_m2 for k, v in levels.items()}, default=None, return_dtype=pl.Float64).alias("_IRILVL"),
    )
    iv = exposure_intervals(ex, protocol).filter(pl.col("DRUG").is_not_null()).select("USUBJID", "DRUG", "START", "END", "OPEN", "DOSE")
    # the subject's last apatinib record without an EXENDTC (treatment ongoing at the cut): its days after the start
    # are not known to be taken (counted as its start day alone, as for DLT evaluability), so the amount given from
    # that day on is unknown, not a fall in dose intensity
    open_from = (iv.filter(pl.col("DRUG") == "APATINIB").sort("USUBJID", "START").group_by("USUBJID").last()
                 .filter(pl.col("OPEN")).select("USUBJID", pl.col("START").alias("_OPENFROM")))
    spans = cyc.select("USUBJID", "CYCLE", "CYSTDT", "CYENDT", "_APALVL", "_IRILVL")
    # apatinib records are intervals that can span cycles: each is cut to every cycle it overlaps
    # (joined on the subject only, then filtered: few records and cycles per subject)
    apa_iv = spans.join(iv.filter(pl.col("DRUG") == "APATINIB"), on="USUBJID", how="inner")
    apa_iv = apa_iv.with_columns(
        pl.max_horizontal("START", "CYSTDT").alias("_LO"), pl.min_horizontal("END", "CYENDT").alias("_HI"),
    ).filter(pl.col("_HI") >= pl.col("_LO"))
    # a day covered by two records counts once, with the dose of the record that began first (the higher
    # dose when both began that day)
    # (etl/derive/exposure.new_days; the check ex_overlap lists such records); records given as not
    # taken (dose 0) do not cover a day. Sorted by the record's own start (a record that began in an earlier cycle
    # began first, though both are cut to this cycle's day 1), which keeps _LO in order too.
    # A record without a dose covers its days as ADSL counts them (etl/derive/exposure.dose_given), its amount unknown.
    given = pl.col("DOSE").is_null() | (pl.col("DOSE") > 0)
    taken = apa_iv.filter(given).sort("USUBJID", "CYCLE", "START", "DOSE", descending=[False, False, False, True],
                                      nulls_last=True)
    apa_iv = pl.concat([
        taken.with_columns(new_days("_LO", "_HI", ["USUBJID", "CYCLE"]).alias("_DAYS")),
        apa_iv.filter(~given).with_columns(pl.lit(0, pl.Int64).alias("_DAYS")),
    ])
    apa = apa_iv.group_by("USUBJID", "CYCLE").agg(
        # null when a counted day's dose is unknown (sum would read it as 0)
        pl.when(((pl.col("_DAYS") > 0) & pl.col("DOSE").is_null()).any()).then(None)
        .otherwise((pl.col("DOSE").fill_null(0) * pl.col("_DAYS")).sum()).alias("APAGIVEN"),
        pl.col("_DAYS").filter(given).sum().alias("APADAYS"),
        # a reduction is a dose given below the level's; a dose not taken (0) is a missed dose, not a reduction
        ((pl.col("DOSE") > 0) & (pl.col("DOSE") < pl.col("_APALVL"))).any().alias("_APARED"),
    )
    del apa_iv
    # an infusion belongs to the cycle whose [CYSTDT, CYENDT] holds its date: the last cycle
    # starting on or before it (as-of join), kept when it ends on or after it
    infusions = infusion_days(iv).sort("START")  # one per day, as for DLT evaluability
    iri_in = infusions.join_asof(
        spans.sort("CYSTDT"), left_on="START", right_on="CYSTDT", by="USUBJID", strategy="backward", check_sortedness=False
    ).filter(pl.col("CYCLE").is_not_null() & (pl.col("START") <= pl.col("CYENDT")))
    iri = iri_in.group_by("USUBJID", "CYCLE").agg(
        # an infusion recorded without a dose is an infusion (as ADSL counts it), its amount unknown
        pl.when(pl.col("DOSE").is_null().any()).then(None).otherwise(pl.col("DOSE").sum()).alias("IRIGIVEN"),
        pl.col("GIVEN").sum().alias("IRIINF"),
        ((pl.col("DOSE") > 0) & (pl.col("DOSE") < pl.col("_IRILVL"))).any().alias("_IRIRED"),
    )
    # planned infusions: the scheduled days (TOML schedule.irinotecan_days) that fall in the cycle as far as
    # it has run, so a cycle still running at the cut is not charged with infusions not yet due
    n_inf = pl.sum_horizontal([
        (pl.col("CYSTDT") + pl.duration(days=day - 1) <= pl.col("CYENDT")).cast(pl.Int32) for day in protocol.irinotecan_days
    ])
    # a cycle with no record: nothing given (0); with a record whose amount is unknown: null (kept apart)
    no_apa = pl.col("APADAYS").is_null()
    no_iri = pl.col("IRIINF").is_null()
    out = (cyc.join(apa, on=["USUBJID", "CYCLE"], how="left").join(iri, on=["USUBJID", "CYCLE"], how="left")
           .join(open_from, on="USUBJID", how="left"))
    out = out.with_columns(
        # a cycle beginning after the cut date (a cut date given before the data's end) has run no day yet
        (pl.col("_APALVL") * ((pl.col("CYENDT") - pl.col("CYSTDT")).dt.total_days() + 1).clip(lower_bound=0)).alias("APAPLAN"),
        (pl.col("_IRILVL") * n_inf).alias("IRIPLAN"),
        pl.when(pl.col("_OPENFROM").is_not_null() & (pl.col("CYENDT") > pl.col("_OPENFROM"))).then(None)
        .when(no_apa).then(0.0).otherwise(pl.col("APAGIVEN")).alias("APAGIVEN"),
        pl.when(no_iri).then(0.0).otherwise(pl.col("IRIGIVEN")).alias("IRIGIVEN"),
        pl.col("APADAYS").fill_null(0).cast(pl.Int64), pl.col("IRIINF").fill_null(0).cast(pl.Int64),
    ).with_columns(
        # no dose planned yet (a cycle past the cut, a level without the drug): no intensity, not 0/0
        pl.when(pl.col("APAPLAN") > 0).then(pl.col("APAGIVEN") / pl.col("APAPLAN")).alias("APARDI"),
        pl.when(pl.col("IRIPLAN") > 0).then(pl.col("IRIGIVEN") / pl.col("IRIPLAN")).alias("IRIRDI"),
        pl.when(pl.col("_APARED").fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("APAREDFL"),
        pl.when(pl.col("_IRIRED").fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("IRIREDFL"),
    ).with_columns(
        (pl.col("_APARED").fill_null(False).cast(pl.Int64) + pl.col("_IRIRED").fill_null(False).cast(pl.Int64)).alias("REDUCTNS")
    )
    return out.select(list(ADEX_SCHEMA)).cast(ADEX_SCHEMA)
