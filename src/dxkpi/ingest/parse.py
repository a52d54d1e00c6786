"""Vectorised parsers from raw text cells to typed values, one polars expression per column kind.

Raw cells arrive as text. Numbers, dates, fiscal years, codes and IDs are NFKC-normalised
(full-width ``２０２５`` → ``2025``, NBSP and full-width spaces trimmed); free text is kept
verbatim. Each parser returns the parsed value, or null where the cell is empty or unparseable;
:func:`parse_failed` tells the two apart, and :func:`column_fault` names the faults that have a
rule of their own (a number with ambiguous separators or too large to hold, an identifier
outside the contract's character set — :func:`id_problem` says which character and where).

>>> import polars as pl
>>> df = pl.DataFrame({"d": ["2025-04-01", "2025/4/1", "令和7年4月1日", "R7.4.1", "x"]})
>>> parsed = df.select(parse_date(pl.col("d"))).to_series().to_list()
>>> parsed[:4] == [datetime.date(2025, 4, 1)] * 4, parsed[4]
(True, None)
"""

from __future__ import annotations

import datetime
import unicodedata

import polars as pl

from dxkpi.catalogue.contract import (
    ID_FAULT,
    ID_MAX_LENGTH,
    ID_PATTERN,
    NUMBER_FAULTS,
    Column,
    Kind,
    code_lookup,
)
from dxkpi.catalogue.labels import label

__all__ = [
    "ERAS",
    "char_class",
    "code_lookup",
    "column_fault",
    "fiscal_year_text",
    "id_fault",
    "id_problem",
    "is_empty",
    "normalise",
    "number_fault",
    "parse_boolean",
    "parse_code",
    "parse_column",
    "parse_date",
    "parse_failed",
    "parse_fiscal_year",
    "parse_id",
    "parse_integer",
    "parse_number",
    "parse_text",
]

# Era start dates (元年 = year 1) and the last valid day of each era.
ERAS: tuple[tuple[str, str, datetime.date, datetime.date], ...] = (
    ("明治", "M", datetime.date(1868, 1, 25), datetime.date(1912, 7, 29)),
    ("大正", "T", datetime.date(1912, 7, 30), datetime.date(1926, 12, 24)),
    ("昭和", "S", datetime.date(1926, 12, 25), datetime.date(1989, 1, 7)),
    ("平成", "H", datetime.date(1989, 1, 8), datetime.date(2019, 4, 30)),
    ("令和", "R", datetime.date(2019, 5, 1), datetime.date(9999, 12, 31)),
)

_ERA_ALT = "|".join(e for era in ERAS for e in era[:2])
_WAREKI_DATE = (
    rf"^({_ERA_ALT})\s*(元|[0-9]{{1,2}})\s*[年.\-/]\s*([0-9]{{1,2}})\s*[月.\-/]\s*"
    r"([0-9]{1,2})\s*日?$"
)
_WESTERN_DATE = (
    r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
)
_COMPACT_DATE = r"^([0-9]{4})([0-9]{2})([0-9]{2})$"
_EXCEL_SERIAL = r"^([0-9]{5})(?:\.0+)?$"
_WAREKI_YEAR = rf"^({_ERA_ALT})\s*(元|[0-9]{{1,2}})\s*(?:年度|年)?$"
_WESTERN_YEAR = r"^(?:FY\s*)?([0-9]{4})\s*(?:年度|年)?$"

#: A number: digits, optionally grouped by commas in threes, a decimal point, an exponent.
_NUMBER = (
    r"^[+-]?(?:(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
)
#: Digits mixed with commas and periods: a number whose separators do not read one way.
_DIGITS_AND_SEPARATORS = r"^[+-]?[0-9.,]*[0-9][0-9.,]*$"

_TRUE = ("true", "t", "1", "yes", "y", "はい", "○", "〇", "◯", "有", "あり")
_FALSE = ("false", "f", "0", "no", "n", "いいえ", "×", "✕", "x", "無", "なし")


def normalise(raw: pl.Expr) -> pl.Expr:
    """NFKC-normalised, trimmed text; empty becomes null. For IDs, codes, numbers and dates."""
    text = raw.str.normalize("NFKC").str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


def is_empty(raw: pl.Expr) -> pl.Expr:
    """True where a raw cell is missing or only white space."""
    return normalise(raw).is_null()


def _era_start_year(era: pl.Expr) -> pl.Expr:
    expr = pl.lit(None, dtype=pl.Int32)
    for kanji, letter, start, _ in ERAS:
        expr = (
            pl.when(era.is_in([kanji, letter])).then(pl.lit(start.year, pl.Int32)).otherwise(expr)
        )
    return expr


def _era_bounds(era: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    lo = pl.lit(None, dtype=pl.Date)
    hi = pl.lit(None, dtype=pl.Date)
    for kanji, letter, start, end in ERAS:
        hit = era.is_in([kanji, letter])
        lo = pl.when(hit).then(pl.lit(start)).otherwise(lo)
        hi = pl.when(hit).then(pl.lit(end)).otherwise(hi)
    return lo, hi


def _era_number(n: pl.Expr) -> pl.Expr:
    return pl.when(n == "元").then(pl.lit(1, pl.Int32)).otherwise(n.cast(pl.Int32, strict=False))


def _ymd(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    text = pl.format(
        "{}-{}-{}",
        y.cast(pl.Int32).cast(pl.String).str.zfill(4),
        m.cast(pl.Int32).cast(pl.String).str.zfill(2),
        d.cast(pl.Int32).cast(pl.String).str.zfill(2),
    )
    return text.str.to_date("%Y-%m-%d", strict=False)


def parse_date(raw: pl.Expr) -> pl.Expr:
    """Calendar date from ISO, slash, 年月日, wareki (令和7年4月1日, R7.4.1) or an Excel serial."""
    text = normalise(raw).str.to_uppercase()
    w = text.str.extract_groups(_WAREKI_DATE)
    era = w.struct.field("1")
    wy = _era_start_year(era) + _era_number(w.struct.field("2")) - 1
    wdate = _ymd(wy, w.struct.field("3").cast(pl.Int32), w.struct.field("4").cast(pl.Int32))
    lo, hi = _era_bounds(era)
    wdate = pl.when((wdate >= lo) & (wdate <= hi)).then(wdate)
    g = text.str.extract_groups(_WESTERN_DATE)
    gdate = _ymd(
        g.struct.field("1").cast(pl.Int32, strict=False),
        g.struct.field("2").cast(pl.Int32, strict=False),
        g.struct.field("3").cast(pl.Int32, strict=False),
    )
    c = text.str.extract_groups(_COMPACT_DATE)
    cdate = _ymd(
        c.struct.field("1").cast(pl.Int32, strict=False),
        c.struct.field("2").cast(pl.Int32, strict=False),
        c.struct.field("3").cast(pl.Int32, strict=False),
    )
    serial = text.str.extract(_EXCEL_SERIAL, 1).cast(pl.Int64, strict=False)
    sdate = pl.when(serial.is_between(20000, 80000)).then(
        pl.lit(datetime.date(1899, 12, 30)) + pl.duration(days=serial)
    )
    return pl.coalesce(wdate, gdate, cdate, sdate.cast(pl.Date))


def parse_fiscal_year(raw: pl.Expr) -> pl.Expr:
    """Fiscal year (年度) as the year it starts in: 2025, 2025年度, 令和7年度, R7, FY2025."""
    text = normalise(raw).str.to_uppercase()
    w = text.str.extract_groups(_WAREKI_YEAR)
    wy = _era_start_year(w.struct.field("1")) + _era_number(w.struct.field("2")) - 1
    western = text.str.extract(_WESTERN_YEAR, 1).cast(pl.Int32, strict=False)
    year = pl.coalesce(wy, western)
    return pl.when(year.is_between(1900, 2200)).then(year).cast(pl.Int32)


def fiscal_year_text(text: str) -> int | None:
    """One fiscal year typed by a person (``--fy``), read by the rule of the data's fiscal-year
    columns (:func:`parse_fiscal_year`): the year it starts in, or None when it does not read.

    >>> [fiscal_year_text(x) for x in ("2025", "R7", "令和7年度", "2025年度", "ＦＹ２０２５", "x")]
    [2025, 2025, 2025, 2025, 2025, None]
    """
    value = pl.select(parse_fiscal_year(pl.lit(text, dtype=pl.String))).item()
    return None if value is None else int(value)


def _number_text(raw: pl.Expr) -> pl.Expr:
    """A number cell without its 円 and with △/▲ as a minus sign; a space between digits
    counts as a comma (a thousands separator, so it must group three digits too)."""
    return (
        normalise(raw)
        .str.replace(r"\s*円$", "")
        .str.replace(r"^[△▲−]\s*", "-")
        .str.replace(r"^([+-])\s+", "$1")
        .str.replace_all(r"\s+", ",")
    )


def _number_value(text: pl.Expr) -> pl.Expr:
    """The Float64 of well-formed number text (separators dropped), else null; may be ±inf."""
    well_formed = text.str.contains(_NUMBER)
    return pl.when(well_formed).then(text.str.replace_all(",", "").cast(pl.Float64, strict=False))


def parse_number(raw: pl.Expr) -> pl.Expr:
    """Finite decimal number; 円, △/▲ minus signs and commas grouping three digits accepted.

    Null where the cell is empty, not a number, has ambiguous separators (:func:`number_fault`)
    or overflows to infinity (``1e309``).

    >>> import polars as pl
    >>> df = pl.DataFrame({"x": ["1,234.5", "△5", "1.234,5", "12,34", "1e309"]})
    >>> df.select(parse_number(pl.col("x"))).to_series().to_list()
    [1234.5, -5.0, None, None, None]
    """
    value = _number_value(_number_text(raw))
    return pl.when(value.is_finite()).then(value)


def number_fault(raw: pl.Expr) -> pl.Expr:
    """Why a number cell that looks like a number is not accepted, as the suffix of its rule
    (:data:`dxkpi.catalogue.contract.NUMBER_FAULTS`); null otherwise.

    ``separators``: digits with commas or periods that do not read one way — a comma is a
    thousands separator only when it groups exactly three digits before the decimal point
    (``1,234``, ``12,345.6``), so ``1.234,5`` (a European decimal comma), ``12,34`` and
    ``1.234.567`` are refused rather than guessed. ``finite``: a well-formed number too large to
    hold (``1e309`` would become infinity).

    >>> import polars as pl
    >>> df = pl.DataFrame({"x": ["1.234,5", "12,34", "1e309", "1,234", "abc"]})
    >>> df.select(number_fault(pl.col("x"))).to_series().to_list()
    ['separators', 'separators', 'finite', None, None]
    """
    text = _number_text(raw)
    value = _number_value(text)
    separators, finite = NUMBER_FAULTS
    return (
        pl.when(value.is_not_null() & ~value.is_finite())
        .then(pl.lit(finite))
        .when(value.is_null() & text.str.contains(_DIGITS_AND_SEPARATORS))
        .then(pl.lit(separators))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def parse_integer(raw: pl.Expr) -> pl.Expr:
    """Whole number (a decimal with a fractional part does not parse)."""
    num = parse_number(raw)
    return pl.when(num == num.floor()).then(num).cast(pl.Int64, strict=False)


def parse_boolean(raw: pl.Expr) -> pl.Expr:
    """Boolean from true/false, 1/0, はい/いいえ, ○/×."""
    text = normalise(raw).str.to_lowercase()
    return (
        pl.when(text.is_in(list(_TRUE)))
        .then(pl.lit(True))
        .when(text.is_in(list(_FALSE)))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


def parse_code(raw: pl.Expr, col: Column) -> pl.Expr:
    """Canonical code for a value given as the English code or the Japanese label."""
    text = normalise(raw).str.to_lowercase()
    code = text.replace_strict(code_lookup(col), default=None, return_dtype=pl.String)
    if col.empty_code is not None:
        code = pl.when(text.is_null()).then(pl.lit(col.empty_code)).otherwise(code)
    if col.code_dtype == "int":
        return code.cast(pl.Int8)
    return code


def parse_id(raw: pl.Expr) -> pl.Expr:
    """Identifier or code as a string: NFKC, trimmed (leading zeros kept)."""
    return normalise(raw)


def id_fault(raw: pl.Expr) -> pl.Expr:
    """:data:`~dxkpi.catalogue.contract.ID_FAULT` where a non-empty identifier breaks the
    contract's identifier rule (:data:`~dxkpi.catalogue.contract.ID_PATTERN`), else null."""
    text = normalise(raw)
    return pl.when(text.is_not_null() & ~text.str.contains(ID_PATTERN)).then(pl.lit(ID_FAULT))


#: Zero-width characters, named apart from other invisible format characters.
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_ID_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ID_CHARS = _ID_START | frozenset("._-")


def char_class(ch: str) -> str:
    r"""The class of a character an identifier may not hold (a ``char_class`` label code).

    >>> [char_class(c) for c in ("\u200b", "/", " ", "\t", "総", "#")]
    ['zero_width', 'path', 'space', 'control', 'non_ascii', 'symbol']
    """
    category = unicodedata.category(ch)
    if ch in _ZERO_WIDTH:
        return "zero_width"
    if ch in "/\\":
        return "path"
    if category == "Cc":
        return "control"
    if category.startswith("Z") or ch.isspace():
        return "space"
    if category == "Cf":
        return "invisible"
    if category.startswith("M"):
        return "combining"
    if not ch.isascii():
        return "non_ascii"
    return "symbol"


def _char_name(ch: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: the code point and Unicode name, never the character."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def id_problem(text: str) -> tuple[str, str]:
    r"""Why a normalised identifier breaks the identifier rule, in Japanese and English: the first
    character it may not hold (code point, Unicode name, class) and its 1-based position, or its
    length — never the identifier itself, which may be a personnel-system ID.

    >>> id_problem("000\u200b124")[1]
    'U+200B ZERO WIDTH SPACE (zero-width character (invisible)) at position 4'
    """
    for pos, ch in enumerate(text, start=1):
        if pos == 1 and ch in _ID_CHARS and ch not in _ID_START:
            return (
                f"1文字目が {_char_name(ch)}（先頭は英字か数字）",
                f"starts with {_char_name(ch)} (an identifier starts with a letter or digit)",
            )
        if ch not in _ID_CHARS:
            cls = char_class(ch)
            return (
                f"{pos}文字目に {_char_name(ch)}（{label('char_class', cls, 'ja')}）",
                f"{_char_name(ch)} ({label('char_class', cls, 'en')}) at position {pos}",
            )
    return (
        f"{len(text)}文字（{ID_MAX_LENGTH}文字まで）",
        f"{len(text)} characters (at most {ID_MAX_LENGTH})",
    )


def parse_text(raw: pl.Expr) -> pl.Expr:
    """Free text, verbatim; a cell of only white space is empty."""
    return pl.when(is_empty(raw)).then(None).otherwise(raw)


def parse_column(col: Column, raw: pl.Expr) -> pl.Expr:
    """The parsed value of one contract column, typed as processed data stores it."""
    match col.kind:
        case Kind.ID:
            return parse_id(raw)
        case Kind.TEXT:
            return parse_text(raw)
        case Kind.CODE:
            return parse_code(raw, col)
        case Kind.DATE:
            return parse_date(raw)
        case Kind.FISCAL_YEAR:
            return parse_fiscal_year(raw)
        case Kind.NUMBER:
            return parse_number(raw)
        case Kind.INTEGER:
            return parse_integer(raw)
        case Kind.BOOLEAN:
            return parse_boolean(raw)
    raise ValueError(col.kind)  # pragma: no cover


def column_fault(col: Column, raw: pl.Expr) -> pl.Expr:
    """The named fault of a non-empty cell of ``col`` that is refused for a reason of its own
    (the suffix of its rule, such as ``separators``), null where there is none."""
    if col.kind in (Kind.NUMBER, Kind.INTEGER):
        return number_fault(raw)
    if col.kind is Kind.ID:
        return id_fault(raw)
    return pl.lit(None, dtype=pl.String)


def parse_failed(col: Column, raw: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    """True where a non-empty raw cell did not parse (wrong type, unknown code)."""
    return (~is_empty(raw)) & parsed.is_null()
