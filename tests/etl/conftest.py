"""Fixtures for the loader tests; the sample tables live in etl_sample_export.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from etl_sample_export import BASE_TABLES, ExportFactory, Table, write_csv


@pytest.fixture()
def make_export(tmp_path: Path) -> ExportFactory:
    """make_export(name="export", skip=(), **{domain: rows}) -> a folder with one CSV per domain.

    The five required domains come from the base tables unless replaced or skipped.
    """

    def make(name: str = "export", skip: tuple[str, ...] = (), **tables: Table) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        merged = {**BASE_TABLES, **tables}
        for domain, rows in merged.items():
            if domain in skip:
                continue
            write_csv(folder / f"{domain}.csv", rows)
        return folder

    return make
