"""Size of the DiD pre-test with no pre-trend and one small cohort, before vs after the fix.

Run: PYTHONPATH=src .venv/bin/python benchmarks/did_pretest_size.py [--reps N] [--seed S]
Each panel: 8 periods, a small cohort (5, 10, 30 or 100 units) first treated in period 7 (5
pre-treatment cells under the varying base), a cohort of 150 units treated in period 4 and 150
never-treated units; parallel trends hold exactly (unit effects, a common trend, i.i.d. noise).
"Before" is R did's Wald test on every cohort (``pretest_min_units=0``); "after" the default,
which leaves out cohorts with fewer than max(30, 20 per pre cell) units. Goal: 3–7% at 5%.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import polars as pl

from dxkpi.models.did import att_gt

PERIODS = 8


def simulate(rng: np.random.Generator, small: int) -> pl.DataFrame:
    cohorts = np.concatenate([np.full(small, 7), np.full(150, 4), np.zeros(150, dtype=int)])
    n = cohorts.size
    ids = np.repeat(np.arange(n), PERIODS)
    t = np.tile(np.arange(1, PERIODS + 1), n)
    g = np.repeat(cohorts, PERIODS)
    y = np.repeat(rng.normal(size=n), PERIODS) + 0.2 * t + rng.normal(size=ids.size)
    return pl.DataFrame({"id": ids, "t": t, "g": g, "y": y})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(f"{args.reps} panels per size; rejection rate of the pre-test at 5% (no pre-trend)")
    print(
        f"{'small cohort':>13}{'before %':>10}{'after %':>10}{'small kept %':>14}{'MDT slope':>11}"
    )
    for small in (5, 10, 30, 100):
        before = after = kept = 0
        mdt = []
        for _ in range(args.reps):
            res = att_gt(simulate(rng, small), unit="id", time="t", group="g", outcome="y")
            r_test = replace(res, settings=replace(res.settings, pretest_min_units=0)).pretest()
            test = res.pretest()
            before += r_test.p is not None and r_test.p < 0.05
            after += test.p is not None and test.p < 0.05
            kept += 7 in test.cohorts
            if test.min_detectable_slope is not None:
                mdt.append(test.min_detectable_slope)
        print(
            f"{small:>13}{100 * before / args.reps:>10.1f}{100 * after / args.reps:>10.1f}"
            f"{100 * kept / args.reps:>14.1f}{np.median(mdt):>11.3f}"
        )
    print(f"{time.perf_counter() - start:.1f} s (MDT: median minimum detectable linear slope)")


if __name__ == "__main__":
    main()
