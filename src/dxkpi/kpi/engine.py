"""Compute KPIs for chosen fiscal years and groupings: values, suppression, targets, grades.

:func:`compute` returns the *rich* frame (for reports): the export columns of
:data:`EXPORT_COLUMNS` followed by n_people, reason, suppression, in_progress, progress,
target_full, provisional (a waiting KPI's fiscal year not yet wholly matured: 暫定, grade
``P``), maturity_days (its window W), as_of and the KPI's names and unit. :func:`export_frame`
cuts it to exactly :data:`EXPORT_COLUMNS`, the order every export (CSV, JSON, XLSX) uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple, cast

import polars as pl

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY, KpiSpec
from dxkpi.core.errors import DxkpiError
from dxkpi.ingest.processed import MissingDatasetError, Processed
from dxkpi.kpi import measures
from dxkpi.kpi._frames import (
    ATTENDANCE_SUMMARY,
    CITY_KEY,
    PERSON_YEARS,
    SHARED,
    city_of,
    headcount,
    own_code,
    per_city,
    person_years,
    yearly_key,
)
from dxkpi.kpi.grading import PROVISIONAL, fiscal_year_progress, grade_expr
from dxkpi.kpi.maturity import Maturity, maturity_frame, maturity_windows, resolve_as_of
from dxkpi.kpi.suppression import HEADCOUNT, STAFF, suppress
from dxkpi.project.config import Config, SkillMatrix

EXPORT_COLUMNS: tuple[str, ...] = (
    "kpi",
    "fiscal_year",
    "group_by",
    "group",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "target",
    "grade",
    "suppressed",
)
#: The polars engines :func:`compute` can run the KPI plans on.
PolarsEngine = Literal["auto", "in-memory", "streaming", "gpu"]

RICH_COLUMNS: tuple[str, ...] = (
    *EXPORT_COLUMNS,
    "n_people",
    "reason",
    "suppression",
    "in_progress",
    "progress",
    "target_full",
    "provisional",
    "maturity_days",
    "as_of",
    "name_ja",
    "name_en",
    "unit",
    "kind",
    "group_name",
)


class UnknownKpiError(DxkpiError):
    """A KPI id that is not in the registry."""


def kpi_function(kpi_id: str) -> Callable[..., pl.LazyFrame]:
    """The measure function of a KPI id (same name in :mod:`dxkpi.kpi.measures`)."""
    return getattr(measures, kpi_id)


def compute_kpi(
    data: Processed,
    kpi_id: str,
    fiscal_years: Sequence[int],
    by: str | Sequence[str],
    matrix: SkillMatrix | None = None,
    maturity: Maturity | Mapping[str, Maturity] | None = None,
) -> pl.LazyFrame:
    """Unsuppressed, ungraded cells of one KPI with a leading ``kpi`` column.

    ``matrix`` (the 職層 × スキル requirement) goes to the KPIs that use it; default: the
    built-in :data:`dxkpi.project.config.DEFAULT_SKILL_MATRIX`. ``maturity`` (W and the as-of
    date) goes to the KPIs that wait for an outcome; default: from the data
    (:func:`dxkpi.kpi.maturity.maturity_for`); of a batch of cities, each city's (by code).
    """
    spec = REGISTRY[kpi_id]
    extra: dict[str, object] = {}
    if matrix is not None and spec.uses_skill_matrix:
        extra["matrix"] = matrix
    if maturity is not None and spec.awaits is not None:
        extra["maturity"] = maturity
    frame = kpi_function(kpi_id)(data, fiscal_years, by, **extra)
    return frame.select(pl.lit(kpi_id).alias("kpi"), pl.all())


def labels_for(spec: KpiSpec, grouping: str) -> str | None:
    """The ``group_by`` label a KPI uses for a requested grouping; ``None`` if unsupported."""
    if grouping not in spec.groupings:
        return None
    dim = spec.second_dimension
    if dim is None:
        return grouping
    if grouping in ("city", dim):
        return dim
    return f"{grouping}|{dim}"


def suppression_set(data: Processed, ids: Sequence[str]) -> list[str]:
    """``ids`` and the KPIs (with their data present) that share a quantity other than the head
    count with one of them: suppression is decided over them together, so what one run hides
    another cannot show (the head count has its own carrier cells in every run)."""
    shared = {
        q
        for k in ids
        for q in (REGISTRY[k].numerator_is, REGISTRY[k].denominator_is)
        if q is not None and q != STAFF
    }
    partners = [
        k
        for k, s in REGISTRY.items()
        if k not in ids and shared & {s.numerator_is, s.denominator_is} and not _needs(s, data)
    ]
    return [*ids, *partners]


def _needs(spec: KpiSpec, data: Processed) -> list[str]:
    return [d for d in spec.datasets if getattr(data, d, None) is None]


def select_kpis(data: Processed, kpis: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(KPIs to compute, KPIs skipped for missing data). Explicit ids with missing data → error."""
    if kpis:
        unknown = [k for k in kpis if k not in REGISTRY]
        if unknown:
            raise UnknownKpiError(
                f"不明な指標IDです: {', '.join(unknown)}（使える指標: {', '.join(REGISTRY)}）",
                f"unknown KPI id: {', '.join(unknown)} (known: {', '.join(REGISTRY)})",
            )
        for k in kpis:
            for dataset in _needs(REGISTRY[k], data):
                data.require(dataset)
        return list(dict.fromkeys(kpis)), []
    chosen = [k for k, s in REGISTRY.items() if not _needs(s, data)]
    skipped = [k for k in REGISTRY if k not in chosen]
    return chosen, skipped


def _targets_frame(config: Config) -> pl.DataFrame:
    rows = [
        {
            "kpi": t.kpi,
            "fiscal_year": t.fiscal_year,
            "_tg": t.grouping or "",
            "_tk": t.group or "",
            "_t": t.value,
        }
        for t in config.targets
    ]
    schema = {
        "kpi": pl.String,
        "fiscal_year": pl.Int32,
        "_tg": pl.String,
        "_tk": pl.String,
        "_t": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).unique(
        ["kpi", "fiscal_year", "_tg", "_tk"], keep="last"
    )


def attach_targets(cells: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Add target_full: the most specific target of each cell (group, second dim, city-wide).

    A city-wide target of an additive KPI (a total such as hours saved) applies to the city row
    only: groups of it are graded against their own targets, else D (no target).
    """
    targets = _targets_frame(config)
    parts = pl.col("group_by").str.split("|")
    keys = pl.col("group").str.split("|")
    frame = cells.with_columns(
        _g1=parts.list.first(),
        _k1=keys.list.first(),
        _g2=parts.list.get(1, null_on_oob=True).fill_null(""),
        _k2=keys.list.get(1, null_on_oob=True).fill_null(""),
    )
    on = ["kpi", "fiscal_year"]
    additive = [k for k, spec in REGISTRY.items() if spec.additive]
    for i, (g, k) in enumerate((("_g1", "_k1"), ("_g2", "_k2"))):
        t = targets.filter(pl.col("_tg") != "").rename({"_tg": g, "_tk": k, "_t": f"_t{i}"})
        frame = frame.join(t, on=[*on, g, k], how="left")
    t = targets.filter(pl.col("_tg") == "").select(*on, pl.col("_t").alias("_t2"))
    frame = frame.join(t, on=on, how="left").with_columns(
        pl.when(pl.col("kpi").is_in(additive) & (pl.col("group_by") != "city"))
        .then(None)
        .otherwise(pl.col("_t2"))
        .alias("_t2")
    )
    return frame.with_columns(target_full=pl.coalesce("_t0", "_t1", "_t2")).drop(
        "_g1", "_k1", "_g2", "_k2", "_t0", "_t1", "_t2"
    )


def grade_cells(
    cells: pl.DataFrame,
    config: Config,
    as_of: dt.date | None,
    windows: dict[str, Maturity] | None = None,
) -> pl.DataFrame:
    """Add in_progress, progress, target (pro-rated for cumulative KPIs), provisional,
    maturity_days, as_of and grade.

    A cell of a waiting KPI (``windows``: its :class:`~dxkpi.kpi.maturity.Maturity`) whose
    fiscal year has not wholly matured is provisional: grade ``P`` (暫定), never A–C.
    """
    years = cells.get_column("fiscal_year").unique().to_list()
    return _graded(cells, config, *_timing(years, as_of, windows or {}), on=[])


def _timing(
    years: Sequence[int], as_of: dt.date | None, windows: Mapping[str, Maturity]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What grading reads of one city's as-of date and windows: each fiscal year's progress
    and the as-of date (fiscal_year, progress, as_of), and each waiting KPI's fiscal years
    (kpi, fiscal_year, provisional, maturity_days)."""
    progress = {y: (fiscal_year_progress(y, as_of) if as_of else 1.0) for y in years}
    prog = pl.DataFrame(
        {"fiscal_year": list(progress), "progress": list(progress.values())},
        schema={"fiscal_year": pl.Int32, "progress": pl.Float64},
    ).with_columns(as_of=pl.lit(as_of, pl.Date))
    ripe = maturity_frame(dict(windows), years).select(
        "kpi", "fiscal_year", "provisional", "maturity_days"
    )
    return prog, ripe


def _graded(
    cells: pl.DataFrame, config: Config, prog: pl.DataFrame, ripe: pl.DataFrame, on: list[str]
) -> pl.DataFrame:
    """:func:`grade_cells` with its fiscal years' progress and waiting KPIs given
    (:func:`_timing`), joined on ``on`` too (a batch's city)."""
    meta = pl.DataFrame(
        {
            "kpi": list(REGISTRY),
            "_hib": [s.higher_is_better for s in REGISTRY.values()],
            "_cum": [s.cumulative for s in REGISTRY.values()],
        }
    )
    frame = cells.join(meta, on="kpi", how="left").join(prog, on=[*on, "fiscal_year"], how="left")
    frame = frame.join(ripe, on=[*on, "kpi", "fiscal_year"], how="left").with_columns(
        pl.col("provisional").fill_null(False)
    )
    frame = frame.with_columns(in_progress=pl.col("progress") < 1.0).with_columns(
        target=pl.when(pl.col("_cum") & pl.col("in_progress"))
        .then(pl.col("target_full") * pl.col("progress"))
        .otherwise(pl.col("target_full"))
    )
    started = pl.col("progress") > 0
    graded = grade_expr(pl.col("value"), pl.col("target"), pl.col("_hib"), config.grading.tolerance)
    frame = frame.with_columns(
        grade=pl.when(pl.col("suppressed"))
        .then(pl.lit(None, pl.String))
        .when(~started)
        .then(pl.lit("D"))
        .when(pl.col("provisional") & pl.col("value").is_not_null())
        .then(pl.lit(PROVISIONAL))
        .otherwise(graded)
    )
    return frame.drop("_hib", "_cum")


def _city_graded(
    cells: pl.DataFrame, config: Config, plans: Mapping[str, CataloguePlan]
) -> pl.DataFrame:
    """:func:`grade_cells` of a batch's cells (keyed by :data:`CITY_KEY`), each city with its
    own as-of date and windows (``plans``, by code)."""
    years = cells.get_column("fiscal_year").unique().to_list()
    timings = {c: _timing(years, p.when, p.windows) for c, p in plans.items()}
    prog, ripe = (
        pl.concat([t[i].select(pl.lit(c).alias(CITY_KEY), pl.all()) for c, t in timings.items()])
        for i in (0, 1)
    )
    return _graded(cells, config, prog, ripe, on=[CITY_KEY])


def _sort(frame: pl.DataFrame) -> pl.DataFrame:
    order = {k: i for i, k in enumerate(REGISTRY)}
    second = {"phase": 0, "dimension": 0, "skill_area": 0, "mobility": 0}
    gorder = {g: i for i, g in enumerate(GROUPINGS)} | second
    return (
        frame.with_columns(
            _ko=pl.col("kpi").replace_strict(order, return_dtype=pl.Int32),
            _go=pl.col("group_by")
            .str.split("|")
            .list.first()
            .replace_strict(gorder, default=-1, return_dtype=pl.Int32),
        )
        .sort("_ko", "fiscal_year", "_go", "group_by", "group")
        .drop("_ko", "_go")
    )


def materialise_shared(
    data: Processed,
    ids: Sequence[str],
    fiscal_years: Sequence[int] | None = None,
    *,
    cubes: bool = False,
) -> Processed:
    """Collect the derived frames several KPIs share once (speed only; same results): the
    attendance summaries and, with ``fiscal_years``, the frames of those years that several
    KPIs read (:data:`dxkpi.kpi.measures.YEARLY_SHARED`: the skill levels, the follow-up
    answers) and, with ``cubes`` too, the cubes several KPIs sum, built from them
    (:data:`dxkpi.kpi.measures.YEARLY_CUBES`: the skill map's, the follow-up survey's).

    Every frame is collected in one ``collect_all``: those built from the others (the cubes,
    the members' attendance) read the others' plans, which polars runs once for all of them
    (common subplan elimination), so the second layer starts as soon as its inputs are ready
    instead of waiting for the whole first layer (a second ``collect_all`` did). The cubes of
    the members' attendance (:data:`dxkpi.kpi.measures.ATTENDED_CUBES`) are the exception:
    collected afterwards from the collected frame."""
    plans: dict[str, pl.LazyFrame] = {}
    if fiscal_years is not None:
        plans |= _yearly_builds(data, ids, fiscal_years, measures.YEARLY_SHARED)
    users = [k for k in ids if "attendance" in REGISTRY[k].datasets]
    attended = len(users) >= 2 and data.attendance is not None and data.courses is not None
    if attended:
        plans |= _builds(data, {ATTENDANCE_SUMMARY: SHARED[ATTENDANCE_SUMMARY]})
        if data.assignments is not None and PERSON_YEARS not in data.derived:
            plans[PERSON_YEARS] = person_years(data, None)
    layered = data.with_derived(**plans)
    if fiscal_years is not None and cubes:
        plans |= _yearly_builds(layered, ids, fiscal_years, measures.YEARLY_CUBES)
    if attended:
        plans |= _builds(layered, {k: b for k, b in SHARED.items() if k != ATTENDANCE_SUMMARY})
    data = _collected(data, plans)
    if fiscal_years is not None and cubes and attended:
        data = _collected(data, _yearly_builds(data, ids, fiscal_years, measures.ATTENDED_CUBES))
    return data


def _yearly_builds(
    data: Processed,
    ids: Sequence[str],
    fiscal_years: Sequence[int],
    yearly: Mapping[str, tuple[str, Callable[[Processed, Sequence[int]], pl.LazyFrame]]],
) -> dict[str, pl.LazyFrame]:
    """The plans of the ``yearly`` frames (name → dataset, builder) that at least two of
    ``ids`` read and that are not in ``data.derived`` yet, by their derived name."""
    out = {}
    for name, (dataset, build_years) in yearly.items():
        key = yearly_key(name, fiscal_years)
        users = [k for k in ids if dataset in REGISTRY[k].datasets]
        if len(users) >= 2 and key not in data.derived and not _needs(REGISTRY[users[0]], data):
            out[key] = build_years(data, fiscal_years)
    return out


def _builds(
    data: Processed, shared: Mapping[str, Callable[[Processed], pl.LazyFrame]]
) -> dict[str, pl.LazyFrame]:
    """The plans of the ``shared`` frames not in ``data.derived`` yet, by name."""
    return {name: build(data) for name, build in shared.items() if name not in data.derived}


def _collected(data: Processed, plans: Mapping[str, pl.LazyFrame]) -> Processed:
    """``data`` with ``plans`` collected together (one ``collect_all``) as derived frames."""
    if not plans:
        return data
    frames = pl.collect_all(list(plans.values()))
    return data.with_derived(**{k: f.lazy() for k, f in zip(plans, frames, strict=True)})


def kpi_cells(
    data: Processed,
    ids: Sequence[str],
    fiscal_years: Sequence[int],
    config: Config,
    windows: Mapping[str, Maturity | Mapping[str, Maturity]],
    *,
    skip: Sequence[str] = (),
    engine: PolarsEngine = "auto",
) -> pl.DataFrame:
    """The KPIs ``ids`` × fiscal years × each KPI's groupings (but ``skip``), before
    suppression, and the head count: every plan collected together (one engine run). Of a
    batch of cities (:attr:`Processed.cities`; ``windows``: each city's), every cell with its
    city (:data:`dxkpi.kpi._frames.CITY_KEY`) first."""
    plans = [
        compute_kpi(
            data,
            k,
            fiscal_years,
            [
                g
                for g in REGISTRY[k].groupings
                if g != REGISTRY[k].second_dimension and g not in skip
            ],
            config.skill_matrix,
            windows.get(k),
        )
        for k in ids
    ]
    plans.append(headcount(data, fiscal_years).select(pl.lit(HEADCOUNT).alias("kpi"), pl.all()))
    return pl.concat(pl.collect_all(plans, engine=plans_engine(engine)), how="vertical")


def plans_engine(engine: PolarsEngine) -> PolarsEngine:
    """The polars engine the KPI plans run on: ``auto`` means the in-memory engine.

    The plans are hundreds of small branches (a roll-up, a fill and a finish per KPI and
    grouping) over frames already collected (:func:`materialise_shared`), sharing cached
    subplans: polars' streaming engine, its default since 2.0, spends about twice the time on
    them as the in-memory one, whose per-node cost is lower. Scanning the raw datasets (the
    shared frames) stays on polars' own choice; an explicit engine is kept as asked.
    """
    return "in-memory" if engine == "auto" else engine


def compute(
    data: Processed,
    config: Config,
    *,
    kpis: Sequence[str] | None = None,
    fiscal_years: Sequence[int] | None = None,
    by: Sequence[str] = ("city",),
    as_of: dt.date | None = None,
    engine: PolarsEngine = "auto",
) -> pl.DataFrame:
    """The rich KPI frame for the KPIs, fiscal years and groupings asked for.

    Defaults: every KPI whose datasets are present, every fiscal year on the staff list, city.
    ``engine="streaming"`` runs the KPI plans on polars' streaming engine (large data).
    Suppression is decided over all groupings of each KPI, then the requested ones are kept.
    """
    rich, _cells = compute_with_cells(
        data, config, kpis=kpis, fiscal_years=fiscal_years, by=by, as_of=as_of, engine=engine
    )
    return rich


def compute_with_cells(
    data: Processed,
    config: Config,
    *,
    kpis: Sequence[str] | None = None,
    fiscal_years: Sequence[int] | None = None,
    by: Sequence[str] = ("city",),
    as_of: dt.date | None = None,
    engine: PolarsEngine = "auto",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`compute`'s rich frame and the cells it was made from, before suppression: every
    KPI (with its suppression partners) × FY × grouping with numerator, denominator and head
    count — what a pooled run sums (:func:`dxkpi.kpi.pooled.partial_sums`), so one engine run
    serves a city's own catalogue and its share of the pool."""
    plan = catalogue_plan(data, config, kpis=kpis, fiscal_years=fiscal_years, as_of=as_of)
    if plan is None:
        empty = pl.DataFrame(schema={c: pl.String for c in RICH_COLUMNS}).clear()
        return empty, empty
    return planned_catalogue(data, config, plan, by, engine)


def planned_catalogue(
    data: Processed,
    config: Config,
    plan: CataloguePlan,
    by: Sequence[str],
    engine: PolarsEngine = "auto",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`compute_with_cells` of one city whose :func:`catalogue_plan` is ``plan``."""
    unsuppressed = planned_cells(data, config, plan, engine=engine)
    return catalogue_from_cells(data, config, plan, by, unsuppressed), unsuppressed


def planned_cells(
    data: Processed,
    config: Config,
    plan: CataloguePlan,
    *,
    windows: Mapping[str, Maturity | Mapping[str, Maturity]] | None = None,
    skip: Sequence[str] = (),
    engine: PolarsEngine = "auto",
) -> pl.DataFrame:
    """:func:`kpi_cells` of ``plan``'s KPIs and fiscal years over ``data`` with their shared
    frames collected once (:func:`materialise_shared`); ``windows``: instead of the plan's (a
    batch's, by city)."""
    shared = materialise_shared(data, plan.decided, plan.years, cubes=True)
    ripe = plan.windows if windows is None else windows
    return kpi_cells(shared, plan.decided, plan.years, config, ripe, skip=skip, engine=engine)


class CataloguePlan(NamedTuple):
    """What one city's catalogue computes (:func:`catalogue_plan`): the KPIs asked for
    (``ids``), with their suppression partners (``decided``), the fiscal years, the as-of
    date and each waiting KPI's window."""

    ids: list[str]
    decided: list[str]
    years: list[int]
    when: dt.date | None
    windows: dict[str, Maturity]


def catalogue_plan(
    data: Processed,
    config: Config,
    *,
    kpis: Sequence[str] | None = None,
    fiscal_years: Sequence[int] | None = None,
    as_of: dt.date | None = None,
) -> CataloguePlan | None:
    """What :func:`compute_with_cells` computes for ``data``; ``None`` when nothing (no KPI
    with its data, or no fiscal year)."""
    ids, _skipped = select_kpis(data, kpis)
    years = list(fiscal_years) if fiscal_years else data.fiscal_years()
    if not ids or not years:
        return None
    decided = suppression_set(data, ids)
    when = resolve_as_of(data, config, as_of)
    windows = {k: m for k, m in maturity_windows(data, config, when).items() if k in decided}
    return CataloguePlan(ids, decided, years, when, windows)


def catalogue_from_cells(
    data: Processed,
    config: Config,
    plan: CataloguePlan,
    by: Sequence[str],
    unsuppressed: pl.DataFrame,
) -> pl.DataFrame:
    """:func:`compute`'s rich frame from one city's unsuppressed cells (:func:`kpi_cells`):
    suppressed over every grouping, cut to ``by``, graded and named."""
    hidden = suppressed_cells(unsuppressed, department_divisions(data), config, plan.decided)
    return catalogue_from_suppressed(data, config, plan, by, hidden)


def department_divisions(data: Processed) -> pl.DataFrame:
    """Each department's division, what suppression's equations read (``department_code``,
    ``division``); of a batch of cities (:attr:`Processed.cities`), each department's city
    (:data:`dxkpi.kpi._frames.CITY_KEY`) first and its code without the city's prefix, as the
    batch's cells name it."""
    if not per_city(data):
        return data.departments.select("department_code", "division").collect()
    return data.departments.select(
        city_of("department_code").alias(CITY_KEY),
        own_code("department_code").alias("department_code"),
        "division",
    ).collect()


def suppressed_cells(
    cells: pl.DataFrame,
    departments: pl.DataFrame,
    config: Config,
    decided: Sequence[str],
    part: str | None = None,
) -> pl.DataFrame:
    """:func:`kpi_cells`' cells of the KPIs ``decided`` suppressed over every grouping
    (:func:`dxkpi.kpi.suppression.suppress`; ``departments``: department_code → division;
    ``part``: the column of both that tells a batch's cities apart)."""
    every = {k: REGISTRY[k] for k in decided}
    return suppress(
        cells,
        config.privacy.min_cell_size,
        departments,
        {HEADCOUNT: None} | {k: s.second_dimension for k, s in every.items()},
        {HEADCOUNT: True} | {k: s.suppressed for k, s in every.items()},
        {HEADCOUNT: (None, STAFF)}
        | {k: (s.numerator_is, s.denominator_is) for k, s in every.items()},
        part,
    )


def catalogue_from_suppressed(
    data: Processed,
    config: Config,
    plan: CataloguePlan | Mapping[str, CataloguePlan],
    by: Sequence[str],
    cells: pl.DataFrame,
) -> pl.DataFrame:
    """:func:`catalogue_from_cells` from one city's cells suppressed already
    (:func:`suppressed_cells`): cut to ``by``, graded and named. Of a batch of cities
    (:func:`dxkpi.kpi.batch.batch_of`): ``plan`` each city's by code (they ask for the same
    KPIs), ``cells`` keyed by :data:`CITY_KEY`, and so is the catalogue (:func:`by_city`
    gives each city's, in its own run's order)."""
    plans = None if isinstance(plan, CataloguePlan) else dict(plan)
    first = next(iter(plans.values())) if plans is not None else cast(CataloguePlan, plan)
    specs = {k: REGISTRY[k] for k in first.ids}
    keep = pl.DataFrame(
        [
            {"kpi": k, "group_by": label}
            for k, s in specs.items()
            for g in by
            if (label := labels_for(s, g)) is not None
        ],
        schema={"kpi": pl.String, "group_by": pl.String},
    ).unique()
    cells = attach_targets(cells.join(keep, on=["kpi", "group_by"], how="semi"), config)
    if plans is None:
        cells = grade_cells(cells, config, first.when, first.windows)
    else:
        cells = _city_graded(cells, config, plans)
    names = pl.DataFrame(
        {
            "kpi": list(REGISTRY),
            "name_ja": [s.name_ja for s in REGISTRY.values()],
            "name_en": [s.name_en for s in REGISTRY.values()],
            "unit": [cast(str, s.unit) for s in REGISTRY.values()],
            "kind": [cast(str, s.kind) for s in REGISTRY.values()],
        }
    )
    cells = with_group_names(cells.join(names, on="kpi", how="left"), data)
    return _sort(cells).select(*([CITY_KEY] if plans is not None else []), *RICH_COLUMNS)


def batch_cells(
    batch: Processed,
    config: Config,
    plans: Mapping[str, CataloguePlan],
    engine: PolarsEngine = "auto",
    skip: Sequence[str] = (),
) -> pl.DataFrame:
    """The unsuppressed cells (:func:`kpi_cells`) of a batch of cities
    (:func:`dxkpi.kpi.batch.batch_of`) from ONE engine run, each with its city
    (:data:`dxkpi.kpi._frames.CITY_KEY`) first; ``plans`` (by city code, in the batch's order)
    agree but for the as-of date and windows: each city gets its own windows. ``skip``: as for
    :func:`kpi_cells`."""
    first = next(iter(plans.values()))
    windows = {k: {c: p.windows[k] for c, p in plans.items()} for k in first.windows}
    return planned_cells(batch, config, first, windows=windows, skip=skip, engine=engine)


def by_city(cells: pl.DataFrame, codes: Sequence[str]) -> dict[str, pl.DataFrame]:
    """A batch's cells (:func:`batch_cells`) of each city of ``codes``, without the city."""
    parts = cells.partition_by(CITY_KEY, as_dict=True, include_key=False, maintain_order=True)
    return {c: parts.get((c,), cells.clear().drop(CITY_KEY)) for c in codes}


def with_group_names(cells: pl.DataFrame, data: Processed) -> pl.DataFrame:
    """Add group_name: the department's name for department cells, the course's name for
    course cells (when the course catalogue is present), else null. Of a batch of cities
    (:func:`per_city`), ``cells`` are keyed by :data:`CITY_KEY` and each named by its city's
    own departments and courses."""
    cities = per_city(data)

    def named(frame: pl.LazyFrame, by: str, code: str, name: str) -> pl.LazyFrame:
        own = own_code(code) if cities else pl.col(code).cast(pl.String)
        return frame.select(
            *([city_of(code).alias(CITY_KEY)] if cities else []),
            pl.lit(by).alias("_by"),
            own.alias("_code"),
            pl.col(name).alias("group_name"),
        )

    frames = [named(data.departments, "department", "department_code", "department_name")]
    if data.courses is not None:
        frames.append(named(data.courses, "course", "course_id", "course_name"))
    on = [*([CITY_KEY] if cities else []), "_by", "_code"]
    names = pl.concat(frames).unique(on).collect()
    return (
        cells.with_columns(
            _by=pl.col("group_by").str.split("|").list.first(),
            _code=pl.col("group").str.split("|").list.first(),
        )
        .join(names, on=on, how="left")
        .drop("_by", "_code")
    )


def export_frame(rich: pl.DataFrame) -> pl.DataFrame:
    """Exactly the export columns, in order."""
    return rich.select(EXPORT_COLUMNS)


__all__ = [
    "EXPORT_COLUMNS",
    "RICH_COLUMNS",
    "CataloguePlan",
    "MissingDatasetError",
    "PolarsEngine",
    "UnknownKpiError",
    "attach_targets",
    "batch_cells",
    "by_city",
    "catalogue_from_cells",
    "catalogue_from_suppressed",
    "catalogue_plan",
    "compute",
    "compute_kpi",
    "compute_with_cells",
    "department_divisions",
    "export_frame",
    "grade_cells",
    "kpi_cells",
    "kpi_function",
    "labels_for",
    "materialise_shared",
    "planned_catalogue",
    "planned_cells",
    "plans_engine",
    "resolve_as_of",
    "select_kpis",
    "suppressed_cells",
    "suppression_set",
    "with_group_names",
]
