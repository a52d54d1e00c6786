"""Return on investment of the programme (Phillips, conservative).

:func:`roi_assumptions` validates the ``[roi]`` section of ``dxkpi.toml`` into
:class:`RoiAssumptions`; :func:`roi` gives one fiscal year's :class:`RoiResult` (benefits and
costs in yen, ROI in %, benefit–cost ratio). :func:`participant_hours` is the one rule for the
participants' time a course costs (the ROI's costs and the 行政評価 sheet's 人件費 both use it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dxkpi.core.errors import Where
from dxkpi.core.fiscal import fy_end, fy_start
from dxkpi.ingest.processed import Processed
from dxkpi.pdca.errors import PdcaError

__all__ = ["RoiAssumptions", "RoiResult", "participant_hours", "roi", "roi_assumptions"]


@dataclass(frozen=True)
class RoiAssumptions:
    """ROI settings from ``[roi]`` (defaults in brackets, documented in :func:`roi_assumptions`)."""

    hourly_cost_yen: float = 4000.0
    attribution: float = 0.5
    confidence: float = 0.8
    training_budget_yen: Mapping[int, float] = field(default_factory=dict)
    include_project_costs: bool = True


def _roi_error(key: str, ja: str, en: str) -> PdcaError:
    return PdcaError(
        f"設定 [roi] の「{key}」: {ja}",
        f"config [roi] '{key}': {en}",
        where=Where(file="dxkpi.toml"),
        hint_ja="dxkpi.toml の [roi] を直してください。",
        hint_en="fix the [roi] section of dxkpi.toml.",
    )


def _roi_number(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _roi_error(key, f"数値が必要です（値: {value!r}）", f"expected a number ({value!r})")
    if not low <= value <= high:
        raise _roi_error(
            key,
            f"{low:g}〜{high:g} の範囲にしてください（値: {value}）",
            f"must be within {low:g}–{high:g} ({value})",
        )
    return float(value)


def roi_assumptions(section: Mapping[str, Any]) -> RoiAssumptions:
    """Validate the ``[roi]`` section (``Config.sections.get("roi", {})``).

    Keys: ``hourly_cost_yen`` fully loaded staff cost per hour, yen [4000];
    ``attribution`` share of the hours saved credited to the training (Phillips' isolation
    step), 0–1 [0.5]; ``confidence`` how sure the estimators of hours saved are, 0–1 [0.8];
    ``include_project_costs`` count the completed projects' cost_yen as a cost [true];
    ``[roi.training_budget_yen]`` the programme's budget per fiscal year, yen ("2025" = …) [0].
    """
    allowed = (
        "hourly_cost_yen",
        "attribution",
        "confidence",
        "training_budget_yen",
        "include_project_costs",
    )
    for key in section:
        if key not in allowed:
            raise _roi_error(
                key,
                f"不明なキーです（使えるキー: {', '.join(allowed)}）",
                f"unknown key (allowed: {', '.join(allowed)})",
            )
    d = RoiAssumptions()
    budget_raw = section.get("training_budget_yen", {})
    if not isinstance(budget_raw, Mapping):
        raise _roi_error(
            "training_budget_yen",
            "年度ごとの表が必要です（例: 2025 = 12000000）",
            "expected a table of fiscal years (2025 = 12000000)",
        )
    budget: dict[int, float] = {}
    for year, amount in budget_raw.items():
        if not str(year).isdigit() or not 1990 <= int(year) <= 2200:
            raise _roi_error(
                f"training_budget_yen.{year}",
                "年度（例: 2025）が必要です",
                "expected a fiscal year such as 2025",
            )
        budget[int(year)] = _roi_number(f"training_budget_yen.{year}", amount, 0, 1e13)
    include = section.get("include_project_costs", d.include_project_costs)
    if not isinstance(include, bool):
        raise _roi_error("include_project_costs", "true か false", "expected true or false")
    return RoiAssumptions(
        hourly_cost_yen=_roi_number(
            "hourly_cost_yen", section.get("hourly_cost_yen", d.hourly_cost_yen), 1, 1e6
        ),
        attribution=_roi_number("attribution", section.get("attribution", d.attribution), 0, 1),
        confidence=_roi_number("confidence", section.get("confidence", d.confidence), 0, 1),
        training_budget_yen=budget,
        include_project_costs=include,
    )


def participant_hours(data: Processed, fiscal_year: int) -> pl.DataFrame:
    """Participants' time per course in one fiscal year, in hours: the course's ``hours`` ×
    its sessions attended or completed in the year (absences cost no time). Costed at
    ``hourly_cost_yen`` it is the 人件費 of the training (:func:`roi`, and the 行政評価 sheet of
    :mod:`dxkpi.pdca.evaluation`).

    Columns: course_id, sessions (attended or completed rows), participant_hours; courses with
    no such session in the year are absent.
    """
    start, end = fy_start(fiscal_year), fy_end(fiscal_year)
    return (
        data.require("attendance")
        .filter(
            pl.col("status").is_in(["completed", "attended"]),
            pl.col("session_date").is_between(start, end),
        )
        .join(data.require("courses").select("course_id", "hours"), on="course_id")
        .group_by("course_id")
        .agg(
            pl.len().cast(pl.Int64).alias("sessions"),
            pl.col("hours").sum().cast(pl.Float64).alias("participant_hours"),
        )
        .sort("course_id")
        .collect()
    )


@dataclass(frozen=True)
class RoiResult:
    """Phillips ROI of one fiscal year: yen amounts, ROI in %, benefit–cost ratio."""

    fiscal_year: int
    hours_saved: float
    benefits_yen: float
    participant_hours: float
    participant_cost_yen: float
    budget_yen: float
    budget_set: bool
    project_cost_yen: float
    costs_yen: float
    roi_pct: float | None
    bcr: float | None
    assumptions: RoiAssumptions


def roi(data: Processed, fiscal_year: int, assumptions: RoiAssumptions) -> RoiResult:
    """Phillips' conservative ROI of the programme in one fiscal year.

    benefits = first-year hours saved (implemented proposals and completed projects of the year,
    the hours_saved KGI) × hourly cost × attribution × confidence;
    costs = participant hours (course hours × attended/completed sessions of the year) × hourly
    cost + the year's training budget (+ completed projects' cost_yen when included);
    ROI % = (benefits − costs) ÷ costs × 100; BCR = benefits ÷ costs (None when costs are 0).
    """
    a = assumptions
    start, end = fy_start(fiscal_year), fy_end(fiscal_year)
    props = (
        data.require("proposals")
        .filter(pl.col("status") == "implemented", pl.col("implemented_on").is_between(start, end))
        .select(pl.col("hours_saved_per_year").fill_null(0).sum())
        .collect()
        .item()
    )
    proj = (
        data.require("projects")
        .filter(pl.col("status") == "completed", pl.col("ended_on").is_between(start, end))
        .select(
            pl.col("hours_saved_per_year").fill_null(0).sum().alias("h"),
            pl.col("cost_yen").fill_null(0).sum().alias("c"),
        )
        .collect()
    )
    hours = float(props or 0) + float(proj["h"][0] or 0)
    part_hours = float(participant_hours(data, fiscal_year)["participant_hours"].sum())
    benefits = hours * a.hourly_cost_yen * a.attribution * a.confidence
    budget = float(a.training_budget_yen.get(fiscal_year, 0.0))
    project_cost = float(proj["c"][0] or 0) if a.include_project_costs else 0.0
    costs = part_hours * a.hourly_cost_yen + budget + project_cost
    return RoiResult(
        fiscal_year=fiscal_year,
        hours_saved=hours,
        benefits_yen=benefits,
        participant_hours=part_hours,
        participant_cost_yen=part_hours * a.hourly_cost_yen,
        budget_yen=budget,
        budget_set=fiscal_year in a.training_budget_yen,
        project_cost_yen=project_cost,
        costs_yen=costs,
        roi_pct=(benefits - costs) / costs * 100 if costs else None,
        bcr=benefits / costs if costs else None,
        assumptions=a,
    )
