"""The checks on the demo trial (recall of its planted issues) and on the real CDISC pilot."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.loader import load_export


@pytest.fixture(scope="module")
def demo_truth(demo_export_dir: Path) -> dict:
    return json.loads((demo_export_dir / "_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_findings(demo_cut_db: Path) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    with contextlib.closing(duckdb.connect(str(demo_cut_db), read_only=True)) as con:
        cut = con.execute("SELECT cut_id FROM meta.loads ORDER BY loaded_at DESC LIMIT 1").fetchall()[0][0]
        findings = con.sql(f"SELECT * FROM meta.findings WHERE cut_id = '{cut}' AND status <> 'resolved'").pl()
        quarantine = con.sql("SELECT * FROM meta.quarantine").pl()
        run = con.sql(f"SELECT * FROM meta.check_runs WHERE cut_id = '{cut}'").pl().row(0, named=True)
    return findings, quarantine, run


def test_every_planted_issue_is_found_by_its_check(demo_truth: dict, demo_findings) -> None:
    findings, _, _ = demo_findings
    exact = set(zip(findings["check_id"], findings["usubjid"], findings["record_key"], strict=True))
    by_subject = set(zip(findings["check_id"], findings["usubjid"], strict=True))
    issues = [i for i in demo_truth["issues"] if "check" in i["expect"]]
    assert issues, "the demo truth lists no check issues"
    missed = []
    for issue in issues:
        check = issue["expect"]["check"]
        if issue["file"] is None:  # a removed record (missing visit or infusion): the subject must be flagged
            hit = (check, issue["usubjid"]) in by_subject
        else:
            hit = (check, issue["usubjid"], issue["record_key"]) in exact
        if not hit:
            missed.append(issue)
    assert missed == []


def test_missing_visits_point_at_the_removed_visit(demo_truth: dict, demo_findings) -> None:
    findings, _, _ = demo_findings
    exact = set(zip(findings["check_id"], findings["usubjid"], findings["record_key"], strict=True))
    for issue in demo_truth["issues"]:
        if issue["expect"].get("check") == "visit_missing":
            assert ("visit_missing", issue["usubjid"], issue["record_key"]) in exact


def test_quarantine_issues_are_in_meta_quarantine(demo_truth: dict, demo_findings) -> None:
    _, quarantine, _ = demo_findings
    rows = set(zip(quarantine["file"], quarantine["row_number"], quarantine["reason"], strict=True))
    for issue in demo_truth["issues"]:
        if "quarantine" in issue["expect"]:
            assert (issue["file"], issue["row"], issue["expect"]["quarantine"]) in rows, issue


def test_clean_subjects_raise_no_error(demo_truth: dict, demo_findings) -> None:
    findings, _, _ = demo_findings
    errors = findings.filter(pl.col("usubjid").is_in(demo_truth["clean_subjects"]) & (pl.col("severity") == "error"))
    assert errors.select("check_id", "usubjid", "record_key", "message").to_dicts() == []


def test_demo_run_recorded_without_exceptions(demo_cut_db: Path, demo_findings) -> None:
    _, _, run = demo_findings
    assert json.loads(run["gx_exceptions"]) == [] and json.loads(run["skipped"]) == {}
    assert Path(run["data_docs"]) == demo_cut_db.parent / "current.gx" / "data_docs" / "index.html"
    assert Path(run["data_docs"]).is_file()


def test_pilot_runs_and_flags_every_ungraded_ae(tmp_path: Path, pilot_dir: Path, protocol) -> None:
    db = tmp_path / "pilot" / "current.duckdb"
    result = load_export(pilot_dir, db, protocol)
    summary = result.findings
    json.dumps(summary)  # JSON-able, as the loader prints it
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        n_ae = con.execute("SELECT count(*) FROM raw.ae").fetchall()[0][0]
    assert n_ae > 0 and summary["by_check"]["ae_grade_missing"]["open"] == n_ae  # the pilot has no AETOXGR
    assert summary["gx_exceptions"] == [] and summary["skipped"] == {}
    assert summary["by_severity"]["error"] >= n_ae


def test_importing_the_checks_does_not_import_gx() -> None:
    code = ("import sys, checks, checks.runner, checks.command, checks.findings, checks.rules, checks.config; "
            "sys.exit(1 if 'great_expectations' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
