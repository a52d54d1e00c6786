"""Row rules as polars expressions, generated from the contract.

Each rule of :func:`dxkpi.catalogue.contract.rule_catalogue` becomes a boolean "violated"
expression; a row's ``_rules`` column lists every rule it breaks. One lazy pass parses and
checks all columns.
Key duplicates and references need other rows or datasets and are flagged after, in that order:
row rules → duplicate key (among rows that passed the row rules; the first row keeps the key) →
references (against the accepted rows of the referenced dataset).
"""

from __future__ import annotations

import unicodedata

import polars as pl

from dxkpi.catalogue.contract import (
    EXCEL_CELL_LIMIT,
    Column,
    Compare,
    Dataset,
    EmptyWhen,
    Kind,
    RequiredWhen,
)
from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.parse import is_empty, normalise, parse_column, parse_failed

__all__ = [
    "BITS",
    "CONFLICT",
    "DUP",
    "EMPTY",
    "EXCEL_ERROR",
    "FAILED",
    "HEADER",
    "INDEX",
    "KEY",
    "LONG",
    "RAW",
    "REF",
    "RULES",
    "flag_duplicates",
    "flag_references",
    "is_bad",
    "parse_and_check",
    "violation_exprs",
    "with_rules",
]

RAW = "_raw_"
RULES = "_rules"
BITS = "_rulebits"
DUP = "_dup"
REF = "_ref"
INDEX = "__row_index__"
EMPTY = "__empty__"
FAILED = "__failed__"
HEADER = "__header__"
LONG = "__long__"
CONFLICT = "_conflict"
KEY = "__raw_key__"
#: Set by the reader on a row with an Excel error cell or a formula without a saved result.
EXCEL_ERROR = "_excel_error"


def _in_range(col: Column, value: pl.Expr) -> pl.Expr:
    ok = pl.lit(True)
    if col.min is not None:
        ok = ok & ((value > col.min) if col.min_strict else (value >= col.min))
    if col.max is not None:
        ok = ok & (value <= col.max)
    return ok


def _empty(column: str) -> pl.Expr:
    return pl.col(EMPTY + column)


def _failed(column: str) -> pl.Expr:
    return pl.col(FAILED + column)


def _column_violations(ds: Dataset, col: Column) -> list[tuple[str, pl.Expr]]:
    value = pl.col(col.name)
    out: list[tuple[str, pl.Expr]] = []
    if col.required:
        out.append((f"{ds.name}.{col.name}.required", _empty(col.name) & value.is_null()))
    if col.kind in (Kind.DATE, Kind.FISCAL_YEAR, Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN):
        out.append((f"{ds.name}.{col.name}.parse", _failed(col.name)))
    if col.kind is Kind.CODE:
        out.append((f"{ds.name}.{col.name}.accepted", _failed(col.name)))
    if col.min is not None or col.max is not None:
        out.append((f"{ds.name}.{col.name}.range", value.is_not_null() & ~_in_range(col, value)))
    return out


def _condition(when_column: str, values: tuple[str, ...], negate: bool) -> pl.Expr:
    hit = pl.col(when_column).is_in(list(values))
    cond = ~hit if negate else hit
    return pl.col(when_column).is_not_null() & cond


def _row_rule_violation(rule: Compare | RequiredWhen | EmptyWhen) -> pl.Expr:
    if isinstance(rule, Compare):
        left, right = pl.col(rule.left), pl.col(rule.right)
        ok = left >= right if rule.op == ">=" else left <= right
        return left.is_not_null() & right.is_not_null() & ~ok
    cond = _condition(rule.when_column, rule.values, rule.negate)
    if isinstance(rule, RequiredWhen):
        # An unparseable cell is reported by its parse rule, not as missing.
        return cond & _empty(rule.column)
    return cond & ~_empty(rule.column)


def _is_header_row(ds: Dataset) -> pl.Expr:
    """Every cell of the row spells its own column's header (English or Japanese)."""
    return pl.all_horizontal([pl.col(HEADER + c.name) for c in ds.columns])


def violation_exprs(ds: Dataset) -> list[tuple[str, pl.Expr]]:
    """(rule id, violated) for every single-row rule of a dataset, in catalogue order.

    The expressions read the parsed columns and the ``__empty__``/``__failed__``/``__header__``/
    ``__long__`` flags that :func:`parse_and_check` computes.
    """
    out: list[tuple[str, pl.Expr]] = [
        (f"{ds.name}.repeated_header", _is_header_row(ds)),
        (
            f"{ds.name}.cell_too_long",
            pl.any_horizontal([pl.col(LONG + c.name) for c in ds.columns]),
        ),
        (f"{ds.name}.excel_error", pl.col(EXCEL_ERROR)),
    ]
    for col in ds.columns:
        out.extend(_column_violations(ds, col))
    out.extend((rule.id, _row_rule_violation(rule)) for rule in ds.row_rules)
    return out


def _rule_bits(pairs: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """One UInt64 per row: bit i set when rule i of ``pairs`` is broken (0 = clean)."""
    if len(pairs) > 64:  # pragma: no cover - no dataset has that many single-row rules
        raise ValueError("more than 64 single-row rules")
    bits = [
        pl.when(v.fill_null(False)).then(pl.lit(1 << i, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64))
        for i, (_, v) in enumerate(pairs)
    ]
    total = pl.sum_horizontal(bits).cast(pl.UInt64)
    # A repeated header row (rule 0) breaks every typed rule too; report only that.
    header = (total & pl.lit(1, pl.UInt64)) != 0
    return pl.when(header).then(pl.lit(1, pl.UInt64)).otherwise(total)


def _parse_distinct(cell: pl.Series, col: Column) -> dict[str, pl.Series]:
    """Parse each distinct raw value of a column once, then gather back to every row.

    Dates, codes and IDs repeat a lot: 3 million attendance rows hold a few thousand distinct
    dates. Returns the parsed column and its ``__empty__``/``__failed__`` flags.
    """
    distinct = cell.unique(maintain_order=True)
    raw = pl.col("raw")
    parsed = parse_column(col, raw)
    spellings = [unicodedata.normalize("NFKC", s).lower() for s in (col.name, col.ja)]
    table = pl.DataFrame({"raw": distinct}, schema={"raw": pl.String}).select(
        parsed.alias("value"),
        is_empty(raw).alias("empty"),
        parse_failed(col, raw, parsed).alias("failed"),
        normalise(raw).str.to_lowercase().is_in(spellings).fill_null(False).alias("header"),
        (raw.str.len_chars() > EXCEL_CELL_LIMIT).fill_null(False).alias("long"),
    )
    index = (
        cell.replace_strict(
            distinct, pl.Series(range(distinct.len()), dtype=pl.UInt32), return_dtype=pl.UInt32
        )
        if cell.len()
        else pl.Series(cell.name, [], dtype=pl.UInt32)
    )
    return {
        col.name: table["value"].gather(index).alias(col.name),
        EMPTY + col.name: table["empty"].gather(index).alias(EMPTY + col.name),
        FAILED + col.name: table["failed"].gather(index).alias(FAILED + col.name),
        HEADER + col.name: table["header"].gather(index).alias(HEADER + col.name),
        LONG + col.name: table["long"].gather(index).alias(LONG + col.name),
    }


def parse_and_check(ds: Dataset, raw: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Parse every contract column and flag the single-row rules each row breaks.

    Input: text columns named as the contract (plus lineage columns starting with ``_``).
    Output: the typed columns, the raw text as ``_raw_<column>``, lineage, and ``_rulebits``
    (see :func:`with_rules` for the list of rule ids). Row order is kept.
    """
    if isinstance(raw, pl.LazyFrame):
        raw = raw.collect()
    if EXCEL_ERROR not in raw.columns:  # only an XLSX sheet can hold Excel errors
        raw = raw.with_columns(pl.lit(False).alias(EXCEL_ERROR))
    lineage = [c for c in raw.columns if c.startswith("_")]
    parsed: dict[str, pl.Series] = {}
    for col in ds.columns:
        parsed.update(_parse_distinct(raw[col.name].cast(pl.String), col))
    frame = raw.select(
        *[pl.col(c) for c in lineage],
        *[pl.col(c.name).alias(RAW + c.name) for c in ds.columns],
    ).with_columns(list(parsed.values()))
    helpers = [p + c.name for c in ds.columns for p in (EMPTY, FAILED, HEADER, LONG)]
    return frame.with_columns(_rule_bits(violation_exprs(ds)).alias(BITS)).drop(helpers)


def flag_duplicates(ds: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_dup`` and ``_conflict`` to later rows repeating the key of an earlier row that
    passed the row rules: ``_dup`` when every value equals that row's (an exact repeat, e.g.
    overlapping exports), ``_conflict`` when some value differs (the earlier row is kept)."""
    clean = pl.col(BITS) == 0
    if not ds.key:
        return frame.with_columns(pl.lit(False).alias(DUP), pl.lit(False).alias(CONFLICT))
    key = pl.col(ds.key[0]) if len(ds.key) == 1 else pl.struct(ds.key)
    indexed = frame.with_row_index(INDEX).with_columns(
        (clean & ~pl.when(clean).then(key).is_first_distinct()).alias(DUP)
    )
    repeats = indexed.filter(pl.col(DUP))
    if repeats.height == 0:
        return indexed.drop(INDEX).with_columns(pl.lit(False).alias(CONFLICT))
    values = [c for c in ds.column_names if c not in ds.key]
    firsts = indexed.filter(clean & ~pl.col(DUP)).select(
        *ds.key, *[pl.col(c).alias(f"{c}__first") for c in values]
    )
    compared = (
        repeats.select(INDEX, *ds.key, *values)
        .join(firsts, on=list(ds.key), how="left", nulls_equal=True)
        .select(
            INDEX,
            ~pl.all_horizontal(
                [pl.col(c).eq_missing(pl.col(f"{c}__first")) for c in values] or [pl.lit(True)]
            ).alias("__differs"),
        )
    )
    conflicts = compared.filter(pl.col("__differs"))[INDEX]
    return (
        indexed.with_columns(
            (pl.col(DUP) & pl.col(INDEX).is_in(conflicts.implode())).alias(CONFLICT),
        )
        .with_columns((pl.col(DUP) & ~pl.col(CONFLICT)).alias(DUP))
        .drop(INDEX)
    )


def flag_references(
    ds: Dataset, frame: pl.DataFrame, accepted: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Add ``_ref<i>`` per reference: a row that passed every other rule but whose key is not
    among the accepted rows of the referenced dataset (``accepted``)."""
    indexed = frame.with_row_index(INDEX)
    candidates = indexed.filter((pl.col(BITS) == 0) & ~pl.col(DUP) & ~pl.col(CONFLICT))
    flags = []
    for i, ref in enumerate(ds.references):
        if ref.fiscal_year_from is not None:
            left_on = [fiscal_year_of(pl.col(ref.fiscal_year_from)), *map(pl.col, ref.columns)]
            right_on = ["fiscal_year", *ref.target_columns]
        else:
            left_on, right_on = list(map(pl.col, ref.columns)), list(ref.target_columns)
        present = pl.all_horizontal([e.is_not_null() for e in left_on])
        keys = accepted[ref.dataset].select(right_on).unique()
        left = candidates.filter(present).select(
            INDEX, *[e.alias(f"__k{j}") for j, e in enumerate(left_on)]
        )
        missing = left.join(
            keys,
            left_on=[f"__k{j}" for j in range(len(right_on))],
            right_on=right_on,
            how="anti",
        )[INDEX]
        flags.append(pl.col(INDEX).is_in(missing.implode()).alias(f"{REF}{i}"))
    return indexed.with_columns(flags).drop(INDEX)


def is_bad(ds: Dataset) -> pl.Expr:
    """True for a row that breaks any rule (row rule, duplicate key or reference)."""
    refs = [pl.col(f"{REF}{i}") for i in range(len(ds.references))]
    return pl.any_horizontal(pl.col(BITS) != 0, pl.col(DUP), pl.col(CONFLICT), *refs)


def with_rules(ds: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_rules``: the list of rule ids each row breaks, in catalogue order."""
    ids = [rid for rid, _ in violation_exprs(ds)]
    parts = [
        pl.when((pl.col(BITS) & pl.lit(1 << i, pl.UInt64)) != 0).then(pl.lit(rid))
        for i, rid in enumerate(ids)
    ]
    parts.append(pl.when(pl.col(DUP)).then(pl.lit(f"{ds.name}.duplicate_key")))
    parts.append(pl.when(pl.col(CONFLICT)).then(pl.lit(f"{ds.name}.key_conflict")))
    cols = frame.columns
    parts.extend(
        pl.when(pl.col(f"{REF}{i}")).then(pl.lit(ref.id))
        for i, ref in enumerate(ds.references)
        if f"{REF}{i}" in cols
    )
    return frame.with_columns(pl.concat_list(parts).list.drop_nulls().alias(RULES))
