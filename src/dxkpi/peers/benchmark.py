"""Benchmark across municipalities: share files pooled, suppression re-applied, funnel limits.

:func:`benchmark` takes the share files of many municipalities (:mod:`dxkpi.peers.share`) and
returns a :class:`Benchmark` of three frames:

``cities``
    Every municipality's shared cells (:data:`CITY_COLUMNS`), with the benchmark's own
    suppression on top of each city's.
``pooled``
    Per KPI × fiscal year × grouping cell, the pooled value for every municipality together
    (``pool_by = "all"``) and per category, staff size band and prefecture
    (:data:`POOLED_COLUMNS`): the sum of the numerators over the sum of the denominators
    (×100 for the per-100-staff KPIs; the sum for a total such as hours saved) over the
    municipalities that show the cell. ``cities`` counts them, ``cities_hidden`` those of the
    pool that hid it. A difference of two means (maturity_gap) does not pool and has no pooled
    row.
``funnel``
    For each proportion and rate KPI, each municipality's value against its denominator with
    control limits around the pooled value of every municipality, of its category and of its
    staff size band (:data:`FUNNEL_COLUMNS`), and where it lies: ``inside`` the limits,
    ``above`` or ``below`` them, at 95 % and at 99.8 % — never a rank. Limits are the normal
    approximations of Spiegelhalter (2005): for a proportion p₀ ± z·√(p₀(1−p₀)/n) (binomial),
    for a rate per 100 staff 100·(λ₀ ± z·√(λ₀/n)) with λ₀ the pooled events per person
    (Poisson); z = 1.959964 (95 %) and 3.090232 (99.8 %); n is the municipality's denominator.
    Lower limits stop at 0, upper limits of a proportion at 1.

Privacy: what a reader can subtract, and what is hidden
-------------------------------------------------------
A cell a city hid itself is not in its share file, so it is in no pool either: every pooled cell
is a sum over the municipalities that *show* that cell, and no arithmetic on the benchmark can
recover a number that never left the city. The benchmark hides more, with k (``min_cell_size``)
never below the largest k of the share files (nor below 5):

1. *Primary*: a pooled cell, or a municipality's cell, that describes 1 … k−1 people (a share
   made with a smaller k than the benchmark's may show such a cell).
2. *Complementary*, so that no hidden cell can be recovered by subtraction from the equations a
   reader can write:

   * a pool = Σ the municipalities that show the cell (subtracting the shown ones from the
     pooled value would reveal a hidden municipality's cell);
   * every municipality = Σ its categories = Σ its staff size bands = Σ its prefectures
     (subtracting the other peer groups from the whole set would reveal a hidden peer group);
   * within a municipality and within a pool, the city row = Σ job levels = Σ talent types, per
     phase or skill area (as in a city's own suppression, :mod:`dxkpi.kpi.suppression`).

   While an equation has exactly one hidden cell with people in it, its smallest shown part
   (else its total) is hidden too, to a fixed point (:func:`dxkpi.kpi.suppression.
   complementary`). A cell the city hid itself counts as unknown in these equations.

Hidden cells lose numerator, denominator, value and head count; a funnel needs its pooled value
shown (the limits would reveal it) and the municipality's cell shown.

References
----------
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. *Statistics
in Medicine*, 24(8), 1185–1202.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dxkpi.catalogue.kpis import REGISTRY, ValueFrom
from dxkpi.core.errors import DxkpiError, Where
from dxkpi.kpi.pooled import value_from_sums
from dxkpi.kpi.suppression import complementary, equations, split_labels
from dxkpi.peers.share import SUFFIX, Share, read_share
from dxkpi.project.config import MIN_CELL_SIZE_FLOOR

__all__ = [
    "CITY_COLUMNS",
    "FUNNEL_COLUMNS",
    "FUNNEL_REFERENCES",
    "FUNNEL_VALUE_FROM",
    "POOLED_COLUMNS",
    "POOL_BY",
    "Z_95",
    "Z_998",
    "Benchmark",
    "BenchmarkError",
    "benchmark",
    "city_cells",
    "funnel_curve",
    "funnel_frame",
    "funnel_limits",
    "pool_cells",
    "read_shares",
    "suppress_benchmark",
]

#: Two-sided normal quantiles of the funnel's limits: 95 % and 99.8 %.
Z_95 = 1.959964
Z_998 = 3.090232
#: What pooled cells pool over: every municipality, or those of one category, staff size band or
#: prefecture.
POOL_BY: tuple[str, ...] = ("all", "category", "size_band", "prefecture")
#: The pools a municipality's position is given against (its peer groups and the whole set).
FUNNEL_REFERENCES: tuple[str, ...] = ("all", "category", "size_band")
#: KPIs whose values have a count model for funnel limits (binomial, Poisson).
FUNNEL_VALUE_FROM: tuple[str, ...] = ("proportion", "rate")

_CELL = ("kpi", "fiscal_year", "group_by", "group")
_NUMBERS = ("numerator", "denominator", "value", "n_people")
_MEMBER = ("city", "category", "size_band", "prefecture")
#: What is said of a cell besides its numbers: hidden and why, its unit and maturity.
_STATE = (
    "suppressed",
    "suppression",
    "reason",
    "unit",
    "value_from",
    "maturity_days",
    "provisional",
)

CITY_COLUMNS: tuple[str, ...] = (
    *_MEMBER,
    *_CELL,
    *_NUMBERS,
    *_STATE,
)
POOLED_COLUMNS: tuple[str, ...] = (
    "pool_by",
    "pool",
    *_CELL,
    *_NUMBERS,
    "cities",
    "cities_hidden",
    *_STATE,
)
FUNNEL_COLUMNS: tuple[str, ...] = (
    *_MEMBER,
    "reference",
    "pool",
    *_CELL,
    "value",
    "denominator",
    "pooled_value",
    "pool_cities",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "position_95",
    "position_998",
    "unit",
    "value_from",
)


class BenchmarkError(DxkpiError):
    """The share files cannot be benchmarked together (none found, one municipality twice)."""


@dataclass(frozen=True)
class Benchmark:
    """Pooled and per-municipality cells, funnel data, the k applied and what to keep in mind.

    ``warnings`` are (Japanese, English) sentences: share files made with other KPI definitions,
    skill matrices or waiting windows pool numbers that do not quite mean the same.
    """

    cities: pl.DataFrame
    pooled: pl.DataFrame
    funnel: pl.DataFrame
    min_cell_size: int
    sources: tuple[str, ...]
    warnings: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------------------------- reading


def read_shares(folder: str | Path) -> list[Share]:
    """Every ``*.dxshare`` file of ``folder``, read and checked (:func:`read_share`); a
    municipality's fiscal year may come from one file only."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BenchmarkError(
            "共有ファイルのフォルダがありません",
            "the folder of share files does not exist",
            where=Where(file=str(folder)),
            hint_ja="各団体の .dxshare ファイルを置いたフォルダを --shares で指定してください。",
            hint_en="give the folder holding the municipalities' .dxshare files with --shares.",
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == SUFFIX)
    if not files:
        raise BenchmarkError(
            f"共有ファイル（*{SUFFIX}）が1つもありません",
            f"no share file (*{SUFFIX}) in the folder",
            where=Where(file=str(folder)),
            hint_ja="各団体が dxkpi share で作ったファイルをこのフォルダに置いてください。",
            hint_en="put the files the municipalities made with dxkpi share into this folder.",
        )
    shares = [read_share(p) for p in files]
    seen: dict[tuple[str, int], str] = {}
    for s in shares:
        key = (s.municipality.code, s.fiscal_year)
        if key in seen:
            raise BenchmarkError(
                f"団体 {key[0]} の {key[1]}年度 が2つのファイルにあります（{seen[key]} と "
                f"{s.source}）",
                f"municipality {key[0]} FY{key[1]} is in two files ({seen[key]} and {s.source})",
                where=Where(file=str(folder)),
                hint_ja="古い方のファイルをフォルダから外してください。",
                hint_en="move the older file out of the folder.",
            )
        seen[key] = s.source
    return shares


# ---------------------------------------------------------------------------------- pooling


def city_cells(shares: Sequence[Share]) -> pl.DataFrame:
    """Every share's cells with its municipality's code, category, size band and prefecture."""
    frames = [
        s.table.with_columns(
            city=pl.lit(s.municipality.code),
            category=pl.lit(s.municipality.category),
            size_band=pl.lit(s.municipality.size_band),
            prefecture=pl.lit(s.municipality.prefecture),
        )
        for s in shares
    ]
    return pl.concat(frames, how="vertical").with_columns(
        suppression=pl.when(pl.col("suppressed")).then(pl.lit("own")).otherwise(None)
    )


def _pool_key(pool_by: str) -> pl.Expr:
    return pl.lit("all") if pool_by == "all" else pl.col(pool_by)


def pool_cells(cities: pl.DataFrame) -> pl.DataFrame:
    """Pooled cells before the benchmark's suppression: per pool (:data:`POOL_BY`) and cell, the
    sums over the municipalities showing it (``cities``) and the count of those hiding it
    (``cities_hidden``). Differences of two means are left out (they do not pool)."""
    poolable = cities.filter(pl.col("value_from") != "difference")
    shown = ~pl.col("suppressed")
    has = pl.col("n_people").is_not_null()
    parts = []
    for pool_by in POOL_BY:
        parts.append(
            poolable.group_by(_pool_key(pool_by).alias("pool"), *_CELL)
            .agg(
                numerator=pl.col("numerator").filter(shown).sum(),
                denominator=pl.when(pl.col("denominator").filter(shown).is_not_null().any()).then(
                    pl.col("denominator").filter(shown).sum()
                ),
                n_people=pl.when((has & shown).any()).then(pl.col("n_people").filter(shown).sum()),
                cities=shown.sum().cast(pl.Int64),
                cities_hidden=pl.col("suppressed").sum().cast(pl.Int64),
                unit=pl.col("unit").first(),
                value_from=pl.col("value_from").first(),
                maturity_days=pl.when(pl.col("maturity_days").n_unique() == 1).then(
                    pl.col("maturity_days").first()
                ),
                provisional=pl.col("provisional").any(),
            )
            .with_columns(pool_by=pl.lit(pool_by))
        )
    pooled = pl.concat(parts, how="vertical")
    empty = pl.col("cities") == 0
    return pooled.with_columns(
        numerator=pl.when(empty).then(None).otherwise(pl.col("numerator")),
        value=pl.when(empty)
        .then(None)
        .otherwise(
            value_from_sums(pl.col("numerator"), pl.col("denominator"), pl.col("value_from"))
        ),
        reason=pl.when(empty)
        .then(pl.lit("no_city_shows"))
        .when((pl.col("value_from") != "total") & (pl.col("denominator") == 0))
        .then(pl.lit("denominator_zero")),
        suppressed=pl.lit(False),
        suppression=pl.lit(None, pl.String),
    )


# ---------------------------------------------------------------------------------- suppression


def _people(kpi: pl.Expr) -> pl.Expr:
    return kpi.replace_strict(
        {k: s.suppressed for k, s in REGISTRY.items()}, default=False, return_dtype=pl.Boolean
    )


def _within_unit_equations(units: pl.DataFrame) -> pl.DataFrame:
    """city row = Σ job levels = Σ talent types, inside each municipality and each pool."""
    second = {k: s.second_dimension for k, s in REGISTRY.items()}
    keyed = units.select(
        "_row",
        "fiscal_year",
        "group_by",
        "group",
        kpi=pl.concat_str("_unit", "kpi", separator="\x1e"),
    )
    no_departments = pl.DataFrame(schema={"department_code": pl.String, "division": pl.String})
    return equations(split_labels(keyed, second), no_departments)


def _across_unit_equations(units: pl.DataFrame) -> pl.DataFrame:
    """pool = Σ its municipalities showing the cell; all = Σ categories = Σ size bands =
    Σ prefectures."""
    cell = pl.concat_str(
        "kpi", pl.col("fiscal_year").cast(pl.String), "group_by", "group", separator="\x1f"
    )

    def named(prefix: str, key: pl.Expr) -> pl.Expr:
        return pl.concat_str(pl.lit(prefix), key, pl.lit("\x1f"), cell)

    pools = units.filter(pl.col("pool_by").is_not_null())
    whole = pools.filter(pl.col("pool_by") == "all")
    members = units.filter(
        pl.col("pool_by").is_null() & ~pl.col("_own") & (pl.col("value_from") != "difference")
    )
    parts = []
    for pool_by in POOL_BY:
        mine = pools.filter(pl.col("pool_by") == pool_by)
        name = f"pool\x1f{pool_by}\x1f"
        parts.append(mine.select("_row", _eq=named(name, pl.col("pool")), _parent=pl.lit(True)))
        parts.append(
            members.select("_row", _eq=named(name, _pool_key(pool_by)), _parent=pl.lit(False))
        )
        if pool_by != "all":
            split = f"split\x1f{pool_by}\x1f"
            parts.append(mine.select("_row", _eq=named(split, pl.lit("")), _parent=pl.lit(False)))
            parts.append(whole.select("_row", _eq=named(split, pl.lit("")), _parent=pl.lit(True)))
    return pl.concat(parts, how="vertical").select("_eq", "_row", "_parent")


def suppress_benchmark(
    cities: pl.DataFrame, pooled: pl.DataFrame, k: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``cities`` and ``pooled`` with the benchmark's suppression (module docstring): primary
    below ``k`` people, then complementary over every equation a reader can write; hidden cells
    lose their numbers and get ``suppression`` primary / complementary (``own``: the city hid
    it in its share)."""
    city_units = cities.with_columns(
        _unit=pl.concat_str(pl.lit("city\x1f"), "city"),
        pool_by=pl.lit(None, pl.String),
        pool=pl.lit(None, pl.String),
    )
    pool_units = pooled.with_columns(
        _unit=pl.concat_str(pl.lit("pool\x1f"), "pool_by", pl.lit("\x1f"), "pool"),
        **{c: pl.lit(None, pl.String) for c in _MEMBER},
    )
    columns = ["_unit", *_MEMBER, "pool_by", "pool", *_CELL, *_NUMBERS, "suppressed", "value_from"]
    units = pl.concat(
        [city_units.select(columns), pool_units.select(columns)], how="vertical"
    ).with_row_index("_row")
    people = _people(pl.col("kpi"))
    things = pl.col("denominator").fill_null(pl.col("numerator").is_not_null().cast(pl.Float64))
    n = pl.when(people).then(pl.col("n_people").cast(pl.Float64)).otherwise(things).fill_null(0)
    own = pl.col("suppressed")
    units = units.with_columns(
        _own=own,
        _n=pl.when(own).then(pl.lit(1.0)).otherwise(n),  # hidden by the city: unknown, not empty
        _den=pl.col("denominator"),
        _key=pl.col("group"),
        _suppressed=own | (people & (n > 0) & (n < k)),
    )
    primary = pl.col("_suppressed") & ~pl.col("_own")
    eqs = pl.concat([_within_unit_equations(units), _across_unit_equations(units)], how="vertical")
    marks = units.select(
        _hidden=complementary(units, eqs),
        _label=pl.when("_own")
        .then(pl.lit("own"))
        .when(primary)
        .then(pl.lit("primary"))
        .otherwise(pl.lit("complementary")),
    )
    n_cities = cities.height

    def apply(frame: pl.DataFrame, offset: int) -> pl.DataFrame:
        m = marks.slice(offset, frame.height)
        hide = m.get_column("_hidden")
        return frame.with_columns(
            suppressed=hide,
            suppression=pl.when(hide).then(m.get_column("_label")),
            reason=pl.when(hide).then(pl.lit("suppressed")).otherwise(pl.col("reason")),
            **{c: pl.when(hide).then(None).otherwise(pl.col(c)) for c in _NUMBERS},
        )

    return apply(cities, 0), apply(pooled, n_cities)


# ---------------------------------------------------------------------------------- funnel


def funnel_limits(
    p0: pl.Expr, n: pl.Expr, z: float, value_from: ValueFrom | pl.Expr
) -> tuple[pl.Expr, pl.Expr]:
    """Lower and upper control limits around a pooled value ``p0`` for a unit of denominator
    ``n`` (Spiegelhalter 2005, normal approximations): a proportion p₀ ± z·√(p₀(1−p₀)/n),
    clipped to [0, 1]; a rate per 100 staff 100·(λ₀ ± z·√(λ₀/n)) with λ₀ = p₀/100, lower
    clipped at 0.

    >>> frame = pl.DataFrame({"p": [0.3], "n": [100.0]})
    >>> lo, hi = funnel_limits(pl.col("p"), pl.col("n"), Z_95, "proportion")
    >>> [round(x, 6) for x in frame.select(lo.alias("lower"), hi.alias("upper")).row(0)]
    [0.210183, 0.389817]
    """
    kind = pl.lit(value_from) if isinstance(value_from, str) else value_from
    lam = p0 / 100
    half = (
        pl.when(kind == "rate")
        .then(100 * z * (lam / n).sqrt())
        .otherwise(z * (p0 * (1 - p0) / n).sqrt())
    )
    top = pl.when(kind == "rate").then(p0 + half).otherwise(pl.min_horizontal(p0 + half, 1.0))
    return pl.max_horizontal(p0 - half, 0.0).alias("lower"), top.alias("upper")


def _position(value: pl.Expr, lower: pl.Expr, upper: pl.Expr) -> pl.Expr:
    return (
        pl.when(value > upper)
        .then(pl.lit("above"))
        .when(value < lower)
        .then(pl.lit("below"))
        .otherwise(pl.lit("inside"))
    )


def funnel_frame(cities: pl.DataFrame, pooled: pl.DataFrame) -> pl.DataFrame:
    """Each shown municipality cell of a proportion or rate KPI against the shown pooled value
    of every reference pool (:data:`FUNNEL_REFERENCES`) it belongs to, with its limits and
    position (:data:`FUNNEL_COLUMNS`)."""
    own = cities.filter(
        pl.col("value_from").is_in(list(FUNNEL_VALUE_FROM))
        & ~pl.col("suppressed")
        & pl.col("value").is_not_null()
        & (pl.col("denominator") > 0)
    )
    refs = pooled.filter(~pl.col("suppressed") & pl.col("value").is_not_null()).select(
        pl.col("pool_by").alias("reference"),
        "pool",
        *_CELL,
        pl.col("value").alias("pooled_value"),
        pl.col("cities").alias("pool_cities"),
    )
    parts = [
        own.with_columns(reference=pl.lit(ref), pool=_pool_key(ref)).join(
            refs, on=["reference", "pool", *_CELL], how="inner"
        )
        for ref in FUNNEL_REFERENCES
    ]
    frame = pl.concat(parts, how="vertical")
    p0, n, kind = pl.col("pooled_value"), pl.col("denominator"), pl.col("value_from")
    lo95, hi95 = funnel_limits(p0, n, Z_95, kind)
    lo998, hi998 = funnel_limits(p0, n, Z_998, kind)
    frame = frame.with_columns(
        lower_95=lo95, upper_95=hi95, lower_998=lo998, upper_998=hi998
    ).with_columns(
        position_95=_position(pl.col("value"), pl.col("lower_95"), pl.col("upper_95")),
        position_998=_position(pl.col("value"), pl.col("lower_998"), pl.col("upper_998")),
    )
    return _sorted(frame, ["reference", "pool", "city"]).select(FUNNEL_COLUMNS)


def funnel_curve(
    pooled_value: float, value_from: ValueFrom, n_min: float, n_max: float, points: int = 80
) -> pl.DataFrame:
    """The funnel's limit lines for drawing: ``n`` on a geometric grid from ``n_min`` to
    ``n_max`` and the 95 % and 99.8 % limits around ``pooled_value`` at each.

    >>> curve = funnel_curve(0.5, "proportion", 25, 400, points=3)
    >>> curve.get_column("n").to_list(), [round(x, 4) for x in curve.get_column("upper_95")]
    ([25.0, 100.0, 400.0], [0.696, 0.598, 0.549])
    """
    low, high = max(n_min, 1.0), max(n_max, n_min, 1.0)
    grid = [low * (high / low) ** (i / max(points - 1, 1)) for i in range(points)]
    frame = pl.DataFrame({"n": grid, "p0": [pooled_value] * points})
    lo95, hi95 = funnel_limits(pl.col("p0"), pl.col("n"), Z_95, value_from)
    lo998, hi998 = funnel_limits(pl.col("p0"), pl.col("n"), Z_998, value_from)
    return frame.select(
        pl.col("n").round(6),
        lower_95=lo95,
        upper_95=hi95,
        lower_998=lo998,
        upper_998=hi998,
    )


# ---------------------------------------------------------------------------------- together


def _sorted(frame: pl.DataFrame, after: Sequence[str]) -> pl.DataFrame:
    order = {k: i for i, k in enumerate(REGISTRY)}
    return (
        frame.with_columns(_ko=pl.col("kpi").replace_strict(order, return_dtype=pl.Int32))
        .sort("_ko", "fiscal_year", "group_by", "group", *after)
        .drop("_ko")
    )


def _warnings(shares: Sequence[Share], cities: pl.DataFrame) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    definitions = {s.versions.get("kpi_definitions_sha256") for s in shares}
    if len(definitions) > 1:
        out.append(
            (
                "指標の定義が違う版の dxkpi で作られた共有ファイルが混ざっています。"
                "同じ版で作り直すと比べやすくなります。",
                "some share files were made with other KPI definitions (another dxkpi version); "
                "files made with one version compare best.",
            )
        )
    matrices = {
        repr(sorted((k, sorted(v.items())) for k, v in s.skill_matrix.items())) for s in shares
    }
    if len(matrices) > 1:
        out.append(
            (
                "職層 × スキルの必要レベルが団体ごとに違います: スキル充足率とスキルギャップは"
                "それぞれの基準で測られています。",
                "the municipalities' skill matrices differ: skill attainment and skill gap are "
                "measured against each one's own required levels.",
            )
        )
    windows = (
        cities.filter(pl.col("maturity_days").is_not_null())
        .group_by("kpi", "fiscal_year")
        .agg(pl.col("maturity_days").n_unique().alias("w"))
        .filter(pl.col("w") > 1)
    )
    if windows.height:
        kpis = ", ".join(sorted(set(windows.get_column("kpi"))))
        out.append(
            (
                f"判定・実装を待つ日数 W が団体ごとに違います（{kpis}）: 合算値は異なる W の"
                "混合です。",
                f"the waiting window W differs between municipalities ({kpis}): pooled values "
                "mix windows.",
            )
        )
    return tuple(out)


def benchmark(shares: Sequence[Share], min_cell_size: int | None = None) -> Benchmark:
    """Pool the share files, re-apply suppression, and compute funnel data (module docstring).

    ``min_cell_size``: the benchmark's k; it is raised to the largest k of the share files (a
    municipality's cells are never shown with less protection than it asked for), and never
    below 5.
    """
    if not shares:
        raise BenchmarkError("共有ファイルがありません", "no share files to benchmark")
    k = max(
        [min_cell_size or MIN_CELL_SIZE_FLOOR, MIN_CELL_SIZE_FLOOR]
        + [s.min_cell_size for s in shares]
    )
    raw = city_cells(shares)
    cities, pooled = suppress_benchmark(raw, pool_cells(raw), k)
    cities = _sorted(cities, ["city"]).select(CITY_COLUMNS)
    pool_order = {p: i for i, p in enumerate(POOL_BY)}
    pooled = _sorted(
        pooled.with_columns(
            _po=pl.col("pool_by").replace_strict(pool_order, return_dtype=pl.Int32)
        ),
        ["_po", "pool"],
    ).select(POOLED_COLUMNS)
    return Benchmark(
        cities=cities,
        pooled=pooled,
        funnel=funnel_frame(cities, pooled),
        min_cell_size=k,
        sources=tuple(s.source for s in shares),
        warnings=_warnings(shares, raw),
    )
