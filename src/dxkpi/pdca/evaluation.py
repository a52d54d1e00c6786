"""The 行政評価 sheet (事務事業評価): what each course cost, what it did, and its proposed 方向性.

:func:`evaluation_sheets` gives one row per course run in the fiscal year and one for the
programme (``level`` = ``programme``), in the shape of the 事務事業評価 sheets many cities
publish:

* 活動指標 — attendees (受講者数: distinct staff who attended or completed) and completers
  (修了者数: distinct staff who completed);
* 成果指標 — the behavioural effect of the course at its stage (the course-verdict model of
  :func:`dxkpi.pdca.programme.course_effects`, per 100 staff-years with its verdict);
* トータルコスト = 事業費 + 人件費: 事業費 = external fee + venue + internal instructor hours ×
  ``hourly_cost_yen`` (the ``course_costs`` dataset); 人件費 = participants' time
  (:func:`dxkpi.pdca.investment.participant_hours`, the ROI's one rule) × ``hourly_cost_yen``;
* 単位当たりコスト — per completer, and per behavioural-effect unit: one extra proposal in the
  year after completion, i.e. total cost ÷ (first-at-stage completers of the course in the year ×
  effect per employee-month × 12). Only a clear positive effect (verdict ``effect``, estimate
  > 0) is divided by; otherwise the cost is 算出不可 with the reason (family
  ``unit_cost_reason``), never a division by a noisy ~0;
* 前年度比 — the total cost and the cost per completer against last year's;
* 方向性 — proposed by :func:`propose_direction` (rule in its docstring and the README); the
  meeting overrides it in the review log (:class:`dxkpi.pdca.review_log.CourseDecision`), and
  last year's decision is shown beside this year's proposal.

Courses with 0 < attendees < k are suppressed: their person-based figures (counts, participants'
time, totals, unit costs, effect) are null and no direction is proposed; their 事業費 stays,
as it describes the course, not people.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from dxkpi.catalogue.format import PER_100_STAFF_YEAR
from dxkpi.core.fiscal import fy_end, fy_start
from dxkpi.ingest.processed import Processed
from dxkpi.models.courses import CourseEffects, first_completions
from dxkpi.pdca.investment import RoiAssumptions, participant_hours
from dxkpi.pdca.review_log import PROGRAMME, ReviewLog

__all__ = [
    "COMPLETION_FLOOR",
    "EVALUATION_COLUMNS",
    "MONTHS_OF_EFFECT",
    "evaluation_sheets",
    "propose_direction",
]

#: Months of effect counted per first-at-stage completer in a behavioural-effect unit: the year
#: after completion.
MONTHS_OF_EFFECT = 12
#: Completion rate (0–1) below which a course whose effect cannot be judged is proposed 改善
#: (the floor of :func:`dxkpi.pdca.programme.courses_low_completion`).
COMPLETION_FLOOR = 0.7

#: The columns of :func:`evaluation_sheets`, in order (yen amounts in yen, changes as a share of
#: last year's value, the effect in proposals per 100 staff-years).
EVALUATION_COLUMNS: dict[str, type[pl.DataType] | pl.DataType] = {
    "level": pl.String,
    "course_id": pl.String,
    "course_name": pl.String,
    "phase": pl.Int64,
    "attendees": pl.Int64,
    "completers": pl.Int64,
    "completion_rate": pl.Float64,
    "has_costs": pl.Boolean,
    "external_fee_yen": pl.Float64,
    "venue_yen": pl.Float64,
    "instructor_hours": pl.Float64,
    "instructor_cost_yen": pl.Float64,
    "project_cost_yen": pl.Float64,
    "participant_hours": pl.Float64,
    "personnel_cost_yen": pl.Float64,
    "total_cost_yen": pl.Float64,
    "cost_per_completer_yen": pl.Float64,
    "effect_100": pl.Float64,
    "ci_low_100": pl.Float64,
    "ci_high_100": pl.Float64,
    "verdict": pl.String,
    "first_completers": pl.Int64,
    "effect_units": pl.Float64,
    "cost_per_effect_yen": pl.Float64,
    "unit_cost_reason": pl.String,
    "unit_cost_phase": pl.Int64,
    "previous_total_cost_yen": pl.Float64,
    "total_cost_change": pl.Float64,
    "previous_cost_per_completer_yen": pl.Float64,
    "cost_per_completer_change": pl.Float64,
    "direction": pl.String,
    "direction_basis": pl.String,
    "previous_direction": pl.String,
    "previous_reason": pl.String,
    "previous_owner": pl.String,
    "suppressed": pl.Boolean,
}

_PERSON_FIGURES = (
    "attendees",
    "completers",
    "completion_rate",
    "participant_hours",
    "personnel_cost_yen",
    "total_cost_yen",
    "cost_per_completer_yen",
    "effect_100",
    "ci_low_100",
    "ci_high_100",
    "first_completers",
    "effect_units",
    "cost_per_effect_yen",
    "previous_total_cost_yen",
    "total_cost_change",
    "previous_cost_per_completer_yen",
    "cost_per_completer_change",
)


def _year_costs(data: Processed, fiscal_year: int, hourly: float) -> pl.DataFrame:
    """Per course run or costed in the year: activity and the two parts of the total cost."""
    start, end = fy_start(fiscal_year), fy_end(fiscal_year)
    activity = (
        data.require("attendance")
        .filter(
            pl.col("session_date").is_between(start, end),
            pl.col("status").is_in(["completed", "attended"]),
        )
        .group_by("course_id")
        .agg(
            pl.col("employee_id").n_unique().cast(pl.Int64).alias("attendees"),
            pl.col("employee_id")
            .filter(pl.col("status") == "completed")
            .n_unique()
            .cast(pl.Int64)
            .alias("completers"),
        )
        .collect()
    )
    time = participant_hours(data, fiscal_year).select("course_id", "participant_hours")
    costs = (
        data.require("course_costs")
        .filter(pl.col("fiscal_year") == fiscal_year)
        .select("course_id", "external_fee_yen", "venue_yen", "instructor_hours")
        .collect()
    )
    ids = pl.concat([activity.select("course_id"), costs.select("course_id")]).unique()
    return (
        ids.join(activity, on="course_id", how="left")
        .join(time, on="course_id", how="left")
        .join(costs.with_columns(has_costs=pl.lit(True)), on="course_id", how="left")
        .with_columns(
            pl.col("attendees", "completers").fill_null(0),
            pl.col("participant_hours").fill_null(0.0),
            pl.col("has_costs").fill_null(False),
        )
        .with_columns(
            instructor_cost_yen=pl.col("instructor_hours") * hourly,
            personnel_cost_yen=pl.col("participant_hours") * hourly,
        )
        .with_columns(
            project_cost_yen=pl.col("external_fee_yen")
            + pl.col("venue_yen")
            + pl.col("instructor_cost_yen"),
        )
        .with_columns(total_cost_yen=pl.col("project_cost_yen") + pl.col("personnel_cost_yen"))
        .with_columns(
            cost_per_completer_yen=pl.when(pl.col("completers") > 0).then(
                pl.col("total_cost_yen") / pl.col("completers")
            ),
        )
    )


def _first_completers(data: Processed, fiscal_year: int) -> dict[tuple[int, str], int]:
    """(phase, course_id) → staff whose first completed course of that phase is the course and
    falls in the fiscal year (the completers the course-verdict model's effect is about)."""
    first = first_completions(data, fiscal_year)  # month 1 = April of the fiscal year
    out: dict[tuple[int, str], int] = {}
    for p in (1, 2, 3):
        part = (
            first.filter(pl.col(f"m{p}").is_between(1, 12))
            .group_by(f"c{p}")
            .agg(pl.len().alias("n"))
        )
        for course, n in part.iter_rows():
            out[(p, course)] = int(n)
    return out


def _unit_cost(
    total: float | None, effect: float | None, verdict: str | None, reason: str | None, n: int
) -> tuple[float | None, float | None, str | None]:
    """(effect units, cost per unit, reason 算出不可) of one course or the programme."""
    if reason is not None or verdict is None:
        return None, None, "not_estimated"
    if verdict == "inconclusive" or effect is None:
        return None, None, "inconclusive"
    if verdict == "no_effect":
        return None, None, "no_effect"
    if effect <= 0:
        return None, None, "negative"
    if n == 0:
        return 0.0, None, "no_first_completers"
    units = n * effect * MONTHS_OF_EFFECT
    if total is None:
        return units, None, "no_costs"
    return units, total / units, None


def propose_direction(
    row: dict[str, Any],
    median_cost_per_completer: float | None,
    median_cost_per_effect: float | None,
) -> tuple[str | None, str | None]:
    """The 方向性 proposed for one course, with the branch of the rule (``direction_basis``).

    In order (the first that applies):

    1. suppressed (0 < attendees < k) → no proposal;
    2. a clear negative effect (verdict ``effect``, estimate < 0) → 廃止 (abolish);
    3. no effect of practical size (``no_effect``) → 縮小 (reduce) when the cost per completer
       is above the median of the year's shown courses with costs, else 改善 (improve: rework
       the content);
    4. a clear positive effect → 拡充 (expand) when the cost per behavioural-effect unit is at
       or below the median of the courses where it could be computed, else 継続 (continue);
    5. the effect cannot be judged (``inconclusive``, or not estimated) → 改善 when the
       completion rate is below :data:`COMPLETION_FLOOR` (how the course is run), else 継続.

    A course without cost data is never "above the median". The proposal is a starting point:
    the meeting decides and records its own 方向性 in the review log.
    """
    if row["suppressed"]:
        return None, None
    verdict, effect = row["verdict"], row["effect_100"]
    if verdict == "effect" and effect is not None and effect < 0:
        return "abolish", "negative_effect"
    if verdict == "no_effect":
        cpc = row["cost_per_completer_yen"]
        costly = (
            cpc is not None
            and median_cost_per_completer is not None
            and cpc > median_cost_per_completer
        )
        return ("reduce", "no_effect_costly") if costly else ("improve", "no_effect")
    if verdict == "effect" and effect is not None and effect > 0:
        cpe = row["cost_per_effect_yen"]
        if cpe is not None and median_cost_per_effect is not None and cpe <= median_cost_per_effect:
            return "expand", "effect_efficient"
        return "continue", "effect"
    rate = row["completion_rate"]
    if rate is not None and rate < COMPLETION_FLOOR:
        return "improve", "low_completion"
    return "continue", "undecided"


def _programme_direction(phases: pl.DataFrame, run: set[int]) -> tuple[str, str]:
    """Programme: 継続 when every phase run in the year shows a clear positive effect; 改善 when
    one shows no effect or a negative one; else 継続 (cannot be judged). Whether to expand,
    reduce or end the whole programme is the meeting's decision, not a rule's."""
    rows = [r for r in phases.iter_rows(named=True) if r["phase"] in run]
    if rows and all(r["verdict"] == "effect" and (r["effect"] or 0) > 0 for r in rows):
        return "continue", "programme_effect"
    if any(
        r["verdict"] == "no_effect" or (r["verdict"] == "effect" and (r["effect"] or 0) < 0)
        for r in rows
    ):
        return "improve", "programme_weak_phase"
    return "continue", "undecided"


def _median(values: Sequence[float | None]) -> float | None:
    shown = sorted(v for v in values if v is not None)
    if not shown:
        return None
    return float(pl.Series(shown, dtype=pl.Float64).median())  # type: ignore[arg-type]


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return now / before - 1


def evaluation_sheets(
    data: Processed,
    fiscal_year: int,
    effects: CourseEffects,
    phases: CourseEffects,
    assumptions: RoiAssumptions,
    k: int,
    *,
    previous: ReviewLog | None = None,
) -> pl.DataFrame:
    """The 行政評価 sheets of one fiscal year: one row per course run or costed in the year
    (phase, course_id order), then the programme (columns :data:`EVALUATION_COLUMNS`).

    ``effects``: per-course effects (:func:`dxkpi.pdca.programme.course_effects`); ``phases``:
    per-phase effects (``by="phase"``), which give the programme's effect units (the sum over
    phases of first-at-stage completers × effect × 12, computed only when every phase run in
    the year has a clear positive effect; else ``unit_cost_phase`` names the first phase that
    has not); ``assumptions``: ``[roi]`` (``hourly_cost_yen``
    prices instructors' and participants' hours); ``previous``: last year's review log, whose
    ``course_decisions`` are shown beside this year's proposal. Needs ``course_costs``.

    The programme's 事業費 and total are null when a course run in the year has no cost row
    (``has_costs`` false): a partial sum would understate it.
    """
    hourly = assumptions.hourly_cost_yen
    now = _year_costs(data, fiscal_year, hourly)
    before = _year_costs(data, fiscal_year - 1, hourly).select(
        "course_id",
        pl.col("total_cost_yen").alias("previous_total_cost_yen"),
        pl.col("cost_per_completer_yen").alias("previous_cost_per_completer_yen"),
    )
    names = (
        data.require("courses")
        .select("course_id", "course_name", pl.col("phase").cast(pl.Int64))
        .collect()
    )
    est = effects.table.select(
        "course_id",
        (pl.col("effect") * PER_100_STAFF_YEAR).alias("effect_100"),
        (pl.col("ci_low") * PER_100_STAFF_YEAR).alias("ci_low_100"),
        (pl.col("ci_high") * PER_100_STAFF_YEAR).alias("ci_high_100"),
        pl.col("effect").alias("_effect"),
        "verdict",
        pl.col("reason").alias("_reason"),
    )
    first = _first_completers(data, fiscal_year)
    frame = (
        now.join(names, on="course_id", how="left")
        .join(est, on="course_id", how="left")
        .join(before, on="course_id", how="left")
        .with_columns(
            suppressed=(pl.col("attendees") > 0) & (pl.col("attendees") < k),
            completion_rate=pl.when(pl.col("attendees") > 0).then(
                pl.col("completers") / pl.col("attendees")
            ),
        )
        .sort("phase", "course_id")
    )
    rows: list[dict[str, Any]] = []
    for r in frame.iter_rows(named=True):
        n = first.get((r["phase"], r["course_id"]), 0)
        total = r["total_cost_yen"]
        units, per_unit, why = _unit_cost(total, r["_effect"], r["verdict"], r["_reason"], n)
        if r["verdict"] is None:
            r["verdict"] = "inconclusive"
        if r["suppressed"]:
            why = "suppressed"
        r |= {
            "level": "course",
            "first_completers": n,
            "effect_units": units,
            "cost_per_effect_yen": per_unit,
            "unit_cost_reason": why,
            "total_cost_change": _change(total, r["previous_total_cost_yen"]),
            "cost_per_completer_change": _change(
                r["cost_per_completer_yen"], r["previous_cost_per_completer_yen"]
            ),
        }
        rows.append(r)
    shown = [r for r in rows if not r["suppressed"]]
    med_cpc = _median([r["cost_per_completer_yen"] for r in shown])
    med_cpe = _median([r["cost_per_effect_yen"] for r in shown])
    for r in rows:
        r["direction"], r["direction_basis"] = propose_direction(r, med_cpc, med_cpe)
    previous_year = _programme_totals(data, fiscal_year - 1, hourly)
    rows.append(_programme_row(data, fiscal_year, frame, phases, first, hourly, previous_year))
    decided = {d.course_id: d for d in (previous.course_decisions if previous else ())}
    for r in rows:
        key = PROGRAMME if r["level"] == "programme" else r["course_id"]
        d = decided.get(key)
        r |= {
            "previous_direction": d.direction if d else None,
            "previous_reason": d.reason if d else None,
            "previous_owner": d.owner if d else None,
        }
        if r["suppressed"]:
            for c in _PERSON_FIGURES:
                r[c] = None
    return pl.DataFrame(
        [{c: r.get(c) for c in EVALUATION_COLUMNS} for r in rows], schema=EVALUATION_COLUMNS
    )


def _programme_totals(
    data: Processed, fiscal_year: int, hourly: float
) -> tuple[float | None, float | None]:
    """The programme's (total cost, cost per completer) of a year; None when not whole."""
    year = _year_costs(data, fiscal_year, hourly)
    if year.is_empty() or not bool(year["has_costs"].all()):
        return None, None
    total = float(year["total_cost_yen"].sum())
    completers = _programme_people(data, fiscal_year)[1]
    return total, (total / completers if completers else None)


def _programme_people(data: Processed, fiscal_year: int) -> tuple[int, int]:
    """Distinct attendees and completers of any course in the year."""
    start, end = fy_start(fiscal_year), fy_end(fiscal_year)
    took = (
        data.require("attendance")
        .filter(
            pl.col("session_date").is_between(start, end),
            pl.col("status").is_in(["completed", "attended"]),
        )
        .select(
            pl.col("employee_id").n_unique().alias("a"),
            pl.col("employee_id").filter(pl.col("status") == "completed").n_unique().alias("c"),
        )
        .collect()
    )
    return int(took["a"][0]), int(took["c"][0])


def _programme_row(
    data: Processed,
    fiscal_year: int,
    frame: pl.DataFrame,
    phases: CourseEffects,
    first: dict[tuple[int, str], int],
    hourly: float,
    previous: tuple[float | None, float | None],
) -> dict[str, Any]:
    attendees, completers = _programme_people(data, fiscal_year)
    whole = bool(frame["has_costs"].all()) if frame.height else False
    sums = {
        c: (float(frame[c].sum()) if whole else None)
        for c in (
            "external_fee_yen",
            "venue_yen",
            "instructor_hours",
            "instructor_cost_yen",
            "project_cost_yen",
        )
    }
    part_hours = float(frame["participant_hours"].sum())
    personnel = part_hours * hourly
    project = sums["project_cost_yen"]
    total = None if project is None else project + personnel
    per_phase = {p: sum(n for (q, _), n in first.items() if q == p) for p in (1, 2, 3)}
    run = {p for p, n in per_phase.items() if n > 0}
    table = phases.table
    units: float | None = 0.0
    why: str | None = None
    why_phase: int | None = None
    for r in table.filter(pl.col("phase").is_in(list(run))).sort("phase").iter_rows(named=True):
        n = per_phase[r["phase"]]
        u, _, reason = _unit_cost(1.0, r["effect"], r["verdict"], r["reason"], n)
        if reason is not None:
            units, why, why_phase = None, reason, int(r["phase"])
            break
        units = (units or 0.0) + (u or 0.0)
    if not run:
        units, why = None, "no_first_completers"
    per_unit = None
    if units is not None:
        if total is None:
            why = "no_costs"
        else:
            per_unit = total / units
    if total is None and why is None:
        why = "no_costs"
    cpc = total / completers if total is not None and completers else None
    direction, basis = _programme_direction(table, run)
    return {
        "level": "programme",
        "course_id": None,
        "course_name": None,
        "phase": None,
        "attendees": attendees,
        "completers": completers,
        "completion_rate": completers / attendees if attendees else None,
        "has_costs": whole,
        **sums,
        "participant_hours": part_hours,
        "personnel_cost_yen": personnel,
        "total_cost_yen": total,
        "cost_per_completer_yen": cpc,
        "effect_100": None,
        "ci_low_100": None,
        "ci_high_100": None,
        "verdict": None,
        "first_completers": sum(per_phase.values()),
        "effect_units": units,
        "cost_per_effect_yen": per_unit,
        "unit_cost_reason": why,
        "unit_cost_phase": why_phase,
        "previous_total_cost_yen": previous[0],
        "total_cost_change": _change(total, previous[0]),
        "previous_cost_per_completer_yen": previous[1],
        "cost_per_completer_change": _change(cpc, previous[1]),
        "direction": direction,
        "direction_basis": basis,
        "suppressed": False,
    }
