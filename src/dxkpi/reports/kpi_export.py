"""Exports of the KPI frame: terminal table, CSV (UTF-8 with BOM), JSON, XLSX.

CSV, JSON and XLSX carry exactly :data:`dxkpi.kpi.engine.EXPORT_COLUMNS`, in that order.
Suppressed cells are empty in CSV/JSON (``suppressed`` = true) and shown as ``―`` in the table and
the workbook, with a footnote. Text cells starting with ``= + - @`` (or a tab / carriage return)
get a leading apostrophe in CSV and XLSX so spreadsheets never run them as formulas. Codes show
their labels (:mod:`dxkpi.catalogue.labels`); values are written by
:func:`dxkpi.catalogue.format.format_value`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dxkpi.catalogue.format import (
    EXCEL_FORMAT,
    excel_count_format,
    format_count,
    format_scale,
    format_value,
)
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.labels import SUPPRESSED_MARK, codes, group_part, label
from dxkpi.core.atomic import write_file
from dxkpi.core.display import Column, FittedTable
from dxkpi.core.jsontext import json_text
from dxkpi.core.spreadsheet import neutralise, neutralise_frame
from dxkpi.kpi.engine import EXPORT_COLUMNS

__all__ = [
    "HEADERS_JA",
    "footnote_ja",
    "group_by_ja",
    "group_label_ja",
    "print_setup",
    "progress_note_ja",
    "to_csv_bytes",
    "to_json",
    "to_table",
    "write_xlsx",
]

HEADERS_JA: dict[str, str] = {
    "kpi": "指標",
    "fiscal_year": "年度",
    "group_by": "集計単位",
    "group": "グループ",
    "numerator": "分子",
    "denominator": "分母",
    "value": "値",
    "ci_low": "95%信頼区間（下限）",
    "ci_high": "95%信頼区間（上限）",
    "target": "目標",
    "grade": "評価",
    "suppressed": "秘匿",
}


def footnote_ja(k: int) -> str:
    """The suppression footnote in Japanese."""
    grades = " ".join(f"{g}={label('grade', g)}" for g in codes("grade"))
    return (
        f"{SUPPRESSED_MARK}: 秘匿。{k}人未満のグループ、または合計からの差し引きで"
        f"推定できるセルは表示していません。評価 {grades}（データまたは目標なし）。"
    )


def to_csv_bytes(frame: pl.DataFrame, columns: Sequence[str] = EXPORT_COLUMNS) -> bytes:
    """CSV in UTF-8 with BOM (Japanese Excel opens it), formulas neutralised; ``columns`` only
    (default: the export columns)."""
    buf = io.BytesIO()
    neutralise_frame(frame.select(columns)).write_csv(buf)
    return "\ufeff".encode() + buf.getvalue()


def to_json(frame: pl.DataFrame) -> str:
    """JSON array of records with the export columns in order; a value that is not finite
    (NaN, ±inf: not computable) is null (:func:`dxkpi.core.jsontext.json_text`)."""
    return json_text(frame.select(EXPORT_COLUMNS).to_dicts(), indent=1)


def group_label_ja(group_by: str, group: str, name: str | None = None) -> str:
    """Japanese label of a group (全庁, 管理職, D03 市民課 × 2 スキル習得, C208 研修名 …)."""
    parts = []
    for by, key in zip(group_by.split("|"), group.split("|"), strict=False):
        if by == "phase":
            parts.append(f"{key} {label('phase', key)}")
        elif by in ("department", "course"):
            parts.append(f"{key} {name}" if name else key)
        else:
            parts.append(group_part(by, key))
    return " × ".join(parts)


def progress_note_ja(rich: pl.DataFrame) -> str | None:
    """A note naming fiscal years still in progress, or None."""
    if "in_progress" not in rich.columns:
        return None
    years = (
        rich.filter(pl.col("in_progress"))
        .group_by("fiscal_year")
        .agg(pl.col("progress").first())
        .sort("fiscal_year")
    )
    if years.is_empty():
        return None
    parts = [f"{y}年度（経過 {p * 100:.0f}%）" for y, p in years.iter_rows()]
    return (
        f"年度途中: {'、'.join(parts)}。累積する指標（参加率・提案件数・削減時間など）の目標は"
        "経過割合で按分して評価しています。"
    )


def group_by_ja(group_by: str) -> str:
    """Japanese label of a grouping (所属 × フェーズ …)."""
    return " × ".join(label("grouping", p) for p in group_by.split("|"))


def to_table(rich: pl.DataFrame, k: int) -> FittedTable:
    """The KPI table for a terminal (Japanese headers; East Asian wide characters aligned),
    fitted to the console it is printed on by :func:`dxkpi.core.display.fit_tables`: empty
    columns left out, the year and grouping said once when every row shares them, numbers
    never cut, one table per KPI when the width is tight. Group names come from the data and
    are shown as text, never read as console markup."""
    caption = footnote_ja(k)
    if note := progress_note_ja(rich):
        caption += "\n" + note
    columns = (
        Column("指標", split=True),
        Column("年度", numeric=True, common=True, said="{value}"),
        Column("集計単位", common=True, said="{value}別"),
        Column("グループ", whole=True),
        Column("分子", numeric=True),
        Column("分母", numeric=True),
        Column("値", numeric=True),
        Column("95%CI", numeric=True),
        Column("目標", numeric=True),
        Column("評価", numeric=True, justify="center"),
        Column("備考"),
    )
    rows: list[list[str]] = []
    for row in rich.iter_rows(named=True):
        unit = row["unit"]
        hidden = bool(row["suppressed"])
        ci = ""
        if row["ci_low"] is not None and row["ci_high"] is not None:
            ci = f"{format_value(row['ci_low'], unit)}–{format_value(row['ci_high'], unit)}"
        note = "" if row["reason"] in (None, "suppressed") else label("reason", row["reason"])
        if row["in_progress"]:
            note = (
                "年度途中"
                + ("（目標は按分）" if REGISTRY[row["kpi"]].cumulative else "")
                + (f"・{note}" if note else "")
            )
        rows.append(
            [
                row["name_ja"],
                f"{row['fiscal_year']}年度",
                group_by_ja(row["group_by"]),
                group_label_ja(row["group_by"], row["group"], row.get("group_name")),
                SUPPRESSED_MARK if hidden else format_count(row["numerator"], unit),
                SUPPRESSED_MARK if hidden else format_count(row["denominator"], unit),
                SUPPRESSED_MARK if hidden else format_value(row["value"], unit),
                SUPPRESSED_MARK if hidden else ci,
                format_value(row["target"], unit),
                SUPPRESSED_MARK if hidden else (row["grade"] or ""),
                note,
            ]
        )
    return FittedTable("DX人材育成 KPI", columns, rows, caption)


def _sheet_title(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31]
    title, i = clean, 2
    while title in used:
        title = f"{clean[:28]}_{i}"
        i += 1
    used.add(title)
    return title


_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _write_overview(wb: Workbook, kpis: list[str], k: int) -> None:
    ws = wb.active
    ws.title = "指標一覧"
    ws.append(["指標ID", "指標名", "区分", "単位", "定義", "望ましい方向"])
    for cell in ws[1]:
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    for kpi in kpis:
        s = REGISTRY[kpi]
        ws.append(
            [
                s.id,
                s.name_ja,
                "KGI" if s.kind == "kgi" else "KPI",
                label("unit", s.unit) + (f" {format_scale(s.scale)}" if s.scale else ""),
                s.definition_ja,
                "高いほど良い" if s.higher_is_better else "低いほど良い",
            ]
        )
    last_row = ws.max_row
    for row in ws.iter_rows(min_row=2, max_row=last_row):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    _append_note(ws, footnote_ja(k), "F")
    for col, width in zip("ABCDEF", (22, 24, 8, 16, 70, 14), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:F{last_row}"
    print_setup(ws, f"A1:F{ws.max_row}", ws.title)


#: Column widths of a KPI sheet (characters), in :data:`EXPORT_COLUMNS` order: together they
#: fit one landscape A4 page wide.
_HEADER_HEIGHT = 30  # points: two lines of 11-pt text
_WIDTHS = (20, 8, 16, 18, 10, 10, 10, 12, 12, 10, 6, 6)


def _number_formats(ws: Worksheet, r: int, unit: str) -> None:
    """Every number of row ``r`` gets a format: counts as :func:`excel_count_format`, values,
    intervals and targets in the KPI's unit (:data:`EXCEL_FORMAT`)."""
    for col in ("numerator", "denominator", "value", "ci_low", "ci_high", "target"):
        c = ws.cell(row=r, column=EXPORT_COLUMNS.index(col) + 1)
        if isinstance(c.value, float | int) and not isinstance(c.value, bool):
            if col in ("numerator", "denominator"):
                c.number_format = excel_count_format(float(c.value), unit)
            else:
                c.number_format = EXCEL_FORMAT[unit]


def print_setup(ws: Worksheet, area: str, title: str) -> None:
    """A sheet prints on A4 landscape, one page wide, the header row on every page, the sheet's
    name at the top and ``page / pages`` at the bottom."""
    ws.print_area = area
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.center.text = title.replace("&", "&&")
    ws.oddFooter.center.text = "&P / &N"


def _cell(value: object) -> object:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _append_note(ws: Worksheet, text: str, last: str) -> None:
    """A note under a table: one cell merged across the printed width and wrapped, so a long
    sentence prints whole instead of running off the page."""
    ws.append([text])
    row = ws.max_row
    ws.merge_cells(f"A{row}:{last}{row}")
    ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[row].height = _HEADER_HEIGHT


def write_xlsx(rich: pl.DataFrame, path: str | Path, k: int) -> Path:
    """Workbook: an overview sheet, then one sheet per KPI (Japanese headers, % formats)."""
    kpis = list(dict.fromkeys(rich.get_column("kpi").to_list()))

    def _write(tmp: Path) -> None:
        wb = Workbook()
        _write_overview(wb, kpis, k)
        used: set[str] = {"指標一覧"}
        for kpi in kpis:
            spec = REGISTRY[kpi]
            ws = wb.create_sheet(_sheet_title(spec.name_ja, used))
            ws.append([HEADERS_JA[c] for c in EXPORT_COLUMNS])
            for cell in ws[1]:
                cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
                cell.alignment = Alignment(wrap_text=True, vertical="center")
            ws.row_dimensions[1].height = _HEADER_HEIGHT  # two lines: spreadsheets do not grow it
            part = rich.filter(pl.col("kpi") == kpi)
            for row in part.iter_rows(named=True):
                hidden = bool(row["suppressed"])
                out = []
                for col in EXPORT_COLUMNS:
                    v = row[col]
                    if col == "kpi":
                        v = spec.name_ja
                    elif col == "group_by":
                        v = group_by_ja(row["group_by"])
                    elif col == "group":
                        v = group_label_ja(row["group_by"], row["group"], row.get("group_name"))
                    elif col == "suppressed":
                        v = "秘匿" if hidden else ""
                    elif hidden and col in (
                        "numerator",
                        "denominator",
                        "value",
                        "ci_low",
                        "ci_high",
                        "grade",
                    ):
                        v = SUPPRESSED_MARK
                    out.append(_cell(v))
                ws.append(out)
                _number_formats(ws, ws.max_row, spec.unit)
            last_row = ws.max_row
            last = get_column_letter(len(EXPORT_COLUMNS))
            ws.append([])
            _append_note(ws, footnote_ja(k), last)
            if note := progress_note_ja(part):
                _append_note(ws, note, last)
            ws.freeze_panes = "A2"
            for i, width in enumerate(_WIDTHS, start=1):
                ws.column_dimensions[get_column_letter(i)].width = width
            ws.auto_filter.ref = f"A1:{last}{last_row}"
            print_setup(ws, f"A1:{last}{ws.max_row}", spec.name_ja)
        wb.save(tmp)

    return write_file(path, _write)
