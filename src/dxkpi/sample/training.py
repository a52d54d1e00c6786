"""The training programme: courses, roll-out, simulated attendance and treatment months.

Staff attend from the first fiscal year they sit in a rolled-out department; an employee's
treatment month is the month of their first *completed* phase-2 session.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_start
from dxkpi.sample.parameters import COURSES, STATUS_SHARE, VOLUNTARY_RATE
from dxkpi.sample.people import City
from dxkpi.sample.values import choose, day_number, int_text, iso_text, workdays

__all__ = [
    "attendance_arrays",
    "attendance_table",
    "courses_table",
    "programme_start",
    "treatment_month",
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


def attendance_arrays(
    rng: np.random.Generator, city: City, sessions_per_year: float
) -> dict[str, np.ndarray]:
    """Session rows (employee, course, day, status, scores…), sorted by employee and date.

    Enrolled employee-years have 1 + Poisson(sessions_per_year − 1) sessions; before
    enrolment a few staff (VOLUNTARY_RATE) take one or two voluntary phase-1 sessions.
    """
    n_years = len(city.fys)
    start = programme_start(city)
    emp, year = np.nonzero(city.dept >= 0)
    enrolled = year >= start[emp]
    voluntary = ~enrolled & (rng.random(len(emp)) < VOLUNTARY_RATE)
    keep = enrolled | voluntary
    emp, year, enrolled = emp[keep], year[keep], enrolled[keep]
    order = np.lexsort((year, emp))
    emp, year, enrolled = emp[order], year[order], enrolled[order]
    n = np.where(
        enrolled, 1 + rng.poisson(sessions_per_year - 1, len(emp)), rng.integers(1, 3, len(emp))
    )
    row_emp, row_year = np.repeat(emp, n), np.repeat(year, n)
    group = np.repeat(np.arange(len(emp)), n)
    day = np.empty(len(group), dtype=np.int64)
    for y in range(n_years):
        pool = workdays(city.fys[y])
        mask = row_year == y
        day[mask] = pool[rng.integers(0, len(pool), int(mask.sum()))]
    order = np.lexsort((day, group))
    row_emp, row_year, group, day = row_emp[order], row_year[order], group[order], day[order]
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    rank = np.arange(len(group)) - first[group]
    phase = _phase_of(row_year - start[row_emp], (rank + 0.5) / n[group])
    course = _pick_courses(rng, row_year, phase)
    key = (row_emp * len(COURSES) + course) * 100_000 + (day - day_number(fy_start(city.fys[0])))
    _, unique_at = np.unique(key, return_index=True)
    keep = np.zeros(len(key), dtype=bool)
    keep[unique_at] = True
    arrays = {
        "emp": row_emp[keep],
        "year": row_year[keep],
        "day": day[keep],
        "course": course[keep],
        "phase": phase[keep],
    }
    arrays.update(_session_outcomes(rng, arrays["phase"], arrays["year"], arrays["course"]))
    return arrays


def _pick_courses(rng: np.random.Generator, year: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """A course offered in that year for that phase, uniformly."""
    course = np.empty(len(year), dtype=np.int64)
    for y in np.unique(year):
        for p in (1, 2, 3):
            mask = (year == y) & (phase == p)
            offered = [i for i, c in enumerate(COURSES) if c[1] == p and c[5] <= y <= c[6]]
            course[mask] = np.asarray(offered)[rng.integers(0, len(offered), int(mask.sum()))]
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


def treatment_month(city: City, a: dict[str, np.ndarray]) -> np.ndarray:
    """Month index of each employee's first completed phase-2 session (-1: never)."""
    done = (a["phase"] == 2) & (a["status"] == 2)
    first = np.full(len(city.emp_ids), np.iinfo(np.int64).max)
    np.minimum.at(first, a["emp"][done], a["day"][done])
    treated = first < np.iinfo(np.int64).max
    month = np.full(len(city.emp_ids), -1)
    month[treated] = _month_index(first[treated], city.fys[0])
    return month
