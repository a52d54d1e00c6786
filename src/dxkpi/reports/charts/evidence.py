"""Charts of how sure the behaviour estimate is: the sensitivity plot and the Bacon decomposition.

* :func:`sensitivity_plot` — the standard plot of Rambachan & Roth (2023) / R HonestDiD: the usual
  95% interval ("original", parallel trends exactly) and the robust sets against the bound on the
  violation, relative magnitudes M̄ on the left and smoothness M on the right, the breakdown value
  marked by a dashed line; input :class:`dxkpi.models.sensitivity.SensitivityResult`.
* :func:`bacon_chart` — every 2×2 comparison of the Goodman-Bacon (2021) decomposition of TWFE:
  its estimate against its weight, colour and shape by comparison type, the TWFE estimate as a
  horizontal line; input :class:`dxkpi.models.bacon.BaconResult` comparisons with cohort sizes
  (:attr:`dxkpi.models.evidence.BehaviourEvidence.bacon_sizes`). Comparisons of a cohort below
  the minimum cell size are not drawn one by one (they stay in the totals and the table).
"""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from dxkpi.catalogue.labels import Lang, label, t
from dxkpi.models.bacon import COMPARISON_TYPES
from dxkpi.models.sensitivity import SensitivityResult
from dxkpi.reports.charts._frames import ChartInputError, _data, _require
from dxkpi.reports.charts.theme import FONT_SIZE, MUTED, OKABE_ITO, TEXT_COLOUR

__all__ = ["BACON_COLUMNS", "bacon_chart", "sensitivity_plot"]

#: Columns :func:`bacon_chart` needs.
BACON_COLUMNS = ("type", "estimate", "weight", "n_treated", "n_control")


def _kind_words(lang: Lang) -> dict[str, str]:
    return {
        "original": t(lang, "元の区間（平行トレンド）", "Original (parallel trends)"),
        "robust": t(lang, "頑健な信頼集合", "Robust set"),
        "open": t(
            lang,
            "頑健な信頼集合（格子の端まで: 実際はさらに広い）",
            "Robust set (reaches the grid's end: wider in truth)",
        ),
    }


def _sensitivity_rows(res: SensitivityResult) -> tuple[pl.DataFrame, float]:
    """One row per interval: the original at x = −step, then each bound's robust set."""
    values = [s.value for s in res.sets]
    step = (max(values) - min(values)) / max(len(values) - 1, 1) if values else 1.0
    step = step or 1.0
    rows = [
        {
            "x": min(values, default=0.0) - step,
            "lower": res.ci[0],
            "upper": res.ci[1],
            "kind": "original",
        }
    ]
    for s in res.sets:
        if s.lower is None or s.upper is None:  # empty: every θ rejected under this bound
            continue
        rows.append(
            {
                "x": s.value,
                "lower": s.lower,
                "upper": s.upper,
                "kind": "open" if s.open_end else "robust",
            }
        )
    return pl.DataFrame(rows), step


def _one_panel(res: SensitivityResult, lang: Lang, y_title: str) -> alt.LayerChart:
    codes, step = _sensitivity_rows(res)
    words = _kind_words(lang)
    present = [k for k in words if k in set(codes["kind"].to_list())]
    frame = codes.with_columns(pl.col("kind").replace_strict(words))
    kinds = [words[k] for k in present]
    colour = alt.Color(
        "kind:N",
        title=None,
        sort=kinds,
        scale=alt.Scale(
            domain=kinds, range=[MUTED if k == "original" else OKABE_ITO[0] for k in present]
        ),
        legend=alt.Legend(orient="bottom", columns=1),
    )
    dash = alt.StrokeDash(
        "kind:N",
        title=None,
        sort=kinds,
        legend=None,
        scale=alt.Scale(domain=kinds, range=[[5, 3] if k == "open" else [1, 0] for k in present]),
    )
    xs = frame.get_column("x").to_list()
    lo, hi = min(xs) - step / 2, max(max(xs), 0.0) + step / 2
    x = alt.X(
        "x:Q",
        title=label("sensitivity_bound", res.restriction, lang),
        scale=alt.Scale(domain=[lo, hi], nice=False, zero=False),
        axis=alt.Axis(
            values=[s.value for s in res.sets],
            grid=False,
            format=".3~g" if res.restriction == "relative_magnitudes" else ".2~e",
            labelOverlap=False,
            labelAngle=0 if res.restriction == "relative_magnitudes" else -40,
        ),
    )
    base = alt.Chart(_data(frame))
    layers: list[alt.Chart] = [
        alt.Chart(_data(pl.DataFrame({"y": [0.0]}))).mark_rule(color=TEXT_COLOUR).encode(y="y:Q"),
        base.mark_rule(strokeWidth=4).encode(
            x=x, y=alt.Y("lower:Q", title=y_title), y2="upper:Q", color=colour, strokeDash=dash
        ),
        base.mark_tick(thickness=2, size=14, orient="horizontal").encode(
            x="x:Q", y="lower:Q", color=colour
        ),
        base.mark_tick(thickness=2, size=14, orient="horizontal").encode(
            x="x:Q", y="upper:Q", color=colour
        ),
    ]
    bd = res.breakdown
    if bd is not None and math.isfinite(bd) and bd <= hi:
        name = res.bound_name
        marker = alt.Chart(
            _data(
                pl.DataFrame(
                    {
                        "x": [bd],
                        "text": [
                            t(lang, f"崩壊点 {name} = {bd:.3g}", f"breakdown {name} = {bd:.3g}")
                        ],
                    }
                )
            )
        )
        layers += [
            marker.mark_rule(strokeDash=[6, 4], color=OKABE_ITO[3], strokeWidth=2).encode(x="x:Q"),
            marker.mark_text(
                align="left", baseline="top", dx=4, dy=4, color=OKABE_ITO[3], fontSize=FONT_SIZE - 1
            ).encode(x="x:Q", y=alt.value(0), text="text:N"),
        ]
    return alt.LayerChart(layer=layers).properties(
        width=300, height=300, title=label("sensitivity_bound", res.restriction, lang)
    )


def sensitivity_plot(
    rm: SensitivityResult,
    sd: SensitivityResult | None = None,
    lang: Lang = "ja",
    *,
    outcome_label: str | None = None,
) -> alt.HConcatChart:
    """The original 95% interval and the robust sets against M̄ (and against M, when ``sd`` is
    given), the breakdown value marked. Sets that reach the end of the θ grid are dashed (they
    are wider in truth); an empty set (every value rejected) is not drawn."""
    if rm.restriction != "relative_magnitudes" or (
        sd is not None and sd.restriction != "smoothness"
    ):
        raise ChartInputError(
            "sensitivity_plot: rm は相対的な大きさ、sd は滑らかさの結果を渡してください。",
            "sensitivity_plot: pass a relative-magnitudes result as rm and a smoothness one as sd.",
        )
    y_title = outcome_label or t(lang, "事後期間の平均効果（95%）", "Average post effect (95%)")
    panels = [_one_panel(r, lang, y_title) for r in (rm, sd) if r is not None]
    title = alt.Title(
        text=t(
            lang, "平行トレンドからの乖離への感度", "Sensitivity to violations of parallel trends"
        ),
        subtitle=[
            t(
                lang,
                "灰色は平行トレンドが厳密に成り立つ場合の区間。青は乖離を上限まで許した場合の区間。",
                "Grey: the interval if parallel trends hold exactly. Blue: allowing violations "
                "up to the bound.",
            ),
            t(
                lang,
                "M̄ = 1: 研修後の乖離が研修前の最大の乖離と同じ大きさ。"
                "赤の破線: 0 を除く最大の上限（崩壊点）。",
                "M̄ = 1: the post violation as large as the largest pre one. Red dashes: the "
                "largest bound that still excludes 0 (breakdown).",
            ),
        ],
    )
    return alt.HConcatChart(hconcat=panels, title=title).resolve_scale(y="shared")


def bacon_chart(
    comparisons: pl.DataFrame, twfe_estimate: float, lang: Lang = "ja", *, min_cell_size: int = 10
) -> alt.LayerChart:
    """Each 2×2 comparison's estimate (y) against its weight in TWFE (x), coloured and shaped by
    type; the dashed line is the TWFE estimate (Σ weight × estimate). Comparisons where either
    cohort has fewer than ``min_cell_size`` staff are left out of the points (said in the
    subtitle with their total weight)."""
    _require(comparisons, BACON_COLUMNS, "bacon_chart")
    small = (pl.col("n_treated") < min_cell_size) | (pl.col("n_control") < min_cell_size)
    hidden = comparisons.filter(small)
    shown = comparisons.filter(~small & (pl.col("weight") > 0))
    names = [label("bacon_comparison", k, lang) for k in COMPARISON_TYPES]
    points = shown.select(
        pl.col("type").replace_strict(dict(zip(COMPARISON_TYPES, names, strict=True))),
        "estimate",
        "weight",
    )
    colour = alt.Color(
        "type:N",
        title=None,
        sort=names,
        scale=alt.Scale(domain=names, range=[OKABE_ITO[2], OKABE_ITO[0], OKABE_ITO[3]]),
        legend=alt.Legend(orient="bottom", columns=1),
    )
    shape = alt.Shape(
        "type:N",
        title=None,
        sort=names,
        scale=alt.Scale(domain=names, range=["square", "circle", "triangle-up"]),
    )
    line = alt.Chart(_data(pl.DataFrame({"y": [twfe_estimate]})))
    layers: list[alt.Chart] = [
        alt.Chart(_data(pl.DataFrame({"y": [0.0]}))).mark_rule(color=TEXT_COLOUR).encode(y="y:Q"),
        line.mark_rule(strokeDash=[6, 4], color=MUTED, strokeWidth=2).encode(y="y:Q"),
        alt.Chart(_data(points))
        .mark_point(size=70, filled=True, opacity=0.75)
        .encode(
            x=alt.X("weight:Q", title=t(lang, "TWFE の中での重み", "Weight in TWFE")),
            y=alt.Y("estimate:Q", title=t(lang, "2×2 比較の推定値", "2×2 estimate")),
            color=colour,
            shape=shape,
        ),
    ]
    subtitle = [
        t(
            lang,
            "点は2つの導入時期の群の比較（差の差）。TWFE はその重み付き平均（重みの合計は1）。",
            "Each point compares two roll-out cohorts (a 2×2 DiD); TWFE is their weighted mean "
            "(weights sum to 1).",
        ),
        t(
            lang,
            f"灰色の破線: TWFE の推定値 {twfe_estimate:.4f}",
            f"Grey dashes: the TWFE estimate {twfe_estimate:.4f}",
        ),
    ]
    if hidden.height:
        w = float(hidden["weight"].sum())
        subtitle.append(
            t(
                lang,
                f"{min_cell_size} 人未満の群を含む比較 {hidden.height} 件"
                f"（重み計 {100 * w:.1f}%）は点を描いていません（合計と表には含みます）。",
                f"{hidden.height} comparisons with a cohort under {min_cell_size} staff (weight "
                f"{100 * w:.1f}% in all) are not drawn (they are in the totals and the table).",
            )
        )
    title = alt.Title(
        text=t(lang, "TWFE の分解（Goodman-Bacon）", "TWFE decomposed (Goodman-Bacon)"),
        subtitle=subtitle,
    )
    return alt.LayerChart(layer=layers, title=title).properties(width=420, height=300)
