"""The demo export's planted bad rows are quarantined exactly where _truth.json says they are."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from etl.loader import load_export
from safetyboard.protocol import Protocol


@pytest.fixture(scope="module")
def demo_cut_no_checks(tmp_path_factory: pytest.TempPathFactory, demo_export_dir: Path, protocol: Protocol) -> Path:
    db = tmp_path_factory.mktemp("demo-nochecks") / "current.duckdb"
    load_export(demo_export_dir, db, protocol, run_checks=False)
    return db


def test_planted_quarantine_issues_are_found_at_their_file_and_row(demo_export_dir: Path, demo_cut_no_checks: Path) -> None:
    demo_cut_db = demo_cut_no_checks
    truth = json.loads((demo_export_dir / "_truth.json").read_text())
    planted = [i for i in truth["issues"] if "quarantine" in i["expect"]]
    assert planted
    with duckdb.connect(str(demo_cut_db), read_only=True) as con:
        found = {(f, r, reason) for f, r, reason in con.execute(
            "SELECT file, row_number, reason FROM meta.quarantine").fetchall()}
        domains = json.loads(con.execute("SELECT domains FROM meta.loads ORDER BY loaded_at DESC LIMIT 1").fetchone()[0])
    for issue in planted:
        assert (issue["file"], issue["row"], issue["expect"]["quarantine"]) in found, issue
    for name, st in domains.items():
        assert st["rows_read"] == st["rows_loaded"] + st["rows_quarantined"], name
