"""The XLSX sheet inspector: both ways of scanning a sheet agree, cells are placed where the value
reader puts them, and an absurd extent is refused before any value is loaded."""

from __future__ import annotations

import datetime
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import fastexcel
import openpyxl
import pytest

from dxkpi.core.errors import ContractError
from dxkpi.ingest.xlsx import (
    MIN_EXTENT,
    CellFault,
    SheetScan,
    check_extent,
    scan_sheet,
    workbook_sheets,
)


def _book(path: Path) -> Path:
    """A sheet with its table on row 3, an error cell, formulas without results (one on a row of
    its own), a time, a hidden row, an empty styled cell above the table; and a hidden sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "courses"
    sheet["A1"].number_format = "0.00"  # styled, empty: not a value
    sheet.append([])
    sheet.append(["course_id", "course_name", "hours"])
    sheet.append(["C01", "#N/A", 3])
    sheet.append(["C02", "x", "=C4*2"])
    sheet.append(["C03", "y", datetime.time(12, 30)])
    sheet["A8"] = "=A4"
    sheet.row_dimensions[5].hidden = True
    other = book.create_sheet("memo")
    other.sheet_state = "hidden"
    other["A1"] = "note"
    book.save(path)
    return path


def _rewrite(src: Path, dst: Path, edit: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data)
            zout.writestr(item, data)
    return dst


def _attributes_reordered(xml: bytes) -> bytes:
    """Cell references after the other attributes: the element-by-element scan is used."""
    return re.sub(rb'<c r="([A-Z]+[0-9]+)"([^>/]*?)(/?)>', rb'<c\2  r="\1"\3>', xml)


def _scan(path: Path) -> SheetScan:
    info = workbook_sheets(path, path.name)[0]
    return scan_sheet(path, info, path.name)


def test_scan_finds_table_faults_and_hidden_rows(tmp_path: Path) -> None:
    scan = _scan(_book(tmp_path / "b.xlsx"))
    assert (scan.first_row, scan.last_row, scan.first_column, scan.last_column) == (3, 6, 0, 2)
    assert scan.faults == (
        CellFault(4, 1, "#N/A"),
        CellFault(5, 2, "=C4*2"),
        CellFault(8, 0, "=A4"),
    )
    assert scan.hidden_rows == (5,)


def test_both_scans_agree(tmp_path: Path) -> None:
    book = _book(tmp_path / "b.xlsx")
    other = _rewrite(book, tmp_path / "reordered.xlsx", _attributes_reordered)
    with zipfile.ZipFile(other) as zf:
        assert b'<c r="' not in zf.read("xl/worksheets/sheet1.xml")
    assert _scan(other) == _scan(book)


def test_cells_without_reference_are_placed_like_the_value_reader(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["a", "b", "c"], ["1", "2", "3"], ["4", "5", "6"]):
        sheet.append(row)
    sheet.title = "s"
    book.save(tmp_path / "b.xlsx")
    # drop every cell reference of rows 2 and 3 (allowed: the cell follows the previous one)
    bare = _rewrite(
        tmp_path / "b.xlsx",
        tmp_path / "bare.xlsx",
        lambda xml: re.sub(rb'<c r="[A-Z]+[23]"', b"<c", xml),
    )
    scan = _scan(bare)
    loaded = fastexcel.read_excel(str(bare)).load_sheet_by_name("s", header_row=None)
    assert scan.last_row is not None and scan.first_row is not None
    assert scan.last_row - scan.first_row + 1 == loaded.to_polars().height == 3
    assert (scan.first_column, scan.last_column, scan.values) == (0, 2, 9)


def test_workbook_sheets_and_their_visibility(tmp_path: Path) -> None:
    sheets = workbook_sheets(_book(tmp_path / "b.xlsx"), "b.xlsx")
    assert [(s.name, s.state) for s in sheets] == [("courses", "visible"), ("memo", "hidden")]


def test_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ContractError, match="XLSX"):
        workbook_sheets(tmp_path / "x.xlsx", "x.xlsx")


@pytest.mark.parametrize(
    ("values", "rows", "cols", "refused"),
    [
        (2, 1_048_576, 16_384, True),  # one value at A1, one at XFD1048576
        (10, 1_000, 1_000, False),  # a sparse 1,000 × 1,000: within the floor
        (10, 1_000, 2_001, True),  # just above the floor and ten times the values
        (400_000, 1_000_000, 4, False),  # dense enough
    ],
)
def test_extent_limit(values: int, rows: int, cols: int, refused: bool) -> None:
    scan = SheetScan(values, 1, rows, 0, cols - 1)
    if not refused:
        check_extent(scan, "x.xlsx", "s")
        return
    with pytest.raises(ContractError) as err:
        check_extent(scan, "x.xlsx", "s")
    assert err.value.where.file == "x.xlsx" and "セル" in err.value.ja
    assert scan.extent > MIN_EXTENT
