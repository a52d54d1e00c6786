"""The fiscal year (年度) of a Japanese city hall, declared once: April 1 – March 31.

Fiscal year ``t`` runs from April 1 of ``t`` to March 31 of ``t + 1``: FY2025 = 令和7年度 =
2025-04-01 … 2026-03-31. Every module that turns a date into a fiscal year, or a fiscal year into
dates, uses this module: the polars expressions :func:`fiscal_year_of` and
:func:`fiscal_month_of` for frames, :func:`fiscal_year`, :func:`fy_start`, :func:`fy_end` and
:func:`fy_date` for single dates. (Wareki — 令和7年, R7 — is a different rule, about eras: see
:mod:`dxkpi.ingest.parse`.)

>>> fy_start(2025), fy_end(2025)
(datetime.date(2025, 4, 1), datetime.date(2026, 3, 31))
>>> fiscal_year(dt.date(2026, 3, 31)), fiscal_year(dt.date(2026, 4, 1))
(2025, 2026)
>>> frame = pl.DataFrame({"d": [dt.date(2025, 4, 1), dt.date(2026, 3, 31), dt.date(2026, 4, 1)]})
>>> frame.select(fy=fiscal_year_of(pl.col("d")), m=fiscal_month_of(pl.col("d"))).rows()
[(2025, 1), (2025, 12), (2026, 1)]
"""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = [
    "FIRST_MONTH",
    "fiscal_month",
    "fiscal_month_label",
    "fiscal_month_of",
    "fiscal_year",
    "fiscal_year_of",
    "fy_date",
    "fy_end",
    "fy_start",
]

#: The calendar month a fiscal year starts in (April).
FIRST_MONTH = 4


def fy_start(fiscal_year: int) -> dt.date:
    """The first day of a fiscal year: April 1 of the same calendar year.

    >>> fy_start(2025)
    datetime.date(2025, 4, 1)
    """
    return dt.date(fiscal_year, FIRST_MONTH, 1)


def fy_end(fiscal_year: int) -> dt.date:
    """The last day of a fiscal year: March 31 of the next calendar year.

    >>> fy_end(2025)
    datetime.date(2026, 3, 31)
    """
    return fy_start(fiscal_year + 1) - dt.timedelta(days=1)


def fy_date(fiscal_year: int, month: int, day: int) -> dt.date:
    """The date with this month and day inside a fiscal year (January–March: the next calendar
    year).

    >>> fy_date(2025, 4, 8), fy_date(2025, 3, 25)
    (datetime.date(2025, 4, 8), datetime.date(2026, 3, 25))
    """
    return dt.date(fiscal_year + (month < FIRST_MONTH), month, day)


def fiscal_year(date: dt.date) -> int:
    """The fiscal year of a date.

    >>> fiscal_year(dt.date(2025, 4, 1)), fiscal_year(dt.date(2026, 3, 31))
    (2025, 2025)
    """
    return date.year - (date.month < FIRST_MONTH)


def fiscal_month(month: int) -> int:
    """The month's place in the fiscal year: April 1 … March 12.

    >>> fiscal_month(4), fiscal_month(12), fiscal_month(3)
    (1, 9, 12)
    """
    return (month - FIRST_MONTH) % 12 + 1


def fiscal_month_label(first_fy: int, months: int) -> str:
    """The ``YYYY-MM`` label of the month ``months`` after April of ``first_fy`` (0 = April).

    >>> fiscal_month_label(2022, 0), fiscal_month_label(2022, 11), fiscal_month_label(2022, -1)
    ('2022-04', '2023-03', '2022-03')
    """
    start = fy_start(first_fy)
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


#: Days from the first day of a fiscal year to the next 1 January: the same every year, as that
#: span holds no 29 February (it starts in April, after any February of its calendar year).
_TO_NEW_YEAR = dt.timedelta(days=(dt.date(2001, 1, 1) - dt.date(2000, FIRST_MONTH, 1)).days)


def fiscal_year_of(date: pl.Expr) -> pl.Expr:
    """The fiscal year of a date expression (Int32): 2026-03-31 → 2025, 2026-04-01 → 2026.

    The calendar year of the date moved on by :data:`_TO_NEW_YEAR`, less one: the year is read
    once (reading the year and the month took about half as long again over millions of rows).

    >>> days = pl.Series(
    ...     [dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 1), dt.date(2024, 12, 31)]
    ... )
    >>> pl.select(fiscal_year_of(pl.lit(days))).to_series().to_list()
    [2023, 2023, 2024, 2024]
    """
    return ((date + _TO_NEW_YEAR).dt.year() - 1).cast(pl.Int32)


def fiscal_month_of(date: pl.Expr) -> pl.Expr:
    """The month's place in the fiscal year of a date expression (Int32): April 1 … March 12."""
    return ((date.dt.month().cast(pl.Int32) + 12 - FIRST_MONTH) % 12 + 1).cast(pl.Int32)
