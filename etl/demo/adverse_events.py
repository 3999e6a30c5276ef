"""Demo adverse events: per-cycle incidence rising with dose, onsets clustered after infusions.

Profiles follow DOMAIN.md section 3 (apatinib: hypertension, hand-foot skin reaction, proteinuria,
pneumothorax with lung metastases, hypothyroidism; nal-IRI: neutropenia with a nadir 8-14 days
after an infusion, diarrhoea, nausea, fatigue, febrile neutropenia). Incidences are the [R]
suggested generator settings, per cycle, scaled by dose level. Inside the DLT window, DLT-free
subjects get no event that meets a protocol DLT rule; DLT subjects get exactly one qualifying
event (flagged AEDLT=Y by the investigator), so the investigator's flags agree with the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from safetyboard.protocol import Protocol


@dataclass(frozen=True)
class AEProfile:
    key: str
    decod: str
    bodsys: str
    p_cycle: float  # per-cycle probability at the starting dose
    grades: tuple[float, float, float, float]  # P(grade 1..4) outside the DLT window
    onset: tuple[int, int]  # cycle days
    duration: tuple[int, int]  # days
    window_max_grade: int  # highest grade a DLT-free subject may have inside the DLT window
    lab: str | None = None  # PARAMCD whose values reflect the event
    lung_mets_only: bool = False


PROFILES: tuple[AEProfile, ...] = (
    AEProfile("HTN", "Hypertension", "Vascular disorders", 0.16, (0.45, 0.40, 0.15, 0.0), (3, 20), (10, 40), 2),
    AEProfile("HFSR", "Palmar-plantar erythrodysaesthesia syndrome", "Skin and subcutaneous tissue disorders", 0.14, (0.5, 0.35, 0.15, 0.0), (7, 21), (7, 30), 2),
    AEProfile("PROT", "Proteinuria", "Renal and urinary disorders", 0.06, (0.6, 0.3, 0.1, 0.0), (5, 21), (14, 40), 2),
    AEProfile("PNX", "Pneumothorax", "Respiratory, thoracic and mediastinal disorders", 0.05, (0.3, 0.4, 0.3, 0.0), (1, 21), (7, 21), 1, None, True),
    AEProfile("HYPOT", "Hypothyroidism", "Endocrine disorders", 0.04, (0.6, 0.4, 0.0, 0.0), (10, 21), (30, 90), 2),
    AEProfile("NEUT", "Neutrophil count decreased", "Investigations", 0.22, (0.25, 0.35, 0.30, 0.10), (8, 14), (4, 7), 3, "NEUT"),
    AEProfile("ANAEM", "Anaemia", "Blood and lymphatic system disorders", 0.12, (0.5, 0.35, 0.15, 0.0), (5, 20), (10, 30), 3, "HGB"),
    AEProfile("PLT", "Platelet count decreased", "Investigations", 0.08, (0.6, 0.3, 0.1, 0.0), (8, 14), (5, 12), 2, "PLAT"),
    AEProfile("DIAR", "Diarrhoea", "Gastrointestinal disorders", 0.18, (0.55, 0.33, 0.12, 0.0), (2, 12), (2, 8), 2),
    AEProfile("NAUS", "Nausea", "Gastrointestinal disorders", 0.18, (0.6, 0.35, 0.05, 0.0), (1, 5), (1, 5), 2),
    AEProfile("FATIG", "Fatigue", "General disorders and administration site conditions", 0.14, (0.6, 0.35, 0.05, 0.0), (1, 15), (5, 20), 2),
    AEProfile("ALT", "Alanine aminotransferase increased", "Investigations", 0.05, (0.7, 0.2, 0.1, 0.0), (5, 20), (7, 21), 2, "ALT"),
    AEProfile("FN", "Febrile neutropenia", "Blood and lymphatic system disorders", 0.01, (0.0, 0.0, 0.9, 0.1), (8, 14), (3, 6), 0, "NEUT"),
)
_BY_KEY = {p.key: p for p in PROFILES}

# DLT events (profile key, grade, duration range): each meets one protocol rule of the TOML [dlt]
DLT_MENU: tuple[tuple[str, int, tuple[int, int]], ...] = (
    ("NEUT", 4, (9, 14)),   # grade 4 neutropenia > 7 days
    ("FN", 3, (3, 6)),      # febrile neutropenia
    ("PLT", 4, (5, 9)),     # grade 4 thrombocytopenia
    ("DIAR", 3, (5, 9)),    # grade 3 diarrhoea beyond the 72 h exception -> non-haematological
    ("HTN", 3, (18, 30)),   # grade 3 hypertension not controlled within 14 days
    ("HFSR", 3, (10, 20)),  # grade 3 HFSR lasting more than 7 days
    ("PROT", 3, (14, 30)),  # grade 3 proteinuria
    ("FATIG", 3, (8, 15)),  # grade 3 non-haematological
)


def _dose_factor(level: np.ndarray) -> np.ndarray:
    return 0.7 + 0.2 * level  # incidence rises with dose level (index 0 = DL-1)


def generate_aes(subjects: pl.DataFrame, cycles: pl.DataFrame, protocol: Protocol, rng: np.random.Generator) -> pl.DataFrame:
    """USUBJID, KEY, AEDECOD, AEBODSYS, GRADE, START, END (date), AEDLT ('Y'/'N'), LAB."""
    window = protocol.dlt_window_days
    cyc = cycles.join(subjects.select("USUBJID", "LEVEL", "LUNGMETS", "C1D1", "TRTEND"), on="USUBJID").sort("USUBJID", "CYCLE")
    level = cyc["LEVEL"].to_numpy()
    parts = []
    for prof in PROFILES:
        p = prof.p_cycle * _dose_factor(level)
        if prof.lung_mets_only:
            p = np.where(cyc["LUNGMETS"].to_numpy(), p * 3, 0.0)
        hit = rng.random(len(p)) < p
        sel = cyc.filter(pl.Series(hit))
        m = sel.height
        if m == 0:
            continue
        grade = rng.choice([1, 2, 3, 4], size=m, p=np.array(prof.grades) / sum(prof.grades))
        onset = rng.integers(prof.onset[0], prof.onset[1] + 1, m) - 1
        dur = rng.integers(prof.duration[0], prof.duration[1] + 1, m)
        parts.append(sel.select("USUBJID", "C1D1", "TRTEND").with_columns(
            pl.lit(prof.key).alias("KEY"), pl.Series("GRADE", grade),
            (pl.Series("D1", sel["D1DT"]) + pl.duration(days=pl.Series(onset))).alias("START"),
            pl.Series("DUR", dur),
        ))
    aes = pl.concat(parts) if parts else pl.DataFrame()
    # inside the DLT window: cap the grade (no rule may fire for an event that is not the DLT)
    caps = {p.key: p.window_max_grade for p in PROFILES}
    in_window = (pl.col("START") - pl.col("C1D1")).dt.total_days() < window
    aes = aes.with_columns(pl.col("KEY").replace_strict(caps, return_dtype=pl.Int64).alias("_CAP")).with_columns(
        pl.when(in_window).then(pl.min_horizontal("GRADE", "_CAP")).otherwise(pl.col("GRADE")).alias("GRADE"),
        # neutropenia grade 3 in the window resolves within 7 days; grade 3 hypertension within 14
        pl.when(in_window & (pl.col("KEY") == "NEUT")).then(pl.min_horizontal("DUR", pl.lit(7))).otherwise(pl.col("DUR")).alias("DUR"),
    ).filter(pl.col("GRADE") > 0).drop("_CAP")
    aes = aes.with_columns(pl.lit("N").alias("AEDLT"))

    # the DLT event of each DLT subject, inside the window
    dlt_subj = subjects.filter(pl.col("DLT")).sort("IDX")
    k = dlt_subj.height
    if k:
        pick = rng.integers(0, len(DLT_MENU), k)
        keys = [DLT_MENU[i][0] for i in pick]
        grades = [DLT_MENU[i][1] for i in pick]
        durs = [int(rng.integers(DLT_MENU[i][2][0], DLT_MENU[i][2][1] + 1)) for i in pick]
        onset = rng.integers(4, 30, k)
        dlt = dlt_subj.select("USUBJID", "C1D1", "TRTEND").with_columns(
            pl.Series("KEY", keys), pl.Series("GRADE", grades, dtype=pl.Int64),
            (pl.col("C1D1") + pl.duration(days=pl.Series(onset))).alias("START"),
            pl.Series("DUR", durs, dtype=pl.Int64), pl.lit("Y").alias("AEDLT"),
        )
        aes = pl.concat([aes, dlt], how="diagonal_relaxed")
    aes = aes.with_columns(
        pl.col("KEY").replace_strict({p.key: p.decod for p in PROFILES}).alias("AEDECOD"),
        pl.col("KEY").replace_strict({p.key: p.bodsys for p in PROFILES}).alias("AEBODSYS"),
        pl.col("KEY").replace_strict({p.key: p.lab for p in PROFILES}, default=None).alias("LAB"),
        (pl.col("START") + pl.duration(days=pl.col("DUR") - 1)).alias("END"),
    )
    return aes.sort("USUBJID", "START", "KEY").select("USUBJID", "KEY", "AEDECOD", "AEBODSYS", "GRADE", "START", "END", "DUR", "AEDLT", "LAB")


def profile(key: str) -> AEProfile:
    return _BY_KEY[key]
