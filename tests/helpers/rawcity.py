"""A tiny hand-written raw city for ingestion tests: every dataset valid, a few rows each.

``write_tiny_city(folder)`` writes UTF-8 CSVs with English headers; tests then add, replace or
corrupt single files to exercise one rule at a time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

TINY: dict[str, list[dict[str, str]]] = {
    "departments": [
        {
            "department_code": "010100",
            "department_name": "総務課",
            "division": "総務部",
            "pilot_fy": "2023",
        },
        {
            "department_code": "020100",
            "department_name": "市民課",
            "division": "市民部",
            "pilot_fy": "",
        },
    ],
    "staff": [
        {
            "fiscal_year": "2024",
            "employee_id": "0000001",
            "department_code": "010100",
            "job_level": "manager",
            "talent_type": "leader",
        },
        {
            "fiscal_year": "2024",
            "employee_id": "0000002",
            "department_code": "020100",
            "job_level": "staff",
            "talent_type": "",
        },
        {
            "fiscal_year": "2025",
            "employee_id": "0000001",
            "department_code": "020100",
            "job_level": "manager",
            "talent_type": "leader",
        },
        {
            "fiscal_year": "2025",
            "employee_id": "0000002",
            "department_code": "020100",
            "job_level": "mid",
            "talent_type": "practitioner",
        },
    ],
    "courses": [
        {
            "course_id": "C01",
            "course_name": "DX基礎",
            "phase": "1",
            "skill_area": "process",
            "hours": "3",
            "instructor": "external",
        },
        {
            "course_id": "C02",
            "course_name": "データ活用",
            "phase": "2",
            "skill_area": "data",
            "hours": "6.5",
            "instructor": "internal",
        },
    ],
    "attendance": [
        {
            "employee_id": "0000001",
            "course_id": "C01",
            "session_date": "2024-05-10",
            "status": "completed",
            "pre_score": "40",
            "post_score": "80",
            "satisfaction": "4",
        },
        {
            "employee_id": "0000002",
            "course_id": "C01",
            "session_date": "2025-05-10",
            "status": "attended",
            "pre_score": "",
            "post_score": "",
            "satisfaction": "",
        },
        {
            "employee_id": "0000001",
            "course_id": "C02",
            "session_date": "2025-06-01",
            "status": "absent",
            "pre_score": "",
            "post_score": "",
            "satisfaction": "",
        },
    ],
    "proposals": [
        {
            "proposal_id": "P001",
            "employee_id": "0000001",
            "department_code": "010100",
            "submitted_on": "2024-07-01",
            "title": "=申請様式の電子化",
            "category": "",
            "status": "implemented",
            "decided_on": "2024-08-01",
            "implemented_on": "2024-10-01",
            "hours_saved_per_year": "120",
        },
        {
            "proposal_id": "P002",
            "employee_id": "0000002",
            "department_code": "020100",
            "submitted_on": "2025-07-01",
            "title": "窓口予約",
            "category": "窓口",
            "status": "submitted",
            "decided_on": "",
            "implemented_on": "",
            "hours_saved_per_year": "",
        },
    ],
    "projects": [
        {
            "project_id": "X01",
            "project_name": "RPA導入",
            "department_code": "010100",
            "lead_employee_id": "0000001",
            "started_on": "2024-04-15",
            "ended_on": "2025-03-01",
            "support_model": "co_creation",
            "status": "completed",
            "self_running": "true",
            "hours_saved_per_year": "300",
            "cost_yen": "1,200,000",
        },
    ],
    "resident_survey": [
        {
            "fiscal_year": "2024",
            "department_code": "020100",
            "respondents": "200",
            "satisfied": "150",
        },
    ],
    "maturity_survey": [
        {
            "fiscal_year": "2024",
            "respondent_id": "R1",
            "department_code": "010100",
            "job_level": "manager",
            "dimension": "literacy",
            "score": "3",
        },
        {
            "fiscal_year": "2024",
            "respondent_id": "R2",
            "department_code": "010100",
            "job_level": "staff",
            "dimension": "literacy",
            "score": "1",
        },
    ],
    "skill_assessment": [
        {
            "fiscal_year": "2024",
            "employee_id": "0000001",
            "skill_area": "data",
            "assessor": "self",
            "level": "2",
        },
        {
            "fiscal_year": "2024",
            "employee_id": "0000001",
            "skill_area": "data",
            "assessor": "manager",
            "level": "1",
        },
        {
            "fiscal_year": "2025",
            "employee_id": "0000002",
            "skill_area": "process",
            "assessor": "self",
            "level": "3",
        },
    ],
    "knowledge_posts": [
        {
            "post_id": "K001",
            "employee_id": "0000001",
            "department_code": "010100",
            "posted_on": "2024-11-05",
            "kind": "failure",
            "title": "RPA導入でつまずいた点",
        },
        {
            "post_id": "K002",
            "employee_id": "0000002",
            "department_code": "020100",
            "posted_on": "2025-06-20",
            "kind": "success",
            "title": "窓口予約の電子化",
        },
    ],
    "followup_survey": [
        {
            "employee_id": "0000001",
            "course_id": "C01",
            "days_after": "30",
            "responded_on": "2024-06-10",
            "applied": "4",
            "manager_support": "そう思う",
            "barrier": "",
        },
        {
            "employee_id": "0000001",
            "course_id": "C01",
            "days_after": "90日後",
            "responded_on": "2024-08-09",
            "applied": "とてもそう思う",
            "manager_support": "2",
            "barrier": "no_time",
        },
    ],
    # one order restating 0000001's FY2025 staff row, open-ended: nothing moves
    "assignments": [
        {
            "employee_id": "0000001",
            "department_code": "020100",
            "job_level": "manager",
            "valid_from": "2025-04-01",
            "valid_to": "",
            "status": "active",
        },
    ],
}


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    encoding: str = "utf-8",
    header: list[str] | None = None,
) -> Path:
    """Write rows as CSV (header from the first row unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = header or list(rows[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_tiny_city(folder: Path) -> Path:
    """Write every dataset of :data:`TINY` as ``<dataset>.csv`` into ``folder``."""
    for name, rows in TINY.items():
        write_csv(folder / f"{name}.csv", rows)
    return folder


def write_xlsx(
    path: Path,
    sheets: dict[str, list[dict[str, str]]],
    *,
    first_row: int = 1,
) -> Path:
    """Write one sheet per entry (header from the first row), every cell as text, the header on
    sheet row ``first_row``. A cell whose text is an Excel error (``#N/A``) is an error cell; a
    text starting with ``=`` stays text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        header = list(rows[0])
        for j, key in enumerate(header, start=1):
            sheet.cell(row=first_row, column=j, value=key)
        for i, row in enumerate(rows, start=first_row + 1):
            for j, key in enumerate(header, start=1):
                if row.get(key):
                    cell = sheet.cell(row=i, column=j, value=row[key])
                    if row[key].startswith("="):  # text, as typed: not a formula
                        cell.data_type = "s"
    book.save(path)
    return path
