"""The programme review per course: satisfaction (level 1), the follow-up survey's
self-reported application and manager support (level 3) and the behavioural effect side by side.

Uses the tiny city of :mod:`dxkpi.kpi.examples` (its follow-up answers are hand-computable: in
FY2025 the latest answers about C2 are E1's 60-day "applied 2, support 4" and E2's 30-day
"applied 4, support 5"; nobody answered about C1 in FY2025).
"""

from __future__ import annotations

import polars as pl
import pytest

from dxkpi import pdca
from dxkpi.catalogue.labels import SUPPRESSED_MARK
from dxkpi.kpi.examples import tiny_city
from dxkpi.models import courses as C
from dxkpi.project.config import Config, PrivacyConfig
from dxkpi.reports import pdca_tables

NO_EFFECTS = C.CourseEffects("course", pl.DataFrame(schema=C.EFFECT_COLUMNS), 0.5, 0.05, 0, 30, 10)


def _config(k: int) -> Config:
    return Config(privacy=PrivacyConfig(min_cell_size=k))


def test_course_followup_rates_per_course() -> None:
    followup = pdca.course_followup(tiny_city(), _config(1), 2025)
    assert followup is not None
    rows = {r["course_id"]: r for r in followup.iter_rows(named=True)}
    c2 = rows["C2"]
    assert (c2["applied_rate"], c2["applied_answers"]) == (0.5, 2.0)
    assert (c2["support_rate"], c2["support_answers"]) == (1.0, 2.0)
    # Wilson 95% of 1 of 2: 0.0945…0.9055
    assert (c2["applied_ci_low"], c2["applied_ci_high"]) == (
        pytest.approx(0.09453, abs=1e-4),
        pytest.approx(0.90547, abs=1e-4),
    )
    assert rows["C1"]["applied_rate"] is None and rows["C1"]["applied_answers"] == 0.0
    assert not any(r["followup_suppressed"] for r in rows.values())
    assert pdca.course_followup(tiny_city(followup_survey=None), _config(1), 2025) is None


def test_review_shows_the_three_levels_side_by_side() -> None:
    data = tiny_city()
    followup = pdca.course_followup(data, _config(1), 2025)
    review = pdca.course_review(data, 2025, NO_EFFECTS, 1, followup=followup)
    assert review["course_id"].to_list() == ["C1", "C2"]
    c2 = review.filter(pl.col("course_id") == "C2").row(0, named=True)
    assert (c2["attendees"], c2["applied_rate"], c2["support_rate"]) == (2, 0.5, 1.0)
    table = pdca_tables.course_display(review, "ja")
    assert table.columns[4:8] == [
        "満足度(1〜5)【レベル1】",
        "業務で活用（自己申告）【レベル3】",
        "上司の支援あり",
        "効果 件/100人・年（95%区間）【レベル3・データ】",
    ]
    applied = table["業務で活用（自己申告）【レベル3】"].to_list()
    assert applied == ["回答なし", "50.0%（9.5%〜90.5%、2件）"]
    assert table["上司の支援あり"][1].startswith("100.0%")
    english = pdca_tables.course_display(review, "en")["applied at work (self-reported) [level 3]"]
    assert english[1] == "50.0% (9.5%–90.5%, 2 answers)"
    note = pdca_tables.followup_note("ja")
    assert "自己申告" in note and "証拠ではありません" in note
    assert "self-reported" in pdca_tables.followup_note("en")


def test_review_without_a_survey_and_with_suppression() -> None:
    data = tiny_city()
    bare = pdca.course_review(data, 2025, NO_EFFECTS, 1)
    assert bare["followup_suppressed"].null_count() == bare.height
    assert set(pdca_tables.course_display(bare, "ja")["業務で活用（自己申告）【レベル3】"]) == {""}
    hidden = pdca.course_followup(data, _config(5), 2025)
    assert hidden is not None
    review = pdca.course_review(data, 2025, NO_EFFECTS, 1, followup=hidden)
    c2 = review.filter(pl.col("course_id") == "C2").row(0, named=True)
    assert c2["followup_suppressed"] and c2["applied_rate"] is None  # 2 respondents < k = 5
    shown = pdca_tables.course_display(review, "ja")["業務で活用（自己申告）【レベル3】"]
    assert shown[1] == SUPPRESSED_MARK
