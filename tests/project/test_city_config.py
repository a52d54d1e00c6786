"""``[city]`` of dxkpi.toml: the 全国地方公共団体コード with its check digit, and the category."""

from __future__ import annotations

import pytest

from dxkpi.catalogue.municipality import check_digit, is_municipality_code, size_band
from dxkpi.core.errors import ConfigError
from dxkpi.project.config import CityConfig, parse_config

#: Real codes from the national list (code4fukui/localgovjp, lgcode): 札幌市, 函館市, 小樽市,
#: 当別町, 新篠津村, 千代田区, 浜松市.
REAL_CODES = ("011002", "012025", "012033", "013030", "013048", "131016", "221309")


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass_and_every_other_check_digit_fails(code: str) -> None:
    assert is_municipality_code(code)
    assert parse_config({"city": {"code": code}}).city.code == code
    for wrong in set("0123456789") - {code[5]}:
        assert not is_municipality_code(code[:5] + wrong)


def test_check_digit_by_hand() -> None:
    """22130: 2·6 + 2·5 + 1·4 + 3·3 + 0·2 = 35; 35 mod 11 = 2; (11 − 2) mod 10 = 9."""
    assert check_digit("22130") == 9
    assert check_digit("01303") == 0  # 0 + 5 + 12 + 0 + 6 = 23; 23 mod 11 = 1; 10 mod 10 = 0


@pytest.mark.parametrize(
    ("value", "ja", "en"),
    [
        ("221308", "検査数字", "check digit"),
        ("991234", "都道府県コード", "prefecture code"),
        ("22130", "6桁", "six ASCII digits"),
        ("２２１３０９", "6桁", "six ASCII digits"),
        (221309, "引用符", "in quotes"),
    ],
)
def test_an_invalid_code_is_refused_naming_file_and_key(value: object, ja: str, en: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"city": {"code": value}}, source="dxkpi.toml")
    message = caught.value.message()
    assert ja in message and en in message
    assert "dxkpi.toml" in message and "city.code" in message
    assert message.index(ja) < message.index(en)  # Japanese first


def test_category_in_either_language_and_unknown_keys_refused() -> None:
    assert parse_config({"city": {"category": "中核市"}}).city == CityConfig(None, "core_city")
    assert parse_config({"city": {"category": "town_village"}}).city.category == "town_village"
    with pytest.raises(ConfigError, match=r"city\.category"):
        parse_config({"city": {"category": "政令市"}})
    with pytest.raises(ConfigError, match=r"city\.name"):
        parse_config({"city": {"name": "浜松市"}})
    assert parse_config({}).city == CityConfig()


def test_size_bands_edges() -> None:
    assert [size_band(n) for n in (0, 299, 300, 999, 1000, 2999, 3000, 9999, 10000)] == [
        "lt300",
        "lt300",
        "300_999",
        "300_999",
        "1000_2999",
        "1000_2999",
        "3000_9999",
        "3000_9999",
        "ge10000",
    ]
