"""A multi-year plan's progress as people see it: the display table and the chart."""

from __future__ import annotations

import polars as pl

from dxkpi.kpi.plans import PROGRESS_SCHEMA
from dxkpi.reports import charts
from dxkpi.reports.views import plan_table

PROGRESS = pl.DataFrame(
    [
        ("2025-2027", "end", "proposer_rate", 2025, 0.475, 0.5, "target", 0.6, 1.0, "C"),
        ("2025-2027", "end", "proposer_rate", 2026, 0.52, 0.5333, "linear", 0.6, 0.5, "B"),
        ("2025-2027", "end", "proposer_rate", 2027, None, 0.6, "end", 0.6, 0.0, "D"),
        ("2025-2027", "cumulative", "new_leaders", 2025, 30.0, 25.0, "share", 75.0, 1.0, "A"),
        ("2025-2027", "cumulative", "proposals", 2025, 1877.6, 2000.0, "share", 6000.0, 1.0, "C"),
    ],
    schema=PROGRESS_SCHEMA,
    orient="row",
)


def test_plan_table_in_japanese_and_english() -> None:
    ja = plan_table(PROGRESS, "ja")
    assert ja.columns == ["指標", "年度", "実績", "計画の道筋", "道筋の根拠", "計画の目標", "評価"]
    first, middle, last, leaders, proposals = ja.rows()
    assert first == (
        "提案者率（最終目標）",
        "2025年度",
        "47.5%",
        "50.0%",
        "その年度の目標",
        "60.0%",
        "C（目標未達・目標を下回る）",
    )
    assert middle[1] == "2026年度（途中）" and middle[4] == "基準年度の実績から最終目標への直線"
    assert last[2] == "" and last[6] == ""  # not begun: the path only, no grade
    assert leaders[:4] == ("新たなDX推進リーダー数（累計）", "2025年度", "30人", "25人")
    assert proposals[2:6] == ("1,878件", "2,000件", "累計目標の年割り", "6,000件")
    en = plan_table(PROGRESS, "en").rows()
    assert en[3][:4] == ("New DX leaders (cumulative)", "FY2025", "30 people", "25 people")
    assert en[1][1] == "FY2026 (in progress)" and en[0][0] == "Proposer rate (end)"


def test_plan_chart_draws_actual_and_path_per_target() -> None:
    spec = charts.plan_chart(PROGRESS, "ja").to_dict()
    panels = spec["vconcat"]
    assert len(panels) == 3  # proposer rate, new leaders, proposals
    values = spec["datasets"][panels[0]["data"]["name"]]
    got = sorted((v["year"], v["series"], v["value"]) for v in values)
    assert got == [
        ("2025年度", "実績", 0.475),
        ("2025年度", "計画の道筋", 0.5),
        ("2026年度", "実績", 0.52),
        ("2026年度", "計画の道筋", 0.5333),
        ("2027年度", "計画の道筋", 0.6),
    ]
    assert panels[1]["title"]["text"] == "新たなDX推進リーダー数（累計）　計画の進捗"
