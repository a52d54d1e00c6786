"""Do/Check of the programme: courses, support models, success cases and stalled proposals.

:func:`course_effects` (each course's effect at the employee's stage, with its verdict — see
:mod:`dxkpi.models.courses`), :func:`course_followup` (the follow-up survey's application and
manager-support rates per course), :func:`course_review` (satisfaction, self-reported
application and behavioural change side by side — Kirkpatrick levels 1 and 3),
:func:`courses_to_revise` and :func:`courses_undecided`, :func:`support_models` (outsourced →
co-creation → in-house), :func:`success_cases` and :func:`stalled_proposals` (Brinkerhoff).
Person-level groups below k are suppressed or left out; projects and departments are units.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from dxkpi.catalogue.format import PER_100_STAFF_YEAR
from dxkpi.core.fiscal import fiscal_year_of, fy_end, fy_start
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.engine import compute
from dxkpi.models import courses as _courses
from dxkpi.models.courses import CourseEffects
from dxkpi.project.config import Config

__all__ = [
    "FOLLOWUP_KPIS",
    "MIN_COMPLETERS",
    "course_effects",
    "course_followup",
    "course_review",
    "courses_low_completion",
    "courses_to_revise",
    "courses_undecided",
    "stalled_proposals",
    "success_cases",
    "support_models",
]


#: The fewest first-at-stage completers a course needs to be estimated (k when k is larger).
MIN_COMPLETERS = 30


def course_effects(
    data: Processed,
    config: Config,
    *,
    by: Literal["course", "phase"] = "course",
    min_comparison: int | None = None,
) -> CourseEffects:
    """Per course (or phase): the effect of completing it at the employee's stage, with its
    verdict, judged with the project's settings — the one place the review and the CLI take
    them from.

    :func:`dxkpi.models.courses.course_effects` (read its docstring for the estimand and the
    comparison: staff at the same stage not yet trained at that phase) with the smallest effect
    of interest of ``[decisions]``, at least ``max(MIN_COMPLETERS, k)`` first-at-stage
    completers per course and ``min_comparison`` comparison employees per pair of months
    (default k). Verdicts are Holm-adjusted across the courses estimated. Courses not estimated
    are rows with a ``reason``.
    """
    k = config.privacy.min_cell_size
    estimate = _courses.phase_effects if by == "phase" else _courses.course_effects
    return estimate(
        data,
        smallest=config.decisions.smallest_effect_per_employee_month,
        min_treated=max(MIN_COMPLETERS, k),
        min_comparison=k if min_comparison is None else min_comparison,
    )


_EFFECT_FIGURES = (
    "effect_100",
    "ci_low_100",
    "ci_high_100",
    "mde_100",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "n_treated",
    "p_adjusted",
)


#: The follow-up KPIs a course review shows, and the prefix of their columns there.
FOLLOWUP_KPIS: dict[str, str] = {"application_rate": "applied", "manager_support_rate": "support"}

_FOLLOWUP_SCHEMA: dict[str, type[pl.DataType]] = {
    "course_id": pl.String,
    **{
        f"{prefix}_{c}": t
        for prefix in FOLLOWUP_KPIS.values()
        for c, t in (
            ("rate", pl.Float64),
            ("ci_low", pl.Float64),
            ("ci_high", pl.Float64),
            ("answers", pl.Float64),
        )
    },
    "followup_suppressed": pl.Boolean,
}


def course_followup(data: Processed, config: Config, fiscal_year: int) -> pl.DataFrame | None:
    """Per course: the follow-up survey's application rate and manager-support rate of the year
    (the KPIs ``application_rate`` and ``manager_support_rate`` grouped by course, from the KPI
    engine with its suppression: primary below k and complementary), or None without a
    ``followup_survey`` dataset.

    Columns: course_id; ``applied_rate``, ``applied_ci_low``, ``applied_ci_high`` (Wilson 95%),
    ``applied_answers`` (the denominator: employees × course answering in the year, their
    latest wave); the same with prefix ``support_``; ``followup_suppressed``. A course with no
    answers has empty rates and 0 answers.
    """
    if data.followup_survey is None:
        return None
    rich = compute(
        data, config, kpis=list(FOLLOWUP_KPIS), fiscal_years=[fiscal_year], by=["course"]
    )
    parts = [
        rich.filter(pl.col("kpi") == kpi).select(
            pl.col("group").alias("course_id"),
            pl.col("value").alias(f"{prefix}_rate"),
            pl.col("ci_low").alias(f"{prefix}_ci_low"),
            pl.col("ci_high").alias(f"{prefix}_ci_high"),
            pl.col("denominator").alias(f"{prefix}_answers"),
            pl.col("suppressed").alias(f"_{prefix}_suppressed"),
        )
        for kpi, prefix in FOLLOWUP_KPIS.items()
    ]
    joined = parts[0].join(parts[1], on="course_id", how="full", coalesce=True)
    hidden = pl.any_horizontal([f"_{p}_suppressed" for p in FOLLOWUP_KPIS.values()])
    return joined.with_columns(followup_suppressed=hidden.fill_null(False)).select(
        list(_FOLLOWUP_SCHEMA)
    )


def course_review(
    data: Processed,
    fiscal_year: int,
    effects: CourseEffects,
    k: int,
    *,
    liked: float | None = None,
    followup: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per course run in the year: attendees, completion rate, mean satisfaction (1–5) beside
    the course's behavioural effect and its verdict.

    Effect columns (per 100 staff per year, from ``effects``): ``effect_100``, ``ci_low_100``,
    ``ci_high_100`` (pointwise 95%), ``mde_100`` (smallest effect the data could detect),
    ``ratio`` and its interval, ``n_treated``, ``p_adjusted`` (Holm), ``verdict`` (effect /
    no_effect / inconclusive), ``estimand`` and ``reason`` (why not estimated).
    ``flag``: ``liked_no_effect`` — mean satisfaction ≥ ``liked`` (default: the median of the
    year's shown courses, i.e. the better-liked half) and verdict ``no_effect`` (satisfaction
    is not behaviour); else None. A course whose interval merely includes 0 is
    ``inconclusive``, never flagged as "no change". Courses with fewer than ``k`` distinct
    attendees in the year have ``suppressed`` true and no figures.

    ``followup`` (:func:`course_followup`) adds the self-reported level 3 beside them: the
    application and manager-support rates of the year's follow-up answers about the course
    (answers may concern last year's sessions), with ``followup_suppressed``; without it those
    columns are empty and ``followup_suppressed`` is null (no survey).
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
    est = effects.table.select(
        "course_id",
        "estimand",
        (pl.col("effect") * PER_100_STAFF_YEAR).alias("effect_100"),
        (pl.col("ci_low") * PER_100_STAFF_YEAR).alias("ci_low_100"),
        (pl.col("ci_high") * PER_100_STAFF_YEAR).alias("ci_high_100"),
        (pl.col("mde") * PER_100_STAFF_YEAR).alias("mde_100"),
        "ratio",
        "ratio_ci_low",
        "ratio_ci_high",
        "n_treated",
        "p_adjusted",
        "verdict",
        "below_smallest",
        "reason",
    )
    frame = (
        courses.join(per, on="course_id", how="inner")
        .collect()
        .join(est, on="course_id", how="left")
        .with_columns(
            pl.col("verdict").fill_null("inconclusive"),
            pl.when(pl.col("verdict").is_null())
            .then(pl.lit("not_in_catalogue"))
            .otherwise(pl.col("reason"))
            .alias("reason"),
        )
    )
    hidden = pl.col("attendees") < k
    if liked is None:
        median = frame.filter(pl.col("attendees") >= k)["satisfaction"].median()
        liked = float(median) if isinstance(median, int | float) else None  # None: no shown course
    liked = 5.0 if liked is None else float(liked)
    frame = frame.with_columns(
        suppressed=hidden,
        flag=pl.when(hidden)
        .then(None)
        .when((pl.col("satisfaction") >= liked) & (pl.col("verdict") == "no_effect"))
        .then(pl.lit("liked_no_effect")),
    )
    figures = ["attendees", "completion_rate", "satisfaction", "satisfaction_n", *_EFFECT_FIGURES]
    frame = frame.with_columns(
        [pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in figures]
    )
    if followup is None:
        followup = pl.DataFrame(schema=_FOLLOWUP_SCHEMA)
        frame = frame.join(followup, on="course_id", how="left")
    else:
        frame = frame.join(followup, on="course_id", how="left").with_columns(
            pl.col("followup_suppressed").fill_null(False),
            pl.col(["applied_answers", "support_answers"]).fill_null(0.0),
        )
    return frame.sort("phase", "course_id")


def courses_to_revise(review: pl.DataFrame) -> pl.DataFrame:
    """Courses to revise next year for what they do to behaviour (見直す研修): verdict
    ``no_effect`` (no effect of practical size — liked or not) or verdict ``effect`` with a
    negative estimate (it lowers proposals). Only the effect evidence decides: courses whose
    effect is not known (``inconclusive``) are never listed (see :func:`courses_undecided`),
    and a low completion rate is a delivery matter listed by :func:`courses_low_completion`."""
    return review.filter(~pl.col("suppressed")).filter(
        (pl.col("verdict") == "no_effect")
        | ((pl.col("verdict") == "effect") & (pl.col("effect_100") < 0))
    )


def courses_low_completion(review: pl.DataFrame, completion_floor: float = 0.7) -> pl.DataFrame:
    """Courses whose completion rate is below ``completion_floor`` (0–1), whatever their
    effect verdict: how the course is run (schedule, length, workload) needs a look. Kept apart
    from :func:`courses_to_revise` so that a delivery problem is never read as "no effect"."""
    return review.filter(~pl.col("suppressed"), pl.col("completion_rate") < completion_floor)


def courses_undecided(review: pl.DataFrame) -> pl.DataFrame:
    """Courses whose effect cannot be judged (判断できない（データ不足）): verdict
    ``inconclusive`` — estimated with an interval too wide to say (``mde_100`` says what size
    of effect the data could have shown) or not estimated (``reason``)."""
    return review.filter(~pl.col("suppressed"), pl.col("verdict") == "inconclusive")


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
