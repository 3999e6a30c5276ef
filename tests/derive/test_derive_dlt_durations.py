"""DLT duration rules when the dates cannot settle the duration (DOMAIN.md 4; TOML [dlt]).

"Grade 4 neutropenia lasting more than 7 days", "grade 3 hypertension not controlled within 14 days",
"diarrhoea resolving within 72 h": an event still ongoing at the cut has lasted at least up to the
cut date, and a partial end date ('2026-01') may be any day of its month. The rule is met when even
the shortest duration the dates allow exceeds the limit, not met when even the longest stays within
it, and undecided (DLTCFL null; ADSL DLTUNDFL) in between. Offsets are days from C1D1 (2026-01-05).
"""

from __future__ import annotations

import polars as pl
import pytest
from derive_sample_trial import Subject, derive, write_trial

from etl.derive import build_adam
from etl.loader import read_export
from etl.mapping import ColumnMapping
from safetyboard.protocol import Protocol

NEUT, HTN, HFSR = "NEUTROPHIL COUNT DECREASED", "HYPERTENSION", "PALMAR-PLANTAR ERYTHRODYSESTHESIA SYNDROME"
FULL_C1 = [(0, 50.0, "C1D1"), (7, 50.0, "C1D8"), (14, 50.0, "C1D15")]

# The cut is at offset 20 (study day 21, inside the window); every AE below has no end date.
# subject -> (AE, expected AE DLTCFL, DLTRULE)
ONGOING: dict[str, tuple[tuple, str | None, str | None]] = {
    # grade 4 neutropenia from offset 14: 7 days at the cut, may still resolve by day 7 -> undecided
    "NEUT-7D-SO-FAR": ((NEUT, "4", 14, None), None, None),
    # from offset 12: 9 days at the cut, already more than 7 -> DLT
    "NEUT-9D-SO-FAR": ((NEUT, "4", 12, None), "Y", "NEUT_G4_GT7D"),
    # grade 3 hypertension 5 days old: not yet "uncontrolled within 14 days", nor shown controlled
    "HTN-5D-SO-FAR": ((HTN, "3", 16, None), None, None),
    "HTN-G4-ONGOING": ((HTN, "4", 16, None), "Y", "HTN_G4"),  # no duration in the rule
    "HFSR-3D-SO-FAR": ((HFSR, "3", 18, None), None, None),
    # grade 3 diarrhoea 2 days old: may still resolve within 72 h (the exception) -> undecided
    "DIARR-2D-SO-FAR": (("DIARRHOEA", "3", 19, None), None, None),
    # 5 days old: cannot have resolved within 72 h any more -> DLT
    "DIARR-5D-SO-FAR": (("DIARRHOEA", "3", 16, None), "Y", "NONHEME_G3"),
    "FATIGUE-G3-ONGOING": (("FATIGUE", "3", 19, None), "Y", "NONHEME_G3"),  # no exception applies
}


@pytest.fixture(scope="module")
def ongoing(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> dict[str, pl.DataFrame]:
    subjects = [Subject(sid, apatinib=[(0, 20, 250.0)], infusions=FULL_C1, aes=[ae]) for sid, (ae, _, _) in ONGOING.items()]
    return derive(tmp_path_factory.mktemp("ongoing"), subjects, protocol, cut_offset=20)


@pytest.mark.parametrize("sid", list(ONGOING))
def test_an_ongoing_event_is_judged_on_how_long_it_has_lasted_by_the_cut(ongoing: dict[str, pl.DataFrame], sid: str) -> None:
    _, flag, rule = ONGOING[sid]
    ae = ongoing["adae"].filter(pl.col("USUBJID") == sid).row(0, named=True)
    assert (ae["DLTCFL"], ae["DLTRULE"]) == (flag, rule)
    subject = ongoing["adsl"].filter(pl.col("USUBJID") == sid).row(0, named=True)
    # no investigator flag in this export: the protocol rules decide the DLT and the evaluability
    assert subject["DLTFL"] == ("Y" if flag == "Y" else "N")
    # the window is not completed at the cut: evaluable only with a DLT; an undecided event is listed
    assert subject["DLTEVLFL"] == ("Y" if flag == "Y" else "N")
    assert subject["DLTUNDFL"] == ("Y" if flag is None else "N")


def test_a_partial_end_date_spans_its_month(tmp_path, protocol: Protocol) -> None:
    # grade 4 neutropenia from 2026-01-15 (offset 10): ended '2026-01' -> 1 to 17 days (undecided);
    # ended '2026-02' -> 18 to 45 days (more than 7 whatever the day). Grade 3 diarrhoea from
    # 2026-01-30 (offset 25) ended '2026-02': 3 to 30 days (may have resolved within 72 h: undecided);
    # from 2026-01-25 (offset 20): at least 8 days (DLT).
    subjects = [Subject("NEUT-JAN", aes=[(NEUT, "4", 10, 12)]), Subject("NEUT-FEB", aes=[(NEUT, "4", 10, 30)]),
                Subject("DIARR-FEB", aes=[("DIARRHOEA", "3", 25, 28)]), Subject("DIARR-FEB-LONG", aes=[("DIARRHOEA", "3", 20, 28)])]
    folder = write_trial(tmp_path / "export", subjects)
    lines = (folder / "ae.csv").read_text().splitlines()
    for i, line in enumerate(lines[1:], start=1):
        head, end, ser = line.rsplit(",", 2)
        lines[i] = ",".join([head, end[:7], ser])  # AEENDTC 'YYYY-MM'
    (folder / "ae.csv").write_text("\n".join(lines) + "\n")
    raw = read_export(folder, ColumnMapping())[1]
    ae = build_adam(raw, protocol, cut_date=None)["adae"].sort("USUBJID")
    assert ae["AENDTF"].to_list() == ["D"] * 4
    assert ae.select("USUBJID", "DLTCFL", "DLTRULE").rows() == [
        ("DIARR-FEB", None, None), ("DIARR-FEB-LONG", "Y", "NONHEME_G3"),
        ("NEUT-FEB", "Y", "NEUT_G4_GT7D"), ("NEUT-JAN", None, None)]


def test_an_event_without_onset_and_grade_is_undecided(tmp_path, protocol: Protocol) -> None:
    # neither placed in the window nor graded: it may be a DLT (before: 'N', counted as DLT-free)
    subjects = [Subject("U2", aes=[("FATIGUE", "", 10, 12), ("FATIGUE", "1", 10, 12)])]
    folder = write_trial(tmp_path / "export", subjects)
    text = (folder / "ae.csv").read_text().replace("2026-01-15,2026-01-17", ",2026-01-17")
    (folder / "ae.csv").write_text(text)
    raw = read_export(folder, ColumnMapping())[1]
    adam = build_adam(raw, protocol, cut_date=None)
    ae = adam["adae"].sort("AESEQ")
    assert ae["ASTDT"].to_list() == [None, None]
    assert ae["DLTCFL"].to_list() == [None, "N"]  # a grade 1 event of unknown onset meets no rule
    assert adam["adsl"]["DLTUNDFL"].to_list() == ["Y"]
