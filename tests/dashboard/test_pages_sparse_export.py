"""An export with only the required SDTM variables of AE and EX (a real SAS-made study, MPrithvidhar/SDTM-Project,
has EX without EXENDTC; AEs are routinely uncoded, AEDECOD empty, until MedDRA coding): the cut keeps
DESIGN.md's adam.adae columns (null), every page renders, and an uncoded AE is in the heatmap under its verbatim
term, not left out."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboard import queries
from dashboard.filters import Filters
from etl.loader import load_export
from tests.dashboard.conftest import REPO, render_page

DROPPED = {"ae.csv": ["AEDECOD", "AEBODSYS", "AESER"], "ex.csv": ["EXENDTC"]}


@pytest.fixture(scope="module")
def sparse_cut(tmp_path_factory: pytest.TempPathFactory, demo_export_dir: Path, protocol) -> Path:
    export = tmp_path_factory.mktemp("sparse") / "export"
    shutil.copytree(demo_export_dir, export)
    for name, cols in DROPPED.items():
        pl.read_csv(export / name, infer_schema=False).drop(cols).write_csv(export / name)
    db = export.parent / "cut" / "current.duckdb"
    db.parent.mkdir()
    assert load_export(export, db, protocol, run_checks=False).status == "ok"
    return db


def test_adae_keeps_the_contract_columns_when_the_export_lacks_them(sparse_cut: Path) -> None:
    with duckdb.connect(str(sparse_cut), read_only=True) as con:
        cols = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'adam' "
                                          "AND table_name = 'adae'").fetchall()}
        assert {"AETERM", "AEDECOD", "AEBODSYS", "AESER"} <= cols
        assert con.execute("SELECT count(*) FROM adam.adae WHERE AEDECOD IS NOT NULL OR AEBODSYS IS NOT NULL "
                           "OR AESER IS NOT NULL").fetchone()[0] == 0


def test_uncoded_events_are_in_the_heatmap_under_their_verbatim_term(sparse_cut: Path) -> None:
    with duckdb.connect(str(sparse_cut), read_only=True) as con:
        matrix = queries.worst_grade(con, Filters(), "AEDECOD", None, False)
        in_cycles = con.execute("SELECT count(*) FROM adam.adae WHERE CYCLE IS NOT NULL").fetchall()[0][0]
        term, cycle = matrix.row(0)[0], matrix.row(0)[1]
        cell = queries.ae_events(con, Filters(), None, False, "AEDECOD", term, cycle)
    assert in_cycles > 0 and matrix["events"].sum() == in_cycles  # every event with a cycle is in a cell
    assert matrix["AEDECOD"].str.ends_with(queries.NOT_CODED).all()
    assert cell.height == matrix.row(0)[3] and (cell["AETERM"] + queries.NOT_CODED == term).all()


@pytest.mark.parametrize("page", sorted(p for p in glob.glob(str(REPO / "dashboard/pages/*.py")) if "__init__" not in p))
def test_every_page_renders_on_the_sparse_export(sparse_cut: Path, app_env, page: str) -> None:
    app_env(sparse_cut)
    render_page(page)
