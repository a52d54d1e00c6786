"""Several small cities' KPI catalogues from one engine run (a consolidation's batch).

A KPI catalogue runs hundreds of small polars plans (a roll-up, a fill and a finish per KPI and
grouping). For a town of a few hundred staff their fixed cost is most of its catalogue: about
0.2 CPU-s a body whatever its size, against about 70 µs a staff member. Cities whose
catalogues compute the same KPIs over frames of the same columns run as one batch instead:

- :func:`batch_of` concatenates their frames, each city's identifiers that the KPIs join on
  (:data:`dxkpi.kpi._frames.PREFIXED`) prefixed with its municipality code (``221309:D03``),
  so no join can pair two cities' rows; :attr:`Processed.cities` lists the codes;
- the KPI functions key every cell by its city (:mod:`dxkpi.kpi._frames`: each fact's city is
  the prefix of its department_code) and give the group the value the city alone gives it;
- each city keeps its own as-of date and maturity windows; the cities' cells are suppressed
  together, no equation or link crossing cities (``part``, :mod:`dxkpi.kpi.suppression`), then
  graded and named together, each city's by its own as-of date, windows, departments and
  courses (:func:`dxkpi.kpi.engine.catalogue_from_suppressed`).

So each city's catalogue, cells and partial sums are those of its own run (tested on three
sample cities in ``tests/ingest/test_consolidate.py``). :func:`city_catalogues` and
:func:`city_cells` group cities by what their catalogues compute (:func:`batch_key`); a city
alone in its group runs alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import polars as pl

from dxkpi.catalogue.kpis import GROUPINGS
from dxkpi.ingest.processed import DATASETS, Processed
from dxkpi.kpi._frames import CITY_KEY, CODE_WIDTH, PREFIXED
from dxkpi.kpi.engine import (
    CataloguePlan,
    PolarsEngine,
    batch_cells,
    by_city,
    catalogue_from_suppressed,
    catalogue_plan,
    compute_with_cells,
    department_divisions,
    planned_catalogue,
    planned_cells,
    suppressed_cells,
)
from dxkpi.project.config import Config

__all__ = ["batch_key", "batch_of", "city_catalogues", "city_cells"]


def batch_of(parts: Mapping[str, Processed]) -> Processed:
    """One :class:`Processed` of several cities (code → its data): each dataset the cities'
    frames concatenated in the given order, with :data:`dxkpi.kpi._frames.PREFIXED` columns
    prefixed ``<code>:``. The cities must hold the same datasets with the same columns
    (:func:`batch_key`); a code must have :data:`dxkpi.kpi._frames.CODE_WIDTH` characters.
    """
    bad = [c for c in parts if len(c) != CODE_WIDTH]
    if bad:
        raise ValueError(f"municipality codes of {CODE_WIDTH} characters expected: {bad}")
    frames: dict[str, pl.LazyFrame | None] = {}
    for name in DATASETS:
        got = [getattr(p, name) for p in parts.values()]
        present = [f for f in got if f is not None]
        if not present:
            frames[name] = None
            continue
        if len(present) != len(got):
            raise ValueError(f"dataset {name} is present in some cities of the batch only")
        frames[name] = pl.concat(
            [_prefixed(f, code) for code, f in zip(parts, got, strict=True)], how="vertical"
        )
    batch = Processed.from_frames(source="<batch of cities>", **frames)
    return dataclasses.replace(batch, cities=tuple(parts))


def _prefixed(frame: pl.LazyFrame, code: str) -> pl.LazyFrame:
    names = frame.collect_schema().names()
    return frame.with_columns(
        pl.concat_str(pl.lit(f"{code}:"), pl.col(c).cast(pl.String)).alias(c)
        for c in PREFIXED
        if c in names
    )


def batch_key(data: Processed, plan: CataloguePlan) -> tuple[object, ...]:
    """What cities computed in one batch must share: the KPIs, their suppression partners and
    fiscal years (:func:`dxkpi.kpi.engine.catalogue_plan`), the waiting KPIs (each city keeps
    its own window) and every dataset's columns and types."""
    schemas = tuple(
        (name, tuple(frame.collect_schema().items()))
        for name in DATASETS
        if (frame := getattr(data, name)) is not None
    )
    return (tuple(plan.ids), tuple(plan.decided), tuple(plan.years), tuple(plan.windows), schemas)


def city_catalogues(
    datas: Mapping[str, Processed],
    config: Config,
    fiscal_years: Sequence[int],
    *,
    by: Sequence[str] = tuple(GROUPINGS),
    engine: PolarsEngine = "auto",
) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Each city's :func:`dxkpi.kpi.engine.compute_with_cells` (its rich catalogue over ``by``
    and its unsuppressed cells), cities that share a :func:`batch_key` computed in one engine
    run; by code, in the given order."""
    out: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    plans: dict[str, CataloguePlan] = {}
    for code, data in datas.items():
        plan = catalogue_plan(data, config, fiscal_years=fiscal_years)
        if plan is None:  # nothing to compute: the empty frames of compute_with_cells
            out[code] = compute_with_cells(data, config, fiscal_years=fiscal_years, by=by)
        else:
            plans[code] = plan
    for codes in _alike(datas, plans):
        if len(codes) == 1:
            out[codes[0]] = planned_catalogue(datas[codes[0]], config, plans[codes[0]], by, engine)
            continue
        own = {c: plans[c] for c in codes}
        together = batch_of({c: datas[c] for c in codes})
        cells = batch_cells(together, config, own, engine)
        decided = own[codes[0]].decided
        departments = department_divisions(together)
        hidden = suppressed_cells(cells, departments, config, decided, CITY_KEY)
        rich = by_city(catalogue_from_suppressed(together, config, own, by, hidden), codes)
        for code, unsuppressed in by_city(cells, codes).items():
            out[code] = (rich[code], unsuppressed)
    return {c: out[c] for c in datas}


def city_cells(
    datas: Mapping[str, Processed],
    config: Config,
    plans: Mapping[str, CataloguePlan],
    *,
    skip: Sequence[str] = (),
    engine: PolarsEngine = "auto",
) -> dict[str, pl.DataFrame]:
    """Each city's unsuppressed cells (:func:`dxkpi.kpi.engine.kpi_cells` of its plan's
    ``decided`` KPIs, but the groupings ``skip``), cities that share a :func:`batch_key` in one
    engine run; by code, in the order of ``plans``."""
    out: dict[str, pl.DataFrame] = {}
    for codes in _alike(datas, plans):
        if len(codes) == 1:
            only = codes[0]
            out[only] = planned_cells(datas[only], config, plans[only], skip=skip, engine=engine)
            continue
        own = {c: plans[c] for c in codes}
        cells = batch_cells(batch_of({c: datas[c] for c in codes}), config, own, engine, skip)
        out |= by_city(cells, codes)
    return {c: out[c] for c in plans}


def _alike(datas: Mapping[str, Processed], plans: Mapping[str, CataloguePlan]) -> list[list[str]]:
    """The cities of ``plans`` grouped by :func:`batch_key`, in the order of their first."""
    groups: dict[tuple[object, ...], list[str]] = {}
    for code, plan in plans.items():
        groups.setdefault(batch_key(datas[code], plan), []).append(code)
    return list(groups.values())
