"""Per-course and per-phase effects on proposals at the employee's stage (sequential courses).

The programme's phases build on each other (1 意識改革 → 2 スキル習得 → 3 実践), so the effect of
one course is asked *at the stage where it is taken*: staff who complete a phase-2 course
already went through phase 1, and while they are at stage 2 others are getting the effect of
their own phase-2 course. Comparing the completers of course X with "everyone who has not
completed X" (the earlier per-course estimate) puts staff under another course's phase-2 effect
into the comparison group: phase-2 courses then read "no change" and phase-3 courses read
negative. This module compares like with like.

Stages
------
An employee's *first-at-stage* course of phase p is their first completed phase-p course (status
``completed``; several on that day: the lowest course_id). With m_p the month of that session,
the phase-p effect is *in force* from month m_p + 1 (the completion month itself counts as
untreated). The employee is **at stage p** in the months after m_p and before m_(p+1), the
month of their first completed phase-(p+1) course (stage 3 has no end); stage 0 is before any
phase is in force.

Estimand
--------
For a course c of phase p (code ``course_at_stage_p``): the mean, over the employee-months at
stage p of the employees whose first-at-stage phase-p course is c, of the proposals they
submitted minus the proposals they would have submitted in that month without c — *with*
everything that was in force at stage p − 1 (for phase 3 this includes the phase-2 effect: the
estimand is the phase-3 course's increment on top of it). Proposals per employee-month on the
staff list. For a phase (code ``phase_at_stage_p``) the same over all first-at-stage phase-p
completers, whatever the course. ``ratio`` = 1 + effect ÷ counterfactual mean of the same
employee-months (1 = no effect; "+60%" reads 1.6), measured against the estimated
counterfactual, not the pre-training mean. These are the estimands of the sample city's
``ground_truth.json`` (``conventions.course_effects``, ``conventions.stages``).

Comparison and identification
-----------------------------
At each month t, the comparison group for phase p is the staff **at stage p − 1 who have not
yet completed a phase-p course** (the phase-p effect not in force at t: not-yet-treated), for
p ≥ 2 having completed phase p − 1 before the base month; for phase 1 the staff with no phase in
force. Staff under another phase-p course's effect, or further along, are never in it. The
cohort of a completer is g = completion month + 1; their base is their completion month g − 1
and, with ``base_months`` = L > 1, also their other months at stage p − 1 among the L months
before g. Each treated employee-month (i, t) is compared with that base by 2×2 differences in
differences *within employees*:

    τ_it = (y_it − y_ib) − mean over comparison employees j at stage p − 1 in both b and t of
    (y_jt − y_jb), averaged over the employee's base months b.

With L = 1 this is exactly the group-time ATT(g,t) of Callaway & Sant'Anna with the stage-
restricted not-yet-treated comparison, computed by :func:`dxkpi.models.did.att_gt`
(``control="notyet"``, ``within_units=True``: only employees observed and eligible in both
months) and pooled by employee-months. The default L = 12 averages the same 2×2 comparisons
over up to a year of the completer's months at the previous stage: one noisy base month of a
Poisson count otherwise weighs on every later month of a completer who stays long at the stage.
Over 200 simulated sample cities (``benchmarks/course_verdicts.py``) L = 1 found 8% of the real
course effects and 53% of the phase effects, and called some zero-effect course an effect in
8% of the cities; L = 12 found 21% and 84%, with 2% of the cities, and its 95% intervals
covered the planted course effects 96.7% of the time (L = 1: 94.3%). Treated employees count
only in their stage-p months (a phase-2 completer leaves the estimate when they complete phase
3). Leaving the city — which may depend on the outcome — changes who is in a comparison, not
the within-employee differences.

Identifying assumption (parallel trends at the stage): had they not completed c, the treated
would have changed from their base months to month t as the staff at stage p − 1 not yet
trained at phase p did over the same months; the months just before completion carry no
anticipation (the completion month itself is untreated). With L = 12 the assumption covers the
year before completion, not only its last month.

This is the stage-specific ("stacked" by stage) version of Callaway & Sant'Anna's not-yet-
treated comparison for a *sequential* treatment: as in de Chaisemartin & D'Haultfœuille's
estimators for treatments that change more than once, every comparison is between units with
the same treatment history up to the base month, one of which moves to the next treatment at
t while the other has not yet.

Aggregation and inference
-------------------------
The overall effect is the mean of τ_it over the treated employee-months used: the mean over
treated employee-months at stage p, as the estimand is stated. (R did's ``simple`` weights each
post cell of a cohort equally by cohort size; here stage-p months thin out as completers reach
the next stage or leave, and equal weights would not be the stated mean.) Standard errors come
from the influence functions — each completer's own months and base, plus each comparison
employee's part in the comparison means, summed per employee (clustered by employee); with
L = 1 they are did.py's cell influence functions plus the influence of the estimated weights.
The counterfactual mean is the treated's observed mean over the same employee-months minus the
effect; the ratio's interval is a delta-method interval on the log scale.

Few employees can carry most of that variance (completers who stay long at a stage weigh in
with the square of their months, and late months rest on few comparison employees). Tests and
intervals therefore use Student's t with ν = (Σ ψ_i²)² ÷ Σ ψ_i⁴ degrees of freedom, ψ_i the
employees' influence contributions — Kish's effective number of employees behind the standard
error, in the spirit of the small-cluster corrections of Bell & McCaffrey (2002) and Imbens &
Kolesár (2016); ν is reported (``df``). On 40 simulated sample cities with L = 1 the normal
reference covered the planted course effects 92% of the time and this t reference 96%.

Verdicts (:mod:`dxkpi.models.verdicts`): Holm's adjustment across the courses judged (those
estimated; phases are their own family of three), the same family-wise level for the
equivalence test against the smallest effect of interest.

Not estimated — listed, with the reason, never dropped silently:

* ``too_few_completers``: fewer than ``min_treated`` first-at-stage completers contribute a
  stage-p month with a comparison;
* ``no_comparison``: no cell has ``min_comparison`` comparison employees observed at both months.

First-at-stage completers who were not at stage p − 1 in their completion month (e.g. a phase-2
completion in the same month as their first phase-1 completion) cannot be compared at the
stage and are counted in ``n_not_at_stage``; cells whose comparison group is smaller than
``min_comparison`` are left out and their treated employee-months counted in
``months_left_out``.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
periods. *Journal of Econometrics* 225(2), 200–230.
de Chaisemartin, C., & D'Haultfœuille, X. (2024). Difference-in-differences estimators of
intertemporal treatment effects. *Review of Economics and Statistics* (forthcoming).
Cengiz, D., Dube, A., Lindner, A., & Zipperer, B. (2019). The effect of minimum wages on
low-wage jobs. *Quarterly Journal of Economics* 134(3), 1405–1454 (stacked comparisons).
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian Journal
of Statistics* 6(2), 65–70.
Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
with multi-stage samples. *Survey Methodology* 28(2), 169–181.
Imbens, G. W., & Kolesár, M. (2016). Robust standard errors in small samples: some practical
advice. *Review of Economics and Statistics* 98(4), 701–712.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from dxkpi.catalogue.format import PER_100_STAFF_YEAR
from dxkpi.core.errors import DxkpiError
from dxkpi.ingest.processed import Processed
from dxkpi.models.behaviour import period_index, proposal_panel
from dxkpi.models.did import AttGtResult, DidError, att_gt
from dxkpi.models.ratio import log_interval, log_ratio_se
from dxkpi.models.verdicts import Judgement, effective_df, judge

__all__ = [
    "EFFECT_COLUMNS",
    "LAG_MONTHS",
    "PHASES",
    "CourseEffects",
    "CoursesError",
    "course_effects",
    "first_completions",
    "per_employee_month",
    "phase_effects",
    "stage_panel",
    "stage_roles",
]

#: The effect of a completed course starts this many months after its completion month.
LAG_MONTHS = 1
PHASES: tuple[int, ...] = (1, 2, 3)

EFFECT_COLUMNS: dict[str, Any] = {
    "course_id": pl.String,
    "phase": pl.Int64,
    "estimand": pl.String,
    "effect": pl.Float64,
    "se": pl.Float64,
    "df": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "ci_adj_low": pl.Float64,
    "ci_adj_high": pl.Float64,
    "counterfactual": pl.Float64,
    "ratio": pl.Float64,
    "ratio_ci_low": pl.Float64,
    "ratio_ci_high": pl.Float64,
    "n_completers": pl.Int64,
    "n_treated": pl.Int64,
    "n_not_at_stage": pl.Int64,
    "n_cells": pl.Int64,
    "employee_months": pl.Int64,
    "months_left_out": pl.Int64,
    "p": pl.Float64,
    "p_adjusted": pl.Float64,
    "p_equivalence_adjusted": pl.Float64,
    "mde": pl.Float64,
    "verdict": pl.String,
    "below_smallest": pl.Boolean,
    "reason": pl.String,
}


class CoursesError(DxkpiError):
    """The per-course analysis cannot run (missing dataset, empty staff list, bad option)."""


def per_employee_month(per_100_staff_year: float) -> float:
    """Proposals per 100 staff per year → proposals per employee-month."""
    return per_100_staff_year / PER_100_STAFF_YEAR


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------


def first_completions(data: Processed, first_fy: int) -> pl.DataFrame:
    """Per employee: the first completed course of each phase and its month.

    Columns: unit (employee_id), m1, m2, m3 (month index as :func:`period_index`: 1 = April of
    ``first_fy``; may be ≤ 0 for sessions before it; null = none), c1, c2, c3 (course_id; ties
    on one day: the lowest course_id).
    """
    courses = data.require("courses").select("course_id", pl.col("phase").cast(pl.Int64))
    first = (
        data.require("attendance")
        .filter(pl.col("status") == "completed")
        .join(courses, on="course_id", how="inner")
        .sort("employee_id", "phase", "session_date", "course_id")
        .group_by("employee_id", "phase", maintain_order=True)
        .first()
        .select(
            pl.col("employee_id").alias("unit"),
            "phase",
            "course_id",
            period_index(pl.col("session_date"), first_fy, "month").alias("month"),
        )
        .collect()
    )
    out = first.select("unit").unique().sort("unit")
    for p in PHASES:
        part = first.filter(pl.col("phase") == p).select(
            "unit", pl.col("month").alias(f"m{p}"), pl.col("course_id").alias(f"c{p}")
        )
        out = out.join(part, on="unit", how="left")
    return out.select(
        "unit",
        *[pl.col(f"m{p}").cast(pl.Int64) for p in PHASES],
        *[pl.col(f"c{p}").cast(pl.String) for p in PHASES],
    )


def _in_force(q: int) -> pl.Expr:
    """Whether the phase-q effect is in force in the row's month."""
    m = pl.col(f"m{q}")
    return m.is_not_null() & (pl.col("period") >= m + LAG_MONTHS)


def _before(q: int) -> pl.Expr:
    """The row's month is before the first phase-q completion month (or there is none)."""
    m = pl.col(f"m{q}")
    return m.is_null() | (pl.col("period") < m)


def stage_roles(rows: pl.DataFrame, phase: int, course: str | None = None) -> pl.DataFrame:
    """Each employee-month's role in the analysis of one phase (or one course of it).

    ``rows``: unit, period and the columns of :func:`first_completions` (m1–m3, c1–c3).
    Adds ``role`` — ``"before"``: at stage ``phase`` − 1 with no phase-``phase`` (or later)
    effect in force: a comparison at that month, and for the treated their pre-period (their
    completion month included); ``"at_stage"``: a treated employee at stage ``phase`` (from the
    month after completion, before their first phase-(``phase`` + 1) completion month); null:
    not used — and ``first_treated``: completion month + 1 for the treated (whose first
    phase-``phase`` course is ``course``, or any course when ``course`` is None), else 0.
    """
    if phase not in PHASES:
        raise CoursesError(
            f"フェーズは 1〜3 です（{phase!r}）。", f"phase must be 1, 2 or 3 (got {phase!r})."
        )
    later = [q for q in PHASES if q >= phase]
    before = pl.all_horizontal([~_in_force(q) for q in later])
    if phase > 1:
        before = before & _in_force(phase - 1)
    treated = pl.col(f"m{phase}").is_not_null()
    if course is not None:
        treated = treated & (pl.col(f"c{phase}") == course)
    at_stage = treated & _in_force(phase)
    for q in PHASES:
        if q > phase:
            at_stage = at_stage & _before(q)
    return rows.with_columns(
        role=pl.when(before)
        .then(pl.lit("before"))
        .when(at_stage)
        .then(pl.lit("at_stage"))
        .otherwise(pl.lit(None, pl.String)),
        first_treated=pl.when(treated)
        .then(pl.col(f"m{phase}") + LAG_MONTHS)
        .otherwise(0)
        .cast(pl.Int64),
    )


def stage_panel(data: Processed) -> pl.DataFrame:
    """The employee × month proposal panel joined with each employee's first completions.

    Columns: unit, period, proposals, m1–m3, c1–c3 (see :func:`first_completions`).
    """
    try:
        panel = proposal_panel(data, period="month", treatment="any")
    except DxkpiError as err:
        raise CoursesError(err.ja, err.en, hint_ja=err.hint_ja, hint_en=err.hint_en) from err
    first_fy = int(panel["fiscal_year"].min())  # type: ignore[arg-type]
    firsts = first_completions(data, first_fy)
    return (
        panel.select("unit", "period", pl.col("proposals").cast(pl.Float64))
        .join(firsts, on="unit", how="left")
        .sort("unit", "period")
    )


# ---------------------------------------------------------------------------------------------
# one estimate
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pooled:
    effect: float
    se: float
    df: float
    mu1: float
    ratio: float | None
    ratio_se: float | None
    n_treated: int
    n_cells: int
    months: int
    months_left_out: int


def _finish(
    effect: float,
    inf: np.ndarray,
    mu1: float,
    inf_mu1: np.ndarray,
    counts: tuple[int, int, int, int],
) -> _Pooled:
    """SE, effective degrees of freedom and the ratio from the influence functions.

    ``inf`` / ``inf_mu1``: per employee, scaled as :mod:`dxkpi.models.did` (SE = √Σψ² ÷ n);
    ``counts``: treated employees, cells, employee-months, months left out.
    """
    n = inf.size
    sq = inf**2
    se = math.sqrt(float(sq.sum())) / n
    df = effective_df(inf)
    mu0 = mu1 - effect
    ratio = ratio_se = None
    if mu0 > 0:
        ratio = mu1 / mu0
        if mu1 > 0:  # the delta method on the log scale: SE(ratio) = ratio · SE(log ratio)
            ratio_se = ratio * log_ratio_se(mu1, mu0, inf_mu1, inf_mu1 - inf)
    n_treated, n_cells, months, left_out = counts
    return _Pooled(effect, se, df, mu1, ratio, ratio_se, n_treated, n_cells, months, left_out)


def _pool(res: AttGtResult, min_comparison: int) -> _Pooled | None:
    """Employee-month weighted mean of did.py's post cells (one base month), with its SE."""
    f = res.attgt
    g = f["group"].to_numpy().astype(float)
    t = f["time"].to_numpy()
    base = f["base"].to_numpy()
    n_c = f["n_control"].to_numpy()
    n_t = f["n_treated"].to_numpy()
    post = (g <= t) & (n_t > 0)
    use = np.flatnonzero(post & (n_c >= min_comparison))
    skipped = res.skipped.filter(pl.col("group") <= pl.col("time"))["n_treated"].sum()
    left_out = int(n_t[post & (n_c < min_comparison)].sum()) + int(skipped)
    if use.size == 0 or res.outcomes is None:
        return None
    y = res.outcomes
    n = y.shape[0]
    ti = np.searchsorted(res.periods, t[use])
    bi = np.searchsorted(res.periods, base[use])
    att = f["att"].to_numpy()[use]
    s1 = np.zeros(n)  # per employee: sum of their outcomes over their treated cells
    cnt = np.zeros(n)  # per employee: number of their treated cells (employee-months)
    dev = np.zeros(n)  # per employee: sum of (cell ATT) over their cells, for the weight term
    for k in range(use.size):
        member = (res.unit_cohort == g[use[k]]) & ~np.isnan(y[:, ti[k]]) & ~np.isnan(y[:, bi[k]])
        cnt += member
        s1 += np.where(member, y[:, ti[k]], 0.0)
        dev += member * att[k]
    total = cnt.sum()
    w = n_t[use] / total
    effect = float((w * att).sum())
    inf = res.influence[:, use] @ w + n * (dev - effect * cnt) / total
    mu1 = float(s1.sum() / total)
    inf_mu1 = n * (s1 - mu1 * cnt) / total
    counts = (int((cnt > 0).sum()), int(use.size), int(total), left_out)
    return _finish(effect, inf, mu1, inf_mu1, counts)


def _matrices(used: pl.DataFrame) -> tuple[np.ndarray, ...]:
    """Units × months: outcome (0 where unused), "before" and "at_stage" masks; cohorts."""
    units, ui = np.unique(used["unit"].to_numpy(), return_inverse=True)
    lo = int(used["period"].min())  # type: ignore[arg-type]
    ti = used["period"].to_numpy() - lo
    shape = (units.size, int(ti.max()) + 1)
    y = np.zeros(shape)
    y[ui, ti] = used["proposals"].to_numpy()
    role = used["role"].to_numpy()
    before = np.zeros(shape, dtype=bool)
    before[ui, ti] = role == "before"
    stage = np.zeros(shape, dtype=bool)
    stage[ui, ti] = role == "at_stage"
    cohort = np.zeros(units.size, dtype=np.int64)
    cohort[ui] = used["first_treated"].to_numpy() - lo  # column index of the first treated month
    cohort[ui[used["first_treated"].to_numpy() == 0]] = -1
    return y, before, stage, cohort


def _averaged(used: pl.DataFrame, base_months: int, min_comparison: int) -> _Pooled | None:
    """Each treated employee-month against the employee's own mean over their last
    ``base_months`` months at the previous stage, net of the comparison group's mean change
    over the same pairs of months (each pair a within-employee 2×2 as did.py's cells).

    τ_it = y_it − mean_{b∈B_it} y_ib − mean_{b∈B_it} Δ(b, t), Δ(b, t) = mean over comparison
    employees at the previous stage in both months b and t of y_jt − y_jb; B_it = the treated
    employee's months b ∈ [g − base_months, g − 1] at the previous stage (the completion month
    g − 1 required) with at least ``min_comparison`` comparison employees for (b, t). The
    estimate is the mean of τ_it over treated employee-months; ``base_months=1`` is did.py's
    within-unit ATT(g,t) cells pooled by employee-months.
    """
    y, before, stage, cohort = _matrices(used)
    n, periods = y.shape
    e = before.astype(float)
    ey = e * y
    pairs = e.T @ e  # pairs[b, t]: comparison employees in both months
    sums = e.T @ ey  # sums[b, t] = Σ_j E_jb E_jt y_jt
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(pairs > 0, (sums - sums.T) / pairs, 0.0)
    enough = pairs >= min_comparison
    tau_sum = np.zeros(n)  # per employee: Σ_t τ_it
    y_sum = np.zeros(n)  # per employee: Σ_t y_it over the used months
    months = np.zeros(n)  # per employee: used months
    weight = np.zeros((periods, periods))  # Σ over used (i, t) of 1/|B_it| at [b, t]
    cells: set[tuple[int, int]] = set()
    left_out = 0
    comparable = (cohort > 0) & (cohort <= periods)
    comparable[comparable] = before[np.flatnonzero(comparable), cohort[comparable] - 1]
    for g in np.unique(cohort[comparable]):  # one cohort at a time, its employees as arrays
        rows = np.flatnonzero(comparable & (cohort == g))
        base = np.arange(max(0, g - base_months), g)
        # ok[i, b, t]: base month b counts for employee i's month t at the stage
        ok = before[np.ix_(rows, base)][:, :, None] & stage[rows][:, None, :]
        ok &= enough[base][None, :, :]
        k = ok.sum(axis=1)  # rows × periods: |B_it|
        at_stage = stage[rows]
        keep = k > 0
        left_out += int((at_stage & ~keep).sum())
        share = np.where(keep[:, None, :], ok / np.maximum(k, 1)[:, None, :], 0.0)
        tau = (
            y[rows]
            - np.einsum("ibt,ib->it", share, y[np.ix_(rows, base)])
            - np.einsum("ibt,bt->it", share, delta[base])
        )
        tau_sum[rows] = np.where(keep, tau, 0.0).sum(axis=1)
        y_sum[rows] = np.where(keep, y[rows], 0.0).sum(axis=1)
        months[rows] = keep.sum(axis=1)
        weight[base] += share.sum(axis=0)
        cells.update((int(g), int(t)) for t in np.flatnonzero(keep.any(axis=0)))
    total = months.sum()
    if total == 0:
        return None
    effect = float(tau_sum.sum() / total)
    mu1 = float(y_sum.sum() / total)
    # comparison employees: −Σ_(b,t) W_bt/N · E_jb E_jt (y_jt − y_jb − Δ_bt) / pairs_bt
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(pairs > 0, weight / pairs, 0.0) / total
    comp = (ey * (e @ m)).sum(axis=1) - (ey * (e @ m.T)).sum(axis=1)
    comp -= (e * (e @ (m * delta))).sum(axis=1)
    inf = n * ((tau_sum - effect * months) / total - comp)
    inf_mu1 = n * (y_sum - mu1 * months) / total
    counts = (int((months > 0).sum()), len(cells), int(total), left_out)
    return _finish(effect, inf, mu1, inf_mu1, counts)


def _single_base(used: pl.DataFrame, min_comparison: int) -> _Pooled | None:
    """did.py's within-unit ATT(g,t) with the stage-restricted not-yet-treated comparison (one
    base month: the completion month), pooled by employee-months; None when nothing is left."""
    try:
        res = att_gt(
            used,
            unit="unit",
            time="period",
            group="first_treated",
            outcome="proposals",
            control="notyet",
            min_units=1,
            within_units=True,
        )
    except DidError:
        return None
    return _pool(res, min_comparison)


def _counts(rows: pl.DataFrame) -> tuple[int, int]:
    """(first-at-stage completers, of them not at the previous stage in their completion month)."""
    treated = rows.filter(pl.col("first_treated") > 0)
    base = treated.filter(pl.col("period") == pl.col("first_treated") - LAG_MONTHS)
    at_base = base.filter(pl.col("role") == "before")["unit"].n_unique()
    on_list = base["unit"].n_unique()
    return int(treated["unit"].n_unique()), int(on_list - at_base)


def _one(
    rows: pl.DataFrame,
    phase: int,
    course: str | None,
    min_treated: int,
    min_comparison: int,
    base_months: int = 1,
) -> dict[str, Any]:
    roles = stage_roles(rows, phase, course)
    n_completers, n_not_at_stage = _counts(roles)
    row: dict[str, Any] = {
        "course_id": course,
        "phase": phase,
        "estimand": f"{'course' if course else 'phase'}_at_stage_{phase}",
        "n_completers": n_completers,
        "n_not_at_stage": n_not_at_stage,
        "reason": None,
    }
    used = roles.filter(pl.col("role").is_not_null())
    pooled = None
    if (used["role"] == "at_stage").any():
        if base_months > 1:
            pooled = _averaged(used, base_months, min_comparison)
        else:
            pooled = _single_base(used, min_comparison)
    if pooled is None:
        row["reason"] = "no_comparison" if n_completers >= min_treated else "too_few_completers"
        return row
    row |= {
        "n_treated": pooled.n_treated,
        "n_cells": pooled.n_cells,
        "employee_months": pooled.months,
        "months_left_out": pooled.months_left_out,
    }
    if pooled.n_treated < min_treated:
        row["reason"] = "too_few_completers"
        return row
    z = float(stats.t.ppf(0.975, pooled.df)) if pooled.df > 0 else math.inf
    row |= {
        "effect": pooled.effect,
        "se": pooled.se,
        "df": pooled.df,
        "counterfactual": pooled.mu1 - pooled.effect,
        "ratio": pooled.ratio,
    }
    if pooled.ratio is not None and pooled.ratio_se is not None and pooled.ratio > 0:
        low, high = log_interval(pooled.ratio, pooled.ratio_se / pooled.ratio, z)
        row |= {"ratio_ci_low": low, "ratio_ci_high": high}
    return row


# ---------------------------------------------------------------------------------------------
# the family
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CourseEffects:
    """Per-course (or per-phase) effects with verdicts; see the module docstring.

    ``table``: one row per course (phase), columns :data:`EFFECT_COLUMNS` — effect, se,
    counterfactual and intervals in proposals per employee-month; ``df`` the t reference's
    degrees of freedom; ``ci_low``/``ci_high`` the pointwise 95% interval,
    ``ci_adj_low``/``ci_adj_high`` the Bonferroni-simultaneous one over the family; ``ratio``
    (1 = no effect) with its 95% interval; ``reason`` null when estimated, else
    ``too_few_completers`` / ``no_comparison`` (verdict ``inconclusive``, no estimate, outside
    the Holm family). ``smallest``: the smallest effect of interest (per employee-month);
    ``family_size``: the number of estimates judged together (Holm); ``alpha``: the family-wise
    level.
    """

    by: str
    table: pl.DataFrame
    smallest: float
    alpha: float
    family_size: int
    min_treated: int
    min_comparison: int

    @property
    def smallest_per_100_year(self) -> float:
        """The smallest effect of interest in proposals per 100 staff per year."""
        return self.smallest * PER_100_STAFF_YEAR

    @property
    def not_estimated(self) -> pl.DataFrame:
        """The rows that could not be estimated, with their reason."""
        return self.table.filter(pl.col("reason").is_not_null())

    def __repr__(self) -> str:
        counts = self.table["verdict"].value_counts(sort=True).rows()
        return (
            f"CourseEffects(by={self.by}, family of {self.family_size} (Holm), smallest effect "
            f"{self.smallest:.4f}/employee-month, verdicts {dict(counts)})"
        )

    def to_json_rows(self) -> list[dict[str, Any]]:
        """JSON-ready rows: the table plus ``ratio_ci`` (the estimand in words is
        :func:`dxkpi.reports.narrative.describe_estimand`)."""
        out = []
        for r in self.table.iter_rows(named=True):
            ci = (r["ratio_ci_low"], r["ratio_ci_high"])
            out.append({**r, "ratio_ci": None if ci[0] is None else list(ci)})
        return out


def _judged(rows: list[dict[str, Any]], smallest: float, alpha: float) -> pl.DataFrame:
    pairs = [None if r.get("reason") is not None else (r["effect"], r["se"], r["df"]) for r in rows]
    judgements: list[Judgement] = judge(pairs, smallest=smallest, alpha=alpha)
    for r, j in zip(rows, judgements, strict=True):
        r |= {
            "ci_low": j.ci[0] if j.ci else None,
            "ci_high": j.ci[1] if j.ci else None,
            "ci_adj_low": j.ci_adjusted[0] if j.ci_adjusted else None,
            "ci_adj_high": j.ci_adjusted[1] if j.ci_adjusted else None,
            "p": j.p,
            "p_adjusted": j.p_adjusted,
            "p_equivalence_adjusted": j.p_equivalence_adjusted,
            "mde": j.mde,
            "verdict": j.verdict,
            "below_smallest": j.below_smallest,
        }
        if r.get("reason") is None and j.p is None:
            r["reason"] = "no_comparison"  # a zero or undefined standard error
    return pl.DataFrame(
        [{k: r.get(k) for k in EFFECT_COLUMNS} for r in rows], schema=EFFECT_COLUMNS
    )


def _settings(
    smallest: float, alpha: float, min_treated: int, min_comparison: int, base_months: int
) -> None:
    if not (math.isfinite(smallest) and smallest > 0):
        raise CoursesError(
            f"最小の意味のある効果は正の数です（{smallest!r}）。",
            f"the smallest effect of interest must be positive (got {smallest!r}).",
        )
    if not 0 < alpha < 0.5 or min(min_treated, min_comparison, base_months) < 1:
        raise CoursesError(
            "alpha は 0〜0.5、min_treated・min_comparison・base_months は 1 以上です。",
            "alpha must be in (0, 0.5); min_treated, min_comparison and base_months at least 1.",
        )


def course_effects(
    data: Processed,
    *,
    smallest: float,
    alpha: float = 0.05,
    min_treated: int = 30,
    min_comparison: int = 10,
    base_months: int = 12,
    courses: Sequence[str] | None = None,
    panel: pl.DataFrame | None = None,
) -> CourseEffects:
    """Per course: the effect at its stage (see the module docstring), with its verdict.

    ``smallest``: the smallest effect of interest in proposals per employee-month (see
    :func:`per_employee_month`); ``alpha``: the family-wise level of the Holm-adjusted tests;
    ``min_treated``: fewest first-at-stage completers with a stage month in a usable cell;
    ``min_comparison``: fewest comparison employees for a pair of months; ``base_months``: how
    many months before completion may serve as the base (1 = did.py's single base month).
    ``courses``: course_ids to judge (default: every course in the course list, in phase and id
    order); ``panel``: a ready :func:`stage_panel` (to share it between calls).
    """
    _settings(smallest, alpha, min_treated, min_comparison, base_months)
    rows_panel = stage_panel(data) if panel is None else panel
    catalogue = (
        data.require("courses")
        .select("course_id", pl.col("phase").cast(pl.Int64))
        .sort("phase", "course_id")
        .collect()
    )
    if courses is not None:
        catalogue = catalogue.filter(pl.col("course_id").is_in(list(courses)))
    rows = [
        _one(rows_panel, phase, cid, min_treated, min_comparison, base_months)
        for cid, phase in catalogue.select("course_id", "phase").iter_rows()
        if phase in PHASES
    ]
    table = _judged(rows, smallest, alpha)
    m = int(table["p"].is_not_null().sum())
    return CourseEffects("course", table, smallest, alpha, m, min_treated, min_comparison)


def phase_effects(
    data: Processed,
    *,
    smallest: float,
    alpha: float = 0.05,
    min_treated: int = 30,
    min_comparison: int = 10,
    base_months: int = 12,
    panel: pl.DataFrame | None = None,
) -> CourseEffects:
    """Per phase: the effect at stage p of the first-at-stage phase-p completers, any course.

    Same estimator and verdicts as :func:`course_effects`; the three phases are their own Holm
    family.
    """
    _settings(smallest, alpha, min_treated, min_comparison, base_months)
    rows_panel = stage_panel(data) if panel is None else panel
    rows = [_one(rows_panel, p, None, min_treated, min_comparison, base_months) for p in PHASES]
    table = _judged(rows, smallest, alpha)
    m = int(table["p"].is_not_null().sum())
    return CourseEffects("phase", table, smallest, alpha, m, min_treated, min_comparison)
