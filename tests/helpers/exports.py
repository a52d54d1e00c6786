"""Realistic exports of a city's own systems, made from the sample city's raw files.

A city's personnel and LMS systems do not write the contract's names. These functions rewrite
one sample-city file as such a system would export it — same rows, same order, same facts —
so a test can map the export (``dxkpi map``), ingest it and compare with the original file:

* :func:`hr_staff_export` — the 人事給与システム's 職員一覧 (CP932): 職員コード, 氏名,
  所属名称 (the department's *name*, not its code), 職名 (a Japanese job title drawn from the
  titles of the row's 職層), DX人材区分, 内線番号;
* :func:`lms_attendance_export` — an LMS's 受講履歴 (UTF-8 with BOM): 受講者ID (the ID as the
  LMS stores it: a number, leading zeros lost), 氏名, 講座コード, 講座名, 受講日時
  (``2024/04/08 09:30``), 受講状況 in the LMS's own words (修了済, 受講済, 欠席(連絡あり),
  欠席(連絡なし)), 事前テスト点, 事後テスト点, 満足度(5段階).

A value the original file holds that is not a contract value (a planted fault) is written as
it was, so the export breaks a rule wherever the original does. Titles and absence reasons come
from their own ``numpy`` stream (``seed``), so an export is the same every time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl

from dxkpi.catalogue.contract import DATASETS
from dxkpi.catalogue.synonyms import JOB_TITLES
from dxkpi.ingest.parse import code_lookup, parse_date
from dxkpi.ingest.read import discover, read_part

__all__ = ["HR_FILE", "LMS_FILE", "TITLES", "hr_staff_export", "lms_attendance_export", "original"]

HR_FILE = "人事給与_職員一覧_20250401.csv"
LMS_FILE = "LMS受講履歴_2024.csv"

#: The job titles an HR export writes (those of the issue that asked for mappings).
TITLES = (
    "部長",
    "次長",
    "課長",
    "課長補佐",
    "係長",
    "主査",
    "主任",
    "主事",
    "技師",
    "会計年度任用職員",
)
_NAMES = ("山田　太郎", "佐藤　花子", "鈴木　一郎", "高橋　恵")
_STATUS = {
    "completed": ("修了済",),
    "attended": ("受講済",),
    "absent": ("欠席(連絡あり)", "欠席(連絡なし)"),
}


def original(raw: Path, rel: str) -> pl.DataFrame:
    """A raw file of the sample city as text with contract column names (no rule applied)."""
    part = next(p for p in discover(raw).parts if p.rel == rel)
    return read_part(part).frame


def _codes(frame: pl.DataFrame, dataset: str, column: str) -> list[str | None]:
    lookup = code_lookup(DATASETS[dataset].column(column))
    return [
        lookup.get(v.strip().lower()) if v is not None else None for v in frame[column].to_list()
    ]


def _write(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def hr_staff_export(raw: Path, rel: str, out: Path, seed: int = 17) -> Path:
    """Write ``out/HR_FILE`` from the sample city's staff file ``rel`` under ``raw`` (and the
    department names of its departments data)."""
    rng = np.random.default_rng(seed)
    staff = original(raw, rel)
    depts = pl.concat(
        [read_part(p).frame for p in discover(raw).parts if p.dataset == "departments"]
    )
    names = dict(zip(depts["department_code"], depts["department_name"], strict=True))
    titles = {lv: [t for t in TITLES if JOB_TITLES[t] == lv] for lv in set(JOB_TITLES.values())}
    rows = []
    for i, (row, level) in enumerate(
        zip(staff.iter_rows(named=True), _codes(staff, "staff", "job_level"), strict=True)
    ):
        if level is None:
            title = row["job_level"] or ""
        else:
            options = titles[level]
            title = options[int(rng.integers(0, len(options)))]
        rows.append(
            [
                row["fiscal_year"] or "",
                row["employee_id"] or "",
                _NAMES[i % len(_NAMES)],
                names.get(row["department_code"], row["department_code"] or ""),
                title,
                row["talent_type"] or "",
                f"{int(rng.integers(1000, 9999))}",
            ]
        )
    header = ["年度", "職員コード", "氏名", "所属名称", "職名", "DX人材区分", "内線番号"]
    return _write(out / HR_FILE, header, rows, "cp932")


def lms_attendance_export(raw: Path, rel: str, out: Path, seed: int = 29) -> Path:
    """Write ``out/LMS_FILE`` from the sample city's attendance file ``rel`` under ``raw`` (and
    the course names of its courses data)."""
    rng = np.random.default_rng(seed)
    att = original(raw, rel)
    courses = pl.concat([read_part(p).frame for p in discover(raw).parts if p.dataset == "courses"])
    course_names = dict(zip(courses["course_id"], courses["course_name"], strict=True))
    dates = att.select(parse_date(pl.col("session_date"))).to_series().to_list()
    rows = []
    for i, (row, status, day) in enumerate(
        zip(att.iter_rows(named=True), _codes(att, "attendance", "status"), dates, strict=True)
    ):
        ident = row["employee_id"] or ""
        if ident.isascii() and ident.isdigit():
            ident = ident.lstrip("0") or "0"
        when = (
            f"{day:%Y/%m/%d} {9 + i % 8:02d}:30" if day is not None else row["session_date"] or ""
        )
        if status is None:
            said = row["status"] or ""
        else:
            options = _STATUS[status]
            said = options[int(rng.integers(0, len(options)))]
        rows.append(
            [
                ident,
                _NAMES[i % len(_NAMES)],
                row["course_id"] or "",
                course_names.get(row["course_id"], ""),
                when,
                said,
                row["pre_score"] or "",
                row["post_score"] or "",
                row["satisfaction"] or "",
            ]
        )
    header = [
        "受講者ID",
        "氏名",
        "講座コード",
        "講座名",
        "受講日時",
        "受講状況",
        "事前テスト点",
        "事後テスト点",
        "満足度(5段階)",
    ]
    return _write(out / LMS_FILE, header, rows, "utf-8-sig")
