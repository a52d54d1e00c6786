"""The 行政評価 sheet (事務事業評価) as display tables and as a workbook.

:func:`sheet_rows` writes one sheet (a course or the programme, one row of
:func:`dxkpi.pdca.evaluation.evaluation_sheets`) as (区分, 項目, 値, 備考) text rows — the same
cells for the page (:func:`sheet_display`) and the workbook (:func:`write_evaluation_xlsx`:
one Excel sheet per course and one for the programme, with an overview first, printed A4
landscape, one page wide, headers repeated). :func:`overview_display` is the one-line-per-course
summary above the sheets. Suppressed figures show ―; a unit cost that cannot be computed says
算出不可 with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unicodedata import east_asian_width

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dxkpi.catalogue.format import EXCEL_YEN_FORMAT, format_yen
from dxkpi.catalogue.labels import SUPPRESSED_MARK, label, t
from dxkpi.core.atomic import write_file
from dxkpi.core.spreadsheet import neutralise
from dxkpi.reports.kpi_export import print_setup
from dxkpi.reports.views import HTML, html_table

__all__ = [
    "Kind",
    "evaluation_note",
    "overview_display",
    "overview_html",
    "sheet_cells",
    "sheet_display",
    "sheet_html",
    "sheet_rows",
    "sheet_title",
    "write_evaluation_xlsx",
]


def sheet_title(row: dict[str, Any], lang: str = "ja") -> str:
    """The sheet's 事業名: the course's name and code, or the programme."""
    if row["level"] == "programme":
        return t(
            lang, "DX人材育成事業（研修プログラム全体）", "DX training programme (all courses)"
        )
    return f"{row['course_name']}（{row['course_id']}）"


#: How a sheet's value is written: an amount in yen, a head count, a change from last year (a
#: share), or text already written.
Kind = str
_EXCEL_FORMATS = {"yen": EXCEL_YEN_FORMAT, "count": '#,##0"人"', "change": "+0.0%;-0.0%;0.0%"}


def _text(value: Any, kind: Kind, lang: str) -> str:
    """A sheet value as page text: ― when hidden (None)."""
    if value is None:
        return SUPPRESSED_MARK
    if kind == "yen":
        return format_yen(float(value), lang)
    if kind == "count":
        return f"{int(value):,}" + t(lang, "人", "")
    if kind == "change":
        return f"{float(value):+.1%}"
    return str(value)


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def _effect(row: dict[str, Any], lang: str) -> tuple[str | None, str]:
    if row["level"] == "programme":
        return t(
            lang, "フェーズ別の効果で評価（追加提案1件あたり）", "judged by each phase's effect"
        ), ""
    if row["suppressed"]:
        return None, ""
    verdict = label("verdict", row["verdict"] or "inconclusive", lang)
    if row["effect_100"] is None:
        return t(lang, "推定できない", "not estimated"), verdict
    ci = ""
    if row["ci_low_100"] is not None and row["ci_high_100"] is not None:
        low, high = _signed(row["ci_low_100"]), _signed(row["ci_high_100"])
        ci = t(lang, f"（95%区間 {low}〜{high}）", f" (95% CI {low} to {high})")
    value = t(
        lang,
        f"100人・年あたり {_signed(row['effect_100'])}件",
        f"{_signed(row['effect_100'])} per 100 staff-years",
    )
    value += ci
    return value, verdict


def _phase_prefix(row: dict[str, Any], lang: str) -> str:
    """「フェーズ1: 」 when the programme's unit cost fails on one phase's effect."""
    phase = row.get("unit_cost_phase")
    if phase is None:
        return ""
    return t(lang, f"フェーズ{phase}（{label('phase', phase, lang)}）: ", f"phase {phase}: ")


def _change(row: dict[str, Any], now: str, lang: str) -> tuple[Any, Kind]:
    """The change of ``now`` (a column) from last year: a share, or why there is none."""
    if row["suppressed"]:
        return None, "text"
    if row[f"previous_{now}"] is None:
        return t(lang, "前年度の値なし", "no value last year"), "text"
    change = row[now.replace("_yen", "") + "_change"]
    if change is None:
        return t(lang, "比べられない", "cannot compare"), "text"
    return change, "change"


def _before(value: float | None, lang: str) -> str:
    return "" if value is None else t(lang, "前年度 ", "last year ") + format_yen(value, lang)


def sheet_cells(
    row: dict[str, Any], hourly_cost_yen: float, lang: str = "ja"
) -> list[tuple[str, str, Any, Kind, str]]:
    """One 事務事業評価 sheet as (区分, 項目, value, kind, 備考): ``value`` a number of its kind
    (yen, count, change) or text; None where it is hidden (―)."""
    hidden = bool(row["suppressed"])
    rate = row["completion_rate"]
    hourly = format_yen(hourly_cost_yen, lang)
    effect, verdict = _effect(row, lang)
    if hidden:
        per_effect: tuple[Any, Kind, str] = (None, "text", "")
    elif row["cost_per_effect_yen"] is not None:
        per_effect = (
            row["cost_per_effect_yen"],
            "yen",
            t(
                lang,
                f"追加提案 {row['effect_units']:,.1f}件（今年度の初回修了者 "
                f"{row['first_completers']:,}人 × 効果 × 12か月）",
                f"{row['effect_units']:,.1f} extra proposals ({row['first_completers']:,} "
                "first completers this year × effect × 12 months)",
            ),
        )
    else:
        per_effect = (
            t(lang, "算出不可", "not computable"),
            "text",
            _phase_prefix(row, lang)
            + label("unit_cost_reason", row["unit_cost_reason"] or "no_costs", lang),
        )
    programme = row["level"] == "programme"
    if row["project_cost_yen"] is not None:
        project: tuple[Any, Kind, str] = (
            row["project_cost_yen"],
            "yen",
            t(
                lang,
                f"外部委託 {format_yen(row['external_fee_yen'], lang)}・会場 "
                f"{format_yen(row['venue_yen'], lang)}・庁内講師 {row['instructor_hours']:,.1f}"
                f"時間 × {hourly}",
                f"external {format_yen(row['external_fee_yen'], lang)}, venue "
                f"{format_yen(row['venue_yen'], lang)}, internal instructors "
                f"{row['instructor_hours']:,.1f} h × {hourly}",
            ),
        )
    else:
        project = (
            t(lang, "費用データなし", "no cost data"),
            "text",
            t(lang, "費用データのない研修がある", "a course has no cost data") if programme else "",
        )
    total: tuple[Any, Kind] = (
        (row["total_cost_yen"], "yen")
        if row["total_cost_yen"] is not None or hidden
        else (t(lang, "算出不可（費用データなし）", "not computable (no cost data)"), "text")
    )
    personnel_note = (
        ""
        if hidden
        else t(
            lang,
            f"受講時間 {row['participant_hours']:,.1f}時間 × {hourly}",
            f"participants' time {row['participant_hours']:,.1f} h × {hourly}",
        )
    )
    direction = row["direction"]
    proposal = label("direction", direction, lang) if direction else "—"
    basis = label("direction_basis", row["direction_basis"], lang) if direction else ""
    if hidden:
        basis = t(lang, "受講者が少ないため提案しない", "not proposed: too few attendees")
    last = row["previous_direction"]
    last_note = (
        ""
        if not last
        else f"{row['previous_reason']}（{t(lang, '担当', 'owner')}: {row['previous_owner']}）"
    )
    act, out, cost, unit, year, way = (
        t(lang, "活動指標", "activity"),
        t(lang, "成果指標", "outcome"),
        t(lang, "コスト", "cost"),
        t(lang, "単位当たりコスト", "unit cost"),
        t(lang, "前年度比", "against last year"),
        t(lang, "方向性", "direction"),
    )
    completion = "" if rate is None else t(lang, f"修了率 {rate:.0%}", f"completion {rate:.0%}")
    return [
        (act, t(lang, "受講者数", "attendees"), row["attendees"], "count", ""),
        (act, t(lang, "修了者数", "completers"), row["completers"], "count", completion),
        (
            out,
            t(lang, "行動変容（提案の増加）", "behaviour (extra proposals)"),
            effect,
            "text",
            verdict,
        ),
        (cost, t(lang, "事業費", "programme cost"), *project),
        (
            cost,
            t(lang, "人件費（受講者の時間）", "participants' time"),
            row["personnel_cost_yen"],
            "yen",
            personnel_note,
        ),
        (
            cost,
            t(lang, "トータルコスト", "total cost"),
            *total,
            t(lang, "事業費 ＋ 人件費", "programme cost + participants' time"),
        ),
        (
            unit,
            t(lang, "修了者1人あたり", "per completer"),
            row["cost_per_completer_yen"],
            "yen",
            "",
        ),
        (unit, t(lang, "追加提案1件あたり", "per extra proposal"), *per_effect),
        (
            year,
            t(lang, "トータルコスト", "total cost"),
            *_change(row, "total_cost_yen", lang),
            _before(row["previous_total_cost_yen"], lang),
        ),
        (
            year,
            t(lang, "修了者1人あたり", "per completer"),
            *_change(row, "cost_per_completer_yen", lang),
            _before(row["previous_cost_per_completer_yen"], lang),
        ),
        (
            way,
            t(lang, "今年度の提案（規則による）", "proposed by the rule"),
            proposal,
            "text",
            basis,
        ),
        (
            way,
            t(lang, "前年度の会議の決定", "decided last year"),
            label("direction", last, lang) if last else t(lang, "記録なし", "none recorded"),
            "text",
            last_note,
        ),
        (way, t(lang, "今年度の会議の決定", "decided this year"), "", "text", ""),
    ]


def sheet_rows(row: dict[str, Any], hourly_cost_yen: float, lang: str = "ja") -> list[list[str]]:
    """One 事務事業評価 sheet as rows of (区分, 項目, 値, 備考) text."""
    return [
        [area, item, _text(value, kind, lang), note]
        for area, item, value, kind, note in sheet_cells(row, hourly_cost_yen, lang)
    ]


def _keys(lang: str) -> tuple[str, str, str, str]:
    return ("区分", "項目", "値", "備考") if lang == "ja" else ("area", "item", "value", "note")


def sheet_display(row: dict[str, Any], hourly_cost_yen: float, lang: str = "ja") -> pl.DataFrame:
    """One sheet as a display table (the rows of :func:`sheet_rows`)."""
    return pl.DataFrame(
        sheet_rows(row, hourly_cost_yen, lang),
        schema={k: pl.String for k in _keys(lang)},
        orient="row",
    )


#: The cells of :func:`sheet_cells` the overview shows: completers, total cost, cost per
#: completer, cost per extra proposal.
_OVERVIEW_CELLS = (1, 5, 6, 7)


def sheet_html(row: dict[str, Any], hourly_cost_yen: float, caption: str, lang: str = "ja") -> HTML:
    """One sheet for the page: each 区分 said once at the top of its rows, values right-aligned."""
    frame = sheet_display(row, hourly_cost_yen, lang)
    area = frame.columns[0]
    frame = frame.with_columns(
        pl.when(pl.col(area) == pl.col(area).shift(1))
        .then(pl.lit(""))
        .otherwise(pl.col(area))
        .alias(area)
    )
    return HTML(html_table(frame, caption=caption, numeric=(frame.columns[2],)))


def overview_html(sheets: pl.DataFrame, caption: str, lang: str = "ja") -> HTML:
    """The overview for the page, figures right-aligned."""
    frame = overview_display(sheets, lang)
    return HTML(html_table(frame, caption=caption, numeric=tuple(frame.columns[1:6])))


def _overview_cells(r: dict[str, Any], lang: str) -> list[tuple[Any, Kind]]:
    """One overview line as (value, kind): the same cells as the sheet's."""
    cells = sheet_cells(r, 1.0, lang)
    picked = [(value, kind) for _, _, value, kind, _ in (cells[i] for i in _OVERVIEW_CELLS)]
    last = r["previous_direction"]
    return [
        (sheet_title(r, lang), "text"),
        *picked,
        _change(r, "total_cost_yen", lang),
        (label("direction", r["direction"], lang) if r["direction"] else "—", "text"),
        (label("direction", last, lang) if last else "", "text"),
    ]


def overview_display(sheets: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """One line per course and the programme: completers, total cost, cost per completer and
    per extra proposal, the change of the total from last year, the proposed 方向性 and last
    year's decision (the same cells as the sheets)."""
    rows = [
        [_text(v, kind, lang) for v, kind in _overview_cells(r, lang)]
        for r in sheets.iter_rows(named=True)
    ]
    keys = _overview_keys(lang)
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def _overview_keys(lang: str) -> tuple[str, ...]:
    return (
        (
            "事業",
            "修了者数",
            "トータルコスト",
            "修了者1人あたり",
            "追加提案1件あたり",
            "前年度比",
            "方向性（案）",
            "前年度の決定",
        )
        if lang == "ja"
        else (
            "course",
            "completers",
            "total cost",
            "per completer",
            "per extra proposal",
            "vs last year",
            "proposed",
            "decided last year",
        )
    )


def evaluation_note(hourly_cost_yen: float, k: int, lang: str = "ja") -> str:
    """How the sheet's figures are made, in one paragraph (page and workbook)."""
    hourly = format_yen(hourly_cost_yen, lang)
    return t(
        lang,
        f"トータルコスト ＝ 事業費（外部委託費 ＋ 会場費 ＋ 庁内講師時間 × {hourly}）"
        f"＋ 人件費（受講時間 × {hourly}。ROI と同じ規則）。"
        "追加提案1件あたりのコストは、効果が明らかに正の研修だけ（判定「効果あり」）について、"
        "今年度の初回修了者 × 効果（1人1か月あたり）× 12か月 で割ります。"
        "効果が0と区別できない研修は算出不可とし、理由を示します。"
        "方向性は README の規則による提案で、会議で決めたものを reviews/FY<年度>.toml に"
        f"記録します。{k}人未満の研修の人数に基づく値は秘匿（―）。",
        "Total cost = programme cost (external fees + venue + internal instructor hours × "
        f"{hourly}) + staff time (participant hours × {hourly}, the ROI's rule). Cost per "
        "extra proposal "
        "only for courses with a clear positive effect: divided by this year's first-at-stage "
        "completers × effect per employee-month × 12. An effect not distinguishable from 0 is "
        "'not computable', with the reason. The direction is the README's rule's proposal; the "
        f"meeting records its own in reviews/FY<year>.toml. Person-based figures of courses "
        f"under {k} attendees are hidden (―).",
    )


_BOLD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDEBF7")
_AREA_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_SHEET_WIDTHS = (16, 28, 36, 64)
_OVERVIEW_WIDTHS = (44, 11, 16, 15, 17, 15, 12, 12)
_LINE_HEIGHT = 15  # points: one line of 11-pt text


def _header(ws: Worksheet, cells: Sequence[str]) -> None:
    ws.append([neutralise(c) for c in cells])
    for c in ws[ws.max_row]:
        c.font, c.fill, c.border = _BOLD, _FILL, _BOX
        c.alignment = Alignment(vertical="center", wrap_text=True)


def _lines(text: str, width: float) -> int:
    """Printed lines of a wrapped cell: East Asian wide characters count two columns."""
    used = sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)
    return max(1, math.ceil(used / max(width - 1, 1)))


def _append(
    ws: Worksheet, cells: list[tuple[Any, Kind]], widths: Sequence[float], first: int = 1
) -> None:
    """A row of (value, kind): numbers as numbers with their format, text made inert; the row
    as tall as its longest wrapped cell from column ``first`` on (spreadsheets do not grow rows
    written by a library)."""
    values = [
        v
        if isinstance(v, int | float) and kind in _EXCEL_FORMATS
        else neutralise(_text(v, kind, "ja"))
        for v, kind in cells
    ]
    ws.append(values)
    r = ws.max_row
    lines = 1
    for i, ((v, kind), width) in enumerate(zip(cells, widths, strict=True), start=1):
        c = ws.cell(r, i)
        c.border = _BOX
        number = isinstance(v, int | float) and kind in _EXCEL_FORMATS
        if number:
            c.number_format = _EXCEL_FORMATS[kind]
            c.alignment = Alignment(horizontal="right", vertical="top")
        else:
            c.alignment = Alignment(vertical="top", wrap_text=True)
            if i >= first:
                lines = max(lines, _lines(str(c.value or ""), width))
    ws.row_dimensions[r].height = _LINE_HEIGHT * lines + 3


def _note(ws: Worksheet, text: str, last: str, width: float) -> None:
    ws.append([])
    ws.append([text])
    r = ws.max_row
    ws.merge_cells(f"A{r}:{last}{r}")
    ws.cell(r, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[r].height = _LINE_HEIGHT * _lines(text, width) + 3


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


def _sheet(ws: Worksheet, row: dict[str, Any], hourly_cost_yen: float) -> None:
    """One sheet: its cells with numbers as numbers; each 区分 merged down its rows; the
    meeting's decision row left tall to write in."""
    _header(ws, list(_keys("ja")))
    start, area_of = 2, None
    for area, item, value, kind, note in sheet_cells(row, hourly_cost_yen, "ja"):
        if area != area_of and area_of is not None and ws.max_row > start:
            ws.merge_cells(f"A{start}:A{ws.max_row}")
        if area != area_of:
            start, area_of = ws.max_row + 1, area
        cells = [(area, "text"), (item, "text"), (value, kind), (note, "text")]
        _append(ws, cells, _SHEET_WIDTHS, first=2)  # the 区分 is merged down its rows
        ws.cell(ws.max_row, 1).fill = _AREA_FILL
        ws.cell(ws.max_row, 1).alignment = Alignment(vertical="center", wrap_text=True)
    if ws.max_row > start:
        ws.merge_cells(f"A{start}:A{ws.max_row}")
    ws.row_dimensions[ws.max_row].height = 3 * _LINE_HEIGHT
    _widths(ws, _SHEET_WIDTHS)


def write_evaluation_xlsx(
    sheets: pl.DataFrame, path: str | Path, fiscal_year: int, hourly_cost_yen: float, k: int
) -> Path:
    """The 行政評価 workbook: 一覧 (one line per course), the programme's sheet (事業全体), then
    one sheet per course (named by its code). Each prints A4 landscape, one page wide, its
    header row repeated, its title at the top and page numbers at the bottom
    (:func:`dxkpi.reports.kpi_export.print_setup`). Amounts are numbers in yen."""
    note = evaluation_note(hourly_cost_yen, k, "ja")

    def _write(tmp: Path) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = "一覧"
        _header(ws, _overview_keys("ja"))
        for r in sheets.iter_rows(named=True):
            _append(ws, _overview_cells(r, "ja"), _OVERVIEW_WIDTHS)
            if r["level"] == "programme":
                for c in ws[ws.max_row]:
                    c.font = _BOLD
        _widths(ws, _OVERVIEW_WIDTHS)
        _note(ws, note, "H", sum(_OVERVIEW_WIDTHS))
        ws.freeze_panes = "A2"
        print_setup(ws, f"A1:H{ws.max_row}", f"{fiscal_year}年度 事務事業評価（DX人材育成）一覧")
        ordered = [*sheets.filter(pl.col("level") == "programme").iter_rows(named=True)]
        ordered += [*sheets.filter(pl.col("level") == "course").iter_rows(named=True)]
        for row in ordered:
            programme = row["level"] == "programme"
            ws = wb.create_sheet("事業全体" if programme else str(row["course_id"])[:31])
            _sheet(ws, row, hourly_cost_yen)
            _note(ws, note, "D", sum(_SHEET_WIDTHS))
            ws.freeze_panes = "A2"
            heading = f"{fiscal_year}年度 事務事業評価シート: {sheet_title(row, 'ja')}"
            print_setup(ws, f"A1:D{ws.max_row}", heading)
        wb.save(tmp)

    return write_file(path, _write)
