"""How strong a pre-trend would the pre-test have caught? Power against linear trends (Roth 2022).

Passing the pre-test (:func:`dxkpi.models.behaviour.event_pretest`: the event study's
pre-period estimates of the ``window`` periods before training are jointly zero, Hotelling's F
reference) is weak evidence when the test has little power. For a linear violation of parallel
trends — the trained staff's outcome drifting from the comparison group's by δ per period —
each pre-period estimate has mean δ·a_e, where a_e is the event time's gap t − base averaged
with the event study's own weights (1 for every pre-period with a varying base; e + 1 with a
universal one). The Wald statistic is then non-central with λ = δ²·a'V⁻¹a, so the power is the
non-central F tail beyond the test's critical value (as R ``pretrends`` computes for its own
test, under the normal approximation). The same trend continued after training would bias the
average post-period effect by δ·ā_post.

>>> import numpy as np, polars as pl
>>> from dxkpi.models.did import att_gt
>>> rng = np.random.default_rng(1)
>>> rows = [{"id": u, "t": t, "g": [0, 4, 5][u % 3], "y": rng.normal()}
...         for u in range(600) for t in range(1, 7)]
>>> res = att_gt(pl.DataFrame(rows), unit="id", time="t", group="g", outcome="y")
>>> pw = pretest_power(res, slope=0.2)
>>> pw.df, round(pw.power, 2), round(pw.slope_80 / pw.slope_50, 2)
(3, 0.98, 1.38)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl
from scipy import stats

from dxkpi.core.display import Shown, number
from dxkpi.core.errors import DxkpiError
from dxkpi.models.behaviour import event_pre_columns, event_wald_test
from dxkpi.models.did import AttGtResult, DidError, _noncentrality

__all__ = ["PretestPower", "PretrendError", "pretest_power", "wald_power"]


class PretrendError(DxkpiError):
    """The pre-test's power cannot be computed (no pre-period, singular covariance...)."""


def wald_power(lam: float, df: int, alpha: float, df_den: int | None) -> float:
    """Probability that the Wald test at level ``alpha`` rejects when its statistic has
    non-centrality ``lam``: chi-square with ``df`` (``df_den`` None) or Hotelling's F.

    >>> round(wald_power(0.0, 3, 0.05, None), 6), round(wald_power(0.0, 3, 0.05, 100), 6)
    (0.05, 0.05)
    """
    if df_den is None:
        return float(stats.ncx2.sf(stats.chi2.isf(alpha, df), df, lam))
    crit = stats.f.isf(alpha, df, df_den)
    if lam == 0:  # scipy's ncf.sf is wrong at exactly zero non-centrality (returns sf − 1)
        return float(stats.f.sf(crit, df, df_den))
    return float(stats.ncf.sf(crit, df, df_den, lam))


@dataclass(frozen=True)
class PretestPower:
    """The pre-test's power against a linear pre-trend of ``slope`` (outcome units per period).

    ``power``: probability the pre-test would have rejected; ``slope_50`` / ``slope_80``: the
    slopes it detects with 50% / 80% probability; ``information``: a'V⁻¹a (λ = δ²·information);
    ``bias_average_post``: what the same trend continued after training adds to the average
    post-period effect (outcome units); ``df``, ``df_den``: the test's F(df, df_den) reference.
    """

    slope: float
    power: float
    slope_50: float
    slope_80: float
    information: float
    bias_average_post: float
    df: int
    df_den: int | None
    alpha: float
    window: int | None

    def _shown(self) -> Shown:
        line = (
            f"against a slope of {number(self.slope)} per period (50% at {number(self.slope_50)}, "
            f"80% at {number(self.slope_80)})"
        )
        return Shown("pre-test power", self.power, None, [("pre-periods", self.df)], line)

    def __repr__(self) -> str:
        return f"PretestPower({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()

    def to_json_dict(self) -> dict[str, Any]:
        """All fields."""
        return {
            "slope": self.slope,
            "power": self.power,
            "slope_50": self.slope_50,
            "slope_80": self.slope_80,
            "information": self.information,
            "bias_average_post": self.bias_average_post,
            "df": self.df,
            "df_den": self.df_den,
            "alpha": self.alpha,
            "window": self.window,
        }


def _trend_weights(res: AttGtResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The event study and, per event time, its weighted mean of t − base."""
    dynamic = res.aggregate("dynamic")
    gaps = (res.attgt["time"] - res.attgt["base"]).to_numpy().astype(float)
    trend = res.aggregate_values(gaps, kind="dynamic")
    assert dynamic.by is not None and trend.by is not None
    return dynamic.by, trend.by


def pretest_power(
    res: AttGtResult,
    slope: float | None = None,
    *,
    window: int | None = None,
    alpha: float | None = None,
) -> PretestPower:
    """Power of the event-study pre-test (:func:`dxkpi.models.behaviour.event_pretest` with
    ``window``) against a linear pre-trend of ``slope`` per period (default: the slope it
    detects with 80% probability), at level ``alpha`` (default: the result's)."""
    a_level = res.settings.alpha if alpha is None else alpha
    try:
        dynamic = res.aggregate("dynamic")
        _, trend_by = _trend_weights(res)
    except DidError as err:
        raise PretrendError(err.ja, err.en) from err
    pre = event_pre_columns(dynamic, window)
    test = event_wald_test(dynamic, pre)
    if test is None:
        raise PretrendError(
            "事前検定ができません（事前期間がないか共分散が特異です）。",
            "no pre-test: no usable pre-period or a singular covariance.",
        )
    a_all = trend_by["att"].to_numpy()
    info = test.quadratic(a_all[pre])
    keys = trend_by["key"].to_numpy()
    post = keys >= 0
    lam_50 = _noncentrality(test.df, a_level, 0.5, test.df_den)
    lam_80 = _noncentrality(test.df, a_level, 0.8, test.df_den)
    s50, s80 = math.sqrt(lam_50 / info), math.sqrt(lam_80 / info)
    delta = s80 if slope is None else float(slope)
    return PretestPower(
        slope=delta,
        power=wald_power(delta**2 * info, test.df, a_level, test.df_den),
        slope_50=s50,
        slope_80=s80,
        information=info,
        bias_average_post=delta * float(a_all[post].mean()) if post.any() else math.nan,
        df=test.df,
        df_den=test.df_den,
        alpha=a_level,
        window=window,
    )
