"""Municipalities, declared once: the 全国地方公共団体コード and its check digit, the four
categories a city is compared within, the staff size bands and the 47 prefectures.

A municipality is identified by its six-digit 全国地方公共団体コード (local government code): two
digits of prefecture (01 北海道 … 47 沖縄県), three of the municipality, and a check digit —
(11 − Σ dᵢ·wᵢ mod 11) mod 10 with the weights 6, 5, 4, 3, 2 over the first five digits (総務省
「全国地方公共団体コード」; it holds for all 1,916 codes of the 1,741 municipalities and 175
wards). Cities are compared with peers of their kind: the category (指定都市 / 中核市 / 一般市 /
町村) and the staff size band, computed from the staff list.

The Japanese and English words of these codes are label families of
:mod:`dxkpi.catalogue.labels` (``municipality_category``, ``size_band``, ``prefecture``).

>>> check_digit("22130")
9
>>> is_municipality_code("221309"), is_municipality_code("221308"), is_municipality_code("22130")
(True, False, False)
>>> size_band(299), size_band(300), size_band(12_000)
('lt300', '300_999', 'ge10000')
>>> prefecture_of("011002")
'01'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "CATEGORIES",
    "CHECK_WEIGHTS",
    "PREFECTURES",
    "SIZE_BANDS",
    "check_digit",
    "is_municipality_code",
    "prefecture_of",
    "size_band",
]

#: Weights of the first five digits in the check digit.
CHECK_WEIGHTS: tuple[int, ...] = (6, 5, 4, 3, 2)

#: Category code → (Japanese, English): 指定都市 (designated by cabinet order, ≥ 500,000
#: people), 中核市 (≥ 200,000), every other 市 (特例市 included), and 町・村.
CATEGORIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "designated_city": ("指定都市", "Designated city"),
        "core_city": ("中核市", "Core city"),
        "city": ("一般市", "Other city"),
        "town_village": ("町村", "Town or village"),
    }
)

#: Staff size bands: (code, lowest head count, first head count above the band or ``None``,
#: Japanese, English). The head count is the staff list's for the fiscal year shared.
SIZE_BANDS: tuple[tuple[str, int, int | None, str, str], ...] = (
    ("lt300", 0, 300, "300人未満", "under 300 staff"),
    ("300_999", 300, 1000, "300〜999人", "300–999 staff"),
    ("1000_2999", 1000, 3000, "1,000〜2,999人", "1,000–2,999 staff"),
    ("3000_9999", 3000, 10000, "3,000〜9,999人", "3,000–9,999 staff"),
    ("ge10000", 10000, None, "10,000人以上", "10,000 staff or more"),
)

_PREFECTURE_NAMES: tuple[tuple[str, str], ...] = (
    ("北海道", "Hokkaido"),
    ("青森県", "Aomori"),
    ("岩手県", "Iwate"),
    ("宮城県", "Miyagi"),
    ("秋田県", "Akita"),
    ("山形県", "Yamagata"),
    ("福島県", "Fukushima"),
    ("茨城県", "Ibaraki"),
    ("栃木県", "Tochigi"),
    ("群馬県", "Gunma"),
    ("埼玉県", "Saitama"),
    ("千葉県", "Chiba"),
    ("東京都", "Tokyo"),
    ("神奈川県", "Kanagawa"),
    ("新潟県", "Niigata"),
    ("富山県", "Toyama"),
    ("石川県", "Ishikawa"),
    ("福井県", "Fukui"),
    ("山梨県", "Yamanashi"),
    ("長野県", "Nagano"),
    ("岐阜県", "Gifu"),
    ("静岡県", "Shizuoka"),
    ("愛知県", "Aichi"),
    ("三重県", "Mie"),
    ("滋賀県", "Shiga"),
    ("京都府", "Kyoto"),
    ("大阪府", "Osaka"),
    ("兵庫県", "Hyogo"),
    ("奈良県", "Nara"),
    ("和歌山県", "Wakayama"),
    ("鳥取県", "Tottori"),
    ("島根県", "Shimane"),
    ("岡山県", "Okayama"),
    ("広島県", "Hiroshima"),
    ("山口県", "Yamaguchi"),
    ("徳島県", "Tokushima"),
    ("香川県", "Kagawa"),
    ("愛媛県", "Ehime"),
    ("高知県", "Kochi"),
    ("福岡県", "Fukuoka"),
    ("佐賀県", "Saga"),
    ("長崎県", "Nagasaki"),
    ("熊本県", "Kumamoto"),
    ("大分県", "Oita"),
    ("宮崎県", "Miyazaki"),
    ("鹿児島県", "Kagoshima"),
    ("沖縄県", "Okinawa"),
)

#: Prefecture code (the code's first two digits, 01–47, JIS X 0401) → (Japanese, English).
PREFECTURES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {f"{i:02d}": names for i, names in enumerate(_PREFECTURE_NAMES, start=1)}
)


def check_digit(first_five: str) -> int:
    """The check digit of a local government code's first five digits:
    (11 − Σ dᵢ·wᵢ mod 11) mod 10, weights 6, 5, 4, 3, 2.

    >>> check_digit("01100"), check_digit("13101")
    (2, 6)
    """
    total = sum(int(d) * w for d, w in zip(first_five, CHECK_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def is_municipality_code(code: str) -> bool:
    """Whether ``code`` is six ASCII digits with a known prefecture and a right check digit."""
    return (
        len(code) == 6
        and code.isascii()
        and code.isdigit()
        and code[:2] in PREFECTURES
        and check_digit(code[:5]) == int(code[5])
    )


def prefecture_of(code: str) -> str:
    """The prefecture code (first two digits) of a municipality code."""
    return code[:2]


def size_band(staff: int) -> str:
    """The code of the staff size band a head count falls in (:data:`SIZE_BANDS`)."""
    for code, low, high, _ja, _en in SIZE_BANDS:
        if staff >= low and (high is None or staff < high):
            return code
    raise ValueError(f"a head count cannot be negative: {staff}")
