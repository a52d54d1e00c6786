"""A roll-out designed for evidence: minimum detectable effect and power of next year's candidates.

Act → Plan. Before next fiscal year's roll-out is fixed, :func:`plan_design` answers "if these
departments join next year, how large must the effect be for the behaviour analysis to see it?"
from the city's own employee × month proposal panel (:func:`dxkpi.models.behaviour.proposal_panel`).

**What is predicted.** The estimate next year's evidence rests on: the simple ATT of next year's
trainees over next fiscal year (Callaway–Sant'Anna, :func:`dxkpi.models.did.att_gt` with the
behaviour analysis's settings: ``control="notyet"``, varying base period, ``min_units`` per cell,
inference by employee), on the staff of the latest staff list still untrained in the treatment
(the *pool*). Trainees of a wave are first treated the month after their course (``timing="next"``);
staff of departments that do not join, and staff beyond a department's course places, are the
comparison, with later waves until they are trained. Already-trained staff add nothing to this
comparison and are left out; staff are assumed to stay through the year (so an effective-dated
roster, ``assignments``, is not used here: the panel is the April staff list's).

**Variance model** (:func:`variance_components`), estimated on the untreated employee-months:
``y_it = μ_t + a_i + u_{c(i),t} + e_it`` — a period mean, an employee level ``a_i`` (and any
constant department level) that the DiD differences out, department × month shocks ``u_ct``
(variance ``τ²``, shared by a department's staff: the cluster effect that matters to a DiD), and
employee noise ``e_it`` following an AR(1) with variance ``σ²`` and lag-1 autocorrelation ``ρ``.
Estimated by moments of within-employee differences at lags 1–12, each centred on its period's
mean (so employee and period levels drop out): ``E[r_k²] = 2σ²(1 − ρᵏ) + 2τ²``, and the covariance
of lag-1 differences of two staff of one department-month is ``2τ²``.

**Prediction** (:func:`predict`). The simple ATT is a linear combination ``Σ_i Σ_t w_it y_it`` of
the outcomes, with weights fixed by the design (cohort sizes, comparison-group sizes, the cells
kept): :func:`design_weights` computes them exactly as ``att_gt``/``aggte`` combine cells. Then
``Var = Σ_i w_i' Γ w_i + τ² Σ_c Σ_t (Σ_{i∈c} w_it)²`` (``Γ`` the AR(1) covariance), while the SE the
product reports (by employee) estimates ``Σ_i w_i' Γ w_i + τ² Σ_i Σ_t w_it²``; with ``τ² = 0`` the
two agree. Counts' noise grows with their mean (Poisson-like): trained staff whose mean rises
by ``δ`` have noise variance ``σ²·(1 + δ/mean)`` from their first treated month, so ``se`` and
``sd`` are taken at the effect in question (on the sample city's model, ignoring this made the
predicted power up to 7 points too high). Power against an effect ``δ`` of the two-sided test
at level α: ``Φ((δ − z·se)/sd) + Φ((−δ − z·se)/sd)``; the minimum detectable effect (MDE) is the
``δ`` with power 80% — ``(z₀.₉₇₅ + z₀.₈)·SE ≈ 2.8·SE`` when ``τ² = 0`` and the variance does not
grow. Validated against the real ``att_gt`` pipeline on panels drawn from the model, Gaussian
and Poisson (``benchmarks/design_power.py``: predicted and simulated power within 5 points per
candidate).

**Candidates** (:func:`candidate_by_count`): "n departments join" means the n departments of the
pool with the most untrained staff (ties by code), assigned to the waves round-robin in that order
(largest first; default waves complete their course in fiscal months 1, 5 and 9 — April, August,
December), each training up to ``staff_per_department`` staff (all when None). Explicit plans
(which departments in which wave) are :class:`Candidate` values (the command line reads them from
a TOML file).

Effects are in proposals per employee-month, shown as proposals per 100 staff-years (× 1,200).
Pure functions over frames: no file I/O.

Example — 1 cohort of 50 of 100 staff, 2 pre and 2 post months, white noise of variance 1:

>>> comp = VarianceComponents(within_var=1.0, rho=0.0, dept_period_var=0.0, between_var=0.0,
...                           mean=1.0, n_employees=100, n_obs=0, lags=(), variogram=(),
...                           mean_variance=False)
>>> pool = (("A", 50), ("B", 50))
>>> cand = Candidate("1", waves=((1, ("A",)),))
>>> p = predict(comp, pool, cand, effect=0.5, pre_periods=2, post_periods=2, min_units=10)
>>> round(p.se, 4), round(p.mde, 3), round(p.power, 3)  # se² = 2/50 + 2/50: one cell, y4 − y3
(0.2828, 0.792, 0.424)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import polars as pl
from scipy import stats
from scipy.optimize import brentq

from dxkpi.catalogue.format import PER_100_STAFF_YEAR
from dxkpi.core.errors import DxkpiError
from dxkpi.ingest.processed import Processed
from dxkpi.models.behaviour import (
    TREATMENTS,
    BehaviourError,
    Treatment,
    estimate_panel,
    proposal_panel,
)

__all__ = [
    "AUTO_TREATMENTS",
    "DEFAULT_WAVE_MONTHS",
    "MAX_LAG",
    "Candidate",
    "DesignError",
    "DesignPrediction",
    "DesignResult",
    "VarianceComponents",
    "candidate_by_count",
    "candidates_from_toml",
    "design_from_data",
    "design_weights",
    "plan_design",
    "pool_of",
    "predict",
    "simulate_panel",
    "variance_components",
]

#: Fiscal months (1 = April) in which the default waves complete their course.
DEFAULT_WAVE_MONTHS: tuple[int, ...] = (1, 5, 9)
#: Lags (months) of the within-employee differences the variance model is fitted on.
MAX_LAG = 12


class DesignError(DxkpiError):
    """The roll-out design cannot be computed as asked (no untrained staff, bad plan...)."""


@dataclass(frozen=True)
class VarianceComponents:
    """The variance model of the proposal panel (proposals per employee-month).

    ``within_var`` σ² and ``rho`` ρ: the employee noise's AR(1); ``dept_period_var`` τ²: the
    department × month shocks; ``between_var``: the variance of employee levels (differenced out
    by the DiD; shown for scale); ``mean``: the mean untreated monthly count; ``lags`` and
    ``variogram``: the observed ``E[r_k²] − 2τ²`` the AR(1) was fitted to; ``mean_variance``:
    the noise variance grows with the mean (counts: Poisson-like, so trained staff whose mean
    rises by δ have noise variance σ²·(1 + δ/mean)).
    """

    within_var: float
    rho: float
    dept_period_var: float
    between_var: float
    mean: float
    n_employees: int
    n_obs: int
    lags: tuple[int, ...]
    variogram: tuple[float, ...]
    mean_variance: bool = True

    def scale_with(self, delta: float) -> float:
        """The factor on the noise variance of staff whose mean is raised by ``delta``:
        ``1 + δ/mean`` when the variance follows the mean (counts), else 1."""
        if not self.mean_variance or self.mean <= 0:
            return 1.0
        return max(1.0 + delta / self.mean, 0.0)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "within_var": self.within_var,
            "rho": self.rho,
            "dept_period_var": self.dept_period_var,
            "between_var": self.between_var,
            "mean": self.mean,
            "n_employees": self.n_employees,
            "n_obs": self.n_obs,
            "mean_variance": self.mean_variance,
            "unit": "proposals per employee-month",
        }


@dataclass(frozen=True)
class Candidate:
    """One roll-out: ``waves`` = (fiscal month of course completion, 1 = April; departments),
    each department training up to ``staff_per_department`` of its untrained staff (all when
    None)."""

    name: str
    waves: tuple[tuple[int, tuple[str, ...]], ...]
    staff_per_department: int | None = None

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(d for _, ds in self.waves for d in ds)


@dataclass(frozen=True)
class DesignPrediction:
    """Predicted precision of one candidate (effects in proposals per employee-month).

    ``se``: the SE the product will report and ``sd`` the estimator's true SD (larger when
    department × month shocks are shared within departments), both with no effect (the MDE and
    power use those at their effect: counts' noise grows with the mean); ``mde``: the effect
    seen with probability ``target_power``; ``power``: against ``effect``. ``*_per_100`` in
    proposals per 100 staff-years. ``n_cells``: post-treatment cells kept (cells with fewer
    than ``min_units`` staff on either side are left out, as the estimator does).
    """

    candidate: Candidate
    n_departments: int
    n_trained: int
    n_comparison: int
    n_cells: int
    se: float
    sd: float
    mde: float
    effect: float | None
    power: float | None
    alpha: float
    target_power: float

    @property
    def mde_per_100(self) -> float:
        return self.mde * PER_100_STAFF_YEAR

    @property
    def effect_per_100(self) -> float | None:
        return None if self.effect is None else self.effect * PER_100_STAFF_YEAR

    def to_json_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {
            "candidate": c.name,
            "waves": [{"month": m, "departments": list(ds)} for m, ds in c.waves],
            "staff_per_department": c.staff_per_department,
            "n_departments": self.n_departments,
            "n_trained": self.n_trained,
            "n_comparison": self.n_comparison,
            "n_cells": self.n_cells,
            "se": self.se,
            "sd": self.sd,
            "mde": self.mde,
            "mde_per_100_staff_year": self.mde_per_100,
            "effect": self.effect,
            "effect_per_100_staff_year": self.effect_per_100,
            "power": self.power,
            "alpha": self.alpha,
            "target_power": self.target_power,
        }


@dataclass(frozen=True)
class DesignResult:
    """The design table of one fiscal year: components, pool and one prediction per candidate.

    ``effect_source``: ``"given"``, ``"estimated"`` (the city's current estimate of the
    treatment's effect), ``"programme"`` (the phase-2 estimate, when the treatment's own is not
    positive) or None (no effect to compute power against).
    """

    fiscal_year: int
    treatment: str
    components: VarianceComponents
    pool: tuple[tuple[str, int], ...]
    predictions: tuple[DesignPrediction, ...]
    effect: float | None
    effect_source: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def n_pool(self) -> int:
        return sum(n for _, n in self.pool)

    def recommended(self) -> DesignPrediction | None:
        """The smallest roll-out (fewest trained staff) with power ≥ its target against the
        effect; without an effect, or when none reaches it, None."""
        ok = [p for p in self.predictions if p.power is not None and p.power >= p.target_power]
        return min(ok, key=lambda p: (p.n_trained, p.n_departments)) if ok else None

    def to_json_dict(self) -> dict[str, Any]:
        rec = self.recommended()
        return {
            "fiscal_year": self.fiscal_year,
            "treatment": self.treatment,
            "components": self.components.to_json_dict(),
            "n_pool_departments": len(self.pool),
            "n_pool_staff": self.n_pool,
            "effect": self.effect,
            "effect_per_100_staff_year": None
            if self.effect is None
            else self.effect * PER_100_STAFF_YEAR,
            "effect_source": self.effect_source,
            "candidates": [p.to_json_dict() for p in self.predictions],
            "recommended": None if rec is None else rec.candidate.name,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# variance components
# ---------------------------------------------------------------------------------------------


def _untreated(panel: pl.DataFrame) -> pl.DataFrame:
    return panel.filter(
        (pl.col("first_treated") == 0) | (pl.col("period") < pl.col("first_treated"))
    ).select("unit", "period", "department_code", pl.col("proposals").cast(pl.Float64).alias("y"))


def _lag_residuals(rows: pl.DataFrame, k: int) -> pl.DataFrame:
    """Within-employee differences y_t − y_{t−k}, centred on their period's mean."""
    before = rows.select("unit", (pl.col("period") + k).alias("period"), pl.col("y").alias("y0"))
    d = rows.join(before, on=["unit", "period"], how="inner").with_columns(
        (pl.col("y") - pl.col("y0")).alias("d")
    )
    return d.with_columns((pl.col("d") - pl.col("d").mean().over("period")).alias("r"))


def _fit_ar1(lags: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Least-squares (σ², ρ) of v_k = 2σ²(1 − ρᵏ) over a grid of ρ (σ² in closed form)."""
    best = (math.inf, 0.0, 0.0)
    for rho in np.linspace(-0.9, 0.99, 1891):
        f = 2 * (1 - rho**lags)
        s2 = float(f @ v / (f @ f))
        sse = float(((v - s2 * f) ** 2).sum())
        if sse < best[0]:
            best = (sse, s2, float(rho))
    return max(best[1], 0.0), best[2]


def variance_components(panel: pl.DataFrame, max_lag: int = MAX_LAG) -> VarianceComponents:
    """Estimate the variance model (module docstring) on the panel's untreated employee-months.

    ``panel``: columns unit, period, department_code, first_treated, proposals (as
    :func:`~dxkpi.models.behaviour.proposal_panel`).
    """
    rows = _untreated(panel)
    if rows.height == 0:
        raise DesignError(
            "未研修の職員・月がありません。", "the panel has no untrained employee-month."
        )
    lags, v = [], []
    tau2 = 0.0
    for k in range(1, max_lag + 1):
        d = _lag_residuals(rows, k)
        n, n_per = d.height, d["period"].n_unique()
        if n - n_per < 2:
            break
        vk = float((d["r"] ** 2).sum()) / (n - n_per)
        if k == 1:  # pairwise covariance of two staff of one department-month: 2τ²
            g = d.group_by("department_code", "period").agg(
                pl.col("r").sum().alias("s"), (pl.col("r") ** 2).sum().alias("ss"), pl.len()
            )
            pairs = float((g["len"] * (g["len"] - 1)).sum())
            if pairs > 0:
                cov = float((g["s"] ** 2 - g["ss"]).sum()) / pairs
                tau2 = max(cov / 2, 0.0)
        lags.append(k)
        v.append(vk - 2 * tau2)
    if not lags:
        raise DesignError(
            "同じ職員の連続する月が足りず、ばらつきを推定できません。",
            "too few consecutive months per employee to estimate the variance.",
        )
    lag_a, v_a = np.array(lags, dtype=float), np.array(v)
    s2, rho = _fit_ar1(lag_a, v_a)
    centred = rows.with_columns((pl.col("y") - pl.col("y").mean().over("period")).alias("c"))
    per_emp = centred.group_by("unit").agg(pl.col("c").mean(), pl.len())
    c_mean = per_emp["c"].to_numpy()
    between = float(np.var(c_mean, ddof=1)) - s2 * float(np.mean(1 / per_emp["len"].to_numpy()))
    return VarianceComponents(
        within_var=s2,
        rho=rho,
        dept_period_var=tau2,
        between_var=max(between, 0.0),
        mean=float(np.mean(rows["y"].to_numpy())),
        n_employees=int(per_emp.height),
        n_obs=rows.height,
        lags=tuple(lags),
        variogram=tuple(float(x) for x in v_a),
    )


# ---------------------------------------------------------------------------------------------
# pool and candidates
# ---------------------------------------------------------------------------------------------


def pool_of(panel: pl.DataFrame) -> tuple[tuple[str, int], ...]:
    """(department, untrained staff) on the panel's latest fiscal year, most staff first (ties
    by code); untrained = never treated within the panel."""
    last = panel.filter(pl.col("fiscal_year") == pl.col("fiscal_year").max())
    per_unit = last.group_by("unit").agg(
        pl.col("first_treated").first(), pl.col("department_code").sort_by("period").last()
    )
    counts = (
        per_unit.filter(pl.col("first_treated") == 0)
        .group_by("department_code")
        .len()
        .sort(["len", "department_code"], descending=[True, False])
    )
    return tuple((str(d), int(n)) for d, n in counts.iter_rows())


def candidate_by_count(
    pool: Sequence[tuple[str, int]],
    n_departments: int,
    *,
    wave_months: Sequence[int] = DEFAULT_WAVE_MONTHS,
    staff_per_department: int | None = None,
) -> Candidate:
    """The roll-out "n departments join": the n pool departments with the most untrained staff,
    round-robin over the waves (largest first)."""
    if n_departments < 1 or n_departments > len(pool):
        raise DesignError(
            f"参加所属数 {n_departments} は 1〜{len(pool)}（未研修の職員がいる所属の数）で"
            "指定してください。",
            f"the number of departments {n_departments} must be 1–{len(pool)} (departments "
            "with untrained staff).",
        )
    chosen = [d for d, _ in pool[:n_departments]]
    waves = tuple(
        (m, tuple(chosen[i :: len(wave_months)]))
        for i, m in enumerate(wave_months)
        if chosen[i :: len(wave_months)]
    )
    name = str(n_departments)
    return Candidate(name, waves, staff_per_department)


def _check_candidate(c: Candidate, pool: dict[str, int], post_periods: int) -> None:
    seen: set[str] = set()
    for month, ds in c.waves:
        if not 1 <= month < post_periods:
            raise DesignError(
                f"案「{c.name}」: 修了月 {month} は 1〜{post_periods - 1}（1 = 4月）で指定して"
                "ください（最終月の修了は年度内に効果を測れません）。",
                f"plan '{c.name}': completion month {month} must be 1–{post_periods - 1} "
                "(1 = April; a course completed in the last month has no treated month).",
            )
        for d in ds:
            if d not in pool:
                raise DesignError(
                    f"案「{c.name}」: 所属 {d} に未研修の職員がいません。",
                    f"plan '{c.name}': department {d} has no untrained staff.",
                )
            if d in seen:
                raise DesignError(
                    f"案「{c.name}」: 所属 {d} が2回あります。",
                    f"plan '{c.name}': department {d} appears twice.",
                )
            seen.add(d)


def _types(
    pool: Sequence[tuple[str, int]], c: Candidate, pre_periods: int
) -> list[tuple[str, int, int]]:
    """(department, first treated period or 0, staff) of the design panel: periods 1..pre are
    the latest year, the trainees of a wave completing in fiscal month m are treated from
    period pre + m + 1."""
    wave_of = {d: m for m, ds in c.waves for d in ds}
    out = []
    for d, n in pool:
        if d in wave_of:
            k = n if c.staff_per_department is None else min(n, c.staff_per_department)
            out.append((d, pre_periods + wave_of[d] + 1, k))
            if n - k:
                out.append((d, 0, n - k))
        else:
            out.append((d, 0, n))
    return [x for x in out if x[2] > 0]


def design_weights(
    cohort_sizes: dict[int, int], n_periods: int, min_units: int = 10
) -> tuple[dict[int, np.ndarray], int]:
    """Per first-treated period (0 = never): the weight vector (over periods 1..n_periods) of one
    unit in the simple ATT, as :func:`~dxkpi.models.did.att_gt` (not-yet-treated comparison,
    varying base period, balanced panel) and ``aggregate("simple")`` combine the cells; and the
    number of post-treatment cells kept. Cells with fewer than ``min_units`` treated or
    comparison units are left out; without never-treated units the latest cohort only compares
    and its periods on are dropped, as R did does.
    """
    w = {g: np.zeros(n_periods) for g in cohort_sizes}
    never = cohort_sizes.get(0, 0) > 0
    cohorts = sorted(g for g in cohort_sizes if g > 0 and cohort_sizes[g] > 0)
    last_t = n_periods
    if not never and cohorts:
        last_t = cohorts[-1] - 1
        cohorts = cohorts[:-1]
    cells = []
    for g in cohorts:
        if g < 2:
            continue
        for t in range(g, last_t + 1):
            ctrl = [h for h in cohort_sizes if (h == 0 or h > t) and cohort_sizes[h] > 0]
            n_c = sum(cohort_sizes[h] for h in ctrl)
            if cohort_sizes[g] >= min_units and n_c >= min_units:
                cells.append((g, t, ctrl, n_c))
    total = sum(cohort_sizes[g] for g, *_ in cells)
    for g, t, ctrl, n_c in cells:
        omega = cohort_sizes[g] / total
        b = g - 1
        w[g][t - 1] += omega / cohort_sizes[g]
        w[g][b - 1] -= omega / cohort_sizes[g]
        for h in ctrl:
            w[h][t - 1] -= omega / n_c
            w[h][b - 1] += omega / n_c
    return w, len(cells)


def _ar1(n: int, s2: float, rho: float) -> np.ndarray:
    idx = np.arange(n)
    return s2 * rho ** np.abs(idx[:, None] - idx[None, :])


def _power(delta: float, se: float, sd: float, z: float) -> float:
    return float(stats.norm.cdf((delta - z * se) / sd) + stats.norm.cdf((-delta - z * se) / sd))


def predict(
    comp: VarianceComponents,
    pool: Sequence[tuple[str, int]],
    candidate: Candidate,
    *,
    effect: float | None = None,
    alpha: float = 0.05,
    target_power: float = 0.8,
    min_units: int = 10,
    pre_periods: int = 12,
    post_periods: int = 12,
) -> DesignPrediction:
    """SE, MDE and power of one candidate (module docstring)."""
    _check_candidate(candidate, dict(pool), post_periods)
    types = _types(pool, candidate, pre_periods)
    n_periods = pre_periods + post_periods
    sizes: dict[int, int] = {}
    for _, g, n in types:
        sizes[g] = sizes.get(g, 0) + n
    w, n_cells = design_weights(sizes, n_periods, min_units)
    if n_cells == 0:
        raise DesignError(
            f"案「{candidate.name}」: 比べられる月がありません（研修者・比較対象が各 "
            f"{min_units} 人以上必要）。",
            f"plan '{candidate.name}': no month can be compared (needs {min_units} trained and "
            f"{min_units} comparison staff).",
        )
    per_dept: dict[str, np.ndarray] = {}
    for d, g, n in types:
        per_dept[d] = per_dept.get(d, np.zeros(n_periods)) + n * w[g]
    true_dept = comp.dept_period_var * sum(float(x @ x) for x in per_dept.values())
    unit_dept = comp.dept_period_var * sum(n * float(w[g] @ w[g]) for g, n in sizes.items())
    gamma = _ar1(n_periods, comp.within_var, comp.rho)
    t_idx = np.arange(1, n_periods + 1)

    def moments(delta: float) -> tuple[float, float]:
        """(SE by employee, true SD) when the trained's mean is raised by ``delta``."""
        v_ind = 0.0
        for g, n in sizes.items():
            scale = np.ones(n_periods)
            if g > 0:
                scale[t_idx >= g] = math.sqrt(comp.scale_with(delta))
            wg = w[g] * scale
            v_ind += n * float(wg @ gamma @ wg)
        return math.sqrt(v_ind + unit_dept), math.sqrt(v_ind + true_dept)

    def power(delta: float) -> float:
        return _power(abs(delta), *moments(delta), z)

    z = float(stats.norm.ppf(1 - alpha / 2))
    se, sd = moments(0.0)
    hi = 10 * (se + sd)
    while power(hi) < target_power:
        hi *= 2
    mde = brentq(lambda d: power(d) - target_power, 0.0, hi)
    trained = sum(n for _, g, n in types if g > 0)
    return DesignPrediction(
        candidate=candidate,
        n_departments=len(candidate.departments),
        n_trained=trained,
        n_comparison=sum(n for _, g, n in types if g == 0),
        n_cells=n_cells,
        se=se,
        sd=sd,
        mde=float(mde),
        effect=effect,
        power=None if effect is None else power(effect),
        alpha=alpha,
        target_power=target_power,
    )


def plan_design(
    panel: pl.DataFrame,
    fiscal_year: int,
    candidates: Sequence[int | Candidate],
    *,
    effect: float | None = None,
    effect_source: str | None = None,
    treatment: str = "phase2",
    staff_per_department: int | None = None,
    wave_months: Sequence[int] = DEFAULT_WAVE_MONTHS,
    alpha: float = 0.05,
    target_power: float = 0.8,
    min_units: int = 10,
) -> DesignResult:
    """The design table for ``fiscal_year`` from a proposal panel (monthly, of ``treatment``).

    ``candidates``: numbers of departments (:func:`candidate_by_count`) or explicit
    :class:`Candidate` plans. ``effect``: proposals per employee-month to compute power against
    (``effect_source`` says where it came from).
    """
    last_fy = int(panel["fiscal_year"].max())  # type: ignore[arg-type]
    if fiscal_year <= last_fy:
        raise DesignError(
            f"計画年度 {fiscal_year} は職員名簿の最新年度 {last_fy} より後にしてください。",
            f"the planned fiscal year {fiscal_year} must come after the staff list's latest "
            f"year {last_fy}.",
        )
    pool = pool_of(panel)
    if not pool:
        raise DesignError(
            f"最新年度（{last_fy}年度）の職員に「{treatment}」の未研修者がいません。",
            f"no staff of FY{last_fy} is untrained in '{treatment}'.",
            hint_ja="--treatment で次のフェーズ（phase3 など）を指定してください。",
            hint_en="choose the next phase with --treatment (e.g. phase3).",
        )
    comp = variance_components(panel)
    notes = []
    if fiscal_year > last_fy + 1:
        notes.append(
            f"the pool is FY{last_fy}'s staff list: staff changes up to FY{fiscal_year} are not "
            "foreseen"
        )
    preds = []
    for c in candidates:
        cand = (
            candidate_by_count(
                pool, c, wave_months=wave_months, staff_per_department=staff_per_department
            )
            if isinstance(c, int)
            else c
        )
        preds.append(
            predict(
                comp,
                pool,
                cand,
                effect=effect,
                alpha=alpha,
                target_power=target_power,
                min_units=min_units,
            )
        )
    return DesignResult(
        fiscal_year=fiscal_year,
        treatment=treatment,
        components=comp,
        pool=pool,
        predictions=tuple(preds),
        effect=effect,
        effect_source=None if effect is None else (effect_source or "given"),
        notes=tuple(notes),
    )


def simulate_panel(
    rng: np.random.Generator,
    comp: VarianceComponents,
    pool: Sequence[tuple[str, int]],
    candidate: Candidate,
    effect: float,
    *,
    pre_periods: int = 12,
    post_periods: int = 12,
) -> pl.DataFrame:
    """A design panel drawn from the variance model with a planted ``effect`` (for checking
    :func:`predict` against the estimator): columns unit, period, first_treated, department,
    proposals (Gaussian: y = mean + employee level + department × month shock + AR(1) noise +
    effect when treated; the trained's noise scaled by ``comp.scale_with(effect)``)."""
    types = _types(pool, candidate, pre_periods)
    n_periods = pre_periods + post_periods
    dept_names = sorted({d for d, _, _ in types})
    d_index = {d: i for i, d in enumerate(dept_names)}
    g = np.concatenate([np.full(n, gg) for _, gg, n in types])
    dept = np.concatenate([np.full(n, d_index[d]) for d, _, n in types])
    n = g.size
    sd_e = math.sqrt(comp.within_var)
    e = np.empty((n, n_periods))
    e[:, 0] = rng.normal(0, sd_e, n)
    innov = sd_e * math.sqrt(max(1 - comp.rho**2, 0.0))
    for t in range(1, n_periods):
        e[:, t] = comp.rho * e[:, t - 1] + rng.normal(0, innov, n)
    shocks = rng.normal(0, math.sqrt(comp.dept_period_var), (len(dept_names), n_periods))
    t_idx = np.arange(1, n_periods + 1)
    treated = (g[:, None] > 0) & (t_idx[None, :] >= g[:, None])
    e = np.where(treated, e * math.sqrt(comp.scale_with(effect)), e)
    y = (
        comp.mean
        + rng.normal(0, math.sqrt(comp.between_var), (n, 1))
        + shocks[dept]
        + e
        + effect * treated
    )
    return pl.DataFrame(
        {
            "unit": np.repeat(np.arange(n), n_periods),
            "period": np.tile(t_idx, n),
            "first_treated": np.repeat(g, n_periods),
            "department": np.repeat(dept, n_periods),
            "proposals": y.ravel(),
        }
    )


#: The phases :func:`design_from_data` considers with ``treatment="auto"``, in order.
AUTO_TREATMENTS: tuple[Treatment, ...] = ("phase2", "phase3")


def _before(panel: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """The panel as it stood before ``fiscal_year``: its earlier fiscal years, staff first
    trained later counted as untrained (first_treated 0)."""
    kept = panel.filter(pl.col("fiscal_year") < fiscal_year)
    if kept.height == 0:
        raise DesignError(
            f"{fiscal_year}年度より前の職員名簿がありません。",
            f"there is no staff list before FY{fiscal_year}.",
        )
    last = int(kept["period"].max())  # type: ignore[arg-type]
    return kept.with_columns(
        pl.when(pl.col("first_treated") > last)
        .then(0)
        .otherwise(pl.col("first_treated"))
        .alias("first_treated")
    )


def _current_effect(
    panel: pl.DataFrame, treatment: Treatment, min_units: int, notes: list[str]
) -> tuple[float | None, str | None]:
    """The behaviour estimate of ``treatment`` if it is positive (else None, with a note)."""
    try:
        est = estimate_panel(panel, treatment=treatment, min_units=min_units).att
    except BehaviourError as err:
        notes.append(f"{treatment}: current effect not estimated: {err.en}")
        return None, None
    if est > 0:
        return est, "estimated"
    notes.append(f"{treatment}: current estimate {est * PER_100_STAFF_YEAR:+.1f} is not positive")
    return None, None


def design_from_data(
    data: Processed,
    fiscal_year: int,
    candidates: Sequence[int | Candidate],
    *,
    treatment: str = "auto",
    effect_per_100: float | None = None,
    staff_per_department: int | None = None,
    min_units: int = 10,
    clip_counts: bool = False,
) -> DesignResult:
    """:func:`plan_design` on the processed data as it stood before ``fiscal_year`` (later
    fiscal years left out, so a past year's review plans with what was known then): the monthly
    proposal panel of ``treatment``
    (``"auto"``: the first of :data:`AUTO_TREATMENTS` with untrained staff on the latest staff
    list — the phase still to roll out), and power against ``effect_per_100`` (proposals per
    100 staff-years) or, when None, against the city's current estimate of that treatment's
    effect (:func:`~dxkpi.models.behaviour.estimate_panel`, ``effect_source="estimated"``); when
    that is not positive or cannot be estimated, against the programme's phase-2 estimate — the
    effect training has shown so far (``effect_source="programme"``); else none.
    ``clip_counts``: numbers of departments above the pool's are left out (all of the pool when
    none is left), for reports that must not fail on a small city."""
    # Candidates are April departments and the variance model assumes staff stay through the
    # year: the panel is the April staff list's, also when an effective-dated roster is present.
    if data.assignments is not None:
        data = data.without("assignments")
    chosen: Treatment
    if treatment == "auto":
        for chosen in AUTO_TREATMENTS:
            panel = _before(proposal_panel(data, treatment=chosen), fiscal_year)
            if pool_of(panel):
                break
    elif treatment in TREATMENTS:
        chosen = cast(Treatment, treatment)
        panel = _before(proposal_panel(data, treatment=chosen), fiscal_year)
    else:
        raise DesignError(
            f"研修の区分「{treatment}」は使えません（auto, {', '.join(TREATMENTS)}）。",
            f"unknown treatment '{treatment}' (auto, {', '.join(TREATMENTS)}).",
        )
    notes: list[str] = []
    source: str | None = "given"
    if effect_per_100 is None:
        effect, source = _current_effect(panel, chosen, min_units, notes)
        if effect is None and chosen != "phase2":
            programme = _before(proposal_panel(data), fiscal_year)
            effect = _current_effect(programme, "phase2", min_units, notes)[0]
            source = None if effect is None else "programme"
    else:
        effect = effect_per_100 / PER_100_STAFF_YEAR
    if clip_counts:  # numbers of departments above the pool's: left out (all, if none is left)
        n_pool = len(pool_of(panel))
        kept = [c for c in candidates if not isinstance(c, int) or c <= n_pool]
        candidates = kept if kept else ([n_pool] if n_pool else list(candidates))
    res = plan_design(
        panel,
        fiscal_year,
        candidates,
        effect=effect,
        effect_source=source,
        treatment=chosen,
        staff_per_department=staff_per_department,
        min_units=min_units,
    )
    return replace(res, notes=(*res.notes, *notes))


def candidates_from_toml(doc: dict[str, Any]) -> tuple[Candidate, ...]:
    """Explicit plans from a parsed TOML document::

    [[plan]]
    name = "A: two waves"
    staff_per_department = 20      # optional: course places per department
    [[plan.wave]]
    month = 1                      # fiscal month the course is completed (1 = April)
    departments = ["010100", "020300"]
    """
    plans = doc.get("plan")
    if not isinstance(plans, list) or not plans:
        raise DesignError(
            "計画ファイルに [[plan]] がありません。", "the plan file has no [[plan]] table."
        )
    out = []
    for i, p in enumerate(plans, start=1):
        name = str(p.get("name", f"plan {i}"))
        waves = p.get("wave")
        cap = p.get("staff_per_department")
        ok = isinstance(waves, list) and waves and (cap is None or isinstance(cap, int))
        try:
            parsed = tuple(
                (int(w["month"]), tuple(str(d) for d in w["departments"])) for w in waves
            )
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise DesignError(
                f"計画「{name}」: [[plan.wave]] に month（整数）と departments（所属コードの"
                "リスト）が必要です。",
                f"plan '{name}': each [[plan.wave]] needs month (an integer) and departments "
                "(a list of department codes).",
            )
        out.append(Candidate(name, parsed, cap))
    return tuple(out)
