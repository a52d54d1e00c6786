"""The training programme: courses, roll-out, simulated attendance and each employee's stages.

Staff attend from the first fiscal year they sit in a rolled-out department, a fiscal year at a
time (:func:`attendance_year`). Phases build on each other: a phase-3 session is completed only
after a phase-2 completion (:func:`gate_phase3`). :func:`stages` gives each employee's first
completed course of each phase and its month (the phase-2 one is the default treatment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_start
from dxkpi.sample.parameters import (
    COURSE_WEIGHT,
    COURSES,
    PHASE3_PLACE_RATE,
    STATUS_SHARE,
    VOLUNTARY_RATE,
)
from dxkpi.sample.people import City
from dxkpi.sample.values import choose, day_number, int_text, iso_text, workdays

__all__ = [
    "Stages",
    "attendance_table",
    "attendance_year",
    "courses_table",
    "gate_phase3",
    "programme_start",
    "stages",
]


def _month_index(days: np.ndarray, fy0: int) -> np.ndarray:
    """Months since April of the first fiscal year."""
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months - np.datetime64(fy_start(fy0), "M").astype(np.int64)


def _num_text(x: np.ndarray) -> pl.Series:
    """Numbers as text: whole numbers without a decimal point."""
    s = pl.Series(np.asarray(x, dtype=np.float64))
    return pl.select(
        pl.when(s == s.round(0)).then(s.cast(pl.Int64).cast(pl.String)).otherwise(s.cast(pl.String))
    ).to_series()


def courses_table() -> pl.DataFrame:
    ids = [f"C{phase}{i + 1:02d}" for i, (_, phase, *_rest) in enumerate(COURSES)]
    return pl.DataFrame(
        {
            "course_id": ids,
            "course_name": [c[0] for c in COURSES],
            "phase": [str(c[1]) for c in COURSES],
            "skill_area": [c[2] for c in COURSES],
            "hours": _num_text(np.array([c[3] for c in COURSES])),
            "instructor": [c[4] for c in COURSES],
        }
    )


def programme_start(city: City) -> np.ndarray:
    """Year index each employee first sits in a rolled-out department (n_years: never)."""
    n_years = len(city.fys)
    years = np.arange(n_years)
    rolled = (city.dept >= 0) & (city.dept_wave[np.maximum(city.dept, 0)] <= years)
    return np.where(rolled.any(axis=1), rolled.argmax(axis=1), n_years)


def _phase_of(k: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Phase of a session from the programme year k and its rank u ∈ (0, 1) in that year."""
    lo1 = np.select([k < 0, k == 0, k == 1], [1.01, 0.40, 0.10], 0.05)
    lo2 = np.select([k == 0, k == 1], [0.85, 0.55], 0.35)
    return np.where(u < lo1, 1, np.where(u < lo2, 2, 3))


def attendance_year(
    rng: np.random.Generator, city: City, y: int, sessions_per_year: float
) -> dict[str, np.ndarray]:
    """Session rows of fiscal year ``y`` (employee, course, day, status, scores…).

    Sorted by employee and date. Enrolled employee-years have 1 + Poisson(sessions_per_year − 1)
    sessions, their phases following the programme year (:func:`_phase_of`); phase-3 sessions
    only for those with a phase-3 place that year (``PHASE3_PLACE_RATE``), the others take
    further phase-2 courses instead. Before enrolment a few staff (VOLUNTARY_RATE) take one or
    two voluntary phase-1 sessions. ``city`` needs its staff lists up to year ``y`` only.
    """
    start = programme_start(city)
    emp = np.flatnonzero(city.dept[:, y] >= 0)
    enrolled = y >= start[emp]
    voluntary = ~enrolled & (rng.random(len(emp)) < VOLUNTARY_RATE)
    keep = enrolled | voluntary
    emp, enrolled = emp[keep], enrolled[keep]
    k = y - start[emp]
    n = np.where(
        enrolled, 1 + rng.poisson(sessions_per_year - 1, len(emp)), rng.integers(1, 3, len(emp))
    )
    place_rate = np.asarray(PHASE3_PLACE_RATE)[np.clip(k, 0, len(PHASE3_PLACE_RATE) - 1)]
    place3 = enrolled & (rng.random(len(emp)) < place_rate)
    row_emp = np.repeat(emp, n)
    group = np.repeat(np.arange(len(emp)), n)
    pool = workdays(city.fys[y])
    day = pool[rng.integers(0, len(pool), len(group))]
    order = np.lexsort((day, group))
    row_emp, group, day = row_emp[order], group[order], day[order]
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    rank = np.arange(len(group)) - first[group]
    phase = _phase_of(k[group], (rank + 0.5) / n[group])
    phase = np.where((phase == 3) & ~place3[group], 2, phase)
    course = _pick_courses(rng, y, phase)
    key = (row_emp * len(COURSES) + course) * 100_000 + (day - day_number(fy_start(city.fys[0])))
    _, unique_at = np.unique(key, return_index=True)
    keep = np.zeros(len(key), dtype=bool)
    keep[unique_at] = True
    arrays = {
        "emp": row_emp[keep],
        "year": np.full(int(keep.sum()), y),
        "day": day[keep],
        "course": course[keep],
        "phase": phase[keep],
    }
    arrays.update(_session_outcomes(rng, arrays["phase"], arrays["year"], arrays["course"]))
    return arrays


def _pick_courses(rng: np.random.Generator, y: int, phase: np.ndarray) -> np.ndarray:
    """A course offered in year ``y`` for that phase, in proportion to its ``COURSE_WEIGHT``."""
    course = np.empty(len(phase), dtype=np.int64)
    for p in (1, 2, 3):
        mask = phase == p
        offered = [i for i, c in enumerate(COURSES) if c[1] == p and c[5] <= y <= c[6]]
        weight = [COURSE_WEIGHT.get(COURSES[i][0], 1.0) for i in offered]
        course[mask] = np.asarray(offered)[choose(rng, weight, int(mask.sum()))]
    return course


def _session_outcomes(
    rng: np.random.Generator, phase: np.ndarray, year: np.ndarray, course: np.ndarray
) -> dict[str, np.ndarray]:
    """Status, pre/post test scores (phases 1–2) and satisfaction 1–5 (rising over years)."""
    n = len(phase)
    status = choose(rng, list(STATUS_SHARE.values()), n)  # 0 absent, 1 attended, 2 completed
    tested = (phase < 3) & (status > 0) & (rng.random(n) > 0.05)
    pre = np.clip(np.rint(rng.normal(55, 15, n)), 0, 100)
    post = np.clip(pre + np.rint(rng.normal(15, 8, n)), 0, 100)
    internal = np.array([c[4] == "internal" for c in COURSES])[course]
    mean = 3.5 + 0.1 * year + 0.15 * internal
    sat = np.clip(np.rint(rng.normal(mean, 0.9)), 1, 5)
    rated = (status > 0) & (rng.random(n) > 0.1)
    return {
        "status": status,
        "pre": np.where(tested, pre, np.nan),
        "post": np.where(tested, post, np.nan),
        "sat": np.where(rated, sat, np.nan),
    }


def attendance_table(city: City, a: dict[str, np.ndarray], course_ids: list[str]) -> pl.DataFrame:
    statuses = np.array(list(STATUS_SHARE))
    frame = pl.DataFrame(
        {
            "employee_id": city.emp_ids[a["emp"]],
            "course_id": np.asarray(course_ids)[a["course"]],
            "session_date": iso_text(a["day"]),
            "status": statuses[a["status"]],
            "pre_score": int_text(a["pre"]),
            "post_score": int_text(a["post"]),
            "satisfaction": int_text(a["sat"]),
            "_day": a["day"],
            "_fy": np.asarray(city.fys)[a["year"]],
        }
    )
    return frame.sort("_day", "employee_id", "course_id")


def _first(n_emp: int, a: dict[str, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per employee, the day and course of the earliest of ``rows`` (-1, -1: none).

    Several on that day: the course listed first (the lowest course_id of the phase).
    """
    n_courses = len(COURSES)
    none = np.iinfo(np.int64).max
    key = np.full(n_emp, none)
    np.minimum.at(key, a["emp"][rows], a["day"][rows] * n_courses + a["course"][rows])
    found = key < none
    return np.where(found, key // n_courses, -1), np.where(found, key % n_courses, -1)


def gate_phase3(n_emp: int, a: dict[str, np.ndarray]) -> np.ndarray:
    """Statuses with phase 3 completed only after a phase-2 completion (strictly later day).

    A completed phase-3 session on or before the employee's first completed phase-2 session (or
    without one) becomes attended: practice (実践) cannot be completed without the skills.
    """
    day2, _ = _first(n_emp, a, (a["phase"] == 2) & (a["status"] == 2))
    first2 = day2[a["emp"]]
    early = (a["phase"] == 3) & (a["status"] == 2) & ((first2 < 0) | (a["day"] <= first2))
    return np.where(early, 1, a["status"])


@dataclass(frozen=True)
class Stages:
    """Per employee: the first completed course of phases 1, 2 and 3, and its month index.

    ``course[p]`` is the course index (into COURSES) and ``month[p]`` the month of its session
    (months since April of the first fiscal year), both -1 where there is none.
    """

    course: dict[int, np.ndarray]
    month: dict[int, np.ndarray]


def stages(city: City, a: dict[str, np.ndarray]) -> Stages:
    """The first completed course of each phase per employee (ties: lowest course_id)."""
    course, month = {}, {}
    for p in (1, 2, 3):
        day, course[p] = _first(len(city.emp_ids), a, (a["phase"] == p) & (a["status"] == 2))
        month[p] = np.where(day >= 0, _month_index(np.maximum(day, 0), city.fys[0]), -1)
    return Stages(course, month)
