"""National scale: how ingest and the KPI catalogue grow with the number of staff.

Japan's local governments employ about 2.8 million people; a consolidation of all of them × 5
fiscal years (≈ 280 million attendance rows at 20 sessions per employee-year) does not fit one
2-core, 24 GiB machine with an eager pipeline. This benchmark measures time and peak memory at
three sizes (each in its own process, so peak RSS is that size's alone), fits the growth, and
extrapolates.

Run: ``.venv/bin/python benchmarks/national_scale.py [--sizes 30000 60000 120000]
[--sessions 20]``. Cities are generated once into ``benchmarks/out/`` and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NATIONAL_STAFF = 2_800_000


def one_size(staff: int, sessions: float) -> dict[str, float]:
    """Generate (once), ingest and compute every KPI for one city size; time and peak RSS."""
    from dxkpi.catalogue.kpis import GROUPINGS
    from dxkpi.ingest.pipeline import run_ingest
    from dxkpi.ingest.processed import load_processed
    from dxkpi.ingest.suites import _context
    from dxkpi.kpi.engine import compute
    from dxkpi.project.config import load_config
    from dxkpi.sample import generate_city

    years = (2021, 2022, 2023, 2024, 2025)
    city = HERE / "out" / f"national_{staff}_{sessions:g}"
    if not (city / "ground_truth.json").exists():
        generate_city(city, seed=3, staff=staff, fiscal_years=years, sessions_per_year=sessions)
    _context()  # GX import and context: import cost, not ingest time
    out = HERE / "out" / f"national_{staff}_processed"
    t = time.perf_counter()
    report = run_ingest(
        city, out, expectations=ROOT / "expectations", secret=b"benchmark-secret-0123456789abcdef"
    )
    t_ingest = time.perf_counter() - t
    rss_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    rich = compute(
        load_processed(out),
        load_config(ROOT / "dxkpi.toml"),
        by=list(GROUPINGS),
        engine="streaming",
    )
    t_kpi = time.perf_counter() - t
    rows = sum(d["rows_in"] for d in report.manifest["datasets"].values())
    return {
        "staff": staff,
        "raw_rows": rows,
        "attendance_rows": report.manifest["datasets"]["attendance"]["rows_in"],
        "ingest_s": round(t_ingest, 2),
        "kpi_s": round(t_kpi, 2),
        "kpi_cells": rich.height,
        "peak_rss_mb_ingest": round(rss_ingest),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _fit(xs: list[float], ys: list[float], at: float) -> tuple[float, float]:
    """Exponent b of y = a·x^b fitted on logs, and the extrapolated y at ``at``."""
    b, log_a = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(b), float(np.exp(log_a) * at**b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 60_000, 120_000])
    parser.add_argument("--sessions", type=float, default=20.0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.sessions)))
        return
    results = []
    for size in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--sessions", str(args.sessions)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    print(f"\n{'staff':>10} {'raw rows':>12} {'ingest s':>9} {'KPI s':>7} {'peak MB':>8}")
    for r in results:
        print(
            f"{r['staff']:>10,} {r['raw_rows']:>12,} {r['ingest_s']:>9} {r['kpi_s']:>7} "
            f"{r['peak_rss_mb']:>8,}"
        )
    xs = [r["staff"] for r in results]
    for key, label in (
        ("ingest_s", "ingest time (s)"),
        ("kpi_s", "KPI time (s)"),
        ("peak_rss_mb", "peak RSS (MB)"),
    ):
        b, y = _fit(xs, [r[key] for r in results], NATIONAL_STAFF)
        print(f"{label:18s} grows as staff^{b:.2f}; at {NATIONAL_STAFF:,} staff ≈ {y:,.0f}")


if __name__ == "__main__":
    main()
