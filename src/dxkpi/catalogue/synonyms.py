"""What Japanese personnel, LMS and survey systems call the contract's columns and codes (data).

``dxkpi map`` proposes a mapping (:mod:`dxkpi.ingest.propose`) from these tables; ingestion
never reads them (a city's mapping file is what ingestion applies). Keys are matched after
:func:`fold`: NFKC (full-width → half-width, ｶﾅ → カナ), lower case, hiragana as katakana, and
spaces, middle dots, brackets and separators removed — so ``職員 コード``, ``職員ｺｰﾄﾞ`` and
``しょくいんコード`` read alike.

Job titles (職名) → 職層: the documented default is the 管理職 line from 課長 up
(部長, 次長, 参事, 課長, 所長, 室長), 中堅 for the 係長 level and the posts between it and
課長 (課長補佐, 係長, 主査, 主幹, 副主幹), 一般 for everyone else (主任, 主事, 技師, 主事補,
技師補, 会計年度任用職員, 再任用職員). Cities differ (some count 課長補佐 as 管理職):
the proposal says "synonym" for each line, and the city edits its mapping file before
ingesting.

>>> fold("職員 ｺｰﾄﾞ") == fold("職員コード")
True
>>> JOB_TITLES["課長補佐"], STATUS_SYNONYMS["欠席(連絡あり)"]
('mid', 'absent')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "HEADER_SYNONYMS",
    "JOB_TITLES",
    "SHIPPED_MAPPINGS",
    "STATUS_SYNONYMS",
    "VALUE_SYNONYMS",
    "fold",
    "shipped_mappings",
]

#: Mappings shipped with dxkpi for known export shapes (one TOML per system, the format of
#: ``[mapping.<dataset>]``); ``dxkpi map --shipped NAME --write`` copies one into a project.
SHIPPED_MAPPINGS = Path(__file__).resolve().parent / "mappings"


def shipped_mappings() -> dict[str, Path]:
    """The shipped mapping files by name (file stem), in name order."""
    if not SHIPPED_MAPPINGS.is_dir():
        return {}
    return {p.stem: p for p in sorted(SHIPPED_MAPPINGS.glob("*.toml"))}


#: Removed by :func:`fold` (the long vowel mark ー is not among them: コード stays コード).
_SEPARATORS = re.compile(r"[\s\u3000・･._\-‐－―/／()（）\[\]［］「」『』【】:：]+")
_HIRAGANA = {chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)}


def fold(text: str) -> str:
    """The matching key of a header or value: NFKC, lower case, hiragana → katakana, and white
    space, middle dots, brackets, slashes, colons and dashes removed (the long vowel mark ー
    is kept inside a word: コード stays コード).

    >>> fold("受講 状況（LMS）"), fold("ＤＸ人材タイプ"), fold("ふぇーず")
    ('受講状況lms', 'dx人材タイプ', 'フェーズ')
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(_HIRAGANA.get(ch, ch) for ch in text)
    return _SEPARATORS.sub("", text)


def _folded(table: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({fold(k): v for k, v in table.items()})


#: Source header → contract column name (resolved within the dataset being mapped).
HEADER_SYNONYMS: Mapping[str, str] = _folded(
    {
        # employees
        "職員コード": "employee_id",
        "職員CD": "employee_id",
        "社員番号": "employee_id",
        "社員コード": "employee_id",
        "職員番号": "employee_id",
        "職員ID": "employee_id",
        "個人番号": "employee_id",
        "受講者ID": "employee_id",
        "受講者番号": "employee_id",
        "受講者コード": "employee_id",
        "ユーザーID": "employee_id",
        "利用者ID": "employee_id",
        "提案者職員番号": "employee_id",
        "提案者番号": "employee_id",
        "投稿者職員番号": "employee_id",
        "回答者職員番号": "employee_id",
        # departments
        "所属コード": "department_code",
        "所属CD": "department_code",
        "所属番号": "department_code",
        "課コード": "department_code",
        "組織コード": "department_code",
        "所属名称": "department_code",
        "所属名": "department_code",
        "所属": "department_code",
        "課名": "department_code",
        # staff
        "職名": "job_level",
        "職名称": "job_level",
        "役職": "job_level",
        "役職名": "job_level",
        "職位": "job_level",
        "職層": "job_level",
        "職級": "job_level",
        "DX人材区分": "talent_type",
        "人材タイプ": "talent_type",
        "年度": "fiscal_year",
        "対象年度": "fiscal_year",
        # courses and attendance
        "研修コード": "course_id",
        "研修ID": "course_id",
        "講座コード": "course_id",
        "講座ID": "course_id",
        "コースID": "course_id",
        "コースコード": "course_id",
        "受講日": "session_date",
        "受講日時": "session_date",
        "実施日": "session_date",
        "開催日": "session_date",
        "研修日": "session_date",
        "受講状況": "status",
        "受講状態": "status",
        "受講ステータス": "status",
        "修了状況": "status",
        "ステータス": "status",
        "事前テスト点": "pre_score",
        "事前テスト得点": "pre_score",
        "事前テスト点数": "pre_score",
        "事後テスト点": "post_score",
        "事後テスト得点": "post_score",
        "事後テスト点数": "post_score",
        "満足度5段階": "satisfaction",
        "アンケート満足度": "satisfaction",
        "研修満足度": "satisfaction",
    }
)

#: Japanese job titles (職名) → ``job_level`` code (see the module docstring for the default).
JOB_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "部長": "manager",
        "次長": "manager",
        "参事": "manager",
        "課長": "manager",
        "所長": "manager",
        "室長": "manager",
        "課長補佐": "mid",
        "主幹": "mid",
        "副主幹": "mid",
        "係長": "mid",
        "主査": "mid",
        "主任": "staff",
        "主事": "staff",
        "技師": "staff",
        "主事補": "staff",
        "技師補": "staff",
        "会計年度任用職員": "staff",
        "再任用職員": "staff",
    }
)

#: LMS attendance statuses → ``attendance.status`` code.
STATUS_SYNONYMS: Mapping[str, str] = MappingProxyType(
    {
        "修了済": "completed",
        "修了済み": "completed",
        "修了": "completed",
        "完了": "completed",
        "合格": "completed",
        "受講済": "attended",
        "受講済み": "attended",
        "受講": "attended",
        "出席": "attended",
        "参加": "attended",
        "未修了": "attended",
        "欠席": "absent",
        "欠席(連絡あり)": "absent",
        "欠席(連絡なし)": "absent",
        "無断欠席": "absent",
        "不参加": "absent",
    }
)

#: (dataset, column) → source value → code, for the code columns that have known synonyms.
VALUE_SYNONYMS: Mapping[tuple[str, str], Mapping[str, str]] = MappingProxyType(
    {
        ("staff", "job_level"): _folded(JOB_TITLES),
        ("maturity_survey", "job_level"): _folded(JOB_TITLES),
        ("attendance", "status"): _folded(STATUS_SYNONYMS),
    }
)
