"""KPI→KGI link: the lagged panel model, its sentences, and a run on the sample city."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from dxkpi.ingest.processed import load_processed
from dxkpi.kpi.engine import compute_kpi
from dxkpi.models.linkage import (
    DEFAULT_KGIS,
    FEW_DEPARTMENTS,
    PANEL_KPIS,
    LinkError,
    LinkResult,
    kpi_kgi_link,
    lagged_frame,
    link_all,
    link_panel,
    with_holm,
)
from dxkpi.models.verdicts import holm
from dxkpi.reports.narrative import describe_link, effect_of_step
from dxkpi.reports.views import link_table


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


def test_clustered_se_is_fixest_default_by_hand() -> None:
    """fixest's default ``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE, t.df="min")`` by
    hand on a dummy-variable regression: V = G/(G−1)·(n−1)/(n−K)·sandwich with K = slopes +
    years (the department effects are nested in the department clusters and not counted; the
    year effects count all T levels, as fixest's ``nparams − (D − 1)``), t with G − 1 df."""
    panel = _panel(noise=0.1, seed=4, n_dept=12, years=4)
    r = kpi_kgi_link(panel, "resident_satisfaction", kpis=("participation_rate",))
    rows = lagged_frame(panel, "resident_satisfaction", ["participation_rate"], 1)
    dummies = rows.to_dummies(["department_code", "fiscal_year"], drop_first=True)
    cols = ["participation_rate"] + [
        c for c in dummies.columns if c.startswith(("department_code_", "fiscal_year_"))
    ]
    x = np.column_stack([np.ones(rows.height), dummies.select(cols).to_numpy()])
    y = rows["_kgi"].to_numpy()
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    e = y - x @ beta
    codes = rows["department_code"].to_list()
    meat = np.zeros((x.shape[1], x.shape[1]))
    for code in set(codes):
        s = x[[c == code for c in codes]].T @ e[[c == code for c in codes]]
        meat += np.outer(s, s)
    n, g, years = rows.height, 12, 3
    assert r.years == (2021, 2022, 2023) and n == 36
    k = 1 + years
    se = math.sqrt((bread @ meat @ bread)[1, 1] * g / (g - 1) * (n - 1) / (n - k))
    c = r.coefficients.row(0, named=True)
    assert c["se"] == pytest.approx(se, rel=1e-9)
    assert c["p"] == pytest.approx(2 * stats.t.sf(abs(beta[1] / se), g - 1), rel=1e-9)
    half = stats.t.ppf(0.975, g - 1) * se
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((beta[1] - half, beta[1] + half))
    # statsmodels' cluster correction on the department-demeaned design (what this module did
    # before) counts K = slopes + years − 1: an SE smaller by √((n − K) / (n − K + 1))
    within = rows.with_columns(
        (pl.col(c) - pl.col(c).mean().over("department_code")).alias(c)
        for c in ["_kgi", "participation_rate"]
    )
    year_dummies = dummies.select(c for c in cols if c.startswith("fiscal_year_")).to_numpy()
    year_dummies = year_dummies - np.array(
        [year_dummies[[c == code for c in codes]].mean(axis=0) for code in codes]
    )
    old = sm.OLS(
        within["_kgi"].to_numpy(),
        np.column_stack([within["participation_rate"].to_numpy(), year_dummies]),
    ).fit(cov_type="cluster", cov_kwds={"groups": rows["department_code"].rank("dense").to_numpy()})
    assert old.bse[0] / se == pytest.approx(math.sqrt((n - k) / (n - k + 1)), rel=1e-9)
    assert old.bse[0] / se == pytest.approx(0.9847, abs=1e-4)


def test_holm_across_every_link_and_the_verdict_uses_it() -> None:
    panel = _panel(slope=0.05, noise=0.1, seed=2, n_dept=12).with_columns(
        hours_saved=pl.col("resident_satisfaction") * 100,
        proposals_per_100=pl.col("participation_rate").reverse(),
    )
    links, failed = link_all(
        panel,
        kgis=("resident_satisfaction", "hours_saved"),
        kpis=("participation_rate", "proposals_per_100"),
    )
    assert failed.height == 0 and len(links) == 4
    raw = [float(link.coefficients["p"][0]) for link in links]
    assert [float(link.coefficients["p_adjusted"][0]) for link in links] == pytest.approx(holm(raw))
    assert all(link.n_tests == 4 for link in links)
    for link in links:
        row = link.coefficients.row(0, named=True)
        assert row["associated"] == (row["p_adjusted"] < 0.05)
    # a single model adjusts over its own KPIs only
    one = kpi_kgi_link(panel, "resident_satisfaction", kpis=("participation_rate",))
    assert one.n_tests == 1
    assert one.coefficients["p_adjusted"][0] == one.coefficients["p"][0]
    # the same link judged alone and among four: the adjusted p is never smaller
    again = with_holm([one, *links[1:]])
    assert again[0].coefficients["p_adjusted"][0] >= one.coefficients["p"][0]


def test_few_departments_carry_a_caution_in_data_and_words() -> None:
    few = kpi_kgi_link(
        _panel(n_dept=FEW_DEPARTMENTS - 1), "resident_satisfaction", kpis=("participation_rate",)
    )
    enough = kpi_kgi_link(
        _panel(n_dept=FEW_DEPARTMENTS), "resident_satisfaction", kpis=("participation_rate",)
    )
    assert few.cautions == ("few_departments",) and enough.cautions == ()
    assert any("所属が19と少ない（20未満）" in s for s in describe_link(few))
    assert any("only 19 departments" in s for s in describe_link(few, "en"))
    assert not any("注意" in s for s in describe_link(enough))
    table = link_table([few, enough])
    assert table["読み方"].to_list() == [
        "関連あり（所属数が少なく（20未満）、区間や判定が不安定です）",
        "関連あり",
    ]


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
    p_adjusted: float | None = None,
) -> LinkResult:
    clear = lo > 0 or hi < 0
    coefs = pl.DataFrame(
        {
            "kpi": [kpi],
            "coef": [coef],
            "se": [0.05],
            "ci_low": [lo],
            "ci_high": [hi],
            "p": [0.01 if clear else 0.3],
            "p_adjusted": [p_adjusted if p_adjusted is not None else 0.03 if clear else 0.9],
            "associated": [clear if p_adjusted is None else p_adjusted < 0.05],
        }
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
        n_tests=9,
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


def test_sentence_when_only_the_adjustment_makes_it_unclear() -> None:
    lines = describe_link(_result(0.08, 0.02, 0.14, p_adjusted=0.27))
    assert "同時に調べた9件の関連を考慮すると（Holm法で補正した p=0.27）" in lines[0]
    assert "はっきりした関連とは言えません" in lines[0]
    en = describe_link(_result(0.08, 0.02, 0.14, p_adjusted=0.27), "en")
    assert "with 9 links examined at once (Holm-adjusted p = 0.27)" in en[0]
    assert link_table([_result(0.08, 0.02, 0.14, p_adjusted=0.27)])["読み方"][0] == "はっきりしない"
    assert link_table([_result(0.08, 0.02, 0.14)], "en")["reading"][0] == "associated"


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
        assert len(text) == 4 + len(r.cautions) and "因果関係" in text[-1]
        assert any("注意: 所属が" in s for s in text) == (r.n_departments < 20)
    results, failed = link_all(panel)
    assert len(results) + failed.height == len(DEFAULT_KGIS) * len(PANEL_KPIS)
    assert len(results) >= 6
    p = [v for r in results for v in r.coefficients["p"]]
    adjusted = [v for r in results for v in r.coefficients["p_adjusted"]]
    assert adjusted == pytest.approx(holm(p))
    assert all(r.n_tests == len(p) for r in results)
    for r in results:
        assert r.cautions == (("few_departments",) if r.n_departments < 20 else ())
