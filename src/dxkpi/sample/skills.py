"""The skill map (issue #8): skill assessments, knowledge posts and their planted truth.

The assessed level (latent level rounded, clipped 0–4) rises by ``SKILL["effect"]`` from
the fiscal year of an employee's first completed phase-2/3 course of that skill area on;
failure posts grow as the programme matures. Drawn from the second random stream
(``SeedSequence([seed, SKILL_STREAM])``), after the core datasets are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dxkpi.sample.parameters import (
    COURSES,
    FAILURE_SHARE_BY_YEAR,
    LEVELS,
    POST_KIND_SHARE_OTHER,
    POST_RATE,
    POST_TITLES,
    SKILL,
    SKILL_AREAS,
)
from dxkpi.sample.people import City
from dxkpi.sample.training import programme_start
from dxkpi.sample.values import iso_text, text_column, workdays

__all__ = [
    "SkillDraws",
    "knowledge_posts_table",
    "posts_truth",
    "skill_assessment_table",
    "skill_draws",
    "skill_treatment_year",
    "skill_truth",
]


def skill_treatment_year(city: City, a: dict[str, np.ndarray]) -> np.ndarray:
    """(employee × skill area) year index of the first completed phase-2/3 course of that area.

    ``len(city.fys)`` where there is none (never treated within the window).
    """
    n_years = len(city.fys)
    area_of_course = np.array([SKILL_AREAS.index(c[2]) for c in COURSES])
    done = (a["status"] == 2) & (a["phase"] >= 2)
    first = np.full((len(city.emp_ids), len(SKILL_AREAS)), n_years)
    np.minimum.at(first, (a["emp"][done], area_of_course[a["course"][done]]), a["year"][done])
    return first


@dataclass(frozen=True)
class SkillDraws:
    """Employee-year-area observations and both potential assessed levels."""

    emp: np.ndarray
    year: np.ndarray
    area: np.ndarray
    post: np.ndarray
    has_self: np.ndarray
    has_manager: np.ndarray
    self0: np.ndarray
    self1: np.ndarray
    manager0: np.ndarray
    manager1: np.ndarray

    def observed(self, which: str) -> np.ndarray:
        """The assessment actually recorded (treated from the cohort year on)."""
        y0, y1 = (self.self0, self.self1) if which == "self" else (self.manager0, self.manager1)
        return np.where(self.post, y1, y0)

    def used(self, treated: bool) -> np.ndarray:
        """The level a KPI uses (manager's where present, else self) under (no) treatment."""
        if treated:
            return np.where(self.has_manager, self.manager1, self.self1)
        return np.where(self.has_manager, self.manager0, self.self0)


def skill_draws(rng: np.random.Generator, city: City, treat: np.ndarray) -> SkillDraws:
    """Latent level = job level + area + employee×area + drift × year + effect × post + noise;
    the manager records round(latent), the employee round(latent + bias + noise), both 0–4."""
    emp0, year0 = np.nonzero(city.dept >= 0)
    k = len(SKILL_AREAS)
    emp, year = np.repeat(emp0, k), np.repeat(year0, k)
    area = np.tile(np.arange(k), len(emp0))
    person = rng.normal(0, SKILL["person_sd"], (len(city.emp_ids), k))
    base = np.array([SKILL["base_by_job_level"][lv] for lv in LEVELS])[city.level[emp]]
    offset = np.array([SKILL["area_offset"][a] for a in SKILL_AREAS])[area]
    n = len(emp)
    latent = (
        base
        + offset
        + person[emp, area]
        + SKILL["per_year"] * year
        + rng.normal(0, SKILL["noise_sd"], n)
    )
    self_shift = SKILL["self_bias"] + rng.normal(0, SKILL["self_noise_sd"], n)
    has_self = rng.random(n) < SKILL["self_response"]
    has_manager = rng.random(n) < SKILL["manager_response"]

    def level(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x), 0, 4).astype(np.int64)

    lift = SKILL["effect"]
    return SkillDraws(
        emp=emp,
        year=year,
        area=area,
        post=treat[emp, area] <= year,
        has_self=has_self,
        has_manager=has_manager,
        self0=level(latent + self_shift),
        self1=level(latent + self_shift + lift),
        manager0=level(latent),
        manager1=level(latent + lift),
    )


def skill_assessment_table(city: City, d: SkillDraws) -> pl.DataFrame:
    """One row per employee, FY, skill area and assessor (self before manager)."""
    parts = []
    for which, has in (("self", d.has_self), ("manager", d.has_manager)):
        parts.append(
            pl.DataFrame(
                {
                    "_y": d.year[has],
                    "_e": d.emp[has],
                    "_a": d.area[has],
                    "_o": np.full(int(has.sum()), 0 if which == "self" else 1),
                    "level": d.observed(which)[has].astype(str),
                    "assessor": np.full(int(has.sum()), which),
                }
            )
        )
    frame = pl.concat(parts).sort("_y", "_e", "_a", "_o")
    fys = np.asarray(city.fys)
    return frame.select(
        text_column(fys[frame["_y"].to_numpy()]).alias("fiscal_year"),
        pl.Series("employee_id", city.emp_ids[frame["_e"].to_numpy()]),
        pl.Series("skill_area", np.asarray(SKILL_AREAS)[frame["_a"].to_numpy()]),
        "assessor",
        "level",
        pl.Series("_fy", fys[frame["_y"].to_numpy()]),
    )


def skill_truth(city: City, d: SkillDraws, treat: np.ndarray) -> dict[str, Any]:
    """The ATT on the assessed level a staggered DiD (employee × FY per skill area) recovers.

    Means of used(treated) − used(untreated) over treated employees' assessed FYs from their
    cohort FY on; cohorts treated in the first FY are left out (no pre-period, as att_gt does).
    """
    assessed = d.has_self | d.has_manager
    cohort = treat[d.emp, d.area]
    keep = assessed & d.post & (cohort > 0)
    gain = (d.used(True) - d.used(False))[keep]
    area, year, g = d.area[keep], d.year[keep], cohort[keep]
    fys = city.fys
    by_area = {
        name: float(gain[area == i].mean()) if (area == i).any() else None
        for i, name in enumerate(SKILL_AREAS)
    }
    cells: dict[str, dict[str, dict[str, float]]] = {}
    for i, name in enumerate(SKILL_AREAS):
        for gi in np.unique(g[area == i]):
            for ti in np.unique(year[(area == i) & (g == gi)]):
                sel = (area == i) & (g == gi) & (year == ti)
                cells.setdefault(name, {}).setdefault(str(fys[gi]), {})[str(fys[ti])] = float(
                    gain[sel].mean()
                )
    ever = treat < len(fys)
    return {
        "definition": "treatment = first completed phase-2 or phase-3 course of the skill area "
        "(fiscal year of session_date); outcome = assessed level 0–4 (manager's "
        "assessment where present, else self); assessments describe the end of "
        "the FY, so the cohort FY is already post-treatment",
        "parameters": SKILL,
        "expected_att": float(gain.mean()) if len(gain) else None,
        "expected_att_by_skill_area": by_area,
        "expected_att_gt": cells,
        "treated_post_observations": len(gain),
        "treated_employees_by_skill_area": {
            name: int(ever[:, i].sum()) for i, name in enumerate(SKILL_AREAS)
        },
        "self_minus_manager_expected": "≈ self_bias (0.4) before rounding and clipping",
    }


def knowledge_posts_table(rng: np.random.Generator, city: City) -> pl.DataFrame:
    """Posts per employee-year ~ Poisson (higher once in the programme); failures grow yearly."""
    start = programme_start(city)
    emp, year = np.nonzero(city.dept >= 0)
    rate = np.where(year >= start[emp], POST_RATE["in_programme"], POST_RATE["before_programme"])
    count = rng.poisson(rate)
    emp, year = np.repeat(emp, count), np.repeat(year, count)
    n = len(emp)
    day = np.empty(n, dtype=np.int64)
    for y, fy in enumerate(city.fys):
        pool = workdays(fy)
        mask = year == y
        day[mask] = pool[rng.integers(0, len(pool), int(mask.sum()))]
    failure = np.asarray(FAILURE_SHARE_BY_YEAR)[np.minimum(year, len(FAILURE_SHARE_BY_YEAR) - 1)]
    u = rng.random(n)
    success_cut = failure + (1 - failure) * POST_KIND_SHARE_OTHER["success"]
    kind = np.where(u < failure, "failure", np.where(u < success_cut, "success", "howto"))
    title = np.asarray(POST_TITLES)[rng.integers(0, len(POST_TITLES), n)]
    order = np.lexsort((emp, day))
    fys = np.asarray(city.fys)[year]
    frame = pl.DataFrame(
        {
            "employee_id": city.emp_ids[emp],
            "department_code": np.asarray(city.dept_codes)[city.dept[emp, year]],
            "posted_on": iso_text(day),
            "kind": kind,
            "title": title,
            "_fy": fys,
        }
    )[order]
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_fy")).to_series()
    ids = pl.format("K{}-{}", frame["_fy"], seq.cast(pl.String).str.zfill(4))
    return frame.with_columns(ids.alias("post_id")).select(
        "post_id", "employee_id", "department_code", "posted_on", "kind", "title", "_fy"
    )


def posts_truth(city: City, posts: pl.DataFrame) -> dict[str, Any]:
    realised = (
        posts.group_by("_fy")
        .agg((pl.col("kind") == "failure").mean().alias("s"), pl.len().alias("n"))
        .sort("_fy")
    )
    return {
        "rate_per_employee_year": POST_RATE,
        "failure_share_by_programme_year": FAILURE_SHARE_BY_YEAR,
        "other_kinds": POST_KIND_SHARE_OTHER,
        "failure_share_by_fy": {str(fy): round(float(s), 4) for fy, s, _ in realised.iter_rows()},
        "posts_by_fy": {str(fy): int(n) for fy, _, n in realised.iter_rows()},
    }
