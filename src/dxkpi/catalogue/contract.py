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

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TypedDict, Unpack

__all__ = [
    "CONTRACT_VERSION",
    "DATASETS",
    "EXCEL_CELL_LIMIT",
    "JOB_LEVEL",
    "PERSONAL_NAME_HEADERS",
    "SKILL_AREA",
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
    "contract_fingerprint",
    "ingest_order",
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
    employee_id: bool = False  # personnel-system ID: pseudonymised at ingestion
    empty_code: str | None = None  # an empty cell means this code (talent_type: unassigned)
    code_dtype: str = "str"  # "int" stores codes as Int8 (course phase)
    note_en: str = ""
    note_ja: str = ""

    @property
    def optional(self) -> bool:
        return not self.required

    def code_values(self) -> list[str | int]:
        """Canonical stored values of a CODE column (ints for integer codes)."""
        return [int(c.code) if self.code_dtype == "int" else c.code for c in self.codes]


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


# Columns that carry personal names. They are dropped at ingestion and the drop is reported.
PERSONAL_NAME_HEADERS: tuple[str, ...] = ("name", "氏名", "名前", "職員氏名", "氏名（漢字）")

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


class _ColumnOptions(TypedDict, total=False):
    """The optional fields of :class:`Column`, as keyword arguments of :func:`_c`."""

    required: bool
    codes: tuple[Code, ...]
    min: float | None
    max: float | None
    min_strict: bool
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
            _c("fiscal_year", "年度", Kind.FISCAL_YEAR),
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
            _c("session_date", "受講日", Kind.DATE),
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
            Reference(
                "attendance.course_id.exists",
                ("course_id",),
                "courses",
                ("course_id",),
                ja="研修マスタにない研修コード",
                en="course_id does not exist in courses",
            ),
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
            _c("submitted_on", "提出日", Kind.DATE),
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
                note_en="≥ submitted_on; required unless status is submitted, empty when it is",
                note_ja="提出日以降。状況が提出以外なら必須、提出なら空欄",
            ),
            _c(
                "implemented_on",
                "実装日",
                Kind.DATE,
                required=False,
                note_en="≥ decided_on; required exactly when status is implemented",
                note_ja="判定日以降。状況が実装のときだけ必須",
            ),
            _c("hours_saved_per_year", "年間削減時間", Kind.NUMBER, required=False, min=0),
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
            _c("started_on", "開始日", Kind.DATE),
            _c(
                "ended_on",
                "終了日",
                Kind.DATE,
                required=False,
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
            _c("hours_saved_per_year", "年間削減時間", Kind.NUMBER, required=False, min=0),
            _c("cost_yen", "費用", Kind.NUMBER, required=False, min=0),
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
            _c("fiscal_year", "年度", Kind.FISCAL_YEAR),
            _c("department_code", "所属コード", Kind.ID),
            _c("respondents", "回答数", Kind.INTEGER, min=0, min_strict=True),
            _c("satisfied", "満足回答数", Kind.INTEGER, min=0),
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
            _c("fiscal_year", "年度", Kind.FISCAL_YEAR),
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
            _c("fiscal_year", "年度", Kind.FISCAL_YEAR),
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
            _c("posted_on", "投稿日", Kind.DATE),
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
    if col.kind is Kind.CODE:
        allowed = " / ".join(f"{c.code}（{c.ja}）" for c in col.codes)
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.accepted",
                f"「{col.ja}」が許容値でない（{allowed}）",
                f"{col.name} is not an accepted value ({allowed})",
            )
        )
    if col.min is not None or col.max is not None:
        rng = _range_text(col)
        rules.append(
            RuleInfo(
                f"{ds.name}.{col.name}.range",
                f"「{col.ja}」が範囲外（{rng}）",
                f"{col.name} is out of range ({rng})",
            )
        )
    return rules


def _range_text(col: Column) -> str:
    lo = "" if col.min is None else f"{_num(col.min)} {'<' if col.min_strict else '≤'} "
    hi = "" if col.max is None else f" ≤ {_num(col.max)}"
    return f"{lo}x{hi}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


EXCEL_CELL_LIMIT = 32_767  # characters Excel can hold in one cell


def _row_level_rules(ds: Dataset) -> list[RuleInfo]:
    """Rules every dataset has: a header repeated mid-file, an over-long cell, an Excel error."""
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
    ]


def rule_catalogue(dataset: str) -> dict[str, RuleInfo]:
    """Every rule a row of ``dataset`` can break, keyed by rule id, in evaluation order."""
    ds = DATASETS[dataset]
    rules: list[RuleInfo] = _row_level_rules(ds)
    for col in ds.columns:
        rules.extend(_column_rules(ds, col))
    rules.extend(RuleInfo(r.id, r.ja, r.en) for r in ds.row_rules)
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
    rules.extend(RuleInfo(r.id, r.ja, r.en, level="reference") for r in ds.references)
    return {r.id: r for r in rules}


def contract_fingerprint() -> str:
    """SHA-256 of the declarations above: changes whenever any rule or column changes."""
    payload = json.dumps(
        [asdict(d) for d in _DATASET_LIST], ensure_ascii=False, sort_keys=True, default=str
    )
    return hashlib.sha256(f"{CONTRACT_VERSION}\n{payload}".encode()).hexdigest()
