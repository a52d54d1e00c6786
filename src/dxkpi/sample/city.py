"""``generate_city``: the sample city end to end, its summary and ``ground_truth.json``.

The order of the random draws is part of the output. The eight core datasets come from one
``numpy.random.Generator(PCG64(seed))`` in a fixed order (the history year by year — staff,
attendance, proposal counts, leavers —, then the tables, bad rows, then the rendering of each
file); the skill map from a second stream
(``SeedSequence([seed, SKILL_STREAM])``) drawn after the core files are written, so the
core files are byte-identical with or without it; the course costs from a third
(``SeedSequence([seed, COST_STREAM])``) after those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_end
from dxkpi.core.jsontext import json_text
from dxkpi.sample.behaviour import proposals_table
from dxkpi.sample.costs import cost_truth, course_costs_table
from dxkpi.sample.faults import (
    bad_attendance,
    bad_masters,
    bad_projects,
    bad_proposals,
    bad_skill_rows,
    bad_surveys,
)
from dxkpi.sample.followup import followup_table, followup_truth, plant_bad_row
from dxkpi.sample.forms import (
    COST_FILES,
    FOLLOWUP_FILES,
    ROSTER_FILES,
    Written,
    write_files,
    write_parts,
    write_skill_files,
)
from dxkpi.sample.history import History, simulate_history
from dxkpi.sample.outcomes import maturity_survey_table, projects_table, resident_survey_table
from dxkpi.sample.parameters import (
    BASE_RATE_BY_LEVEL,
    COST_STREAM,
    COURSE_WEIGHT,
    COURSES,
    EFFECT_LAG_MONTHS,
    FOLLOWUP_STREAM,
    FRAILTY_SHAPE,
    LEAVE_GAMMA,
    LEAVE_RATE,
    LEVELS,
    MATURITY,
    PHASE2_SHARE,
    PHASE3_MULTIPLIER,
    PHASE3_PLACE_RATE,
    ROSTER_STREAM,
    SATISFACTION_PER_PROGRAMME_YEAR,
    SATISFACTION_PER_YEAR,
    SEASON,
    SELF_RUNNING_RATE,
    SESSIONS_PER_YEAR,
    SKILL_STREAM,
    STATUS_SHARE,
    SUPPORT_MODEL_SHARE,
    TRANSFER_RATE,
    TREATMENT_FACTOR,
    TYPE_RATE_MULTIPLIER,
    VOLUNTARY_RATE,
    YEAR_MULTIPLIER_STEP,
)
from dxkpi.sample.people import City, draw_departments, staff_table
from dxkpi.sample.roster import assignments_table, bad_assignments, roster_draws, roster_truth
from dxkpi.sample.skills import (
    knowledge_posts_table,
    posts_truth,
    skill_assessment_table,
    skill_draws,
    skill_treatment_year,
    skill_truth,
)
from dxkpi.sample.training import attendance_table, courses_table
from dxkpi.sample.truth import (
    attrition_truth,
    conventions,
    noise_truth,
    pipeline_truth,
    programme_truth,
)

__all__ = [
    "SampleSummary",
    "generate_city",
    "simulate_core",
]


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate_city` wrote: files, data rows per dataset and file, bad rows."""

    out: Path
    files: tuple[Path, ...]
    rows: Mapping[str, int]
    rows_per_file: Mapping[str, int]
    n_bad: int
    ground_truth: Path


def _insourcing_by_year(city: City, a: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Realised share of attendee-hours (attended/completed) taught by internal instructors."""
    hours = np.array([c[3] for c in COURSES])[a["course"]]
    internal = np.array([c[4] == "internal" for c in COURSES])[a["course"]]
    took = a["status"] > 0
    out: dict[str, float | None] = {}
    for y, fy in enumerate(city.fys):
        mask = took & (a["year"] == y)
        total = hours[mask].sum()
        out[str(fy)] = round(float(hours[mask & internal].sum() / total), 4) if total else None
    return out


def _planted_parameters(city: City) -> dict[str, Any]:
    fy0 = city.fys[0]
    waves: dict[str, list[str]] = {}
    for code, w in zip(city.dept_codes, city.dept_wave, strict=True):
        label = str(fy0 + int(w)) if w < len(city.fys) else "after_window"
        waves.setdefault(label, []).append(code)
    return {
        "rollout": {
            "departments_by_pilot_fy": waves,
            "rule": "staff attend from the first fiscal year they sit in a rolled-out "
            "department, and keep attending after transfers",
        },
        "treatment": {
            "definition": "first completed phase-2 course, month of session_date",
            "effect_starts": f"{EFFECT_LAG_MONTHS} month(s) after the month of that session "
            "(the completion month itself untreated), and lasts",
            "effect_lag_months": EFFECT_LAG_MONTHS,
            "factors": TREATMENT_FACTOR,
            "phase2_boost": "1 + (factor[talent type] − 1) × s_c, c = the first completed "
            "phase-2 course; later phase-2 courses add nothing",
            "phase2_share_by_course": PHASE2_SHARE,
            "phase3_multiplier": "× m_z from the month after the month of the first completed "
            "phase-3 course z (completed only after a phase-2 completion)",
            "phase3_multiplier_by_course": PHASE3_MULTIPLIER,
            "course_weight": COURSE_WEIGHT,
            "phase3_place_rate_by_programme_year": PHASE3_PLACE_RATE,
            "assignment": "timing and course depend only on the department roll-out wave, "
            "April transfers and chance; not on job level, talent type or base rate",
        },
        "base_rates": {
            "unit": "proposals submitted per employee-month on the staff list",
            "by_job_level": BASE_RATE_BY_LEVEL,
            "talent_type_multiplier": TYPE_RATE_MULTIPLIER,
            "individual_frailty": f"gamma(shape={FRAILTY_SHAPE}, mean 1)",
            "frailty_shape": FRAILTY_SHAPE,
            "year_multiplier": {
                str(fy): round(1 + YEAR_MULTIPLIER_STEP * y, 4) for y, fy in enumerate(city.fys)
            },
            "season_multiplier_by_month": {str((m + 3) % 12 + 1): s for m, s in enumerate(SEASON)},
            "formula": "rate = level_rate × type_multiplier × frailty × year × season "
            "× phase2_boost (months after the first phase-2 completion month) × m_z (months "
            "after the first phase-3 completion month)",
        },
        "other_trends": {
            "insourcing": "external courses replaced by internal (庁内講師) versions from the "
            "third fiscal year (データ分析実践 from the second); support model of projects "
            "moves outsourced → co_creation → in_house",
            "support_model_share_by_year_index": SUPPORT_MODEL_SHARE,
            "self_running_probability_by_support_model": SELF_RUNNING_RATE,
            "resident_satisfaction": {
                "base": 0.55,
                "department_sd": 0.05,
                "per_programme_year_of_department": SATISFACTION_PER_PROGRAMME_YEAR,
                "per_fiscal_year": SATISFACTION_PER_YEAR,
            },
            "maturity": MATURITY,
            "attendance_satisfaction": "mean 3.5 + 0.1 per fiscal year + 0.15 for internal "
            "instructors, rounded and clipped to 1–5",
            "staff_flows": {
                "transfer_rate": TRANSFER_RATE,
                "leave_rate_by_level": dict(zip(LEVELS, LEAVE_RATE, strict=True)),
                "leave_gamma": LEAVE_GAMMA,
                "leaving": "depends on the year's own proposals: see attrition",
                "job_level_and_talent_type": "fixed per employee",
            },
        },
    }


def _truth(
    seed: int, h: History, course_ids: list[str], sizes: dict[str, int], written: Written
) -> dict[str, Any]:
    city = h.city
    as_of = fy_end(city.fys[-1])
    staff_per_fy = {str(fy): int((city.dept[:, y] >= 0).sum()) for y, fy in enumerate(city.fys)}
    return {
        "generator": "dxkpi.sample.city.generate_city",
        "seed": seed,
        "staff": int((city.dept[:, 0] >= 0).sum()),
        "fiscal_years": list(city.fys),
        "as_of": str(as_of),
        "sizes": sizes,
        "rows_per_file": written.rows_per_file,
        "staff_per_fiscal_year": staff_per_fy,
        "employees_total": len(city.emp_ids),
        "departments": len(city.dept_codes),
        **_planted_parameters(city),
        "factors": TREATMENT_FACTOR,
        **programme_truth(h, course_ids),
        "proposal_pipeline": pipeline_truth(as_of),
        "proposal_noise": noise_truth(h),
        "attrition": attrition_truth(h),
        "conventions": conventions(),
        "insourcing_share_by_fy": _insourcing_by_year(city, h.attendance),
        "bad_rows": written.bad_rows,
        "notes": {
            "bad_rows": "each breaks exactly one rule; row = spreadsheet row (header = 1); "
            "duplicates: the first row with a key is accepted, the repeat is bad",
            "ground_truth": "not a data file: the ingester reads only .csv and .xlsx",
            "expected_att": "see conventions: means of rate with − rate without the programme "
            "over treated employees' months on the staff list after their cohort month; "
            "expected_att_gt[cohort][month] is the true ATT(g,t) on the employee × month "
            "panel, for comparing estimators that drop cells without a comparison group",
            "months": "YYYY-MM calendar months; event months count from the cohort month (0)",
        },
    }


@dataclass(frozen=True)
class _OwnStream:
    """Files drawn from a random stream of their own (skill map, follow-up survey)."""

    tables: dict[str, pl.DataFrame]
    written: Written
    truth: dict[str, Any]


def _skill_map(seed: int, out: Path, city: City, a: dict[str, np.ndarray]) -> _OwnStream:
    """Generate, plant bad rows in and write skill_assessment and knowledge_posts.

    Uses its own random stream (seed, SKILL_STREAM): the core datasets are not affected.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SKILL_STREAM])))
    treat = skill_treatment_year(city, a)
    draws = skill_draws(rng, city, treat)
    tables = {
        "skill_assessment": skill_assessment_table(city, draws),
        "knowledge_posts": knowledge_posts_table(rng, city),
    }
    truth = {
        "skill_effect": skill_truth(city, draws, treat),
        "knowledge_posts": posts_truth(city, tables["knowledge_posts"]),
    }
    tables = {k: v.with_columns(pl.lit(None, pl.String).alias("_bad")) for k, v in tables.items()}
    bad_skill_rows(rng, city, draws, tables)
    written = write_skill_files(rng, out, tables)
    return _OwnStream(tables, written, truth)


def _followup(
    seed: int, out: Path, city: City, a: dict[str, np.ndarray], course_ids: list[str]
) -> _OwnStream:
    """Generate and write the level-3 follow-up survey, with one planted bad row.

    Uses its own random stream (seed, FOLLOWUP_STREAM): every other file is unaffected.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, FOLLOWUP_STREAM])))
    table = followup_table(rng, city, a, course_ids)
    truth = {"followup": followup_truth(course_ids, table)}
    tables = {"followup_survey": plant_bad_row(rng, table)}
    written = write_parts(rng, out, tables, FOLLOWUP_FILES)
    return _OwnStream(tables, written, truth)


def _roster(seed: int, out: Path, city: City, tables: dict[str, pl.DataFrame]) -> _OwnStream:
    """Generate, plant bad rows in and write the assignments (effective-dated roster); its
    truth also counts ``tables``' proposals and attendance by the department of their day.

    Uses its own random stream (seed, ROSTER_STREAM), drawn after every other file is written.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, ROSTER_STREAM])))
    draws = roster_draws(rng, city)
    table = bad_assignments(city, draws, assignments_table(city, draws))
    written = write_parts(rng, out, {"assignments": table}, ROSTER_FILES)
    courses = tables["courses"].filter(pl.col("_bad").is_null())
    phases = dict(courses.select("course_id", "phase").iter_rows())
    truth = {
        "assignments": roster_truth(city, draws, tables["proposals"], tables["attendance"], phases)
    }
    return _OwnStream({"assignments": table}, written, truth)


def _course_costs(
    seed: int, out: Path, city: City, a: dict[str, np.ndarray], course_ids: list[str]
) -> _OwnStream:
    """Generate and write course_costs from its own random stream (seed, COST_STREAM)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, COST_STREAM])))
    tables = {"course_costs": course_costs_table(rng, city, a, course_ids)}
    written = write_parts(rng, out, tables, COST_FILES)
    return _OwnStream(tables, written, {"course_costs": cost_truth(tables["course_costs"])})


def _check_args(staff: int, fiscal_years: Sequence[int]) -> tuple[int, ...]:
    fys = tuple(sorted({int(y) for y in fiscal_years}))
    if staff < 100:
        raise ValueError("staff must be at least 100 / 職員数は100人以上にしてください")
    if not fys or fys != tuple(range(fys[0], fys[0] + len(fys))) or fys[0] < 2019:
        raise ValueError(
            "fiscal_years must be consecutive years from 2019 on "
            "/ 年度は2019年度以降の連続した年度にしてください"
        )
    return fys


def simulate_core(
    rng: np.random.Generator, fys: tuple[int, ...], staff: int, sessions_per_year: float
) -> tuple[History, dict[str, pl.DataFrame]]:
    """The draws every sample city starts with, in their order: departments, the simulated
    history, the staff list, the courses, attendance and proposals (raw text tables, before bad
    rows). :func:`generate_city` goes on from here with the same ``rng``; the course-verdict
    benchmark stops here."""
    departments, wave = draw_departments(rng, fys)
    h = simulate_history(
        rng, fys, departments["department_code"].to_list(), wave, staff, sessions_per_year
    )
    courses = courses_table()
    tables = {
        "departments": departments,
        "staff": staff_table(rng, h.city),
        "courses": courses,
        "attendance": attendance_table(h.city, h.attendance, courses["course_id"].to_list()),
        "proposals": proposals_table(rng, h.city, h.emp, h.month, h.count),
    }
    return h, tables


def generate_city(
    out: Path,
    *,
    seed: int = 7,
    staff: int = 2000,
    fiscal_years: tuple[int, ...] = (2022, 2023, 2024, 2025),
    sessions_per_year: float = SESSIONS_PER_YEAR,
) -> SampleSummary:
    """Write the sample city's raw files and ``ground_truth.json`` into ``out``.

    ``staff`` is the head count of the first fiscal year (leavers are replaced, +0.5 % a year);
    ``sessions_per_year`` the mean attendance rows per enrolled employee-year.

    Deterministic for a seed. Existing files of the same names are overwritten; other files in
    ``out`` are left alone (the command refuses a folder holding data unless forced).
    """
    out = Path(out)
    fys = _check_args(staff, fiscal_years)
    rng = np.random.Generator(np.random.PCG64(seed))
    h, tables = simulate_core(rng, fys, staff, sessions_per_year)
    city, a = h.city, h.attendance
    course_ids = tables["courses"]["course_id"].to_list()
    dept_size = np.bincount(city.dept[city.dept >= 0], minlength=len(city.dept_codes))
    tables |= {
        "projects": projects_table(rng, city, dept_size.astype(float)),
        "resident_survey": resident_survey_table(rng, city),
        "maturity_survey": maturity_survey_table(rng, city),
    }
    tables = {k: v.with_columns(pl.lit(None, pl.String).alias("_bad")) for k, v in tables.items()}
    tables["attendance"] = bad_attendance(rng, city, tables["attendance"], course_ids)
    tables["proposals"] = bad_proposals(rng, city, tables["proposals"])
    tables["projects"] = bad_projects(city, tables["projects"])
    bad_masters(rng, city, tables)
    bad_surveys(rng, tables)
    core = write_files(rng, out, tables, fys)
    skill = _skill_map(seed, out, city, a)  # own random stream: core files are unchanged
    followup = _followup(seed, out, city, a, course_ids)  # its own stream too
    costs = _course_costs(seed, out, city, a, course_ids)  # and the course costs
    roster = _roster(seed, out, city, tables)  # its own stream, after the rest
    streams = (skill, followup, costs, roster)
    for stream in streams:
        tables |= stream.tables
    parts = (core, *(stream.written for stream in streams))
    written = Written(
        tuple(sorted({f for p in parts for f in p.files})),
        {k: v for p in parts for k, v in p.rows_per_file.items()},
        [b for p in parts for b in p.bad_rows],
    )
    sizes = {k: v.height for k, v in tables.items()}
    truth = _truth(seed, h, course_ids, sizes, written)
    for stream in streams:
        truth |= stream.truth
    truth["attendance"] = {
        "sessions_per_enrolled_employee_year": sessions_per_year,
        "voluntary_phase1_rate_before_enrolment": VOLUNTARY_RATE,
        "status_share": STATUS_SHARE,
        "phase_order": "within a year sessions run phase 1 → 2 → 3 by date; first programme "
        "year mostly phases 1–2, later years mostly 2–3",
    }
    truth_path = out / "ground_truth.json"
    truth_path.write_text(json_text(truth, indent=2) + "\n", encoding="utf-8")
    return SampleSummary(
        out, written.files, sizes, written.rows_per_file, len(written.bad_rows), truth_path
    )
