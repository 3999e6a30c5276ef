"""An enrolled patient whose arm is not a protocol dose level leaves every level's count: the check says so."""

from pathlib import Path

import duckdb

from etl.loader import load_export
from safetyboard.protocol import Protocol
from tests.etl.etl_sample_export import DM


def _findings(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("SELECT usubjid, severity, message FROM meta.findings WHERE check_id = 'arm_not_dose_level' "
                       "ORDER BY usubjid").fetchall()


def test_an_arm_typo_of_a_treated_patient_is_an_error_naming_the_levels(make_export, tmp_path: Path, protocol: Protocol) -> None:
    # S-003 (no doses yet) has a level: the study codes its arms as the protocol's dose levels
    dm = [dict(DM[0], ARMCD="DL 2"), dict(DM[1], ARMCD="SCRNFAIL"), dict(DM[1], USUBJID="S-003"),
          dict(DM[1], USUBJID="S-004", ARMCD="")]  # S-004: no arm yet and no dose: in no count, not judged
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(dm=dm), db, protocol, run_checks=True)
    got = _findings(db)
    levels = "DL-1, DL1, DL2, DL3, DL4"
    # S-001: a typo; S-002 is a screen failure by its arm but has doses in EX, so it is judged too
    assert got == [
        ("S-001", "error", f"arm 'DL 2' is not a protocol dose level ({levels}): the treated patient is in no dose "
                           "level of the escalation"),
        ("S-002", "error", f"arm 'SCRNFAIL' is not a protocol dose level ({levels}): the treated patient is in no "
                           "dose level of the escalation"),
    ]


def test_a_study_whose_arms_are_not_dose_levels_is_not_judged(make_export, tmp_path: Path, protocol: Protocol) -> None:
    dm = [dict(r, ARMCD="Xanomeline High Dose") for r in DM]  # the CDISC pilot's kind of arm
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(dm=dm), db, protocol, run_checks=True)
    assert _findings(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.sql("SELECT skipped_checks FROM meta.check_runs").fetchall()
    assert "arm_not_dose_level" in str(runs[-1][0])
