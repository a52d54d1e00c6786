"""The effect as a ratio to the counterfactual: "+X % compared with no training".

Proposals are counts and a training effect is naturally proportional, so the overall ATT is
also reported relative to the level the treated would have had *without* training in the same
cells, not to their raw pre-training mean (which ignores the secular trend and its uncertainty).

For the post-treatment cells (g, t) that the overall ATT averages, with the same cohort-share
weights w_gt (the ``simple`` aggregation of :mod:`dxkpi.models.did`):

* m1 = Σ w_gt · Ȳ_gt, the treated units' observed mean outcome in the cell (the units the cell's
  ATT used: those seen at t, and with within-unit differencing also at the base period);
* m0 = m1 − ATT, the estimated counterfactual mean;
* ratio = m1 ÷ m0 (1.0 = no change), percentage change = 100 × (ratio − 1).

Inference is the delta method on log(ratio) = log m1 − log m0 with unit-level influence
functions: the influence function of m1 is built cell by cell as ATT(g,t)'s is (n·(y − Ȳ)/n_g
for the cell's treated units) and aggregated by the same ``simple`` aggregation, so the
estimation of the cohort shares is included as it is for the ATT; the ATT's own influence
function comes from the aggregation. The interval is exp(log ratio ± z·se), asymmetric on the
ratio scale and never below 0. ``None`` when m0 is not distinguishable from 0: m0 ≤ 0, or m0's
own (1 − alpha) interval reaches 0 — then, by Fieller's theorem, the ratio's confidence set is
unbounded and a delta-method interval would be a meaningless (or overflowing) number.

Pure functions over results: no file I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from dxkpi.models.did import Aggregation, AttGtResult

__all__ = [
    "RatioEstimate",
    "counterfactual_ratio",
    "log_interval",
    "log_ratio_se",
    "treated_means",
]


@dataclass(frozen=True)
class RatioEstimate:
    """The ATT relative to the counterfactual mean of the same treated cells.

    ``treated_mean`` (m1) and ``counterfactual_mean`` (m0) are in outcome units per
    unit-period; ``ratio`` = m1 ÷ m0 with its (1 − alpha) interval ``ratio_ci`` (delta method on
    the log scale) and standard error ``se_log`` of log(ratio).
    """

    treated_mean: float
    counterfactual_mean: float
    ratio: float
    ratio_ci: tuple[float, float] | None
    se_log: float | None
    alpha: float

    @property
    def percent(self) -> float:
        """Percentage change against the counterfactual: 100 × (ratio − 1)."""
        return 100.0 * (self.ratio - 1.0)

    @property
    def percent_ci(self) -> tuple[float, float] | None:
        """The interval of :attr:`percent`."""
        if self.ratio_ci is None:
            return None
        return (100.0 * (self.ratio_ci[0] - 1.0), 100.0 * (self.ratio_ci[1] - 1.0))


def treated_means(res: AttGtResult) -> tuple[np.ndarray, np.ndarray]:
    """Per ATT(g,t) cell: the treated units' mean outcome at t and its influence function.

    Returns (means, influence) aligned with ``res.attgt`` rows and ``res.influence`` columns:
    ``influence[:, k]`` is n·(y_it − Ȳ_gt)/n_gt for the units the cell's ATT used as treated,
    0 for the others (the scaling of the ATT(g,t) influence functions).

    >>> import polars as pl
    >>> from dxkpi.models.did import att_gt
    >>> df = pl.DataFrame({
    ...     "u": [1, 1, 2, 2, 3, 3, 4, 4], "t": [1, 2] * 4, "g": [2, 2, 2, 2, 0, 0, 0, 0],
    ...     "y": [1.0, 4.0, 1.0, 6.0, 1.0, 2.0, 1.0, 2.0]})
    >>> res = att_gt(df, unit="u", time="t", group="g", outcome="y", min_units=1)
    >>> means, inf = treated_means(res)
    >>> means.tolist(), inf[:, 0].tolist()
    ([5.0], [-2.0, 2.0, 0.0, 0.0])
    """
    y = res.outcomes
    if y is None:
        raise ValueError("the result holds no outcome matrix")
    n = y.shape[0]
    index = {int(p): i for i, p in enumerate(res.periods)}
    within = res.settings.within_units
    means = np.empty(res.attgt.height)
    influence = np.zeros((n, res.attgt.height))
    rows = res.attgt.select("group", "time", "base").iter_rows()
    for k, (g, t, base) in enumerate(rows):
        ti, bi = index[int(t)], index[int(base)]
        seen = ~np.isnan(y[:, ti])
        if within:
            seen &= ~np.isnan(y[:, bi])
        used = (res.unit_cohort == g) & seen
        vals = y[used, ti]
        means[k] = float(vals.mean()) if vals.size else math.nan
        influence[used, k] = n * (vals - means[k]) / vals.size
    return means, influence


def log_ratio_se(m1: float, m0: float, inf_m1: np.ndarray, inf_m0: np.ndarray) -> float:
    """Standard error of log(m1 ÷ m0) by the delta method (m1, m0 > 0).

    ``inf_m1`` / ``inf_m0``: per-unit influence functions of the two means, scaled as
    :mod:`dxkpi.models.did`'s (SE = √Σψ² ÷ n).

    >>> round(log_ratio_se(2.0, 1.0, np.array([2.0, -2.0]), np.array([1.0, -1.0])), 12)
    0.0
    """
    inf_log = inf_m1 / m1 - inf_m0 / m0
    return math.sqrt(float((inf_log**2).sum())) / inf_log.size


def log_interval(ratio: float, se_log: float, z: float) -> tuple[float, float]:
    """The interval exp(log ratio ± z·se) — asymmetric on the ratio scale, never below 0.

    >>> [round(x, 4) for x in log_interval(2.0, 0.1, 1.959964)]
    [1.644, 2.433]
    """
    return (ratio * math.exp(-z * se_log), ratio * math.exp(z * se_log))


def counterfactual_ratio(
    res: AttGtResult, simple: Aggregation, *, alpha: float | None = None
) -> RatioEstimate | None:
    """Ratio of the treated mean to the counterfactual mean over the ``simple`` ATT's cells.

    ``simple`` must be ``res.aggregate("simple")`` (its ATT and influence function are used).
    See the module docstring for the definitions; ``None`` when the counterfactual mean is not
    distinguishable from 0 (not positive, or its interval reaches 0).

    >>> import polars as pl
    >>> from dxkpi.models.did import att_gt
    >>> df = pl.DataFrame({
    ...     "u": [1, 1, 2, 2, 3, 3, 4, 4], "t": [1, 2] * 4, "g": [2, 2, 2, 2, 0, 0, 0, 0],
    ...     "y": [1.0, 4.0, 1.0, 6.0, 1.0, 2.0, 1.0, 2.0]})
    >>> res = att_gt(df, unit="u", time="t", group="g", outcome="y", min_units=1)
    >>> r = counterfactual_ratio(res, res.aggregate("simple"))
    >>> r.treated_mean, r.counterfactual_mean, r.ratio
    (5.0, 2.0, 2.5)
    """
    level = alpha if alpha is not None else simple.alpha
    means, influence = treated_means(res)
    m1_agg = res.aggregate_values(means, influence)
    m1, m0 = m1_agg.att, m1_agg.att - simple.att
    if not (math.isfinite(m1) and math.isfinite(m0)) or m0 <= 0 or m1 <= 0:
        return None
    inf_m0 = m1_agg.influence - simple.influence
    z = float(stats.norm.ppf(1 - level / 2))
    if m0 - z * math.sqrt(float((inf_m0**2).sum())) / inf_m0.size <= 0:
        return None  # Fieller: the denominator's interval reaches 0, the ratio's is unbounded
    se = log_ratio_se(m1, m0, m1_agg.influence, inf_m0)
    ratio = m1 / m0
    ci = None
    if se > 0 and math.isfinite(se):
        ci = log_interval(ratio, se, z)
    return RatioEstimate(
        treated_mean=m1,
        counterfactual_mean=m0,
        ratio=ratio,
        ratio_ci=ci,
        se_log=se if ci is not None else None,
        alpha=level,
    )
