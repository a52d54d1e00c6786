"""Report notebooks: their contract with the runner, and one real papermill run of each."""

from __future__ import annotations

import html
import json
import re
import tomllib
from pathlib import Path

import nbformat
import openpyxl
import pytest

from dxkpi.catalogue.labels import codes
from dxkpi.reports.runner import (
    COMMON_PARAMETERS,
    REPORTS,
    SHARES_PARAMETERS,
    declared_parameters,
    external_urls,
)
from tests.helpers import ROOT

TEMPLATES = ROOT / "notebooks" / "reports"
EXPLORATORY = ROOT / "notebooks" / "exploratory"
ALL_NOTEBOOKS = sorted([*TEMPLATES.glob("*.ipynb"), *EXPLORATORY.glob("*.ipynb")])


def test_every_report_has_a_template_and_nothing_else() -> None:
    assert sorted(p.stem for p in TEMPLATES.glob("*.ipynb")) == sorted(r.name for r in REPORTS)


@pytest.mark.parametrize("spec", REPORTS, ids=lambda r: r.name)
def test_declared_parameters_match_what_the_runner_passes(spec) -> None:  # type: ignore[no-untyped-def]
    declared = declared_parameters(TEMPLATES / f"{spec.name}.ipynb")
    expected = [
        *COMMON_PARAMETERS,
        *(["department"] if spec.per_department else []),
        *(SHARES_PARAMETERS if spec.shares else []),
    ]
    assert list(declared) == expected
    for name, info in declared.items():
        assert info["help"], f"{spec.name}: parameter {name} has no help comment"
        assert info["inferred_type_name"] in ("int", "str"), name


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin_and_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "template-only" in nb.cells[0].metadata.get("tags", [])
    for cell in code:
        lines = cell.source.splitlines()
        assert not any(line.lstrip().startswith(("def ", "class ")) for line in lines), (
            f"{path.name}: logic belongs in src/dxkpi, not in a notebook"
        )
        assert len(lines) <= 15, f"{path.name}: a long cell — move the logic to the library"


pytestmark_reports = pytest.mark.xdist_group("report_run")


@pytest.fixture
def report_run(report_set):  # type: ignore[no-untyped-def]
    """The shared report set of this test run (tests/conftest.py)."""
    return report_set


@pytestmark_reports
def test_every_report_runs_on_the_sample_city(report_run) -> None:  # type: ignore[no-untyped-def]
    peers = {r.name for r in REPORTS if r.shares}  # need share files of other municipalities
    failures = {
        r.name: r.error
        for r in report_run.results
        if r.status != "ok" and not (r.status == "skipped" and r.name in peers)
    }
    assert failures == {}
    names = {r.name for r in report_run.results}
    assert names == {*(r.name for r in REPORTS if not r.per_department), "department_010100"}
    run = json.loads((report_run.folder / "run.json").read_text(encoding="utf-8"))
    assert run["ok"] and len(run["notebooks"]) == len(names)


@pytestmark_reports
def test_reports_are_self_contained_and_japanese(report_run) -> None:  # type: ignore[no-untyped-def]
    for r in report_run.results:
        if r.status == "skipped":  # no share files in this run: no page
            continue
        page = (report_run.folder / f"{r.name}.html").read_text(encoding="utf-8")
        assert external_urls(page) == [], r.name
        assert 'lang="ja"' in page or "年度" in page
        assert 'aria-label=""' not in page
    index = (report_run.folder / "index.html").read_text(encoding="utf-8")
    assert external_urls(index) == []


@pytestmark_reports
def test_figures_and_excel_companion(report_run) -> None:  # type: ignore[no-untyped-def]
    figures = sorted(p.name for p in (report_run.folder / "figures").glob("*.png"))
    for expected in (
        "kpi_grades.png",
        "event_study.png",
        "maturity_heatmap.png",
        "phase_funnel.png",
    ):
        assert expected in figures
    book = openpyxl.load_workbook(report_run.folder / "kpi_FY2025.xlsx")
    assert len(book.sheetnames) >= 10


@pytest.mark.xdist_group("report_run")
def test_getting_started_notebook_runs_and_charts_display_offline(sample_city, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The analysts' notebook runs on the sample city; its charts come as PNG + SVG (what
    JupyterLab 4.6 shows with no network), never as a CDN-loading HTML bundle."""
    import papermill

    out = tmp_path / "getting_started.ipynb"
    papermill.execute_notebook(
        str(EXPLORATORY / "0.1-dx-getting-started.ipynb"),
        str(out),
        parameters={"data_dir": str(sample_city.processed)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(EXPLORATORY),  # as JupyterLab runs it: the notebook's own folder
    )
    nb = nbformat.read(str(out), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3
    assert all("image/svg+xml" in o["data"] for o in images)
    assert not any("cdn" in str(o.get("data", {}).get("text/html", "")) for o in outputs)
    # the project's targets (dxkpi.toml, found from the notebook's folder), not built-in defaults
    shown = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    config = tomllib.loads((ROOT / "dxkpi.toml").read_text(encoding="utf-8"))
    participation = config["targets"]["2025"]["participation_rate"]
    assert f"'participation_rate': {participation}" in shown
    nbformat.validate(nb)


def _visible_text(page: str) -> str:
    """What a reader sees: no <style>, <script> or tags (SVG text included, attributes not)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytestmark_reports
def test_dashboard_speaks_one_vocabulary(report_run) -> None:  # type: ignore[no-untyped-def]
    """Job level manager is 管理職 (not the assessor's 上司), mobility is 異動者 / 非異動者, and
    every reason is a sentence, never a raw code."""
    text = _visible_text((report_run.folder / "kpi_dashboard.html").read_text(encoding="utf-8"))
    assert "管理職" in text and "異動者" in text and "非異動者" in text
    raw = ["moved", "stayed", *codes("reason")]
    shown = [code for code in raw if re.search(rf"(?<![A-Za-z_]){code}(?![A-Za-z_])", text)]
    assert shown == []
