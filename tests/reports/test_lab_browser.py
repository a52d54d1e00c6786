"""The analyst's path in a real JupyterLab (``make test-browser``): a project holding the sample
city, JupyterLab on a free localhost port with a token, the getting-started notebook opened in
headless Chromium (Debian's package, offline context), every cell run from the Run menu. No
error output, the project's targets shown, the charts drawn live (marks in an SVG), and hovering
a bar shows its numerator and target. A screenshot is saved beside the project."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import SampleCity
from tests.helpers import ROOT
from tests.helpers.pages import d3_count


def _rows(dataset: dict | list) -> list[dict]:
    """A page's inline dataset as rows (it is written by columns when its rows share keys)."""
    if isinstance(dataset, dict):
        return [dict(zip(dataset["columns"], row, strict=True)) for row in dataset["rows"]]
    return dataset


pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "notebooks/exploratory/0.1-dx-getting-started.ipynb"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(sample_city: SampleCity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(url, project folder): JupyterLab serving a copy of the project with the sample city."""
    project = tmp_path_factory.mktemp("lab_project")
    shutil.copy(ROOT / "dxkpi.toml", project / "dxkpi.toml")
    (project / "notebooks" / "exploratory").mkdir(parents=True)
    shutil.copy(ROOT / NOTEBOOK, project / NOTEBOOK)
    shutil.copytree(sample_city.processed, project / "data" / "processed")
    port, token = _free_port(), secrets.token_hex(16)
    # every cell kept in the page (JupyterLab otherwise leaves cells out of view unrendered),
    # no news pop-up
    settings = project / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    for plugin, values in (
        ("notebook-extension/tracker", {"windowingMode": "none"}),
        ("apputils-extension/notification", {"fetchNews": "false"}),
    ):
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(project / ".jupyter"),
        "JUPYTERLAB_SETTINGS_DIR": str(project / ".jupyter" / "lab" / "user-settings"),
    }
    env.pop("DXKPI_INTERACTIVE", None)  # what a kernel of JupyterLab decides by itself
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={project}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log = (project / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a cold start on 2 busy cores takes up to 2 min
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((project / "lab.log").read_text()) from None
                time.sleep(1)
        yield f"{url}/lab/tree/{NOTEBOOK}?token={token}", project
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_getting_started_runs_in_jupyterlab_with_live_charts(lab: tuple) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, project = lab
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required: make browser-deps"
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:"))
                else None
            ),
        )
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=180_000)
        # the notebook names no kernel (outputs and metadata stripped): JupyterLab asks, and
        # its default choice is this environment's python3
        with contextlib.suppress(PlaywrightTimeout):
            page.get_by_role("button", name="Select", exact=True).click(timeout=30_000)
        # the kernel is up when its (screen-reader) status says Idle
        page.wait_for_selector("text=Kernel status: Idle", state="attached", timeout=180_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # every code cell executed: a number in each prompt, no [*]
        page.wait_for_function(
            """() => {
              const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
              return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=300_000,
        )
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
            " .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']"
        )
        assert errors.count() == 0, [errors.nth(i).inner_text() for i in range(errors.count())]
        config = tomllib.loads((project / "dxkpi.toml").read_text(encoding="utf-8"))
        participation = config["targets"]["2025"]["participation_rate"]
        assert f"'participation_rate': {participation}" in page.inner_text(".jp-Notebook")
        page.wait_for_function(
            "() => document.querySelectorAll('.dxkpi-lab-chart.dxkpi-live-ok').length >= 3",
            timeout=60_000,
        )
        assert page.locator(".dxkpi-lab-chart.dxkpi-live-failed").count() == 0
        chart = page.locator(".dxkpi-lab-chart.dxkpi-live-ok").first  # by department
        bars = chart.locator("svg .mark-rect path")
        assert bars.count() > 0
        spec = json.loads(
            page.locator(".dxkpi-lab-chart + script[type='application/json']").first.text_content()
            or "{}"
        )
        rows = next(
            r
            for r in map(_rows, spec["datasets"].values())
            if r and "numerator" in r[0] and "text" in r[0]
        )
        bar = bars.first
        bar.scroll_into_view_if_needed()
        bar.hover()
        tip = page.locator("#vg-tooltip-element.visible")
        tip.wait_for(timeout=5_000)
        text = tip.inner_text()
        row = next(r for r in rows if r["label"] in text)
        assert "分子" in text and "目標" in text, text
        assert d3_count(row["numerator"]) in text, text
        page.screenshot(path=str(project / "jupyterlab_getting_started.png"))
        browser.close()
    assert outside == []
