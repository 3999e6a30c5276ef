"""`safetyboard check`: exit codes of --fail-on, JSON output, Data Docs, no write in place."""

from __future__ import annotations

import contextlib
import json
import os
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
    # (current.duckdb.lock: the advisory lock of the swap, etl/cutstore.publish_lock)
    assert sorted(p.name for p in db.parent.iterdir()) == ["current.duckdb", "current.duckdb.lock", "current.gx"]
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


def test_a_cut_swapped_in_during_the_run_is_not_overwritten(tmp_path: Path, protocol,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import checks.runner as runner
    from safetyboard.errors import BadInputError

    db = _cut_file(tmp_path / "current.duckdb")
    newer = tmp_path / "newer.duckdb"
    shutil.copy2(db, newer)
    real = runner.run_checks

    def run_and_swap(*args, **kwargs):  # a load publishes a new cut while the checks run
        out = real(*args, **kwargs)
        os.replace(newer, db)
        return out

    monkeypatch.setattr(runner, "run_checks", run_and_swap)
    inode = db.stat().st_ino
    newer_inode = newer.stat().st_ino
    with pytest.raises(BadInputError, match="new cut"):
        runner.check_cut(db, protocol)
    assert db.stat().st_ino == newer_inode != inode  # the newer cut stays current
    assert not list(tmp_path.glob("current.duckdb.tmp-*"))
