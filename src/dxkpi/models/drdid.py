"""Two-period panel DiD with covariates (Sant'Anna & Zhao 2020), as R ``DRDID``.

One 2×2 comparison: ``dy`` is each unit's outcome change between the two periods, ``treated``
says who is in the treated group, and ``x`` holds the covariates (a column of ones first) at
the earlier period. Three estimators of the ATT under parallel trends *conditional on x*, each
with its unit-level influence function (scaled as DRDID's: SE = √Σψ² ÷ n):

* ``"reg"`` — outcome regression (Heckman, Ichimura & Todd 1997), R ``DRDID::reg_did_panel``:
  the comparison units' change regressed on x by OLS, predicted for the treated;
  ATT = mean(dy − x'β̂ | treated);
* ``"ipw"`` — normalised (Hajek) inverse probability weighting (Abadie 2005),
  ``DRDID::std_ipw_did_panel``: comparison units weighted by p(x)/(1 − p(x)) from a logit of
  ``treated`` on x, the weights normalised to sum to one;
* ``"dr"`` — doubly robust (Sant'Anna & Zhao 2020, "traditional"), ``DRDID::drdid_panel``: the
  IPW contrast of the OLS residuals; consistent when either the logit or the outcome regression
  is right. The estimator R ``did`` uses by default.

As DRDID: propensity scores are capped at 1 − 10⁻⁶, comparison units with a score of at least
:data:`TRIM_LEVEL` (0.995) get weight 0 in ``ipw`` and ``dr`` (they are counted in
``n_trimmed``), and the influence functions include the estimation effect of the logit and OLS
coefficients. As R ``did``'s guard before each cell, a comparison whose logit fits any unit at
:data:`OVERLAP_LIMIT` (0.999) or more is not estimated (:class:`NotEstimable` with code
``"overlap"``), nor one whose comparison units' covariate matrix is singular (``"singular"``).
Scores below :data:`PS_LOW` are counted (``n_ps_low``): such comparison units carry almost no
weight, which is harmless, but many of them say the groups differ a lot in x.

The logit is fitted by Newton–Raphson (IRLS) from R ``glm``'s starting values until the
relative change of the deviance is below 10⁻¹⁰ (R stops at 10⁻⁸; both are the same maximum to
far more digits than the estimates need).

Example — the effect is 1 and the trend depends on x, which also drives who is treated:

>>> import numpy as np
>>> rng = np.random.default_rng(3)
>>> z = rng.normal(size=4000)
>>> treated = rng.random(4000) < 1 / (1 + np.exp(-z))
>>> dy = 0.5 * z + treated + rng.normal(size=4000)
>>> x = np.column_stack([np.ones(4000), z])
>>> fits = [did_2x2(dy, treated, x, m) for m in ("dr", "ipw", "reg")]
>>> [(round(f.att, 2), round(float(np.sqrt((f.influence**2).sum())) / 4000, 3)) for f in fits]
[(0.99, 0.04), (1.02, 0.04), (1.0, 0.038)]
>>> round(float(dy[treated].mean() - dy[~treated].mean()), 2)  # without x: biased
1.42
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import polars as pl
from scipy import special

from dxkpi.core.errors import DxkpiError

__all__ = [
    "EST_METHODS",
    "OVERLAP_LIMIT",
    "OVERLAP_SCHEMA",
    "PS_CAP",
    "PS_LOW",
    "TRIM_LEVEL",
    "Design",
    "EstMethod",
    "NotEstimable",
    "Overlap",
    "TwoByTwo",
    "design",
    "did_2x2",
    "estimate",
    "logit_scores",
]

EstMethod = Literal["dr", "ipw", "reg"]
#: The values of :data:`EstMethod` (the command line's choices too).
EST_METHODS: tuple[EstMethod, ...] = get_args(EstMethod)
#: DRDID's ``trim.level``: comparison units with a propensity score at or above it get weight 0.
TRIM_LEVEL = 0.995
#: R did's overlap guard: a cell whose logit fits any unit at or above this is not estimated.
OVERLAP_LIMIT = 0.999
#: Propensity scores below this are counted and reported (not trimmed).
PS_LOW = 0.001
#: DRDID caps the propensity score here so that p/(1 − p) stays finite.
PS_CAP = 1 - 1e-6
_EPS = np.finfo(float).eps  # R's binomial link keeps fitted probabilities in [eps, 1 - eps]
_DEVIANCE_TOL = 1e-10
_MAX_ITER = 100


class NotEstimable(DxkpiError):
    """A 2×2 comparison cannot be estimated with these covariates (``code``: why)."""

    def __init__(self, code: Literal["overlap", "singular"], ja: str, en: str) -> None:
        super().__init__(ja, en)
        self.code = code


@dataclass(frozen=True, eq=False)
class TwoByTwo:
    """One 2×2 ATT (outcome units) with its influence function and the overlap it rested on.

    ``influence`` has one value per unit of the comparison (SE = √Σψ² ÷ n, as DRDID).
    ``ps_min``/``ps_max``: the range of the fitted propensity scores over the comparison's units
    (None for ``"reg"``); ``n_trimmed``: comparison units given weight 0 (score ≥
    :data:`TRIM_LEVEL`); ``n_ps_low``: units with a score below :data:`PS_LOW`;
    ``converged``: whether the logit met its tolerance (True for ``"reg"``).
    """

    att: float
    influence: np.ndarray = field(repr=False)
    ps_min: float | None = None
    ps_max: float | None = None
    n_trimmed: int = 0
    n_ps_low: int = 0
    converged: bool = True


#: The columns of :attr:`Overlap.cells`.
OVERLAP_SCHEMA: dict[str, Any] = {
    "group": pl.Int64,
    "time": pl.Int64,
    "ps_min": pl.Float64,
    "ps_max": pl.Float64,
    "n_trimmed": pl.Int64,
    "n_ps_low": pl.Int64,
    "converged": pl.Boolean,
}


@dataclass(frozen=True, eq=False)
class Overlap:
    """Propensity-score overlap over the cells of an ATT(g,t) estimate with covariates.

    ``cells``: one row per estimated cell — group, time, ps_min, ps_max (fitted scores of the
    cell's units), n_trimmed (comparison units with weight 0: score ≥ ``trim_level``),
    n_ps_low (units with a score below ``low``), converged (the logit met its tolerance).
    ``not_estimated``: cells left out because a score reached ``limit`` (listed with code
    ``"overlap"`` among the result's skipped cells). With ``method="reg"`` no score is fitted:
    ``checked`` is False and ``cells`` is empty.
    """

    method: EstMethod
    cells: pl.DataFrame
    not_estimated: int = 0
    trim_level: float = TRIM_LEVEL
    limit: float = OVERLAP_LIMIT
    low: float = PS_LOW

    @property
    def checked(self) -> bool:
        """Whether propensity scores were fitted (``dr`` and ``ipw``)."""
        return self.method != "reg"

    @property
    def units_trimmed(self) -> int:
        """Comparison units given weight 0, summed over cells (a unit counts once per cell)."""
        return int(self.cells["n_trimmed"].sum())

    @property
    def cells_trimmed(self) -> int:
        """Cells in which at least one comparison unit was trimmed."""
        return int((self.cells["n_trimmed"] > 0).sum())

    @property
    def cells_low(self) -> int:
        """Cells with at least one score below ``low``."""
        return int((self.cells["n_ps_low"] > 0).sum())

    @property
    def not_converged(self) -> int:
        """Cells whose logit did not meet its tolerance (estimated anyway, as R)."""
        return int((~self.cells["converged"]).sum())

    @property
    def ps_range(self) -> tuple[float, float] | None:
        """The smallest and largest fitted score over all estimated cells."""
        if self.cells.is_empty():
            return None
        return (float(self.cells["ps_min"].min()), float(self.cells["ps_max"].max()))  # type: ignore[arg-type]

    def sentence(self) -> str:
        """What was trimmed or flagged, in one line."""
        if not self.checked:
            return "outcome regression: no propensity score is fitted, overlap is not checked"
        rng = self.ps_range
        span = "no cell estimated" if rng is None else f"scores {rng[0]:.4f}–{rng[1]:.4f}"
        return (
            f"{span}; {self.units_trimmed} comparison units trimmed (score ≥ {self.trim_level}) "
            f"in {self.cells_trimmed} of {self.cells.height} cells; {self.cells_low} cells with "
            f"scores below {self.low}; {self.not_estimated} cells not estimated (score ≥ "
            f"{self.limit})"
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The summary, thresholds and the cells where something was trimmed or flagged."""
        rng = self.ps_range
        flagged = self.cells.filter(
            (pl.col("n_trimmed") > 0) | (pl.col("n_ps_low") > 0) | ~pl.col("converged")
        )
        return {
            "method": self.method,
            "checked": self.checked,
            "trim_level": self.trim_level,
            "limit": self.limit,
            "low": self.low,
            "cells": self.cells.height,
            "ps_min": None if rng is None else rng[0],
            "ps_max": None if rng is None else rng[1],
            "units_trimmed": self.units_trimmed,
            "cells_trimmed": self.cells_trimmed,
            "cells_with_low_scores": self.cells_low,
            "cells_not_converged": self.not_converged,
            "cells_not_estimated": self.not_estimated,
            "flagged_cells": flagged.to_dicts(),
            "sentence": self.sentence(),
        }


def logit_scores(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, bool]:
    """Fitted probabilities of a logit of ``d`` (0/1) on ``x`` (with its intercept column), by
    IRLS as R ``glm``, and whether the deviance converged.

    >>> x = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> p, ok = logit_scores(x, np.array([0.0, 1.0, 0.0, 1.0]))
    >>> np.round(p, 4).tolist(), ok
    ([0.2039, 0.3884, 0.6116, 0.7961], True)
    """
    mu = (d + 0.5) / 2.0  # glm's mustart for binomial
    eta = np.log(mu / (1.0 - mu))
    dev_old = math.inf
    for _ in range(_MAX_ITER):
        w = mu * (1.0 - mu)
        z = eta + (d - mu) / w
        xw = x * w[:, None]
        try:
            beta = np.linalg.solve(xw.T @ x, xw.T @ z)
        except np.linalg.LinAlgError as err:
            raise _singular("propensity score") from err
        eta = x @ beta
        mu = np.clip(special.expit(eta), _EPS, 1.0 - _EPS)
        dev = -2.0 * float(np.sum(d * np.log(mu) + (1.0 - d) * np.log(1.0 - mu)))
        if abs(dev - dev_old) / (abs(dev) + 0.1) < _DEVIANCE_TOL:
            return mu, True
        dev_old = dev
    return mu, False


def _singular(what: str) -> NotEstimable:
    return NotEstimable(
        "singular",
        f"共変量の行列が特異です（{what}）。",
        f"the covariate matrix is singular ({what}): a covariate is constant or collinear "
        "within this comparison",
    )


def _inv_xtx(x: np.ndarray, w: np.ndarray, n: int, what: str) -> np.ndarray:
    """(X'diag(w)X / n)⁻¹, or :class:`NotEstimable` when singular (R's rcond < eps check)."""
    xtx = (x * w[:, None]).T @ x / n
    if not np.all(np.isfinite(xtx)) or 1.0 / np.linalg.cond(xtx, p=1) < _EPS:
        raise _singular(what)
    return np.linalg.inv(xtx)


def _check_overlap(ps: np.ndarray) -> None:
    top = float(ps.max())
    if top >= OVERLAP_LIMIT:
        raise NotEstimable(
            "overlap",
            f"傾向スコアの最大値が {top:.4f} で、比較できる単位がありません（重なり不足）。",
            f"the propensity score reaches {top:.4f} (>= {OVERLAP_LIMIT}): some treated units "
            "have no comparable comparison units (overlap fails)",
        )


@dataclass(frozen=True, eq=False)
class Design:
    """The covariate side of one 2×2 comparison, fitted once (:func:`design`) and used for
    every outcome change of the same units (:func:`estimate`): in a balanced panel with a
    never-treated comparison group every cell of a cohort shares it.

    ``x``: units × design columns (ones first); ``d``: 1 treated, 0 comparison;
    ``ps``: the fitted propensity scores (None for ``"reg"``); ``w_cont``: the comparison
    units' IPW weights p/(1 − p), 0 when trimmed; ``score_h``: the logit coefficients'
    influence (score · (X'WX/n)⁻¹), units × columns; ``ols_chol``: the Cholesky factor of the
    comparison units' X'X; ``ols_t``/``ols_c``: the OLS coefficients' influence applied to the
    derivative vectors of the treated and comparison terms, one value per unit (divided by the
    unit's residual).
    """

    method: EstMethod
    x: np.ndarray = field(repr=False)
    d: np.ndarray = field(repr=False)
    control: np.ndarray = field(repr=False)
    ps: np.ndarray | None = field(default=None, repr=False)
    converged: bool = True
    w_cont: np.ndarray | None = field(default=None, repr=False)
    score_h: np.ndarray | None = field(default=None, repr=False)
    ols_chol: np.ndarray | None = field(default=None, repr=False)
    ols_t: np.ndarray | None = field(default=None, repr=False)
    ols_c: np.ndarray | None = field(default=None, repr=False)

    def fitted(self, dy: np.ndarray) -> np.ndarray:
        """x'β̂ from OLS of the comparison units' ``dy`` on x: the normal equations through the
        stored Cholesky factor, with one step of iterative refinement (as accurate as a QR
        solve for these small designs, without a QR per cell)."""
        assert self.ols_chol is not None
        xc, yc = self.x[self.control], dy[self.control]
        beta = _cho_solve(self.ols_chol, xc.T @ yc)
        beta += _cho_solve(self.ols_chol, xc.T @ (yc - xc @ beta))
        return self.x @ beta

    def overlap(self) -> tuple[float | None, float | None, int, int]:
        """Score range, comparison units trimmed, units with a score below :data:`PS_LOW`."""
        if self.ps is None or self.w_cont is None:
            return None, None, 0, 0
        trimmed = int((self.control & (np.minimum(self.ps, PS_CAP) >= TRIM_LEVEL)).sum())
        low = int((self.ps < PS_LOW).sum())
        return float(self.ps.min()), float(self.ps.max()), trimmed, low


def _ols_parts(x: np.ndarray, control: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The Cholesky factor of the comparison units' X'X and (X'X/n)⁻¹, after R did's guard
    (rcond of X'X below machine epsilon: :class:`NotEstimable` ``"singular"``)."""
    xc = x[control]
    xtx = xc.T @ xc
    if xc.shape[0] == 0 or 1.0 / np.linalg.cond(xtx, p=1) < _EPS:
        raise _singular("comparison units")
    try:
        chol = np.linalg.cholesky(xtx)
    except np.linalg.LinAlgError as err:
        raise _singular("comparison units") from err
    return chol, n * _cho_solve(chol, np.eye(xtx.shape[0]))


def _cho_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (L L')·β = b for the lower Cholesky factor L."""
    return np.linalg.solve(chol.T, np.linalg.solve(chol, b))


def design(x: np.ndarray, treated: np.ndarray, method: EstMethod = "dr") -> Design:
    """Fit the covariate side of a 2×2 comparison: the logit (``dr``, ``ipw``) and the
    comparison units' regression design (``dr``, ``reg``), with R did's guards (raises
    :class:`NotEstimable`)."""
    d = treated.astype(float)
    control = ~treated
    n = d.size
    if method == "reg":
        chol, xpx_inv = _ols_parts(x, control, n)
        m1 = x.T @ d / n
        return Design(method, x, d, control, ols_chol=chol, ols_c=x @ (xpx_inv @ m1))
    ps_raw, converged = logit_scores(x, d)
    _check_overlap(ps_raw)
    ols = _ols_parts(x, control, n) if method == "dr" else None  # R's order: overlap first
    ps = np.minimum(ps_raw, PS_CAP)
    w_cont = np.where(control & (ps < TRIM_LEVEL), ps / (1.0 - ps), 0.0)
    # asymptotic linear representation of the logit coefficients: score · (X'WX/n)⁻¹
    hess = _inv_xtx(x, ps * (1.0 - ps), n, "propensity score")
    score_h = ((d - ps)[:, None] * x) @ hess
    parts: dict[str, np.ndarray] = {}
    if ols is not None:
        chol, xpx_inv = ols
        m1 = x.T @ d / n
        m3 = x.T @ w_cont / n
        parts = {"ols_chol": chol, "ols_t": x @ (xpx_inv @ m1), "ols_c": x @ (xpx_inv @ m3)}
    return Design(method, x, d, control, ps_raw, converged, w_cont=w_cont, score_h=score_h, **parts)


def estimate(dy: np.ndarray, des: Design) -> TwoByTwo:
    """ATT of the 2×2 comparison of ``des`` for the outcome changes ``dy`` (one per unit)."""
    if des.method == "reg":
        att, inf = _reg(dy, des)
    elif des.method == "dr":
        att, inf = _dr(dy, des)
    else:
        att, inf = _ipw(dy, des)
    ps_min, ps_max, trimmed, low = des.overlap()
    return TwoByTwo(att, inf, ps_min, ps_max, trimmed, low, des.converged)


def did_2x2(
    dy: np.ndarray, treated: np.ndarray, x: np.ndarray, method: EstMethod = "dr"
) -> TwoByTwo:
    """ATT of one 2×2 panel comparison conditional on covariates ``x`` (first column ones).

    ``dy``: outcome change per unit (later period − earlier); ``treated``: boolean per unit
    (the others are the comparison group); ``method``: ``"dr"``, ``"ipw"`` or ``"reg"`` (see
    the module docstring). Raises :class:`NotEstimable` when the cell fails R did's overlap or
    regression guard. The same as ``estimate(dy, design(x, treated, method))``.
    """
    return estimate(dy, design(x, treated, method))


def _dr(dy: np.ndarray, des: Design) -> tuple[float, np.ndarray]:
    """DRDID::drdid_panel: ATT and influence function from the OLS residuals and the weights."""
    assert des.w_cont is not None and des.score_h is not None
    assert des.ols_t is not None and des.ols_c is not None
    d, w_cont, c = des.d, des.w_cont, des.control
    resid = dy - des.fitted(dy)
    mt, mc = float(d.mean()), float(w_cont.mean())
    eta_t = float((d * resid).mean()) / mt
    eta_c = float((w_cont * resid).mean()) / mc
    m2 = des.x.T @ (w_cont * (resid - eta_c)) / d.size
    c_resid = np.where(c, resid, 0.0)
    inf_treat = (d * (resid - eta_t) - c_resid * des.ols_t) / mt
    inf_cont = (w_cont * (resid - eta_c) + des.score_h @ m2 - c_resid * des.ols_c) / mc
    return eta_t - eta_c, inf_treat - inf_cont


def _ipw(dy: np.ndarray, des: Design) -> tuple[float, np.ndarray]:
    """DRDID::std_ipw_did_panel: normalised IPW ATT and its influence function."""
    assert des.w_cont is not None and des.score_h is not None
    d, w_cont = des.d, des.w_cont
    mt, mc = float(d.mean()), float(w_cont.mean())
    eta_t = float((d * dy).mean()) / mt
    eta_c = float((w_cont * dy).mean()) / mc
    m2 = des.x.T @ (w_cont * (dy - eta_c)) / d.size
    inf_treat = d * (dy - eta_t) / mt
    inf_cont = (w_cont * (dy - eta_c) + des.score_h @ m2) / mc
    return eta_t - eta_c, inf_treat - inf_cont


def _reg(dy: np.ndarray, des: Design) -> tuple[float, np.ndarray]:
    """DRDID::reg_did_panel: outcome-regression ATT and its influence function."""
    assert des.ols_c is not None
    d = des.d
    out = des.fitted(dy)
    mt = float(d.mean())
    eta_t = float((d * dy).mean()) / mt
    eta_c = float((d * out).mean()) / mt
    c_resid = np.where(des.control, dy - out, 0.0)
    inf_treat = d * (dy - eta_t) / mt
    inf_cont = (d * (out - eta_c) + c_resid * des.ols_c) / mt
    return eta_t - eta_c, inf_treat - inf_cont
