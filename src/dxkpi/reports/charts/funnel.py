"""The training phase funnel: share of staff who completed each phase (1 → 2 → 3).

Input is the rich KPI frame's ``phase_reach`` rows by phase. Bars print share and head count;
suppressed phases show ``―（秘匿）`` and no bar.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dxkpi.catalogue.format import format_value
from dxkpi.catalogue.kpis import SECOND_DIMENSION_VALUES
from dxkpi.catalogue.labels import t
from dxkpi.reports.charts._frames import _data, _hidden, _latest_year, _require, _shown, _spec
from dxkpi.reports.charts.labels import (
    TARGET_MARK,
    VALUE_COLUMN_GAP,
    Lang,
    _axis_title,
    _code_label,
    _suppressed_text,
    _target_colour,
    _target_word,
    _title,
)
from dxkpi.reports.charts.theme import FONT_SIZE, MUTED, OKABE_ITO

__all__ = ["FUNNEL_WIDTH", "phase_funnel"]

#: Width of the funnel's plot (its labels sit in a column right of it).
FUNNEL_WIDTH = 520


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
        phase=pl.col("group").map_elements(lambda p: _code_label("phase", p, lang), pl.String)
    )
    order = [_code_label("phase", p, lang) for p in SECOND_DIMENSION_VALUES["phase"]]
    people = t(lang, "人", " staff")
    shown = (
        _shown(cells)
        .with_columns(
            half=pl.col("value") / 2,
            neg=-pl.col("value") / 2,
            text=pl.struct("value", "numerator").map_elements(
                lambda r: (
                    format_value(r["value"], "ratio", variant="chart")
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
    y = alt.Y("phase:N", sort=order, title=t(lang, "フェーズ", "Phase"))
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
        .mark_text(align="left", fontSize=FONT_SIZE + 1)
        # a column right of the funnel: beside a bar's end the label met the target ticks
        .encode(x=alt.value(FUNNEL_WIDTH + VALUE_COLUMN_GAP), y=y, text="text:N")
    )
    layers: list[alt.Chart] = [bars, text]
    goals = cells.filter(pl.col("target").is_not_null()).select(
        "phase",
        (-pl.col("target") / 2).alias("left"),
        (pl.col("target") / 2).alias("right"),
        pl.lit(_target_word(lang)).alias(TARGET_MARK),
    )
    if not goals.is_empty():
        goal = alt.Chart(_data(goals)).mark_tick(thickness=3, size=40, strokeDash=[4, 2])
        layers += [
            goal.encode(x="left:Q", y=y, color=_target_colour(lang, dash=[4, 2])),
            goal.encode(x="right:Q", y=y, color=_target_colour(lang, legend=False)),
        ]
    hidden = _hidden(cells).select("phase", pl.lit(_suppressed_text(lang)).alias("text"))
    if not hidden.is_empty():
        layers.append(
            alt.Chart(_data(hidden))
            .mark_text(color=MUTED)
            .encode(y=y, x=alt.datum(0), text="text:N")
        )
    title = _title(
        t(lang, spec.name_ja, spec.name_en),
        t(lang, f"フェーズ別（{year}年度末）", f"by phase (end of FY{year})"),
        lang,
        t(
            lang,
            "各フェーズの研修を修了した職員の割合（過年度を含む）",
            "Share of staff who completed a session of the phase (any year)",
        ),
    )
    return (
        alt.LayerChart(layer=layers, title=title)
        .resolve_scale(color="independent")
        .properties(width=FUNNEL_WIDTH, height=alt.Step(56))
    )
