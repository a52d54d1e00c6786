"""Parsers: every date, fiscal-year, number, boolean and code form of the contract."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dxkpi.catalogue.contract import DATASETS
from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.parse import (
    id_fault,
    id_problem,
    number_fault,
    parse_boolean,
    parse_code,
    parse_date,
    parse_fiscal_year,
    parse_id,
    parse_integer,
    parse_number,
    parse_text,
)


def _one(expr_fn, value):  # type: ignore[no-untyped-def]
    return pl.DataFrame({"x": [value]}, schema={"x": pl.String}).select(expr_fn(pl.col("x"))).item()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-04-01", dt.date(2025, 4, 1)),
        ("2025/4/1", dt.date(2025, 4, 1)),
        ("2025/04/01", dt.date(2025, 4, 1)),
        ("2025年4月1日", dt.date(2025, 4, 1)),
        ("令和7年4月1日", dt.date(2025, 4, 1)),
        ("R7.4.1", dt.date(2025, 4, 1)),
        ("r7.4.1", dt.date(2025, 4, 1)),
        ("Ｒ７．４．１", dt.date(2025, 4, 1)),
        ("２０２５/４/１", dt.date(2025, 4, 1)),
        ("令和元年5月1日", dt.date(2019, 5, 1)),
        ("H31.4.30", dt.date(2019, 4, 30)),
        ("平成31年4月30日", dt.date(2019, 4, 30)),
        ("昭和64年1月7日", dt.date(1989, 1, 7)),
        ("2025-04-01 00:00:00", dt.date(2025, 4, 1)),
        ("45748", dt.date(2025, 4, 1)),  # Excel serial
        ("20250401", dt.date(2025, 4, 1)),
        (" 2025-04-01\u00a0", dt.date(2025, 4, 1)),
        ("H31.5.1", None),  # 平成 ended on 2019-04-30
        ("令和元年4月30日", None),  # 令和 began on 2019-05-01
        ("令和7年2月30日", None),
        ("2025-13-01", None),
        ("来月", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw: str | None, expected: dt.date | None) -> None:
    assert _one(parse_date, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025", 2025),
        ("2025年度", 2025),
        ("令和7年度", 2025),
        ("R7", 2025),
        ("R7年度", 2025),
        ("FY2025", 2025),
        ("２０２５", 2025),
        ("令和元年度", 2019),
        ("平成30年度", 2018),
        ("X", None),
        ("", None),
        ("12345", None),
    ],
)
def test_parse_fiscal_year(raw: str, expected: int | None) -> None:
    assert _one(parse_fiscal_year, raw) == expected


@pytest.mark.parametrize(
    ("raw", "number", "integer"),
    [
        ("12", 12.0, 12),
        ("１２", 12.0, 12),
        ("1,234", 1234.0, 1234),
        ("1,234円", 1234.0, 1234),
        ("△5", -5.0, -5),
        ("▲1.5", -1.5, None),
        ("3.5", 3.5, None),
        ("1e3", 1000.0, 1000),
        ("12,345.6", 12345.6, None),
        ("1 234", 1234.0, 1234),
        ("1,234 円", 1234.0, 1234),
        ("- 5", -5.0, -5),
        ("1e309", None, None),  # overflows to infinity: not a number the contract accepts
        ("-1e309", None, None),
        ("1.234,5", None, None),  # European decimal comma: ambiguous
        ("12,34", None, None),  # a comma that does not group three digits
        ("1.234.567", None, None),
        ("1,", None, None),
        ("nan", None, None),
        ("inf", None, None),
        ("abc", None, None),
        ("", None, None),
    ],
)
def test_parse_number_and_integer(raw: str, number: float | None, integer: int | None) -> None:
    assert _one(parse_number, raw) == number
    assert _one(parse_integer, raw) == integer


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        ("1e309", "finite"),
        ("-1e309", "finite"),
        ("１e３０９", "finite"),
        ("1.234,5", "separators"),
        ("12,34", "separators"),
        ("1,2345", "separators"),
        ("1234,5", "separators"),
        ("1.234.567", "separators"),
        ("12 34", "separators"),
        (",5", "separators"),
        ("1,234", None),
        ("12,345.6", None),
        ("1,234,567円", None),
        ("3", None),
        ("abc", None),  # not a number at all: the parse rule says so
        ("", None),
        (None, None),
    ],
)
def test_number_faults_are_named(raw: str | None, fault: str | None) -> None:
    assert _one(number_fault, raw) == fault


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("はい", True),
        ("○", True),
        ("〇", True),
        ("false", False),
        ("0", False),
        ("いいえ", False),
        ("×", False),
        ("maybe", None),
        ("", None),
    ],
)
def test_parse_boolean(raw: str, expected: bool | None) -> None:
    assert _one(parse_boolean, raw) == expected


def test_codes_accept_english_and_japanese() -> None:
    col = DATASETS["staff"].column("talent_type")
    values = ["leader", "推進リーダー", "推進リーダー型", "LEADER", "", None, "未設定", "エース"]
    got = pl.DataFrame({"x": values}).select(parse_code(pl.col("x"), col).alias("x"))["x"].to_list()
    assert got == [
        "leader",
        "leader",
        "leader",
        "leader",
        "unassigned",
        "unassigned",
        "unassigned",
        None,
    ]
    phase = DATASETS["courses"].column("phase")
    got = pl.DataFrame({"x": ["1", "スキル習得", "実践", "4"]}).select(
        parse_code(pl.col("x"), phase).alias("x")
    )["x"]
    assert got.dtype == pl.Int8
    assert got.to_list() == [1, 2, 3, None]


def test_ids_keep_leading_zeros_and_normalise_width() -> None:
    assert _one(parse_id, "010001") == "010001"
    assert _one(parse_id, "０１０００１ ") == "010001"
    assert _one(parse_id, "\u3000010001\u00a0") == "010001"


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        ("010001", None),
        ("０１０００１", None),  # full-width digits are normalised first
        ("E-01_a.b", None),
        ("x" * 64, None),
        ("x" * 65, "id_format"),
        ("000\u200b124", "id_format"),
        ("q/../../x", "id_format"),
        ("..", "id_format"),
        ("-rf", "id_format"),
        ("01 0100", "id_format"),
        ("総務01", "id_format"),
        ("", None),
        (None, None),
    ],
)
def test_identifier_character_set(raw: str | None, fault: str | None) -> None:
    assert _one(id_fault, raw) == fault


@pytest.mark.parametrize(
    ("text", "ja", "en"),
    [
        (
            "000\u200b124",
            "4文字目に U+200B ZERO WIDTH SPACE（ゼロ幅文字（見えない文字））",
            "U+200B ZERO WIDTH SPACE (zero-width character (invisible)) at position 4",
        ),
        (
            "q/../x",
            "2文字目に U+002F SOLIDUS（パス区切り文字）",
            "U+002F SOLIDUS (path separator) at position 2",
        ),
        ("a\tb", "2文字目に U+0009（制御文字）", "U+0009 (control character) at position 2"),
        (
            ".x",
            "1文字目が U+002E FULL STOP（先頭は英字か数字）",
            "starts with U+002E FULL STOP (an identifier starts with a letter or digit)",
        ),
        ("x" * 70, "70文字（64文字まで）", "70 characters (at most 64)"),
    ],
)
def test_identifier_problem_names_the_character_never_the_id(text: str, ja: str, en: str) -> None:
    assert id_problem(text) == (ja, en)
    assert text not in ja + en


def test_free_text_is_verbatim() -> None:
    assert _one(parse_text, "①郎 ㈱ＡＢＣ ") == "①郎 ㈱ＡＢＣ "
    assert _one(parse_text, "   ") is None


def test_fiscal_year_of_date() -> None:
    dates = [dt.date(2025, 3, 31), dt.date(2025, 4, 1), dt.date(2026, 3, 31)]
    got = pl.DataFrame({"d": dates}).select(fiscal_year_of(pl.col("d")))["d"].to_list()
    assert got == [2024, 2025, 2025]
