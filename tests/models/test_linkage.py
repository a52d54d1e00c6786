"""KPI→KGI link: the lagged panel model, its sentences, and a run on the sample city."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from dxkpi.ingest.processed import load_processed
from dxkpi.kpi.engine import compute_kpi
from dxkpi.models.linkage import (
    DEFAULT_KGIS,
    PANEL_KPIS,
    LinkError,
    LinkResult,
    kpi_kgi_link,
    lagged_frame,
    link_all,
    link_panel,
)
from dxkpi.reports.narrative import describe_link, effect_of_step


def _panel(
    slope: float = 0.5, n_dept: int = 30, years: int = 5, noise: float = 0.02, seed: int = 0
) -> pl.DataFrame:
    """KGI(d,t) = a_d + l_t + slope·KPI(d,t−1) + e, KPI in ratio units."""
    rng = np.random.default_rng(seed)
    d = np.repeat(np.arange(n_dept), years)
    t = np.tile(np.arange(2020, 2020 + years), n_dept)
    kpi = rng.uniform(0.1, 0.9, d.size)
    frame = pl.DataFrame(
        {"department_code": [f"D{i:02d}" for i in d], "fiscal_year": t, "participation_rate": kpi}
    ).with_columns(pl.col("fiscal_year").cast(pl.Int32))
    lagged = frame.with_columns(pl.col("participation_rate").shift(1).over("department_code"))
    a = rng.normal(0.5, 0.05, n_dept)[d]
    year = 0.01 * (t - 2020)
    kgi = (
        a
        + year
        + slope * lagged["participation_rate"].fill_null(0).to_numpy()
        + rng.normal(0, noise, d.size)
    )
    return frame.with_columns(resident_satisfaction=pl.Series(kgi))


def test_recovers_the_planted_slope_with_fixed_effects() -> None:
    r = kpi_kgi_link(_panel(), "resident_satisfaction", kpis=("participation_rate",))
    c = r.coefficients.row(0, named=True)
    assert c["ci_low"] < 0.5 < c["ci_high"]
    assert r.n_obs == 30 * 4 and r.n_departments == 30
    assert r.years == (2021, 2022, 2023, 2024)
    assert 0.5 < r.within_r2 <= 1.0
    assert r.dropped_singletons == 0


def test_point_estimate_matches_a_dummy_variable_regression() -> None:
    panel = _panel(noise=0.1, seed=4)
    r = kpi_kgi_link(panel, "resident_satisfaction", kpis=("participation_rate",))
    rows = lagged_frame(panel, "resident_satisfaction", ["participation_rate"], 1)
    x = rows.to_dummies(["department_code", "fiscal_year"], drop_first=True)
    cols = ["participation_rate"] + [
        c for c in x.columns if c.startswith(("department_code_", "fiscal_year_"))
    ]
    fit = sm.OLS(x["_kgi"].to_numpy(), sm.add_constant(x.select(cols).to_numpy())).fit()
    assert r.coefficients["coef"][0] == pytest.approx(fit.params[1], rel=1e-9)
    assert math.isfinite(r.within_r2)


def test_singleton_departments_are_dropped_and_missing_values_left_out() -> None:
    panel = _panel().with_columns(
        pl.when((pl.col("department_code") == "D00") & (pl.col("fiscal_year") > 2021))
        .then(None)
        .otherwise(pl.col("resident_satisfaction"))
        .alias("resident_satisfaction")
    )
    r = kpi_kgi_link(panel, "resident_satisfaction", kpis=("participation_rate",))
    assert r.n_departments == 29 and r.dropped_singletons == 1
    assert r.n_obs == 29 * 4


def test_errors() -> None:
    with pytest.raises(LinkError, match="unknown"):
        kpi_kgi_link(_panel(), "resident_satisfaction", kpis=("nonsense",))
    with pytest.raises(LinkError, match="too few"):
        kpi_kgi_link(_panel(n_dept=2), "resident_satisfaction", kpis=("participation_rate",))
    with pytest.raises(LinkError, match="lag"):
        kpi_kgi_link(_panel(), "resident_satisfaction", kpis=("participation_rate",), lag=-1)


def _result(
    coef: float,
    lo: float,
    hi: float,
    kpi: str = "participation_rate",
    kgi: str = "resident_satisfaction",
) -> LinkResult:
    coefs = pl.DataFrame(
        {"kpi": [kpi], "coef": [coef], "se": [0.05], "ci_low": [lo], "ci_high": [hi], "p": [0.1]}
    )
    return LinkResult(
        kgi=kgi,
        kpis=(kpi,),
        lag=1,
        coefficients=coefs,
        n_obs=120,
        n_departments=40,
        years=(2023, 2024, 2025),
        within_r2=0.1,
        dropped_singletons=0,
    )


def test_sentence_when_the_interval_includes_zero() -> None:
    lines = describe_link(_result(0.08, -0.02, 0.18))
    assert lines[0].startswith(
        "研修参加率が10ポイント高い所属では、翌年度の住民満足度が平均0.8ポイント高い傾向"
        "（95%信頼区間 −0.2〜1.8、所属40・観測120）"
    )
    assert "はっきりした関連は見られません" in lines[0]
    assert any("因果関係を示すものではなく関連です" in s for s in lines)


def test_sentence_when_the_interval_excludes_zero_and_negative() -> None:
    lines = describe_link(_result(0.08, 0.02, 0.14))
    assert "はっきりした関連は見られません" not in lines[0]
    assert any("因果関係を示すものではなく関連です" in s for s in lines)
    neg = describe_link(_result(-0.08, -0.14, -0.02))
    assert "0.8ポイント低い傾向" in neg[0]
    hours = describe_link(_result(1000.0, 400.0, 1900.0, kgi="hours_saved"))
    assert "業務削減時間が平均100時間高い傾向" in hours[0]
    per100 = describe_link(_result(0.0005, -0.0003, 0.0013, kpi="proposals_per_100"))
    assert per100[0].startswith("提案件数（100人当たり）が10件高い所属では")
    assert effect_of_step(
        {"kpi": "proposals_per_100", "coef": 0.001, "ci_low": 0.0, "ci_high": 0.002},
        "resident_satisfaction",
    ) == pytest.approx((1.0, 0.0, 2.0))


def test_sentence_in_english() -> None:
    lines = describe_link(_result(0.08, -0.02, 0.18), "en")
    assert "10 percentage points higher" in lines[0]
    assert "0.8 percentage points higher" in lines[0]
    assert "-0.2 to 1.8" in lines[0]
    assert "no clear association" in lines[0]
    assert lines[-1] == "This is an association, not proof of cause."
    assert "no clear association" not in describe_link(_result(0.08, 0.02, 0.14), "en")[0]


# --------------------------------------------------------------------------- the sample city


@pytest.fixture(scope="module")
def city(sample_city):
    return load_processed(sample_city.processed)


@pytest.fixture(scope="module")
def panel(city):
    return link_panel(city)


def test_sample_city_panel_uses_unsuppressed_engine_values(city, panel) -> None:
    n_dept = city.departments.select(pl.len()).collect().item()
    years = city.fiscal_years()
    assert panel.height == n_dept * len(years)
    assert set(PANEL_KPIS) | set(DEFAULT_KGIS) <= set(panel.columns)
    engine = compute_kpi(city, "participation_rate", years, "department").collect()
    joined = panel.join(
        engine.select(pl.col("group").alias("department_code"), "fiscal_year", pl.col("value")),
        on=["department_code", "fiscal_year"],
    )
    assert joined.height == panel.height
    assert (joined["participation_rate"] - joined["value"]).abs().max() == 0
    assert panel["participation_rate"].null_count() == 0  # no cell blanked for display


def test_sample_city_links_run_and_are_finite(panel) -> None:
    for kgi in DEFAULT_KGIS:
        r = kpi_kgi_link(panel, kgi)
        assert r.n_obs > r.n_departments >= 3
        assert r.coefficients.height == 2
        for col in ("coef", "se", "ci_low", "ci_high"):
            assert all(math.isfinite(v) for v in r.coefficients[col])
        text = describe_link(r)
        assert len(text) == 4 and "因果関係" in text[-1]
    results, failed = link_all(panel)
    assert len(results) + failed.height == len(DEFAULT_KGIS) * len(PANEL_KPIS)
    assert len(results) >= 6
