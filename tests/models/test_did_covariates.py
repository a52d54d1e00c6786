"""ATT(g,t) with covariates (conditional parallel trends): R did's published output, csdid as
the R port, overlap and trimming, the design, errors, and a planted selection on a covariate.

The oracle is csdid 0.4.3: on csdid's simulated panel its doubly-robust ATT(g,t) with a
covariate equal R did 2.5.1's full-precision output to 5e-11 (SEs 7e-13), while diff-diff
3.13's differ by 1e-4 (SEs 1e-5), so diff-diff is not used for ``dr`` here (its ``ipw`` and
``reg`` agree with csdid to 1e-14).
"""

from __future__ import annotations

import doctest
import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import dxkpi.models.drdid as drdid_module
from dxkpi.models.did import DidError, att_gt
from dxkpi.models.drdid import TRIM_LEVEL, NotEstimable, did_2x2

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"
MP = {"unit": "countyreal", "time": "year", "group": "first.treat", "outcome": "lemp"}
COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}

# R did 2.5.1, att_gt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
# xformla=~lpop, data=mpdta, est_method="reg", bstrap=FALSE) and aggte(..., bstrap=FALSE):
# the reference csdid's maintainers generated with R (csdid repo, r_ref/generate_reference.R).
R_REG_ATTGT = [
    (2004, 2004, -0.014911237790361, 0.0220556930763195),
    (2004, 2005, -0.0769963229660512, 0.0283597455101496),
    (2004, 2006, -0.141080104628588, 0.0348362869536185),
    (2004, 2007, -0.107544274673046, 0.0327376926434119),
    (2006, 2004, -0.0020660581184395, 0.022122286483578),
    (2006, 2005, -0.00696828306727072, 0.0183457856293695),
    (2006, 2006, 0.000765525026395888, 0.0191959070328785),
    (2006, 2007, -0.0415356365293253, 0.0197168736453729),
    (2007, 2004, 0.0263658317469803, 0.0140189493226751),
    (2007, 2005, -0.00475983533866949, 0.0156699660373289),
    (2007, 2006, -0.028502106413859, 0.0181320658924703),
    (2007, 2007, -0.0287894881938243, 0.0161678672536918),
]
R_REG_AGGTE = {
    "simple": (-0.0419686124215432, 0.0114448297682151, []),
    "group": (
        -0.0329292402290042,
        0.0118603087662617,
        [
            (2004, -0.0851329850145115, 0.0242512163971128),
            (2006, -0.0203850557514647, 0.0174025032538199),
            (2007, -0.0287894881938243, 0.0161678672536918),
        ],
    ),
    "dynamic": (
        -0.0807817453337615,
        0.0187458547114755,
        [
            (-3, 0.0263658317469803, 0.0140189493226751),
            (-2, -0.00412971201229991, 0.0129174707430671),
            (-1, -0.0234649547538384, 0.0144416499564523),
            (0, -0.0211467366918448, 0.0114810443929097),
            (1, -0.0533558653415673, 0.0162930738253423),
            (2, -0.141080104628588, 0.0348362869536185),
            (3, -0.107544274673046, 0.032737692643412),
        ],
    ),
    "calendar": (
        -0.0445323313531745,
        0.0148850278130483,
        [
            (2004, -0.014911237790361, 0.0220556930763196),
            (2005, -0.0769963229660512, 0.0283597455101496),
            (2006, -0.0465163515252653, 0.020998373312028),
            (2007, -0.0397054131310205, 0.0128658596749845),
        ],
    ),
}
R_REG_WALD = 6.8612749537136
# R did's reference manual, ?att_gt "Using covariates" (default est_method "dr"): ATT(g,t) to
# the 4 decimals printed, never-treated and not-yet-treated comparison groups. (Its SEs there
# are bootstrap SEs, so only the estimates are compared.)
R_DR_NEVER = [-0.0145, -0.0764, -0.1404, -0.1069, -0.0005, -0.0062, 0.0010, -0.0413]
R_DR_NEVER += [0.0267, -0.0046, -0.0284, -0.0288]
R_DR_NOTYET = [-0.0212, -0.0816, -0.1382, -0.1069, -0.0075, -0.0046, 0.0087, -0.0413]
R_DR_NOTYET += [0.0269, -0.0042, -0.0284, -0.0288]


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(MPDTA)


def _close(a, b, tol) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=tol)


# ---------------------------------------------------------------------------------------------
# R did's published output
# ---------------------------------------------------------------------------------------------


def test_outcome_regression_equals_r_did_on_mpdta(mpdta) -> None:
    res = att_gt(mpdta, **MP, covariates=["lpop"], est_method="reg", pretest_min_units=0)
    ref = np.array(R_REG_ATTGT)
    assert res.attgt["group"].to_list() == ref[:, 0].astype(int).tolist()
    assert res.attgt["time"].to_list() == ref[:, 1].astype(int).tolist()
    _close(res.attgt["att"], ref[:, 2], 1e-12)
    _close(res.attgt["se"], ref[:, 3], 1e-12)
    for kind, (att, se, by) in R_REG_AGGTE.items():
        agg = res.aggregate(kind)  # type: ignore[arg-type]
        _close([agg.att, agg.se], [att, se], 1e-12)
        if by:
            rows = np.array(by)
            assert agg.by is not None and agg.by["key"].to_list() == rows[:, 0].astype(int).tolist()
            _close(agg.by["att"], rows[:, 1], 1e-12)
            _close(agg.by["se"], rows[:, 2], 1e-12)
    _close(res.pretest().stat, R_REG_WALD, 1e-9)


@pytest.mark.parametrize(("control", "published"), [("never", R_DR_NEVER), ("notyet", R_DR_NOTYET)])
def test_doubly_robust_equals_r_did_reference_manual(mpdta, control, published) -> None:
    res = att_gt(mpdta, **MP, covariates="lpop", control=control)
    assert res.settings.est_method == "dr"
    assert np.round(res.attgt["att"].to_numpy(), 4).tolist() == published


# ---------------------------------------------------------------------------------------------
# csdid (R did's port) on every option, to 1e-10
# ---------------------------------------------------------------------------------------------


def _csdid(
    data: pl.DataFrame, formula: str, control: str, method: str, base: str = "varying", **kw
):
    csdid_att_gt = pytest.importorskip("csdid.att_gt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return csdid_att_gt.ATTgt(
            data=data.to_pandas(),
            xformla=formula,
            control_group=["nevertreated" if control == "never" else "notyettreated"],
            **kw,
        ).fit(est_method=method, bstrap=False, base_period=base)


def _same_as_csdid(res, cs, tol: float = 1e-10) -> None:
    f = res.attgt
    assert f["group"].to_list() == [int(x) for x in cs.results["group"]]
    assert f["time"].to_list() == [int(x) for x in cs.results["year"]]
    _close(f["att"], cs.results["att"], tol)
    se = np.asarray(cs.results["se"], dtype=float)
    ok = np.isfinite(se)  # the universal base's reference cells
    _close(f["se"].to_numpy()[ok], se[ok], tol)
    for kind in ("simple", "group", "dynamic", "calendar"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cs.aggte(typec=kind, bstrap=False, cband=False)
        mine = res.aggregate(kind)
        _close([mine.att, mine.se], [cs.atte["overall_att"], cs.atte["overall_se"]], tol)
        if kind != "simple":
            _close(mine.by["att"], cs.atte["att_egt"], tol)
            _close(mine.by["se"].fill_null(np.nan), cs.atte["se_egt"], tol)


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("base", ["varying", "universal"])
def test_mpdta_with_lpop_matches_csdid(mpdta, method, control, base) -> None:
    cs = _csdid(
        mpdta,
        "lemp~lpop",
        control,
        method,
        yname="lemp",
        tname="year",
        idname="countyreal",
        gname="first.treat",
        base=base,
    )
    res = att_gt(
        mpdta,
        **MP,
        covariates=["lpop"],
        est_method=method,
        control=control,
        base_period=base,
        pretest_min_units=0,
    )
    _same_as_csdid(res, cs)


def covariate_panel(seed: int, n: int = 400, periods: int = 6, missing: float = 0.0):
    """Panel whose trend depends on a number x and a category lvl, and x on the cohort."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([3, 4, 5, 0]), size=n)
    x = rng.normal(size=n) + 0.5 * (g == 3)
    lvl = rng.choice(np.array(["a", "b", "c"]), size=n)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    gg, xx, ll = np.repeat(g, periods), np.repeat(x, periods), np.repeat(lvl, periods)
    y = (
        np.repeat(rng.normal(size=n), periods)
        + 0.3 * t
        + 0.4 * xx * t
        + 0.2 * (ll == "b") * t
        + rng.normal(size=ids.size)
        + ((gg > 0) & (t >= gg))
    )
    df = pl.DataFrame({"id": ids, "t": t, "g": gg, "x": xx, "lvl": ll, "y": y})
    if missing:
        df = df.filter(pl.Series(rng.random(df.height) >= missing))
    return df


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize(("missing", "anticipation"), [(0.0, 1), (0.1, 0)])
def test_category_anticipation_and_balancing_match_csdid(method, missing, anticipation) -> None:
    """A text covariate is R's factor (one dummy per level but the first); an unbalanced panel
    with ``panel="balanced"`` drops the incomplete units as R's default does."""
    df = covariate_panel(3, missing=missing)
    dummies = df.with_columns(
        lb=(pl.col("lvl") == "b").cast(pl.Float64), lc=(pl.col("lvl") == "c").cast(pl.Float64)
    )
    cs = _csdid(
        dummies,
        "y~x+lb+lc",
        "notyet",
        method,
        yname="y",
        tname="t",
        idname="id",
        gname="g",
        anticipation=anticipation,
    )
    res = att_gt(
        df,
        **COLS,
        covariates=["x", "lvl"],
        est_method=method,
        control="notyet",
        anticipation=anticipation,
        panel="balanced",
        min_units=1,
        pretest_min_units=0,
    )
    assert res.covariate_columns == ("x", "lvl=b", "lvl=c")
    _same_as_csdid(res, cs)


# ---------------------------------------------------------------------------------------------
# the 2×2 estimators: trimming and overlap
# ---------------------------------------------------------------------------------------------


def _trimmed_comparison():
    """A category where 997 of 1000 units are treated: its 3 comparison units have a score of
    0.997 — trimmed (≥ 0.995) but below the overlap limit (0.999)."""
    rng = np.random.default_rng(4)
    z = np.r_[np.ones(1000), np.zeros(1000)]
    treated = np.r_[np.ones(997), np.zeros(3), np.ones(100), np.zeros(900)].astype(bool)
    dy = 0.5 * z + treated + rng.normal(size=2000)
    return dy, treated, np.column_stack([np.ones(2000), z])


@pytest.mark.parametrize("method", ["dr", "ipw"])
def test_trimmed_comparison_units_are_counted_and_match_drdid(method) -> None:
    trim = pytest.importorskip("csdid.attgt_fnc.drdid_trim")
    dy, treated, x = _trimmed_comparison()
    r = did_2x2(dy, treated, x, method)
    assert r.n_trimmed == 3 and r.ps_max == pytest.approx(0.997, abs=1e-9)
    oracle = trim.drdid_panel if method == "dr" else trim.std_ipw_did_panel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        att, inf = oracle(dy, np.zeros(2000), treated.astype(float), x, trim_level=TRIM_LEVEL)
    _close(r.att, att, 1e-10)
    _close(r.influence, inf, 1e-8)


def test_a_category_of_treated_only_fails_overlap() -> None:
    dy, treated, x = _trimmed_comparison()
    treated = treated | (x[:, 1] == 1)  # the category is now all treated: scores reach 1
    for method in ("dr", "ipw"):
        with pytest.raises(NotEstimable, match="overlap") as err:
            did_2x2(dy, treated, x, method)
        assert err.value.code == "overlap"
    # outcome regression has no score, but its comparison units are all z = 0: singular
    with pytest.raises(NotEstimable, match="singular") as err:
        did_2x2(dy, treated, x, "reg")
    assert err.value.code == "singular"


def test_cells_failing_overlap_are_skipped_and_reported() -> None:
    df = covariate_panel(5, n=600)
    # a quarter of cohort 3 far beyond every other unit's x: no comparison unit is like them
    far = (pl.col("g") == 3) & (pl.col("id") % 4 == 0)
    df = df.with_columns(pl.when(far).then(pl.col("x") + 30).otherwise(pl.col("x")).alias("x"))
    res = att_gt(df, **COLS, covariates=["x", "lvl"])
    assert res.skipped["code"].to_list() == ["overlap"] * 5
    assert res.skipped["group"].to_list() == [3] * 5 and "overlap" in res.skipped["reason"][0]
    assert res.overlap is not None and res.overlap.not_estimated == 5
    assert 3 not in res.attgt["group"].to_list() and res.attgt.height == 10
    js = res.to_json_dict()["covariates"]
    assert js["overlap"]["cells_not_estimated"] == 5 and js["est_method"] == "dr"
    assert js["columns"] == ["x", "lvl"] and js["design"] == ["x", "lvl=b", "lvl=c"]


@pytest.mark.parametrize("method", ["dr", "reg"])
def test_cells_r_cannot_estimate_are_the_cells_left_out(method) -> None:
    """R builds one design over the whole panel. Level z is held only by some units of cohorts
    3 and 5: a cell whose comparison units lack it fails overlap (dr: the z units are all
    treated) or is singular (reg), and a cell where no unit has it is singular (a column of
    zeros); R reports those cells as NA."""
    df = covariate_panel(5, n=600)
    z = pl.col("g").is_in([3, 5]) & (pl.col("id") % 4 == 0)
    df = df.with_columns(pl.when(z).then(pl.lit("z")).otherwise(pl.col("lvl")).alias("lvl"))
    res = att_gt(df, **COLS, covariates=["lvl"], control="notyet", est_method=method)
    dummies = df.with_columns(
        *((pl.col("lvl") == v).cast(pl.Float64).alias(f"l{v}") for v in "bcz")
    )
    cs = _csdid(
        dummies, "y~lb+lc+lz", "notyet", method, yname="y", tname="t", idname="id", gname="g"
    )
    att = np.asarray(cs.results["att"], dtype=float)
    cells = list(zip(cs.results["group"], cs.results["year"], strict=True))
    na = [(int(g), int(t)) for (g, t), a in zip(cells, att, strict=True) if np.isnan(a)]
    assert res.skipped.select("group", "time").rows() == na
    codes = dict(zip(res.skipped.select("group", "time").rows(), res.skipped["code"], strict=True))
    assert codes[(4, 5)] == "singular"  # nobody in that cell holds z
    assert codes[(3, 5)] == ("overlap" if method == "dr" else "singular")
    _close(res.attgt["att"], att[~np.isnan(att)], 1e-10)


def test_overlap_summary_in_the_json_counts_trimmed_units() -> None:
    rng = np.random.default_rng(8)
    n = 3000
    g = rng.choice(np.array([3, 0]), size=n, p=[0.5, 0.5])
    z = (g == 3) & (rng.random(n) < 0.9)  # mostly treated units in z: a few comparison units
    z = z | ((g == 0) & (rng.random(n) < 0.004))
    rows = pl.DataFrame(
        {
            "id": np.repeat(np.arange(n), 4),
            "t": np.tile(np.arange(1, 5), n),
            "g": np.repeat(g, 4),
            "z": np.repeat(z, 4),
        }
    ).with_columns(y=pl.col("t") * 0.5 + pl.col("z").cast(pl.Float64) * pl.col("t"))
    res = att_gt(rows, **COLS, covariates="z", est_method="ipw")
    ov = res.overlap
    assert ov is not None and ov.cells.height == res.attgt.height == 3
    assert ov.cells_trimmed == 3 and ov.units_trimmed == 3 * int(((g == 0) & z).sum())
    js = json.loads(json.dumps(res.to_json_dict(), allow_nan=False))["covariates"]["overlap"]
    assert js["units_trimmed"] == ov.units_trimmed and len(js["flagged_cells"]) == 3
    assert js["ps_max"] >= TRIM_LEVEL and js["trim_level"] == TRIM_LEVEL
    assert "trimmed" in js["sentence"]
    assert res.to_json_dict()["settings"]["covariates"] == ["z"]
    # outcome regression fits no score: overlap recorded as not checked
    reg = att_gt(rows, **COLS, covariates="z", est_method="reg").to_json_dict()
    assert reg["covariates"]["overlap"]["checked"] is False


# ---------------------------------------------------------------------------------------------
# design, panels, errors
# ---------------------------------------------------------------------------------------------


def test_covariates_are_taken_at_the_earlier_period_of_each_cell() -> None:
    """A covariate that changes after the base period changes nothing, one before it does."""
    df = covariate_panel(6)
    res = att_gt(df, **COLS, covariates=["x"])
    # x changes from period 4 on: cells whose earlier period is 1–3 keep their estimates
    drifted = df.with_columns(
        pl.when(pl.col("t") >= 4).then(pl.col("x") + pl.col("id") % 3).otherwise(pl.col("x"))
    )
    other = att_gt(drifted, **COLS, covariates=["x"])
    same = res.attgt["base"].to_numpy() <= 3
    a, b = res.attgt["att"].to_numpy(), other.attgt["att"].to_numpy()
    np.testing.assert_array_equal(a[same], b[same])
    assert not np.allclose(a[~same], b[~same])


def test_without_covariates_the_method_changes_nothing() -> None:
    df = covariate_panel(7, missing=0.1)
    base = att_gt(df, **COLS)
    for method in ("ipw", "reg"):
        other = att_gt(df, **COLS, est_method=method, covariates=[])
        assert other.overlap is None and other.to_json_dict()["covariates"] is None
        np.testing.assert_array_equal(other.influence, base.influence)
        assert other.attgt.drop("se").equals(base.attgt.drop("se"))


def test_rows_with_a_missing_covariate_are_dropped_and_counted() -> None:
    df = covariate_panel(9).with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0).then(None).otherwise(pl.col("x")).alias("x")
    )
    res = att_gt(df, **COLS, covariates=["x", "lvl"])
    assert res.rows_without_covariates == df["x"].null_count() == 48
    assert res.to_json_dict()["dropped"]["rows_without_covariates"] == 48


def test_within_panel_with_covariates_uses_units_seen_in_both_periods() -> None:
    df = covariate_panel(10, missing=0.15)
    res = att_gt(df, **COLS, covariates=["x"], panel="within")
    seen = df.group_by("id").agg(pl.col("t"))
    cell = res.attgt.row(0, named=True)  # g=3, t=2 (varying base: 1 vs 2)
    both = seen.filter(pl.col("t").list.contains(1) & pl.col("t").list.contains(2))
    units = df.filter(pl.col("id").is_in(both["id"].implode()) & (pl.col("t") == 1))
    assert cell["n_treated"] == units.filter(pl.col("g") == 3).height
    assert "conditional on x" in res.estimator


def test_clustered_bootstrap_and_aggregations_run_with_covariates() -> None:
    df = covariate_panel(11, n=800).with_columns(dept=pl.col("id") % 20)
    res = att_gt(df, **COLS, covariates=["x", "lvl"], cluster="dept", seed=3)
    assert res.inference.method == "cluster" and res.bootstrap is not None
    for kind in ("simple", "group", "dynamic", "calendar"):
        agg = res.aggregate(kind)
        assert agg.se is not None and agg.se_boot is not None
        assert 0.6 < agg.se_boot / agg.se < 1.6
    assert res.pretest().reference == "F"


def test_covariate_errors_say_which_column() -> None:
    df = covariate_panel(12)
    with pytest.raises(DidError, match="missing covariate") as err:
        att_gt(df, **COLS, covariates=["age"])
    assert err.value.where.column == "age" and "available columns" in err.value.hint_en
    with pytest.raises(DidError, match="one value on every row"):
        att_gt(df.with_columns(k=pl.lit(1.0)), **COLS, covariates=["x", "k"])
    with pytest.raises(DidError, match="one value on every row"):
        att_gt(df.with_columns(k=pl.lit("same")), **COLS, covariates=["k"])
    with pytest.raises(DidError, match="group column cannot be a covariate"):
        att_gt(df, **COLS, covariates=["g"])
    with pytest.raises(DidError, match="panel='unbalanced' is not supported"):
        att_gt(df, **COLS, covariates=["x"], panel="unbalanced")
    with pytest.raises(DidError, match="est_method must be"):
        att_gt(df, **COLS, covariates=["x"], est_method="ols")  # type: ignore[arg-type]
    with pytest.raises(DidError, match="numeric, boolean or text"):
        att_gt(df.with_columns(d=pl.lit([1.0])), **COLS, covariates=["d"])


# ---------------------------------------------------------------------------------------------
# a planted selection on a covariate that also shifts the trend
# ---------------------------------------------------------------------------------------------


def test_conditional_estimators_remove_the_bias_of_selection_on_a_trend_covariate() -> None:
    """x raises both the chance of early training and the outcome's trend; the effect is 1.
    The unconditional estimator is biased upward; dr, ipw and reg recover 1."""
    rng = np.random.default_rng(13)
    n, periods = 4000, 5
    x = rng.normal(size=n)
    g = np.where(rng.random(n) < 1 / (1 + np.exp(-(x - 0.5))), 3, 0)
    ids, t = np.repeat(np.arange(n), periods), np.tile(np.arange(1, periods + 1), n)
    gg, xx = np.repeat(g, periods), np.repeat(x, periods)
    y = 0.5 * xx * t + rng.normal(size=ids.size) + np.where((gg > 0) & (t >= gg), 1.0, 0.0)
    df = pl.DataFrame({"id": ids, "t": t, "g": gg, "x": xx, "y": y})
    plain = att_gt(df, **COLS).aggregate("simple")
    assert plain.ci is not None and plain.ci[0] > 1.2  # biased: the trend of x
    for method in ("dr", "ipw", "reg"):
        agg = att_gt(df, **COLS, covariates="x", est_method=method).aggregate("simple")
        assert agg.ci is not None and agg.ci[0] < 1.0 < agg.ci[1], method


def test_drdid_docstring_examples() -> None:
    failures, _ = doctest.testmod(drdid_module)
    assert failures == 0
