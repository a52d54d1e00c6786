"""A tiny hand-computable city for tests, docs and notebooks (KPI values are in the tests).

Departments D01, D02 (division A), D03, D04 (division B; D04 never has staff).
FY2024 staff: E1 D01 manager leader, E2 D01 staff practitioner, E3 D02 mid specialist,
E4 D03 staff unassigned. FY2025: E2 transfers to D03 in April; E5 joins D02.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from dxkpi.core.fiscal import fy_start
from dxkpi.ingest.processed import Processed

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "D",
    "attendance",
    "cell",
    "courses",
    "departments",
    "followup_survey",
    "knowledge_posts",
    "maturity_survey",
    "projects",
    "proposals",
    "resident_survey",
    "skill_assessment",
    "staff",
    "synthetic_city",
    "tiny_city",
]

D = dt.date


def departments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "department_code": ["D01", "D02", "D03", "D04"],
            "department_name": ["総務課", "情報課", "市民課", "空き課"],
            "division": ["A", "A", "B", "B"],
            "pilot_fy": [2024, None, None, None],
        },
        schema_overrides={"pilot_fy": pl.Int32},
    )


def staff() -> pl.DataFrame:
    rows = [
        (2024, "E1", "D01", "manager", "leader"),
        (2024, "E2", "D01", "staff", "practitioner"),
        (2024, "E3", "D02", "mid", "specialist"),
        (2024, "E4", "D03", "staff", "unassigned"),
        (2025, "E1", "D01", "manager", "leader"),
        (2025, "E2", "D03", "staff", "practitioner"),
        (2025, "E3", "D02", "mid", "specialist"),
        (2025, "E4", "D03", "staff", "unassigned"),
        (2025, "E5", "D02", "staff", "unassigned"),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "fiscal_year": pl.Int32,
            "employee_id": pl.String,
            "department_code": pl.String,
            "job_level": pl.String,
            "talent_type": pl.String,
        },
        orient="row",
    )


def courses() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "course_id": ["C1", "C2", "C3"],
            "course_name": ["意識改革", "データ活用", "実践"],
            "phase": [1, 2, 3],
            "skill_area": ["process", "data", "process"],
            "hours": [2.0, 3.0, 4.0],
            "instructor": ["internal", "external", "internal"],
        },
        schema_overrides={"phase": pl.Int8},
    )


def attendance() -> pl.DataFrame:
    rows = [
        ("E1", "C1", D(2024, 5, 10), "completed"),
        ("E2", "C1", D(2024, 6, 1), "attended"),
        ("E3", "C1", D(2024, 7, 1), "absent"),
        ("E1", "C2", D(2025, 5, 1), "completed"),
        ("E2", "C2", D(2025, 4, 15), "completed"),
        ("E5", "C1", D(2026, 3, 31), "attended"),
        ("E4", "C3", D(2026, 4, 1), "completed"),
    ]
    df = pl.DataFrame(
        rows,
        schema={
            "employee_id": pl.String,
            "course_id": pl.String,
            "session_date": pl.Date,
            "status": pl.String,
        },
        orient="row",
    )
    return df.with_columns(
        pre_score=pl.lit(None, pl.Float64),
        post_score=pl.lit(None, pl.Float64),
        satisfaction=pl.lit(None, pl.Int8),
    )


def proposals() -> pl.DataFrame:
    rows = [
        ("P1", "E1", "D01", D(2024, 8, 1), "adopted", D(2024, 9, 1), None, None),
        ("P2", "E2", "D03", D(2025, 5, 1), "implemented", D(2025, 6, 1), D(2025, 7, 1), 100.0),
        ("P3", "E2", "D03", D(2025, 6, 1), "rejected", D(2025, 7, 1), None, None),
        ("P4", "E3", "D02", D(2025, 4, 1), "submitted", None, None, None),
        ("P5", "E1", "D01", D(2026, 3, 31), "adopted", D(2026, 3, 31), None, 5.0),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "proposal_id": pl.String,
            "employee_id": pl.String,
            "department_code": pl.String,
            "submitted_on": pl.Date,
            "status": pl.String,
            "decided_on": pl.Date,
            "implemented_on": pl.Date,
            "hours_saved_per_year": pl.Float64,
        },
        orient="row",
    ).with_columns(title=pl.lit("改善"), category=pl.lit(None, pl.String))


def projects() -> pl.DataFrame:
    rows = [
        ("J1", "D01", D(2025, 4, 1), D(2025, 6, 30), "completed", True, 50.0),
        ("J2", "D03", D(2025, 4, 1), D(2025, 12, 1), "completed", False, None),
        ("J3", "D02", D(2025, 4, 1), None, "active", None, 30.0),
        ("J4", "D01", D(2024, 4, 1), D(2025, 3, 31), "completed", True, 10.0),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "project_id": pl.String,
            "department_code": pl.String,
            "started_on": pl.Date,
            "ended_on": pl.Date,
            "status": pl.String,
            "self_running": pl.Boolean,
            "hours_saved_per_year": pl.Float64,
        },
        orient="row",
    ).with_columns(
        project_name=pl.lit("案件"),
        lead_employee_id=pl.lit(None, pl.String),
        support_model=pl.lit("co_creation"),
        cost_yen=pl.lit(None, pl.Float64),
    )


def resident_survey() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "fiscal_year": [2025, 2025],
            "department_code": ["D01", "D03"],
            "respondents": [100, 50],
            "satisfied": [80, 20],
        },
        schema_overrides={"fiscal_year": pl.Int32},
    )


def maturity_survey() -> pl.DataFrame:
    rows = [
        (2025, "R1", "D01", "manager", "literacy", 4),
        (2025, "R2", "D01", "staff", "literacy", 2),
        (2025, "R3", "D01", "staff", "literacy", 3),
        (2025, "R4", "D03", "mid", "literacy", 1),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "fiscal_year": pl.Int32,
            "respondent_id": pl.String,
            "department_code": pl.String,
            "job_level": pl.String,
            "dimension": pl.String,
            "score": pl.Int8,
        },
        orient="row",
    )


def skill_assessment() -> pl.DataFrame:
    """FY2025 data: E1 self 3 / manager 2, E2 self 2, E3 self 2 / manager 1, E4 manager 0;
    process: E1 self 3; E9 is not on the staff list. FY2024 data: E1 self 1 / manager 1."""
    rows = [
        (2025, "E1", "data", "self", 3),
        (2025, "E1", "data", "manager", 2),
        (2025, "E2", "data", "self", 2),
        (2025, "E3", "data", "self", 2),
        (2025, "E3", "data", "manager", 1),
        (2025, "E4", "data", "manager", 0),
        (2025, "E1", "process", "self", 3),
        (2025, "E9", "data", "self", 4),
        (2024, "E1", "data", "self", 1),
        (2024, "E1", "data", "manager", 1),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "fiscal_year": pl.Int32,
            "employee_id": pl.String,
            "skill_area": pl.String,
            "assessor": pl.String,
            "level": pl.Int64,
        },
        orient="row",
    )


def knowledge_posts() -> pl.DataFrame:
    """FY2024: E1 success. FY2025: E2 failure + howto (in D03 after the transfer), E3 failure;
    E9 (not on the staff list) success. FY2026: E4 failure."""
    rows = [
        ("K1", "E1", "D01", D(2024, 6, 1), "success"),
        ("K2", "E2", "D03", D(2025, 5, 1), "failure"),
        ("K3", "E2", "D03", D(2025, 7, 1), "howto"),
        ("K4", "E3", "D02", D(2025, 9, 1), "failure"),
        ("K5", "E9", "D02", D(2025, 10, 1), "success"),
        ("K6", "E4", "D03", D(2026, 4, 2), "failure"),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "post_id": pl.String,
            "employee_id": pl.String,
            "department_code": pl.String,
            "posted_on": pl.Date,
            "kind": pl.String,
        },
        orient="row",
    ).with_columns(title=pl.lit("事例"))


def followup_survey() -> pl.DataFrame:
    """E1·C1 (completed May 2024): 30 days, applied 4, support 2 (FY2024). E1·C2 (completed May
    2025): 30 days applied 5 / support 4, 60 days applied 2 / support 4. E2·C2 (completed April
    2025, in D03 after the transfer): 30 days, applied 4, support 5. FY2025's latest answers:
    E1·C2 60 days (applied 2) and E2·C2 (applied 4): application 1 of 2, manager support 2 of 2."""
    rows = [
        ("E1", "C1", 30, D(2024, 6, 12), 4, 2, "none"),
        ("E1", "C2", 30, D(2025, 6, 2), 5, 4, "none"),
        ("E1", "C2", 60, D(2025, 7, 1), 2, 4, "no_time"),
        ("E2", "C2", 30, D(2025, 5, 16), 4, 5, None),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "employee_id": pl.String,
            "course_id": pl.String,
            "days_after": pl.Int8,
            "responded_on": pl.Date,
            "applied": pl.Int8,
            "manager_support": pl.Int8,
            "barrier": pl.String,
        },
        orient="row",
    )


def tiny_city(**overrides: pl.DataFrame | None) -> Processed:
    """The tiny city as :class:`Processed`; keyword arguments replace datasets."""
    frames: dict[str, pl.DataFrame | None] = {
        "departments": departments(),
        "staff": staff(),
        "courses": courses(),
        "attendance": attendance(),
        "proposals": proposals(),
        "projects": projects(),
        "resident_survey": resident_survey(),
        "maturity_survey": maturity_survey(),
        "skill_assessment": skill_assessment(),
        "knowledge_posts": knowledge_posts(),
        "followup_survey": followup_survey(),
    }
    frames.update(overrides)
    return Processed.from_frames(source="<memory>", **frames)


def cell(frame: pl.DataFrame, group_by: str, group: str, fiscal_year: int = 2025) -> dict:
    """The single row of ``frame`` for one cell, as a dict."""
    rows = frame.filter(
        (pl.col("fiscal_year") == fiscal_year)
        & (pl.col("group_by") == group_by)
        & (pl.col("group") == group)
    ).to_dicts()
    assert len(rows) == 1, (group_by, group, fiscal_year, rows)
    return rows[0]


def synthetic_city(
    staff: int = 600,
    fiscal_years: tuple[int, ...] = (2022, 2023, 2024, 2025),
    seed: int = 0,
    departments: int | None = None,
    sessions_per_person: float = 4.0,
) -> Processed:
    """A random city of about ``staff`` employees per FY (numpy, vectorised; for tests/benchmarks).

    Department sizes are skewed (some departments have fewer than 10 staff), about 8% of staff
    leave and 15% change department every April, and every dataset is present but the
    effective-dated roster and the course costs (``assignments``, ``course_costs``).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_dept = departments or max(4, staff // 40)
    n_div = max(2, n_dept // 8)
    dept_codes = np.array([f"D{i:03d}" for i in range(n_dept)])
    weights = rng.lognormal(0.0, 1.0, n_dept)
    weights /= weights.sum()
    depts = pl.DataFrame(
        {
            "department_code": dept_codes,
            "department_name": [f"課{i}" for i in range(n_dept)],
            "division": [f"V{i % n_div:02d}" for i in range(n_dept)],
            "pilot_fy": pl.Series([None] * n_dept, dtype=pl.Int32),
        }
    )
    levels = np.array(["manager", "mid", "staff"])
    talents = np.array(["leader", "specialist", "practitioner", "unassigned"])
    ids = np.arange(staff)
    dept = rng.choice(n_dept, staff, p=weights)
    level = rng.choice(3, staff, p=[0.15, 0.35, 0.5])
    talent = rng.choice(4, staff, p=[0.05, 0.1, 0.35, 0.5])
    next_id = staff
    staff_parts = []
    for fy in fiscal_years:
        staff_parts.append(
            pl.DataFrame(
                {
                    "fiscal_year": pl.Series([fy] * len(ids), dtype=pl.Int32),
                    "employee_id": [f"E{i:07d}" for i in ids],
                    "department_code": dept_codes[dept],
                    "job_level": levels[level],
                    "talent_type": talents[talent],
                }
            )
        )
        leave = rng.random(len(ids)) < 0.08
        move = rng.random(len(ids)) < 0.15
        dept = np.where(move, rng.choice(n_dept, len(ids), p=weights), dept)
        keep = ~leave
        n_new = int(leave.sum())
        ids = np.concatenate([ids[keep], np.arange(next_id, next_id + n_new)])
        next_id += n_new
        dept = np.concatenate([dept[keep], rng.choice(n_dept, n_new, p=weights)])
        level = np.concatenate([level[keep], np.full(n_new, 2)])
        talent = np.concatenate([talent[keep], rng.choice(4, n_new, p=[0.05, 0.1, 0.35, 0.5])])
    staff_df = pl.concat(staff_parts)
    n_courses = 30
    courses_df = pl.DataFrame(
        {
            "course_id": [f"C{i:03d}" for i in range(n_courses)],
            "course_name": [f"研修{i}" for i in range(n_courses)],
            "phase": pl.Series(rng.integers(1, 4, n_courses), dtype=pl.Int8),
            "skill_area": rng.choice(["data", "ai_rpa", "process", "security"], n_courses),
            "hours": rng.choice([1.5, 3.0, 6.0, 7.5], n_courses),
            "instructor": rng.choice(["internal", "external"], n_courses),
        }
    )
    py = staff_df.select("fiscal_year", "employee_id", "department_code", "job_level")
    n_py = py.height
    k = rng.poisson(sessions_per_person, n_py)
    rows = np.repeat(np.arange(n_py), k)
    fy_col = py.get_column("fiscal_year").to_numpy()[rows]
    emp = py.get_column("employee_id").to_numpy()[rows]
    day = rng.integers(0, 365, len(rows))
    years = np.array(fiscal_years)
    start = np.array([np.datetime64(fy_start(y)) for y in fiscal_years], dtype="datetime64[D]")
    dates = start[np.searchsorted(years, fy_col)] + day.astype("timedelta64[D]")
    att = pl.DataFrame(
        {
            "employee_id": emp,
            "course_id": courses_df.get_column("course_id").to_numpy()[
                rng.integers(0, n_courses, len(rows))
            ],
            "session_date": dates,
            "status": rng.choice(["completed", "attended", "absent"], len(rows), p=[0.6, 0.3, 0.1]),
        }
    ).with_columns(
        pl.col("session_date").cast(pl.Date),
        pre_score=pl.lit(None, pl.Float64),
        post_score=pl.lit(None, pl.Float64),
        satisfaction=pl.lit(None, pl.Int8),
    )
    n_prop = int(n_py * 0.3)
    pick = rng.integers(0, n_py, n_prop)
    p_fy = py.get_column("fiscal_year").to_numpy()[pick]
    p_start = start[np.searchsorted(years, p_fy)]
    submitted = p_start + rng.integers(0, 300, n_prop).astype("timedelta64[D]")
    status = rng.choice(["submitted", "adopted", "implemented", "rejected"], n_prop)
    decided = submitted + 20
    implemented = decided + 30
    props = pl.DataFrame(
        {
            "proposal_id": [f"P{i:07d}" for i in range(n_prop)],
            "employee_id": py.get_column("employee_id").to_numpy()[pick],
            "department_code": py.get_column("department_code").to_numpy()[pick],
            "submitted_on": submitted,
            "status": status,
            "decided_on": decided,
            "implemented_on": implemented,
            "hours_saved_per_year": rng.choice([0.0, 10.0, 50.0, 120.0], n_prop),
        }
    ).with_columns(
        pl.col("submitted_on").cast(pl.Date),
        pl.when(pl.col("status") != "submitted").then(pl.col("decided_on")).cast(pl.Date),
        pl.when(pl.col("status") == "implemented").then(pl.col("implemented_on")).cast(pl.Date),
        title=pl.lit("改善提案"),
        category=pl.lit(None, pl.String),
    )
    n_proj = max(10, staff // 15)
    j_start = np.datetime64(fy_start(fiscal_years[0])) + rng.integers(
        0, 365 * len(fiscal_years), n_proj
    ).astype("timedelta64[D]")
    j_status = rng.choice(["active", "completed", "cancelled"], n_proj, p=[0.3, 0.6, 0.1])
    projects_df = pl.DataFrame(
        {
            "project_id": [f"J{i:05d}" for i in range(n_proj)],
            "project_name": [f"案件{i}" for i in range(n_proj)],
            "department_code": dept_codes[rng.integers(0, n_dept, n_proj)],
            "lead_employee_id": pl.Series([None] * n_proj, dtype=pl.String),
            "started_on": j_start,
            "ended_on": j_start + rng.integers(30, 400, n_proj).astype("timedelta64[D]"),
            "support_model": rng.choice(["outsourced", "co_creation", "in_house"], n_proj),
            "status": j_status,
            "self_running": rng.random(n_proj) < 0.5,
            "hours_saved_per_year": rng.choice([0.0, 100.0, 500.0], n_proj),
            "cost_yen": rng.choice([0.0, 1e6], n_proj),
        }
    ).with_columns(
        pl.col("started_on").cast(pl.Date),
        pl.when(pl.col("status") != "active").then(pl.col("ended_on")).cast(pl.Date),
        pl.when(pl.col("status") == "completed").then(pl.col("self_running")),
    )
    survey_rows = [(fy, d) for fy in fiscal_years for d in dept_codes]
    resp = rng.integers(5, 200, len(survey_rows))
    resident = pl.DataFrame(
        {
            "fiscal_year": pl.Series([r[0] for r in survey_rows], dtype=pl.Int32),
            "department_code": [r[1] for r in survey_rows],
            "respondents": resp,
            "satisfied": rng.binomial(resp, 0.6),
        }
    )
    sample = py.sample(fraction=0.3, seed=seed)
    dims = ["literacy", "data", "leadership", "development", "culture"]
    maturity = (
        sample.with_columns(
            respondent_id=pl.concat_str(pl.col("employee_id"), pl.col("fiscal_year")),
            dimension=pl.lit(dims),
        )
        .explode("dimension")
        .with_columns(score=pl.Series(rng.integers(0, 6, sample.height * len(dims)), dtype=pl.Int8))
        .select(
            "fiscal_year", "respondent_id", "department_code", "job_level", "dimension", "score"
        )
    )
    skill, posts = _synthetic_skill_map(py, start, years, seed)
    return Processed.from_frames(
        departments=depts,
        staff=staff_df,
        courses=courses_df,
        attendance=att,
        proposals=props,
        projects=projects_df,
        resident_survey=resident,
        maturity_survey=maturity,
        skill_assessment=skill,
        knowledge_posts=posts,
        followup_survey=_synthetic_followup(att, seed),
    )


def _synthetic_followup(att: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Follow-up answers to 60 % of completed sessions, 30 days later (a 60-day wave for half of
    them), applied and manager support uniform on 1–5. Drawn from their own stream."""
    import numpy as np

    rng = np.random.default_rng([seed, 17])
    done = att.filter(pl.col("status") == "completed").unique(
        ["employee_id", "course_id"], keep="first", maintain_order=True
    )
    parts = []
    for wave, share in ((30, 0.6), (60, 0.3)):
        keep = rng.random(done.height) < share
        n = int(keep.sum())
        parts.append(
            done.filter(pl.Series(keep)).select(
                "employee_id",
                "course_id",
                pl.lit(wave, pl.Int8).alias("days_after"),
                (pl.col("session_date") + pl.duration(days=wave)).alias("responded_on"),
                pl.Series("applied", rng.integers(1, 6, n), dtype=pl.Int8),
                pl.Series("manager_support", rng.integers(1, 6, n), dtype=pl.Int8),
                pl.lit(None, pl.String).alias("barrier"),
            )
        )
    return pl.concat(parts)


def _synthetic_skill_map(
    py: pl.DataFrame, start: np.ndarray, years: np.ndarray, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Random skill assessments (self 80 %, manager 60 %) and knowledge posts (0.3 a year).

    Drawn from their own stream, so the other synthetic datasets do not change with them.
    """
    import numpy as np

    rng = np.random.default_rng([seed, 8])
    areas = np.array(["data", "ai_rpa", "process", "security", "facilitation"])
    rows = np.repeat(np.arange(py.height), len(areas))
    area = np.tile(areas, py.height)
    parts = []
    for assessor, share in (("self", 0.8), ("manager", 0.6)):
        keep = rng.random(len(rows)) < share
        parts.append(
            pl.DataFrame(
                {
                    "fiscal_year": py.get_column("fiscal_year").to_numpy()[rows[keep]],
                    "employee_id": py.get_column("employee_id").to_numpy()[rows[keep]],
                    "skill_area": area[keep],
                    "assessor": assessor,
                    "level": rng.integers(0, 5, int(keep.sum())),
                }
            )
        )
    skill = pl.concat(parts).with_columns(pl.col("fiscal_year").cast(pl.Int32))
    k = rng.poisson(0.3, py.height)
    pick = np.repeat(np.arange(py.height), k)
    fy = py.get_column("fiscal_year").to_numpy()[pick]
    posted = start[np.searchsorted(years, fy)] + rng.integers(0, 365, len(pick)).astype(
        "timedelta64[D]"
    )
    posts = pl.DataFrame(
        {
            "post_id": [f"K{i:07d}" for i in range(len(pick))],
            "employee_id": py.get_column("employee_id").to_numpy()[pick],
            "department_code": py.get_column("department_code").to_numpy()[pick],
            "posted_on": posted,
            "kind": rng.choice(["success", "failure", "howto"], len(pick), p=[0.5, 0.2, 0.3]),
        }
    ).with_columns(pl.col("posted_on").cast(pl.Date), title=pl.lit("事例"))
    return skill, posts
