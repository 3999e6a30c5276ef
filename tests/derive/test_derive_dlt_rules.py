"""Protocol DLT rules (DOMAIN.md section 4; TOML [dlt]) on one hand-made trial, one subject per case.

Durations count both end days (ADURN = end - start + 1): an AE from offset 10 to 16 lasts 7 days.
"""

from __future__ import annotations

import polars as pl
import pytest
from derive_sample_trial import Subject, derive, write_trial

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol

NEUT, PLT, HTN = "NEUTROPHIL COUNT DECREASED", "PLATELET COUNT DECREASED", "HYPERTENSION"
HFSR, ALT = "PALMAR-PLANTAR ERYTHRODYSESTHESIA SYNDROME", "ALANINE AMINOTRANSFERASE INCREASED"

# subject id -> (AEs, expected DLTCFL of the first AE, expected DLTRULE of the first AE)
CASES: dict[str, tuple[list[tuple], str | None, str | None]] = {
    "NEUT-G4-7D": ([(NEUT, "4", 10, 16)], "N", None),
    "NEUT-G4-8D": ([(NEUT, "4", 10, 17)], "Y", "NEUT_G4_GT7D"),
    "NEUT-G4-NOEND": ([(NEUT, "4", 10, None)], "Y", "NEUT_G4_GT7D"),  # unknown end counts as lasting
    "NEUT-G3-LONG": ([(NEUT, "3", 10, 30)], "N", None),  # haematological: not the non-haem rule
    "HFSR-G3-7D": ([(HFSR, "3", 5, 11)], "N", None),
    "HFSR-G3-8D": ([(HFSR, "3", 5, 12)], "Y", "HFSR_G3_GT7D"),
    "HFSR-G4-8D": ([(HFSR, "4", 5, 12)], "Y", "HFSR_G3_GT7D"),  # CTCAE v5 has no grade 4: counts as >= 3
    "HFSR-G4-7D": ([(HFSR, "4", 5, 11)], "N", None),
    "HTN-G3-14D": ([(HTN, "3", 5, 18)], "N", None),
    "HTN-G3-15D": ([(HTN, "3", 5, 19)], "Y", "HTN_G3_UNCONTROLLED"),
    "HTN-G4": ([(HTN, "4", 5, 6)], "Y", "HTN_G4"),
    "NAUSEA-G3-3D": ([("NAUSEA", "3", 3, 5)], "N", None),
    "NAUSEA-G3-4D": ([("NAUSEA", "3", 3, 6)], "Y", "NONHEME_G3"),
    "VOMIT-G3-NOEND": ([("VOMITING", "3", 3, None)], "Y", "NONHEME_G3"),
    "DIARR-G3-3D": ([("DIARRHOEA", "3", 9, 11)], "N", None),
    "DIARR-G3-4D": ([("DIARRHOEA", "3", 9, 12)], "Y", "NONHEME_G3"),
    "ALT-G3-7D": ([(ALT, "3", 12, 18)], "N", None),
    "ALT-G3-8D": ([(ALT, "3", 12, 19)], "Y", "NONHEME_G3"),
    "ALT-G4-1D": ([(ALT, "4", 12, 12)], "Y", "NONHEME_G3"),
    "FATIGUE-G2": ([("FATIGUE", "2", 3, 30)], "N", None),
    "FATIGUE-G3": ([("FATIGUE", "Grade 3", 3, 4)], "Y", "NONHEME_G3"),
    "DEATH-G5": ([("SEPSIS", "5", 20, 20)], "Y", "GRADE5"),
    "PLT-G3-BLEED": ([(PLT, "3", 14, 20), ("EPISTAXIS", "1", 16, 16)], "Y", "PLT_G3_BLEEDING"),
    "PLT-G3-BLEED-AFTER": ([(PLT, "3", 14, 20), ("EPISTAXIS", "1", 21, 21)], "N", None),
    "PLT-G3-NOBLEED": ([(PLT, "3", 14, 20)], "N", None),
    "PLT-G4": ([(PLT, "4", 14, 15)], "Y", "PLT_G4"),
    "FN-G3": ([("FEBRILE NEUTROPENIA", "3", 14, 15)], "Y", "FEBRILE_NEUTROPENIA"),
    "PROT-G3": ([("PROTEINURIA", "3", 14, 15)], "Y", "PROTEINURIA_G3"),
    "PTX-G2": ([("PNEUMOTHORAX", "2", 14, 15)], "Y", "PNEUMOTHORAX_G2"),
    "PTX-G1": ([("PNEUMOTHORAX", "1", 14, 15)], "N", None),
    "WINDOW-LAST-DAY": ([("FATIGUE", "3", 41, 45)], "Y", "NONHEME_G3"),  # study day 42
    "WINDOW-AFTER": ([("FATIGUE", "3", 42, 45)], "N", None),  # study day 43
    "BEFORE-DOSE": ([("FATIGUE", "3", -3, 1)], "N", None),
    "NO-GRADE": ([("FATIGUE", "", 5, 6)], None, None),  # grade unknown in the window: undecided
}


@pytest.fixture(scope="module")
def adam(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> dict[str, pl.DataFrame]:
    subjects = [Subject(sid, aes=aes) for sid, (aes, _, _) in CASES.items()]
    subjects += [
        # C2D1 planned at offset 21 (inside the window); actual 15 vs 14 days late, a G2 AE ongoing then
        Subject("DELAY-15", aes=[("NEUTROPHIL COUNT DECREASED", "2", 18, 30)],
                infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15"), (36, 50, "C2D1")]),
        Subject("DELAY-14", aes=[("NEUTROPHIL COUNT DECREASED", "2", 18, 30)],
                infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15"), (35, 50, "C2D1")]),
        # 19 days late with no adverse event recorded: not a toxicity delay, shown for adjudication
        Subject("DELAY-NOAE", infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15"), (40, 50, "C2D1")]),
        # a toxicity that started before dosing and was still ongoing at the delayed C2D1 counts too
        Subject("DELAY-PREEXIST", aes=[("DIARRHOEA", "2", -5, 30)],
                infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15"), (37, 50, "C2D1")]),
        # the C2D1 infusion held (dose 0) with a grade 3 neutropenia ongoing, apatinib and the C2D8 infusion on
        # time: nal-IRI held 7 days, no delay of more than 14 (it read as a delay running to the cut date)
        Subject("DELAY-HELD-7", aes=[(NEUT, "3", 18, 25)], apatinib=[(0, 60, 250.0)],
                infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15"), (21, 0, "C2D1"), (28, 50, "C2D8"),
                           (35, 50, "C2D15")]),
        # ... and held until offset 37 (C2D15): 16 days, a delay of more than 14 with the neutropenia ongoing
        Subject("DELAY-HELD-16", aes=[(NEUT, "3", 18, 40)], apatinib=[(0, 60, 250.0)],
                infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15"), (21, 0, "C2D1"), (28, 0, "C2D8"),
                           (37, 50, "C2D15")]),
        # treatment stopped in cycle 1 by a toxicity still ongoing: C2D1 (due at offset 21) never came
        Subject("DELAY-STOPPED", apatinib=[(0, 16, 250.0)], aes=[(NEUT, "3", 15, None)],
                infusions=[(0, 50, "C1D1"), (7, 50, "C1D8"), (14, 50, "C1D15")]),
    ]
    return derive(tmp_path_factory.mktemp("dlt"), subjects, protocol)


@pytest.mark.parametrize("sid", list(CASES))
def test_rule(adam: dict[str, pl.DataFrame], sid: str) -> None:
    _, flag, rule = CASES[sid]
    first = adam["adae"].filter((pl.col("USUBJID") == sid) & (pl.col("AESEQ") == 1)).row(0, named=True)
    assert (first["DLTCFL"], first["DLTRULE"]) == (flag, rule)
    subject = adam["adsl"].filter(pl.col("USUBJID") == sid).row(0, named=True)
    assert subject["DLTCFL"] == ("Y" if flag == "Y" else "N")
    # without an investigator flag (no SUPPAE) the protocol rules decide, and ADSL says so
    assert subject["DLTSRC"] == "PROTOCOL RULES" and subject["DLTFL"] == subject["DLTCFL"]


def test_durations_and_window_flags(adam: dict[str, pl.DataFrame]) -> None:
    ae = adam["adae"].filter(pl.col("AESEQ") == 1)
    get = {r["USUBJID"]: r for r in ae.to_dicts()}
    assert get["NEUT-G4-7D"]["ADURN"] == 7 and get["NEUT-G4-8D"]["ADURN"] == 8 and get["NEUT-G4-NOEND"]["ADURN"] is None
    assert get["WINDOW-LAST-DAY"]["ASTDY"] == 42 and get["WINDOW-LAST-DAY"]["DLTWINFL"] == "Y"
    assert get["WINDOW-AFTER"]["ASTDY"] == 43 and get["WINDOW-AFTER"]["DLTWINFL"] == "N"
    assert get["BEFORE-DOSE"]["ASTDY"] == -3 and get["BEFORE-DOSE"]["TRTEMFL"] == "N"


def test_treatment_delay_over_14_days(adam: dict[str, pl.DataFrame]) -> None:
    cyc = adam["adcyc"].filter(pl.col("CYCLE") == 2)
    delays = dict(zip(cyc["USUBJID"], cyc["DELAYDY"], strict=True))
    assert delays["DELAY-15"] == 15 and delays["DELAY-14"] == 14
    ae = adam["adae"].filter(pl.col("USUBJID").is_in(["DELAY-14", "DELAY-15"])).sort("USUBJID")
    assert ae["USUBJID"].to_list() == ["DELAY-14", "DELAY-15"]
    assert ae["DLTRULE"].to_list() == [None, "DELAY_GT14D"]
    assert ae["DLTCFL"].to_list() == ["N", "Y"]
    adsl = adam["adsl"].filter(pl.col("USUBJID").str.starts_with("DELAY")).sort("USUBJID")
    assert adsl.select("USUBJID", "DLTCFL", "DLTRULES", "DLTDLYFL").rows() == [
        ("DELAY-14", "N", None, None),
        ("DELAY-15", "Y", "DELAY_GT14D", "Y"),
        ("DELAY-HELD-16", "Y", "DELAY_GT14D", "Y"),
        ("DELAY-HELD-7", "N", None, None),
        ("DELAY-NOAE", "N", None, "Y"),
        ("DELAY-PREEXIST", "Y", "DELAY_GT14D", "Y"),
        ("DELAY-STOPPED", "Y", "DELAY_GT14D", "Y"),
    ]
    stopped = adsl.filter(pl.col("USUBJID") == "DELAY-STOPPED").row(0, named=True)
    assert (stopped["DLTEVLFL"], stopped["DLTEVLRSN"]) == ("Y", "DLT in window")  # counted, not replaced


def test_investigator_flag_is_kept_apart_from_the_rules(tmp_path, protocol: Protocol) -> None:
    subjects = [
        Subject("INV-Y", aes=[("FATIGUE", "2", 3, 4)], aedlt={1: "Y"}),
        Subject("INV-N", aes=[("FATIGUE", "3", 3, 4)], aedlt={1: "N"}),
    ]
    adam = derive(tmp_path, subjects, protocol)
    ae = adam["adae"].sort("USUBJID")
    assert ae.select("USUBJID", "DLTFL", "DLTCFL").rows() == [("INV-N", "N", "Y"), ("INV-Y", "Y", "N")]
    adsl = adam["adsl"].sort("USUBJID")
    assert adsl.select("USUBJID", "DLTFL", "DLTCFL", "DLTSRC").rows() == [
        ("INV-N", "N", "Y", "INVESTIGATOR"), ("INV-Y", "Y", "N", "INVESTIGATOR")]


def test_partial_onset_in_the_first_dose_month_is_not_imputed_before_dosing(tmp_path, protocol: Protocol) -> None:
    """C1D1 is 2026-01-05: an AE starting '2026-01' may have started after dosing, so it stays a DLT candidate."""
    subjects = [Subject("P1", aes=[("FATIGUE", "3", 3, 8)]), Subject("P2", aes=[("FATIGUE", "3", 3, 8)]),
                Subject("P3", aes=[("FATIGUE", "3", 3, 8)])]
    folder = tmp_path / "export"
    write_trial(folder, subjects)
    text = (folder / "ae.csv").read_text().splitlines()
    text[1] = text[1].replace("2026-01-08", "2026-01")     # P1: month only, same month as C1D1
    text[2] = text[2].replace("2026-01-08", "2026")        # P2: year only
    text[3] = text[3].replace("2026-01-08", "2025-12")     # P3: the month before C1D1
    (folder / "ae.csv").write_text("\n".join(text) + "\n")
    raw = read_export(folder, ColumnMapping())[1]
    ae = build_adam(raw, protocol, cut_date=None)["adae"].sort("USUBJID")
    assert [str(d) for d in ae["ASTDT"]] == ["2026-01-05", "2026-01-05", "2025-12-01"]
    assert ae["ASTDTF"].to_list() == ["D", "M", "D"]
    assert ae["DLTWINFL"].to_list() == ["Y", "Y", "N"]
    assert ae["DLTCFL"].to_list() == ["Y", "Y", "N"]


def test_event_without_onset_date_is_undecided_not_cleared(tmp_path, protocol: Protocol) -> None:
    subjects = [Subject("U1", aes=[(NEUT, "4", 10, 30), ("FATIGUE", "1", 10, 12)])]
    folder = write_trial(tmp_path / "export", subjects)
    text = (folder / "ae.csv").read_text().replace("2026-01-15,2026-02-04", ",2026-02-04").replace("2026-01-15,2026-01-17", ",2026-01-17")
    (folder / "ae.csv").write_text(text)
    raw = read_export(folder, ColumnMapping())[1]
    ae = build_adam(raw, protocol, cut_date=None)["adae"].sort("AESEQ")
    assert ae["ASTDT"].to_list() == [None, None]
    assert ae["DLTWINFL"].to_list() == [None, None]
    assert ae["DLTCFL"].to_list() == [None, "N"]  # a grade 4 neutropenia of unknown onset may be a DLT


def _candidates(protocol: Protocol, aes: list[tuple[str, int, int, int | None]]) -> pl.DataFrame:
    """derive_dlt_candidates on hand-made ADAE rows (term, grade, start offset, end offset) of one subject."""
    import datetime as dt

    from etl.derive.dlt_rules import derive_dlt_candidates

    day0 = dt.date(2026, 1, 5)
    rows = [{"USUBJID": "S1", "AEDECOD": t, "AETERM": t, "AETOXGRN": g, "ASTDT": day0 + dt.timedelta(days=s),
             "AENDT": None if e is None else day0 + dt.timedelta(days=e),
             "ADURN": None if e is None else e - s + 1, "DLTWINFL": "Y"} for t, g, s, e in aes]
    schema = {"USUBJID": pl.String, "AEDECOD": pl.String, "AETERM": pl.String, "AETOXGRN": pl.Int64,
              "ASTDT": pl.Date, "AENDT": pl.Date, "ADURN": pl.Int32, "DLTWINFL": pl.String}
    return derive_dlt_candidates(pl.DataFrame(rows, schema=schema), protocol)


@pytest.mark.parametrize(("bleed", "flag"), [
    ((12, 16), "Y"),     # bleeding began before the grade 3 thrombocytopenia and was still going on
    ((12, None), "Y"),   # bleeding without an end date: not shown to have stopped
    ((16, 16), "Y"),     # bleeding during it
    ((20, 25), "Y"),     # bleeding starting on its last day
    ((10, 13), "N"),     # bleeding over before it began
    ((21, 21), "N"),     # bleeding after it ended
])
def test_grade3_thrombocytopenia_with_an_overlapping_bleed(protocol: Protocol, bleed: tuple, flag: str) -> None:
    # README: "grade 3 thrombocytopenia with an overlapping bleeding event" (DOMAIN.md 4: "grade 3
    # thrombocytopenia with bleeding"): the two intervals overlap, whichever began first
    out = _candidates(protocol, [(PLT, 3, 14, 20), ("EPISTAXIS", 1, *bleed)])
    assert out["DLTCFL"][0] == flag
    assert out["DLTRULE"][0] == ("PLT_G3_BLEEDING" if flag == "Y" else None)


def test_grade3_thrombocytopenia_without_end_date_overlaps_any_later_bleed(protocol: Protocol) -> None:
    out = _candidates(protocol, [(PLT, 3, 14, None), ("EPISTAXIS", 1, 30, 30), ("FATIGUE", 1, 2, 3)])
    assert out["DLTRULE"].to_list() == ["PLT_G3_BLEEDING", None, None]


def test_delay_is_attributed_to_the_ae_that_held_treatment() -> None:
    # grade 3 diarrhoea interrupted treatment and resolved the day before the delayed C2D1; a grade 1
    # hand-foot reaction was still ongoing: the delay is the diarrhoea's, not the grade 1 event's
    import datetime as dt

    from etl.derive.dlt_rules import add_delay_rule

    d = dt.date
    adae = pl.DataFrame({
        "USUBJID": ["S1", "S1", "S2"], "AESEQ": [2, 3, 1],
        "AETOXGRN": [3, 1, 2], "AEACN": ["DRUG INTERRUPTED", "DOSE NOT CHANGED", None],
        "ASTDT": [d(2026, 10, 27), d(2026, 10, 29), d(2026, 1, 20)],
        "AENDT": [d(2026, 11, 3), d(2026, 11, 15), None],
        "DLTRULE": ["NONHEME_G3", None, None], "DLTCFL": ["Y", "N", "N"],
    }, schema_overrides={"AETOXGRN": pl.Int8})
    delays = pl.DataFrame({"USUBJID": ["S1", "S2"], "PLAND1DT": [d(2026, 11, 4), d(2026, 2, 2)]})
    out = add_delay_rule(adae, delays, 21)
    assert out["DLTRULE"].to_list() == ["NONHEME_G3;DELAY_GT14D", None, "DELAY_GT14D"]
    assert out["DLTCFL"].to_list() == ["Y", "N", "Y"]
    # without an action taken, the AE ongoing at the planned day 1 is the cause (as before)
    out = add_delay_rule(adae.drop("AEACN"), delays, 21)
    assert out["DLTRULE"].to_list() == ["NONHEME_G3", "DELAY_GT14D", "DELAY_GT14D"]
    # an ongoing AE whose action taken says treatment went on unchanged did not delay it (a grade 1 fatigue
    # present since before the first dose): no cause among the AEs, the delay stays for adjudication (DLTDLYFL)
    unchanged = adae.filter(pl.col("USUBJID") == "S2").with_columns(pl.lit("DOSE NOT CHANGED").alias("AEACN"))
    assert add_delay_rule(unchanged, delays, 21)["DLTRULE"].to_list() == [None]


LIPASE = "LIPASE INCREASED"


def _lab_event(protocol: Protocol, *, term: str = LIPASE, grade: int = 3, start: str = "2026-01-15",
               end: str | None = "2026-01-15", aeser: str | None = "N", endtf: str | None = None) -> dict:
    """derive_dlt_candidates on one hand-made ADAE row; start/end are 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'."""
    import datetime as dt

    from etl.derive.dlt_rules import derive_dlt_candidates

    def parse(text: str | None) -> tuple[dt.date | None, dt.datetime | None]:
        if text is None:
            return None, None
        stamp = dt.datetime.fromisoformat(text) if "T" in text else None
        return dt.date.fromisoformat(text[:10]), stamp

    (astdt, astdtm), (aendt, aendtm) = parse(start), parse(end)
    row = {"USUBJID": "S1", "AEDECOD": term, "AETERM": term, "AETOXGRN": grade, "AESER": aeser,
           "ASTDT": astdt, "ASTDTF": None, "ASTDTM": astdtm, "AENDT": aendt, "AENDTF": endtf, "AENDTM": aendtm,
           "ADURN": None if aendt is None else (aendt - astdt).days + 1, "DLTWINFL": "Y"}
    schema = {"USUBJID": pl.String, "AEDECOD": pl.String, "AETERM": pl.String, "AETOXGRN": pl.Int8,
              "AESER": pl.String, "ASTDT": pl.Date, "ASTDTF": pl.String, "ASTDTM": pl.Datetime("us"),
              "AENDT": pl.Date, "AENDTF": pl.String, "AENDTM": pl.Datetime("us"), "ADURN": pl.Int32,
              "DLTWINFL": pl.String}
    return derive_dlt_candidates(pl.DataFrame([row], schema=schema), protocol).row(0, named=True)


@pytest.mark.parametrize(("event", "flag"), [
    ({}, "N"),                                                            # same day, dates only: at most 23 h 59
    ({"start": "2026-01-15T10:00", "end": "2026-01-16T09:00"}, "N"),      # 23 h
    ({"start": "2026-01-15T08:00", "end": "2026-01-15T20:00"}, "N"),      # 12 h
    ({"start": "2026-01-15T10:00", "end": "2026-01-16T10:30"}, "Y"),      # 24 h 30
    ({"start": "2026-01-15T10:00", "end": "2026-01-16T10:00"}, "Y"),      # 24 h: not LESS than 24 h
    ({"start": "2026-01-15T10:00", "end": "2026-01-15T09:00"}, "Y"),      # end before start: not shown
    ({"start": "2026-01-15", "end": "2026-01-16"}, "Y"),                  # two dates: up to 47 h 59
    ({"start": "2026-01-15T22:00", "end": "2026-01-16"}, "Y"),            # one time only: the dates decide
    ({"aeser": "Y"}, "Y"),                                                # serious: never excepted
    ({"aeser": None}, "Y"),                                               # seriousness not recorded
    ({"grade": 4}, "Y"),                                                  # grade 4 lab abnormality stays a DLT
    ({"end": None}, "Y"),                                                 # unknown end: not shown to resolve
    ({"end": "2026-01-31", "endtf": "D", "start": "2026-01-31"}, "Y"),    # partial end '2026-01' imputed
    ({"term": "HYPERURICAEMIA"}, "Y"),                                    # not in [dlt.terms] lab_abnormality
    ({"term": "BLOOD CREATININE INCREASED"}, "N"),
])
def test_transient_grade3_lab_abnormality_is_excepted(protocol: Protocol, event: dict, flag: str) -> None:
    # DOMAIN.md 4: "transient grade 3 lab abnormalities (<24 h) with no clinical sequelae" are not DLTs
    out = _lab_event(protocol, **event)
    assert (out["DLTCFL"], out["DLTRULE"]) == (flag, "NONHEME_G3" if flag == "Y" else None)


def test_transient_exception_follows_the_protocol_hours(protocol: Protocol) -> None:
    import dataclasses

    twelve = dataclasses.replace(protocol, dlt={**protocol.dlt, "transient_lab_max_hours": 12})
    assert _lab_event(twelve, start="2026-01-15T08:00", end="2026-01-15T19:59")["DLTCFL"] == "N"
    assert _lab_event(twelve, start="2026-01-15T08:00", end="2026-01-15T20:00")["DLTCFL"] == "Y"
    assert _lab_event(twelve)["DLTCFL"] == "Y"  # same day without times may have lasted 23 h 59


def test_event_date_times_from_the_text() -> None:
    import datetime as dt

    from etl.dates import parse_iso_datetime

    text = ["2026-01-15T10:30", "2026-01-15T10:30:15.5+01:00", "2026-01-15", "2026-01-15T10", "2026-02-30T10:00",
            "2026-01", None, "2026-01-15T10:30", "2026-01-15 08:05"]
    date = [dt.date(2026, 1, 15)] * 3 + [dt.date(2026, 1, 15), None, dt.date(2026, 1, 1), None, dt.date(2026, 1, 16),
                                         dt.date(2026, 1, 15)]
    out = pl.DataFrame({"T": text, "D": date}).select(parse_iso_datetime(pl.col("T"), pl.col("D")))["T"]
    # the last but one: a time whose date is not the analysis date (an imputed or corrected date)
    assert out.to_list() == [dt.datetime(2026, 1, 15, 10, 30), dt.datetime(2026, 1, 15, 10, 30, 15),
                             None, None, None, None, None, None, dt.datetime(2026, 1, 15, 8, 5)]


def test_transient_lab_abnormality_from_an_export_with_times(tmp_path, protocol: Protocol) -> None:
    # offsets 10 -> 11 are 2026-01-15 -> 2026-01-16: 23 h with the times, up to 47 h 59 without
    subjects = [Subject("T1", aes=[(LIPASE, "3", 10, 11)]), Subject("T2", aes=[(LIPASE, "3", 10, 11)])]
    folder = write_trial(tmp_path / "export", subjects)
    text = (folder / "ae.csv").read_text().replace("2026-01-15,2026-01-16", "2026-01-15T10:00,2026-01-16T09:00", 1)
    (folder / "ae.csv").write_text(text)
    raw = read_export(folder, ColumnMapping())[1]
    ae = build_adam(raw, protocol, cut_date=None)["adae"].sort("USUBJID")
    assert ae["ASTDTM"].dt.hour().to_list() == [10, None] and ae["AENDTM"].dt.hour().to_list() == [9, None]
    assert ae["ADURN"].to_list() == [2, 2]  # existing columns unchanged
    assert ae["DLTCFL"].to_list() == ["N", "Y"]


def _derived_ae(tmp_path, protocol: Protocol, subjects: list, dates: dict[tuple[str, int], tuple[str, str]]):
    """build_adam's adae for `subjects`, with AESTDTC/AEENDTC of (subject, AESEQ) replaced by `dates`."""
    import csv
    import io

    folder = write_trial(tmp_path / "export", subjects)
    rows = list(csv.DictReader(io.StringIO((folder / "ae.csv").read_text())))
    for r in rows:
        if (r["USUBJID"], int(r["AESEQ"])) in dates:
            r["AESTDTC"], r["AEENDTC"] = dates[(r["USUBJID"], int(r["AESEQ"]))]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "ae.csv").write_text(out.getvalue())
    raw = read_export(folder, ColumnMapping())[1]
    return build_adam(raw, protocol, cut_date=None)["adae"].sort("USUBJID", "AESEQ")


def test_window_flag_reads_contradictory_and_missing_onsets_as_the_dates_allow(tmp_path, protocol: Protocol) -> None:
    # C1D1 2026-01-05, window to 2026-02-15. E1: onset '2026-02' but an end (2025-12-20) before the first dose:
    # contradictory, the end bounded the onset and made a certain in-window DLT; E2: no onset, ended before the
    # first dose: over before the window (was undecided and blocked the patient's DLT status)
    subjects = [Subject("E1", aes=[("FATIGUE", "4", 3, 8)]), Subject("E2", aes=[("FATIGUE", "3", 3, 8)]),
                Subject("E3", aes=[("FATIGUE", "3", 3, 8)])]
    ae = _derived_ae(tmp_path, protocol, subjects, {("E1", 1): ("2026-02", "2025-12-20"), ("E2", 1): ("", "2025-12-20"),
                                                    ("E3", 1): ("", "2026-01-20")})
    assert ae["DLTWINFL"].to_list() == [None, "N", None]
    assert ae["DLTCFL"].to_list() == [None, "N", None]


def test_thrombocytopenia_bleeding_overlap_is_decided_only_as_far_as_the_dates_allow(tmp_path, protocol: Protocol) -> None:
    # the thrombocytopenia (G3) runs 2026-01-19..24. B1: a bleed with no onset ending 01-20 overlapped it whatever
    # its onset (was left out: N); B2: thrombocytopenia and bleed both '2026-01' only: the bleed may have been
    # before it (was asserted: Y); B3: complete dates apart: N; B4: a bleed with no dates at all: undecided
    def subject(sid: str) -> Subject:
        return Subject(sid, aes=[(PLT, "3", 14, 19), ("EPISTAXIS", "1", 16, 16)])

    ae = _derived_ae(tmp_path, protocol, [subject(s) for s in ("B1", "B2", "B3", "B4")],
                     {("B1", 2): ("", "2026-01-20"), ("B2", 1): ("2026-01", "2026-01"), ("B2", 2): ("2026-01", "2026-01"),
                      ("B3", 2): ("2026-01-26", "2026-01-27"), ("B4", 2): ("", "")})
    plt = ae.filter(pl.col("AESEQ") == 1)
    assert plt["DLTCFL"].to_list() == ["Y", None, "N", None]
    assert plt["DLTRULE"].to_list() == ["PLT_G3_BLEEDING", None, None, None]


@pytest.mark.parametrize(("days_late", "dltcfl", "rule"), [(13, None, None), (14, None, None), (15, "Y", "DELAY_GT14D")])
def test_a_delay_still_running_at_the_cut_leaves_its_ae_undecided(tmp_path, protocol: Protocol, days_late: int,
                                                                 dltcfl: str | None, rule: str | None) -> None:
    # C2D1 was due on day 21 and not given by the cut; the AE ongoing since day 15 holds it. 13 days late at the
    # cut it was cleared ('N'), though any later infusion makes the delay more than 14 days (a DLT)
    import datetime as dt

    from derive_sample_trial import C1D1

    subject = Subject("D1", apatinib=[(0, 20, 250.0)], infusions=[(0, 50.0, "C1D1"), (7, 50.0, "C1D8"), (14, 50.0, "C1D15")],
                      aes=[("FATIGUE", "2", 15, None)])
    folder = write_trial(tmp_path / "export", [subject])
    raw = read_export(folder, ColumnMapping())[1]
    adam = build_adam(raw, protocol, cut_date=C1D1 + dt.timedelta(days=21 + days_late))
    ae = adam["adae"].row(0, named=True)
    assert (ae["DLTCFL"], ae["DLTRULE"]) == (dltcfl, rule)
    assert (ae["DLTPENDRSN"] is not None) == (dltcfl is None)
    adsl = adam["adsl"].row(0, named=True)
    if dltcfl is None:
        assert adsl["DLTUNDFL"] == "Y" and "treatment delay still running at the cut" in adsl["DLTUNDRSN"]
        assert adsl["DLTDLYFL"] is None  # not (yet) a delay over the limit
    else:
        assert adsl["DLTCFL"] == "Y" and adsl["DLTDLYFL"] == "Y"


@pytest.mark.parametrize(("end", "dltcfl"), [("2026-01-21T07:00", "N"), ("2026-01-21T08:00", "N"), ("2026-01-21T09:00", "Y")])
def test_durations_with_times_of_day_are_read_in_hours(tmp_path, protocol: Protocol, end: str, dltcfl: str) -> None:
    # a grade 3 nausea from 2026-01-18T08:00 "controlled within 72 h" (TOML nausea_vomiting_max_days = 3): 71 h
    # spans four calendar days and was a DLT by counted days; by its times it resolved within 72 h
    ae = _derived_ae(tmp_path, protocol, [Subject("N1", aes=[("NAUSEA", "3", 13, 16)])], {("N1", 1): ("2026-01-18T08:00", end)})
    assert ae["DLTCFL"].to_list() == [dltcfl]
