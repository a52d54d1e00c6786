"""The data contract, declared once.

Every dataset and column of the domain brief (``DOMAIN.md``) lives here: canonical English name,
Japanese alias, type, accepted values in both languages, required/optional, keys, row rules and
references. Parsing (:mod:`dxkpi.ingest.parse`), row validation (:mod:`dxkpi.ingest.rules`),
the Great Expectations suites in ``expectations/`` (:mod:`dxkpi.ingest.suites`) and the README's
data-contract table (:mod:`dxkpi.catalogue.docs`) are all generated from these declarations, and
the label vocabulary (:mod:`dxkpi.catalogue.labels`) takes its code families from them.
Change a rule here and the suites and docs follow (``dxkpi expectations --write``,
``dxkpi docs --write``); a test fails while they disagree.

>>> DATASETS["staff"].column("job_level").ja
'職層'
>>> [c.code for c in DATASETS["staff"].column("job_level").codes]
['manager', 'mid', 'staff']
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TypedDict, Unpack

from dxkpi.core.fiscal import fiscal_year

__all__ = [
    "ASSIGNMENT_END_DAYS_AFTER_RUN",
    "ASSIGNMENT_STATUS",
    "CONTRACT_VERSION",
    "COURSE_COST_MAX",
    "DATASETS",
    "DAYS_AFTER_RUN",
    "EARLIEST_DATE",
    "EARLIEST_FISCAL_YEAR",
    "EXCEL_CELL_LIMIT",
    "FOLLOWUP_DAYS",
    "GENERAL_RULES",
    "ID_FAULT",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "INSTRUCTOR_HOURS_MAX",
    "JOB_LEVEL",
    "LEADING_ZEROS",
    "LIKERT",
    "LIKERT_AGREE",
    "NUMBER_FAULTS",
    "PERSONAL_NAME_HEADERS",
    "PLANNED_YEARS_AFTER_RUN",
    "PROJECT_COST_MAX",
    "PROJECT_HOURS_MAX",
    "PROPOSAL_HOURS_MAX",
    "RESPONDENTS_MAX",
    "SKILL_AREA",
    "WORKING_YEAR_HOURS",
    "YEARS_AFTER_RUN",
    "ZERO_VARIANT",
    "Code",
    "Column",
    "Compare",
    "Dataset",
    "EmptyWhen",
    "Kind",
    "Reference",
    "RequiredWhen",
    "RowRule",
    "RuleInfo",
    "code_lookup",
    "column_faults",
    "contract_fingerprint",
    "ingest_order",
    "is_personal_name",
    "range_text",
    "rule_catalogue",
]

CONTRACT_VERSION = "1.0"


class Kind(StrEnum):
    """How a raw cell is parsed."""

    ID = "id"  # identifier or code: NFKC-normalised, trimmed, kept as a string (leading zeros kept)
    TEXT = "text"  # free text: kept verbatim
    CODE = "code"  # one of the accepted values, given in English or Japanese; stored as the code
    DATE = "date"  # ISO, slash, wareki (令和7年4月1日, R7.4.1) → Date
    FISCAL_YEAR = "fiscal_year"  # 2025, 2025年度, 令和7年度, R7 → Int32
    NUMBER = "number"  # decimal number → Float64
    INTEGER = "integer"  # whole number → Int64
    BOOLEAN = "boolean"  # true/false, 1/0, はい/いいえ, ○/× → Boolean


@dataclass(frozen=True)
class Code:
    """An accepted value: the canonical code, its Japanese label, and other spellings accepted."""

    code: str
    ja: str
    aliases: tuple[str, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        return (self.code, self.ja, *self.aliases)


@dataclass(frozen=True)
class Column:
    """One column of a dataset."""

    name: str
    ja: str
    kind: Kind
    required: bool = True
    codes: tuple[Code, ...] = ()
    min: float | None = None
    max: float | None = None
    min_strict: bool = False  # min is exclusive (0 < h)
    not_before: dt.date | None = None  # DATE: the earliest date accepted
    after_run: int | None = None  # DATE: days after the run date; FISCAL_YEAR: years after its FY
    employee_id: bool = False  # personnel-system ID: pseudonymised at ingestion
    empty_code: str | None = None  # an empty cell means this code (talent_type: unassigned)
    code_dtype: str = "str"  # "int" stores codes as Int8 (course phase)
    note_en: str = ""
    note_ja: str = ""

    @property
    def optional(self) -> bool:
        return not self.required

    @property
    def bounded(self) -> bool:
        """True when the column declares a range (a ``.range`` rule)."""
        return any(b is not None for b in (self.min, self.max, self.not_before, self.after_run))

    def latest(self, run_date: dt.date) -> dt.date | int | None:
        """The latest value accepted when ingesting on ``run_date`` (``after_run``), or None.

        >>> DATASETS["attendance"].column("session_date").latest(dt.date(2026, 3, 31))
        datetime.date(2026, 4, 1)
        >>> DATASETS["staff"].column("fiscal_year").latest(dt.date(2026, 3, 31))
        2026
        """
        if self.after_run is None:
            return None
        if self.kind is Kind.DATE:
            return run_date + dt.timedelta(days=self.after_run)
        return fiscal_year(run_date) + self.after_run

    def code_values(self) -> list[str | int]:
        """Canonical stored values of a CODE column (ints for integer codes)."""
        return [int(c.code) if self.code_dtype == "int" else c.code for c in self.codes]


def code_lookup(col: Column) -> dict[str, str]:
    """Every accepted spelling of a code column (NFKC, trimmed, lower case) → its canonical
    code: what ingestion accepts, what a mapping's ``values`` targets are checked against.

    >>> code_lookup(DATASETS["staff"].column("job_level"))["中堅職員"]
    'mid'
    """
    lookup: dict[str, str] = {}
    for code in col.codes:
        for spelling in code.spellings():
            lookup[unicodedata.normalize("NFKC", spelling).strip().lower()] = code.code
    return lookup


@dataclass(frozen=True)
class Compare:
    """Row rule: ``left op right`` on two columns of one row; skipped where either is empty."""

    id: str
    left: str
    op: str  # ">=" or "<="
    right: str
    ja: str
    en: str


@dataclass(frozen=True)
class RequiredWhen:
    """Row rule: ``column`` must be filled where ``when_column`` is (or is not) in ``values``."""

    id: str
    column: str
    when_column: str
    values: tuple[str, ...]
    negate: bool  # True: required unless when_column in values
    ja: str
    en: str


@dataclass(frozen=True)
class EmptyWhen:
    """Row rule: ``column`` must be empty where ``when_column`` is (or is not) in ``values``."""

    id: str
    column: str
    when_column: str
    values: tuple[str, ...]
    negate: bool
    ja: str
    en: str


@dataclass(frozen=True)
class Reference:
    """Cross-dataset rule: ``columns`` must exist among the accepted rows of ``dataset``.

    ``fiscal_year_from`` names a date column whose fiscal year is matched with the target's
    ``fiscal_year`` (an employee "on the staff list of the session's FY").
    """

    id: str
    columns: tuple[str, ...]
    dataset: str
    target_columns: tuple[str, ...]
    ja: str
    en: str
    fiscal_year_from: str | None = None

    @property
    def leading_zeros_id(self) -> str:
        """The rule of a row that fails this reference but would match after adding or removing
        leading zeros (``attendance.employee_id.leading_zeros``).

        >>> DATASETS["attendance"].references[0].leading_zeros_id
        'attendance.employee_id.leading_zeros'
        """
        return f"{self.id.rsplit('.', 1)[0]}.{LEADING_ZEROS}"


RowRule = Compare | RequiredWhen | EmptyWhen


@dataclass(frozen=True)
class Dataset:
    """A dataset: its columns, unique key, row rules and references."""

    name: str
    ja: str
    description_en: str
    description_ja: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    references: tuple[Reference, ...] = ()
    capability: str = "core"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.dataset for r in self.references))

    @property
    def zero_variant_columns(self) -> tuple[str, ...]:
        """Identifiers of the key checked, within the dataset, for spellings that differ only in
        leading zeros (``00124`` and ``124``); an identifier that refers to another dataset is
        checked against that dataset instead (:attr:`Reference.leading_zeros_id`).

        >>> DATASETS["staff"].zero_variant_columns, DATASETS["attendance"].zero_variant_columns
        (('employee_id',), ())
        """
        referring = {c for r in self.references for c in r.columns}
        return tuple(c for c in self.key if self.column(c).kind is Kind.ID and c not in referring)


# Identifiers (employee, department, course, proposal… codes): the reasons in GENERAL_RULES.
#: The longest identifier accepted, in characters.
ID_MAX_LENGTH = 64
#: An identifier after NFKC normalisation and trimming: ASCII letters, digits, ".", "_", "-",
#: starting with a letter or digit, at most :data:`ID_MAX_LENGTH` characters.
ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{ID_MAX_LENGTH - 1}}}$"
#: The fault (and rule suffix, ``<dataset>.<column>.id_format``) of a cell that is no identifier.
ID_FAULT = "id_format"

#: The rule suffixes of identifiers that differ only in leading zeros: ``zero_variant`` within a
#: dataset (the earlier spelling is kept), ``leading_zeros`` for a reference to another dataset.
ZERO_VARIANT = "zero_variant"
LEADING_ZEROS = "leading_zeros"
#: What to do about identifiers that differ only in leading zeros (Excel turned them into numbers).
_ZEROS_HINT_JA = "ID の列を文字列（テキスト）形式にして出力し直してください"
_ZEROS_HINT_EN = "format the ID column as text and export the file again"

#: Faults of a number cell (NUMBER and INTEGER columns) beyond "not a number", each its own rule
#: ``<dataset>.<column>.<fault>``: ``separators`` — commas or periods that do not read one way
#: (``1.234,5``, ``12,34``: a comma only groups three digits); ``finite`` — a number too large to
#: hold (``1e309`` would be infinity, and an infinite saving would be graded A).
NUMBER_FAULTS: tuple[str, str] = ("separators", "finite")

# Plausible maxima of counts and hours: a value above one is a typing or unit slip, never data.
#: One person's working year, rounded up: 7 h 45 min × about 245 working days ≈ 1,900 h.
WORKING_YEAR_HOURS = 2_000
#: Hours one proposal saves per year: one proposal changes one task, at most one working year;
#: a saving of several people's work is a DX project (``projects``).
PROPOSAL_HOURS_MAX = WORKING_YEAR_HOURS
#: Hours one DX project saves per year: 100 working years, more than one project of a city's DX
#: programme saves; above it, extra digits or minutes recorded as hours.
PROJECT_HOURS_MAX = 100 * WORKING_YEAR_HOURS
#: Cost of one DX project: 100 billion yen (1,000億円), more than a city's whole yearly IT budget.
PROJECT_COST_MAX = 100_000_000_000
#: Respondents to one department's resident survey: more than the population of Japan's largest
#: city (Yokohama, about 3.8 million).
RESPONDENTS_MAX = 4_000_000
#: What one course costs a city in one fiscal year, per cost item (external fee, venue): 10
#: billion yen (100億円), more than a large city's whole yearly training budget.
COURSE_COST_MAX = 10_000_000_000
#: Internal instructors' hours for one course in one fiscal year: ten instructors' working years.
INSTRUCTOR_HOURS_MAX = 10 * WORKING_YEAR_HOURS

# Plausible dates and fiscal years (the reasons: GENERAL_RULES below).
#: The earliest date of any record (FY2000).
EARLIEST_DATE = dt.date(2000, 4, 1)
EARLIEST_FISCAL_YEAR = fiscal_year(EARLIEST_DATE)
#: How many days after the day ingestion runs a date may lie.
DAYS_AFTER_RUN = 1
#: How many fiscal years after the run date's a fiscal year may lie.
YEARS_AFTER_RUN = 1
#: The same for the planned fiscal year a department joins the programme (``pilot_fy``).
PLANNED_YEARS_AFTER_RUN = 10
#: How many days after the run date an assignment's planned end (``valid_to``) may lie: three
#: years, the longest a leave or secondment runs (育児休業 until the child is three, 分限休職
#: up to three years, 派遣 usually two to three); later, a typo such as 2205 for 2025.
ASSIGNMENT_END_DAYS_AFTER_RUN = 3 * 366

#: What the contract decides for every column of a kind, and why: the README shows these above
#: its tables (:func:`dxkpi.catalogue.docs.contract_markdown`).
GENERAL_RULES: tuple[str, ...] = (
    f"**Dates** lie from {EARLIEST_DATE.isoformat()} to {DAYS_AFTER_RUN} day after the day "
    "ingestion runs (`<dataset>.<column>.range`). FY"
    f"{EARLIEST_FISCAL_YEAR} leaves two decades before the programmes measured here "
    "(自治体DX推進計画, December 2020); an earlier date is a slip such as 0001-01-01, an empty "
    "Excel date or 平成 typed for 令和 (H7 is 1995). Records describe what has happened; the "
    "day of margin is for a server clock in UTC, a day behind Japan in the morning. A later "
    "date would also move the default as-of date (the latest date in the data).",
    f"**Fiscal years** lie from {EARLIEST_FISCAL_YEAR} to the run date's fiscal year + "
    f"{YEARS_AFTER_RUN} (April's staff list is ready in March); `pilot_fy` up to + "
    f"{PLANNED_YEARS_AFTER_RUN}, as a roll-out is planned years ahead (a 中期計画 runs up to five "
    "years) and refusing a department would refuse all of its staff.",
    "**Numbers**: a comma only groups three digits (1,234, 12,345.6) and the decimal mark is a "
    "period, so 1.234,5 and 12,34 are quarantined as `<column>.separators` rather than guessed; "
    "a number too large to hold (1e309, which would become infinity) as `<column>.finite`. "
    "Every count and number of hours has a plausible maximum, with its reason in its row below.",
    "**Identifiers** (every `id` column: employee, department, course, proposal, project, "
    "respondent and post codes) are NFKC-normalised and trimmed first (full-width ０１２ is 012), "
    f"then hold 1–{ID_MAX_LENGTH} ASCII letters, digits, `.`, `_` or `-`, starting with a letter "
    "or digit (`<dataset>.<column>.id_format`). A zero-width space or a stray symbol would "
    "otherwise make the same person two people, and department codes name report files: "
    "`q/../../x` must not become a path. The quarantine's `detail_ja`/`detail_en` name the "
    "character (code point, name, class) and its position, never the identifier.",
    "**Leading zeros** are part of an identifier (`010001` is not `10001`), and identifiers that "
    "differ only in them are never matched silently: Excel turns an ID column into numbers and "
    "drops the zeros, so `00124` and `124` are most likely one person, but which spelling is "
    "right only the city knows. A row whose ID is an earlier row's with more or fewer leading "
    "zeros is quarantined as `<dataset>.<column>.zero_variant` (the earlier row is kept), and a "
    "reference that fails but would match after adding or removing leading zeros as "
    "`<dataset>.<column>.leading_zeros`, both saying to format the ID column as text.",
)

# Columns that carry personal names. They are dropped at ingestion and the drop is reported.
PERSONAL_NAME_HEADERS: tuple[str, ...] = ("name", "氏名", "名前", "職員氏名", "氏名（漢字）")
_PERSONAL_NAME_KEYS = frozenset(
    unicodedata.normalize("NFKC", h).strip().lower() for h in PERSONAL_NAME_HEADERS
)


def is_personal_name(header: str) -> bool:
    """True for a header of personal names (:data:`PERSONAL_NAME_HEADERS`, compared after NFKC,
    trimming and lower case): such a column is never ingested, mapped or proposed.

    >>> is_personal_name(" 氏名 "), is_personal_name("Name"), is_personal_name("職員番号")
    (True, True, False)
    """
    return unicodedata.normalize("NFKC", header).strip().lower() in _PERSONAL_NAME_KEYS


#: An employee's status during an assignment (在籍区分). Every status but ``active`` is away:
#: the months spent in it leave the denominators (README "Transfers and leave").
ASSIGNMENT_STATUS = (
    Code("active", "在籍", ("在職", "勤務")),
    Code("childcare_leave", "育休", ("育児休業", "育児休暇")),
    Code("secondment", "派遣", ("出向",)),
    Code("leave_of_absence", "休職"),
)

# Hire/skill vocabularies shared by several datasets.
JOB_LEVEL = (
    Code("manager", "管理職"),
    Code("mid", "中堅", ("中堅職員",)),
    Code("staff", "一般", ("一般職員",)),
)
SKILL_AREA = (
    Code("data", "データ活用"),
    Code("ai_rpa", "AI・RPA", ("AI/RPA", "ＡＩ・ＲＰＡ", "AI･RPA")),
    Code("process", "業務改善"),
    Code("security", "セキュリティ"),
    Code("facilitation", "ファシリテーション"),
)

#: The waves of the level-3 follow-up survey: days after completing a course.
FOLLOWUP_DAYS: tuple[int, ...] = (30, 60, 90)
#: The five-point agreement scale of survey items (Microsoft Forms' / Google Forms' Likert
#: wording), 5 = strongly agree.
LIKERT = (
    Code("5", "とてもそう思う", ("非常にそう思う", "強くそう思う")),
    Code("4", "そう思う", ("ややそう思う",)),
    Code("3", "どちらともいえない", ("どちらとも言えない",)),
    Code("2", "そう思わない", ("あまりそう思わない",)),
    Code("1", "まったくそう思わない", ("全くそう思わない", "全然そう思わない")),
)
#: The answers that count as agreeing (4 そう思う and 5 とてもそう思う).
LIKERT_AGREE: tuple[int, ...] = (4, 5)


class _ColumnOptions(TypedDict, total=False):
    """The optional fields of :class:`Column`, as keyword arguments of :func:`_c`."""

    required: bool
    codes: tuple[Code, ...]
    min: float | None
    max: float | None
    min_strict: bool
    not_before: dt.date | None
    after_run: int | None
    employee_id: bool
    empty_code: str | None
    code_dtype: str
    note_en: str
    note_ja: str


def _c(name: str, ja: str, kind: Kind, **kw: Unpack[_ColumnOptions]) -> Column:
    return Column(name=name, ja=ja, kind=kind, **kw)


def _staff_ref(rule_id: str, column: str, fy_from: str | None) -> Reference:
    if fy_from is None:
        return Reference(
            rule_id,
            (column,),
            "staff",
            ("employee_id",),
            ja=f"{column} が職員名簿にない",
            en=f"{column} is not on the staff list",
        )
    return Reference(
        rule_id,
        (column,),
        "staff",
        ("employee_id",),
        ja="その年度の職員名簿にない職員番号",
        en="employee is not on the staff list of that fiscal year",
        fiscal_year_from=fy_from,
    )


def _dept_ref(rule_id: str) -> Reference:
    return Reference(
        rule_id,
        ("department_code",),
        "departments",
        ("department_code",),
        ja="組織マスタにない所属コード",
        en="department_code does not exist in departments",
    )


def _course_ref(rule_id: str) -> Reference:
    return Reference(
        rule_id,
        ("course_id",),
        "courses",
        ("course_id",),
        ja="研修マスタにない研修コード",
        en="course_id does not exist in courses",
    )


_DATASET_LIST: tuple[Dataset, ...] = (
    Dataset(
        name="departments",
        ja="組織",
        description_en="The city's departments (課) and the division (部局) each belongs to.",
        description_ja="所属（課）と部局の一覧",
        columns=(
            _c("department_code", "所属コード", Kind.ID),
            _c("department_name", "所属名", Kind.TEXT),
            _c("division", "部局", Kind.TEXT),
            _c(
                "pilot_fy",
                "先行導入年度",
                Kind.FISCAL_YEAR,
                required=False,
                min=EARLIEST_FISCAL_YEAR,
                after_run=PLANNED_YEARS_AFTER_RUN,
                note_en="when the department joined the programme",
                note_ja="プログラムに参加した年度",
            ),
        ),
        key=("department_code",),
    ),
    Dataset(
        name="staff",
        ja="職員",
        description_en="One row per employee per fiscal year, as of April 1.",
        description_ja="年度ごと（4月1日時点）の職員名簿",
        columns=(
            _c(
                "fiscal_year",
                "年度",
                Kind.FISCAL_YEAR,
                min=EARLIEST_FISCAL_YEAR,
                after_run=YEARS_AFTER_RUN,
            ),
            _c("employee_id", "職員番号", Kind.ID, employee_id=True),
            _c("department_code", "所属コード", Kind.ID),
            _c("job_level", "職層", Kind.CODE, codes=JOB_LEVEL),
            _c(
                "talent_type",
                "DX人材タイプ",
                Kind.CODE,
                required=False,
                codes=(
                    Code("leader", "推進リーダー", ("推進リーダー型",)),
                    Code("specialist", "専門スキル", ("専門スキル型",)),
                    Code("practitioner", "実務改革", ("実務改革型",)),
                    Code("unassigned", "未設定"),
                ),
                empty_code="unassigned",
                note_en="an empty cell = unassigned",
                note_ja="空欄は未設定",
            ),
        ),
        key=("fiscal_year", "employee_id"),
        references=(_dept_ref("staff.department_code.exists"),),
    ),
    Dataset(
        name="courses",
        ja="研修",
        description_en="The training catalogue.",
        description_ja="研修の一覧",
        columns=(
            _c("course_id", "研修コード", Kind.ID),
            _c("course_name", "研修名", Kind.TEXT),
            _c(
                "phase",
                "フェーズ",
                Kind.CODE,
                code_dtype="int",
                codes=(
                    Code("1", "意識改革", ("フェーズ1",)),
                    Code("2", "スキル習得", ("フェーズ2",)),
                    Code("3", "実践", ("フェーズ3",)),
                ),
            ),
            _c("skill_area", "スキル領域", Kind.CODE, codes=SKILL_AREA),
            _c("hours", "時間", Kind.NUMBER, min=0, max=40, min_strict=True),
            _c(
                "instructor",
                "講師区分",
                Kind.CODE,
                codes=(
                    Code("internal", "内部", ("内部講師",)),
                    Code("external", "外部", ("外部講師",)),
                ),
            ),
        ),
        key=("course_id",),
    ),
    Dataset(
        name="attendance",
        ja="受講",
        description_en="Training attendance, one row per employee, course and session date.",
        description_ja="研修の受講記録",
        columns=(
            _c("employee_id", "職員番号", Kind.ID, employee_id=True),
            _c("course_id", "研修コード", Kind.ID),
            _c(
                "session_date",
                "受講日",
                Kind.DATE,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
            ),
            _c(
                "status",
                "受講状況",
                Kind.CODE,
                codes=(Code("completed", "修了"), Code("attended", "受講"), Code("absent", "欠席")),
            ),
            _c("pre_score", "事前テスト", Kind.NUMBER, required=False, min=0, max=100),
            _c("post_score", "事後テスト", Kind.NUMBER, required=False, min=0, max=100),
            _c("satisfaction", "満足度", Kind.INTEGER, required=False, min=1, max=5),
        ),
        key=("employee_id", "course_id", "session_date"),
        references=(
            _staff_ref("attendance.employee_id.on_staff_list", "employee_id", "session_date"),
            _course_ref("attendance.course_id.exists"),
        ),
    ),
    Dataset(
        name="proposals",
        ja="提案",
        description_en="Improvement (DX/業務改善) proposals.",
        description_ja="業務改善・DX提案",
        columns=(
            _c("proposal_id", "提案番号", Kind.ID),
            _c("employee_id", "提案者職員番号", Kind.ID, employee_id=True),
            _c("department_code", "所属コード", Kind.ID),
            _c(
                "submitted_on",
                "提出日",
                Kind.DATE,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
            ),
            _c("title", "件名", Kind.TEXT),
            _c("category", "分類", Kind.TEXT, required=False),
            _c(
                "status",
                "状況",
                Kind.CODE,
                codes=(
                    Code("submitted", "提出"),
                    Code("adopted", "採択"),
                    Code("implemented", "実装"),
                    Code("rejected", "不採択"),
                ),
            ),
            _c(
                "decided_on",
                "判定日",
                Kind.DATE,
                required=False,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
                note_en="≥ submitted_on; required unless status is submitted, empty when it is",
                note_ja="提出日以降。状況が提出以外なら必須、提出なら空欄",
            ),
            _c(
                "implemented_on",
                "実装日",
                Kind.DATE,
                required=False,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
                note_en="≥ decided_on; required exactly when status is implemented",
                note_ja="判定日以降。状況が実装のときだけ必須",
            ),
            _c(
                "hours_saved_per_year",
                "年間削減時間",
                Kind.NUMBER,
                required=False,
                min=0,
                max=PROPOSAL_HOURS_MAX,
                note_en="at most one working year (7 h 45 min × about 245 days ≈ 1,900 h, "
                "rounded up): one proposal changes one task; a larger saving is a DX project",
                note_ja="1人の年間勤務時間（7時間45分×約245日≈1,900時間を切り上げ）まで："
                "1件の提案は1つの業務を変えるもの。それを超える削減はDX案件として記録",
            ),
        ),
        key=("proposal_id",),
        row_rules=(
            Compare(
                "proposals.decided_on.after_submitted",
                "decided_on",
                ">=",
                "submitted_on",
                ja="判定日が提出日より前",
                en="decided_on is before submitted_on",
            ),
            Compare(
                "proposals.implemented_on.after_decided",
                "implemented_on",
                ">=",
                "decided_on",
                ja="実装日が判定日より前",
                en="implemented_on is before decided_on",
            ),
            RequiredWhen(
                "proposals.decided_on.required",
                "decided_on",
                "status",
                ("submitted",),
                negate=True,
                ja="判定済みの提案に判定日がない",
                en="decided_on is required unless status is submitted",
            ),
            EmptyWhen(
                "proposals.decided_on.empty_when_submitted",
                "decided_on",
                "status",
                ("submitted",),
                negate=False,
                ja="状況が提出なのに判定日がある",
                en="decided_on must be empty while status is submitted",
            ),
            RequiredWhen(
                "proposals.implemented_on.required",
                "implemented_on",
                "status",
                ("implemented",),
                negate=False,
                ja="実装済みの提案に実装日がない",
                en="implemented_on is required when status is implemented",
            ),
            EmptyWhen(
                "proposals.implemented_on.only_when_implemented",
                "implemented_on",
                "status",
                ("implemented",),
                negate=True,
                ja="実装済みでない提案に実装日がある",
                en="implemented_on must be empty unless status is implemented",
            ),
        ),
        references=(
            _staff_ref("proposals.employee_id.on_staff_list", "employee_id", "submitted_on"),
            _dept_ref("proposals.department_code.exists"),
        ),
    ),
    Dataset(
        name="projects",
        ja="DX案件",
        description_en="DX projects run by departments.",
        description_ja="DX案件",
        columns=(
            _c("project_id", "案件番号", Kind.ID),
            _c("project_name", "案件名", Kind.TEXT),
            _c("department_code", "所属コード", Kind.ID),
            _c("lead_employee_id", "担当職員番号", Kind.ID, required=False, employee_id=True),
            _c(
                "started_on",
                "開始日",
                Kind.DATE,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
            ),
            _c(
                "ended_on",
                "終了日",
                Kind.DATE,
                required=False,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
                note_en="≥ started_on; required when status is completed",
                note_ja="開始日以降。完了なら必須",
            ),
            _c(
                "support_model",
                "支援形態",
                Kind.CODE,
                codes=(
                    Code("outsourced", "外部委託"),
                    Code("co_creation", "伴走"),
                    Code("in_house", "内製"),
                ),
            ),
            _c(
                "status",
                "状況",
                Kind.CODE,
                codes=(
                    Code("active", "進行中"),
                    Code("completed", "完了"),
                    Code("cancelled", "中止"),
                ),
            ),
            _c(
                "self_running",
                "自走",
                Kind.BOOLEAN,
                required=False,
                note_en="required when completed: staff run it without external support",
                note_ja="完了なら必須：引継ぎ後、外部支援なしで職員が運用",
            ),
            _c(
                "hours_saved_per_year",
                "年間削減時間",
                Kind.NUMBER,
                required=False,
                min=0,
                max=PROJECT_HOURS_MAX,
                note_en="at most 100 working years, more than one project saves: above it, "
                "extra digits or minutes entered as hours",
                note_ja="100人年まで：これを超えるのは桁の誤りや分と時間の取り違え",
            ),
            _c(
                "cost_yen",
                "費用",
                Kind.NUMBER,
                required=False,
                min=0,
                max=PROJECT_COST_MAX,
                note_en="at most 100 billion yen (1,000億円), more than a city's whole yearly IT "
                "budget: above it, extra digits",
                note_ja="1,000億円まで：市の年間情報システム予算全体を超える額は桁の誤り",
            ),
        ),
        key=("project_id",),
        row_rules=(
            Compare(
                "projects.ended_on.after_started",
                "ended_on",
                ">=",
                "started_on",
                ja="終了日が開始日より前",
                en="ended_on is before started_on",
            ),
            RequiredWhen(
                "projects.ended_on.required",
                "ended_on",
                "status",
                ("completed",),
                negate=False,
                ja="完了した案件に終了日がない",
                en="ended_on is required when status is completed",
            ),
            RequiredWhen(
                "projects.self_running.required",
                "self_running",
                "status",
                ("completed",),
                negate=False,
                ja="完了した案件に自走の記入がない",
                en="self_running is required when status is completed",
            ),
        ),
        references=(_dept_ref("projects.department_code.exists"),),
    ),
    Dataset(
        name="resident_survey",
        ja="住民満足度",
        description_en="Resident satisfaction survey results per department and fiscal year.",
        description_ja="所属別・年度別の住民満足度調査",
        columns=(
            _c(
                "fiscal_year",
                "年度",
                Kind.FISCAL_YEAR,
                min=EARLIEST_FISCAL_YEAR,
                after_run=YEARS_AFTER_RUN,
            ),
            _c("department_code", "所属コード", Kind.ID),
            _c(
                "respondents",
                "回答数",
                Kind.INTEGER,
                min=0,
                min_strict=True,
                max=RESPONDENTS_MAX,
                note_en="at most 4,000,000: more than the population of Japan's largest city",
                note_ja="400万まで：日本最大の市の人口を超える数はありえない",
            ),
            _c("satisfied", "満足回答数", Kind.INTEGER, min=0, max=RESPONDENTS_MAX),
        ),
        key=("fiscal_year", "department_code"),
        row_rules=(
            Compare(
                "resident_survey.satisfied.le_respondents",
                "satisfied",
                "<=",
                "respondents",
                ja="満足回答数が回答数を超えている",
                en="satisfied exceeds respondents",
            ),
        ),
        references=(_dept_ref("resident_survey.department_code.exists"),),
    ),
    Dataset(
        name="maturity_survey",
        ja="成熟度診断",
        description_en="Anonymous maturity diagnosis, one row per respondent per dimension.",
        description_ja="成熟度診断（匿名、回答者×診断項目ごとに1行）",
        columns=(
            _c(
                "fiscal_year",
                "年度",
                Kind.FISCAL_YEAR,
                min=EARLIEST_FISCAL_YEAR,
                after_run=YEARS_AFTER_RUN,
            ),
            _c("respondent_id", "回答者ID", Kind.ID),
            _c("department_code", "所属コード", Kind.ID),
            _c("job_level", "職層", Kind.CODE, codes=JOB_LEVEL),
            _c(
                "dimension",
                "診断項目",
                Kind.CODE,
                codes=(
                    Code("literacy", "リテラシー"),
                    Code("data", "データ活用"),
                    Code("leadership", "推進体制"),
                    Code("development", "人材育成"),
                    Code("culture", "組織文化"),
                ),
            ),
            _c(
                "score",
                "評点",
                Kind.INTEGER,
                min=0,
                max=5,
                note_en="METI DX推進指標 maturity level 0–5",
                note_ja="経済産業省DX推進指標の成熟度レベル0〜5",
            ),
        ),
        key=("fiscal_year", "respondent_id", "dimension"),
        references=(_dept_ref("maturity_survey.department_code.exists"),),
    ),
    Dataset(
        name="skill_assessment",
        ja="スキル評価",
        description_en="Skill assessments, one row per employee, FY, skill area and assessor.",
        description_ja="スキル評価（職員・年度・スキル領域・評価者ごとに1行）",
        columns=(
            _c(
                "fiscal_year",
                "年度",
                Kind.FISCAL_YEAR,
                min=EARLIEST_FISCAL_YEAR,
                after_run=YEARS_AFTER_RUN,
            ),
            _c("employee_id", "職員番号", Kind.ID, employee_id=True),
            _c("skill_area", "スキル領域", Kind.CODE, codes=SKILL_AREA),
            _c(
                "assessor",
                "評価者",
                Kind.CODE,
                codes=(
                    Code("self", "本人", ("自己", "自己評価")),
                    Code("manager", "上司", ("上司評価",)),
                ),
            ),
            _c(
                "level",
                "レベル",
                Kind.INTEGER,
                min=0,
                max=4,
                note_en="0 none, 1 knows, 2 can with support, 3 can alone, 4 can teach others",
                note_ja="0 未経験、1 知っている、2 支援があればできる、3 一人でできる、"
                "4 人に教えられる",
            ),
        ),
        key=("fiscal_year", "employee_id", "skill_area", "assessor"),
        references=(
            Reference(
                "skill_assessment.employee_id.on_staff_list",
                ("fiscal_year", "employee_id"),
                "staff",
                ("fiscal_year", "employee_id"),
                ja="その年度の職員名簿にない職員番号",
                en="employee is not on the staff list of that fiscal year",
            ),
        ),
        capability="skill_map",
    ),
    Dataset(
        name="knowledge_posts",
        ja="ナレッジ共有",
        description_en="Cases shared at 共有会 or on the intranet: successes, failures, know-how.",
        description_ja="共有会・庁内ポータルで共有された事例（成功・失敗・ノウハウ）",
        columns=(
            _c("post_id", "投稿番号", Kind.ID),
            _c("employee_id", "投稿者職員番号", Kind.ID, employee_id=True),
            _c("department_code", "所属コード", Kind.ID),
            _c(
                "posted_on",
                "投稿日",
                Kind.DATE,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
            ),
            _c(
                "kind",
                "種別",
                Kind.CODE,
                codes=(
                    Code("success", "成功事例", ("成功",)),
                    Code("failure", "失敗事例", ("失敗",)),
                    Code("howto", "ノウハウ"),
                ),
            ),
            _c("title", "件名", Kind.TEXT),
        ),
        key=("post_id",),
        references=(
            _staff_ref("knowledge_posts.employee_id.on_staff_list", "employee_id", "posted_on"),
            _dept_ref("knowledge_posts.department_code.exists"),
        ),
        capability="skill_map",
    ),
    Dataset(
        name="followup_survey",
        ja="フォローアップ調査",
        description_en="Follow-up survey after training (Kirkpatrick level 3, self-reported), one "
        "row per employee, course and wave (30/60/90 days after completion).",
        description_ja="研修後のフォローアップ調査（カークパトリックのレベル3、自己申告）。職員・研修・"
        "回（修了後30/60/90日）ごとに1行",
        columns=(
            _c("employee_id", "職員番号", Kind.ID, employee_id=True),
            _c("course_id", "研修コード", Kind.ID),
            _c(
                "days_after",
                "経過日数",
                Kind.CODE,
                code_dtype="int",
                codes=tuple(Code(str(d), f"{d}日後", (f"{d}日",)) for d in FOLLOWUP_DAYS),
                note_en="the survey wave: days after completing the course",
                note_ja="調査の回（研修修了から何日後か）",
            ),
            _c(
                "responded_on",
                "回答日",
                Kind.DATE,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
            ),
            _c(
                "applied",
                "業務での活用",
                Kind.CODE,
                code_dtype="int",
                codes=LIKERT,
                note_en="「研修で学んだことを業務で活用している」 5 strongly agree … 1 strongly "
                "disagree",
                note_ja="「研修で学んだことを業務で活用している」5 とてもそう思う〜"
                "1 まったくそう思わない",
            ),
            _c(
                "manager_support",
                "上司の支援",
                Kind.CODE,
                code_dtype="int",
                codes=LIKERT,
                note_en="「上司が研修内容の活用を支援してくれる」 on the same 1–5 scale",
                note_ja="「上司が研修内容の活用を支援してくれる」同じ1〜5の尺度",
            ),
            _c(
                "barrier",
                "主な障壁",
                Kind.CODE,
                required=False,
                codes=(
                    Code("no_time", "時間がない", ("業務が忙しく時間がない",)),
                    Code(
                        "no_manager_support",
                        "上司の支援がない",
                        ("上司の理解・支援が得られない",),
                    ),
                    Code("no_tools", "道具・環境がない", ("必要なツールや環境がない",)),
                    Code("not_relevant", "業務に関係がない", ("今の業務と関係がない",)),
                    Code("none", "特にない", ("特になし",)),
                ),
                note_en="the main barrier to applying it (Phillips/Kirkpatrick barrier items); "
                "empty = not answered",
                note_ja="活用の主な妨げ（空欄は無回答）",
            ),
        ),
        key=("employee_id", "course_id", "days_after"),
        references=(
            _staff_ref("followup_survey.employee_id.on_staff_list", "employee_id", "responded_on"),
            _course_ref("followup_survey.course_id.exists"),
        ),
        capability="followup",
    ),
    Dataset(
        name="assignments",
        ja="所属履歴",
        description_en="Effective-dated roster: where each employee was, and in which status, "
        "from a date to a date (mid-year transfers and leave beside the April staff list).",
        description_ja="発令日付きの所属・在籍状況の履歴（年度途中の異動・休業。4月1日の職員名簿を補う）",
        columns=(
            _c("employee_id", "職員番号", Kind.ID, employee_id=True),
            _c("department_code", "所属コード", Kind.ID),
            _c("job_level", "職層", Kind.CODE, codes=JOB_LEVEL),
            _c(
                "valid_from",
                "発令日",
                Kind.DATE,
                not_before=EARLIEST_DATE,
                after_run=DAYS_AFTER_RUN,
                note_en="the first day of the assignment; (employee_id, valid_from) unique",
                note_ja="配置の初日。職員番号と発令日の組は一意",
            ),
            _c(
                "valid_to",
                "終了日",
                Kind.DATE,
                required=False,
                not_before=EARLIEST_DATE,
                after_run=ASSIGNMENT_END_DAYS_AFTER_RUN,
                note_en="the last day, may lie up to three years ahead (a leave's planned end); an "
                "empty cell = open-ended",
                note_ja="最終日（休業の予定終了日など3年先まで可）。空欄は期限なし",
            ),
            _c(
                "status",
                "在籍区分",
                Kind.CODE,
                codes=ASSIGNMENT_STATUS,
                note_en="childcare_leave, secondment and leave_of_absence leave the denominators",
                note_ja="育休・派遣・休職の月は分母から外れる",
            ),
        ),
        key=("employee_id", "valid_from"),
        row_rules=(
            Compare(
                "assignments.valid_to.ge_valid_from",
                "valid_to",
                ">=",
                "valid_from",
                ja="終了日が発令日より前",
                en="valid_to is before valid_from",
            ),
        ),
        references=(
            _staff_ref("assignments.employee_id.on_staff_list", "employee_id", "valid_from"),
            _dept_ref("assignments.department_code.exists"),
        ),
        capability="roster",
    ),
    Dataset(
        name="course_costs",
        ja="研修費用",
        description_en="What each course cost in a fiscal year (for the 行政評価 sheet).",
        description_ja="年度ごとの研修の費用（行政評価シート用）",
        columns=(
            _c("course_id", "研修コード", Kind.ID),
            _c(
                "fiscal_year",
                "年度",
                Kind.FISCAL_YEAR,
                min=EARLIEST_FISCAL_YEAR,
                after_run=YEARS_AFTER_RUN,
            ),
            _c(
                "external_fee_yen",
                "外部委託費",
                Kind.NUMBER,
                min=0,
                max=COURSE_COST_MAX,
                note_en="fees paid to outside instructors or vendors, yen; 0 when none",
                note_ja="外部講師・委託先への支払い（円）。なければ0",
            ),
            _c(
                "venue_yen",
                "会場費",
                Kind.NUMBER,
                min=0,
                max=COURSE_COST_MAX,
                note_en="venue, equipment and materials, yen; 0 when none",
                note_ja="会場・機材・教材（円）。なければ0",
            ),
            _c(
                "instructor_hours",
                "内部講師時間",
                Kind.NUMBER,
                min=0,
                max=INSTRUCTOR_HOURS_MAX,
                note_en="internal instructors' hours, preparation included; costed at "
                "[roi] hourly_cost_yen",
                note_ja="庁内講師の準備を含む時間。[roi] hourly_cost_yen で金額にする",
            ),
        ),
        key=("course_id", "fiscal_year"),
        references=(_course_ref("course_costs.course_id.exists"),),
        capability="gyosei",
    ),
)

DATASETS: Mapping[str, Dataset] = {d.name: d for d in _DATASET_LIST}


def ingest_order() -> list[str]:
    """Dataset names ordered so that every dataset comes after those it references."""
    done: list[str] = []
    pending = list(DATASETS)
    while pending:
        for name in pending:
            if all(dep in done for dep in DATASETS[name].depends_on):
                done.append(name)
                pending.remove(name)
                break
        else:  # pragma: no cover - a cycle in the declarations above
            raise RuntimeError(f"reference cycle among {pending}")
    return done


@dataclass(frozen=True)
class RuleInfo:
    """A rule's identity and its message in both languages (what quarantine rows carry)."""

    id: str
    ja: str
    en: str
    level: str = field(default="row")  # row | key | reference


def _column_rules(ds: Dataset, col: Column) -> list[RuleInfo]:
    rules = []
    if col.required:
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.required",
                f"必須の「{col.ja}」が空欄",
                f"{col.name} is required but empty",
            )
        )
    if col.kind in (Kind.DATE, Kind.FISCAL_YEAR, Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN):
        what_ja = {
            Kind.DATE: "日付",
            Kind.FISCAL_YEAR: "年度",
            Kind.NUMBER: "数値",
            Kind.INTEGER: "整数",
            Kind.BOOLEAN: "はい/いいえ",
        }[col.kind]
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.parse",
                f"「{col.ja}」が{what_ja}として読めない",
                f"{col.name} is not a valid {col.kind.value}",
            )
        )
    if col.kind in (Kind.NUMBER, Kind.INTEGER):
        rules.extend(_number_fault_rules(ds, col))
    if col.kind is Kind.ID:
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.{ID_FAULT}",
                f"「{col.ja}」に使えない文字がある（英数字と . _ - の{ID_MAX_LENGTH}文字まで、"
                "先頭は英数字。文字と位置は detail_ja 列）。見えない文字や記号を除いてください",
                f"{col.name} is not an identifier (1–{ID_MAX_LENGTH} ASCII letters, digits, "
                ". _ -, starting with a letter or digit; detail_en names the character and its "
                "position): remove invisible characters and symbols",
            )
        )
    if col.kind is Kind.CODE:
        allowed = " / ".join(f"{c.code}（{c.ja}）" for c in col.codes)
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.accepted",
                f"「{col.ja}」が許容値でない（{allowed}）",
                f"{col.name} is not an accepted value ({allowed})",
            )
        )
    if col.bounded:
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.range",
                f"「{col.ja}」が範囲外（{range_text(col, 'ja')}）",
                f"{col.name} is out of range ({range_text(col)})",
            )
        )
    return rules


def column_faults(col: Column) -> tuple[str, ...]:
    """The named faults a cell of this column can have (each the rule
    ``<dataset>.<column>.<fault>``), beyond being empty or not parsing.

    >>> courses = DATASETS["courses"]
    >>> column_faults(courses.column("hours")), column_faults(courses.column("course_id"))
    (('separators', 'finite'), ('id_format',))
    """
    if col.kind in (Kind.NUMBER, Kind.INTEGER):
        return NUMBER_FAULTS
    if col.kind is Kind.ID:
        return (ID_FAULT,)
    return ()


def _number_fault_rules(ds: Dataset, col: Column) -> list[RuleInfo]:
    separators, finite = NUMBER_FAULTS
    return [
        RuleInfo(
            f"{ds.name}.{col.name}.{separators}",
            f"「{col.ja}」の区切りが曖昧（1.234,5 や 12,34 など）。カンマは3桁区切り（1,234）"
            "にだけ、小数点はピリオド（12.5）で書いてください",
            f"{col.name} has ambiguous separators (such as 1.234,5 or 12,34): use a comma only "
            "to group three digits (1,234) and a period for decimals (12.5)",
        ),
        RuleInfo(
            f"{ds.name}.{col.name}.{finite}",
            f"「{col.ja}」が大きすぎて数として扱えない（1e309 など）。値を確かめてください",
            f"{col.name} is too large to be a number (such as 1e309): check the value",
        ),
    ]


def range_text(col: Column, lang: str = "en") -> str:
    """The accepted range of a column as the README and rule messages show it (``ja``/``en``).

    >>> range_text(DATASETS["courses"].column("hours"))
    '0 < x ≤ 40'
    >>> range_text(DATASETS["projects"].column("cost_yen"))
    '0 ≤ x ≤ 100,000,000,000'
    >>> range_text(DATASETS["attendance"].column("session_date"))
    '2000-04-01 ≤ x ≤ run date + 1 day'
    >>> range_text(DATASETS["staff"].column("fiscal_year"), "ja")
    '2000 ≤ x ≤ 取込日の年度 + 1'
    """
    lo, hi = "", ""
    if col.not_before is not None:
        lo = f"{col.not_before.isoformat()} ≤ "
    elif col.min is not None:
        lo = f"{_num(col.min, col.kind)} {'<' if col.min_strict else '≤'} "
    if col.max is not None:
        hi = f" ≤ {_num(col.max, col.kind)}"
    elif col.after_run is not None:
        hi = " ≤ " + _run_relative(col.kind, col.after_run, lang)
    return f"{lo}x{hi}"


def _run_relative(kind: Kind, n: int, lang: str) -> str:
    if kind is Kind.DATE:
        return f"取込日 + {n}日" if lang == "ja" else f"run date + {n} day{'s' * (n != 1)}"
    return f"取込日の年度 + {n}" if lang == "ja" else f"the run date's fiscal year + {n}"


def _num(x: float, kind: Kind) -> str:
    if kind is Kind.FISCAL_YEAR:
        return str(int(x))
    return f"{int(x):,}" if float(x).is_integer() else str(x)


EXCEL_CELL_LIMIT = 32_767  # characters Excel can hold in one cell


def _row_level_rules(ds: Dataset) -> list[RuleInfo]:
    """Rules every dataset has: a header repeated mid-file, an over-long cell, an Excel error,
    a value a mapping does not know (:mod:`dxkpi.ingest.mapping`)."""
    return [
        RuleInfo(
            f"{ds.name}.repeated_header",
            "見出し行の繰り返し（2つの出力を連結？）",
            "a header row repeated mid-file (two exports concatenated?)",
        ),
        RuleInfo(
            f"{ds.name}.cell_too_long",
            f"{EXCEL_CELL_LIMIT:,} 文字を超えるセル（Excel の上限）",
            f"a cell longer than {EXCEL_CELL_LIMIT:,} characters (Excel's limit)",
        ),
        RuleInfo(
            f"{ds.name}.excel_error",
            "Excel のエラー値（#N/A、#DIV/0! など）か、計算結果が保存されていない数式のセル"
            "（セルにはエラーか数式を表示）",
            "an Excel error cell (#N/A, #DIV/0!…) or a formula whose result was never saved "
            "(the cell shows the error or the formula)",
        ),
        RuleInfo(
            f"{ds.name}.unmapped_value",
            "マッピングの対応表にない値（値・列・加える対応表は detail_ja 列）。"
            "対応表に加えるか、元のデータを直してください",
            "a value missing from the mapping's values table (detail_en names the value, the "
            "column and the table to extend): add it to that table or correct the source data",
        ),
    ]


def rule_catalogue(dataset: str) -> dict[str, RuleInfo]:
    """Every rule a row of ``dataset`` can break, keyed by rule id, in evaluation order."""
    ds = DATASETS[dataset]
    rules: list[RuleInfo] = _row_level_rules(ds)
    for col in ds.columns:
        rules.extend(_column_rules(ds, col))
    rules.extend(RuleInfo(r.id, r.ja, r.en) for r in ds.row_rules)
    rules.extend(_zero_variant_rule(ds, ds.column(c)) for c in ds.zero_variant_columns)
    if ds.key:
        keys_ja = "・".join(ds.column(k).ja for k in ds.key)
        keys_en = ", ".join(ds.key)
        rules.append(
            RuleInfo(
                f"{dataset}.duplicate_key",
                f"前の行と同じ内容の重複行（キー: {keys_ja}）",
                f"an exact repeat of an earlier row (key {keys_en})",
                level="key",
            )
        )
        rules.append(
            RuleInfo(
                f"{dataset}.key_conflict",
                f"前の行と同じキー（{keys_ja}）で内容が異なる（先の行を採用）",
                f"same key as an earlier row ({keys_en}) with different values: "
                "the earlier row is kept",
                level="key",
            )
        )
    for ref in ds.references:
        rules.append(RuleInfo(ref.id, ref.ja, ref.en, level="reference"))
        rules.append(_leading_zeros_rule(ds, ref))
    return {r.id: r for r in rules}


def _zero_variant_rule(ds: Dataset, col: Column) -> RuleInfo:
    return RuleInfo(
        f"{ds.name}.{col.name}.{ZERO_VARIANT}",
        f"「{col.ja}」が前の行と先頭の0だけ違う（00124 と 124 など。Excel が番号を数値に"
        f"変えた？前の行を採用）。{_ZEROS_HINT_JA}",
        f"{col.name} differs from an earlier row's only in leading zeros (such as 00124 and "
        f"124: did Excel turn the IDs into numbers? the earlier row is kept): {_ZEROS_HINT_EN}",
        level="key",
    )


def _leading_zeros_rule(ds: Dataset, ref: Reference) -> RuleInfo:
    target = DATASETS[ref.dataset]
    col = next(ds.column(c) for c in ref.columns if ds.column(c).kind is Kind.ID)
    return RuleInfo(
        ref.leading_zeros_id,
        f"「{col.ja}」が{target.ja}（{target.name}）のものと先頭の0だけ違う（00124 と 124 など。"
        f"Excel が番号を数値に変えた？）。{_ZEROS_HINT_JA}",
        f"{col.name} matches {target.name} only with leading zeros added or removed (such as "
        f"00124 and 124: did Excel turn the IDs into numbers?): {_ZEROS_HINT_EN}",
        level="reference",
    )


@functools.cache
def contract_fingerprint() -> str:
    """SHA-256 of the declarations above: changes whenever any rule or column changes.

    Computed once per process (the declarations are frozen): every ingest checks its suites
    against the contract, and a consolidation of 1,700 cities paid 0.4 s a city here."""
    payload = json.dumps(
        [asdict(d) for d in _DATASET_LIST], ensure_ascii=False, sort_keys=True, default=str
    )
    return hashlib.sha256(f"{CONTRACT_VERSION}\n{payload}".encode()).hexdigest()
