"""Per-body cost of the smallest bodies of the synthetic nation: ingest as one batch, catalogue.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/small_bodies.py [--bodies 16] [--rounds 3]
[--fraction 0.05]``. Takes the ``--bodies`` smallest bodies of the nation's sample at
``--fraction`` (written by ``national_scale.py --nation`` into ``out/nation/raw``; generated
here if missing), then, ``--rounds`` times in this one process: ``ingest_cities`` of all of
them into a fresh store (one batch, as the consolidation makes of small towns, each with its
own key; Great Expectations certifying), then every body's catalogue and partial sums from that
store twice: one engine run a body (``city_catalogue_and_partial_sums``), and all of them in one
engine run (``catalogues_and_partial_sums``, as ``kpi_batches`` batches small bodies; the
results are asserted equal). Prints wall time and the process's CPU seconds per body for each
phase and round (the first round pays the imports' warm-up), and the load average.

To compare two versions of the code, run it alternately with ``PYTHONPATH`` set to each
checkout's ``src``: the machine's speed drifts, so compare neighbouring runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from nation import FISCAL_YEARS, generate_nation, nation_units  # noqa: E402


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.05)
    args = parser.parse_args()

    from polars.testing import assert_frame_equal

    from dxkpi.ingest.consolidate import ingest_cities
    from dxkpi.ingest.suites import _context
    from dxkpi.kpi.pooled import catalogues_and_partial_sums, city_catalogue_and_partial_sums
    from dxkpi.project.config import load_config

    raw = HERE / "out" / "nation" / "raw"
    units = sorted(nation_units(args.fraction), key=lambda u: u.staff)[: args.bodies]
    generate_nation(units, raw)
    staff = sum(u.staff for u in units)
    print(f"{len(units)} smallest bodies of the {args.fraction:g} sample, {staff:,} staff")
    _context()  # GX's import and context, once, outside the timings
    config = load_config(ROOT / "dxkpi.toml")
    print(f"load average before: {os.getloadavg()}")
    for r in range(1, args.rounds + 1):
        store = Path(tempfile.mkdtemp(prefix="dxkpi_small_")) / "store"
        w, c = time.perf_counter(), _cpu()
        results = ingest_cities(
            {u.code: raw / u.code for u in units},
            store,
            expectations=ROOT / "expectations",
            secrets={u.code: f"nation-key-{u.code}-0123456789abcdef".encode() for u in units},
        )
        ingest_wall, ingest_cpu = time.perf_counter() - w, _cpu() - c
        assert all(x.ok for x in results)
        w, c = time.perf_counter(), _cpu()
        alone = [
            city_catalogue_and_partial_sums(store, u.code, config, list(FISCAL_YEARS))
            for u in units
        ]
        kpi_wall, kpi_cpu = time.perf_counter() - w, _cpu() - c
        w, c = time.perf_counter(), _cpu()
        together = catalogues_and_partial_sums(
            store, [u.code for u in units], config, list(FISCAL_YEARS)
        )
        batch_wall, batch_cpu = time.perf_counter() - w, _cpu() - c
        key = ["kpi", "fiscal_year", "group_by", "group"]
        for (rich, sums), (b_rich, b_sums) in zip(alone, together, strict=True):
            assert_frame_equal(rich, b_rich)
            assert_frame_equal(sums.sort(key), b_sums.sort(key))
        shutil.rmtree(store.parent, ignore_errors=True)
        n = len(units)
        print(
            f"round {r}: ingest {ingest_wall:5.2f} s wall, {ingest_cpu / n * 1000:4.0f} ms CPU a "
            f"body | catalogues alone {kpi_wall:5.2f} s wall, {kpi_cpu / n * 1000:4.0f} ms CPU "
            f"a body; in one run {batch_wall:5.2f} s wall, {batch_cpu / n * 1000:4.0f} ms CPU "
            "a body"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
