"""KPI charts from the rich KPI frame: a KPI over fiscal years, bars by group, the grade table.

Input is the rich frame of :func:`dxkpi.kpi.engine.compute`. Suppressed cells are never drawn:
they appear as a labelled gap ``―（秘匿）`` and their values are not in the chart's data. Groups
differ by colour and marker shape, actual and target by solid and dashed lines, grades by colour
and a printed letter, so the charts stay readable in grey-scale print.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import polars as pl

from dxkpi.catalogue.format import (
    D3_EXACT_FORMAT,
    D3_FORMAT,
    d3_count_format,
    format_scale,
    format_value,
)
from dxkpi.catalogue.kpis import PLAN_TOTALS, REGISTRY, SECOND_DIMENSION_VALUES, KpiSpec
from dxkpi.catalogue.labels import codes, label, t
from dxkpi.reports.charts._frames import _data, _hidden, _require, _shown, _spec
from dxkpi.reports.charts.labels import (
    SUPPRESSED_EN,
    SUPPRESSED_JA,
    TARGET_MARK,
    VALUE_COLUMN_GAP,
    Lang,
    _axis_title,
    _code_label,
    _grade_meaning,
    _grouping_title,
    _labelled,
    _suppressed_text,
    _target_colour,
    _target_word,
    _title,
    _year_label,
    kpi_name,
)
from dxkpi.reports.charts.theme import FONT_SIZE, GRADE_COLOURS, GROUP_SHAPES, MUTED, TEXT_COLOUR

__all__ = [
    "BY_GROUP_WIDTH",
    "PLAN_MIN",
    "RICH_MIN",
    "grade_overview",
    "kpi_by_group",
    "kpi_trend",
    "kpi_trends",
    "plan_chart",
]

#: Width of the by-group bar chart's plot (its value labels sit in a column right of it).
BY_GROUP_WIDTH = 520


RICH_MIN = ("kpi", "fiscal_year", "group_by", "group", "value", "target", "grade", "suppressed")


#: Columns of the rich frame a tooltip shows when present (numerator and denominator are
#: optional inputs of the builders).
_TIP_COLUMNS = ("numerator", "denominator", "target", "grade")


def _tip_columns(cells: pl.DataFrame) -> list[str]:
    return [c for c in _TIP_COLUMNS if c in cells.columns]


def _tooltip(spec: KpiSpec, cells: pl.DataFrame, lang: Lang, first: alt.Tooltip) -> list[Any]:
    """What hovering a mark shows in the interactive chart: ``first`` (the group or year),
    the value and target in the KPI's unit, numerator, denominator and grade."""
    fmt, count = D3_EXACT_FORMAT[spec.unit], d3_count_format(spec.unit)
    tips: list[Any] = [first, alt.Tooltip("value:Q", title=t(lang, "実績", "Actual"), format=fmt)]
    present = _tip_columns(cells)
    if "numerator" in present:
        tips.append(alt.Tooltip("numerator:Q", title=t(lang, "分子", "Numerator"), format=count))
    if "denominator" in present:
        tips.append(
            alt.Tooltip("denominator:Q", title=t(lang, "分母", "Denominator"), format=count)
        )
    tips.append(alt.Tooltip("target:Q", title=t(lang, "目標", "Target"), format=fmt))
    tips.append(alt.Tooltip("grade:N", title=t(lang, "評価", "Grade")))
    return tips


def _city_label(spec: KpiSpec) -> str:
    """The ``group_by`` of a KPI's whole-city cells (its second dimension, if it has one)."""
    return spec.second_dimension or "city"


def kpi_trend(
    rich: pl.DataFrame,
    kpi_id: str,
    lang: Lang = "ja",
    *,
    group_by: str | None = None,
    groups: Sequence[str] | None = None,
) -> alt.LayerChart:
    """A KPI over fiscal years: actual (solid line, filled markers), target (dashed, hollow).

    Input: the rich KPI frame of :func:`dxkpi.kpi.engine.compute` — columns ``kpi, fiscal_year,
    group_by, group, value, ci_low, ci_high, target, grade, suppressed`` (``group_name`` optional).
    ``group_by`` defaults to the whole city (for per-phase/per-dimension KPIs: one line per
    phase/dimension); ``groups`` keeps only those groups. Suppressed or empty years leave a gap.
    A 95% interval band is drawn where ``ci_low``/``ci_high`` exist.
    """
    _require(rich, RICH_MIN, "kpi_trend")
    spec = _spec(kpi_id)
    cells = rich.filter(
        pl.col("kpi") == kpi_id, pl.col("group_by") == (group_by or _city_label(spec))
    )
    if groups is not None:
        cells = cells.filter(pl.col("group").is_in(list(groups)))
    cells = _labelled(cells.sort("fiscal_year"), lang).with_columns(
        year=pl.col("fiscal_year").map_elements(lambda y: _year_label(y, lang), pl.String)
    )
    years = cells.get_column("year").unique(maintain_order=True).to_list()
    actual, target = t(lang, "実績", "Actual"), t(lang, "目標", "Target")
    shown = _shown(cells)
    long = pl.concat(
        [
            shown.select(
                "year", "label", pl.lit(actual).alias("series"), "value", *_tip_columns(cells)
            ),
            cells.filter(pl.col("target").is_not_null()).select(
                "year", "label", pl.lit(target).alias("series"), pl.col("target").alias("value")
            ),
        ],
        how="diagonal",
    )
    fmt = D3_FORMAT[spec.unit]
    x = alt.X(
        "year:O", sort=years, title=t(lang, "年度", "Fiscal year"), axis=alt.Axis(labelAngle=0)
    )
    y = alt.Y("value:Q", title=_axis_title(spec, lang), axis=alt.Axis(format=fmt))
    series = alt.StrokeDash(
        "series:N",
        title=None,
        sort=[actual, target],
        scale=alt.Scale(domain=[actual, target], range=[[1, 0], [7, 4]]),
    )
    labels = cells.get_column("label").unique(maintain_order=True).to_list()
    # colour and shape share field, title and domain (no ``sort``), so Vega-Lite draws one
    # legend showing both; a single series needs no legend
    legend = None if len(labels) <= 1 else alt.Legend()
    group_title = t(lang, "区分", "Group")
    colour = alt.Color("label:N", title=group_title, scale=alt.Scale(domain=labels), legend=legend)
    stroke = alt.Stroke("label:N", title=group_title, scale=alt.Scale(domain=labels), legend=legend)
    shape = alt.Shape(
        "label:N",
        title=group_title,
        scale=alt.Scale(domain=labels, range=list(GROUP_SHAPES)),
        legend=legend,
    )
    base = alt.Chart(_data(long)).encode(x=x, y=y)
    layers: list[alt.Chart] = []
    band = shown.filter(pl.col("ci_low").is_not_null() & pl.col("ci_high").is_not_null())
    if not band.is_empty():
        layers.append(
            alt.Chart(_data(band.select("year", "label", "ci_low", "ci_high")))
            .mark_area(opacity=0.18)
            .encode(
                x=x,
                y=alt.Y("ci_low:Q", title=_axis_title(spec, lang)),
                y2="ci_high:Q",
                color=colour,
            )
        )
    # groups differ by colour and marker shape; actual vs target by solid vs dashed line and
    # filled vs hollow markers, so the chart reads in grey-scale print too
    layers += [
        base.mark_line().encode(strokeDash=series, detail="label:N", stroke=stroke),
        base.mark_point(size=120, filled=True, strokeWidth=2.5).encode(
            shape=shape,
            color=colour,
            stroke=stroke,
            fillOpacity=alt.condition(alt.datum.series == actual, alt.value(1), alt.value(0)),
            tooltip=[
                alt.Tooltip("label:N", title=group_title),
                alt.Tooltip("series:N", title=t(lang, "系列", "Series")),
                *_tooltip(
                    spec, cells, lang, alt.Tooltip("year:O", title=t(lang, "年度", "Fiscal year"))
                ),
            ],
        ),
    ]
    title = _title(
        kpi_name(kpi_id, lang),
        t(lang, "年度別の推移", "by fiscal year"),
        lang,
        _trend_subtitle(cells, lang, band_drawn=not band.is_empty()),
    )
    return alt.LayerChart(layer=layers, title=title).properties(width=560, height=320)


def _trend_subtitle(cells: pl.DataFrame, lang: Lang, *, band_drawn: bool) -> list[str]:
    notes: list[str] = []
    if band_drawn:
        notes.append(t(lang, "帯は95%信頼区間", "Band: 95% confidence interval"))
    hidden = _hidden(cells)
    if not hidden.is_empty():
        years = ", ".join(str(y) for y in hidden.get_column("fiscal_year").unique().sort())
        notes.append(
            t(
                lang,
                f"{SUPPRESSED_JA}: 少人数のため非表示（{years}年度）",
                f"{SUPPRESSED_EN}: small group, not shown (FY {years})",
            )
        )
    return notes


def kpi_trends(
    rich: pl.DataFrame,
    kpi_ids: Sequence[str],
    lang: Lang = "ja",
    *,
    group_by: str | None = None,
    groups: Sequence[str] | None = None,
) -> alt.VConcatChart:
    """Several :func:`kpi_trend` charts stacked in one figure (one image, drawn in one pass)."""
    return alt.vconcat(
        *(kpi_trend(rich, k, lang, group_by=group_by, groups=groups) for k in kpi_ids),
        spacing=24,
    )


def kpi_by_group(
    rich: pl.DataFrame,
    kpi_id: str,
    fiscal_year: int,
    lang: Lang = "ja",
    *,
    group_by: str = "department",
    second: str | None = None,
) -> alt.LayerChart:
    """One bar per group for one fiscal year, coloured by grade, with each group's target.

    Input: the rich KPI frame (``kpi, fiscal_year, group_by, group, value, target, grade,
    suppressed``; ``group_name`` labels departments). ``group_by`` is a grouping of
    :data:`dxkpi.catalogue.kpis.GROUPINGS`; for per-phase/per-dimension KPIs ``second`` picks the
    phase/dimension (default the first). Suppressed cells get no bar: a ``―（秘匿）`` label stands
    in the gap and their values are left out of the chart data. Targets are black ticks.
    """
    _require(rich, RICH_MIN, "kpi_by_group")
    spec = _spec(kpi_id)
    cell_group_by = group_by
    cells = rich.filter(pl.col("kpi") == kpi_id, pl.col("fiscal_year") == fiscal_year)
    if spec.second_dimension and group_by not in ("city", spec.second_dimension):
        cell_group_by = f"{group_by}|{spec.second_dimension}"
        pick = second or SECOND_DIMENSION_VALUES[spec.second_dimension][0]
        cells = cells.filter(pl.col("group").str.ends_with(f"|{pick}"))
    cells = _labelled(cells.filter(pl.col("group_by") == cell_group_by), lang)
    order = cells.get_column("label").to_list()
    shown = _shown(cells).with_columns(
        text=pl.struct("value", "grade").map_elements(
            lambda r: t(
                lang,
                f"{format_value(r['value'], spec.unit, variant='chart')}（{r['grade']}）",
                f"{format_value(r['value'], spec.unit, variant='chart')} ({r['grade']})",
            ),
            pl.String,
        ),
    )
    y = alt.Y("label:N", sort=order, title=_grouping_title(group_by, lang))
    x_axis = alt.Axis(format=D3_FORMAT[spec.unit])
    columns = ("label", "value", *_tip_columns(cells), "text")
    # in the interactive chart a drop-down picks one group (the others fade); null = all
    picker = alt.param(
        name="pick",
        value=None,
        bind=alt.binding_select(
            options=[None, *order],
            labels=[t(lang, "すべて", "All"), *order],
            name=_grouping_title(group_by, lang) + " ",
        ),
    )
    faded = alt.condition("pick == null || datum.label == pick", alt.value(1), alt.value(0.25))
    bars = (
        alt.Chart(_data(shown.select(columns)))
        .mark_bar(height={"band": 0.7})
        .encode(
            x=alt.X("value:Q", title=_axis_title(spec, lang), axis=x_axis),
            y=y,
            color=_grade_colour(lang),
            opacity=faded,
            tooltip=_tooltip(
                spec, cells, lang, alt.Tooltip("label:N", title=_grouping_title(group_by, lang))
            ),
        )
    )
    # in a column of their own right of the plot: beside a bar they sat by the target tick and
    # read as its label
    values = bars.mark_text(align="left").encode(
        x=alt.value(BY_GROUP_WIDTH + VALUE_COLUMN_GAP), text="text:N", color=alt.value(TEXT_COLOUR)
    )
    gaps = (
        alt.Chart(
            _data(_hidden(cells).select("label", pl.lit(_suppressed_text(lang)).alias("text")))
        )
        .mark_text(align="left", dx=6, color=MUTED)
        .encode(y=y, x=alt.datum(0), text="text:N")
    )
    targets = (
        alt.Chart(
            _data(
                cells.filter(pl.col("target").is_not_null()).select(
                    "label", "target", pl.lit(_target_word(lang)).alias(TARGET_MARK)
                )
            )
        )
        .mark_tick(thickness=3, size=22)
        .encode(x="target:Q", y=y, color=_target_colour(lang))
    )
    subtitle = t(
        lang,
        "黒い縦線は目標。色と括弧内は評価（A〜D）。",
        "Black tick: target. Colour and letter: grade (A–D).",
    )
    if not _hidden(cells).is_empty():
        subtitle += t(
            lang,
            f" {SUPPRESSED_JA} は少人数のため非表示。",
            f" {SUPPRESSED_EN}: small group, not shown.",
        )
    title = _title(
        kpi_name(kpi_id, lang),
        t(
            lang,
            f"{label('grouping', group_by, lang)}別（{fiscal_year}年度）",
            f"by {group_by.replace('_', ' ')} (FY{fiscal_year})",
        ),
        lang,
        subtitle,
    )
    return (
        alt.LayerChart(layer=[bars, targets, values, gaps], title=title)
        .resolve_scale(color="independent")
        .add_params(picker)
        .properties(width=BY_GROUP_WIDTH, height=alt.Step(26))
    )


def _grade_colour(lang: Lang, *, legend: bool = True) -> alt.Color:
    grades = list(GRADE_COLOURS)
    return alt.Color(
        "grade:N",
        title=t(lang, "評価", "Grade"),
        scale=alt.Scale(domain=grades, range=list(GRADE_COLOURS.values())),
        legend=alt.Legend(labelExpr=_grade_label_expr(lang)) if legend else None,
    )


def _grade_label_expr(lang: Lang) -> str:
    cases = " : ".join(
        f"datum.label == '{g}' ? '{_grade_meaning(g, lang)}'" for g in codes("grade")
    )
    return f"{cases} : datum.label"


def _with_unit(value: float | None, unit: str, lang: Lang) -> str:
    """A value of the overview with its unit (``68,257時間``, ``92.5件/100人``), ``―`` when
    missing; rates as whole % like every chart label."""
    if unit == "ratio" or value is None or value != value:
        return format_value(value, unit, variant="chart")
    return format_value(value, unit, lang=lang, variant="text", sign=unit == "score_diff")


def grade_overview(rich: pl.DataFrame, fiscal_year: int, lang: Lang = "ja") -> alt.LayerChart:
    """Every KPI's whole-city grade for one fiscal year as a table of coloured tiles.

    Input: the rich KPI frame (``kpi, fiscal_year, group_by, group, value, target, grade,
    suppressed``). One row per KPI (per phase/dimension for KPIs that have one), in registry
    order; columns: kind (KPI/KGI), grade tile with its letter, actual, target. Suppressed cells
    show ``―（秘匿）`` and no value.
    """
    _require(rich, RICH_MIN, "grade_overview")
    rows = _overview_rows(rich.filter(pl.col("fiscal_year") == fiscal_year), lang)
    cols = [
        t(lang, "区分", "Kind"),
        t(lang, "評価", "Grade"),
        t(lang, "実績", "Actual"),
        t(lang, "目標", "Target"),
    ]
    long = pl.concat(
        [
            rows.select(
                "row",
                pl.lit(cols[0]).alias("column"),
                pl.col("kind_label").alias("text"),
                pl.lit(None, pl.String).alias("grade"),
            ),
            rows.select(
                "row", pl.lit(cols[1]).alias("column"), pl.col("grade_text").alias("text"), "grade"
            ),
            rows.select(
                "row",
                pl.lit(cols[2]).alias("column"),
                pl.col("value_text").alias("text"),
                pl.lit(None, pl.String).alias("grade"),
            ),
            rows.select(
                "row",
                pl.lit(cols[3]).alias("column"),
                pl.col("target_text").alias("text"),
                pl.lit(None, pl.String).alias("grade"),
            ),
        ]
    )
    order = rows.get_column("row").to_list()
    x = alt.X(
        "column:N",
        sort=cols,
        title=None,
        axis=alt.Axis(
            orient="top", labelAngle=0, domain=False, ticks=False, labelFontSize=FONT_SIZE + 1
        ),
    )
    y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(domain=False, ticks=False))
    tiles = (
        alt.Chart(_data(long.filter(pl.col("grade").is_not_null())))
        .mark_rect(stroke="white", strokeWidth=2)
        .encode(x=x, y=y, color=_grade_colour(lang, legend=False))
    )
    text = (
        alt.Chart(_data(long))
        .mark_text(fontSize=FONT_SIZE + 1)
        .encode(
            x=x,
            y=y,
            text="text:N",
            color=alt.condition(
                "datum.grade == 'A' || datum.grade == 'C'",
                alt.value("white"),
                alt.value(TEXT_COLOUR),
            ),
        )
    )
    title = alt.Title(
        text=t(
            lang,
            f"KPI・KGIの評価一覧（{fiscal_year}年度・全庁）",
            f"KPI and KGI grades (FY{fiscal_year}, whole city)",
        ),
        subtitle=t(lang, "　", " · ").join(_grade_meaning(g, lang) for g in codes("grade")),
    )
    return alt.LayerChart(layer=[tiles, text], title=title).properties(
        width=480, height=alt.Step(30)
    )


def _overview_rows(cells: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for kpi_id, spec in REGISTRY.items():
        mine = cells.filter(pl.col("kpi") == kpi_id, pl.col("group_by") == _city_label(spec))
        for cell in mine.to_dicts():
            name = t(lang, spec.name_ja, spec.name_en)
            if spec.scale is not None:
                name += t(
                    lang,
                    f"（{format_scale(spec.scale, lang)}）",
                    f" ({format_scale(spec.scale, lang)})",
                )
            if spec.second_dimension:
                name = f"{name} {_code_label(spec.second_dimension, cell['group'], lang)}"
            hidden = bool(cell["suppressed"])
            rows.append(
                {
                    "row": name,
                    "kind_label": spec.kind.upper(),
                    "grade": None if hidden else (cell["grade"] or "D"),
                    "grade_text": t(lang, "秘匿", "suppr.") if hidden else (cell["grade"] or "D"),
                    "value_text": _suppressed_text(lang)
                    if hidden
                    else _with_unit(cell["value"], spec.unit, lang),
                    "target_text": _with_unit(cell["target"], spec.unit, lang),
                }
            )
    schema = {
        k: pl.String
        for k in ("row", "kind_label", "grade", "grade_text", "value_text", "target_text")
    }
    return pl.DataFrame(rows, schema=schema)


#: Columns :func:`plan_chart` reads (the frame of :func:`dxkpi.kpi.plans.plan_progress`).
PLAN_MIN = ("kind", "measure", "fiscal_year", "actual", "path", "end_target")


def _plan_target_chart(part: pl.DataFrame, kind: str, measure: str, lang: Lang) -> alt.LayerChart:
    if kind == "end":
        spec = _spec(measure)
        name, axis, fmt = kpi_name(measure, lang), _axis_title(spec, lang), D3_FORMAT[spec.unit]
    else:
        total = PLAN_TOTALS[measure]
        name, fmt = t(lang, total.name_ja, total.name_en), ",~f"
        axis = t(lang, f"{total.name_ja}（{total.unit_ja}）", f"{total.name_en} ({total.unit_en})")
    actual, path = t(lang, "実績", "Actual"), t(lang, "計画の道筋", "Plan path")
    part = part.sort("fiscal_year").with_columns(
        year=pl.col("fiscal_year").map_elements(lambda y: _year_label(y, lang), pl.String)
    )
    long = pl.concat(
        [
            part.filter(pl.col("actual").is_not_null()).select(
                "year", pl.lit(actual).alias("series"), pl.col("actual").alias("value")
            ),
            part.filter(pl.col("path").is_not_null()).select(
                "year", pl.lit(path).alias("series"), pl.col("path").alias("value")
            ),
        ]
    )
    x = alt.X(
        "year:O",
        sort=part.get_column("year").to_list(),
        title=t(lang, "年度", "Fiscal year"),
        axis=alt.Axis(labelAngle=0),
    )
    series = alt.StrokeDash(
        "series:N",
        title=None,
        sort=[actual, path],
        scale=alt.Scale(domain=[actual, path], range=[[1, 0], [7, 4]]),
    )
    base = alt.Chart(_data(long)).encode(
        x=x, y=alt.Y("value:Q", title=axis, axis=alt.Axis(format=fmt))
    )
    layers = [
        base.mark_line().encode(strokeDash=series),
        base.mark_point(size=110, filled=True, strokeWidth=2.5).encode(
            fillOpacity=alt.condition(alt.datum.series == actual, alt.value(1), alt.value(0)),
            tooltip=[
                alt.Tooltip("year:O", title=t(lang, "年度", "Fiscal year")),
                alt.Tooltip("series:N", title=t(lang, "系列", "Series")),
                alt.Tooltip("value:Q", title=axis, format=fmt),
            ],
        ),
    ]
    what = t(lang, "計画の進捗", "against the plan")
    return alt.LayerChart(layer=layers, title=_title(name, what, lang)).properties(
        width=520, height=220
    )


def plan_chart(progress: pl.DataFrame, lang: Lang = "ja") -> alt.VConcatChart:
    """A multi-year plan's targets over its years: actual (solid line, filled markers) against
    the plan path (dashed, hollow), one small chart per target, stacked.

    Input: the frame of :func:`dxkpi.kpi.plans.plan_progress` (``kind, measure, fiscal_year,
    actual, path``). End targets use their KPI's unit; totals are counts (人, 件, 時間).
    """
    _require(progress, PLAN_MIN, "plan_chart")
    keys = progress.select("kind", "measure").unique(maintain_order=True).iter_rows()
    charts = [
        _plan_target_chart(
            progress.filter(pl.col("kind") == kind, pl.col("measure") == measure),
            kind,
            measure,
            lang,
        )
        for kind, measure in keys
    ]
    return alt.vconcat(*charts, spacing=24)
