"""Dashboard fixtures: the shared demo cut (a second copy with two loads for 'what changed')."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "streamlit_app.py"


def render_page(page: str, timeout: int = 90):
    """The app run, then switched to `page` (a path under dashboard/pages) and run again; no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="session")
def dash_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            demo_export_dir: Path, protocol) -> Path:
    """The demo cut. Uses the shared `demo_cut_db` (with checks) once the checks runner exists."""
    if importlib.util.find_spec("checks.runner") is not None:
        return request.getfixturevalue("demo_cut_db")
    from etl.loader import load_export

    db = tmp_path_factory.mktemp("dash-cut") / "current.duckdb"
    assert load_export(demo_export_dir, db, protocol, run_checks=False).status == "ok"
    return db


@pytest.fixture(scope="session")
def two_cut_db(tmp_path_factory: pytest.TempPathFactory, dash_db: Path, demo_export_dir: Path, protocol) -> Path:
    """A copy of the demo cut loaded a second time from the same export (meta.loads has two cuts)."""
    from etl.loader import load_export

    db = tmp_path_factory.mktemp("dash-two") / "current.duckdb"
    shutil.copy2(dash_db, db)
    run_checks = importlib.util.find_spec("checks.runner") is not None
    assert load_export(demo_export_dir, db, protocol, run_checks=run_checks).status == "ok"
    return db


@pytest.fixture()
def app_env(monkeypatch: pytest.MonkeyPatch):
    """Point the app at a cut through SAFETYBOARD_DB (what `safetyboard serve --db` sets)."""
    def use(db: Path) -> None:
        monkeypatch.setenv("SAFETYBOARD_DB", str(db))
    yield use
    os.environ.pop("SAFETYBOARD_DB", None)


@pytest.fixture(scope="session")
def pilot_cut_db(tmp_path_factory: pytest.TempPathFactory, pilot_dir: Path, protocol) -> Path:
    """The real CDISC pilot loaded (no checks): a study whose arms are not dose levels."""
    from etl.loader import load_export

    db = tmp_path_factory.mktemp("pilot-cut") / "current.duckdb"
    assert load_export(pilot_dir, db, protocol, run_checks=False).status == "ok"
    return db
