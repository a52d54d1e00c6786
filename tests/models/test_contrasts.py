"""Naive before/after and two-way fixed effects contrasts."""

from __future__ import annotations

import doctest

import numpy as np
import polars as pl
import pytest
import statsmodels.formula.api as smf

import dxkpi.models.contrasts as contrasts_module
from dxkpi.models.contrasts import naive_before_after, twfe
from dxkpi.models.did import DidError

COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}


def panel(seed: int, n: int = 150, periods: int = 5, drop: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([3, 4, 0]), size=n)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    gg = np.repeat(g, periods)
    y = (
        np.repeat(rng.normal(size=n), periods)
        + 0.4 * t
        + rng.normal(size=ids.size)
        + 1.5 * ((gg > 0) & (t >= gg))
    )
    df = pl.DataFrame({"id": ids, "t": t, "g": gg, "y": y})
    return df.filter(pl.Series(rng.random(df.height) >= drop)) if drop else df


@pytest.mark.parametrize("drop", [0.0, 0.2])
def test_twfe_equals_dummy_regression(drop) -> None:
    df = panel(1, drop=drop)
    mine = twfe(df, **COLS)
    pdf = df.to_pandas()
    pdf["d"] = ((pdf["g"] > 0) & (pdf["t"] >= pdf["g"])).astype(float)
    ref = smf.ols("y ~ d + C(id) + C(t)", data=pdf).fit(
        cov_type="cluster", cov_kwds={"groups": pdf["id"]}
    )
    assert mine.estimate == pytest.approx(ref.params["d"], abs=1e-8)
    # same sandwich (Frisch-Waugh-Lovell); only the (N-1)/(N-K) factor counts K differently
    n_obs, k_dummy = len(pdf), ref.df_model + 1
    se_ref = ref.bse["d"] * np.sqrt((n_obs - k_dummy) / (n_obs - 1))
    assert mine.se == pytest.approx(se_ref, rel=1e-7)
    assert mine.n == pdf["id"].nunique() and mine.n_obs == n_obs
    assert mine.ci[0] < mine.estimate < mine.ci[1]


def test_twfe_unbiased_with_homogeneous_effect() -> None:
    res = twfe(panel(2, n=2000), **COLS)
    assert abs(res.estimate - 1.5) < 3 * res.se


def test_naive_before_after_by_hand() -> None:
    df = pl.DataFrame(
        {
            "id": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "t": [1, 2, 3] * 3,
            "g": [2, 2, 2, 3, 3, 3, 0, 0, 0],
            "y": [1.0, 4.0, 6.0, 2.0, 2.0, 7.0, 0.0, 9.0, 9.0],
        }
    )
    res = naive_before_after(df, **COLS)
    diffs = np.array([5.0 - 1.0, 7.0 - 2.0])  # unit 1: mean(4,6)-1; unit 2: 7-mean(2,2)
    assert res.estimate == pytest.approx(diffs.mean())
    assert res.se == pytest.approx(diffs.std(ddof=1) / np.sqrt(2))
    assert res.n == 2 and res.n_obs == 6


def test_naive_includes_the_common_trend() -> None:
    # the before/after difference carries the 0.4-per-period trend that DiD removes
    res = naive_before_after(panel(3, n=1000), **COLS)
    assert res.estimate > 1.5 + 0.3


def test_contrast_errors() -> None:
    df = panel(4)
    with pytest.raises(DidError, match="missing column"):
        twfe(df, unit="id", time="t", group="g", outcome="nope")
    with pytest.raises(DidError, match="does not vary"):
        twfe(df.with_columns(pl.lit(0).alias("g")), **COLS)
    with pytest.raises(DidError, match="fewer than 2"):
        naive_before_after(df.with_columns(pl.lit(0).alias("g")), **COLS)


def test_module_docstring_example() -> None:
    failures, _ = doctest.testmod(contrasts_module)
    assert failures == 0
