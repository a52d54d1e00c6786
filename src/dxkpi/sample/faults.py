"""The planted bad rows: each added or overwritten row breaks exactly one contract rule.

The rule id goes in a ``_bad`` column, which :mod:`dxkpi.sample.forms` turns into the
``bad_rows`` list of the ground truth (file, sheet, spreadsheet row, rule).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_date
from dxkpi.sample.parameters import COURSES, SKILL_AREAS
from dxkpi.sample.people import City
from dxkpi.sample.skills import SkillDraws
from dxkpi.sample.values import day_number, iso_text, workdays

__all__ = [
    "bad_attendance",
    "bad_masters",
    "bad_projects",
    "bad_proposals",
    "bad_skill_rows",
    "bad_surveys",
]


def _pick(rng: np.random.Generator, values: np.ndarray) -> Any:
    return values[int(rng.integers(0, len(values)))]


def _append(frame: pl.DataFrame, row: Mapping[str, Any], rule: str) -> pl.DataFrame:
    """Append one row (missing columns empty), marked as a planted bad row breaking ``rule``."""
    values = {c: row.get(c) for c in frame.columns if c != "_bad"}
    values["_bad"] = rule
    extra = pl.DataFrame([values], schema=frame.schema)
    return pl.concat([frame, extra], how="vertical")


def _corrupt(
    frame: pl.DataFrame, index: int, changes: Mapping[str, str], rule: str
) -> pl.DataFrame:
    """Overwrite cells of one row (a typo), marking it as a planted bad row."""
    hit = pl.int_range(pl.len()) == index
    return frame.with_columns(
        *[
            pl.when(hit).then(pl.lit(v, pl.String)).otherwise(pl.col(c)).alias(c)
            for c, v in {**changes, "_bad": rule}.items()
        ]
    )


def _on_list(city: City, y: int) -> np.ndarray:
    return np.flatnonzero(city.dept[:, y] >= 0)


def _phase1_course(course_ids: list[str], y: int) -> str:
    offered = [i for i, c in enumerate(COURSES) if c[1] == 1 and c[5] <= y <= c[6]]
    return course_ids[offered[0]]


def bad_attendance(
    rng: np.random.Generator, city: City, frame: pl.DataFrame, course_ids: list[str]
) -> pl.DataFrame:
    """Eight attendance rows, each breaking one rule; none is a completed phase-2 session."""
    last = len(city.fys) - 1
    mid = max(0, last - 1)

    def extra(y: int, **changes: Any) -> dict[str, Any]:
        emp = _pick(rng, _on_list(city, y))
        day = int(_pick(rng, workdays(city.fys[y])))
        row = {
            "employee_id": str(city.emp_ids[emp]),
            "course_id": _phase1_course(course_ids, y),
            "session_date": iso_text(np.array([day]))[0],
            "status": "attended",
            "_fy": city.fys[y],
            "_day": day,
        }
        return {**row, **changes}

    leavers = np.flatnonzero((city.dept[:, last] < 0) & (city.dept[:, mid] >= 0))
    gone = str(city.emp_ids[_pick(rng, leavers)]) if len(leavers) and last else "9999999"
    wareki_y = 2 if len(city.fys) > 2 else 0
    feb = fy_date(city.fys[wareki_y], 2, 1).year
    era_year = feb - 2018
    pool = frame.filter(pl.col("_fy") == city.fys[last])
    dup = pool.row(int(rng.integers(0, pool.height)), named=True) if pool.height else None
    planted = [
        (extra(last, employee_id=gone), "attendance.employee_id.on_staff_list"),
        (
            extra(last, status="completed", pre_score="52", post_score="120"),
            "attendance.post_score.range",
        ),
        (extra(wareki_y, session_date=f"令和{era_year}年2月30日"), "attendance.session_date.parse"),
        (extra(mid, status="保留"), "attendance.status.accepted"),
        (extra(mid, course_id=None), "attendance.course_id.required"),
        (extra(last, status="completed", satisfaction="6"), "attendance.satisfaction.range"),
        (extra(0 if last < 1 else 1, course_id="C999"), "attendance.course_id.exists"),
    ]
    if dup is not None:  # a later row repeating the key of an accepted row
        planted.insert(1, ({**dup, "_bad": None}, "attendance.duplicate_key"))
    for row, rule in planted:
        frame = _append(frame, row, rule)
    return frame


def bad_proposals(rng: np.random.Generator, city: City, frame: pl.DataFrame) -> pl.DataFrame:
    """Five proposal rows, each breaking one rule."""
    last = len(city.fys) - 1
    y = max(0, last - 1)

    def extra(k: int, year: int, **changes: Any) -> dict[str, Any]:
        emp = _pick(rng, _on_list(city, year))
        day = int(_pick(rng, workdays(city.fys[year], (4, 15), (2, 20))))
        row = {
            "proposal_id": f"P{city.fys[year]}-9{k:04d}",
            "employee_id": str(city.emp_ids[emp]),
            "department_code": city.dept_codes[city.dept[emp, year]],
            "submitted_on": iso_text(np.array([day]))[0],
            "title": "窓口受付の電子化",
            "status": "adopted",
            "decided_on": iso_text(np.array([day + 30]))[0],
            "hours_saved_per_year": "40",
            "_fy": city.fys[year],
        }
        return {**row, **changes}

    leavers = np.flatnonzero((city.dept[:, last] < 0) & (city.dept[:, y] >= 0))
    gone = _pick(rng, leavers) if len(leavers) and last else None
    p1 = extra(1, y)
    before = day_number(datetime.date.fromisoformat(p1["submitted_on"])) - 9
    p1["decided_on"] = iso_text(np.array([before]))[0]
    p3 = extra(3, last, status="submitted", decided_on=None, hours_saved_per_year=None)
    if gone is not None:
        p3["employee_id"] = str(city.emp_ids[gone])
        p3["department_code"] = city.dept_codes[city.dept[gone, y]]
    else:
        p3["employee_id"] = "9999999"
    planted = [
        (p1, "proposals.decided_on.after_submitted"),
        (extra(2, y, status="保留", decided_on=None), "proposals.status.accepted"),
        (p3, "proposals.employee_id.on_staff_list"),
        (extra(4, y, status="implemented"), "proposals.implemented_on.required"),
        (extra(5, y, hours_saved_per_year="△5"), "proposals.hours_saved_per_year.range"),
    ]
    for row, rule in planted:
        frame = _append(frame, row, rule)
    return frame


def bad_projects(city: City, frame: pl.DataFrame) -> pl.DataFrame:
    """Three project rows, each breaking one rule."""
    fy = city.fys[max(0, len(city.fys) - 2)]
    base = {
        "project_name": "文書管理導入（追加登録）",
        "department_code": city.dept_codes[0],
        "started_on": f"{fy}-06-03",
        "ended_on": f"{fy}-12-20",
        "support_model": "co_creation",
        "status": "completed",
        "self_running": "true",
        "cost_yen": "2500000",
        "_fy": fy,
    }
    planted = [
        (
            {**base, "project_id": f"PJ{fy}-901", "ended_on": f"{fy}-05-20"},
            "projects.ended_on.after_started",
        ),
        (
            {**base, "project_id": f"PJ{fy}-902", "self_running": None},
            "projects.self_running.required",
        ),
        (
            {
                **base,
                "project_id": f"PJ{fy}-903",
                "department_code": "090100",
                "status": "active",
                "ended_on": None,
                "self_running": None,
            },
            "projects.department_code.exists",
        ),
    ]
    for row, rule in planted:
        frame = _append(frame, row, rule)
    return frame


def bad_masters(rng: np.random.Generator, city: City, tables: dict[str, pl.DataFrame]) -> None:
    """Departments, courses and staff: extra rows referenced by nothing, and a repeated row."""
    tables["departments"] = _append(
        tables["departments"],
        {"department_code": "090200", "department_name": None, "division": "危機管理部"},
        "departments.department_name.required",
    )
    tables["courses"] = _append(
        tables["courses"],
        {
            "course_id": "C900",
            "course_name": "AI倫理研修（準備中）",
            "phase": "2",
            "skill_area": "ai_rpa",
            "hours": "0",
            "instructor": "internal",
        },
        "courses.hours.range",
    )
    staff = tables["staff"]
    last = str(city.fys[-1])
    new_id = str(int(city.emp_ids.astype(np.int64).max()) + 7).zfill(7)
    staff = _append(
        staff,
        {
            "fiscal_year": last,
            "employee_id": new_id,
            "department_code": "080600",
            "job_level": "staff",
            "氏名": "山田　太郎",
            "内線番号": "4321",
        },
        "staff.department_code.exists",
    )
    repeat = staff.row(int(rng.integers(0, staff.height - 1)), named=True)
    tables["staff"] = _append(staff, {**repeat, "_bad": None}, "staff.duplicate_key")


def bad_surveys(rng: np.random.Generator, tables: dict[str, pl.DataFrame]) -> None:
    """Survey typos: satisfied > respondents, a score of 7, an unknown job level."""
    rs = tables["resident_survey"]
    i = int(rng.integers(0, rs.height))
    over = str(int(rs["respondents"][i]) + int(rng.integers(5, 40)))
    tables["resident_survey"] = _corrupt(
        rs, i, {"satisfied": over}, "resident_survey.satisfied.le_respondents"
    )
    ms = tables["maturity_survey"]
    i, j = rng.choice(ms.height, size=2, replace=False)
    ms = _corrupt(ms, int(i), {"score": "7"}, "maturity_survey.score.range")
    tables["maturity_survey"] = _corrupt(
        ms, int(j), {"job_level": "係長"}, "maturity_survey.job_level.accepted"
    )


def bad_skill_rows(
    rng: np.random.Generator, city: City, d: SkillDraws, tables: dict[str, pl.DataFrame]
) -> None:
    """Three skill-assessment and three knowledge-post rows, each breaking one rule."""
    last = len(city.fys) - 1
    fy = city.fys[last]
    silent = np.flatnonzero(~d.has_self & ~d.has_manager & (d.year == last))
    picks = rng.choice(silent, size=2, replace=False)
    leavers = np.flatnonzero((city.dept[:, last] < 0) & (city.dept[:, max(0, last - 1)] >= 0))
    gone = str(city.emp_ids[_pick(rng, leavers)]) if len(leavers) and last else "9999999"

    def assessment(i: int, **changes: str) -> dict[str, Any]:
        row = {
            "fiscal_year": str(fy),
            "employee_id": str(city.emp_ids[d.emp[i]]),
            "skill_area": SKILL_AREAS[d.area[i]],
            "assessor": "self",
            "level": "2",
            "_fy": fy,
        }
        return {**row, **changes}

    sa = tables["skill_assessment"]
    for row, rule in (
        (assessment(int(picks[0]), level="5"), "skill_assessment.level.range"),
        (assessment(int(picks[1]), assessor="同僚"), "skill_assessment.assessor.accepted"),
        (
            assessment(int(picks[0]), employee_id=gone, skill_area="data"),
            "skill_assessment.employee_id.on_staff_list",
        ),
    ):
        sa = _append(sa, row, rule)
    tables["skill_assessment"] = sa
    emp = _pick(rng, _on_list(city, last))
    day = int(_pick(rng, workdays(fy, (4, 15), (2, 20))))
    base = {
        "employee_id": str(city.emp_ids[emp]),
        "department_code": city.dept_codes[city.dept[emp, last]],
        "posted_on": iso_text(np.array([day]))[0],
        "kind": "howto",
        "title": "共有会の運営ノウハウ",
        "_fy": fy,
    }
    kp = tables["knowledge_posts"]
    feb_year = fy_date(fy, 2, 1).year
    for row, rule in (
        ({**base, "post_id": f"K{fy}-9001", "kind": "雑談"}, "knowledge_posts.kind.accepted"),
        (
            {**base, "post_id": f"K{fy}-9002", "department_code": "090100"},
            "knowledge_posts.department_code.exists",
        ),
        (
            {**base, "post_id": f"K{fy}-9003", "posted_on": f"令和{feb_year - 2018}年2月30日"},
            "knowledge_posts.posted_on.parse",
        ),
    ):
        kp = _append(kp, row, rule)
    tables["knowledge_posts"] = kp
