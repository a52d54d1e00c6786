"""A report page is named: its ``<title>`` is the report's name (never nbconvert's "Notebook"),
and so is the title of the PDF Chromium prints from it; its footer gives the data hash, code
version and time in JST. Names from the data are text in both."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from dxkpi.reports.runner import REPORTS, export_html, page_footer, report_title

PDCA = next(r for r in REPORTS if r.name == "pdca_review")
DEPARTMENT = next(r for r in REPORTS if r.per_department)


def _export(tmp_path: Path, title: str, footer: str = "") -> tuple[Path, str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 見出し")])
    nb.metadata["title"] = "Notebook"  # a stray field never names the page
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, str(path))
    page = tmp_path / "page.html"
    export_html(path, page, title=title, footer=footer)
    return page, page.read_text(encoding="utf-8")


def test_the_title_is_the_reports_name_and_names_from_data_are_text(tmp_path: Path) -> None:
    _, html = _export(tmp_path, report_title(DEPARTMENT, "ja", 2025, "</title><b>課"))
    titles = re.findall(r"<title>(.*?)</title>", html, flags=re.S)
    assert titles == ["所属別レポート — &lt;/title&gt;&lt;b&gt;課（2025年度）"]
    _, plain = _export(tmp_path, "")
    assert re.findall(r"<title>(.*?)</title>", plain) == ["page"]  # the file's name at least


def test_the_footer_says_data_code_and_time_in_jst(tmp_path: Path) -> None:
    at = dt.datetime(2026, 12, 4, 6, 20, 56, tzinfo=dt.UTC)
    footer = page_footer("f17c032e8812abcdef", "dxkpi 0.2.0 (abc1234)", at, "ja")
    _, html = _export(tmp_path, "t", footer)
    shown = re.findall(r'<footer class="dxkpi-footer">(.*?)</footer>', html)
    assert shown == ["データ f17c032e8812 · dxkpi 0.2.0 (abc1234) · 作成 2026年12月4日 15:20 JST"]
    assert "2026-12-04T" not in html
    english = page_footer(None, "dxkpi 0.2.0 (abc1234)", at, "en")
    assert english == "data unknown · dxkpi 0.2.0 (abc1234) · made 4 Dec 2026 15:20 JST"


@pytest.mark.browser
def test_the_printed_pdf_carries_the_reports_name(tmp_path: Path) -> None:
    from dxkpi.commands.pdca import print_pdf

    pdfinfo = shutil.which("pdfinfo")
    assert pdfinfo, "poppler's pdfinfo is required: make browser-deps"
    title = report_title(PDCA, "ja", 2025)
    page, _ = _export(tmp_path, title)
    pdf = print_pdf(page, tmp_path / "page.pdf")
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"^Title:\s+(.*)$", info.stdout, flags=re.M)[1] == title  # type: ignore[index]
