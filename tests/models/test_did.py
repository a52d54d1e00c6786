"""Group-time ATT estimator: oracles (csdid = R did port), hand-computed cells, simulations."""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import dxkpi.models.did as did_module
from dxkpi.models.contrasts import twfe
from dxkpi.models.did import DidError, aggte, att_gt, multiplier_bootstrap, pretest

COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}


def make_panel(
    seed: int,
    n: int = 300,
    periods: int = 6,
    *,
    cohorts=(3, 4, 5, 0),
    unbalanced: float = 0.0,
    effect=None,
) -> pl.DataFrame:
    """Random panel: unit effects, common trend, cohort-specific trend (pre-trend for g=4)."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(cohorts), size=n)
    alpha = rng.normal(size=n)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    gg = np.repeat(g, periods)
    a = np.repeat(alpha, periods)
    treated = (gg > 0) & (t >= gg)
    eff = effect(gg, t) if effect else 1.0 + 0.5 * (t - gg)
    y = a + 0.3 * t + 0.2 * (gg == 4) * t + rng.normal(size=ids.size) + np.where(treated, eff, 0)
    df = pl.DataFrame({"id": ids, "t": t, "g": gg, "y": y})
    if unbalanced:
        keep = rng.random(df.height) >= unbalanced
        df = df.filter(pl.Series(keep))
    return df


# ---------------------------------------------------------------------------------------------
# oracle: csdid (a line-by-line port of R did, which matches R to ~1e-15)
# ---------------------------------------------------------------------------------------------

CASES = [
    (unb, control, base, ant)
    for unb in (0.0, 0.15)
    for control in ("never", "notyet")
    for base in ("varying", "universal")
    for ant in (0, 1)
]


def _close(a, b, tol=1e-8) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=tol)


@pytest.mark.parametrize(("unbalanced", "control", "base", "anticipation"), CASES)
def test_matches_csdid(unbalanced, control, base, anticipation) -> None:
    csdid_att_gt = pytest.importorskip("csdid.att_gt")
    df = make_panel(11 + anticipation, unbalanced=unbalanced)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = csdid_att_gt.ATTgt(
            yname="y",
            tname="t",
            idname="id",
            gname="g",
            data=df.to_pandas(),
            control_group=["nevertreated" if control == "never" else "notyettreated"],
            anticipation=anticipation,
            allow_unbalanced_panel=bool(unbalanced),
        ).fit(est_method="dr", base_period=base, bstrap=False)
    res = att_gt(
        df,
        **COLS,
        control=control,
        base_period=base,
        anticipation=anticipation,
        min_units=1,
        panel="unbalanced",  # R's allow_unbalanced_panel (identical to "within" when balanced)
        pretest_min_units=0,  # R's pre-test keeps every cohort
    )
    f = res.attgt
    assert f["group"].to_list() == [int(x) for x in cs.results["group"]]
    assert f["time"].to_list() == [int(x) for x in cs.results["year"]]
    _close(f["att"], cs.results["att"])
    _close(f["se"].fill_null(np.nan), cs.results["se"])
    for kind in ("simple", "group", "dynamic", "calendar"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cs.aggte(typec=kind, bstrap=False, cband=False)
        ref, mine = cs.atte, res.aggregate(kind)
        _close(mine.att, ref["overall_att"])
        _close(mine.se, ref["overall_se"])
        if kind != "simple":
            assert mine.by["key"].to_list() == [int(x) for x in ref["egt"]]
            _close(mine.by["att"], ref["att_egt"])
            _close(mine.by["se"].fill_null(np.nan), ref["se_egt"])
    pt = pretest(res)
    assert pt.df == int((f["group"] > f["time"]).sum()) - (base == "universal") * 3
    if anticipation == 0:
        _close(pt.stat, float(np.asarray(cs.MP["W"]).ravel()[0]))
    else:  # csdid leaves anticipation cells out of its Wald test; R (att_gt.R) keeps all g > t
        inf = cs.MP["inffunc"]["inffunc"]
        pre = np.flatnonzero(
            (np.array(cs.results["group"]) > np.array(cs.results["year"]))
            & np.isfinite(np.asarray(cs.results["se"], dtype=float))
        )
        att = np.asarray(cs.results["att"])[pre]
        n = inf.shape[0]
        w_r = n * att @ np.linalg.solve(inf[:, pre].T @ inf[:, pre] / n, att)
        _close(pt.stat, w_r)


def _edge_panel(kind: str) -> tuple[pl.DataFrame, dict]:
    if kind == "first_and_late_cohorts":  # g=1 is dropped, g=9 counts as never treated
        return make_panel(31, cohorts=(1, 3, 4, 9, 0)), {}
    if kind == "spaced_periods":  # periods 2, 4, ..., 12; anticipation in time units
        df = make_panel(32, cohorts=(3, 4, 0)).with_columns(pl.col("t") * 2, pl.col("g") * 2)
        return df, {"anticipation": 2}
    if kind == "balance_panel":  # R's default: drop units not seen in every period
        return make_panel(33, unbalanced=0.05), {"balance_panel": True}
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["first_and_late_cohorts", "spaced_periods", "balance_panel"])
def test_edge_panels_match_csdid(kind) -> None:
    csdid_att_gt = pytest.importorskip("csdid.att_gt")
    df, kw = _edge_panel(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = csdid_att_gt.ATTgt(
            yname="y",
            tname="t",
            idname="id",
            gname="g",
            data=df.to_pandas(),
            anticipation=kw.get("anticipation", 0),
        ).fit(bstrap=False)
        cs.aggte(typec="dynamic", bstrap=False, cband=False)
    res = att_gt(df, **COLS, min_units=1, **kw)
    assert res.attgt["group"].to_list() == [int(x) for x in cs.results["group"]]
    assert res.attgt["time"].to_list() == [int(x) for x in cs.results["year"]]
    _close(res.attgt["att"], cs.results["att"])
    _close(res.attgt["se"], cs.results["se"])
    dyn = res.aggregate("dynamic")
    _close([dyn.att, dyn.se], [cs.atte["overall_att"], cs.atte["overall_se"]])
    _close(dyn.by["se"], cs.atte["se_egt"])
    assert res.n_units == cs.MP["n"]
    if kind == "first_and_late_cohorts":
        assert res.n_dropped_units == int(df.filter(pl.col("g") == 1)["id"].n_unique())


def test_dynamic_window_and_balance_match_csdid() -> None:
    csdid_att_gt = pytest.importorskip("csdid.att_gt")
    df = make_panel(5, n=400, periods=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = csdid_att_gt.ATTgt(
            yname="y", tname="t", idname="id", gname="g", data=df.to_pandas()
        ).fit(bstrap=False)
        cs.aggte(typec="dynamic", min_e=-2, max_e=2, balance_e=1, bstrap=False, cband=False)
    mine = att_gt(df, **COLS).aggregate("dynamic", min_e=-2, max_e=2, balance_e=1)
    assert mine.by["key"].to_list() == [int(x) for x in cs.atte["egt"]]
    _close(mine.by["att"], cs.atte["att_egt"])
    _close(mine.by["se"], cs.atte["se_egt"])
    _close([mine.att, mine.se], [cs.atte["overall_att"], cs.atte["overall_se"]])


def test_diff_diff_agrees_on_cells() -> None:
    dd = pytest.importorskip("diff_diff")
    df = make_panel(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = dd.CallawaySantAnna().fit(
            df.to_pandas(), outcome="y", unit="id", time="t", first_treat="g"
        )
    mine = att_gt(df, **COLS).attgt
    for (g, t), eff in out.group_time_effects.items():
        row = mine.filter((pl.col("group") == g) & (pl.col("time") == t))
        _close([row["att"].item(), row["se"].item()], [eff["effect"], eff["se"]])


# ---------------------------------------------------------------------------------------------
# hand-computed
# ---------------------------------------------------------------------------------------------


def test_hand_computed_cells() -> None:
    # units 1-2 cohort 3, units 3-4 cohort 4, units 5-6 never treated; periods 1..4
    y = {
        1: [1, 2, 6, 7],
        2: [2, 4, 8, 8],
        3: [0, 1, 2, 6],
        4: [1, 1, 3, 9],
        5: [0, 1, 1, 2],
        6: [2, 2, 4, 4],
    }
    g = {1: 3, 2: 3, 3: 4, 4: 4, 5: 0, 6: 0}
    df = pl.DataFrame(
        [
            {"id": u, "t": t + 1, "g": g[u], "y": float(v)}
            for u, ys in y.items()
            for t, v in enumerate(ys)
        ]
    )
    res = att_gt(df, **COLS, min_units=2)
    cell = {(r["group"], r["time"]): r for r in res.attgt.iter_rows(named=True)}

    def mean(units, t1, t0):
        return np.mean([y[u][t1 - 1] - y[u][t0 - 1] for u in units])

    def se(units_t, units_c, t1, t0):
        dt = [y[u][t1 - 1] - y[u][t0 - 1] for u in units_t]
        dc = [y[u][t1 - 1] - y[u][t0 - 1] for u in units_c]
        return math.sqrt(np.var(dt) / len(dt) + np.var(dc) / len(dc))  # population variances

    never = [5, 6]
    # post cells use the last period before g as base; pre cells compare t with t-1
    assert cell[(3, 3)]["att"] == pytest.approx(mean([1, 2], 3, 2) - mean(never, 3, 2))
    assert cell[(3, 4)]["att"] == pytest.approx(mean([1, 2], 4, 2) - mean(never, 4, 2))
    assert cell[(3, 2)]["att"] == pytest.approx(mean([1, 2], 2, 1) - mean(never, 2, 1))
    assert cell[(4, 4)]["att"] == pytest.approx(mean([3, 4], 4, 3) - mean(never, 4, 3))
    assert cell[(4, 3)]["att"] == pytest.approx(mean([3, 4], 3, 2) - mean(never, 3, 2))
    assert cell[(3, 4)]["se"] == pytest.approx(se([1, 2], never, 4, 2))
    assert cell[(4, 4)]["se"] == pytest.approx(se([3, 4], never, 4, 3))
    # not-yet-treated: for (3,3) the controls are cohort 4 and never-treated
    ny = att_gt(df, **COLS, control="notyet", min_units=2).attgt
    a33 = ny.filter((pl.col("group") == 3) & (pl.col("time") == 3))["att"].item()
    assert a33 == pytest.approx(mean([1, 2], 3, 2) - mean([3, 4, 5, 6], 3, 2))
    # simple aggregation: post cells weighted by cohort size (equal here)
    post = [cell[(3, 3)]["att"], cell[(3, 4)]["att"], cell[(4, 4)]["att"]]
    assert res.aggregate("simple").att == pytest.approx(np.mean(post))
    # universal base: the reference cell is 0 with no SE, pre cells compare with g-1
    uni = att_gt(df, **COLS, base_period="universal", min_units=2).attgt
    ref = uni.filter((pl.col("group") == 3) & (pl.col("time") == 2))
    assert ref["att"].item() == 0.0 and ref["se"].item() is None
    a31 = uni.filter((pl.col("group") == 3) & (pl.col("time") == 1))["att"].item()
    assert a31 == pytest.approx(mean([1, 2], 1, 2) - mean(never, 1, 2))


def test_within_units_compares_each_unit_with_itself() -> None:
    # unit 1 treated from period 3; 2 and 3 never; 3 leaves after period 2 with a high value
    y = {1: [0.0, 1.0, 5.0], 2: [None, 2.0, 3.0], 3: [0.0, 10.0, None]}
    g = {1: 3, 2: 0, 3: 0}
    df = pl.DataFrame(
        [
            {"id": u, "t": t + 1, "g": g[u], "y": v}
            for u, ys in y.items()
            for t, v in enumerate(ys)
            if v is not None
        ]
    )

    def cell(res, t):  # type: ignore[no-untyped-def]
        return res.attgt.filter((pl.col("group") == 3) & (pl.col("time") == t)).row(0, named=True)

    # cross-sections (R's unbalanced form): the leaver's base value enters the comparison mean
    cross = cell(att_gt(df, **COLS, min_units=1, panel="unbalanced"), 3)
    assert cross["att"] == pytest.approx((5 - 1) - (3 - (2 + 10) / 2))
    # within units: only unit 2 is seen at both 2 and 3
    res = att_gt(df, **COLS, min_units=1, within_units=True)
    within = cell(res, 3)
    assert within["att"] == pytest.approx((5 - 1) - (3 - 2))
    assert (within["n_treated"], within["n_control"]) == (1, 1)
    assert res.units.tolist() == [1, 2, 3] and np.isnan(res.outcomes[2, 2])
    # a balanced panel gives the same with or without
    bal = make_panel(3, n=60, periods=4, cohorts=(3, 0))
    a = att_gt(bal, **COLS).attgt
    b = att_gt(bal, **COLS, within_units=True).attgt
    assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------------
# simulation: heterogeneous, growing effects
# ---------------------------------------------------------------------------------------------


def test_recovers_truth_where_twfe_is_biased() -> None:
    # effects differ by cohort and grow with exposure: cohort 3 gets 1 + 1.0*(t-g), cohort 6 gets
    # 0.5 + 0.2*(t-g). TWFE compares late with already-treated early units, whose outcomes keep
    # rising, which biases it downwards.
    def effect(g, t):
        return np.where(g == 3, 1.0 + 1.0 * (t - g), 0.5 + 0.2 * (t - g))

    df = make_panel(7, n=3000, periods=8, cohorts=(3, 6, 0), effect=effect)
    res = att_gt(df, **COLS)
    f = res.attgt.filter(pl.col("post"))
    truth = effect(f["group"].to_numpy(), f["time"].to_numpy())
    covered = (f["ci_lower"].to_numpy() <= truth) & (truth <= f["ci_upper"].to_numpy())
    assert covered.mean() >= 0.8  # 9 cells at 95%: P(< 8 covered) is about 7%
    # true simple ATT: post cells weighted by cohort size
    share = (
        f["group"]
        .map_elements(lambda g: float((res.unit_cohort == g).mean()), return_dtype=pl.Float64)
        .to_numpy()
    )
    true_simple = float(truth @ share / share.sum())
    simple = res.aggregate("simple")
    assert abs(simple.att - true_simple) < 3 * simple.se
    tw = twfe(df, **COLS)
    # the bias is large in units of its own SE and of the true effect (true ≈ 2.6, TWFE ≈ 1.1)
    assert true_simple - tw.estimate > 0.5
    assert true_simple - tw.estimate > 5 * tw.se


# ---------------------------------------------------------------------------------------------
# invariances
# ---------------------------------------------------------------------------------------------


def _result_frames(df: pl.DataFrame, **kw) -> tuple[pl.DataFrame, dict]:
    res = att_gt(df, **COLS, **kw)
    return res.attgt, res.to_json_dict()


def _assert_json_close(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_json_close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_json_close(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-12)
    else:
        assert a == b


@pytest.mark.parametrize("unbalanced", [0.0, 0.2])
def test_shuffling_and_relabelling_change_nothing(unbalanced) -> None:
    df = make_panel(21, n=200, unbalanced=unbalanced)
    base_frame, base_json = _result_frames(df, control="notyet")
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=3)
    relabelled = df.with_columns(("unit-" + (1000 - pl.col("id")).cast(pl.String)).alias("id"))
    for other in (shuffled, relabelled):
        frame, js = _result_frames(other, control="notyet")
        assert_frame_equal(frame, base_frame, check_exact=False, rel_tol=1e-10, abs_tol=1e-12)
        _assert_json_close(js, base_json)


def test_never_and_notyet_coincide_with_one_cohort() -> None:
    df = make_panel(4, n=250, cohorts=(4, 0))
    never = att_gt(df, **COLS, control="never")
    notyet = att_gt(df, **COLS, control="notyet")
    assert_frame_equal(never.attgt, notyet.attgt)
    a, b = never.to_json_dict(), notyet.to_json_dict()
    assert (a.pop("settings")["control"], b.pop("settings")["control"]) == ("never", "notyet")
    _assert_json_close(a, b)


def test_input_not_mutated_and_pandas_accepted() -> None:
    df = make_panel(8, n=120)
    before = df.clone()
    res_pl = att_gt(df, **COLS)
    assert_frame_equal(df, before)
    pdf = df.to_pandas()
    pdf_before = pdf.copy()
    res_pd = att_gt(pdf, **COLS)
    pd.testing.assert_frame_equal(pdf, pdf_before)
    assert_frame_equal(res_pl.attgt, res_pd.attgt)


# ---------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------


def test_bootstrap_reproducible_and_band_wider() -> None:
    df = make_panel(9, n=400)
    a = att_gt(df, **COLS, boot_draws=499, seed=42)
    b = att_gt(df, **COLS, boot_draws=499, seed=42)
    c = att_gt(df, **COLS, boot_draws=499, seed=43)
    assert_frame_equal(a.attgt, b.attgt)
    assert not np.allclose(a.bootstrap.se, c.bootstrap.se)
    f = a.attgt
    assert a.bootstrap.crit_value > 1.96
    assert ((f["band_upper"] - f["band_lower"]) > (f["ci_upper"] - f["ci_lower"])).all()
    # bootstrap SEs estimate the analytic ones
    np.testing.assert_allclose(a.bootstrap.se, f["se"].to_numpy(), rtol=0.15)
    dyn = a.aggregate("dynamic")
    assert dyn.crit_value > 1.96
    assert (
        (dyn.by["band_upper"] - dyn.by["band_lower"]) > (dyn.by["ci_upper"] - dyn.by["ci_lower"])
    ).all()
    assert a.aggregate("dynamic").crit_value == dyn.crit_value


def test_mammen_weights_and_degenerate_columns() -> None:
    rng = np.random.default_rng(0)
    inf = np.column_stack([rng.normal(size=500), np.zeros(500)])
    out = multiplier_bootstrap(inf, 999, weights="mammen", seed=1)
    assert math.isnan(out.se[1]) and out.se[0] == pytest.approx(1 / math.sqrt(500), rel=0.15)
    assert out.crit_value == pytest.approx(1.96, abs=0.15)


# ---------------------------------------------------------------------------------------------
# small samples and errors
# ---------------------------------------------------------------------------------------------


def test_small_cohort_cells_are_skipped_with_reason() -> None:
    df = make_panel(12, n=300)
    # keep only 3 units of cohort 5
    few = df.filter(pl.col("g") == 5)["id"].unique().sort()[:3]
    df = df.filter((pl.col("g") != 5) | pl.col("id").is_in(few.implode()))
    res = att_gt(df, **COLS, min_units=5)
    assert 5 not in res.attgt["group"].to_list()
    sk = res.skipped.filter(pl.col("group") == 5)
    assert sk.height == 5  # periods 2..6 under a varying base
    assert sk["reason"].str.contains("treated cohort has fewer than 5 units").all()
    assert (sk["n_treated"] == 3).all()
    # aggregations and the pretest run on what is left
    assert math.isfinite(res.aggregate("group").att)
    assert res.to_json_dict()["n_units"] == res.n_units
    kept = att_gt(df, **COLS, min_units=3)
    assert 5 in kept.attgt["group"].to_list() and kept.skipped.height == 0


def test_small_comparison_group_is_skipped() -> None:
    df = make_panel(13, n=300, cohorts=(3, 4, 5, 0))
    never = df.filter(pl.col("g") == 0)["id"].unique().sort()[:4]
    df = df.filter((pl.col("g") != 0) | pl.col("id").is_in(never.implode()))
    with pytest.raises(DidError, match="no group-time cell"):
        att_gt(df, **COLS, control="never", min_units=5)
    ny = att_gt(df, **COLS, control="notyet", min_units=5)
    assert ny.skipped["reason"].str.contains("comparison group").all()
    assert ny.skipped.height > 0 and ny.attgt.height > 0


def test_errors_name_the_column() -> None:
    df = make_panel(1, n=50)
    with pytest.raises(DidError, match="outcome_x"):
        att_gt(df, unit="id", time="t", group="g", outcome="outcome_x")
    with pytest.raises(DidError, match="not numeric"):
        att_gt(df.with_columns(pl.col("y").cast(pl.String)), **COLS)
    with pytest.raises(DidError, match="never-treated"):
        att_gt(df.filter(pl.col("g") > 0), **COLS, control="never")
    with pytest.raises(DidError, match="more than one row"):
        att_gt(pl.concat([df, df.head(1)]), **COLS)


def test_no_never_treated_notyet_follows_r() -> None:
    # R did: drop periods >= latest g - anticipation; latest cohort only as comparison
    df = make_panel(14, n=300, cohorts=(3, 4, 6))
    res = att_gt(df, **COLS, control="notyet", min_units=1)
    assert res.attgt["group"].unique().sort().to_list() == [3, 4]
    assert res.attgt["time"].max() == 5


def test_aggte_function_equals_method_and_json_shape() -> None:
    res = att_gt(make_panel(2), **COLS)
    assert aggte(res, "calendar").att == res.aggregate("calendar").att
    js = res.to_json_dict()
    assert set(js) == {
        "estimator",
        "settings",
        "inference",
        "attgt",
        "aggregations",
        "pretest",
        "skipped",
        "dropped",
        "n_units",
        "covariates",
    }
    assert js["covariates"] is None  # unconditional parallel trends
    assert set(js["attgt"][0]) == {"group", "time", "att", "se"}
    assert set(js["aggregations"]["simple"]) == {"att", "se", "ci_lower", "ci_upper"}
    for kind in ("group", "dynamic", "calendar"):
        assert set(js["aggregations"][kind]) == {"att", "se", "ci_lower", "ci_upper", "by"}
        assert set(js["aggregations"][kind]["by"][0]) == {"key", "att", "se"}
    assert {"stat", "df", "p", "excluded_cohorts", "min_detectable_slope"} <= set(js["pretest"])
    assert 0 <= js["pretest"]["p"] <= 1


def test_module_docstring_example() -> None:
    failures, _ = doctest.testmod(did_module)
    assert failures == 0
