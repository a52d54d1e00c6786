"""Tables written in the forms real cities send, and the plan of which file gets which form.

English or Japanese headers and code labels, ISO / slash / wareki dates, fiscal years as
2025 / 2025年度 / 令和7年度 / R7, full-width digits, CSV in UTF-8, UTF-8 with BOM or CP932,
and XLSX with real dates and numbers and fixed zip times, so a seed gives the same bytes.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import polars as pl

from dxkpi.catalogue.contract import DATASETS, Dataset, Kind
from dxkpi.sample.parameters import FIXED_ZIP_TIME, FULL_WIDTH
from dxkpi.sample.values import choose

__all__ = [
    "FOLLOWUP_FILES",
    "ROSTER_FILES",
    "SKILL_FILES",
    "Style",
    "Written",
    "write_files",
    "write_parts",
    "write_skill_files",
]


@dataclass(frozen=True)
class Style:
    """How one output file is written."""

    headers: str = "en"  # en | ja
    values: str = "en"  # en | ja (code labels, booleans)
    dates: str = "iso"  # iso | slash | wareki | wareki_short | excel
    years: str = "plain"  # plain | nendo | wareki | r | mixed
    fullwidth: float = 0.0  # share of rows with full-width digits in numbers, dates, years
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | cp932 | xlsx
    sheet: str | None = None


@dataclass(frozen=True)
class Written:
    files: tuple[Path, ...]
    rows_per_file: dict[str, int]
    bad_rows: list[dict[str, Any]]


def _fw(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(list("0123456789"), list(FULL_WIDTH))


def _wareki_year(y: pl.Expr, short: bool) -> pl.Expr:
    reiwa = y >= 2019
    n = pl.when(reiwa).then(y - 2018).otherwise(y - 1988)
    if short:
        return pl.format("{}{}", pl.when(reiwa).then(pl.lit("R")).otherwise(pl.lit("H")), n)
    text = pl.when(n == 1).then(pl.lit("元")).otherwise(n.cast(pl.String))
    return pl.format("{}{}", pl.when(reiwa).then(pl.lit("令和")).otherwise(pl.lit("平成")), text)


def _date_text(raw: pl.Expr, fmt: str) -> pl.Expr:
    """ISO date text in another written form; text that is not an ISO date is kept as is."""
    d = raw.str.to_date("%Y-%m-%d", strict=False)
    y, m, day = d.dt.year(), d.dt.month(), d.dt.day()
    reiwa = d >= pl.date(2019, 5, 1)
    era_y = pl.when(reiwa).then(y - 2018).otherwise(y - 1988)
    match fmt:
        case "slash":
            text = pl.format("{}/{}/{}", y, m, day)
        case "wareki":
            era = pl.when(reiwa).then(pl.lit("令和")).otherwise(pl.lit("平成"))
            n = pl.when(era_y == 1).then(pl.lit("元")).otherwise(era_y.cast(pl.String))
            text = pl.format("{}{}年{}月{}日", era, n, m, day)
        case "wareki_short":
            era = pl.when(reiwa).then(pl.lit("R")).otherwise(pl.lit("H"))
            text = pl.format("{}{}.{}.{}", era, era_y, m, day)
        case _:
            return raw
    return pl.coalesce(text, raw)


def _year_text(raw: pl.Expr, fmt: str) -> pl.Expr:
    """Fiscal-year text as 2025, 2025年度, 令和7年度, R7, or a per-row mixture."""
    y = raw.cast(pl.Int32, strict=False)
    forms = {
        "plain": raw,
        "nendo": pl.format("{}年度", y),
        "wareki": pl.format("{}年度", _wareki_year(y, short=False)),
        "r": _wareki_year(y, short=True),
    }
    if fmt == "mixed":
        text = (
            pl.when(pl.col("_form") == 1)
            .then(forms["nendo"])
            .when(pl.col("_form") == 2)
            .then(forms["wareki"])
            .when(pl.col("_form") == 3)
            .then(forms["r"])
            .when(pl.col("_form") == 4)
            .then(_fw(forms["nendo"]))
            .otherwise(raw)
        )
    else:
        text = forms[fmt]
    return pl.coalesce(text, raw)


def _render(
    ds: Dataset, frame: pl.DataFrame, style: Style, rng: np.random.Generator
) -> pl.DataFrame:
    """The canonical string table written in a file's style (headers, labels, dates, digits)."""
    frame = frame.with_columns(
        pl.Series("_fw", rng.random(frame.height) < style.fullwidth),
        pl.Series("_form", choose(rng, (0.35, 0.25, 0.2, 0.15, 0.05), frame.height)),
    )
    exprs = []
    for col in ds.columns:
        e = pl.col(col.name)
        if col.kind is Kind.CODE and style.values == "ja":
            e = e.replace({c.code: c.ja for c in col.codes})
        elif col.kind is Kind.BOOLEAN and style.values == "ja":
            e = e.replace({"true": "○", "false": "×"})
        elif col.kind is Kind.DATE:
            e = _date_text(e, style.dates)
        elif col.kind is Kind.FISCAL_YEAR:
            e = _year_text(e, style.years)
        if col.kind in (Kind.DATE, Kind.FISCAL_YEAR, Kind.NUMBER, Kind.INTEGER):
            e = pl.when(pl.col("_fw")).then(_fw(e)).otherwise(e)
        exprs.append(e.alias(col.ja if style.headers == "ja" else col.name))
    extras = [
        pl.col(c) for c in frame.columns if not c.startswith("_") and c not in ds.column_names
    ]
    return frame.select(*exprs[:2], *extras, *exprs[2:])


def _csv_bytes(frame: pl.DataFrame, encoding: str) -> bytes:
    if encoding == "cp932":
        return frame.write_csv(line_terminator="\r\n").encode("cp932")
    text = frame.write_csv()
    return ("\ufeff" + text).encode("utf-8") if encoding == "utf-8-sig" else text.encode("utf-8")


def _cell(value: str | None, kind: Kind | None) -> Any:
    """An XLSX cell value: real dates and numbers where the contract column is one."""
    if value is None:
        return None
    if kind is Kind.DATE and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.date.fromisoformat(value)
    if kind in (Kind.NUMBER, Kind.INTEGER) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


def _xlsx_bytes(sheets: Sequence[tuple[str, Dataset | None, pl.DataFrame]]) -> bytes:
    """A workbook with one sheet per (name, dataset, rendered table), byte-stable for a seed."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "dxkpi sample"
    for name, ds, frame in sheets:
        ws = wb.create_sheet(name)
        kinds: list[Kind | None] = []
        for header in frame.columns:
            col = next((c for c in ds.columns if header in (c.name, c.ja)), None) if ds else None
            kinds.append(col.kind if col else None)
        ws.append(frame.columns)
        for row in frame.iter_rows():
            ws.append([_cell(v, k) for v, k in zip(row, kinds, strict=True)])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, datetime.date):
                    cell.number_format = "yyyy/m/d"
    buffer = io.BytesIO()
    wb.save(buffer)
    return _freeze_zip(buffer.getvalue())


def _freeze_zip(data: bytes) -> bytes:
    """Rewrite an XLSX with fixed timestamps so the same seed gives the same bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*",
                    rb"\g<1>2020-01-01T00:00:00Z",
                    content,
                )
            fixed = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, content)
    return out.getvalue()


def _attendance_style(y: int, fy: int) -> tuple[str, Style]:
    """File name and style of the attendance file of year index y."""
    if y == 1:
        return f"attendance_fy{fy}.csv", Style(dates="slash")
    if y == 2:
        return f"受講_FY{fy}.csv", Style(
            headers="ja", values="ja", dates="wareki", encoding="cp932"
        )
    if y == 3:
        return f"attendance_fy{fy}.csv", Style(
            dates="wareki_short", fullwidth=0.01, encoding="utf-8-sig"
        )
    return f"attendance_fy{fy}.csv", Style()


def _file_plan(fys: tuple[int, ...]) -> list[tuple[str, str, Style, int | None]]:
    """(dataset, file, style, fiscal year or None) of every part written."""
    plan: list[tuple[str, str, Style, int | None]] = [
        (
            "departments",
            "マスタ.xlsx",
            Style(headers="ja", values="ja", years="wareki", encoding="xlsx", sheet="組織"),
            None,
        ),
        (
            "courses",
            "courses.xlsx",
            Style(headers="ja", values="ja", encoding="xlsx", sheet="研修"),
            None,
        ),
        (
            "staff",
            "staff.csv",
            Style(headers="ja", values="ja", years="mixed", fullwidth=0.0, encoding="utf-8-sig"),
            None,
        ),
    ]
    plan += [("attendance", *_attendance_style(y, fy), fy) for y, fy in enumerate(fys)]
    plan += [
        (
            "proposals",
            "提案.csv",
            Style(headers="ja", values="ja", dates="slash", fullwidth=0.03),
            None,
        ),
        (
            "projects",
            "projects.xlsx",
            Style(values="ja", dates="excel", encoding="xlsx", sheet="DX案件"),
            None,
        ),
        ("resident_survey", "resident_survey.csv", Style(years="nendo"), None),
        ("maturity_survey", "maturity_survey.csv", Style(years="r"), None),
    ]
    return plan


ROSTER_FILES: tuple[tuple[str, str, Style], ...] = (
    (
        "assignments",
        "所属履歴.csv",
        Style(headers="ja", values="ja", dates="wareki", encoding="utf-8-sig"),
    ),
)
SKILL_FILES: tuple[tuple[str, str, Style], ...] = (
    (
        "skill_assessment",
        "スキル評価.csv",
        Style(headers="ja", values="ja", years="wareki", encoding="utf-8-sig"),
    ),
    (
        "knowledge_posts",
        "ナレッジ共有.csv",
        Style(headers="ja", values="ja", dates="wareki", encoding="cp932"),
    ),
)

#: The level-3 follow-up survey: Japanese headers and answers, Shift_JIS as Excel saves it.
FOLLOWUP_FILES: tuple[tuple[str, str, Style], ...] = (
    (
        "followup_survey",
        "フォローアップ調査.csv",
        Style(headers="ja", values="ja", dates="slash", encoding="cp932"),
    ),
)


def write_files(
    rng: np.random.Generator, out: Path, tables: dict[str, pl.DataFrame], fys: tuple[int, ...]
) -> Written:
    """Render and write every part; return the files, rows per file and the bad-row list."""
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    bad: list[dict[str, Any]] = []
    xlsx: dict[str, list[tuple[str, Dataset | None, pl.DataFrame]]] = {}
    for dataset, name, style, fy in _file_plan(fys):
        ds = DATASETS[dataset]
        part = tables[dataset]
        if fy is not None:
            part = part.filter(pl.col("_fy") == fy)
        rendered = _render(ds, part, style, rng)
        for i in np.flatnonzero(part["_bad"].is_not_null().to_numpy()):
            bad.append(
                {
                    "dataset": dataset,
                    "file": name,
                    "sheet": style.sheet,
                    "row": int(i) + 2,
                    "rule": part["_bad"][int(i)],
                }
            )
        key = name if style.sheet is None else f"{name}#{style.sheet}"
        rows[key] = rendered.height
        if style.encoding == "xlsx":
            xlsx.setdefault(name, []).append((style.sheet or dataset, ds, rendered))
        else:
            (out / name).write_bytes(_csv_bytes(rendered, style.encoding))
    notes = pl.DataFrame(
        {
            "説明": [
                "見本の市（架空）の組織マスタです。",
                "「組織」シートを取り込みます。このシートは取り込み対象外です。",
            ]
        }
    )
    xlsx["マスタ.xlsx"].append(("説明", None, notes))
    for name, sheets in xlsx.items():
        (out / name).write_bytes(_xlsx_bytes(sheets))
    files = tuple(sorted({out / name for _, name, _, _ in _file_plan(fys)}))
    return Written(files, rows, bad)


def write_skill_files(
    rng: np.random.Generator,
    out: Path,
    tables: dict[str, pl.DataFrame],
) -> Written:
    """Render and write the skill-map parts (:data:`SKILL_FILES`) like :func:`write_files`."""
    return write_parts(rng, out, tables, SKILL_FILES)


def write_parts(
    rng: np.random.Generator,
    out: Path,
    tables: dict[str, pl.DataFrame],
    parts: Sequence[tuple[str, str, Style]],
) -> Written:
    """Render and write one CSV per (dataset, file name, style) of ``parts``, recording the
    planted bad rows (``_bad``) with their spreadsheet row."""
    rows: dict[str, int] = {}
    bad: list[dict[str, Any]] = []
    for dataset, name, style in parts:
        part = tables[dataset]
        rendered = _render(DATASETS[dataset], part, style, rng)
        for i in np.flatnonzero(part["_bad"].is_not_null().to_numpy()):
            bad.append(
                {
                    "dataset": dataset,
                    "file": name,
                    "sheet": None,
                    "row": int(i) + 2,
                    "rule": part["_bad"][int(i)],
                }
            )
        rows[name] = rendered.height
        (out / name).write_bytes(_csv_bytes(rendered, style.encoding))
    files = tuple(out / name for _, name, _ in parts)
    return Written(files, rows, bad)
