"""What an XLSX sheet holds besides its values, read from the workbook's XML before the values.

The value reader (calamine, through fastexcel) builds a dense table from the first to the last
cell holding a value: one stray cell at ``XFD1048576`` makes it ask for 512 GiB and abort the
process. It also turns Excel error cells (``#N/A``, ``#DIV/0!``…) and formulas whose result was
never saved into empty cells, and starts its table at the first row holding a value, so it does
not say which sheet row a table row came from. This module reads the sheet's XML once to learn:

* the extent of the cells holding a value, checked by :func:`check_extent` before any value is
  loaded (a sheet may span at most ``max(MIN_EXTENT, EXTENT_RATIO × values)`` cells, never more
  than ``MAX_EXTENT``);
* the first and last row holding a value (the table's header row is the first);
* every error cell and every formula with no saved result (:class:`CellFault`);
* the hidden rows; and, from the workbook, each sheet's visibility (:func:`workbook_sheets`).

Files written by Excel and the common libraries put the cell reference first on every cell
(``<c r="B7" …>``); those are scanned with a few regular expressions over the XML. A sheet laid
out otherwise (cells without a reference, a namespace prefix) is scanned element by element,
with the same results, more slowly.

>>> column_index("A"), column_index("AA"), column_index("XFD")
(0, 26, 16383)
>>> column_letters(0), column_letters(26), column_letters(16383)
('A', 'AA', 'XFD')
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import polars as pl

from dxkpi.core.errors import ContractError, Where

__all__ = [
    "EXTENT_RATIO",
    "MAX_EXTENT",
    "MIN_EXTENT",
    "CellFault",
    "SheetInfo",
    "SheetScan",
    "check_extent",
    "column_index",
    "column_letters",
    "not_a_workbook",
    "scan_sheet",
    "workbook_sheets",
]

#: A sheet may always span this many cells (64 MiB in the value reader)…
MIN_EXTENT = 2_000_000
#: …or this many times the cells that hold a value (a sparse but real table)…
EXTENT_RATIO = 10
#: …but never more than this (1.6 GB in the value reader before any text).
MAX_EXTENT = 50_000_000

_CHUNK = 1 << 20  # bytes of sheet XML scanned at a time…
_BATCH = 32  # …and handed to polars together

# A cell with its reference first whose first child is a value or an inline string: it holds a
# value. Every other cell (empty, a formula, an empty value, white space) is looked at apart.
_VALUED_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>/]*><(?:v>[^<]|is>)')
# The cells of the last kind, with their content.
_OTHER_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"([^>/]*)>(?!<v>[^<]|<is>)(.*?)</c>', re.DOTALL
)
_ERROR_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>/]*\bt="e"[^>/]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?'
    rb"<v>([^<]*)</v>"
)
_FORMULA = re.compile(rb"<f\b[^>]*?(?:/>|>([^<]*)</f>)")
_VALUE = re.compile(rb"<v>([^<]*)</v>|<v\s*/>")
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_HIDDEN_ROW = re.compile(rb'<row r="([0-9]{1,7})"[^>]*?\bhidden="(?:1|true)"')
_OPENINGS = (b"<c ", b"<c>", b"<c/>")
_XML_ESCAPES = ((b"&lt;", b"<"), (b"&gt;", b">"), (b"&quot;", b'"'), (b"&apos;", b"'"))


def column_index(letters: str) -> int:
    """0-based index of a column given by its letters (``A`` → 0)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def column_letters(index: int) -> str:
    """The letters of the column with 0-based ``index`` (0 → ``A``)."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass(frozen=True)
class SheetInfo:
    """One sheet of a workbook: its name, visibility and the ZIP member holding its cells."""

    name: str
    state: str  # visible | hidden | veryHidden
    member: str


@dataclass(frozen=True)
class CellFault:
    """A cell holding no usable value: an Excel error, or a formula whose result was never
    saved. ``text`` is the error (``#N/A``) or the formula (``=SUM(B2:B9)``)."""

    row: int  # sheet row number (1-based)
    column: int  # 0-based column index
    text: str


@dataclass(frozen=True)
class SheetScan:
    """What the sheet's XML says about its cells (rows 1-based, columns 0-based)."""

    values: int  # cells holding a value
    first_row: int | None  # first row holding a value: the table's header row
    last_row: int | None
    first_column: int | None
    last_column: int | None
    faults: tuple[CellFault, ...] = ()
    hidden_rows: tuple[int, ...] = ()

    @property
    def extent(self) -> int:
        """Cells in the rectangle from the first to the last value: what the reader allocates."""
        if self.first_row is None or self.last_row is None:
            return 0
        assert self.first_column is not None and self.last_column is not None
        rows = self.last_row - self.first_row + 1
        return rows * (self.last_column - self.first_column + 1)


def not_a_workbook(rel: str, err: Exception) -> ContractError:
    """The file fault for a file that does not open as an XLSX workbook."""
    return ContractError(
        "XLSX ファイルとして開けません（壊れているか、XLSX ではありません）",
        f"cannot open as an XLSX workbook ({type(err).__name__}: {err})",
        where=Where(file=rel),
        hint_ja="Excel で開いて「名前を付けて保存」から .xlsx で保存し直してください。",
        hint_en="Open it in Excel and save it again as .xlsx.",
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ElementTree.Element, local: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == local:
            return value
    return None


def _relationships(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id → target member of ``part`` (targets resolved against the part's folder)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels not in zf.namelist():
        return {}
    out: dict[str, str] = {}
    for el in ElementTree.fromstring(zf.read(rels)):
        target, rid = el.get("Target"), el.get("Id")
        if target is None or rid is None:
            continue
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[rid] = posixpath.normpath(resolved)
    return out


def _workbook_part(zf: zipfile.ZipFile) -> str:
    for target in _relationships(zf, "").values():
        if target.endswith(".xml") and "workbook" in posixpath.basename(target).lower():
            return target
    return "xl/workbook.xml"


def workbook_sheets(path: Path, rel: str) -> list[SheetInfo]:
    """The sheets of the workbook at ``path``, in workbook order; a file fault if it is not one."""
    try:
        with zipfile.ZipFile(path) as zf:
            book = _workbook_part(zf)
            targets = _relationships(zf, book)
            root = ElementTree.fromstring(zf.read(book))
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError) as err:
        raise not_a_workbook(rel, err) from err
    sheets: list[SheetInfo] = []
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        name, rid = el.get("name"), _attr(el, "id")
        if name is None or rid is None or rid not in targets:
            raise not_a_workbook(rel, ValueError(f"sheet {name!r} has no part"))
        sheets.append(SheetInfo(name, el.get("state", "visible"), targets[rid]))
    return sheets


@dataclass
class _Tally:
    """Running totals of a scan (rows 1-based, columns 0-based)."""

    values: int = 0
    first_row: int | None = None
    last_row: int | None = None
    first_column: int | None = None
    last_column: int | None = None
    faults: list[CellFault] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)

    def rows(self, low: int, high: int) -> None:
        self.first_row = low if self.first_row is None else min(self.first_row, low)
        self.last_row = high if self.last_row is None else max(self.last_row, high)

    def columns(self, low: int, high: int) -> None:
        self.first_column = low if self.first_column is None else min(self.first_column, low)
        self.last_column = high if self.last_column is None else max(self.last_column, high)

    def value_at(self, row: int, column: int) -> None:
        self.values += 1
        self.rows(row, row)
        self.columns(column, column)

    def scan(self) -> SheetScan:
        faults = tuple(sorted(set(self.faults), key=lambda f: (f.row, f.column)))
        return SheetScan(
            self.values,
            self.first_row,
            self.last_row,
            self.first_column,
            self.last_column,
            faults,
            tuple(sorted(set(self.hidden))),
        )


def _unescape(raw: bytes) -> str:
    for entity, char in _XML_ESCAPES:
        raw = raw.replace(entity, char)
    return raw.replace(b"&amp;", b"&").decode("utf-8", errors="replace")


def _formula_text(formula: str) -> str:
    """How a formula without a result shows in quarantine (a shared formula has no text of its
    own: it repeats another cell's)."""
    return f"={formula}" if formula else "=(共有数式 / shared formula)"


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The sheet XML in pieces that each end after a ``</row>`` (the last: wherever it ends)."""
    carry = b""
    while block := stream.read(_CHUNK):
        buf = carry + block
        cut = buf.rfind(b"</row>")
        if cut < 0:
            carry = buf
            continue
        carry = buf[cut + 6 :]
        yield buf[: cut + 6]
    if carry:
        yield carry


def _other_cell(tally: _Tally, col: bytes, row: bytes, attrs: bytes, body: bytes) -> None:
    """A cell whose content is not a plain value: a formula, an empty value, white space."""
    kind = _TYPE.search(attrs)
    cell_type = kind.group(1) if kind else b"n"
    value = _VALUE.search(body)
    text = None if value is None else (value.group(1) or b"")
    holds = text is not None and (text != b"" or cell_type in (b"str", b"inlineStr"))
    r, c = int(row), column_index(col.decode())
    if holds:
        tally.value_at(r, c)
    formula = _FORMULA.search(body)
    if formula is not None and not holds:
        tally.faults.append(CellFault(r, c, _formula_text(_unescape(formula.group(1) or b""))))


def _scan_batch(tally: _Tally, batch: list[bytes]) -> bool:
    """Tally a batch of XML pieces; False when a cell does not carry its reference first.

    The cells are counted and the cells holding a value found with regular expressions in polars
    (Rust, in parallel over the pieces); the cells holding something else (formulas, empty
    values), error cells and hidden rows are looked at only in the pieces that have some.
    """
    text = pl.Series("xml", batch, dtype=pl.Binary).cast(pl.String)
    pieces = text.to_frame().select(
        pl.col("xml").str.count_matches(r"<c[\s>/]").alias("cells"),
        pl.col("xml").str.count_matches('<c r="', literal=True).alias("refs"),
        pl.col("xml").str.extract_all(_VALUED_CELL.pattern.decode()).alias("found"),
        pl.col("xml").str.contains('t="e"', literal=True).alias("errors"),
        pl.col("xml").str.contains("hidden=", literal=True).alias("hidden"),
    )
    if not pieces["cells"].equals(pieces["refs"]):
        return False
    valued = pieces["found"].list.len().to_list()
    for chunk, n, (cells, _, _, errors, hidden) in zip(
        batch, valued, pieces.iter_rows(), strict=True
    ):
        if n != cells:
            for col, row, attrs, body in _OTHER_CELL.findall(chunk):
                _other_cell(tally, col, row, attrs, body)
        if errors:
            for col, row, err in _ERROR_CELL.findall(chunk):
                tally.faults.append(CellFault(int(row), column_index(col.decode()), _unescape(err)))
        if hidden:
            tally.hidden.extend(int(r) for r in _HIDDEN_ROW.findall(chunk))
    if sum(valued) == 0:
        return True
    refs = (
        pieces["found"]
        .explode()
        .drop_nulls()
        .str.extract_groups(r'^<c r="([A-Z]+)([0-9]+)"')
        .struct.unnest()
    )
    row = pl.col("2").cast(pl.Int64)
    low, high = refs.select(row.min().alias("low"), row.max().alias("high")).row(0)
    cols = [column_index(c) for c in refs["1"].unique().to_list()]
    tally.values += refs.height
    tally.rows(low, high)
    tally.columns(min(cols), max(cols))
    return True


def _scan_fast(stream: IO[bytes]) -> _Tally | None:
    """Scan a sheet whose cells all carry their reference first; None for any other layout."""
    tally = _Tally()
    batch: list[bytes] = []
    for i, chunk in enumerate(_chunks(stream)):
        if i == 0 and b":sheetData" in chunk:  # namespace prefixes: not the usual layout
            return None
        batch.append(chunk)
        if len(batch) == _BATCH:
            if not _scan_batch(tally, batch):
                return None
            batch = []
    if batch and not _scan_batch(tally, batch):
        return None
    return tally


def _split_ref(ref: str) -> tuple[int, int]:
    match = re.fullmatch(r"([A-Za-z]{1,3})([0-9]{1,7})", ref)
    if match is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match.group(2)), column_index(match.group(1).upper())


def _scan_elements(stream: IO[bytes]) -> _Tally:
    """Scan any sheet layout element by element, placing cells without a reference as the
    value reader does (the next row, the next column)."""
    tally = _Tally()
    row, col = 0, -1
    for event, el in ElementTree.iterparse(stream, events=("start", "end")):
        tag = _local(el.tag)
        if event == "start":
            if tag == "row":
                row, col = int(el.get("r") or row + 1), -1
                if el.get("hidden") in ("1", "true"):
                    tally.hidden.append(row)
            continue
        if tag == "c":
            ref = el.get("r")
            row, col = _split_ref(ref) if ref else (row, col + 1)
            _element_cell(tally, el, row, col)
            el.clear()
        elif tag == "row":
            el.clear()
    return tally


def _element_cell(tally: _Tally, el: ElementTree.Element, row: int, col: int) -> None:
    cell_type = el.get("t", "n")
    parts = {_local(child.tag): child for child in el}
    value = parts.get("v")
    text = None if value is None else (value.text or "")
    holds = "is" in parts or (text is not None and (text != "" or cell_type == "str"))
    if holds:
        tally.value_at(row, col)
    if cell_type == "e" and text:
        tally.faults.append(CellFault(row, col, text))
    elif "f" in parts and not holds:
        tally.faults.append(CellFault(row, col, _formula_text(parts["f"].text or "")))


def scan_sheet(path: Path, sheet: SheetInfo, rel: str) -> SheetScan:
    """Scan one sheet's XML (see the module docstring); a file fault if the workbook breaks."""
    try:
        with zipfile.ZipFile(path) as zf:
            with zf.open(sheet.member) as stream:
                tally = _scan_fast(stream)
            if tally is None:
                with zf.open(sheet.member) as stream:
                    tally = _scan_elements(stream)
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as err:
        raise not_a_workbook(rel, err) from err
    return tally.scan()


def check_extent(scan: SheetScan, rel: str, sheet: str) -> None:
    """Refuse a sheet whose values span far more cells than it holds (a stray far cell)."""
    limit = min(MAX_EXTENT, max(MIN_EXTENT, EXTENT_RATIO * scan.values))
    if scan.extent <= limit:
        return
    assert scan.first_row is not None and scan.last_row is not None
    assert scan.first_column is not None and scan.last_column is not None
    first = f"{column_letters(scan.first_column)}{scan.first_row}"
    last = f"{column_letters(scan.last_column)}{scan.last_row}"
    raise ContractError(
        f"シート「{sheet}」の範囲 {first}:{last} は {scan.extent:,} セルあり、値のあるセル "
        f"{scan.values:,} 個に比べて大きすぎます（上限 {limit:,} セル）",
        f"sheet '{sheet}' spans {first}:{last}, {scan.extent:,} cells, for {scan.values:,} "
        f"cells holding a value (at most {limit:,} cells are read)",
        where=Where(file=rel),
        hint_ja=f"表から離れたセル（{last} など）の内容を削除し、保存し直してください。",
        hint_en=f"Delete the contents of cells far from the table (such as {last}) and save again.",
    )
