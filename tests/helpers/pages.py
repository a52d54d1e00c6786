"""A report notebook exported again, as a page was before live charts or the CSS reduction."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import nbformat

from dxkpi.reports import runner
from dxkpi.reports.interactive import CHART_MIME


def reexport(notebook: Path, target: Path, *, live: bool, whole_css: bool) -> Path:
    """``notebook`` (an executed report) exported to ``target`` with or without its live
    charts (``live``) and with the template's whole stylesheet (``whole_css``) or only what the
    page can use (:mod:`dxkpi.reports.pagecss`, what reports get)."""
    nb = nbformat.read(str(notebook), as_version=4)
    if not live:
        for cell in nb.cells:
            for output in cell.get("outputs", ()):
                output.get("data", {}).pop(CHART_MIME, None)
    copy = target.with_suffix(".ipynb")
    nbformat.write(nb, str(copy))
    reduce = runner.without_unused_css
    if whole_css:
        runner.without_unused_css = lambda page, also_used="": page  # type: ignore[assignment]
    try:
        runner.export_html(copy, target, title=notebook.stem, footer="footer")
    finally:
        runner.without_unused_css = reduce
    return target


def d3_count(x: float) -> str:
    """A numerator or denominator as the chart tooltip writes it (d3 ``,.1~f``, the format of
    :func:`dxkpi.catalogue.format.d3_count_format` for a non-score unit; d3 rounds as
    JavaScript's ``toFixed``, the exact binary value half up): 55.6667 → 55.7, 44.25 → 44.3,
    45.0 → 45, 2249.5 → 2,249.5.

    >>> [d3_count(x) for x in (55.6667, 44.25, 45.0, 2249.5, 0.35)]
    ['55.7', '44.3', '45', '2,249.5', '0.3']
    """
    text = format(Decimal(x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), ",")
    return text[:-2] if text.endswith(".0") else text
