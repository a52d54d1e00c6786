"""The level-3 follow-up KPIs: application rate and manager-support rate (issue 17 item 3).

A hand-computed fixture fixes the rule (each employee's latest wave per course answered in the
fiscal year; 4–5 agree; the respondent's group of that year; a course grouping by the course
answered about), and the sample city's planted per-course application rates check the numbers
on 40,000 answers within their sampling interval.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from dxkpi.ingest.processed import Processed, load_processed
from dxkpi.kpi import measures
from dxkpi.kpi.engine import compute
from dxkpi.project.config import Config, PrivacyConfig

D = dt.date


def _city() -> Processed:
    departments = pl.DataFrame(
        {
            "department_code": ["D1", "D2"],
            "department_name": ["総務課", "市民課"],
            "division": ["総務部", "総務部"],
            "pilot_fy": [None, None],
        },
        schema_overrides={"pilot_fy": pl.Int32},
    )
    staff = pl.DataFrame(
        {
            "fiscal_year": [2025, 2025, 2025, 2024],
            "employee_id": ["e1", "e2", "e3", "e3"],
            "department_code": ["D1", "D1", "D2", "D1"],
            "job_level": ["staff", "mid", "staff", "staff"],
            "talent_type": [None, None, None, None],
        },
        schema_overrides={"fiscal_year": pl.Int32, "talent_type": pl.String},
    )
    courses = pl.DataFrame(
        {
            "course_id": ["C1", "C2", "C3"],
            "course_name": ["DX基礎", "データ活用", "RPA"],
            "phase": [1, 2, 2],
            "skill_area": ["process", "data", "ai_rpa"],
            "hours": [3.0, 6.0, 6.0],
            "instructor": ["external", "internal", "internal"],
        },
        schema_overrides={"phase": pl.Int8},
    )
    followup = pl.DataFrame(
        {
            "employee_id": ["e1", "e1", "e1", "e2", "e3", "e3", "e3"],
            "course_id": ["C1", "C1", "C1", "C1", "C2", "C2", "C1"],
            "days_after": [30, 60, 90, 30, 30, 60, 90],
            "responded_on": [
                D(2025, 6, 1),
                D(2025, 7, 1),
                D(2025, 8, 1),
                D(2025, 6, 2),
                D(2025, 3, 20),  # FY2024: the employee was in D1 that year
                D(2025, 4, 20),
                D(2025, 9, 1),
            ],
            "applied": [2, 3, 5, 4, 5, 3, 1],
            "manager_support": [5, 5, 2, 4, 1, 4, 4],
            "barrier": [None, "no_time", "none", "none", "none", "no_tools", "not_relevant"],
        },
        schema_overrides={"days_after": pl.Int8, "applied": pl.Int8, "manager_support": pl.Int8},
    )
    return Processed.from_frames(
        departments=departments, staff=staff, courses=courses, followup_survey=followup
    )


def _cells(frame: pl.LazyFrame) -> dict[tuple[int, str, str], tuple[float, float, int]]:
    return {
        (r["fiscal_year"], r["group_by"], r["group"]): (
            r["numerator"],
            r["denominator"],
            r["n_people"],
        )
        for r in frame.collect().iter_rows(named=True)
    }


def test_application_rate_hand_computed() -> None:
    """FY2025 answers, latest wave per employee and course: e1·C1 → 90 days, applied 5 (agree);
    e2·C1 → 30 days, 4 (agree); e3·C2 → 60 days (its 30-day wave was in FY2024), 3; e3·C1 → 90
    days, 1. So 2 of 4 answers agree, by 3 people. FY2024: e3·C2 30 days, 5 → 1 of 1, in D1."""
    cells = _cells(
        measures.application_rate(
            _city(), [2024, 2025], ["city", "course", "department", "job_level"]
        )
    )
    assert cells[(2025, "city", "city")] == (2.0, 4.0, 3)
    assert cells[(2025, "course", "C1")] == (2.0, 3.0, 3)
    assert cells[(2025, "course", "C2")] == (0.0, 1.0, 1)
    assert cells[(2025, "course", "C3")] == (0.0, 0.0, 0)  # every course is shown
    assert cells[(2025, "department", "D1")] == (2.0, 2.0, 2)
    assert cells[(2025, "department", "D2")] == (0.0, 2.0, 1)
    assert cells[(2025, "job_level", "mid")] == (1.0, 1.0, 1)
    assert cells[(2024, "city", "city")] == (1.0, 1.0, 1)
    assert cells[(2024, "department", "D1")] == (1.0, 1.0, 1)
    out = measures.application_rate(_city(), [2025], ["city", "course"]).collect()
    city = out.filter(pl.col("group_by") == "city").row(0, named=True)
    assert city["value"] == pytest.approx(0.5)
    # Wilson 95% interval of 2 of 4 (z = 1.959964): 0.1500…0.8500
    assert (city["ci_low"], city["ci_high"]) == (
        pytest.approx(0.15003, abs=1e-4),
        pytest.approx(0.84997, abs=1e-4),
    )
    empty = out.filter(pl.col("group") == "C3").row(0, named=True)
    assert empty["value"] is None and empty["reason"] == "no_answers"


def test_manager_support_rate_hand_computed() -> None:
    """Same latest answers: manager support 2 (e1·C1), 4 (e2·C1), 4 (e3·C2), 4 (e3·C1)."""
    cells = _cells(measures.manager_support_rate(_city(), [2025], ["city", "course"]))
    assert cells[(2025, "city", "city")] == (3.0, 4.0, 3)
    assert cells[(2025, "course", "C1")] == (2.0, 3.0, 3)
    assert cells[(2025, "course", "C2")] == (1.0, 1.0, 1)


def test_course_cells_are_suppressed_below_k() -> None:
    """k = 5: the city (3 respondents), C1 (3) and C2 (1) describe fewer than k people and are
    hidden; C3 has nobody behind it and stays shown (0 of 0)."""
    rich = compute(
        _city(),
        Config(privacy=PrivacyConfig(min_cell_size=5)),
        kpis=["application_rate"],
        fiscal_years=[2025],
        by=["city", "course"],
    )
    shown = {r["group"]: r["suppressed"] for r in rich.iter_rows(named=True)}
    assert shown == {"city": True, "C1": True, "C2": True, "C3": False}
    hidden = rich.filter(pl.col("suppressed"))
    assert hidden["numerator"].null_count() == hidden["value"].null_count() == 3


# ------------------------------------------------------------------------- sample city truth
Z999 = 3.290527  # two-sided 99.9%: 25 courses × 3 years are checked at once


def _wilson(successes: float, n: float, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.slow
def test_application_rate_recovers_the_planted_rate_per_course(sample_city) -> None:
    truth = sample_city.truth["followup"]
    planted = truth["application_rate_by_course"]
    data = load_processed(sample_city.processed)
    rich = compute(
        data, Config(), kpis=["application_rate", "manager_support_rate"], by=["city", "course"]
    )
    manifest = sample_city.manifest["datasets"]["followup_survey"]
    assert (manifest["rows_in"], manifest["accepted"]) == (truth["answers"] + 1, truth["answers"])
    assert manifest["rules"] == {"followup_survey.applied.accepted": 1}  # the planted bad row
    courses = rich.filter(
        pl.col("kpi") == "application_rate",
        pl.col("group_by") == "course",
        ~pl.col("suppressed"),
        pl.col("denominator") >= 30,
    )
    assert courses.height >= 40  # most courses in FY2023–FY2025
    for r in courses.iter_rows(named=True):
        low, high = _wilson(r["numerator"], r["denominator"], Z999)
        assert low <= planted[r["group"]] <= high, r
        # the product's own 95% interval is the same formula at z = 1.96
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(
            _wilson(r["numerator"], r["denominator"], 1.959964)
        )
    # FY2022 (before the survey started) has no answers at all
    first = rich.filter(pl.col("fiscal_year") == 2022, pl.col("group_by") == "city")
    assert first["denominator"].to_list() == [0.0, 0.0]
    support = rich.filter(
        pl.col("kpi") == "manager_support_rate", pl.col("group_by") == "city"
    ).filter(pl.col("denominator") > 0)
    for r in support.iter_rows(named=True):
        low, high = _wilson(r["numerator"], r["denominator"], Z999)
        assert low <= truth["manager_support_rate"] <= high, r


def test_course_cells_carry_the_course_name() -> None:
    rich = compute(
        _city(),
        Config(privacy=PrivacyConfig(min_cell_size=1)),
        kpis=["application_rate"],
        fiscal_years=[2025],
        by=["course", "department"],
    )
    names = {(r["group_by"], r["group"]): r["group_name"] for r in rich.iter_rows(named=True)}
    assert names[("course", "C2")] == "データ活用"
    assert names[("department", "D2")] == "市民課"
    c1 = rich.filter(pl.col("group") == "C1").row(0, named=True)
    assert (c1["numerator"], c1["denominator"], c1["suppressed"]) == (2.0, 3.0, False)
