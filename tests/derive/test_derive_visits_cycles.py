"""Cycles from every named record (adam.adcyc), and what ADSV / ADEX / CYCLE make of them (DOMAIN.md 6).

A cycle is the one its visit names say (EX or SV 'C<n>D<d>'): a skipped nal-IRI day 1, a cycle on apatinib
alone, a day-1 visit missing while day 8 exists, or a partial visit date must neither renumber the later
cycles nor invent a delay or a deviation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from derive_sample_trial import C1D1, Subject, write_trial

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol

FULL_C1 = [(0, 50.0, "C1D1"), (7, 50.0, "C1D8"), (14, 50.0, "C1D15")]


def at(offset: int) -> dt.date:
    return C1D1 + dt.timedelta(days=offset)


def visits(cycles: int, skip: set[str] = frozenset(), moved: dict[str, int] | None = None) -> list[tuple[str, int]]:
    """SV visits C1D1..C<cycles>D15 on schedule (offset 21 (n-1) + d - 1), minus `skip`, `moved` = offsets."""
    out = []
    for n in range(1, cycles + 1):
        for d in (1, 8, 15):
            name = f"C{n}D{d}"
            if name not in skip:
                out.append((name, (moved or {}).get(name, 21 * (n - 1) + d - 1)))
    return out


def infusions(cycles: int, skip: set[str] = frozenset()) -> list[tuple[int, float, str]]:
    return [(o, 50.0, n) for n, o in visits(cycles, skip)]


def derive_with(tmp_path: Path, subjects: list[Subject], protocol: Protocol, cut_offset: int,
                patches: dict[str, dict[str, str]] | None = None) -> dict[str, pl.DataFrame]:
    """build_adam on a written trial; `patches`: file -> {text: replacement} (a partial date, an empty one)."""
    folder = write_trial(tmp_path / "export", subjects)
    for file, replacements in (patches or {}).items():
        path = folder / file
        text = path.read_text(encoding="utf-8")
        for old, new in replacements.items():
            assert old in text, old
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    _files, raw, quarantine, _stats, _rows = read_export(folder, ColumnMapping())
    assert quarantine.height == 0, quarantine.to_dicts()
    return build_adam(raw, protocol, cut_date=at(cut_offset))


@pytest.fixture(scope="module")
def adam(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> dict[str, pl.DataFrame]:
    subjects = [
        # C2D1 infusion not given (the visit took place, apatinib went on); C3 on time
        Subject("SKIP-C2D1-INF", apatinib=[(0, 62, 250.0)], infusions=infusions(3, {"C2D1"}), visits=visits(3)),
        # C2D1 neither visited nor infused; C2D8 and C2D15 were
        Subject("NO-C2D1", apatinib=[(0, 62, 250.0)], infusions=infusions(3, {"C2D1"}), visits=visits(3, {"C2D1"})),
        # nal-IRI stopped after cycle 1; apatinib and the visits went on, C3D1 5 days late
        Subject("APA-ALONE", apatinib=[(0, 88, 250.0)], infusions=FULL_C1,
                visits=visits(4, moved={"C3D1": 47, "C3D8": 54, "C3D15": 61, "C4D1": 68, "C4D8": 75, "C4D15": 82}),
                aes=[("FATIGUE", "2", 50, 52)]),
        # the whole of cycle 3 missing from SV while apatinib went on
        Subject("NO-C3", apatinib=[(0, 83, 250.0)], infusions=infusions(4, {"C3D1", "C3D8", "C3D15"}),
                visits=visits(4, {"C3D1", "C3D8", "C3D15"})),
        # C2D1's date is partial ('2026-01', imputed to 2026-01-01 by the loader)
        Subject("PARTIAL", apatinib=[(0, 41, 250.0)], infusions=infusions(2, {"C2D1"}), visits=visits(2)),
        # never dosed: a C1D1 visit but no EX record and no RFSTDTC/RFXSTDTC
        Subject("UNDOSED", apatinib=[], infusions=[], visits=[("C1D1", 0)]),
    ]
    # the partial date: the PARTIAL subject's C2D1 (offset 21 = 2026-01-26) written as '2026-01'
    c1 = at(0).isoformat()
    return derive_with(tmp_path_factory.mktemp("cyc"), subjects, protocol, cut_offset=120, patches={
        "sv.csv": {f"PARTIAL,201,C2D1,{at(21).isoformat()}": "PARTIAL,201,C2D1,2026-01"},
        "dm.csv": {f"UNDOSED,40,F,DL1,{c1},{c1}": "UNDOSED,40,F,DL1,,"},
    })


def cycles(adam: dict[str, pl.DataFrame], sid: str) -> list[tuple]:
    return adam["adcyc"].filter(pl.col("USUBJID") == sid).sort("CYCLE").select("CYCLE", "D1DT", "DELAYDY", "CYCLSRC").rows()


def sv(adam: dict[str, pl.DataFrame], sid: str) -> dict[str, dict]:
    return {r["VISIT"]: r for r in adam["adsv"].filter(pl.col("USUBJID") == sid).to_dicts()}


def test_a_skipped_day1_infusion_neither_renumbers_cycles_nor_reads_as_a_delay(adam: dict[str, pl.DataFrame]) -> None:
    # before: the infusions named C1D1 and C3D1 became cycles 1 and 2, a 21-day 'delay' (shown for DLT
    # adjudication) and C2D8/C2D15 planned from the C3D1 date (deviation -21 days)
    assert cycles(adam, "SKIP-C2D1-INF") == [(1, at(0), 0, "INFUSION"), (2, at(21), 0, "VISIT"), (3, at(42), 0, "INFUSION")]
    v = sv(adam, "SKIP-C2D1-INF")
    assert [(v[n]["DEV"], v[n]["OOWFL"]) for n in ("C2D1", "C2D8", "C2D15", "C3D1")] == [(0, "N")] * 4
    adsl = adam["adsl"].filter(pl.col("USUBJID") == "SKIP-C2D1-INF").row(0, named=True)
    assert adsl["DLTDLYFL"] is None
    adex = adam["adex"].filter(pl.col("USUBJID") == "SKIP-C2D1-INF").sort("CYCLE")
    assert adex.select("CYCLE", "IRIINF", "IRIPLAN").rows() == [(1, 3, 150.0), (2, 2, 150.0), (3, 3, 150.0)]


def test_a_missing_day1_visit_keeps_its_planned_date_and_is_missing(adam: dict[str, pl.DataFrame]) -> None:
    assert cycles(adam, "NO-C2D1")[1] == (2, at(21), 0, "PLANNED")
    v = sv(adam, "NO-C2D1")
    assert (v["C2D1"]["MISSFL"], v["C2D1"]["PLANDT"]) == ("Y", at(21))
    assert (v["C2D8"]["PLANDT"], v["C2D8"]["DEV"], v["C2D8"]["OOWFL"]) == (at(28), 0, "N")


def test_cycles_on_apatinib_alone_count_for_visits_exposure_and_cycle(adam: dict[str, pl.DataFrame]) -> None:
    # before: no cycle after the last infusion, so C3D1 was 'planned' on its own date (the 5-day delay
    # unseen), ADEX ended with cycle 1 and a day-51 AE was in cycle 1
    assert [c[:3] for c in cycles(adam, "APA-ALONE")] == [(1, at(0), 0), (2, at(21), 0), (3, at(47), 5), (4, at(68), 0)]
    v = sv(adam, "APA-ALONE")
    assert (v["C3D1"]["PLANDT"], v["C3D1"]["DEV"], v["C3D1"]["DELAYFL"], v["C3D1"]["OOWFL"]) == (at(42), 5, "Y", "N")
    assert (v["C3D8"]["DEV"], v["C4D1"]["DEV"]) == (0, 0)
    adex = adam["adex"].filter(pl.col("USUBJID") == "APA-ALONE").sort("CYCLE")
    assert adex.select("CYCLE", "DELAYDY", "APADAYS", "IRIINF").rows() == [(1, 0, 21, 3), (2, 0, 26, 0), (3, 5, 21, 0), (4, 0, 21, 0)]
    ae = adam["adae"].filter(pl.col("USUBJID") == "APA-ALONE").row(0, named=True)
    assert (ae["ASTDY"], ae["CYCLE"]) == (51, 3)


def test_a_cycle_missing_from_sv_is_still_expected(adam: dict[str, pl.DataFrame]) -> None:
    assert [c[3] for c in cycles(adam, "NO-C3")] == ["INFUSION", "INFUSION", "PLANNED", "INFUSION"]
    v = sv(adam, "NO-C3")
    assert {n for n, r in v.items() if r["MISSFL"] == "Y"} == {"C3D1", "C3D8", "C3D15"}
    assert (v["C4D1"]["DEV"], v["C4D1"]["DELAYFL"]) == (0, "N")


def test_a_partial_visit_date_gives_no_deviation_and_anchors_nothing(adam: dict[str, pl.DataFrame]) -> None:
    # before: the imputed 2026-01-01 anchored cycle 2, so C2D8 (on time) was 25 days late and out of window
    assert cycles(adam, "PARTIAL")[1] == (2, at(21), 0, "PLANNED")
    v = sv(adam, "PARTIAL")
    assert (v["C2D1"]["ADTF"], v["C2D1"]["DEV"], v["C2D1"]["OOWFL"], v["C2D1"]["MISSFL"]) == ("D", None, None, None)
    assert (v["C2D8"]["DEV"], v["C2D8"]["OOWFL"]) == (0, "N")


def test_a_subject_never_dosed_has_no_cycle_and_no_expected_visit(adam: dict[str, pl.DataFrame]) -> None:
    assert cycles(adam, "UNDOSED") == []
    v = sv(adam, "UNDOSED")
    assert list(v) == ["C1D1"] and (v["C1D1"]["PLANDT"], v["C1D1"]["DEV"], v["C1D1"]["OOWFL"]) == (None, None, None)


def test_dose_intensity_of_a_cycle_running_at_the_cut_and_missed_vs_reduced_doses(tmp_path: Path, protocol: Protocol) -> None:
    # DL2 = apatinib 375 mg + nal-IRI 50 mg/m2. Cycle 2: apatinib 250 mg (reduced), C2D8 at 40 (reduced).
    # Cycle 3: apatinib not taken on days 42-45 (dose 0: missed, not reduced), C3D8 not given (dose 0);
    # the cut is C4D1 + 3, so cycle 4 has only its day-1 infusion due.
    subject = Subject(
        "DL2", arm="DL2",
        apatinib=[(0, 20, 375.0), (21, 41, 250.0), (42, 45, 0.0), (46, 66, 375.0)],
        infusions=[*FULL_C1, (21, 50.0, "C2D1"), (28, 40.0, "C2D8"), (35, 50.0, "C2D15"),
                   (42, 50.0, "C3D1"), (49, 0.0, "C3D8"), (56, 50.0, "C3D15"), (63, 50.0, "C4D1")],
        visits=[*visits(3), ("C4D1", 63)],
    )
    adex = derive_with(tmp_path, [subject], protocol, cut_offset=66)["adex"].sort("CYCLE")
    rows = {r["CYCLE"]: r for r in adex.to_dicts()}
    assert (rows[2]["APAREDFL"], rows[2]["IRIREDFL"], rows[2]["REDUCTNS"]) == ("Y", "Y", 2)
    # before: the days at dose 0 counted as an apatinib reduction
    assert (rows[3]["APAREDFL"], rows[3]["IRIREDFL"], rows[3]["REDUCTNS"]) == ("N", "N", 0)
    assert (rows[3]["APADAYS"], rows[3]["APARDI"]) == (17, pytest.approx(17 / 21))
    assert (rows[3]["IRIINF"], rows[3]["IRIRDI"]) == (2, pytest.approx(2 / 3))
    # the running cycle: 4 days to the cut, one infusion due (before: 3 planned, RDI 0.33)
    assert (rows[4]["CYENDT"], rows[4]["APAPLAN"], rows[4]["APARDI"]) == (at(66), 375.0 * 4, pytest.approx(1.0))
    assert (rows[4]["IRIPLAN"], rows[4]["IRIGIVEN"], rows[4]["IRIRDI"]) == (50.0, 50.0, pytest.approx(1.0))
