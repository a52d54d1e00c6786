"""Coverage of 95% CIs for the simple ATT over simulated staggered panels (expected 93–97%).

Run: .venv/bin/python benchmarks/did_coverage.py [--panels N] [--units N] [--seed S]
Effects differ by cohort and grow with exposure; cohorts are drawn with fixed probabilities, so
the target is the population-share-weighted average of post-treatment ATT(g,t) (the CI includes
the estimated-share term). TWFE's coverage of the same target is printed for contrast.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from dxkpi.models.contrasts import twfe
from dxkpi.models.did import att_gt

COHORTS = np.array([3, 5, 7, 0])
PROBS = np.array([0.2, 0.2, 0.2, 0.4])
PERIODS = 8


def effect(g: np.ndarray, t: np.ndarray) -> np.ndarray:
    """True ATT(g,t): 1 + 0.25·g/3 on impact, growing 0.3 per period of exposure."""
    return 1.0 + 0.25 * g / 3 + 0.3 * (t - g)


def true_simple_att() -> float:
    num = den = 0.0
    for g, p in zip(COHORTS[:-1], PROBS[:-1], strict=True):
        for t in range(int(g), PERIODS + 1):
            num += p * float(effect(np.array(g), np.array(t)))
            den += p
    return num / den


def simulate(rng: np.random.Generator, units: int, drop: float) -> pl.DataFrame:
    g = rng.choice(COHORTS, size=units, p=PROBS)
    ids = np.repeat(np.arange(units), PERIODS)
    t = np.tile(np.arange(1, PERIODS + 1), units)
    gg = np.repeat(g, PERIODS)
    treated = (gg > 0) & (t >= gg)
    # unit effects correlated with cohort, AR(1)-ish noise via a unit random slope
    y = (
        np.repeat(rng.normal(size=units) + 0.5 * (g > 0), PERIODS)
        + 0.2 * t
        + np.repeat(rng.normal(0, 0.05, size=units), PERIODS) * t
        + rng.normal(size=ids.size)
        + np.where(treated, effect(gg, t), 0.0)
    )
    df = pl.DataFrame({"id": ids, "t": t, "g": gg, "y": y})
    return df.filter(pl.Series(rng.random(df.height) >= drop)) if drop else df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--panels", type=int, default=1000)
    ap.add_argument("--units", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    truth = true_simple_att()
    start = time.perf_counter()
    rows = []
    for i in range(args.panels):
        drop = 0.1 if i % 3 == 2 else 0.0  # every third panel unbalanced
        df = simulate(rng, args.units, drop)
        agg = att_gt(df, unit="id", time="t", group="g", outcome="y").aggregate("simple")
        lo, hi = agg.ci
        tw = twfe(df, unit="id", time="t", group="g", outcome="y")
        rows.append(
            (
                drop > 0,
                lo <= truth <= hi,
                agg.att - truth,
                tw.ci[0] <= truth <= tw.ci[1],
                tw.estimate - truth,
            )
        )
    res = pl.DataFrame(
        rows, schema=["unbalanced", "covered", "error", "twfe_covered", "twfe_error"], orient="row"
    )
    print(
        f"{args.panels} panels × {args.units} units × {PERIODS} periods; true simple ATT "
        f"{truth:.4f}; {time.perf_counter() - start:.1f} s"
    )
    print(
        f"{'panels':<14}{'n':>5}{'coverage %':>12}{'mean bias':>11}{'TWFE cov %':>12}"
        f"{'TWFE bias':>11}"
    )
    for name, part in (
        ("balanced", res.filter(~pl.col("unbalanced"))),
        ("unbalanced", res.filter(pl.col("unbalanced"))),
        ("all", res),
    ):
        print(
            f"{name:<14}{part.height:>5}{100 * part['covered'].mean():>12.1f}"
            f"{part['error'].mean():>11.4f}{100 * part['twfe_covered'].mean():>12.1f}"
            f"{part['twfe_error'].mean():>11.4f}"
        )
    share = 100 * res["covered"].mean()
    print(
        f"coverage of the simple ATT 95% CI: {share:.1f}% "
        f"({'within' if 93 <= share <= 97 else 'OUTSIDE'} 93–97%)"
    )


if __name__ == "__main__":
    main()
