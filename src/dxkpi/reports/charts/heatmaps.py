"""Unit × dimension heat maps (maturity score, skill attainment) and the maturity gap.

Input is the rich KPI frame's ``maturity_score``, ``skill_attainment_rate`` and ``maturity_gap``
rows. Every tile and bar prints its value, so colour is never needed to read it; suppressed cells
are pale grey tiles labelled 秘匿 (or a ``―（秘匿）`` gap) with no value in the chart's data.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dxkpi.catalogue.kpis import SECOND_DIMENSION_VALUES
from dxkpi.catalogue.labels import t
from dxkpi.reports.charts._frames import _data, _hidden, _latest_year, _require, _shown, _spec
from dxkpi.reports.charts.labels import (
    Lang,
    _axis_title,
    _code_label,
    _grouping_title,
    _suppressed_text,
    _title,
)
from dxkpi.reports.charts.theme import MUTED, OKABE_ITO, SUPPRESSED_COLOUR, TEXT_COLOUR

__all__ = ["maturity_gap", "maturity_heatmap", "skill_heatmap"]


def _second_order(dimension: str, lang: Lang) -> list[str]:
    return [_code_label(dimension, d, lang) for d in SECOND_DIMENSION_VALUES[dimension]]


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
    unit_family, second_family = group_by.split("|")[0], group_by.split("|")[-1]
    names = cells.get_column("group_name") if "group_name" in cells.columns else None
    unit_labels = [
        names[i]
        if names is not None and names[i]
        else _code_label(unit_family, g.split("|")[0], lang)
        for i, g in enumerate(cells.get_column("group").to_list())
    ]
    cells = cells.with_columns(
        unit=pl.Series(unit_labels, dtype=pl.String),
        second=pl.col("group")
        .str.split("|")
        .list.last()
        .map_elements(lambda d: _code_label(second_family, d, lang), pl.String),
    )
    shown = _shown(cells).select("unit", "second", "value")
    hidden = _hidden(cells).select(
        "unit", "second", pl.lit(t(lang, "秘匿", "suppr.")).alias("text")
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
                legend=alt.Legend(
                    direction="horizontal",
                    gradientLength=240,
                    format=value_format,
                    titleLimit=480,  # the whole title, with the score's scale
                ),
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
        t(lang, spec.name_ja, spec.name_en),
        t(lang, f"{subtitle[0]}（{year}年度）", f"{subtitle[1]} (FY{year})"),
        lang,
        t(lang, *note),
    )
    return alt.LayerChart(layer=[tiles, gaps, labels, gap_text], title=title).properties(
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
        .map_elements(lambda d: _code_label("dimension", d, lang), pl.String)
    )
    higher, lower = (
        t(lang, "管理職が高い", "Managers higher"),
        t(lang, "一般職が高い", "Staff higher"),
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
        t(lang, spec.name_ja, spec.name_en),
        t(lang, f"診断項目別（{year}年度）", f"by dimension (FY{year})"),
        lang,
        t(
            lang,
            "管理職の平均評点 − 一般職の平均評点。破線は目標とする差の範囲。",
            "Managers' mean − staff's mean score. Dashed: target range.",
        ),
    )
    return alt.LayerChart(layer=layers, title=title).properties(width=480, height=alt.Step(40))
