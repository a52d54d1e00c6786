"""Check: every city-wide KPI/KGI of the year against its target, and the year's data.

:func:`summary_table` (value, target, grade and change from last year per city-wide cell),
:func:`departments_needing_support` (below the city on participation and proposals),
:func:`data_through` (the data as it stood at a fiscal year's end) and :func:`fy_end` (from
:mod:`dxkpi.core.fiscal`).
Department-level figures describe units; suppressed cells keep no value.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.core.fiscal import fy_end
from dxkpi.ingest.processed import Processed

__all__ = [
    "SECOND_DIMENSION_GROUPINGS",
    "city_cells",
    "data_through",
    "departments_needing_support",
    "fy_end",
    "summary_table",
]

#: Groupings shown city-wide per value (one summary cell per phase, dimension…).
SECOND_DIMENSION_GROUPINGS = ("phase", "dimension", "skill_area", "mobility")


def data_through(data: Processed, fiscal_year: int) -> Processed:
    """The data as the DX office had it at the end of ``fiscal_year``: later staff lists,
    sessions, proposals, projects, surveys and personnel orders (assignments) are left out
    (statuses are as in the data)."""
    end = fy_end(fiscal_year)
    fy = pl.col("fiscal_year") <= fiscal_year
    keep: dict[str, pl.Expr] = {
        "staff": fy,
        "resident_survey": fy,
        "maturity_survey": fy,
        "skill_assessment": fy,
        "attendance": pl.col("session_date") <= end,
        "proposals": pl.col("submitted_on") <= end,
        "projects": pl.col("started_on") <= end,
        "knowledge_posts": pl.col("posted_on") <= end,
        "followup_survey": pl.col("responded_on") <= end,
        "assignments": pl.col("valid_from") <= end,
    }
    frames = {
        name: getattr(data, name).filter(expr)
        for name, expr in keep.items()
        if getattr(data, name) is not None
    }
    return dataclasses.replace(data, **frames)


def city_cells(rich: pl.DataFrame) -> pl.DataFrame:
    """City-wide cells: the city row, or per second-dimension value (phase, dimension…)."""
    return rich.filter(pl.col("group_by").is_in(["city", *SECOND_DIMENSION_GROUPINGS]))


def summary_table(rich: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """Every city-wide KPI/KGI cell of the year with last year's value and the change.

    Columns: kind (kpi 進捗 / kgi 効果), kpi, group_by, group, name_ja, name_en, unit,
    higher_is_better, value, target, grade, suppressed, previous, change (value − previous,
    in the KPI's unit; empty without a comparable previous value), provisional (a waiting KPI
    whose cohort of this year has not matured: grade ``P`` 暫定, never C), maturity_days (its
    window W) and as_of. Suppressed cells keep no value, previous or change.
    """
    cells = city_cells(rich)
    now = cells.filter(pl.col("fiscal_year") == fiscal_year)
    before = cells.filter(pl.col("fiscal_year") == fiscal_year - 1).select(
        "kpi",
        "group_by",
        "group",
        pl.when(~pl.col("suppressed")).then(pl.col("value")).alias("previous"),
    )
    hib = pl.DataFrame(
        {"kpi": list(REGISTRY), "higher_is_better": [s.higher_is_better for s in REGISTRY.values()]}
    )
    order = pl.DataFrame({"kpi": list(REGISTRY), "_order": list(range(len(REGISTRY)))})
    out = (
        now.join(before, on=["kpi", "group_by", "group"], how="left")
        .join(hib, on="kpi", how="left")
        .join(order, on="kpi", how="left")
        .with_columns(
            value=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")),
            previous=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("previous")),
        )
        .with_columns(change=pl.col("value") - pl.col("previous"))
        .sort("kind", "_order", "group", descending=[True, False, False])
    )
    return out.select(
        "kind",
        "kpi",
        "group_by",
        "group",
        "name_ja",
        "name_en",
        "unit",
        "higher_is_better",
        "value",
        "target",
        "grade",
        "suppressed",
        "previous",
        "change",
        *[c for c in ("provisional", "maturity_days", "as_of") if c in out.columns],
    )


def departments_needing_support(rich: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """Departments below the city value on both participation rate and proposals per 100 staff.

    Columns: department, group_name, participation_rate, proposals_per_100, city
    participation, city proposals (ratios 0–1; proposals per 100 staff). Suppressed
    departments are never listed (their values are not shown anywhere).
    """
    year = rich.filter(pl.col("fiscal_year") == fiscal_year)
    city = {
        r["kpi"]: r["value"]
        for r in year.filter(pl.col("group_by") == "city").iter_rows(named=True)
    }
    dept = year.filter(
        pl.col("group_by") == "department",
        ~pl.col("suppressed"),
        pl.col("kpi").is_in(["participation_rate", "proposals_per_100"]),
    )
    wide = dept.pivot(on="kpi", index=["group", "group_name"], values="value")
    schema = {
        "department": pl.String,
        "group_name": pl.String,
        "participation_rate": pl.Float64,
        "proposals_per_100": pl.Float64,
        "city_participation": pl.Float64,
        "city_proposals": pl.Float64,
    }
    needed = {"participation_rate", "proposals_per_100"}
    if not wide.height or not needed <= set(wide.columns) or not needed <= set(city):
        return pl.DataFrame(schema=schema)
    return (
        wide.filter(
            pl.col("participation_rate") < city["participation_rate"],
            pl.col("proposals_per_100") < city["proposals_per_100"],
        )
        .select(
            pl.col("group").alias("department"),
            "group_name",
            "participation_rate",
            "proposals_per_100",
            pl.lit(city["participation_rate"]).alias("city_participation"),
            pl.lit(city["proposals_per_100"]).alias("city_proposals"),
        )
        .sort("proposals_per_100")
    )
