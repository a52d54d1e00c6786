"""Do/Check of the programme: courses, support models, success cases and stalled proposals.

:func:`course_effects` (staggered DiD per course), :func:`course_review` (satisfaction beside
behavioural change), :func:`courses_to_revise`, :func:`support_models` (outsourced → co-creation
→ in-house), :func:`success_cases` and :func:`stalled_proposals` (Brinkerhoff). Person-level
groups below k are suppressed or left out; projects and departments are units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from dxkpi.core.fiscal import fiscal_year_of, fy_end, fy_start
from dxkpi.ingest.processed import Processed
from dxkpi.models.behaviour import BehaviourError, estimate_panel, period_index, proposal_panel

__all__ = [
    "course_effects",
    "course_review",
    "courses_to_revise",
    "stalled_proposals",
    "success_cases",
    "support_models",
]


def course_effects(
    data: Processed,
    *,
    min_treated: int = 30,
    min_units: int = 10,
    courses: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Per course: the staggered-DiD effect of first completing it on proposals, per 100 staff
    per year, with its 95% interval (treatment = first completed session of that course;
    comparison = staff who have not (yet) completed it; quarterly panel).

    Columns: course_id, n_treated, per_100_year, ci_low, ci_high, reason (why no estimate:
    ``too_few`` below ``min_treated`` completers, ``not_estimable`` when the estimator fails).
    """
    schema = {
        "course_id": pl.String,
        "n_treated": pl.Int64,
        "per_100_year": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "reason": pl.String,
    }
    base = proposal_panel(data, period="quarter", treatment="any").drop("first_treated")
    first_fy, last = base["fiscal_year"].min(), base["period"].max()
    if not isinstance(first_fy, int) or not isinstance(last, int):  # integer columns: empty panel
        raise TypeError(f"empty proposal panel (first year {first_fy!r}, last period {last!r})")
    firsts = (
        data.require("attendance")
        .filter(pl.col("status") == "completed")
        .group_by("course_id", "employee_id")
        .agg(pl.col("session_date").min())
        .with_columns(
            period_index(pl.col("session_date"), first_fy, "quarter")
            .cast(pl.Int64)
            .alias("first_treated")
        )
        .collect()
    )
    ids = courses if courses is not None else sorted(firsts["course_id"].unique().to_list())
    rows = []
    for cid in ids:
        treated = firsts.filter(pl.col("course_id") == cid).select(
            pl.col("employee_id").alias("unit"),
            pl.when(pl.col("first_treated") > last)
            .then(0)
            .otherwise(pl.max_horizontal(pl.col("first_treated"), pl.lit(1)))
            .alias("first_treated"),
        )
        panel = base.join(treated, on="unit", how="left").with_columns(
            pl.col("first_treated").fill_null(0)
        )
        n = int(panel.filter(pl.col("first_treated") > 1)["unit"].n_unique())
        row: dict[str, Any] = {
            "course_id": cid,
            "n_treated": n,
            "per_100_year": None,
            "ci_low": None,
            "ci_high": None,
            "reason": None,
        }
        if n < min_treated:
            row["reason"] = "too_few"
        else:
            try:
                res = estimate_panel(panel, period="quarter", treatment="any", min_units=min_units)
                ci = res.per_100_year_ci
                row |= {
                    "per_100_year": res.per_100_year,
                    "n_treated": res.n_treated,
                    "ci_low": ci[0] if ci else None,
                    "ci_high": ci[1] if ci else None,
                }
            except BehaviourError:
                row["reason"] = "not_estimable"
        rows.append(row)
    return pl.DataFrame(rows, schema=schema)


def course_review(
    data: Processed, fiscal_year: int, effects: pl.DataFrame, k: int, *, liked: float | None = None
) -> pl.DataFrame:
    """Per course run in the year: attendees, completion rate, mean satisfaction (1–5) beside the
    course's behavioural effect (per 100 staff per year), and flags.

    ``flag``: ``liked_no_change`` — mean satisfaction ≥ ``liked`` (default: the median of the
    year's shown courses, i.e. the better-liked half) but the effect's interval includes 0 or is
    below it (satisfaction is not behaviour); ``no_estimate`` — no effect
    estimated; else None. Courses with fewer than ``k`` distinct attendees in the year have
    ``suppressed`` true and no figures.
    """
    start, end = fy_start(fiscal_year), fy_end(fiscal_year)
    att = data.require("attendance").filter(pl.col("session_date").is_between(start, end))
    per = att.group_by("course_id").agg(
        pl.col("employee_id").n_unique().alias("attendees"),
        (pl.col("status") == "completed").mean().alias("completion_rate"),
        pl.col("satisfaction").mean().alias("satisfaction"),
        pl.col("satisfaction").count().alias("satisfaction_n"),
    )
    courses = data.require("courses").select(
        "course_id", "course_name", pl.col("phase").cast(pl.Int64)
    )
    frame = (
        courses.join(per, on="course_id", how="inner")
        .collect()
        .join(effects, on="course_id", how="left")
    )
    hidden = pl.col("attendees") < k
    if liked is None:
        median = frame.filter(pl.col("attendees") >= k)["satisfaction"].median()
        liked = float(median) if isinstance(median, int | float) else None  # None: no shown course
    liked = 5.0 if liked is None else float(liked)
    no_change = pl.col("ci_low").is_null() | (pl.col("ci_low") <= 0)
    frame = frame.with_columns(
        suppressed=hidden,
        flag=pl.when(hidden)
        .then(None)
        .when(pl.col("per_100_year").is_null())
        .then(pl.lit("no_estimate"))
        .when((pl.col("satisfaction") >= liked) & no_change)
        .then(pl.lit("liked_no_change")),
    )
    figures = [
        "attendees",
        "completion_rate",
        "satisfaction",
        "satisfaction_n",
        "per_100_year",
        "ci_low",
        "ci_high",
        "n_treated",
    ]
    return frame.with_columns(
        [pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in figures]
    ).sort("phase", "course_id")


def courses_to_revise(review: pl.DataFrame, completion_floor: float = 0.7) -> pl.DataFrame:
    """Courses to revise next year: liked without behavioural change, or a completion rate below
    ``completion_floor`` (0–1), or a negative effect whose interval excludes 0."""
    return review.filter(~pl.col("suppressed")).filter(
        (pl.col("flag") == "liked_no_change")
        | (pl.col("completion_rate") < completion_floor)
        | (pl.col("ci_high") < 0)
    )


def support_models(data: Processed, fiscal_year: int) -> pl.DataFrame:
    """Projects started per fiscal year (≤ ``fiscal_year``) by support model: outsourced 外部委託,
    co_creation 伴走, in_house 内製, with the in-house share (0–1). Projects are units."""
    models = ["outsourced", "co_creation", "in_house"]
    proj = (
        data.require("projects")
        .with_columns(fy=fiscal_year_of(pl.col("started_on")))
        .filter(pl.col("fy") <= fiscal_year)
        .collect()
    )
    if not proj.height:
        return pl.DataFrame(
            schema={
                "fiscal_year": pl.Int32,
                **{m: pl.UInt32 for m in models},
                "in_house_share": pl.Float64,
            }
        )
    wide = proj.pivot(
        on="support_model", index="fy", values="project_id", aggregate_function="len"
    ).rename({"fy": "fiscal_year"})
    for m in models:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.UInt32).alias(m))
    wide = wide.select("fiscal_year", *[pl.col(m).fill_null(0) for m in models])
    total = pl.sum_horizontal(models)
    return wide.with_columns(in_house_share=pl.col("in_house") / total).sort("fiscal_year")


def success_cases(
    data: Processed, fiscal_year: int, k: int, *, top: int = 5
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The year's success cases, largest hours saved first (hours per year).

    Returns (proposals, projects). Proposals implemented in the year are aggregated by
    department × category: implemented, proposers, hours_saved, examples (up to three titles) —
    only groups with ≥ k distinct proposers are listed (titles are free text and never shown for
    a small group or a person). Projects completed in the year are units: department_name,
    project_name, support_model, hours_saved (top ``top``).
    """
    depts = data.departments.select("department_code", "department_name")
    props = (
        data.require("proposals")
        .filter(
            pl.col("status") == "implemented",
            fiscal_year_of(pl.col("implemented_on")) == fiscal_year,
        )
        .join(depts, on="department_code", how="left")
        .with_columns(pl.col("category").fill_null("（未分類）"))
        .group_by("department_name", "category")
        .agg(
            pl.len().alias("implemented"),
            pl.col("employee_id").n_unique().alias("proposers"),
            pl.col("hours_saved_per_year").fill_null(0).sum().alias("hours_saved"),
            pl.col("title")
            .sort_by(pl.col("hours_saved_per_year").fill_null(0), descending=True)
            .unique(maintain_order=True)
            .head(3)
            .str.join("、")
            .alias("examples"),
        )
        .filter(pl.col("proposers") >= k)
        .sort("hours_saved", descending=True)
        .head(top)
        .collect()
    )
    projects = (
        data.require("projects")
        .filter(pl.col("status") == "completed", fiscal_year_of(pl.col("ended_on")) == fiscal_year)
        .join(depts, on="department_code", how="left")
        .select(
            "department_name",
            "project_name",
            "support_model",
            pl.col("hours_saved_per_year").fill_null(0).alias("hours_saved"),
        )
        .sort("hours_saved", descending=True)
        .head(top)
        .collect()
    )
    return props, projects


def stalled_proposals(data: Processed, fiscal_year: int, k: int, *, top: int = 5) -> pl.DataFrame:
    """Where trained staff's proposals went nowhere: per department × category, proposals
    submitted in the year by staff trained (attended or completed) before submitting, and the
    share rejected or still undecided at the year end (0–1). Groups with fewer than ``k``
    distinct proposers are left out; sorted by that share, largest first."""
    first = (
        data.require("attendance")
        .filter(pl.col("status").is_in(["completed", "attended"]))
        .group_by("employee_id")
        .agg(pl.col("session_date").min().alias("trained_on"))
    )
    depts = data.departments.select("department_code", "department_name")
    return (
        data.require("proposals")
        .filter(fiscal_year_of(pl.col("submitted_on")) == fiscal_year)
        .join(first, on="employee_id", how="inner")
        .filter(pl.col("trained_on") < pl.col("submitted_on"))
        .join(depts, on="department_code", how="left")
        .with_columns(pl.col("category").fill_null("（未分類）"))
        .group_by("department_name", "category")
        .agg(
            pl.len().alias("proposals"),
            pl.col("employee_id").n_unique().alias("proposers"),
            (pl.col("status") == "rejected").sum().alias("rejected"),
            (pl.col("status") == "submitted").sum().alias("undecided"),
        )
        .filter(pl.col("proposers") >= k)
        .with_columns(
            nowhere_share=(pl.col("rejected") + pl.col("undecided")) / pl.col("proposals")
        )
        .sort("nowhere_share", descending=True)
        .head(top)
        .collect()
    )
