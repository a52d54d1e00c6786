"""The sensitivity plot and the Bacon chart: what they draw, and what they never draw."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from dxkpi.models.sensitivity import RobustSet, SensitivityResult
from dxkpi.reports import charts
from dxkpi.reports.charts import ChartInputError

SECRET = 0.987654  # the estimate of a comparison with a cohort below k: never in the chart


def _res(
    restriction: str, breakdown: float | None, sets: tuple[RobustSet, ...]
) -> SensitivityResult:
    return SensitivityResult(
        restriction,  # type: ignore[arg-type]
        "conditional",
        "average",
        0.05,
        sets,
        breakdown,
        0.03,
        0.0078,
        (0.015, 0.046),
        6,
        6,
    )


RM = _res(
    "relative_magnitudes",
    0.304,
    (
        RobustSet(0.0, 0.0176, 0.0411),
        RobustSet(0.5, -0.0117, 0.0704),
        RobustSet(1.0, -0.0528, 0.1114, open_end=True),
        RobustSet(1.5, None, None),
    ),
)
SD = _res("smoothness", None, (RobustSet(0.0, 0.013, 0.05), RobustSet(0.002, -0.026, 0.067)))


def _rows(chart) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for rows in chart.to_dict().get("datasets", {}).values() for r in rows]


def test_sensitivity_plot_original_robust_sets_and_breakdown() -> None:
    chart = charts.sensitivity_plot(RM, SD, "en")
    spec = json.dumps(chart.to_dict(), ensure_ascii=False)
    rows = _rows(chart)
    intervals = [(r["x"], r["lower"], r["upper"], r["kind"]) for r in rows if "lower" in r]
    # the original interval left of M̄ = 0, the three non-empty sets; the empty one not drawn
    assert (-0.5, 0.015, 0.046, "Original (parallel trends)") in intervals
    assert (0.5, -0.0117, 0.0704, "Robust set") in intervals
    assert (
        1.0,
        -0.0528,
        0.1114,
        "Robust set (reaches the grid's end: wider in truth)",
    ) in intervals
    assert not any(x == 1.5 for x, *_ in intervals)
    assert any(r.get("x") == 0.304 and "breakdown M̄ = 0.304" in r.get("text", "") for r in rows)
    assert "breakdown M =" not in spec  # the smoothness result has no breakdown value (None)
    assert "Relative magnitudes M̄" in spec and "Smoothness M" in spec
    ja = json.dumps(charts.sensitivity_plot(RM, SD).to_dict(), ensure_ascii=False)
    assert "崩壊点 M̄ = 0.304" in ja and "平行トレンドからの乖離への感度" in ja


def test_sensitivity_plot_refuses_swapped_results() -> None:
    with pytest.raises(ChartInputError):
        charts.sensitivity_plot(SD, RM)


def test_sensitivity_plot_without_a_finite_breakdown_draws_no_marker() -> None:
    inf = _res("relative_magnitudes", math.inf, RM.sets)
    assert not any("text" in r for r in _rows(charts.sensitivity_plot(inf, None, "en")))


def test_bacon_chart_leaves_out_cohorts_below_k_and_keeps_the_twfe_line() -> None:
    comparisons = pl.DataFrame(
        {
            "type": ["earlier_vs_later", "later_vs_earlier", "earlier_vs_later"],
            "treated": [2.0, 3.0, 4.0],
            "control": [3.0, 2.0, 5.0],
            "estimate": [0.05, 0.01, SECRET],
            "weight": [0.6, 0.3, 0.1],
            "n_treated": [40, 30, 3],
            "n_control": [30, 40, 50],
        }
    )
    twfe = float((comparisons["estimate"] * comparisons["weight"]).sum())
    chart = charts.bacon_chart(comparisons, twfe, "en", min_cell_size=10)
    spec = json.dumps(chart.to_dict(), ensure_ascii=False)
    assert str(SECRET) not in spec
    points = [r for r in _rows(chart) if "weight" in r]
    assert sorted((r["type"], r["estimate"]) for r in points) == [
        ("Earlier vs not yet trained", 0.05),
        ("Later vs already trained (forbidden)", 0.01),
    ]
    assert any(r.get("y") == twfe for r in _rows(chart))
    assert "1 comparisons with a cohort under 10 staff (weight 10.0% in all)" in spec
    with pytest.raises(ChartInputError):
        charts.bacon_chart(comparisons.drop("n_control"), twfe)
