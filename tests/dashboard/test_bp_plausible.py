"""The blood-pressure figures leave out values the vs_implausible check flags (e.g. a 400 mmHg typo)."""

from pathlib import Path

import duckdb

from dashboard import queries
from dashboard.filters import Filters


def test_implausible_bp_is_not_counted_as_hypertension(demo_cut_db: Path) -> None:
    with duckdb.connect(str(demo_cut_db), read_only=True) as con:
        raw_max = con.execute("SELECT max(VSSTRESN) FROM raw.vs WHERE VSTESTCD = 'SYSBP'").fetchall()[0][0]
        assert raw_max == 400  # the demo plants SYSBP 400 (vs_implausible)
        bp = queries.blood_pressure(con, Filters())
        share = queries.bp_high_share(con, Filters(), 160, 100)
    assert bp.filter(bp["PARAMCD"] == "SYSBP")["AVAL"].max() <= 260
    assert share["high"].sum() <= share["patients"].sum()
