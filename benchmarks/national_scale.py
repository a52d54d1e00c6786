"""National scale: how ingest and the KPI catalogue grow with the number of staff.

Japan's local governments employ about 2.8 million people; a consolidation of all of them × 5
fiscal years (≈ 280 million attendance rows at 20 sessions per employee-year) does not fit one
2-core, 24 GiB machine with an eager pipeline. This benchmark measures time and peak memory at
three sizes (each in its own process, so peak RSS is that size's alone), fits the growth, and
extrapolates.

Run: ``.venv/bin/python benchmarks/national_scale.py [--sizes 30000 60000 120000]
[--sessions 20]``. Cities are generated once into ``benchmarks/out/`` and reused.

The synthetic nation (``--nation``): the 1,745 bodies of ``benchmarks/nation.py`` (about 2.8
million staff × 5 FY), or size-stratified fractions of them (``--fraction 0.01 0.05 0.2``; each
fraction in its own process), generated once into ``benchmarks/out/nation/raw/<code>/``, then
end to end: every body ingested into one city-partitioned store
(:func:`dxkpi.ingest.consolidate.ingest_cities`, each with its own key, manifest and Great
Expectations gate), every body's own KPI catalogue (every grouping) and its partial sums from
ONE engine run over its partition, small bodies together in one engine run a batch
(:func:`dxkpi.kpi.pooled.kpi_batches`, :func:`dxkpi.kpi.pooled.catalogues_and_partial_sums`;
``--kpi-batch-bytes 0``: every body alone), on ``--engine`` (default ``auto`` as in the
product: the scans of the store and the shared frames built from them on polars' streaming
engine, its default, and the hundreds of small plans over those collected frames on the
in-memory one, whose per-node cost is lower — about a third less CPU over the 2 % sample's 35
bodies than ``streaming`` for all of it, with the same cells), then the pooled cells from the
sums (:func:`dxkpi.kpi.pooled.pool`). ``--mode single`` runs the bodies one after another in
one process; ``--mode dask`` on a 2-worker LocalCluster (:func:`dxkpi.ingest.consolidate.
dask_client`; start-up and each worker's GX import timed apart). Peak memory is that of the
whole process tree (RSS of the process and every descendant, summed, sampled every 0.1 s).
With three fractions the time is fitted as ``a·bodies + b·staff`` (a fixed cost per body and a
cost per staff member) and extrapolated to the whole nation, and the largest fraction is scaled
by the nation's staff over its own (the fractions are size-stratified, so bodies and staff grow
together and the fit can be ill-conditioned). ``--profile CODE`` profiles one
body's ingest (main thread by cProfile; the GX thread's CPU time apart).

``.venv/bin/python benchmarks/national_scale.py --nation --fraction 0.01 0.05 0.2 --mode dask``;
``--fraction 1`` runs the whole nation (its raw files take about 19 GB and 12 minutes to write
on two cores the first time; they are reused).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NATIONAL_STAFF = 2_800_000


def one_size(staff: int, sessions: float, engine: str = "auto") -> dict[str, float]:
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
        engine=engine,
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


class TreeRss:
    """Peak of the summed RSS of this process and all its descendants, sampled in a thread, and
    their CPU seconds (user + system, the last sample of every process seen, ended ones too):
    on a shared machine the CPU time is the figure that other jobs' load does not inflate."""

    def __init__(self, every: float = 0.1) -> None:
        import threading

        self.peak = 0
        self._cpu: dict[int, float] = {}
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        import psutil

        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
                times = proc.cpu_times()
                self._cpu[proc.pid] = times.user + times.system
        return total

    def cpu(self) -> float:
        """CPU seconds of the tree so far (sampled now)."""
        self.peak = max(self.peak, self._sample())
        return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._every)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _city_kpis(
    store: str, codes: list[str], config: Any, years: list[int], engine: Any = "auto"
) -> list[tuple[int, Any]]:
    """A batch of bodies' own KPI catalogues (suppressed, every grouping) and partial sums for
    the pool, from ONE engine run over their partitions on ``engine``: (catalogue cells, sums)
    of each body."""
    from dxkpi.kpi.pooled import catalogues_and_partial_sums

    done = catalogues_and_partial_sums(store, codes, config, years, engine=engine)
    return [(rich.height, partials) for rich, partials in done]


def _warm() -> None:
    from dxkpi.ingest.suites import _context

    _context()


def nation_once(
    fraction: float,
    mode: str,
    label: str = "",
    engine: str = "auto",
    kpi_batch_bytes: int | None = None,
    ingest_batch_bytes: int | None = None,
) -> dict[str, Any]:
    """Generate (once) and run the nation or a fraction of it end to end (module docstring)."""
    import shutil

    from nation import FISCAL_YEARS, generate_nation, nation_units

    from dxkpi.core.batches import largest_first
    from dxkpi.ingest.consolidate import BATCH_BYTES, dask_client, ingest_cities
    from dxkpi.ingest.processed import partition_bytes
    from dxkpi.kpi.pooled import KPI_BATCH_BYTES, kpi_batches, pool
    from dxkpi.project.config import load_config

    units = nation_units(fraction)
    raw = HERE / "out" / "nation" / "raw"
    t_gen = generate_nation(units, raw)
    raws = {u.code: raw / u.code for u in units}
    keys = {u.code: f"nation-key-{u.code}-0123456789abcdef".encode() for u in units}
    store = HERE / "out" / "nation" / f"store_{fraction:g}_{mode}{label}"
    shutil.rmtree(store, ignore_errors=True)
    config = load_config(ROOT / "dxkpi.toml")
    out: dict[str, Any] = {
        "fraction": fraction,
        "mode": mode,
        "engine": engine,
        "bodies": len(units),
        "staff": sum(u.staff for u in units),
        "largest_body_staff": max(u.staff for u in units),
        "generate_s": round(t_gen, 1),
        "load_before": os.getloadavg()[0],
    }
    with TreeRss() as rss, contextlib.ExitStack() as stack:
        t = time.perf_counter()
        client = stack.enter_context(dask_client(workers=2)) if mode == "dask" else None
        if client is not None:
            client.run(_warm)
        else:
            _warm()
        out["startup_s"] = round(time.perf_counter() - t, 2)
        t, cpu = time.perf_counter(), rss.cpu()
        results = ingest_cities(
            raws,
            store,
            expectations=ROOT / "expectations",
            secrets=keys,
            client=client,
            batch_bytes=BATCH_BYTES if ingest_batch_bytes is None else ingest_batch_bytes,
        )
        out["ingest_s"] = round(time.perf_counter() - t, 1)
        out["ingest_cpu_s"] = round(rss.cpu() - cpu, 1)
        out["ingest_ok"] = all(r.ok for r in results)
        t, cpu = time.perf_counter(), rss.cpu()
        codes = sorted(raws)
        years = list(FISCAL_YEARS)
        limit = KPI_BATCH_BYTES if kpi_batch_bytes is None else kpi_batch_bytes
        batches = kpi_batches(store, codes, batch_bytes=limit)
        out["kpi_batches"] = len(batches)
        if client is None:
            done = [_city_kpis(str(store), b, config, years, engine) for b in batches]
        else:
            largest = largest_first(batches, lambda c: partition_bytes(store, c))
            futures = {
                i: client.submit(
                    _city_kpis, str(store), batches[i], config, years, engine, pure=False
                )
                for i in largest
            }
            done = [futures[i].result() for i in range(len(batches))]
        per_body = [x for d in done for x in d]
        out["city_kpi_s"] = round(time.perf_counter() - t, 1)
        out["city_kpi_cpu_s"] = round(rss.cpu() - cpu, 1)
        out["city_kpi_cells"] = sum(n for n, _ in per_body)
        t, cpu = time.perf_counter(), rss.cpu()
        pooled = pool([p for _, p in per_body], config.privacy.min_cell_size)
        out["pooled_kpi_s"] = round(time.perf_counter() - t, 1)
        out["pooled_kpi_cpu_s"] = round(rss.cpu() - cpu, 1)
        out["pooled_cells"] = pooled.height
    phases = ("ingest", "city_kpi", "pooled_kpi")
    out["end_to_end_s"] = round(sum(out[f"{p}_s"] for p in phases), 1)
    out["end_to_end_cpu_s"] = round(sum(out[f"{p}_cpu_s"] for p in phases), 1)
    out["peak_tree_rss_mb"] = round(rss.peak / 2**20)
    manifests = [json.loads((store / f"city={c}" / "manifest.json").read_text()) for c in codes]
    out["raw_rows"] = sum(
        d["rows_in"] for m in manifests for d in m["datasets"].values() if "rows_in" in d
    )
    out["load_after"] = os.getloadavg()[0]
    return out


def profile_city(code: str) -> None:
    """Profile one body's ingest: the main thread by cProfile, the GX thread's CPU apart."""
    import cProfile
    import pstats

    from nation import nation_units

    import dxkpi.ingest.pipeline as pipeline

    unit = next(u for u in nation_units() if u.code == code)
    raw = HERE / "out" / "nation" / "raw" / code
    _warm()
    gx_cpu = [0.0]
    certify = pipeline.certify

    def timed(*args: Any) -> Any:
        t = time.thread_time()
        try:
            return certify(*args)
        finally:
            gx_cpu[0] += time.thread_time() - t

    pipeline.certify = timed  # type: ignore[assignment]
    out = HERE / "out" / "nation" / f"profile_{code}"
    key = b"profile-key-0123456789abcdef0123"
    pipeline.run_ingest(raw, out, expectations=ROOT / "expectations", secret=key, new_key=True)
    gx_cpu[0] = 0.0
    prof = cProfile.Profile()
    t, cpu = time.perf_counter(), time.process_time()
    prof.enable()
    report = pipeline.run_ingest(raw, out, expectations=ROOT / "expectations", secret=key)
    prof.disable()
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    rows = sum(d.get("rows_in", 0) for d in report.manifest["datasets"].values())
    print(
        f"{code} ({unit.category}, {unit.staff:,} staff, {rows:,} rows): ingest {wall:.2f} s "
        f"wall, {cpu:.2f} s CPU of which GX certification (its thread) {gx_cpu[0]:.2f} s"
    )
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def _fit_linear(results: list[dict[str, Any]], key: str, bodies: int, staff: int) -> float:
    """``key`` fitted as a·bodies + b·staff (least squares, no intercept), at the whole nation."""
    a = np.array([[r["bodies"], r["staff"]] for r in results], dtype=float)
    y = np.array([r[key] for r in results], dtype=float)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    print(
        f"{key:14s} ≈ {coef[0] * 1000:7.1f} ms a body + {coef[1] * 1e6:6.1f} µs a staff member"
        f" → whole nation ≈ {coef[0] * bodies + coef[1] * staff:,.0f} s"
    )
    return float(coef[0] * bodies + coef[1] * staff)


def nation_main(
    fractions: list[float],
    mode: str,
    label: str,
    engine: str,
    kpi_batch_bytes: int | None,
    ingest_batch_bytes: int | None,
) -> None:
    from nation import nation_units

    results = []
    for fraction in fractions:
        proc = subprocess.run(
            [sys.executable, __file__, "--nation-one", str(fraction), "--mode", mode]
            + ["--engine", engine]
            + (["--label", label] if label else [])
            + ([] if kpi_batch_bytes is None else ["--kpi-batch-bytes", str(kpi_batch_bytes)])
            + (
                []
                if ingest_batch_bytes is None
                else ["--ingest-batch-bytes", str(ingest_batch_bytes)]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            proc.check_returncode()
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    print(
        f"\n{'fraction':>8} {'bodies':>6} {'staff':>9} {'raw rows':>11} {'ingest s':>8} "
        f"{'city KPI s':>10} {'pooled s':>8} {'total s':>7} {'CPU s':>7} {'peak MB':>8} "
        f"{'load':>9}"
    )
    for r in results:
        print(
            f"{r['fraction']:>8g} {r['bodies']:>6} {r['staff']:>9,} {r['raw_rows']:>11,} "
            f"{r['ingest_s']:>8} {r['city_kpi_s']:>10} {r['pooled_kpi_s']:>8} "
            f"{r['end_to_end_s']:>7} {r['end_to_end_cpu_s']:>7} {r['peak_tree_rss_mb']:>8,} "
            f"{r['load_before']:>4.1f}–{r['load_after']:<4.1f}"
        )
    whole = nation_units()
    bodies, staff = len(whole), sum(u.staff for u in whole)
    print(f"\nwhole nation: {bodies} bodies, {staff:,} staff ({mode}):")
    if len(results) >= 2:
        for key in (
            "ingest_s",
            "city_kpi_s",
            "pooled_kpi_s",
            "end_to_end_s",
            "ingest_cpu_s",
            "city_kpi_cpu_s",
            "pooled_kpi_cpu_s",
            "end_to_end_cpu_s",
        ):
            _fit_linear(results, key, bodies, staff)
    # The fractions are size-stratified, so bodies and staff grow together and the fit above
    # can be ill-conditioned (a negative cost a staff member): also scale the largest fraction.
    big = max(results, key=lambda r: r["staff"])
    scale = staff / big["staff"]
    print(
        f"scaled from the {big['fraction']:g} fraction (× {scale:.2f} its staff, "
        f"× {bodies / big['bodies']:.2f} its bodies): end to end ≈ "
        f"{big['end_to_end_s'] * scale:,.0f} s, {big['end_to_end_cpu_s'] * scale:,.0f} CPU-s"
    )


def _fit(xs: list[float], ys: list[float], at: float) -> tuple[float, float]:
    """Exponent b of y = a·x^b fitted on logs, and the extrapolated y at ``at``."""
    b, log_a = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(b), float(np.exp(log_a) * at**b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 60_000, 120_000])
    parser.add_argument("--sessions", type=float, default=20.0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--nation", action="store_true", help="the synthetic nation")
    parser.add_argument("--fraction", type=float, nargs="+", default=[0.01, 0.05, 0.2])
    parser.add_argument("--mode", choices=("single", "dask"), default="dask")
    parser.add_argument("--profile", metavar="CODE", help="profile one body's ingest")
    parser.add_argument("--nation-one", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help="suffix of the store's folder name")
    parser.add_argument(
        "--engine",
        choices=("auto", "streaming", "in-memory"),
        default="auto",
        help="polars engine of the KPI runs (auto: as the product runs them)",
    )
    parser.add_argument(
        "--kpi-batch-bytes",
        type=int,
        default=None,
        help="partition bytes of a batch of bodies in one KPI engine run (0: every body alone; "
        "default: the product's KPI_BATCH_BYTES)",
    )
    parser.add_argument(
        "--ingest-batch-bytes",
        type=int,
        default=None,
        help="raw bytes of a batch of small bodies ingested in one task (0: every body alone; "
        "default: the product's BATCH_BYTES)",
    )
    args = parser.parse_args()
    if args.nation_one:
        result = nation_once(
            args.nation_one,
            args.mode,
            args.label,
            args.engine,
            args.kpi_batch_bytes,
            args.ingest_batch_bytes,
        )
        print(json.dumps(result))
        return
    if args.profile:
        profile_city(args.profile)
        return
    if args.nation:
        nation_main(
            args.fraction,
            args.mode,
            args.label,
            args.engine,
            args.kpi_batch_bytes,
            args.ingest_batch_bytes,
        )
        return
    if args.one:
        print(json.dumps(one_size(args.one, args.sessions, args.engine)))
        return
    results = []
    for size in args.sizes:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--sessions",
                str(args.sessions),
                "--engine",
                args.engine,
            ],
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
