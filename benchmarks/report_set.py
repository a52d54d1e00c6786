"""The full demo report set on 2 cores, timed from ``dxkpi report`` (goal ≤ 45 s).

Run: ``.venv/bin/python benchmarks/report_set.py [--jobs N]``. Generates and ingests the default
sample city into ``benchmarks/out/report_city`` (once), then runs every report notebook and
every department drill-down as ``dxkpi report`` would, and prints the wall time and the
slowest notebooks from run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    base = HERE / "out" / "report_city"
    processed = base / "processed"
    if not (processed / "manifest.json").exists():
        from dxkpi.ingest.pipeline import run_ingest
        from dxkpi.sample import generate_city

        shutil.rmtree(base, ignore_errors=True)
        generate_city(base / "raw", seed=7)
        run_ingest(
            base / "raw",
            processed,
            expectations=ROOT / "expectations",
            secret=b"benchmark-secret-0123456789abcdef",
        )
    reports = base / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    cmd = [
        sys.executable,
        "-c",
        "from dxkpi.commands.cli import main; main()",
        "report",
        "--data",
        str(processed),
        "--reports",
        str(reports),
    ]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run = json.loads(next(reports.glob("FY*/run.json")).read_text(encoding="utf-8"))
    books = run["notebooks"]
    print(
        f"reports: {len(books)} notebooks ({sum(b['status'] == 'ok' for b in books)} ok), "
        f"exit {proc.returncode}"
    )
    print(f"wall time from `dxkpi report`: {wall:.1f} s   (goal <= 45 s on 2 idle cores)")
    print(
        f"CPU time of the run and its kernels: {cpu:.1f} s   "
        f"(load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f})"
    )
    print(f"sum of notebook times: {sum(b['seconds'] for b in books):.1f} s")
    for b in sorted(books, key=lambda b: -b["seconds"])[:6]:
        print(f"  {b['name']:28s} {b['seconds']:6.1f} s")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
