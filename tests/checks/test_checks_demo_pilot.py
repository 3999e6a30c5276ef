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


@pytest.fixture(scope="module")
def pilot_cut(tmp_path_factory: pytest.TempPathFactory, pilot_dir: Path, protocol) -> tuple[dict, Path]:
    db = tmp_path_factory.mktemp("pilot") / "current.duckdb"
    result = load_export(pilot_dir, db, protocol)
    return result.findings, db


def _pilot_findings(db: Path, check_id: str) -> pl.DataFrame:
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        return con.sql("SELECT * FROM meta.findings WHERE check_id = $c", params={"c": check_id}).pl()


def test_pilot_runs_and_flags_every_ungraded_ae(pilot_cut) -> None:
    summary, db = pilot_cut
    json.dumps(summary)  # JSON-able, as the loader prints it
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        n_ae = con.execute("SELECT count(*) FROM raw.ae").fetchall()[0][0]
    assert n_ae > 0 and summary["by_check"]["ae_grade_missing"]["open"] == n_ae  # the pilot has no AETOXGR
    message = _pilot_findings(db, "ae_grade_missing")["message"][0]
    assert "no AETOXGR column" in message and "--mapping" in message  # says how to fix it
    assert summary["gx_exceptions"] == []
    assert summary["by_severity"]["error"] >= n_ae


def test_pilot_schedule_checks_not_applicable(pilot_cut) -> None:
    """The pilot's visits are WEEK n (no C<n>D<d>) and its drug is xanomeline (no nal-IRI): the visit and
    infusion schedules of the protocol do not apply (were 2694 'missing' C<n>D8/D15 visits and 475 'gaps')."""
    summary, _ = pilot_cut
    # ... and it has no daily apatinib, whose EX records need an end date (ex_end_missing), nor nal-IRI
    # infusions to draw labs before (lab_predose_missing); no C<n>D<d> visit whose number could be judged; and
    # its arms are treatments, none a protocol dose level (arm_not_dose_level); nor a study drug whose EXDOSU
    # could be judged against the dose levels' units (ex_dose_unit_unexpected)
    assert set(summary["skipped"]) == {"visits_missing", "visit_numbers", "exposure", "ex_end", "lab_predose", "dose_level",
                                       "ex_dose_unit"}
    assert all(why.startswith("not applicable: ") for why in summary["skipped"].values())
    assert summary["by_check"].get("visit_missing", {}).get("open", 0) == 0
    assert summary["by_check"].get("exposure_gap_in_dlt_window", {}).get("open", 0) == 0


def test_pilot_real_study_findings_are_per_problem(pilot_cut) -> None:
    summary, db = pilot_cut
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        screen_failures = {r[0] for r in con.execute("SELECT USUBJID FROM raw.dm WHERE upper(ARMCD) = 'SCRNFAIL'").fetchall()}
    assert screen_failures
    for check_id in ("eligibility_age", "eligibility_bp"):
        found = _pilot_findings(db, check_id)
        assert not set(found["usubjid"]) & screen_failures, check_id  # a screen failure is not a protocol deviation
        assert found["usubjid"].n_unique() == found.height, check_id  # one per subject (was 1389 BP readings)
    # urinalysis and morphology results (KETONES, UROBIL, ANISO, ...) are not graded against a range
    assert summary["by_check"]["lab_range_missing"]["open"] == 0
    # every unit the pilot uses is one the criteria know; urine pH has none, and none is a unit (was 874 errors)
    assert summary["by_check"]["lab_unit_unexpected"]["open"] == 0


def test_importing_the_checks_does_not_import_gx() -> None:
    code = ("import sys, checks, checks.runner, checks.command, checks.findings, checks.rules, checks.config; "
            "sys.exit(1 if 'great_expectations' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
