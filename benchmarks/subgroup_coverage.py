"""Coverage of the subgroup effects' intervals over simulated sample cities.

Run: PYTHONPATH=src .venv/bin/python benchmarks/subgroup_coverage.py [--cities 200]
     [--first-seed 100] [--json out.json]

Each city is the sample generator's city of one seed (``simulated_city.py``). Its behaviour
change is estimated within each talent type and each job level
(:func:`dxkpi.models.behaviour.heterogeneity`, monthly panel, default settings), and each
group's 95% interval is checked against the planted effect of the cells that estimate used,
weighted as the estimator weighs them (``tests/helpers/truth.py``: ``cell_matched_truth``, the
same check as the sample-city tests).

Printed per group: coverage of the normal-reference interval (what reports show), mean and
standard deviation of (estimate − truth) ÷ SE, the median of Kish's effective number of
employees behind the SE, ν = (Σψ²)² ÷ Σψ⁴, and the coverage a Student-t reference with ν
degrees of freedom would give (the per-course estimates use it); then the share of cities with
k or more of their seven intervals missing, which says how unusual one city's misses are.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from simulated_city import FISCAL_YEARS, simulated_city

from dxkpi.models.behaviour import heterogeneity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' truth helper
from tests.helpers.truth import cell_matched_truth

GROUPINGS = ("talent_type", "job_level")


def one_city(seed: int) -> list[dict[str, Any]]:
    """Per group of both groupings: estimate, SE, planted effect, z, ν, covered."""
    data, truth = simulated_city(seed)
    out = []
    for by in GROUPINGS:
        h = heterogeneity(data, by, period="month")  # type: ignore[arg-type]
        for r in h.table.iter_rows(named=True):
            group = r["group"]
            res = h.results[group]
            planted = cell_matched_truth(
                res.attgt, truth[f"expected_att_gt_by_{by}"][group], FISCAL_YEARS[0], lag=1
            )
            se = res.simple.se
            psi = res.simple.influence
            out.append(
                {
                    "seed": seed,
                    "by": by,
                    "group": group,
                    "att": r["att"],
                    "truth": planted,
                    "se": se,
                    "z": (r["att"] - planted) / se,
                    "nu": float((psi**2).sum() ** 2 / (psi**4).sum()),
                    "covered": bool(r["ci_low"] < planted < r["ci_high"]),
                    "n_treated": r["n_treated"],
                }
            )
    return out


def summarise(rows: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["by"], r["group"])].append(r)
    print(
        f"{'group':<28}{'cities':>7}{'cover':>8}{'z mean':>8}{'z sd':>6}{'ν med':>7}{'t cover':>9}"
    )
    for (by, group), rs in groups.items():
        z = np.array([r["z"] for r in rs])
        nu = np.array([r["nu"] for r in rs])
        t_cover = np.mean(np.abs(z) < stats.t.ppf(0.975, nu))
        print(
            f"{by + ' / ' + group:<28}{len(rs):>7}{np.mean([r['covered'] for r in rs]):>8.3f}"
            f"{z.mean():>+8.2f}{z.std():>6.2f}{np.median(nu):>7.0f}{t_cover:>9.3f}"
        )
    misses = Counter(r["seed"] for r in rows if not r["covered"])
    seeds = sorted({r["seed"] for r in rows})
    all_rows = len(rows)
    print(f"\nall groups: {np.mean([r['covered'] for r in rows]):.3f} of {all_rows} intervals")
    for k in (1, 2, 3):
        share = sum(misses[s] >= k for s in seeds) / len(seeds)
        print(f"cities with ≥{k} of their intervals missing: {share:.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cities", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--json", default=None, help="write the per-group records here")
    args = ap.parse_args()
    started = time.perf_counter()
    rows = [r for s in range(args.first_seed, args.first_seed + args.cities) for r in one_city(s)]
    print(
        f"{args.cities} simulated sample cities (seeds {args.first_seed}–"
        f"{args.first_seed + args.cities - 1}), {time.perf_counter() - started:.0f} s\n"
    )
    summarise(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows), encoding="utf-8")
    if not all(math.isfinite(r["z"]) for r in rows):
        raise SystemExit("a non-finite z: an SE of 0")


if __name__ == "__main__":
    main()
