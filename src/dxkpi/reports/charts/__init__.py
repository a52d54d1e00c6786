"""Charts for the KPI reports: one Altair theme and one builder per chart kind.

Importing this package registers and enables the Altair theme ``"dxkpi"`` (large type for print
and projectors, the Japanese font first, the Okabe–Ito colour-blind-safe palette, grade colours
A/B/C/D) and the offline renderer ``"dxkpi"`` of :mod:`dxkpi.reports.render` (PNG + SVG, no
network).

Builders take polars frames (converted to plain values only inside), label everything in
Japanese by default (``lang="en"`` for English), take KPI names and units from
:data:`dxkpi.catalogue.kpis.REGISTRY` and return an ``alt.Chart`` / ``alt.LayerChart`` with a title.
Suppressed cells are never drawn: they appear as a labelled gap ``―（秘匿）`` and their values are
not in the chart's data. Where colour carries meaning, shape, dash or a text label carries it too,
so charts stay readable in grey-scale print.

Modules, one job each (every public name is re-exported here):

* :mod:`~dxkpi.reports.charts.theme` — the theme, palette and grade colours (registered on import);
* :mod:`~dxkpi.reports.charts.labels` — KPI names, group labels, axis titles and titles composed
  from the label vocabulary (:mod:`dxkpi.catalogue.labels`; values: :mod:`dxkpi.catalogue.format`);
* :mod:`~dxkpi.reports.charts.kpi` — :func:`kpi_trend`, :func:`kpi_trends`, :func:`kpi_by_group`,
  :func:`grade_overview`, :func:`plan_chart` (a multi-year plan's targets against its path);
* :mod:`~dxkpi.reports.charts.effects` — :func:`event_study`, :func:`estimator_comparison`;
* :mod:`~dxkpi.reports.charts.evidence` — :func:`sensitivity_plot` (robust sets against the bound
  on violations of parallel trends, breakdown value marked), :func:`bacon_chart` (the 2×2
  comparisons of the TWFE estimate by weight and type);
* :mod:`~dxkpi.reports.charts.heatmaps` — :func:`maturity_heatmap`, :func:`skill_heatmap`,
  :func:`maturity_gap`;
* :mod:`~dxkpi.reports.charts.funnel` — :func:`phase_funnel`;
* :mod:`~dxkpi.reports.charts.peers` — :func:`funnel_plot` (a benchmark across municipalities:
  each one's value against its denominator, with 95 % / 99.8 % control limits);
* :mod:`~dxkpi.reports.charts.survival` — :func:`implementation_curve` (Kaplan–Meier time to
  implementation by fiscal year of submission);
* :mod:`~dxkpi.reports.charts._frames` — :class:`ChartInputError` and the input checks and chart
  data the builders share.
"""

from __future__ import annotations

from dxkpi.reports.charts._frames import ChartInputError
from dxkpi.reports.charts.effects import DYNAMIC_COLUMNS, estimator_comparison, event_study
from dxkpi.reports.charts.evidence import BACON_COLUMNS, bacon_chart, sensitivity_plot
from dxkpi.reports.charts.funnel import phase_funnel
from dxkpi.reports.charts.heatmaps import maturity_gap, maturity_heatmap, skill_heatmap
from dxkpi.reports.charts.kpi import (
    PLAN_MIN,
    RICH_MIN,
    grade_overview,
    kpi_by_group,
    kpi_trend,
    kpi_trends,
    plan_chart,
)
from dxkpi.reports.charts.labels import SUPPRESSED_EN, SUPPRESSED_JA, Lang, group_label, kpi_name
from dxkpi.reports.charts.peers import funnel_plot
from dxkpi.reports.charts.survival import implementation_curve
from dxkpi.reports.charts.theme import (
    FONT_SIZE,
    GRADE_COLOURS,
    GROUP_SHAPES,
    MUTED,
    OKABE_ITO,
    SUPPRESSED_COLOUR,
    TEXT_COLOUR,
    THEME_NAME,
    theme_config,
)

__all__ = [
    "BACON_COLUMNS",
    "DYNAMIC_COLUMNS",
    "FONT_SIZE",
    "GRADE_COLOURS",
    "GROUP_SHAPES",
    "MUTED",
    "OKABE_ITO",
    "PLAN_MIN",
    "RICH_MIN",
    "SUPPRESSED_COLOUR",
    "SUPPRESSED_EN",
    "SUPPRESSED_JA",
    "TEXT_COLOUR",
    "THEME_NAME",
    "ChartInputError",
    "Lang",
    "bacon_chart",
    "estimator_comparison",
    "event_study",
    "funnel_plot",
    "grade_overview",
    "group_label",
    "implementation_curve",
    "kpi_by_group",
    "kpi_name",
    "kpi_trend",
    "kpi_trends",
    "maturity_gap",
    "maturity_heatmap",
    "phase_funnel",
    "plan_chart",
    "sensitivity_plot",
    "skill_heatmap",
    "theme_config",
]
