"""Real-browser check of the report set (``make test-browser``): headless Chromium (Debian's
package) opens index.html and every report from file:// with the network off; every chart is
drawn live by the inlined Vega runtime with its static SVG kept as fallback, no request fails or
leaves the machine, the Content-Security-Policy blocks nothing the page needs, and a screenshot
of each page is saved. On the dashboard, hovering a bar shows its numerator and target and the
group picker fades the other groups; without scripts, and in print, the static SVG is shown.

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
from dxkpi.reports.interactive import EMBED_SCRIPT, script_hashes, vega_runtime
from dxkpi.reports.runner import REPORTS, run_reports
from tests.helpers import ROOT, SECRET
from tests.helpers.pages import d3_count, reexport
from tests.helpers.payloads import PAYLOADS, plant_payloads


def _rows(dataset: dict | list) -> list[dict]:
    """A page's inline dataset as rows (it is written by columns when its rows share keys)."""
    if isinstance(dataset, dict):
        return [dict(zip(dataset["columns"], row, strict=True)) for row in dataset["rows"]]
    return dataset


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
            boxes = page.locator(".dxkpi-chart")
            if boxes.count():  # every chart drawn live, none failed, each keeps its SVG
                page.wait_for_function(
                    "n => document.querySelectorAll('.dxkpi-live-ok').length === n",
                    arg=boxes.count(),
                    timeout=20_000,
                )
                assert page.locator(".dxkpi-live-failed").count() == 0, name
                assert page.locator(".dxkpi-static svg").count() == boxes.count(), name
                assert not page.locator(".dxkpi-static").first.is_visible(), name
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            assert page.locator("h1").count() >= 1, name
            charts = page.locator("svg")
            if name in WITH_CHARTS or name.startswith("department_"):
                assert page.locator(".dxkpi-live svg").count() >= 1, f"{name}: no live chart"
            for i in range(charts.count()):
                marks = charts.nth(i).locator("path, rect, line, circle, text").count()
                assert marks > 0, f"{name}: chart {i} has no marks"
        browser.close()
    assert failed == []
    assert outside == []
    assert blocked == []


#: Everything on a page that could run: script-like elements, event handlers, javascript: URLs.
#: Chart specs (JSON data blocks, never run) and the two inlined runtime scripts are left out:
#: the test checks those against the runtime and the page's policy.
ACTIVE = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    const known = tag === "script" && (
      (el.type === "application/json" && el.classList.contains("dxkpi-spec")
       && el.attributes.length === 2)
      || (el.hasAttribute("data-dxkpi-runtime") && el.attributes.length === 1));
    if (["script", "iframe", "frame", "object", "embed"].includes(tag) && !known) {
      found.push(`<${tag}>`);
    }
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
    unprotected = [
        p.name
        for p in pages
        if not (
            sets_the_policy(p.read_text(encoding="utf-8"))
            or sets_the_policy(p.read_text(encoding="utf-8"), script_hashes())
        )
    ]
    runtimes: dict[str, list[str]] = {}
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
            scripts = page.eval_on_selector_all(
                "script[data-dxkpi-runtime]", "els => els.map(e => e.textContent)"
            )
            if scripts and scripts != [vega_runtime(), EMBED_SCRIPT]:
                runtimes[path.name] = [s[:80] for s in scripts]
            naming = path.stem.startswith("department_") or path.stem == "pdca_review"
            text = page.inner_text("body")
            if naming and not all(p in text for p in PAYLOADS):
                unshown.append(path.name)
        browser.close()
    assert dialogs == []
    assert active == {}
    assert runtimes == {}
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


def test_dashboard_tooltip_picker_and_static_fallback(report_set: Path) -> None:
    """Hover a department's bar: the tooltip shows its numerator and target; pick a department:
    the other bars fade; with scripts off, and in print, the static SVG is what shows."""
    import json

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required: make browser-deps"
    dashboard = report_set / "kpi_dashboard.html"
    html = dashboard.read_text(encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(dashboard.as_uri())
        page.wait_for_selector(".dxkpi-live-ok")
        # the first by-department chart (it has the picker) and the row its first bar draws
        box = page.locator(".dxkpi-chart:has(.vega-bindings select)").first
        spec = json.loads(box.locator("script.dxkpi-spec").text_content() or "{}")
        rows = next(
            rows
            for rows in map(_rows, spec["datasets"].values())
            if rows and "numerator" in rows[0] and "text" in rows[0]
        )
        bar = box.locator(".dxkpi-live .mark-rect path").first
        bar.scroll_into_view_if_needed()
        bar.hover()
        tip = page.locator("#vg-tooltip-element.visible")
        tip.wait_for(timeout=5_000)
        text = tip.inner_text()
        shown = next(r for r in rows if r["label"] in text)
        assert "分子" in text and "目標" in text and "評価" in text, text
        assert d3_count(shown["numerator"]) in text, text
        page.screenshot(path=str(report_set / "screenshots" / "dashboard_tooltip.png"))
        # the picker: choose the second department; its bar stays, the others fade
        select = box.locator(".vega-bindings select")
        choice = rows[1]["label"]
        select.select_option(label=choice)
        page.wait_for_timeout(300)
        opacities = box.locator(".dxkpi-live g.layer_0_marks path").evaluate_all(  # the bars
            "els => els.map(e => e.getAttribute('opacity') || e.style.opacity || '1')"
        )
        assert sorted(set(opacities)) == ["0.25", "1"], opacities
        assert opacities.count("1") == 1, opacities
        # print shows the static SVG, not the live chart
        page.emulate_media(media="print")
        assert box.locator(".dxkpi-static").is_visible()
        assert not box.locator(".dxkpi-live").is_visible()
        context.close()
        # scripts off: the static SVG only, with its marks
        quiet = browser.new_context(offline=True, java_script_enabled=False)
        page = quiet.new_page()
        page.goto(dashboard.as_uri())
        static = page.locator(".dxkpi-static svg")
        assert static.count() == html.count('class="dxkpi-spec"') >= 1
        assert static.first.is_visible()
        assert static.first.locator("path, rect").count() > 0
        assert page.locator(".dxkpi-live svg").count() == 0
        browser.close()


def test_pages_look_the_same_with_only_the_css_they_use(report_set: Path, tmp_path: Path) -> None:
    """The CSS reduction (dxkpi.reports.pagecss) changes no pixel: full-page screenshots of
    the dashboard and the PDCA review, on screen and in print, with scripts on and off, are
    identical with the template's whole stylesheet and with the reduced one."""
    from PIL import Image, ImageChops
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium
    pages = {}
    for name in ("kpi_dashboard", "pdca_review"):
        for whole in (True, False):
            target = tmp_path / f"{name}-{'whole' if whole else 'reduced'}.html"
            pages[name, whole] = reexport(
                report_set / f"{name}.ipynb", target, live=True, whole_css=whole
            )
        whole_size = pages[name, True].stat().st_size
        assert pages[name, False].stat().st_size < whole_size - 200_000, name
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        for scripts in (True, False):
            context = browser.new_context(
                offline=True, java_script_enabled=scripts, viewport={"width": 1280, "height": 900}
            )
            for media in ("screen", "print"):
                for name in ("kpi_dashboard", "pdca_review"):
                    shots = []
                    for whole in (True, False):
                        page = context.new_page()
                        page.emulate_media(media=media)
                        page.goto(pages[name, whole].as_uri())
                        if scripts:  # every live chart drawn (both pages have some)
                            page.wait_for_function(
                                "n => document.querySelectorAll('.dxkpi-live-ok').length === n",
                                arg=page.locator(".dxkpi-chart").count(),
                                timeout=20_000,
                            )
                        shot = tmp_path / f"{name}-{whole}-{media}-{scripts}.png"
                        page.screenshot(path=str(shot), full_page=True)
                        shots.append(Image.open(shot).convert("RGB"))
                        page.close()
                    assert shots[0].size == shots[1].size, (name, media, scripts)
                    diff = ImageChops.difference(shots[0], shots[1]).getbbox()
                    assert diff is None, (name, media, scripts, diff)
            context.close()
        browser.close()
