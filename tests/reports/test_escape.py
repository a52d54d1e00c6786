"""Data never runs as code in a report page: the views escape it (reports.escape.page_text),
the pages carry no script and a Content-Security-Policy (the real-browser check of a whole
report set planted with these payloads is tests/reports/test_browser.py)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import polars as pl
import pytest

from dxkpi.kpi.examples import tiny_city
from dxkpi.project.config import Config
from dxkpi.reports.escape import CONTENT_SECURITY_POLICY, page_text, sets_the_policy
from dxkpi.reports.runner import export_html, write_index
from dxkpi.reports.views import ReportContext
from tests.helpers.payloads import PAYLOADS, SUFFIX

NAME = "総務課" + SUFFIX


class _Active(HTMLParser):
    """Everything in a page that could run: script-like elements, event handlers,
    javascript: URLs."""

    RUNNABLE = frozenset({"script", "iframe", "frame", "object", "embed"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.RUNNABLE:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")


def active(page: str) -> list[str]:
    parser = _Active()
    parser.feed(page)
    return parser.found


def visible(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture
def ctx(tmp_path: Path) -> ReportContext:
    return ReportContext(tiny_city(), Config(), 2025, "ja", tmp_path, tmp_path)


def _page(tmp_path: Path, *shown: object) -> str:
    """The HTML export of a notebook whose one cell displayed ``shown`` (as a report does)."""
    cell = nbformat.v4.new_code_cell("")
    for item in shown:
        data = (
            {"text/markdown": item._repr_markdown_()}  # type: ignore[attr-defined]
            if hasattr(item, "_repr_markdown_")
            else {"text/html": item._repr_html_()}  # type: ignore[attr-defined]
        )
        cell.outputs.append(nbformat.v4.new_output("display_data", data=data))
    nb = nbformat.v4.new_notebook(cells=[cell])
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, str(path))
    export_html(path, tmp_path / "page.html")
    return (tmp_path / "page.html").read_text(encoding="utf-8")


def test_every_view_shows_data_as_text(ctx: ReportContext, tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        ctx.title(
            "所属別レポート: {name}（{code}）",
            "Department: {name} ({code})",
            name=NAME,
            code="q/../x",
        ),
        ctx.md("## {name} の状況", "## {name}", name=NAME),
        ctx.lines([f"推進リーダーがいない所属（1）: {NAME}。"]),
        ctx.table(pl.DataFrame({"所属": [NAME]}), f"表: {NAME}", ""),
    )
    assert active(page) == []
    text = visible(page)
    for payload in PAYLOADS:
        assert text.count(payload) == 5, payload  # heading, section, sentence, caption, cell


def test_a_page_runs_no_script_and_sets_the_policy(ctx: ReportContext, tmp_path: Path) -> None:
    page = _page(tmp_path, ctx.md("本文", "text"))
    assert "<script" not in page
    assert sets_the_policy(page)
    assert "script-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]


def test_the_index_escapes_names_and_errors(tmp_path: Path) -> None:
    run = {
        "parameters": {"fiscal_year": 2025},
        "code_version": "dxkpi",
        "finished": "2026-01-01",
        "data_manifest_sha256": "0" * 64,
        "notebooks": [
            {
                "name": "department_x",
                "report": "department",
                "department": NAME,
                "status": "failed",
                "seconds": 1.0,
                "error": {"ename": "KeyError", "evalue": NAME},
            }
        ],
    }
    (tmp_path / "department_x.html").write_text("", encoding="utf-8")
    write_index(tmp_path, run, "ja")
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert active(page) == []
    assert sets_the_policy(page)
    assert visible(page).count(PAYLOADS[0]) == 2


def test_page_text_is_literal_in_markdown_and_html() -> None:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for payload in (*PAYLOADS, "# 見出し", "*強調* _x_ `code` $x$ | a | ~~s~~", "a\n\n- b"):
        for rendered in (markdown2html_mistune(page_text(payload)), page_text(payload)):
            assert active(rendered) == []
            assert visible(rendered).strip() == payload
