"""``[plan.<first>-<last>]`` of dxkpi.toml: multi-year plans with end and cumulative targets."""

from __future__ import annotations

import tomllib

import pytest

from dxkpi.core.errors import ConfigError
from dxkpi.project.config import Plan, load_config, parse_config
from tests.helpers import ROOT

TEXT = """
[plan.2025-2027]
name = "第2期DX人材育成計画"
[plan.2025-2027.end]
participation_rate = 0.95
proposals_per_100 = 120
[plan.2025-2027.cumulative]
leaders = 75  # DX推進リーダー 75人（累計）

[plan."2028-2030"]
base_year = 2026
cumulative = { proposals = 4000 }
"""


def test_plans_parse_in_either_key_form() -> None:
    first, second = parse_config(tomllib.loads(TEXT)).plans
    assert first == Plan(
        "2025-2027",
        2025,
        2027,
        2024,
        "第2期DX人材育成計画",
        {"participation_rate": 0.95, "proposals_per_100": 120.0},
        {"leaders": 75.0},
    )
    assert first.years == (2025, 2026, 2027) and first.title == "第2期DX人材育成計画"
    assert (second.key, second.years, second.base_year) == ("2028-2030", (2028, 2029, 2030), 2026)
    assert dict(second.cumulative) == {"proposals": 4000.0} and second.title == "2028-2030"
    assert parse_config({}).plans == ()


def test_the_shipped_dxkpi_toml_documents_a_valid_plan() -> None:
    config = load_config(ROOT / "dxkpi.toml")
    assert [p.key for p in config.plans] == ["2025-2027"]
    assert config.plans[0].cumulative["new_leaders"] == 75.0


@pytest.mark.parametrize(
    ("raw", "key", "ja", "en"),
    [
        ({"2025": {"cumulative": {"leaders": 1}}}, "plan.2025", "初年度-最終年度", "first-last"),
        ({"2027-2025": {"cumulative": {"leaders": 1}}}, "plan.2027-2025", "初年度", "first-last"),
        ({"2020-2030": {"cumulative": {"leaders": 1}}}, "plan.2020-2030", "長すぎ", "too long"),
        ({"2025-2027": {}}, "plan.2025-2027", "目標がありません", "no targets"),
        (
            {"2025-2027": {"end": {"participation": 0.9}}},
            "plan.2025-2027.end.participation",
            "不明な指標ID",
            "unknown KPI id",
        ),
        (
            {"2025-2027": {"end": {"completion_rate": 0.9}}},
            "plan.2025-2027.end.completion_rate",
            "全庁の値が1つではない",
            "no single city-wide value",
        ),
        (
            {"2025-2027": {"cumulative": {"leader": 75}}},
            "plan.2025-2027.cumulative.leader",
            "累計目標にできる項目",
            "not a plan total",
        ),
        (
            {"2025-2027": {"cumulative": {"leaders": 0}}},
            "plan.2025-2027.cumulative.leaders",
            "正の数",
            "must be positive",
        ),
        (
            {"2025-2027": {"base_year": 2025, "cumulative": {"leaders": 75}}},
            "plan.2025-2027.base_year",
            "基準年度",
            "base year",
        ),
        (
            {"2025-2027": {"cumulative": {"leaders": 75}, "goal": 1}},
            "plan.2025-2027.goal",
            "不明なキー",
            "unknown key",
        ),
        (
            {
                "2025-2027": {"cumulative": {"leaders": 75}},
                "2027-2029": {"cumulative": {"leaders": 90}},
            },
            "plan.2027-2029",
            "[plan.2025-2027] と重なって",
            "overlaps [plan.2025-2027]",
        ),
    ],
)
def test_a_wrong_plan_is_refused_in_both_languages(
    raw: dict[str, object], key: str, ja: str, en: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"plan": raw}, source="dxkpi.toml")
    message = caught.value.message()
    assert f"「{key}」" in message and f"'{key}'" in message and "dxkpi.toml" in message
    assert ja in message and en in message
