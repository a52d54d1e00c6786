"""Interactive charts offline: the Vega runtime, the chart's spec in a page, the embedding script.

A chart shown by the ``dxkpi`` renderer (:mod:`dxkpi.reports.render`) carries, besides its PNG
and SVG, its Vega-Lite spec under :data:`CHART_MIME` (a JSON mime type no front end renders, so
JupyterLab and papermill's notebooks are unchanged). The report export
(:func:`dxkpi.reports.runner.export_html`) turns every chart into

* a ``<script type="application/json" class="dxkpi-spec">`` data block holding the spec, written
  by :func:`spec_json` with ``<``, ``>``, ``&`` and the line separators escaped as ``\\uXXXX``
  (the data can never close the block or open markup);
* an empty ``<div class="dxkpi-live">`` that the embedding script fills with the live chart
  (tooltips, the parameters' widgets; vega-embed with its actions off and Vega's expression
  interpreter, so no ``eval``);
* the static SVG in ``<div class="dxkpi-static">``: shown until the live chart is drawn, in a
  browser without scripts, and always in print (:data:`CHART_CSS`).

The page carries the runtime once (:func:`vega_runtime`: vega, vega-lite and vega-embed bundled
by ``vl_convert.javascript_bundle()``, about 0.9 MB, no network) and the embedding script
(:data:`EMBED_SCRIPT`), both inline; the page's Content-Security-Policy allows exactly these two
scripts by their SHA-256 (:func:`script_hashes`, :func:`dxkpi.reports.escape.csp_meta`) and no
other script, inline or remote.

In JupyterLab (a kernel started by a Jupyter server, see :func:`live_in_frontend`) the renderer
also emits ``text/html`` (:func:`lab_html`): JupyterLab 4.6 renders Vega-Lite v5 only and Altair
6 writes v6, so the chart is drawn by the same runtime, inlined in the first chart a browser page
is sent (the page keeps it), with the PNG shown until then. A trusted notebook (one run in this
session, or saved by JupyterLab after running) runs the scripts; an untrusted one shows the
PNG. papermill and the report runner never get ``text/html``: their notebooks keep PNG + SVG.

Building the runtime takes vl-convert 3–10 s, so it is kept in a cache file named after the
vl-convert and Vega-Lite versions (``$XDG_CACHE_HOME/dxkpi`` or ``~/.cache/dxkpi``;
``DXKPI_CACHE_DIR`` overrides), written atomically and checked against its recorded hash when
read.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

from dxkpi.core.atomic import write_text

__all__ = [
    "CHART_CSS",
    "CHART_MIME",
    "EMBED_SCRIPT",
    "ENV_CACHE_DIR",
    "ENV_INTERACTIVE",
    "PAGE_FONT_ENV",
    "cache_dir",
    "in_report_run",
    "inline_scripts",
    "lab_html",
    "live_in_frontend",
    "script_hashes",
    "sha256_source",
    "spec_json",
    "vega_runtime",
    "without_mark_aria",
]

#: The mime type under which a chart's Vega-Lite spec travels in a notebook output.
CHART_MIME = "application/vnd.dxkpi.chart+json"
#: Set to 1 by the report runner for the notebooks it runs (see :func:`in_report_run`).
PAGE_FONT_ENV = "DXKPI_PAGE_FONT"
ENV_CACHE_DIR = "DXKPI_CACHE_DIR"

#: The rows of a spec's datasets, written by columns (:func:`spec_json`), back as one object per
#: row, as Vega reads them: the one copy, in the page's embedding script and JupyterLab's.
_UNPACK_ROWS = """function unpackRows(spec) {
  var sets = spec.datasets || {};
  Object.keys(sets).forEach(function (name) {
    var set = sets[name];
    if (set && set.columns && set.rows) {
      sets[name] = set.rows.map(function (row) {
        var datum = {};
        set.columns.forEach(function (column, i) { datum[column] = row[i]; });
        return datum;
      });
    }
  });
}"""

#: Renders every chart of the page whose spec it finds; marks each chart drawn (the static SVG
#: is then hidden on screen) or failed (the SVG stays). The live chart uses the font subset the
#: page embeds for its SVGs (the first family of the static SVG's text), and is drawn once the
#: page's fonts have loaded: Vega lays out its axes with the font's measured text, and a chart
#: drawn before the embedded font arrived was measured with a fallback (a 1-pixel shift seen
#: between two loads of the same page).
EMBED_SCRIPT = (
    '(function () {\n  "use strict";\n'
    + _UNPACK_ROWS
    + """
  if (typeof window.vegaEmbed !== "function") { return; }
  var boxes = document.querySelectorAll(".dxkpi-chart");
  function draw(box) {
    var data = box.querySelector("script.dxkpi-spec");
    var live = box.querySelector(".dxkpi-live");
    if (!data || !live) { return; }
    var spec;
    try { spec = JSON.parse(data.textContent); } catch (err) { return; }
    unpackRows(spec);
    var text = box.querySelector(".dxkpi-static [font-family]");
    if (text) {
      spec.config = spec.config || {};
      spec.config.font = text.getAttribute("font-family");
    }
    window.vegaEmbed(live, spec, {
      mode: "vega-lite", actions: false, ast: true, renderer: "svg",
      tooltip: { theme: "light" }
    }).then(function () {
      box.classList.add("dxkpi-live-ok");
    }).catch(function (err) {
      box.classList.add("dxkpi-live-failed");
      if (window.console) { window.console.warn("dxkpi chart:", err); }
    });
  }
  function drawAll() { Array.prototype.forEach.call(boxes, draw); }
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(drawAll, drawAll);
  } else {
    drawAll();
  }
})();"""
)

#: The live chart replaces the static SVG on screen once drawn; print always shows the SVG.
CHART_CSS = """
<style>
.dxkpi-chart .dxkpi-live:empty { display: none; }
.dxkpi-chart.dxkpi-live-ok .dxkpi-static { display: none; }
.dxkpi-chart .dxkpi-live .vega-bindings { font-size: 15px; margin: .3em 0; }
.dxkpi-chart .dxkpi-live .vega-bind-name { margin-right: .5em; }
#vg-tooltip-element { font-size: 14px; }
@media print {
  .dxkpi-chart .dxkpi-live { display: none !important; }
  .dxkpi-chart .dxkpi-static { display: block !important; }
}
</style>
"""

_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _compact(value: Any) -> Any:
    """A number as short as it can be written without changing what any chart shows: six
    significant digits (tables and tooltips show at most four), never fewer integer digits;
    a whole float as an integer."""
    if isinstance(value, float) and math.isfinite(value):
        if abs(value) < 1e6:
            value = float(f"{value:.6g}")
        return int(value) if value.is_integer() else value
    return value


def _columnar(rows: Any) -> Any:
    """Rows sharing one set of keys as ``{"columns": [...], "rows": [[...], ...]}`` (the keys
    written once, not once per row); anything else unchanged."""
    if not (isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)):
        return rows
    columns = list(rows[0])
    if any(list(r) != columns for r in rows):
        return rows
    return {"columns": columns, "rows": [[_compact(v) for v in r.values()] for r in rows]}


def spec_json(spec: dict[str, Any]) -> str:
    """A spec as JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``
    (nor U+2028/2029) appears literally, so no value can end the block or start markup. The
    ``$schema`` URL is dropped (the embedding script names the mode; a page names no URL), and
    each inline dataset whose rows share their keys is written by columns (the embedding script
    turns it back into rows), its numbers to six significant digits (never fewer integer
    digits).

    >>> spec_json({"title": "</script><img src=x onerror=alert(1)>"})
    '{"title":"\\\\u003c/script\\\\u003e\\\\u003cimg src=x onerror=alert(1)\\\\u003e"}'
    >>> json.loads(spec_json({"t": "A & B <c>"}))["t"]
    'A & B <c>'
    >>> spec_json({"datasets": {"d": [{"a": 1, "b": "x"}, {"a": 2, "b": None}]}})
    '{"datasets":{"d":{"columns":["a","b"],"rows":[[1,"x"],[2,null]]}}}'
    >>> spec_json({"datasets": {"d": [{"v": 0.0017985611510791255}, {"v": 55.0}, {"v": 3368.5},
    ...                                {"v": 1234567.89}]}})
    '{"datasets":{"d":{"columns":["v"],"rows":[[0.00179856],[55],[3368.5],[1234567.89]]}}}'
    """
    shown = {k: v for k, v in spec.items() if k != "$schema"}
    if isinstance(shown.get("datasets"), dict):
        shown["datasets"] = {k: _columnar(v) for k, v in shown["datasets"].items()}
    text = json.dumps(shown, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES)


_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_MARK_ARIA = re.compile(
    r' (?:aria-label|aria-roledescription|role|aria-hidden|class|pointer-events)="[^"]*"'
    r'| opacity="1"| transform="translate\(0,0\)"'
)


def without_mark_aria(page: str) -> str:
    """The page with what Vega writes on every mark for a live chart removed from its inline
    SVGs: ARIA attributes, classes and pointer events (and ``opacity="1"`` and a
    ``translate(0,0)``, which change nothing). A static chart is one image to a screen
    reader (its box is ``role="img"`` with the chart's title) and is never interacted with, so
    nothing reads them; on a dashboard they are about a quarter of the page. The live chart
    keeps Vega's own.

    >>> without_mark_aria('<p role="x"><svg role="graphics-document"><path aria-label="a: 1"'
    ...                   ' d="M0"/></svg>')
    '<p role="x"><svg><path d="M0"/></svg>'
    """
    return _SVG.sub(lambda m: _MARK_ARIA.sub("", m.group(0)), page)


def sha256_source(script: str) -> str:
    """The CSP source expression allowing exactly this inline script.

    >>> sha256_source("alert(1)")
    "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
    """
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _vl_version() -> str:
    return "_".join(alt.SCHEMA_VERSION.split(".")[:2])


def cache_dir() -> Path:
    """Where the built runtime is kept (``DXKPI_CACHE_DIR``, else the XDG cache folder)."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dxkpi"


@functools.cache
def vega_runtime() -> str:
    """vega + vega-lite + vega-embed as one script (``window.vegaEmbed``), built offline by
    vl-convert for the Vega-Lite version Altair writes; cached on disk (see module doc)."""
    version = f"vlconvert-{importlib.metadata.version('vl-convert-python')}-vl-{_vl_version()}"
    path = cache_dir() / f"vega-runtime-{version}.js"
    stamp = path.with_suffix(".sha256")
    if path.is_file() and stamp.is_file():
        text = path.read_text(encoding="utf-8")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() == stamp.read_text().strip():
            return text
    # the default snippet (None; the type stub omits that it may be left out) sets
    # window.vegaEmbed, window.vega and window.vegaLite
    text = vlc.javascript_bundle(None, vl_version=_vl_version())  # type: ignore[arg-type]
    try:
        write_text(path, text)
        write_text(stamp, hashlib.sha256(text.encode("utf-8")).hexdigest())
    except OSError:  # a read-only home: the runtime still works, it is only built again
        pass
    return text


def script_hashes() -> tuple[str, str]:
    """The CSP sources of the two scripts an interactive page runs: the runtime, the embedder."""
    return _hashes(vega_runtime())


@functools.cache
def _hashes(runtime: str) -> tuple[str, str]:
    return sha256_source(runtime), sha256_source(EMBED_SCRIPT)


def inline_scripts() -> str:
    """The runtime and the embedding script as the page's only two ``<script>`` elements
    (placed at the end of ``<body>``, after every chart's spec)."""
    runtime = vega_runtime()
    if "</script" in runtime.lower():  # would end the element early; never seen in the bundle
        raise ValueError("the Vega runtime contains '</script'")
    return (
        f'<script data-dxkpi-runtime="vega">{runtime}</script>'
        f'<script data-dxkpi-runtime="embed">{EMBED_SCRIPT}</script>'
    )


# ---------------------------------------------------------------------------------------------
# JupyterLab
# ---------------------------------------------------------------------------------------------

#: ``1`` shows live charts in the notebook's front end, ``0`` never; unset: live in a kernel a
#: Jupyter server started for a notebook (``JPY_SESSION_NAME`` set: JupyterLab, Notebook 7),
#: static PNG/SVG elsewhere (papermill, nbconvert, the report runner).
ENV_INTERACTIVE = "DXKPI_INTERACTIVE"

#: The front-end sessions (one per browser page connected to the kernel) already sent the runtime.
_SENT: set[str] = set()


def _frontend_session() -> str:
    """The session of the front end whose request is running (a reloaded page is a new one)."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else {}
        return str(parent.get("header", {}).get("session", ""))
    except Exception:  # no IPython, no kernel: one session
        return ""


#: Draws one chart into its box when the runtime is there (waiting up to 15 s for the output
#: that carries it to run); until then, or if it never comes, the PNG stays.
_LAB_EMBED = (
    "(function () {\n"
    + _UNPACK_ROWS
    + """
  var box = document.getElementById("%(id)s");
  var data = document.getElementById("%(id)s-spec");
  if (!box || !data) { return; }
  var spec = JSON.parse(data.textContent);
  unpackRows(spec);
  var tries = 0;
  function draw() {
    if (typeof window.vegaEmbed !== "function") {
      if (tries++ < 150) { window.setTimeout(draw, 100); }
      return;
    }
    var live = document.createElement("div");
    window.vegaEmbed(live, spec, {
      mode: "vega-lite", actions: false, ast: true, renderer: "svg",
      tooltip: { theme: "light" }
    }).then(function () {
      box.replaceChildren(live);
      box.classList.add("dxkpi-live-ok");
    }).catch(function (err) {
      box.classList.add("dxkpi-live-failed");
      if (window.console) { window.console.warn("dxkpi chart:", err); }
    });
  }
  draw();
})();"""
)


def live_in_frontend() -> bool:
    """Whether charts shown now should be live Vega-Lite in the notebook (see
    :data:`ENV_INTERACTIVE`)."""
    explicit = os.environ.get(ENV_INTERACTIVE)
    if explicit in ("0", "1"):
        return explicit == "1"
    return bool(os.environ.get("JPY_SESSION_NAME")) and not in_report_run()


def in_report_run() -> bool:
    """Whether this kernel runs a notebook for the report runner (which sets
    :data:`PAGE_FONT_ENV` to 1: it embeds one font subset per page and draws live charts
    itself)."""
    return os.environ.get(PAGE_FONT_ENV) == "1"


def lab_html(spec: dict[str, Any], png_base64: str, width: int, height: int, title: str) -> str:
    """The ``text/html`` of a live chart in a trusted notebook: the PNG (what shows until the
    chart is drawn, or if scripts do not run), the spec as a JSON data block, the Vega runtime
    (only in the first chart shown to a front-end session — one browser page; the page keeps
    it, and a reloaded page is a new session) and the script that draws the chart. Everything
    is inline; nothing is fetched."""
    import html
    import uuid

    box = f"dxkpi-{uuid.uuid4().hex}"
    runtime = ""
    session = _frontend_session()
    if session not in _SENT:
        runtime = f'<script data-dxkpi-runtime="vega">{vega_runtime()}</script>'
        _SENT.add(session)
    return (
        f'<div id="{box}" class="dxkpi-lab-chart">'
        f'<img src="data:image/png;base64,{png_base64}" width="{width}" height="{height}" '
        f'alt="{html.escape(title)}"></div>'
        f'<script type="application/json" id="{box}-spec">{spec_json(spec)}</script>'
        f"{runtime}<script>{_LAB_EMBED % {'id': box}}</script>"
    )
