"""The roll-out design on the sample city (slow: the full sample city): the estimated variance
components recover the planted noise, and the design table follows the planted roll-out."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dxkpi.ingest.processed import load_processed
from dxkpi.models.behaviour import proposal_panel
from dxkpi.models.design import (
    candidate_by_count,
    design_from_data,
    pool_of,
    predict,
    simulate_panel,
    variance_components,
)
from dxkpi.models.did import att_gt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def panel(sample_city) -> pl.DataFrame:
    # the design plans on the April staff list's panel (design_from_data drops the roster)
    data = load_processed(sample_city.processed).without("assignments")
    return proposal_panel(data, treatment="phase3")


def test_components_recover_the_planted_poisson_noise(panel, sample_city) -> None:
    """Counts are Poisson given the rate: the within-employee variance is the mean rate of the
    months before phase 3, no autocorrelation, no department × month shock."""
    truth = sample_city.truth["proposal_noise"]
    c = variance_components(panel)
    assert c.within_var == pytest.approx(truth["poisson_variance_before_phase3"], rel=0.05)
    assert abs(c.rho - truth["autocorrelation"]) < 0.03
    assert c.dept_period_var < 0.02 * c.within_var  # planted 0
    assert c.mean == pytest.approx(truth["poisson_variance_before_phase3"], rel=0.05)


def test_design_from_data_plans_the_phase_still_to_roll_out(sample_city) -> None:
    """Everyone on FY2025's list has completed phase 2, so auto plans phase 3; its own estimate
    is not positive, so power is against the phase-2 estimate (source "programme")."""
    res = design_from_data(load_processed(sample_city.processed), 2026, [8, 12, 16])
    assert res.treatment == "phase3" and res.effect_source == "programme"
    assert res.effect is not None and 0.025 < res.effect < 0.06
    mdes = [p.mde for p in res.predictions]
    assert mdes == sorted(mdes, reverse=True)  # more departments, smaller MDE
    assert res.n_pool == sum(p.n_trained + p.n_comparison for p in res.predictions) / 3
    rec = res.recommended()
    assert rec is not None and rec.power is not None and rec.power >= 0.8


def test_a_past_year_is_planned_with_what_was_known_then(sample_city) -> None:
    """Planning FY2024 uses FY2022–2023 only: phase 2 is still rolling out then, and staff
    trained from FY2024 on count as untrained."""
    data = load_processed(sample_city.processed)
    res = design_from_data(data, 2024, [8])
    panel = proposal_panel(data.without("assignments"))
    fy23 = (
        panel.filter(pl.col("fiscal_year") == 2023)
        .group_by("unit")
        .agg(pl.col("first_treated").first())
    )
    untrained = fy23.filter((pl.col("first_treated") == 0) | (pl.col("first_treated") > 24)).height
    assert res.treatment == "phase2" and res.n_pool == untrained
    assert res.effect_source == "estimated"


def test_predicted_power_matches_the_estimator_on_the_sample_city_model(panel) -> None:
    """400 panels drawn from the sample city's components, 8 departments, effect = the MDE:
    simulated rejection rate within 5 points of the predicted 80%."""
    c, pool = variance_components(panel), pool_of(panel)
    cand = candidate_by_count(pool, 8)
    effect = predict(c, pool, cand).mde
    pred = predict(c, pool, cand, effect=effect)
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(400):
        a = att_gt(
            simulate_panel(rng, c, pool, cand, effect),
            unit="unit",
            time="period",
            group="first_treated",
            outcome="proposals",
            control="notyet",
            min_units=10,
        ).aggregate("simple")
        hits += abs(a.att / a.se) > 1.959963984540054
    assert pred.power == pytest.approx(0.8, abs=1e-6)
    assert abs(hits / 400 - pred.power) <= 0.05
