"""Simple contrasts to set beside the group-time DiD: naive before/after and two-way fixed effects.

Both take the same long frame as :func:`dxkpi.models.did.att_gt` (unit, period, first-treated period
with 0/null = never treated, outcome) and return a :class:`Contrast`. They are here to show what
the staggered estimator corrects: the before/after difference has no comparison group, and TWFE
with staggered adoption and effects that vary by cohort or grow over time uses already-treated
units as controls and is biased (Goodman-Bacon 2021).

>>> import polars as pl
>>> rows = [{"id": u, "t": t, "g": (3 if u < 4 else 0), "y": float(u + t + (u < 4) * (t >= 3))}
...         for u in range(8) for t in range(1, 5)]
>>> df = pl.DataFrame(rows)
>>> round(twfe(df, unit="id", time="t", group="g", outcome="y").estimate, 10)
1.0
>>> round(naive_before_after(df, unit="id", time="t", group="g", outcome="y").estimate, 10)
3.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats

from dxkpi.core.display import Shown
from dxkpi.core.errors import Where
from dxkpi.models.did import DidError, _check_columns, _to_polars

__all__ = ["Contrast", "naive_before_after", "twfe"]


@dataclass(frozen=True)
class Contrast:
    """A treatment-effect contrast in outcome units: estimate, SE, (1-alpha) CI, units, rows."""

    method: str
    estimate: float
    se: float
    ci: tuple[float, float]
    n: int
    n_obs: int

    def _shown(self) -> Shown:
        sizes = [("units", self.n), ("rows", self.n_obs)]
        return Shown(self.method, self.estimate, self.ci, sizes, "a contrast, not the DiD estimate")

    def __repr__(self) -> str:
        return f"Contrast({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()


def _frame(data: Any, unit: str, time: str, group: str, outcome: str) -> pl.DataFrame:
    df = _to_polars(data)
    _check_columns(df, {"unit": unit, "time": time, "group": group, "outcome": outcome})
    return df.select(
        pl.col(unit).alias("u"),
        pl.col(time).cast(pl.Float64).alias("t"),
        pl.col(group).cast(pl.Float64).fill_null(0.0).alias("g"),
        pl.col(outcome).cast(pl.Float64).alias("y"),
    ).filter(
        pl.col("u").is_not_null()
        & pl.col("t").is_not_null()
        & pl.col("y").is_not_null()
        & pl.col("y").is_finite()
    )


def _ci(est: float, se: float, alpha: float) -> tuple[float, float]:
    z = float(stats.norm.ppf(1 - alpha / 2))
    return (est - z * se, est + z * se)


def naive_before_after(
    data: Any, *, unit: str, time: str, group: str, outcome: str, alpha: float = 0.05
) -> Contrast:
    """Mean over treated units of (mean outcome from treatment on − before), outcome units.

    Only units with a first-treated period and rows both before and after it count; the SE is
    the standard error of the mean of these unit differences (so clustered by unit).
    """
    d = _frame(data, unit, time, group, outcome).filter(pl.col("g") > 0)
    per_unit = (
        d.group_by("u")
        .agg(
            pl.col("y").filter(pl.col("t") >= pl.col("g")).mean().alias("after"),
            pl.col("y").filter(pl.col("t") < pl.col("g")).mean().alias("before"),
            pl.len().alias("rows"),
        )
        .drop_nulls(["after", "before"])
    )
    if per_unit.height < 2:
        raise DidError(
            "前後を比べられる処置単位が 2 未満です。",
            "fewer than 2 treated units observed both before and after treatment.",
            where=Where(column=group),
        )
    diff = (per_unit["after"] - per_unit["before"]).to_numpy()
    est = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(diff.size))
    return Contrast(
        "naive_before_after",
        est,
        se,
        _ci(est, se, alpha),
        int(diff.size),
        int(per_unit["rows"].sum()),
    )


def _demean_two_way(
    x: np.ndarray, ui: np.ndarray, ti: np.ndarray, tol: float = 1e-12, max_iter: int = 10_000
) -> np.ndarray:
    """Residual of x after unit and period means (alternating projections; exact if balanced)."""
    nu, nt = ui.max() + 1, ti.max() + 1
    cu = np.bincount(ui, minlength=nu).astype(float)
    ct = np.bincount(ti, minlength=nt).astype(float)
    r = x - x.mean()
    for _ in range(max_iter):
        r = r - (np.bincount(ui, weights=r, minlength=nu) / cu)[ui]
        step = (np.bincount(ti, weights=r, minlength=nt) / ct)[ti]
        r = r - step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(r))):
            break
    return r


def twfe(
    data: Any, *, unit: str, time: str, group: str, outcome: str, alpha: float = 0.05
) -> Contrast:
    """Two-way fixed-effects coefficient on the treated-and-post dummy, outcome units.

    y_it = a_i + l_t + b * 1{g_i > 0 and t >= g_i} + e_it, fitted by OLS (statsmodels) on the
    within-transformed data (unit and period effects swept out by alternating projections, so
    no unit dummies), with SEs clustered by unit. The cluster correction is statsmodels'
    G/(G-1)·(N-1)/(N-K) with K = 1 (fixed effects nested in the clusters are not counted, as in
    fixest's default).
    """
    d = _frame(data, unit, time, group, outcome)
    ui = d["u"].rank("dense").cast(pl.Int64).to_numpy() - 1
    ti = d["t"].rank("dense").cast(pl.Int64).to_numpy() - 1
    g, t = d["g"].to_numpy(), d["t"].to_numpy()
    treat = ((g > 0) & (t >= g)).astype(float)
    if treat.min() == treat.max():
        raise DidError(
            "処置ダミーに変動がありません。",
            "the treatment dummy does not vary.",
            where=Where(column=group),
        )
    yd = _demean_two_way(d["y"].to_numpy(), ui, ti)
    xd = _demean_two_way(treat, ui, ti)
    fit = sm.OLS(yd, xd[:, None]).fit(cov_type="cluster", cov_kwds={"groups": ui})
    est, se = float(fit.params[0]), float(fit.bse[0])
    return Contrast("twfe", est, se, _ci(est, se, alpha), int(ui.max() + 1), int(d.height))
