"""Shared building blocks of the KPI functions: fiscal years, groups, and the output shape.

A date's fiscal year is :func:`dxkpi.core.fiscal.fiscal_year_of` (April–March).

Every KPI function returns a LazyFrame with :data:`OUTPUT_SCHEMA`. A cell is one
(fiscal_year, group_by, group); ``group_by`` is the grouping (``city``, ``division``,
``department``, ``job_level``, ``talent_type``), crossed with a second dimension where the KPI has
one (``department|phase`` with ``group = "D03|2"``; city-wide just ``phase`` / ``"2"``).

A batch of cities (``data.cities``; :func:`dxkpi.kpi.batch.batch_of`) gives the same cells for
each city with a leading :data:`CITY_KEY` column: every row's city is the prefix of its
``department_code`` (:func:`city_of`; every fact a KPI groups has one), the group is the value
the city alone would have (:func:`own_code` for the prefixed department and course codes), and
the cells, their fill and their fiscal years covered are keyed by the city as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from dxkpi.catalogue.kpis import PEOPLE_GROUPINGS, REGISTRY, SECOND_DIMENSION_VALUES
from dxkpi.core.errors import DxkpiError
from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.roster import ASSIGNMENT_STATUS_COLUMN, AWAY_STATUSES, assignment_at, named_apart

__all__ = [
    "ATTENDANCE_SUMMARY",
    "CITY",
    "CITY_KEY",
    "CODE_WIDTH",
    "JOB_LEVELS",
    "OUTPUT_SCHEMA",
    "PERSON_YEARS",
    "PREFIXED",
    "SHARED",
    "TALENT_TYPES",
    "TRAINED",
    "GroupingError",
    "aggregate",
    "attendance_of_members",
    "attendance_summary",
    "cell_keys",
    "city_of",
    "concat_outputs",
    "covered_years",
    "divisions",
    "fill_cells",
    "finish",
    "first_completion",
    "first_training",
    "frame_cells",
    "fy_list",
    "group_expr",
    "group_keys",
    "grouping_column",
    "headcount",
    "label",
    "members",
    "own_code",
    "per_city",
    "person_years",
    "resolve_groupings",
    "skill_levels",
    "with_division",
    "yearly_key",
]

CITY = "city"
#: The column of a batch's cells naming each cell's city (:attr:`Processed.cities`).
CITY_KEY = "_city"
#: Characters of a municipality code (全国地方公共団体コード): a batch's identifiers are
#: ``<code>:<identifier>`` (:func:`city_of`, :func:`own_code`).
CODE_WIDTH = 6
#: The identifiers a batch of cities prefixes with the city's code: the keys the KPIs join on.
PREFIXED: tuple[str, ...] = ("employee_id", "department_code", "course_id")
JOB_LEVELS: tuple[str, ...] = ("manager", "mid", "staff")
TALENT_TYPES: tuple[str, ...] = ("leader", "specialist", "practitioner", "unassigned")
TRAINED = ("completed", "attended")

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "fiscal_year": pl.Int32(),
    "group_by": pl.String(),
    "group": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "value": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "n_people": pl.Int64(),
    "reason": pl.String(),
}


class GroupingError(DxkpiError):
    """A KPI was asked for a grouping it does not support."""


def fy_list(fiscal_years: Sequence[int]) -> pl.Series:
    """The requested fiscal years as an Int32 series (sorted, unique)."""
    return pl.Series("fiscal_year", sorted({int(y) for y in fiscal_years}), dtype=pl.Int32)


def resolve_groupings(kpi_id: str, by: str | Sequence[str]) -> tuple[str, ...]:
    """Base groupings to compute for ``by``; ``phase`` means city × phase. Unsupported → error."""
    spec = REGISTRY[kpi_id]
    wanted = (by,) if isinstance(by, str) else tuple(by)
    out: list[str] = []
    for grouping in wanted:
        if grouping not in spec.groupings:
            raise GroupingError(
                f"指標 {kpi_id} は「{grouping}」別に集計できません"
                f"（可能: {', '.join(spec.groupings)}）。",
                f"KPI {kpi_id} cannot be grouped by '{grouping}' "
                f"(supported: {', '.join(spec.groupings)}).",
            )
        base = CITY if grouping == spec.second_dimension else grouping
        if base not in out:
            out.append(base)
    return tuple(out)


def members(data: Processed, fiscal_years: Sequence[int] | None) -> pl.LazyFrame:
    """H(t): staff rows of the fiscal years (all when None) with their division.

    Columns: fiscal_year, employee_id, department_code, job_level, talent_type, division.
    """
    staff = data.staff.select(
        pl.col("fiscal_year").cast(pl.Int32),
        "employee_id",
        "department_code",
        "job_level",
        pl.col("talent_type").fill_null("unassigned"),
    )
    if fiscal_years is not None:
        staff = staff.filter(pl.col("fiscal_year").is_in(fy_list(fiscal_years).implode()))
    return staff.join(divisions(data), on="department_code", how="left")


def divisions(data: Processed) -> pl.LazyFrame:
    """department_code → division."""
    return data.departments.select("department_code", "division").unique("department_code")


def with_division(frame: pl.LazyFrame, data: Processed) -> pl.LazyFrame:
    """Attach each row's division through its own department_code."""
    return frame.join(divisions(data), on="department_code", how="left")


def per_city(data: Processed) -> bool:
    """Whether ``data`` is a batch of cities whose cells are keyed by city (module docstring)."""
    return data.cities is not None


def city_of(column: str) -> pl.Expr:
    """The city of a batch's row: the code prefixed to its identifier ``column``.

    >>> codes = pl.DataFrame({"department_code": ["221309:D03"]})
    >>> codes.select(city_of("department_code"), own_code("department_code").alias("own")).row(0)
    ('221309', 'D03')
    """
    return pl.col(column).str.slice(0, CODE_WIDTH)


def own_code(column: str) -> pl.Expr:
    """A batch's identifier ``column`` without its city's prefix (:func:`city_of`)."""
    return pl.col(column).str.slice(CODE_WIDTH + 1)


def cell_keys(cities: bool) -> list[str]:
    """The columns that name a cell of a grouping (without a second dimension); ``cities``:
    of a batch's cells."""
    return ["fiscal_year", CITY_KEY, "group"] if cities else ["fiscal_year", "group"]


def group_expr(grouping: str, cities: bool = False) -> pl.Expr:
    """The group key of a row under ``grouping`` (city → the literal "city"); ``cities``: a
    batch's row (its department or course code without the city's prefix)."""
    if grouping == CITY:
        return pl.lit(CITY)
    value = own_code(grouping) if cities and grouping in PREFIXED else pl.col(grouping)
    return value.cast(pl.String).fill_null("unknown")


def group_keys(data: Processed, fiscal_years: Sequence[int], grouping: str) -> pl.LazyFrame:
    """Every group shown for ``grouping`` in each FY, also groups with no members.

    Columns: fiscal_year, group (of a batch of cities: fiscal_year, :data:`CITY_KEY`, group).
    """
    fys = pl.LazyFrame({"fiscal_year": fy_list(fiscal_years)})
    if per_city(data):
        return fys.join(_city_groups(data, grouping), how="cross").select(cell_keys(True))
    if grouping == CITY:
        groups = pl.LazyFrame({"group": [CITY]})
    elif grouping in ("division", "department"):
        col = "division" if grouping == "division" else "department_code"
        groups = data.departments.select(pl.col(col).cast(pl.String).alias("group")).unique()
    elif grouping == "job_level":
        groups = pl.LazyFrame({"group": list(JOB_LEVELS)})
    elif grouping == "talent_type":
        groups = pl.LazyFrame({"group": list(TALENT_TYPES)})
    elif grouping == "course":
        groups = data.require("courses").select(pl.col("course_id").cast(pl.String).alias("group"))
    else:
        raise ValueError(f"unknown grouping {grouping!r}")
    return fys.join(groups, how="cross")


def _city_groups(data: Processed, grouping: str) -> pl.LazyFrame:
    """:func:`group_keys`' groups of a batch of cities, each with its city (:data:`CITY_KEY`)."""
    cities = pl.LazyFrame({CITY_KEY: list(data.cities or ())}, schema={CITY_KEY: pl.String})
    fixed = {CITY: [CITY], "job_level": list(JOB_LEVELS), "talent_type": list(TALENT_TYPES)}
    if grouping in fixed:
        return cities.join(pl.LazyFrame({"group": fixed[grouping]}), how="cross")
    if grouping in ("division", "department"):
        value = pl.col("division") if grouping == "division" else own_code("department_code")
        return data.departments.select(
            city_of("department_code").alias(CITY_KEY), value.cast(pl.String).alias("group")
        ).unique()
    if grouping == "course":
        return data.require("courses").select(
            city_of("course_id").alias(CITY_KEY), own_code("course_id").alias("group")
        )
    raise ValueError(f"unknown grouping {grouping!r}")


def grouping_column(grouping: str) -> str:
    """The column of a members/record frame that holds the grouping's key."""
    return {"department": "department_code", "course": "course_id"}.get(grouping, grouping)


def aggregate(
    facts: pl.LazyFrame,
    grouping: str,
    aggs: Sequence[pl.Expr],
    dimension: str | None = None,
    cities: bool = False,
) -> pl.LazyFrame:
    """Group ``facts`` by (fiscal_year, group[, dim]) under ``grouping`` and apply ``aggs``;
    ``cities``: a batch's facts, grouped by their city (:data:`CITY_KEY`) too."""
    keys = [pl.col("fiscal_year"), group_expr(grouping_column(grouping), cities).alias("group")]
    if cities:
        keys.insert(1, city_of("department_code").alias(CITY_KEY))
    if dimension is not None:
        keys.append(pl.col("dim").cast(pl.String))
    return facts.group_by(keys).agg(aggs)


def frame_cells(
    data: Processed,
    fiscal_years: Sequence[int],
    grouping: str,
    dimension: str | None,
) -> pl.LazyFrame:
    """All cells to show: group keys crossed with the second dimension's values."""
    keys = group_keys(data, fiscal_years, grouping)
    if dimension is None:
        return keys
    dims = pl.LazyFrame({"dim": list(SECOND_DIMENSION_VALUES[dimension])})
    return keys.join(dims, how="cross")


def label(grouping: str, dimension: str | None) -> tuple[pl.Expr, pl.Expr]:
    """(group_by, group) expressions of a cell, joining a second dimension with ``|``."""
    if dimension is None:
        return pl.lit(grouping), pl.col("group")
    if grouping == CITY:
        return pl.lit(dimension), pl.col("dim")
    return pl.lit(f"{grouping}|{dimension}"), pl.concat_str("group", pl.lit("|"), "dim")


def covered_years(frame: pl.LazyFrame, cities: bool = False) -> pl.LazyFrame:
    """Fiscal years that have data in ``frame`` (a frame with fiscal_year); ``cities``: a
    batch's frame (with department_code), the fiscal years of each city (:data:`CITY_KEY`)."""
    keys = [pl.col("fiscal_year").cast(pl.Int32)]
    if cities:
        keys.append(city_of("department_code").alias(CITY_KEY))
    return frame.select(keys).unique().with_columns(_covered=pl.lit(True))


def finish(
    cells: pl.LazyFrame,
    grouping: str,
    dimension: str | None,
    *,
    value: pl.Expr,
    empty_reason: str,
    covered: pl.LazyFrame | None = None,
    defined: pl.Expr | None = None,
    with_ci: bool = False,
    cities: bool = False,
) -> pl.LazyFrame:
    """Shape cells (fiscal_year, group[, dim], numerator, denominator, n_people…) to the output.

    ``value`` is evaluated where ``defined`` holds (default: the denominator is positive);
    elsewhere the value is empty with ``empty_reason``. FYs absent from ``covered`` get an empty
    value and reason ``no_data_fy``. ``with_ci``: the cells carry ``ci_low`` and ``ci_high``;
    otherwise both are empty (said by the caller: asking the plan for its columns resolved the
    schema of every KPI × grouping plan, about a tenth of a small body's catalogue).
    ``cities``: a batch's cells, whose city (:data:`CITY_KEY`) leads the output and keys the
    fiscal years covered.
    """
    group_by, group = label(grouping, dimension)
    out = cells.with_columns(
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
        pl.col("n_people").cast(pl.Int64),
    )
    if not with_ci:
        out = out.with_columns(ci_low=pl.lit(None, pl.Float64), ci_high=pl.lit(None, pl.Float64))
    has_value = (pl.col("denominator") > 0) if defined is None else defined
    out = out.with_columns(
        value=pl.when(has_value).then(value).cast(pl.Float64),
        reason=pl.when(has_value).then(pl.lit(None, pl.String)).otherwise(pl.lit(empty_reason)),
    )
    if covered is not None:
        on = ["fiscal_year", CITY_KEY] if cities else ["fiscal_year"]
        out = out.join(covered, on=on, how="left")
        gap = pl.col("_covered").is_null()
        out = out.with_columns(
            value=pl.when(gap).then(None).otherwise("value"),
            ci_low=pl.when(gap).then(None).otherwise("ci_low"),
            ci_high=pl.when(gap).then(None).otherwise("ci_high"),
            reason=pl.when(gap).then(pl.lit("no_data_fy")).otherwise("reason"),
        )
    return out.select(
        *([CITY_KEY] if cities else []),
        "fiscal_year",
        group_by.alias("group_by"),
        group.alias("group"),
        *[pl.col(c).cast(t) for c, t in OUTPUT_SCHEMA.items() if c not in _LEAD],
    )


_LEAD = ("fiscal_year", "group_by", "group")


def fill_cells(
    data: Processed,
    fiscal_years: Sequence[int],
    grouping: str,
    dimension: str | None,
    agg: pl.LazyFrame,
    zero: Sequence[str] = ("numerator", "denominator", "n_people"),
) -> pl.LazyFrame:
    """Left-join aggregates onto every cell to show; missing counts become 0."""
    on = cell_keys(per_city(data)) + (["dim"] if dimension is not None else [])
    cells = frame_cells(data, fiscal_years, grouping, dimension)
    return cells.join(agg, on=on, how="left").with_columns(pl.col(list(zero)).fill_null(0))


def headcount(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """|H(t,g)| for every people grouping, in the output shape (numerator = denominator =
    n_people = staff, value = staff): the head count several KPIs share as their denominator.

    >>> from dxkpi.kpi.examples import tiny_city
    >>> cells = headcount(tiny_city(), [2025]).collect()
    >>> cells.filter(pl.col("group_by") == "city").select("group", "n_people").rows()
    [('city', 5)]
    """
    heads = members(data, fiscal_years)
    cities = per_city(data)
    outs = []
    for grouping in PEOPLE_GROUPINGS:
        agg = aggregate(heads, grouping, [pl.len().alias("n_people")], cities=cities)
        cells = fill_cells(data, fiscal_years, grouping, None, agg, zero=("n_people",))
        cells = cells.with_columns(numerator=pl.col("n_people"), denominator=pl.col("n_people"))
        outs.append(
            finish(
                cells,
                grouping,
                None,
                value=pl.col("denominator"),
                empty_reason="no_members",
                cities=cities,
            )
        )
    return concat_outputs(outs)


def concat_outputs(frames: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """Concatenate per-grouping outputs."""
    if not frames:
        return pl.LazyFrame(schema=OUTPUT_SCHEMA)
    return pl.concat(list(frames), how="vertical")


ATTENDANCE_SUMMARY = "attendance_summary"


def attendance_summary(data: Processed) -> pl.LazyFrame:
    """Sessions per (employee_id, fiscal_year, phase): counts and attendee-hours by status.

    Columns: employee_id, fiscal_year, phase (String), sessions, completed, trained
    (attended or completed), hours_trained, hours_internal (trained hours with an internal
    instructor). Taken from ``data.derived`` when the engine has materialised it.
    """
    if ATTENDANCE_SUMMARY in data.derived:
        return data.derived[ATTENDANCE_SUMMARY]
    return _summarised(_sessions(data), ())


def _sessions(data: Processed, *dated: str) -> pl.LazyFrame:
    """Each attendance row with its fiscal year, completed/trained flags and its course's phase,
    hours and instructor kind (``dated``: extra attendance columns kept, e.g. session_date)."""
    courses = data.require("courses").select(
        "course_id",
        pl.col("phase").cast(pl.Int8),  # an integer key groups about twice as fast
        "hours",
        (pl.col("instructor") == "internal").alias("_internal"),
    )
    trained = pl.col("status").is_in(TRAINED).cast(pl.UInt32)
    return (
        data.require("attendance")
        .select(
            "employee_id",
            "course_id",
            *dated,
            fiscal_year_of(pl.col("session_date")).alias("fiscal_year"),
            (pl.col("status") == "completed").cast(pl.UInt32).alias("completed"),
            trained.alias("trained"),
        )
        .join(courses, on="course_id", how="inner")
    )


#: The columns :func:`_summarised` sums besides its count of ``sessions``.
_SUMS = ("completed", "trained", "hours_trained", "hours_internal")


def _summarised(sessions: pl.LazyFrame, groups: Sequence[str]) -> pl.LazyFrame:
    """Sessions summed per (employee_id, fiscal_year, phase, *groups)."""
    return (
        sessions.with_columns(
            hours_trained=pl.col("hours") * pl.col("trained"),
            hours_internal=pl.col("hours") * pl.col("trained") * pl.col("_internal"),
        )
        .group_by("employee_id", "fiscal_year", "phase", *groups)
        .agg(
            pl.len().alias("sessions"),
            pl.col(_SUMS).sum(),
        )
        .with_columns(pl.col("phase").cast(pl.String))
    )


_GROUP_COLUMNS = ("department_code", "job_level", "talent_type", "division")


def attendance_of_members(data: Processed) -> pl.LazyFrame:
    """Attendance summary rows with the attendee's group of the session's fiscal year.

    With the effective-dated roster (``assignments``), each session counts in the group of the
    attendee's assignment on the session's date (:func:`dxkpi.kpi.roster.assignment_at`), so a
    person trained before and after a mid-year transfer has one row per group.
    """
    if "attendance_of_members" in data.derived:
        return data.derived["attendance_of_members"]
    years = members(data, None)
    if data.assignments is None:
        return attendance_summary(data).join(years, on=["fiscal_year", "employee_id"], how="inner")
    named, others = named_apart(data, years)
    sessions = _sessions(data, "session_date").join(
        named, on=["fiscal_year", "employee_id"], how="inner"
    )
    dated = _summarised(assignment_at(data, sessions, "session_date"), _GROUP_COLUMNS)
    # no assignment, no move: every session of the year counts in the staff row's group
    unmoved = (
        attendance_summary(data)
        .join(others, on=["fiscal_year", "employee_id"])
        .group_by("employee_id", "fiscal_year", "phase", *_GROUP_COLUMNS)
        .agg(pl.col("sessions", *_SUMS).sum())
    )
    return pl.concat([dated, unmoved], how="vertical")


_MONTHS = 12


def person_years(data: Processed, fiscal_years: Sequence[int] | None) -> pl.LazyFrame:
    """Each member of H(t) in each group they worked in during t, with the months they were at
    work there ÷ 12 (``person_years``): the denominator of the people KPIs when the
    effective-dated roster is present.

    A month takes the assignment valid on its first day (:func:`dxkpi.kpi.roster.assignment_at`);
    months in an away status (育休, 派遣, 休職) count nowhere. Without assignments every member
    has one row, their staff row, with ``person_years`` 1.

    Columns: fiscal_year, employee_id, department_code, job_level, talent_type, division,
    months (at work, an integer: sums of it are exact in any order), person_years.
    Taken from ``data.derived`` (every fiscal year) when the engine has materialised it.
    """
    if PERSON_YEARS in data.derived:
        cached = data.derived[PERSON_YEARS]
        if fiscal_years is None:
            return cached
        return cached.filter(pl.col("fiscal_year").is_in(fy_list(fiscal_years).implode()))
    heads = members(data, fiscal_years)
    keys = ("fiscal_year", "employee_id", *_GROUP_COLUMNS)
    unmoved = None
    if data.assignments is not None:
        # no assignment: all twelve months in the staff row's group, at work (the months
        # below would give the same row; exploding them for every member was most of the cost)
        heads, others = named_apart(data, heads)
        unmoved = others.group_by(keys).agg(
            (pl.len().cast(pl.Int64) * _MONTHS).alias("months"),
            pl.len().cast(pl.Float64).alias("person_years"),
        )
    month = pl.int_range(0, _MONTHS, dtype=pl.Int32)
    months = heads.with_columns(_m=month.implode()).explode("_m")
    first_day = pl.date(
        pl.col("fiscal_year") + (pl.col("_m") >= _MONTHS - 3).cast(pl.Int32),
        (pl.col("_m") + 3) % _MONTHS + 1,
        1,
    )
    dated = assignment_at(data, months.with_columns(_first_day=first_day), "_first_day")
    if ASSIGNMENT_STATUS_COLUMN in dated.collect_schema().names():
        dated = dated.filter(~pl.col(ASSIGNMENT_STATUS_COLUMN).is_in(AWAY_STATUSES))
    worked = dated.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("months"), (pl.len() / _MONTHS).alias("person_years")
    )
    if unmoved is None:
        return worked
    return pl.concat([worked, unmoved], how="vertical")


def first_training(data: Processed) -> pl.LazyFrame:
    """Per employee: FY of the first attended/completed session (employee_id, first_fy)."""
    if "first_training" in data.derived:
        return data.derived["first_training"]
    return (
        attendance_summary(data)
        .filter(pl.col("trained") > 0)
        .group_by("employee_id")
        .agg(pl.col("fiscal_year").min().alias("first_fy"))
    )


def first_completion(data: Processed) -> pl.LazyFrame:
    """Per employee and phase: FY of the first completed session (employee_id, phase, first_fy)."""
    if "first_completion" in data.derived:
        return data.derived["first_completion"]
    return (
        attendance_summary(data)
        .filter(pl.col("completed") > 0)
        .group_by("employee_id", "phase")
        .agg(pl.col("fiscal_year").min().alias("first_fy"))
    )


def yearly_key(name: str, fiscal_years: Sequence[int]) -> str:
    """The ``data.derived`` name of a shared frame built for these fiscal years.

    >>> yearly_key("skill_levels", [2024, 2025])
    'skill_levels@2024,2025'
    """
    return f"{name}@{','.join(str(y) for y in fiscal_years)}"


def skill_levels(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """Assessed level 0–4 per (fiscal_year, employee_id, skill_area), with the person's group.

    ``level`` is the manager's assessment where there is one, else the employee's own;
    ``self_level`` and ``manager_level`` are the two assessments (null when absent). Only
    employees on the staff list of t count; their group is that staff row. ``dim`` = skill_area.
    Taken from ``data.derived`` when the engine has materialised it for these years.

    The dataset has one row per (fiscal_year, employee_id, skill_area, assessor) (its key) and
    the assessor is ``self`` or ``manager`` (its codes), so the two assessments of a skill area
    are the self rows joined to the manager rows (a join is about three times faster than
    grouping by the three keys).
    """
    key = yearly_key("skill_levels", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    asked = (
        data.require("skill_assessment")
        .with_columns(pl.col("fiscal_year").cast(pl.Int32))
        .filter(pl.col("fiscal_year").is_in(fy_list(fiscal_years).implode()))
    )
    area = ["fiscal_year", "employee_id", "skill_area"]
    self_rows, manager_rows = (
        asked.filter(pl.col("assessor") == who).select(*area, pl.col("level").alias(f"{who}_level"))
        for who in ("self", "manager")
    )
    wide = self_rows.join(manager_rows, on=area, how="full", coalesce=True).with_columns(
        level=pl.coalesce("manager_level", "self_level").cast(pl.Float64),
        dim=pl.col("skill_area"),
    )
    return wide.join(members(data, fiscal_years), on=["fiscal_year", "employee_id"], how="inner")


#: Derived frames several KPIs share; the engine may collect them once (in this order).
#: The derived frame of :func:`person_years` over every fiscal year (the roster is present).
PERSON_YEARS = "person_years"

SHARED: dict[str, Callable[[Processed], pl.LazyFrame]] = {
    ATTENDANCE_SUMMARY: attendance_summary,
    "attendance_of_members": attendance_of_members,
    "first_training": first_training,
    "first_completion": first_completion,
}
