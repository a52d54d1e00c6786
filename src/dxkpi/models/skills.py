"""Skill map: did training raise assessed skills (Kirkpatrick level 2), and report helpers.

Level 2 of Kirkpatrick's model asks whether people *learned*. Two answers, side by side:

* :func:`skill_effect` — the change in assessed level (0–4) after a course of the matching skill
  area, against staff not yet trained, by the staggered difference-in-differences of
  :func:`dxkpi.models.did.att_gt` on an employee × fiscal-year panel per skill area. Treatment = the
  fiscal year of the first *completed* phase-2 or phase-3 course of that skill area; outcome =
  the assessed level of that year (the manager's assessment where there is one, else the
  employee's own). Assessments describe the end of the fiscal year, so the cohort year itself is
  already post-treatment. One row per skill area plus ``all`` (the areas pooled: one unit per
  employee and area), each with its interval and sizes.
* :func:`score_gain` — the pre/post test score change (post − pre, points 0–100) of attended or
  completed sessions per skill area: what the course's own test says, with no comparison group.

Helpers for the skill-map report (all suppressed through the KPI engine, so no cell describes
fewer than k people): :func:`attainment_by_department`, :func:`assessment_gap_by_skill_area`,
:func:`attainment_change`, :func:`course_skill_moves`.

Everything here is pure: processed frames in, polars frames out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.engine import compute
from dxkpi.kpi.measures import Z95
from dxkpi.models.did import AttGtResult, DidError, att_gt
from dxkpi.project.config import SKILL_AREAS, Config

ALL = "all"
TREATING_PHASES = (2, 3)

EFFECT_SCHEMA: dict[str, pl.DataType] = {
    "skill_area": pl.String(),
    "att": pl.Float64(),
    "se": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "naive_change": pl.Float64(),
    "pretest_p": pl.Float64(),
    "n_units": pl.Int64(),
    "n_treated": pl.Int64(),
    "n_observations": pl.Int64(),
    "n_cells": pl.Int64(),
    "reason": pl.String(),
}


# ----------------------------------------------------------------------------- the panel
def assessed_levels(data: Processed) -> pl.LazyFrame:
    """Assessed level 0–4 per (employee_id, fiscal_year, skill_area): manager's, else self."""
    sa = data.require("skill_assessment")
    return sa.group_by("employee_id", pl.col("fiscal_year").cast(pl.Int32), "skill_area").agg(
        pl.coalesce(
            pl.col("level").filter(pl.col("assessor") == "manager").first(),
            pl.col("level").filter(pl.col("assessor") == "self").first(),
        )
        .cast(pl.Float64)
        .alias("level")
    )


def first_skill_course(data: Processed) -> pl.LazyFrame:
    """Fiscal year of each employee's first completed phase-2/3 course per skill area.

    Columns: employee_id, skill_area, first_fy (Int32).
    """
    courses = (
        data.require("courses")
        .filter(pl.col("phase").cast(pl.Int8).is_in(TREATING_PHASES))
        .select("course_id", "skill_area")
    )
    return (
        data.require("attendance")
        .filter(pl.col("status") == "completed")
        .join(courses, on="course_id", how="inner")
        .group_by("employee_id", "skill_area")
        .agg(fiscal_year_of(pl.col("session_date")).min().alias("first_fy"))
    )


def skill_panel(data: Processed) -> pl.LazyFrame:
    """Employee × FY × skill area panel: level (0–4) and first_fy of training (0 = never).

    Columns: unit ("employee|area"), employee_id, skill_area, fiscal_year, level, first_fy.
    """
    return (
        assessed_levels(data)
        .join(first_skill_course(data), on=["employee_id", "skill_area"], how="left")
        .with_columns(
            pl.col("first_fy").fill_null(0).cast(pl.Int32),
            pl.concat_str("employee_id", pl.lit("|"), "skill_area").alias("unit"),
        )
        .select("unit", "employee_id", "skill_area", "fiscal_year", "level", "first_fy")
    )


# ----------------------------------------------------------------------------- the estimate
@dataclass(frozen=True)
class SkillEffect:
    """One skill area's (or the pooled) DiD result: the ATT(g,t) fit and its simple aggregate."""

    skill_area: str
    result: AttGtResult | None
    row: dict[str, object]


def _naive_change(panel: pl.DataFrame) -> float | None:
    """Mean level of treated units from their cohort year on minus before it (no comparison)."""
    treated = panel.filter(pl.col("first_fy") > 0)
    post = pl.col("fiscal_year") >= pl.col("first_fy")
    means = treated.group_by(post.alias("post")).agg(pl.col("level").mean())
    values = dict(means.iter_rows())
    if True not in values or False not in values:
        return None
    return float(values[True] - values[False])


def _empty_row(area: str, panel: pl.DataFrame, reason: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(EFFECT_SCHEMA)
    row |= {
        "skill_area": area,
        "reason": reason,
        "n_observations": panel.height,
        "n_units": panel["unit"].n_unique(),
    }
    return row


def _fit(area: str, panel: pl.DataFrame, control: str, min_units: int) -> SkillEffect:
    """att_gt on one panel, aggregated to one ATT with its 95% interval and sizes."""
    try:
        res = att_gt(
            panel,
            unit="unit",
            time="fiscal_year",
            group="first_fy",
            outcome="level",
            control=control,
            min_units=min_units,
        )
        simple = res.aggregate("simple")
    except DidError as err:
        return SkillEffect(area, None, _empty_row(area, panel, err.en))
    ci = simple.ci
    cohort = res.unit_cohort
    row = {
        "skill_area": area,
        "att": simple.att,
        "se": simple.se,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
        "naive_change": _naive_change(panel),
        "pretest_p": res.pretest().p,
        "n_units": res.n_units,
        "n_treated": int(np.isfinite(cohort).sum()),
        "n_observations": panel.height,
        "n_cells": int(res.attgt.filter(pl.col("post")).height),
        "reason": None,
    }
    return SkillEffect(area, res, row)


def skill_effects(
    data: Processed,
    skill_areas: Sequence[str] = SKILL_AREAS,
    *,
    control: str = "notyet",
    min_units: int = 10,
) -> list[SkillEffect]:
    """Per skill area (then ``all``, pooled), the DiD fit of the assessed level on training."""
    panel = skill_panel(data).collect()
    out = [
        _fit(area, panel.filter(pl.col("skill_area") == area), control, min_units)
        for area in skill_areas
    ]
    pooled = panel.filter(pl.col("skill_area").is_in(list(skill_areas)))
    out.append(_fit(ALL, pooled, control, min_units))
    return out


def skill_effect(
    data: Processed,
    skill_areas: Sequence[str] = SKILL_AREAS,
    *,
    control: str = "notyet",
    min_units: int = 10,
) -> pl.DataFrame:
    """Change in assessed level (levels 0–4) after a course of the matching skill area.

    One row per skill area and ``all``: att (simple aggregate of ATT(g,t), outcome units =
    levels), se, 95% ci_low/ci_high, naive_change (treated after − before, no comparison group),
    pretest_p (parallel pre-trends), n_units (employee × area units used), n_treated (of them
    ever treated), n_observations (panel rows), n_cells (post-treatment ATT(g,t) cells); an empty
    att with ``reason`` when the area cannot be estimated. Comparison group: not-yet-treated
    (and never-treated) staff (``control="notyet"``).
    """
    rows = [e.row for e in skill_effects(data, skill_areas, control=control, min_units=min_units)]
    return pl.DataFrame(rows, schema=EFFECT_SCHEMA)


def score_gain(data: Processed, by_fiscal_year: bool = False) -> pl.DataFrame:
    """Mean pre→post test score change per skill area. Unit: points (0–100 scale).

    Attended or completed sessions with both scores. Columns: skill_area [, fiscal_year],
    mean_pre, mean_post, gain (mean of post − pre), se, ci_low, ci_high (normal 95%),
    n_sessions, n_people.
    """
    courses = data.require("courses").select("course_id", "skill_area")
    keys = ["skill_area", *(["fiscal_year"] if by_fiscal_year else [])]
    diff = pl.col("post_score") - pl.col("pre_score")
    out = (
        data.require("attendance")
        .filter(
            pl.col("status").is_in(["completed", "attended"])
            & pl.col("pre_score").is_not_null()
            & pl.col("post_score").is_not_null()
        )
        .join(courses, on="course_id", how="inner")
        .with_columns(fiscal_year_of(pl.col("session_date")).alias("fiscal_year"))
        .group_by(keys)
        .agg(
            pl.col("pre_score").mean().alias("mean_pre"),
            pl.col("post_score").mean().alias("mean_post"),
            diff.mean().alias("gain"),
            (diff.std() / pl.len().sqrt()).alias("se"),
            pl.len().alias("n_sessions"),
            pl.col("employee_id").n_unique().alias("n_people"),
        )
        .with_columns(
            ci_low=pl.col("gain") - Z95 * pl.col("se"),
            ci_high=pl.col("gain") + Z95 * pl.col("se"),
        )
        .sort(keys)
    )
    return out.select(
        *keys, "mean_pre", "mean_post", "gain", "se", "ci_low", "ci_high", "n_sessions", "n_people"
    ).collect()


# ----------------------------------------------------------------------------- report helpers
def _kpi_cells(
    data: Processed, config: Config, kpi: str, fiscal_years: Sequence[int], by: str
) -> pl.DataFrame:
    """Suppressed, graded cells of one skill KPI, split into group and skill_area."""
    rich = compute(data, config, kpis=[kpi], fiscal_years=list(fiscal_years), by=[by])
    parts = pl.col("group").str.split("|")
    return rich.with_columns(
        parts.list.first().alias("unit_group"),
        parts.list.last().alias("skill_area"),
    )


def attainment_by_department(data: Processed, config: Config, fiscal_year: int) -> pl.DataFrame:
    """Skill attainment rate (ratio 0–1) per department × skill area, suppressed cells marked.

    Columns: department_code, department_name, skill_area, value, numerator, denominator,
    target, grade, suppressed (True: hidden, fewer than k people or recoverable), reason.
    """
    cells = _kpi_cells(data, config, "skill_attainment_rate", [fiscal_year], "department")
    return cells.select(
        pl.col("unit_group").alias("department_code"),
        pl.col("group_name").alias("department_name"),
        "skill_area",
        "value",
        "numerator",
        "denominator",
        "target",
        "grade",
        "suppressed",
        "reason",
    )


def assessment_gap_by_skill_area(
    data: Processed, config: Config, fiscal_years: Sequence[int]
) -> pl.DataFrame:
    """City-wide mean (self − manager) level per skill area and FY. Unit: levels."""
    cells = _kpi_cells(data, config, "assessment_gap", fiscal_years, "skill_area")
    return cells.select(
        "fiscal_year", "skill_area", "value", "denominator", "target", "grade", "suppressed"
    )


def attainment_change(
    data: Processed, config: Config, fiscal_year: int, by: str = "skill_area"
) -> pl.DataFrame:
    """Skill attainment rate in the FY, the FY before and the change. Unit: ratio points.

    ``by`` is any grouping of the KPI (``skill_area`` = city-wide). A change is empty where
    either year is empty or suppressed. Columns: group, skill_area, previous, current, change.
    """
    cells = _kpi_cells(data, config, "skill_attainment_rate", [fiscal_year - 1, fiscal_year], by)
    wide = cells.select("fiscal_year", "group", "skill_area", "value").pivot(
        on="fiscal_year", index=["group", "skill_area"], values="value"
    )
    prev, cur = str(fiscal_year - 1), str(fiscal_year)
    for col in (prev, cur):
        if col not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(col))
    return wide.select(
        "group",
        "skill_area",
        pl.col(prev).alias("previous"),
        pl.col(cur).alias("current"),
        (pl.col(cur) - pl.col(prev)).alias("change"),
    )


def course_skill_moves(data: Processed, min_people: int) -> pl.DataFrame:
    """Which courses' attendees moved which skill: mean level change (levels) over the year.

    For each phase-2/3 course and skill area: staff who completed the course in FY t and were
    assessed in that area in t−1 and t; their mean level change t−1 → t, minus the same change
    among staff assessed both years who completed no phase-2/3 course that year (``lift``).
    Cells with fewer than ``min_people`` staff are kept with empty values and ``suppressed``.
    Columns: course_id, course_name, course_skill_area, skill_area, matching, change,
    baseline_change, lift, n_people, suppressed.
    """
    levels = assessed_levels(data)
    change = (
        levels.join(
            levels.with_columns(pl.col("fiscal_year") + 1),
            on=["employee_id", "fiscal_year", "skill_area"],
            how="inner",
            suffix="_prev",
        )
        .with_columns((pl.col("level") - pl.col("level_prev")).alias("delta"))
        .select("employee_id", "fiscal_year", "skill_area", "delta")
    )
    courses = (
        data.require("courses")
        .filter(pl.col("phase").cast(pl.Int8).is_in(TREATING_PHASES))
        .select("course_id", "course_name", pl.col("skill_area").alias("course_skill_area"))
    )
    completed = (
        data.require("attendance")
        .filter(pl.col("status") == "completed")
        .join(courses, on="course_id", how="inner")
        .select(
            "employee_id", "course_id", fiscal_year_of(pl.col("session_date")).alias("fiscal_year")
        )
        .unique()
    )
    baseline = (
        change.join(completed, on=["employee_id", "fiscal_year"], how="anti")
        .group_by("skill_area")
        .agg(pl.col("delta").mean().alias("baseline_change"))
    )
    moved = (
        completed.join(change, on=["employee_id", "fiscal_year"], how="inner")
        .group_by("course_id", "skill_area")
        .agg(
            pl.col("delta").mean().alias("change"),
            pl.col("employee_id").n_unique().alias("n_people"),
        )
        .join(courses, on="course_id", how="inner")
        .join(baseline, on="skill_area", how="left")
    )
    hide = pl.col("n_people") < min_people
    return (
        moved.with_columns(
            (pl.col("change") - pl.col("baseline_change")).alias("lift"),
            (pl.col("course_skill_area") == pl.col("skill_area")).alias("matching"),
            hide.alias("suppressed"),
        )
        .with_columns(
            [
                pl.when(hide).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("change", "lift", "n_people")
            ]
        )
        .select(
            "course_id",
            "course_name",
            "course_skill_area",
            "skill_area",
            "matching",
            "change",
            "baseline_change",
            "lift",
            "n_people",
            "suppressed",
        )
        .sort("course_id", "skill_area")
        .collect()
    )


__all__ = [
    "ALL",
    "EFFECT_SCHEMA",
    "TREATING_PHASES",
    "SkillEffect",
    "assessed_levels",
    "assessment_gap_by_skill_area",
    "attainment_by_department",
    "attainment_change",
    "course_skill_moves",
    "first_skill_course",
    "score_gain",
    "skill_effect",
    "skill_effects",
    "skill_panel",
]
