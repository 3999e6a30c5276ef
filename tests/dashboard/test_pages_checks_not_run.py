"""The Data quality page says which checks did not run on this cut and why, and which optional variables the
export lacked (read as empty by the checks): a data manager must not read 'no findings' where a check could
not judge the study."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
from streamlit.testing.v1 import AppTest

from checks.runner import check_cut
from etl.loader import load_export
from tests.dashboard.conftest import render_page

PAGE = "dashboard/pages/data_quality.py"


def _page(db: Path, app_env) -> AppTest:
    app_env(db)
    return render_page(PAGE)


def _export_without(src: Path, dst: Path, drop: dict[str, list[str]]) -> Path:
    shutil.copytree(src, dst)
    for name, cols in drop.items():
        frame = pl.read_csv(dst / name, infer_schema=False)
        frame.drop(cols).write_csv(dst / name)
    return dst


def test_export_without_reference_ranges_or_age_is_checked_and_says_so(tmp_path: Path, demo_export_dir: Path,
                                                                        protocol, app_env) -> None:
    export = _export_without(demo_export_dir, tmp_path / "export",
                             {"lb.csv": ["LBSTNRLO", "LBSTNRHI"], "dm.csv": ["AGE"]})
    db = tmp_path / "cut" / "current.duckdb"
    db.parent.mkdir()
    result = load_export(export, db, protocol)
    assert result.status == "ok"
    summary = result.findings
    assert summary["columns_absent"] == {"raw.dm": ["AGE"], "raw.lb": ["LBSTNRLO", "LBSTNRHI"]}
    assert "lb" not in summary["skipped"] and "dm" not in summary["skipped"]  # the frames ran
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = con.execute("SELECT columns_absent FROM meta.check_runs").fetchone()[0]
        treated = con.execute("SELECT count(*) FROM adam.adsl WHERE SAFFL = 'Y'").fetchone()[0]
        ages = con.execute("SELECT message FROM meta.findings WHERE check_id = 'eligibility_age'").fetchall()
        ranges = con.execute("SELECT count(*) FROM meta.findings WHERE check_id = 'lab_range_missing'").fetchone()[0]
    assert json.loads(recorded) == summary["columns_absent"]
    # every enrolled subject's age is unknown: one 'not verifiable' finding each, never an 'eligible'
    assert len(ages) >= treated > 0 and all(m.startswith("AGE missing (eligibility 12-65 not verifiable)") for (m,) in ages)
    assert ranges > 1000  # each graded result that needs a limit (CTCAE grade 1 <LLN / >ULN) is flagged
    at = _page(db, app_env)
    infos = [i.value for i in at.info]
    assert any(i.startswith("raw.lb has no LBSTNRLO, LBSTNRHI: the export lacks") and "lab_range_missing" in i
               for i in infos), infos
    assert any(i.startswith("raw.dm has no AGE:") and "eligibility not verifiable" in i for i in infos), infos
    assert not any("raw.lb" in i and "eligibility" in i for i in infos), infos  # each table's own consequence


def test_checks_that_cannot_judge_the_pilot_are_listed_with_their_reason(tmp_path: Path, pilot_cut_db: Path,
                                                                         protocol, app_env) -> None:
    db = tmp_path / "current.duckdb"
    shutil.copy2(pilot_cut_db, db)
    run = check_cut(db, protocol)
    assert "visits_missing" in run.skipped  # the pilot's visits are not named C<n>D<d>
    at = _page(db, app_env)
    listed = [d.value for d in at.dataframe if "why it did not run" in d.value.columns]
    assert listed, "no table of the checks that did not run"
    shown = dict(zip(listed[0]["check group"], listed[0]["why it did not run"], strict=True))
    assert shown == run.skipped
    held = dict(zip(listed[0]["check group"], listed[0]["checks"], strict=True))
    assert held["visits_missing"] == "visit_missing"  # the check ids a data manager filters findings by
    assert all(held[f] for f in run.skipped)
