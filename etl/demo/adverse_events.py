"""Demo adverse events: per-cycle incidence rising with dose, onsets clustered after infusions.

Profiles follow DOMAIN.md section 3 (apatinib: hypertension, hand-foot skin reaction, proteinuria,
pneumothorax with lung metastases, hypothyroidism; nal-IRI: neutropenia with a nadir 8-14 days
after an infusion, diarrhoea, nausea, fatigue, febrile neutropenia). Incidences are the [R]
suggested generator settings, per cycle, scaled by dose level; grades rise with dose too (the
odds of each higher grade scale with the dose level, GRADE_SHIFT). Inside the DLT window, DLT-free
subjects get no event that meets a protocol DLT rule; DLT subjects get exactly one qualifying
event (flagged AEDLT=Y by the investigator), so the investigator's flags agree with the rules. The
DLT event starts on treatment (on or before the last dose), inside a cycle the subject was dosed in.
Neutropenia whose ANC is below the protocol's withholding threshold (grade >= 2 for 1.5) on an infusion
day withholds that infusion (visits.py); for a
DLT-free patient the enrolment counted as evaluable, at most as many in-window infusions are
withheld as the protocol's [dlt.evaluable] min_infusions_irinotecan leaves room for (the others
are grade 1), so the patient stays evaluable as the escalation history assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.demo.measurements import GRADE_BANDS
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

# DLT events (profile key, grade, onset cycle days, duration range): each meets one protocol rule of
# the TOML [dlt]. Onsets are cycle days of a cycle dosed inside the window; grade 4 neutropenia starts
# at the nadir (days 6-8 after the infusion) and resolves before the next cycle's day 1 (its ANC would
# otherwise hold that infusion: Onivyde label, DOMAIN.md 3)
DLT_MENU: tuple[tuple[str, int, tuple[int, int], tuple[int, int]], ...] = (
    ("NEUT", 4, (6, 8), (9, 13)),    # grade 4 neutropenia > 7 days
    ("FN", 3, (8, 14), (3, 6)),      # febrile neutropenia
    ("PLT", 4, (8, 14), (5, 9)),     # grade 4 thrombocytopenia
    ("DIAR", 3, (2, 12), (5, 9)),    # grade 3 diarrhoea beyond the 72 h exception -> non-haematological
    ("HTN", 3, (3, 20), (18, 30)),   # grade 3 hypertension not controlled within 14 days
    ("HFSR", 3, (7, 21), (10, 20)),  # grade 3 HFSR lasting more than 7 days
    ("PROT", 3, (5, 21), (14, 30)),  # grade 3 proteinuria
    ("FATIG", 3, (1, 15), (8, 15)),  # grade 3 non-haematological
)
# AE terms whose lab value (ANC) can withhold nal-IRI (protocol [dose_modification] irinotecan_withhold_anc_below)
ANC_KEYS = ("NEUT", "FN")


def anc_hold_min_grade(protocol: Protocol) -> int | None:
    """The lowest neutropenia grade whose ANC values (measurements.GRADE_BANDS, the CTCAE v5 bands the labs are drawn
    in) all lie below the protocol's withholding threshold, so that an event of that grade withholds the infusions it
    covers (visits.withheld_infusions); None when the protocol withholds nothing. 2 for the ONIVYDE label's 1.5."""
    threshold = protocol.irinotecan_withhold_anc_below
    if threshold is None:
        return None
    below = [g for g, (_, hi) in GRADE_BANDS["NEUT"].items() if hi < threshold]
    return min(below) if below else None


def _dose_factor(level: np.ndarray) -> np.ndarray:
    return 0.7 + 0.2 * level  # incidence rises with dose level (index 0 = DL-1)


def _grade_shift(level: np.ndarray) -> np.ndarray:
    """Odds multiplier per grade step (illustrative; DOMAIN.md 3 asks for rising probabilities, no data for
    the combination): 1.0 at DL2 (index 2), so the profile's grades are those of the middle dose."""
    return 0.5 + 0.25 * level


def _draw_grades(base: tuple[float, float, float, float], level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grade 1..4 per event: P(grade g) proportional to base[g] * shift ** (g - 1) (higher grades at higher doses)."""
    shift = _grade_shift(level)[:, None] ** np.arange(4)[None, :]
    w = np.array(base)[None, :] * shift
    cum = np.cumsum(w, axis=1)
    u = rng.random(len(level))[:, None] * cum[:, -1:]
    return 1 + (u >= cum).sum(axis=1).clip(0, 3)


def generate_aes(subjects: pl.DataFrame, cycles: pl.DataFrame, visits: pl.DataFrame, protocol: Protocol,
                 rng: np.random.Generator) -> pl.DataFrame:
    """USUBJID, KEY, AEDECOD, AEBODSYS, GRADE, START, END (date), AEDLT ('Y'/'N'), LAB.

    visits: the scheduled visits (visits.py), whose infusion days decide how many in-window infusions an
    ANC-lowering event may withhold for a patient who must stay DLT-evaluable."""
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
        grade = _draw_grades(prof.grades, sel["LEVEL"].to_numpy(), rng)
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

    aes = _within_evaluable_budget(aes, subjects, visits, protocol)

    # the DLT event of each DLT subject: in a cycle dosed inside the window (cycle 1, or cycle 2 when it
    # started in the window), on or before the last dose and inside the window
    dlt_subj = subjects.filter(pl.col("DLT")).sort("IDX")
    k = dlt_subj.height
    if k:
        pick = rng.integers(0, len(DLT_MENU), k)
        keys = [DLT_MENU[i][0] for i in pick]
        grades = [DLT_MENU[i][1] for i in pick]
        lo = np.array([DLT_MENU[i][2][0] for i in pick])
        hi = np.array([DLT_MENU[i][2][1] for i in pick])
        durs = [int(rng.integers(DLT_MENU[i][3][0], DLT_MENU[i][3][1] + 1)) for i in pick]
        day = rng.integers(lo, hi + 1) - 1
        which = rng.random(k)
        dosed = cycles.join(dlt_subj.select("USUBJID", "C1D1"), on="USUBJID").filter(
            (pl.col("D1DT") - pl.col("C1D1")).dt.total_days() < window
        ).group_by("USUBJID").agg(pl.col("D1DT").sort())
        dlt = dlt_subj.select("USUBJID", "C1D1", "TRTEND").join(dosed, on="USUBJID", how="left", maintain_order="left").with_columns(
            pl.Series("KEY", keys), pl.Series("GRADE", grades, dtype=pl.Int64),
            pl.Series("DUR", durs, dtype=pl.Int64), pl.lit("Y").alias("AEDLT"),
            pl.Series("_W", which), pl.Series("_DAY", day),
        ).with_columns(
            # cycle 1 or (when dosed in the window) cycle 2, at random
            pl.col("D1DT").list.get((pl.col("_W") * pl.col("D1DT").list.len().fill_null(1)).floor().cast(pl.Int64),
                                    null_on_oob=True).alias("_D1"),
        ).with_columns(
            pl.min_horizontal(pl.coalesce("_D1", "C1D1") + pl.duration(days=pl.col("_DAY")), "TRTEND",
                              pl.col("C1D1") + pl.duration(days=window - 1)).alias("START"),
        ).drop("D1DT", "_W", "_DAY", "_D1")
        aes = pl.concat([aes, dlt], how="diagonal_relaxed")
    aes = aes.with_columns(
        pl.col("KEY").replace_strict({p.key: p.decod for p in PROFILES}).alias("AEDECOD"),
        pl.col("KEY").replace_strict({p.key: p.bodsys for p in PROFILES}).alias("AEBODSYS"),
        pl.col("KEY").replace_strict({p.key: p.lab for p in PROFILES}, default=None).alias("LAB"),
        (pl.col("START") + pl.duration(days=pl.col("DUR") - 1)).alias("END"),
    )
    return aes.sort("USUBJID", "START", "KEY").select("USUBJID", "KEY", "AEDECOD", "AEBODSYS", "GRADE", "START", "END", "DUR", "AEDLT", "LAB")


def _within_evaluable_budget(aes: pl.DataFrame, subjects: pl.DataFrame, visits: pl.DataFrame, protocol: Protocol) -> pl.DataFrame:
    """Grade 1 for the ANC-lowering events of a DLT-free evaluable patient that would withhold more in-window
    nal-IRI infusions than protocol [dlt.evaluable] min_infusions_irinotecan allows (DOMAIN.md 4)."""
    window = protocol.dlt_window_days
    need = int(protocol.evaluable_min_infusions_irinotecan)
    hold_grade = anc_hold_min_grade(protocol)
    if hold_grade is None:  # no infusion is withheld for a low ANC
        return aes
    keep = subjects.filter(pl.col("EVALUABLE") & ~pl.col("DLT")).select("USUBJID", "C1D1")
    inf = visits.filter(pl.col("DAY").is_in(list(protocol.irinotecan_days)) & (pl.col("CYCLE") > 0)
                        & (pl.col("VISIT") != "UNSCHEDULED")).join(
        keep, on="USUBJID").filter((pl.col("DATE") - pl.col("C1D1")).dt.total_days() < window).select("USUBJID", "DATE")
    budget = inf.group_by("USUBJID").agg((pl.len() - need).clip(lower_bound=0).alias("_BUDGET"))
    aes = aes.with_row_index("_E")
    cand = aes.filter(pl.col("KEY").is_in(ANC_KEYS) & (pl.col("GRADE") >= hold_grade)).join(keep.select("USUBJID"), on="USUBJID")
    covered = cand.select("_E", "USUBJID", "START", "DUR").join(inf, on="USUBJID").filter(
        (pl.col("DATE") >= pl.col("START")) & (pl.col("DATE") < pl.col("START") + pl.duration(days=pl.col("DUR")))
    ).group_by("_E", "USUBJID", "START").agg(pl.len().alias("_HOLDS")).sort("USUBJID", "START", "_E")
    over = covered.join(budget, on="USUBJID", how="left").with_columns(
        pl.col("_HOLDS").cum_sum().over("USUBJID").alias("_CUM")
    ).filter(pl.col("_CUM") > pl.col("_BUDGET").fill_null(0))["_E"]
    return aes.with_columns(
        pl.when(pl.col("_E").is_in(over.implode())).then(pl.lit(1, pl.Int64)).otherwise(pl.col("GRADE")).alias("GRADE")
    ).drop("_E")


def profile(key: str) -> AEProfile:
    return _BY_KEY[key]
