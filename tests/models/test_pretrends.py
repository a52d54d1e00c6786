"""Power of the event-study pre-test against linear pre-trends: closed form vs simulation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from dxkpi.models.behaviour import event_pre_columns, event_pretest
from dxkpi.models.did import att_gt
from dxkpi.models.pretrends import PretrendError, pretest_power, wald_power

COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}


def _panel(seed: int, slope: float, n: int = 300, base: str = "varying"):
    """Cohorts 4 and 5 and never-treated units over 6 periods; the treated drift by ``slope``
    per period from the start (a linear violation of parallel trends), no effect."""
    rng = np.random.default_rng(seed)
    g = np.array([0, 4, 5])[np.arange(n) % 3]
    t = np.arange(1, 7)
    y = rng.normal(size=(n, 6)) + rng.normal(size=(n, 1)) + slope * (g[:, None] > 0) * t
    df = pl.DataFrame(
        {"id": np.repeat(np.arange(n), 6), "t": np.tile(t, n), "g": np.repeat(g, 6), "y": y.ravel()}
    )
    return att_gt(df, **COLS, base_period=base)


def test_power_formula_limits() -> None:
    res = _panel(0, 0.0)
    pw = pretest_power(res, slope=0.0)
    assert pw.power == pytest.approx(0.05, abs=1e-9)
    assert pretest_power(res, slope=pw.slope_50).power == pytest.approx(0.5, abs=1e-6)
    assert pretest_power(res, slope=pw.slope_80).power == pytest.approx(0.8, abs=1e-6)
    assert pretest_power(res).slope == pytest.approx(pw.slope_80)
    assert wald_power(0.0, 3, 0.05, None) == pytest.approx(0.05)


@pytest.mark.parametrize("base", ["varying", "universal"])
def test_power_matches_the_exact_distribution_of_the_test(base) -> None:
    """Draw the pre-period estimates from N(δ·a, V) with the result's own V and apply the
    pre-test's F rule: the rejection rate equals the closed-form power (20,000 draws)."""
    res = _panel(1, 0.0, base=base)
    pw = pretest_power(res, slope=0.06)
    dyn = res.aggregate("dynamic")
    pre = event_pre_columns(dyn)
    gaps = (res.attgt["time"] - res.attgt["base"]).to_numpy().astype(float)
    a = res.aggregate_values(gaps, kind="dynamic").by["att"].to_numpy()[pre]
    inf = dyn.by_influence[:, pre]
    n = inf.shape[0]
    cov = inf.T @ inf / n**2
    rng = np.random.default_rng(2)
    draws = rng.multivariate_normal(0.06 * a, cov, size=20_000)
    w = np.einsum("ij,jk,ik->i", draws, np.linalg.inv(cov), draws)
    k, nu = pre.size, n - 1
    crit = stats.f.isf(0.05, k, nu - k + 1)
    rate = np.mean(w * (nu - k + 1) / (k * nu) > crit)
    assert pw.df == k and pw.df_den == nu - k + 1
    assert abs(rate - pw.power) < 4 * np.sqrt(pw.power * (1 - pw.power) / 20_000) + 1e-3


def test_power_matches_simulated_panels() -> None:
    """Panels with a planted linear pre-trend: the share whose pre-test rejects is the predicted
    power (within Monte-Carlo error; the covariance is estimated in each panel)."""
    slope = 0.15
    predicted = pretest_power(_panel(100, 0.0), slope=slope).power
    rejections = [
        (event_pretest(_panel(seed, slope).aggregate("dynamic")).p or 1.0) < 0.05
        for seed in range(120)
    ]
    rate = float(np.mean(rejections))
    assert 0.3 < predicted < 0.9
    assert abs(rate - predicted) < 3 * np.sqrt(predicted * (1 - predicted) / 120) + 0.03


def test_no_pre_period_is_an_error() -> None:
    rows = [
        {"id": u, "t": t, "g": [0, 2][u % 2], "y": float(u + t)}
        for u in range(40)
        for t in (1, 2, 3)
    ]
    res = att_gt(pl.DataFrame(rows), **COLS)
    with pytest.raises(PretrendError):
        pretest_power(res, slope=1.0)
