"""Script-injection payloads planted in every free-text and name column of a raw city.

:func:`plant_payloads` rewrites the raw files in place (CSV in their own encoding, XLSX with
openpyxl): every non-empty cell of a contract column of kind ``text`` (department and division
names, course names, proposal titles and categories, project names, post titles) gets
:data:`SUFFIX` — all the payloads — appended, so every place a name reaches a page carries each
of them. ID columns are left alone (ingest quarantines such identifiers).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from dxkpi.catalogue.contract import DATASETS, Kind

__all__ = ["PAYLOADS", "SUFFIX", "TEXT_HEADERS", "plant_payloads"]

PAYLOADS: tuple[str, ...] = (
    '<iframe src="javascript:alert(5)"></iframe>',
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(2))",
    '<a href="javascript:alert(3)">x</a>',
    "<script>alert(4)</script>",
    '"><svg onload=alert(6)>',
)
SUFFIX = " " + " ".join(PAYLOADS)

#: Headers (English name or Japanese label) of every free-text column of the contract.
TEXT_HEADERS: frozenset[str] = frozenset(
    h for ds in DATASETS.values() for c in ds.columns if c.kind is Kind.TEXT for h in (c.name, c.ja)
)


def _encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def _plant_csv(path: Path) -> int:
    data = path.read_bytes()
    encoding = _encoding(data)
    newline = "\r\n" if b"\r\n" in data else "\n"
    rows = list(csv.reader(io.StringIO(data.decode(encoding), newline="")))
    columns = [i for i, h in enumerate(rows[0]) if h in TEXT_HEADERS] if rows else []
    for row in rows[1:]:
        for i in columns:
            if i < len(row) and row[i]:
                row[i] += SUFFIX
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=newline).writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return len(columns)


def _plant_xlsx(path: Path) -> int:
    book = openpyxl.load_workbook(path)
    planted = 0
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]] if sheet.max_row else []
        columns = [i for i, h in enumerate(header) if h in TEXT_HEADERS]
        planted += len(columns)
        for row in sheet.iter_rows(min_row=2):
            for i in columns:
                if isinstance(row[i].value, str) and row[i].value:
                    row[i].value += SUFFIX
    book.save(path)
    return planted


def plant_payloads(raw: Path) -> int:
    """Append :data:`SUFFIX` to every free-text cell of the raw files in ``raw``; the number of
    columns planted."""
    planted = 0
    for path in sorted(raw.rglob("*")):
        if path.suffix.lower() == ".csv":
            planted += _plant_csv(path)
        elif path.suffix.lower() == ".xlsx":
            planted += _plant_xlsx(path)
    return planted
