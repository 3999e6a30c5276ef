"""History: new / persisting / resolved against the previous cut; identity = (check, domain, subject, record)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from checks.findings import IDENTITY, with_history
from checks.runner import run_checks
from tests.checks.handmade_cut import base_rows, write_cut


def _frame(rows: list[tuple[str, str, str, str]], **extra: list) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=IDENTITY, orient="row").with_columns(
        **{k: pl.Series(v) for k, v in extra.items()})


def test_with_history_statuses_and_first_cut() -> None:
    prev = _frame([("c1", "AE", "S1", "AESEQ=1"), ("c1", "AE", "S1", "AESEQ=2")],
                  cut_id=["K1", "K1"], first_cut_id=["K0", None], severity=["error", "error"])
    cur = _frame([("c1", "AE", "S1", "AESEQ=2"), ("c2", "LB", "S2", "LBSEQ=9")], severity=["error", "warning"])
    out = with_history(cur, prev, "K2")
    status = {r["record_key"]: (r["status"], r["first_cut_id"], r["cut_id"]) for r in out.iter_rows(named=True)}
    assert status == {"AESEQ=1": ("resolved", "K0", "K2"), "AESEQ=2": ("persisting", "K1", "K2"),
                      "LBSEQ=9": ("new", "K2", "K2")}


def test_same_record_under_another_check_is_a_different_finding() -> None:
    prev = _frame([("c1", "AE", "S1", "AESEQ=1")], cut_id=["K1"])
    cur = _frame([("c2", "AE", "S1", "AESEQ=1")])
    out = with_history(cur, prev, "K2")
    assert dict(zip(out["check_id"], out["status"], strict=True)) == {"c1": "resolved", "c2": "new"}


def test_two_cuts_in_one_file(protocol) -> None:
    """Cut C1, then cut C2 where one issue is fixed and one is new: the statuses follow."""
    con = duckdb.connect()
    write_cut(con, base_rows("C1"))
    first = run_checks(con, protocol, "C1")
    assert set(first.findings["status"]) == {"new"}
    carried = con.sql("SELECT * FROM meta.findings").pl()

    rows = base_rows("C2", dt.datetime(2026, 8, 1, 8, 0))
    rows["meta.loads"].insert(0, {"cut_id": "C1", "loaded_at": dt.datetime(2026, 7, 1, 8, 0),
                                  "cut_date": dt.date(2026, 6, 30), "status": "ok"})
    rows["raw.ae"][1]["AETOXGR"] = "2"  # P-02 AESEQ=1: grade now entered
    rows["raw.dm"][0]["AGE"] = 70.0  # P-01 now over the age limit
    write_cut(con, rows)
    con.register("_carried", carried)
    con.execute("CREATE OR REPLACE TABLE meta.findings AS SELECT * FROM _carried")  # as the loader carries it
    second = run_checks(con, protocol, "C2")
    assert second.previous_cut_id == "C1"
    f = second.findings
    key = {(r["check_id"], r["usubjid"], r["record_key"]): r for r in f.iter_rows(named=True)}
    assert key[("ae_grade_missing", "P-02", "AESEQ=1")]["status"] == "resolved"
    assert key[("eligibility_age", "P-01", "USUBJID=P-01")]["status"] == "new"
    persisting = key[("eligibility_age", "P-02", "USUBJID=P-02")]
    assert (persisting["status"], persisting["first_cut_id"]) == ("persisting", "C1")
    assert second.by_check()["ae_grade_missing"] | {"open": 0, "resolved": 1} == second.by_check()["ae_grade_missing"]
    stored = con.sql("SELECT cut_id, status, count(*) AS n FROM meta.findings GROUP BY ALL").pl()
    assert set(stored["cut_id"]) == {"C1", "C2"}  # C1's rows kept as they were
    # a re-run on the same cut replaces that cut's rows (statuses stay relative to C1)
    third = run_checks(con, protocol, "C2")
    assert third.findings.sort(IDENTITY).equals(second.findings.sort(IDENTITY))
    n_c2 = con.execute("SELECT count(*) FROM meta.findings WHERE cut_id = 'C2'").fetchall()[0][0]
    assert n_c2 == second.findings.height
    runs = con.execute("SELECT cut_id FROM meta.check_runs ORDER BY cut_id").fetchall()
    assert runs == [("C1",), ("C2",)]
    con.close()
