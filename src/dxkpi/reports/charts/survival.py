"""Time to implementation: one Kaplan–Meier step line per fiscal year of submission.

Input is :class:`dxkpi.models.survival.ImplementationCurves`. The y axis is the share of adopted
proposals implemented by day d after submission; each year's line stops where its follow-up ends
(a recent year's line is short, not low). A dashed rule marks the maturity window W with which
the adoption and implementation rates are measured. Years are told apart by colour and dash;
a suppressed year (fewer proposers than the minimum cell size) has no line and is named in the
subtitle as ``―（秘匿）``.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dxkpi.catalogue.format import format_days, format_provisional
from dxkpi.catalogue.labels import t
from dxkpi.models.survival import ImplementationCurves
from dxkpi.reports.charts._frames import ChartInputError, _data
from dxkpi.reports.charts.labels import Lang, _suppressed_text, _title, _year_label
from dxkpi.reports.charts.theme import OKABE_ITO, TEXT_COLOUR

__all__ = ["implementation_curve"]

_DASHES = ([1, 0], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4])


def implementation_curve(curves: ImplementationCurves, lang: Lang = "ja") -> alt.LayerChart:
    """Kaplan–Meier share of adopted proposals implemented by day d, per fiscal year of
    submission, with the maturity window W as a dashed rule; provisional years say so in the
    legend (暫定) and suppressed ones in the subtitle."""
    cohorts = curves.cohorts
    if cohorts.is_empty():
        raise ChartInputError("描く年度がありません。", "no fiscal year to chart.")
    names: dict[int, str] = {}
    for r in cohorts.iter_rows(named=True):
        name = _year_label(r["fiscal_year"], lang)
        if r["provisional"]:
            name += t(lang, "（暫定）", " (provisional)")
        names[r["fiscal_year"]] = name
    shown = cohorts.filter(~pl.col("suppressed")).get_column("fiscal_year").to_list()
    hidden = cohorts.filter(pl.col("suppressed")).get_column("fiscal_year").to_list()
    line_data = curves.curves.filter(pl.col("fiscal_year").is_in(shown)).with_columns(
        year=pl.col("fiscal_year").replace_strict(names, return_dtype=pl.String)
    )
    order = [names[y] for y in shown]
    colours = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(order))]
    dashes = [_DASHES[i % len(_DASHES)] for i in range(len(order))]
    legend_title = t(lang, "提出年度", "FY submitted")
    x_title = t(lang, "提出からの日数", "Days since submission")
    y_title = t(lang, "実装済みの割合（採択された提案）", "Share implemented (adopted proposals)")
    lines = (
        alt.Chart(_data(line_data.select("year", "days", "share_implemented", "at_risk")))
        .mark_line(interpolate="step-after", strokeWidth=2.5)
        .encode(
            x=alt.X("days:Q", title=x_title),
            y=alt.Y(
                "share_implemented:Q",
                title=y_title,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color(
                "year:N",
                sort=order,
                title=legend_title,
                scale=alt.Scale(domain=order, range=colours),
            ),
            strokeDash=alt.StrokeDash(
                "year:N",
                sort=order,
                title=legend_title,
                scale=alt.Scale(domain=order, range=dashes),
            ),
        )
    )
    w = curves.maturity.days
    w_text = t(lang, f"W = {format_days(w, lang)}", f"W = {format_days(w, lang)}")
    rule_data = alt.InlineData(values=[{"days": w, "text": w_text}])
    rule = alt.Chart(rule_data).mark_rule(color=TEXT_COLOUR, strokeDash=[3, 3]).encode(x="days:Q")
    rule_text = (
        alt.Chart(rule_data)
        .mark_text(align="left", dx=6, dy=-6, baseline="bottom", color=TEXT_COLOUR)
        .encode(x="days:Q", y=alt.datum(1.0), text="text:N")
    )
    subtitle = [
        t(
            lang,
            f"採択された提案が提出から何日で実装されたか（カプラン・マイヤー法、"
            f"{curves.as_of.isoformat()} 時点で未実装の提案は打ち切り）。"
            f"破線は実装率を測る期間 W。",
            f"Days from submission to implementation of adopted proposals (Kaplan–Meier; "
            f"proposals not implemented by {curves.as_of.isoformat()} are censored). "
            "Dashed: the window W of the implementation rate.",
        )
    ]
    provisional = cohorts.filter(pl.col("provisional"), ~pl.col("suppressed"))
    if provisional.height:
        subtitle.append(
            t(lang, "暫定の年度: ", "Provisional years: ")
            + format_provisional(curves.as_of, w, lang)
        )
    if hidden:
        years = t(lang, "・", ", ").join(_year_label(y, lang) for y in hidden)
        subtitle.append(f"{years}: {_suppressed_text(lang)}")
    title = _title(
        t(lang, "提案の実装までの日数", "Time to implementation"),
        t(lang, "提出年度別", "by fiscal year of submission"),
        lang,
        subtitle,
    )
    return alt.LayerChart(layer=[lines, rule, rule_text], title=title).properties(
        width=560, height=320
    )
