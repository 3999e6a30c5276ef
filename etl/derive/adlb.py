"""adam.adlb: lab values in the criteria's units with baseline, timing, cycle and CTCAE v5 grades."""

from __future__ import annotations

import polars as pl

from etl.derive.cycles import assign_cycle
from etl.derive.lab_grades import grade_labs
from etl.derive.lab_units import standardise_lab_units
from etl.derive.study_day import complete_date, compute_study_day

# the raw.lb columns derive_adlb reads (the loader reads back only these, when present)
ADLB_INPUTS = [
    "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBSPEC", "LBORRES", "LBSTRESN", "LBSTRESU", "LBSTNRLO",
    "LBSTNRHI", "LBBLFL", "LBLOBXFL", "VISITNUM", "VISIT", "LBDTC_DT", "LBDTC_DTF", "_FILE", "_ROW",
]
ADLB_COLUMNS = [
    "USUBJID", "LBSEQ", "PARAMCD", "PARAM", "LBCAT", "VISITNUM", "VISIT", "ADT", "ADY", "CYCLE", "CYCLEDY",
    "AVAL", "AVALU", "ANRLO", "ANRHI", "LBORRES", "LBSTRESU", "BASE", "BNRIND", "ABLFL",
    "ATOXGRL", "ATOXGRH", "ATOXDSCL", "ATOXDSCH", "ATOXWCL", "ATOXWCH", "GRADE_REASON", "_FILE", "_ROW",
]
ADLB_TYPES = {"LBSEQ": pl.Int64, "VISITNUM": pl.Float64, "_ROW": pl.Int64}  # the other optional inputs are text


def derive_baseline(frame: pl.DataFrame) -> pl.DataFrame:
    """BASE = the last non-missing value on or before the first dose, per subject and parameter.

    Admiral's ADLB template (derive_var_extreme_flag, mode "last", order ADT, AVISITN, LBSEQ; filter
    !is.na(AVAL) & ADT <= TRTSDT), which is SDTMIG 3.3's --LOBXFL "last observation before exposure":
    an export's LBLOBXFL = 'Y' is taken as given. SDTM LBBLFL is not used (the CDISC pilot flags the
    screening draw although an unscheduled draw came later, before the first dose; SDTMIG 3.3
    deprecates --BLFL for --LOBXFL). No first dose, no baseline.

    BNRIND = HIGH/LOW/NORMAL of the baseline value against its range (admiral BNRIND).
    """
    flagged = (pl.col("LBLOBXFL") == "Y").fill_null(False) if "LBLOBXFL" in frame.columns else pl.lit(False)
    pre = pl.col("ADT").is_not_null() & pl.col("TRTSDT").is_not_null() & (pl.col("ADT") <= pl.col("TRTSDT"))
    cand = frame.with_row_index("_I").filter(pl.col("AVAL").is_not_null() & (flagged | (pre & ~flagged.any().over("USUBJID", "PARAMCD"))))
    ties = [c for c in ("VISITNUM", "LBSEQ") if c in frame.columns]
    base = cand.sort(["ADT", *ties, "_I"], nulls_last=False).group_by("USUBJID", "PARAMCD").agg(
        pl.col("AVAL").last().alias("BASE"), pl.col("ANRLO").last().alias("_BLO"), pl.col("ANRHI").last().alias("_BHI"),
        pl.col("_I").last().alias("_BI"),
    )
    out = frame.with_row_index("_I").join(base, on=["USUBJID", "PARAMCD"], how="left")
    return out.with_columns(
        pl.when(pl.col("BASE").is_null()).then(None)
        .when(pl.col("_BHI").is_not_null() & (pl.col("BASE") > pl.col("_BHI"))).then(pl.lit("HIGH"))
        .when(pl.col("_BLO").is_not_null() & (pl.col("BASE") < pl.col("_BLO"))).then(pl.lit("LOW"))
        .otherwise(pl.lit("NORMAL")).alias("BNRIND"),
        pl.when(pl.col("_I") == pl.col("_BI")).then(pl.lit("Y")).alias("ABLFL"),
    ).drop("_I", "_BI", "_BLO", "_BHI")


def derive_adlb(lb: pl.DataFrame, adsl: pl.DataFrame, adcyc: pl.DataFrame) -> pl.DataFrame:
    frame = standardise_lab_units(lb).join(adsl.select("USUBJID", "TRTSDT", "RFSTDT"), on="USUBJID", how="left")
    # a partial LBDTC ('2026-01') is no analysis date (admiral ADLB: derive_vars_dt without imputation): imputed to
    # the 1st, a draw after the first dose could become the baseline that ALT/AST/creatinine grades are relative to
    adt = complete_date(lb, "LBDTC") if "LBDTC_DT" in lb.columns else pl.lit(None, pl.Date)
    frame = frame.with_columns(adt.alias("ADT"))
    frame = frame.with_columns(compute_study_day(pl.col("ADT"), pl.col("RFSTDT")).alias("ADY"))
    frame = derive_baseline(frame)
    frame = grade_labs(frame)
    frame = assign_cycle(frame, "ADT", adcyc)
    # a column the export lacks is still written with its type (a NULL-typed column would change
    # the table's schema from one export to the next)
    for col in ADLB_COLUMNS:
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, ADLB_TYPES.get(col, pl.String)).alias(col))
    return frame.select(ADLB_COLUMNS)
