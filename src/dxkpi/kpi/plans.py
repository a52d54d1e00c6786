"""Progress against a multi-year plan (中期計画): end-of-period targets and cumulative totals.

A plan (``[plan.<first>-<last>]`` of ``dxkpi.toml``, :class:`dxkpi.project.config.Plan`) sets

* **end targets**: the value a KPI should reach in the plan's last year. Its *path* in year y is
  the year's own city-wide target (``[targets.<y>]``) where one is set, else the straight line
  from the KPI's actual value in the base year to the end target:
  ``base + (end − base) × (y − base_year) ÷ (last_year − base_year)``; in the last year the
  path is the end target itself. Without a base-year value and a yearly target, a year has no
  path (graded D).
* **cumulative targets** (累計): a total over the plan's years (:data:`PLAN_TOTALS`), counted
  from the first year up to each year (:func:`plan_totals`). Its path in year y is the even
  share ``total × (y − first_year + 1) ÷ years``.

A year still in progress on the as-of date is graded like the KPI engine grades it
(:mod:`dxkpi.kpi.grading`): a total and a KPI that only grows during the year (``cumulative``
in the registry) are compared with their path pro-rated by the elapsed share of the year; other
KPIs keep the full path. Grades are A/B/C/D (and P, 暫定, for a provisional value) by
:func:`dxkpi.kpi.grading.grade`, with the configuration's tolerance.

Totals are city-wide counts of people, proposals or hours; no group is shown, so nothing is
suppressed here. End-target values come from the engine's city cells, already suppressed.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from dxkpi.catalogue.kpis import PLAN_TOTALS, REGISTRY
from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.processed import Processed
from dxkpi.kpi._frames import CITY, attendance_of_members
from dxkpi.kpi.grading import fiscal_year_progress, grade
from dxkpi.kpi.measures import hours_saved, proposals_per_100
from dxkpi.project.config import Config, Plan

__all__ = ["PROGRESS_SCHEMA", "TOTALS_SCHEMA", "plan_progress", "plan_totals"]

TOTALS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "total": pl.String,
    "fiscal_year": pl.Int32,
    "added": pl.Float64,
    "value": pl.Float64,
}
PROGRESS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "plan": pl.String,
    "kind": pl.String,
    "measure": pl.String,
    "fiscal_year": pl.Int32,
    "actual": pl.Float64,
    "path": pl.Float64,
    "path_source": pl.String,
    "end_target": pl.Float64,
    "progress": pl.Float64,
    "grade": pl.String,
}


def _per_year(frame: pl.LazyFrame) -> dict[int, float]:
    """``fiscal_year → added`` from a frame with those two columns."""
    rows = frame.collect().iter_rows()
    return {int(y): float(v) for y, v in rows if v is not None}


def _first_year_counts(frame: pl.LazyFrame) -> pl.LazyFrame:
    """People counted once, in the first plan year they appear: (fiscal_year, added)."""
    return (
        frame.group_by("employee_id")
        .agg(pl.col("fiscal_year").min())
        .group_by("fiscal_year")
        .agg(pl.len().cast(pl.Float64).alias("added"))
    )


def _added(data: Processed, total: str, plan: Plan) -> dict[int, float] | None:
    """What each plan year adds to a total (None when a dataset it needs is missing)."""
    if any(getattr(data, name, None) is None for name in PLAN_TOTALS[total].datasets):
        return None
    years = plan.years
    in_plan = pl.col("fiscal_year").is_in(list(years))
    if total in ("leaders", "new_leaders"):
        leaders = data.staff.filter(pl.col("talent_type") == "leader")
        during = leaders.filter(in_plan).select("employee_id", "fiscal_year")
        if total == "new_leaders":
            before = leaders.filter(pl.col("fiscal_year") == plan.base_year)
            during = during.join(before.select("employee_id"), on="employee_id", how="anti")
        return _per_year(_first_year_counts(during))
    if total == "trained_staff":
        trained = attendance_of_members(data).filter(in_plan, pl.col("trained") > 0)
        return _per_year(_first_year_counts(trained.select("employee_id", "fiscal_year")))
    if total == "implemented_proposals":
        done = (
            data.require("proposals")
            .filter(pl.col("status") == "implemented")
            .select(fiscal_year_of(pl.col("implemented_on")).alias("fiscal_year"))
            .filter(in_plan)
        )
        return _per_year(done.group_by("fiscal_year").agg(pl.len().cast(pl.Float64).alias("added")))
    # proposals and hours saved: the yearly KPI's own city cell (one rule, kpi.measures)
    measure, column = (
        (proposals_per_100, "numerator") if total == "proposals" else (hours_saved, "value")
    )
    cells = measure(data, list(years), CITY).select(
        "fiscal_year", pl.col(column).cast(pl.Float64).alias("added")
    )
    return _per_year(cells)


def plan_totals(data: Processed, plan: Plan) -> pl.DataFrame:
    """The plan's cumulative totals, year by year (:data:`TOTALS_SCHEMA`).

    One row per total of ``plan.cumulative`` and plan year: ``added`` (what the year adds —
    for people, those counted for the first time in the plan) and ``value`` (the total from the
    first year to this one). A year without a staff list, or a total whose dataset is missing,
    has empty values.
    """
    covered = set(data.fiscal_years())
    rows = []
    for total in plan.cumulative:
        added = _added(data, total, plan)
        running = 0.0
        for year in plan.years:
            measured = added is not None and year in covered
            step = (added or {}).get(year, 0.0) if measured else None
            running += step or 0.0
            rows.append(
                {
                    "total": total,
                    "fiscal_year": year,
                    "added": step,
                    "value": running if measured else None,
                }
            )
    return pl.DataFrame(rows, schema=TOTALS_SCHEMA)


def _progress_of(year: int, as_of: dt.date | None) -> float:
    return 1.0 if as_of is None else fiscal_year_progress(year, as_of)


def _as_of(rich: pl.DataFrame, as_of: dt.date | None) -> dt.date | None:
    if as_of is not None or "as_of" not in rich.columns:
        return as_of
    dates = rich.get_column("as_of").drop_nulls()
    return None if dates.is_empty() else dates.max()  # type: ignore[return-value]


def _city_values(rich: pl.DataFrame, kpi: str) -> dict[int, tuple[float | None, bool]]:
    """fiscal year → (city value, provisional); a suppressed cell has no value."""
    cells = rich.filter(pl.col("kpi") == kpi, pl.col("group_by") == "city")
    out: dict[int, tuple[float | None, bool]] = {}
    for r in cells.iter_rows(named=True):
        value = None if r.get("suppressed") else r["value"]
        out[int(r["fiscal_year"])] = (value, bool(r.get("provisional") or False))
    return out


def _end_rows(
    plan: Plan, kpi: str, rich: pl.DataFrame, config: Config, as_of: dt.date | None
) -> list[dict[str, object]]:
    spec = REGISTRY[kpi]
    end = plan.end[kpi]
    values = _city_values(rich, kpi)
    base = values.get(plan.base_year, (None, False))[0]
    rows: list[dict[str, object]] = []
    for year in plan.years:
        yearly = config.target(kpi, year)
        if year == plan.last_year:
            path, source = end, "end"
        elif yearly is not None:
            path, source = yearly, "target"
        elif base is not None:
            share = (year - plan.base_year) / (plan.last_year - plan.base_year)
            path, source = base + (end - base) * share, "linear"
        else:
            path, source = None, None
        progress = _progress_of(year, as_of)
        compare = path
        if path is not None and spec.cumulative and 0 < progress < 1:
            compare = path * progress
        value, provisional = values.get(year, (None, False))
        mark = (
            "D"
            if progress == 0
            else grade(
                value,
                compare,
                spec.higher_is_better,
                config.grading.tolerance,
                provisional=provisional,
            )
        )
        rows.append(
            {
                "plan": plan.key,
                "kind": "end",
                "measure": kpi,
                "fiscal_year": year,
                "actual": value,
                "path": compare,
                "path_source": source,
                "end_target": end,
                "progress": progress,
                "grade": mark,
            }
        )
    return rows


def _total_rows(
    plan: Plan, totals: pl.DataFrame, config: Config, as_of: dt.date | None
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    n = len(plan.years)
    for r in totals.iter_rows(named=True):
        year = int(r["fiscal_year"])
        target = plan.cumulative[r["total"]]
        progress = _progress_of(year, as_of)
        elapsed = year - plan.first_year + (progress if 0 < progress < 1 else 1.0)
        path = target * elapsed / n
        mark = "D" if progress == 0 else grade(r["value"], path, True, config.grading.tolerance)
        rows.append(
            {
                "plan": plan.key,
                "kind": "cumulative",
                "measure": r["total"],
                "fiscal_year": year,
                "actual": r["value"],
                "path": path,
                "path_source": "share",
                "end_target": target,
                "progress": progress,
                "grade": mark,
            }
        )
    return rows


def plan_progress(
    plan: Plan,
    data: Processed,
    rich: pl.DataFrame,
    config: Config,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Every plan year of every plan target against its path (:data:`PROGRESS_SCHEMA`).

    ``rich`` is the KPI engine's frame (city cells of the base and plan years are read from
    it); ``as_of`` defaults to the frame's own as-of date (none: every year is complete).
    Columns: plan (its key), kind (``end`` / ``cumulative``), measure (KPI id or plan total
    id), fiscal_year, actual, path (pro-rated in a year in progress where the rule says so),
    path_source (``target`` a yearly target, ``linear`` the straight line, ``end`` the end
    target, ``share`` the even share of a total; empty: no path), end_target, progress (elapsed
    share of the year), grade.
    """
    when = _as_of(rich, as_of)
    rows: list[dict[str, object]] = []
    for kpi in plan.end:
        rows += _end_rows(plan, kpi, rich, config, when)
    rows += _total_rows(plan, plan_totals(data, plan), config, when)
    return pl.DataFrame(rows, schema=PROGRESS_SCHEMA)
