"""Skill map (issue #8): the six skill-map KPIs, the 職層 × スキル matrix, Kirkpatrick level 2.

KPI values are hand-computed on the tiny city of :mod:`dxkpi.kpi.examples` (FY2025 staff: E1 D01
manager, E2 D03 staff — moved from D01 in April, E3 D02 mid, E4 D03 staff, E5 D02 staff; E9 is
on no staff list). Default matrix: data 2 for every job level, process 3 for managers.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.commands.kpi import command as kpi_command
from dxkpi.core.errors import ConfigError
from dxkpi.ingest.processed import load_processed
from dxkpi.kpi import measures
from dxkpi.kpi.engine import compute, compute_kpi
from dxkpi.kpi.examples import cell, synthetic_city, tiny_city
from dxkpi.models.skills import (
    assessed_levels,
    attainment_by_department,
    attainment_change,
    course_skill_moves,
    first_skill_course,
    score_gain,
    skill_effect,
    skill_effects,
)
from dxkpi.project.config import (
    DEFAULT_SKILL_MATRIX,
    Config,
    PrivacyConfig,
    SkillMatrix,
    load_config,
    parse_config,
)
from tests.helpers import ROOT

SKILL_KPIS = (
    "skill_attainment_rate",
    "skill_gap",
    "assessment_gap",
    "knowledge_posts_per_100",
    "failure_share",
    "portable_learning",
)
D = dt.date


def run(kpi: str, by, fys=(2024, 2025), **kw) -> pl.DataFrame:
    return getattr(measures, kpi)(tiny_city(), list(fys), by, **kw).collect()


def nums(row: dict) -> tuple:
    return row["numerator"], row["denominator"], row["value"], row["n_people"], row["reason"]


# ----------------------------------------------------------------------------- registry
def test_registry_entries_people_and_dimensions():
    specs = {k: REGISTRY[k] for k in SKILL_KPIS}
    assert {k: s.people for k, s in specs.items()} == {
        "skill_attainment_rate": "assessed",
        "skill_gap": "assessed",
        "assessment_gap": "assessed_both",
        "knowledge_posts_per_100": "staff",
        "failure_share": "posters",
        "portable_learning": "trained",
    }
    assert all(s.suppressed for s in specs.values())
    for k in ("skill_attainment_rate", "skill_gap", "assessment_gap"):
        assert specs[k].second_dimension == "skill_area" and "skill_area" in specs[k].groupings
    assert specs["portable_learning"].second_dimension == "mobility"
    assert not specs["skill_gap"].higher_is_better
    assert specs["skill_attainment_rate"].uses_skill_matrix and specs["skill_gap"].uses_skill_matrix


# ----------------------------------------------------------------------------- hand-computed
def test_skill_attainment_rate_hand_computed():
    out = run("skill_attainment_rate", ["city", "department", "job_level"])
    # data FY2025: E1 manager 2 (manager's, not self 3) ✓, E2 self 2 ✓, E3 manager 1 ✗,
    # E4 manager 0 ✗; E9 is not on the staff list and does not count.
    assert nums(cell(out, "skill_area", "data")) == (2, 4, 0.5, 4, None)
    assert nums(cell(out, "skill_area", "process")) == (1, 1, 1.0, 1, None)  # E1 self 3 ≥ 3
    assert nums(cell(out, "skill_area", "data", 2024)) == (0, 1, 0.0, 1, None)  # E1 1 < 2
    # E2 transferred to D03 in April: counts there with E4.
    assert nums(cell(out, "department|skill_area", "D03|data")) == (1, 2, 0.5, 2, None)
    assert nums(cell(out, "job_level|skill_area", "manager|data")) == (1, 1, 1.0, 1, None)


def test_skill_gap_hand_computed():
    out = run("skill_gap", ["city", "department"])
    # shortfalls data FY2025: E1 0, E2 0, E3 2−1 = 1, E4 2−0 = 2 → 3 / 4
    assert nums(cell(out, "skill_area", "data")) == (3, 4, 0.75, 4, None)
    assert nums(cell(out, "department|skill_area", "D03|data")) == (2, 2, 1.0, 2, None)
    assert nums(cell(out, "skill_area", "process")) == (0, 1, 0.0, 1, None)


def test_skill_matrix_parameter_changes_the_requirement():
    lenient = SkillMatrix(
        {lv: dict.fromkeys(areas, 0) for lv, areas in DEFAULT_SKILL_MATRIX.items()}
    )
    out = run("skill_attainment_rate", "city", matrix=lenient)
    assert cell(out, "skill_area", "data")["value"] == 1.0
    gap = run("skill_gap", "city", matrix=lenient)
    assert cell(gap, "skill_area", "data")["value"] == 0.0


def test_assessment_gap_only_people_with_both():
    out = run("assessment_gap", ["city", "department"])
    # pairs FY2025 data: E1 3 − 2, E3 2 − 1; E2 (self only) and E4 (manager only) left out
    assert nums(cell(out, "skill_area", "data")) == (2, 2, 1.0, 2, None)
    assert nums(cell(out, "skill_area", "data", 2024)) == (0, 1, 0.0, 1, None)
    empty = cell(out, "skill_area", "process")  # E1 has a self-assessment only
    assert nums(empty) == (0, 0, None, 0, "no_assessment_pairs")
    assert nums(cell(out, "department|skill_area", "D03|data"))[2:] == (
        None,
        0,
        "no_assessment_pairs",
    )


def test_zero_denominators_say_why():
    out = run("skill_attainment_rate", ["city", "department"])
    assert nums(cell(out, "skill_area", "security")) == (0, 0, None, 0, "not_assessed")
    assert nums(cell(out, "department|skill_area", "D04|data")) == (0, 0, None, 0, "not_assessed")
    posts = run("failure_share", "department")
    assert nums(cell(posts, "department", "D04")) == (0, 0, None, 0, "no_posts")
    per100 = run("knowledge_posts_per_100", "department")
    assert nums(cell(per100, "department", "D04")) == (0, 0, None, 0, "no_members")
    arms = run("portable_learning", "department")
    assert nums(cell(arms, "department|mobility", "D01|moved")) == (
        0,
        0,
        None,
        0,
        "no_trained_staff",
    )
    for kpi in SKILL_KPIS:
        gap = cell(
            run(kpi, "city", fys=[2030]),
            REGISTRY[kpi].second_dimension or "city",
            {"skill_area": "data", "mobility": "moved"}.get(
                REGISTRY[kpi].second_dimension or "", "city"
            ),
            2030,
        )
        assert gap["value"] is None and gap["reason"] == "no_data_fy", kpi


def test_knowledge_posts_per_100_hand_computed():
    out = run("knowledge_posts_per_100", ["city", "department"])
    # FY2025: K2, K3 (E2, in D03 after the transfer), K4 (E3); K5 by E9 (no staff row) ignored
    assert nums(cell(out, "city", "city")) == (3, 5, 60.0, 5, None)
    assert nums(cell(out, "department", "D03")) == (2, 2, 100.0, 2, None)
    assert nums(cell(out, "city", "city", 2024)) == (1, 4, 25.0, 4, None)


def test_failure_share_hand_computed_people_are_posters():
    out = run("failure_share", ["city", "department", "division"])
    assert nums(cell(out, "city", "city")) == (2, 3, pytest.approx(2 / 3), 2, None)
    assert nums(cell(out, "department", "D03")) == (1, 2, 0.5, 1, None)
    assert nums(cell(out, "division", "A")) == (1, 1, 1.0, 1, None)  # K4 by E3 in D02
    assert nums(cell(out, "city", "city", 2024)) == (0, 1, 0.0, 1, None)


def test_portable_learning_moved_beside_stayed():
    out = run("portable_learning", ["city", "department"])
    # trained by the end of FY2024: E1 (completed), E2 (attended); E3 was absent.
    # E2 moved D01 → D03 in April 2025 and submitted P2, P3; E1 stayed and submitted P5.
    expected = pl.DataFrame(
        {
            "group": ["moved", "stayed"],
            "numerator": [2.0, 1.0],
            "denominator": [1.0, 1.0],
            "value": [200.0, 100.0],
            "n_people": [1, 1],
        }
    )
    got = out.filter((pl.col("fiscal_year") == 2025) & (pl.col("group_by") == "mobility"))
    assert_frame_equal(got.select(expected.columns).sort("group"), expected)
    assert cell(out, "department|mobility", "D03|moved")["value"] == 200.0
    # FY2024: nobody was trained by the end of FY2023
    assert cell(out, "mobility", "moved", 2024)["reason"] == "no_trained_staff"


# ----------------------------------------------------------------------------- suppression
def _city_with_small_group(k: int) -> tuple:
    """D01 has 12 staff, D02 k − 1, D03 k + 2 (division A: D01, D02; B: D03); all assessed,
    all posting, all trained in FY2024 and in FY2025 D02's staff all moved there from D03."""
    sizes = {"D01": 12, "D02": k - 1, "D03": k + 2}
    departments = pl.DataFrame(
        {
            "department_code": list(sizes),
            "department_name": ["一課", "二課", "三課"],
            "division": ["A", "A", "B"],
            "pilot_fy": pl.Series([None] * 3, dtype=pl.Int32),
        }
    )
    rows24, rows25 = [], []
    for dept, n in sizes.items():
        for i in range(n):
            emp = f"{dept}-{i}"
            rows25.append((2025, emp, dept, "staff", "unassigned"))
            before = "D03" if dept == "D02" else dept
            rows24.append((2024, emp, before, "staff", "unassigned"))
    schema = {
        "fiscal_year": pl.Int32,
        "employee_id": pl.String,
        "department_code": pl.String,
        "job_level": pl.String,
        "talent_type": pl.String,
    }
    staff = pl.DataFrame(rows24 + rows25, schema=schema, orient="row")
    emps = staff.filter(pl.col("fiscal_year") == 2025)["employee_id"].to_list()
    n = len(emps)
    skill = pl.DataFrame(
        {
            "fiscal_year": pl.Series([2025] * 2 * n, dtype=pl.Int32),
            "employee_id": emps * 2,
            "skill_area": ["data"] * 2 * n,
            "assessor": ["self"] * n + ["manager"] * n,
            "level": [3] * n + [i % 4 for i in range(n)],
        }
    )
    posts = pl.DataFrame(
        {
            "post_id": [f"K{i}" for i in range(n)],
            "employee_id": emps,
            "department_code": "D01",
            "posted_on": D(2025, 6, 1),
            "kind": ["failure" if i % 2 else "success" for i in range(n)],
            "title": "事例",
        }
    )
    courses = pl.DataFrame(
        {
            "course_id": ["C1"],
            "course_name": ["研修"],
            "phase": [2],
            "skill_area": ["data"],
            "hours": [3.0],
            "instructor": ["internal"],
        },
        schema_overrides={"phase": pl.Int8},
    )
    attendance = pl.DataFrame(
        {
            "employee_id": emps,
            "course_id": "C1",
            "session_date": D(2024, 6, 1),
            "status": "completed",
            "pre_score": None,
            "post_score": None,
            "satisfaction": None,
        },
        schema_overrides={
            "pre_score": pl.Float64,
            "post_score": pl.Float64,
            "satisfaction": pl.Int8,
        },
    )
    proposals = pl.DataFrame(
        {
            "proposal_id": [f"P{i}" for i in range(n)],
            "employee_id": emps,
            "department_code": "D01",
            "submitted_on": D(2025, 7, 1),
            "status": "submitted",
            "decided_on": None,
            "implemented_on": None,
            "hours_saved_per_year": None,
            "title": "改善",
            "category": None,
        },
        schema_overrides={
            "decided_on": pl.Date,
            "implemented_on": pl.Date,
            "hours_saved_per_year": pl.Float64,
            "category": pl.String,
        },
    )
    from dxkpi.ingest.processed import Processed

    return Processed.from_frames(
        departments=departments,
        staff=staff,
        skill_assessment=skill,
        knowledge_posts=posts,
        courses=courses,
        attendance=attendance,
        proposals=proposals,
    )


@pytest.mark.parametrize("k", [5, 10])
def test_a_group_of_k_minus_one_never_appears(k: int):
    data = _city_with_small_group(k)
    config = Config(privacy=PrivacyConfig(min_cell_size=k))
    shown = compute(
        data,
        config,
        kpis=list(SKILL_KPIS),
        fiscal_years=[2025],
        by=["city", "division", "department", "skill_area", "mobility"],
    )
    # D02's cells with people in them (empty cells such as D02|ai_rpa carry no one and show 0)
    d02 = shown.filter(pl.col("group").is_in(["D02", "D02|data", "D02|moved"]))
    assert d02["kpi"].n_unique() == len(SKILL_KPIS) and d02["suppressed"].all(), d02
    assert d02["value"].is_null().all() and d02["n_people"].is_null().all()
    # complementary: D02's sibling in division A (or A itself) is hidden too, else A − D01 = D02
    hidden = {(r["kpi"], r["group"]) for r in shown.filter(pl.col("suppressed")).to_dicts()}
    for kpi, group in d02.select("kpi", "group").iter_rows():
        suffix = group.removeprefix("D02")
        assert (kpi, f"D01{suffix}") in hidden or (kpi, f"A{suffix}") in hidden, (kpi, group)
    visible = shown.filter(~pl.col("suppressed") & pl.col("n_people").is_between(1, k - 1))
    assert visible.is_empty(), visible


def test_skill_kpis_on_a_synthetic_city_never_show_small_groups():
    data = synthetic_city(staff=400, fiscal_years=(2024, 2025), seed=3)
    config = Config(privacy=PrivacyConfig(min_cell_size=10))
    shown = compute(
        data,
        config,
        kpis=list(SKILL_KPIS),
        by=["city", "division", "department", "job_level", "talent_type"],
    )
    raw = pl.concat(
        [
            compute_kpi(
                data,
                k,
                [2024, 2025],
                [g for g in REGISTRY[k].groupings if g != REGISTRY[k].second_dimension],
            ).collect()
            for k in SKILL_KPIS
        ]
    )
    keys = ["kpi", "fiscal_year", "group_by", "group"]
    both = shown.join(raw.select(*keys, pl.col("n_people").alias("n_raw")), on=keys)
    assert both.filter(~pl.col("suppressed") & pl.col("n_raw").is_between(1, 9)).is_empty()
    assert both["suppressed"].any()


# ----------------------------------------------------------------------------- configuration
def test_default_matrix_and_project_toml():
    assert DEFAULT_SKILL_MATRIX["manager"] == {
        "data": 2,
        "ai_rpa": 1,
        "process": 3,
        "security": 2,
        "facilitation": 3,
    }
    assert Config().skill_matrix.level("staff", "process") == 2
    config = load_config(ROOT / "dxkpi.toml")
    assert config.skill_matrix.rows() == SkillMatrix().rows()
    assert "skill_matrix" not in config.sections
    for fy in (2023, 2024, 2025):
        for kpi in SKILL_KPIS:
            assert config.target(kpi, fy) is not None, (kpi, fy)


def test_partial_matrix_keeps_the_other_defaults():
    config = parse_config({"skill_matrix": {"staff": {"data": 3}}})
    assert config.skill_matrix.level("staff", "data") == 3
    assert config.skill_matrix.level("staff", "process") == 2
    assert config.skill_matrix.level("manager", "facilitation") == 3


@pytest.mark.parametrize(
    ("raw", "key", "ja", "en"),
    [
        ({"部長": {"data": 2}}, "skill_matrix.部長", "不明なキー", "unknown key"),
        (
            {"manager": {"marketing": 2}},
            "skill_matrix.manager.marketing",
            "不明なキー",
            "unknown key",
        ),
        ({"mid": {"data": 5}}, "skill_matrix.mid.data", "0〜4", "must be 0–4"),
        ({"mid": {"data": -1}}, "skill_matrix.mid.data", "0〜4", "must be 0–4"),
        ({"staff": {"security": 2.5}}, "skill_matrix.staff.security", "整数", "whole number"),
        ({"staff": {"security": True}}, "skill_matrix.staff.security", "整数", "whole number"),
        ({"staff": 3}, "skill_matrix.staff", "表", "table"),
    ],
)
def test_matrix_validation_names_the_key(raw, key, ja, en):
    with pytest.raises(ConfigError) as err:
        parse_config({"skill_matrix": raw}, source="dxkpi.toml")
    assert f"「{key}」" in err.value.ja and ja in err.value.ja
    assert f"'{key}'" in err.value.en and en in err.value.en


def test_engine_passes_the_configured_matrix():
    lenient = parse_config({"skill_matrix": {"staff": {"data": 0}, "mid": {"data": 0}}})
    rich = compute(
        tiny_city(), lenient, kpis=["skill_attainment_rate"], fiscal_years=[2025], by=["skill_area"]
    )
    data = rich.filter(pl.col("group") == "data").row(0, named=True)
    # E1 manager 2 ≥ 2, E2 staff ≥ 0, E3 mid ≥ 0, E4 staff ≥ 0 → 4/4 (before suppression)
    assert data["suppressed"] and data["reason"] == "suppressed"  # 4 people < k = 10
    cells = compute_kpi(
        tiny_city(), "skill_attainment_rate", [2025], "skill_area", lenient.skill_matrix
    ).collect()
    assert cell(cells, "skill_area", "data")["value"] == 1.0


# ----------------------------------------------------------------------------- CLI and xlsx
@pytest.fixture(scope="module")
def processed_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("skill_processed")
    data = synthetic_city(staff=300, fiscal_years=(2024, 2025), seed=5)
    for name in data.available():
        getattr(data, name).collect().write_parquet(folder / f"{name}.parquet")
    return folder


def test_cli_skill_gap_csv_and_xlsx(processed_dir: Path, tmp_path: Path):
    runner = CliRunner()
    res = runner.invoke(
        kpi_command,
        [
            "--kpi",
            "skill_gap",
            "--by",
            "skill_area",
            "--fy",
            "2025",
            "--format",
            "json",
            "--data",
            str(processed_dir),
        ],
    )
    assert res.exit_code == 0, res.output
    records = json.loads(res.output)
    assert sorted(r["group"] for r in records) == sorted(
        ["data", "ai_rpa", "process", "security", "facilitation"]
    )
    assert {r["group_by"] for r in records} == {"skill_area"}
    out = tmp_path / "kpi.xlsx"
    res = runner.invoke(
        kpi_command,
        [
            "--kpi",
            "portable_learning",
            "--kpi",
            "failure_share",
            "--by",
            "mobility",
            "--by",
            "department",
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--data",
            str(processed_dir),
        ],
    )
    assert res.exit_code == 0, res.output
    import openpyxl

    names = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert any("異動" in n for n in names) and any("失敗" in n for n in names)


def test_cli_rejects_grouping_the_kpi_does_not_have(processed_dir: Path):
    res = CliRunner().invoke(
        kpi_command,
        [
            "--kpi",
            "failure_share",
            "--by",
            "mobility",
            "--data",
            str(processed_dir),
            "--format",
            "csv",
        ],
    )
    # failure_share has no mobility grouping: refused with a bilingual message naming the pair
    assert res.exit_code != 0
    assert "failure_share × mobility" in res.output
    assert "集計単位" in res.output and "no such grouping" in res.output


# ----------------------------------------------------------------------------- skills.py
def test_first_skill_course_and_assessed_levels_on_the_tiny_city():
    data = tiny_city()
    first = first_skill_course(data).collect().sort("employee_id", "skill_area")
    # E1 and E2 completed C2 (phase 2, data) in FY2025; E4 completed C3 (phase 3, process)
    # on 2026-04-01, i.e. in FY2026; C1 is phase 1 and does not count.
    expected = pl.DataFrame(
        {
            "employee_id": ["E1", "E2", "E4"],
            "skill_area": ["data", "data", "process"],
            "first_fy": pl.Series([2025, 2025, 2026], dtype=pl.Int32),
        }
    )
    assert_frame_equal(first, expected)
    levels = assessed_levels(data).collect()
    e1 = levels.filter((pl.col("employee_id") == "E1") & (pl.col("skill_area") == "data"))
    assert dict(e1.select("fiscal_year", "level").iter_rows()) == {2024: 1.0, 2025: 2.0}


def test_score_gain_per_skill_area():
    attendance = pl.DataFrame(
        {
            "employee_id": ["E1", "E2", "E3", "E1"],
            "course_id": ["C2", "C2", "C2", "C1"],
            "session_date": [D(2025, 5, 1)] * 4,
            "status": ["completed", "attended", "absent", "completed"],
            "pre_score": [40.0, 50.0, 10.0, None],
            "post_score": [60.0, 80.0, 90.0, 70.0],
            "satisfaction": pl.Series([None] * 4, dtype=pl.Int8),
        }
    )
    out = score_gain(tiny_city(attendance=attendance))
    # data (C2): E1 +20, E2 +30; E3 was absent, E1's C1 row has no pre-score
    row = out.row(0, named=True)
    assert out.height == 1 and row["skill_area"] == "data"
    assert (row["gain"], row["n_sessions"], row["n_people"]) == (25.0, 2, 2)
    assert row["ci_low"] < 25.0 < row["ci_high"]


def test_course_skill_moves_hand_computed():
    # E1: data 1 (FY2024) → 2 (FY2025) after completing C2 (data) in FY2025
    shown = course_skill_moves(tiny_city(), min_people=1)
    row = shown.row(0, named=True)
    assert shown.height == 1
    assert (
        row["course_id"],
        row["skill_area"],
        row["matching"],
        row["change"],
        row["n_people"],
        row["suppressed"],
    ) == ("C2", "data", True, 1.0, 1, False)
    hidden = course_skill_moves(tiny_city(), min_people=2).row(0, named=True)
    assert hidden["suppressed"] and hidden["change"] is None and hidden["n_people"] is None


def test_report_helpers_mark_suppressed_cells():
    data = synthetic_city(staff=400, fiscal_years=(2024, 2025), seed=3)
    config = Config()
    by_dept = attainment_by_department(data, config, 2025)
    assert set(by_dept["skill_area"]) == {"data", "ai_rpa", "process", "security", "facilitation"}
    assert by_dept["suppressed"].any() and (~by_dept["suppressed"]).any()
    assert by_dept.filter(pl.col("suppressed"))["value"].is_null().all()
    change = attainment_change(data, config, 2025)
    assert change.height == 5
    row = change.row(0, named=True)
    assert row["change"] == pytest.approx(row["current"] - row["previous"])


# ----------------------------------------------------------------------------- sample city
def _weighted_truth(effect, cells: dict) -> float:
    """The true ATT aggregated as att_gt's simple aggregate: post cells weighted by cohort size."""
    import numpy as np

    post = effect.result.attgt.filter(pl.col("post"))
    cohort = effect.result.unit_cohort
    num = den = 0.0
    for g, t in post.select("group", "time").iter_rows():
        if effect.skill_area == "all":
            values = [c[str(g)][str(t)] for c in cells.values() if str(t) in c.get(str(g), {})]
            value = float(np.mean(values))
        else:
            value = cells[effect.skill_area][str(g)][str(t)]
        weight = float((cohort == g).sum())
        num, den = num + weight * value, den + weight
    return num / den


def test_planted_skill_effect_recovered_on_the_sample_city(sample_city):
    truth = sample_city.truth["skill_effect"]
    data = load_processed(sample_city.processed)
    effects = {e.skill_area: e for e in skill_effects(data)}
    pooled = effects["all"].row
    assert pooled["ci_low"] <= truth["expected_att"] <= pooled["ci_high"], (pooled, truth)
    assert (
        pooled["ci_low"]
        <= _weighted_truth(effects["all"], truth["expected_att_gt"])
        <= (pooled["ci_high"])
    )
    for area, effect in effects.items():
        row = effect.row
        assert row["att"] > 0.4 and row["n_treated"] > 100, row  # clearly positive, sized
        if area != "all":
            target = _weighted_truth(effect, truth["expected_att_gt"])
            assert abs(row["att"] - target) < 3 * row["se"], (area, row, target)
    # the naive before/after also picks up the city-wide drift (0.15 a year): it overstates
    assert pooled["naive_change"] > pooled["ci_high"]
    frame = skill_effect(data)
    assert frame.columns[:5] == ["skill_area", "att", "se", "ci_low", "ci_high"]
    assert frame.height == 6 and frame["reason"].is_null().all()


def test_sample_city_skill_map_kpis_and_trends(sample_city):
    data = load_processed(sample_city.processed)
    truth = sample_city.truth
    rich = compute(data, Config(), kpis=list(SKILL_KPIS), by=["city", "skill_area", "mobility"])
    share = rich.filter((pl.col("kpi") == "failure_share") & (pl.col("group") == "city"))
    values = share.sort("fiscal_year")["value"].to_list()
    assert values == sorted(values)  # failures are shared more as the programme matures
    realised = truth["knowledge_posts"]["failure_share_by_fy"]
    assert {
        str(y): round(v, 4) for y, v in share.select("fiscal_year", "value").iter_rows()
    } == realised
    arms = rich.filter(pl.col("kpi") == "portable_learning")
    assert set(arms["group"]) == {"moved", "stayed"} and arms["value"].drop_nulls().len() >= 4
    gap = rich.filter(pl.col("kpi") == "assessment_gap")["value"].drop_nulls()
    assert gap.len() > 0 and gap.min() > 0  # self-assessments sit above the manager's view
    gain = score_gain(data)
    assert gain.height == 5 and (gain["gain"] > 0).all()
