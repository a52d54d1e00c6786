"""Departments and the simulated staff: job levels, talent types, hires, leavers, transfers.

:class:`City` is the simulated city every later table is drawn from; it is built a fiscal year
at a time (:func:`first_city`, then :func:`next_year`), because who leaves at a year end depends
on their proposals that year (:func:`leave_probability`). :func:`staff_table` is its staff list
(one row per employee per fiscal year).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from dxkpi.sample.parameters import (
    DIVISIONS,
    GIVEN,
    HIRE_GROWTH,
    HIRE_LEVEL_SHARE,
    LEAVE_GAMMA,
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
    "department_weights",
    "draw_departments",
    "employee_ids",
    "first_city",
    "leave_probability",
    "next_year",
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


def department_weights(rng: np.random.Generator, n_dept: int) -> np.ndarray:
    """Each department's share of the staff (gamma-distributed sizes), for placing people."""
    weight = rng.gamma(3.0, 1.0, n_dept)
    return weight / weight.sum()


def _talent_types(rng: np.random.Generator, level: np.ndarray) -> np.ndarray:
    ttype = np.empty(len(level), dtype=np.int64)
    for lv, shares in enumerate(TYPE_SHARE_BY_LEVEL):
        idx = np.flatnonzero(level == lv)
        ttype[idx] = choose(rng, shares, len(idx))
    return ttype


def employee_ids(rng: np.random.Generator, n: int, after: int = 10_000) -> np.ndarray:
    """Seven-digit personnel numbers with leading zeros, increasing with hire order."""
    numbers = after + np.cumsum(rng.integers(1, 30, n))
    return np.char.zfill(numbers.astype(str), 7)


def first_city(
    rng: np.random.Generator,
    fys: tuple[int, ...],
    dept_codes: list[str],
    wave: np.ndarray,
    n_staff: int,
    weight: np.ndarray,
) -> City:
    """The city in its first fiscal year: ``n_staff`` people, nobody placed in later years yet."""
    level = choose(rng, LEVEL_SHARE, n_staff)
    dept = np.full((n_staff, len(fys)), -1)
    dept[:, 0] = choose(rng, weight, n_staff)
    ttype = _talent_types(rng, level)
    return City(fys, dept_codes, wave, employee_ids(rng, n_staff), level, ttype, dept)


def leave_probability(level: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Chance of leaving at the fiscal-year end, from the job level and that year's proposals.

    ``LEAVE_RATE[level] × exp(−LEAVE_GAMMA × z)`` with ``z`` the proposal count standardised
    over the people given (the staff list of the year), capped at 1.
    """
    sd = counts.std()
    z = (counts - counts.mean()) / sd if sd > 0 else np.zeros(len(counts))
    return np.minimum(1.0, np.asarray(LEAVE_RATE)[level] * np.exp(-LEAVE_GAMMA * z))


def next_year(
    rng: np.random.Generator,
    city: City,
    y: int,
    leave: np.ndarray,
    weight: np.ndarray,
    n_staff: int,
) -> City:
    """The city with the staff list of year ``y`` filled in from that of ``y − 1``.

    ``leave`` marks who left at the end of ``y − 1``. Hires (as many as left, plus 0.5 % of
    ``n_staff``) join in April with new personnel numbers; about 20 % of the stayers move to
    another department.
    """
    prev = city.dept[:, y - 1]
    active = (prev >= 0) & ~leave
    n_hire = int((leave & (prev >= 0)).sum()) + round(HIRE_GROWTH * n_staff)
    move = active & (rng.random(len(prev)) < TRANSFER_RATE)
    target = choose(rng, weight, len(prev))
    target = np.where(target == prev, (target + 1) % len(weight), target)
    level = choose(rng, HIRE_LEVEL_SHARE, n_hire)
    hire_dept = choose(rng, weight, n_hire)
    ttype = _talent_types(rng, level)
    ids = employee_ids(rng, n_hire, int(city.emp_ids[-1]))
    dept = np.concatenate([city.dept, np.full((n_hire, len(city.fys)), -1)])
    dept[:, y] = np.concatenate([np.where(active, np.where(move, target, prev), -1), hire_dept])
    return replace(
        city,
        emp_ids=np.concatenate([city.emp_ids, ids]),
        level=np.concatenate([city.level, level]),
        ttype=np.concatenate([city.ttype, ttype]),
        dept=dept,
    )


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
