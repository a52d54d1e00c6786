"""Ingest at scale: a 30,000-staff × 5-FY city (~3M attendance rows) beside a bare polars read.

Run: ``.venv/bin/python benchmarks/ingest_scale.py [--staff 30000] [--years 2021-2025]
[--profile]``. The city is generated once into ``benchmarks/out/city_<staff>`` (reused when
present). Then, in ONE process:

1. the import cost (dxkpi.ingest.pipeline; great_expectations and its context, warmed up once),
2. a bare polars read of the same raw files (CSV with the right encoding, XLSX sheets) — the
   floor any ingester must pay,
3. ``run_ingest`` on the same files (after imports),

steps 2 and 3 alternating for ``--rounds`` rounds (so both see the same machine load), and
prints times, the ratio ingest / bare read per round and its median (goal ≤ 5), the same ratio
of process CPU time (all threads; steadier than wall time on a shared machine), the load
average, and peak RSS (goal ≤ 4 GB) after the first round — imports, its bare reads and one
ingest — and over all rounds (a later round starts while polars' allocator still holds the
memory the previous one freed: it returns it about 10 s later, so back-to-back rounds add to
the process's peak what one ingest does not need). ``--profile`` adds a cProfile of the first
ingest (top 25 by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_read(raw: Path) -> int:
    """Read every data file with polars and nothing else; return total rows."""
    import polars as pl

    from dxkpi.ingest.read import decode_csv, discover

    rows = 0
    for part in discover(raw).parts:
        if part.path.suffix.lower() == ".csv":
            data = part.path.read_bytes()
            if data.startswith(b"\xef\xbb\xbf") or _is_utf8(data):
                frame = pl.read_csv(data, infer_schema=False)
            else:
                frame = pl.read_csv(data, infer_schema=False, encoding="cp932")
        else:
            frame = pl.read_excel(part.path, sheet_name=part.sheet, infer_schema_length=0)
        rows += frame.height
    del decode_csv
    return rows


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=30_000)
    parser.add_argument("--years", default="2021-2025")
    parser.add_argument(
        "--repeat", type=int, default=3, help="bare-read repetitions per round (median)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="bare read / ingest rounds, alternating"
    )
    parser.add_argument(
        "--sessions",
        type=float,
        default=38.0,
        help="attendance sessions per employee-year (38 → ~3M rows at 30k staff)",
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    first, last = (int(y) for y in args.years.split("-"))
    years = tuple(range(first, last + 1))

    city = HERE / "out" / f"city_{args.staff}_{first}_{last}_{args.sessions:g}"
    if not (city / "ground_truth.json").exists():
        from dxkpi.sample import generate_city

        t = time.perf_counter()
        generate_city(
            city, seed=11, staff=args.staff, fiscal_years=years, sessions_per_year=args.sessions
        )
        print(f"generated city in {time.perf_counter() - t:.1f} s -> {city}")

    t = time.perf_counter()
    import polars as pl  # noqa: F401

    from dxkpi.ingest.pipeline import run_ingest

    t_import_dxkpi = time.perf_counter() - t
    t = time.perf_counter()
    from dxkpi.ingest.suites import _context

    _context()
    t_import_gx = time.perf_counter() - t

    load_before = os.getloadavg()
    rounds: list[tuple[float, float, float, float]] = []  # bare wall, cpu; ingest wall, cpu
    peaks: list[float] = []  # the process's peak RSS after each round
    report = None
    profiler = cProfile.Profile() if args.profile else None
    for i in range(args.rounds):
        bare_wall, bare_cpu = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            n_rows = bare_read(city)
            bare_wall.append(time.perf_counter() - t)
            bare_cpu.append(time.process_time() - c)
        out = Path(tempfile.mkdtemp(prefix="dxkpi_bench_")) / "processed"
        if profiler and i == 0:
            profiler.enable()
        t, c = time.perf_counter(), time.process_time()
        report = run_ingest(
            city,
            out,
            expectations=ROOT / "expectations",
            secret=b"benchmark-secret-0123456789abcdef",
        )
        ingest_wall, ingest_cpu = time.perf_counter() - t, time.process_time() - c
        if profiler and i == 0:
            profiler.disable()
        shutil.rmtree(out.parent, ignore_errors=True)
        peaks.append(_peak_rss_mb())
        rounds.append(
            (
                statistics.median(bare_wall),
                statistics.median(bare_cpu),
                ingest_wall,
                ingest_cpu,
            )
        )
    load_after = os.getloadavg()
    peak = _peak_rss_mb()
    assert report is not None

    att = report.manifest["datasets"]["attendance"]
    print()
    print(
        f"city: {args.staff:,} staff x {len(years)} FY; {n_rows:,} raw rows "
        f"({att['rows_in']:,} attendance)"
    )
    print(f"{'import dxkpi.ingest.pipeline':32s} {t_import_dxkpi:8.2f} s")
    print(f"{'import GX + ephemeral context':32s} {t_import_gx:8.2f} s")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")
    for i, (bw, bc, iw, ic) in enumerate(rounds, start=1):
        print(
            f"round {i}: bare read {bw:6.2f} s wall {bc:6.2f} s cpu | ingest {iw:6.2f} s wall "
            f"{ic:6.2f} s cpu | ratio {iw / bw:5.2f}x wall {ic / bc:5.2f}x cpu | "
            f"peak so far {peaks[i - 1]:5.0f} MB"
        )
    wall_ratio = statistics.median(iw / bw for bw, _, iw, _ in rounds)
    cpu_ratio = statistics.median(ic / bc for _, bc, _, ic in rounds)
    print(f"{'ratio ingest / bare read (median)':32s} {wall_ratio:8.2f} x wall (goal <= 5)")
    print(f"{'same, process CPU time':32s} {cpu_ratio:8.2f} x cpu")
    print(f"{'peak RSS, first ingest':32s} {peaks[0]:8.0f} MB  (goal <= 4096)")
    print(f"{'peak RSS, all rounds':32s} {peak:8.0f} MB")
    quarantined = sum(d["quarantined"] for d in report.manifest["datasets"].values())
    print(f"{'rows quarantined':32s} {quarantined:8d}")
    print(f"ok={report.ok}")
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(25)
        print(buf.getvalue())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
