"""Small-cell suppression: primary (fewer than k people) and complementary (no recovery by
subtraction).

Algorithm, per KPI, fiscal year and second-dimension value (phase / maturity dimension):

1. *Primary*: a cell describing 1 … k−1 people (``n_people``) is suppressed. Cells with nobody
   behind them carry no personal information and stay shown (their counts are 0).
2. *Equations*: every additive relation a reader could subtract with — the city total = Σ
   divisions = Σ departments = Σ job levels = Σ talent types, and each division = Σ its
   departments. Numerators and denominators of every people KPI are additive over these
   partitions (a person belongs to exactly one group per year).
3. *Complementary*: while some equation has exactly one suppressed cell with people in it, also
   suppress that equation's shown child with the fewest people (ties: smaller denominator, then
   group code); if no child is left, suppress its parent. Repeat to a fixed point, so every
   equation has zero or ≥ 2 unknown cells and no single suppressed cell can be recovered.

4. *Links between KPIs*: a quantity several KPIs show cell for cell (the registry's
   ``numerator_is`` / ``denominator_is``: the group's head count ``staff`` is the denominator of
   five KPIs; ``adopted_within_w`` is adoption_rate's numerator and implementation_rate's
   denominator) is hidden in all of them once it is hidden in one: a cell of one KPI is
   suppressed (``linked``) when a cell of the same fiscal year and group showing the same
   quantity is. The head count travels as its own carrier cells (:data:`HEADCOUNT`, added by the
   engine to every run and never shown), so what is hidden does not depend on which KPIs a run
   asked for.
5. *Unit KPIs* (``people == "units"``: departments, projects, hours) have no primary
   suppression, but a department's unit cells follow its head count: where a department's staff
   cell is hidden, its unit cells are too (``linked``), and their own equations (departments →
   division → city) get complementary suppression like any other.

Steps 3–5 repeat to a fixed point. Suppression is decided over all groupings a KPI supports at
once, whatever a report shows, so runs with different ``--by`` choices cannot be combined to
recover a cell. Suppressed cells lose numerator, denominator, value, interval and head count.

Cells of several independent parts (a batch of cities, :mod:`dxkpi.kpi.batch`) are suppressed
together with ``part`` naming the column that tells them apart: every equation and link stays
within one part, and a part's rounds are those it has alone (a round hides cells of every part
at once; a part with nothing left to hide waits), so each part's cells are hidden exactly as
they would be on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from dxkpi.core.codes import text_codes

__all__ = [
    "CITY",
    "HEADCOUNT",
    "HIDDEN_COLUMNS",
    "STAFF",
    "complementary",
    "equations",
    "links",
    "split_labels",
    "suppress",
]

CITY = "city"
#: The kpi id of the head-count carrier cells (numerator = denominator = n_people = staff).
HEADCOUNT = "_headcount"
#: The quantity name of a group's head count (the registry's ``denominator_is="staff"``).
STAFF = "staff"
HIDDEN_COLUMNS = ("numerator", "denominator", "value", "ci_low", "ci_high", "n_people")


def split_labels(frame: pl.DataFrame, second_dims: Mapping[str, str | None]) -> pl.DataFrame:
    """Add _grouping, _key, _dim: a cell's base grouping, its group key and second-dim value."""
    dims = {d for d in second_dims.values() if d}
    gb = pl.col("group_by")
    two = gb.str.contains("|", literal=True)
    city_dim = gb.is_in(list(dims)) if dims else pl.lit(False)
    return frame.with_columns(
        _grouping=pl.when(two)
        .then(gb.str.split("|").list.first())
        .when(city_dim)
        .then(pl.lit(CITY))
        .otherwise(gb),
        _key=pl.when(two)
        .then(pl.col("group").str.split("|").list.first())
        .when(city_dim)
        .then(pl.lit(CITY))
        .otherwise(pl.col("group")),
        _dim=pl.when(two)
        .then(pl.col("group").str.split("|").list.last())
        .when(city_dim)
        .then(pl.col("group"))
        .otherwise(pl.lit("")),
    )


def equations(
    cells: pl.DataFrame, department_division: pl.DataFrame, part: str | None = None
) -> pl.DataFrame:
    """Membership of cells (by ``_row``) in additive equations: (_eq, _row, _parent bool);
    ``part``: a column of ``cells`` and ``department_division`` no equation crosses."""
    slice_keys = ["kpi", "fiscal_year", "_dim", *([part] if part else [])]
    city = cells.filter(pl.col("_grouping") == CITY).select(*slice_keys, "_row")
    children = cells.filter(pl.col("_grouping") != CITY).select(
        *slice_keys, "_row", "_grouping", "_key"
    )
    city_children = children.with_columns(_eq=pl.lit("city>") + pl.col("_grouping"))
    city_parents = (
        city_children.select(*slice_keys, "_eq").unique().join(city, on=slice_keys, how="inner")
    )
    depts = children.filter(pl.col("_grouping") == "department").join(
        department_division.rename({"department_code": "_key", "division": "_division"}),
        on=["_key", *([part] if part else [])],
        how="inner",
    )
    div_children = depts.with_columns(_eq=pl.lit("division:") + pl.col("_division"))
    divisions = children.filter(pl.col("_grouping") == "division").select(
        *slice_keys, "_row", pl.col("_key").alias("_division")
    )
    div_parents = (
        div_children.select(*slice_keys, "_eq", "_division")
        .unique()
        .join(divisions, on=[*slice_keys, "_division"], how="inner")
    )
    parts = [
        city_children.select(*slice_keys, "_eq", "_row", _parent=pl.lit(False)),
        city_parents.select(*slice_keys, "_eq", "_row", _parent=pl.lit(True)),
        div_children.select(*slice_keys, "_eq", "_row", _parent=pl.lit(False)),
        div_parents.select(*slice_keys, "_eq", "_row", _parent=pl.lit(True)),
    ]
    out = pl.concat(parts, how="vertical")
    return out.select(
        pl.concat_str(
            pl.col("kpi"),
            pl.col("fiscal_year").cast(pl.String),
            pl.col("_dim"),
            pl.col("_eq"),
            *([pl.col(part)] if part else []),
            separator="\x1f",
        ).alias("_eq"),
        "_row",
        "_parent",
    )


def _equation_cells(eqs: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """``eqs`` with each member cell's fixed columns (``_key``, ``_n``, ``_den``) and its place
    in ``state`` (``_at``): joined once, so a round only looks up what it changes (whether the
    cell is hidden) by place (:func:`_with_hidden`) instead of joining the state again. An
    equation named by text is numbered (:func:`dxkpi.core.codes.text_codes`)."""
    fixed = state.select("_row", "_key", "_n", "_den").with_row_index("_at")
    cells = eqs.join(fixed, on="_row", how="inner")
    if cells.schema["_eq"] != pl.String:
        return cells
    # each equation numbered once: every round groups and joins by the number, not the text
    return cells.with_columns(text_codes(cells.get_column("_eq")))


def _with_hidden(cells: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """:func:`_equation_cells` with each cell's ``_suppressed`` of ``state`` now."""
    return cells.with_columns(state.get_column("_suppressed").gather(cells.get_column("_at")))


def _complement_round(members: pl.DataFrame) -> pl.Series:
    """Rows to suppress additionally in one round (may be empty); ``members``: the equations'
    cells with their state (:func:`_with_hidden`)."""
    unknown = pl.col("_suppressed") & (pl.col("_n") > 0)
    exposed = (
        members.group_by("_eq").agg(unknown.sum().alias("_unknown")).filter(pl.col("_unknown") == 1)
    )
    if exposed.is_empty():
        return pl.Series("_row", [], dtype=pl.UInt32)
    cand = members.join(exposed.select("_eq"), on="_eq", how="inner").filter(
        ~pl.col("_suppressed") & (pl.col("_n") > 0)
    )
    child = (
        cand.filter(~pl.col("_parent"))
        .sort("_n", "_den", "_key", nulls_last=True)
        .group_by("_eq", maintain_order=True)
        .first()
    )
    parent = cand.filter(pl.col("_parent")).join(child.select("_eq"), on="_eq", how="anti")
    return pl.concat([child.get_column("_row"), parent.get_column("_row")]).unique()


def complementary(state: pl.DataFrame, eqs: pl.DataFrame) -> pl.Series:
    """Step 3 alone, over any additive equations: the cells hidden once no equation has exactly
    one hidden cell with something in it (a fixed point), in ``_row`` order.

    ``state`` has one row per cell: ``_row`` (UInt32, 0 … n−1), ``_key`` (text: ties), ``_n``
    (people or units behind the cell), ``_den`` (its denominator: ties) and ``_suppressed``
    (hidden already); ``eqs`` says which cells make up which equation: ``_eq``, ``_row`` and
    ``_parent`` (the cell is the equation's total). Other modules that publish sums of cells
    (the benchmark across municipalities) state their own equations and hide with this.

    >>> state = pl.DataFrame(
    ...     {"_row": [0, 1, 2, 3], "_key": ["all", "a", "b", "c"], "_n": [40, 4, 16, 20],
    ...      "_den": [40.0, 4.0, 16.0, 20.0], "_suppressed": [False, True, False, False]},
    ...     schema_overrides={"_row": pl.UInt32},
    ... )
    >>> eqs = pl.DataFrame({"_eq": ["e"] * 4, "_row": [0, 1, 2, 3],
    ...                     "_parent": [True, False, False, False]},
    ...                    schema_overrides={"_row": pl.UInt32})
    >>> complementary(state, eqs).to_list()  # b, the smallest shown part, hides too
    [False, True, True, False]
    """
    state = state.select("_row", "_key", "_n", "_den", "_suppressed")
    return _fixed_point(state, eqs, None).get_column("_suppressed")


def _fixed_point(
    state: pl.DataFrame, eqs: pl.DataFrame, linked: pl.DataFrame | None
) -> pl.DataFrame:
    """``state`` (``_row``, ``_key``, ``_n``, ``_den``, ``_suppressed``) once no equation of
    ``eqs`` exposes a hidden cell and (with ``linked``, :func:`links`) no quantity hidden in one
    cell shows in another, in ``_row`` order, with ``_why``: primary (hidden already),
    complementary or linked. Complementary cells are hidden first; linked ones when no equation
    is exposed. Every round hides at least one more cell, so this ends within state.height
    rounds."""
    state = state.with_columns(
        _why=pl.when("_suppressed").then(pl.lit("primary")).otherwise(pl.lit(None, pl.String))
    )
    cells = _equation_cells(eqs, state)
    while True:
        why, extra = "complementary", _complement_round(_with_hidden(cells, state))
        if extra.is_empty() and linked is not None:
            why, extra = "linked", _link_round(state, linked)
        if extra.is_empty():
            return state.sort("_row")
        hit = pl.col("_row").is_in(extra.implode())
        state = state.with_columns(
            _suppressed=pl.col("_suppressed") | hit,
            _why=pl.when(hit).then(pl.lit(why)).otherwise("_why"),
        )


def links(
    base: pl.DataFrame,
    quantities: Mapping[str, tuple[str | None, str | None]],
    part: str | None = None,
) -> pl.DataFrame:
    """Which cells show the same number: (_link, _row, _leads).

    ``quantities``: kpi → (numerator_is, denominator_is). A cell shows quantity q of its fiscal
    year and group when its KPI's numerator or denominator is q (``_leads``: hiding it hides the
    others). A unit KPI's department cell follows its department's head count (``_leads`` false:
    hiding the unit cell hides nothing else). ``part``: a column of ``base`` no link crosses.
    """
    shown = pl.DataFrame(
        [
            (kpi, q)
            for kpi, pair in quantities.items()
            for q in dict.fromkeys(x for x in pair if x is not None)
        ],
        schema={"kpi": pl.String, "_q": pl.String},
        orient="row",
    )
    within = [part] if part else []
    tagged = [
        base.join(shown, on="kpi", how="inner").select(
            "_row", "fiscal_year", "_grouping", "_key", *within, "_q", _leads=pl.lit(True)
        )
    ]
    tagged.append(
        base.filter(~pl.col("_people") & (pl.col("_grouping") == "department")).select(
            "_row",
            "fiscal_year",
            "_grouping",
            "_key",
            *within,
            _q=pl.lit(STAFF),
            _leads=pl.lit(False),
        )
    )
    out = pl.concat(tagged, how="vertical")
    return out.select(
        pl.concat_str(
            "_q",
            pl.col("fiscal_year").cast(pl.String),
            "_grouping",
            "_key",
            *within,
            separator="\x1f",
        ).alias("_link"),
        "_row",
        "_leads",
    )


def _link_round(state: pl.DataFrame, linked: pl.DataFrame) -> pl.Series:
    """Shown cells whose linked quantity is hidden in a leading cell (may be empty)."""
    members = linked.join(state.select("_row", "_suppressed"), on="_row", how="inner")
    hidden = members.filter(pl.col("_leads") & pl.col("_suppressed")).select("_link").unique()
    return (
        members.join(hidden, on="_link", how="semi")
        .filter(~pl.col("_suppressed"))
        .get_column("_row")
        .unique()
    )


def suppress(
    cells: pl.DataFrame,
    k: int,
    department_division: pl.DataFrame,
    second_dims: Mapping[str, str | None],
    suppressible: Mapping[str, bool],
    quantities: Mapping[str, tuple[str | None, str | None]] | None = None,
    part: str | None = None,
) -> pl.DataFrame:
    """Add ``suppressed`` (bool) and ``suppression`` (primary/complementary/linked) and blank
    hidden cells.

    ``cells`` has kpi, fiscal_year, group_by, group, numerator, denominator, value, ci_low, ci_high,
    n_people, reason; ``department_division`` maps department_code → division; ``second_dims`` and
    ``suppressible`` give each KPI's second dimension and whether it describes people;
    ``quantities`` each KPI's shared numerator / denominator (steps 4–5 of the module doc);
    ``part``: the column of ``cells`` and ``department_division`` that tells independent parts
    apart (module docstring).
    """
    base = split_labels(cells.with_row_index("_row"), second_dims)
    people = pl.col("kpi").replace_strict(
        dict(suppressible), default=False, return_dtype=pl.Boolean
    )
    # a unit cell "has something in it" when it counts units or shows a total
    units = pl.col("denominator").fill_null(pl.col("numerator").is_not_null().cast(pl.Float64))
    n = pl.when(people).then(pl.col("n_people").fill_null(0)).otherwise(units.fill_null(0))
    base = base.with_columns(
        _people=people,
        _n=n,
        _den=pl.col("denominator"),
        _suppressed=people & (n > 0) & (n < k),
    )
    eqs = equations(base, department_division, part)
    linked = links(base, quantities or {}, part)
    state = _fixed_point(base.select("_row", "_key", "_n", "_den", "_suppressed"), eqs, linked)
    out = cells.with_columns(
        suppressed=state.get_column("_suppressed"), suppression=state.get_column("_why")
    )
    hide = pl.col("suppressed")
    return out.with_columns(
        [pl.when(hide).then(None).otherwise(pl.col(c)).alias(c) for c in HIDDEN_COLUMNS],
        reason=pl.when(hide).then(pl.lit("suppressed")).otherwise(pl.col("reason")),
    )
