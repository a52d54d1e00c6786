"""The sensitivity analysis and the Bacon decomposition on the sample city (slow: the full
sample city). Its planted effect is real and its parallel trends hold by construction."""

from __future__ import annotations

import polars as pl
import pytest

from dxkpi.ingest.processed import load_processed
from dxkpi.models.bacon import bacon
from dxkpi.models.behaviour import proposal_panel
from dxkpi.models.contrasts import twfe
from dxkpi.models.did import att_gt
from dxkpi.models.sensitivity import event_study, relative_magnitudes

pytestmark = pytest.mark.slow

COLS = {"unit": "unit", "time": "period", "group": "first_treated", "outcome": "proposals"}


@pytest.fixture(scope="module")
def panel(sample_city) -> pl.DataFrame:
    return proposal_panel(load_processed(sample_city.processed), period="month")


def test_breakdown_value_is_positive_for_the_planted_effect(panel) -> None:
    """Monthly event study (universal base, six months either side of training): the average
    effect of the first six months stays distinguishable from 0 under some post-training
    violation of parallel trends (M̄ > 0)."""
    res = att_gt(panel, **COLS, control="notyet", min_units=10, base_period="universal")
    es = event_study(res, pre=6, post=6)
    assert es.event_times == (-7, -6, -5, -4, -3, -2, 0, 1, 2, 3, 4, 5)
    rm = relative_magnitudes(es, [0.0, 0.5], target="average", grid_points=30)
    assert rm.sets[0].excludes_zero
    assert rm.breakdown is not None and rm.breakdown > 0


def test_bacon_reproduces_the_twfe_estimate_of_the_balanced_monthly_panel(panel) -> None:
    """The monthly panel follows the staff list (entries and exits), so it is balanced first:
    the staff observed in every month. On that panel Σ w·β is the TWFE estimate."""
    res = bacon(panel, **COLS, balance=True)
    assert res.dropped_units > 0
    n_periods = panel["period"].n_unique()
    kept = panel.filter(pl.len().over("unit") == n_periods)
    assert res.n_units == kept["unit"].n_unique()
    assert res.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert res.estimate == pytest.approx(twfe(kept, **COLS).estimate, abs=1e-9)
    assert 0 <= res.forbidden_share < 1
