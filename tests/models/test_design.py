"""The roll-out design: hand-computed variances of the simple ATT, recovery of planted variance
components, predicted against simulated power through the real ``att_gt``, plans and errors."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from dxkpi.models.design import (
    Candidate,
    DesignError,
    VarianceComponents,
    candidate_by_count,
    candidates_from_toml,
    design_weights,
    plan_design,
    predict,
    simulate_panel,
    variance_components,
)
from dxkpi.models.did import att_gt

Z = stats.norm.ppf(0.975)


def comp(
    s2: float = 1.0, rho: float = 0.0, tau2: float = 0.0, grows: bool = False
) -> VarianceComponents:
    return VarianceComponents(
        within_var=s2,
        rho=rho,
        dept_period_var=tau2,
        between_var=0.0,
        mean=1.0,
        n_employees=0,
        n_obs=0,
        lags=(),
        variogram=(),
        mean_variance=grows,
    )


POOL = (("T", 40), ("C", 60))
ONE_WAVE = Candidate("t", waves=((1, ("T",)),))


def test_one_cell_white_noise_and_ar1_by_hand() -> None:
    """One post cell (pre 2, post 2: treated from period 4, base 3): ATT = Δȳ_T − Δȳ_C,
    Var = 2σ²(1 − ρ)(1/n_T + 1/n_C)."""
    for rho in (0.0, 0.4):
        p = predict(comp(2.0, rho), POOL, ONE_WAVE, pre_periods=2, post_periods=2)
        want = 2 * 2.0 * (1 - rho) * (1 / 40 + 1 / 60)
        assert p.n_cells == 1
        assert p.se**2 == pytest.approx(want, rel=1e-12)
        assert p.sd == pytest.approx(p.se, rel=1e-12)
        assert (p.n_trained, p.n_comparison, p.n_departments) == (40, 60, 1)


def test_two_cells_ar1_by_hand() -> None:
    """Two post cells of one cohort against never-treated staff: per unit weights −1 at the base,
    ½ at each post month (÷ n): w'Γw = σ²(1.5 − 0.5ρ − ρ²)/n²."""
    rho = 0.3
    p = predict(comp(1.0, rho), POOL, ONE_WAVE, pre_periods=2, post_periods=3)
    per = 1.5 - 0.5 * rho - rho**2
    assert p.n_cells == 2
    assert p.se**2 == pytest.approx(per * (1 / 40 + 1 / 60), rel=1e-12)


def test_department_shocks_by_hand() -> None:
    """τ² shared by a department's staff: the true variance adds τ²·Σ_c Σ_t (Σ_i w_it)² = 4τ²
    (one treated, one comparison department, one cell); the SE by employee sees only
    τ²·Σ_i Σ_t w_it² = 2τ²(1/n_T + 1/n_C)."""
    tau2 = 0.05
    p = predict(comp(1.0, 0.0, tau2), POOL, ONE_WAVE, pre_periods=2, post_periods=2)
    base = 2 * (1 / 40 + 1 / 60)
    assert p.sd**2 == pytest.approx(base + 4 * tau2, rel=1e-12)
    assert p.se**2 == pytest.approx(base + 2 * tau2 * (1 / 40 + 1 / 60), rel=1e-12)


def test_mde_is_2_8_se_and_power_formula() -> None:
    p = predict(comp(), POOL, ONE_WAVE, effect=0.3, pre_periods=2, post_periods=2)
    assert p.mde == pytest.approx((Z + stats.norm.ppf(0.8)) * p.se, rel=1e-3)  # ≈ 2.80·SE
    want = stats.norm.cdf(0.3 / p.se - Z) + stats.norm.cdf(-0.3 / p.se - Z)
    assert p.power == pytest.approx(want, rel=1e-12)
    assert p.mde_per_100 == pytest.approx(1200 * p.mde)


def test_variance_growing_with_the_mean_by_hand() -> None:
    """Counts: trained staff whose mean (1) rises by δ = 0.5 have noise variance ×1.5 from their
    first treated month. One cell: Var = (σ²·1.5 + σ²)/n_T + 2σ²/n_C; with no effect as before."""
    p = predict(comp(grows=True), POOL, ONE_WAVE, effect=0.5, pre_periods=2, post_periods=2)
    assert p.se**2 == pytest.approx(2 * (1 / 40 + 1 / 60), rel=1e-12)  # reported at δ = 0
    sd = math.sqrt(2.5 / 40 + 2 / 60)
    want = stats.norm.cdf(0.5 / sd - Z) + stats.norm.cdf(-0.5 / sd - Z)  # se = sd at δ
    assert p.power == pytest.approx(want, rel=1e-9)
    flat = predict(comp(), POOL, ONE_WAVE, effect=0.5, pre_periods=2, post_periods=2)
    assert p.mde > flat.mde and p.power is not None and flat.power is not None
    assert p.power < flat.power


def test_weights_not_yet_treated_and_min_units() -> None:
    """Cohorts 3 (10 units) and 4 (20) with 30 never-treated over 4 periods. Cell (3,3): control
    = cohort 4 + never (50); (3,4): never (30); (4,4): never. Weights pg: 10, 10, 20 of 40."""
    w, n = design_weights({3: 10, 4: 20, 0: 30}, 4, min_units=10)
    assert n == 3
    # a cohort-3 unit: cells (3,3) and (3,4) weigh 10/40 each, base period 2
    np.testing.assert_allclose(w[3], [0, -0.5 / 10, 0.25 / 10, 0.25 / 10])
    # a cohort-4 unit: treated in (4,4) (20/40, base 3), comparison in (3,3) (base 2)
    np.testing.assert_allclose(w[4], [0, 0.25 / 50, -0.25 / 50 - 0.5 / 20, 0.5 / 20])
    np.testing.assert_allclose([x.sum() for x in w.values()], 0, atol=1e-15)
    # cohort 3 below min_units: its cells are left out
    w, n = design_weights({3: 5, 4: 20, 0: 30}, 4, min_units=10)
    assert n == 1 and not w[3].any()
    # no never-treated: the latest cohort only compares, its periods on are dropped
    w, n = design_weights({3: 10, 4: 20}, 4, min_units=10)
    assert n == 1 and w[4][3] == 0


def test_candidate_by_count_takes_the_largest_round_robin() -> None:
    pool = (("a", 50), ("b", 40), ("c", 30), ("d", 20), ("e", 10))
    c = candidate_by_count(pool, 4)
    assert c.waves == ((1, ("a", "d")), (5, ("b",)), (9, ("c",)))
    assert c.name == "4" and c.departments == ("a", "d", "b", "c")
    with pytest.raises(DesignError) as err:
        candidate_by_count(pool, 6)
    assert "1–5" in err.value.en and "1〜5" in err.value.ja


def test_staff_per_department_caps_the_trained() -> None:
    cand = Candidate("cap", waves=((1, ("T",)),), staff_per_department=15)
    p = predict(comp(), POOL, cand, pre_periods=2, post_periods=2)
    assert (p.n_trained, p.n_comparison) == (15, 85)
    assert p.se**2 == pytest.approx(2 * (1 / 15 + 1 / 85))


def test_plan_errors_are_bilingual() -> None:
    with pytest.raises(DesignError) as err:
        predict(comp(), POOL, Candidate("x", ((12, ("T",)),)))
    assert "1 = April" in err.value.en and "4月" in err.value.ja
    with pytest.raises(DesignError) as err:
        predict(comp(), POOL, Candidate("x", ((1, ("Z",)),)))
    assert "Z" in err.value.en
    with pytest.raises(DesignError) as err:
        predict(comp(), (("T", 5), ("C", 60)), Candidate("x", ((1, ("T",)),)))
    assert "no month can be compared" in err.value.en
    with pytest.raises(DesignError):
        candidates_from_toml({"plan": [{"name": "a", "wave": [{"month": "x"}]}]})
    plans = candidates_from_toml(
        {
            "plan": [
                {
                    "name": "A",
                    "staff_per_department": 20,
                    "wave": [{"month": 1, "departments": ["T"]}, {"month": 6, "departments": []}],
                }
            ]
        }
    )
    assert plans == (Candidate("A", ((1, ("T",)), (6, ())), 20),)


def _planted_panel(rng: np.random.Generator) -> pl.DataFrame:
    """24 departments × 25 staff, 36 months, σ² 0.5, ρ 0.3, τ² 0.02, employee levels of variance
    1; a third of departments trained from month 20 (the estimator uses untrained months)."""
    n_d, per, months = 24, 25, 36
    n = n_d * per
    dept = np.repeat(np.arange(n_d), per)
    e = np.empty((n, months))
    e[:, 0] = rng.normal(0, math.sqrt(0.5), n)
    for t in range(1, months):
        e[:, t] = 0.3 * e[:, t - 1] + rng.normal(0, math.sqrt(0.5 * (1 - 0.09)), n)
    shock = rng.normal(0, math.sqrt(0.02), (n_d, months))
    y = rng.normal(0, 1, (n, 1)) + np.linspace(0, 1, months) + shock[dept] + e
    g = np.where(dept % 3 == 0, 20, 0)
    t_idx = np.arange(1, months + 1)
    y = y + 5.0 * ((g[:, None] > 0) & (t_idx >= g[:, None]))  # a big effect, to be ignored
    return pl.DataFrame(
        {
            "unit": np.repeat(np.arange(n), months),
            "period": np.tile(t_idx, n),
            "fiscal_year": np.tile(2023 + (t_idx - 1) // 12, n),
            "department_code": np.repeat(dept.astype(str), months),
            "first_treated": np.repeat(g, months),
            "proposals": y.ravel(),
        }
    )


def test_variance_components_recover_planted_values() -> None:
    panel = _planted_panel(np.random.default_rng(3))
    c = variance_components(panel)
    assert c.within_var == pytest.approx(0.5, rel=0.05)
    assert c.rho == pytest.approx(0.3, abs=0.03)
    assert c.dept_period_var == pytest.approx(0.02, rel=0.25)
    assert c.between_var == pytest.approx(1.0, rel=0.2)
    assert c.n_employees == 600
    # untreated rows only: the planted +5 is not in the variance
    assert c.mean < 1.5


def test_plan_design_pool_and_year() -> None:
    panel = _planted_panel(np.random.default_rng(4))
    res = plan_design(panel, 2026, [4, 8], effect=0.2)
    assert len(res.pool) == 16 and res.n_pool == 400  # untrained departments of the last year
    assert [p.n_trained for p in res.predictions] == [100, 200]
    assert res.predictions[1].mde < res.predictions[0].mde
    between = (res.predictions[0].mde + res.predictions[1].mde) / 2  # 4 misses it, 8 sees it
    again = plan_design(panel, 2026, [8, 4], effect=between)
    rec = again.recommended()
    assert rec is not None and rec.candidate.name == "8"
    assert [p.power is not None and p.power >= 0.8 for p in again.predictions] == [True, False]
    assert plan_design(panel, 2026, [4], effect=between).recommended() is None
    js = res.to_json_dict()
    assert js["candidates"][0]["waves"][0]["month"] == 1 and js["effect_source"] == "given"
    with pytest.raises(DesignError) as err:
        plan_design(panel, 2025, [4])
    assert "2025" in err.value.en


def _simulated_power(c: VarianceComponents, pool, cand, effect, reps, seed) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        res = att_gt(
            simulate_panel(rng, c, pool, cand, effect, pre_periods=4, post_periods=8),
            unit="unit",
            time="period",
            group="first_treated",
            outcome="proposals",
            control="notyet",
            min_units=10,
        )
        a = res.aggregate("simple")
        hits += abs(a.att / a.se) > Z
    return hits / reps


def test_predicted_power_matches_the_estimator_fast() -> None:
    """Few draws, loose: 6 departments of 20–40, two waves, σ² 1, ρ 0.2 (120 panels: Monte-Carlo
    SE about 4.5 points; the benchmark checks 5 points with 1,000)."""
    pool = (("a", 40), ("b", 35), ("c", 30), ("d", 30), ("e", 25), ("f", 20))
    c = comp(1.0, 0.2)
    cand = candidate_by_count(pool, 4, wave_months=(1, 4))
    pred = predict(c, pool, cand, effect=0.0, pre_periods=4, post_periods=8)
    effect = pred.mde * 0.8
    pred = predict(c, pool, cand, effect=effect, pre_periods=4, post_periods=8)
    assert pred.power is not None and 0.5 < pred.power < 0.8
    sim = _simulated_power(c, pool, cand, effect, reps=120, seed=1)
    assert abs(sim - pred.power) < 0.13


@pytest.mark.slow
def test_predicted_power_matches_the_estimator_with_department_shocks() -> None:
    """600 panels (Monte-Carlo SE about 2 points) with department × month shocks: the SE by
    employee is too small and the prediction follows the rejection rate within 5 points."""
    pool = tuple((str(i), 30) for i in range(12))
    c = comp(1.0, 0.2, tau2=0.03)
    cand = candidate_by_count(pool, 6, wave_months=(1, 4))
    effect = predict(c, pool, cand, pre_periods=4, post_periods=8).mde
    pred = predict(c, pool, cand, effect=effect, pre_periods=4, post_periods=8)
    assert pred.sd > 1.3 * pred.se
    sim = _simulated_power(c, pool, cand, effect, reps=600, seed=2)
    assert pred.power is not None and abs(sim - pred.power) <= 0.05
