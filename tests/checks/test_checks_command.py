"""`safetyboard check`: exit codes of --fail-on, JSON output, Data Docs, no write in place."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import duckdb
import pytest

from safetyboard.cli import main
from tests.checks.handmade_cut import EXPECTED, base_rows, write_cut


def _cut_file(path: Path, *, clean: bool = False) -> Path:
    rows = base_rows("C1")
    if clean:  # only the subject without issues
        rows = {k: [r for r in v if r.get("USUBJID", "P-01") == "P-01"] for k, v in rows.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(duckdb.connect(str(path))) as con:
        write_cut(con, rows)
    return path


def test_fail_on_error_exits_3_and_json_lists_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _cut_file(tmp_path / "cuts" / "current.duckdb")
    inode = db.stat().st_ino
    assert main(["check", "--db", str(db), "--fail-on", "error", "--json"]) == 3
    out = json.loads(capsys.readouterr().out.splitlines()[0])
    assert out["status"] == "ok" and out["cut_id"] == "C1"
    assert out["by_check"]["ae_grade_missing"]["open"] == 1
    assert {(f["check_id"], f["usubjid"], f["record_key"]) for f in out["findings"]} == {
        (c, s, k) for c, keys in EXPECTED.items() for s, k in keys}
    assert out["gx_exceptions"] == []
    # the current file was replaced (atomic swap), not written in place; no temp file left behind
    assert db.stat().st_ino != inode
    assert sorted(p.name for p in db.parent.iterdir()) == ["current.duckdb", "current.gx"]
    docs = Path(out["data_docs"])
    assert docs == db.parent / "current.gx" / "data_docs" / "index.html" and docs.is_file()
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        assert con.execute("SELECT data_docs FROM meta.check_runs").fetchall() == [(str(docs),)]
        assert con.execute("SELECT count(*) FROM meta.findings").fetchall()[0][0] == len(out["findings"])


def test_fail_on_warning_counts_warnings(tmp_path: Path) -> None:
    clean = _cut_file(tmp_path / "clean" / "current.duckdb", clean=True)
    assert main(["check", "--db", str(clean), "--fail-on", "warning"]) == 0
    assert main(["check", "--db", str(clean)]) == 0


def test_without_fail_on_findings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _cut_file(tmp_path / "current.duckdb")
    assert main(["check", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "ae_grade_missing" in text and "Data Docs:" in text


def test_missing_or_foreign_file_is_bad_input(tmp_path: Path) -> None:
    assert main(["check", "--db", str(tmp_path / "nope.duckdb")]) == 2
    foreign = tmp_path / "other.duckdb"
    with contextlib.closing(duckdb.connect(str(foreign))) as con:
        con.execute("CREATE TABLE t (x INT)")
    assert main(["check", "--db", str(foreign)]) == 2


def test_data_docs_show_only_the_latest_run(tmp_path: Path) -> None:
    db = _cut_file(tmp_path / "current.duckdb")
    assert main(["check", "--db", str(db)]) == 0
    docs = db.parent / "current.gx" / "data_docs"
    first = sorted(p.relative_to(docs) for p in docs.rglob("*.html") if "validations" in p.parts)
    assert first, "no validation pages written"
    assert main(["check", "--db", str(db)]) == 0
    second = sorted(p.relative_to(docs) for p in docs.rglob("*.html") if "validations" in p.parts)
    assert len(second) == len(first) and set(second).isdisjoint(first)  # run-stamped pages, old ones removed
