"""Ingest at scale: a 30,000-staff × 5-FY city (~3M attendance rows) beside a bare polars read.

Run: ``.venv/bin/python benchmarks/ingest_scale.py [--staff 30000] [--years 2021-2025]
[--profile]``. The city is generated once into ``benchmarks/out/city_<staff>`` (reused when
present). Then, in ONE process:

1. the import cost (dxkpi.ingest.pipeline; great_expectations and its context, warmed up once),
2. a bare polars read of the same raw files (CSV with the right encoding, XLSX sheets) — the
   floor any ingester must pay,
3. ``run_ingest`` on the same files (after imports),

and prints times, the ratio ingest / bare read (goal ≤ 5) and peak RSS (goal ≤ 4 GB).
``--profile`` adds a cProfile of the ingest (top 25 by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
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
    parser.add_argument("--repeat", type=int, default=3, help="bare-read repetitions (median)")
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

    bare_times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        n_rows = bare_read(city)
        bare_times.append(time.perf_counter() - t)
    bare = statistics.median(bare_times)

    out = Path(tempfile.mkdtemp(prefix="dxkpi_bench_")) / "processed"
    profiler = cProfile.Profile() if args.profile else None
    t = time.perf_counter()
    if profiler:
        profiler.enable()
    report = run_ingest(
        city, out, expectations=ROOT / "expectations", secret=b"benchmark-secret-0123456789abcdef"
    )
    if profiler:
        profiler.disable()
    t_ingest = time.perf_counter() - t
    peak = _peak_rss_mb()

    att = report.manifest["datasets"]["attendance"]
    print()
    print(
        f"city: {args.staff:,} staff x {len(years)} FY; {n_rows:,} raw rows "
        f"({att['rows_in']:,} attendance)"
    )
    print(f"{'import dxkpi.ingest.pipeline':32s} {t_import_dxkpi:8.2f} s")
    print(f"{'import GX + ephemeral context':32s} {t_import_gx:8.2f} s")
    print(f"{'bare polars read (median)':32s} {bare:8.2f} s   {bare_times}")
    print(f"{'dxkpi ingest (after imports)':32s} {t_ingest:8.2f} s")
    print(f"{'ratio ingest / bare read':32s} {t_ingest / bare:8.2f} x   (goal <= 5)")
    print(f"{'peak RSS (process)':32s} {peak:8.0f} MB  (goal <= 4096)")
    quarantined = sum(d["quarantined"] for d in report.manifest["datasets"].values())
    print(f"{'rows quarantined':32s} {quarantined:8d}")
    print(f"ok={report.ok}")
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(25)
        print(buf.getvalue())
    shutil.rmtree(out.parent, ignore_errors=True)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
