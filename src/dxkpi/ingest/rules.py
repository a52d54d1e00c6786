"""Row rules as polars expressions, generated from the contract.

Each rule of :func:`dxkpi.catalogue.contract.rule_catalogue` becomes a boolean "violated"
expression; a row's ``_rules`` column lists every rule it breaks. One lazy pass parses and
checks all columns.
Key duplicates and references need other rows or datasets and are flagged after, in that order:
row rules → key identifiers spelt like an earlier row's with other leading zeros, then duplicate
keys (among rows that passed the row rules; the first row keeps the key) → references (against
the accepted rows of the referenced dataset; a key that would match with other leading zeros
breaks its own rule, so the hint to format the ID column as text reaches the user).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import unicodedata
from typing import cast

import numpy as np
import polars as pl

from dxkpi.catalogue.contract import (
    DATASETS,
    EXCEL_CELL_LIMIT,
    ID_FAULT,
    ZERO_VARIANT,
    Column,
    Compare,
    Dataset,
    EmptyWhen,
    Kind,
    Reference,
    RequiredWhen,
    column_faults,
)
from dxkpi.core.codes import own_categorical, text_codes
from dxkpi.core.fiscal import fiscal_year_of
from dxkpi.ingest.parse import (
    column_fault,
    id_problem,
    is_empty,
    normalise,
    parse_column,
    parse_failed,
)

__all__ = [
    "BITS",
    "CODE",
    "CONFLICT",
    "DETAIL_EN",
    "DETAIL_JA",
    "DUP",
    "EMPTY",
    "EXCEL_ERROR",
    "FAILED",
    "FAULT",
    "HEADER",
    "INDEX",
    "KEY",
    "LIST_CATEGORIES_AT_MOST",
    "LONG",
    "NUMBERED_FROM",
    "RAW",
    "REF",
    "REMEMBER_AT_MOST",
    "RULES",
    "UNMAPPED",
    "UNMAPPED_EN",
    "UNMAPPED_JA",
    "ZCODE",
    "ZERO",
    "ZEROS",
    "ZREF",
    "coded_columns",
    "distinct_values",
    "first_of_each",
    "flag_duplicates",
    "flag_references",
    "is_bad",
    "mixed_radix",
    "parse_and_check",
    "recoded",
    "reference_keys",
    "repeated_among",
    "take",
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
FAULT = "__fault__"
DETAIL_JA = "_detail_ja"
DETAIL_EN = "_detail_en"
ZEROS = "_zeros_"  # an identifier without its leading zeros (pseudonymised like the ID)
#: + column: each row's code of the column's parsed value (of its ``_zeros_`` text for
#: ``ZCODE``), equal exactly where the values are equal, null its own code (UInt64), made from
#: the distinct values already parsed: what duplicate keys and pseudonyms read instead of
#: hashing every row of the column again.
CODE = "__code__"
ZCODE = "__zcode__"
ZERO = "_zero"  # + j: key identifier j spells an earlier row's ID with other leading zeros
ZREF = "_zref"  # + i: reference i matches only with leading zeros added or removed
HEADER = "__header__"
LONG = "__long__"
CONFLICT = "_conflict"
KEY = "__raw_key__"
#: Set by the reader: the columns whose cell holds an Excel error or a formula without a saved
#: result (a list; null or empty on a clean row: a file with no such cell holds nulls, which
#: cost nothing to make, where an empty list per row costs a pass). Such a cell breaks
#: ``<dataset>.excel_error`` and no other rule of its column: its text (``#N/A``) is Excel's,
#: not the city's value.
EXCEL_ERROR = "_excel_error"
#: Set by a mapping (:mod:`dxkpi.ingest.mapping`): the columns whose source value is not in the
#: mapping's values table (a list; null or empty on a clean row), and what to extend, in both
#: languages.
#: Such a cell breaks ``<dataset>.unmapped_value`` and no other rule of its column.
UNMAPPED = "_unmapped"
UNMAPPED_JA = "_unmapped_ja"
UNMAPPED_EN = "_unmapped_en"


def _in_range(col: Column, value: pl.Expr, run_date: dt.date) -> pl.Expr:
    """True where a value lies in the column's declared range (on this run date)."""
    ok = pl.lit(True)
    if col.min is not None:
        ok = ok & ((value > col.min) if col.min_strict else (value >= col.min))
    if col.max is not None:
        ok = ok & (value <= col.max)
    if col.not_before is not None:
        ok = ok & (value >= pl.lit(col.not_before))
    latest = col.latest(run_date)
    if latest is not None:
        ok = ok & (value <= pl.lit(latest))
    return ok


def _empty(column: str) -> pl.Expr:
    return pl.col(EMPTY + column)


def _failed(column: str) -> pl.Expr:
    return pl.col(FAILED + column)


def _column_violations(ds: Dataset, col: Column, run_date: dt.date) -> list[tuple[str, pl.Expr]]:
    value = pl.col(col.name)
    out: list[tuple[str, pl.Expr]] = []
    if col.required:
        out.append((f"{ds.name}.{col.name}.required", _empty(col.name) & value.is_null()))
    fault = pl.col(FAULT + col.name)
    if col.kind in (Kind.DATE, Kind.FISCAL_YEAR, Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN):
        # A cell refused for a named fault (ambiguous separators…) is reported by that rule.
        out.append((f"{ds.name}.{col.name}.parse", _failed(col.name) & fault.is_null()))
    out.extend((f"{ds.name}.{col.name}.{name}", fault == name) for name in column_faults(col))
    if col.kind is Kind.CODE:
        out.append((f"{ds.name}.{col.name}.accepted", _failed(col.name)))
    if col.bounded:
        in_range = _in_range(col, value, run_date)
        out.append((f"{ds.name}.{col.name}.range", value.is_not_null() & ~in_range))
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


def _listed(column: str) -> pl.Expr:
    """True where a row's list in ``column`` (Excel errors, unmapped values) names a column
    (a null list names none)."""
    return (pl.col(column).list.len() > 0).fill_null(False)


def _lists(column: str, name: str) -> pl.Expr:
    """True where a row's list in ``column`` names the column ``name`` (a null list: no)."""
    return pl.col(column).list.contains(pl.lit(name)).fill_null(False)


def violation_exprs(ds: Dataset, run_date: dt.date | None = None) -> list[tuple[str, pl.Expr]]:
    """(rule id, violated) for every single-row rule of a dataset, in catalogue order.

    ``run_date`` (default: today) is the day ingestion runs: dates and fiscal years may not lie
    further after it than the contract allows (:meth:`Column.latest`).

    The expressions read the parsed columns and the ``__empty__``/``__failed__``/``__fault__``/
    ``__header__``/``__long__`` flags that :func:`parse_and_check` computes.
    """
    out: list[tuple[str, pl.Expr]] = [
        (f"{ds.name}.repeated_header", _is_header_row(ds)),
        (
            f"{ds.name}.cell_too_long",
            pl.any_horizontal([pl.col(LONG + c.name) for c in ds.columns]),
        ),
        (f"{ds.name}.excel_error", _listed(EXCEL_ERROR)),
        (f"{ds.name}.unmapped_value", _listed(UNMAPPED)),
    ]
    today = run_date or dt.date.today()
    for col in ds.columns:
        excel = _lists(EXCEL_ERROR, col.name) | _lists(UNMAPPED, col.name)
        out.extend((rule, broken & ~excel) for rule, broken in _column_violations(ds, col, today))
    out.extend((rule.id, _row_rule_violation(rule)) for rule in ds.row_rules)
    return out


def _id_details(col: Column, value: pl.Series, fault: pl.Series) -> list[pl.Series]:
    """``detail_ja``/``detail_en`` of each distinct value (``value``, its ``fault``): for an
    identifier refused by the identifier rule, the column, the character and its position
    (:func:`id_problem`), named as the row frame names them."""
    refused = value.filter(fault == ID_FAULT).unique().to_list()
    problems = {text: id_problem(text) for text in refused}
    ja = {text: f"「{col.ja}」{p[0]}" for text, p in problems.items()}
    en = {text: f"{col.name}: {p[1]}" for text, p in problems.items()}
    return [
        value.replace_strict(ja, default=None, return_dtype=pl.String).alias(DETAIL_JA + col.name),
        value.replace_strict(en, default=None, return_dtype=pl.String).alias(DETAIL_EN + col.name),
    ]


#: Kinds whose raw values recur across files, cities and runs (dates, fiscal years, codes,
#: numbers): what :func:`_parsed_values` finds for a value depends on the column and the value
#: alone, and parsing a handful of dates costs as much as parsing thousands (about 20 ms of
#: polars planning for the wareki and date formats), a cost every city of a consolidation paid
#: per date column. So the table of each such column is remembered in the process and only
#: values not seen before are parsed. Identifiers and free text are mostly new every time.
_REMEMBERED_KINDS = frozenset(
    {Kind.DATE, Kind.FISCAL_YEAR, Kind.CODE, Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN}
)
#: A column's remembered table grows no further than this many values (then new values are
#: parsed every time they come).
REMEMBER_AT_MOST = 50_000
_remembered: dict[Column, tuple[pl.DataFrame, dict[str | None, int]]] = {}
_remembered_lock = threading.Lock()


def _distinct_table(distinct: pl.Series, col: Column) -> pl.DataFrame:
    """:func:`_parsed_values` of ``distinct`` (every value once), in its order; for a kind of
    :data:`_REMEMBERED_KINDS`, from the column's remembered table (its rows and each raw
    value's row there), parsing only the values it does not hold yet."""
    if col.kind not in _REMEMBERED_KINDS or not distinct.len():
        return _parsed_values(distinct, col)
    with _remembered_lock:
        known, row = _remembered.get(col, (None, {}))
    values: list[str | None] = distinct.to_list()
    new = [v for v in values if v not in row]
    if new:
        fresh = _parsed_values(pl.Series(new, dtype=pl.String), col)
        row = row | {v: (known.height if known is not None else 0) + i for i, v in enumerate(new)}
        known = fresh if known is None else pl.concat([known, fresh], how="vertical")
        if known.height <= REMEMBER_AT_MOST:
            with _remembered_lock:
                _remembered[col] = (known, row)
    assert known is not None
    return known[pl.Series([row[v] for v in values], dtype=pl.UInt32)]


def _parsed_values(distinct: pl.Series, col: Column) -> pl.DataFrame:
    """Each distinct raw value of a column parsed once: the value and its ``__empty__``/
    ``__failed__``/``__fault__`` (the named fault of a refused cell, or null)/``__header__``/
    ``__long__`` flags and ``_detail_ja``/``_detail_en``, named as the row frame names them.

    One plan (:func:`_value_plan`, built once per column) gives them all; only a column with
    identifiers the identifier rule refuses has its details filled afterwards."""
    parsed, flags = _value_plan(col)
    table = (
        pl.DataFrame({"raw": distinct}, schema={"raw": pl.String})
        .lazy()
        .with_columns(parsed)
        .select(flags)
        .collect()
    )
    fault = table[FAULT + col.name]
    # (a column that can have no fault is all null, and may be of type Null: no comparison)
    if fault.null_count() < fault.len() and (fault == ID_FAULT).any():
        table = table.with_columns(_id_details(col, table[col.name], fault))
    return table


@functools.cache
def _value_plan(col: Column) -> tuple[pl.Expr, list[pl.Expr]]:
    """The expressions of :func:`_parsed_values` for ``col`` over a ``raw`` column: the parsed
    ``value`` (a column first: the flags' plan then holds the large wareki and date parsing
    expression once, and polars plans it faster), then the value and the flags of
    :data:`_FLAGS` under the row frame's names, details null. Built once per column and
    process (expressions are immutable; building them was about a tenth of parsing a small
    column's values)."""
    raw = pl.col("raw")
    spellings = [unicodedata.normalize("NFKC", s).lower() for s in (col.name, col.ja)]
    long = (raw.str.len_chars() > EXCEL_CELL_LIMIT).fill_null(False)
    flags = {
        "empty": is_empty(raw),
        "failed": parse_failed(col, raw, pl.col("value")),
        # an over-long cell is reported as that alone (cell_too_long), not by its content
        "fault": pl.when(~long).then(column_fault(col, raw)),
        "header": normalise(raw).str.to_lowercase().is_in(spellings).fill_null(False),
        "long": long,
        "detail_ja": pl.lit(None, pl.String),
        "detail_en": pl.lit(None, pl.String),
    }
    return (
        parse_column(col, raw).alias("value"),
        [
            pl.col("value").alias(col.name),
            *[flags[name].alias(prefix + col.name) for name, prefix in _FLAGS.items()],
        ],
    )


#: The per-value flags of :func:`_distinct_table` and the prefixes they carry per row.
_FLAGS = {
    "empty": EMPTY,
    "failed": FAILED,
    "fault": FAULT,
    "header": HEADER,
    "long": LONG,
    "detail_ja": DETAIL_JA,
    "detail_en": DETAIL_EN,
}


def _bits(pairs: list[tuple[int, pl.Expr]]) -> pl.Expr:
    """One UInt64: bit i set where the rule at position i is broken (``pairs``: position,
    violated)."""
    if not pairs:
        return pl.lit(0, pl.UInt64)
    bits = [
        pl.when(v.fill_null(False)).then(pl.lit(1 << i, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64))
        for i, v in pairs
    ]
    return pl.sum_horizontal(bits).cast(pl.UInt64)


def _parse_distinct(
    cell: pl.Series,
    col: Column,
    column_rules: list[tuple[int, pl.Expr]],
    long_position: int,
    keep: frozenset[str],
    coded: frozenset[str] = frozenset(),
) -> dict[str, pl.Series]:
    """Parse each distinct raw value of a column once, check the column's own rules on it
    (``column_rules``: position in :func:`violation_exprs`, violated; ``long_position``: that
    of ``cell_too_long``), then gather back to every row.

    Dates, codes and IDs repeat a lot: 3 million attendance rows hold a few thousand distinct
    dates (:func:`distinct_values`). Returns the parsed column, ``_colbits<column>`` (the bits
    of the column's rules that an Excel error or unmapped value in the cell cancels),
    ``_longbit<column>`` (the bit of ``cell_too_long``), the details, and those of the
    per-value flags named in ``keep`` (``__header__``, ``__empty__``…) that later row rules
    read; the :data:`CODE` of a column in ``coded``; for an identifier, its ``_zeros_`` text and
    the :data:`ZCODE` of that.
    """
    distinct, index = distinct_values(cell)
    table = _distinct_table(distinct, col)
    table = table.with_columns(
        _bits(column_rules).alias(_COLBITS + col.name),
        _bits([(long_position, pl.col(LONG + col.name))]).alias(_LONGBIT + col.name),
    )
    names = [
        _COLBITS + col.name,
        _LONGBIT + col.name,
        DETAIL_JA + col.name,
        DETAIL_EN + col.name,
        *[p + col.name for p in _FLAGS.values() if p + col.name in keep],
    ]
    value = table[col.name]
    out = {col.name: _gathered_value(cell, distinct, value, index, col.name)}
    out.update({name: _spread(table[name], index, name) for name in names})
    if col.name in coded and _codable(value.dtype):
        out[CODE + col.name] = _row_codes(value, index, CODE + col.name)
    if col.kind is Kind.ID:
        zeros = value.str.strip_chars_start("0")
        out[ZEROS + col.name] = _gathered_value(cell, distinct, zeros, index, ZEROS + col.name)
        out[ZCODE + col.name] = _row_codes(zeros, index, ZCODE + col.name)
    return out


def _gathered_value(
    cell: pl.Series, distinct: pl.Series, value: pl.Series, index: pl.Series, name: str
) -> pl.Series:
    """Each row's parsed value (``value``: one per ``distinct`` raw value, ``index`` each row's
    position there): the raw column itself when parsing left every text value as it was (an
    identifier, a code, a status most often), which is the same and gathers nothing.

    >>> raw = pl.Series(["b", "a", "b"])
    >>> distinct, index = distinct_values(raw)
    >>> _gathered_value(raw, distinct, distinct, index, "x").to_list()
    ['b', 'a', 'b']
    >>> _gathered_value(raw, distinct, distinct.str.to_uppercase(), index, "x").to_list()
    ['B', 'A', 'B']
    """
    if value.dtype == pl.String and value.equals(distinct, check_names=False, null_equal=True):
        return cell.alias(name)
    return take(value, index, name)


def _codable(dtype: pl.DataType) -> bool:
    """Whether :func:`_dense_codes` codes a column of this type (text, dates, integers)."""
    return dtype == pl.String or dtype == pl.Date or dtype.is_integer()


def _row_codes(per_value: pl.Series, index: pl.Series, name: str) -> pl.Series:
    """Each row's code (UInt64) of its value in ``per_value`` (one value per distinct raw
    value, ``index`` each row's position there): equal values, even of different raw
    spellings, get equal codes."""
    return take(_dense_codes(per_value), index, name)


def take(values: pl.Series, index: pl.Series, name: str) -> pl.Series:
    """``values`` at each position of ``index`` (the UInt32 positions of
    :func:`distinct_values`), named ``name``: the gather itself, where ``Series.gather`` plans
    a one-expression query around it (about 0.1 ms each, a cost that the many small columns of
    a consolidation paid a dozen times a column).

    ``values`` (one per distinct value: small) is made one chunk first. Gathering millions of
    rows from a series of several chunks looks up each row's chunk: the pseudonyms of the
    30,000-staff city's attendance (2.9 million rows from 33,000 pseudonyms in two chunks) took
    0.05–0.17 s a column against 0.01 s from one chunk, about 0.4 s of each ingest.

    >>> take(pl.Series(["a", "b"]), pl.Series([1, 0, 1], dtype=pl.UInt32), "x").to_list()
    ['b', 'a', 'b']
    >>> two_chunks = pl.concat([pl.Series(["a"]), pl.Series(["b"])], rechunk=False)
    >>> take(two_chunks, pl.Series([1, 1, 0], dtype=pl.UInt32), "x").to_list()
    ['b', 'b', 'a']
    """
    if index.dtype != pl.UInt32:
        raise TypeError(f"positions must be UInt32, not {index.dtype}")
    return values.rechunk()[index].alias(name)


def coded_columns(ds: Dataset) -> frozenset[str]:
    """The columns whose rows :func:`parse_and_check` gives a :data:`CODE`: the key's (its
    duplicates are found on them) and the employee IDs (pseudonymised by them)."""
    return frozenset(ds.key) | {c.name for c in ds.columns if c.employee_id}


def recoded(ds: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (a part of the rows of :func:`parse_and_check`, e.g. one city's of several
    cities' parsed together) with its :data:`CODE` and :data:`ZCODE` columns made again from
    its own rows: dense from 0, as :func:`parse_and_check` gives them to those rows alone (text
    by first appearance, null last; dates and integers from their smallest value). Codes of
    the whole would be dense only over the whole.

    >>> frame = pl.DataFrame({"employee_id": ["9", "7", "9"], "_zeros_employee_id": ["9", "7", "9"],
    ...     "__code__employee_id": [4, 2, 4], "__zcode__employee_id": [4, 2, 4]})
    >>> recoded(DATASETS["staff"], frame)["__code__employee_id"].to_list()
    [0, 1, 0]
    """
    codes = [
        _dense_codes(frame[c]).alias(CODE + c)
        for c in sorted(coded_columns(ds))
        if CODE + c in frame.columns
    ]
    codes += [
        _dense_codes(frame[ZEROS + c.name]).alias(ZCODE + c.name)
        for c in ds.columns
        if c.kind is Kind.ID and ZCODE + c.name in frame.columns
    ]
    return frame.with_columns(codes) if codes else frame


def distinct_values(cell: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Every value of a text column once (null, when there is one, last) and each row's
    position in that list (UInt32): one pass that hashes each row once, the coding of a
    categorical of the column's own (a fresh category list, so the codes run 0…k−1 and no
    other column's values join them).

    >>> values, position = distinct_values(pl.Series(["b", None, "a", "b"]))
    >>> values.gather(position).to_list()
    ['b', None, 'a', 'b']
    >>> sorted(values.drop_nulls().to_list()), values[-1] is None
    (['a', 'b'], True)
    """
    coded = own_categorical(cell)
    position = coded.to_physical()
    distinct = _category_values(cell, coded, position)
    if cell.null_count():
        position = position.fill_null(distinct.len())
        distinct = distinct.extend_constant(None, 1)
    return distinct, position


#: Up to this many distinct values, :func:`_category_values` lists a categorical's categories
#: (about 0.15 µs a value, asked in Python); beyond it, it gathers a row of each (about 12 ms
#: for 3 million rows, whatever the count).
LIST_CATEGORIES_AT_MOST = 65_536


def _category_values(
    cell: pl.Series, coded: pl.Series, position: pl.Series, at_most: int | None = None
) -> pl.Series:
    """The values of ``cell`` in the order of its categorical codes (``coded``, whose codes
    are ``position``), read the faster way for their count.

    >>> cell = pl.Series("c", ["b", "a", "b"])
    >>> coded = cell.cast(pl.Categorical(pl.Categories.random()))
    >>> [_category_values(cell, coded, coded.to_physical(), n).to_list() for n in (9, 0)]
    [['b', 'a'], ['b', 'a']]
    """
    count = int(cast(int, position.max() or 0)) + 1 if position.len() else 0
    if count <= (LIST_CATEGORIES_AT_MOST if at_most is None else at_most):
        dtype = coded.dtype
        assert isinstance(dtype, pl.Categorical)
        return dtype.categories.to_series().alias(cell.name)
    return first_of_each(cell, position)


def first_of_each(values: pl.Series, codes: pl.Series) -> pl.Series:
    """The value of ``values`` at each code 0…k−1 of ``codes`` (dense codes of those values,
    e.g. a :data:`CODE`), in code order.

    >>> first_of_each(pl.Series(["b", "a", "b"]), pl.Series([0, 1, 0])).to_list()
    ['b', 'a']
    """
    return values.gather(_first_rows(codes))


def _first_rows(codes: pl.Series) -> pl.Series:
    """For dense codes 0…k−1 (nulls aside), a row holding each code, in code order: where a
    column's distinct values are, read from the column itself (the category list's own
    ``to_series`` asks for each value in Python, a tenth of a second per 300,000 values).

    >>> codes = pl.Series([1, None, 0, 1], dtype=pl.UInt32)
    >>> codes.gather(_first_rows(codes)).to_list()
    [0, 1]
    """
    present = codes.drop_nulls()
    if not present.len():
        return pl.Series(dtype=pl.UInt32)
    rows = np.zeros(int(cast(int, present.max())) + 1, dtype=np.uint32)
    where = np.flatnonzero(codes.is_not_null().to_numpy()) if codes.null_count() else None
    # any row of a code will do (all of them hold the same value); with repeated codes NumPy
    # writes one of them
    rows[present.to_numpy()] = (
        np.arange(codes.len(), dtype=np.uint32) if where is None else where.astype(np.uint32)
    )
    return pl.Series(rows)


_COLBITS = "__colbits__"
_LONGBIT = "__longbit__"


def _spread(per_value: pl.Series, index: pl.Series, name: str) -> pl.Series:
    """``per_value`` gathered to every row; a value that is the same for every distinct value
    (no fault, no header, no broken rule… on a clean column) is one value repeated, not
    gathered."""
    if per_value.len() and per_value.n_unique() == 1:  # null counts as a value
        return per_value.new_from_index(0, index.len()).alias(name)
    return take(per_value, index, name)


def _any_listed(frame: pl.DataFrame, column: str) -> bool:
    """True when some row's list in ``column`` (Excel errors, unmapped values) is not empty."""
    return bool(frame.height) and bool(frame.select(pl.col(column).list.len().max()).item())


def parse_and_check(
    ds: Dataset, raw: pl.DataFrame | pl.LazyFrame, *, run_date: dt.date | None = None
) -> pl.DataFrame:
    """Parse every contract column and flag the single-row rules each row breaks.

    Input: text columns named as the contract (plus lineage columns starting with ``_``);
    ``run_date`` is the day of the run (default: today), which bounds dates and fiscal years.
    Output: the typed columns, the raw text as ``_raw_<column>``, lineage, ``_rulebits`` (see
    :func:`with_rules` for the list of rule ids) and ``_detail_ja``/``_detail_en``: what exactly
    is wrong where the rule alone cannot say it without showing the value (the character of an
    identifier that breaks the identifier rule, and its position), and ``_zeros_<column>`` for
    every identifier: its text without leading zeros, which the leading-zero rules compare (the
    pipeline pseudonymises it with the employee ID; it is never written), and the codes of
    :data:`CODE` (:func:`coded_columns`) and :data:`ZCODE` (every identifier). Row order is kept.

    The rules of :func:`violation_exprs` are evaluated as written there, those that read one
    column only on each distinct value of that column (then gathered to every row), the others
    on every row.
    """
    if isinstance(raw, pl.LazyFrame):
        raw = raw.collect()
    for listed in (EXCEL_ERROR, UNMAPPED):  # only a sheet has Excel errors, a mapping unmapped
        if listed not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias(listed))
    for extra in (UNMAPPED_JA, UNMAPPED_EN):
        if extra not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(extra))
    lineage = [c for c in raw.columns if c.startswith("_")]
    today = run_date or dt.date.today()
    rules = [rule for rule, _ in violation_exprs(ds, today)]
    position = {rule: i for i, rule in enumerate(rules)}
    if len(rules) > 64 or len(position) != len(rules):  # pragma: no cover - contract guard
        raise ValueError(f"{ds.name}: more than 64 single-row rules, or a rule id twice")
    excel, unmapped = _any_listed(raw, EXCEL_ERROR), _any_listed(raw, UNMAPPED)
    # the per-value flags that row-level rules read: every column's header flag for the
    # repeated-header rule, the emptiness of the columns that conditional rules name
    keep = {HEADER + c.name for c in ds.columns}
    keep |= {
        EMPTY + rule.column for rule in ds.row_rules if isinstance(rule, RequiredWhen | EmptyWhen)
    }
    parsed: dict[str, pl.Series] = {}
    for col in ds.columns:
        column_rules = [
            (position[rule], broken) for rule, broken in _column_violations(ds, col, today)
        ]
        long_position = position[f"{ds.name}.cell_too_long"]
        parsed.update(
            _parse_distinct(
                raw[col.name].cast(pl.String),
                col,
                column_rules,
                long_position,
                frozenset(keep),
                coded_columns(ds),
            )
        )
    frame = raw.select(
        *[pl.col(c) for c in lineage],
        *[pl.col(c.name).alias(RAW + c.name) for c in ds.columns],
    ).with_columns(list(parsed.values()))
    # per-column bits that are 0 on every row, header flags False on every row
    silent = {n for n, column in parsed.items() if n.startswith(_FLAGGING) and _never_set(column)}
    bits = _row_bits(ds, position, excel=excel, unmapped=unmapped, silent=silent)
    kept = {*ds.column_names, *[p + c for c in ds.column_names for p in (ZEROS, CODE, ZCODE)]}
    helpers = [n for n in parsed if n not in kept]
    # details only where some row has one (null counts are known without a pass over the rows)
    detailed = {n for n in [*helpers, UNMAPPED_JA, UNMAPPED_EN] if _some_value(frame[n])}
    return frame.with_columns(
        bits.alias(BITS),
        _joined(DETAIL_JA, ds, UNMAPPED_JA, detailed),
        _joined(DETAIL_EN, ds, UNMAPPED_EN, detailed),
    ).drop(*helpers, UNMAPPED_JA, UNMAPPED_EN)


#: The prefixes of the gathered per-column values that :func:`_row_bits` reads.
_FLAGGING = (_COLBITS, _LONGBIT, HEADER)


def _row_bits(
    ds: Dataset,
    position: dict[str, int],
    *,
    excel: bool,
    unmapped: bool,
    silent: set[str],
) -> pl.Expr:
    """``_rulebits`` of every row from the gathered column bits and the rules that read a row:
    a repeated header row (rule 0) breaks every typed rule too, and reports only that; a cell
    holding an Excel error or an unmapped value breaks no other rule of its column.

    ``silent`` names the gathered columns known to be 0 (bits) or False (header flags) on every
    row: a sum without them is the same, and no row is a header row when a column's cell never
    spells its header."""
    parts: list[pl.Expr] = [
        pl.col(_LONGBIT + c.name) for c in ds.columns if _LONGBIT + c.name not in silent
    ]
    for col in ds.columns:
        if _COLBITS + col.name in silent:
            continue
        colbits = pl.col(_COLBITS + col.name)
        hidden = [
            _lists(listed, col.name)
            for listed, present in ((EXCEL_ERROR, excel), (UNMAPPED, unmapped))
            if present
        ]
        if hidden:
            colbits = (
                pl.when(pl.any_horizontal(hidden)).then(pl.lit(0, pl.UInt64)).otherwise(colbits)
            )
        parts.append(colbits)
    row_rules = [
        (position[f"{ds.name}.excel_error"], _listed(EXCEL_ERROR), excel),
        (position[f"{ds.name}.unmapped_value"], _listed(UNMAPPED), unmapped),
    ]
    row_rules.extend((position[r.id], _row_rule_violation(r), True) for r in ds.row_rules)
    parts.append(_bits([(i, broken) for i, broken, present in row_rules if present]))
    total = pl.sum_horizontal(parts).cast(pl.UInt64)
    if any(HEADER + c.name in silent for c in ds.columns):
        return total
    header = _is_header_row(ds)
    return pl.when(header.fill_null(False)).then(pl.lit(1, pl.UInt64)).otherwise(total)


def _never_set(column: pl.Series) -> bool:
    """True when a column of rule bits is 0, or one of flags False, on every row (and has no
    null)."""
    if column.null_count():
        return False
    return not column.any() if column.dtype == pl.Boolean else column.max() == 0


def _some_value(column: pl.Series) -> bool:
    """True when some row of ``column`` is not null."""
    return column.null_count() < column.len()


def _joined(prefix: str, ds: Dataset, mapping_detail: str, detailed: set[str]) -> pl.Expr:
    """A row's details (the mapping's, then every column's), joined (null when there are
    none). Only the columns named in ``detailed`` hold a detail on some row: the others, null
    on every row, would add nothing to any row's text."""
    names = [mapping_detail, *[prefix + c.name for c in ds.columns]]
    parts = [pl.col(n) for n in names if n in detailed]
    if not parts:
        return pl.lit(None, dtype=pl.String).alias(prefix)
    joined = pl.concat_str(parts, separator=" | ", ignore_nulls=True)
    return pl.when(joined.str.len_chars() > 0).then(joined).alias(prefix)


def flag_duplicates(ds: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Flag later rows repeating the key of an earlier row that passed the row rules.

    First ``_zero<j>``: the row's key identifier is an earlier row's with more or fewer leading
    zeros (``124`` after ``00124``; :attr:`Dataset.zero_variant_columns`) — the earlier spelling
    keeps the identifier. Then, among the rest, ``_dup`` when every value equals the earlier
    row's (an exact repeat, e.g. overlapping exports) and ``_conflict`` when some value differs
    (the earlier row is kept)."""
    clean = pl.col(BITS) == 0
    zero_flags = [
        (
            _zero_variant(column, clean)
            if _spelt_two_ways(frame, column, clean)
            else pl.lit(False)  # no identifier has two spellings: no row can be flagged
        ).alias(f"{ZERO}{j}")
        for j, column in enumerate(ds.zero_variant_columns)
    ]
    frame = frame.with_columns(zero_flags)
    clean = clean & ~pl.any_horizontal(
        pl.lit(False), *[pl.col(f"{ZERO}{j}") for j in range(len(zero_flags))]
    )
    if not ds.key:
        return frame.with_columns(pl.lit(False).alias(DUP), pl.lit(False).alias(CONFLICT))
    key = _key_codes(frame, ds.key)
    repeated = (
        repeated_among(key, frame.select(clean).to_series())
        if isinstance(key, pl.Series)
        else clean & ~pl.when(clean).then(key).is_first_distinct()
    )
    indexed = frame.with_row_index(INDEX).with_columns(repeated.alias(DUP))
    repeats = indexed.filter(pl.col(DUP))
    if repeats.height == 0:
        return indexed.drop(INDEX).with_columns(pl.lit(False).alias(CONFLICT))
    values = [c for c in ds.column_names if c not in ds.key]
    # only the first rows of the repeated keys are compared: a cheap test on the key's first
    # column narrows every row down to those candidates before the join on the whole key
    lead = ds.key[0]
    firsts = (
        indexed.lazy()
        .filter(
            clean
            & ~pl.col(DUP)
            & pl.col(lead).is_in(repeats[lead].unique().implode(), nulls_equal=True)
        )
        .select(*ds.key, *[pl.col(c).alias(f"{c}__first") for c in values])
        .collect()
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


def repeated_among(key: pl.Series, among: pl.Series) -> pl.Series:
    """True at each row of ``among`` (a Boolean column without nulls) whose ``key`` (no nulls)
    an earlier row of ``among`` holds; False elsewhere. The first row of each key is found by
    ``arg_unique`` (2.9 million attendance keys: about 0.1 s, where ``is_first_distinct`` took
    0.15–0.27 s).

    >>> key = pl.Series([7, 7, 8, 7, 8], dtype=pl.UInt64)
    >>> repeated_among(key, pl.Series([True, False, True, True, True])).to_list()
    [False, False, False, True, True]
    """
    rows = np.flatnonzero(among.to_numpy())
    first = np.zeros(rows.size, dtype=bool)
    first[key.gather(pl.Series(rows, dtype=pl.UInt32)).arg_unique().to_numpy()] = True
    repeated = np.zeros(key.len(), dtype=bool)
    repeated[rows[~first]] = True
    return pl.Series(DUP, repeated)


def _key_codes(frame: pl.DataFrame, key: tuple[str, ...]) -> pl.Expr | pl.Series:
    """One value per row that is equal exactly where the rows' ``key`` tuples are equal
    (nulls equal to nulls): for a compound key, the mixed-radix number of its columns'
    positions among their distinct values (:func:`distinct_values`) — an integer that polars
    compares several times faster than a struct of text and dates. A key whose columns have
    too many distinct values for 64 bits, or a column of another type, is compared as a
    struct.

    >>> frame = pl.DataFrame({"a": ["x", "y", "x", None], "b": [1, 1, 1, None]})
    >>> frame.select(_key_codes(frame, ("a", "b")).is_first_distinct()).to_series().to_list()
    [True, True, False, True]
    """
    if all(CODE + c in frame.columns for c in key):  # parsed already (parse_and_check)
        codes = [frame[CODE + c] for c in key]
    elif len(key) == 1:
        return pl.col(key[0])
    elif all(_codable(frame.schema[c]) for c in key):
        codes = [_dense_codes(frame[c]) for c in key]
    else:
        return pl.struct(key)
    number = mixed_radix(codes)
    return pl.struct(key) if number is None else number.alias("__key")


def mixed_radix(codes: list[pl.Series]) -> pl.Series | None:
    """One UInt64 per row, equal exactly where every one of ``codes`` (non-negative integer
    codes, no nulls) is equal: their mixed-radix number, each radix one past that code's
    largest value; None when the number would not fit 63 bits.

    >>> one, two = pl.Series([1, 0, 1]), pl.Series([2, 2, 0])
    >>> mixed_radix([one, two]).to_list()  # 1·3 + 2, 0·3 + 2, 1·3 + 0
    [5, 2, 3]
    """
    number: pl.Series | None = None
    radix = 1
    for code in reversed(codes):
        size = int(cast(int, code.max() or 0)) + 1
        if radix * size >= 2**63:
            return None
        code = code.cast(pl.UInt64)
        number = code if number is None else number + code * radix
        radix *= size
    return None if number is None else number.alias("")


def _dense_codes(column: pl.Series) -> pl.Series:
    """Each row's code (UInt64, from 0), equal exactly where the values are equal (null its own
    code): text by its position among the distinct values, a date or an integer (the only
    other types passed, :func:`_codable`) by its distance from the smallest value (null one
    past the largest)."""
    if column.dtype == pl.String:
        codes = text_codes(column)
        top = codes.max()
        return codes.fill_null(0 if top is None else int(cast(int, top)) + 1).cast(pl.UInt64)
    physical = column.to_physical().cast(pl.Int64)
    low, high = physical.min(), physical.max()
    if low is None or high is None:  # every value null
        return pl.zeros(column.len(), pl.UInt64, eager=True)
    span = int(cast(int, high)) - int(cast(int, low)) + 1
    return (physical - low).fill_null(span).cast(pl.UInt64)


def _spelt_two_ways(frame: pl.DataFrame, column: str, clean: pl.Expr) -> bool:
    """True when some identifier of ``column`` occurs among the clean rows in two spellings
    that differ only in leading zeros (compared on the distinct pairs, not on every row)."""
    zeros = pl.col(ZEROS + column)
    pairs = frame.lazy().filter(clean).select(zeros, pl.col(column)).unique()
    return bool(pairs.select(zeros.is_duplicated().any()).collect().item())


def _zero_variant(column: str, clean: pl.Expr) -> pl.Expr:
    """True for a clean row whose ``column`` is spelt differently from the first clean row with
    the same identifier once leading zeros are removed (``124`` after ``00124``)."""
    first = pl.col(column).filter(clean).first().over(pl.col(ZEROS + column))
    return (clean & (pl.col(column) != first)).fill_null(False)


def flag_references(
    ds: Dataset, frame: pl.DataFrame, accepted: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Add ``_ref<i>`` per reference: a row that passed every other rule but whose key is not
    among the accepted rows of the referenced dataset (``accepted``, with the
    ``_zeros_`` columns of :func:`reference_keys`); ``_zref<i>`` instead where the key would
    match once leading zeros are added or removed (``124`` against ``00124``)."""
    zero = [pl.col(f"{ZERO}{j}") for j in range(len(ds.zero_variant_columns))]
    read = {
        name
        for ref in ds.references
        for c in ref.columns
        for name in (c, ZEROS + c)
        if name in frame.columns
    }
    read |= {ref.fiscal_year_from for ref in ds.references if ref.fiscal_year_from is not None}
    # the codes of parse_and_check, where the columns have them: keys compared once each
    read |= {
        code
        for ref in ds.references
        for c in (*ref.columns, *([ref.fiscal_year_from] if ref.fiscal_year_from else []))
        for code in (CODE + c, ZCODE + c)
        if code in frame.columns
    }
    # only the columns the references read travel through the filter and the joins
    candidates = (
        frame.lazy()
        .with_row_index(INDEX)
        .filter(
            (pl.col(BITS) == 0)
            & ~pl.col(DUP)
            & ~pl.col(CONFLICT)
            & ~pl.any_horizontal(pl.lit(False), *zero)
        )
        .select(INDEX, *sorted(read))
        .collect()
    )
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    flags = []
    for i, ref in enumerate(ds.references):
        target = accepted[ref.dataset]
        missing = _missing(candidates, target, ds, ref, zeros=False)
        only_zeros = (
            _missing(
                candidates.filter(pl.col(INDEX).is_in(missing.implode())),
                target,
                ds,
                ref,
                zeros=True,
            )
            if missing.len()
            else missing
        )
        zero_match = missing.filter(~missing.is_in(only_zeros.implode()))
        flags.append(row.is_in(only_zeros.implode()).alias(f"{REF}{i}"))
        flags.append(row.is_in(zero_match.implode()).alias(f"{ZREF}{i}"))
    return frame.with_columns(flags)


def _missing(
    rows: pl.DataFrame, target: pl.DataFrame, ds: Dataset, ref: Reference, *, zeros: bool
) -> pl.Series:
    """Row indices of ``rows`` whose reference key is not among ``target``'s keys; with
    ``zeros``, identifiers are compared without their leading zeros."""

    def key(frame_ds: Dataset, column: str) -> str:
        is_id = frame_ds.column(column).kind is Kind.ID
        return ZEROS + column if zeros and is_id else column

    target_ds = DATASETS[ref.dataset]
    left_on = [pl.col(key(ds, c)) for c in ref.columns]
    right_on = [key(target_ds, c) for c in ref.target_columns]
    # a key with a null is no key (a date has a fiscal year exactly when it is not null)
    present = pl.all_horizontal([e.is_not_null() for e in left_on])
    if ref.fiscal_year_from is not None:
        present = present & pl.col(ref.fiscal_year_from).is_not_null()
        left_on = [fiscal_year_of(pl.col(ref.fiscal_year_from)), *left_on]
        right_on = ["fiscal_year", *right_on]
    keys = target.select(right_on)  # an anti join needs no unique right side
    names = [f"__k{j}" for j in range(len(left_on))]
    aliased = [e.alias(n) for n, e in zip(names, left_on, strict=True)]
    numbered = _key_numbers(rows, ds, ref, zeros=zeros) if rows.height >= NUMBERED_FROM else None
    if numbered is None:
        left = rows.filter(present).select(INDEX, *aliased)
        return left.join(keys, left_on=names, right_on=right_on, how="anti")[INDEX]
    # Equal numbers hold equal keys: each key is looked up once (the 30,000-staff city's
    # 2.9 million attendance rows hold about 80,000 staff keys), then its rows are found by
    # its number.
    left = numbered.filter(present)
    once = left.gather(left[_KEY_NUMBER].arg_unique()).select(_KEY_NUMBER, *aliased)
    absent = once.join(keys, left_on=names, right_on=right_on, how="anti")[_KEY_NUMBER]
    return left.filter(pl.col(_KEY_NUMBER).is_in(absent.implode()))[INDEX]


_KEY_NUMBER = "__key_number__"
#: From this many rows to check, a reference's keys are numbered and each looked up once
#: (:func:`_key_numbers`); below it the join of every row is cheaper (a 300-staff town's
#: references: 23 ms a city by the join, 30 ms numbered).
NUMBERED_FROM = 50_000


def _key_numbers(
    rows: pl.DataFrame, ds: Dataset, ref: Reference, *, zeros: bool
) -> pl.DataFrame | None:
    """``rows`` with a number per row (:data:`_KEY_NUMBER`) that is equal where the
    reference's key is: the mixed-radix number (:func:`mixed_radix`) of each column's
    :data:`CODE` (:data:`ZCODE` for an identifier compared without its leading zeros) and of
    the fiscal year (read on each distinct date when the date has a code). None when a column
    has no code in ``rows``, or the number would not fit."""
    codes: list[pl.Series] = []
    if ref.fiscal_year_from is not None:
        date = ref.fiscal_year_from
        if CODE + date in rows.columns:
            at = rows[CODE + date].cast(pl.UInt32)
            per_date = first_of_each(rows[date], at)
            year = pl.select(fiscal_year_of(pl.lit(per_date))).to_series()
            year = take(year, at, "year")
        else:
            year = rows.select(fiscal_year_of(pl.col(date))).to_series()
        codes.append(_dense_codes(year))
    for c in ref.columns:
        code = (ZCODE if zeros and ds.column(c).kind is Kind.ID else CODE) + c
        if code not in rows.columns:
            return None
        codes.append(rows[code].cast(pl.UInt64))
    number = mixed_radix(codes)
    return None if number is None else rows.with_columns(number.alias(_KEY_NUMBER))


def reference_keys(ds: Dataset, accepted: pl.DataFrame) -> pl.DataFrame:
    """What other datasets' references look up in ``ds``'s accepted rows: its columns and the
    ``_zeros_`` column of each identifier (kept in memory for :func:`flag_references`, never
    written)."""
    zeros = [ZEROS + c.name for c in ds.columns if c.kind is Kind.ID]
    return accepted.select(*ds.column_names, *zeros)


def is_bad(ds: Dataset) -> pl.Expr:
    """True for a row that breaks any rule (row rule, duplicate key or reference)."""
    refs = [pl.col(f"{p}{i}") for i in range(len(ds.references)) for p in (REF, ZREF)]
    zero = [pl.col(f"{ZERO}{j}") for j in range(len(ds.zero_variant_columns))]
    return pl.any_horizontal(pl.col(BITS) != 0, *zero, pl.col(DUP), pl.col(CONFLICT), *refs)


def with_rules(ds: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_rules``: the list of rule ids each row breaks, in catalogue order (no rows: the
    empty column, without planning the lists)."""
    if not frame.height:
        return frame.hstack([pl.Series(RULES, [], dtype=pl.List(pl.String))])
    ids = [rid for rid, _ in violation_exprs(ds)]
    parts = [
        pl.when((pl.col(BITS) & pl.lit(1 << i, pl.UInt64)) != 0).then(pl.lit(rid))
        for i, rid in enumerate(ids)
    ]
    parts.extend(
        pl.when(pl.col(f"{ZERO}{j}")).then(pl.lit(f"{ds.name}.{column}.{ZERO_VARIANT}"))
        for j, column in enumerate(ds.zero_variant_columns)
    )
    parts.append(pl.when(pl.col(DUP)).then(pl.lit(f"{ds.name}.duplicate_key")))
    parts.append(pl.when(pl.col(CONFLICT)).then(pl.lit(f"{ds.name}.key_conflict")))
    cols = frame.columns
    for i, ref in enumerate(ds.references):
        if f"{REF}{i}" in cols:
            parts.append(pl.when(pl.col(f"{REF}{i}")).then(pl.lit(ref.id)))
            parts.append(pl.when(pl.col(f"{ZREF}{i}")).then(pl.lit(ref.leading_zeros_id)))
    return frame.with_columns(pl.concat_list(parts).list.drop_nulls().alias(RULES))
