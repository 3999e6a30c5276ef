"""A fatal AE must be graded 5 for the GRADE5 DLT rule to see it (CTCAE v5: grade 5 = death related to the AE)."""

from pathlib import Path

import duckdb

from etl.loader import load_export
from safetyboard.protocol import Protocol
from tests.etl.etl_sample_export import AE


def test_a_death_graded_below_5_or_a_grade_5_that_did_not_die_is_an_error(make_export, tmp_path: Path,
                                                                          protocol: Protocol) -> None:
    base = dict(AE[0], AEOUT="", AESDTH="")
    ae = [
        dict(base, AESEQ="1", AETOXGR="3", AEOUT="FATAL"),                  # a death graded 3: the rule misses it
        dict(base, AESEQ="2", AETOXGR="Grade 4", AESDTH="Y"),              # died (AESDTH), graded 4
        dict(base, AESEQ="3", AETOXGR="5", AEOUT="RECOVERED/RESOLVED"),    # grade 5 but recovered
        dict(base, AESEQ="4", AETOXGR="5", AEOUT="FATAL", AESDTH="Y"),     # consistent
        dict(base, AESEQ="5", AETOXGR="", AEOUT="FATAL"),                  # ungraded: ae_grade_missing says so
        dict(base, AESEQ="6", AETOXGR="2", AEOUT="RECOVERED/RESOLVED"),    # consistent
    ]
    db = tmp_path / "cuts" / "current.duckdb"
    load_export(make_export(ae=ae), db, protocol, run_checks=True)
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.sql("SELECT record_key, severity, message FROM meta.findings "
                      "WHERE check_id = 'ae_fatal_grade_mismatch' ORDER BY record_key").fetchall()
        dlt = con.sql("SELECT AESEQ, DLTRULE FROM adam.adae WHERE AESEQ IN (1, 4) ORDER BY AESEQ").fetchall()
    rule = "): the GRADE5 DLT rule does not see a death graded below 5"
    assert got == [
        ("AESEQ=1", "error", "fatal (AEOUT 'FATAL', AESDTH '') but AETOXGR '3' (Hypertension" + rule),
        ("AESEQ=2", "error", "fatal (AEOUT '', AESDTH 'Y') but AETOXGR 'Grade 4' (Hypertension" + rule),
        ("AESEQ=3", "error", "grade 5 (death) but AEOUT 'RECOVERED/RESOLVED' (Hypertension)"),
    ]
    # the rule reads the grade as recorded: the consistent grade 5 is a DLT, the death graded 3 is not (the finding)
    assert dlt[1][1] is not None and "GRADE5" in dlt[1][1] and (dlt[0][1] is None or "GRADE5" not in dlt[0][1])
