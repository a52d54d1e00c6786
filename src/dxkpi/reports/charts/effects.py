"""Charts of estimated training effects: the event study and the comparison of estimators.

Input is the output of :mod:`dxkpi.models` (``AttGtResult.aggregate("dynamic").by``, contrasts and
the ``simple`` aggregation) or plain frames with the same columns. Every estimate comes with its
95% interval and a zero line; colour is doubled by marker shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import polars as pl

from dxkpi.catalogue.labels import Lang, has_label, label, t
from dxkpi.reports.charts._frames import _data, _require
from dxkpi.reports.charts.theme import FONT_SIZE, MUTED, OKABE_ITO, TEXT_COLOUR

__all__ = ["DYNAMIC_COLUMNS", "estimator_comparison", "event_study"]


DYNAMIC_COLUMNS = ("key", "att", "ci_lower", "ci_upper")


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
    pre, post = t(lang, "研修前", "Before training"), t(lang, "研修後", "After training")
    frame = dynamic_frame.sort("key").with_columns(
        period=pl.when(pl.col("key") < 0).then(pl.lit(pre)).otherwise(pl.lit(post))
    )
    keys = frame.get_column("key").to_list()
    lo, hi = min(keys) - 0.5, max(keys) + 0.5
    y_title = outcome_label or t(
        lang, "効果（処置群と比較群の差）", "Effect (treated − comparison)"
    )
    x = alt.X(
        "key:Q",
        title=t(
            lang,
            f"研修開始からの{label('event_time_unit', period, lang)}",
            f"{label('event_time_unit', period, lang)} since first training",
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
        _data(pl.DataFrame({"x": [-0.5], "text": [t(lang, "研修開始", "Training starts")]}))
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
        t(
            lang,
            "縦線は95%信頼区間。灰色の期間の効果は0に近いのが前提（平行トレンド）。",
            "Bars: 95% intervals. Effects in the grey period should be near 0 (parallel trends).",
        )
    ]
    if _draw_band(frame, band):
        subtitle.append(t(lang, "水色の帯は同時95%信頼帯", "Light band: simultaneous 95% band"))
    title = alt.Title(
        text=t(
            lang,
            "イベントスタディ：研修開始前後の効果",
            "Event study: effect before and after training",
        ),
        subtitle=subtitle,
    )
    return alt.LayerChart(layer=layers, title=title).properties(width=560, height=320)


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
                "method": label("method", r["method"], lang)
                if has_label("method", str(r["method"]))
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
    x_title = outcome_label or t(lang, "効果の推定値（95%信頼区間）", "Estimated effect (95% CI)")
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
        text=t(lang, "推定方法による効果の違い", "The effect by estimation method"),
        subtitle=t(
            lang,
            "比較群のない前後比較や TWFE は、段階導入では偏ることがあります。",
            "Before/after has no comparison group; TWFE can be biased with staggered roll-out.",
        ),
    )
    return alt.LayerChart(layer=layers, title=title).properties(width=520, height=alt.Step(70))


def _estimate_text(row: Mapping[str, Any], lang: Lang) -> str:
    text = f"{row['estimate']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
    if row.get("n"):
        text += t(lang, f"（n={row['n']:,}）", f" (n={row['n']:,})")
    return text
