"""Real-browser check of the report set (``make test-browser``): headless Chromium (Debian's
package) opens index.html and every report from file:// with the network off; every chart is
drawn, no request fails or leaves the machine, the Content-Security-Policy blocks nothing the
page needs, and a screenshot of each page is saved.

The sample city it reports on carries script-injection payloads in every free-text and name
column (tests/helpers/payloads.py): on every page no dialog opens, no element carries an event
handler or a javascript: URL, and the payloads show as text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dxkpi.core.project import Project
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.reports.escape import sets_the_policy
from dxkpi.reports.runner import REPORTS, run_reports
from tests.helpers import ROOT, SECRET
from tests.helpers.payloads import PAYLOADS, plant_payloads

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
    """The full report set of the sample city, payloads planted in its names and free text
    (two department drill-downs)."""
    from dxkpi.sample import generate_city

    base = tmp_path_factory.mktemp("browser")
    generate_city(base / "raw", seed=7)
    assert plant_payloads(base / "raw") == 7  # every free-text column of the contract
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
    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
        )
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
    assert blocked == []


#: Everything on a page that could run: script-like elements, event handlers, javascript: URLs.
ACTIVE = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    if (["script", "iframe", "frame", "object", "embed"].includes(tag)) found.push(`<${tag}>`);
    for (const a of el.attributes) {
      if (a.name.startsWith("on")) found.push(`<${tag} ${a.name}>`);
      if (/^\\s*javascript:/i.test(a.value)) found.push(`<${tag} ${a.name}="${a.value}">`);
    }
  }
  return found;
}"""


def test_data_never_runs_as_code(report_set: Path) -> None:
    """Every page of the planted city: no dialog, nothing runnable from the data, the policy
    set; the drill-downs and the PDCA review (which name departments, courses, proposals and
    projects in headings, sentences and tables) show every payload as text."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required: make browser-deps"
    pages = sorted(report_set.glob("*.html"))
    assert {"department_010100.html", "pdca_review.html"} <= {p.name for p in pages}
    dialogs: list[str] = []
    active: dict[str, list[str]] = {}
    unshown: list[str] = []
    unprotected = [p.name for p in pages if not sets_the_policy(p.read_text(encoding="utf-8"))]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in pages:
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(200)  # let anything that would fire on load fire
            found = page.evaluate(ACTIVE)
            if found:
                active[path.name] = found
            naming = path.stem.startswith("department_") or path.stem == "pdca_review"
            text = page.inner_text("body")
            if naming and not all(p in text for p in PAYLOADS):
                unshown.append(path.name)
        browser.close()
    assert dialogs == []
    assert active == {}
    assert unprotected == []
    assert unshown == []


def _ink_bottom(png: Path) -> float:
    """How far down a rendered page its content reaches (0–1), page number excluded."""
    from PIL import Image

    image = Image.open(png).convert("L")
    width, height = image.size
    body = image.crop((0, 0, width, int(height * 0.93)))  # above the page-number footer
    box = body.point(lambda v: 255 if v < 200 else 0).getbbox()
    return 0.0 if box is None else box[3] / height


def test_the_pdca_handout_prints(report_set: Path, tmp_path: Path) -> None:
    """The PDCA review printed to A4 (dxkpi pdca --pdf): every page numbered "n / N"; the first
    page is not a near-empty cover (section 1 starts on it); no page but the last is left less
    than 30% full (a forced break per section left pages at 15–29%); no number is split from
    its unit across lines."""
    import re
    import subprocess

    from dxkpi.commands.pdca import print_pdf

    pdf = print_pdf(report_set / "pdca_review.html", tmp_path / "pdca_review.pdf")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")[:-1]
    n = len(pages)
    assert n >= 5
    for i, page in enumerate(pages, start=1):
        assert f"{i} / {n}" in page, (i, page[-200:])
    assert "今年度のまとめ" in pages[0]
    # a unit cut inside (ポイ|ント, 件/100|人) or cut from its number (3.1|ポイント); names such as
    # 業務削減|時間 may wrap in a narrow cell
    split_units = re.findall(
        r"ポイ\s*\n\s*ント|件/100\s*\n\s*人|\d\s*\n\s*(?:ポイント|件/100人)", text
    )
    assert split_units == []
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "p")], check=True)
    shots = sorted(tmp_path.glob("p-*.png"))
    assert len(shots) == n
    short = {png.name: round(_ink_bottom(png), 2) for png in shots[:-1] if _ink_bottom(png) < 0.3}
    assert short == {}


def test_every_page_is_titled_with_its_report_name(report_set: Path) -> None:
    """Every page's <title> — the tab, the bookmark and the PDF's title metadata — is the
    report's name and year (a drill-down with its department's name), never "Notebook"."""
    from playwright.sync_api import sync_playwright

    from dxkpi.ingest.processed import load_processed
    from dxkpi.reports.runner import report_title

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required: make browser-deps"
    departments = load_processed(report_set.parent.parent / "processed").departments
    names = dict(departments.select("department_code", "department_name").collect().iter_rows())
    specs = {r.name: r for r in REPORTS}
    expected = {}
    for page_file in sorted(report_set.glob("*.html")):
        if page_file.name == "index.html":
            continue
        report, _, code = page_file.stem.partition("_")
        spec = specs.get(page_file.stem) or specs[report]
        expected[page_file.name] = report_title(
            spec, "ja", 2025, names[code] if spec.per_department else None
        )
    assert len(expected) >= 8
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_context(offline=True).new_page()
        for file_name, title in expected.items():
            page.goto((report_set / file_name).as_uri())
            assert page.title() == title, file_name
        page.goto((report_set / "index.html").as_uri())
        assert "2025年度" in page.title()
        browser.close()
    assert not any(t == "Notebook" for t in expected.values())
