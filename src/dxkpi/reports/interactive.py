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
import os
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
    "cache_dir",
    "inline_scripts",
    "script_hashes",
    "sha256_source",
    "spec_json",
    "vega_runtime",
]

#: The mime type under which a chart's Vega-Lite spec travels in a notebook output.
CHART_MIME = "application/vnd.dxkpi.chart+json"
ENV_CACHE_DIR = "DXKPI_CACHE_DIR"

#: Renders every chart of the page whose spec it finds; marks each chart drawn (the static SVG
#: is then hidden on screen) or failed (the SVG stays). The live chart uses the font subset the
#: page embeds for its SVGs (the first family of the static SVG's text).
EMBED_SCRIPT = """(function () {
  "use strict";
  if (typeof window.vegaEmbed !== "function") { return; }
  var boxes = document.querySelectorAll(".dxkpi-chart");
  Array.prototype.forEach.call(boxes, function (box) {
    var data = box.querySelector("script.dxkpi-spec");
    var live = box.querySelector(".dxkpi-live");
    if (!data || !live) { return; }
    var spec;
    try { spec = JSON.parse(data.textContent); } catch (err) { return; }
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
  });
})();"""

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


def spec_json(spec: dict[str, Any]) -> str:
    """A spec as JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``
    (nor U+2028/2029) appears literally, so no value can end the block or start markup. The
    ``$schema`` URL is dropped (the embedding script names the mode; a page names no URL).

    >>> spec_json({"title": "</script><img src=x onerror=alert(1)>"})
    '{"title": "\\\\u003c/script\\\\u003e\\\\u003cimg src=x onerror=alert(1)\\\\u003e"}'
    >>> json.loads(spec_json({"t": "A & B <c>"}))["t"]
    'A & B <c>'
    """
    shown = {k: v for k, v in spec.items() if k != "$schema"}
    return json.dumps(shown, ensure_ascii=False, sort_keys=True).translate(_JSON_ESCAPES)


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
