"""How a KPI value is written, declared once: the one formatter and the unit formats.

:func:`format_value` writes a value of a KPI unit (``ratio``, ``per_100``, ``hours``, ``score``,
``score_diff``) for every reader: HTML views, the CLI table and the Excel export, chart labels and
the PDCA document. The variants are the ways those readers show it:

* ``table`` — KPI tables and exports: ratios as % with one decimal, per-100 with one decimal,
  hours whole, scores with two decimals, score differences signed; empty when missing;
* ``chart`` — chart labels: as ``table`` but ratios as whole %, ``―`` when missing;
* ``text`` — prose (the PDCA review): as ``table`` with the unit's suffix (件/100人, 時間, 点 —
  family ``unit_suffix`` of :mod:`dxkpi.catalogue.labels`) and score differences unsigned;
  ``sign=True`` writes a change (signed; a ratio's change in percentage points).

:data:`D3_FORMAT` (chart axes) and :data:`EXCEL_FORMAT` (workbook cells) are the same rules for
Vega-Lite and Excel.

>>> format_value(0.4567, "ratio"), format_value(0.4567, "ratio", variant="chart")
('45.7%', '46%')
>>> format_value(12.34, "per_100", lang="ja", variant="text")
'12.3件/100人'
>>> format_value(0.05, "ratio", lang="en", variant="text", sign=True)
'+5.0 pt'
>>> format_value(None, "hours"), format_value(None, "hours", variant="chart")
('', '―')
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from dxkpi.catalogue.kpis import Unit
from dxkpi.catalogue.labels import SUPPRESSED_MARK, LabelError, label, t

__all__ = [
    "D3_EXACT_FORMAT",
    "D3_FORMAT",
    "EXCEL_FORMAT",
    "EXCEL_YEN_FORMAT",
    "JST",
    "PER_100_STAFF_YEAR",
    "UNITS",
    "VARIANTS",
    "Variant",
    "d3_count_format",
    "excel_count_format",
    "format_count",
    "format_days",
    "format_provisional",
    "format_ratio",
    "format_scale",
    "format_timestamp",
    "format_total",
    "format_value",
    "format_yen",
    "rounded",
]

Variant = Literal["table", "chart", "text"]
VARIANTS: tuple[str, ...] = get_args(Variant)
UNITS: tuple[str, ...] = get_args(Unit)
#: Proposals per employee-month → per 100 staff per year (12 months × 100 staff): the one
#: conversion between the estimators' unit and the unit people read.
PER_100_STAFF_YEAR = 1200.0

#: d3 formats for chart axes (``~`` drops trailing zeros: 20 not 20.0).
D3_FORMAT: dict[str, str] = {
    "ratio": ".0%",
    "per_100": ",~f",
    "hours": ",~f",
    "score": "~f",
    "score_diff": "+~f",
}

#: d3 formats for an exact value (chart tooltips): the digits of the ``table`` variant.
D3_EXACT_FORMAT: dict[str, str] = {
    "ratio": ".1%",
    "per_100": ",.1f",
    "hours": ",.0f",
    "score": ".2f",
    "score_diff": "+.2f",
}

#: Excel number formats of the workbook's value, interval and target cells.
EXCEL_FORMAT: dict[str, str] = {
    "ratio": "0.0%",
    "per_100": "0.0",
    "hours": "#,##0",
    "score": "0.00",
    "score_diff": "+0.00;-0.00;0.00",
}


def rounded(value: float, digits: int = 0, *, sign: bool = False, grouping: bool = True) -> str:
    """``value`` written with ``digits`` decimals, halves rounded up (away from zero) as people
    round by hand — not Python's half-to-even (``f"{3368.5:.0f}"`` is ``3368``). The value is
    rounded as it is written (its shortest repr), so 2.675 is 2.68. Every number of this module
    is written through it.

    >>> rounded(3368.5), rounded(493.5), rounded(2.675, 2), rounded(-0.125, 2, sign=True)
    ('3,369', '494', '2.68', '-0.13')
    """
    exact = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    if exact == 0:
        exact = abs(exact)  # no "-0"
    return format(exact, f"{'+' if sign else ''}{',' if grouping else ''}.{digits}f")


def format_count(value: float | None, unit: str) -> str:
    """A numerator or denominator as the terminal table shows it: whole counts with thousands
    separators, a sum with a fraction to one decimal, a sum of scores to two.

    >>> format_count(2249.5, "ratio"), format_count(70000.0, "hours"), format_count(4.0476, "score")
    ('2,249.5', '70,000', '4.05')
    """
    return "" if value is None else rounded(value, _count_digits(value, unit))


def format_total(value: float | None, counter_ja: str, counter_en: str, lang: str = "ja") -> str:
    """A whole total with its counter (a plan's cumulative target or actual): ``1,878件`` /
    ``1,878 proposals``; empty when missing.

    >>> format_total(1877.6, "件", "proposals"), format_total(75, "人", "people", "en")
    ('1,878件', '75 people')
    """
    if value is None or math.isnan(value):
        return ""
    number = rounded(value)
    return f"{number}{counter_ja}" if lang == "ja" else f"{number} {counter_en}"


def excel_count_format(value: float, unit: str) -> str:
    """The Excel number format of a numerator or denominator cell (:func:`format_count`'s rule).

    >>> excel_count_format(12.0, "ratio"), excel_count_format(12.5, "hours")
    ('#,##0', '#,##0.0')
    >>> excel_count_format(4.0476, "score")
    '0.00'
    """
    return _EXCEL_COUNT[_count_digits(value, unit)]


#: The Excel format of a count shown with 0, 1 or 2 decimals (sums of scores are not grouped).
_EXCEL_COUNT = {0: "#,##0", 1: "#,##0.0", 2: "0.00"}


def d3_count_format(unit: str) -> str:
    """The d3 format of a numerator or denominator in a chart tooltip: :func:`format_count`'s
    rule as d3 writes it (``~`` drops a zero fraction: 45, 55.7, 2,249.5; scores to two).

    >>> d3_count_format("ratio"), d3_count_format("score")
    (',.1~f', ',.2~f')
    """
    return f",.{_fraction_digits(unit)}~f"


def _count_digits(value: float, unit: str) -> int:
    """Decimals of a numerator or denominator: none for a whole count, one for a sum with a
    fraction, two for a sum of scores with a fraction."""
    return 0 if value == int(value) else _fraction_digits(unit)


def _fraction_digits(unit: str) -> int:
    """Decimals of a numerator or denominator with a fraction: two for a sum of scores, one
    otherwise."""
    return 2 if unit in ("score", "score_diff") else 1


def _number(value: float, unit: str, variant: str, sign: bool) -> str:
    if unit == "ratio":  # the percentage as written (0.4565 → 45.65 → 45.7)
        return rounded(
            float(rounded(value * 100, 6, grouping=False)),
            0 if variant == "chart" else 1,
            sign=sign,
        )
    if unit == "per_100":
        return rounded(value, 1, sign=sign)
    if unit == "hours":
        return rounded(value, 0, sign=sign)
    if unit == "score_diff" and variant != "text":
        return rounded(value, 2, sign=True)
    if unit in ("score", "score_diff"):
        return rounded(value, 2, sign=sign)
    raise LabelError(f"不明な単位です: {unit!r}", f"unknown unit {unit!r} (known: {UNITS})")


def format_value(
    value: float | None,
    unit: str,
    *,
    lang: str = "ja",
    variant: str = "table",
    sign: bool = False,
) -> str:
    """A KPI value as people read it (see the module's doc for the variants).

    Missing values (None, NaN) are empty, ``―`` on charts. ``sign`` writes a change with its
    sign (``text``: a ratio's change in percentage points, ポイント / pt).

    >>> [format_value(v, u) for v, u in ((1234.5, "per_100"), (76222.0, "hours"),
    ...                                  (0.123, "score"), (0.123, "score_diff"))]
    ['1,234.5', '76,222', '0.12', '+0.12']
    >>> format_value(76222.0, "hours", lang="en", variant="text")
    '76,222 h'
    >>> format_value(-0.3, "score_diff", variant="text"), format_value(0.3, "score", variant="text",
    ...                                                                  sign=True)
    ('-0.30点', '+0.30点')
    """
    if variant not in VARIANTS:
        raise LabelError(
            f"不明な表示形式です: {variant!r}", f"unknown variant {variant!r} (known: {VARIANTS})"
        )
    if value is None or value != value:  # None or NaN
        return SUPPRESSED_MARK if variant == "chart" else ""
    number = _number(value, unit, variant, sign)
    if unit == "ratio" and not (variant == "text" and sign):
        return f"{number}%"
    if variant != "text":
        return number
    suffix = label("unit_suffix", "points" if unit == "ratio" else unit, lang)
    return number + t(lang, suffix, f" {suffix}")


def format_scale(scale: tuple[int, int], lang: str = "ja") -> str:
    """The scale a score is read on (:attr:`~dxkpi.catalogue.kpis.KpiSpec.scale`).

    >>> format_scale((0, 5)), format_scale((0, 4), "en")
    ('0〜5', '0–4')
    """
    low, high = scale
    return t(lang, f"{low}〜{high}", f"{low}–{high}")


def format_ratio(ratio: float | None, low: float | None = None, high: float | None = None) -> str:
    """A ratio to the counterfactual (1 = no change) with its interval: ``×1.87（1.01〜3.46）``;
    ``—`` when there is none. Two decimals from 0.1 to 10, fewer beyond.

    >>> format_ratio(1.8732, 1.0104, 3.4567), format_ratio(16.18, 0.0755, 1491.3)
    ('×1.87（1.01〜3.46）', '×16.2（0.075〜1,491）')
    >>> format_ratio(None)
    '—'
    """
    if ratio is None:
        return "—"

    def number(x: float) -> str:
        if abs(x) < 0.1:
            return f"{x:.2g}"
        return rounded(x, 2 if abs(x) < 10 else 1 if abs(x) < 100 else 0)

    ci = "" if low is None or high is None else f"（{number(low)}〜{number(high)}）"
    return f"×{number(ratio)}{ci}"


#: The Excel format of an amount in yen (whole yen, grouped).
EXCEL_YEN_FORMAT = '#,##0"円"'


def format_yen(value: float | None, lang: str = "ja", *, sign: bool = False) -> str:
    """An amount of money in whole yen, grouped: ``24,180,000円`` / ``¥24,180,000``; a change
    with its sign; empty when missing.

    >>> format_yen(24180000), format_yen(1234.5, "en"), format_yen(-5000, sign=True)
    ('24,180,000円', '¥1,235', '-5,000円')
    >>> format_yen(None)
    ''
    """
    if value is None or value != value:
        return ""
    text = rounded(abs(value))
    mark = "-" if value < 0 and rounded(abs(value)) != "0" else ("+" if sign else "")
    return f"{mark}{text}円" if lang == "ja" else f"{mark}¥{text}"


def format_days(days: float | None, lang: str = "ja") -> str:
    """A number of days (a waiting time, a maturity window), whole: ``183日`` / ``183 days``.

    >>> format_days(183.5), format_days(300, "en"), format_days(None)
    ('184日', '300 days', '')
    """
    if days is None or days != days:
        return ""
    suffix = label("unit_suffix", "days", lang)
    return rounded(days) + t(lang, suffix, f" {suffix}")


def format_provisional(as_of: dt.date, days: int | None = None, lang: str = "ja") -> str:
    """The mark of a provisional value (暫定) with its as-of date and window W.

    >>> import datetime as dt
    >>> format_provisional(dt.date(2026, 3, 31), 300)
    '暫定（2026-03-31 時点、提出から300日を経ていない提案を含む年度）'
    >>> format_provisional(dt.date(2026, 3, 31), lang="en")
    'provisional (as of 2026-03-31)'
    """
    mark = label("maturity", "provisional", lang)
    when = as_of.isoformat()
    if days is None:
        return t(lang, f"{mark}（{when} 時点）", f"{mark} (as of {when})")
    return t(
        lang,
        f"{mark}（{when} 時点、提出から{format_days(days, lang)}を経ていない提案を含む年度）",
        f"{mark} (as of {when}; the year has proposals not yet {format_days(days, lang)} old)",
    )


#: Japan Standard Time: a city hall's clock (no daylight saving).
JST = dt.timezone(dt.timedelta(hours=9), "JST")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_timestamp(when: dt.datetime | str, lang: str = "ja") -> str:
    """A moment (a run's start, an ingest) as people in a city hall read it: Japan time, to the
    minute — ``2026年12月5日 0:20 JST`` / ``5 Dec 2026 00:20 JST``. ``when`` is an aware datetime
    or the ISO text of one (``run.json``, the manifest); a naive one is taken as UTC.

    >>> format_timestamp("2026-12-04T15:20:56+00:00")
    '2026年12月5日 0:20 JST'
    >>> format_timestamp(dt.datetime(2026, 12, 4, 6, 5, tzinfo=dt.UTC), "en")
    '4 Dec 2026 15:05 JST'
    """
    moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    j = moment.astimezone(JST)
    return t(
        lang,
        f"{j.year}年{j.month}月{j.day}日 {j.hour}:{j.minute:02d} JST",
        f"{j.day} {_MONTHS_EN[j.month - 1]} {j.year} {j.hour:02d}:{j.minute:02d} JST",
    )
