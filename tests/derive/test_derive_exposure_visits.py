"""DLT evaluability (ADSL DLTEVLFL), dose intensity (ADEX) and visit windows (ADSV) on hand-made trials."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from derive_sample_trial import C1D1, Subject, derive

from safetyboard.protocol import Protocol, load_protocol

FULL_C1 = [(0, 50.0, "C1D1"), (7, 50.0, "C1D8"), (14, 50.0, "C1D15")]


def by_subject(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["USUBJID"]: r for r in frame.to_dicts()}


@pytest.fixture(scope="module")
def evaluable(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> dict[str, dict]:
    subjects = [
        Subject("FULL"),
        # 80% of 42 daily doses = 33.6: 33 days is not enough, 34 is
        Subject("APA-33", apatinib=[(0, 20, 250.0), (30, 41, 250.0)]),
        Subject("APA-34", apatinib=[(0, 20, 250.0), (29, 41, 250.0)]),
        # at least 5 of the 6 planned nal-IRI infusions
        Subject("INF-4", infusions=[*FULL_C1, (21, 50.0, "C2D1")]),
        Subject("INF-5", infusions=[*FULL_C1, (21, 50.0, "C2D1"), (28, 50.0, "C2D8")]),
        # a DLT before completing the window makes the patient evaluable whatever was given
        Subject("DLT-EARLY", apatinib=[(0, 12, 250.0)], infusions=FULL_C1[:2], aes=[("FEBRILE NEUTROPENIA", "3", 10, 14)]),
        Subject("STOPPED", apatinib=[(0, 12, 250.0)], infusions=FULL_C1[:2]),
        # 33 distinct days on drug written as overlapping records (a duplicate, a dose change on both
        # records): 21 + 13 + 3 = 37 record-days, but each day counts once, so still not evaluable
        Subject("APA-33-OVERLAP", apatinib=[(0, 20, 250.0), (0, 12, 250.0), (20, 20, 125.0), (30, 41, 250.0)]),
    ]
    return by_subject(derive(tmp_path_factory.mktemp("evl"), subjects, protocol)["adsl"])


@pytest.mark.parametrize(
    ("sid", "flag", "reason"),
    [
        ("FULL", "Y", "window completed with enough doses"),
        ("APA-33", "N", "apatinib 33/42 days (< 80%)"),
        ("APA-34", "Y", "window completed with enough doses"),
        ("INF-4", "N", "nal-IRI 4/6 infusions (< 5)"),
        ("INF-5", "Y", "window completed with enough doses"),
        ("DLT-EARLY", "Y", "DLT in window"),
        ("STOPPED", "N", "apatinib 13/42 days (< 80%)"),
        ("APA-33-OVERLAP", "N", "apatinib 33/42 days (< 80%)"),
    ],
)
def test_evaluability(evaluable: dict[str, dict], sid: str, flag: str, reason: str) -> None:
    row = evaluable[sid]
    assert (row["DLTEVLFL"], row["DLTEVLRSN"]) == (flag, reason)


def test_window_not_completed_at_the_cut(tmp_path, protocol: Protocol) -> None:
    adsl = by_subject(derive(tmp_path, [Subject("ONGOING", apatinib=[(0, 30, 250.0)], infusions=FULL_C1),
                                        Subject("DLT", apatinib=[(0, 30, 250.0)], infusions=FULL_C1,
                                                aes=[("PLATELET COUNT DECREASED", "4", 20, 22)])],
                             protocol, cut_offset=30)["adsl"])
    row = adsl["ONGOING"]
    assert (row["DLTEVLFL"], row["DLTEVLRSN"], row["DLTWCFL"]) == ("N", "window not completed", "N")
    assert row["DLTWEND"] == C1D1 + dt.timedelta(days=41) and row["DLTWREM"] == 11
    assert (adsl["DLT"]["DLTEVLFL"], adsl["DLT"]["DLTWCFL"]) == ("Y", "Y")


def test_adex_dose_intensity_and_reductions(tmp_path, protocol: Protocol) -> None:
    subject = Subject(
        "RDI",
        apatinib=[(0, 13, 250.0), (14, 20, 125.0), (21, 41, 250.0)],
        infusions=[(0, 50.0, "C1D1"), (7, 40.0, "C1D8"), (21, 50.0, "C2D1"), (28, 50.0, "C2D8"), (35, 50.0, "C2D15")],
    )
    adex = derive(tmp_path, [subject], protocol)["adex"].sort("CYCLE")
    c1, c2 = adex.to_dicts()
    assert (c1["CYSTDT"], c1["CYENDT"]) == (C1D1, C1D1 + dt.timedelta(days=20))
    assert (c1["APAPLAN"], c1["APAGIVEN"], c1["APADAYS"]) == (250 * 21, 250 * 14 + 125 * 7, 21)
    assert c1["APARDI"] == pytest.approx(4375 / 5250)
    assert (c1["IRIPLAN"], c1["IRIGIVEN"], c1["IRIINF"]) == (150, 90, 2)
    assert c1["IRIRDI"] == pytest.approx(0.6)
    assert (c1["APAREDFL"], c1["IRIREDFL"], c1["REDUCTNS"], c1["DELAYDY"]) == ("Y", "Y", 2, 0)
    assert (c2["APARDI"], c2["IRIRDI"], c2["REDUCTNS"]) == (pytest.approx(1.0), pytest.approx(1.0), 0)


def test_adex_counts_a_day_on_two_records_once(tmp_path, protocol: Protocol) -> None:
    # a dose change written on both records (day 13 at 250 and at 125 mg) and a duplicated record
    # and the C1D8 infusion recorded twice
    subject = Subject("OVERLAP", apatinib=[(0, 13, 250.0), (13, 20, 125.0), (14, 16, 125.0), (21, 41, 250.0)],
                      infusions=[*FULL_C1, (7, 50.0, "C1D8")])
    c1 = derive(tmp_path, [subject], protocol)["adex"].sort("CYCLE").to_dicts()[0]
    # days 0-13 at 250 mg (the record that began first keeps day 13), days 14-20 at 125 mg
    assert (c1["APADAYS"], c1["APAGIVEN"]) == (21, 250 * 14 + 125 * 7)
    assert c1["APARDI"] == pytest.approx(4375 / 5250)
    assert (c1["IRIINF"], c1["IRIGIVEN"], c1["IRIRDI"]) == (3, 150, pytest.approx(1.0))


@pytest.fixture(scope="module")
def adsv(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> pl.DataFrame:
    def infusions(c2d1: int) -> list[tuple[int, float, str]]:
        return [*FULL_C1, (c2d1, 50.0, "C2D1"), (c2d1 + 7, 50.0, "C2D8"), (c2d1 + 14, 50.0, "C2D15")]

    subjects = [
        # D8/D15 window +-2 days around actual C1D1 + 7 / + 14; C2D15 never recorded
        Subject("V-WIN", visits=[("C1D1", 0), ("C1D8", 9), ("C1D15", 17), ("C2D1", 21), ("C2D8", 26)]),
        Subject("V-EARLY-D8", visits=[("C1D1", 0), ("C1D8", 4)]),
        # D1 window -1/+3 around the previous actual D1 + 21
        Subject("V-D1-M1", infusions=infusions(20), apatinib=[(0, 55, 250.0)], visits=[("C2D1", 20)]),
        Subject("V-D1-M2", infusions=infusions(19), apatinib=[(0, 55, 250.0)], visits=[("C2D1", 19)]),
        Subject("V-D1-P3", infusions=infusions(24), apatinib=[(0, 55, 250.0)], visits=[("C2D1", 24)]),
        Subject("V-D1-P4", infusions=infusions(25), apatinib=[(0, 55, 250.0)], visits=[("C2D1", 25)]),
        # a late D1 is a dose delay, not a deviation, and the later visits are anchored on it
        Subject("V-D1-P6", infusions=infusions(27), apatinib=[(0, 55, 250.0)], visits=[("C2D1", 27), ("C2D8", 34)]),
    ]
    return derive(tmp_path_factory.mktemp("sv"), subjects, protocol)["adsv"]


@pytest.mark.parametrize(
    ("sid", "visit", "dev", "oow", "delay"),
    [
        ("V-WIN", "C1D1", 0, "N", "N"),
        ("V-WIN", "C1D8", 2, "N", "N"),
        ("V-WIN", "C1D15", 3, "Y", "N"),
        ("V-WIN", "C2D8", -2, "N", "N"),
        ("V-EARLY-D8", "C1D8", -3, "Y", "N"),
        ("V-D1-M1", "C2D1", -1, "N", "N"),
        ("V-D1-M2", "C2D1", -2, "Y", "N"),
        ("V-D1-P3", "C2D1", 3, "N", "N"),
        ("V-D1-P4", "C2D1", 4, "N", "Y"),
        ("V-D1-P6", "C2D1", 6, "N", "Y"),
        ("V-D1-P6", "C2D8", 0, "N", "N"),
    ],
)
def test_visit_windows(adsv: pl.DataFrame, sid: str, visit: str, dev: int, oow: str, delay: str) -> None:
    row = adsv.filter((pl.col("USUBJID") == sid) & (pl.col("VISIT") == visit) & pl.col("MISSFL").is_null()).row(0, named=True)
    assert (row["DEV"], row["OOWFL"], row["DELAYFL"]) == (dev, oow, delay)


def test_missing_expected_visits(adsv: pl.DataFrame) -> None:
    missing = adsv.filter((pl.col("USUBJID") == "V-WIN") & (pl.col("MISSFL") == "Y"))
    assert missing["VISIT"].to_list() == ["C2D15"]
    assert missing["PLANDT"].to_list() == [C1D1 + dt.timedelta(days=35)] and missing["ADT"].to_list() == [None]
    early = adsv.filter((pl.col("USUBJID") == "V-EARLY-D8") & (pl.col("MISSFL") == "Y"))
    assert set(early["VISIT"]) == {"C1D15", "C2D1", "C2D8", "C2D15"}


def test_fixed_anchor_flags_visits_after_a_delay(tmp_path, protocol: Protocol) -> None:
    """schedule.anchor = "fixed": planned = C1D1 + 21 (n - 1) + (d - 1), so a delay shifts every later visit."""
    text = protocol.path.read_text(encoding="utf-8").replace('anchor = "cycle"', 'anchor = "fixed"')
    fixed_path = tmp_path / "fixed.toml"
    fixed_path.write_text(text, encoding="utf-8")
    fixed = load_protocol(fixed_path)
    assert fixed.anchor == "fixed"
    subject = Subject("F", infusions=[*FULL_C1, (27, 50.0, "C2D1"), (34, 50.0, "C2D8")], apatinib=[(0, 55, 250.0)],
                      visits=[("C2D1", 27), ("C2D8", 34)])
    adsv = derive(tmp_path, [subject], fixed)["adsv"].filter(pl.col("MISSFL").is_null()).sort("VISITNUM")
    assert adsv.select("VISIT", "DEV", "OOWFL", "DELAYFL").rows() == [("C2D1", 6, "N", "Y"), ("C2D8", 6, "Y", "N")]


def test_an_ungraded_ae_in_the_window_leaves_the_dlt_status_undecided(tmp_path, protocol: Protocol) -> None:
    # evaluable by doses, no DLT by the rules, but an AE in the window has no grade: it may be a DLT,
    # so the subject is not shown as DLT-free (the escalation lists such subjects)
    adsl = by_subject(derive(tmp_path, [
        Subject("UNGRADED", aes=[("NAUSEA", "1", 3, 5), ("FEBRILE NEUTROPENIA", "", 10, 14)]),
        Subject("UNGRADED-AFTER", aes=[("FEBRILE NEUTROPENIA", "", 60, 62)]),  # outside the window
        Subject("DLT-AND-UNGRADED", aes=[("FEBRILE NEUTROPENIA", "3", 10, 14), ("RASH", "", 12, 13)]),
    ], protocol)["adsl"])
    row = adsl["UNGRADED"]
    assert (row["DLTEVLFL"], row["DLTFL"], row["DLTUNDFL"]) == ("Y", "N", "Y")
    assert row["DLTUNDRSN"] == "DLT status undecided: AESEQ=2 FEBRILE NEUTROPENIA (grade missing)"
    assert (adsl["UNGRADED-AFTER"]["DLTUNDFL"], adsl["UNGRADED-AFTER"]["DLTUNDRSN"]) == ("N", None)
    assert (adsl["DLT-AND-UNGRADED"]["DLTFL"], adsl["DLT-AND-UNGRADED"]["DLTUNDFL"]) == ("Y", "N")


def test_adex_overlap_across_a_cycle_boundary_keeps_the_record_that_began_first(tmp_path, protocol: Protocol) -> None:
    # DL2 (375 mg): a 250 mg record for days 0-41 and a 375 mg record begun on day 15 and running into cycle 2. The
    # 250 mg record began first, in cycle 2 too (both are cut to its day 1 there, which made the higher dose win)
    subject = Subject("CROSS", arm="DL2", apatinib=[(0, 41, 250.0), (15, 31, 375.0)])
    rows = derive(tmp_path, [subject], protocol)["adex"].sort("CYCLE").to_dicts()
    assert [(r["CYCLE"], r["APADAYS"], r["APAGIVEN"]) for r in rows[:2]] == [(1, 21, 250 * 21), (2, 21, 250 * 21)]


def test_adex_a_record_without_a_dose_counts_its_days_with_the_amount_unknown(tmp_path, protocol: Protocol) -> None:
    # EXDOSE missing: the day and the infusion count, as ADSL counts them for DLT evaluability; the amount given is
    # unknown (null), not 0 mg, so the cycle's dose intensity is unknown rather than 0
    subject = Subject("NODOSE", apatinib=[(0, 20, None), (21, 41, 250.0)],
                      infusions=[(0, 50.0, "C1D1"), (7, None, "C1D8"), (14, 50.0, "C1D15")])
    adam = derive(tmp_path, [subject], protocol)
    c1, c2 = adam["adex"].sort("CYCLE").to_dicts()[:2]
    assert (c1["APADAYS"], c1["APAGIVEN"], c1["APARDI"]) == (21, None, None)
    assert (c1["IRIINF"], c1["IRIGIVEN"], c1["IRIRDI"]) == (3, None, None)
    assert (c2["APADAYS"], c2["APAGIVEN"], c2["APARDI"]) == (21, 250 * 21, pytest.approx(1.0))
    assert adam["adsl"].row(0, named=True)["APADAYS"] == 42


def test_adex_a_cycle_beginning_after_the_cut_date_has_nothing_planned(tmp_path, protocol: Protocol) -> None:
    # C2D1 given on day 30 (9 days late), the cut date on day 25 (given before the export's end): cycle 2 has run no
    # day at the cut, so nothing is planned and its dose intensity is unknown (it was -750 mg planned, RDI -0.0)
    subject = Subject("LATE", apatinib=[(0, 20, 250.0), (30, 50, 250.0)], infusions=[*FULL_C1, (30, 50.0, "C2D1")])
    rows = derive(tmp_path, [subject], protocol, cut_offset=25)["adex"].sort("CYCLE").to_dicts()
    c2 = rows[1]
    assert (c2["CYCLE"], c2["APAPLAN"], c2["APARDI"], c2["IRIPLAN"], c2["IRIRDI"]) == (2, 0.0, None, 0.0, None)


def test_adex_the_open_last_apatinib_record_leaves_the_amount_unknown(tmp_path, protocol: Protocol) -> None:
    # the last apatinib record has no EXENDTC (a patient still on apatinib at the cut): its days after the start are
    # not known to be taken, so cycle 2's given amount is unknown, not 1 day of 16 (dose intensity 0.06)
    from derive_sample_trial import write_trial

    from etl.derive import build_adam
    from etl.loader import read_export
    from etl.mapping import ColumnMapping

    folder = write_trial(tmp_path / "export", [Subject("OPEN", apatinib=[(0, 20, 250.0), (21, 40, 250.0)])])
    lines = (folder / "ex.csv").read_text().splitlines()
    last = max(i for i, line in enumerate(lines) if ",APATINIB," in line)
    cells = lines[last].split(",")
    cells[6] = ""  # EXENDTC
    lines[last] = ",".join(cells)
    (folder / "ex.csv").write_text("\n".join(lines) + "\n")
    raw = read_export(folder, ColumnMapping())[1]
    adam = build_adam(raw, protocol, cut_date=C1D1 + dt.timedelta(days=36))
    c1, c2 = adam["adex"].sort("CYCLE").to_dicts()[:2]
    assert (c1["APAGIVEN"], c1["APARDI"]) == (250 * 21, pytest.approx(1.0))
    assert (c2["APADAYS"], c2["APAGIVEN"], c2["APARDI"]) == (1, None, None)
    assert adam["adsl"].row(0, named=True)["TRTONGFL"] == "Y"


def test_days_of_a_dose_0_record_inside_a_dosing_record_are_not_taken(tmp_path, protocol: Protocol) -> None:
    # 250 mg for days 0-41 and, inside it, 0 mg (not taken) for days 10-18: an interruption written as a record of
    # dose 0. Its 9 days are not doses: 33 of 42 days, not evaluable (they counted as 42), and cycle 1 has 12 days
    subject = Subject("ZERO-IN", apatinib=[(0, 41, 250.0), (10, 18, 0.0)])
    adam = derive(tmp_path, [subject], protocol)
    row = adam["adsl"].row(0, named=True)
    assert (row["APADAYS"], row["DLTEVLFL"], row["DLTEVLRSN"]) == (33, "N", "apatinib 33/42 days (< 80%)")
    c1 = adam["adex"].sort("CYCLE").row(0, named=True)
    assert (c1["APADAYS"], c1["APAGIVEN"]) == (12, 250 * 12)
    assert (row["TRTSDT"], row["TRTEDT"]) == (C1D1, C1D1 + dt.timedelta(days=41))
