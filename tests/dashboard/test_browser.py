"""Real browser: serve the demo cut with `safetyboard serve`, visit every page in Debian's chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PAGES = {
    "Overview": "",  # the default page lives at the root
    "Dose escalation": "dose-escalation",
    "DLT window": "dlt-window",
    "Toxicity heatmap": "toxicity-heatmap",
    "Blood pressure": "blood-pressure",
    "Data quality": "data-quality",
}
SHOTS = REPO / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(dash_db: Path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    port = _free_port()
    sb = shutil.which("safetyboard", path=str(Path(sys.executable).parent)) or "safetyboard"
    proc = subprocess.Popen([sb, "serve", "--db", str(dash_db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"safetyboard serve did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
    yield url
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 2600})
        yield pg
        browser.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    page.wait_for_timeout(800)  # let the remaining elements settle before checking and the screenshot


@pytest.mark.parametrize("title", list(PAGES))
def test_every_page_renders_its_figure(page, server, title: str):
    _open(page, f"{server}/{PAGES[title]}")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator("h1").first.inner_text().strip() == title
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{PAGES[title] or 'overview'}.png"), full_page=True)


def test_escalation_page_matches_the_command(page, server, dash_db: Path):
    out = subprocess.run([sys.executable, "-m", "safetyboard.cli", "escalation", "--db", str(dash_db), "--json"],
                         capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    _open(page, f"{server}/dose-escalation")
    metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
    joined = "\n".join(metrics)
    assert re.search(rf"Decision\s+{doc['decision'].upper()}", joined)
    assert re.search(rf"Current dose\s+{re.escape(doc['current_level'])}", joined)
    body = page.inner_text("body")
    for lv in doc["levels"]:
        if lv["n_evaluable"]:
            assert f"{lv['n_dlt']}/{lv['n_evaluable']}" in page.locator('[data-testid="stPlotlyChart"]').first.inner_text() \
                or f"{lv['n_dlt']}/{lv['n_evaluable']}" in body


def test_filter_is_kept_in_the_link(page, server):
    _open(page, f"{server}/?dose=DL1")
    assert "Dose level: DL1" in page.inner_text("body")
    page.get_by_role("link", name="Blood pressure").click()
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    page.wait_for_timeout(500)
    assert "dose=DL1" in page.url


def test_overview_opens_from_its_own_link(page, server):
    # the default page is served at "/"; a copied or typed /overview link must open it too
    _open(page, f"{server}/overview?dose=DL1")
    body = page.inner_text("body")
    assert "Page not found" not in body
    assert page.locator("h1").first.inner_text().strip() == "Overview"
    assert "Dose level: DL1" in body


def test_clicking_a_heatmap_cell_lists_its_events(page, server, dash_db: Path):
    # plotly cannot select a heatmap cell by itself; the page promises "pick a cell to list the events"
    import duckdb

    from dashboard import queries
    from dashboard.filters import Filters

    with duckdb.connect(str(dash_db), read_only=True) as con:
        matrix = queries.worst_grade(con, Filters(), "AEDECOD", None, True)
    rows = matrix["AEDECOD"].unique(maintain_order=True).to_list()
    cycles = sorted(matrix["CYCLE"].unique().to_list())
    cells = {(r, c) for r, c in matrix.select("AEDECOD", "CYCLE").iter_rows()}
    # a cell other than the first row and cycle (what the page lists before any click)
    i, j = next((i, j) for i, r in enumerate(rows) for j, c in enumerate(cycles) if (r, c) in cells and i and j)
    _open(page, f"{server}/toxicity-heatmap")
    area = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first.bounding_box()
    x = area["x"] + area["width"] * (j + 0.5) / len(cycles)
    y = area["y"] + area["height"] * (i + 0.5) / len(rows)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expected = f"Events behind {rows[i]}, cycle {cycles[j]}"
    page.get_by_text(expected).wait_for(timeout=30_000)
