"""Demo laboratory (LB) and vital-sign (VS) values, consistent with the adverse events.

Labs: haematology and chemistry at screening and every scheduled visit, values inside or near
the reference range; while a lab-type AE lasts, visits show a value in that AE's CTCAE v5 grade
band (DOMAIN.md section 2 cut-offs). Site 03 reports haemoglobin in g/dL (unit conversion).
Blood pressure rises over the first weeks on apatinib, more at higher doses, and sits in the
BP-category band of a hypertension AE while it lasts; temperature is > 38.3 C during a febrile
neutropenia (CTCAE v5 definition).
"""

from __future__ import annotations

import numpy as np
import polars as pl

# test code, name, SI unit, low, high (reference range), category; values for a healthy adult
LAB_TESTS: tuple[tuple[str, str, str, float, float, str], ...] = (
    ("NEUT", "Neutrophils", "10^9/L", 1.8, 7.5, "HEMATOLOGY"),
    ("PLAT", "Platelets", "10^9/L", 150, 400, "HEMATOLOGY"),
    ("HGB", "Hemoglobin", "g/L", 120, 160, "HEMATOLOGY"),
    ("WBC", "Leukocytes", "10^9/L", 4.0, 10.0, "HEMATOLOGY"),
    ("LYM", "Lymphocytes", "10^9/L", 1.0, 3.5, "HEMATOLOGY"),
    ("ALT", "Alanine Aminotransferase", "U/L", 7, 40, "CHEMISTRY"),
    ("AST", "Aspartate Aminotransferase", "U/L", 10, 40, "CHEMISTRY"),
    ("BILI", "Bilirubin", "umol/L", 3, 21, "CHEMISTRY"),
    ("CREAT", "Creatinine", "umol/L", 45, 100, "CHEMISTRY"),
    ("SODIUM", "Sodium", "mmol/L", 135, 145, "CHEMISTRY"),
    ("K", "Potassium", "mmol/L", 3.5, 5.1, "CHEMISTRY"),
)
# value bands per grade for lab-type AEs (CTCAE v5, DOMAIN.md 2), with the ranges above
GRADE_BANDS: dict[str, dict[int, tuple[float, float]]] = {
    "NEUT": {1: (1.5, 1.75), 2: (1.0, 1.45), 3: (0.5, 0.95), 4: (0.1, 0.45)},
    "PLAT": {1: (80, 145), 2: (51, 74), 3: (26, 49), 4: (5, 24)},
    "HGB": {1: (101, 118), 2: (81, 99), 3: (65, 79), 4: (55, 64)},
    "ALT": {1: (45, 115), 2: (125, 195), 3: (210, 780), 4: (820, 1000)},
}
HGB_GDL_SITE = "03"


def generate_labs(visits: pl.DataFrame, subjects: pl.DataFrame, aes: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    sched = visits.filter(pl.col("LABDRAW")).join(subjects.select("USUBJID", "SITEID", "LEVEL"), on="USUBJID").sort("USUBJID", "VISITNUM")
    tests = pl.DataFrame(
        {"LBTESTCD": [t[0] for t in LAB_TESTS], "LBTEST": [t[1] for t in LAB_TESTS], "UNIT": [t[2] for t in LAB_TESTS],
         "LO": [float(t[3]) for t in LAB_TESTS], "HI": [float(t[4]) for t in LAB_TESTS], "LBCAT": [t[5] for t in LAB_TESTS]}
    )
    lab = sched.join(tests, how="cross", maintain_order="left_right")
    m = lab.height
    # inside the range, with a little room below for grade-1-level values on treatment
    u = rng.beta(2.2, 2.2, m)
    value = pl.col("LO") + (pl.col("HI") - pl.col("LO")) * pl.Series(u)
    on_treatment = pl.col("CYCLE") > 0
    lab = lab.with_columns(
        pl.when(on_treatment & (pl.col("LBTESTCD") == "NEUT") & (pl.col("DAY") > 1))
        .then((value * (0.75 - 0.05 * pl.col("LEVEL"))).clip(lower_bound=1.55))
        .otherwise(value).alias("VAL")
    )
    # lab-type AEs: visits during the event show its grade
    lab_aes = aes.filter(pl.col("LAB").is_not_null()).select(
        "USUBJID", pl.col("LAB").alias("LBTESTCD"), "GRADE", "START", "END"
    )
    hits = lab.select("USUBJID", "LBTESTCD", "DATE", "VISITNUM").join(lab_aes, on=["USUBJID", "LBTESTCD"]).filter(
        (pl.col("DATE") >= pl.col("START")) & (pl.col("DATE") <= pl.col("END"))
    ).group_by("USUBJID", "LBTESTCD", "VISITNUM").agg(pl.col("GRADE").max()).sort("USUBJID", "LBTESTCD", "VISITNUM")
    if hits.height:
        bands = pl.DataFrame(
            [(code, g, float(lo), float(hi)) for code, per in GRADE_BANDS.items() for g, (lo, hi) in per.items()],
            schema={"LBTESTCD": pl.String, "GRADE": pl.Int64, "BLO": pl.Float64, "BHI": pl.Float64}, orient="row",
        )
        hits = hits.with_columns(pl.col("GRADE").cast(pl.Int64)).join(bands, on=["LBTESTCD", "GRADE"], how="left")
        hits = hits.with_columns((pl.col("BLO") + (pl.col("BHI") - pl.col("BLO")) * pl.Series(rng.random(hits.height))).alias("AEVAL"))
        lab = lab.join(hits.select("USUBJID", "LBTESTCD", "VISITNUM", "AEVAL"), on=["USUBJID", "LBTESTCD", "VISITNUM"], how="left").with_columns(
            pl.coalesce("AEVAL", "VAL").alias("VAL")
        ).drop("AEVAL")
    # site 03 reports haemoglobin in g/dL (values and range / 10)
    gdl = (pl.col("LBTESTCD") == "HGB") & (pl.col("SITEID") == HGB_GDL_SITE)
    decimals = pl.when(pl.col("LBTESTCD").is_in(["NEUT", "WBC", "LYM", "K"])).then(2).otherwise(1)
    lab = lab.with_columns(
        pl.when(gdl).then(pl.col("VAL") / 10).otherwise(pl.col("VAL")).alias("VAL"),
        pl.when(gdl).then(pl.col("LO") / 10).otherwise(pl.col("LO")).alias("LO"),
        pl.when(gdl).then(pl.col("HI") / 10).otherwise(pl.col("HI")).alias("HI"),
        pl.when(gdl).then(pl.lit("g/dL")).otherwise(pl.col("UNIT")).alias("UNIT"),
    ).with_columns(
        pl.when(decimals == 2).then(pl.col("VAL").round(2)).otherwise(pl.col("VAL").round(1)).alias("VAL"),
    )
    return lab.select(
        "USUBJID", "LBTESTCD", "LBTEST", "LBCAT",
        pl.col("VAL").cast(pl.String).alias("LBORRES"), pl.col("UNIT").alias("LBORRESU"),
        pl.col("VAL").alias("LBSTRESN"), pl.col("UNIT").alias("LBSTRESU"),
        pl.col("LO").alias("LBSTNRLO"), pl.col("HI").alias("LBSTNRHI"),
        pl.when(pl.col("VAL") < pl.col("LO")).then(pl.lit("LOW")).when(pl.col("VAL") > pl.col("HI")).then(pl.lit("HIGH")).otherwise(pl.lit("NORMAL")).alias("LBNRIND"),
        pl.when(pl.col("VISITNUM") == 0).then(pl.lit("Y")).otherwise(None).alias("LBBLFL"),
        "VISITNUM", "VISIT", pl.col("DATE").alias("LBDT"),
    ).sort("USUBJID", "VISITNUM", "LBTESTCD")


# BP bands (SBP, DBP) per hypertension AE grade (CTCAE v5 thresholds, DOMAIN.md 2)
HTN_BANDS = {1: ((124, 136), (81, 88)), 2: ((142, 156), (91, 98)), 3: ((162, 176), (101, 108))}
APATINIB_RISE = 0.03  # mmHg of SBP rise per mg of apatinib once on treatment (illustrative)


def generate_vitals(visits: pl.DataFrame, subjects: pl.DataFrame, aes: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    v = visits.filter(pl.col("LABDRAW")).join(subjects.select("USUBJID", "APADOSE", "C1D1"), on="USUBJID").sort("USUBJID", "VISITNUM")
    n = v.height
    sbp0 = rng.normal(116, 8, n).clip(95, 136)
    dbp0 = rng.normal(74, 6, n).clip(58, 87)
    weeks = ((v["DATE"] - v["C1D1"]).dt.total_days().to_numpy() / 7).clip(0, 3)
    rise = (v["APADOSE"].to_numpy() * APATINIB_RISE) * weeks / 3
    sbp = sbp0 + rise + np.where(v["VISITNUM"].to_numpy() > 0, rng.normal(0, 4, n), 0)
    dbp = dbp0 + rise * 0.6 + np.where(v["VISITNUM"].to_numpy() > 0, rng.normal(0, 3, n), 0)
    v = v.with_columns(pl.Series("SBP", sbp), pl.Series("DBP", dbp))
    # screening BP below the eligibility limit (< 140/90)
    v = v.with_columns(
        pl.when(pl.col("VISITNUM") == 0).then(pl.col("SBP").clip(upper_bound=136)).otherwise(pl.col("SBP")).alias("SBP"),
        pl.when(pl.col("VISITNUM") == 0).then(pl.col("DBP").clip(upper_bound=86)).otherwise(pl.col("DBP")).alias("DBP"),
    )
    htn = aes.filter(pl.col("KEY") == "HTN").select("USUBJID", "GRADE", "START", "END")
    hits = v.select("USUBJID", "VISITNUM", "DATE").join(htn, on="USUBJID").filter(
        (pl.col("DATE") >= pl.col("START")) & (pl.col("DATE") <= pl.col("END"))
    ).group_by("USUBJID", "VISITNUM").agg(pl.col("GRADE").max().clip(upper_bound=3)).sort("USUBJID", "VISITNUM")
    if hits.height:
        g = hits["GRADE"].to_list()
        r = rng.random(hits.height)
        hits = hits.with_columns(
            pl.Series("HSBP", [HTN_BANDS[x][0][0] + (HTN_BANDS[x][0][1] - HTN_BANDS[x][0][0]) * f for x, f in zip(g, r, strict=True)]),
            pl.Series("HDBP", [HTN_BANDS[x][1][0] + (HTN_BANDS[x][1][1] - HTN_BANDS[x][1][0]) * f for x, f in zip(g, r, strict=True)]),
        )
        v = v.join(hits.drop("GRADE"), on=["USUBJID", "VISITNUM"], how="left", maintain_order="left").with_columns(
            pl.coalesce("HSBP", "SBP").alias("SBP"), pl.coalesce("HDBP", "DBP").alias("DBP")
        )
    n = v.height
    base = v.select("USUBJID", "VISITNUM", "VISIT", "DATE")
    sys_ = base.with_columns(pl.lit("SYSBP").alias("VSTESTCD"), pl.lit("Systolic Blood Pressure").alias("VSTEST"), v["SBP"].round(0).alias("VAL"), pl.lit("mmHg").alias("U"))
    dia = base.with_columns(pl.lit("DIABP").alias("VSTESTCD"), pl.lit("Diastolic Blood Pressure").alias("VSTEST"), v["DBP"].round(0).alias("VAL"), pl.lit("mmHg").alias("U"))
    pulse = base.with_columns(pl.lit("PULSE").alias("VSTESTCD"), pl.lit("Pulse Rate").alias("VSTEST"), pl.Series("VAL", rng.normal(78, 9, n).round(0)), pl.lit("beats/min").alias("U"))
    # febrile neutropenia: a temperature > 38.3 C (CTCAE v5 definition, DOMAIN.md 2) at the visits during it
    fn = aes.filter(pl.col("KEY") == "FN").select("USUBJID", "START", "END")
    fever = base.with_row_index("_V").join(fn, on="USUBJID").filter(
        (pl.col("DATE") >= pl.col("START")) & (pl.col("DATE") <= pl.col("END")))["_V"].unique()
    t = np.where(np.isin(np.arange(n), fever.to_numpy()), rng.uniform(38.5, 39.5, n), rng.normal(36.7, 0.3, n).clip(35.8, 37.6))
    temp = base.with_columns(pl.lit("TEMP").alias("VSTESTCD"), pl.lit("Temperature").alias("VSTEST"), pl.Series("VAL", t.round(1)), pl.lit("C").alias("U"))
    scr = base.filter(pl.col("VISITNUM") == 0)
    k = scr.height
    weight = scr.with_columns(pl.lit("WEIGHT").alias("VSTESTCD"), pl.lit("Weight").alias("VSTEST"), pl.Series("VAL", rng.normal(58, 11, k).clip(32, 110).round(1)), pl.lit("kg").alias("U"))
    height = scr.with_columns(pl.lit("HEIGHT").alias("VSTESTCD"), pl.lit("Height").alias("VSTEST"), pl.Series("VAL", rng.normal(166, 9, k).clip(140, 195).round(0)), pl.lit("cm").alias("U"))
    out = pl.concat([sys_, dia, pulse, temp, weight, height])
    return out.select(
        "USUBJID", "VSTESTCD", "VSTEST", pl.col("VAL").cast(pl.String).alias("VSORRES"), pl.col("U").alias("VSORRESU"),
        pl.col("VAL").alias("VSSTRESN"), pl.col("U").alias("VSSTRESU"),
        pl.when(pl.col("VISITNUM") == 0).then(pl.lit("Y")).otherwise(None).alias("VSBLFL"),
        "VISITNUM", "VISIT", pl.col("DATE").alias("VSDT"),
    ).sort("USUBJID", "VISITNUM", "VSTESTCD")
