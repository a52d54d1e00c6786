"""A synthetic nation: every Japanese local government's staff as sample cities, raw files only.

:func:`nation_units` draws 1,745 bodies (from one seed, deterministically) whose sizes follow the
brief's distribution of Japanese local-government staff:

* 47 prefectures (their own staff): 10,000–60,000 staff, code PP000 + check digit;
* 20 指定都市: 10,000–30,000, PP100;
* 62 中核市: 3,000–6,000, and 690 一般市: 500–2,000, PP2nn;
* 926 町村: 100–300 (from 50 in life: ``generate_city`` needs 100), PP3nn–PP7nn;

sizes log-uniform within each category: about 2.86 million staff in all (1.3 million of them
the prefectures' own). Every code is a valid 全国地方公共団体コード
(:func:`dxkpi.catalogue.municipality.is_municipality_code`), though not the real body's.
``fraction`` keeps a systematic sample over the bodies sorted by size (every 1/F-th, from the
middle of the first step), so each fraction keeps the size distribution.

:func:`generate_nation` writes each body with :func:`dxkpi.sample.generate_city` (its own seed,
5 fiscal years, 20 sessions a year) into ``out/<code>/`` — the ``dxkpi ingest --cities`` layout
— in ``processes`` worker processes, skipping bodies already written (``ground_truth.json`` is
written last). Generation is not part of the timed ingest; at about 0.2 s a body plus 0.4 ms a
staff member on one core, the whole nation takes about 25 CPU-minutes and ≈ 20 GB of raw files.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dxkpi.catalogue.municipality import check_digit, is_municipality_code

FISCAL_YEARS = (2021, 2022, 2023, 2024, 2025)
SESSIONS = 20.0
#: (category, count, lowest staff, highest staff)
DISTRIBUTION: tuple[tuple[str, int, int, int], ...] = (
    ("prefecture", 47, 10_000, 60_000),
    ("designated_city", 20, 10_000, 30_000),
    ("core_city", 62, 3_000, 6_000),
    ("city", 690, 500, 2_000),
    ("town_village", 926, 100, 300),  # 50–300 in life; generate_city needs >= 100
)


@dataclass(frozen=True)
class Unit:
    """One local government of the synthetic nation."""

    code: str
    category: str
    staff: int
    seed: int


def _code(first_five: str) -> str:
    code = f"{first_five}{check_digit(first_five)}"
    assert is_municipality_code(code), code
    return code


def nation_units(fraction: float = 1.0, seed: int = 2026) -> list[Unit]:
    """The nation's bodies (module docstring), or a size-stratified ``fraction`` of them."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.Generator(np.random.PCG64(seed))
    units: list[Unit] = []
    cities = [0] * 48  # next 2nn number per prefecture (core and other cities)
    towns = [0] * 48
    for category, count, low, high in DISTRIBUTION:
        sizes = np.exp(rng.uniform(np.log(low), np.log(high), count)).round().astype(int)
        for i, staff in enumerate(sizes):
            pref = i % 47 + 1
            if category == "prefecture":
                five = f"{pref:02d}000"
            elif category == "designated_city":
                five = f"{pref:02d}100"
            elif category in ("core_city", "city"):
                cities[pref] += 1
                five = f"{pref:02d}{200 + cities[pref]:03d}"
            else:
                towns[pref] += 1
                five = f"{pref:02d}{300 + towns[pref]:03d}"
            units.append(Unit(_code(five), category, int(staff), 0))
    units = [
        Unit(u.code, u.category, u.staff, 10_000 + i)
        for i, u in enumerate(sorted(units, key=lambda u: u.code))
    ]
    assert len({u.code for u in units}) == len(units)
    if fraction == 1:
        return units
    by_size = sorted(units, key=lambda u: (u.staff, u.code))
    step = 1 / fraction
    picks = sorted({int(step / 2 + k * step) for k in range(int(len(by_size) * fraction + 0.5))})
    return sorted((by_size[i] for i in picks if i < len(by_size)), key=lambda u: u.code)


def _generate_one(args: tuple[Unit, str]) -> tuple[str, float]:
    from dxkpi.sample import generate_city

    unit, out = args
    folder = Path(out) / unit.code
    t = time.perf_counter()
    if not (folder / "ground_truth.json").is_file():
        generate_city(
            folder,
            seed=unit.seed,
            staff=unit.staff,
            fiscal_years=FISCAL_YEARS,
            sessions_per_year=SESSIONS,
        )
    return unit.code, time.perf_counter() - t


def generate_nation(units: list[Unit], out: Path, processes: int = 2) -> float:
    """Write every unit's raw folder under ``out`` (module docstring); wall seconds."""
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    # largest first: the big bodies do not end the run alone
    todo = [(u, str(out)) for u in sorted(units, key=lambda u: -u.staff)]
    with multiprocessing.get_context("fork").Pool(processes, maxtasksperchild=50) as pool:
        for _ in pool.imap_unordered(_generate_one, todo):
            pass
    (out / "nation.json").write_text(
        json.dumps([u.__dict__ for u in units], ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return time.perf_counter() - t


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "nation" / "raw")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    chosen = nation_units(args.fraction)
    print(f"{len(chosen)} bodies, {sum(u.staff for u in chosen):,} staff")
    print(f"generated in {generate_nation(chosen, args.out, args.processes):.0f} s")
