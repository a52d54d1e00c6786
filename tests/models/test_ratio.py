"""The effect relative to the counterfactual: hand-computed cells, a planted multiplicative
effect with a secular trend, interval coverage, and the planted ratio of both sample cities."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from dxkpi.ingest.processed import load_processed
from dxkpi.models.behaviour import behaviour_change
from dxkpi.models.did import att_gt
from dxkpi.models.ratio import counterfactual_ratio, treated_means

COLS = {"unit": "u", "time": "t", "group": "g", "outcome": "y"}


def test_hand_computed_two_cohorts() -> None:
    """Cohort 2 (units 1, 2) and cohort 3 (units 3, 4), never treated 5, 6; three periods.

    Cells (varying base, post only): (2,2): treated 4, 6 → m1 5; Δ treated 3, 5 → 4,
    Δ never 1, 1 → 1: ATT 3. (2,3): treated 5, 7 → 6; Δ from t=1: 4, 6 → 5, never 2, 2 → 2:
    ATT 3. (3,3): treated 9, 11 → 10; Δ from t=2: 6, 8 → 7, never 1, 1 → 1: ATT 6.
    Cohort shares equal, so the simple aggregation weighs the three post cells equally:
    m1 = 7, ATT = 4, m0 = 3, ratio 7/3.
    """
    df = pl.DataFrame(
        {
            "u": np.repeat([1, 2, 3, 4, 5, 6], 3),
            "t": [1, 2, 3] * 6,
            "g": np.repeat([2, 2, 3, 3, 0, 0], 3),
            "y": [1.0, 4, 5, 1, 6, 7, 2, 3, 9, 2, 3, 11, 1, 2, 3, 1, 2, 3],
        }
    )
    res = att_gt(df, **COLS, min_units=1)
    post = res.attgt.filter(pl.col("post"))
    assert post["att"].to_list() == pytest.approx([3.0, 3.0, 6.0])
    means, _ = treated_means(res)
    by_cell = dict(zip(zip(res.attgt["group"], res.attgt["time"], strict=True), means, strict=True))
    assert by_cell[(2, 2)] == 5.0 and by_cell[(2, 3)] == 6.0 and by_cell[(3, 3)] == 10.0
    r = counterfactual_ratio(res, res.aggregate("simple"))
    assert r is not None
    assert r.treated_mean == pytest.approx(7.0)
    assert r.counterfactual_mean == pytest.approx(3.0)
    assert r.ratio == pytest.approx(7 / 3)
    assert r.percent == pytest.approx(100 * (7 / 3 - 1))


def test_no_ratio_when_the_counterfactual_is_not_positive() -> None:
    df = pl.DataFrame(
        {
            "u": np.repeat([1, 2, 3, 4], 2),
            "t": [1, 2] * 4,
            "g": np.repeat([2, 2, 0, 0], 2),
            "y": [1.0, 1.0, 1.0, 1.0, 5.0, 1.0, 5.0, 1.0],  # comparison falls by 4
        }
    )
    res = att_gt(df, **COLS, min_units=1)
    assert res.aggregate("simple").att == pytest.approx(4.0)  # m1 = 1, m0 = 1 − 4 < 0
    assert counterfactual_ratio(res, res.aggregate("simple")) is None


def _near_zero_base(treated_pre: list[float]) -> pl.DataFrame:
    """20 treated (cohort 2) and 20 never-treated units, two periods, no trend among the
    comparison: m0 is the treated pre mean, m1 their post mean (5 each)."""
    n = len(treated_pre)
    pre = [*treated_pre, *([0.0] * n)]
    post = [*([5.0] * n), *([0.0] * n)]
    return pl.DataFrame(
        {
            "u": np.repeat(np.arange(2 * n), 2),
            "t": [1, 2] * (2 * n),
            "g": np.repeat([2] * n + [0] * n, 2),
            "y": np.column_stack([pre, post]).ravel(),
        }
    )


def test_no_ratio_when_the_counterfactual_is_not_distinguishable_from_zero() -> None:
    """One treated unit of 20 active before: m0 = 0.05 with SE √(0.05·0.95/20) ≈ 0.049, its
    95% interval reaches 0, so the ratio's (Fieller) confidence set is unbounded: no ratio,
    where the delta method gave ×100 (×15〜×676) — and, with a smaller m0, an
    overflow (a subgroup of a simulated city crashed with OverflowError)."""
    res = att_gt(_near_zero_base([1.0] + [0.0] * 19), **COLS, min_units=1)
    simple = res.aggregate("simple")
    assert simple.att == pytest.approx(4.95)
    assert counterfactual_ratio(res, simple) is None
    # eight of twenty active: m0 = 0.4, SE ≈ 0.11, clearly above 0 — a ratio with its interval
    res = att_gt(_near_zero_base([1.0] * 8 + [0.0] * 12), **COLS, min_units=1)
    r = counterfactual_ratio(res, res.aggregate("simple"))
    assert r is not None and r.ratio == pytest.approx(5 / 0.4)
    assert r.ratio_ci is not None and r.ratio_ci[0] < r.ratio < r.ratio_ci[1]


def _multiplicative(seed: int, n: int = 1500, effect: float = 1.25) -> pl.DataFrame:
    """Poisson counts with a secular rise common to everyone (+0.2 per period: parallel trends
    in levels, what the DiD assumes), early cohorts less active before training, and a planted
    multiplicative effect on the counterfactual from the cohort period on."""
    rng = np.random.default_rng(seed)
    periods = 12
    cohort = np.array([5, 9, 0])[np.arange(n) % 3]
    level = rng.gamma(4.0, 0.5, n) * np.where(cohort == 5, 0.7, 1.0)
    unit = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    g = cohort[unit]
    lam = (level[unit] + 0.2 * t) * np.where((g > 0) & (t >= g), effect, 1.0)
    return pl.DataFrame({"u": unit, "t": t, "g": g, "y": rng.poisson(lam).astype(float)})


def test_planted_multiplicative_effect_is_recovered_and_the_pre_mean_percentage_is_not() -> None:
    df = _multiplicative(seed=3)
    res = att_gt(df, **COLS, control="notyet", min_units=5)
    simple = res.aggregate("simple")
    r = counterfactual_ratio(res, simple)
    assert r is not None and r.ratio_ci is not None
    assert r.ratio_ci[0] < 1.25 < r.ratio_ci[1]
    assert r.ratio_ci[1] - r.ratio_ci[0] < 0.2
    # the removed percentage, ATT ÷ the treated's raw pre-training mean, reads above the interval
    treated_pre = df.filter((pl.col("g") > 0) & (pl.col("t") < pl.col("g")))["y"].mean()
    assert isinstance(treated_pre, float)
    assert simple.att / treated_pre > r.ratio_ci[1] - 1  # outside the correct interval


def test_ratio_intervals_cover_the_planted_ratio() -> None:
    """100 simulated panels: the 95 % interval covers the planted 1.25 in 88–100 % of them
    (3 binomial SDs below 95 %)."""
    hits = 0
    reps = 100
    for seed in range(reps):
        df = _multiplicative(seed=100 + seed, n=600)
        res = att_gt(df, **COLS, control="notyet", min_units=5)
        r = counterfactual_ratio(res, res.aggregate("simple"))
        assert r is not None and r.ratio_ci is not None
        hits += r.ratio_ci[0] <= 1.25 <= r.ratio_ci[1]
    assert 0.88 <= hits / reps <= 1.0


# ------------------------------------------------------------------ the sample cities


def _check_city(processed: Any, truth: dict[str, Any]) -> None:
    data = load_processed(processed)
    r = behaviour_change(data, period="month", treatment="phase2", control="notyet")
    assert r.timing == "next" and r.ratio is not None and r.ratio.ratio_ci is not None
    lo, hi = r.ratio.ratio_ci
    assert lo < truth["expected_ratio"] < hi, (r.ratio, truth["expected_ratio"])
    assert lo > 1.0
    same = behaviour_change(data, period="month", treatment="phase2", timing="same")
    counted = truth["completion_month_counted_as_treated"]
    assert same.ratio is not None and same.ratio.ratio_ci is not None
    assert same.ci is not None
    assert same.ci[0] < counted["expected_att_per_employee_month"] < same.ci[1]
    assert same.ratio.ratio_ci[0] < counted["expected_ratio"] < same.ratio.ratio_ci[1]
    assert math.isfinite(r.ratio.se_log or math.nan)


def test_sample_city_ratio_covers_the_planted_ratio(sample_city) -> None:
    _check_city(sample_city.processed, sample_city.truth)


def test_other_city_ratio_covers_the_planted_ratio(other_city) -> None:
    _check_city(other_city.processed, other_city.truth)
