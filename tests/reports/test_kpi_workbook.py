"""The KPI workbook prints: A4 landscape one page wide, header rows repeated, autofilter, page
numbers, and every number formatted (issue: 139 A4 portrait pages, 4.047619047619047)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY
from dxkpi.kpi.engine import EXPORT_COLUMNS, compute
from dxkpi.kpi.examples import synthetic_city
from dxkpi.project.config import Config
from dxkpi.reports.kpi_export import HEADERS_JA, write_xlsx

NUMBERS = ("numerator", "denominator", "value", "ci_low", "ci_high", "target")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = synthetic_city(staff=600, fiscal_years=(2024, 2025), seed=3)
    rich = compute(data, Config(), fiscal_years=[2025], by=list(GROUPINGS))
    return write_xlsx(rich, tmp_path_factory.mktemp("xlsx") / "kpi_FY2025.xlsx", 10)


def test_every_sheet_prints_landscape_one_page_wide_with_repeated_headers(workbook: Path) -> None:
    wb = openpyxl.load_workbook(workbook)
    assert len(wb.sheetnames) > 10
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert str(setup.paperSize) == str(ws.PAPERSIZE_A4), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.print_area is not None, ws.title
        assert ws.oddFooter.center.text == "&P / &N", ws.title
        assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:"), ws.title


def test_every_header_fits_its_cell_in_two_lines(workbook: Path) -> None:
    """A header wider than its column wraps; the row is tall enough for two lines (spreadsheets
    do not grow a row for wrapped text: before, only 「下限）」 of 「95%区間（下限）」 printed)."""
    wb = openpyxl.load_workbook(workbook)
    ws = wb[wb.sheetnames[1]]
    assert (ws.row_dimensions[1].height or 15) >= 30
    for cell in ws[1]:
        text = str(cell.value)
        width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
        column = ws.column_dimensions[cell.column_letter].width
        assert cell.alignment.wrap_text, text
        assert width <= 2 * column, (text, width, column)


def test_the_autofilter_covers_exactly_the_data_rows(workbook: Path) -> None:
    ws = openpyxl.load_workbook(workbook)["研修参加率"]
    last = max(r for r in range(2, ws.max_row + 1) if ws.cell(r, 2).value is not None)
    ref = ws.auto_filter.ref
    assert ref == f"A1:{openpyxl.utils.get_column_letter(len(EXPORT_COLUMNS))}{last}"


def test_every_number_has_a_format_and_counts_are_whole(workbook: Path) -> None:
    wb = openpyxl.load_workbook(workbook)
    unformatted: list[str] = []
    fractional_counts = 0
    for ws in wb.worksheets[1:]:
        headers = [c.value for c in ws[1]]
        cols = {name: headers.index(HEADERS_JA[name]) + 1 for name in NUMBERS}
        for r in range(2, ws.max_row + 1):
            for name, c in cols.items():
                cell = ws.cell(r, c)
                if isinstance(cell.value, float | int) and cell.number_format == "General":
                    unformatted.append(f"{ws.title}!{cell.coordinate}")
                if name in ("numerator", "denominator") and isinstance(cell.value, float | int):
                    whole = float(cell.value).is_integer()
                    fmt = cell.number_format
                    assert fmt in ("#,##0", "#,##0.0", "0.00"), (ws.title, cell.coordinate, fmt)
                    assert (fmt == "#,##0") == whole or fmt == "0.00", (ws.title, cell.value, fmt)
                    fractional_counts += not whole
    assert unformatted == []
    assert fractional_counts > 0  # the fixture has sums with a fraction (hours, scores)


def test_value_cells_use_the_kpis_unit_format(workbook: Path) -> None:
    ws = openpyxl.load_workbook(workbook)["研修参加率"]
    col = [c.value for c in ws[1]].index("値") + 1
    formats = {
        ws.cell(r, col).number_format
        for r in range(2, ws.max_row + 1)
        if isinstance(ws.cell(r, col).value, float)
    }
    assert formats == {"0.0%"}
    assert REGISTRY["participation_rate"].unit == "ratio"


@pytest.mark.browser  # a real spreadsheet client: LibreOffice (make test-browser installs it)
def test_libreoffice_prints_each_sheet_one_page_wide(workbook: Path, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is missing: make browser-deps installs libreoffice-calc-nogui"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = tmp_path / "kpi_FY2025.pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= len(openpyxl.load_workbook(workbook).sheetnames)
    # One page wide: every page carries the first and the last column's header (the header row
    # repeats on every page), and its page number out of the sheet's pages.
    first, last = HEADERS_JA[EXPORT_COLUMNS[0]], HEADERS_JA[EXPORT_COLUMNS[-1]]
    kpi_pages = [p for p in pages if "指標ID" not in p]
    assert kpi_pages
    for page in kpi_pages:
        assert first in page and last in page, page[:300]
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    size = next(line for line in info.stdout.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split(":")[1].split()[0:3:2])
    assert width > height  # landscape
