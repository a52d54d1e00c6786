"""The year-end PDCA review: target rule, grades, ROI, review log, adoption, PDF, the report."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import shutil
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi import pdca
from dxkpi.core.project import Project
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.examples import tiny_city
from dxkpi.kpi.grading import grade
from dxkpi.pdca.summary import data_through
from dxkpi.project.config import parse_config
from dxkpi.reports import pdca_tables, pdca_text
from dxkpi.reports.runner import REPORTS
from tests.helpers import ROOT
from tests.helpers.roster import ROSTER

# ------------------------------------------------------------------ proposed-target rule


@pytest.mark.parametrize(
    ("history", "target", "unit", "hib", "expected"),
    [
        # trend (0.6 − 0.4) / 2 = 0.10 beats half the gap 0.05; cap 10 points → 0.70
        ([(2023, 0.4), (2024, 0.5), (2025, 0.6)], 0.7, "ratio", True, 0.7),
        # half the gap (0.9 − 0.55) / 2 = 0.175 capped at 0.10 → 0.65
        ([(2024, 0.5), (2025, 0.55)], 0.9, "ratio", True, 0.65),
        # ratio bound: 0.98 + 0.08 → clipped to 1.0
        ([(2024, 0.9), (2025, 0.98)], None, "ratio", True, 1.0),
        # lower is better: trend 0.1 down, half gap 0.1, cap 20% × 0.7 = 0.14 → 0.6
        ([(2024, 0.8), (2025, 0.7)], 0.5, "score_diff", False, 0.6),
        # a worsening trend never lowers the bar below this year's value
        ([(2024, 100.0), (2025, 90.0)], None, "per_100", True, 90.0),
        # hours: trend +10,000 capped at 20% of 50,000 = 10,000 → 60,000
        ([(2024, 40000.0), (2025, 50000.0)], None, "hours", True, 60000.0),
        # one year, target met: this year's value
        ([(2025, 0.3)], 0.2, "ratio", True, 0.3),
        ([], 0.5, "ratio", True, None),
    ],
)
def test_propose_target_by_hand(history, target, unit, hib, expected) -> None:  # type: ignore[no-untyped-def]
    assert (
        pdca.propose_target(history, target, unit, hib) == pytest.approx(expected)
        if expected is not None
        else pdca.propose_target(history, target, unit, hib) is None
    )


def _rich(rows: list[tuple]) -> pl.DataFrame:
    """A tiny rich KPI frame (city cells)."""
    cols = (
        "kpi",
        "fiscal_year",
        "group_by",
        "group",
        "value",
        "target",
        "suppressed",
        "unit",
        "kind",
        "name_ja",
        "name_en",
        "hib",
    )
    frame = pl.DataFrame(rows, schema=cols, orient="row")
    return frame.with_columns(
        grade=pl.struct("value", "target", "hib").map_elements(
            lambda r: grade(r["value"], r["target"], r["hib"], 0.05), return_dtype=pl.String
        ),
        fiscal_year=pl.col("fiscal_year").cast(pl.Int32),
    ).drop("hib")


TINY = _rich(
    [
        (
            "proposer_rate",
            2024,
            "city",
            "city",
            0.43,
            0.42,
            False,
            "ratio",
            "kpi",
            "提案者率",
            "Proposer rate",
            True,
        ),
        (
            "proposer_rate",
            2025,
            "city",
            "city",
            0.52,
            0.50,
            False,
            "ratio",
            "kpi",
            "提案者率",
            "Proposer rate",
            True,
        ),
        (
            "implementation_rate",
            2025,
            "city",
            "city",
            0.45,
            0.70,
            False,
            "ratio",
            "kpi",
            "実装率",
            "Implementation rate",
            True,
        ),
        (
            "hours_saved",
            2024,
            "city",
            "city",
            40000.0,
            45000.0,
            False,
            "hours",
            "kgi",
            "業務削減時間",
            "Hours saved",
            True,
        ),
        (
            "hours_saved",
            2025,
            "city",
            "city",
            76000.0,
            70000.0,
            False,
            "hours",
            "kgi",
            "業務削減時間",
            "Hours saved",
            True,
        ),
        (
            "maturity_gap",
            2025,
            "dimension",
            "data",
            0.62,
            0.5,
            False,
            "score_diff",
            "kpi",
            "成熟度の温度差",
            "Maturity gap",
            False,
        ),
    ]
)


def test_grades_change_and_reading_by_hand() -> None:
    # band = 5% of the target: 0.52 vs 0.50 → ahead 0.02 ≤ 0.025 → B; 0.45 vs 0.70 → C;
    # 76,000 vs 70,000 → ahead 6,000 > 3,500 → A; gap 0.62 vs 0.5 (lower is better) → C
    s = pdca.summary_table(TINY, 2025)
    grades = dict(zip(s["kpi"], s["grade"], strict=True))
    assert grades == {
        "proposer_rate": "B",
        "implementation_rate": "C",
        "hours_saved": "A",
        "maturity_gap": "C",
    }
    change = dict(zip(s["kpi"], s["change"], strict=True))
    assert change["proposer_rate"] == pytest.approx(0.09)
    assert change["hours_saved"] == pytest.approx(36000.0)
    assert change["implementation_rate"] is None
    kgi = pdca_tables.summary_display(s, "kgi", "ja").row(0, named=True)
    assert kgi == {
        "指標": "業務削減時間",
        "目標": "70,000時間",
        "実績": "76,000時間",
        "評価": "A",
        "前年度比": "+36,000時間",
        "読み方": "目標を上回り、前年度より改善しました。",
    }
    kpis = pdca_tables.summary_display(s, "kpi", "ja")
    assert kpis["前年度比"].to_list()[0] == "+9.0ポイント"
    assert "前年度の値はありません" in kpis["読み方"].to_list()[1]


def test_proposed_targets_and_toml_by_hand() -> None:
    p = pdca.proposed_targets(TINY, 2025)
    got = {(r["kpi"], r["group"]): r["proposed"] for r in p.iter_rows(named=True)}
    # proposer: trend 0.09 vs half gap 0 → 0.61; implementation: half gap 0.125 capped 0.10 → 0.55
    # hours: trend 36,000 capped at 20% × 76,000 = 15,200 → 91,200; gap: 0.62 − 0.06 = 0.56
    assert got == pytest.approx(
        {
            ("proposer_rate", None): 0.61,
            ("implementation_rate", None): 0.55,
            ("hours_saved", None): 91200.0,
            ("maturity_gap", "data"): 0.56,
        }
    )
    text = pdca.targets_toml(p, 2026)
    raw = tomllib.loads(text)
    assert raw["targets"]["2026"]["hours_saved"] == 91200.0
    assert raw["targets"]["2026"]["dimension"]["data"]["maturity_gap"] == 0.56
    config = parse_config(raw)  # the shape dxkpi.toml accepts
    assert config.target("maturity_gap", 2026, "dimension", "data") == 0.56


def _dept(kpi: str, year: int, code: str, value: float, target: float | None, hidden=False):  # type: ignore[no-untyped-def]
    unit = "per_100" if kpi == "proposals_per_100" else "ratio"
    return (kpi, year, "department", code, value, target, hidden, unit, "kpi", kpi, kpi, True)


DEPARTMENTS = _rich(
    [
        _dept("participation_rate", 2024, "D01", 0.5, 0.5),
        _dept("participation_rate", 2025, "D01", 0.6, 0.9),
        _dept("participation_rate", 2025, "D02", 0.2, 0.9, hidden=True),
        _dept("proposals_per_100", 2023, "D01", 40.0, None),
        _dept("proposals_per_100", 2024, "D01", 50.0, 55.0),
        _dept("proposals_per_100", 2025, "D01", 70.0, 60.0),
        _dept("proposer_rate", 2025, "D03", 0.3, 0.5),
        _dept("adoption_rate", 2025, "D03", 0.3, 0.5),  # not a department KPI
    ]
)


def test_department_targets_by_hand() -> None:
    """D01 participation: trend 0.10, half the gap (0.9 − 0.6) / 2 = 0.15, capped at 10 points
    → 0.70. D01 proposals: trend (70 − 40) / 2 = 15 capped at 20 % × 70 = 14 → 84.0. D03
    proposers: half the gap 0.10 → 0.40. D02 is suppressed: no proposal (it would reveal 0.2)."""
    p = pdca.department_targets(DEPARTMENTS, 2025)
    got = {(r["department"], r["kpi"]): r["proposed"] for r in p.iter_rows(named=True)}
    assert got == pytest.approx(
        {
            ("D01", "participation_rate"): 0.7,
            ("D01", "proposals_per_100"): 84.0,
            ("D03", "proposer_rate"): 0.4,
        }
    )
    assert p.filter(pl.col("kpi") == "proposals_per_100")["basis"].item() == "2023,2024,2025"


def test_department_proposals_display() -> None:
    named = DEPARTMENTS.with_columns(group_name=pl.lit("総務課"))
    table = pdca_tables.department_proposed_display(pdca.department_targets(named, 2025), "ja")
    assert table.columns == ["所属", "研修参加率", "提案件数（100人当たり）", "提案者率"]
    assert table.rows() == [
        ("総務課（D01）", "60.0% → 70.0%", "70.0件/100人 → 84.0件/100人", ""),
        ("総務課（D03）", "", "", "30.0% → 40.0%"),
    ]
    en = pdca_tables.department_proposed_display(pdca.department_targets(DEPARTMENTS, 2025), "en")
    assert en.columns[0] == "department" and en.row(1) == ("D03", "", "", "30.0% → 40.0%")


def test_department_proposals_are_adopted_only_when_uncommented() -> None:
    text = pdca.targets_toml(
        pdca.proposed_targets(TINY, 2025),
        2026,
        departments=pdca.department_targets(DEPARTMENTS, 2025),
    )
    assert "# [targets.2026.department.D01]\n# participation_rate = 0.7\n" in text
    assert "D02" not in text
    assert "department" not in tomllib.loads(text)["targets"]["2026"]  # all commented out
    edited = text.replace("# [targets.2026.department.D01]", "[targets.2026.department.D01]")
    edited = edited.replace("# participation_rate = 0.7", "participation_rate = 0.7")
    out = pdca.with_targets_table(HAND_WRITTEN, edited, 2026, force=True)
    config = parse_config(tomllib.loads(out))
    assert config.target("participation_rate", 2026, "department", "D01") == 0.7
    assert config.target("proposer_rate", 2026, "department", "D03") == 0.61  # the city's
    assert config.target("participation_rate", 2026, "job_level", "manager") == 0.97


def test_summary_never_shows_a_suppressed_value() -> None:
    hidden = TINY.with_columns(suppressed=pl.col("kpi") == "proposer_rate")
    shown = pdca_tables.summary_display(pdca.summary_table(hidden, 2025), "kpi", "ja")
    row = shown.row(0, named=True)
    assert row["実績"] == "―" and row["前年度比"] == "―"
    assert "52" not in "".join(str(v) for v in row.values())


# ------------------------------------------------------------------ ROI


def _tiny_data() -> Processed:
    d = dt.date
    return Processed.from_frames(
        departments=pl.DataFrame(
            {
                "department_code": ["D1"],
                "department_name": ["総務課"],
                "division": ["総務部"],
                "pilot_fy": [2024],
            }
        ),
        staff=pl.DataFrame(
            {
                "fiscal_year": [2025, 2025],
                "employee_id": ["E1", "E2"],
                "department_code": ["D1", "D1"],
                "job_level": ["staff", "mid"],
                "talent_type": [None, "leader"],
            }
        ),
        courses=pl.DataFrame(
            {
                "course_id": ["C1"],
                "course_name": ["研修"],
                "phase": [1],
                "skill_area": ["data"],
                "hours": [3.0],
                "instructor": ["internal"],
            }
        ),
        attendance=pl.DataFrame(
            {
                "employee_id": ["E1", "E2", "E2", "E1"],
                "course_id": ["C1"] * 4,
                "session_date": [d(2025, 5, 1), d(2025, 6, 1), d(2025, 7, 1), d(2024, 6, 1)],
                "status": ["completed", "attended", "absent", "completed"],
                "satisfaction": [5, 4, None, 3],
            }
        ),
        proposals=pl.DataFrame(
            {
                "proposal_id": ["P1", "P2", "P3", "P4"],
                "employee_id": ["E1", "E2", "E1", "E2"],
                "department_code": ["D1"] * 4,
                "submitted_on": [d(2025, 4, 10), d(2025, 5, 1), d(2024, 5, 1), d(2025, 6, 1)],
                "title": ["a", "b", "c", "d"],
                "category": [None] * 4,
                "status": ["implemented", "implemented", "implemented", "adopted"],
                "decided_on": [d(2025, 5, 1), d(2025, 6, 1), d(2024, 6, 1), d(2025, 7, 1)],
                "implemented_on": [d(2025, 9, 1), d(2026, 3, 31), d(2025, 3, 1), None],
                "hours_saved_per_year": [100.0, 50.0, 999.0, 777.0],
            }
        ),
        projects=pl.DataFrame(
            {
                "project_id": ["J1", "J2"],
                "project_name": ["AI-OCR", "RPA"],
                "department_code": ["D1", "D1"],
                "lead_employee_id": [None, None],
                "started_on": [d(2025, 4, 1), d(2025, 4, 1)],
                "ended_on": [d(2026, 1, 1), None],
                "support_model": ["in_house", "outsourced"],
                "status": ["completed", "active"],
                "self_running": [True, None],
                "hours_saved_per_year": [200.0, 5000.0],
                "cost_yen": [100_000.0, 9_000_000.0],
            }
        ),
    )


def test_roi_by_hand() -> None:
    a = pdca.roi_assumptions(
        {
            "hourly_cost_yen": 4000,
            "attribution": 0.5,
            "confidence": 0.8,
            "training_budget_yen": {"2025": 1_000_000},
        }
    )
    r = pdca.roi(_tiny_data(), 2025, a)
    # benefits: (100 + 50 proposals + 200 project) h × 4,000 × 0.5 × 0.8 = 560,000
    # costs: 2 sessions × 3 h × 4,000 = 24,000 + budget 1,000,000 + project 100,000
    assert r.hours_saved == 350.0 and r.benefits_yen == pytest.approx(560_000)
    assert r.participant_hours == 6.0 and r.costs_yen == pytest.approx(1_124_000)
    assert r.roi_pct == pytest.approx((560_000 - 1_124_000) / 1_124_000 * 100)
    lines = pdca_text.roi_lines(r, "ja")
    assert any("時間単価 4,000円" in x and "寄与率 50%" in x for x in lines)
    assert not any("設定されていません" in x for x in lines)


@pytest.mark.parametrize(
    "section",
    [
        {"attribution": 1.5},
        {"hourly_cost_yen": "高い"},
        {"houry_cost_yen": 4000},
        {"training_budget_yen": {"R7": 1}},
        {"include_project_costs": "yes"},
    ],
)
def test_roi_settings_are_validated(section) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(pdca.PdcaError) as err:
        pdca.roi_assumptions(section)
    assert "[roi]" in err.value.ja and "[roi]" in err.value.en


def test_roi_defaults_are_documented() -> None:
    a = pdca.roi_assumptions({})
    assert (a.hourly_cost_yen, a.attribution, a.confidence) == (4000.0, 0.5, 0.8)
    assert dict(a.training_budget_yen) == {}


# ------------------------------------------------------------------ review log and adoption


def _log() -> pdca.ReviewLog:
    return pdca.ReviewLog(
        2024,
        dt.date(2025, 5, 20),
        {"proposer_rate": 0.5},
        (
            pdca.ReviewAction(
                "提案の少ない所属で改善ワークショップ",
                "DX推進課長",
                dt.date(2025, 9, 30),
                "proposals_per_100",
                "done",
                "8所属で実施",
            ),
            pdca.ReviewAction(
                "実装までの期限を決める",
                "業務改革担当係長",
                dt.date(2025, 12, 1),
                "implementation_rate",
                "in_progress",
            ),
        ),
    )


def test_review_log_round_trip_and_validation(tmp_path: Path) -> None:
    path = pdca.save_review_log(_log(), tmp_path / "reviews" / "FY2024.toml")
    assert pdca.load_review_log(path) == _log()
    assert pdca.load_review_log(tmp_path / "none.toml") is None
    path.write_text(
        path.read_text(encoding="utf-8").replace('"done"', '"finished"'), encoding="utf-8"
    )
    with pytest.raises(pdca.PdcaError, match="status"):
        pdca.load_review_log(path)


def test_review_followup_by_hand() -> None:
    rich = TINY.with_columns(
        pl.col("kpi").replace("proposer_rate", "proposals_per_100"),
        ci_low=pl.col("value") - 0.03,
        ci_high=pl.col("value") + 0.03,
    )
    follow = pdca.review_followup(_log(), rich, 2025)
    # 0.43 → 0.52: +0.09 / 0.43 = +20.9 %; SE √2 · (0.03 / 1.96) / 0.43 = 5.03 %: z = 4.2
    first = follow.row(0, named=True)
    assert first["change"] == pytest.approx(0.09 / 0.43)
    se = 2**0.5 * 0.03 / 1.959963984540054 / 0.43
    assert first["change_high"] - first["change"] == pytest.approx(1.959963984540054 * se)
    assert first["verdict"] == "effect" and first["moved"] == "better"
    table = pdca_tables.followup_display(follow, "ja")
    first_t, second_t = table.rows(named=True)
    assert first_t["状況"] == "完了" and first_t["指標の動き"] == "改善"
    assert first_t["前年度比（良い向きを＋、95%区間）"] == "+21%（+11%〜+31%）"
    assert first_t["前年度"] == "0.43件/100人" or first_t["前年度"].startswith("0.4")
    # implementation_rate is not in the frame: not judged, with the reason
    assert second_t["状況"] == "実施中"
    assert second_t["指標の動き"] == "判断できない（データ不足）: 前年度か今年度の値がない"


def _followup_frame(values: dict[int, tuple[float, float]]) -> pl.DataFrame:
    """City cells of proposals_per_100: fiscal year → (value, half-width of the 95 % interval)."""
    return pl.DataFrame(
        {
            "kpi": ["proposals_per_100"] * len(values),
            "fiscal_year": list(values),
            "group_by": ["city"] * len(values),
            "group": ["city"] * len(values),
            "value": [v for v, _ in values.values()],
            "ci_low": [v - h for v, h in values.values()],
            "ci_high": [v + h for v, h in values.values()],
            "suppressed": [False] * len(values),
        }
    )


def _one_action(kpi: str = "proposals_per_100") -> pdca.ReviewLog:
    action = pdca.ReviewAction("研修を増やす", "課長", dt.date(2025, 9, 30), kpi, "done")
    return pdca.ReviewLog(2024, dt.date(2025, 5, 20), {}, (action,))


@pytest.mark.parametrize(
    ("values", "verdict", "moved"),
    [
        # 50 → 50.5 ± 0.5: +1 % with SE 0.72 % (z 1.4); TOST against ±10 %: no change of
        # practical size
        ({2024: (50.0, 0.5), 2025: (50.5, 0.5)}, "no_effect", "unchanged"),
        # 50 → 40 ± 1: −20 % in the good direction (higher is better): worse, clearly
        ({2024: (50.0, 1.0), 2025: (40.0, 1.0)}, "effect", "worse"),
        # 50 → 52 ± 10: +4 % with SE 28 %: the data cannot tell — never "unchanged"
        ({2024: (50.0, 10.0), 2025: (52.0, 10.0)}, "inconclusive", None),
    ],
)
def test_review_followup_three_verdicts(values, verdict, moved) -> None:  # type: ignore[no-untyped-def]
    row = pdca.review_followup(_one_action(), _followup_frame(values), 2025).row(0, named=True)
    assert row["verdict"] == verdict and row["moved"] == moved
    if verdict == "inconclusive":
        assert row["mde"] == pytest.approx(2.8016 * 2**0.5 * 10 / 1.959963984540054 / 50, rel=1e-3)


def test_review_followup_judges_counts_without_an_engine_interval() -> None:
    """proposals_per_100 has no interval from the engine: its chance variation comes from the
    counts (Poisson). 1,400 proposals / 2,000 staff (70.0) → 1,878 / 2,030 (92.51): +32.2 %,
    SE √(1.8708² + 2.1348²) / 70 = 4.06 %."""
    frame = pl.DataFrame(
        {
            "kpi": ["proposals_per_100"] * 2,
            "fiscal_year": [2024, 2025],
            "group_by": ["city"] * 2,
            "group": ["city"] * 2,
            "value": [70.0, 100 * 1878 / 2030],
            "numerator": [1400.0, 1878.0],
            "denominator": [2000.0, 2030.0],
            "ci_low": [None, None],
            "ci_high": [None, None],
            "suppressed": [False] * 2,
        }
    )
    row = pdca.review_followup(_one_action(), frame, 2025).row(0, named=True)
    assert row["change"] == pytest.approx((100 * 1878 / 2030 - 70) / 70)
    se = math.hypot(100 * math.sqrt(1400) / 2000, 100 * math.sqrt(1878) / 2030) / 70
    assert row["change_high"] - row["change"] == pytest.approx(1.959963984540054 * se, rel=1e-5)
    assert (row["verdict"], row["moved"], row["reason"]) == ("effect", "better", None)
    hours = frame.with_columns(pl.Series("numerator", [10.5, 11.5]))  # not counts
    assert pdca.review_followup(_one_action(), hours, 2025)["reason"].item() == "no_interval"


def test_review_followup_smallest_share_decides_no_change() -> None:
    frame = _followup_frame({2024: (50.0, 0.5), 2025: (50.5, 0.5)})
    strict = pdca.review_followup(_one_action(), frame, 2025, smallest_share=0.01)
    assert strict["verdict"].item() == "inconclusive"  # ±1 % of interest: +1 % ± 1.4 % can't tell
    zero = _followup_frame({2024: (0.0, 0.5), 2025: (1.0, 0.5)})
    row = pdca.review_followup(_one_action(), zero, 2025).row(0, named=True)
    assert row["verdict"] == "inconclusive" and row["reason"] == "zero_base"


CONFIG = """# comment kept
[privacy]
min_cell_size = 10

[targets.2025]
participation_rate = 0.9  # inline comment kept
"""
PROPOSAL = (
    "# proposal\n\n[targets.2026]\nparticipation_rate = 0.95\n\n"
    "[targets.2026.phase.1]\ncompletion_rate = 0.8\n"
)


def test_with_targets_table_appends_refuses_and_forces() -> None:
    text = pdca.with_targets_table(CONFIG, PROPOSAL, 2026)
    assert text.startswith(CONFIG.rstrip("\n")) and "# inline comment kept" in text
    config = parse_config(tomllib.loads(text))
    assert config.target("participation_rate", 2026) == 0.95
    assert config.target("completion_rate", 2026, "phase", "1") == 0.8
    with pytest.raises(pdca.PdcaError, match=r"targets\.2026"):
        pdca.with_targets_table(text, PROPOSAL, 2026)
    again = pdca.with_targets_table(text, PROPOSAL.replace("0.95", "0.97"), 2026, force=True)
    assert parse_config(tomllib.loads(again)).target("participation_rate", 2026) == 0.97
    assert again.count("[targets.2026]") == 1 and "[targets.2025]" in again


HAND_WRITTEN = """# dxkpi.toml of a city (comments must survive adoption)
[privacy]
min_cell_size = 10

[targets.2026]
participation_rate = 0.9  # 全庁: 9割
proposals_per_100 = 90.0
# skill map
skill_gap = 0.4

# Managers lead: a hand-written override, not in any proposal.
[targets.2026.job_level.manager]
participation_rate = 0.97  # 管理職は率先して受講

[targets.2026.phase.1]
phase_reach = 0.9

# ROI comes after the targets.
[roi]
hourly_cost_yen = 4000
"""
ADOPTED = """# 来年度目標（案）
[targets.2026]
participation_rate = 0.93
proposer_rate = 0.52

[targets.2026.phase.1]
phase_reach = 0.92

[targets.2026.phase.3]
completion_rate = 0.75
"""


def test_adopt_force_changes_only_the_adopted_keys() -> None:
    """--force used to delete the whole [targets.2026] family (the manager override and its
    comments); now the diff is exactly the adopted keys."""
    out = pdca.with_targets_table(HAND_WRITTEN, ADOPTED, 2026, force=True)
    diff = [
        line
        for line in difflib.unified_diff(HAND_WRITTEN.splitlines(), out.splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == [
        "-participation_rate = 0.9  # 全庁: 9割",
        "+participation_rate = 0.93  # 全庁: 9割",
        "+proposer_rate = 0.52",
        "-phase_reach = 0.9",
        "+phase_reach = 0.92",
        "+",
        "+[targets.2026.phase.3]",
        "+completion_rate = 0.75",
    ]
    # the new city-wide key sits after the table's last key, before the override's comment
    assert out.index("proposer_rate = 0.52") < out.index("# Managers lead")
    config = parse_config(tomllib.loads(out))
    assert config.target("participation_rate", 2026, "job_level", "manager") == 0.97
    assert config.target("participation_rate", 2026) == 0.93
    assert config.target("proposals_per_100", 2026) == 90.0  # not in the proposal: kept
    assert config.target("completion_rate", 2026, "phase", "3") == 0.75
    # adopting the same proposal again changes nothing
    assert pdca.with_targets_table(out, ADOPTED, 2026, force=True) == out


def test_a_department_code_that_is_not_a_bare_key_is_quoted() -> None:
    odd = DEPARTMENTS.with_columns(pl.col("group").replace("D01", "総務.1"))
    text = pdca.targets_toml(
        pdca.proposed_targets(TINY, 2025), 2026, departments=pdca.department_targets(odd, 2025)
    )
    assert '# [targets.2026.department."総務.1"]' in text
    edited = text.replace(
        '# [targets.2026.department."総務.1"]', '[targets.2026.department."総務.1"]'
    )
    edited = edited.replace("# participation_rate = 0.7", "participation_rate = 0.7")
    out = pdca.with_targets_table(HAND_WRITTEN, edited, 2026, force=True)
    config = parse_config(tomllib.loads(out))
    assert config.target("participation_rate", 2026, "department", "総務.1") == 0.7


def test_adopt_command_force_keeps_the_hand_written_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command on a file: `dxkpi pdca --fy 2025 --adopt --yes --force`, then diff it."""
    from dxkpi.commands.pdca import command

    monkeypatch.chdir(tmp_path)
    Path("dxkpi.toml").write_text(HAND_WRITTEN, encoding="utf-8")
    (tmp_path / "reviews").mkdir()
    Path("reviews/FY2026-proposed-targets.toml").write_text(ADOPTED, encoding="utf-8")
    result = CliRunner().invoke(command, ["--fy", "2025", "--adopt", "--yes", "--force"])
    assert result.exit_code == 0, result.output
    after = Path("dxkpi.toml").read_text(encoding="utf-8")
    changed = [
        line
        for line in difflib.ndiff(HAND_WRITTEN.splitlines(), after.splitlines())
        if line[:2] in ("+ ", "- ")
    ]
    assert changed == [
        "- participation_rate = 0.9  # 全庁: 9割",
        "+ participation_rate = 0.93  # 全庁: 9割",
        "+ proposer_rate = 0.52",
        "- phase_reach = 0.9",
        "+ phase_reach = 0.92",
        "+ ",
        "+ [targets.2026.phase.3]",
        "+ completion_rate = 0.75",
    ]
    assert "[targets.2026.job_level.manager]\nparticipation_rate = 0.97  # 管理職は" in after
    assert not list(tmp_path.glob(".*.tmp"))


def test_adopt_refuses_what_it_cannot_write_in_place() -> None:
    """An inline year table cannot take a new key in place: an error, never a silent loss."""
    inline = "[targets]\n2026 = { participation_rate = 0.9 }\n"
    with pytest.raises(pdca.PdcaError, match="safely"):
        pdca.with_targets_table(inline, ADOPTED, 2026, force=True)


def test_adopt_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dxkpi.commands.pdca import command

    monkeypatch.chdir(tmp_path)
    Path("dxkpi.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "reviews").mkdir()
    Path("reviews/FY2026-proposed-targets.toml").write_text(PROPOSAL, encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(command, ["--fy", "2025", "--adopt"], input="n\n")
    assert refused.exit_code != 0 and Path("dxkpi.toml").read_text(encoding="utf-8") == CONFIG
    ok = runner.invoke(command, ["--fy", "2025", "--adopt", "--yes"])
    assert ok.exit_code == 0, ok.output
    assert (
        parse_config(tomllib.loads(Path("dxkpi.toml").read_text(encoding="utf-8"))).target(
            "participation_rate", 2026
        )
        == 0.95
    )
    log = pdca.load_review_log(Path("reviews/FY2025.toml"))
    assert log is not None and dict(log.adopted_targets) == {"participation_rate": 0.95}
    twice = runner.invoke(command, ["--fy", "2025", "--adopt", "--yes"])
    assert isinstance(twice.exception, pdca.PdcaError) and "--force" in str(twice.exception)
    forced = runner.invoke(command, ["--fy", "2025", "--adopt", "--yes", "--force"])
    assert forced.exit_code == 0 and not list(tmp_path.glob(".*.tmp"))


def test_pdf_without_chromium_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dxkpi.commands import pdca as cmd

    monkeypatch.setattr(cmd.shutil, "which", lambda _name: None)
    result = CliRunner().invoke(cmd.command, ["--fy", "2025", "--pdf", "--data", str(tmp_path)])
    assert isinstance(result.exception, pdca.PdcaError)
    message = str(result.exception)
    assert "apt-get install chromium" in message and "Chromium" in message
    with pytest.raises(pdca.PdcaError, match="apt-get install chromium"):
        cmd.print_pdf(tmp_path / "a.html", tmp_path / "a.pdf")


# ------------------------------------------------------------------ the report itself


class _Tables(HTMLParser):
    """Every <table> of a page as (caption, header, rows) of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[str], list[list[str]]]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._caption: list[str] | None = None
        self._head = False

    def handle_starttag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        if tag == "table":
            self.tables.append(("", [], []))
        elif tag == "caption":
            self._caption = []
        elif tag == "thead":
            self._head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None and self.tables:
            _cap, head, rows = self.tables[-1]
            self.tables[-1] = ("".join(self._caption), head, rows)
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            (
                self.tables[-1][1].extend(self._row)
                if self._head
                else self.tables[-1][2].append(self._row)
            )
            self._row = None
        elif tag == "thead":
            self._head = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)


def tables_of(page: str) -> list[tuple[str, list[str], list[list[str]]]]:
    parser = _Tables()
    parser.feed(page)
    return [t for t in parser.tables if t[1]]


#: Display columns that count people; every number shown in them must be ≥ k.
PEOPLE_COLUMNS = (
    "受講者",
    "提案者数",
    "職員数",
    "受講者数",
    "attendees",
    "proposers",
    "staff",
    "trained",
)


def assert_no_small_group(page: str, k: int) -> int:
    """Every people-count cell of every table is ≥ k or ―; returns the number checked."""
    checked = 0
    for caption, head, rows in tables_of(page):
        for col, name in enumerate(head):
            if name not in PEOPLE_COLUMNS:
                continue
            for row in rows:
                cell = row[col]
                if cell in ("―", ""):
                    continue
                number = int(re.sub(r"[^0-9]", "", cell))
                assert number >= k, f"{caption}: {name} = {cell} < k = {k}"
                checked += 1
    return checked


@pytest.fixture
def pdca_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (dxkpi.toml, reviews/, the report templates) as cwd."""
    assert "pdca_review" in {r.name for r in REPORTS}  # the runner knows the PDCA report
    shutil.copy(ROOT / "dxkpi.toml", tmp_path / "dxkpi.toml")
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")  # the product's report templates
    pdca.save_review_log(_log(), tmp_path / "reviews" / "FY2024.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(project: Path, sample_city, fy: int, k: int):  # type: ignore[no-untyped-def]
    from dxkpi.reports.runner import run_reports

    result = run_reports(
        fiscal_year=fy,
        project=Project(project),
        data_dir=sample_city.processed,
        reports_dir=project / "reports",
        min_cell_size=k,
        only=("pdca_review",),
    )
    assert result.ok, result.results[0].error
    return result.folder


@pytest.mark.xdist_group("report_run")
def test_report_latest_year_carries_decisions_and_suppresses(
    pdca_project: Path, sample_city
) -> None:  # type: ignore[no-untyped-def]
    from dxkpi.reports.runner import external_urls

    folder = _run(pdca_project, sample_city, 2025, 10)
    page = (folder / "pdca_review.html").read_text(encoding="utf-8")
    assert external_urls(page) == []
    for heading in (
        "今年度のまとめ",
        "前年度の決定事項",
        "行動は変わったか",
        "KPI → KGI",
        "研修プログラムの評価",
        "DX 成熟度",
        "成功事例",
        "投資対効果",
        "来年度の計画",
    ):
        assert heading in page, heading
    # last year's decisions: text, role, status and whether the KPI moved
    assert "提案の少ない所属で改善ワークショップ" in page and "DX推進課長" in page
    # next year's roll-out: the design table and its sentences (phase 3 is still to roll out)
    assert "次年度の導入計画と検出できる効果" in page and "8所属が参加すると" in page
    assert "フェーズ3（実践）" in page and "推奨: " in page
    assert "完了" in page and "実施中" in page
    # printed: numbered pages, sections marked (they flow; test_browser prints the page)
    assert 'counter(page) " / " counter(pages)' in page
    assert page.count('class="dxkpi-section"') >= 9
    assert assert_no_small_group(page, 10) > 0
    proposal = folder / "FY2026-proposed-targets.toml"
    parse_config(tomllib.loads(proposal.read_text(encoding="utf-8")))
    assert "[targets.2026]" in proposal.read_text(encoding="utf-8")


@pytest.mark.xdist_group("report_run")
def test_report_first_year_says_what_it_cannot_show(pdca_project: Path, sample_city) -> None:  # type: ignore[no-untyped-def]
    k = 20  # FY2022's pilot courses have 14–28 attendees: some must be hidden
    folder = _run(pdca_project, sample_city, 2022, k)
    page = (folder / "pdca_review.html").read_text(encoding="utf-8")
    assert "前年度の値はありません" in page
    assert "2021年度のレビュー記録" in page
    assert "受講者が少ないため秘匿" in page
    # FY2023 planned from FY2022 alone: no estimate yet to plan against, so no recommendation
    assert "8所属が参加すると" in page and "推奨案は示しません" in page
    assert assert_no_small_group(page, k) > 0
    assert "Traceback" not in page


def test_data_through_leaves_out_later_personnel_orders():
    data = tiny_city(assignments=ROSTER)
    assert data_through(data, 2024).require("assignments").collect().height == 0
    kept = data_through(data, 2025).require("assignments").collect()
    assert kept.height == 4 and kept["valid_from"].max() == dt.date(2025, 10, 1)
