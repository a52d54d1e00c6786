"""DiD panel options (within / balanced / unbalanced) and what the JSON records."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.models.did import DidError, att_gt

COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}


def planted(seed: int, n: int = 240, periods: int = 5) -> pl.DataFrame:
    """Balanced panel, cohorts 3 and 4 and never-treated; every effect is 1."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([3, 4, 0]), size=n)
    t = np.arange(1, periods + 1)
    y = (
        rng.normal(size=(n, 1))
        + 0.3 * t
        + rng.normal(size=(n, periods))
        + 1.0 * ((g[:, None] > 0) & (t >= g[:, None]))
    )
    return pl.DataFrame(
        {
            "id": np.repeat(np.arange(n), periods),
            "t": np.tile(t, n),
            "g": np.repeat(g, periods),
            "y": y.ravel(),
        }
    )


def leaver_panel() -> pl.DataFrame:
    """Unit 1 treated from period 3; 2 and 3 never; 3 leaves after period 2 at a high value."""
    y = {1: [0.0, 1.0, 5.0], 2: [1.0, 2.0, 3.0], 3: [0.0, 10.0, None]}
    g = {1: 3, 2: 0, 3: 0}
    return pl.DataFrame(
        [
            {"id": u, "t": t + 1, "g": g[u], "y": v}
            for u, ys in y.items()
            for t, v in enumerate(ys)
            if v is not None
        ]
    )


def cell(res, g: int, t: int) -> dict:  # type: ignore[no-untyped-def]
    return res.attgt.filter((pl.col("group") == g) & (pl.col("time") == t)).row(0, named=True)


def test_three_options_identical_on_a_balanced_panel() -> None:
    df = planted(1)
    runs = {p: att_gt(df, **COLS, panel=p) for p in ("within", "balanced", "unbalanced")}
    base = runs["within"]
    assert base.balanced and base.dropped_units == {}
    for p, res in runs.items():
        assert res.panel == p
        assert_frame_equal(res.attgt, base.attgt)
        for kind in ("simple", "group", "dynamic", "calendar"):
            assert res.aggregate(kind).att == base.aggregate(kind).att
            assert res.aggregate(kind).se == base.aggregate(kind).se
    assert "equals R did panel=TRUE" in runs["unbalanced"].estimator
    # the planted effect of 1 is recovered
    lo, hi = base.aggregate("simple").ci
    assert lo < 1.0 < hi


def test_within_and_unbalanced_differ_in_the_expected_direction() -> None:
    df = leaver_panel()
    within = att_gt(df, **COLS, min_units=1)  # the default
    cross = att_gt(df, **COLS, min_units=1, panel="unbalanced")
    bal = att_gt(df, **COLS, min_units=1, panel="balanced")
    assert within.panel == "within" and cross.panel == "unbalanced"
    # within units: unit 3 is not seen at 3, so the comparison is unit 2 alone
    assert cell(within, 3, 3)["att"] == pytest.approx((5 - 1) - (3 - 2))
    # cross-sections: the leaver's high base value pulls the comparison's change down, the
    # ATT up — the bias of outcome-dependent exit
    assert cell(cross, 3, 3)["att"] == pytest.approx((5 - 1) - (3 - (2 + 10) / 2))
    assert cell(cross, 3, 3)["att"] > cell(within, 3, 3)["att"]
    # balanced: unit 3 is dropped and counted (no id recorded)
    assert cell(bal, 3, 3)["att"] == pytest.approx(3.0)
    assert bal.dropped_units == {"not_observed_in_every_period": 1}
    assert bal.n_units == 2 and within.n_units == 3
    assert "both of its periods" in within.estimator and "R did" in cross.estimator


def test_legacy_flags_map_to_panel() -> None:
    df = leaver_panel()
    kw = {**COLS, "min_units": 1}
    assert att_gt(df, **kw, within_units=True).panel == "within"
    assert att_gt(df, **kw, within_units=False).panel == "unbalanced"
    assert att_gt(df, **kw, balance_panel=True).panel == "balanced"
    assert att_gt(df, **kw).settings.within_units
    with pytest.raises(DidError, match="contradicts"):
        att_gt(df, **kw, panel="unbalanced", within_units=True)
    with pytest.raises(DidError, match="panel must be"):
        att_gt(df, **kw, panel="sideways")  # type: ignore[arg-type]


def test_json_records_estimator_settings_skipped_and_dropped() -> None:
    df = planted(2)
    # 3 units of cohort 4 (too few), 10 treated in the first period, 5 rows without outcome
    few = df.filter(pl.col("g") == 4)["id"].unique().sort()[:3]
    df = df.filter((pl.col("g") != 4) | pl.col("id").is_in(few.implode()))
    first = pl.DataFrame(
        {"id": np.repeat(np.arange(1000, 1010), 5), "t": np.tile(np.arange(1, 6), 10)}
    ).with_columns(g=pl.lit(1), y=pl.lit(0.0))
    df = pl.concat([df.sort("id", "t"), first.cast(df.schema)])
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([0, 6, 12, 18, 24]))
        .then(None)
        .otherwise(pl.col("y"))
        .alias("y")
    )
    df = df.with_columns(("secret-" + pl.col("id").cast(pl.String)).alias("id"))
    res = att_gt(df, **COLS, panel="balanced", control="never")
    js = res.to_json_dict()
    text = json.dumps(js, allow_nan=False)
    assert "secret-" not in text  # counts by reason, never ids
    assert js["estimator"]["panel"] == "balanced"
    assert js["settings"] == {
        "panel": "balanced",
        "control": "never",
        "base_period": "varying",
        "anticipation": 0,
        "min_units": 5,
        "alpha": 0.05,
        "cluster": None,
        "boot_draws": 0,
        "boot_weights": None,
        "seed": None,
        "pretest_min_units": 30,
        "covariates": [],
        "est_method": "dr",
    }
    assert js["inference"]["method"] == "unit" and js["inference"]["n_clusters"] is None
    skipped = [s for s in js["skipped"] if s["group"] == 4]
    assert len(skipped) == 4 and {s["code"] for s in skipped} == {"few_treated"}
    assert all(s["n_treated"] <= 3 and "fewer than 5" in s["reason"] for s in skipped)
    dropped = js["dropped"]
    assert dropped["units"]["treated_in_first_period"] == 10
    # five units lost a row to a missing outcome, so the balanced panel drops them
    assert dropped["units"]["not_observed_in_every_period"] == 5
    assert dropped["rows_without_unit_period_or_outcome"] == 5
    assert dropped["n_units"] == 15
    assert "bootstrap" not in js
    assert all("se_boot" not in a for a in js["aggregations"].values())


def test_json_with_bootstrap_has_every_bootstrap_se_and_the_seed() -> None:
    res = att_gt(planted(3), **COLS, boot_draws=199, seed=7)
    js = res.to_json_dict()
    boot = js["bootstrap"]
    assert boot["seed"] == 7 and boot["draws"] == 199 and boot["weights"] == "rademacher"
    assert boot["crit_value"] > 1.96
    assert all(c["se_boot"] > 0 for c in js["attgt"])
    for kind, agg in js["aggregations"].items():
        assert agg["se_boot"] > 0
        assert agg["se_boot"] == pytest.approx(agg["se"], rel=0.25)
        if kind != "simple":
            assert agg["crit_value"] >= 1.96
            assert all(r["se_boot"] > 0 for r in agg["by"])
    # the same seed gives the same figures
    assert res.to_json_dict() == att_gt(planted(3), **COLS, boot_draws=199, seed=7).to_json_dict()
    assert js["settings"]["boot_weights"] == "rademacher" and js["settings"]["seed"] == 7
    assert math.isfinite(js["aggregations"]["dynamic"]["crit_value"])
