"""Offline rendering of Altair charts: a Japanese font, an Altair renderer, PNG and SVG files.

Nothing here needs a network. Charts are compiled and drawn by ``vl-convert`` (Vega in an
embedded JavaScript engine, text and shapes drawn by resvg):

* **Font.** vl-convert draws Japanese as nothing (or empty boxes) unless a Japanese font is
  registered or installed. :func:`ensure_japanese_font` finds one once per process and registers
  its folder with ``vl_convert.register_font_directory``. The bundled font is Noto Sans CJK JP
  from the PyPI package ``noto-cjk-sans-jp-regular`` (SIL OFL 1.1); a system copy of Noto Sans CJK
  (Debian ``fonts-noto-cjk``) or BIZ UD Gothic (Debian ``fonts-morisawa-bizud-gothic``) is used
  when the package is missing; ``DXKPI_FONT_DIR`` names any other folder of Japanese fonts.
* **Renderer.** Importing this module registers (and :mod:`dxkpi.reports.charts` enables) the Altair
  renderer ``"dxkpi"``: each chart becomes one mime bundle with ``image/png`` (JupyterLab shows
  PNG even in untrusted notebooks, e.g. papermill outputs) and ``image/svg+xml`` (nbconvert 7's
  HTML export prefers SVG and writes it as an ``<img>`` data URI). Never the CDN ``html`` renderer
  (offline: "Error loading script") nor the v6 ``mimetype`` renderer (fails notebook validation
  and papermill's write). ``alt.renderers.enable("dxkpi", embed_font=False)`` skips the font
  subset (about 0.3 s per chart) when no HTML export is wanted.
* **Interactive.** The bundle also carries the chart's Vega-Lite spec under
  :data:`~dxkpi.reports.interactive.CHART_MIME`: the HTML export of a report draws it as a live
  chart with the Vega runtime inlined once per page, the SVG kept as its fallback and for print.
* **JupyterLab.** In a notebook a Jupyter server runs, the bundle adds ``text/html``: the chart
  drawn live (tooltips, pickers) by the Vega runtime inlined offline, the PNG until it is drawn
  (:func:`dxkpi.reports.interactive.lab_html`); papermill's notebooks never get it.
* **SVG fonts.** An SVG names its fonts (``font-family``) and leaves drawing to the viewer. A PC
  without Noto Sans CJK JP falls back along the theme's family list (BIZ UDPGothic, Yu Gothic and
  Meiryo ship with Windows; Hiragino with macOS), so the text is readable but its widths differ
  slightly. :func:`svg_with_embedded_font` (used by :func:`save_svg` and the renderer by default)
  embeds a subset of the font holding only the characters the chart uses (30–60 kB as WOFF), so
  the SVG looks the same everywhere, offline — also inside an ``<img>`` tag, where a browser
  loads nothing from outside the SVG.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
import importlib.util
import io
import json
import os
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

from dxkpi.core.atomic import write_bytes
from dxkpi.core.errors import DxkpiError
from dxkpi.reports.interactive import (
    CHART_MIME,
    in_report_run,
    lab_html,
    live_in_frontend,
)

__all__ = [
    "DEFAULT_PNG_SCALE",
    "ENV_FONT_DIR",
    "FONT_PACKAGE",
    "FONT_STACK",
    "PRIMARY_FONT",
    "RENDERER_NAME",
    "JapaneseFont",
    "JapaneseFontError",
    "chart_to_png",
    "chart_to_svg",
    "enable_renderer",
    "ensure_japanese_font",
    "find_japanese_font",
    "mimebundle",
    "new_session",
    "png_size",
    "register_renderer",
    "save_png",
    "save_svg",
    "svg_characters",
    "svg_to_png",
    "svg_with_embedded_font",
    "validate_once",
]

RENDERER_NAME = "dxkpi"
#: The family the charts are measured and drawn with (the bundled font's family name).
PRIMARY_FONT = "Noto Sans CJK JP"
#: Fallbacks for SVG viewers without it: Windows, macOS, the optional Debian font, generic.
FONT_STACK = (
    f"{PRIMARY_FONT}, BIZ UDPGothic, IPAexGothic, Yu Gothic, YuGothic, Meiryo, "
    "Hiragino Sans, sans-serif"
)
FONT_PACKAGE = "noto-cjk-sans-jp-regular"
ENV_FONT_DIR = "DXKPI_FONT_DIR"
DEFAULT_PNG_SCALE = 2.0

#: System font files that carry Japanese glyphs under a family in :data:`FONT_STACK`.
_SYSTEM_FONT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts", "NotoSansCJK*-Regular.*"),
    ("/usr/share/fonts", "BIZUDPGothic-Regular.ttf"),
    ("/usr/share/fonts", "BIZUDGothic-Regular.ttf"),
    ("/usr/share/fonts", "ipaexg.ttf"),
)


class JapaneseFontError(DxkpiError):
    """No Japanese font could be found, so Japanese chart text would render as empty boxes."""


@dataclass(frozen=True)
class JapaneseFont:
    """A Japanese font file found at run time and where it came from."""

    path: Path
    source: str


# ---------------------------------------------------------------------------------------------
# font
# ---------------------------------------------------------------------------------------------


def _packaged_noto() -> Path | None:
    """The OTF inside the ``noto-cjk-sans-jp-regular`` wheel, if installed."""
    if importlib.util.find_spec("noto_cjk_sans_jp_regular") is None:
        return None
    path = Path(str(importlib.resources.files("noto_cjk_sans_jp_regular"))) / (
        "NotoSansCJKjp-Regular.otf"
    )
    return path if path.is_file() else None


def _packaged_ipaex() -> Path | None:
    """IPAexGothic inside ``japanize-matplotlib``, located without importing that package.

    Importing it would patch matplotlib's settings (and it needs ``distutils``), so only its
    folder is looked up.
    """
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    return None


def _env_font() -> Path | None:
    folder = os.environ.get(ENV_FONT_DIR)
    if not folder:
        return None
    fonts = sorted(
        p for p in Path(folder).glob("*") if p.suffix.lower() in (".otf", ".ttf", ".ttc")
    )
    return fonts[0] if fonts else None


def _system_font() -> Path | None:
    for root, pattern in _SYSTEM_FONT_PATTERNS:
        base = Path(root)
        if base.is_dir():
            found = sorted(base.rglob(pattern))
            if found:
                return found[0]
    return None


def find_japanese_font() -> JapaneseFont:
    """The Japanese font to draw with: env folder, bundled package, system font, IPAexGothic.

    Raises :class:`JapaneseFontError` (Japanese and English, naming the package to install).
    """
    finders: tuple[tuple[str, Callable[[], Path | None]], ...] = (
        (ENV_FONT_DIR, _env_font),
        (FONT_PACKAGE, _packaged_noto),
        ("system", _system_font),
        ("japanize-matplotlib", _packaged_ipaex),
    )
    for source, finder in finders:
        path = finder()
        if path is not None:
            return JapaneseFont(path, source)
    raise JapaneseFontError(
        "日本語フォントが見つかりません。このままではグラフの日本語が空白の四角（豆腐）になります。",
        "No Japanese font found: Japanese chart text would render as empty boxes.",
        hint_ja=(
            f"`pip install {FONT_PACKAGE}` を実行してください（`make env` で入ります）。"
            "Debian では `apt-get install fonts-noto-cjk` でも構いません。"
            f"ほかのフォントを使うときは環境変数 {ENV_FONT_DIR} にフォルダを指定します。"
        ),
        hint_en=(
            f"Run `pip install {FONT_PACKAGE}` (`make env` installs it), or on Debian "
            f"`apt-get install fonts-noto-cjk`; or set {ENV_FONT_DIR} to a folder of "
            "Japanese fonts."
        ),
    )


@functools.cache
def ensure_japanese_font() -> JapaneseFont:
    """Find a Japanese font and register its folder with vl-convert (once per process)."""
    font = find_japanese_font()
    vlc.register_font_directory(str(font.path.parent))
    return font


# ---------------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------------


def _vl_version() -> str:
    """The Vega-Lite version Altair writes, in vl-convert's spelling (``v6.4.1`` → ``v6_4``)."""
    return "_".join(alt.SCHEMA_VERSION.split(".")[:2])


def _spec(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    return chart if isinstance(chart, dict) else chart.to_dict()


def chart_to_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """SVG text of a chart (or Vega-Lite dict), drawn offline with the Japanese font."""
    return _svg_of(json.dumps(_spec(chart), sort_keys=True, default=str))


@functools.lru_cache(maxsize=16)
def _svg_of(spec_json: str) -> str:
    # A notebook displays a chart and then saves it: the same spec is drawn once.
    ensure_japanese_font()
    return _session_ids(vlc.vegalite_to_svg(json.loads(spec_json), vl_version=_vl_version()))


#: The ids Vega gives an SVG's gradients and clip paths (``gradient_0``, ``clip3``) and the
#: references to them: numbered by a counter of vl-convert's process that never restarts.
_SVG_IDS = re.compile(r'(id="|url\(#)(gradient_|clip)(\d+)')
#: The next number of each id in this session (see :func:`new_session`).
_NEXT_ID: dict[str, int] = {}


def _session_ids(svg: str) -> str:
    """The SVG with its gradient and clip ids numbered from where this session's last chart
    left off, as vl-convert numbers them in a new process: a chart's SVG is the same whatever
    a kernel drew before this notebook, and two charts of one page never share an id."""
    found: dict[str, list[int]] = {}
    for m in _SVG_IDS.finditer(svg):
        found.setdefault(m.group(2), []).append(int(m.group(3)))
    if not found:
        return svg
    shift = {kind: _NEXT_ID.get(kind, 0) - min(nums) for kind, nums in found.items()}
    for kind, nums in found.items():
        _NEXT_ID[kind] = max(nums) + shift[kind] + 1
    return _SVG_IDS.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{int(m.group(3)) + shift[m.group(2)]}", svg
    )


def new_session() -> None:
    """Start a new notebook in this process: charts are drawn afresh and their SVG ids count
    from 0, as in a new kernel (the report runner calls it between the notebooks one kernel
    runs)."""
    _NEXT_ID.clear()
    _svg_of.cache_clear()
    svg_to_png.cache_clear()


def chart_to_png(
    chart: alt.TopLevelMixin | dict[str, Any], scale: float = DEFAULT_PNG_SCALE
) -> bytes:
    """PNG bytes of a chart; ``scale`` 2 gives sharp print and projector images."""
    return svg_to_png(chart_to_svg(chart), scale)


@functools.lru_cache(maxsize=16)
def svg_to_png(svg: str, scale: float = DEFAULT_PNG_SCALE) -> bytes:
    """Rasterise an SVG made by :func:`chart_to_svg` (its text is drawn with the same fonts)."""
    ensure_japanese_font()
    return vlc.svg_to_png(svg, scale=scale)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


# ---------------------------------------------------------------------------------------------
# font embedding in SVG
# ---------------------------------------------------------------------------------------------

_TEXT_RE = re.compile(r"<text\b[^>]*>(.*?)</text>", re.DOTALL)
_ENTITY_RE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code.startswith("#x"):
            return chr(int(code[2:], 16))
        if code.startswith("#"):
            return chr(int(code[1:]))
        return _ENTITIES[code]

    return _ENTITY_RE.sub(one, re.sub(r"<[^>]+>", "", text))


def svg_characters(svg: str) -> str:
    """The distinct characters of all ``<text>`` elements of an SVG, sorted."""
    chars = {c for m in _TEXT_RE.finditer(svg) for c in _unescape(m.group(1))}
    return "".join(sorted(chars))


@functools.lru_cache(maxsize=64)
def _font_subset_woff(font_path: str, chars: str) -> bytes:
    """A WOFF subset of the font with just ``chars`` (and .notdef), cached per character set.

    fontTools' default layout features (those browsers apply to horizontal text: ``ccmp``,
    ``locl``, ``kern``, ``liga``…), not every feature: the alternates of a CJK font (vertical,
    half- and full-width, jp78/jp90 forms) would double the subset and its time. The bounding
    boxes and the timestamp are kept from the font, so the same characters give the same bytes
    on every run.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"
    options.notdef_outline = True
    font = TTFont(font_path, lazy=True, fontNumber=0, recalcBBoxes=False, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def svg_with_embedded_font(svg: str, font: Path | None = None, *, fallbacks: bool = True) -> str:
    """The SVG with a subset of the Japanese font embedded (``@font-face``, WOFF data URI).

    The embedded face gets a unique family name (a hash of its characters), put first in every
    ``font-family`` list, so several charts inlined in one HTML page never share a subset that
    lacks their characters. Viewers without CSS font support still fall back to the named fonts;
    with ``fallbacks=False`` (a page whose one subset holds every character of its charts) the
    theme's :data:`FONT_STACK` after the subset becomes just ``sans-serif``.
    """
    chars = svg_characters(svg)
    if not chars:
        return svg
    path = font or ensure_japanese_font().path
    data = _font_subset_woff(str(path), chars)
    family = "dxkpi-" + hashlib.sha256(data).hexdigest()[:12]
    face = (
        f"<style>@font-face{{font-family:'{family}';"
        f"src:url(data:font/woff;base64,{base64.b64encode(data).decode()}) format('woff');}}"
        "</style>"
    )

    def families(m: re.Match[str]) -> str:
        rest = "sans-serif" if not fallbacks and m.group(1) == FONT_STACK else m.group(1)
        return f'font-family="{family}, {rest}"'

    svg = re.sub(r'font-family="([^"]*)"', families, svg)
    return re.sub(r"(<svg\b[^>]*>)", lambda m: m.group(1) + face, svg, count=1)


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def save_png(chart: alt.TopLevelMixin, path: str | Path, scale: float = DEFAULT_PNG_SCALE) -> Path:
    """Write the chart as PNG (``scale`` × its pixel size), atomically. Returns the path."""
    return write_bytes(path, chart_to_png(chart, scale))


def save_svg(chart: alt.TopLevelMixin, path: str | Path, *, embed_font: bool = True) -> Path:
    """Write the chart as SVG, atomically; by default with an embedded font subset."""
    svg = chart_to_svg(chart)
    if embed_font:
        svg = svg_with_embedded_font(svg)
    return write_bytes(path, svg.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Altair renderer
# ---------------------------------------------------------------------------------------------


def _title_text(spec: dict[str, Any]) -> str:
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, Iterable) and not isinstance(title, str):
        title = " ".join(str(t) for t in title)
    return str(title) if title else "chart"


def mimebundle(
    spec: dict[str, Any], *, scale: float = DEFAULT_PNG_SCALE, embed_font: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(bundle, metadata) with ``image/png``, ``image/svg+xml``, ``text/plain`` and the spec
    itself (:data:`~dxkpi.reports.interactive.CHART_MIME`, which the HTML export draws as a live
    chart and no notebook front end renders).

    The PNG is drawn at ``scale`` and shown at its natural size (metadata width/height), so it
    stays sharp on high-density screens.
    """
    svg = chart_to_svg(spec)
    png = svg_to_png(svg, scale)
    width, height = png_size(png)
    shown = svg_with_embedded_font(svg) if embed_font else svg
    png_text = base64.b64encode(png).decode("ascii")
    bundle: dict[str, Any] = {
        "image/png": png_text,
        "image/svg+xml": shown,
        "text/plain": f"<dxkpi chart: {_title_text(spec)}>",
        CHART_MIME: spec,
    }
    title = _title_text(spec)
    meta = {
        "image/png": {"width": round(width / scale), "height": round(height / scale), "alt": title},
        "image/svg+xml": {"alt": title},
    }
    if live_in_frontend():
        bundle["text/html"] = lab_html(
            spec, png_text, round(width / scale), round(height / scale), title
        )
    return bundle, meta


def _embed_by_default() -> bool:
    """Embed a font subset in each chart's SVG, unless the report runner embeds one subset per
    page (it sets ``DXKPI_PAGE_FONT=1`` for the notebooks it runs)."""
    return not in_report_run()


def _renderer(spec: dict[str, Any], **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Altair renderer plug-in: ``alt.renderers.enable("dxkpi", scale=2, embed_font=True)``."""
    return mimebundle(
        spec,
        scale=float(options.get("scale", DEFAULT_PNG_SCALE)),
        embed_font=bool(options.get("embed_font", _embed_by_default())),
    )


def register_renderer() -> None:
    """Register the ``dxkpi`` renderer with Altair (enabling it is :func:`enable_renderer`)."""
    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, _renderer)


def enable_renderer(**options: Any) -> None:
    """Register and enable the ``dxkpi`` renderer for this process."""
    register_renderer()
    alt.renderers.enable(RENDERER_NAME, **options)


register_renderer()


# ---------------------------------------------------------------------------------------------
# schema validation
# ---------------------------------------------------------------------------------------------

#: How many specs that passed validation are remembered (a notebook validates a chart when it
#: saves it and again when it shows it, one chart after another).
_PASSED_SIZE = 32


def validate_once() -> None:
    """Altair validates a chart against the Vega-Lite schema each time it turns it into a spec:
    a report notebook does so when it saves the chart's PNG and again when it shows it, and a
    dashboard spends over a second on the repeats. From this call on, a spec that passed is
    not validated again while it is among the last :data:`_PASSED_SIZE` that passed: the same
    content against the same schema gives the same answer. A new spec, or one that failed, is
    validated (and fails) as before. Done once per process, when this module is imported."""
    from collections import OrderedDict

    from altair.utils import schemapi

    original: Callable[..., Any] = schemapi.validate_jsonschema
    if getattr(original, "dxkpi_once", False):
        return
    # the schemas are kept with their key, so an id in a key is never another object's
    passed: OrderedDict[tuple[int, int, str], tuple[object, object]] = OrderedDict()

    @functools.wraps(original)
    def validate_jsonschema(
        spec: Any, schema: Any, rootschema: Any = None, *, raise_error: bool = True
    ) -> Any:
        try:
            key = (id(schema), id(rootschema), json.dumps(spec, sort_keys=True))
        except (TypeError, ValueError):  # not plain JSON: validated every time
            return original(spec, schema, rootschema, raise_error=raise_error)
        if key in passed:
            passed.move_to_end(key)
            return None
        result = original(spec, schema, rootschema, raise_error=raise_error)
        if result is None:
            passed[key] = (schema, rootschema)
            if len(passed) > _PASSED_SIZE:
                passed.popitem(last=False)
        return result

    validate_jsonschema.dxkpi_once = True  # type: ignore[attr-defined]
    schemapi.validate_jsonschema = validate_jsonschema


validate_once()
