"""ADSL DLT flags and DLT evaluability at the edges (DOMAIN.md 4; TOML [dlt], [dlt.evaluable]).

Offsets are days from C1D1 (2026-01-05); the window is offsets 0..41 (study days 1..42).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from derive_sample_trial import C1D1, Subject, day, derive, write_trial

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol

NEUT = "NEUTROPHIL COUNT DECREASED"


def _adsl(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["USUBJID"]: r for r in frame.to_dicts()}


def test_a_death_inside_the_window_without_a_dlt_is_not_evaluable(tmp_path, protocol: Protocol) -> None:
    # died on study day 40 of progression (no grade 5 AE), having had 39 apatinib days and all 6
    # infusions: not observed through the window, so not "completed" (evaluable only with a DLT)
    subjects = [Subject("DIED-D40", apatinib=[(0, 38, 250.0)], aes=[("DISEASE PROGRESSION", "2", 30, 39)]),
                Subject("DIED-D42", apatinib=[(0, 41, 250.0)]),  # died on the window's last day: observed
                Subject("DIED-G5", apatinib=[(0, 38, 250.0)], aes=[("SEPSIS", "5", 39, 39)])]
    folder = write_trial(tmp_path / "export", subjects)
    lines = (folder / "dm.csv").read_text().splitlines()
    lines[0] += ",DTHDTC"
    lines[1:] = [line + "," + {"DIED-D40": day(39), "DIED-D42": day(41), "DIED-G5": day(39)}[line.split(",")[1]]
                 for line in lines[1:]]
    (folder / "dm.csv").write_text("\n".join(lines) + "\n")
    raw = read_export(folder, ColumnMapping())[1]
    adsl = _adsl(build_adam(raw, protocol, cut_date=None)["adsl"])
    assert (adsl["DIED-D40"]["DLTEVLFL"], adsl["DIED-D40"]["DLTEVLRSN"]) == ("N", "died on day 40 of the window without a DLT")
    assert (adsl["DIED-D42"]["DLTEVLFL"], adsl["DIED-D42"]["DLTEVLRSN"]) == ("Y", "window completed with enough doses")
    assert (adsl["DIED-G5"]["DLTEVLFL"], adsl["DIED-G5"]["DLTEVLRSN"]) == ("Y", "DLT in window")


def test_a_partial_death_date_counts_inside_the_window_only_when_its_whole_period_does(tmp_path, protocol: Protocol) -> None:
    # the window runs 2026-01-05..2026-02-15. '2026-02' (DTHDT imputed to the 1st, study day 28) may fall after the
    # window's last day: the patient, with every dose through day 42, completed it (as a partial DS exit date is
    # read); '2026-01' ended inside the window: died by day 27 (the month's last day), not evaluable without a DLT
    subjects = [Subject("DIED-FEB", apatinib=[(0, 60, 250.0)]), Subject("DIED-JAN", apatinib=[(0, 25, 250.0)],
                                                                        infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15")])]
    folder = write_trial(tmp_path / "export", subjects)
    lines = (folder / "dm.csv").read_text().splitlines()
    lines[0] += ",DTHDTC"
    lines[1:] = [line + "," + {"DIED-FEB": "2026-02", "DIED-JAN": "2026-01"}[line.split(",")[1]] for line in lines[1:]]
    (folder / "dm.csv").write_text("\n".join(lines) + "\n")
    raw = read_export(folder, ColumnMapping())[1]
    adsl = _adsl(build_adam(raw, protocol, cut_date=dt.date(2026, 3, 31))["adsl"])
    feb, jan = adsl["DIED-FEB"], adsl["DIED-JAN"]
    assert (feb["DTHDT"], feb["DTHDTF"], feb["DTHFL"]) == (dt.date(2026, 2, 1), "D", "Y")  # admiral: first of the month
    assert (feb["DLTEVLFL"], feb["DLTEVLRSN"]) == ("Y", "window completed with enough doses")
    assert (jan["DLTEVLFL"], jan["DLTEVLRSN"]) == ("N", "died by day 27 of the window without a DLT (partial death date)")


def test_the_investigator_flag_on_an_event_of_unknown_onset_counts(tmp_path, protocol: Protocol) -> None:
    # SUPPAE AEDLT = 'Y' on an AE whose start date is missing: the investigator adjudicated a DLT (an
    # event of the window by definition); before, the subject counted as DLT-free
    subjects = [Subject("INV-NOONSET", aes=[("FATIGUE", "2", 5, 6)], aedlt={1: "Y"}),
                Subject("INV-OUTSIDE", aes=[("FATIGUE", "2", 60, 61)], aedlt={1: "Y"})]
    folder = write_trial(tmp_path / "export", subjects)
    text = (folder / "ae.csv").read_text().replace(f"{day(5)},{day(6)}", f",{day(6)}")
    (folder / "ae.csv").write_text(text)
    raw = read_export(folder, ColumnMapping())[1]
    adam = build_adam(raw, protocol, cut_date=None)
    adsl = _adsl(adam["adsl"])
    assert adam["adae"].sort("USUBJID")["DLTWINFL"].to_list() == [None, "N"]
    assert (adsl["INV-NOONSET"]["DLTFL"], adsl["INV-NOONSET"]["DLTEVLFL"]) == ("Y", "Y")
    # a flag on an AE placed after the window is not a DLT of the window (check dlt_flag_mismatch lists it)
    assert adsl["INV-OUTSIDE"]["DLTFL"] == "N"


def test_a_protocol_dlt_without_an_investigator_verdict_is_undecided(tmp_path, protocol: Protocol) -> None:
    # the export has investigator flags (SUPPAE AEDLT), but not for this grade 4 neutropenia of 10 days:
    # not adjudicated yet, so the subject is not shown as DLT-free (listed beside the escalation)
    subjects = [Subject("NOT-ADJUDICATED", aes=[(NEUT, "4", 10, 19), ("NAUSEA", "1", 3, 4)], aedlt={2: "N"}),
                Subject("ADJUDICATED-N", aes=[(NEUT, "4", 10, 19)], aedlt={1: "N"}),
                Subject("NO-CANDIDATE", aes=[("NAUSEA", "1", 3, 4)]),
                Subject("UNGRADED", aes=[("FATIGUE", "", 3, 4)]),
                Subject("UNGRADED-ADJUDICATED", aes=[("FATIGUE", "", 3, 4)], aedlt={1: "N"})]
    adsl = _adsl(derive(tmp_path, subjects, protocol)["adsl"])
    row = adsl["NOT-ADJUDICATED"]
    assert (row["DLTSRC"], row["DLTFL"], row["DLTCFL"], row["DLTEVLFL"]) == ("INVESTIGATOR", "N", "Y", "Y")
    assert row["DLTUNDFL"] == "Y"
    assert row["DLTUNDRSN"] == ("DLT status undecided: AESEQ=1 NEUTROPHIL COUNT DECREASED "
                                "(meets NEUT_G4_GT7D, no investigator DLT flag)")
    # the investigator's 'N' is a verdict (the check dlt_flag_mismatch lists the disagreement)
    assert (adsl["ADJUDICATED-N"]["DLTFL"], adsl["ADJUDICATED-N"]["DLTUNDFL"]) == ("N", "N")
    assert adsl["NO-CANDIDATE"]["DLTUNDFL"] == "N"
    # an ungraded AE: undecided without an investigator verdict, decided by the investigator's 'N'
    assert adsl["UNGRADED"]["DLTUNDRSN"] == "DLT status undecided: AESEQ=1 FATIGUE (grade missing)"
    assert (adsl["UNGRADED-ADJUDICATED"]["DLTFL"], adsl["UNGRADED-ADJUDICATED"]["DLTUNDFL"]) == ("N", "N")


def test_zero_dose_records_do_not_make_a_subject_treated(tmp_path, protocol: Protocol) -> None:
    # EXDOSE 0 (a held dose) on every record: not treated, not counted in the escalation's n_treated;
    # a held C1D1 apatinib dose does not move the first-dose date before the first real dose
    # (a grade 3 AE then is not a DLT of a treated patient: DLT-evaluable patients are treated ones)
    subjects = [Subject("ALL-HELD", apatinib=[(0, 41, 0.0)], infusions=[(0, 0.0, "C1D1")], aes=[("FATIGUE", "3", 5, 6)]),
                Subject("HELD-FIRST", apatinib=[(0, 1, 0.0), (2, 41, 250.0)], infusions=[(2, 50.0, "C1D1")])]
    adsl = _adsl(derive(tmp_path, subjects, protocol)["adsl"])
    held = adsl["ALL-HELD"]
    assert (held["SAFFL"], held["DLTEVLFL"], held["DLTEVLRSN"]) == ("N", "N", "no dose recorded in EX")
    assert adsl["HELD-FIRST"]["SAFFL"] == "Y" and str(adsl["HELD-FIRST"]["TRTSDT"]) == day(2)
    assert adsl["HELD-FIRST"]["DOSECHK"] == "Y"


def test_a_patient_who_left_the_study_inside_the_window_is_not_evaluable(tmp_path, protocol: Protocol) -> None:
    """DOMAIN.md 4: evaluable without a DLT means having *completed* the window. Withdrawing on study day 36
    after 35 apatinib days (83 %) and 5 infusions is enough dosing but not a completed window: not evaluable
    (replaced), and the window is over for the cohort's review. A completion record, or a departure whose
    partial date may fall after the window, does not end it."""
    dosed = {"apatinib": [(0, 34, 250.0)],
             "infusions": [(o, 50.0, v) for o, v in ((0, "C1D1"), (7, "C1D8"), (14, "C1D15"), (21, "C2D1"), (28, "C2D8"))]}
    ids = ["WITHDREW-D36", "NO-DS", "COMPLETED-D36", "PARTIAL-FEB"]
    folder = write_trial(tmp_path / "export", [Subject(i, **dosed) for i in ids])
    ds = [("WITHDREW-D36", "WITHDRAWAL BY SUBJECT", day(35)), ("COMPLETED-D36", "COMPLETED", day(35)),
          ("PARTIAL-FEB", "WITHDRAWAL BY SUBJECT", "2026-02")]  # the window ends on 2026-02-15
    (folder / "ds.csv").write_text("STUDYID,DOMAIN,USUBJID,DSSEQ,DSTERM,DSDECOD,DSCAT,DSSTDTC\n" + "".join(
        f"T,DS,{s},1,{why},{why},DISPOSITION EVENT,{when}\n" for s, why, when in ds))
    raw = read_export(folder, ColumnMapping())[1]
    adsl = _adsl(build_adam(raw, protocol, cut_date=C1D1 + dt.timedelta(days=30))["adsl"])
    got = {s: (adsl[s]["DLTEVLFL"], adsl[s]["DLTEVLRSN"], adsl[s]["DLTWCFL"], adsl[s]["DLTWREM"]) for s in ids}
    assert got["WITHDREW-D36"] == ("N", "left the study on day 36 of the window without a DLT (WITHDRAWAL BY SUBJECT)", "Y", 0)
    # the others are still inside the window at this cut (study day 31)
    assert {s: got[s][2:] for s in ids[1:]} == {s: ("N", 11) for s in ids[1:]}
    later = _adsl(build_adam(raw, protocol, cut_date=C1D1 + dt.timedelta(days=50))["adsl"])
    assert {s: (later[s]["DLTEVLFL"], later[s]["DLTEVLRSN"]) for s in ids[1:]} == {
        s: ("Y", "window completed with enough doses") for s in ids[1:]}


def test_investigator_flags_in_other_spellings(tmp_path, protocol: Protocol) -> None:
    """SUPPAE AEDLT '1' (a numeric export) was kept as '1', which the escalation counted as no DLT; 'U' (CDISC NY:
    unknown) on an AE that meets a protocol rule counted as the investigator's 'not a DLT'. 1/0 and TRUE/FALSE
    read as Y/N; a flag that is no Y/N verdict leaves the subject's DLT status undecided, as no flag does."""
    subjects = [Subject("FLAG-1", aes=[("FATIGUE", "2", 5, 6)], aedlt={1: "1"}),
                Subject("FLAG-TRUE", aes=[("FATIGUE", "2", 5, 6)], aedlt={1: "true"}),
                Subject("FLAG-0", aes=[(NEUT, "4", 10, 19)], aedlt={1: "0"}),
                Subject("FLAG-U", aes=[(NEUT, "4", 10, 19)], aedlt={1: "U"})]
    adam = derive(tmp_path, subjects, protocol)
    adsl = _adsl(adam["adsl"])
    assert (adsl["FLAG-1"]["DLTFL"], adsl["FLAG-TRUE"]["DLTFL"]) == ("Y", "Y")
    assert (adsl["FLAG-0"]["DLTFL"], adsl["FLAG-0"]["DLTUNDFL"]) == ("N", "N")  # the investigator's verdict
    row = adsl["FLAG-U"]
    assert (row["DLTFL"], row["DLTCFL"], row["DLTUNDFL"]) == ("N", "Y", "Y")
    assert row["DLTUNDRSN"] == ("DLT status undecided: AESEQ=1 NEUTROPHIL COUNT DECREASED "
                                "(meets NEUT_G4_GT7D, investigator DLT flag 'U' is no Y/N verdict)")
