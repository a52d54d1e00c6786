"""Goodman-Bacon decomposition: oracle diff-diff on mpdta, TWFE by least squares, panel rules."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dxkpi.models.bacon import BaconError, bacon
from dxkpi.models.contrasts import twfe

MPDTA = (
    Path(__file__).parent / "data" / "mpdta.csv"
)  # R did's example (csdid's copy, sha256 2283bea1…)
COLS = {"unit": "countyreal", "time": "year", "group": "first.treat", "outcome": "lemp"}


def _mpdta() -> pl.DataFrame:
    return pl.read_csv(MPDTA)


def _twfe_lstsq(df: pl.DataFrame, unit: str, time: str, group: str, outcome: str) -> float:
    """The TWFE coefficient from a plain regression on unit and period dummies (numpy)."""
    u = df[unit].rank("dense").cast(pl.Int64).to_numpy() - 1
    t = df[time].rank("dense").cast(pl.Int64).to_numpy() - 1
    g, tt = df[group].to_numpy(), df[time].to_numpy()
    d = ((g > 0) & (tt >= g)).astype(float)
    x = np.column_stack([d, np.eye(u.max() + 1)[u], np.eye(t.max() + 1)[t][:, 1:]])
    return float(np.linalg.lstsq(x, df[outcome].to_numpy(), rcond=None)[0][0])


def test_mpdta_matches_diff_diff_and_reproduces_twfe() -> None:
    dd = pytest.importorskip("diff_diff")
    df = _mpdta()
    res = bacon(df, **COLS)
    assert res.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert res.estimate == pytest.approx(_twfe_lstsq(df, **COLS), abs=1e-12)
    assert res.estimate == pytest.approx(twfe(df, **COLS).estimate, abs=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = (
            dd.BaconDecomposition()
            .fit(
                df.to_pandas(),
                outcome="lemp",
                unit="countyreal",
                time="year",
                first_treat="first.treat",
            )
            .to_dataframe()
        )
    ours = {
        (r["type"], int(r["treated"]), None if r["control"] is None else int(r["control"])): r
        for r in res.comparisons.iter_rows(named=True)
    }
    assert len(ours) == len(theirs) == 9
    for r in theirs.to_dict("records"):
        ctrl = None if r["control_group"] == "never_treated" else int(r["control_group"])
        mine = ours[(r["comparison_type"], int(r["treated_group"]), ctrl)]
        assert mine["estimate"] == pytest.approx(r["estimate"], abs=1e-10)
        assert mine["weight"] == pytest.approx(r["weight"], abs=1e-10)
    assert res.forbidden_share == pytest.approx(
        theirs.loc[theirs.comparison_type == "later_vs_earlier", "weight"].sum(), abs=1e-10
    )


def _panel(seed: int, always: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    starts = [0, 3, 5, 6, 1 if always else 0]
    rows = []
    for u in range(50):
        g = starts[u % 5]
        for t in range(1, 9):
            eff = 0.5 + 0.4 * (t - g) if g and t >= g else 0.0  # growing effects
            rows.append({"id": u, "t": t, "g": g, "y": rng.normal() + 0.1 * u + 0.3 * t + eff})
    return pl.DataFrame(rows)


@pytest.mark.parametrize("always", [False, True])
def test_weights_sum_to_one_and_reproduce_twfe(always) -> None:
    """With growing effects the forbidden comparisons carry weight and pull the estimate down;
    units treated in the first period count as untreated (their dummy is constant)."""
    df = _panel(3, always)
    cols = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}
    res = bacon(df, **cols)
    assert res.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (res.comparisons["weight"] > 0).all()
    assert res.estimate == pytest.approx(_twfe_lstsq(df, **cols), abs=1e-10)
    assert res.always_treated == (10 if always else 0)
    assert 0 < res.forbidden_share < 1
    by = res.effect_by_type()
    assert by["later_vs_earlier"] < by["treated_vs_never"]


def test_unbalanced_panel_is_refused_or_balanced_on_request() -> None:
    df = _panel(4).filter(~((pl.col("id") == 7) & (pl.col("t") == 2)))
    cols = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}
    with pytest.raises(BaconError, match="unbalanced"):
        bacon(df, **cols)
    res = bacon(df, **cols, balance=True)
    assert res.dropped_units == 1 and res.n_units == 49
    kept = df.filter(pl.col("id") != 7)
    assert res.estimate == pytest.approx(_twfe_lstsq(kept, **cols), abs=1e-10)


def test_no_staggered_treatment_is_an_error() -> None:
    df = _panel(5).with_columns(pl.lit(0).alias("g"))
    with pytest.raises(BaconError):
        bacon(df, unit="id", time="t", group="g", outcome="y")
