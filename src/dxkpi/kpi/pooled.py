"""KPIs of a city-partitioned store: per city, and pooled from per-city partial sums.

A pooled cell (all municipalities of the store together) is the sum of each city's unsuppressed
numerator, denominator and head count for that KPI × fiscal year × grouping cell, its value
taken from the sums as the KPI's ``value_from`` says (sums of numerators over sums of
denominators; ×100 for a rate; the sum for a total). Differences of two means do not pool and
are left out; so are departments and divisions (each city's own organisation). The city's own
suppression is NOT applied to its partial sums — suppression applies to the pooled cells
(:func:`dxkpi.kpi.suppression.suppress` with the store's ``min_cell_size``); pooled cells carry
no confidence interval.

Each city's partial sums are independent: :func:`pooled_kpis` computes them one after another,
or as Dask tasks on ``client`` (a ``dask.distributed.Client``), and sums them in a fixed city
order, so both give the same cells.

:func:`catalogues_and_partial_sums` gives several cities their own catalogue and partial sums,
small cities together in one engine run (:mod:`dxkpi.kpi.batch`); :func:`kpi_batches` makes
such batches of a store's cities by the size of their partitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY
from dxkpi.core.batches import consecutive_batches
from dxkpi.ingest.processed import city_codes, load_partitioned, partition_bytes
from dxkpi.kpi.batch import city_catalogues, city_cells
from dxkpi.kpi.engine import CataloguePlan, PolarsEngine, select_kpis
from dxkpi.kpi.maturity import maturity_windows, resolve_as_of
from dxkpi.kpi.suppression import HEADCOUNT, STAFF, suppress
from dxkpi.project.config import Config

__all__ = [
    "KPI_BATCH_BYTES",
    "KPI_BATCH_CITIES",
    "ORGANISATION",
    "PARTIAL_COLUMNS",
    "catalogues_and_partial_sums",
    "cities_partial_sums",
    "city_catalogue_and_partial_sums",
    "city_partial_sums",
    "kpi_batches",
    "partial_sums",
    "pool",
    "pooled_kpis",
    "value_from_sums",
]

#: Groupings that belong to one city's organisation: never pooled.
ORGANISATION: tuple[str, ...] = ("division", "department")
#: The columns of one city's partial sums.
PARTIAL_COLUMNS: tuple[str, ...] = (
    "kpi",
    "fiscal_year",
    "group_by",
    "group",
    "numerator",
    "denominator",
    "n_people",
)
#: A batch of small cities computed in one engine run holds partitions of at most this many
#: bytes together (:func:`kpi_batches`); a larger city runs alone, where its own plans' fixed
#: cost is small beside its rows'.
KPI_BATCH_BYTES = 8 * 2**20
#: ... and at most this many cities.
KPI_BATCH_CITIES = 32


def value_from_sums(num: pl.Expr, den: pl.Expr, value_from: pl.Expr) -> pl.Expr:
    """A pooled cell's value from its summed numerator and denominator as ``value_from`` says:
    the sum for a total, ×100 the ratio for a rate, the ratio for a proportion or quotient
    (none when the denominator is not positive), none for a difference (it does not pool)."""
    ratio = pl.when(den > 0).then(num / den)
    return (
        pl.when(value_from == "total")
        .then(num)
        .when(value_from == "rate")
        .then(100 * ratio)
        .when(value_from.is_in(["proportion", "quotient"]))
        .then(ratio)
        .otherwise(None)
    )


def _poolable(ids: Sequence[str]) -> list[str]:
    return [k for k in ids if REGISTRY[k].value_from != "difference"]


def city_partial_sums(
    store: str | Path,
    code: str,
    config: Config,
    fiscal_years: Sequence[int],
    kpis: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One city's unsuppressed numerator, denominator and head count per poolable KPI cell
    outside departments and divisions, plus the head count (``_headcount``)."""
    return cities_partial_sums(store, [code], config, fiscal_years, kpis)[0]


def cities_partial_sums(
    store: str | Path,
    codes: Sequence[str],
    config: Config,
    fiscal_years: Sequence[int],
    kpis: Sequence[str] | None = None,
) -> list[pl.DataFrame]:
    """:func:`city_partial_sums` of each of ``codes`` (in that order); cities whose sums
    compute the same KPIs over the same columns in one engine run
    (:func:`dxkpi.kpi.batch.city_cells`): give it a batch of small cities (:func:`kpi_batches`).
    """
    datas = {c: load_partitioned(store, c) for c in codes}
    plans = {}
    for code, data in datas.items():
        ids = _poolable(select_kpis(data, kpis)[0])
        when = resolve_as_of(data, config, None)
        plans[code] = CataloguePlan(
            ids, ids, list(fiscal_years), when, maturity_windows(data, config, when)
        )
    cells = city_cells(datas, config, plans, skip=ORGANISATION)
    return [partial_sums(cells[c]) for c in codes]


def partial_sums(cells: pl.DataFrame) -> pl.DataFrame:
    """The poolable part of unsuppressed KPI cells (:data:`PARTIAL_COLUMNS`): every KPI but
    differences of two means, the head count, outside departments and divisions."""
    first = pl.col("group_by").str.split("|").list.first()
    poolable = [*_poolable(list(REGISTRY)), HEADCOUNT]
    return cells.filter(~first.is_in(list(ORGANISATION)), pl.col("kpi").is_in(poolable)).select(
        pl.col("kpi").cast(pl.String),
        pl.col("fiscal_year").cast(pl.Int32),
        pl.col("group_by").cast(pl.String),
        pl.col("group").cast(pl.String),
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
        pl.col("n_people").cast(pl.Int64),
    )


def city_catalogue_and_partial_sums(
    store: str | Path,
    code: str,
    config: Config,
    fiscal_years: Sequence[int],
    *,
    by: Sequence[str] = tuple(GROUPINGS),
    engine: PolarsEngine = "auto",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One city's own KPI catalogue (suppressed, graded; :func:`dxkpi.kpi.engine.compute` over
    ``by``) and its partial sums for the pool (:func:`city_partial_sums`), from ONE engine run
    over its partition: the partial sums are the catalogue's unsuppressed cells outside the
    city's organisation."""
    return catalogues_and_partial_sums(store, [code], config, fiscal_years, by=by, engine=engine)[0]


def catalogues_and_partial_sums(
    store: str | Path,
    codes: Sequence[str],
    config: Config,
    fiscal_years: Sequence[int],
    *,
    by: Sequence[str] = tuple(GROUPINGS),
    engine: PolarsEngine = "auto",
) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """:func:`city_catalogue_and_partial_sums` of each of ``codes`` (in that order); cities
    whose catalogues compute the same KPIs over the same columns run in one engine run
    (:func:`dxkpi.kpi.batch.city_catalogues`): give it a batch of small cities
    (:func:`kpi_batches`)."""
    datas = {c: load_partitioned(store, c) for c in codes}
    done = city_catalogues(datas, config, fiscal_years, by=by, engine=engine)
    return [(rich, partial_sums(cells)) for rich, cells in done.values()]


def kpi_batches(
    store: str | Path,
    codes: Sequence[str],
    batch_bytes: int = KPI_BATCH_BYTES,
    cities: int = KPI_BATCH_CITIES,
) -> list[list[str]]:
    """``codes`` in batches for :func:`catalogues_and_partial_sums`: consecutive cities whose
    partitions' parquet files hold at most ``batch_bytes`` together, at most ``cities`` of
    them; a larger city alone."""
    return consecutive_batches(
        codes, lambda code: partition_bytes(store, code), batch_bytes, cities
    )


def pool(partials: Sequence[pl.DataFrame], min_cell_size: int) -> pl.DataFrame:
    """Sum the cities' partial sums per cell, take the value, and suppress the pooled cells."""
    cells = pl.concat(partials, how="vertical")
    value_from = {k: s.value_from for k, s in REGISTRY.items()} | {HEADCOUNT: "total"}
    summed = (
        cells.group_by("kpi", "fiscal_year", "group_by", "group", maintain_order=True)
        .agg(
            numerator=pl.col("numerator").sum(),
            denominator=pl.when(pl.col("denominator").is_not_null().any()).then(
                pl.col("denominator").sum()
            ),
            n_people=pl.when(pl.col("n_people").is_not_null().any()).then(pl.col("n_people").sum()),
            cities=pl.len().cast(pl.Int64),
        )
        .with_columns(_vf=pl.col("kpi").replace_strict(value_from, return_dtype=pl.String))
    )
    summed = summed.with_columns(
        value=value_from_sums(pl.col("numerator"), pl.col("denominator"), pl.col("_vf")),
        ci_low=pl.lit(None, pl.Float64),
        ci_high=pl.lit(None, pl.Float64),
        reason=pl.when((pl.col("_vf") != "total") & (pl.col("denominator") == 0))
        .then(pl.lit("denominator_zero"))
        .otherwise(pl.lit(None, pl.String)),
    ).drop("_vf")
    every = {k: REGISTRY[k] for k in summed.get_column("kpi").unique() if k in REGISTRY}
    no_departments = pl.DataFrame(schema={"department_code": pl.String, "division": pl.String})
    return suppress(
        summed,
        min_cell_size,
        no_departments,
        {HEADCOUNT: None} | {k: s.second_dimension for k, s in every.items()},
        {HEADCOUNT: True} | {k: s.suppressed for k, s in every.items()},
        {HEADCOUNT: (None, STAFF)}
        | {k: (s.numerator_is, s.denominator_is) for k, s in every.items()},
    ).sort("kpi", "fiscal_year", "group_by", "group")


def pooled_kpis(
    store: str | Path,
    config: Config,
    fiscal_years: Sequence[int],
    *,
    kpis: Sequence[str] | None = None,
    client: Any = None,
) -> pl.DataFrame:
    """Pooled KPI cells of every city of ``store`` (module docstring): each batch of small cities
    (:func:`kpi_batches`) in one engine run (:func:`cities_partial_sums`), batches one after
    another or as Dask tasks on ``client``."""
    years = list(fiscal_years)
    batches = kpi_batches(store, city_codes(store))
    if client is None:
        done = [cities_partial_sums(store, b, config, years, kpis) for b in batches]
    else:
        futures = [
            client.submit(cities_partial_sums, store, b, config, years, kpis, pure=False)
            for b in batches
        ]
        done = list(client.gather(futures))
    return pool([p for d in done for p in d], config.privacy.min_cell_size)
