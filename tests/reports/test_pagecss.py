"""A report page keeps the template CSS it can use and nothing else (dxkpi.reports.pagecss).

Hand-written stylesheets: which rules and custom properties survive, and that nothing a browser
could apply to the page is dropped. The same-picture check on the real report pages (screen,
print, scripts on and off) is in test_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dxkpi.reports.pagecss import could_match, page_names, without_unused_css


def _page(css: str, body: str) -> str:
    return (
        '<html><head><meta charset="utf-8"><style type="text/css">'
        + css
        + "</style></head><body>"
        + body
        + "</body></html>"
    )


def _css(page: str) -> str:
    found = re.search(r"<style[^>]*>(.*?)</style>", page, re.S)
    assert found
    return found.group(1)


def test_rules_for_absent_classes_and_ids_go_and_the_others_stay() -> None:
    css = (
        ".jp-Cell{margin:0}.lm-Menu{color:red}#main{padding:1px}#absent{padding:2px}"
        "p{line-height:1.2}.jp-Cell .jp-Missing{color:blue}.jp-Cell,.lm-Other{border:0}"
    )
    out = _css(without_unused_css(_page(css, '<div class="jp-Cell" id="main"><p>x</p></div>')))
    assert out == (
        ".jp-Cell{margin:0}#main{padding:1px}p{line-height:1.2}.jp-Cell,.lm-Other{border:0}"
    )


def test_what_a_browser_could_apply_is_never_dropped() -> None:
    names = page_names('<table class="dataframe"><tr class="a\u3000b"><td>1</td></tr></table>')
    for selector in (
        "table.dataframe tr:hover",  # dynamic state
        "td::before",  # pseudo-element
        "tr:not(.lm-Menu)",  # negation names an absent class
        ":is(.lm-A, .lm-B) td",  # what is inside :is() is not required
        "[data-jp-theme='light'] .dataframe",  # attributes are not read
        "*",
    ):
        assert could_match(selector, names), selector
    assert not could_match(".dataframe .lm-Menu", names)
    assert not could_match("#toolbar td", names)


def test_escaped_class_names_are_read_as_the_class() -> None:
    names = page_names('<div class="sm:hidden"></div>')
    assert could_match(r".sm\:hidden", names)
    assert not could_match(r".md\:hidden", names)


def test_media_blocks_are_filtered_inside_and_other_at_rules_kept_whole() -> None:
    css = (
        "@media print{.jp-Cell{break-inside:avoid}.lm-Menu{display:none}}"
        "@media (max-width:10px){.lm-Menu{display:none}}"
        "@font-face{font-family:x;src:url(data:font/woff;base64,AA==)}"
        "@keyframes spin{from{opacity:0}to{opacity:1}}"
    )
    out = _css(without_unused_css(_page(css, '<div class="jp-Cell"></div>')))
    assert "@media print{.jp-Cell{break-inside:avoid}}" in out
    assert "max-width" not in out and "lm-Menu" not in out
    assert "@font-face{font-family:x;src:url(data:font/woff;base64,AA==)}" in out
    assert "@keyframes spin{from{opacity:0}to{opacity:1}}" in out


def test_custom_properties_are_kept_when_something_kept_uses_them_through_any_chain() -> None:
    css = (
        ":root{--jp-a:var(--jp-b);--jp-b:var(--jp-c);--jp-c:3px;--jp-icon:url(data:x);"
        "--jp-inline:1px;--jp-ours:2px;--jp-unused:var(--jp-c);color:black}"
        ".jp-Cell{margin:var(--jp-a)}.lm-Menu{padding:var(--jp-icon)}"
    )
    body = '<div class="jp-Cell" style="padding: var(--jp-inline)"></div>'
    out = _css(without_unused_css(_page(css, body), also_used="x{y:var(--jp-ours)}"))
    assert out.startswith(":root{")
    root = out[: out.index("}") + 1]
    for kept in (
        "--jp-a:",
        "--jp-b:",
        "--jp-c:3px",
        "--jp-inline:1px",
        "--jp-ours:2px",
        "color:black",
    ):
        assert kept in root, kept
    for dropped in ("--jp-icon", "--jp-unused"):
        assert dropped not in out, dropped


def test_important_and_styles_outside_the_head_survive() -> None:
    css = ".jp-Cell{color:red !important}"
    body = '<div class="jp-Cell"><svg><style>.lm-Menu{fill:red}</style></svg></div>'
    page = without_unused_css(_page(css, body))
    assert ".jp-Cell{color:red !important}" in page
    assert "<svg><style>.lm-Menu{fill:red}</style></svg>" in page  # chart SVGs are untouched


def test_a_page_without_a_head_is_returned_unchanged() -> None:
    assert without_unused_css("<div class='x'></div>") == "<div class='x'></div>"


def test_the_template_css_shrinks_on_a_real_export(tmp_path: Path) -> None:
    """nbconvert's own lab template: what it inlines is mostly what no report page uses."""
    import nbformat

    from dxkpi.reports.runner import export_html

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 見出し\n\n本文"))
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    export_html(path, tmp_path / "n.html", title="試験")
    page = (tmp_path / "n.html").read_text(encoding="utf-8")
    assert len(page.encode()) < 60_000  # the lab template inlines about 260 kB of CSS
    assert "--jp-icon-" not in page  # the icon set as data URIs is never used by a report
    assert ".jp-RenderedHTMLCommon" in page  # the rules for what the page shows stay


@pytest.mark.xdist_group("report_run")  # the worker that builds the report set
def test_live_charts_cost_at_most_one_runtime_per_page(report_set, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15's budget on the sample city: a report page with interactive charts is no
    larger than the same executed report exported as pages were before them (static SVG charts
    only, the template's whole stylesheet) plus one copy of the Vega runtime."""
    from dxkpi.reports.interactive import vega_runtime
    from tests.helpers.pages import reexport

    runtime = len(vega_runtime().encode())
    folder = report_set.folder
    names = ("kpi_dashboard", "behaviour_change", "pdca_review", "maturity", "skill_map")
    for name in (*names, "department_010100"):
        live = folder / f"{name}.html"
        assert 'class="dxkpi-spec"' in live.read_text(encoding="utf-8"), name
        static = reexport(
            folder / f"{name}.ipynb", tmp_path / f"{name}.html", live=False, whole_css=True
        )
        assert live.stat().st_size <= static.stat().st_size + runtime, (
            name,
            live.stat().st_size,
            static.stat().st_size,
            runtime,
        )
