"""What chart builders accept: the input error, KPI and column checks, and the chart data.

Builders take polars frames and convert them to plain values only here (:func:`_data`, NaN →
None). :func:`_shown` and :func:`_hidden` split cells into those whose value may be drawn and the
suppressed ones, whose values must never reach a chart. The underscore helpers are for the chart
modules of this package only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, SupportsInt

import altair as alt
import polars as pl

from dxkpi.catalogue.kpis import REGISTRY, KpiSpec
from dxkpi.core.errors import DxkpiError

__all__ = ["ChartInputError"]


class ChartInputError(DxkpiError):
    """A chart was given a frame it cannot draw (unknown KPI, missing columns, no rows)."""


def _spec(kpi_id: str) -> KpiSpec:
    if kpi_id not in REGISTRY:
        raise ChartInputError(
            f"不明な指標IDです: {kpi_id}",
            f"unknown KPI id: {kpi_id}",
            hint_ja=f"使える指標: {', '.join(REGISTRY)}",
            hint_en=f"known: {', '.join(REGISTRY)}",
        )
    return REGISTRY[kpi_id]


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ChartInputError(
            f"{what}: 列がありません: {', '.join(missing)}",
            f"{what}: missing columns: {', '.join(missing)}",
            hint_ja="dxkpi.kpi.engine.compute の結果（rich frame）を渡してください。",
            hint_en="pass the rich frame of dxkpi.kpi.engine.compute.",
        )


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Plain JSON-ready rows (NaN → None) for inline chart data."""
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dicts()
    ]


def _data(frame: pl.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=_records(frame))


def _latest_year(frame: pl.DataFrame, fiscal_year: int | None) -> int:
    if fiscal_year is not None:
        return fiscal_year
    if frame.is_empty():
        raise ChartInputError("描く行がありません。", "no rows to chart.")
    latest = frame.get_column("fiscal_year").max()
    if not isinstance(latest, SupportsInt | str):  # all null, or not a year: int() would fail
        raise TypeError(f"fiscal_year is not a whole number: {latest!r}")
    return int(latest)


def _shown(frame: pl.DataFrame) -> pl.DataFrame:
    """Cells whose value may be drawn: not suppressed and not empty."""
    return frame.filter(~pl.col("suppressed").fill_null(False) & pl.col("value").is_not_null())


def _hidden(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("suppressed").fill_null(False))
