"""Improvement proposals and the planted behavioural effect, with the ATT it implies.

Each employee has a base monthly proposal rate (job level × talent type × a gamma frailty
with mean 1) times a city-wide fiscal-year and seasonal multiplier; from their treatment
month on (that whole month included) the rate is multiplied by a factor that depends on
talent type. :func:`effect_truth` is the additive effect a staggered DiD should recover.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_start
from dxkpi.sample.parameters import (
    BASE_RATE_BY_LEVEL,
    CATEGORIES,
    FRAILTY_SHAPE,
    LEVELS,
    PROPOSAL_ACTIONS,
    PROPOSAL_OBJECTS,
    SEASON,
    TREATMENT_FACTOR,
    TYPE_RATE_MULTIPLIER,
    TYPES,
    YEAR_MULTIPLIER_STEP,
)
from dxkpi.sample.people import City
from dxkpi.sample.values import cutoff_day, int_text, iso_text

__all__ = [
    "base_rates",
    "effect_truth",
    "proposal_counts",
    "proposals_table",
]


def base_rates(rng: np.random.Generator, city: City) -> np.ndarray:
    level_rate = np.array([BASE_RATE_BY_LEVEL[lv] for lv in LEVELS])
    type_mult = np.array([TYPE_RATE_MULTIPLIER[t] for t in TYPES])
    frailty = rng.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE, len(city.emp_ids))
    return level_rate[city.level] * type_mult[city.ttype] * frailty


def _panel(city: City) -> tuple[np.ndarray, np.ndarray]:
    """(employee, month index) of every employee-month on the staff list."""
    emp, year = np.nonzero(city.dept >= 0)
    emp = np.repeat(emp, 12)
    month = np.repeat(year * 12, 12) + np.tile(np.arange(12), len(year))
    return emp, month


def _month_multiplier(month: np.ndarray) -> np.ndarray:
    return (1 + YEAR_MULTIPLIER_STEP * (month // 12)) * np.asarray(SEASON)[month % 12]


def proposal_counts(
    rng: np.random.Generator, city: City, base: np.ndarray, treat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson proposal counts on the employee × month panel; returns (emp, month, count)."""
    emp, month = _panel(city)
    factor = np.array([TREATMENT_FACTOR[t] for t in TYPES])[city.ttype[emp]]
    post = (treat[emp] >= 0) & (month >= treat[emp])
    rate = base[emp] * _month_multiplier(month) * np.where(post, factor, 1.0)
    return emp, month, rng.poisson(rate)


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
    decided = submitted + rng.integers(7, 91, n)
    is_decided = decided <= as_of
    adopted = is_decided & (rng.random(n) < 0.55)
    implemented_on = decided + rng.integers(30, 241, n)
    implemented = adopted & (implemented_on <= as_of) & (rng.random(n) < 0.7)
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


def effect_truth(city: City, base: np.ndarray, treat: np.ndarray) -> dict[str, Any]:
    """The additive effect a staggered DiD on the employee × month panel should recover."""
    emp, month = _panel(city)
    post = (treat[emp] >= 0) & (month >= treat[emp])
    emp, month = emp[post], month[post]
    factor = np.array([TREATMENT_FACTOR[t] for t in TYPES])[city.ttype[emp]]
    effect = base[emp] * _month_multiplier(month) * (factor - 1)

    def mean_by(labels: np.ndarray, names: Sequence[str]) -> dict[str, float | None]:
        return {
            name: (float(effect[labels == i].mean()) if (labels == i).any() else None)
            for i, name in enumerate(names)
        }

    event = month - treat[emp]
    by_event = {str(e): float(effect[event == e].mean()) for e in np.unique(event)}
    cohorts = treat[treat >= 0]
    fy0 = city.fys[0]

    def label(m: int) -> str:
        return str(np.datetime64(fy_start(fy0), "M") + int(m))

    labels = [label(m) for m in np.unique(cohorts)]
    counts = np.unique(cohorts, return_counts=True)[1]
    cells = (
        pl.DataFrame({"g": treat[emp], "t": month, "effect": effect})
        .group_by("g", "t")
        .agg(pl.col("effect").mean())
        .sort("g", "t")
    )
    att_gt: dict[str, dict[str, float]] = {}
    for g, t, value in cells.iter_rows():
        att_gt.setdefault(label(g), {})[label(t)] = value
    by_cohort = {label(g): float(effect[treat[emp] == g].mean()) for g in np.unique(cohorts)}
    return {
        "expected_att_per_employee_month": float(effect.mean()) if len(effect) else None,
        "expected_att_by_talent_type": mean_by(city.ttype[emp], TYPES),
        "expected_att_by_job_level": mean_by(city.level[emp], LEVELS),
        "expected_att_by_event_month": by_event,
        "expected_att_by_cohort_month": by_cohort,
        "expected_att_gt": att_gt,
        "treated_post_employee_months": len(effect),
        "treated_employees": int((treat >= 0).sum()),
        "never_treated_employees": int((treat < 0).sum()),
        "treated_per_cohort_month": dict(zip(labels, map(int, counts), strict=True)),
    }
