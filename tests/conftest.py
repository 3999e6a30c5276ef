"""Shared fixtures: the trial protocol, the real CDISC pilot, and one demo export + cut per session.

The demo export and cut are built once per test session (56 subjects, the default seed) with the
same functions the command line uses; tests that change a cut copy it first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from safetyboard.protocol import Protocol, load_protocol

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO.parent / "shared" / "realdata" / "cdiscpilot01-tdf"
DEMO_SEED = 20260305


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    return load_protocol()


@pytest.fixture(scope="session")
def pilot_dir() -> Path:
    """The real CDISC pilot SDTM export, read in place (never copied into the repo)."""
    if not REALDATA.is_dir():
        pytest.fail(f"the shared real data is missing: {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def demo_export_dir(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> Path:
    """A demo export (CSV) with planted issues and its _truth.json."""
    from etl.demo.generate import write_demo_export

    out = tmp_path_factory.mktemp("demo-export")
    write_demo_export(out, subjects=56, seed=DEMO_SEED, fmt="csv", protocol=protocol)
    return out


@pytest.fixture(scope="session")
def demo_cut_db(tmp_path_factory: pytest.TempPathFactory, demo_export_dir: Path, protocol: Protocol) -> Path:
    """The demo export loaded (with checks) into a current cut file. Treat as read-only."""
    from etl.loader import load_export

    db = tmp_path_factory.mktemp("demo-cut") / "current.duckdb"
    result = load_export(demo_export_dir, db, protocol)
    assert result.status == "ok", result
    return db


@pytest.fixture()
def demo_cut_copy(tmp_path: Path, demo_cut_db: Path) -> Path:
    """A private copy of the demo cut, for tests that load again or change it."""
    target = tmp_path / "cuts" / "current.duckdb"
    target.parent.mkdir(parents=True)
    shutil.copy2(demo_cut_db, target)
    archive = demo_cut_db.parent / "current.cuts"
    if archive.is_dir():
        shutil.copytree(archive, target.parent / "current.cuts")
    return target
