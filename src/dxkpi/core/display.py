"""How a result shows itself in a terminal and in JupyterLab: value, interval, size, a line.

Result classes of the models (a DiD estimate, a contrast, a KPI→KGI link) build their
``__repr__`` and ``_repr_html_`` from :class:`Shown`, so every estimate an analyst prints looks
the same: its value, its interval, how many units it rests on, and one plain sentence. Every
piece of text is HTML-escaped here, once.

>>> s = Shown("ATT", 0.0459, (0.0288, 0.063), [("employees", 2030)], "more proposals")
>>> print(s.text())
ATT 0.0459 (95% CI 0.0288 to 0.063); employees 2,030 — more proposals
>>> "<table" in s.html() and "&lt;" in Shown("a<b", 1.0, None, [], "").html()
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["TEXT_MIN", "Column", "FittedTable", "Shown", "fit_tables", "number"]


def number(x: float | int | None, digits: int = 4) -> str:
    """A number for a repr: integers with thousands separators, floats to ``digits`` significant.

    >>> number(2030), number(0.045912), number(None), number(float("nan"))
    ('2,030', '0.04591', '—', '—')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.{digits}g}"


@dataclass(frozen=True)
class Shown:
    """What a result shows: a name, its value and interval, its sizes, and one sentence."""

    name: str
    value: float | None
    interval: tuple[float, float] | None
    sizes: Sequence[tuple[str, int]]
    sentence: str
    level: str = "95%"

    def _interval_text(self) -> str:
        if self.interval is None:
            return "no interval"
        lo, hi = self.interval
        return f"{self.level} CI {number(lo)} to {number(hi)}"

    def text(self) -> str:
        """One line: ``name value (interval); sizes — sentence``."""
        sizes = ", ".join(f"{label} {number(n)}" for label, n in self.sizes)
        head = f"{self.name} {number(self.value)} ({self._interval_text()})"
        parts = [head + (f"; {sizes}" if sizes else "")]
        if self.sentence:
            parts.append(self.sentence)
        return " — ".join(parts)

    def html(self) -> str:
        """A small escaped HTML table with the same content, for JupyterLab."""
        e = html.escape
        rows = [("estimate", number(self.value)), ("interval", self._interval_text())]
        rows += [(label, number(n)) for label, n in self.sizes]
        body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
        caption = f"<caption>{e(self.name)}</caption>"
        note = f"<p>{e(self.sentence)}</p>" if self.sentence else ""
        return f'<table class="dxkpi-result">{caption}{body}</table>{note}'


# ------------------------------------------------------------------ terminal tables


@dataclass(frozen=True)
class Column:
    """A column of a terminal table (:func:`fit_tables`).

    ``numeric``: right-aligned and never wrapped, cut or shortened — the column is as wide as
    its widest value. ``common``: when every row holds the same value, it is said once in the
    title instead of on every row (a year, a grouping). ``split``: when the table does not fit
    the width, one table per value of this column, named in its title (a KPI)."""

    header: str
    numeric: bool = False
    justify: Literal["left", "center", "right"] | None = None
    common: bool = False
    split: bool = False
    said: str = "{header} {value}"  # how the title says a common value ("{value}別")
    whole: bool = False  # a text kept on one line where there is room (a department's name)
    optional: bool = False  # left out when it cannot be shown whole (said elsewhere too)


#: The narrowest a wrapping text column is made (cells; a Japanese character takes two).
TEXT_MIN = 10


def _width(column: Column, cells: Sequence[str]) -> int:
    from rich.cells import cell_len

    words = [cell_len(w) for w in column.header.split()] or [0]
    lines = [cell_len(line) for cell in cells for line in cell.splitlines()] or [0]
    return max(max(words), max(lines))


def _fits(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> bool:
    need = 3 * len(columns) + 1  # borders and padding
    for i, column in enumerate(columns):
        cells = [row[i] for row in rows]
        need += _width(column, cells) if column.numeric else min(TEXT_MIN, _width(column, cells))
    return need <= width


def fit_tables(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int,
    caption: str = "",
) -> list[Any]:
    """Rich renderables showing ``rows`` within ``width`` terminal cells, numbers whole.

    Columns empty in every row are left out, and ``optional`` ones that cannot be whole; a
    ``common`` column holding one value goes to the title; numeric columns keep their full
    width, ``whole`` text columns too where there is room, other text columns wrap; when even
    that does not fit, one table per value of the ``split`` column, and as a last resort one
    block of ``header: value`` lines per row. Cells are plain text, never console markup.

    >>> import io
    >>> from rich.console import Console
    >>> cols = [Column("指標", split=True), Column("年度", common=True), Column("値", numeric=True),
    ...         Column("備考")]
    >>> rows = [["研修参加率", "2025年度", "1,234,567.5", ""], ["提案率", "2025年度", "12.5%", ""]]
    >>> console = Console(width=40, file=io.StringIO(), record=True)
    >>> for part in fit_tables("KPI", cols, rows, 40):
    ...     console.print(part)
    >>> text = console.export_text()
    >>> "1,234,567.5" in text and "年度 2025年度" in text and "備考" not in text
    True
    """
    from rich.table import Table
    from rich.text import Text

    keep = [i for i in range(len(columns)) if any(row[i] for row in rows)]
    said: list[str] = []
    if len(rows) > 1:
        for i in list(keep):
            values = {row[i] for row in rows}
            if columns[i].common and len(values) == 1:
                said.append(columns[i].said.format(header=columns[i].header, value=values.pop()))
                keep.remove(i)
    for i in list(keep):  # an optional column that cannot be whole is left out
        if columns[i].optional:
            whole = [replace(c, numeric=c.numeric or j == i) for j, c in enumerate(columns)]
            shown = [j for j in keep if j == i or not columns[j].optional]
            if not _fits([whole[j] for j in shown], [[r[j] for j in shown] for r in rows], width):
                keep.remove(i)
    columns = [columns[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    heading = f"{title}（{'・'.join(said)}）" if said else title
    if not _fits(columns, rows, width):
        split = next((i for i, c in enumerate(columns) if c.split), None)
        if split is not None and len({row[split] for row in rows}) > 1:
            parts: list[Any] = []
            groups: dict[str, list[Sequence[str]]] = {}
            for row in rows:
                groups.setdefault(row[split], []).append(row)
            rest = [c for i, c in enumerate(columns) if i != split]
            for value, group in groups.items():
                cells = [[cell for i, cell in enumerate(row) if i != split] for row in group]
                parts += fit_tables(f"{heading} — {value}", rest, cells, width)
            if caption:
                parts.append(Text(caption))
            return parts
        if len(columns) > 1:
            return _records(heading, columns, rows, caption)
    table = Table(title=Text(heading), caption=Text(caption) if caption else None)
    natural = [_width(c, [row[i] for row in rows]) for i, c in enumerate(columns)]
    fixed = [c.numeric for c in columns]
    for i, column in enumerate(columns):  # text kept whole (a department name) where room is
        if column.whole:
            trial = [*fixed[:i], True, *fixed[i + 1 :]]
            need = (
                3 * len(columns)
                + 1
                + sum(
                    natural[j] if trial[j] else min(TEXT_MIN, natural[j])
                    for j in range(len(columns))
                )
            )
            if need <= width:
                fixed = trial
    for i, column in enumerate(columns):
        justify = column.justify or ("right" if column.numeric else "left")
        table.add_column(
            Text(column.header),
            justify=justify,
            width=natural[i] if fixed[i] else None,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return [table]


@dataclass(frozen=True)
class FittedTable:
    """A table that fits itself to the console it is printed on (:func:`fit_tables`)."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    caption: str = ""

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from fit_tables(self.title, self.columns, self.rows, options.max_width, self.caption)


def _records(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], caption: str
) -> list[Any]:
    """One block of ``header: value`` lines per row, for a width no table fits."""
    from rich.text import Text

    lines = [title]
    for row in rows:
        lines.append("")
        lines += [f"{c.header}: {cell}" for c, cell in zip(columns, row, strict=True) if cell]
    if caption:
        lines += ["", caption]
    return [Text("\n".join(lines))]
