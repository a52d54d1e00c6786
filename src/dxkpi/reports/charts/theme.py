"""The ``dxkpi`` Altair theme and the colours, marker shapes and type size every chart uses.

Importing this module registers and enables the Altair theme ``"dxkpi"`` (large type for print
and projectors, the Japanese font first, the Okabe–Ito colour-blind-safe palette, grade colours
A/B/C/D) and enables the offline renderer ``"dxkpi"`` of :mod:`dxkpi.reports.render` (PNG + SVG,
no network). Every chart module imports it, so importing :mod:`dxkpi.reports.charts` is enough.
"""

from __future__ import annotations

import altair as alt

from dxkpi.reports import render

__all__ = [
    "FONT_SIZE",
    "GRADE_COLOURS",
    "GROUP_SHAPES",
    "MUTED",
    "OKABE_ITO",
    "SUPPRESSED_COLOUR",
    "TEXT_COLOUR",
    "THEME_NAME",
    "theme_config",
]


THEME_NAME = "dxkpi"


#: Okabe & Ito (2008), ordered for contrast between neighbours; safe for all common CVD types.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)


#: Grade tiles: dark blue / light blue / vermillion / light grey — distinct in grey-scale too,
#: and every tile also prints its letter.
GRADE_COLOURS: dict[str, str] = {
    "A": "#0072B2",
    "B": "#56B4E9",
    "C": "#D55E00",
    "D": "#D9D9D9",
    "P": "#F0E442",  # 暫定: a waiting KPI's cohort not yet matured (not graded)
}


SUPPRESSED_COLOUR = "#F2F2F2"


#: Marker shapes per group, in the same order as the palette.
GROUP_SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle-up",
    "diamond",
    "triangle-down",
    "cross",
    "triangle-left",
    "triangle-right",
)


TEXT_COLOUR = "#222222"


MUTED = "#666666"


FONT_SIZE = 14


def theme_config() -> alt.theme.ThemeConfig:
    """The ``dxkpi`` theme: Vega-Lite top-level properties (``config`` and defaults)."""
    axis: alt.theme.AxisConfigKwds = {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE + 1,
        "titleFontWeight": "normal",
        "labelColor": TEXT_COLOUR,
        "titleColor": TEXT_COLOUR,
        "domainColor": "#555555",
        "tickColor": "#555555",
        "gridColor": "#E3E3E3",
        "labelLimit": 280,
        "titlePadding": 10,
    }
    return {
        "config": {
            "font": render.FONT_STACK,
            "background": "white",
            "padding": 12,
            "view": {"continuousWidth": 560, "continuousHeight": 320, "stroke": None},
            "title": {
                "fontSize": 22,
                "fontWeight": "normal",
                "anchor": "start",
                "color": TEXT_COLOUR,
                "subtitleFontSize": FONT_SIZE + 1,
                "subtitleColor": "#444444",
                "offset": 14,
            },
            "axis": axis,
            "legend": {
                "labelFontSize": FONT_SIZE,
                "titleFontSize": FONT_SIZE,
                "titleFontWeight": "normal",
                "symbolSize": 160,
                "labelLimit": 320,
                "orient": "bottom",
                "direction": "horizontal",
            },
            "header": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE + 1},
            "text": {"fontSize": FONT_SIZE, "color": TEXT_COLOUR},
            "line": {"strokeWidth": 3},
            "point": {"size": 110, "filled": True, "opacity": 1},
            "rule": {"strokeWidth": 2},
            "range": {"category": list(OKABE_ITO)},
        }
    }


@alt.theme.register(THEME_NAME, enable=True)
def _dxkpi_theme() -> alt.theme.ThemeConfig:
    return theme_config()


render.enable_renderer()
