"""An invalid optional date keeps its record (an AE never leaves DLT review over a date typo)."""

from pathlib import Path

import duckdb

from etl.loader import load_export
from safetyboard.protocol import Protocol
from tests.etl.etl_sample_export import AE


def test_invalid_ae_dates_keep_the_event_with_the_date_unknown(make_export, tmp_path: Path, protocol: Protocol) -> None:
    ae = [
        dict(AE[0], AEENDTC="2026-02-30"),          # impossible end date
        dict(AE[1], AESTDTC="2026-13-01", AETOXGR="4"),  # impossible onset of a grade 4 event
    ]
    db = tmp_path / "cuts" / "current.duckdb"
    result = load_export(make_export(ae=ae), db, protocol, run_checks=True)
    assert result.domains["ae"].rows_loaded == 2 and result.domains["ae"].rows_quarantined == 0
    with duckdb.connect(str(db), read_only=True) as con:
        raw = con.sql('SELECT AESEQ, USUBJID, AEENDTC, AEENDTC_DT, AEENDTC_DTF, AESTDTC_DT, AESTDTC_DTF FROM raw.ae ORDER BY USUBJID').pl()
        adae = con.sql("SELECT USUBJID, AETOXGRN, ASTDT, DLTWINFL, DLTCFL FROM adam.adae ORDER BY USUBJID").pl()
        findings = con.sql("SELECT usubjid, record_key, severity FROM meta.findings WHERE check_id = 'ae_date_invalid' ORDER BY usubjid").pl()
    assert raw["AEENDTC"][0] == "2026-02-30" and raw["AEENDTC_DT"][0] is None and raw["AEENDTC_DTF"][0] == "X"
    assert raw["AESTDTC_DT"][1] is None and raw["AESTDTC_DTF"][1] == "X"
    # the grade 4 event is still in the analysis, its DLT status undecided rather than 'N'
    g4 = adae.filter(adae["AETOXGRN"] == 4)
    assert g4.height == 1 and g4["ASTDT"][0] is None and g4["DLTCFL"][0] is None
    assert findings["usubjid"].to_list() == ["S-001", "S-002"]
    assert set(findings["severity"]) == {"error"}
