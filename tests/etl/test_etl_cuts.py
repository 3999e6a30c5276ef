"""Cuts on disk: atomic swap, archive of earlier cuts, audit row, reproducibility, and the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from etl_sample_export import AE

from etl.loader import load_export
from safetyboard.errors import BadInputError
from safetyboard.protocol import Protocol

SAFETYBOARD = Path(sys.executable).parent / "safetyboard"


def tables(db: Path, schema: str) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [schema]
        ).fetchall()]
        return {n: con.sql(f'SELECT * FROM {schema}."{n}"').pl() for n in names}


def sorted_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_two_loads_of_one_export_give_identical_tables(make_export, tmp_path: Path, protocol: Protocol) -> None:
    folder = make_export()
    a = load_export(folder, tmp_path / "a" / "current.duckdb", protocol, run_checks=False)
    b = load_export(folder, tmp_path / "b" / "current.duckdb", protocol, run_checks=False)
    assert a.to_json()["domains"] == b.to_json()["domains"]
    for schema in ("raw", "adam"):
        ta, tb = tables(a.db, schema), tables(b.db, schema)
        assert ta.keys() == tb.keys() and ta
        for name in ta:
            assert sorted_frame(ta[name]).equals(sorted_frame(tb[name]), null_equal=True), f"{schema}.{name}"


def test_reload_archives_previous_cut_and_keeps_history(make_export, tmp_path: Path, protocol: Protocol) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    first = load_export(make_export("one"), db, protocol, run_checks=False)
    second = load_export(make_export("two", ae=[*AE, dict(AE[0], AESEQ="2", AETERM="Rash", AEDECOD="RASH")]),
                         db, protocol, run_checks=False)
    assert first.cut_id != second.cut_id
    archived = db.parent / "current.cuts" / f"{first.cut_id}.duckdb"
    assert archived.is_file()
    with duckdb.connect(str(archived), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.ae").fetchone()[0] == 2
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.ae").fetchone()[0] == 3
        assert [r[0] for r in con.execute("SELECT cut_id FROM meta.loads ORDER BY loaded_at").fetchall()] == [
            first.cut_id, second.cut_id]


def test_reloading_the_same_export_at_once_gives_a_new_cut_id(make_export, tmp_path: Path, protocol: Protocol) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    folder = make_export()
    ids = [load_export(folder, db, protocol, run_checks=False).cut_id for _ in range(2)]
    assert ids[0] != ids[1]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT cut_id) FROM meta.loads").fetchone()[0] == 2
    assert (db.parent / "current.cuts" / f"{ids[0]}.duckdb").is_file()


def test_meta_loads_audit_row(make_export, tmp_path: Path, protocol: Protocol) -> None:
    folder = make_export()
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(folder, db, protocol, run_checks=False)
    row = tables(db, "meta")["loads"].row(0, named=True)
    assert row["cut_id"] == result.cut_id and row["status"] == "ok"
    assert row["source"] == str(folder.resolve())
    files = {f["file"]: f for f in json.loads(row["files"])}
    assert set(files) == {"dm.csv", "ex.csv", "ae.csv", "lb.csv", "vs.csv"}
    for name, f in files.items():
        assert f["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert f["rows_read"] == result.domains[f["domain"].lower()].rows_read
    domains = json.loads(row["domains"])
    assert domains["lb"]["rows_loaded"] == 3
    assert row["code_version"] and row["code_version"].startswith(__import__("safetyboard").__version__)
    assert row["protocol_file"] == str(protocol.path)
    assert row["protocol_sha256"] == hashlib.sha256(Path(protocol.path).read_bytes()).hexdigest()


def test_failed_load_leaves_current_cut_byte_identical(make_export, tmp_path: Path, protocol: Protocol) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    good = load_export(make_export("good"), db, protocol, run_checks=False)
    before = db.read_bytes()
    bad = make_export("bad")
    (bad / "ae.csv").write_text((bad / "ae.csv").read_text()[:-20])  # truncated
    with pytest.raises(BadInputError):
        load_export(bad, db, protocol, run_checks=False)
    assert db.read_bytes() == before
    assert [p.name for p in db.parent.iterdir() if ".tmp-" in p.name] == []
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT cut_id FROM meta.loads").fetchall() == [(good.cut_id,)]


def test_cli_load_json(make_export, tmp_path: Path) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    proc = subprocess.run([str(SAFETYBOARD), "load", str(make_export()), "--db", str(db), "--json", "--no-checks"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "ok" and out["db"] == str(db) and out["cut_id"] and out["warnings"] == []
    assert set(out["domains"]) == {"dm", "ex", "ae", "lb", "vs"}
    for st in out["domains"].values():
        assert set(st) >= {"files", "rows_read", "rows_loaded", "rows_quarantined", "reasons"}
        assert st["rows_read"] == st["rows_loaded"] + st["rows_quarantined"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [("missing_folder", "not a folder"), ("missing_domain", "required domain file(s) missing: DM"),
     ("truncated", "ae.csv: the file is truncated")],
)
def test_cli_bad_input_exits_2_and_changes_nothing(make_export, tmp_path: Path, case: str, expected: str) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    if case == "missing_folder":
        source = tmp_path / "nowhere"
    elif case == "missing_domain":
        source = make_export(skip=("dm",))
    else:
        source = make_export()
        (source / "ae.csv").write_text((source / "ae.csv").read_text()[:-20])
    proc = subprocess.run([str(SAFETYBOARD), "load", str(source), "--db", str(db), "--json", "--no-checks"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["status"] == "error"
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not db.exists()


def test_load_killed_midway_leaves_previous_cut(make_export, tmp_path: Path, demo_export_dir: Path,
                                                protocol: Protocol) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(), db, protocol, run_checks=False)
    before = db.read_bytes()
    # the 56-subject demo export (about 16 000 rows) is killed once its temporary cut file exists
    proc = subprocess.Popen([str(SAFETYBOARD), "load", str(demo_export_dir), "--db", str(db), "--json", "--no-checks"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = db.parent / f"{db.name}.tmp-{proc.pid}"
    deadline = time.monotonic() + 60
    while not tmp.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tmp.exists(), "the load never started writing its temporary cut"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert db.read_bytes() == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.dm").fetchone()[0] == 2
    # the next load still works, becomes current and clears the dead load's temporary file
    result = load_export(make_export("again"), db, protocol, run_checks=False)
    assert not tmp.exists()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.loads").fetchone()[0] == 2
    assert result.status == "ok"


def test_load_over_a_damaged_cut_says_that_the_history_breaks(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """The new cut cannot read the damaged cut's meta.loads, but it says so, naming the file the damaged
    cut is kept as: in the JSON result, on stderr and in its own meta.loads row (the history was
    dropped without a word)."""
    db = tmp_path / "cuts" / "current.duckdb"
    folder = make_export()
    load_export(folder, db, protocol, run_checks=False)
    db.write_bytes(db.read_bytes()[:20000])  # a DuckDB header, no readable cut
    kept = f"current.cuts/unreadable-{int(db.stat().st_mtime)}.duckdb"
    proc = subprocess.run([str(SAFETYBOARD), "load", str(folder), "--db", str(db), "--json", "--no-checks"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    [warning] = out["warnings"]
    assert warning.startswith("the previous current file current.duckdb is not a readable cut (")
    assert f"it is kept as {kept}" in warning and "meta.loads" in warning
    assert f"safetyboard load: warning: {warning}" in proc.stderr
    assert (db.parent / kept).is_file()
    loads = tables(db, "meta")["loads"]
    assert loads["cut_id"].to_list() == [out["cut_id"]]
    assert json.loads(loads["notes"][0]) == [warning]
    # the next load over the new (readable) cut carries the note in the history and warns of nothing
    again = subprocess.run([str(SAFETYBOARD), "load", str(folder), "--db", str(db), "--json", "--no-checks"],
                           capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(again.stdout)["warnings"] == [] and "warning" not in again.stderr
    loads = tables(db, "meta")["loads"].sort("loaded_at")
    assert [json.loads(n) for n in loads["notes"]] == [[warning], []]


def test_a_load_never_replaces_a_cut_another_load_made_current_meanwhile(make_export, tmp_path: Path,
                                                                        protocol: Protocol) -> None:
    """Two loads into one --db at once: each kept the cut it started from and replaced the other, so the first
    to finish reported 'ok' with a cut id that was then neither current nor kept. The later one now stops (exit 2),
    removes its temporary file and leaves the other's cut current, with the starting cut kept."""
    db = tmp_path / "cuts" / "current.duckdb"
    first = load_export(make_export("first"), db, protocol, run_checks=False).cut_id
    other = make_export("other", ae=[dict(AE[0], AETERM="Rash"), *AE[1:]])
    meanwhile: list[str] = []

    def progress(stage: str) -> None:  # while this load derives, another process loads and publishes
        if stage == "deriving analysis tables" and not meanwhile:
            proc = subprocess.run([sys.executable, "-m", "safetyboard.cli", "load", str(other), "--db", str(db),
                                   "--no-checks", "--json"], capture_output=True, text=True, check=True)
            meanwhile.append(json.loads(proc.stdout)["cut_id"])

    with pytest.raises(BadInputError, match=r"another load or check made a new cut current \(.+\) while this load ran; "
                                            r"nothing was changed by this load"):
        load_export(make_export("late"), db, protocol, run_checks=False, progress=progress)
    with duckdb.connect(str(db), read_only=True) as con:
        current = con.sql("SELECT cut_id FROM meta.loads ORDER BY loaded_at DESC LIMIT 1").fetchall()[0][0]
        terms = sorted(r[0] for r in con.sql("SELECT AETERM FROM raw.ae").fetchall())
    assert current == meanwhile[0] and "Rash" in terms  # the other load's cut stays current
    assert (db.parent / "current.cuts" / f"{first}.duckdb").exists()  # the cut both started from is kept
    assert not list(db.parent.glob("current.duckdb.tmp-*"))  # the refused load left no temporary file


def test_cut_date_is_not_taken_from_a_record_dated_after_death(make_export, tmp_path: Path, protocol: Protocol) -> None:
    """The derived cut date is the latest complete date of the clinical data; one record typed after its subject's
    death (a 2026-03-30 VS of a patient who died on 2026-02-25) would move it, and every patient's days left in the
    DLT window with it: it is not used, and the load says so."""
    from etl_sample_export import DM, VS

    dm = [{**r, "DTHDTC": "2026-02-25" if r["USUBJID"] == "S-002" else ""} for r in DM]
    vs = [*VS, {**VS[2], "VSSEQ": "2", "VSDTC": "2026-03-30"}]
    result = load_export(make_export(dm=dm, vs=vs), tmp_path / "c.duckdb", protocol, run_checks=False)
    assert result.cut_date == dt.date(2026, 2, 20)  # S-002's last apatinib day (EXENDTC)
    assert any("a later date (2026-03-30) is on a record dated after its subject's death" in w for w in result.warnings)
    # a death date that is partial proves nothing: the record counts
    dm = [{**r, "DTHDTC": "2026-02" if r["USUBJID"] == "S-002" else ""} for r in DM]
    assert load_export(make_export("p", dm=dm, vs=vs), tmp_path / "p.duckdb", protocol, run_checks=False).cut_date \
        == dt.date(2026, 3, 30)


def test_cli_cut_date_given_is_kept_and_recorded(make_export, tmp_path: Path) -> None:
    db = tmp_path / "cuts" / "current.duckdb"
    proc = subprocess.run([str(SAFETYBOARD), "load", str(make_export()), "--db", str(db), "--json", "--no-checks",
                           "--cut-date", "2026-02-01"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["cut_date"] == "2026-02-01"
    assert out["warnings"] == ["data cut date 2026-02-01 as given: 2 record(s) are dated after it (kept; the "
                               "derivations count days up to the cut date)"]
    row = tables(db, "meta")["loads"].row(0, named=True)
    assert (row["cut_date"], row["cut_date_source"]) == (dt.date(2026, 2, 1), "given")
    for bad, message in (("2026-13-01", "is not a date (YYYY-MM-DD)"), ("2999-01-01", "is after today")):
        proc = subprocess.run([str(SAFETYBOARD), "load", str(make_export()), "--db", str(db), "--no-checks",
                               "--cut-date", bad], capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2 and message in proc.stderr
        assert tables(db, "meta")["loads"].height == 1  # nothing changed
