"""Display tables: suppressed values never shown, labels in the report's language."""

from __future__ import annotations

import polars as pl

from dxkpi.catalogue.format import format_value
from dxkpi.reports.views import SUPPRESSED_MARK, group_text, kpi_table


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
        "C (behind)",
        "",
    )


def test_labels() -> None:
    assert group_text("city", "city", None, "ja") == "全庁"
    assert group_text("dimension", "literacy", None, "ja") == "リテラシー"
    assert group_text("department|phase", "010100|2", None, "ja") == "010100｜スキル習得"
    assert group_text("job_level", "manager", None, "en") == "manager"
    assert format_value(0.5, "ratio") == "50.0%" and format_value(76222.0, "hours") == "76,222"
