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
    iv = exposure_intervals(ex, protocol).filter(pl.col("DRUG").is_not_null()).select("USUBJID", "DRUG", "START", "END", "DOSE")
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
    # taken (dose 0) do not cover a day
    taken = apa_iv.filter(pl.col("DOSE").fill_null(0) > 0).sort("USUBJID", "CYCLE", "_LO", "DOSE", descending=[False, False, False, True])
    apa_iv = pl.concat([
        taken.with_columns(new_days("_LO", "_HI", ["USUBJID", "CYCLE"]).alias("_DAYS")),
        apa_iv.filter(pl.col("DOSE").fill_null(0) <= 0).with_columns(pl.lit(0, pl.Int64).alias("_DAYS")),
    ])
    apa = apa_iv.group_by("USUBJID", "CYCLE").agg(
        (pl.col("DOSE").fill_null(0) * pl.col("_DAYS")).sum().alias("APAGIVEN"),
        pl.col("_DAYS").filter(pl.col("DOSE").fill_null(0) > 0).sum().alias("APADAYS"),
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
        pl.col("DOSE").fill_null(0).sum().alias("IRIGIVEN"),
        (pl.col("DOSE").fill_null(0) > 0).sum().alias("IRIINF"),
        ((pl.col("DOSE") > 0) & (pl.col("DOSE") < pl.col("_IRILVL"))).any().alias("_IRIRED"),
    )
    # planned infusions: the scheduled days (TOML schedule.irinotecan_days) that fall in the cycle as far as
    # it has run, so a cycle still running at the cut is not charged with infusions not yet due
    n_inf = pl.sum_horizontal([
        (pl.col("CYSTDT") + pl.duration(days=day - 1) <= pl.col("CYENDT")).cast(pl.Int32) for day in protocol.irinotecan_days
    ])
    out = cyc.join(apa, on=["USUBJID", "CYCLE"], how="left").join(iri, on=["USUBJID", "CYCLE"], how="left").with_columns(
        (pl.col("_APALVL") * ((pl.col("CYENDT") - pl.col("CYSTDT")).dt.total_days() + 1)).alias("APAPLAN"),
        (pl.col("_IRILVL") * n_inf).alias("IRIPLAN"),
        pl.col("APAGIVEN").fill_null(0.0), pl.col("IRIGIVEN").fill_null(0.0),
        pl.col("APADAYS").fill_null(0).cast(pl.Int64), pl.col("IRIINF").fill_null(0).cast(pl.Int64),
    ).with_columns(
        (pl.col("APAGIVEN") / pl.col("APAPLAN")).alias("APARDI"),
        (pl.col("IRIGIVEN") / pl.col("IRIPLAN")).alias("IRIRDI"),
        pl.when(pl.col("_APARED").fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("APAREDFL"),
        pl.when(pl.col("_IRIRED").fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("IRIREDFL"),
    ).with_columns(
        (pl.col("_APARED").fill_null(False).cast(pl.Int64) + pl.col("_IRIRED").fill_null(False).cast(pl.Int64)).alias("REDUCTNS")
    )
    return out.select(list(ADEX_SCHEMA)).cast(ADEX_SCHEMA)
