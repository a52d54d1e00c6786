"""Per-course verdict error rates and interval coverage over simulated sample cities.

Run: PYTHONPATH=src .venv/bin/python benchmarks/course_verdicts.py [--cities 200] [--quick]
     [--first-seed 1] [--jobs 1] [--smallest 20] [--json out.json]

Each city is the sample generator's city for one seed (``dxkpi.sample``: the same draws as
``generate_city(seed=…)``), built in memory from the simulated history — staff, courses,
attendance and proposals — without the planted bad rows and file rendering (which the ingest
quarantines; they are not what is measured here). Its planted truth is the generator's own
``programme_truth`` (``ground_truth.json`` keys ``course_effects``,
``phase_effects``). Every city is judged by :func:`dxkpi.models.courses.course_effects` and
:func:`~dxkpi.models.courses.phase_effects` with the default settings (SESOI 20 per 100
staff-years, Holm at 5%, at least 30 first-at-stage completers, 10 comparison staff a pair of
months, a base of up to 12 months; ``--base-months 1`` gives did.py's single base month).

Printed, over the courses (phases) estimated in all cities:

* zero-effect courses called ``effect`` (share of such course-estimates), and the family-wise
  rate: the share of cities where at least one zero-effect course was called ``effect``
  (Holm promises ≤ 5%);
* real-effect courses called ``no_effect`` (share), and called ``effect`` (power);
* zero-effect courses called ``no_effect``; inconclusive shares; courses not estimated;
* coverage of the planted effect by the pointwise 95% intervals and by the simultaneous
  (Bonferroni) intervals, per course-estimate, and the share of cities where the simultaneous
  intervals cover every estimated course at once; coverage of the planted ratio by the ratio's
  95% interval.

``--quick`` runs 20 cities. ``--jobs`` runs cities in parallel processes (2 cores are shared on
the build machine: keep 1 or 2).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import polars as pl
from simulated_city import simulated_city

from dxkpi.ingest.processed import Processed
from dxkpi.models.courses import course_effects, per_employee_month, phase_effects, stage_panel


def simulate_city(seed: int) -> tuple[Processed, list[dict[str, Any]], dict[str, Any]]:
    """The sample city of ``seed`` as processed frames, with its course and phase truth
    (``simulated_city.py`` beside this file)."""
    data, truth = simulated_city(seed)
    return data, truth["course_effects"], truth["phase_effects"]


def _records(table: pl.DataFrame, truth: dict[str, dict[str, Any]], key: str) -> list[dict]:
    out = []
    for r in table.iter_rows(named=True):
        t = truth[str(r[key])]
        zero = bool(t["zero_effect"])
        target = t["expected_att"]
        rec = {
            "id": str(r[key]),
            "zero": zero,
            "target": target,
            "verdict": r["verdict"],
            "estimated": r["reason"] is None,
            "reason": r["reason"],
        }
        if r["reason"] is None and target is not None:
            rec |= {
                "effect": r["effect"],
                "covered": r["ci_low"] <= target <= r["ci_high"],
                "covered_adj": r["ci_adj_low"] <= target <= r["ci_adj_high"],
                "z": (r["effect"] - target) / r["se"],
            }
            if r["ratio_ci_low"] is not None and t.get("expected_ratio") is not None:
                rec["ratio_covered"] = (
                    r["ratio_ci_low"] <= t["expected_ratio"] <= r["ratio_ci_high"]
                )
        out.append(rec)
    return out


def one_city(args: tuple[int, float, int]) -> dict[str, Any]:
    seed, smallest, base_months = args
    started = time.perf_counter()
    data, courses_truth, phases_truth = simulate_city(seed)
    panel = stage_panel(data)
    ce = course_effects(data, smallest=smallest, panel=panel, base_months=base_months)
    pe = phase_effects(data, smallest=smallest, panel=panel, base_months=base_months)
    by_course = {c["course_id"]: c for c in courses_truth}
    by_phase = {p: dict(v, zero_effect=v["expected_att"] == 0) for p, v in phases_truth.items()}
    return {
        "seed": seed,
        "courses": _records(ce.table, by_course, "course_id"),
        "phases": _records(pe.table, by_phase, "phase"),
        "seconds": time.perf_counter() - started,
    }


def _share(hits: int, n: int) -> str:
    if n == 0:
        return "—  (0 cases)"
    p = hits / n
    se = math.sqrt(p * (1 - p) / n)
    return f"{p:6.1%} ± {1.96 * se:5.1%}  ({hits}/{n})"


def summarise(cities: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    recs = [r for c in cities for r in c[kind]]
    est = [r for r in recs if r["estimated"]]
    zero = [r for r in est if r["zero"]]
    real = [r for r in est if not r["zero"]]
    cov = [r for r in est if "covered" in r]

    def count(rows: Iterable[dict], verdict: str) -> int:
        return sum(r["verdict"] == verdict for r in rows)

    fw_cities = sum(any(r["zero"] and r["verdict"] == "effect" for r in c[kind]) for c in cities)
    all_cov = sum(all(r["covered_adj"] for r in c[kind] if "covered_adj" in r) for c in cities)
    zs = np.array([r["z"] for r in cov])
    rcov = [r["ratio_covered"] for r in cov if "ratio_covered" in r]
    out = {
        "estimates": len(est),
        "not_estimated": len(recs) - len(est),
        "zero_called_effect": (count(zero, "effect"), len(zero)),
        "familywise_false_positive_cities": (fw_cities, len(cities)),
        "zero_called_no_effect": (count(zero, "no_effect"), len(zero)),
        "zero_inconclusive": (count(zero, "inconclusive"), len(zero)),
        "real_called_no_effect": (count(real, "no_effect"), len(real)),
        "real_called_effect": (count(real, "effect"), len(real)),
        "real_inconclusive": (count(real, "inconclusive"), len(real)),
        "coverage_95": (sum(r["covered"] for r in cov), len(cov)),
        "coverage_simultaneous": (sum(r["covered_adj"] for r in cov), len(cov)),
        "cities_all_covered_simultaneous": (all_cov, len(cities)),
        "ratio_coverage_95": (sum(rcov), len(rcov)),
        "z_mean": float(zs.mean()) if zs.size else None,
        "z_sd": float(zs.std(ddof=1)) if zs.size > 1 else None,
    }
    return out


def _print(title: str, s: dict[str, Any]) -> None:
    print(f"\n{title}: {s['estimates']} estimates, {s['not_estimated']} not estimated")
    labels = (
        ("zero_called_effect", "zero-effect called effect (per estimate)"),
        ("familywise_false_positive_cities", "cities with ≥1 zero-effect called effect"),
        ("zero_called_no_effect", "zero-effect called no_effect"),
        ("zero_inconclusive", "zero-effect inconclusive"),
        ("real_called_no_effect", "real-effect called no_effect"),
        ("real_called_effect", "real-effect called effect (power)"),
        ("real_inconclusive", "real-effect inconclusive"),
        ("coverage_95", "pointwise 95% interval covers truth"),
        ("coverage_simultaneous", "simultaneous interval covers truth"),
        ("cities_all_covered_simultaneous", "cities: simultaneous intervals cover all"),
        ("ratio_coverage_95", "ratio's 95% interval covers planted ratio"),
    )
    for key, label in labels:
        print(f"  {label:<44} {_share(*s[key])}")
    if s["z_mean"] is not None:
        print(f"  (estimate − truth) / se: mean {s['z_mean']:+.3f}, sd {s['z_sd']:.3f}")


def _per_course(cities: list[dict[str, Any]]) -> None:
    ids = sorted({r["id"] for c in cities for r in c["courses"]})
    print("\nper course: truth (mean over cities), verdict counts, coverage 95%")
    for cid in ids:
        rows = [r for c in cities for r in c["courses"] if r["id"] == cid]
        est = [r for r in rows if r["estimated"]]
        verdicts = {v: sum(r["verdict"] == v for r in est) for v in ("effect", "no_effect")}
        targets = [r["target"] for r in rows if r["target"] is not None]
        cov = [r["covered"] for r in est if "covered" in r]
        print(
            f"  {cid}  truth {np.mean(targets) if targets else float('nan'):+.4f}  "
            f"estimated {len(est):3d}/{len(rows)}  effect {verdicts['effect']:3d}  "
            f"no_effect {verdicts['no_effect']:3d}  "
            f"cov95 {np.mean(cov) if cov else float('nan'):.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cities", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="20 cities")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--smallest", type=float, default=20.0, help="SESOI per 100 staff-years")
    ap.add_argument("--base-months", type=int, default=12, help="months averaged as the base")
    ap.add_argument("--json", default=None, help="write the per-city records here")
    args = ap.parse_args()
    n = 20 if args.quick else args.cities
    smallest = per_employee_month(args.smallest)
    seeds = [(s, smallest, args.base_months) for s in range(args.first_seed, args.first_seed + n)]
    started = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            cities = list(pool.map(one_city, seeds))
    else:
        cities = [one_city(s) for s in seeds]
    elapsed = time.perf_counter() - started
    print(
        f"{n} simulated sample cities (seeds {seeds[0][0]}–{seeds[-1][0]}), SESOI "
        f"{args.smallest:g} per 100 staff-years, Holm at 5%, base of up to {args.base_months} "
        f"month(s); {elapsed:.0f} s "
        f"({np.mean([c['seconds'] for c in cities]):.1f} s a city)"
    )
    _print("courses", summarise(cities, "courses"))
    _print("phases", summarise(cities, "phases"))
    _per_course(cities)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(cities, f)


if __name__ == "__main__":
    main()
