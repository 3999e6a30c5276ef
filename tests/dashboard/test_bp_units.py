"""The Blood pressure page plots mmHg: a reading in kPa is shown converted, one in an unknown unit is not shown."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import polars as pl

from dashboard import queries
from dashboard.filters import Filters
from etl.loader import load_export
from tests.derive.derive_sample_trial import Subject, day, write_trial


def test_bp_page_data_is_mmhg(tmp_path: Path, protocol) -> None:
    folder = write_trial(tmp_path / "export", [Subject("S1", 40)])
    rows = [  # C1D8 in kPa: 22 / 14 kPa = 165.0 / 105.0 mmHg; C1D15 in an unknown unit
        ("SYSBP", 22, "kPa", 7), ("DIABP", 14, "kPa", 7), ("SYSBP", 150, "cmH2O", 14), ("DIABP", 80, "mmHg", 14),
    ]
    with (folder / "vs.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["USUBJID", "VSSEQ", "VSTESTCD", "VSSTRESN", "VSSTRESU", "VSDTC"])
        w.writerows(["S1", i, code, v, u, day(o)] for i, (code, v, u, o) in enumerate(rows, start=1))
    db = tmp_path / "cut.duckdb"
    assert load_export(folder, db, protocol, run_checks=False).status == "ok"
    with duckdb.connect(str(db), read_only=True) as con:
        bp = queries.blood_pressure(con, Filters())
        share = queries.bp_high_share(con, Filters(), 160, 100)
    got = sorted(zip(bp["PARAMCD"], bp["ADY"], bp["AVAL"].round(1), strict=True))
    assert got == [("DIABP", 8, 105.0), ("DIABP", 15, 80.0), ("SYSBP", 8, 165.0)]  # no '150 cmH2O' as mmHg
    assert share.filter(pl.col("CYCLE") == 1)["high"].to_list() == [1]


def test_bands_are_labelled_adult_categories() -> None:
    from dashboard.figures.blood_pressure import bp_figure

    bp = pl.DataFrame({"USUBJID": ["S1"], "DOSELVLC": ["DL1"], "PARAMCD": ["SYSBP"], "ADY": [1], "AVAL": [132.0]})
    fig = bp_figure(bp, [[140, 90]], category_bands={1: (120, 80), 2: (140, 90), 3: (160, 100)})
    notes = [a.text for a in fig.layout.annotations if a.text and "shaded" in a.text]
    assert notes and all("adult BP categories" in n and "not CTCAE AE grades" in n for n in notes)


def test_bp_page_caption_states_the_protocol_cut_offs(dash_db: Path, app_env, tmp_path: Path, monkeypatch) -> None:
    # the adolescent cut-offs in the caption come from the protocol ([blood_pressure], [eligibility]), not the page
    from streamlit.testing.v1 import AppTest

    from dashboard.ui import ENV_PROTOCOL
    from safetyboard.protocol import DEFAULT_PROTOCOL
    from tests.dashboard.conftest import APP

    text = Path(DEFAULT_PROTOCOL).read_text(encoding="utf-8")
    assert "adolescent_cat2 = [130, 80]" in text
    changed = tmp_path / "protocol.toml"
    changed.write_text(text.replace("adolescent_cat2 = [130, 80]", "adolescent_cat2 = [125, 78]"), encoding="utf-8")
    from dashboard import ui

    app_env(dash_db)
    monkeypatch.setenv(ENV_PROTOCOL, str(changed))
    ui.get_protocol.clear()  # st.cache_resource lives as long as the process: other tests ran the default file
    try:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        at.switch_page("dashboard/pages/blood_pressure.py")
        at.run()
    finally:
        ui.get_protocol.clear()  # nor may the changed file reach the tests after this one
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    assert any("adolescents 12-17 have lower fixed cut-offs: category 2 from 125/78" in c for c in captions), captions
