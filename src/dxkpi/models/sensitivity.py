"""How wrong could parallel trends be before the conclusion changes? (Rambachan & Roth 2023).

An event study's estimates β̂ = (β̂_pre, β̂_post) and their covariance Σ are read as
β = τ + δ: the effects τ (zero before treatment) plus a violation of parallel trends δ whose
pre-treatment part is what the pre-periods show. Instead of assuming δ_post = 0, a set Δ of
violations is allowed, and the robust confidence set for θ = l'τ_post (the first post-period
effect, or their average) covers θ whenever δ ∈ Δ:

* **relative magnitudes** Δ^RM(M̄): no post-treatment change of the violation between
  consecutive periods is larger than M̄ times the largest such change before treatment. M̄ = 1:
  "the post-treatment violation is no worse than the worst pre-treatment one". The set is the
  union over which pre-period holds that largest change (and its sign) of the Andrews, Roth &
  Pakes (2023) conditional test inverted on a grid of θ (R HonestDiD's ``"Conditional"``
  method), or its hybrid with a least-favourable first stage (``"C-LF"``, HonestDiD's default;
  its first-stage critical value is simulated, so it depends on the seed). The fixed-length
  interval is not valid for Δ^RM and is not offered.
* **smoothness** Δ^SD(M): the slope of the violation changes by at most M between consecutive
  periods (M = 0: a linear pre-trend extrapolated exactly). The optimal fixed-length confidence
  interval (FLCI) of Armstrong & Kolesár is used, as HonestDiD does by default.

The **breakdown value** is the largest M̄ (or M) at which the robust set still excludes zero:
"the conclusion survives violations up to M̄ = …".

Conventions follow R HonestDiD 0.2.x (``createSensitivityResults_relativeMagnitudes``,
``createSensitivityResults``, ``honest_did`` for R did's event studies): the event study must
use a universal base period (reference e = −1, dropped), consecutive event times, the covariance
is the influence functions' IF'IF / n² (by cluster sums when clustered), the θ grid spans
±20 SE(θ̂) around 0 with ``grid_points`` points and the set is reported as its smallest and
largest accepted grid points (so its ends are exact only to one grid step). Two deliberate
differences: the folded-normal quantile of the FLCI is computed exactly (R simulates it with
10⁶ draws, which moves the interval by about 10⁻³ of its half-length), and the breakdown value
is found by bisection on M̄ with a test of θ = 0 itself rather than read off the M̄ grid.

Pure functions of arrays and results: no file I/O.

References: Rambachan, A. & Roth, J. (2023), "A More Credible Approach to Parallel Trends",
Review of Economic Studies 90(5); Andrews, I., Roth, J. & Pakes, A. (2023), "Inference for
Linear Conditional Moment Inequalities", Review of Economic Studies 90(6); Armstrong, T. &
Kolesár, M. (2018), "Optimal Inference in a Class of Regression Models", Econometrica 86(2).

>>> import numpy as np
>>> es = EventStudy.from_arrays([0.01, -0.01, 0.0, 0.5, 0.6], np.diag([0.01] * 5), n_pre=3)
>>> sd = smoothness(es, m=(0.0, 0.1), target="first")
>>> [round(r.lower, 3) for r in sd.sets], round(sd.breakdown, 3)
([0.298, 0.184], 0.267)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats
from scipy.optimize import brentq, linprog, minimize
from scipy.special import ndtr

from dxkpi.core.display import Shown, number
from dxkpi.core.errors import DxkpiError
from dxkpi.models.did import Aggregation, AttGtResult, DidError, _scores

__all__ = [
    "RM_METHODS",
    "EventStudy",
    "Restriction",
    "RmMethod",
    "RobustSet",
    "SensitivityError",
    "SensitivityResult",
    "Target",
    "event_study",
    "flci",
    "relative_magnitudes",
    "rm_accepts",
    "smoothness",
]

Restriction = Literal["relative_magnitudes", "smoothness"]
RmMethod = Literal["conditional", "C-LF"]
Target = Literal["first", "average"]
#: Tests for Δ^RM: the ARP conditional test, or its least-favourable hybrid (HonestDiD default).
RM_METHODS: tuple[RmMethod, ...] = ("conditional", "C-LF")

#: Bounds on η̂ this close (relative) settle it without an LP (:func:`_etas`).
_TOL_ETA = 1e-9
_TOL_LAMBDA = 1e-6  # HonestDiD: a dual weight above this marks a binding moment
_TOL_DUAL = 1e-6  # HonestDiD's tolerances for the bisection of the dual's truncation points
_LF_SIMS = 1000  # HonestDiD's draws for the least-favourable critical value
_BREAKDOWN_MAX = 1e3


class SensitivityError(DxkpiError):
    """The event study cannot be used for the sensitivity analysis (base period, periods...)."""


# ---------------------------------------------------------------------------------------------
# the event study
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EventStudy:
    """Event-study estimates (outcome units): ``n_pre`` pre-periods, then the post-periods.

    ``betahat`` excludes the reference period e = −1 (normalised to zero); ``sigma`` is their
    covariance; ``event_times`` label them (pre e <= −2, post e >= 0).
    """

    betahat: np.ndarray = field(repr=False)
    sigma: np.ndarray = field(repr=False)
    n_pre: int
    event_times: tuple[int, ...]

    @property
    def n_post(self) -> int:
        """Number of post-treatment estimates (e >= 0)."""
        return int(self.betahat.size) - self.n_pre

    @staticmethod
    def from_arrays(
        betahat: Sequence[float] | np.ndarray, sigma: np.ndarray, *, n_pre: int
    ) -> EventStudy:
        """An event study from its estimates (pre-periods first, reference left out) and their
        covariance; event times −n_pre−1 … −2, 0 … n_post−1."""
        beta = np.asarray(betahat, dtype=float).ravel()
        cov = np.asarray(sigma, dtype=float)
        k = beta.size
        if cov.shape != (k, k) or not 1 <= n_pre < k:
            raise SensitivityError(
                "推定値・共分散・事前期間の数が合いません。",
                f"{k} estimates, a {cov.shape} covariance and n_pre={n_pre} do not fit "
                "(need a k × k covariance and 1 <= n_pre < k).",
            )
        if not np.allclose(cov, cov.T, rtol=1e-10, atol=0):
            raise SensitivityError("共分散行列が対称ではありません。", "sigma is not symmetric.")
        times = (*range(-n_pre - 1, -1), *range(k - n_pre))
        return EventStudy(beta, (cov + cov.T) / 2, n_pre, times)

    def target_vector(self, target: Target | Sequence[float]) -> np.ndarray:
        """l for θ = l'τ_post: ``"first"`` (e = 0), ``"average"`` (mean over the post-periods)
        or given weights."""
        if isinstance(target, str) and target == "first":
            v = np.zeros(self.n_post)
            v[0] = 1.0
            return v
        if isinstance(target, str) and target == "average":
            return np.full(self.n_post, 1.0 / self.n_post)
        v = np.asarray(target, dtype=float).ravel()
        if isinstance(target, str) or v.size != self.n_post or not np.any(v):
            raise SensitivityError(
                "目標の重みの数が事後期間の数と合いません。",
                f"target weights need {self.n_post} values, not all zero.",
            )
        return v

    def original_ci(self, l_vec: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
        """θ̂, its SE and the usual (1 − alpha) interval assuming parallel trends."""
        post = slice(self.n_pre, None)
        est = float(l_vec @ self.betahat[post])
        se = math.sqrt(float(l_vec @ self.sigma[post, post] @ l_vec))
        z = float(stats.norm.ppf(1 - alpha / 2))
        return est, se, est - z * se, est + z * se


def _consecutive(keys: np.ndarray) -> bool:
    return bool(keys.size < 2 or np.all(np.diff(keys) == 1))


def event_study(res: AttGtResult, *, pre: int | None = None, post: int | None = None) -> EventStudy:
    """The dynamic aggregation of ``res`` as an :class:`EventStudy`, as R ``honest_did`` does.

    ``pre``: pre-periods kept (e = −pre−1 … −2; all when None); ``post``: post-periods kept
    (e = 0 … post−1; all when None). Σ = scores'scores / n² from the event-time influence
    functions (summed within clusters when ``res`` is clustered): the squared SEs of the
    aggregation on its diagonal. Requires ``base_period="universal"`` (pre-period estimates
    are then levels relative to e = −1; with a varying base they are period-to-period changes,
    which Δ^RM and Δ^SD do not describe) and consecutive event times.
    """
    if res.settings.base_period != "universal":
        raise SensitivityError(
            "感度分析には基準期 universal のイベントスタディが必要です。",
            "the sensitivity analysis needs an event study with a universal base period.",
            hint_ja="att_gt(..., base_period='universal')（CLI: --base-period universal）で"
            "推定し直してください。",
            hint_en="re-estimate with base_period='universal' (--base-period universal).",
        )
    min_e = -math.inf if pre is None else -(pre + 1)
    max_e = math.inf if post is None else post - 1
    try:
        dyn: Aggregation = res.aggregate("dynamic", min_e=min_e, max_e=max_e)
    except DidError as err:
        raise SensitivityError(err.ja, err.en) from err
    assert dyn.by is not None and dyn.by_influence is not None  # a dynamic aggregation has both
    keys = dyn.by["key"].to_numpy()
    keep = keys != -1
    if not (_consecutive(keys[keys <= -1]) and _consecutive(keys[keys >= -1])):
        raise SensitivityError(
            "イベント時点が連続していません。",
            f"event times are not consecutive: {keys.tolist()}.",
            hint_ja="pre / post で範囲を狭めてください。",
            hint_en="narrow the window with pre / post.",
        )
    scores = _scores(dyn.by_influence[:, keep], res.inference)
    sigma = scores.T @ scores / res.n_units**2
    n_pre = int((keys[keep] < -1).sum())
    if n_pre < 1 or n_pre == keep.sum():
        raise SensitivityError(
            "事前期間（e <= -2）と事後期間（e >= 0）の両方が必要です。",
            f"need pre-periods (e <= -2) and post-periods (e >= 0); event times {keys.tolist()}.",
        )
    beta = dyn.by["att"].to_numpy()[keep]
    if not np.isfinite(beta).all() or not np.isfinite(sigma).all():
        raise SensitivityError(
            "推定値または共分散に欠損があります。",
            "an event-time estimate or its covariance is missing.",
        )
    es = EventStudy.from_arrays(beta, sigma, n_pre=n_pre)
    return EventStudy(es.betahat, es.sigma, n_pre, tuple(int(k) for k in keys[keep]))


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RobustSet:
    """The robust (1 − alpha) set for θ at one bound ``value`` (M̄ or M), outcome units.

    ``lower``/``upper`` are None when no grid point was accepted (an empty set: the data reject
    every θ under this bound). ``open_end`` is true when the set reaches the end of the θ grid.
    """

    value: float
    lower: float | None
    upper: float | None
    open_end: bool = False

    @property
    def excludes_zero(self) -> bool:
        """The set lies wholly above or below zero (an empty set counts as excluding it)."""
        if self.lower is None or self.upper is None:
            return True
        return self.lower > 0 or self.upper < 0


@dataclass(frozen=True)
class SensitivityResult:
    """Robust confidence sets over a grid of bounds, the breakdown value and the usual interval.

    ``restriction``: ``"relative_magnitudes"`` (bound M̄) or ``"smoothness"`` (bound M, outcome
    units per period²). ``breakdown``: the largest bound at which θ = 0 is still rejected
    (None when the usual interval already includes 0; ``math.inf`` when it is rejected up to
    :data:`_BREAKDOWN_MAX`). ``estimate``, ``se``, ``ci``: θ̂ and its interval under exact
    parallel trends.
    """

    restriction: Restriction
    method: str
    target: str
    alpha: float
    sets: tuple[RobustSet, ...]
    breakdown: float | None
    estimate: float
    se: float
    ci: tuple[float, float]
    n_pre: int
    n_post: int

    @property
    def bound_name(self) -> str:
        """``M̄`` (relative magnitudes) or ``M`` (smoothness)."""
        return "M̄" if self.restriction == "relative_magnitudes" else "M"

    def _line(self) -> str:
        """A short technical line for the repr (the sentences are in reports.narrative)."""
        if self.breakdown is None:
            return "usual interval includes 0: no breakdown value"
        bd = "inf" if math.isinf(self.breakdown) else number(self.breakdown, 3)
        return f"breakdown {self.bound_name} = {bd}"

    def _shown(self) -> Shown:
        sizes = [("pre-periods", self.n_pre), ("post-periods", self.n_post)]
        level = f"{100 * (1 - self.alpha):g}%"
        return Shown(
            f"sensitivity ({self.restriction}, {self.target})",
            self.estimate,
            self.ci,
            sizes,
            self._line(),
            level,
        )

    def __repr__(self) -> str:
        return f"SensitivityResult({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()

    def to_json_dict(self) -> dict[str, Any]:
        """The stable JSON shape: settings, the usual interval, one row per bound, breakdown."""
        bd = self.breakdown
        return {
            "restriction": self.restriction,
            "method": self.method,
            "target": self.target,
            "alpha": self.alpha,
            "n_pre": self.n_pre,
            "n_post": self.n_post,
            "estimate": self.estimate,
            "se": self.se,
            "ci_lower": self.ci[0],
            "ci_upper": self.ci[1],
            "sets": [
                {
                    "bound": s.value,
                    "lower": s.lower,
                    "upper": s.upper,
                    "open_end": s.open_end,
                    "excludes_zero": s.excludes_zero,
                }
                for s in self.sets
            ],
            "breakdown": None if bd is None else (bd if math.isfinite(bd) else "inf"),
        }


def _target_name(target: Target | Sequence[float]) -> str:
    return target if isinstance(target, str) else "weighted"


# ---------------------------------------------------------------------------------------------
# Δ^RM: the ARP conditional test with nuisance parameters
# ---------------------------------------------------------------------------------------------


def _rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """A with A·δ <= 0 ⇔ δ ∈ Δ^RM_{s,±}(M̄), keeping the rows that involve post-periods
    (HonestDiD's ``.create_A_RM`` with ``postPeriodMomentsOnly``).

    Columns are δ over all periods with the reference (t = 0 in HonestDiD's numbering) left
    out; ``s`` (−n_pre+1 … 0) is the pre-period whose first difference is the largest, with
    sign + or − (``positive``).
    """
    n = n_pre + n_post
    diffs = np.zeros((n, n + 1))
    diffs[np.arange(n), np.arange(n)] = -1.0
    diffs[np.arange(n), np.arange(n) + 1] = 1.0
    vmax = np.zeros(n + 1)
    vmax[n_pre + s - 1] = -1.0
    vmax[n_pre + s] = 1.0
    if not positive:
        vmax = -vmax
    bound = np.vstack([np.tile(vmax, (n_pre, 1)), np.tile(mbar * vmax, (n_post, 1))])
    a = np.vstack([diffs - bound, -diffs - bound])
    a = a[(a * a).sum(axis=1) > 1e-10]
    a = np.delete(a, n_pre, axis=1)
    return a[np.abs(a[:, n_pre:]).sum(axis=1) > 0]


def _gamma_inverse(l_vec: np.ndarray) -> np.ndarray:
    """Γ⁻¹ for Γ = (l, then the unit vectors except the last one in l's support), HonestDiD's
    ``.construct_Gamma``: θ = first coordinate of Γτ, the others are nuisance parameters."""
    t = l_vec.size
    last = int(np.flatnonzero(l_vec)[-1])
    rows = [l_vec] + [np.eye(t)[i] for i in range(t) if i != last]
    return np.linalg.inv(np.vstack(rows))


@dataclass(frozen=True, eq=False)
class _Moments:
    """The moment inequalities of one Δ^RM_{s,±}: y(θ) = y0 − a·θ, X (nuisance), Σ_y."""

    y0: np.ndarray
    a: np.ndarray
    x: np.ndarray
    sigma: np.ndarray
    sd: np.ndarray

    @staticmethod
    def of(es: EventStudy, l_vec: np.ndarray, a_mat: np.ndarray) -> _Moments:
        ginv = _gamma_inverse(l_vec)
        agi = a_mat[:, es.n_pre :] @ ginv
        sig = a_mat @ es.sigma @ a_mat.T
        return _Moments(
            y0=a_mat @ es.betahat,
            a=agi[:, 0],
            x=agi[:, 1:],
            sigma=sig,
            sd=np.sqrt(np.diag(sig)),
        )


@dataclass(frozen=True)
class _Lp:
    eta: float
    dual: np.ndarray
    ok: bool
    delta: np.ndarray  # the nuisance parameters at the optimum (zeros when not ok)


def _eta_lp(y: np.ndarray, x: np.ndarray, sd: np.ndarray) -> _Lp:
    """η̂ = min η s.t. y − Xδ <= η·sd, and its dual weights λ >= 0 (λ'sd = 1, X'λ = 0)."""
    k = x.shape[1]
    c = np.zeros(k + 1)
    c[0] = 1.0
    res = linprog(
        c,
        A_ub=-np.column_stack([sd, x]),
        b_ub=-y,
        bounds=[(None, None)] * (k + 1),
        method="highs",
    )
    if res.status != 0:
        return _Lp(math.nan, np.zeros(y.size), False, np.zeros(x.shape[1]))
    return _Lp(float(res.fun), -np.asarray(res.ineqlin.marginals), True, np.asarray(res.x[1:]))


def _trunc_quantile(p: float, lo: float, hi: float) -> float:
    """The p quantile of a standard normal truncated to [lo, hi]."""
    return float(stats.truncnorm.ppf(p, lo, hi))


def _dual_max(f: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray] | None:
    """max f'λ s.t. W'λ = e₁, λ >= 0 (HonestDiD's ``.max_program``); None if it fails."""
    rhs = np.zeros(w.shape[1])
    rhs[0] = 1.0
    res = linprog(-f, A_eq=w.T, b_eq=rhs, bounds=[(0, None)] * f.size, method="highs")
    if res.status != 0:
        return None
    return -float(res.fun), np.asarray(res.x)


def _dual_bound(
    eta: float, start: float, s_t: np.ndarray, b: np.ndarray, w: np.ndarray, up: bool
) -> float:
    """One truncation point of the dual approach (HonestDiD's ``.vlo_vup_dual_fn``): the
    largest (``up``) or smallest c at which the dual program still attains c."""

    def solves(c: float) -> tuple[bool, np.ndarray | None]:
        out = _dual_max(s_t + b * c, w)
        if out is None:
            return False, None
        return abs(c - out[0]) <= _TOL_DUAL, out[1]

    ok, sol = solves(start)
    if ok:
        return math.inf if up else -math.inf
    iters, dif, mid = 1, 0.0, eta
    while True:  # HonestDiD: jump to the next vertex's breakpoint, at most 10 times
        if sol is None:
            dif = _TOL_DUAL + 1
            break
        num = float(sol @ s_t)
        mid = (0.0 if abs(num) < np.finfo(float).eps ** 0.75 else num) / (1.0 - float(sol @ b))
        ok, sol = solves(mid)
        if ok:
            break
        iters += 1
        if iters >= 10:
            dif = _TOL_DUAL + 1
            break
    low, high = (eta, mid) if up else (mid, eta)
    while dif > _TOL_DUAL and iters < 10000:
        iters += 1
        mid = (high + low) / 2
        inside = solves(mid)[0]
        if inside == up:
            low = mid
        else:
            high = mid
        dif = high - low
    return mid


def _dual_truncation(
    y: np.ndarray, m: _Moments, eta: float, gamma: np.ndarray
) -> tuple[float, float]:
    """(vlo, vup) of the dual approach, used when the LP is degenerate."""
    sig_b = math.sqrt(float(gamma @ m.sigma @ gamma))
    var = float(gamma @ m.sigma @ gamma)
    b = m.sigma @ gamma / var
    s_t = y - b * float(gamma @ y)
    w = np.column_stack([m.sd, m.x])
    if not _attains(s_t, b, w, eta):
        return eta, math.inf
    vup = _dual_bound(eta, max(100.0, eta + 20 * sig_b), s_t, b, w, up=True)
    vlo = _dual_bound(eta, min(-100.0, eta - 20 * sig_b), s_t, b, w, up=False)
    return vlo, vup


def _attains(s_t: np.ndarray, b: np.ndarray, w: np.ndarray, c: float) -> bool:
    out = _dual_max(s_t + b * c, w)
    return out is not None and abs(c - out[0]) <= _TOL_DUAL


def _primal_binding(lp: _Lp, m: _Moments) -> np.ndarray | None:
    """The binding moments when the LP's solution is a non-degenerate vertex (k + 1 binding
    moments, dual weight above :data:`_TOL_LAMBDA`, nuisance block of full rank): the primal
    truncation applies. None otherwise (the dual approach)."""
    k = m.x.shape[1]
    binding = lp.dual > _TOL_LAMBDA
    xb = m.x[binding]
    full_rank = min(xb.shape) > 0 and np.linalg.matrix_rank(xb) == min(xb.shape)
    return binding if full_rank and int(binding.sum()) == k + 1 else None


def _arp_size(alpha: float, lf_cv: float | None) -> float:
    if lf_cv is None:
        return alpha
    kappa = alpha / 10
    return (alpha - kappa) / (1 - kappa)


def _arp_rejects(y: np.ndarray, m: _Moments, alpha: float, lf_cv: float | None) -> bool:
    """The ARP conditional test (HonestDiD's ``.lp_conditional_test_fn``), or its hybrid with
    a least-favourable first stage at critical value ``lf_cv`` (level κ = alpha/10)."""
    lp = _eta_lp(y, m.x, m.sd)
    if not lp.ok:
        return False  # HonestDiD: "LP for eta did not converge properly. Not rejecting"
    size = _arp_size(alpha, lf_cv)
    if lf_cv is not None and lp.eta > lf_cv:
        return True
    binding = _primal_binding(lp, m)
    if binding is not None:  # the truncation from the binding moments
        return bool(_Vertex.of(m, binding).rejects(y[None, :], size, lf_cv)[0])
    var = float(lp.dual @ m.sigma @ lp.dual)
    if abs(var) < np.finfo(float).eps:
        return lp.eta > 0
    sig_b = math.sqrt(var)
    vlo, vup = _dual_truncation(y, m, lp.eta, lp.dual)
    if lf_cv is not None:
        vup = min(vup, lf_cv)
    zlo, zup, stat = vlo / sig_b, vup / sig_b, lp.eta / sig_b
    if not zlo <= stat <= zup or stat <= 0.0:  # stat <= 0 never exceeds max(0, quantile)
        return False
    return stat > _trunc_quantile(1 - size, zlo, zup)


@dataclass(frozen=True, eq=False)
class _Vertex:
    """One optimal basis of the η LP when it is not degenerate: (vlo, vup, σ_B) of the primal
    approach come from its binding moments. It is valid for every y(θ) = y0 − a·θ at which it
    stays a strictly feasible vertex: there the dual weights, hence the binding set and the primal
    truncation, are the same (they do not depend on y), and η̂ and the truncation points are
    linear in y. This lets a grid of θ reuse one LP solution instead of solving one per θ."""

    binding: np.ndarray
    wb_inv: np.ndarray
    wn: np.ndarray
    gamma_b: np.ndarray
    v_b: np.ndarray
    rho: np.ndarray
    sig_b: float

    @staticmethod
    def of(m: _Moments, binding: np.ndarray) -> _Vertex:
        wb = np.column_stack([m.sd[binding], m.x[binding]])
        wn = np.column_stack([m.sd[~binding], m.x[~binding]])
        eye = np.eye(m.sd.size)
        s_b, s_n = eye[binding], eye[~binding]
        wb_inv = np.linalg.inv(wb)
        gamma_b = wn @ wb_inv @ s_b - s_n
        v_b = (wb_inv[0] @ s_b).ravel()
        var_b = float(v_b @ m.sigma @ v_b)
        rho = gamma_b @ m.sigma @ v_b / var_b
        return _Vertex(binding, wb_inv, wn, gamma_b, v_b, rho, math.sqrt(var_b))

    def holds(self, ys: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Rows of ``ys`` (θ × moments) at which this basis is a strictly feasible vertex (every
        non-binding moment slack by more than 10⁻⁶·sd, well beyond the LP's tolerances)."""
        z = ys[:, self.binding] @ self.wb_inv.T
        slack = z @ self.wn.T - ys[:, ~self.binding]
        return (slack > 1e-6 * sd[~self.binding]).all(axis=1)

    def rejects(self, ys: np.ndarray, size: float, lf_cv: float | None) -> np.ndarray:
        """:func:`_arp_rejects` for each row of ``ys`` (where :meth:`holds`)."""
        eta = ys @ self.v_b
        with np.errstate(divide="ignore", invalid="ignore"):
            bounds = (-(ys @ self.gamma_b.T)) / self.rho + eta[:, None]
        pos, neg = self.rho > 0, self.rho < 0
        vlo = bounds[:, pos].max(axis=1) if pos.any() else np.full(eta.size, -math.inf)
        vup = bounds[:, neg].min(axis=1) if neg.any() else np.full(eta.size, math.inf)
        if lf_cv is not None:
            vup = np.minimum(vup, lf_cv)
        zlo, zup, stat = vlo / self.sig_b, vup / self.sig_b, eta / self.sig_b
        out = np.zeros(eta.size, dtype=bool)
        test = (zlo <= stat) & (stat <= zup) & (stat > 0.0)
        if test.any():
            q = stats.truncnorm.ppf(1 - size, zlo[test], zup[test])
            out[test] = stat[test] > q
        if lf_cv is not None:
            out |= eta > lf_cv
        return out


def _arp_rejects_grid(
    m: _Moments, thetas: np.ndarray, alpha: float, lf_cv: float | None
) -> np.ndarray:
    """:func:`_arp_rejects` at y0 − a·θ for each θ: one LP per optimal basis met along the grid
    (see :class:`_Vertex`) rather than one per θ; θ where the LP is degenerate (dual approach)
    or fails are tested one by one."""
    ys = m.y0[None, :] - thetas[:, None] * m.a[None, :]
    rejects = np.zeros(thetas.size, dtype=bool)
    pending = np.ones(thetas.size, dtype=bool)
    size = _arp_size(alpha, lf_cv)
    while pending.any():
        i = int(np.flatnonzero(pending)[0])
        lp = _eta_lp(ys[i], m.x, m.sd)
        binding = _primal_binding(lp, m) if lp.ok else None
        if binding is None:
            rejects[i] = _arp_rejects(ys[i], m, alpha, lf_cv)
            pending[i] = False
            continue
        vertex = _Vertex.of(m, binding)
        idx = np.flatnonzero(pending)
        same = vertex.holds(ys[idx], m.sd)
        same[0] = True  # the θ just solved: its own optimal basis
        idx = idx[same]
        rejects[idx] = vertex.rejects(ys[idx], size, lf_cv)
        pending[idx] = False
    return rejects


def _etas(m: _Moments, ys: np.ndarray) -> np.ndarray:
    """η̂ of :func:`_eta_lp` for each row of ``ys``, solving an LP only for rows that the
    solutions found so far do not settle. Each solution gives dual weights λ (λ >= 0, λ'sd = 1,
    X'λ = 0: feasible whatever y), so λ'y bounds η̂(y) from below, and nuisance parameters δ,
    so max_j (y_j − x_j'δ)/sd_j bounds it from above; where the best bounds meet to within
    :data:`_TOL_ETA`, the upper one is η̂ (strong duality). A failed LP gives NaN for its row,
    as :func:`_eta_lp` does."""
    out = np.full(ys.shape[0], math.nan)
    low = np.full(ys.shape[0], -math.inf)
    high = np.full(ys.shape[0], math.inf)
    pending = np.ones(ys.shape[0], dtype=bool)
    while pending.any():
        i = int(np.flatnonzero(pending)[0])
        lp = _eta_lp(ys[i], m.x, m.sd)
        pending[i] = False
        if not lp.ok:
            continue
        out[i] = lp.eta
        idx = np.flatnonzero(pending)
        at = ys[idx]
        low[idx] = np.maximum(low[idx], at @ lp.dual)
        high[idx] = np.minimum(high[idx], ((at - m.x @ lp.delta) / m.sd).max(axis=1))
        met = high[idx] - low[idx] <= _TOL_ETA * (1.0 + np.abs(high[idx]))
        out[idx[met]] = high[idx[met]]
        pending[idx[met]] = False
    return out


def _lf_critical_value(m: _Moments, alpha: float, seed: int) -> float:
    """The least-favourable first-stage critical value: the 1 − alpha/10 quantile of η̂ under
    y ~ N(0, Σ_y), by simulation (HonestDiD: 1000 draws; the draws here come from numpy, so the
    value differs from R's by simulation noise); the draws' η̂ by :func:`_etas`."""
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(np.zeros(m.sd.size), m.sigma, size=_LF_SIMS)
    return float(np.nanquantile(_etas(m, draws), 1 - alpha / 10))


def _rm_moments(es: EventStudy, l_vec: np.ndarray, mbar: float) -> list[_Moments]:
    n_pre, n_post = es.n_pre, es.n_post
    return [
        _Moments.of(es, l_vec, _rm_constraints(n_pre, n_post, mbar, s, positive))
        for s in range(-(n_pre - 1), 1)
        for positive in (True, False)
    ]


def rm_accepts(
    es: EventStudy,
    theta: float,
    mbar: float,
    *,
    target: Target | Sequence[float] = "average",
    alpha: float = 0.05,
    method: RmMethod = "conditional",
    seed: int = 0,
) -> bool:
    """Whether θ lies in the robust set under Δ^RM(M̄): some Δ^RM_{s,±} is not rejected."""
    l_vec = es.target_vector(target)
    _check_rm(es, method)
    for m in _rm_moments(es, l_vec, mbar):
        lf = _lf_critical_value(m, alpha, seed) if method == "C-LF" else None
        if not _arp_rejects(m.y0 - m.a * theta, m, alpha, lf):
            return True
    return False


def _check_rm(es: EventStudy, method: str) -> None:
    if method not in RM_METHODS:
        raise SensitivityError(
            "method は conditional か C-LF です。", "method must be 'conditional' or 'C-LF'."
        )
    if es.n_post < 2:
        raise SensitivityError(
            "相対的な大きさの制約には事後期間が 2 つ以上必要です。",
            "relative-magnitude bounds need at least 2 post-periods here (HonestDiD's "
            "no-nuisance test for a single post-period is not implemented).",
        )


def _rm_grid_accepts(
    es: EventStudy,
    l_vec: np.ndarray,
    mbar: float,
    grid: np.ndarray,
    alpha: float,
    lf: bool,
    seed: int,
) -> np.ndarray:
    """Accept/reject of every grid θ: the union over s and ± of the ARP sets."""
    accept = np.zeros(grid.size, dtype=bool)
    for m in _rm_moments(es, l_vec, mbar):
        cv = _lf_critical_value(m, alpha, seed) if lf else None
        todo = np.flatnonzero(~accept)
        accept[todo] = ~_arp_rejects_grid(m, grid[todo], alpha, cv)
    return accept


def relative_magnitudes(
    es: EventStudy,
    mbar: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    *,
    target: Target | Sequence[float] = "average",
    alpha: float = 0.05,
    method: RmMethod = "conditional",
    grid_points: int = 1000,
    grid: tuple[float, float] | None = None,
    seed: int = 0,
    breakdown: bool = True,
) -> SensitivityResult:
    """Robust confidence sets for θ = l'τ_post under Δ^RM(M̄) for each M̄ (outcome units).

    ``grid``: (lower, upper) of the θ grid (default ±20 SE(θ̂), as HonestDiD); the set is
    [smallest, largest] accepted grid point. ``method``: ``"conditional"`` (ARP, deterministic)
    or ``"C-LF"`` (hybrid with a least-favourable first stage simulated with ``seed``; slower).
    ``breakdown``: also find the largest M̄ at which θ = 0 is rejected (to 10⁻³).
    """
    _check_rm(es, method)
    l_vec = es.target_vector(target)
    est, se, lo, hi = es.original_ci(l_vec, alpha)
    g_lo, g_hi = grid if grid is not None else (-20 * se, 20 * se)
    thetas = np.linspace(g_lo, g_hi, grid_points)
    sets = []
    for mb in mbar:
        acc = _rm_grid_accepts(es, l_vec, float(mb), thetas, alpha, method == "C-LF", seed)
        sets.append(_grid_set(float(mb), thetas, acc))
    bd = None
    if breakdown:
        bd = _breakdown(
            lambda mb: (
                not rm_accepts(es, 0.0, mb, target=target, alpha=alpha, method=method, seed=seed)
            ),
            1.0,
        )
    return SensitivityResult(
        "relative_magnitudes",
        method,
        _target_name(target),
        alpha,
        tuple(sets),
        bd,
        est,
        se,
        (lo, hi),
        es.n_pre,
        es.n_post,
    )


def _grid_set(value: float, thetas: np.ndarray, accept: np.ndarray) -> RobustSet:
    if not accept.any():
        return RobustSet(value, None, None)
    idx = np.flatnonzero(accept)
    open_end = bool(accept[0] or accept[-1])
    return RobustSet(value, float(thetas[idx[0]]), float(thetas[idx[-1]]), open_end)


def _breakdown(rejects_zero: Callable[[float], bool], scale: float) -> float | None:
    """Largest bound at which θ = 0 is rejected, to 10⁻³ × ``scale``: None if not rejected at
    0; doubling from ``scale`` (inf beyond :data:`_BREAKDOWN_MAX` × ``scale``), then bisection
    between the last rejecting and the first accepting bound. Assumes rejection is monotone in
    the bound (the sets of violations are nested)."""
    if not rejects_zero(0.0):
        return None
    lo, hi = 0.0, scale
    while rejects_zero(hi):
        lo, hi = hi, 2 * hi
        if hi > _BREAKDOWN_MAX * scale:
            return math.inf
    while hi - lo > 1e-3 * scale:
        mid = (lo + hi) / 2
        if rejects_zero(mid):
            lo = mid
        else:
            hi = mid
    return lo


# ---------------------------------------------------------------------------------------------
# Δ^SD: the optimal fixed-length confidence interval
# ---------------------------------------------------------------------------------------------


def _folded_normal_quantile(p: float, mu: float) -> float:
    """The p quantile of |N(mu, 1)| (exact; HonestDiD simulates it)."""
    mu = abs(mu)

    def gap(q: float) -> float:
        return float(ndtr(q - mu) - ndtr(-q - mu)) - p

    return float(brentq(gap, 0.0, mu + 10.0, xtol=1e-15, rtol=4 * np.finfo(float).eps))


@dataclass(frozen=True, eq=False)
class _SdProblem:
    """The FLCI's variance as a function of the pre-period weights' cumulative sums w."""

    quad: np.ndarray  # on w (n_pre), after the w → l map
    lin: np.ndarray
    const: float
    target_sum: float  # Σ_t t·l_t: the weights' required total
    bias_const: float  # HonestDiD's constant in the worst-case bias

    @staticmethod
    def of(es: EventStudy, l_vec: np.ndarray) -> _SdProblem:
        k, t = es.n_pre, es.n_post
        w_to_l = np.eye(k) - np.eye(k, k=-1)
        pre, post = slice(0, k), slice(k, None)
        quad = w_to_l.T @ es.sigma[pre, pre] @ w_to_l
        lin = 2 * w_to_l.T @ es.sigma[pre, post] @ l_vec
        const = float(l_vec @ es.sigma[post, post] @ l_vec)
        steps = np.arange(1, t + 1)
        bias_const = sum(abs(float(steps[:s] @ l_vec[t - s :])) for s in range(1, t + 1))
        return _SdProblem(quad, lin, const, float(steps @ l_vec), bias_const - float(steps @ l_vec))

    def variance(self, w: np.ndarray) -> float:
        return float(w @ self.quad @ w + self.lin @ w + self.const)

    def bias(self, w: np.ndarray) -> float:
        """Worst-case bias per unit of M: HonestDiD's constant + Σ|cumsum(w)|."""
        return self.bias_const + float(np.abs(np.cumsum(w)).sum())

    def min_variance_weights(self) -> np.ndarray:
        """argmin variance(w) s.t. Σw = target_sum (a KKT system)."""
        k = self.lin.size
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = 2 * self.quad
        kkt[:k, k] = kkt[k, :k] = 1.0
        rhs = np.r_[-self.lin, self.target_sum]
        return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]

    def min_bias_weights(self) -> np.ndarray:
        """All weight on the last pre-period (HonestDiD's ``.findHForMinimumBias``)."""
        w = np.zeros(self.lin.size)
        w[-1] = self.target_sum
        return w

    def shortest(self, m: float, alpha: float, start: np.ndarray) -> np.ndarray:
        """Weights w minimising the half-length sd(w)·q(m·bias(w)/sd(w)) s.t. Σw = target_sum.

        In the cumulative sums u = cumsum(w) (the last one fixed at target_sum) written as
        u = p − n with p, n >= 0, bias = constant + Σ(p + n) is affine (at the optimum p·n = 0)
        and the objective is the perspective of the folded-normal quantile q, convex in (bias,
        sd), of an affine bias and a convex sd: one smooth convex problem with bounds only
        (L-BFGS-B with exact gradients) instead of HonestDiD's bisection over sd bounds.
        """
        k = self.lin.size
        total = self.target_sum
        if k == 1:  # one pre-period: its weight is fixed
            return np.array([total])
        bias0 = self.bias_const + abs(total)

        def weights(u_free: np.ndarray) -> np.ndarray:
            return np.diff(np.r_[0.0, u_free, total])

        def value_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            w = weights(x[: k - 1] - x[k - 1 :])
            sd = math.sqrt(max(self.variance(w), 1e-300))
            t = m * (bias0 + float(x.sum())) / sd
            q = _folded_normal_quantile(1 - alpha, t)
            a, b = math.exp(-0.5 * (q - t) ** 2), math.exp(-0.5 * (q + t) ** 2)
            dq = (a - b) / (a + b)  # dq/dt
            g_w = (2 * self.quad @ w + self.lin) / (2 * sd) * (q - t * dq)
            g_u = g_w[:-1] - g_w[1:]  # w_j = u_j − u_{j−1}
            return sd * q, np.r_[g_u + m * dq, -g_u + m * dq]

        u0 = np.cumsum(start)[:-1]
        res = minimize(
            value_grad,
            np.r_[np.maximum(u0, 0.0), np.maximum(-u0, 0.0)],
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * (2 * (k - 1)),
            options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 20000, "maxcor": 30},
        )
        if not res.success and res.status != 2:  # 2: no further progress (ABNORMAL line search)
            raise SensitivityError(
                "FLCI の最適化が収束しませんでした。",
                f"the FLCI optimisation failed: {res.message}",
            )
        return weights(res.x[: k - 1] - res.x[k - 1 :])


def _half_length(p: _SdProblem, w: np.ndarray, m: float, alpha: float) -> float:
    sd = math.sqrt(max(p.variance(w), 0.0))
    return sd * _folded_normal_quantile(1 - alpha, m * p.bias(w) / sd)


def flci(
    es: EventStudy, m: float, *, target: Target | Sequence[float] = "first", alpha: float = 0.05
) -> tuple[float, float, float]:
    """The optimal fixed-length (1 − alpha) interval for θ under Δ^SD(m): (lower, upper,
    half-length), outcome units (HonestDiD's ``findOptimalFLCI``).

    The estimator is θ̂ = l'β̂_post + v'β̂_pre with pre-period weights v whose cumulative sums
    w make it unbiased for linear trends (Σw = Σ_t t·l_t); its worst-case bias over Δ^SD(m) is
    m·(c + Σ|cumsum w|) and its half-length sd·q_{1−alpha}(|N(bias/sd, 1)|) is minimised over
    w directly (see :meth:`_SdProblem.shortest`); at m = 0 the minimum-variance weights.
    """
    l_vec = es.target_vector(target)
    p = _SdProblem.of(es, l_vec)
    w_min = p.min_variance_weights()
    w = w_min if m == 0 else p.shortest(m, alpha, w_min)
    half = _half_length(p, w, m, alpha)
    v_pre = (np.eye(es.n_pre) - np.eye(es.n_pre, k=-1)) @ w
    centre = float(v_pre @ es.betahat[: es.n_pre] + l_vec @ es.betahat[es.n_pre :])
    return centre - half, centre + half, half


def smoothness(
    es: EventStudy,
    m: Sequence[float] = (0.0,),
    *,
    target: Target | Sequence[float] = "first",
    alpha: float = 0.05,
    breakdown: bool = True,
) -> SensitivityResult:
    """FLCIs for θ = l'τ_post under Δ^SD(M) for each M (outcome units per period², the bound
    on the change of the violation's slope), with the breakdown value (to 10⁻³ SE(θ̂))."""
    l_vec = es.target_vector(target)
    est, se, lo, hi = es.original_ci(l_vec, alpha)
    sets = []
    for mv in m:
        a, b, _ = flci(es, float(mv), target=target, alpha=alpha)
        sets.append(RobustSet(float(mv), a, b))
    bd = None
    if breakdown:
        bd = _breakdown(
            lambda mv: RobustSet(mv, *flci(es, mv, target=target, alpha=alpha)[:2]).excludes_zero,
            se,
        )
    return SensitivityResult(
        "smoothness",
        "FLCI",
        _target_name(target),
        alpha,
        tuple(sets),
        bd,
        est,
        se,
        (lo, hi),
        es.n_pre,
        es.n_post,
    )
