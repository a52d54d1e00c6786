"""The whole behaviour analysis of a 30,000-staff city, timed beside diff-diff and csdid on the
same panel in the same run.

Run: PYTHONPATH=src .venv/bin/python benchmarks/did_workload.py [--units N] [--repeats R]
     [--draws B] [--no-csdid] [--no-rss]

One simulated panel (``did_covariates.speed_panel``): 30,000 units × 20 periods, cohorts first
treated in periods 6, 9, 12, 15, 18 and never, selection and trend on five covariates (three
numbers, two 0/1), never-treated comparison group. Rows (each tool does the same work where it
can; where it cannot, the row says so and gives no ratio):

(a) ATT(g,t) + four aggregations, analytic SEs. dxkpi: simple, group, dynamic, calendar (each
    with its overall value) and the pre-test; diff-diff 3.13: simple, group, event study (it has
    no calendar aggregation); csdid 0.4.3: the four.
(b) (a) + a 999-draw Rademacher multiplier bootstrap of ATT(g,t) and of every aggregation, with
    sup-t uniform bands. dxkpi: all four aggregations, by key and overall; diff-diff: ATT(g,t),
    the overall value, group and event study (its post-fit aggregations replay the fit's draws;
    bands on the event study); csdid: ATT(g,t) and the four aggregations (``cband=True``).
(c) The same with doubly robust estimation on the five covariates: analytic (c1) and with the
    bootstrap of (b) (c2).
(d) The sensitivity analysis (Rambachan & Roth) on the universal-base event study (19 pre, 15
    post event times: all of them): (d1) ATT(g,t) with a universal base, the event study and its
    covariance, smoothness bounds Δ^SD(M) with the optimal FLCI at M = 0, 0.1, 0.25, 0.5 × SE
    and the breakdown value; diff-diff does the same (its ``HonestDiD(method="smoothness")``,
    optimal FLCI, with its breakdown search). (d2) relative-magnitude bounds Δ^RM(M̄),
    M̄ = 0, 0.5, 1, 1.5, 2, by the Andrews–Roth–Pakes conditional test inverted on a 100-point
    grid, and the breakdown value: no peer does it (diff-diff's relative-magnitude interval is
    the identified set widened by z·SE, not ARP; csdid has no sensitivity analysis), so no ratio.
(e) The whole workload, (a) through (d) one after the other; the peers' "whole" is the sum of
    the rows they can do, with a ratio only against the same rows of dxkpi.

Timing: ``--repeats`` rounds; in each round every row runs once per tool, the tools' order
rotating from round to round (interleaved, so load from other processes falls on all of them);
the median per row is shown, with the load average. Imports and first-call costs are paid by a
warm-up on 2,000 units. Before timing, the estimates are checked against the peers on this
panel (ATT(g,t), SEs, overall values, FLCIs): the ratio compares like with like. Peak RSS: the
whole dxkpi workload once, first, in a fresh (spawned) process (``--no-rss`` skips it).

Measured 2026-12-05 with the final code (2 cores shared with other jobs, load average 2.6
before and 5.5 after; median of 3 interleaved rounds; diff-diff 3.13.0, csdid 0.4.3), seconds
and peer ÷ dxkpi:

    row                                     dxkpi   diff-diff (÷)     csdid (÷)
    (a) ATT(g,t) + 4 aggregations            0.30    0.17 (0.57)      3.31 (11)
    (b) + bootstrap 999 of every agg.        0.73    1.47 (2.02)     18.63 (26)
    (c1) DR 5 covariates, analytic           0.35    0.86 (2.46)      1.32 (3.8)
    (c2) DR 5 covariates, bootstrap 999      1.09    2.29 (2.10)     20.81 (19)
    (d1) event study + smoothness FLCI       1.26   59.35 (47, once)  n/a
    (d2) relative magnitudes (ARP)           1.44    n/a              n/a
    (e) whole workload                       5.17   64.14 (17.2)     44.07 (17.9, rows a–c)

An earlier run (before the last change to the aggregations, load about 11): (b) 0.99 s vs
diff-diff 3.36 (3.4×), (c2) 0.88 vs 2.66 (3.0×), (a) 0.25 vs 0.19 (0.73×): on busy cores the
ratios move by ±50 %; alone (load about 1) (a) takes 0.13–0.15 s for dxkpi.

Agreement on the panel: ATT(g,t), SEs and every aggregation equal csdid's to 7e-16 (DR: 3e-16)
and diff-diff's to 9e-16 without covariates; diff-diff's DR differs by up to 6e-6 in ATT(g,t)
(its own propensity-score trimming); the smoothness FLCIs equal diff-diff's to 8e-7. Bootstrap SE
/ analytic SE of the simple ATT 1.003 (diff-diff 0.999), event-study band critical value 3.11
(diff-diff 3.09). Row (a) alone is slower than diff-diff: dxkpi also computes the calendar
aggregation, the overall values of the group and dynamic ones and the pre-test with its minimum
detectable slope. The whole dxkpi workload in a fresh process: 8.0 s at load 2.6 (4.4 s at load
about 1), peak RSS 361 MB, 190 MB above the panel and imports.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from did_covariates import SPEED_COVARIATES, speed_panel

from dxkpi.models.did import AttGtResult, att_gt
from dxkpi.models.sensitivity import event_study, relative_magnitudes, smoothness

KINDS = ("simple", "group", "dynamic", "calendar")
COLS = {"unit": "id", "time": "t", "group": "g", "outcome": "y"}
MBAR = (0.0, 0.5, 1.0, 1.5, 2.0)
M_SCALE = (0.0, 0.1, 0.25, 0.5)
GRID_POINTS = 100
TOOLS = ("dxkpi", "diff-diff", "csdid")
SD_ROW = "(d1) event study + smoothness FLCI"
#: Peer runs too slow to repeat, timed once (in the agreement check): (row, tool) → seconds.
ONCE: dict[tuple[str, str], float] = {}


@dataclass(frozen=True)
class Job:
    """One row's work for one tool; ``fn`` is None where the tool cannot do it (``why``)."""

    fn: Callable[[], Any] | None
    why: str = ""


# ---------------------------------------------------------------------------------------------
# dxkpi
# ---------------------------------------------------------------------------------------------


def ours_did(df: pl.DataFrame, draws: int, covariates: bool) -> AttGtResult:
    extra: dict[str, Any] = (
        {"covariates": SPEED_COVARIATES, "est_method": "dr"} if covariates else {}
    )
    res = att_gt(df, **COLS, boot_draws=draws, seed=1, **extra)
    for kind in KINDS:
        res.aggregate(kind)
    res.pretest()
    return res


def ours_sd(df: pl.DataFrame) -> Any:
    es = event_study(att_gt(df, **COLS, base_period="universal"))
    se = es.original_ci(es.target_vector("average"), 0.05)[1]
    return smoothness(es, tuple(se * k for k in M_SCALE), target="average")


def ours_rm(df: pl.DataFrame) -> Any:
    es = event_study(att_gt(df, **COLS, base_period="universal"))
    return relative_magnitudes(es, MBAR, target="average", grid_points=GRID_POINTS)


# ---------------------------------------------------------------------------------------------
# diff-diff
# ---------------------------------------------------------------------------------------------


def dd_did(pdf: Any, draws: int, covariates: bool) -> tuple[Any, dict[str, Any]]:
    from diff_diff import CallawaySantAnna

    extra: dict[str, Any] = {"estimation_method": "dr"} if covariates else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CallawaySantAnna(n_bootstrap=draws, seed=1, **extra).fit(
            pdf,
            outcome="y",
            unit="id",
            time="t",
            first_treat="g",
            covariates=SPEED_COVARIATES if covariates else None,
        )
        aggs = {kind: res.aggregate(kind) for kind in ("simple", "group", "event_study")}
    return res, aggs


def dd_sd(pdf: Any, m_grid: list[float]) -> Any:
    from diff_diff import CallawaySantAnna
    from diff_diff.honest_did import HonestDiD

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CallawaySantAnna(base_period="universal").fit(
            pdf, outcome="y", unit="id", time="t", first_treat="g"
        )
        es = res.aggregate("event_study")
        return HonestDiD(method="smoothness").sensitivity_analysis(es, M_grid=m_grid)


# ---------------------------------------------------------------------------------------------
# csdid
# ---------------------------------------------------------------------------------------------


def cs_did(pdf: Any, draws: int, covariates: bool) -> tuple[Any, dict[str, Any]]:
    from csdid.att_gt import ATTgt

    boot = draws > 0
    kw: dict[str, Any] = {"xformla": "y~" + "+".join(SPEED_COVARIATES)} if covariates else {}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        att = ATTgt(
            yname="y",
            tname="t",
            idname="id",
            gname="g",
            data=pdf,
            cband=boot,
            biters=max(draws, 1),
            **kw,
        )
        res = att.fit(est_method="dr", bstrap=boot)
        aggs = {}
        for kind in KINDS:
            extra = {"biters": draws} if boot else {}
            aggs[kind] = dict(res.aggte(typec=kind, bstrap=boot, cband=boot, **extra).atte)
    return res, aggs


# ---------------------------------------------------------------------------------------------
# agreement
# ---------------------------------------------------------------------------------------------


def _gap(a: Any, b: Any) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.nanmax(np.abs(x - y)))


def _dd_cells(res: Any, ours: AttGtResult) -> tuple[np.ndarray, np.ndarray]:
    f = ours.attgt
    eff = res.group_time_effects
    keys = list(zip(f["group"].to_list(), f["time"].to_list(), strict=True))
    return (
        np.array([eff[k]["effect"] for k in keys]),
        np.array([eff[k]["se"] for k in keys]),
    )


def check_agreement(df: pl.DataFrame, pdf: Any, with_csdid: bool) -> list[str]:
    """Lines: the largest gaps between dxkpi and each peer on this panel (analytic)."""
    out = []
    for cov in (False, True):
        label = "DR, 5 covariates" if cov else "no covariates"
        ours = ours_did(df, 0, cov)
        agg = {k: ours.aggregate(k) for k in KINDS}
        simple = agg["simple"]
        dd, dd_aggs = dd_did(pdf, 0, cov)
        att, se = _dd_cells(dd, ours)
        dyn = agg["dynamic"].by
        assert dyn is not None
        es = dd_aggs["event_study"]
        times = np.asarray(es.event_time).tolist()
        es_att = dict(zip(times, np.asarray(es.att), strict=True))
        es_se = dict(zip(times, np.asarray(es.se), strict=True))
        mine = dyn.filter(pl.col("key").is_in(times))
        keys = mine["key"].to_list()
        gaps = (
            _gap(ours.attgt["att"], att),
            _gap(ours.attgt["se"], se),
            abs(simple.att - dd.overall_att),
            abs((simple.se or math.nan) - dd.overall_se),
            _gap(mine["att"], [es_att[k] for k in keys]),
            _gap(mine["se"], [es_se[k] for k in keys]),
        )
        out.append(
            f"  {label}, diff-diff: ATT(g,t) {gaps[0]:.1e}, SE {gaps[1]:.1e}; simple "
            f"{gaps[2]:.1e} (SE {gaps[3]:.1e}); event study {gaps[4]:.1e} (SE {gaps[5]:.1e})"
        )
        if with_csdid:
            cs, cs_aggs = cs_did(pdf, 0, cov)
            d_att = _gap(ours.attgt["att"], cs.results["att"])
            d_se = _gap(ours.attgt["se"], np.asarray(cs.results["se"], dtype=float))
            by = {k: agg[k].by for k in KINDS[1:]}
            worst = max(
                max(abs(agg[k].att - cs_aggs[k]["overall_att"]) for k in KINDS),
                max(_gap(by[k]["att"], cs_aggs[k]["att_egt"]) for k in KINDS[1:]),  # type: ignore[index]
            )
            worst_se = max(
                max(abs((agg[k].se or math.nan) - cs_aggs[k]["overall_se"]) for k in KINDS),
                max(_gap(by[k]["se"], cs_aggs[k]["se_egt"]) for k in KINDS[1:]),  # type: ignore[index]
            )
            out.append(
                f"  {label}, csdid: ATT(g,t) {d_att:.1e}, SE {d_se:.1e}; four aggregations "
                f"(overall and by key) {worst:.1e}, SE {worst_se:.1e}"
            )
    sd = ours_sd(df)
    start = time.perf_counter()
    dd_res = dd_sd(pdf, [s.value for s in sd.sets])
    ONCE[(SD_ROW, "diff-diff")] = time.perf_counter() - start
    ends = [
        max(abs(s.lower - lo), abs(s.upper - hi))  # type: ignore[operator]
        for s, (lo, hi) in zip(sd.sets, dd_res.robust_cis, strict=True)
    ]
    half = (sd.sets[0].upper - sd.sets[0].lower) / 2  # type: ignore[operator]
    out.append(
        f"  smoothness FLCIs (M = {', '.join(f'{s.value:.4f}' for s in sd.sets)}), diff-diff: "
        f"largest gap of an end {max(ends):.1e} (half-length at M = 0: {half:.4f}); breakdown M "
        f"dxkpi {sd.breakdown}, diff-diff {dd_res.breakdown_M}"
    )
    return out


def check_bootstrap(df: pl.DataFrame, pdf: Any, draws: int) -> list[str]:
    """Bootstrap SEs of the overall values against the analytic ones and diff-diff's draws."""
    ours = ours_did(df, draws, False)
    dd, dd_aggs = dd_did(pdf, draws, False)
    dd0 = dd_did(pdf, 0, False)[0]
    simple = ours.aggregate("simple")
    dyn = ours.aggregate("dynamic")
    ratio = (simple.se_boot or math.nan) / (simple.se or math.nan)
    return [
        f"  bootstrap SE / analytic SE of the simple ATT: dxkpi {ratio:.3f}, diff-diff "
        f"{dd.overall_se / dd0.overall_se:.3f}; event-study band critical value: dxkpi "
        f"{dyn.crit_value:.3f}, diff-diff {dd_aggs['event_study'].cband_crit_value:.3f} "
        "(different draws: equal up to simulation error)"
    ]


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------


def rows(
    df: pl.DataFrame, pdf: Any, draws: int, with_csdid: bool
) -> list[tuple[str, dict[str, Job]]]:
    no_cs = Job(None, "csdid not run (--no-csdid)")
    cs = (lambda job: job) if with_csdid else (lambda job: no_cs)
    return [
        (
            "(a) ATT(g,t) + 4 aggregations",
            {
                "dxkpi": Job(lambda: ours_did(df, 0, False)),
                "diff-diff": Job(lambda: dd_did(pdf, 0, False)),
                "csdid": cs(Job(lambda: cs_did(pdf, 0, False))),
            },
        ),
        (
            f"(b) + bootstrap {draws} of every agg.",
            {
                "dxkpi": Job(lambda: ours_did(df, draws, False)),
                "diff-diff": Job(lambda: dd_did(pdf, draws, False)),
                "csdid": cs(Job(lambda: cs_did(pdf, draws, False))),
            },
        ),
        (
            "(c1) DR 5 covariates, analytic",
            {
                "dxkpi": Job(lambda: ours_did(df, 0, True)),
                "diff-diff": Job(lambda: dd_did(pdf, 0, True)),
                "csdid": cs(Job(lambda: cs_did(pdf, 0, True))),
            },
        ),
        (
            f"(c2) DR 5 covariates, bootstrap {draws}",
            {
                "dxkpi": Job(lambda: ours_did(df, draws, True)),
                "diff-diff": Job(lambda: dd_did(pdf, draws, True)),
                "csdid": cs(Job(lambda: cs_did(pdf, draws, True))),
            },
        ),
        (
            SD_ROW,
            {
                "dxkpi": Job(lambda: ours_sd(df)),
                "diff-diff": Job(None, "timed once, in the agreement check (minutes per run)"),
                "csdid": Job(None, "no sensitivity analysis"),
            },
        ),
        (
            "(d2) relative magnitudes (ARP)",
            {
                "dxkpi": Job(lambda: ours_rm(df)),
                "diff-diff": Job(None, "not ARP"),
                "csdid": Job(None, "no sensitivity analysis"),
            },
        ),
    ]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(
    table: list[tuple[str, dict[str, Job]]], repeats: int
) -> dict[tuple[str, str], list[float]]:
    times: dict[tuple[str, str], list[float]] = {}
    for rep in range(repeats):
        order = TOOLS[rep % 3 :] + TOOLS[: rep % 3]
        for name, jobs in table:
            for tool in order:
                job = jobs[tool]
                if job.fn is not None:
                    times.setdefault((name, tool), []).append(_timed(job.fn))
    return times


def _rss_child(units: int, draws: int, queue: Any) -> None:
    df = speed_panel(units)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    for cov in (False, True):
        ours_did(df, 0, cov)
        ours_did(df, draws, cov)
    ours_sd(df)
    ours_rm(df)
    queue.put(
        (base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - start)
    )


def peak_rss(units: int, draws: int) -> tuple[float, float, float]:
    """(peak RSS MB, its rise over the panel's MB, seconds) of the whole dxkpi work in a fresh
    process (spawned: forking after polars' threads started can hang). ru_maxrss survives exec,
    so call this before the parent grows (before the peers and their copies of the panel)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_rss_child, args=(units, draws, queue))
    proc.start()
    base, peak, secs = queue.get()
    proc.join()
    return peak / 1024, (peak - base) / 1024, secs


def _fmt(x: float | None, width: int, spec: str = ".2f") -> str:
    return f"{'—' if x is None else format(x, spec):>{width}}"


def report(
    table: list[tuple[str, dict[str, Job]]], times: dict[tuple[str, str], list[float]]
) -> None:
    med = {k: statistics.median(v) for k, v in times.items()} | ONCE
    print(
        f"{'row':<40}{'dxkpi s':>9}{'diff-diff s':>13}{'÷ dxkpi':>9}{'csdid s':>10}{'÷ dxkpi':>9}"
    )
    whole: dict[str, float] = dict.fromkeys(TOOLS, 0.0)
    whole_like: dict[str, float] = {"diff-diff": 0.0, "csdid": 0.0}
    notes = []
    for name, jobs in table:
        ours = med[(name, "dxkpi")]
        whole["dxkpi"] += ours
        cells = []
        for tool in ("diff-diff", "csdid"):
            t = med.get((name, tool))
            if (name, tool) in ONCE:
                notes.append(f"{name.split()[0]} {tool}: {jobs[tool].why}")
            if t is None:
                cells.append(
                    f"{'n/a':>13}{'':>9}" if tool == "diff-diff" else f"{'n/a':>10}{'':>9}"
                )
                notes.append(f"{name.split()[0]} {tool}: {jobs[tool].why}")
                continue
            whole[tool] += t
            whole_like[tool] += ours
            w = 13 if tool == "diff-diff" else 10
            cells.append(f"{t:>{w}.2f}{t / ours:>9.2f}")
        print(f"{name:<40}{ours:>9.2f}{''.join(cells)}")
    print(
        f"{'(e) whole workload (a)–(d)':<40}{whole['dxkpi']:>9.2f}"
        + "".join(
            f"{whole[tool]:>{13 if tool == 'diff-diff' else 10}.2f}"
            f"{whole[tool] / whole_like[tool]:>9.2f}"
            if whole_like[tool]
            else f"{'n/a':>{13 if tool == 'diff-diff' else 10}}{'':>9}"
            for tool in ("diff-diff", "csdid")
        )
    )
    print(
        "  (e): a peer's total covers only the rows it can do; its ratio is to dxkpi's time on "
        "those same rows"
    )
    for note in notes:
        print(f"  n/a — {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--draws", type=int, default=999)
    ap.add_argument("--no-csdid", action="store_true")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with_cs = not args.no_csdid
    if not args.no_rss:
        peak, rise, secs = peak_rss(args.units, args.draws)
        print(
            f"dxkpi whole workload in a fresh process: {secs:.2f} s, peak RSS {peak:,.0f} MB "
            f"({rise:+,.0f} MB over the panel and imports); measured first, before the peers load"
        )
    df = speed_panel(args.units)
    pdf = df.to_pandas()
    small = speed_panel(2000)
    for _name, jobs in rows(small, small.to_pandas(), 9, with_cs):  # warm-up
        for job in jobs.values():
            if job.fn is not None:
                job.fn()
    dd_sd(small.to_pandas(), [0.0])  # diff-diff's sensitivity imports (one bound, no breakdown)
    print(
        f"panel: {args.units:,} units × 20 periods, cohorts 6/9/12/15/18 + never treated, "
        f"5 covariates; {args.draws} Rademacher draws; median of {args.repeats} interleaved "
        f"rounds; load average before {os.getloadavg()[0]:.2f}"
    )
    if not args.no_check:
        print("agreement with the peers on this panel (largest absolute gap):")
        for line in check_agreement(df, pdf, with_cs):
            print(line)
        for line in check_bootstrap(df, pdf, args.draws):
            print(line)
    table = rows(df, pdf, args.draws, with_cs)
    times = measure(table, args.repeats)
    report(table, times)
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
