"""The funnel plot of a benchmark across municipalities (Spiegelhalter 2005).

Each municipality of a pool is a point: its value of one KPI cell against its denominator. The
pooled value is a horizontal line; the 95 % limits (dashed) and 99.8 % limits (dotted) narrow
as the denominator grows, so a small municipality is not called unusual for chance alone. The
chosen municipality is drawn apart (colour, shape and its label). There is no ranking. Input is
a :class:`dxkpi.peers.benchmark.Benchmark`; limits come from
:func:`dxkpi.peers.benchmark.funnel_curve`.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dxkpi.catalogue.format import D3_FORMAT, format_value
from dxkpi.catalogue.labels import label, t
from dxkpi.peers.benchmark import FUNNEL_REFERENCES, Benchmark, funnel_curve
from dxkpi.reports.charts._frames import ChartInputError, _data, _spec
from dxkpi.reports.charts.labels import Lang, _axis_title, _title, group_label, kpi_name
from dxkpi.reports.charts.theme import FONT_SIZE, MUTED, OKABE_ITO, TEXT_COLOUR

__all__ = ["funnel_plot"]


def _pool_of(bench: Benchmark, reference: str, city: str | None) -> str:
    if reference == "all":
        return "all"
    if city is None:
        raise ChartInputError(
            f"{label('pool_by', reference)}で比べるには団体コードが必要です",
            f"a municipality code is needed to compare within its {reference}",
        )
    mine = bench.cities.filter(pl.col("city") == city)
    if mine.is_empty():
        raise ChartInputError(
            f"団体 {city} の共有ファイルがありません", f"no share file of municipality {city}"
        )
    return str(mine.item(0, reference))


def funnel_plot(
    bench: Benchmark,
    kpi_id: str,
    fiscal_year: int,
    lang: Lang = "ja",
    *,
    city: str | None = None,
    reference: str = "all",
    group_by: str = "city",
    group: str = "city",
) -> alt.LayerChart:
    """Funnel plot of one KPI cell (``group_by`` / ``group``, default the city as a whole) in
    ``fiscal_year``: the municipalities of the ``reference`` pool (``all``, or the ``category``
    / ``size_band`` of ``city``) against the pooled value's 95 % and 99.8 % limits, with
    ``city`` highlighted. Only proportion and rate KPIs have funnels; hidden cells are not
    drawn."""
    spec = _spec(kpi_id)
    if reference not in FUNNEL_REFERENCES:
        raise ChartInputError(
            f"比べる範囲は {', '.join(FUNNEL_REFERENCES)} のどれかです（{reference}）",
            f"reference must be one of {', '.join(FUNNEL_REFERENCES)} (got {reference})",
        )
    pool = _pool_of(bench, reference, city)
    points = bench.funnel.filter(
        (pl.col("kpi") == kpi_id)
        & (pl.col("fiscal_year") == fiscal_year)
        & (pl.col("group_by") == group_by)
        & (pl.col("group") == group)
        & (pl.col("reference") == reference)
        & (pl.col("pool") == pool)
    )
    if points.is_empty():
        raise ChartInputError(
            f"{kpi_id}（{fiscal_year}年度）に描ける点がありません（割合・率の指標で、"
            "合算値が秘匿されていないこと）",
            f"nothing to draw for {kpi_id} in FY{fiscal_year} (a proportion or rate KPI whose "
            "pooled value is shown)",
        )
    p0 = float(points.item(0, "pooled_value"))
    n_low = float(points.get_column("denominator").min())  # type: ignore[arg-type]
    n_high = float(points.get_column("denominator").max())  # type: ignore[arg-type]
    curve = funnel_curve(p0, spec.value_from, n_low * 0.5, n_high * 1.5)
    mine_word, other_word = t(lang, "自団体", "This municipality"), t(lang, "他団体", "Others")
    mine = pl.col("city") == city if city is not None else pl.lit(False)
    marks = points.select(
        "denominator",
        "value",
        who=pl.when(mine).then(pl.lit(mine_word)).otherwise(pl.lit(other_word)),
        text=pl.when(mine).then(pl.lit(f"{mine_word} ") + pl.col("city")),
    )
    log = n_high > 20 * max(n_low, 1.0)
    x = alt.X(
        "n:Q",
        title=t(lang, "分母（人数・件数）", "Denominator (people or records)"),
        scale=alt.Scale(type="log" if log else "linear", zero=False),
    )
    y_title = _axis_title(spec, lang)
    values = [*points.get_column("value").to_list(), *curve.get_column("lower_998").to_list(),
              *curve.get_column("upper_998").to_list()]  # fmt: skip
    pad = (max(values) - min(values)) * 0.08 or 0.01
    low, high = min(values) - pad, max(values) + pad
    if spec.unit == "ratio":  # a share stays within 0–100 %
        low, high = max(low, 0.0), min(high, 1.0)
    y_scale = alt.Scale(zero=False, nice=False, domain=[low, high])
    narrow = spec.unit == "ratio" and max(values) - min(values) < 0.1  # whole % would repeat
    y_axis = alt.Axis(format=".1%" if narrow else D3_FORMAT[spec.unit])
    layers: list[alt.Chart] = []
    for column, dash in (
        ("lower_998", [2, 3]),
        ("upper_998", [2, 3]),
        ("lower_95", [6, 3]),
        ("upper_95", [6, 3]),
    ):
        layers.append(
            alt.Chart(_data(curve.select("n", pl.col(column).alias("limit"))))
            .mark_line(color=MUTED, strokeDash=dash, strokeWidth=1.5)
            .encode(x=x, y=alt.Y("limit:Q", axis=y_axis, title=y_title, scale=y_scale))
        )
    layers.append(
        alt.Chart(_data(pl.DataFrame({"p0": [p0]})))
        .mark_rule(color=TEXT_COLOUR, strokeWidth=1.5)
        .encode(y="p0:Q")
    )
    who = alt.Color(
        "who:N",
        scale=alt.Scale(domain=[mine_word, other_word], range=[OKABE_ITO[3], OKABE_ITO[0]]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    shape = alt.Shape(
        "who:N",
        scale=alt.Scale(domain=[mine_word, other_word], range=["diamond", "circle"]),
        legend=None,
    )
    dots = alt.Chart(_data(marks.rename({"denominator": "n"}))).encode(
        x=x, y=alt.Y("value:Q", axis=y_axis, title=y_title, scale=y_scale)
    )
    layers.append(
        dots.mark_point(filled=True, size=140, opacity=0.85).encode(color=who, shape=shape)
    )
    layers.append(
        dots.transform_filter("datum.text != null")
        .mark_text(align="left", dx=10, dy=-10, fontSize=FONT_SIZE, color=TEXT_COLOUR)
        .encode(text="text:N")
    )
    cell = "" if group_by == "city" else " " + group_label(group, None, lang, group_by=group_by)
    pool_words = (
        t(lang, "全団体", "all municipalities")
        if reference == "all"
        else label("municipality_category" if reference == "category" else "size_band", pool, lang)
    )
    title = _title(
        kpi_name(kpi_id, lang) + cell,
        t(
            lang,
            f"{fiscal_year}年度・{pool_words}（{points.height}団体）",
            f"FY{fiscal_year}, {pool_words} ({points.height})",
        ),
        lang,
        t(
            lang,
            f"横線は合算値 {format_value(p0, spec.unit)}。破線は95%、点線は99.8%の管理限界"
            "（順位ではなく、偶然のばらつきの範囲）。",
            f"Line: pooled value {format_value(p0, spec.unit)}. Dashed: 95% limits; dotted: "
            "99.8% (the range of chance variation, not a ranking).",
        ),
    )
    return alt.LayerChart(layer=layers, title=title).properties(width=560, height=340)
