"""The HTML export of a page with charts: live charts by the inlined Vega runtime, allowed by
hash, the spec as an escaped data block, the static SVG kept (the browser side is in
test_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import altair as alt
import nbformat
import pytest

from dxkpi.reports import charts  # noqa: F401  (enables the theme and the renderer)
from dxkpi.reports.escape import CONTENT_SECURITY_POLICY, sets_the_policy
from dxkpi.reports.interactive import (
    CHART_MIME,
    EMBED_SCRIPT,
    script_hashes,
    sha256_source,
    spec_json,
    vega_runtime,
)
from dxkpi.reports.render import mimebundle
from dxkpi.reports.runner import export_html, external_urls
from tests.helpers.payloads import PAYLOADS

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _chart(names: list[str]) -> alt.Chart:
    rows = [{"name": n, "v": i + 1} for i, n in enumerate(names)]
    return (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar()
        .encode(x="name:N", y="v:Q", tooltip=["name:N", "v:Q"])
        .properties(title="テスト")
    )


def _export(tmp_path: Path, *outputs: dict) -> str:
    cell = nbformat.v4.new_code_cell("")
    for data in outputs:
        cell.outputs.append(nbformat.v4.new_output("display_data", data=data))
    nb = nbformat.v4.new_notebook(cells=[cell])
    nbformat.validate(nb)  # the spec's mime type passes notebook validation
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, str(path))
    export_html(path, tmp_path / "page.html")
    return (tmp_path / "page.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    bundle, _ = mimebundle(_chart(list(PAYLOADS)).to_dict(), embed_font=False)
    second, _ = mimebundle(_chart(["総務課", "情報課"]).to_dict(), embed_font=False)
    return _export(tmp_path_factory.mktemp("interactive"), bundle, second)


def test_runtime_and_embedder_inlined_once_and_the_only_scripts(page: str) -> None:
    scripts = SCRIPT.findall(page)
    runs = [body for attrs, body in scripts if "application/json" not in attrs]
    assert runs == [vega_runtime(), EMBED_SCRIPT]
    data = [attrs for attrs, _ in scripts if "application/json" in attrs]
    assert len(data) == 2 and all('class="dxkpi-spec"' in a for a in data)
    assert 500_000 < len(vega_runtime()) < 2_000_000  # one copy of vega/vega-lite/vega-embed


def test_the_policy_allows_exactly_those_scripts_by_hash(page: str) -> None:
    hashes = script_hashes()
    assert hashes == (sha256_source(vega_runtime()), sha256_source(EMBED_SCRIPT))
    assert sets_the_policy(page, hashes)
    assert not sets_the_policy(page)  # the no-script policy is not what it sets
    meta = re.search(r"<meta\b[^>]*Content-Security-Policy[^>]*>", page)
    assert meta is not None
    policy = re.search(r'content="([^"]*)"', meta.group(0))
    assert policy is not None
    script_src = next(p for p in policy.group(1).split("; ") if p.startswith("script-src"))
    assert script_src == "script-src " + " ".join(hashes)
    assert "unsafe" not in script_src and "http" not in script_src


def test_specs_are_escaped_data_and_the_static_svg_stays(page: str) -> None:
    blocks = [body for attrs, body in SCRIPT.findall(page) if "application/json" in attrs]
    assert all(not set("<>&") & set(body) for body in blocks)
    spec = json.loads(blocks[0])
    (dataset,) = spec["datasets"].values()
    assert dataset["columns"] == ["name", "v"]  # written by columns
    names = [row[0] for row in dataset["rows"]]
    assert names == list(PAYLOADS)  # the payloads are data, intact
    assert "$schema" not in spec
    assert page.count('class="dxkpi-live"') == 2
    assert len(re.findall(r'<div\b[^>]*class="dxkpi-static"[^>]*>\s*<svg', page)) == 2
    assert "@media print" in page and ".dxkpi-chart .dxkpi-static { display: block" in page
    assert external_urls(page) == []


def test_a_page_without_charts_runs_no_script(tmp_path: Path) -> None:
    page = _export(tmp_path, {"text/markdown": "本文"})
    assert "<script" not in page
    assert sets_the_policy(page)
    assert "script-src 'none'" in CONTENT_SECURITY_POLICY


def test_a_static_only_chart_output_stays_static(tmp_path: Path) -> None:
    """An executed notebook from before charts carried their spec: SVG only, no script."""
    bundle, _ = mimebundle(_chart(["総務課"]).to_dict(), embed_font=False)
    del bundle[CHART_MIME]
    page = _export(tmp_path, bundle)
    assert "<script" not in page and "<svg" in page and sets_the_policy(page)


def test_spec_json_cannot_end_its_block() -> None:
    text = spec_json({"title": "</script><script>alert(1)</script>", "a": "x & y\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"title": "</script><script>alert(1)</script>", "a": "x & y\u2028"}


def test_external_urls_still_sees_a_changed_runtime() -> None:
    changed = '<script data-dxkpi-runtime="vega">fetch("https://cdn.example/x.js")</script>'
    assert external_urls(changed) == ["https://cdn.example/x.js"]
