"""Improvement proposals: the monthly rate model with the planted course effects, and the rows.

Each employee has a base monthly proposal rate (job level × talent type × a gamma frailty with
mean 1) times a city-wide fiscal-year and seasonal multiplier. From the month AFTER the month
of their first completed phase-2 course c (``EFFECT_LAG_MONTHS``) the rate is multiplied by
``1 + (TREATMENT_FACTOR[type] − 1) × s_c`` (``PHASE2_SHARE``); from the month after their first
completed phase-3 course z, also by ``m_z`` (``PHASE3_MULTIPLIER``). :func:`rates` gives both
potential rates of any employee-months (the truth in :mod:`dxkpi.sample.truth` is built on it);
:func:`proposals_table` the rows, with a submitted → decided → implemented flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_start
from dxkpi.sample.parameters import (
    ADOPTION_PROBABILITY,
    BASE_RATE_BY_LEVEL,
    CATEGORIES,
    COURSES,
    DECISION_DAYS,
    EFFECT_LAG_MONTHS,
    FRAILTY_SHAPE,
    IMPLEMENTATION_DAYS,
    IMPLEMENTATION_PROBABILITY,
    LEVELS,
    PHASE2_SHARE,
    PHASE3_MULTIPLIER,
    PROPOSAL_ACTIONS,
    PROPOSAL_OBJECTS,
    SEASON,
    TREATMENT_FACTOR,
    TYPE_RATE_MULTIPLIER,
    TYPES,
    YEAR_MULTIPLIER_STEP,
)
from dxkpi.sample.people import City
from dxkpi.sample.training import Stages
from dxkpi.sample.values import cutoff_day, int_text, iso_text

__all__ = [
    "Rates",
    "base_rates",
    "course_phase2_share",
    "course_phase3_multiplier",
    "panel",
    "proposal_counts",
    "proposals_table",
    "rates",
]


def base_rates(rng: np.random.Generator, level: np.ndarray, ttype: np.ndarray) -> np.ndarray:
    """Monthly base rates of new employees: level rate × talent-type multiplier × frailty."""
    level_rate = np.array([BASE_RATE_BY_LEVEL[lv] for lv in LEVELS])
    type_mult = np.array([TYPE_RATE_MULTIPLIER[t] for t in TYPES])
    frailty = rng.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE, len(level))
    return level_rate[level] * type_mult[ttype] * frailty


def course_phase2_share() -> np.ndarray:
    """s_c per course index (0 for courses outside phase 2)."""
    return np.array([PHASE2_SHARE.get(c[0], 0.0) if c[1] == 2 else 0.0 for c in COURSES])


def course_phase3_multiplier() -> np.ndarray:
    """m_z per course index (1 for courses outside phase 3)."""
    return np.array([PHASE3_MULTIPLIER.get(c[0], 1.0) if c[1] == 3 else 1.0 for c in COURSES])


def panel(city: City, year: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(employee, month index) of every employee-month on the staff list (of one year)."""
    on_list = city.dept >= 0
    if year is not None:
        on_list = on_list & (np.arange(len(city.fys)) == year)
    emp, y = np.nonzero(on_list)
    emp = np.repeat(emp, 12)
    month = np.repeat(y * 12, 12) + np.tile(np.arange(12), len(y))
    return emp, month


def _month_multiplier(month: np.ndarray) -> np.ndarray:
    return (1 + YEAR_MULTIPLIER_STEP * (month // 12)) * np.asarray(SEASON)[month % 12]


@dataclass(frozen=True)
class Rates:
    """Potential monthly rates of a set of employee-months.

    ``without`` is the rate without any programme effect; ``boost2`` the phase-2 multiplier in
    force that month (1 before the month after the first phase-2 completion); ``boost3`` the
    phase-3 multiplier in force (1 before the month after the first phase-3 completion).
    ``in2`` / ``in3`` mark the months those are in force. The realised rate is
    ``without × boost2 × boost3``.
    """

    emp: np.ndarray
    month: np.ndarray
    without: np.ndarray
    boost2: np.ndarray
    boost3: np.ndarray
    in2: np.ndarray
    in3: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        return self.without * self.boost2 * self.boost3


def rates(city: City, base: np.ndarray, st: Stages, emp: np.ndarray, month: np.ndarray) -> Rates:
    """Both potential rates of the employee-months (emp, month) under the planted effects."""
    factor = np.array([TREATMENT_FACTOR[t] for t in TYPES])[city.ttype[emp]]
    c2, m2 = st.course[2][emp], st.month[2][emp]
    c3, m3 = st.course[3][emp], st.month[3][emp]
    in2 = (m2 >= 0) & (month >= m2 + EFFECT_LAG_MONTHS)
    in3 = (m3 >= 0) & (month >= m3 + EFFECT_LAG_MONTHS)
    boost2 = np.where(in2, 1 + (factor - 1) * course_phase2_share()[c2], 1.0)
    boost3 = np.where(in3, course_phase3_multiplier()[c3], 1.0)
    without = base[emp] * _month_multiplier(month)
    return Rates(emp, month, without, boost2, boost3, in2, in3)


def proposal_counts(
    rng: np.random.Generator, city: City, base: np.ndarray, st: Stages, year: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson counts on the employee × month panel of one year: (emp, month, count)."""
    emp, month = panel(city, year)
    return emp, month, rng.poisson(rates(city, base, st, emp, month).rate)


def proposals_table(
    rng: np.random.Generator, city: City, emp: np.ndarray, month: np.ndarray, count: np.ndarray
) -> pl.DataFrame:
    """Proposal rows with a consistent submitted → decided → implemented flow."""
    emp, month = np.repeat(emp, count), np.repeat(month, count)
    n = len(emp)
    fy0 = city.fys[0]
    april = np.datetime64(fy_start(fy0), "M")
    first_day = (april + month).astype("datetime64[D]").astype(np.int64)
    next_first = (april + month + 1).astype("datetime64[D]")
    length = next_first.astype(np.int64) - first_day
    submitted = first_day + np.floor(rng.random(n) * length).astype(np.int64)
    as_of = cutoff_day(city.fys)
    decided = submitted + rng.integers(DECISION_DAYS[0], DECISION_DAYS[1] + 1, n)
    is_decided = decided <= as_of
    adopted = is_decided & (rng.random(n) < ADOPTION_PROBABILITY)
    implemented_on = decided + rng.integers(IMPLEMENTATION_DAYS[0], IMPLEMENTATION_DAYS[1] + 1, n)
    implemented = adopted & (implemented_on <= as_of) & (rng.random(n) < IMPLEMENTATION_PROBABILITY)
    status = np.where(
        ~is_decided,
        "submitted",
        np.where(implemented, "implemented", np.where(adopted, "adopted", "rejected")),
    )
    hours = np.where(adopted, np.rint(rng.lognormal(np.log(60), 0.9, n)), np.nan)
    year = month // 12
    order = np.lexsort((emp, submitted))
    titles = (
        np.asarray(PROPOSAL_OBJECTS)[rng.integers(0, len(PROPOSAL_OBJECTS), n)].astype(object)
        + np.asarray(PROPOSAL_ACTIONS)[rng.integers(0, len(PROPOSAL_ACTIONS), n)]
    )
    category = np.asarray(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)]
    category[rng.random(n) < 0.2] = None  # a fresh object array (fancy indexing copies)
    frame = pl.DataFrame(
        {
            "employee_id": city.emp_ids[emp],
            "department_code": np.asarray(city.dept_codes)[city.dept[emp, year]],
            "submitted_on": iso_text(submitted),
            "title": titles.astype(str),
            "category": pl.Series(category.tolist(), dtype=pl.String),
            "status": status,
            "decided_on": iso_text(decided).set(pl.Series(~is_decided), None),
            "implemented_on": iso_text(implemented_on).set(pl.Series(~implemented), None),
            "hours_saved_per_year": int_text(hours),
            "_fy": np.asarray(city.fys)[year],
        }
    )[order]
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_fy")).to_series()
    ids = pl.format("P{}-{}", frame["_fy"], seq.cast(pl.String).str.zfill(5))
    return frame.with_columns(ids.alias("proposal_id")).select(
        "proposal_id", *[c for c in frame.columns if c != "proposal_id"]
    )
