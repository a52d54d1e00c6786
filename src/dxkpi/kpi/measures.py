"""One pure polars function per KPI/KGI; each function's name is the KPI id of the registry.

Every function takes the processed frames, the fiscal years and one or more groupings and returns
a LazyFrame with the columns of :data:`dxkpi.kpi._frames.OUTPUT_SCHEMA` (fiscal_year, group_by,
group, numerator, denominator, value, ci_low, ci_high, n_people, reason). No file I/O, no row
loops; nothing is collected here.

Conventions (DOMAIN.md): a person's group in year t is their staff row of t (also for their
attendance and proposals), so April transfers count in the new department; every group of the
departments table / code list is shown, also with no members (value empty, reason
``no_members``); a fiscal year with no staff list shows empty values with reason ``no_data_fy``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from dxkpi.catalogue.contract import DATASETS, LIKERT_AGREE
from dxkpi.catalogue.kpis import REGISTRY, SECOND_DIMENSION_VALUES
from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.processed import Processed
from dxkpi.kpi._frames import (
    CITY,
    CITY_KEY,
    aggregate,
    attendance_of_members,
    cell_keys,
    city_of,
    concat_outputs,
    covered_years,
    fill_cells,
    finish,
    first_completion,
    first_training,
    fy_list,
    members,
    per_city,
    person_years,
    resolve_groupings,
    skill_levels,
    with_division,
    yearly_key,
)
from dxkpi.kpi.maturity import Maturity, maturity_for
from dxkpi.kpi.roster import assignment_at
from dxkpi.project.config import SkillMatrix

__all__ = [
    "ATTENDED_CUBES",
    "YEARLY_CUBES",
    "YEARLY_SHARED",
    "Z95",
    "By",
    "adoption_rate",
    "application_rate",
    "assessment_gap",
    "completion_rate",
    "failure_share",
    "hours_saved",
    "implementation_rate",
    "insourcing_rate",
    "knowledge_continuity",
    "knowledge_posts_per_100",
    "leader_coverage",
    "manager_support_rate",
    "maturity_gap",
    "maturity_score",
    "participation_rate",
    "phase_reach",
    "portable_learning",
    "proposals_per_100",
    "proposer_rate",
    "resident_satisfaction",
    "retention_rate",
    "self_running_rate",
    "skill_attainment_rate",
    "skill_gap",
]

Z95 = 1.959964
By = str | Sequence[str]

_RATIO = pl.col("numerator") / pl.col("denominator")
_NO_PEOPLE = pl.lit(None, pl.Int64).alias("n_people")
_PER_100 = pl.col("numerator") * 100.0 / pl.col("denominator")


# --------------------------------------------------------------------------- shared facts
def _in_years(fiscal_years: Sequence[int]) -> pl.Expr:
    return pl.col("fiscal_year").is_in(fy_list(fiscal_years).implode())


def _sessions(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """Attendance summary rows of the fiscal years, with the attendee's group of that year."""
    return attendance_of_members(data).filter(_in_years(fiscal_years))


def _proposals_in(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """Proposals submitted in the fiscal years, with the submitter's group of that year (with
    the effective-dated roster: of the day the proposal was submitted)."""
    return _events_in(data, "proposals", ("proposal_id", "status"), "submitted_on", fiscal_years)


def _events_in(
    data: Processed,
    dataset: str,
    columns: Sequence[str],
    date: str,
    fiscal_years: Sequence[int],
) -> pl.LazyFrame:
    """Rows of ``dataset`` dated (``date``) in the fiscal years, with the employee's group of
    that year, or with the roster of that day (:func:`dxkpi.kpi.roster.assignment_at`)."""
    events = data.require(dataset).select(
        *columns,
        "employee_id",
        date,
        fiscal_year_of(pl.col(date)).alias("fiscal_year"),
    )
    return assignment_at(
        data,
        events.filter(_in_years(fiscal_years)).join(
            members(data, fiscal_years), on=["fiscal_year", "employee_id"], how="inner"
        ),
        date,
    )


def _staff_years(data: Processed) -> pl.LazyFrame:
    return covered_years(data.staff, per_city(data))


_CUBE_COLUMNS = ("department_code", "division", "job_level", "talent_type")


def _cube(
    data: Processed, facts: pl.LazyFrame, aggs: Sequence[pl.Expr], dimension: str | None
) -> pl.LazyFrame:
    """Aggregate facts to the finest cells (fiscal_year × department × job level × talent type
    [× dim]) with additive measures; every grouping is then a sum over this small cube.

    Counts of distinct people are additive here because a person has one staff row per year.
    A fact's division is its department's (:func:`~dxkpi.kpi._frames.with_division`: the
    departments table is keyed by department_code), so the facts are grouped without it and
    the cube's cells are given theirs (one key column fewer to group the facts by).
    """
    names = facts.collect_schema().names()
    keys = ["fiscal_year", *[c for c in _CUBE_COLUMNS if c in names]]
    if dimension is not None:
        keys.append("dim")
    if "division" not in keys or "department_code" not in keys:
        return facts.group_by(keys).agg(aggs)
    cube = facts.group_by([k for k in keys if k != "division"]).agg(aggs)
    return with_division(cube, data)


def _rollup(
    cube: pl.LazyFrame,
    grouping: str,
    measures: Sequence[str],
    dimension: str | None,
    cities: bool = False,
) -> pl.LazyFrame:
    return aggregate(cube, grouping, [pl.col(m).sum() for m in measures], dimension, cities)


def _staff_share(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    hits: pl.LazyFrame,
    *,
    dimension: str | None = None,
    count: pl.Expr | None = None,
    value: pl.Expr = _RATIO,
    hit_cube: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Numerator from ``hits`` (member rows with group columns); denominator = |H(t,g)|.

    ``hit_cube``: the hits already counted per finest cell [and ``dim``] as ``numerator``
    (:func:`_cube`), when the KPI has a cheaper way to count them; the effective-dated roster
    reads ``hits``.

    With the effective-dated roster the denominator is in person-years at work in g during t
    (:func:`~dxkpi.kpi._frames.person_years`), n_people the people with ≥1 such month; a
    share of people (``count`` None) weighs each person who is a hit by the same person-years,
    so it stays within 0–1; a count (``count`` given) counts each hit in its own row's group.
    """
    if data.assignments is not None:
        return _staff_share_dated(
            data, fiscal_years, by, kpi_id, hits, dimension=dimension, count=count, value=value
        )
    if hit_cube is None:
        count = pl.col("employee_id").n_unique() if count is None else count
        hit_cube = _cube(data, hits, [count.alias("numerator")], dimension)
    head_cube = _cube(data, members(data, fiscal_years), [pl.len().alias("denominator")], None)
    cities = per_city(data)
    outs = []
    for grouping in resolve_groupings(kpi_id, by):
        num = _rollup(hit_cube, grouping, ["numerator"], dimension, cities)
        head = _rollup(head_cube, grouping, ["denominator"], None, cities)
        cells = fill_cells(data, fiscal_years, grouping, dimension, num, zero=("numerator",))
        cells = cells.join(head, on=cell_keys(cities), how="left").with_columns(
            pl.col("denominator").fill_null(0)
        )
        cells = cells.with_columns(n_people=pl.col("denominator"))
        outs.append(
            finish(
                cells,
                grouping,
                dimension,
                value=value,
                empty_reason="no_members",
                covered=_staff_years(data),
                cities=cities,
            )
        )
    return concat_outputs(outs)


def _staff_share_dated(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    hits: pl.LazyFrame,
    *,
    dimension: str | None,
    count: pl.Expr | None,
    value: pl.Expr,
) -> pl.LazyFrame:
    """:func:`_staff_share` over person-years (the effective-dated roster is present)."""
    exposure = person_years(data, fiscal_years)
    if count is None:
        people = ["fiscal_year", "employee_id"] + (["dim"] if dimension is not None else [])
        weighted = (
            hits.select(people)
            .unique()
            .join(exposure, on=["fiscal_year", "employee_id"], how="inner")
        )
        # months (integers) are summed, then divided: the same cell in any summation order
        hit_cube = _cube(data, weighted, [pl.col("months").sum().alias("numerator")], dimension)
        per_month = True
    else:
        hit_cube = _cube(data, hits, [count.alias("numerator")], dimension)
        per_month = False
    head_cube = _cube(data, exposure, [pl.col("months").sum().alias("denominator")], None)
    cities = per_city(data)
    distinct = [pl.col("employee_id").n_unique().alias("n_people")]
    outs = []
    for grouping in resolve_groupings(kpi_id, by):
        num = _rollup(hit_cube, grouping, ["numerator"], dimension, cities).with_columns(
            pl.col("numerator") / 12 if per_month else pl.col("numerator")
        )
        head = _rollup(head_cube, grouping, ["denominator"], None, cities).with_columns(
            pl.col("denominator") / 12
        )
        heads = aggregate(exposure, grouping, distinct, cities=cities)
        cells = fill_cells(data, fiscal_years, grouping, dimension, num, zero=("numerator",))
        cells = (
            cells.join(head, on=cell_keys(cities), how="left")
            .join(heads, on=cell_keys(cities), how="left")
            .with_columns(pl.col("denominator", "n_people").fill_null(0))
        )
        outs.append(
            finish(
                cells,
                grouping,
                dimension,
                value=value,
                empty_reason="no_members",
                covered=_staff_years(data),
                cities=cities,
            )
        )
    return concat_outputs(outs)


def _grouped(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    facts: pl.LazyFrame,
    aggs: Sequence[pl.Expr],
    *,
    dimension: str | None = None,
    value: pl.Expr = _RATIO,
    empty_reason: str = "denominator_zero",
    covered: pl.LazyFrame | None = None,
    post: Sequence[pl.Expr] = (),
    defined: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Aggregate ``facts`` with additive ``aggs`` to a cube, roll it up per grouping, then
    derive numerator/denominator/n_people/ci with ``post`` where they are not plain sums."""
    return _rolled_up(
        data,
        fiscal_years,
        by,
        kpi_id,
        _cube(data, facts, aggs, dimension),
        [a.meta.output_name() for a in aggs],
        dimension=dimension,
        value=value,
        empty_reason=empty_reason,
        covered=covered,
        post=post,
        defined=defined,
    )


def _rolled_up(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    cube: pl.LazyFrame,
    measures: Sequence[str],
    *,
    dimension: str | None = None,
    value: pl.Expr = _RATIO,
    empty_reason: str = "denominator_zero",
    covered: pl.LazyFrame | None = None,
    post: Sequence[pl.Expr] = (),
    defined: pl.Expr | None = None,
) -> pl.LazyFrame:
    """:func:`_grouped` from a cube (:func:`_cube`) whose additive ``measures`` are summed."""
    with_ci = any(e.meta.output_name(raise_if_undetermined=False) == "ci_low" for e in post)
    cities = per_city(data)
    outs = []
    for grouping in resolve_groupings(kpi_id, by):
        agg = _rollup(cube, grouping, measures, dimension, cities)
        cells = fill_cells(data, fiscal_years, grouping, dimension, agg, zero=measures)
        for expr in post:
            cells = cells.with_columns(expr)
        outs.append(
            finish(
                cells,
                grouping,
                dimension,
                value=value,
                empty_reason=empty_reason,
                covered=covered,
                defined=defined,
                with_ci=with_ci,
                cities=cities,
            )
        )
    return concat_outputs(outs)


def _cube_ratio(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    cube: pl.LazyFrame,
    *,
    numerator: str,
    denominator: str,
    n_people: str,
    **options: Any,
) -> pl.LazyFrame:
    """:func:`_rolled_up` of a cube's ``numerator``, ``denominator`` and ``n_people`` columns
    (``options``: those of :func:`_rolled_up`)."""
    named = cube.with_columns(
        numerator=pl.col(numerator), denominator=pl.col(denominator), n_people=pl.col(n_people)
    )
    measures = ["numerator", "denominator", "n_people"]
    return _rolled_up(data, fiscal_years, by, kpi_id, named, measures, **options)


# --------------------------------------------------------------------------- staff KPIs
def participation_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Share of H(t,g) with ≥1 attended/completed session dated in t. Unit: ratio 0–1."""
    cube = _trained_cube(data, fiscal_years).with_columns(numerator=pl.col("_trained_people"))
    return _staff_share(
        data, fiscal_years, by, "participation_rate", _trained(data, fiscal_years), hit_cube=cube
    )


def _trained(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """Attendance summary rows of the fiscal years with ≥1 attended/completed session, with the
    attendee's group of that year."""
    return _sessions(data, fiscal_years).filter(pl.col("trained") > 0)


def _trained_cube(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """What :func:`participation_rate` and :func:`insourcing_rate` sum, per finest cell
    (:func:`_cube`) of the trained rows (:func:`_trained`): the distinct people trained
    (``_trained_people``) and their attendee-hours taught by internal instructors
    (``hours_internal``) and in all (``hours_trained``). Collected once for both by the engine
    (:data:`ATTENDED_CUBES`); taken from ``data.derived`` when it has."""
    key = yearly_key("trained_cube", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    aggs = [
        pl.col("employee_id").n_unique().alias("_trained_people"),
        pl.col("hours_internal", "hours_trained").sum(),
    ]
    return _cube(data, _trained(data, fiscal_years), aggs, None)


def completion_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Completed ÷ all sessions (completed+attended+absent) dated in t, per phase. Unit: ratio.

    n_people = the attendees: the summary rows of a cell and phase, one per attendee (the
    summary sums each person's sessions of a year and phase, and of a group with the roster).
    """
    facts = _sessions(data, fiscal_years).rename({"phase": "dim"})
    aggs = [
        pl.col("completed").sum().alias("numerator"),
        pl.col("sessions").sum().alias("denominator"),
        pl.len().alias("n_people"),
    ]
    return _grouped(
        data,
        fiscal_years,
        by,
        "completion_rate",
        facts,
        aggs,
        dimension="phase",
        covered=_staff_years(data),
    )


def phase_reach(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Share of H(t,g) with ≥1 completed phase-p session dated by the end of t. Unit: ratio."""
    first = first_completion(data)
    heads = members(data, fiscal_years)
    hits = (
        heads.join(first, on="employee_id", how="inner")
        .filter(_reached("first_fy"))
        .rename({"phase": "dim"})
    )
    return _staff_share(
        data,
        fiscal_years,
        by,
        "phase_reach",
        hits,
        dimension="phase",
        hit_cube=_reach_cube(data, heads, first),
    )


def _reached(first_fy: str) -> pl.Expr:
    """A member of t has reached a phase: their first completion of it (``first_fy``) is in t
    or before (null: never completed, not reached)."""
    return pl.col(first_fy) <= pl.col("fiscal_year")


def _reach_cube(data: Processed, heads: pl.LazyFrame, first: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`phase_reach`'s hits counted per finest cell and phase (``dim``) as ``numerator``:
    the distinct members of each cell who have reached the phase (:func:`_reached`).

    Each member is joined once to a row of their first completion of every phase of the code
    list (a column per phase) instead of once per phase completed: about a third of the rows
    to join and count. Phases off the code list are not counted (no cell shows them). A member
    has one staff row per year, so the members who reached a phase are the rows that did."""
    phases = SECOND_DIMENSION_VALUES["phase"]
    wide = first.group_by("employee_id").agg(
        pl.col("first_fy").filter(pl.col("phase") == p).min().alias(p) for p in phases
    )
    reached = heads.join(wide, on="employee_id", how="inner").with_columns(
        _reached(p).alias(p) for p in phases
    )
    cube = _cube(data, reached, [pl.col(phases).sum()], None)
    keys = [c for c in cube.collect_schema().names() if c not in phases]
    return cube.unpivot(phases, index=keys, variable_name="dim", value_name="numerator")


def proposals_per_100(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Proposals submitted in t by members of H(t,g) × 100 ÷ |H(t,g)|. Unit: per 100 staff."""
    hits = _proposals_in(data, fiscal_years)
    return _staff_share(
        data, fiscal_years, by, "proposals_per_100", hits, count=pl.len(), value=_PER_100
    )


def proposer_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Share of H(t,g) who submitted ≥1 proposal in t. Unit: ratio 0–1."""
    hits = _proposals_in(data, fiscal_years)
    return _staff_share(data, fiscal_years, by, "proposer_rate", hits)


def _decided_share(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    hit: tuple[str, ...],
    base: tuple[str, ...],
    maturity: Maturity | Mapping[str, Maturity] | None,
) -> pl.LazyFrame:
    """Share of the matured cohort (proposals of t submitted at least W days before the as-of
    date) whose outcome came within W days: ``hit`` statuses with their outcome date within W
    over ``base`` statuses decided within W (see :mod:`dxkpi.kpi.maturity`). A batch of cities
    (:attr:`Processed.cities`) gets each city's window (``maturity``: city code → window)."""
    awaits = REGISTRY[kpi_id].awaits
    assert awaits is not None  # the registry declares every caller as waiting
    proposals = data.require("proposals")
    if isinstance(maturity, Mapping):
        proposals = proposals.with_columns(city_of("employee_id").alias(CITY_KEY)).join(
            _city_windows(maturity), on=CITY_KEY, how="left"
        )
        through: pl.Expr | dt.date = pl.col("_through")
        window: pl.Expr | dt.timedelta = pl.col("_window")
    else:
        m = maturity or maturity_for(data, kpi_id)
        through, window = m.matured_through, dt.timedelta(days=m.days)
    by_deadline = pl.col("submitted_on") + window
    props = proposals.select(
        "proposal_id",
        "employee_id",
        "status",
        "submitted_on",
        fiscal_year_of(pl.col("submitted_on")).alias("fiscal_year"),
        (pl.col("submitted_on") <= through).alias("_matured"),
        (pl.col("decided_on") <= by_deadline).fill_null(False).alias("_decided_in_w"),
        (pl.col(awaits.outcome) <= by_deadline).fill_null(False).alias("_outcome_in_w"),
    )
    facts = assignment_at(
        data,
        props.filter(_in_years(fiscal_years)).join(
            members(data, fiscal_years), on=["fiscal_year", "employee_id"], how="inner"
        ),
        "submitted_on",
    ).filter(pl.col("_matured") & pl.col("_decided_in_w") & pl.col("status").is_in(base))
    aggs = [
        (pl.col("status").is_in(hit) & pl.col("_outcome_in_w")).sum().alias("numerator"),
        pl.len().alias("denominator"),
        pl.col("employee_id").n_unique().alias("n_people"),
    ]
    out = _grouped(data, fiscal_years, by, kpi_id, facts, aggs, covered=_staff_years(data))
    if isinstance(maturity, Mapping):
        return _not_matured_by_city(out, maturity, fiscal_years)
    unripe = [int(y) for y in fiscal_years if not m.matured_any(int(y))]
    if not unripe:
        return out
    waiting = pl.col("fiscal_year").is_in(fy_list(unripe).implode()) & pl.col("value").is_null()
    return out.with_columns(_not_matured(waiting))


def _not_matured(waiting: pl.Expr) -> pl.Expr:
    """The reason of a waiting KPI's cell: ``not_matured`` where ``waiting`` (an empty value of
    a fiscal year not yet matured at all) and the year has data, else the cell's own."""
    return (
        pl.when(waiting & (pl.col("reason") != "no_data_fy"))
        .then(pl.lit("not_matured"))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )


def _city_windows(windows: Mapping[str, Maturity]) -> pl.LazyFrame:
    """A batch's proposals' key to their city's window: :data:`CITY_KEY` (the code prefixed to
    the employee_id), the last submission date matured (``_through``) and W (``_window``)."""
    return pl.LazyFrame(
        {
            CITY_KEY: list(windows),
            "_through": [m.matured_through for m in windows.values()],
            "_window": [dt.timedelta(days=m.days) for m in windows.values()],
        },
        schema={CITY_KEY: pl.String, "_through": pl.Date, "_window": pl.Duration("us")},
    )


def _not_matured_by_city(
    out: pl.LazyFrame, windows: Mapping[str, Maturity], fiscal_years: Sequence[int]
) -> pl.LazyFrame:
    """:func:`_decided_share`'s cells of a batch with ``not_matured`` per city's window."""
    unripe = [(c, int(y)) for c, m in windows.items() for y in fiscal_years if not m.matured_any(y)]
    if not unripe:
        return out
    flags = pl.LazyFrame(
        {CITY_KEY: [c for c, _ in unripe], "fiscal_year": [y for _, y in unripe], "_unripe": True},
        schema={CITY_KEY: pl.String, "fiscal_year": pl.Int32, "_unripe": pl.Boolean},
    )
    waiting = pl.col("_unripe").is_not_null() & pl.col("value").is_null()
    return (
        out.join(flags, on=[CITY_KEY, "fiscal_year"], how="left")
        .with_columns(_not_matured(waiting))
        .drop("_unripe")
    )


def adoption_rate(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By = CITY,
    maturity: Maturity | Mapping[str, Maturity] | None = None,
) -> pl.LazyFrame:
    """Adopted share of decisions within W days, matured proposals of t. Unit: ratio 0–1.

    (adopted + implemented) ÷ (adopted + implemented + rejected) over proposals submitted in t
    at least W days before the as-of date and decided within W days of submission. ``maturity``
    (W and the as-of date): default from the data (:func:`dxkpi.kpi.maturity.maturity_for`).
    """
    return _decided_share(
        data,
        fiscal_years,
        by,
        "adoption_rate",
        ("adopted", "implemented"),
        ("adopted", "implemented", "rejected"),
        maturity,
    )


def implementation_rate(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By = CITY,
    maturity: Maturity | Mapping[str, Maturity] | None = None,
) -> pl.LazyFrame:
    """Implemented within W days ÷ adopted, matured proposals of t. Unit: ratio 0–1.

    Over proposals submitted in t at least W days before the as-of date and adopted (status
    adopted or implemented) within W days of submission: the share implemented within W days of
    submission. ``maturity``: as for :func:`adoption_rate`.
    """
    return _decided_share(
        data,
        fiscal_years,
        by,
        "implementation_rate",
        ("implemented",),
        ("adopted", "implemented"),
        maturity,
    )


def retention_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Of staff of t first trained in t−1, the share with ≥1 proposal in t. Unit: ratio 0–1."""
    cohort = (
        members(data, fiscal_years)
        .join(first_training(data), on="employee_id", how="inner")
        .filter(pl.col("first_fy") == pl.col("fiscal_year") - 1)
    )
    proposers = (
        _proposals_in(data, fiscal_years)
        .select("fiscal_year", "employee_id")
        .unique()
        .with_columns(_proposed=pl.lit(1))
    )
    facts = cohort.join(proposers, on=["fiscal_year", "employee_id"], how="left")
    aggs = [
        pl.col("_proposed").fill_null(0).sum().alias("numerator"),
        pl.len().alias("denominator"),
        pl.len().alias("n_people"),
    ]
    return _grouped(
        data, fiscal_years, by, "retention_rate", facts, aggs, covered=_staff_years(data)
    )


def insourcing_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Attendee-hours taught by internal instructors ÷ all attendee-hours in t. Unit: ratio.

    n_people = the trained attendees (:func:`_trained_cube`)."""
    return _cube_ratio(
        data,
        fiscal_years,
        by,
        "insourcing_rate",
        _trained_cube(data, fiscal_years),
        numerator="hours_internal",
        denominator="hours_trained",
        n_people="_trained_people",
        covered=_staff_years(data),
    )


# --------------------------------------------------------------------------- unit KGIs/KPIs
def _departments_by_year(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    fys = pl.LazyFrame({"fiscal_year": fy_list(fiscal_years)})
    return fys.join(data.departments.select("department_code", "division"), how="cross")


def _unit_share(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    per_department: pl.LazyFrame,
    empty_reason: str = "denominator_zero",
    covered: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Sum per-department 0/1 numerator and denominator up to the grouping. Unit: ratio."""
    return _grouped(
        data,
        fiscal_years,
        by,
        kpi_id,
        per_department,
        [pl.col("numerator").sum(), pl.col("denominator").sum()],
        empty_reason=empty_reason,
        covered=covered,
        post=[_NO_PEOPLE],
    )


def knowledge_continuity(
    data: Processed, fiscal_years: Sequence[int], by: By = CITY
) -> pl.LazyFrame:
    """Of departments with a trained member in t−1, share still with one in t. Unit: ratio."""
    first = first_training(data)
    prev_years = [y - 1 for y in fiscal_years]

    def _has_trained(staff_years: Sequence[int], shift: int) -> pl.LazyFrame:
        return (
            members(data, staff_years)
            .join(first, on="employee_id", how="inner")
            .with_columns(fiscal_year=(pl.col("fiscal_year") + shift).cast(pl.Int32))
            .filter(pl.col("first_fy") <= pl.col("fiscal_year") - 1)
            .select("fiscal_year", "department_code")
            .unique()
        )

    before = _has_trained(prev_years, 1).with_columns(_before=pl.lit(1))
    after = _has_trained(fiscal_years, 0).with_columns(_after=pl.lit(1))
    per_department = (
        _departments_by_year(data, fiscal_years)
        .join(before, on=["fiscal_year", "department_code"], how="left")
        .join(after, on=["fiscal_year", "department_code"], how="left")
        .select(
            "fiscal_year",
            "department_code",
            "division",
            denominator=pl.col("_before").fill_null(0),
            numerator=(pl.col("_before").fill_null(0) * pl.col("_after").fill_null(0)),
        )
    )
    return _unit_share(
        data,
        fiscal_years,
        by,
        "knowledge_continuity",
        per_department,
        covered=_staff_years(data),
    )


def leader_coverage(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Share of the departments table's departments with ≥1 leader in t. Unit: ratio 0–1."""
    leaders = (
        members(data, fiscal_years)
        .filter(pl.col("talent_type") == "leader")
        .select("fiscal_year", "department_code")
        .unique()
        .with_columns(_leader=pl.lit(1))
    )
    per_department = (
        _departments_by_year(data, fiscal_years)
        .join(leaders, on=["fiscal_year", "department_code"], how="left")
        .select(
            "fiscal_year",
            "department_code",
            "division",
            numerator=pl.col("_leader").fill_null(0),
            denominator=pl.lit(1),
        )
    )
    return _unit_share(
        data, fiscal_years, by, "leader_coverage", per_department, covered=_staff_years(data)
    )


def _completed_projects(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    return with_division(
        data.require("projects")
        .filter(pl.col("status") == "completed")
        .with_columns(fiscal_year=fiscal_year_of(pl.col("ended_on")))
        .filter(_in_years(fiscal_years)),
        data,
    )


def self_running_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Of projects completed in t, the share with self_running true. Unit: ratio 0–1."""
    aggs = [
        pl.col("self_running").fill_null(False).sum().alias("numerator"),
        pl.len().alias("denominator"),
    ]
    projects = _completed_projects(data, fiscal_years)
    return _grouped(data, fiscal_years, by, "self_running_rate", projects, aggs, post=[_NO_PEOPLE])


def hours_saved(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Σ hours_saved_per_year of proposals implemented and projects completed in t. Unit: hours."""
    implemented = (
        data.require("proposals")
        .filter(pl.col("status") == "implemented")
        .with_columns(fiscal_year=fiscal_year_of(pl.col("implemented_on")))
        .filter(_in_years(fiscal_years))
        .select("fiscal_year", "department_code", "hours_saved_per_year")
    )
    projects = _completed_projects(data, fiscal_years).select(
        "fiscal_year", "department_code", "hours_saved_per_year"
    )
    records = with_division(pl.concat([implemented, projects], how="vertical_relaxed"), data)
    cities = per_city(data)
    covered = pl.concat(
        [covered_years(data.staff, cities), covered_years(records, cities)], how="vertical"
    ).unique()
    aggs = [pl.col("hours_saved_per_year").fill_null(0).sum().alias("numerator")]
    return _grouped(
        data,
        fiscal_years,
        by,
        "hours_saved",
        records,
        aggs,
        value=pl.col("numerator"),
        covered=covered,
        post=[_NO_PEOPLE, pl.lit(None, pl.Float64).alias("denominator")],
        defined=pl.lit(True),
    )


# --------------------------------------------------------------------------- surveys
def _wilson(successes: pl.Expr, n: pl.Expr, z: float = Z95) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval (low, high) for successes out of n."""
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = (z / (1 + z2 / n)) * ((p * (1 - p) / n + z2 / (4 * n * n)).sqrt())
    return centre - half, centre + half


def _wilson_ci() -> list[pl.Expr]:
    """``ci_low`` and ``ci_high``: the Wilson 95% interval of numerator out of denominator,
    null where the denominator is 0."""
    low, high = _wilson(pl.col("numerator"), pl.col("denominator"))
    answered = pl.col("denominator") > 0
    return [
        pl.when(answered).then(low).cast(pl.Float64).alias("ci_low"),
        pl.when(answered).then(high).cast(pl.Float64).alias("ci_high"),
    ]


def resident_satisfaction(
    data: Processed, fiscal_years: Sequence[int], by: By = CITY
) -> pl.LazyFrame:
    """Σ satisfied ÷ Σ respondents in t, with a Wilson 95% interval (z = 1.959964). Unit: ratio."""
    survey = with_division(
        data.require("resident_survey").with_columns(pl.col("fiscal_year").cast(pl.Int32)),
        data,
    ).filter(_in_years(fiscal_years))
    aggs = [
        pl.col("satisfied").sum().alias("numerator"),
        pl.col("respondents").sum().alias("denominator"),
        pl.col("respondents").sum().alias("n_people"),
    ]
    return _grouped(
        data,
        fiscal_years,
        by,
        "resident_satisfaction",
        survey,
        aggs,
        post=[pl.col("numerator", "denominator").cast(pl.Float64), *_wilson_ci()],
    )


def _maturity(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    return with_division(
        data.require("maturity_survey").with_columns(
            pl.col("fiscal_year").cast(pl.Int32), pl.col("dimension").alias("dim")
        ),
        data,
    ).filter(_in_years(fiscal_years))


def _maturity_cube(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """What the two maturity KPIs sum, per finest cell and dimension (``dim``): Σ score,
    answers and respondents (``_score``, ``_answers``, ``_respondents``) and the same of
    managers and of general staff (``_sum_m``/``_cnt_m``/``_n_m``, ``_sum_s``/``_cnt_s``/
    ``_n_s``). Collected once for both by the engine (:data:`YEARLY_CUBES`); taken from
    ``data.derived`` when it has.

    A cell is one job level (a key of the cube), so its managers' sums are the cell's own
    where the cell is the managers', else 0 (and the same of general staff): set on the
    cube's cells, not summed again row by row (filtered sums are a slow path of a group-by).
    """
    key = yearly_key("maturity_cube", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    aggs = [
        pl.col("score").cast(pl.Float64).sum().alias("_score"),
        pl.len().alias("_answers"),
        pl.col("respondent_id").n_unique().alias("_respondents"),
    ]
    cube = _cube(data, _maturity(data, fiscal_years), aggs, "dimension")
    sides = {"m": "manager", "s": "staff"}
    own = {"_sum": "_score", "_cnt": "_answers", "_n": "_respondents"}
    return cube.with_columns(
        pl.when(pl.col("job_level") == level).then(total).otherwise(0).alias(f"{name}_{side}")
        for name, total in own.items()
        for side, level in sides.items()
    )


def maturity_score(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Mean maturity score (0–5) per dimension, all job levels. Unit: score."""
    return _cube_ratio(
        data,
        fiscal_years,
        by,
        "maturity_score",
        _maturity_cube(data, fiscal_years),
        numerator="_score",
        denominator="_answers",
        n_people="_respondents",
        dimension="dimension",
        empty_reason="no_answers",
    )


def maturity_gap(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Mean score of managers − mean score of general staff per dimension. Unit: score points.

    numerator = managers' mean, denominator = general staff's mean, value = their difference;
    n_people = the smaller side (the only side when one is empty); empty where a side is empty.
    """
    both = (pl.col("_n_m") > 0) & (pl.col("_n_s") > 0)
    post = [
        pl.when(both).then(pl.col("_sum_m") / pl.col("_cnt_m")).alias("numerator"),
        pl.when(both).then(pl.col("_sum_s") / pl.col("_cnt_s")).alias("denominator"),
        pl.when(both)
        .then(pl.min_horizontal("_n_m", "_n_s"))
        .otherwise(pl.max_horizontal("_n_m", "_n_s"))
        .alias("n_people"),
    ]
    return _rolled_up(
        data,
        fiscal_years,
        by,
        "maturity_gap",
        _maturity_cube(data, fiscal_years),
        ["_sum_m", "_sum_s", "_cnt_m", "_cnt_s", "_n_m", "_n_s"],
        dimension="dimension",
        value=pl.col("numerator") - pl.col("denominator"),
        empty_reason="gap_side_missing",
        post=post,
        defined=pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null(),
    )


# --------------------------------------------------------------------------- skill map (#8)
def _requirements(matrix: SkillMatrix | None) -> pl.LazyFrame:
    """The 職層 × スキル matrix as rows: job_level, skill_area, required (Float64)."""
    rows = (matrix or SkillMatrix()).rows()
    return pl.LazyFrame(
        rows,
        schema={"job_level": pl.String, "skill_area": pl.String, "required": pl.Float64},
        orient="row",
    )


def _levels() -> range:
    """The levels a skill assessment can have: the contract's range (0 none … 4 can teach)."""
    level = DATASETS["skill_assessment"].column("level")
    if level.min is None or level.max is None:
        raise ValueError("the contract gives skill_assessment.level no range")
    return range(int(level.min), int(level.max) + 1)


_SKILL_LEVELS = _levels()


def _skill_cube(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """What the three skill-map KPIs sum, per finest cell and skill area (``dim``): staff
    assessed (``_assessed``), of them at each level l (``_at_<l>``), Σ (self − manager) over
    staff with both assessments (``_self_minus_manager``) and their number (``_both``).

    Without the matrix (applied per cell by :func:`_against_matrix`: a cell is one job level),
    so the engine can collect it once for the three (:data:`YEARLY_CUBES`); taken from
    ``data.derived`` when it has. Each row's terms are set before the grouping, which sums
    plain columns (an expression inside a group-by's sum is its slower path).
    """
    key = yearly_key("skill_cube", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    both = pl.col("self_level").is_not_null() & pl.col("manager_level").is_not_null()
    terms = {
        **{f"_at_{level}": pl.col("level") == level for level in _SKILL_LEVELS},
        "_self_minus_manager": (pl.col("self_level") - pl.col("manager_level")).cast(pl.Float64),
        "_both": both,
    }
    facts = skill_levels(data, fiscal_years).with_columns(**terms)
    return _cube(data, facts, [pl.len().alias("_assessed"), pl.col(*terms).sum()], "skill_area")


def _against_matrix(cube: pl.LazyFrame, matrix: SkillMatrix | None) -> pl.LazyFrame:
    """:func:`_skill_cube` with each cell's required level (``required``, null where the matrix
    has none) and, over its staff, those meeting it (``_attained``) and Σ max(0, required −
    level) (``_shortfall``)."""
    required = pl.col("required")
    counts = [(pl.lit(level), pl.col(f"_at_{level}")) for level in _SKILL_LEVELS]
    return cube.join(
        _requirements(matrix).rename({"skill_area": "dim"}), on=["job_level", "dim"], how="left"
    ).with_columns(
        _attained=pl.sum_horizontal((lv >= required).cast(pl.UInt32) * n for lv, n in counts),
        _shortfall=pl.sum_horizontal((required - lv).clip(lower_bound=0) * n for lv, n in counts),
    )


def _skill_share(
    data: Processed,
    fiscal_years: Sequence[int],
    by: By,
    kpi_id: str,
    cube: pl.LazyFrame,
    numerator: str,
    people: str,
    *,
    empty_reason: str,
) -> pl.LazyFrame:
    """A skill-map KPI per skill area from the (matrix-applied) skill cube: numerator the
    cube's ``numerator`` column, denominator = n_people its ``people`` column."""
    return _cube_ratio(
        data,
        fiscal_years,
        by,
        kpi_id,
        cube,
        numerator=numerator,
        denominator=people,
        n_people=people,
        dimension="skill_area",
        empty_reason=empty_reason,
        covered=_staff_years(data),
    )


def skill_attainment_rate(
    data: Processed, fiscal_years: Sequence[int], by: By = CITY, matrix: SkillMatrix | None = None
) -> pl.LazyFrame:
    """Share of assessed staff whose level meets their job level's requirement. Unit: ratio 0–1.

    Per skill area; level = the manager's assessment where there is one, else the employee's own;
    required level from the 職層 × スキル ``matrix`` (default: the built-in matrix).
    numerator = staff meeting it, denominator = n_people = staff assessed in that skill area.
    """
    cube = _against_matrix(_skill_cube(data, fiscal_years), matrix)
    return _skill_share(
        data,
        fiscal_years,
        by,
        "skill_attainment_rate",
        cube,
        "_attained",
        "_assessed",
        empty_reason="not_assessed",
    )


def skill_gap(
    data: Processed, fiscal_years: Sequence[int], by: By = CITY, matrix: SkillMatrix | None = None
) -> pl.LazyFrame:
    """Mean of max(0, required − level) over assessed staff, per skill area. Unit: levels 0–4.

    numerator = Σ shortfall, denominator = n_people = staff assessed in that skill area.
    """
    cube = _against_matrix(_skill_cube(data, fiscal_years), matrix)
    return _skill_share(
        data,
        fiscal_years,
        by,
        "skill_gap",
        cube,
        "_shortfall",
        "_assessed",
        empty_reason="not_assessed",
    )


def assessment_gap(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Mean of (self − manager) level over staff with both, per skill area. Unit: levels.

    Positive: staff rate themselves above their manager's view. numerator = Σ (self − manager),
    denominator = n_people = staff with both assessments in that skill area.
    """
    return _skill_share(
        data,
        fiscal_years,
        by,
        "assessment_gap",
        _skill_cube(data, fiscal_years),
        "_self_minus_manager",
        "_both",
        empty_reason="no_assessment_pairs",
    )


def _posts_in(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """Knowledge posts dated in the fiscal years, with the poster's group of that year."""
    return _events_in(data, "knowledge_posts", ("post_id", "kind"), "posted_on", fiscal_years)


def knowledge_posts_per_100(
    data: Processed, fiscal_years: Sequence[int], by: By = CITY
) -> pl.LazyFrame:
    """Knowledge posts in t by members of H(t,g) × 100 ÷ |H(t,g)|. Unit: per 100 staff."""
    hits = _posts_in(data, fiscal_years)
    return _staff_share(
        data, fiscal_years, by, "knowledge_posts_per_100", hits, count=pl.len(), value=_PER_100
    )


def failure_share(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Failure posts ÷ all knowledge posts in t by the group's staff. Unit: ratio 0–1.

    n_people = distinct posters (the people behind the cell).
    """
    aggs = [
        (pl.col("kind") == "failure").sum().alias("numerator"),
        pl.len().alias("denominator"),
        pl.col("employee_id").n_unique().alias("n_people"),
    ]
    return _grouped(
        data,
        fiscal_years,
        by,
        "failure_share",
        _posts_in(data, fiscal_years),
        aggs,
        empty_reason="no_posts",
        covered=_staff_years(data),
    )


def _mobility(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """Staff of t trained by the end of t−1 and on the t−1 list: ``dim`` moved / stayed.

    moved = their department on the staff list of t differs from that of t−1 (April transfer).
    """
    before = members(data, [y - 1 for y in fiscal_years]).select(
        (pl.col("fiscal_year") + 1).cast(pl.Int32).alias("fiscal_year"),
        "employee_id",
        pl.col("department_code").alias("_dept_before"),
    )
    moved = pl.col("department_code") != pl.col("_dept_before")
    return (
        members(data, fiscal_years)
        .join(before, on=["fiscal_year", "employee_id"], how="inner")
        .join(first_training(data), on="employee_id", how="inner")
        .filter(pl.col("first_fy") <= pl.col("fiscal_year") - 1)
        .with_columns(dim=pl.when(moved).then(pl.lit("moved")).otherwise(pl.lit("stayed")))
    )


def portable_learning(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Proposals per 100 in t by staff trained by the end of t−1, moved vs stayed. Unit: per 100.

    Second dimension ``mobility``: ``moved`` = changed department in the April of t, ``stayed``
    = same department as in t−1 (staff not on the t−1 list are in neither arm). numerator =
    their proposals submitted in t, denominator = n_people = the trained staff in the arm.
    """
    counts = (
        _proposals_in(data, fiscal_years)
        .group_by("fiscal_year", "employee_id")
        .agg(pl.len().alias("_proposals"))
    )
    facts = _mobility(data, fiscal_years).join(
        counts, on=["fiscal_year", "employee_id"], how="left"
    )
    aggs = [
        pl.col("_proposals").fill_null(0).sum().alias("numerator"),
        pl.len().alias("denominator"),
        pl.len().alias("n_people"),
    ]
    return _grouped(
        data,
        fiscal_years,
        by,
        "portable_learning",
        facts,
        aggs,
        dimension="mobility",
        value=_PER_100,
        empty_reason="no_trained_staff",
        covered=_staff_years(data),
    )


# --------------------------------------------------------------------------- level-3 follow-up
def _followup_answers(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """The answer each employee gave about each course in t: of the follow-up survey's waves
    (30/60/90 days after completion) answered in t, the latest one, with the respondent's group
    of that year (their staff row of t).

    Columns: fiscal_year, employee_id, course_id, days_after, applied, manager_support, barrier,
    department_code, job_level, talent_type, division. Taken from ``data.derived`` when the
    engine has materialised it for these years.
    """
    key = yearly_key("followup_answers", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    answers = (
        data.require("followup_survey")
        .select(
            fiscal_year_of(pl.col("responded_on")).alias("fiscal_year"),
            "employee_id",
            "course_id",
            pl.col("days_after").cast(pl.Int16),
            pl.col("applied").cast(pl.Int8),
            pl.col("manager_support").cast(pl.Int8),
            "barrier",
        )
        .filter(_in_years(fiscal_years))
        .filter(
            pl.col("days_after")
            == pl.col("days_after").max().over("fiscal_year", "employee_id", "course_id")
        )
    )
    return answers.join(members(data, fiscal_years), on=["fiscal_year", "employee_id"], how="inner")


#: The follow-up items whose agreement the follow-up KPIs share (KPI id → answer column).
_FOLLOWUP_ITEMS: dict[str, str] = {
    "application_rate": "applied",
    "manager_support_rate": "manager_support",
}


def _followup_aggs() -> list[pl.Expr]:
    """Per cell: answers agreeing on each follow-up item (``_agree_<item>``), answers
    (``denominator``) and distinct respondents (``n_people``): what both follow-up KPIs sum."""
    return [
        *[
            pl.col(item).is_in(list(LIKERT_AGREE)).sum().alias(f"_agree_{item}")
            for item in _FOLLOWUP_ITEMS.values()
        ],
        pl.len().alias("denominator"),
        pl.col("employee_id").n_unique().alias("n_people"),
    ]


def _followup_cube(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """:func:`_followup_aggs` per finest cell of staff groups (a respondent has one staff row
    per year, so distinct respondents add up over it). Collected once for both follow-up KPIs
    by the engine (:data:`YEARLY_CUBES`); taken from ``data.derived`` when it has."""
    key = yearly_key("followup_cube", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    return _cube(data, _followup_answers(data, fiscal_years), _followup_aggs(), None)


def _followup_courses(data: Processed, fiscal_years: Sequence[int]) -> pl.LazyFrame:
    """:func:`_followup_aggs` per fiscal year and course answered about (``group``): the course
    grouping reads the answers themselves. Collected once for both follow-up KPIs by the
    engine (:data:`YEARLY_CUBES`); taken from ``data.derived`` when it has."""
    key = yearly_key("followup_courses", fiscal_years)
    if key in data.derived:
        return data.derived[key]
    return aggregate(
        _followup_answers(data, fiscal_years), "course", _followup_aggs(), cities=per_city(data)
    )


def _agree_share(data: Processed, fiscal_years: Sequence[int], by: By, kpi_id: str) -> pl.LazyFrame:
    """Share of (employee, course) answers of t whose item (:data:`_FOLLOWUP_ITEMS`) is 4 or 5
    (agree), per grouping; a course grouping groups by the course answered about. n_people =
    distinct respondents; ci_low/ci_high: Wilson 95% interval over the answers (z = 1.959964)."""
    measures = [a.meta.output_name() for a in _followup_aggs()]
    agreeing = pl.col(f"_agree_{_FOLLOWUP_ITEMS[kpi_id]}").alias("numerator")
    cities = per_city(data)
    outs = []
    for grouping in resolve_groupings(kpi_id, by):
        if grouping == "course":
            agg = _followup_courses(data, fiscal_years)
        else:
            agg = _rollup(_followup_cube(data, fiscal_years), grouping, measures, None, cities)
        cells = fill_cells(data, fiscal_years, grouping, None, agg, zero=measures)
        cells = cells.with_columns(agreeing).with_columns(
            pl.col("numerator", "denominator").cast(pl.Float64)
        )
        cells = cells.with_columns(_wilson_ci())
        outs.append(
            finish(
                cells,
                grouping,
                None,
                value=_RATIO,
                empty_reason="no_answers",
                covered=_staff_years(data),
                with_ci=True,
                cities=cities,
            )
        )
    return concat_outputs(outs)


#: Frames of the asked fiscal years that several KPIs read, by name: the dataset those KPIs
#: need and the builder (the engine may collect each once per run; same results).
YEARLY_SHARED: dict[str, tuple[str, Callable[[Processed, Sequence[int]], pl.LazyFrame]]] = {
    "skill_levels": ("skill_assessment", skill_levels),
    "followup_answers": ("followup_survey", _followup_answers),
}

#: Cubes of the asked fiscal years that several KPIs sum, by name: the dataset those KPIs need
#: and the builder (built from the :data:`YEARLY_SHARED` frames; the engine may collect each
#: once per run; same results).
YEARLY_CUBES: dict[str, tuple[str, Callable[[Processed, Sequence[int]], pl.LazyFrame]]] = {
    "maturity_cube": ("maturity_survey", _maturity_cube),
    "skill_cube": ("skill_assessment", _skill_cube),
    "followup_cube": ("followup_survey", _followup_cube),
    "followup_courses": ("followup_survey", _followup_courses),
}

#: Cubes of the asked fiscal years that several KPIs sum, built from the members' attendance
#: (:func:`~dxkpi.kpi._frames.attendance_of_members`), by name: the dataset those KPIs need and
#: the builder. The engine collects each once per run after the members' attendance: in the
#: same ``collect_all`` polars ran the attendance summary under it a second time (the years'
#: filter reaches below the summary's grouping, so the two plans no longer match).
ATTENDED_CUBES: dict[str, tuple[str, Callable[[Processed, Sequence[int]], pl.LazyFrame]]] = {
    "trained_cube": ("attendance", _trained_cube),
}


def application_rate(data: Processed, fiscal_years: Sequence[int], by: By = CITY) -> pl.LazyFrame:
    """Share of follow-up answers of t agreeing they apply the course at work. Unit: ratio 0–1.

    Each employee's latest wave per course answered in t; agree = 4 or 5 on 「研修で学んだことを
    業務で活用している」. Self-reported Kirkpatrick level 3 (only those who answered)."""
    return _agree_share(data, fiscal_years, by, "application_rate")


def manager_support_rate(
    data: Processed, fiscal_years: Sequence[int], by: By = CITY
) -> pl.LazyFrame:
    """Share of follow-up answers of t agreeing their manager supports it. Unit: ratio 0–1.

    The same answers as :func:`application_rate`; agree = 4 or 5 on 「上司が研修内容の活用を
    支援してくれる」."""
    return _agree_share(data, fiscal_years, by, "manager_support_rate")
