"""Departments and the simulated staff: job levels, talent types, hires, leavers, transfers.

:class:`City` is the simulated city every later table is drawn from; :func:`staff_table`
is its staff list (one row per employee per fiscal year).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from dxkpi.sample.parameters import (
    DIVISIONS,
    GIVEN,
    HIRE_LEVEL_SHARE,
    LEAVE_RATE,
    LEVEL_SHARE,
    LEVELS,
    PILOT_DEPARTMENTS,
    SECOND_WAVE_SHARE,
    SURNAMES,
    TRANSFER_RATE,
    TYPE_SHARE_BY_LEVEL,
    TYPES,
)
from dxkpi.sample.values import choose, text_column

__all__ = [
    "City",
    "draw_departments",
    "employee_ids",
    "simulate_people",
    "staff_table",
]


@dataclass
class City:
    """The simulated city: people, departments and the canonical tables (string columns)."""

    fys: tuple[int, ...]
    dept_codes: list[str]
    dept_wave: np.ndarray  # year index the department joins the programme (may be ≥ n_years)
    emp_ids: np.ndarray  # str
    level: np.ndarray  # int index into LEVELS
    ttype: np.ndarray  # int index into TYPES
    dept: np.ndarray  # (n_emp, n_years) department index, -1 when not on the staff list
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)


def draw_departments(
    rng: np.random.Generator, fys: tuple[int, ...]
) -> tuple[pl.DataFrame, np.ndarray]:
    """The departments table and each department's roll-out year index (1 pilot, 2, 3)."""
    codes, names, divisions = [], [], []
    for i, (division, depts) in enumerate(DIVISIONS):
        for j, name in enumerate(depts):
            codes.append(f"{i + 1:02d}{j + 1:02d}00")
            names.append(name)
            divisions.append(division)
    n = len(codes)
    wave = np.full(n, 3)
    pilot = np.array([name in PILOT_DEPARTMENTS for name in names])
    wave[pilot] = 1
    rest = np.flatnonzero(~pilot)
    second = rng.choice(rest, size=round(SECOND_WAVE_SHARE * len(rest)), replace=False)
    wave[second] = 2
    pilot_fy = [str(fys[0] + w) if w < len(fys) else None for w in wave]
    frame = pl.DataFrame(
        {
            "department_code": codes,
            "department_name": names,
            "division": divisions,
            "pilot_fy": pl.Series(pilot_fy, dtype=pl.String),
        }
    )
    return frame, wave


def simulate_people(
    rng: np.random.Generator, n_staff: int, n_years: int, n_dept: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels, talent types and a (employee × year) department matrix (-1: not on the list).

    Leavers go at the end of a fiscal year; hires (replacing them, +0.5 %) join in April;
    about 20 % of staff move to another department every April.
    """
    weight = rng.gamma(3.0, 1.0, n_dept)
    weight /= weight.sum()
    level = choose(rng, LEVEL_SHARE, n_staff)
    dept_rows = [choose(rng, weight, n_staff)]
    active = np.ones(n_staff, dtype=bool)
    for _ in range(1, n_years):
        prev = dept_rows[-1]
        leave = active & (rng.random(len(prev)) < np.asarray(LEAVE_RATE)[level])
        active = active & ~leave
        n_hire = int(leave.sum()) + round(0.005 * n_staff)
        level = np.concatenate([level, choose(rng, HIRE_LEVEL_SHARE, n_hire)])
        move = active & (rng.random(len(prev)) < TRANSFER_RATE)
        target = choose(rng, weight, len(prev))
        target = np.where(target == prev, (target + 1) % n_dept, target)
        cur = np.where(active, np.where(move, target, prev), -1)
        cur = np.concatenate([cur, choose(rng, weight, n_hire)])
        active = np.concatenate([active, np.ones(n_hire, dtype=bool)])
        dept_rows = [np.concatenate([r, np.full(n_hire, -1)]) for r in dept_rows]
        dept_rows.append(cur)
    dept = np.stack(dept_rows, axis=1)
    ttype = np.empty(len(level), dtype=np.int64)
    for lv, shares in enumerate(TYPE_SHARE_BY_LEVEL):
        idx = np.flatnonzero(level == lv)
        ttype[idx] = choose(rng, shares, len(idx))
    return level, ttype, dept


def employee_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seven-digit personnel numbers with leading zeros, increasing with hire order."""
    numbers = 10_000 + np.cumsum(rng.integers(1, 30, n))
    return np.char.zfill(numbers.astype(str), 7)


def staff_table(rng: np.random.Generator, city: City) -> pl.DataFrame:
    """One row per employee per fiscal year, plus the 氏名 and an unknown 内線番号 column."""
    emp, year = np.nonzero(city.dept >= 0)
    order = np.lexsort((emp, year))
    emp, year = emp[order], year[order]
    n_emp = len(city.emp_ids)
    surname = rng.integers(0, len(SURNAMES), n_emp)
    given = rng.integers(0, len(GIVEN), n_emp)
    names = np.array([f"{SURNAMES[s]}　{GIVEN[g]}" for s, g in zip(surname, given, strict=True)])
    talent = np.array(TYPES, dtype=object)[city.ttype[emp]]
    blank = (talent == "unassigned") & (rng.random(len(emp)) < 0.85)
    talent[blank] = None  # a fresh object array (fancy indexing copies)
    extension = rng.integers(1000, 9999, len(emp))
    return pl.DataFrame(
        {
            "fiscal_year": text_column(np.asarray(city.fys)[year]),
            "employee_id": city.emp_ids[emp],
            "department_code": np.asarray(city.dept_codes)[city.dept[emp, year]],
            "job_level": np.asarray(LEVELS)[city.level[emp]],
            "talent_type": pl.Series(talent.tolist(), dtype=pl.String),
            "氏名": names[emp],
            "内線番号": extension.astype(str),
        }
    )
