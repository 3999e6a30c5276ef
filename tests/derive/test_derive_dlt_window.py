"""Which AEs are inside the DLT window when the onset date is partial (DOMAIN.md 4: C1D1 .. day 42).

C1D1 is 2026-01-05, so the window ends on 2026-02-15 (study day 42). A month-only onset '2026-02'
may be any day of February: inside the window or after it.
"""

from __future__ import annotations

import polars as pl
from derive_sample_trial import Subject, write_trial

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol


def test_a_partial_onset_that_may_fall_after_the_window_is_undecided(tmp_path, protocol: Protocol) -> None:
    cases = {  # subject -> (AE start offset, end offset, onset text written, DLTWINFL, DLTCFL)
        "FEB-OPEN": (30, 50, "2026-02", None, None),          # ends 2026-02-24: onset Feb 1..24 straddles day 42
        "FEB-ENDS-IN": (30, 38, "2026-02", "Y", "Y"),         # ends 2026-02-12: it began inside the window
        "MAR": (60, 62, "2026-03", "N", "N"),                 # all of March is after the window
        "DAY-42": (41, 43, "2026-02-15", "Y", "Y"),
        "DAY-43": (42, 43, "2026-02-16", "N", "N"),
    }
    subjects = [Subject(sid, aes=[("FATIGUE", "3", st, en)]) for sid, (st, en, _, _, _) in cases.items()]
    folder = write_trial(tmp_path / "export", subjects)
    lines = (folder / "ae.csv").read_text().splitlines()
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        cells[5] = cases[cells[0]][2]  # AESTDTC
        lines[i] = ",".join(cells)
    (folder / "ae.csv").write_text("\n".join(lines) + "\n")
    raw = read_export(folder, ColumnMapping())[1]
    adam = build_adam(raw, protocol, cut_date=None)
    got = {r["USUBJID"]: (r["DLTWINFL"], r["DLTCFL"]) for r in adam["adae"].to_dicts()}
    assert got == {sid: (c[3], c[4]) for sid, c in cases.items()}
    # the undecided onset is listed with the subject's DLT status (not counted as DLT-free unsaid)
    adsl = adam["adsl"].filter(pl.col("USUBJID") == "FEB-OPEN").row(0, named=True)
    assert (adsl["DLTFL"], adsl["DLTUNDFL"]) == ("N", "Y")
    assert adsl["DLTUNDRSN"] == "DLT status undecided: AESEQ=1 FATIGUE (onset not placed in or out of the window)"


def test_a_partial_onset_of_an_event_that_ended_before_dosing_stays_before_dosing(tmp_path, protocol: Protocol) -> None:
    # '2026-01' holds C1D1 (2026-01-05), so an onset in the first month is imputed to the first dose
    # (ADaMIG, admiral min_dates = TRTSDT); but this one ended on 2026-01-03, before any dose: it began
    # in January before the 3rd, so it is neither treatment-emergent nor in the DLT window
    subjects = [Subject("ENDED-BEFORE", aes=[("FATIGUE", "3", -4, -2)]), Subject("ENDED-AFTER", aes=[("FATIGUE", "3", -4, 3)])]
    folder = write_trial(tmp_path / "export", subjects)
    text = (folder / "ae.csv").read_text().replace("2026-01-01,", "2026-01,")
    (folder / "ae.csv").write_text(text)
    raw = read_export(folder, ColumnMapping())[1]
    ae = build_adam(raw, protocol, cut_date=None)["adae"].sort("USUBJID")
    assert ae.select("USUBJID", pl.col("ASTDT").cast(pl.String), "TRTEMFL", "DLTWINFL", "DLTCFL").rows() == [
        ("ENDED-AFTER", "2026-01-05", "Y", "Y", "Y"), ("ENDED-BEFORE", "2026-01-01", "N", "N", "N")]
