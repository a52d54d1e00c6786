"""The 行政評価 sheet (pdca.evaluation, reports.evaluation) and per-course decisions of the
review log: a hand-computed tiny city, the direction rule's branches, and the sample city's
costs against totals computed here from the raw cost file."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from dxkpi import pdca
from dxkpi.ingest.processed import Processed
from dxkpi.models.courses import EFFECT_COLUMNS, CourseEffects
from dxkpi.pdca.errors import PdcaError
from dxkpi.pdca.evaluation import propose_direction
from dxkpi.reports import evaluation

HOURLY = 4000.0
D = dt.date


def _effects(by: str, rows: list[dict[str, Any]]) -> CourseEffects:
    table = pl.DataFrame(
        [{c: r.get(c) for c in EFFECT_COLUMNS} for r in rows], schema=EFFECT_COLUMNS
    )
    return CourseEffects(by, table, 0.001, 0.05, len(rows), 30, 10)


def _city() -> Processed:
    """Courses A (phase 2, 3 h, external), B (phase 2, 6 h, internal), C (phase 1, 2 h)."""
    staff = pl.DataFrame(
        {
            "fiscal_year": [2025] * 5,
            "employee_id": ["e1", "e2", "e3", "e4", "e5"],
            "department_code": ["D1"] * 5,
            "job_level": ["staff"] * 5,
            "talent_type": ["unassigned"] * 5,
        },
        schema_overrides={"fiscal_year": pl.Int32},
    )
    courses = pl.DataFrame(
        {
            "course_id": ["A", "B", "C"],
            "course_name": ["データ活用", "RPA（庁内講師）", "DX入門"],
            "phase": [2, 2, 1],
            "skill_area": ["data", "ai_rpa", "process"],
            "hours": [3.0, 6.0, 2.0],
            "instructor": ["external", "internal", "internal"],
        },
        schema_overrides={"phase": pl.Int8},
    )
    rows = [
        ("e1", "A", D(2024, 10, 1), "attended"),  # FY2024: 3 h of participants' time
        ("e1", "A", D(2025, 5, 10), "completed"),
        ("e2", "A", D(2025, 5, 10), "completed"),
        ("e3", "A", D(2025, 5, 10), "attended"),
        ("e4", "A", D(2025, 5, 10), "absent"),  # costs no time
        ("e1", "B", D(2025, 6, 1), "completed"),  # e1's first phase-2 course was A
        ("e2", "B", D(2025, 6, 1), "attended"),
        ("e5", "C", D(2025, 7, 1), "attended"),  # one attendee: hidden at k = 2
    ]
    attendance = pl.DataFrame(
        rows, schema=["employee_id", "course_id", "session_date", "status"], orient="row"
    )
    costs = pl.DataFrame(
        {
            "course_id": ["A", "A", "B", "C"],
            "fiscal_year": [2024, 2025, 2025, 2025],
            "external_fee_yen": [50_000.0, 100_000.0, 0.0, 30_000.0],
            "venue_yen": [0.0, 20_000.0, 0.0, 0.0],
            "instructor_hours": [0.0, 0.0, 10.0, 0.0],
        },
        schema_overrides={"fiscal_year": pl.Int32},
    )
    departments = pl.DataFrame(
        {"department_code": ["D1"], "department_name": ["市民課"], "division": ["市民部"]}
    )
    return Processed.from_frames(
        departments=departments,
        staff=staff,
        courses=courses,
        attendance=attendance,
        course_costs=costs,
    )


def _sheets(previous: pdca.ReviewLog | None = None) -> pl.DataFrame:
    courses = _effects(
        "course",
        [
            {
                "course_id": "A",
                "phase": 2,
                "effect": 0.01,
                "ci_low": 0.004,
                "ci_high": 0.016,
                "verdict": "effect",
            },
            {
                "course_id": "B",
                "phase": 2,
                "effect": 0.002,
                "ci_low": -0.001,
                "ci_high": 0.005,
                "verdict": "inconclusive",
            },
            {"course_id": "C", "phase": 1, "reason": "too_few_completers"},
        ],
    )
    phases = _effects(
        "phase",
        [
            {"phase": 1, "reason": "too_few_completers"},
            {"phase": 2, "effect": 0.005, "verdict": "effect"},
            {"phase": 3, "reason": "too_few_completers"},
        ],
    )
    roi = pdca.roi_assumptions({"hourly_cost_yen": HOURLY})
    return pdca.evaluation_sheets(_city(), 2025, courses, phases, roi, 2, previous=previous)


def _sheet_text(row: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(区分, 項目) → (値, 備考) of one sheet as the page shows it."""
    return {(a, i): (v, n) for a, i, v, n in evaluation.sheet_rows(row, HOURLY)}


def _row(sheets: pl.DataFrame, course: str | None) -> dict[str, Any]:
    if course is None:
        return sheets.filter(pl.col("level") == "programme").row(0, named=True)
    return sheets.filter(pl.col("course_id") == course).row(0, named=True)


def test_participant_hours_is_the_roi_rule() -> None:
    data = _city()
    hours = pdca.participant_hours(data, 2025)
    # A: 3 sessions (2 completed, 1 attended; the absence costs nothing) × 3 h; B: 2 × 6 h; C: 2 h
    assert hours.rows() == [("A", 3, 9.0), ("B", 2, 12.0), ("C", 1, 2.0)]
    with_outcomes = Processed.from_frames(**_with_empty_outcomes(data))
    result = pdca.roi(with_outcomes, 2025, pdca.roi_assumptions({"hourly_cost_yen": HOURLY}))
    assert result.participant_hours == 23.0 and result.participant_cost_yen == 92_000.0


def _with_empty_outcomes(data: Processed) -> dict[str, Any]:
    """The tiny city with empty proposals and projects (the ROI's benefits need them)."""
    proposals = pl.DataFrame(
        schema={
            "status": pl.String,
            "implemented_on": pl.Date,
            "hours_saved_per_year": pl.Float64,
        }
    )
    projects = pl.DataFrame(
        schema={
            "status": pl.String,
            "ended_on": pl.Date,
            "hours_saved_per_year": pl.Float64,
            "cost_yen": pl.Float64,
        }
    )
    return {
        "departments": data.departments,
        "staff": data.staff,
        "courses": data.courses,
        "attendance": data.attendance,
        "proposals": proposals,
        "projects": projects,
    }


def test_sheet_of_a_course_with_a_clear_effect_hand_computed() -> None:
    a = _row(_sheets(), "A")
    assert (a["attendees"], a["completers"]) == (3, 2)
    # 事業費 = 100,000 + 20,000 + 0 h × 4,000; 人件費 = 9 h × 4,000
    assert a["project_cost_yen"] == 120_000.0 and a["personnel_cost_yen"] == 36_000.0
    assert a["total_cost_yen"] == 156_000.0 and a["cost_per_completer_yen"] == 78_000.0
    # e1 and e2 completed A first at phase 2 this year: 2 × 0.01 × 12 = 0.24 extra proposals
    assert a["first_completers"] == 2 and a["effect_units"] == pytest.approx(0.24)
    assert a["cost_per_effect_yen"] == pytest.approx(650_000.0)
    assert a["unit_cost_reason"] is None
    # FY2024: 50,000 + 3 h × 4,000 = 62,000 and no completer
    assert a["previous_total_cost_yen"] == 62_000.0
    assert a["total_cost_change"] == pytest.approx(156_000 / 62_000 - 1)
    assert a["previous_cost_per_completer_yen"] is None
    assert a["cost_per_completer_change"] is None
    assert (a["direction"], a["direction_basis"]) == ("expand", "effect_efficient")


def test_an_effect_not_distinguishable_from_zero_is_never_divided_by() -> None:
    b = _row(_sheets(), "B")
    # 事業費 = 10 instructor hours × 4,000; 人件費 = 2 sessions × 6 h × 4,000
    assert b["project_cost_yen"] == 40_000.0 and b["total_cost_yen"] == 88_000.0
    assert b["cost_per_effect_yen"] is None and b["unit_cost_reason"] == "inconclusive"
    assert b["first_completers"] == 0  # e1's first phase-2 completion was A
    # completion 1 of 2 < 70%: the delivery needs a look
    assert (b["direction"], b["direction_basis"]) == ("improve", "low_completion")
    text = _sheet_text(b)
    assert text["単位当たりコスト", "追加提案1件あたり"] == (
        "算出不可",
        "効果が0と区別できない（95%区間が0を含む）",
    )
    assert text["コスト", "事業費"][0] == "40,000円"
    assert text["成果指標", "行動変容（提案の増加）"] == (
        "100人・年あたり +2.4件（95%区間 -1.2〜+6.0）",
        "判断できない（データ不足）",
    )
    assert text["コスト", "トータルコスト"][0] == "88,000円"


def test_small_course_hides_person_figures_but_keeps_its_project_cost() -> None:
    c = _row(_sheets(), "C")
    assert c["suppressed"] and c["direction"] is None
    assert c["project_cost_yen"] == 30_000.0  # describes the course, not people
    for col in (
        "attendees",
        "completers",
        "personnel_cost_yen",
        "total_cost_yen",
        "cost_per_completer_yen",
        "participant_hours",
    ):
        assert c[col] is None, col
    rows = evaluation.sheet_rows(c, HOURLY)
    assert rows[0][2] == "―" and rows[5][2] == "―"


def test_programme_sheet_sums_courses_and_uses_phase_effects() -> None:
    p = _row(_sheets(), None)
    assert (p["attendees"], p["completers"]) == (4, 2)  # e1, e2, e3, e5; e1, e2 completed
    assert p["project_cost_yen"] == 190_000.0  # 120,000 + 40,000 + 30,000
    assert p["participant_hours"] == 23.0 and p["personnel_cost_yen"] == 92_000.0
    assert p["total_cost_yen"] == 282_000.0 and p["cost_per_completer_yen"] == 141_000.0
    # phase 2 ran (2 first completers), clear effect 0.005: 2 × 0.005 × 12 = 0.12
    assert p["effect_units"] == pytest.approx(0.12)
    assert p["cost_per_effect_yen"] == pytest.approx(2_350_000.0)
    assert p["previous_total_cost_yen"] == 62_000.0
    assert (p["direction"], p["direction_basis"]) == ("continue", "programme_effect")
    assert p["unit_cost_reason"] is None and p["unit_cost_phase"] is None


def test_programme_unit_cost_names_the_phase_that_is_not_clear() -> None:
    courses = _effects("course", [{"course_id": "A", "phase": 2, "reason": "no_comparison"}])
    phases = _effects(
        "phase",
        [
            {"phase": 1, "reason": "too_few_completers"},
            {
                "phase": 2,
                "effect": 0.001,
                "ci_low": -0.002,
                "ci_high": 0.004,
                "verdict": "inconclusive",
            },
            {"phase": 3, "reason": "too_few_completers"},
        ],
    )
    roi = pdca.roi_assumptions({"hourly_cost_yen": HOURLY})
    sheets = pdca.evaluation_sheets(_city(), 2025, courses, phases, roi, 2)
    p = _row(sheets, None)
    assert p["cost_per_effect_yen"] is None and p["effect_units"] is None
    assert (p["unit_cost_reason"], p["unit_cost_phase"]) == ("inconclusive", 2)
    assert (p["direction"], p["direction_basis"]) == ("continue", "undecided")
    assert _sheet_text(p)["単位当たりコスト", "追加提案1件あたり"] == (
        "算出不可",
        "フェーズ2（スキル習得）: 効果が0と区別できない（95%区間が0を含む）",
    )


def test_last_years_decision_is_shown_beside_this_years_proposal() -> None:
    log = pdca.ReviewLog(
        2024,
        course_decisions=(
            pdca.CourseDecision("A", "reduce", "受講者が少ない", "人事課長"),
            pdca.CourseDecision(pdca.PROGRAMME, "expand", "全庁展開", "DX推進課長"),
        ),
    )
    sheets = _sheets(previous=log)
    a, p = _row(sheets, "A"), _row(sheets, None)
    assert (a["previous_direction"], a["previous_reason"], a["previous_owner"]) == (
        "reduce",
        "受講者が少ない",
        "人事課長",
    )
    assert p["previous_direction"] == "expand" and _row(sheets, "B")["previous_direction"] is None
    text = _sheet_text(a)
    assert text["方向性", "前年度の会議の決定"] == ("縮小", "受講者が少ない（担当: 人事課長）")
    assert text["方向性", "今年度の提案（規則による）"][0] == "拡充"
    page = evaluation.sheet_html(a, HOURLY, "シート", "ja")._repr_html_()
    assert page.count("<td>方向性</td>") == 1 and page.count("<tr>") == 14  # area said once
    overview = evaluation.overview_display(sheets)
    assert overview["事業"].to_list()[0] == "DX入門（C）"  # phase 1 first, then by code
    assert overview.row(1) == (
        "データ活用（A）",
        "2人",
        "156,000円",
        "78,000円",
        "650,000円",
        "+151.6%",
        "拡充",
        "縮小",
    )


def test_workbook_one_sheet_per_course_numbers_and_print_setup(tmp_path: Path) -> None:
    path = evaluation.write_evaluation_xlsx(_sheets(), tmp_path / "e.xlsx", 2025, HOURLY, 2)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["一覧", "事業全体", "C", "A", "B"]
    ws = book["A"]
    values = [r[2] for r in ws.iter_rows(min_row=2, max_row=14, values_only=True)]
    # attendees, completers, effect, 事業費, 人件費, total, per completer, per extra proposal
    assert values[:2] == [3, 2] and values[3:6] == [120_000.0, 36_000.0, 156_000.0]
    assert values[6] == 78_000.0 and values[7] == pytest.approx(650_000.0)
    assert values[8] == pytest.approx(156_000 / 62_000 - 1)  # 前年度比 as a number
    assert ws["C7"].number_format == '#,##0"円"'
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$1:$1"
    assert book["C"]["C2"].value == "―"  # attendees of the hidden course
    assert book["一覧"]["A5"].value == "DX人材育成事業（研修プログラム全体）"


@pytest.mark.parametrize(
    ("verdict", "effect", "cpc", "cpe", "rate", "expected"),
    [
        ("effect", -5.0, 1.0, None, 0.9, ("abolish", "negative_effect")),
        ("no_effect", 0.1, 200.0, None, 0.9, ("reduce", "no_effect_costly")),
        ("no_effect", 0.1, 100.0, None, 0.9, ("improve", "no_effect")),
        ("no_effect", 0.1, None, None, 0.9, ("improve", "no_effect")),  # no cost: not above
        ("effect", 5.0, 1.0, 10.0, 0.9, ("expand", "effect_efficient")),
        ("effect", 5.0, 1.0, 11.0, 0.9, ("continue", "effect")),
        ("inconclusive", 2.0, 1.0, None, 0.69, ("improve", "low_completion")),
        ("inconclusive", 2.0, 1.0, None, 0.7, ("continue", "undecided")),
    ],
)
def test_direction_rule_branches(
    verdict: str,
    effect: float,
    cpc: float | None,
    cpe: float | None,
    rate: float,
    expected: tuple[str, str],
) -> None:
    row = {
        "suppressed": False,
        "verdict": verdict,
        "effect_100": effect,
        "cost_per_completer_yen": cpc,
        "cost_per_effect_yen": cpe,
        "completion_rate": rate,
    }
    assert propose_direction(row, median_cost_per_completer=150.0, median_cost_per_effect=10.0) == (
        expected
    )


def test_course_decisions_round_trip_and_errors(tmp_path: Path) -> None:
    log = pdca.ReviewLog(
        2025,
        course_decisions=(
            pdca.CourseDecision("C214", "expand", '受講枠を "倍" に', "人事課長"),
            pdca.CourseDecision("programme", "continue", "継続", "DX推進課長"),
        ),
    )
    path = pdca.save_review_log(log, tmp_path / "FY2025.toml")
    assert pdca.load_review_log(path) == log
    assert "[[course_decisions]]" in path.read_text(encoding="utf-8")
    bad = {
        "fiscal_year": 2025,
        "course_decisions": [{"course_id": "C1", "direction": "stop", "reason": "r", "owner": "o"}],
    }
    with pytest.raises(PdcaError) as err:
        pdca.parse_review_log(bad, "FY2025.toml")
    assert "course_decisions[1].direction" in err.value.ja and "拡充" in err.value.ja
    assert "expand" in err.value.en
    twice = {
        "fiscal_year": 2025,
        "course_decisions": [
            {"course_id": "C1", "direction": "expand", "reason": "r", "owner": "o"},
            {"course_id": "C1", "direction": "reduce", "reason": "r", "owner": "o"},
        ],
    }
    with pytest.raises(PdcaError, match="second decision"):
        pdca.parse_review_log(twice, "FY2025.toml")
    no_owner = {
        "fiscal_year": 2025,
        "course_decisions": [{"course_id": "C1", "direction": "expand", "reason": "r"}],
    }
    with pytest.raises(PdcaError) as err:
        pdca.parse_review_log(no_owner, "FY2025.toml")
    assert "course_decisions[1].owner" in err.value.en


@pytest.mark.slow
def test_sample_city_sheets_match_totals_from_the_raw_cost_file(sample_city) -> None:  # type: ignore[no-untyped-def]
    """Per course and for the programme, FY2025: 事業費 from the raw 研修費用.csv and
    participants' time from the processed attendance, computed here without the product."""
    from dxkpi.ingest.processed import load_processed
    from dxkpi.project.config import Config

    raw = pl.read_csv(sample_city.raw / "研修費用.csv", encoding="utf8", infer_schema=False)
    raw = raw.filter(pl.col("年度") == "2025年度").select(
        pl.col("研修コード").alias("course_id"),
        (
            pl.col("外部委託費").cast(pl.Float64)
            + pl.col("会場費").cast(pl.Float64)
            + pl.col("内部講師時間").cast(pl.Float64) * HOURLY
        ).alias("project"),
    )
    truth = sample_city.truth["course_costs"]["by_fiscal_year"]["2025"]
    data = pdca.data_through(load_processed(sample_city.processed), 2025)
    listed = data.require("courses").collect()["course_id"]
    planted = [r for r in sample_city.truth["bad_rows"] if r["dataset"] == "course_costs"]
    assert raw.filter(~pl.col("course_id").is_in(listed.implode())).height == len(planted) == 1
    raw = raw.filter(pl.col("course_id").is_in(listed.implode()))  # the planted bad row
    assert raw.height == truth["courses"]
    att = data.require("attendance").collect()
    hours = (
        att.filter(
            pl.col("status") != "absent",
            pl.col("session_date") >= D(2025, 4, 1),
            pl.col("session_date") <= D(2026, 3, 31),
        )
        .join(data.require("courses").collect().select("course_id", "hours"), on="course_id")
        .group_by("course_id")
        .agg(pl.col("hours").sum().alias("h"))
    )
    expected = raw.join(hours, on="course_id", how="full", coalesce=True).with_columns(
        total=pl.col("project") + pl.col("h").fill_null(0) * HOURLY
    )
    config = Config()
    effects = pdca.course_effects(data, config)
    phases = pdca.course_effects(data, config, by="phase")
    roi = pdca.roi_assumptions({"hourly_cost_yen": HOURLY})
    sheets = pdca.evaluation_sheets(data, 2025, effects, phases, roi, 10)
    courses = sheets.filter(pl.col("level") == "course", ~pl.col("suppressed"))
    got = dict(zip(courses["course_id"], courses["total_cost_yen"], strict=True))
    want = dict(zip(expected["course_id"], expected["total"], strict=True))
    assert len(got) >= 15 and set(got) <= set(want)
    for course, total in got.items():
        assert total == pytest.approx(want[course]), course
    programme = sheets.filter(pl.col("level") == "programme").row(0, named=True)
    assert programme["total_cost_yen"] == pytest.approx(float(expected["total"].sum()))
    drawn = truth["external_fee_yen"] + truth["venue_yen"] + truth["instructor_hours"] * HOURLY
    assert programme["project_cost_yen"] == pytest.approx(drawn)
    assert programme["project_cost_yen"] == pytest.approx(float(raw["project"].sum()))
    # a unit cost only where the effect is clear and positive, else 算出不可 with a reason
    for r in courses.iter_rows(named=True):
        if r["cost_per_effect_yen"] is not None:
            assert r["verdict"] == "effect" and r["effect_100"] > 0
            assert math.isclose(
                r["cost_per_effect_yen"],
                r["total_cost_yen"] / (r["first_completers"] * r["effect_100"] / 100),
            )
        else:
            assert r["unit_cost_reason"] is not None
