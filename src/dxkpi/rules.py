"""Row rules as polars expressions, generated from the contract.

Each rule of :func:`dxkpi.contract.rule_catalogue` becomes a boolean "violated" expression; a
row's ``_rules`` column lists every rule it breaks. One lazy pass parses and checks all columns.
Key duplicates and references need other rows or datasets and are flagged after, in that order:
row rules → duplicate key (among rows that passed the row rules; the first row keeps the key) →
references (against the accepted rows of the referenced dataset).
"""

from __future__ import annotations

import polars as pl

from dxkpi.contract import (
    Column,
    Compare,
    Dataset,
    EmptyWhen,
    Kind,
    Reference,
    RequiredWhen,
)
from dxkpi.parse import fiscal_year_of, is_empty, parse_column, parse_failed

RAW = "_raw_"
RULES = "_rules"


def _in_range(col: Column, value: pl.Expr) -> pl.Expr:
    ok = pl.lit(True)
    if col.min is not None:
        ok = ok & ((value > col.min) if col.min_strict else (value >= col.min))
    if col.max is not None:
        ok = ok & (value <= col.max)
    return ok


def _column_violations(ds: Dataset, col: Column) -> list[tuple[str, pl.Expr]]:
    raw = pl.col(RAW + col.name)
    value = pl.col(col.name)
    out: list[tuple[str, pl.Expr]] = []
    failed = parse_failed(col, raw, value)
    if col.required:
        out.append((f"{ds.name}.{col.name}.required", is_empty(raw) & value.is_null()))
    if col.kind in (Kind.DATE, Kind.FISCAL_YEAR, Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN):
        out.append((f"{ds.name}.{col.name}.parse", failed))
    if col.kind is Kind.CODE:
        out.append((f"{ds.name}.{col.name}.accepted", failed))
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
        return cond & is_empty(pl.col(RAW + rule.column))
    return cond & ~is_empty(pl.col(RAW + rule.column))


def violation_exprs(ds: Dataset) -> list[tuple[str, pl.Expr]]:
    """(rule id, violated) for every single-row rule of a dataset, in catalogue order."""
    out: list[tuple[str, pl.Expr]] = []
    for col in ds.columns:
        out.extend(_column_violations(ds, col))
    out.extend((rule.id, _row_rule_violation(rule)) for rule in ds.row_rules)
    return out


def _rules_list(pairs: list[tuple[str, pl.Expr]]) -> pl.Expr:
    if not pairs:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list(
        [pl.when(v.fill_null(False)).then(pl.lit(rid)).otherwise(None) for rid, v in pairs]
    ).list.drop_nulls()


def parse_and_check(ds: Dataset, raw: pl.LazyFrame) -> pl.LazyFrame:
    """Parse every contract column and list the single-row rules each row breaks.

    Input: text columns named as the contract (plus lineage columns starting with ``_``).
    Output: the typed columns, the raw text as ``_raw_<column>``, lineage, and ``_rules``.
    """
    lineage = [c for c in raw.collect_schema().names() if c.startswith("_")]
    parsed = raw.select(
        *[pl.col(c) for c in lineage],
        *[pl.col(c.name).alias(RAW + c.name) for c in ds.columns],
        *[parse_column(c, pl.col(c.name)).alias(c.name) for c in ds.columns],
    )
    return parsed.with_columns(_rules_list(violation_exprs(ds)).alias(RULES))


def flag_duplicates(ds: Dataset, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``<dataset>.duplicate_key`` to later rows repeating the key of an earlier valid row."""
    if not ds.key:
        return frame
    clean = pl.col(RULES).list.len() == 0
    first = pl.struct(ds.key).is_first_distinct().over(clean)
    dup = clean & ~first
    return frame.with_columns(
        pl.when(dup)
        .then(pl.col(RULES).list.concat(pl.lit([f"{ds.name}.duplicate_key"])))
        .otherwise(pl.col(RULES))
        .alias(RULES)
    )




def flag_references(
    ds: Dataset, frame: pl.LazyFrame, accepted: dict[str, pl.LazyFrame]
) -> pl.LazyFrame:
    """Add the reference rules broken by rows that passed every other rule.

    ``accepted`` holds the accepted rows of the referenced datasets.
    """
    for i, ref in enumerate(ds.references):
        flag = f"__ref{i}"
        target = accepted[ref.dataset]
        if ref.fiscal_year_from is not None:
            left_on = [fiscal_year_of(pl.col(ref.fiscal_year_from)), *map(pl.col, ref.columns)]
            right_on = ["fiscal_year", *ref.target_columns]
        else:
            left_on = list(map(pl.col, ref.columns))
            right_on = list(ref.target_columns)
        keys = target.select(
            *[pl.col(c).alias(f"__k{j}") for j, c in enumerate(right_on)]
        ).unique().with_columns(pl.lit(True).alias(flag))
        frame = frame.join(
            keys,
            left_on=left_on,
            right_on=[f"__k{j}" for j in range(len(right_on))],
            how="left",
            maintain_order="left",
        )
        present = pl.all_horizontal([e.is_not_null() for e in left_on])
        broken = (pl.col(RULES).list.len() == 0) & present & pl.col(flag).is_null()
        frame = frame.with_columns(
            pl.when(broken)
            .then(pl.col(RULES).list.concat(pl.lit([ref.id])))
            .otherwise(pl.col(RULES))
            .alias(RULES)
        ).drop(flag, *[c for c in frame.collect_schema().names() if c.startswith("__k")])
    return frame
