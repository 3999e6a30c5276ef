"""Demo tumour measurements (TR) and overall responses (RS) by RECIST 1.1 (DOMAIN.md section 5).

Two or three target lesions; assessments every 6 weeks on treatment. The response at each
assessment follows from the sums: PR when >= 30% below baseline, PD when >= 20% and >= 5 mm above
the nadir, CR when all lesions are gone, else SD. The last assessment of a subject who stopped for
progression is PD (on the day treatment ended); no other assessment is PD.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ASSESS_EVERY_DAYS = 42  # registry: ORR "every 6 weeks"


def recist_response(sums: list[float], baseline: float) -> list[str]:
    """Overall target response per assessment from the sums of diameters (after baseline)."""
    out = []
    nadir = baseline
    for s in sums:
        if s == 0:
            out.append("CR")
        elif s - nadir >= 0.2 * nadir and s - nadir >= 5:
            out.append("PD")
        elif s <= 0.7 * baseline:
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, s)
    return out


def _below_pd(d: np.ndarray, nadir: float) -> np.ndarray:
    """The lesion diameters scaled down so that their rounded sum stays short of RECIST PD over the nadir
    (PD needs both >= 20% and >= 5 mm: the sum is kept below the larger of the two margins)."""
    cap = nadir + max(0.2 * nadir, 5) - 1
    total = float(np.round(d, 0).sum())
    if total <= cap:
        return d
    return d * max(cap - len(d), 0) / max(float(d.sum()), 1e-9)


def generate_tumours(subjects: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """TR and RS consistent with the disposition (DS): a subject who stopped for progression has PD as the
    last response, assessed on the day treatment ended (END OF TREATMENT, when no 6-weekly scan falls on it),
    and no subject has PD while treatment goes on (progression ends treatment: no dose after an RS PD)."""
    tr_rows: list[dict] = []
    rs_rows: list[dict] = []
    for row in subjects.select("USUBJID", "C1D1", "TRTEND", "ENDED", "ENDREASON").iter_rows(named=True):
        n_les = int(rng.integers(2, 4))
        base = rng.uniform(12, 60, n_les)
        shrink = rng.normal(0.92, 0.08)  # per-assessment multiplier: responders shrink
        progressed = bool(row["ENDED"]) and row["ENDREASON"] == "PROGRESSIVE DISEASE"
        dates = [row["C1D1"] - np.timedelta64(5, "D").astype(object)]
        visits = ["SCREENING"]
        k = 1
        while True:
            d = row["C1D1"] + np.timedelta64(ASSESS_EVERY_DAYS * k, "D").astype(object)
            if d > row["TRTEND"]:
                break
            dates.append(d)
            visits.append(f"WEEK {6 * k}")
            k += 1
        if progressed and dates[-1] != row["TRTEND"]:
            dates.append(row["TRTEND"])  # the scan that showed progression ended treatment (DS date)
            visits.append("END OF TREATMENT")
        diam = [base]
        nadir = float(np.round(base, 0).sum())
        for i in range(1, len(dates)):
            d = np.maximum(diam[-1] * shrink * rng.normal(1, 0.03, n_les), 0)
            if progressed and i == len(dates) - 1:
                # PD: >= 20% and >= 5 mm over the nadir, with room for the rounding of each lesion
                d = d + (max(0.35 * nadir, 8) + nadir - float(d.sum())) / n_les if d.sum() < nadir else d + max(0.35 * nadir, 8) / n_les
            else:
                d = _below_pd(d, nadir)
            diam.append(d)
            nadir = min(nadir, float(np.round(d, 0).sum()))
        sums = [float(np.round(d, 0).sum()) for d in diam]
        resp = recist_response(sums[1:], sums[0])
        for i, (date, d) in enumerate(zip(dates, diam, strict=True)):
            visit = visits[i]
            for j, value in enumerate(np.round(d, 0)):
                tr_rows.append({"USUBJID": row["USUBJID"], "TRLNKID": f"T{j + 1:02d}", "TRTESTCD": "LDIAM",
                                "TRTEST": "Longest Diameter", "TRSTRESN": float(value), "TRSTRESU": "mm",
                                "VISIT": visit, "TRDT": date})
            if i > 0:
                rs_rows.append({"USUBJID": row["USUBJID"], "RSTESTCD": "OVRLRESP", "RSTEST": "Overall Response",
                                "RSSTRESC": resp[i - 1], "RSEVAL": "INVESTIGATOR", "VISIT": visit, "RSDT": date})
    tr = pl.DataFrame(tr_rows, schema={"USUBJID": pl.String, "TRLNKID": pl.String, "TRTESTCD": pl.String, "TRTEST": pl.String,
                                       "TRSTRESN": pl.Float64, "TRSTRESU": pl.String, "VISIT": pl.String, "TRDT": pl.Date})
    rs = pl.DataFrame(rs_rows, schema={"USUBJID": pl.String, "RSTESTCD": pl.String, "RSTEST": pl.String, "RSSTRESC": pl.String,
                                       "RSEVAL": pl.String, "VISIT": pl.String, "RSDT": pl.Date})
    return tr, rs
