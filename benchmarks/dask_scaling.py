"""Dask LocalCluster scaling of the consolidated ingest and the pooled KPI partial sums.

Run: PYTHONPATH=src .venv/bin/python benchmarks/dask_scaling.py [--cities 4] [--staff 1500]
     [--years 2] [--json out.json]

Generates ``--cities`` sample cities (seeds 101, 102, …; ``--staff`` staff each, the last
``--years`` fiscal years up to FY2025), then, per setting, ingests them into a city-partitioned
store (:func:`dxkpi.ingest.consolidate.ingest_cities`) and computes the pooled KPI cells from
per-city partial sums (:func:`dxkpi.kpi.pooled.pooled_kpis`):

* ``single``: one process, cities one after another (no Dask);
* ``dask-1``: a LocalCluster with 1 single-threaded worker process;
* ``dask-2``: a LocalCluster with 2 single-threaded worker processes.

Every Dask run's partitions and pooled cells are asserted equal to the single-process run.
``--polars-threads 1`` gives each worker process one polars thread (polars otherwise uses every
core in every worker: two workers then compete for the same two cores).

Printed: wall time of ingest and KPI per setting (cluster start-up excluded, timed apart),
speed-up 2 workers vs 1 and scaling efficiency = T(1 worker) / (2 · T(2 workers)), and the load
average before and after (the build machine has 2 cores shared with other jobs: figures taken
under load understate the scaling).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from dxkpi.catalogue.municipality import check_digit
from dxkpi.ingest.consolidate import ingest_cities
from dxkpi.ingest.processed import DATASETS
from dxkpi.kpi.pooled import pooled_kpis
from dxkpi.project.config import Config
from dxkpi.sample import generate_city

ROOT = Path(__file__).resolve().parents[1]


def _store_frames(store: Path, codes: list[str]) -> dict[tuple[str, str], pl.DataFrame]:
    return {
        (c, n): pl.read_parquet(f)
        for c in codes
        for n in DATASETS
        if (f := store / f"city={c}" / f"{n}.parquet").is_file()
    }


def _run(
    raws: dict[str, Path], store: Path, years: list[int], client: Any
) -> tuple[float, float, pl.DataFrame]:
    keys = {c: f"bench-key-{c}-0123456789abcdef".encode() for c in raws}
    t0 = time.perf_counter()
    results = ingest_cities(
        raws, store, expectations=ROOT / "expectations", secrets=keys, client=client
    )
    t1 = time.perf_counter()
    assert all(r.ok for r in results)
    cells = pooled_kpis(store, Config(), years, client=client)
    return t1 - t0, time.perf_counter() - t1, cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cities", type=int, default=4)
    ap.add_argument("--staff", type=int, default=1500)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument(
        "--polars-threads",
        type=int,
        default=0,
        help="POLARS_MAX_THREADS in each worker process (0: polars' default, all cores)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    years = list(range(2026 - args.years, 2026))
    load_before = os.getloadavg()
    out: dict[str, Any] = {"cities": args.cities, "staff": args.staff, "years": years}
    with tempfile.TemporaryDirectory(prefix="dask_scaling_") as tmp:
        base = Path(tmp)
        raws = {}
        for i in range(args.cities):
            first_five = f"22{201 + i:03d}"  # valid codes: `dxkpi ingest --cities` checks them
            code = f"{first_five}{check_digit(first_five)}"
            raws[code] = base / "raw" / code
            generate_city(raws[code], seed=101 + i, staff=args.staff, fiscal_years=tuple(years))
        codes = sorted(raws)
        ing, kpi, single = _run(raws, base / "single", years, None)
        out["single"] = {"ingest_s": ing, "kpi_s": kpi}
        reference = _store_frames(base / "single", codes)
        env = {"POLARS_MAX_THREADS": str(args.polars_threads)} if args.polars_threads else {}
        out["polars_threads"] = args.polars_threads or os.cpu_count()
        for workers in (1, 2):
            t = time.perf_counter()
            with (
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    env=env,
                ) as cluster,
                Client(cluster) as client,
            ):
                startup = time.perf_counter() - t
                store = base / f"dask{workers}"
                ing, kpi, cells = _run(raws, store, years, client)
            assert_frame_equal(cells, single)
            got = _store_frames(store, codes)
            assert got.keys() == reference.keys()
            for key, frame in reference.items():
                assert_frame_equal(got[key], frame)
            out[f"dask-{workers}"] = {"startup_s": startup, "ingest_s": ing, "kpi_s": kpi}
    t1 = out["dask-1"]["ingest_s"] + out["dask-1"]["kpi_s"]
    t2 = out["dask-2"]["ingest_s"] + out["dask-2"]["kpi_s"]
    out["speedup_2_vs_1"] = t1 / t2
    out["efficiency_2"] = t1 / (2 * t2)
    out["load_before"], out["load_after"] = load_before, os.getloadavg()
    for name in ("single", "dask-1", "dask-2"):
        r = out[name]
        extra = f"  (cluster start {r['startup_s']:.1f} s)" if "startup_s" in r else ""
        print(f"{name:7s} ingest {r['ingest_s']:6.2f} s  KPI {r['kpi_s']:5.2f} s{extra}")
    print(
        f"2 workers vs 1: speed-up {out['speedup_2_vs_1']:.2f}×, efficiency "
        f"{out['efficiency_2']:.0%}; load {load_before[0]:.2f} → {out['load_after'][0]:.2f} "
        f"(cores {os.cpu_count()}); all Dask results equal the single-process run"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
