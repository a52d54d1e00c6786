"""Grades against targets: A ahead, B on target (within tolerance), C behind, D not assessable.

The B band is ``|value − target| ≤ tolerance × |target|``; outside it, a value on the better side
(respecting ``higher_is_better``) is A, on the worse side C. No value or no target → D.

A fiscal year still in progress on the as-of date (as_of < March 31 of t+1) is flagged; a
cumulative KPI (one that only grows during the year: counts, sums, "≥1 … in t" shares) is then
graded against the target pro-rated by the elapsed share of the year, days counted inclusively.
Other KPIs keep their full target. A year not yet started (as_of < April 1 of t) is graded D.

A KPI that waits for an outcome after an event (adoption, implementation: right-censored) is
measured on matured cohorts (:mod:`dxkpi.kpi.maturity`); a fiscal year whose cohort has not wholly
matured on the as-of date is *provisional*: :data:`PROVISIONAL` (``P``, 暫定) instead of a grade,
so a year that has not had time is never graded C against one that has.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from dxkpi.core.fiscal import fy_end, fy_start

__all__ = ["GRADEABLE", "PROVISIONAL", "Grade", "fiscal_year_progress", "grade", "grade_expr"]

Grade = str  # "A" | "B" | "C" | "D" | "P"
#: The mark of a provisional value (暫定): not graded until its cohort has matured.
PROVISIONAL: Grade = "P"
#: Grades that judge a value against its target (not D, not P).
GRADEABLE: tuple[Grade, ...] = ("A", "B", "C")


def fiscal_year_progress(fiscal_year: int, as_of: dt.date) -> float:
    """Elapsed share (0–1) of fiscal year t on the as-of date, days counted inclusively."""
    start, end = fy_start(fiscal_year), fy_end(fiscal_year)
    if as_of >= end:
        return 1.0
    if as_of < start:
        return 0.0
    return ((as_of - start).days + 1) / ((end - start).days + 1)


def grade(
    value: float | None,
    target: float | None,
    higher_is_better: bool,
    tolerance: float,
    *,
    provisional: bool = False,
) -> Grade:
    """The grade of one value against one target (scalar twin of :func:`grade_expr`).

    A ``provisional`` value (a cohort not yet matured) is :data:`PROVISIONAL`, never A–C.

    >>> grade(0.357, 0.7, True, 0.05), grade(0.357, 0.7, True, 0.05, provisional=True)
    ('C', 'P')
    """
    if value is None or target is None:
        return "D"
    if provisional:
        return PROVISIONAL
    ahead = value - target if higher_is_better else target - value
    band = tolerance * abs(target)
    if ahead > band:
        return "A"
    if ahead >= -band:
        return "B"
    return "C"


def grade_expr(
    value: pl.Expr, target: pl.Expr, higher_is_better: pl.Expr, tolerance: float
) -> pl.Expr:
    """Vectorised :func:`grade`: a String expression A/B/C/D."""
    ahead = pl.when(higher_is_better).then(value - target).otherwise(target - value)
    band = target.abs() * tolerance
    return (
        pl.when(value.is_null() | target.is_null())
        .then(pl.lit("D"))
        .when(ahead > band)
        .then(pl.lit("A"))
        .when(ahead >= -band)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    )
