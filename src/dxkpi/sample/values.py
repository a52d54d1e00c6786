"""Value helpers shared by the sample tables: fiscal-year day numbers, text cells, draws.

Dates are whole days since 1970-01-01 (:data:`~dxkpi.sample.parameters.EPOCH`) until they
are written as ISO text; every canonical table holds text columns, as a file would.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_date, fy_end
from dxkpi.sample.parameters import EPOCH

__all__ = [
    "choose",
    "cutoff_day",
    "day_number",
    "int_text",
    "iso_text",
    "text_column",
    "workdays",
]


def day_number(d: datetime.date) -> int:
    return (d - EPOCH).days


def cutoff_day(fys: Sequence[int]) -> int:
    """The data's cut-off: the last day of the last fiscal year."""
    return day_number(fy_end(fys[-1]))


def iso_text(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("int32")).cast(pl.Date).dt.strftime("%Y-%m-%d")


def workdays(
    fy: int, first: tuple[int, int] = (4, 8), last: tuple[int, int] = (3, 25)
) -> np.ndarray:
    """Weekdays of a fiscal year between two month/day marks, as days since 1970."""
    start = day_number(fy_date(fy, *first))
    end = day_number(fy_date(fy, *last))
    days = np.arange(start, end + 1)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
    return days[weekday < 5]


def choose(rng: np.random.Generator, shares: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    return rng.choice(len(shares), size=size, p=np.asarray(shares) / np.sum(shares))


def text_column(values: np.ndarray | Sequence[Any]) -> pl.Series:
    return pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)


def int_text(x: np.ndarray) -> pl.Series:
    """Whole numbers as text; NaN becomes an empty cell."""
    return (
        pl.Series(np.asarray(x, dtype=np.float64), nan_to_null=True).cast(pl.Int64).cast(pl.String)
    )
