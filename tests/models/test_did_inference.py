"""DiD inference: the pre-test's small-cohort rule and detectable trend, clustered inference."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from dxkpi.models.did import (
    PRETEST_UNITS_PER_CELL,
    DidError,
    att_gt,
    multiplier_bootstrap,
)

COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}


def panel(sizes: dict[int, int], periods: int, seed: int, *, slope: float = 0.0) -> pl.DataFrame:
    """Cohort → units; parallel trends except a linear pre-trend ``slope`` for treated cohorts."""
    rng = np.random.default_rng(seed)
    g = np.concatenate([np.full(n, c) for c, n in sizes.items()])
    t = np.arange(1, periods + 1)
    y = (
        rng.normal(size=(g.size, 1))
        + 0.2 * t
        + rng.normal(size=(g.size, periods))
        + slope * (g[:, None] > 0) * t
    )
    return pl.DataFrame(
        {
            "id": np.repeat(np.arange(g.size), periods),
            "t": np.tile(t, g.size),
            "g": np.repeat(g, periods),
            "y": y.ravel(),
        }
    )


def test_small_cohort_left_out_of_the_pretest_with_reason() -> None:
    # cohort 7 has 5 pre cells (t = 2..6) and 5 units: 5 < max(30, 20 × 5)
    df = panel({7: 5, 4: 150, 0: 150}, 8, seed=1)
    res = att_gt(df, **COLS, min_units=1)
    pt = res.pretest()
    assert pt.cohorts == (4,)
    assert pt.df == 2  # cohort 4's pre cells: t = 2, 3
    ((g, units, reason),) = pt.excluded
    assert (g, units) == (7, 5)
    assert f"fewer than {5 * PRETEST_UNITS_PER_CELL}" in reason
    js = pt.to_json_dict()
    assert js["excluded_cohorts"][0]["group"] == 7 and js["excluded_cohorts"][0]["n_units"] == 5
    assert "left out" in pt.sentence() and "7 (5 units)" in pt.sentence()
    # R's test keeps it
    r_like = att_gt(df, **COLS, min_units=1, pretest_min_units=0).pretest()
    assert r_like.df == 7 and r_like.excluded == ()
    # a large enough cohort is kept
    big = att_gt(panel({7: 100, 4: 150, 0: 150}, 8, seed=1), **COLS).pretest()
    assert big.cohorts == (4, 7) and big.df == 7


def test_pretest_size_with_a_small_cohort() -> None:
    # with no pre-trend R's test rejects most of the time; the default keeps its level
    r_rej = rej = 0
    for seed in range(40):
        df = panel({7: 5, 4: 150, 0: 150}, 8, seed=100 + seed)
        res = att_gt(df, **COLS, min_units=1)
        rej += res.pretest().p < 0.05
        r_rej += att_gt(df, **COLS, min_units=1, pretest_min_units=0).pretest().p < 0.05
    assert r_rej >= 20  # about 85% expected
    assert rej <= 7  # about 5% expected: P(> 7 of 40) < 1%


def test_minimum_detectable_slope_one_pre_cell() -> None:
    # one pre cell (3, 2) compares period 2 with 1: a linear trend δ gives ATT δ, so the test is
    # |ATT/se| > 1.96 and 80% power needs δ = (1.96 + 0.8416…)·se (the far tail is negligible)
    df = panel({3: 200, 0: 200}, 4, seed=2)
    res = att_gt(df, **COLS)
    pt = res.pretest()
    se = res.attgt.filter((pl.col("group") == 3) & (pl.col("time") == 2))["se"].item()
    assert pt.df == 1
    assert pt.min_detectable_slope == pytest.approx(2.8016 * se, rel=1e-3)
    assert "per period" in pt.sentence()


def test_planted_pretrend_of_twice_the_detectable_slope_is_detected() -> None:
    null = att_gt(panel({5: 200, 4: 200, 0: 200}, 6, seed=3), **COLS).pretest()
    slope = 2 * null.min_detectable_slope
    trend = att_gt(panel({5: 200, 4: 200, 0: 200}, 6, seed=3, slope=slope), **COLS).pretest()
    assert trend.p < 0.01
    assert null.min_detectable_slope < 0.3


def departments(seed: int, n_dept: int = 8, effect: float = 0.5) -> pl.DataFrame:
    """Departments in 3 waves (periods 3, 4, 5) and never; department × period shocks."""
    rng = np.random.default_rng(seed)
    waves = np.array([3, 4, 5, 0])[np.arange(n_dept) % 4]
    dept = np.repeat(np.arange(n_dept), 25)
    g = waves[dept]
    t = np.arange(1, 7)
    shock = rng.normal(0, 0.5, size=(n_dept, 6))
    y = (
        rng.normal(size=(dept.size, 1))
        + 0.2 * t
        + shock[dept]
        + rng.normal(size=(dept.size, 6))
        + effect * ((g[:, None] > 0) & (t >= g[:, None]))
    )
    return pl.DataFrame(
        {
            "id": np.repeat(np.arange(dept.size), 6),
            "t": np.tile(t, dept.size),
            "g": np.repeat(g, 6),
            "dept": np.repeat([f"D{d}" for d in dept], 6),
            "y": y.ravel(),
        }
    )


def test_wild_cluster_bootstrap_few_clusters() -> None:
    df = departments(4)
    a = att_gt(df, **COLS, cluster="dept", seed=11)
    b = att_gt(df, **COLS, cluster="dept", seed=11)
    c = att_gt(df, **COLS, cluster="dept", seed=12)
    assert a.inference.method == "cluster" and a.inference.n_clusters == 8
    assert a.inference.df == 7 and a.inference.crit == pytest.approx(2.3646, abs=1e-4)
    assert a.bootstrap is not None and a.bootstrap.weights == "webb"
    assert a.bootstrap.draws == 999 and a.bootstrap.clusters == 8
    sa, sb, sc = (r.aggregate("simple") for r in (a, b, c))
    assert sa.se_boot == sb.se_boot and sa.se_boot != sc.se_boot  # deterministic with a seed
    assert sa.se_boot == pytest.approx(sa.se, rel=0.3)
    lo, hi = sa.ci
    assert lo < 0.5 < hi  # the planted effect
    assert hi - lo == pytest.approx(2 * 2.3646 * sa.se, rel=1e-4)  # t(7) interval
    # department shocks: employee-level SEs are far too small
    assert sa.se > 1.5 * att_gt(df, **COLS).aggregate("simple").se
    js = a.to_json_dict()
    assert js["inference"]["n_clusters"] == 8 and js["inference"]["cluster"] == "dept"
    assert js["bootstrap"]["clusters"] == 8 and js["bootstrap"]["weights"] == "webb"
    assert js["settings"]["cluster"] == "dept" and js["settings"]["boot_draws"] == 999
    rad = att_gt(df, **COLS, cluster="dept", boot_weights="rademacher", seed=11)
    assert rad.to_json_dict()["bootstrap"]["weights"] == "rademacher"


def test_cluster_se_by_hand() -> None:
    # one cell (3, 3) on a balanced panel: 4 departments of 2 units; A, B treated, C, D never
    dy = {1: 1.0, 2: 3.0, 3: 2.0, 4: 6.0, 5: 0.0, 6: 1.0, 7: 2.0, 8: 1.0}
    dept = {1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "C", 7: "D", 8: "D"}
    rows = []
    for u, d in dy.items():
        g = 3 if u <= 4 else 0
        rows += [
            {"id": u, "t": 1, "g": g, "y": 0.0, "dept": dept[u]},
            {"id": u, "t": 2, "g": g, "y": 0.0, "dept": dept[u]},
            {"id": u, "t": 3, "g": g, "y": d, "dept": dept[u]},
        ]
    res = att_gt(pl.DataFrame(rows), **COLS, min_units=1, cluster="dept", seed=0)
    f = res.attgt.filter((pl.col("group") == 3) & (pl.col("time") == 3))
    mu_t, mu_c = 3.0, 1.0
    assert f["att"].item() == pytest.approx(mu_t - mu_c)
    n = 8
    # cluster sums of n·(Δy − group mean)/group size, × 1/sqrt(1 − 1/2) (each dept half its group)
    s_a = n * ((1 - mu_t) + (3 - mu_t)) / 4 * math.sqrt(2)
    s_b = n * ((2 - mu_t) + (6 - mu_t)) / 4 * math.sqrt(2)
    s_c = -n * ((0 - mu_c) + (1 - mu_c)) / 4 * math.sqrt(2)
    s_d = -n * ((2 - mu_c) + (1 - mu_c)) / 4 * math.sqrt(2)
    se = math.sqrt(s_a**2 + s_b**2 + s_c**2 + s_d**2) / n
    assert f["se"].item() == pytest.approx(se)
    assert f["ci_upper"].item() - f["att"].item() == pytest.approx(3.1824 * se, rel=1e-4)


def test_cluster_errors_and_one_cluster_cells() -> None:
    df = departments(5)
    moved = df.with_columns(
        pl.when((pl.col("id") == 0) & (pl.col("t") == 6))
        .then(pl.lit("D7"))
        .otherwise(pl.col("dept"))
        .alias("dept")
    )
    with pytest.raises(DidError, match="varies within a unit"):
        att_gt(moved, **COLS, cluster="dept")
    with pytest.raises(DidError, match="missing column"):
        att_gt(df, **COLS, cluster="division")
    # with 4 departments each cohort lies in one department: no cluster-level variance
    with pytest.raises(DidError, match="no group-time cell"):
        att_gt(departments(5, n_dept=4), **COLS, cluster="dept")
    one = departments(5, n_dept=5)  # cohort 3 has departments 0 and 4, the others one each
    res = att_gt(one, **COLS, cluster="dept", min_units=1, control="notyet")
    codes = set(res.skipped["code"].to_list())
    assert codes == {"one_cluster"} and set(res.attgt["group"].to_list()) == {3}


def test_multiplier_bootstrap_on_cluster_sums() -> None:
    rng = np.random.default_rng(0)
    clusters = np.repeat(np.arange(10), 50)
    inf = rng.normal(size=500) + np.repeat(rng.normal(0, 3, size=10), 50)
    sums = np.bincount(clusters, weights=inf)
    out = multiplier_bootstrap(inf, 4999, weights="webb", seed=1, clusters=clusters)
    assert out.clusters == 10
    assert out.se[0] == pytest.approx(math.sqrt((sums**2).sum()) / 500, rel=0.15)
