"""Charts for the KPI reports: one Altair theme and one builder per chart kind.

Importing this module registers and enables the Altair theme ``"dxkpi"`` (large type for print
and projectors, the Japanese font first, the Okabe–Ito colour-blind-safe palette, grade colours
A/B/C/D) and the offline renderer ``"dxkpi"`` of :mod:`dxkpi.reports.render` (PNG + SVG, no
network).

Builders take polars frames (converted to plain values only inside), label everything in
Japanese by default (``lang="en"`` for English), take KPI names and units from
:data:`dxkpi.catalogue.kpis.REGISTRY` and return an ``alt.Chart`` / ``alt.LayerChart`` with a title.
Suppressed cells are never drawn: they appear as a labelled gap ``―（秘匿）`` and their values are
not in the chart's data. Where colour carries meaning, shape, dash or a text label carries it too,
so charts stay readable in grey-scale print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import altair as alt
import polars as pl

from dxkpi.catalogue.contract import DATASETS, group_code_labels
from dxkpi.catalogue.kpis import GROUPING_JA, REGISTRY, SECOND_DIMENSION_VALUES, KpiSpec
from dxkpi.catalogue.kpis import format_value as registry_format_value
from dxkpi.core.errors import DxkpiError
from dxkpi.reports import render

__all__ = [
    "GRADE_COLOURS",
    "OKABE_ITO",
    "THEME_NAME",
    "ChartInputError",
    "estimator_comparison",
    "event_study",
    "grade_overview",
    "kpi_by_group",
    "kpi_trend",
    "maturity_gap",
    "maturity_heatmap",
    "phase_funnel",
    "theme_config",
]

Lang = Literal["ja", "en"]

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
GRADE_COLOURS: dict[str, str] = {"A": "#0072B2", "B": "#56B4E9", "C": "#D55E00", "D": "#D9D9D9"}
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
SUPPRESSED_JA = "―（秘匿）"
SUPPRESSED_EN = "― (suppressed)"
FONT_SIZE = 14

GRADE_MEANING: dict[str, tuple[str, str]] = {
    "A": ("A 目標を上回る", "A ahead of target"),
    "B": ("B 目標どおり", "B on target"),
    "C": ("C 目標を下回る", "C behind target"),
    "D": ("D 評価できない", "D cannot be assessed"),
}
UNIT_LABEL: dict[str, tuple[str, str]] = {
    "ratio": ("％", "%"),
    "per_100": ("件／100人", "per 100 staff"),
    "hours": ("時間／年", "hours per year"),
    "score": ("評点 0–5", "score 0–5"),
    "score_diff": ("評点の差", "score difference"),
}
#: d3 formats for axes (``~`` drops trailing zeros: 20 not 20.0).
UNIT_FORMAT: dict[str, str] = {
    "ratio": ".0%",
    "per_100": ",~f",
    "hours": ",~f",
    "score": "~f",
    "score_diff": "+~f",
}
PHASE_LABEL_EN: dict[str, str] = {"1": "1 Mindset", "2": "2 Skills", "3": "3 Practice"}
#: English labels of group codes (the Japanese ones come from the data contract).
CODE_LABEL_EN: dict[str, str] = {
    "city": "Whole city",
    "manager": "Managers",
    "mid": "Mid-career",
    "staff": "General staff",
    "leader": "Leaders",
    "specialist": "Specialists",
    "practitioner": "Practitioners",
    "unassigned": "Unassigned",
    "literacy": "Literacy",
    "data": "Data use",
    "leadership": "Leadership",
    "development": "Talent development",
    "culture": "Culture",
}
METHOD_LABEL: dict[str, tuple[str, str]] = {
    "naive_before_after": ("単純な前後比較", "Naive before/after"),
    "twfe": ("二方向固定効果（TWFE）", "Two-way fixed effects (TWFE)"),
    "group_time": ("グループ・時点別DiD", "Group-time DiD (Callaway–Sant'Anna)"),
}


# ---------------------------------------------------------------------------------------------
# theme
# ---------------------------------------------------------------------------------------------


def theme_config() -> dict[str, Any]:
    """The ``dxkpi`` theme: Vega-Lite top-level properties (``config`` and defaults)."""
    axis = {
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
    return theme_config()  # type: ignore[return-value]


render.enable_renderer()


# ---------------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------------


def _t(lang: Lang, ja: str, en: str) -> str:
    return en if lang == "en" else ja


def _pair(pair: tuple[str, str], lang: Lang) -> str:
    return _t(lang, *pair)


class ChartInputError(DxkpiError):
    """A chart was given a frame it cannot draw (unknown KPI, missing columns, no rows)."""


def _spec(kpi_id: str) -> KpiSpec:
    if kpi_id not in REGISTRY:
        raise ChartInputError(
            f"不明な指標IDです: {kpi_id}",
            f"unknown KPI id: {kpi_id}",
            hint_ja=f"使える指標: {', '.join(REGISTRY)}",
            hint_en=f"known: {', '.join(REGISTRY)}",
        )
    return REGISTRY[kpi_id]


def kpi_name(kpi_id: str, lang: Lang = "ja") -> str:
    """The KPI's name from the registry, in the chosen language."""
    spec = _spec(kpi_id)
    return _t(lang, spec.name_ja, spec.name_en)


def _axis_title(spec: KpiSpec, lang: Lang) -> str:
    unit = _pair(UNIT_LABEL[spec.unit], lang)
    return _t(lang, f"{spec.name_ja}（{unit}）", f"{spec.name_en} ({unit})")


def _suppressed_text(lang: Lang) -> str:
    return _t(lang, SUPPRESSED_JA, SUPPRESSED_EN)


def _year_label(year: int, lang: Lang) -> str:
    return _t(lang, f"{year}年度", f"FY{year}")


def format_value(value: float | None, unit: str) -> str:
    """A value on a chart label: ratios as whole %, ``―`` when missing."""
    return registry_format_value(value, unit, percent_digits=0, empty="―")


def _contract_labels() -> dict[str, str]:
    """Japanese labels of the group codes charts show, from the data contract's code lists."""
    return {"city": GROUPING_JA["city"], **group_code_labels()}


CODE_LABEL_JA: dict[str, str] = _contract_labels()


def _phase_labels() -> dict[str, str]:
    """``"1"`` → ``"1 意識改革"``: training phases from the data contract."""
    col = next(c for c in DATASETS["courses"].columns if c.name == "phase")
    return {code.code: f"{code.code} {code.ja}" for code in col.codes}


PHASE_LABEL_JA: dict[str, str] = _phase_labels()


def _code_label(code: str, lang: Lang) -> str:
    if code in PHASE_LABEL_JA:
        return _t(lang, PHASE_LABEL_JA[code], PHASE_LABEL_EN.get(code, code))
    if lang == "en":
        return CODE_LABEL_EN.get(code, code)
    return CODE_LABEL_JA.get(code, code)


def group_label(group: str, group_name: str | None, lang: Lang = "ja") -> str:
    """Readable label of a KPI cell's group (``"010100|data"`` → ``"総務課 データ活用"``)."""
    parts = group.split("|")
    first = group_name if group_name else _code_label(parts[0], lang)
    return " ".join([first, *(_code_label(p, lang) for p in parts[1:])])


def _labelled(frame: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    names = frame.get_column("group_name") if "group_name" in frame.columns else None
    labels = [
        group_label(g, names[i] if names is not None else None, lang)
        for i, g in enumerate(frame.get_column("group").to_list())
    ]
    return frame.with_columns(pl.Series("label", labels, dtype=pl.String))


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ChartInputError(
            f"{what}: 列がありません: {', '.join(missing)}",
            f"{what}: missing columns: {', '.join(missing)}",
            hint_ja="dxkpi.kpi.engine.compute の結果（rich frame）を渡してください。",
            hint_en="pass the rich frame of dxkpi.kpi.engine.compute.",
        )


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Plain JSON-ready rows (NaN → None) for inline chart data."""
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dicts()
    ]


def _data(frame: pl.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=_records(frame))


def _latest_year(frame: pl.DataFrame, fiscal_year: int | None) -> int:
    if fiscal_year is not None:
        return fiscal_year
    if frame.is_empty():
        raise ChartInputError("描く行がありません。", "no rows to chart.")
    return int(frame.get_column("fiscal_year").max())  # type: ignore[arg-type]


def _city_label(spec: KpiSpec) -> str:
    """The ``group_by`` of a KPI's whole-city cells (its second dimension, if it has one)."""
    return spec.second_dimension or "city"


def _shown(frame: pl.DataFrame) -> pl.DataFrame:
    """Cells whose value may be drawn: not suppressed and not empty."""
    return frame.filter(~pl.col("suppressed").fill_null(False) & pl.col("value").is_not_null())


def _hidden(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("suppressed").fill_null(False))


# ---------------------------------------------------------------------------------------------
# KPI charts
# ---------------------------------------------------------------------------------------------

RICH_MIN = ("kpi", "fiscal_year", "group_by", "group", "value", "target", "grade", "suppressed")


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
    actual, target = _t(lang, "実績", "Actual"), _t(lang, "目標", "Target")
    shown = _shown(cells)
    long = pl.concat(
        [
            shown.select("year", "label", pl.lit(actual).alias("series"), "value"),
            cells.filter(pl.col("target").is_not_null()).select(
                "year", "label", pl.lit(target).alias("series"), pl.col("target").alias("value")
            ),
        ]
    )
    fmt = UNIT_FORMAT[spec.unit]
    x = alt.X(
        "year:O", sort=years, title=_t(lang, "年度", "Fiscal year"), axis=alt.Axis(labelAngle=0)
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
    group_title = _t(lang, "区分", "Group")
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
        ),
    ]
    title = _title(
        kpi_name(kpi_id, lang),
        _t(lang, "年度別の推移", "by fiscal year"),
        lang,
        _trend_subtitle(cells, lang, band_drawn=not band.is_empty()),
    )
    return alt.layer(*layers, title=title).properties(width=560, height=320)


def _title(name: str, what: str, lang: Lang, subtitle: str | list[str] | None = None) -> alt.Title:
    text = _t(lang, f"{name}　{what}", f"{name} {what}")
    return alt.Title(text=text, subtitle=subtitle or "")


def _trend_subtitle(cells: pl.DataFrame, lang: Lang, *, band_drawn: bool) -> list[str]:
    notes: list[str] = []
    if band_drawn:
        notes.append(_t(lang, "帯は95%信頼区間", "Band: 95% confidence interval"))
    hidden = _hidden(cells)
    if not hidden.is_empty():
        years = ", ".join(str(y) for y in hidden.get_column("fiscal_year").unique().sort())
        notes.append(
            _t(
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
    label = group_by
    cells = rich.filter(pl.col("kpi") == kpi_id, pl.col("fiscal_year") == fiscal_year)
    if spec.second_dimension and group_by not in ("city", spec.second_dimension):
        label = f"{group_by}|{spec.second_dimension}"
        pick = second or SECOND_DIMENSION_VALUES[spec.second_dimension][0]
        cells = cells.filter(pl.col("group").str.ends_with(f"|{pick}"))
    cells = _labelled(cells.filter(pl.col("group_by") == label), lang)
    order = cells.get_column("label").to_list()
    shown = _shown(cells).with_columns(
        text=pl.struct("value", "grade").map_elements(
            lambda r: (
                f"{format_value(r['value'], spec.unit)}（{r['grade']}）"
                if lang == "ja"
                else f"{format_value(r['value'], spec.unit)} ({r['grade']})"
            ),
            pl.String,
        ),
        # the value label goes right of both the bar and the target tick
        text_x=pl.max_horizontal("value", pl.col("target").fill_null(pl.col("value"))),
    )
    y = alt.Y("label:N", sort=order, title=_grouping_title(group_by, lang))
    x_axis = alt.Axis(format=UNIT_FORMAT[spec.unit])
    bars = (
        alt.Chart(_data(shown.select("label", "value", "grade", "target", "text", "text_x")))
        .mark_bar(height={"band": 0.7})
        .encode(
            x=alt.X("value:Q", title=_axis_title(spec, lang), axis=x_axis),
            y=y,
            color=_grade_colour(lang),
        )
    )
    values = bars.mark_text(align="left", dx=8).encode(
        x="text_x:Q", text="text:N", color=alt.value(TEXT_COLOUR)
    )
    gaps = (
        alt.Chart(
            _data(_hidden(cells).select("label", pl.lit(_suppressed_text(lang)).alias("text")))
        )
        .mark_text(align="left", dx=6, color=MUTED)
        .encode(y=y, x=alt.datum(0), text="text:N")
    )
    targets = (
        alt.Chart(_data(cells.filter(pl.col("target").is_not_null()).select("label", "target")))
        .mark_tick(color=TEXT_COLOUR, thickness=3, size=22)
        .encode(x="target:Q", y=y)
    )
    subtitle = _t(
        lang,
        "黒い縦線は目標。色と括弧内は評価（A〜D）。",
        "Black tick: target. Colour and letter: grade (A–D).",
    )
    if not _hidden(cells).is_empty():
        subtitle += _t(
            lang,
            f" {SUPPRESSED_JA} は少人数のため非表示。",
            f" {SUPPRESSED_EN}: small group, not shown.",
        )
    title = _title(
        kpi_name(kpi_id, lang),
        _t(
            lang,
            f"{GROUPING_JA.get(group_by, group_by)}別（{fiscal_year}年度）",
            f"by {group_by.replace('_', ' ')} (FY{fiscal_year})",
        ),
        lang,
        subtitle,
    )
    return alt.layer(bars, targets, values, gaps, title=title).properties(
        width=520, height=alt.Step(26)
    )


def _grouping_title(grouping: str, lang: Lang) -> str:
    return _t(lang, GROUPING_JA.get(grouping, grouping), grouping.replace("_", " ").capitalize())


def _grade_colour(lang: Lang, *, legend: bool = True) -> alt.Color:
    grades = list(GRADE_COLOURS)
    return alt.Color(
        "grade:N",
        title=_t(lang, "評価", "Grade"),
        scale=alt.Scale(domain=grades, range=list(GRADE_COLOURS.values())),
        legend=alt.Legend(labelExpr=_grade_label_expr(lang)) if legend else None,
    )


def _grade_label_expr(lang: Lang) -> str:
    cases = " : ".join(
        f"datum.label == '{g}' ? '{_pair(GRADE_MEANING[g], lang)}'" for g in GRADE_MEANING
    )
    return f"{cases} : datum.label"


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
        _t(lang, "区分", "Kind"),
        _t(lang, "評価", "Grade"),
        _t(lang, "実績", "Actual"),
        _t(lang, "目標", "Target"),
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
        text=_t(
            lang,
            f"KPI・KGIの評価一覧（{fiscal_year}年度・全庁）",
            f"KPI and KGI grades (FY{fiscal_year}, whole city)",
        ),
        subtitle=_t(
            lang,
            "A 目標を上回る　B 目標どおり　C 目標を下回る　D 評価できない",
            "A ahead of target · B on target · C behind · D cannot be assessed",
        ),
    )
    return alt.layer(tiles, text, title=title).properties(width=480, height=alt.Step(30))


def _overview_rows(cells: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for kpi_id, spec in REGISTRY.items():
        mine = cells.filter(pl.col("kpi") == kpi_id, pl.col("group_by") == _city_label(spec))
        for cell in mine.to_dicts():
            name = _t(lang, spec.name_ja, spec.name_en)
            if spec.second_dimension:
                name = f"{name} {_code_label(cell['group'], lang)}"
            hidden = bool(cell["suppressed"])
            rows.append(
                {
                    "row": name,
                    "kind_label": spec.kind.upper(),
                    "grade": None if hidden else (cell["grade"] or "D"),
                    "grade_text": _t(lang, "秘匿", "suppr.") if hidden else (cell["grade"] or "D"),
                    "value_text": _suppressed_text(lang)
                    if hidden
                    else format_value(cell["value"], spec.unit),
                    "target_text": format_value(cell["target"], spec.unit),
                }
            )
    schema = {
        k: pl.String
        for k in ("row", "kind_label", "grade", "grade_text", "value_text", "target_text")
    }
    return pl.DataFrame(rows, schema=schema)


# ---------------------------------------------------------------------------------------------
# DiD charts
# ---------------------------------------------------------------------------------------------

DYNAMIC_COLUMNS = ("key", "att", "ci_lower", "ci_upper")


EVENT_UNIT = {
    "year": ("年数", "Years"),
    "quarter": ("四半期数", "Quarters"),
    "month": ("月数", "Months"),
}


def event_study(
    dynamic_frame: pl.DataFrame,
    lang: Lang = "ja",
    *,
    outcome_label: str | None = None,
    band: bool | None = None,
    period: str = "year",
) -> alt.LayerChart:
    """Effect by event time (periods since first training) with 95% intervals, zero line, shading.

    ``period`` names the event-time unit on the axis: ``"year"``, ``"quarter"`` or ``"month"``.

    Input: ``AttGtResult.aggregate("dynamic").by`` — columns ``key`` (event time e = t − g),
    ``att``, ``ci_lower``, ``ci_upper``, and optionally ``band_lower``/``band_upper`` (the
    simultaneous band). ``band=None`` draws the band when it is wider than the pointwise
    intervals (i.e. after a bootstrap). Pre-treatment periods are shaded and drawn as grey
    squares, post-treatment as blue circles; a dashed rule marks the start of training.
    """
    _require(dynamic_frame, DYNAMIC_COLUMNS, "event_study")
    pre, post = _t(lang, "研修前", "Before training"), _t(lang, "研修後", "After training")
    frame = dynamic_frame.sort("key").with_columns(
        period=pl.when(pl.col("key") < 0).then(pl.lit(pre)).otherwise(pl.lit(post))
    )
    keys = frame.get_column("key").to_list()
    lo, hi = min(keys) - 0.5, max(keys) + 0.5
    y_title = outcome_label or _t(
        lang, "効果（処置群と比較群の差）", "Effect (treated − comparison)"
    )
    x = alt.X(
        "key:Q",
        title=_t(
            lang,
            f"研修開始からの{EVENT_UNIT[period][0]}",
            f"{EVENT_UNIT[period][1]} since first training",
        ),
        scale=alt.Scale(domain=[lo, hi], nice=False),
        axis=alt.Axis(values=keys, format="d", grid=False),
    )
    shading = (
        alt.Chart(_data(pl.DataFrame({"x0": [lo], "x1": [-0.5]})))
        .mark_rect(color="#EEEEEE")
        .encode(x="x0:Q", x2="x1:Q")
    )
    zero = alt.Chart(_data(pl.DataFrame({"y": [0.0]}))).mark_rule(color=TEXT_COLOUR).encode(y="y:Q")
    start = alt.Chart(
        _data(pl.DataFrame({"x": [-0.5], "text": [_t(lang, "研修開始", "Training starts")]}))
    )
    start_rule = start.mark_rule(strokeDash=[6, 4], color=MUTED).encode(x="x:Q")
    start_text = start.mark_text(align="left", baseline="top", dx=6, dy=4, color=MUTED).encode(
        x="x:Q", y=alt.value(0), text="text:N"
    )
    layers: list[alt.Chart] = [shading, zero, start_rule, start_text]
    if _draw_band(frame, band):
        layers.append(
            alt.Chart(_data(frame.select("key", "band_lower", "band_upper")))
            .mark_area(opacity=0.2, color=OKABE_ITO[4], interpolate="step")
            .encode(x=x, y=alt.Y("band_lower:Q", title=y_title), y2="band_upper:Q")
        )
    points = frame.select("key", "att", "ci_lower", "ci_upper", "period")
    period_colour = alt.Color(
        "period:N",
        title=None,
        sort=[pre, post],
        scale=alt.Scale(domain=[pre, post], range=[MUTED, OKABE_ITO[0]]),
    )
    period_shape = alt.Shape(
        "period:N",
        title=None,
        sort=[pre, post],
        scale=alt.Scale(domain=[pre, post], range=["square", "circle"]),
    )
    layers += [
        alt.Chart(_data(points))
        .mark_rule(strokeWidth=2.5)
        .encode(x=x, y=alt.Y("ci_lower:Q", title=y_title), y2="ci_upper:Q", color=period_colour),
        alt.Chart(_data(points))
        .mark_point(size=130, filled=True)
        .encode(x=x, y="att:Q", color=period_colour, shape=period_shape),
    ]
    subtitle = [
        _t(
            lang,
            "縦線は95%信頼区間。灰色の期間の効果は0に近いのが前提（平行トレンド）。",
            "Bars: 95% intervals. Effects in the grey period should be near 0 (parallel trends).",
        )
    ]
    if _draw_band(frame, band):
        subtitle.append(_t(lang, "水色の帯は同時95%信頼帯", "Light band: simultaneous 95% band"))
    title = alt.Title(
        text=_t(
            lang,
            "イベントスタディ：研修開始前後の効果",
            "Event study: effect before and after training",
        ),
        subtitle=subtitle,
    )
    return alt.layer(*layers, title=title).properties(width=560, height=320)


def _draw_band(frame: pl.DataFrame, band: bool | None) -> bool:
    if "band_lower" not in frame.columns or "band_upper" not in frame.columns:
        return False
    if band is not None:
        return band
    wider = frame.select(((pl.col("band_upper") - pl.col("ci_upper")).abs() > 1e-12).any()).item()
    return bool(wider)


def _comparison_row(item: Any) -> dict[str, Any]:
    """Normalise a Contrast, a simple Aggregation or a mapping into one comparison row."""
    if isinstance(item, Mapping):
        return {
            "method": item["method"],
            "estimate": item["estimate"],
            "ci_low": item["ci_low"],
            "ci_high": item["ci_high"],
            "n": item.get("n"),
        }
    if hasattr(item, "estimate"):
        low, high = item.ci
        return {
            "method": item.method,
            "estimate": item.estimate,
            "ci_low": low,
            "ci_high": high,
            "n": getattr(item, "n", None),
        }
    low, high = item.ci
    return {"method": "group_time", "estimate": item.att, "ci_low": low, "ci_high": high, "n": None}


def estimator_comparison(
    rows: pl.DataFrame | Sequence[Any], lang: Lang = "ja", *, outcome_label: str | None = None
) -> alt.LayerChart:
    """Naive before/after vs TWFE vs group-time DiD: estimates with 95% intervals, zero line.

    Input: a polars frame or a sequence of rows with ``method`` (``naive_before_after``,
    ``twfe``, ``group_time`` or any label), ``estimate``, ``ci_low``, ``ci_high`` and optional
    ``n`` (units); :class:`dxkpi.models.contrasts.Contrast` objects and the ``simple``
    :class:`dxkpi.models.did.Aggregation` are accepted as they are. Each method has its own
    colour and shape; the label at each point gives the estimate and interval.
    """
    if isinstance(rows, pl.DataFrame):
        _require(rows, ("method", "estimate", "ci_low", "ci_high"), "estimator_comparison")
        items = rows.to_dicts()
    else:
        items = [_comparison_row(r) for r in rows]
    data = pl.DataFrame(
        [
            {
                "method": _pair(METHOD_LABEL[r["method"]], lang)
                if r["method"] in METHOD_LABEL
                else str(r["method"]),
                "estimate": float(r["estimate"]),
                "ci_low": float(r["ci_low"]),
                "ci_high": float(r["ci_high"]),
                "text": _estimate_text(r, lang),
            }
            for r in items
        ]
    )
    order = data.get_column("method").to_list()
    y = alt.Y("method:N", sort=order, title=None)
    x_title = outcome_label or _t(lang, "効果の推定値（95%信頼区間）", "Estimated effect (95% CI)")
    colour = alt.Color("method:N", sort=order, legend=None)
    base = alt.Chart(_data(data))
    layers = [
        alt.Chart(_data(pl.DataFrame({"x": [0.0]}))).mark_rule(color=TEXT_COLOUR).encode(x="x:Q"),
        base.mark_rule(strokeWidth=3).encode(
            x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q", y=y, color=colour
        ),
        base.mark_point(size=160, filled=True).encode(
            x="estimate:Q",
            y=y,
            color=colour,
            shape=alt.Shape(
                "method:N",
                sort=order,
                legend=None,
                scale=alt.Scale(range=["square", "triangle-up", "circle", "diamond"]),
            ),
        ),
        base.mark_text(dy=-18, fontSize=FONT_SIZE - 1).encode(x="estimate:Q", y=y, text="text:N"),
    ]
    title = alt.Title(
        text=_t(lang, "推定方法による効果の違い", "The effect by estimation method"),
        subtitle=_t(
            lang,
            "比較群のない前後比較や TWFE は、段階導入では偏ることがあります。",
            "Before/after has no comparison group; TWFE can be biased with staggered roll-out.",
        ),
    )
    return alt.layer(*layers, title=title).properties(width=520, height=alt.Step(70))


def _estimate_text(row: Mapping[str, Any], lang: Lang) -> str:
    text = f"{row['estimate']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
    if row.get("n"):
        text += _t(lang, f"（n={row['n']:,}）", f" (n={row['n']:,})")
    return text


# ---------------------------------------------------------------------------------------------
# maturity and phases
# ---------------------------------------------------------------------------------------------


def _second_order(dimension: str, lang: Lang) -> list[str]:
    return [_code_label(d, lang) for d in SECOND_DIMENSION_VALUES[dimension]]


def _unit_heatmap(
    frame: pl.DataFrame,
    kpi_id: str,
    lang: Lang,
    *,
    fiscal_year: int | None,
    group_by: str,
    domain: tuple[float, float],
    value_format: str,
    dark_from: float,
    subtitle: tuple[str, str],
    note: tuple[str, str],
) -> alt.LayerChart:
    """A unit × second-dimension heat map of one KPI: tiles print their value, suppressed
    tiles are pale grey and labelled 秘匿 with no value."""
    _require(frame, ("kpi", "fiscal_year", "group_by", "group", "value", "suppressed"), kpi_id)
    spec = _spec(kpi_id)
    cells = frame.filter(pl.col("kpi") == spec.id, pl.col("group_by") == group_by)
    year = _latest_year(cells, fiscal_year)
    cells = cells.filter(pl.col("fiscal_year") == year)
    names = cells.get_column("group_name") if "group_name" in cells.columns else None
    unit_labels = [
        names[i] if names is not None and names[i] else _code_label(g.split("|")[0], lang)
        for i, g in enumerate(cells.get_column("group").to_list())
    ]
    cells = cells.with_columns(
        unit=pl.Series(unit_labels, dtype=pl.String),
        second=pl.col("group")
        .str.split("|")
        .list.last()
        .map_elements(lambda d: _code_label(d, lang), pl.String),
    )
    shown = _shown(cells).select("unit", "second", "value")
    hidden = _hidden(cells).select(
        "unit", "second", pl.lit(_t(lang, "秘匿", "suppr.")).alias("text")
    )
    units = cells.get_column("unit").unique(maintain_order=True).to_list()
    order = _second_order(spec.second_dimension or "dimension", lang)
    x = alt.X("second:N", sort=order, title=None, axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("unit:N", sort=units, title=_grouping_title(group_by.split("|")[0], lang))
    tiles = (
        alt.Chart(_data(shown))
        .mark_rect(stroke="white")
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "value:Q",
                title=_axis_title(spec, lang),
                scale=alt.Scale(domain=list(domain), scheme="blues"),
                legend=alt.Legend(direction="horizontal", gradientLength=240, format=value_format),
            ),
        )
    )
    labels = (
        alt.Chart(_data(shown))
        .mark_text()
        .encode(
            x=x,
            y=y,
            text=alt.Text("value:Q", format=value_format),
            color=alt.condition(
                f"datum.value >= {dark_from}", alt.value("white"), alt.value(TEXT_COLOUR)
            ),
        )
    )
    gaps = (
        alt.Chart(_data(hidden)).mark_rect(color=SUPPRESSED_COLOUR, stroke="white").encode(x=x, y=y)
    )
    gap_text = alt.Chart(_data(hidden)).mark_text(color=MUTED).encode(x=x, y=y, text="text:N")
    title = _title(
        _t(lang, spec.name_ja, spec.name_en),
        _t(lang, f"{subtitle[0]}（{year}年度）", f"{subtitle[1]} (FY{year})"),
        lang,
        _t(lang, *note),
    )
    return alt.layer(tiles, gaps, labels, gap_text, title=title).properties(
        width=110 * len(order), height=alt.Step(26)
    )


def maturity_heatmap(
    frame: pl.DataFrame,
    lang: Lang = "ja",
    *,
    fiscal_year: int | None = None,
    group_by: str = "department|dimension",
) -> alt.LayerChart:
    """Mean maturity score (0–5) per department × dimension as a labelled heat map.

    Input: the rich KPI frame's ``maturity_score`` rows (``kpi, fiscal_year, group_by, group,
    value, suppressed``, ``group_name`` for department names) with ``group_by``
    ``"department|dimension"`` (or ``"division|dimension"``, ``"job_level|dimension"``); the
    latest year unless ``fiscal_year`` is given. Suppressed cells are pale grey tiles labelled
    秘匿 with no value. Each tile prints its score, so the colour scale is not needed to read it.
    """
    return _unit_heatmap(
        frame,
        "maturity_score",
        lang,
        fiscal_year=fiscal_year,
        group_by=group_by,
        domain=(0, 5),
        value_format=".1f",
        dark_from=3,
        subtitle=("所属×診断項目", "by unit and dimension"),
        note=(
            "数値は平均評点（0 未着手 … 5 全庁で持続的に高度化）",
            "Numbers: mean score (0 not started … 5 continuously advanced city-wide)",
        ),
    )


def skill_heatmap(
    frame: pl.DataFrame,
    lang: Lang = "ja",
    *,
    fiscal_year: int | None = None,
    group_by: str = "department|skill_area",
) -> alt.LayerChart:
    """Skill attainment (share meeting the 職層 × スキル requirement) per department × skill area.

    Input: the rich KPI frame's ``skill_attainment_rate`` rows (``kpi, fiscal_year, group_by,
    group, value, suppressed``, ``group_name``) with ``group_by`` ``"department|skill_area"``
    (or ``"job_level|skill_area"``…); the latest year unless ``fiscal_year`` is given.
    Suppressed cells are pale grey tiles labelled 秘匿 with no value.
    """
    return _unit_heatmap(
        frame,
        "skill_attainment_rate",
        lang,
        fiscal_year=fiscal_year,
        group_by=group_by,
        domain=(0, 1),
        value_format=".0%",
        dark_from=0.6,
        subtitle=("所属×スキル領域", "by unit and skill area"),
        note=(
            "職層ごとの必要レベル（職層×スキル表）を満たす職員の割合",
            "Share of staff meeting the level their job level requires",
        ),
    )


def maturity_gap(
    frame: pl.DataFrame,
    lang: Lang = "ja",
    *,
    fiscal_year: int | None = None,
    group_by: str = "dimension",
    group_prefix: str | None = None,
) -> alt.LayerChart:
    """Manager − staff gap in mean maturity score (温度差) per dimension, diverging from zero.

    Input: the rich KPI frame's ``maturity_gap`` rows (``kpi, fiscal_year, group_by, group,
    value, target, suppressed``); ``group_by`` ``"dimension"`` is the whole city, or
    ``"department|dimension"`` with ``group_prefix`` a department code. Latest year unless
    ``fiscal_year`` is given. Positive bars (managers see more maturity) are orange, negative
    blue, and each bar prints its signed value; the dashed rules mark ± the target gap.
    """
    _require(
        frame, ("kpi", "fiscal_year", "group_by", "group", "value", "suppressed"), "maturity_gap"
    )
    spec = _spec("maturity_gap")
    cells = frame.filter(pl.col("kpi") == spec.id, pl.col("group_by") == group_by)
    if group_prefix is not None:
        cells = cells.filter(pl.col("group").str.starts_with(f"{group_prefix}|"))
    year = _latest_year(cells, fiscal_year)
    cells = cells.filter(pl.col("fiscal_year") == year).with_columns(
        dimension=pl.col("group")
        .str.split("|")
        .list.last()
        .map_elements(lambda d: _code_label(d, lang), pl.String)
    )
    higher, lower = (
        _t(lang, "管理職が高い", "Managers higher"),
        _t(lang, "一般職が高い", "Staff higher"),
    )
    shown = (
        _shown(cells)
        .with_columns(
            side=pl.when(pl.col("value") >= 0).then(pl.lit(higher)).otherwise(pl.lit(lower)),
            text=pl.col("value").map_elements(lambda v: f"{v:+.2f}", pl.String),
        )
        .select("dimension", "value", "side", "text")
    )
    y = alt.Y("dimension:N", sort=_second_order("dimension", lang), title=None)
    x = alt.X("value:Q", title=_axis_title(spec, lang), axis=alt.Axis(format="+.1f"))
    bars = (
        alt.Chart(_data(shown))
        .mark_bar(height={"band": 0.65})
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "side:N",
                title=None,
                sort=[higher, lower],
                scale=alt.Scale(domain=[higher, lower], range=[OKABE_ITO[1], OKABE_ITO[0]]),
            ),
        )
    )
    text = (
        alt.Chart(_data(shown))
        .mark_text(dx=8, align="left")
        .encode(x=alt.X("value:Q"), y=y, text="text:N")
    )
    zero = alt.Chart(_data(pl.DataFrame({"x": [0.0]}))).mark_rule(color=TEXT_COLOUR).encode(x="x:Q")
    layers: list[alt.Chart] = [bars, zero, text]
    targets = (
        cells.get_column("target").drop_nulls().unique().to_list()
        if "target" in cells.columns
        else []
    )
    if targets:
        limit = float(targets[0])
        layers.append(
            alt.Chart(_data(pl.DataFrame({"x": [limit, -limit]})))
            .mark_rule(strokeDash=[5, 3], color=MUTED)
            .encode(x="x:Q")
        )
    hidden = _hidden(cells).select("dimension", pl.lit(_suppressed_text(lang)).alias("text"))
    if not hidden.is_empty():
        layers.append(
            alt.Chart(_data(hidden))
            .mark_text(align="left", dx=6, color=MUTED)
            .encode(y=y, x=alt.datum(0), text="text:N")
        )
    title = _title(
        _t(lang, spec.name_ja, spec.name_en),
        _t(lang, f"診断項目別（{year}年度）", f"by dimension (FY{year})"),
        lang,
        _t(
            lang,
            "管理職の平均評点 − 一般職の平均評点。破線は目標とする差の範囲。",
            "Managers' mean − staff's mean score. Dashed: target range.",
        ),
    )
    return alt.layer(*layers, title=title).properties(width=480, height=alt.Step(40))


def phase_funnel(
    frame: pl.DataFrame, lang: Lang = "ja", *, fiscal_year: int | None = None
) -> alt.LayerChart:
    """Share of staff who have completed each training phase (1 → 2 → 3), as a funnel of bars.

    Input: the rich KPI frame's ``phase_reach`` rows with ``group_by == "phase"`` (``kpi,
    fiscal_year, group_by, group, numerator, value, target, suppressed``); latest year unless
    ``fiscal_year`` is given. Bars are centred (funnel), print the share and head count, and
    targets are ticks at both ends. Suppressed phases show ``―（秘匿）`` and no bar.
    """
    _require(
        frame, ("kpi", "fiscal_year", "group_by", "group", "value", "suppressed"), "phase_funnel"
    )
    spec = _spec("phase_reach")
    cells = frame.filter(pl.col("kpi") == spec.id, pl.col("group_by") == "phase")
    year = _latest_year(cells, fiscal_year)
    cells = cells.filter(pl.col("fiscal_year") == year).with_columns(
        phase=pl.col("group").map_elements(lambda p: _code_label(p, lang), pl.String)
    )
    order = [_code_label(p, lang) for p in SECOND_DIMENSION_VALUES["phase"]]
    people = _t(lang, "人", " staff")
    shown = (
        _shown(cells)
        .with_columns(
            half=pl.col("value") / 2,
            neg=-pl.col("value") / 2,
            text=pl.struct("value", "numerator").map_elements(
                lambda r: (
                    f"{r['value']:.0%}"
                    + (
                        f"（{int(r['numerator']):,}{people}）"
                        if lang == "ja" and r["numerator"] is not None
                        else f" ({int(r['numerator']):,}{people})"
                        if r["numerator"] is not None
                        else ""
                    )
                ),
                pl.String,
            ),
        )
        .select("phase", "value", "half", "neg", "text")
    )
    y = alt.Y("phase:N", sort=order, title=_t(lang, "フェーズ", "Phase"))
    x = alt.X(
        "neg:Q", title=_axis_title(spec, lang), scale=alt.Scale(domain=[-0.5, 0.5]), axis=None
    )
    bars = (
        alt.Chart(_data(shown))
        .mark_bar(height={"band": 0.75})
        .encode(
            x=x,
            x2="half:Q",
            y=y,
            color=alt.Color(
                "phase:N",
                sort=order,
                legend=None,
                scale=alt.Scale(range=[OKABE_ITO[4], OKABE_ITO[0], "#003F63"]),
            ),
        )
    )
    text = (
        alt.Chart(_data(shown))
        .mark_text(align="left", dx=8, fontSize=FONT_SIZE + 1)
        .encode(x="half:Q", y=y, text="text:N")
    )
    layers: list[alt.Chart] = [bars, text]
    goals = cells.filter(pl.col("target").is_not_null()).select(
        "phase", (-pl.col("target") / 2).alias("left"), (pl.col("target") / 2).alias("right")
    )
    if not goals.is_empty():
        goal = alt.Chart(_data(goals)).mark_tick(
            color=TEXT_COLOUR, thickness=3, size=40, strokeDash=[4, 2]
        )
        layers += [goal.encode(x="left:Q", y=y), goal.encode(x="right:Q", y=y)]
    hidden = _hidden(cells).select("phase", pl.lit(_suppressed_text(lang)).alias("text"))
    if not hidden.is_empty():
        layers.append(
            alt.Chart(_data(hidden))
            .mark_text(color=MUTED)
            .encode(y=y, x=alt.datum(0), text="text:N")
        )
    title = _title(
        _t(lang, spec.name_ja, spec.name_en),
        _t(lang, f"フェーズ別（{year}年度末）", f"by phase (end of FY{year})"),
        lang,
        _t(
            lang,
            "各フェーズの研修を修了した職員の割合（過年度を含む）",
            "Share of staff who completed a session of the phase (any year)",
        ),
    )
    return alt.layer(*layers, title=title).properties(width=520, height=alt.Step(56))
