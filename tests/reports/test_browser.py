"""Real-browser check of the report set (``make test-browser``): headless Chromium (Debian's
package) opens index.html and every report from file:// with the network off; every chart is
drawn, no request fails or leaves the machine, and a screenshot of each page is saved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dxkpi.core.project import Project
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.reports.runner import REPORTS, run_reports
from tests.helpers import ROOT, SECRET

pytestmark = pytest.mark.browser

WITH_CHARTS = {"kpi_dashboard", "behaviour_change", "maturity"}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def report_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full report set of the sample city (two department drill-downs)."""
    from dxkpi.sample import generate_city

    base = tmp_path_factory.mktemp("browser")
    generate_city(base / "raw", seed=7)
    run_ingest(base / "raw", base / "processed", expectations=ROOT / "expectations", secret=SECRET)
    result = run_reports(
        fiscal_year=2025,
        project=Project(ROOT),
        data_dir=base / "processed",
        reports_dir=base / "reports",
        departments=("010100", "020100"),
        keep_going=True,
    )
    assert result.ok, [r.error for r in result.results if r.status != "ok"]
    return result.folder


def test_every_report_opens_offline_with_charts(report_set: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required: make browser-deps"
    shots = report_set / "screenshots"
    shots.mkdir(exist_ok=True)
    failed: list[str] = []
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(("file://", "data:", "about:"))
                else None
            ),
        )
        page.goto((report_set / "index.html").as_uri())
        page.screenshot(path=str(shots / "index.png"), full_page=True)
        links = page.eval_on_selector_all("a[href$='.html']", "els => els.map(e => e.href)")
        names = {Path(link).stem for link in links}
        assert {r.name for r in REPORTS if not (r.per_department or r.shares)} <= names
        assert {"department_010100", "department_020100"} <= names
        for link in links:
            page.goto(link)
            page.wait_for_load_state("load")
            name = Path(link).stem
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            assert page.locator("h1").count() >= 1, name
            charts = page.locator("svg")
            if name in WITH_CHARTS or name.startswith("department_"):
                assert charts.count() >= 1, f"{name}: no chart"
            for i in range(charts.count()):
                marks = charts.nth(i).locator("path, rect, line, circle, text").count()
                assert marks > 0, f"{name}: chart {i} has no marks"
        browser.close()
    assert failed == []
    assert outside == []
