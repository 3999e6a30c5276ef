"""Counts per protocol dose level from adam.adsl, and `safetyboard escalation` on a cut."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dashboard.escalation.from_cut import levels_from_cut, unassigned_subjects
from dashboard.escalation.result import LevelCounts
from safetyboard.protocol import Protocol

# USUBJID, DOSELVL, DOSELVLC, TRTSDT, SAFFL, DLTEVLFL, DLTFL
ROWS = [
    ("S-01", 1, "DL1", dt.date(2026, 1, 5), "Y", "Y", "N"),
    ("S-02", 1, "DL1", dt.date(2026, 1, 7), "Y", "Y", "Y"),
    ("S-03", 1, "DL1", dt.date(2026, 1, 9), "Y", "Y", "N"),
    ("S-04", 2, "DL2", dt.date(2026, 2, 20), "Y", "Y", "N"),
    ("S-05", 2, "dl2 ", dt.date(2026, 2, 22), "Y", "N", "N"),  # code case/space; not evaluable (yet)
    ("S-06", 2, "DL2", dt.date(2026, 2, 25), "Y", "Y", "Y"),
    ("S-07", 3, "DL3", None, "N", None, None),  # allocated, never dosed: not treated
    ("S-08", None, "DL9", dt.date(2026, 2, 1), "Y", "Y", "N"),  # not a protocol level
]


def _make_cut(path: Path, rows: list[tuple]) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA adam")
    con.execute(
        "CREATE TABLE adam.adsl (USUBJID VARCHAR, DOSELVL INTEGER, DOSELVLC VARCHAR, TRTSDT DATE, "
        "SAFFL VARCHAR, DLTEVLFL VARCHAR, DLTFL VARCHAR)"
    )
    if rows:
        con.executemany("INSERT INTO adam.adsl VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safetyboard.cli", "escalation", *args],
                          capture_output=True, text=True, check=False)


def test_levels_from_cut_counts_every_protocol_level_in_dose_order(tmp_path: Path, protocol: Protocol) -> None:
    db = _make_cut(tmp_path / "cut.duckdb", ROWS)
    with duckdb.connect(str(db), read_only=True) as con:
        levels, current, codes = levels_from_cut(con, protocol)
        unassigned = unassigned_subjects(con, protocol)
    assert codes == ["DL-1", "DL1", "DL2", "DL3", "DL4"]
    assert levels == [
        LevelCounts("DL-1", 0, 0, 0), LevelCounts("DL1", 3, 3, 1), LevelCounts("DL2", 3, 2, 1),
        LevelCounts("DL3", 0, 0, 0), LevelCounts("DL4", 0, 0, 0),
    ]
    assert current == 2  # S-06 started last, at DL2
    assert unassigned == [("S-08", "DL9")]  # reported, not silently dropped


def test_no_treated_subject_gives_protocol_start_level(tmp_path: Path, protocol: Protocol) -> None:
    db = _make_cut(tmp_path / "empty.duckdb", [])
    with duckdb.connect(str(db), read_only=True) as con:
        levels, current, codes = levels_from_cut(con, protocol)
    assert current == codes.index(protocol.escalation["start_level"])
    assert all(lv.n_treated == 0 for lv in levels)


def test_cli_on_a_cut_uses_dose_level_codes(tmp_path: Path) -> None:
    db = _make_cut(tmp_path / "cut.duckdb", ROWS)
    proc = _run("--db", str(db), "--json", "--design", "boin", "--target", "0.30")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [lv["level"] for lv in doc["levels"]] == ["DL-1", "DL1", "DL2", "DL3", "DL4"]
    assert doc["current_level"] == "DL2"
    # DL2: 1/2 evaluable -> de-escalate (1 >= ceil(0.3585 * 2) = 1); DL1 1/3 -> MTD DL1 or DL2
    assert (doc["decision"], doc["next_level"]) == ("de-escalate", "DL1")
    assert doc["mtd"] in ("DL1", "DL2")
    assert doc["levels"][2]["label"].startswith("DL2:")
    assert doc["unassigned"] == [["S-08", "DL9"]]
    assert "S-08" in proc.stderr


def test_cli_db_errors_exit_2(tmp_path: Path) -> None:
    assert _run("--db", str(tmp_path / "missing.duckdb")).returncode == 2
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    proc = _run("--db", str(other))
    assert proc.returncode == 2 and "adam.adsl" in proc.stderr
    db = _make_cut(tmp_path / "cut.duckdb", ROWS)
    assert _run("--db", str(db), "--current", "2").returncode == 2


@pytest.fixture(scope="module")
def demo_cut_no_checks(tmp_path_factory: pytest.TempPathFactory, demo_export_dir: Path, protocol: Protocol) -> Path:
    """The shared demo export loaded without the data-quality checks (escalation needs only adam.*)."""
    from etl.loader import load_export

    db = tmp_path_factory.mktemp("esc-demo-cut") / "current.duckdb"
    assert load_export(demo_export_dir, db, protocol, run_checks=False).status == "ok"
    return db


def test_demo_cut_counts_agree_with_adsl(demo_cut_no_checks: Path, protocol: Protocol) -> None:
    demo_cut_db = demo_cut_no_checks
    with duckdb.connect(str(demo_cut_db), read_only=True) as con:
        levels, current, codes = levels_from_cut(con, protocol)
        treated = con.execute("SELECT count(*) FROM adam.adsl WHERE SAFFL = 'Y'").fetchone()[0]
        dlts = con.execute("SELECT count(*) FROM adam.adsl WHERE SAFFL = 'Y' AND DLTFL = 'Y'").fetchone()[0]
        assert not unassigned_subjects(con, protocol)
    assert sum(lv.n_treated for lv in levels) == treated > 0
    assert sum(lv.n_dlt for lv in levels) == dlts
    assert current is not None and levels[current].n_treated > 0
    proc = _run("--db", str(demo_cut_db), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["decision"] in ("escalate", "stay", "de-escalate", "stop")
    assert doc["current_level"] in codes


@pytest.mark.parametrize("design", ["boin", "3+3"])
def test_cli_table_output(tmp_path: Path, design: str) -> None:
    db = _make_cut(tmp_path / "cut.duckdb", ROWS)
    proc = _run("--db", str(db), "--design", design)
    assert proc.returncode == 0, proc.stderr
    assert "Decision:" in proc.stdout and "*DL2" in proc.stdout


def test_escalation_lists_evaluable_subjects_whose_dlt_status_is_undecided(tmp_path: Path) -> None:
    # S-01 is counted at DL1 without a DLT, but an AE in its window has no grade yet: the decision says so
    db = _make_cut(tmp_path / "cut.duckdb", ROWS)
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE adam.adsl ADD COLUMN DLTUNDFL VARCHAR")
    con.execute("ALTER TABLE adam.adsl ADD COLUMN DLTUNDRSN VARCHAR")
    reason = "DLT status undecided (grade or onset missing in the DLT window): AESEQ=2 FEBRILE NEUTROPENIA"
    con.execute("UPDATE adam.adsl SET DLTUNDFL = CASE WHEN USUBJID = 'S-01' THEN 'Y' ELSE 'N' END, "
                "DLTUNDRSN = CASE WHEN USUBJID = 'S-01' THEN ? END", [reason])
    con.close()
    out = _run("--db", str(db))
    assert out.returncode == 0, out.stderr
    assert "WARNING: 1 evaluable subject(s) counted without a DLT have an adverse event in the DLT window" in out.stdout
    assert f"  S-01 (DL1): {reason}" in out.stdout
    doc = json.loads(_run("--db", str(db), "--json").stdout)
    assert doc["undecided"] == [["S-01", "DL1", reason]]
    # a cut written before DLTUNDFL existed: nothing to list, no error
    old = _make_cut(tmp_path / "old.duckdb", ROWS)
    assert json.loads(_run("--db", str(old), "--json").stdout)["undecided"] == []


def test_an_unassigned_subject_is_reported_with_its_arm(tmp_path: Path, protocol: Protocol) -> None:
    # the derivation leaves DOSELVLC empty for an arm that is no protocol level (the CDISC pilot's 'Xan_Lo'): the
    # warning said "no dose level (254)"; it now names the arm the subjects have
    db = _make_cut(tmp_path / "cut.duckdb", [])
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE adam.adsl ADD COLUMN ARMCD VARCHAR")
        con.execute("ALTER TABLE adam.adsl ADD COLUMN ACTARMCD VARCHAR")
        con.executemany("INSERT INTO adam.adsl VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ("P-1", None, None, dt.date(2026, 1, 5), "Y", "N", "N", "Xan_Lo", "Xan_Lo"),
            ("P-2", None, None, dt.date(2026, 1, 5), "Y", "N", "N", "Pbo", None),  # ACTARMCD empty: ARMCD
            ("P-3", None, None, dt.date(2026, 1, 5), "Y", "N", "N", None, None),
            ("P-4", 1, "DL1", dt.date(2026, 1, 5), "Y", "Y", "N", "DL1", "DL1"),
        ])
        assert unassigned_subjects(con, protocol) == [("P-1", "Xan_Lo"), ("P-2", "Pbo"), ("P-3", None)]
