"""Display tables: suppressed values never shown, labels in the report's language."""

from __future__ import annotations

import polars as pl

from dxkpi.catalogue.format import format_value
from dxkpi.kpi.grading import grade
from dxkpi.reports.views import (
    SUPPRESSED_MARK,
    attainment_change_table,
    grade_legend,
    grade_text,
    group_text,
    kpi_table,
)


def _rich(**over: object) -> pl.DataFrame:
    row = {
        "kpi": "participation_rate",
        "fiscal_year": 2025,
        "group_by": "department",
        "group": "010100",
        "numerator": 7.0,
        "denominator": 9.0,
        "value": 0.777777,
        "ci_low": None,
        "ci_high": None,
        "target": 0.9,
        "grade": None,
        "suppressed": True,
        "n_people": 9,
        "reason": "suppressed",
        "name_ja": "研修参加率",
        "name_en": "Training participation rate",
        "unit": "ratio",
        "kind": "kpi",
        "group_name": "総務課",
    }
    row.update(over)
    return pl.DataFrame([row])


def test_suppressed_cell_shows_only_the_mark() -> None:
    table = kpi_table(_rich(), 2025, "ja", group_by="department")
    cells = table.row(0)
    assert cells[2:5] == (SUPPRESSED_MARK, SUPPRESSED_MARK, SUPPRESSED_MARK)
    text = " ".join(str(c) for c in cells)
    assert "77.8" not in text and "7" not in text.replace("90.0%", "")


def test_shown_cell_has_value_counts_target_and_grade() -> None:
    table = kpi_table(
        _rich(suppressed=False, grade="C", reason=None), 2025, "en", group_by="department"
    )
    assert table.row(0) == (
        "Training participation rate",
        "総務課（010100）",
        "77.8%",
        "7",
        "9",
        "90.0%",
        "C (behind, below target)",
        "",
    )


def test_labels() -> None:
    assert group_text("city", "city", None, "ja") == "全庁"
    assert group_text("dimension", "literacy", None, "ja") == "リテラシー"
    assert group_text("department|phase", "010100|2", None, "ja") == "010100｜スキル習得"
    assert group_text("job_level", "manager", None, "en") == "manager"
    assert format_value(0.5, "ratio") == "50.0%" and format_value(76222.0, "hours") == "76,222"


# ------------------------------------------------------------ one presentation rule set (#15)


def test_every_number_carries_its_unit() -> None:
    hours = kpi_table(
        _rich(
            kpi="hours_saved",
            group_by="city",
            group="city",
            numerator=32368.0,
            denominator=None,
            value=32368.0,
            target=70000.0,
            grade="C",
            suppressed=False,
            reason=None,
            name_ja="業務削減時間",
            unit="hours",
            kind="kgi",
            group_name=None,
        ),
        2025,
        "ja",
    ).row(0)
    assert hours[2] == "32,368時間" and hours[5] == "70,000時間"
    assert hours[3] == "32,368" and hours[4] == ""  # a total has no denominator


def test_scores_state_their_scale_and_counts_stay_whole() -> None:
    score = kpi_table(
        _rich(
            kpi="maturity_score",
            group_by="city",
            group="city",
            numerator=4853.0,
            denominator=1700.0,
            value=4853 / 1700,
            target=3.0,
            grade="C",
            suppressed=False,
            reason=None,
            name_ja="成熟度スコア",
            unit="score",
            group_name=None,
        ),
        2025,
        "ja",
    ).row(0)
    assert score[0] == "成熟度スコア（0〜5）"
    assert score[2] == "2.85点" and score[3:5] == ("4,853", "1,700") and score[5] == "3.00点"
    hours = kpi_table(
        _rich(
            kpi="insourcing_rate",
            numerator=2249.5,
            denominator=4000.0,
            value=2249.5 / 4000,
            suppressed=False,
            reason=None,
            name_ja="内製化率",
        ),
        2025,
        "ja",
        group_by="department",
    ).row(0)
    assert hours[3] == "2,249.5"  # attendee-hours: halves kept, never 2,249.50


def test_a_difference_puts_its_two_means_in_the_note_not_under_numerator() -> None:
    gap = kpi_table(
        _rich(
            kpi="maturity_gap",
            group_by="city",
            group="city",
            numerator=3.125,
            denominator=2.5,
            value=0.625,
            target=0.5,
            grade="C",
            suppressed=False,
            reason=None,
            name_ja="成熟度の温度差",
            unit="score_diff",
            group_name=None,
        ),
        2025,
        "ja",
    ).row(0)
    assert gap[2] == "+0.63点" and gap[3:5] == ("", "")
    assert gap[7] == "管理職の平均 3.13点 − 一般職員の平均 2.50点"
    # lower is better: a C is above the target, never read as 目標超過 for an A
    assert gap[6] == "C（目標未達・目標を上回る）"


def test_grade_words_follow_the_kpi_direction() -> None:
    lower = _rich(
        kpi="skill_gap",
        unit="score",
        value=0.4,
        target=0.5,
        grade="A",
        suppressed=False,
        reason=None,
        name_ja="スキルギャップ",
    )
    assert kpi_table(lower, 2025, "ja", group_by="department").row(0)[6] == (
        "A（目標を下回る・低いほど良い）"
    )
    higher = _rich(value=0.95, grade="A", suppressed=False, reason=None)
    assert kpi_table(higher, 2025, "ja", group_by="department").row(0)[6] == "A（目標を上回る）"
    assert "目標超過" not in grade_text("A", "ja")


def test_the_grade_legend_states_the_band_of_the_grading_rule() -> None:
    legend = grade_legend(0.05, "ja")
    assert "B＝目標±5%以内" in legend
    assert "目標 80.0% なら 76.0%〜84.0%" in legend
    # the band it states is the one kpi.grading applies: 82% against 80% is B, 84.1% is A
    assert grade(0.82, 0.80, True, 0.05) == "B" and grade(0.841, 0.80, True, 0.05) == "A"
    assert grade(0.759, 0.80, True, 0.05) == "C"
    assert "B: within ±2.5% of target" in grade_legend(0.025, "en")


def test_skill_map_change_is_in_percent_like_the_other_tables() -> None:
    change = pl.DataFrame(
        {
            "group": ["city", "city"],
            "skill_area": ["data", "security"],
            "previous": [0.66, None],
            "current": [0.70, 0.5],
            "change": [0.70 - 0.66, None],
        }
    )
    ja = attainment_change_table(change, "ja")
    assert ja.columns == ["スキル領域", "前年度", "今年度", "変化"]
    assert ja.row(0) == ("データ活用", "66.0%", "70.0%", "+4.0ポイント")
    assert ja.row(1)[1:] == ("", "50.0%", "")
    assert attainment_change_table(change, "en").row(0)[3] == "+4.0 pt"
