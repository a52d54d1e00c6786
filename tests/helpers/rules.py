"""One row per contract rule: a fresh valid row and the edit that breaks exactly that rule.

Used by the rule tests (every rule lands in quarantine with its id) and the contract tests (every
rule the GX suites can see fails its suite).
"""

from __future__ import annotations

from dxkpi.catalogue.contract import DATASETS, Kind, rule_catalogue
from tests.helpers.rawcity import TINY

__all__ = [
    "CASES",
    "DUP",
    "FRESH",
    "HEADER",
    "MAPPED_COLUMN",
    "MAPPING_ONLY",
    "XLSX_ONLY",
    "all_rule_ids",
    "bad_row",
    "case_mapping",
    "mapped_column",
]

FRESH: dict[str, dict[str, str]] = {
    "departments": {
        "department_code": "090100",
        "department_name": "新設課",
        "division": "新設部",
        "pilot_fy": "",
    },
    "staff": {
        "fiscal_year": "2025",
        "employee_id": "0000099",
        "department_code": "010100",
        "job_level": "staff",
        "talent_type": "",
    },
    "courses": {
        "course_id": "C99",
        "course_name": "新研修",
        "phase": "3",
        "skill_area": "security",
        "hours": "2",
        "instructor": "internal",
    },
    "attendance": {
        "employee_id": "0000002",
        "course_id": "C02",
        "session_date": "2025-09-01",
        "status": "completed",
        "pre_score": "10",
        "post_score": "90",
        "satisfaction": "5",
    },
    "proposals": {
        "proposal_id": "P099",
        "employee_id": "0000002",
        "department_code": "020100",
        "submitted_on": "2025-05-01",
        "title": "新提案",
        "category": "",
        "status": "adopted",
        "decided_on": "2025-06-01",
        "implemented_on": "",
        "hours_saved_per_year": "5",
    },
    "projects": {
        "project_id": "X99",
        "project_name": "新案件",
        "department_code": "020100",
        "lead_employee_id": "",
        "started_on": "2025-04-01",
        "ended_on": "",
        "support_model": "in_house",
        "status": "active",
        "self_running": "",
        "hours_saved_per_year": "",
        "cost_yen": "",
    },
    "resident_survey": {
        "fiscal_year": "2025",
        "department_code": "010100",
        "respondents": "10",
        "satisfied": "3",
    },
    "maturity_survey": {
        "fiscal_year": "2025",
        "respondent_id": "R9",
        "department_code": "020100",
        "job_level": "mid",
        "dimension": "culture",
        "score": "4",
    },
    "skill_assessment": {
        "fiscal_year": "2025",
        "employee_id": "0000001",
        "skill_area": "security",
        "assessor": "manager",
        "level": "4",
    },
    "knowledge_posts": {
        "post_id": "K099",
        "employee_id": "0000002",
        "department_code": "020100",
        "posted_on": "2025-09-01",
        "kind": "howto",
        "title": "新ノウハウ",
    },
    "followup_survey": {
        "employee_id": "0000002",
        "course_id": "C01",
        "days_after": "60",
        "responded_on": "2025-07-09",
        "applied": "3",
        "manager_support": "どちらともいえない",
        "barrier": "特にない",
    },
    "assignments": {
        "employee_id": "0000002",
        "department_code": "010100",
        "job_level": "mid",
        "valid_from": "2025-10-01",
        "valid_to": "2026-03-31",
        "status": "childcare_leave",
    },
}

DUP = object()  # marker: the fresh row repeats the first row's key

# rule id → edits to the fresh row (DUP: an exact copy of the dataset's first row)
CASES: dict[str, dict[str, str] | object] = {
    "departments.department_code.required": {"department_code": ""},
    "departments.department_name.required": {"department_name": " "},
    "departments.division.required": {"division": ""},
    "departments.pilot_fy.parse": {"pilot_fy": "来年度"},
    "departments.pilot_fy.range": {"pilot_fy": "1999"},
    "departments.duplicate_key": DUP,
    "staff.fiscal_year.required": {"fiscal_year": ""},
    "staff.fiscal_year.parse": {"fiscal_year": "20X5"},
    "staff.fiscal_year.range": {"fiscal_year": "2099"},
    "staff.employee_id.required": {"employee_id": ""},
    "staff.department_code.required": {"department_code": ""},
    "staff.job_level.required": {"job_level": ""},
    "staff.job_level.accepted": {"job_level": "部長"},
    "staff.talent_type.accepted": {"talent_type": "エース"},
    "staff.duplicate_key": DUP,
    "staff.department_code.exists": {"department_code": "999999"},
    "courses.course_id.required": {"course_id": ""},
    "courses.course_name.required": {"course_name": ""},
    "courses.phase.required": {"phase": ""},
    "courses.phase.accepted": {"phase": "4"},
    "courses.skill_area.required": {"skill_area": ""},
    "courses.skill_area.accepted": {"skill_area": "営業"},
    "courses.hours.required": {"hours": ""},
    "courses.hours.parse": {"hours": "三時間"},
    "courses.hours.range": {"hours": "0"},
    "courses.hours.separators": {"hours": "1,5"},
    "courses.hours.finite": {"hours": "1e309"},
    "courses.instructor.required": {"instructor": ""},
    "courses.instructor.accepted": {"instructor": "AI"},
    "courses.duplicate_key": DUP,
    "attendance.employee_id.required": {"employee_id": ""},
    "attendance.course_id.required": {"course_id": ""},
    "attendance.session_date.required": {"session_date": ""},
    "attendance.session_date.parse": {"session_date": "令和7年2月30日"},
    "attendance.session_date.range": {"session_date": "0001-01-01"},
    "attendance.status.required": {"status": ""},
    "attendance.status.accepted": {"status": "保留"},
    "attendance.pre_score.parse": {"pre_score": "A"},
    "attendance.pre_score.range": {"pre_score": "-1"},
    "attendance.pre_score.separators": {"pre_score": "1.234,5"},
    "attendance.pre_score.finite": {"pre_score": "1e309"},
    "attendance.post_score.parse": {"post_score": "良"},
    "attendance.post_score.range": {"post_score": "120"},
    "attendance.post_score.separators": {"post_score": "12,34"},
    "attendance.post_score.finite": {"post_score": "-1e309"},
    "attendance.satisfaction.parse": {"satisfaction": "3.5"},
    "attendance.satisfaction.range": {"satisfaction": "6"},
    "attendance.satisfaction.separators": {"satisfaction": "4,0"},
    "attendance.satisfaction.finite": {"satisfaction": "1e400"},
    "attendance.duplicate_key": DUP,
    "attendance.employee_id.on_staff_list": {"session_date": "2023-09-01"},
    "attendance.course_id.exists": {"course_id": "C77"},
    "proposals.proposal_id.required": {"proposal_id": ""},
    "proposals.employee_id.required": {"employee_id": ""},
    "proposals.department_code.required": {"department_code": ""},
    "proposals.submitted_on.required": {"submitted_on": ""},
    "proposals.submitted_on.parse": {"submitted_on": "先月"},
    "proposals.submitted_on.range": {"submitted_on": "H7.4.1"},  # 平成 typed for 令和
    "proposals.title.required": {"title": ""},
    "proposals.status.required": {"status": ""},
    "proposals.status.accepted": {"status": "保留"},
    "proposals.decided_on.parse": {"decided_on": "2025-13-01"},
    "proposals.decided_on.range": {"decided_on": "2099-04-01"},
    "proposals.implemented_on.parse": {"status": "implemented", "implemented_on": "R7.6.31"},
    "proposals.implemented_on.range": {"status": "implemented", "implemented_on": "R81.4.1"},
    "proposals.hours_saved_per_year.parse": {"hours_saved_per_year": "たくさん"},
    "proposals.hours_saved_per_year.range": {"hours_saved_per_year": "△5"},
    "proposals.hours_saved_per_year.separators": {"hours_saved_per_year": "12,34"},
    "proposals.hours_saved_per_year.finite": {"hours_saved_per_year": "1e309"},
    "proposals.decided_on.after_submitted": {"decided_on": "2025-04-30"},
    "proposals.implemented_on.after_decided": {
        "status": "implemented",
        "implemented_on": "2025-05-31",
    },
    "proposals.decided_on.required": {"decided_on": ""},
    "proposals.decided_on.empty_when_submitted": {"status": "submitted"},
    "proposals.implemented_on.required": {"status": "implemented"},
    "proposals.implemented_on.only_when_implemented": {"implemented_on": "2025-07-01"},
    "proposals.duplicate_key": DUP,
    "proposals.employee_id.on_staff_list": {"employee_id": "0000055"},
    "proposals.department_code.exists": {"department_code": "999999"},
    "projects.project_id.required": {"project_id": ""},
    "projects.project_name.required": {"project_name": ""},
    "projects.department_code.required": {"department_code": ""},
    "projects.started_on.required": {"started_on": ""},
    "projects.started_on.parse": {"started_on": "2025-02-29"},
    "projects.started_on.range": {"started_on": "1900-01-01"},
    "projects.ended_on.parse": {"ended_on": "未定"},
    "projects.ended_on.range": {"ended_on": "2099-04-01"},
    "projects.support_model.required": {"support_model": ""},
    "projects.support_model.accepted": {"support_model": "丸投げ"},
    "projects.status.required": {"status": ""},
    "projects.status.accepted": {"status": "休止"},
    "projects.self_running.parse": {"self_running": "たぶん"},
    "projects.hours_saved_per_year.parse": {"hours_saved_per_year": "x"},
    "projects.hours_saved_per_year.range": {"hours_saved_per_year": "-3"},
    "projects.hours_saved_per_year.separators": {"hours_saved_per_year": "1.234,5"},
    "projects.hours_saved_per_year.finite": {"hours_saved_per_year": "1e309"},
    "projects.cost_yen.parse": {"cost_yen": "百万円"},
    "projects.cost_yen.range": {"cost_yen": "▲1,000円"},
    "projects.cost_yen.separators": {"cost_yen": "1.200.000"},
    "projects.cost_yen.finite": {"cost_yen": "1e999円"},
    "projects.ended_on.after_started": {"ended_on": "2025-03-31"},
    "projects.ended_on.required": {"status": "completed", "self_running": "はい"},
    "projects.self_running.required": {"status": "completed", "ended_on": "2026-01-05"},
    "projects.duplicate_key": DUP,
    "projects.department_code.exists": {"department_code": "999999"},
    "resident_survey.fiscal_year.required": {"fiscal_year": ""},
    "resident_survey.fiscal_year.parse": {"fiscal_year": "令和X年度"},
    "resident_survey.fiscal_year.range": {"fiscal_year": "1999"},
    "resident_survey.department_code.required": {"department_code": ""},
    "resident_survey.respondents.required": {"respondents": ""},
    "resident_survey.respondents.parse": {"respondents": "10.5"},
    "resident_survey.respondents.range": {"respondents": "0", "satisfied": "0"},
    "resident_survey.respondents.separators": {"respondents": "10,0"},
    "resident_survey.respondents.finite": {"respondents": "1e309"},
    "resident_survey.satisfied.required": {"satisfied": ""},
    "resident_survey.satisfied.parse": {"satisfied": "半分"},
    "resident_survey.satisfied.range": {"satisfied": "-1"},
    "resident_survey.satisfied.separators": {"satisfied": "3,0"},
    "resident_survey.satisfied.finite": {"satisfied": "1e309"},
    "resident_survey.satisfied.le_respondents": {"satisfied": "11"},
    "resident_survey.duplicate_key": DUP,
    "resident_survey.department_code.exists": {"department_code": "999999"},
    "maturity_survey.fiscal_year.required": {"fiscal_year": ""},
    "maturity_survey.fiscal_year.parse": {"fiscal_year": "X"},
    "maturity_survey.fiscal_year.range": {"fiscal_year": "令和81年度"},
    "maturity_survey.respondent_id.required": {"respondent_id": ""},
    "maturity_survey.department_code.required": {"department_code": ""},
    "maturity_survey.job_level.required": {"job_level": ""},
    "maturity_survey.job_level.accepted": {"job_level": "課長"},
    "maturity_survey.dimension.required": {"dimension": ""},
    "maturity_survey.dimension.accepted": {"dimension": "予算"},
    "maturity_survey.score.required": {"score": ""},
    "maturity_survey.score.parse": {"score": "2.5"},
    "maturity_survey.score.range": {"score": "7"},
    "maturity_survey.score.separators": {"score": "3,0"},
    "maturity_survey.score.finite": {"score": "1e309"},
    "maturity_survey.duplicate_key": DUP,
    "maturity_survey.department_code.exists": {"department_code": "999999"},
    "skill_assessment.fiscal_year.required": {"fiscal_year": ""},
    "skill_assessment.fiscal_year.parse": {"fiscal_year": "来年度"},
    "skill_assessment.fiscal_year.range": {"fiscal_year": "H7"},
    "skill_assessment.employee_id.required": {"employee_id": ""},
    "skill_assessment.skill_area.required": {"skill_area": ""},
    "skill_assessment.skill_area.accepted": {"skill_area": "語学"},
    "skill_assessment.assessor.required": {"assessor": ""},
    "skill_assessment.assessor.accepted": {"assessor": "同僚"},
    "skill_assessment.level.required": {"level": ""},
    "skill_assessment.level.parse": {"level": "2.5"},
    "skill_assessment.level.range": {"level": "5"},
    "skill_assessment.level.separators": {"level": "2,0"},
    "skill_assessment.level.finite": {"level": "1e309"},
    "skill_assessment.duplicate_key": DUP,
    "skill_assessment.employee_id.on_staff_list": {"fiscal_year": "2023"},
    "knowledge_posts.post_id.required": {"post_id": ""},
    "knowledge_posts.employee_id.required": {"employee_id": ""},
    "knowledge_posts.department_code.required": {"department_code": ""},
    "knowledge_posts.posted_on.required": {"posted_on": ""},
    "knowledge_posts.posted_on.parse": {"posted_on": "R7.9.31"},
    "knowledge_posts.posted_on.range": {"posted_on": "2099-04-01"},
    "knowledge_posts.kind.required": {"kind": ""},
    "knowledge_posts.kind.accepted": {"kind": "雑談"},
    "knowledge_posts.title.required": {"title": ""},
    "knowledge_posts.duplicate_key": DUP,
    "knowledge_posts.employee_id.on_staff_list": {"posted_on": "2026-04-01"},
    "knowledge_posts.department_code.exists": {"department_code": "999999"},
    "followup_survey.employee_id.required": {"employee_id": ""},
    "followup_survey.course_id.required": {"course_id": ""},
    "followup_survey.days_after.required": {"days_after": ""},
    "followup_survey.days_after.accepted": {"days_after": "45"},
    "followup_survey.responded_on.required": {"responded_on": ""},
    "followup_survey.responded_on.parse": {"responded_on": "R7.2.30"},
    "followup_survey.responded_on.range": {"responded_on": "2099-07-09"},
    "followup_survey.applied.required": {"applied": ""},
    "followup_survey.applied.accepted": {"applied": "6"},
    "followup_survey.manager_support.required": {"manager_support": " "},
    "followup_survey.manager_support.accepted": {"manager_support": "少しそう思う"},
    "followup_survey.barrier.accepted": {"barrier": "予算がない"},
    "followup_survey.duplicate_key": DUP,
    "followup_survey.employee_id.on_staff_list": {"responded_on": "2023-07-09"},
    "followup_survey.course_id.exists": {"course_id": "C77"},
    "assignments.employee_id.required": {"employee_id": ""},
    "assignments.department_code.required": {"department_code": ""},
    "assignments.job_level.required": {"job_level": ""},
    "assignments.job_level.accepted": {"job_level": "係長"},
    "assignments.valid_from.required": {"valid_from": ""},
    "assignments.valid_from.parse": {"valid_from": "R7.10.32"},
    "assignments.valid_from.range": {"valid_from": "1999-04-01"},
    "assignments.valid_to.parse": {"valid_to": "年度末"},
    "assignments.valid_to.range": {"valid_to": "2099-03-31"},
    "assignments.status.required": {"status": ""},
    "assignments.status.accepted": {"status": "退職"},
    "assignments.valid_to.ge_valid_from": {"valid_to": "2025-09-30"},
    "assignments.duplicate_key": DUP,
    "assignments.employee_id.on_staff_list": {"valid_from": "2023-10-01", "valid_to": ""},
    "assignments.department_code.exists": {"department_code": "999999"},
    "assignments.employee_id.id_format": {"employee_id": "0000002\u200b"},
    "assignments.department_code.id_format": {"department_code": "010100/"},
    "assignments.employee_id.leading_zeros": {"employee_id": "2"},
    "assignments.department_code.leading_zeros": {"department_code": "10100"},
    # identifiers: the character set of the contract (the detail column names the character)
    "departments.department_code.id_format": {"department_code": "q/../../x"},
    "staff.employee_id.id_format": {"employee_id": "000\u200b0099"},
    "staff.department_code.id_format": {"department_code": "01 0100"},
    "courses.course_id.id_format": {"course_id": "研修99"},
    "attendance.employee_id.id_format": {"employee_id": "\ufeff0000002"},
    "attendance.course_id.id_format": {"course_id": ".C02"},
    "proposals.proposal_id.id_format": {"proposal_id": "P\t099"},
    "proposals.employee_id.id_format": {"employee_id": "0000002\u200d"},
    "proposals.department_code.id_format": {"department_code": "020100\\x"},
    "projects.project_id.id_format": {"project_id": "X" * 65},
    "projects.department_code.id_format": {"department_code": "020100#"},
    "projects.lead_employee_id.id_format": {"lead_employee_id": "0000001\u3000x"},
    "resident_survey.department_code.id_format": {"department_code": "010100\u0301"},
    "maturity_survey.respondent_id.id_format": {"respondent_id": "R9!"},
    "maturity_survey.department_code.id_format": {"department_code": "０２０１００／"},
    "skill_assessment.employee_id.id_format": {"employee_id": "0000001\u00ad"},
    "knowledge_posts.post_id.id_format": {"post_id": "K099\u200b"},
    "knowledge_posts.employee_id.id_format": {"employee_id": "0000002\u2060"},
    "knowledge_posts.department_code.id_format": {"department_code": "020100:"},
    # identifiers that differ only in leading zeros (Excel turned them into numbers)
    "departments.department_code.zero_variant": {"department_code": "10100"},
    "staff.employee_id.zero_variant": {"employee_id": "1"},
    "courses.course_id.zero_variant": {"course_id": "0C01"},
    "proposals.proposal_id.zero_variant": {"proposal_id": "0P001"},
    "projects.project_id.zero_variant": {"project_id": "0X01"},
    "maturity_survey.respondent_id.zero_variant": {"respondent_id": "0R1"},
    "knowledge_posts.post_id.zero_variant": {"post_id": "0K001"},
    "staff.department_code.leading_zeros": {"department_code": "10100"},
    "attendance.employee_id.leading_zeros": {"employee_id": "2"},
    "attendance.course_id.leading_zeros": {"course_id": "0C02"},
    "proposals.employee_id.leading_zeros": {"employee_id": "00000002"},
    "proposals.department_code.leading_zeros": {"department_code": "20100"},
    "projects.department_code.leading_zeros": {"department_code": "0020100"},
    "resident_survey.department_code.leading_zeros": {"department_code": "10100"},
    "maturity_survey.department_code.leading_zeros": {"department_code": "20100"},
    "skill_assessment.employee_id.leading_zeros": {"employee_id": "1"},
    "knowledge_posts.employee_id.leading_zeros": {"employee_id": "2"},
    "knowledge_posts.department_code.leading_zeros": {"department_code": "20100"},
    "followup_survey.employee_id.id_format": {"employee_id": "0000002\u200b"},
    "followup_survey.course_id.id_format": {"course_id": "C 01"},
    "followup_survey.employee_id.leading_zeros": {"employee_id": "2"},
    "followup_survey.course_id.leading_zeros": {"course_id": "0C01"},
}


# Rules every dataset has: a repeated header row, an over-long cell, a key conflict, an Excel
# error cell.
HEADER = object()  # marker: the fresh row repeats the header (English names)
LONG_COLUMN = {
    "departments": "department_name",
    "staff": "employee_id",
    "courses": "course_name",
    "attendance": "course_id",
    "proposals": "title",
    "projects": "project_name",
    "resident_survey": "department_code",
    "maturity_survey": "respondent_id",
    "skill_assessment": "employee_id",
    "knowledge_posts": "title",
    "followup_survey": "course_id",
    "assignments": "department_code",
}
CONFLICT_EDIT = {
    "departments": {"department_name": "別名の課"},
    "staff": {"job_level": "mid"},
    "courses": {"course_name": "改名した研修"},
    "attendance": {"status": "attended"},
    "proposals": {"title": "別の件名"},
    "projects": {"project_name": "別案件名"},
    "resident_survey": {"satisfied": "149"},
    "maturity_survey": {"score": "4"},
    "skill_assessment": {"level": "3"},
    "knowledge_posts": {"kind": "success"},
    "followup_survey": {"applied": "1"},
    "assignments": {"status": "secondment"},
}
for _ds in TINY:
    CASES[f"{_ds}.repeated_header"] = HEADER
    CASES[f"{_ds}.cell_too_long"] = {LONG_COLUMN[_ds]: "長" * 40_000}
    CASES[f"{_ds}.key_conflict"] = ("conflict", CONFLICT_EDIT[_ds])
    CASES[f"{_ds}.excel_error"] = {LONG_COLUMN[_ds]: "#N/A"}  # an error cell: XLSX only

#: Rules only an XLSX can break: their case writes the dataset as ``<dataset>.xlsx``.
XLSX_ONLY = frozenset(f"{ds}.excel_error" for ds in TINY)

#: The column whose values table (every value of the valid rows, mapped to itself) the case of
#: ``<dataset>.unmapped_value`` extends with a value the table lacks.
MAPPED_COLUMN = {
    "departments": "division",
    "staff": "job_level",
    "courses": "skill_area",
    "attendance": "status",
    "proposals": "status",
    "projects": "support_model",
    "resident_survey": "department_code",
    "maturity_survey": "dimension",
    "skill_assessment": "assessor",
    "knowledge_posts": "kind",
    "followup_survey": "barrier",
}
UNMAPPED_TEXT = "対応表にない値"


def mapped_column(dataset: str) -> str:
    """:data:`MAPPED_COLUMN`'s column, or for a dataset it does not list, the first required
    code column (else the first required text column)."""
    if dataset in MAPPED_COLUMN:
        return MAPPED_COLUMN[dataset]
    ds = DATASETS[dataset]
    for kinds in ((Kind.CODE,), (Kind.TEXT,)):
        for col in ds.columns:
            if col.required and col.kind in kinds:
                return col.name
    raise KeyError(f"add {dataset} to MAPPED_COLUMN")


for _ds in TINY:
    CASES[f"{_ds}.unmapped_value"] = {mapped_column(_ds): UNMAPPED_TEXT}
#: Rules only a file read with a mapping can break: their case ingests with :func:`case_mapping`.
MAPPING_ONLY = frozenset(f"{ds}.unmapped_value" for ds in TINY)


def case_mapping(dataset: str, rows: list[dict[str, str]]) -> dict[str, object]:
    """The ``[mapping]`` table of an unmapped-value case: the dataset's mapped column with every
    value of ``rows`` but the case's own mapped to itself."""
    column = mapped_column(dataset)
    values = {r[column]: r[column] for r in rows if r[column] and r[column] != UNMAPPED_TEXT}
    return {dataset: {"values": {column: values}}}


def bad_row(dataset: str, rows: list[dict[str, str]], rule_id: str) -> dict[str, str]:
    """The one row that breaks ``rule_id``, built from the case table."""
    edits = CASES[rule_id]
    if edits is DUP:
        return dict(rows[0])
    if edits is HEADER:
        return {c: c for c in rows[0]}
    if isinstance(edits, tuple):
        return {**rows[0], **edits[1]}
    return {**FRESH[dataset], **edits}  # type: ignore[dict-item]


def all_rule_ids() -> list[str]:
    return [rid for ds in DATASETS for rid in rule_catalogue(ds)]
