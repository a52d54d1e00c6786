"""Speed of dxkpi.models.did on 30,000 units × 20 periods (5 cohorts + never treated), vs diff-diff.

Run: .venv/bin/python benchmarks/did_speed.py [--units N] [--repeats R]
Targets: analytic SEs + all aggregations ≤ 10 s; 999 bootstrap draws ≤ 30 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import warnings

import numpy as np
import polars as pl

from dxkpi.models.did import att_gt

KINDS = ("simple", "group", "dynamic", "calendar")


def synthetic_panel(units: int, periods: int = 20, seed: int = 0) -> pl.DataFrame:
    """Balanced panel: cohorts first treated in periods 6, 9, 12, 15, 18 and never treated."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([6, 9, 12, 15, 18, 0]), size=units)
    ids = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    gg = np.repeat(g, periods)
    treated = (gg > 0) & (t >= gg)
    y = (
        np.repeat(rng.normal(size=units), periods)
        + 0.1 * t
        + rng.normal(size=ids.size)
        + np.where(treated, 1.0 + 0.1 * (t - gg), 0.0)
    )
    return pl.DataFrame({"id": ids, "t": t, "g": gg, "y": y})


def run_ours(df: pl.DataFrame, draws: int) -> float:
    start = time.perf_counter()
    res = att_gt(df, unit="id", time="t", group="g", outcome="y", boot_draws=draws, seed=1)
    for kind in KINDS:
        res.aggregate(kind)
    res.pretest()
    return time.perf_counter() - start


def run_diff_diff(df: pl.DataFrame, draws: int) -> float | None:
    try:
        from diff_diff import CallawaySantAnna
    except ImportError:
        return None
    pdf = df.to_pandas()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CallawaySantAnna(n_bootstrap=draws, seed=1).fit(
            pdf, outcome="y", unit="id", time="t", first_treat="g"
        )
        for kind in ("simple", "group", "event_study"):
            res.aggregate(kind)
    return time.perf_counter() - start


def _median(fn, repeats: int) -> float | None:
    times = [fn() for _ in range(repeats)]
    return None if times[0] is None else statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    df = synthetic_panel(args.units)
    run_ours(df.head(2000), 0)  # warm-up (imports, first-call costs)
    ours_a = _median(lambda: run_ours(df, 0), args.repeats)
    ours_b = _median(lambda: run_ours(df, 999), args.repeats)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dd_a = _median(lambda: run_diff_diff(df, 0), args.repeats)
    dd_b = _median(lambda: run_diff_diff(df, 999), args.repeats)
    rows = [
        ("analytic + 4 aggregations", ours_a, 10.0, dd_a),
        ("999-draw bootstrap + aggregations", ours_b, 30.0, dd_b),
    ]
    print(
        f"panel: {args.units:,} units × 20 periods, 5 cohorts + never treated; "
        f"median of {args.repeats}"
    )
    print(f"{'run':<36}{'dxkpi s':>9}{'limit s':>9}{'ok':>5}{'diff-diff s':>13}{'ratio':>8}")
    for name, ours, limit, dd in rows:
        ratio = f"{ours / dd:.2f}" if dd else "—"
        dd_s = f"{dd:.2f}" if dd is not None else "n/a"
        ok = "yes" if ours <= limit else "NO"
        print(f"{name:<36}{ours:>9.2f}{limit:>9.0f}{ok:>5}{dd_s:>13}{ratio:>8}")
    print(f"peak RSS after dxkpi runs (before diff-diff): {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
