"""The built-in sample city: every dataset of the contract, in the forms real cities send.

``generate_city(out)`` writes about 2,000 staff in 40 departments over FY2022–FY2025 into
``out`` as CSV (UTF-8, UTF-8 with BOM, CP932) and XLSX files with English or Japanese headers
and values, wareki / slash / ISO dates, full-width digits, an ignored column and a personal-name
column; plus ``ground_truth.json`` with the planted effects and the planted bad rows.

Headers and Japanese value labels come from :data:`dxkpi.catalogue.contract.DATASETS`. The
core datasets are drawn from one ``numpy.random.Generator(PCG64(seed))``: the same seed gives
byte-identical files.

The planted behavioural effect: each employee has a base monthly proposal rate (job level ×
talent type × an individual gamma frailty with mean 1) times a city-wide fiscal-year and
seasonal multiplier; from the month of their first *completed* phase-2 course on (that whole
month included), the rate is multiplied by a factor that depends on talent type. Who is trained
when depends only on the department's roll-out wave, transfers and chance.

The skill map (``skill_assessment``, ``knowledge_posts``) comes from a second random stream
(``SeedSequence([seed, SKILL_STREAM])``) drawn after the eight core datasets are written, so the
core files are byte-identical with or without it. Planted: the assessed level (latent level
rounded, clipped 0–4) rises by ``SKILL["effect"]`` from the fiscal year of an employee's first
completed phase-2/3 course of that skill area on (``skill_effect`` in the ground truth: the true
ATT on the assessed level per cohort FY and FY); failure posts grow as the programme matures.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dxkpi.catalogue.contract import DATASETS, Dataset, Kind

# ---------------------------------------------------------------- planted parameters

DIVISIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("総務部", ("総務課", "人事課", "財政課", "契約課", "情報政策課")),
    ("企画部", ("企画政策課", "DX推進課", "広報課", "秘書課", "資産経営課")),
    ("市民部", ("市民課", "保険年金課", "税務課", "納税課", "市民協働課")),
    ("福祉部", ("福祉総務課", "障害福祉課", "生活支援課", "介護保険課", "高齢福祉課")),
    ("子ども部", ("子育て支援課", "保育課", "子ども家庭課", "児童相談課", "こども発達支援課")),
    ("環境部", ("環境政策課", "ごみ対策課", "環境保全課", "環境衛生課", "下水道課")),
    ("都市整備部", ("都市計画課", "建築指導課", "道路課", "公園緑地課", "住宅課")),
    ("教育委員会事務局", ("教育総務課", "学校教育課", "生涯学習課", "文化スポーツ課", "図書館")),
)
DIVISIONS_FLAT: tuple[str, ...] = tuple(name for _, depts in DIVISIONS for name in depts)
PILOT_DEPARTMENTS = ("総務課", "DX推進課", "市民課", "障害福祉課")
SECOND_WAVE_SHARE = 0.4  # of the non-pilot departments, joining one year after the pilot

# (name, phase, skill area, hours, instructor, first programme year, last programme year)
# Programme year 0 is the first fiscal year generated. External courses are replaced by internal
# (内製) versions from year 2 on: insourcing rises.
COURSES: tuple[tuple[str, int, str, float, str, int, int], ...] = (
    ("DX基礎研修（全職員向け）", 1, "process", 3, "external", 0, 2),
    ("DX基礎研修（庁内講師）", 1, "process", 3, "internal", 2, 99),
    ("管理職向けDXマネジメント研修", 1, "facilitation", 3, "external", 0, 99),
    ("情報セキュリティとDX", 1, "security", 2, "internal", 0, 99),
    ("デジタル活用マインド研修", 1, "process", 2, "external", 0, 3),
    ("行政DX事例に学ぶ", 1, "process", 2, "internal", 1, 99),
    ("Excelデータ集計・分析", 2, "data", 6, "external", 0, 2),
    ("データ分析実践（庁内講師）", 2, "data", 6, "internal", 2, 99),
    ("BIツール可視化入門", 2, "data", 6, "external", 0, 99),
    ("RPA基礎", 2, "ai_rpa", 6, "external", 0, 2),
    ("RPA開発（庁内講師）", 2, "ai_rpa", 6, "internal", 2, 99),
    ("生成AI活用研修", 2, "ai_rpa", 3, "external", 1, 99),
    ("生成AI活用（庁内講師）", 2, "ai_rpa", 3, "internal", 3, 99),
    ("ノーコードアプリ作成", 2, "ai_rpa", 6, "external", 0, 99),
    ("業務プロセス可視化（BPR）", 2, "process", 6, "external", 0, 2),
    ("業務フロー改善（庁内講師）", 2, "process", 6, "internal", 2, 99),
    ("クラウドサービス基礎", 2, "security", 3, "external", 0, 99),
    ("個人情報保護とセキュリティ実務", 2, "security", 3, "internal", 0, 99),
    ("ファシリテーション基礎", 2, "facilitation", 6, "external", 0, 99),
    ("業務改善プロジェクト演習", 3, "process", 12, "external", 0, 2),
    ("業務改善プロジェクト（伴走型）", 3, "process", 12, "internal", 2, 99),
    ("データ利活用プロジェクト", 3, "data", 12, "external", 0, 99),
    ("RPA・AI導入実践", 3, "ai_rpa", 12, "internal", 1, 99),
    ("ワークショップ運営実践", 3, "facilitation", 6, "internal", 0, 99),
    ("DX推進リーダー養成", 3, "facilitation", 12.5, "external", 0, 99),
)

LEVELS = ("manager", "mid", "staff")
LEVEL_SHARE = (0.12, 0.35, 0.53)
HIRE_LEVEL_SHARE = (0.0, 0.15, 0.85)
LEAVE_RATE = (0.07, 0.035, 0.04)  # per year, by job level
TRANSFER_RATE = 0.20
TYPES = ("leader", "specialist", "practitioner", "unassigned")
TYPE_SHARE_BY_LEVEL = (
    (0.25, 0.05, 0.20, 0.50),
    (0.05, 0.18, 0.35, 0.42),
    (0.01, 0.10, 0.32, 0.57),
)
BASE_RATE_BY_LEVEL = {"manager": 0.030, "mid": 0.045, "staff": 0.035}  # proposals / month
TYPE_RATE_MULTIPLIER = {"leader": 1.6, "specialist": 1.3, "practitioner": 1.2, "unassigned": 0.8}
FRAILTY_SHAPE = 2.0  # individual gamma multiplier, mean 1
TREATMENT_FACTOR = {"leader": 3.0, "specialist": 2.2, "practitioner": 2.5, "unassigned": 1.6}
YEAR_MULTIPLIER_STEP = 0.05  # city-wide: × (1 + 0.05 × year index)
# Fiscal months April … March; October is the city's 改善提案強化月間.
SEASON = (0.6, 0.9, 1.0, 1.1, 0.8, 1.0, 1.4, 1.2, 0.8, 0.9, 1.1, 0.9)
SESSIONS_PER_YEAR = 20.0  # per enrolled employee-year
VOLUNTARY_RATE = 0.03  # employee-years before enrolment with a voluntary phase-1 session
STATUS_SHARE = {"absent": 0.07, "attended": 0.18, "completed": 0.75}
SUPPORT_MODEL_SHARE = (  # by year index: outsourced, co_creation, in_house
    (0.80, 0.18, 0.02),
    (0.60, 0.30, 0.10),
    (0.40, 0.40, 0.20),
    (0.25, 0.40, 0.35),
    (0.15, 0.35, 0.50),
)
SELF_RUNNING_RATE = {"outsourced": 0.35, "co_creation": 0.60, "in_house": 0.85}
SATISFACTION_PER_PROGRAMME_YEAR = 0.02
SATISFACTION_PER_YEAR = 0.005
MATURITY = {
    "base": 1.0,
    "per_year": 0.30,
    "rolled_out": 0.40,
    "manager": 0.80,
    "mid": 0.30,
    "noise_sd": 0.8,
    "response_rate": 0.35,
    "dimension": {
        "literacy": 0.2,
        "data": -0.3,
        "leadership": 0.0,
        "development": -0.1,
        "culture": -0.2,
    },
}

# Skill map (issue #8). Drawn from a separate random stream (SKILL_STREAM) *after* the eight core
# datasets, so adding them leaves every core file byte-identical for a seed.
SKILL_STREAM = 8
SKILL_AREAS = ("data", "ai_rpa", "process", "security", "facilitation")
SKILL = {
    "base_by_job_level": {"manager": 1.6, "mid": 1.3, "staff": 0.8},
    "area_offset": {
        "data": 0.0,
        "ai_rpa": -0.4,
        "process": 0.4,
        "security": 0.3,
        "facilitation": -0.2,
    },
    "person_sd": 0.5,  # employee × skill-area effect
    "per_year": 0.15,  # city-wide drift per fiscal year (why a naive before/after overstates)
    "effect": 0.8,  # latent lift from the FY of the first completed phase-2/3 course of the area
    "noise_sd": 0.4,
    "self_bias": 0.4,  # self-assessments sit above the manager's view
    "self_noise_sd": 0.4,
    "self_response": 0.9,  # share of employee-year-areas with a self-assessment
    "manager_response": 0.7,  # … with a manager's assessment (independent)
}
POST_RATE = {"before_programme": 0.04, "in_programme": 0.30}  # knowledge posts / employee-year
FAILURE_SHARE_BY_YEAR = (0.08, 0.14, 0.22, 0.30, 0.35)  # of posts, by programme year index
POST_KIND_SHARE_OTHER = {"success": 0.6, "howto": 0.4}
POST_TITLES = (
    "RPA導入でつまずいた点",
    "電子申請の周知で工夫したこと",
    "データ集計の自動化",
    "窓口予約システムの定着",
    "AI議事録の試行結果",
    "ペーパーレス会議の進め方",
    "業務フロー図の描き方",
    "オープンデータ公開の手順",
    "チャットボット導入の失敗",
    "庁内照会の様式統一",
    "ノーコードアプリで申請管理",
    "BIダッシュボードの作り方",
)

SURNAMES = (
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "前田",
    "藤田",
    "小川",
    "岡田",
    "後藤",
    "長谷川",
    "村上",
    "近藤",
    "石井",
    "坂本",
    "遠藤",
    "青木",
    "藤井",
    "西村",
    "髙橋",
    "齋藤",
)
GIVEN = (
    "翔太",
    "大輔",
    "健一",
    "拓也",
    "直樹",
    "誠",
    "亮",
    "浩二",
    "和也",
    "隆",
    "美咲",
    "陽子",
    "恵",
    "由美",
    "真由美",
    "彩",
    "愛",
    "優子",
    "智子",
    "香織",
    "花子",
    "悠斗",
    "結衣",
    "葵",
    "蓮",
    "陽菜",
    "湊",
    "さくら",
    "大翔",
    "千尋",
)
PROPOSAL_OBJECTS = (
    "窓口受付",
    "申請書",
    "証明書発行",
    "会議資料",
    "庁内照会",
    "統計集計",
    "支払事務",
    "台帳管理",
    "問い合わせ対応",
    "現地調査記録",
    "予約受付",
    "議事録作成",
    "補助金審査",
    "郵送事務",
    "勤怠集計",
)
PROPOSAL_ACTIONS = (
    "の電子化",
    "のRPA化",
    "のペーパーレス化",
    "の様式統一",
    "のオンライン化",
    "の自動集計",
    "の手順見直し",
    "へのAI活用",
    "のクラウド共有",
    "の押印廃止",
)
CATEGORIES = ("窓口", "内部事務", "データ活用", "ペーパーレス", "働き方")
PROJECT_THEMES = (
    "電子申請",
    "RPA",
    "AI-OCR",
    "GIS",
    "オープンデータ",
    "チャットボット",
    "キャッシュレス決済",
    "文書管理",
    "Web会議",
    "ダッシュボード",
)

EPOCH = datetime.date(1970, 1, 1)
FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
FULL_WIDTH = "０１２３４５６７８９"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate_city` wrote: files, data rows per dataset and file, bad rows."""

    out: Path
    files: tuple[Path, ...]
    rows: Mapping[str, int]
    rows_per_file: Mapping[str, int]
    n_bad: int
    ground_truth: Path


@dataclass(frozen=True)
class _Style:
    """How one output file is written."""

    headers: str = "en"  # en | ja
    values: str = "en"  # en | ja (code labels, booleans)
    dates: str = "iso"  # iso | slash | wareki | wareki_short | excel
    years: str = "plain"  # plain | nendo | wareki | r | mixed
    fullwidth: float = 0.0  # share of rows with full-width digits in numbers, dates, years
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | cp932 | xlsx
    sheet: str | None = None


@dataclass
class _City:
    """The simulated city: people, departments and the canonical tables (string columns)."""

    fys: tuple[int, ...]
    dept_codes: list[str]
    dept_wave: np.ndarray  # year index the department joins the programme (may be ≥ n_years)
    emp_ids: np.ndarray  # str
    level: np.ndarray  # int index into LEVELS
    ttype: np.ndarray  # int index into TYPES
    dept: np.ndarray  # (n_emp, n_years) department index, -1 when not on the staff list
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- small helpers


def _days(d: datetime.date) -> int:
    return (d - EPOCH).days


def _fy_start(fy: int) -> int:
    return _days(datetime.date(fy, 4, 1))


def _as_of(fys: Sequence[int]) -> int:
    """The data's cut-off: the last day of the last fiscal year."""
    return _days(datetime.date(fys[-1] + 1, 3, 31))


def _iso(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("int32")).cast(pl.Date).dt.strftime("%Y-%m-%d")


def _workdays(
    fy: int, first: tuple[int, int] = (4, 8), last: tuple[int, int] = (3, 25)
) -> np.ndarray:
    """Weekdays of a fiscal year between two month/day marks, as days since 1970."""
    start = _days(datetime.date(fy, *first))
    end = _days(datetime.date(fy + 1, *last))
    days = np.arange(start, end + 1)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
    return days[weekday < 5]


def _month_index(days: np.ndarray, fy0: int) -> np.ndarray:
    """Months since April of the first fiscal year."""
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months - ((fy0 - 1970) * 12 + 3)


def _choice(rng: np.random.Generator, shares: Sequence[float], size: int) -> np.ndarray:
    return rng.choice(len(shares), size=size, p=np.asarray(shares) / np.sum(shares))


def _str(values: np.ndarray | Sequence[Any]) -> pl.Series:
    return pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)


def _num_text(x: np.ndarray) -> pl.Series:
    """Numbers as text: whole numbers without a decimal point."""
    s = pl.Series(np.asarray(x, dtype=np.float64))
    return pl.select(
        pl.when(s == s.round(0)).then(s.cast(pl.Int64).cast(pl.String)).otherwise(s.cast(pl.String))
    ).to_series()


# ---------------------------------------------------------------- departments and staff


def _departments(rng: np.random.Generator, fys: tuple[int, ...]) -> tuple[pl.DataFrame, np.ndarray]:
    """The departments table and each department's roll-out year index (1 pilot, 2, 3)."""
    codes, names, divisions = [], [], []
    for i, (division, depts) in enumerate(DIVISIONS):
        for j, name in enumerate(depts):
            codes.append(f"{i + 1:02d}{j + 1:02d}00")
            names.append(name)
            divisions.append(division)
    n = len(codes)
    wave = np.full(n, 3)
    pilot = np.array([name in PILOT_DEPARTMENTS for name in names])
    wave[pilot] = 1
    rest = np.flatnonzero(~pilot)
    second = rng.choice(rest, size=round(SECOND_WAVE_SHARE * len(rest)), replace=False)
    wave[second] = 2
    pilot_fy = [str(fys[0] + w) if w < len(fys) else None for w in wave]
    frame = pl.DataFrame(
        {
            "department_code": codes,
            "department_name": names,
            "division": divisions,
            "pilot_fy": pl.Series(pilot_fy, dtype=pl.String),
        }
    )
    return frame, wave


def _simulate_people(
    rng: np.random.Generator, n_staff: int, n_years: int, n_dept: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels, talent types and a (employee × year) department matrix (-1: not on the list).

    Leavers go at the end of a fiscal year; hires (replacing them, +0.5 %) join in April;
    about 20 % of staff move to another department every April.
    """
    weight = rng.gamma(3.0, 1.0, n_dept)
    weight /= weight.sum()
    level = _choice(rng, LEVEL_SHARE, n_staff)
    dept_rows = [_choice(rng, weight, n_staff)]
    active = np.ones(n_staff, dtype=bool)
    for _ in range(1, n_years):
        prev = dept_rows[-1]
        leave = active & (rng.random(len(prev)) < np.asarray(LEAVE_RATE)[level])
        active = active & ~leave
        n_hire = int(leave.sum()) + round(0.005 * n_staff)
        level = np.concatenate([level, _choice(rng, HIRE_LEVEL_SHARE, n_hire)])
        move = active & (rng.random(len(prev)) < TRANSFER_RATE)
        target = _choice(rng, weight, len(prev))
        target = np.where(target == prev, (target + 1) % n_dept, target)
        cur = np.where(active, np.where(move, target, prev), -1)
        cur = np.concatenate([cur, _choice(rng, weight, n_hire)])
        active = np.concatenate([active, np.ones(n_hire, dtype=bool)])
        dept_rows = [np.concatenate([r, np.full(n_hire, -1)]) for r in dept_rows]
        dept_rows.append(cur)
    dept = np.stack(dept_rows, axis=1)
    ttype = np.empty(len(level), dtype=np.int64)
    for lv, shares in enumerate(TYPE_SHARE_BY_LEVEL):
        idx = np.flatnonzero(level == lv)
        ttype[idx] = _choice(rng, shares, len(idx))
    return level, ttype, dept


def _employee_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seven-digit personnel numbers with leading zeros, increasing with hire order."""
    numbers = 10_000 + np.cumsum(rng.integers(1, 30, n))
    return np.char.zfill(numbers.astype(str), 7)


def _staff_table(rng: np.random.Generator, city: _City) -> pl.DataFrame:
    """One row per employee per fiscal year, plus the 氏名 and an unknown 内線番号 column."""
    emp, year = np.nonzero(city.dept >= 0)
    order = np.lexsort((emp, year))
    emp, year = emp[order], year[order]
    n_emp = len(city.emp_ids)
    surname = rng.integers(0, len(SURNAMES), n_emp)
    given = rng.integers(0, len(GIVEN), n_emp)
    names = np.array([f"{SURNAMES[s]}　{GIVEN[g]}" for s, g in zip(surname, given, strict=True)])
    talent = np.array(TYPES, dtype=object)[city.ttype[emp]]
    blank = (talent == "unassigned") & (rng.random(len(emp)) < 0.85)
    talent = np.where(blank, None, talent)
    extension = rng.integers(1000, 9999, len(emp))
    return pl.DataFrame(
        {
            "fiscal_year": _str(np.asarray(city.fys)[year]),
            "employee_id": city.emp_ids[emp],
            "department_code": np.asarray(city.dept_codes)[city.dept[emp, year]],
            "job_level": np.asarray(LEVELS)[city.level[emp]],
            "talent_type": pl.Series(talent.tolist(), dtype=pl.String),
            "氏名": names[emp],
            "内線番号": extension.astype(str),
        }
    )


# ---------------------------------------------------------------- courses and attendance


def _courses_table() -> pl.DataFrame:
    ids = [f"C{phase}{i + 1:02d}" for i, (_, phase, *_rest) in enumerate(COURSES)]
    return pl.DataFrame(
        {
            "course_id": ids,
            "course_name": [c[0] for c in COURSES],
            "phase": [str(c[1]) for c in COURSES],
            "skill_area": [c[2] for c in COURSES],
            "hours": _num_text(np.array([c[3] for c in COURSES])),
            "instructor": [c[4] for c in COURSES],
        }
    )


def _programme_start(city: _City) -> np.ndarray:
    """Year index each employee first sits in a rolled-out department (n_years: never)."""
    n_years = len(city.fys)
    years = np.arange(n_years)
    rolled = (city.dept >= 0) & (city.dept_wave[np.maximum(city.dept, 0)] <= years)
    return np.where(rolled.any(axis=1), rolled.argmax(axis=1), n_years)


def _phase_of(k: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Phase of a session from the programme year k and its rank u ∈ (0, 1) in that year."""
    lo1 = np.select([k < 0, k == 0, k == 1], [1.01, 0.40, 0.10], 0.05)
    lo2 = np.select([k == 0, k == 1], [0.85, 0.55], 0.35)
    return np.where(u < lo1, 1, np.where(u < lo2, 2, 3))


def _attendance_arrays(
    rng: np.random.Generator, city: _City, sessions_per_year: float
) -> dict[str, np.ndarray]:
    """Session rows (employee, course, day, status, scores…), sorted by employee and date.

    Enrolled employee-years have 1 + Poisson(sessions_per_year − 1) sessions; before
    enrolment a few staff (VOLUNTARY_RATE) take one or two voluntary phase-1 sessions.
    """
    n_years = len(city.fys)
    start = _programme_start(city)
    emp, year = np.nonzero(city.dept >= 0)
    enrolled = year >= start[emp]
    voluntary = ~enrolled & (rng.random(len(emp)) < VOLUNTARY_RATE)
    keep = enrolled | voluntary
    emp, year, enrolled = emp[keep], year[keep], enrolled[keep]
    order = np.lexsort((year, emp))
    emp, year, enrolled = emp[order], year[order], enrolled[order]
    n = np.where(
        enrolled, 1 + rng.poisson(sessions_per_year - 1, len(emp)), rng.integers(1, 3, len(emp))
    )
    row_emp, row_year = np.repeat(emp, n), np.repeat(year, n)
    group = np.repeat(np.arange(len(emp)), n)
    day = np.empty(len(group), dtype=np.int64)
    for y in range(n_years):
        pool = _workdays(city.fys[y])
        mask = row_year == y
        day[mask] = pool[rng.integers(0, len(pool), int(mask.sum()))]
    order = np.lexsort((day, group))
    row_emp, row_year, group, day = row_emp[order], row_year[order], group[order], day[order]
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    rank = np.arange(len(group)) - first[group]
    phase = _phase_of(row_year - start[row_emp], (rank + 0.5) / n[group])
    course = _pick_courses(rng, row_year, phase)
    key = (row_emp * len(COURSES) + course) * 100_000 + (day - _fy_start(city.fys[0]))
    _, unique_at = np.unique(key, return_index=True)
    keep = np.zeros(len(key), dtype=bool)
    keep[unique_at] = True
    arrays = {
        "emp": row_emp[keep],
        "year": row_year[keep],
        "day": day[keep],
        "course": course[keep],
        "phase": phase[keep],
    }
    arrays.update(_session_outcomes(rng, arrays["phase"], arrays["year"], arrays["course"]))
    return arrays


def _pick_courses(rng: np.random.Generator, year: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """A course offered in that year for that phase, uniformly."""
    course = np.empty(len(year), dtype=np.int64)
    for y in np.unique(year):
        for p in (1, 2, 3):
            mask = (year == y) & (phase == p)
            offered = [i for i, c in enumerate(COURSES) if c[1] == p and c[5] <= y <= c[6]]
            course[mask] = np.asarray(offered)[rng.integers(0, len(offered), int(mask.sum()))]
    return course


def _session_outcomes(
    rng: np.random.Generator, phase: np.ndarray, year: np.ndarray, course: np.ndarray
) -> dict[str, np.ndarray]:
    """Status, pre/post test scores (phases 1–2) and satisfaction 1–5 (rising over years)."""
    n = len(phase)
    status = _choice(rng, list(STATUS_SHARE.values()), n)  # 0 absent, 1 attended, 2 completed
    tested = (phase < 3) & (status > 0) & (rng.random(n) > 0.05)
    pre = np.clip(np.rint(rng.normal(55, 15, n)), 0, 100)
    post = np.clip(pre + np.rint(rng.normal(15, 8, n)), 0, 100)
    internal = np.array([c[4] == "internal" for c in COURSES])[course]
    mean = 3.5 + 0.1 * year + 0.15 * internal
    sat = np.clip(np.rint(rng.normal(mean, 0.9)), 1, 5)
    rated = (status > 0) & (rng.random(n) > 0.1)
    return {
        "status": status,
        "pre": np.where(tested, pre, np.nan),
        "post": np.where(tested, post, np.nan),
        "sat": np.where(rated, sat, np.nan),
    }


def _int_text(x: np.ndarray) -> pl.Series:
    """Whole numbers as text; NaN becomes an empty cell."""
    return (
        pl.Series(np.asarray(x, dtype=np.float64), nan_to_null=True).cast(pl.Int64).cast(pl.String)
    )


def _attendance_table(city: _City, a: dict[str, np.ndarray], course_ids: list[str]) -> pl.DataFrame:
    statuses = np.array(list(STATUS_SHARE))
    frame = pl.DataFrame(
        {
            "employee_id": city.emp_ids[a["emp"]],
            "course_id": np.asarray(course_ids)[a["course"]],
            "session_date": _iso(a["day"]),
            "status": statuses[a["status"]],
            "pre_score": _int_text(a["pre"]),
            "post_score": _int_text(a["post"]),
            "satisfaction": _int_text(a["sat"]),
            "_day": a["day"],
            "_fy": np.asarray(city.fys)[a["year"]],
        }
    )
    return frame.sort("_day", "employee_id", "course_id")


# ---------------------------------------------------------------- proposals (the planted effect)


def _treatment_month(city: _City, a: dict[str, np.ndarray]) -> np.ndarray:
    """Month index of each employee's first completed phase-2 session (-1: never)."""
    done = (a["phase"] == 2) & (a["status"] == 2)
    first = np.full(len(city.emp_ids), np.iinfo(np.int64).max)
    np.minimum.at(first, a["emp"][done], a["day"][done])
    treated = first < np.iinfo(np.int64).max
    month = np.full(len(city.emp_ids), -1)
    month[treated] = _month_index(first[treated], city.fys[0])
    return month


def _base_rates(rng: np.random.Generator, city: _City) -> np.ndarray:
    level_rate = np.array([BASE_RATE_BY_LEVEL[lv] for lv in LEVELS])
    type_mult = np.array([TYPE_RATE_MULTIPLIER[t] for t in TYPES])
    frailty = rng.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE, len(city.emp_ids))
    return level_rate[city.level] * type_mult[city.ttype] * frailty


def _panel(city: _City) -> tuple[np.ndarray, np.ndarray]:
    """(employee, month index) of every employee-month on the staff list."""
    emp, year = np.nonzero(city.dept >= 0)
    emp = np.repeat(emp, 12)
    month = np.repeat(year * 12, 12) + np.tile(np.arange(12), len(year))
    return emp, month


def _month_multiplier(month: np.ndarray) -> np.ndarray:
    return (1 + YEAR_MULTIPLIER_STEP * (month // 12)) * np.asarray(SEASON)[month % 12]


def _proposal_counts(
    rng: np.random.Generator, city: _City, base: np.ndarray, treat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson proposal counts on the employee × month panel; returns (emp, month, count)."""
    emp, month = _panel(city)
    factor = np.array([TREATMENT_FACTOR[t] for t in TYPES])[city.ttype[emp]]
    post = (treat[emp] >= 0) & (month >= treat[emp])
    rate = base[emp] * _month_multiplier(month) * np.where(post, factor, 1.0)
    return emp, month, rng.poisson(rate)


def _proposals_table(
    rng: np.random.Generator, city: _City, emp: np.ndarray, month: np.ndarray, count: np.ndarray
) -> pl.DataFrame:
    """Proposal rows with a consistent submitted → decided → implemented flow."""
    emp, month = np.repeat(emp, count), np.repeat(month, count)
    n = len(emp)
    fy0 = city.fys[0]
    first_day = (np.datetime64(f"{fy0}-04", "M") + month).astype("datetime64[D]").astype(np.int64)
    next_first = (np.datetime64(f"{fy0}-04", "M") + month + 1).astype("datetime64[D]")
    length = next_first.astype(np.int64) - first_day
    submitted = first_day + np.floor(rng.random(n) * length).astype(np.int64)
    as_of = _as_of(city.fys)
    decided = submitted + rng.integers(7, 91, n)
    is_decided = decided <= as_of
    adopted = is_decided & (rng.random(n) < 0.55)
    implemented_on = decided + rng.integers(30, 241, n)
    implemented = adopted & (implemented_on <= as_of) & (rng.random(n) < 0.7)
    status = np.where(
        ~is_decided,
        "submitted",
        np.where(implemented, "implemented", np.where(adopted, "adopted", "rejected")),
    )
    hours = np.where(adopted, np.rint(rng.lognormal(np.log(60), 0.9, n)), np.nan)
    year = month // 12
    order = np.lexsort((emp, submitted))
    titles = (
        np.asarray(PROPOSAL_OBJECTS)[rng.integers(0, len(PROPOSAL_OBJECTS), n)].astype(object)
        + np.asarray(PROPOSAL_ACTIONS)[rng.integers(0, len(PROPOSAL_ACTIONS), n)]
    )
    category = np.asarray(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)]
    category = np.where(rng.random(n) < 0.2, None, category)
    frame = pl.DataFrame(
        {
            "employee_id": city.emp_ids[emp],
            "department_code": np.asarray(city.dept_codes)[city.dept[emp, year]],
            "submitted_on": _iso(submitted),
            "title": titles.astype(str),
            "category": pl.Series(category.tolist(), dtype=pl.String),
            "status": status,
            "decided_on": _iso(decided).set(pl.Series(~is_decided), None),
            "implemented_on": _iso(implemented_on).set(pl.Series(~implemented), None),
            "hours_saved_per_year": _int_text(hours),
            "_fy": np.asarray(city.fys)[year],
        }
    )[order]
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_fy")).to_series()
    ids = pl.format("P{}-{}", frame["_fy"], seq.cast(pl.String).str.zfill(5))
    return frame.with_columns(ids.alias("proposal_id")).select(
        "proposal_id", *[c for c in frame.columns if c != "proposal_id"]
    )


def _effect_truth(city: _City, base: np.ndarray, treat: np.ndarray) -> dict[str, Any]:
    """The additive effect a staggered DiD on the employee × month panel should recover."""
    emp, month = _panel(city)
    post = (treat[emp] >= 0) & (month >= treat[emp])
    emp, month = emp[post], month[post]
    factor = np.array([TREATMENT_FACTOR[t] for t in TYPES])[city.ttype[emp]]
    effect = base[emp] * _month_multiplier(month) * (factor - 1)

    def mean_by(labels: np.ndarray, names: Sequence[str]) -> dict[str, float | None]:
        return {
            name: (float(effect[labels == i].mean()) if (labels == i).any() else None)
            for i, name in enumerate(names)
        }

    event = month - treat[emp]
    by_event = {str(e): float(effect[event == e].mean()) for e in np.unique(event)}
    cohorts = treat[treat >= 0]
    fy0 = city.fys[0]

    def label(m: int) -> str:
        return str(np.datetime64(f"{fy0}-04", "M") + int(m))

    labels = [label(m) for m in np.unique(cohorts)]
    counts = np.unique(cohorts, return_counts=True)[1]
    cells = (
        pl.DataFrame({"g": treat[emp], "t": month, "effect": effect})
        .group_by("g", "t")
        .agg(pl.col("effect").mean())
        .sort("g", "t")
    )
    att_gt: dict[str, dict[str, float]] = {}
    for g, t, value in cells.iter_rows():
        att_gt.setdefault(label(g), {})[label(t)] = value
    by_cohort = {label(g): float(effect[treat[emp] == g].mean()) for g in np.unique(cohorts)}
    return {
        "expected_att_per_employee_month": float(effect.mean()) if len(effect) else None,
        "expected_att_by_talent_type": mean_by(city.ttype[emp], TYPES),
        "expected_att_by_job_level": mean_by(city.level[emp], LEVELS),
        "expected_att_by_event_month": by_event,
        "expected_att_by_cohort_month": by_cohort,
        "expected_att_gt": att_gt,
        "treated_post_employee_months": len(effect),
        "treated_employees": int((treat >= 0).sum()),
        "never_treated_employees": int((treat < 0).sum()),
        "treated_per_cohort_month": dict(zip(labels, map(int, counts), strict=True)),
    }


# ---------------------------------------------------------------- projects and surveys


def _projects_table(rng: np.random.Generator, city: _City, dept_size: np.ndarray) -> pl.DataFrame:
    """DX projects: support model moves outsourced → co-creation → in-house over the years."""
    rows: list[dict[str, Any]] = []
    as_of = _as_of(city.fys)
    models = ("outsourced", "co_creation", "in_house")
    for y, fy in enumerate(city.fys):
        pool = _workdays(fy)
        for d, code in enumerate(city.dept_codes):
            size = np.sqrt(dept_size[d] / dept_size.mean())
            rate = (1.2 if city.dept_wave[d] <= y else 0.3) * size
            members = np.flatnonzero(city.dept[:, y] == d)
            for _ in range(int(rng.poisson(rate))):
                share = SUPPORT_MODEL_SHARE[min(y, len(SUPPORT_MODEL_SHARE) - 1)]
                model = models[int(_choice(rng, share, 1)[0])]
                started = int(pool[rng.integers(0, len(pool))])
                ended = started + int(rng.integers(60, 541))
                status = "active"
                if ended <= as_of:
                    status = "completed" if rng.random() < 0.88 else "cancelled"
                self_running = None
                if status == "completed":
                    self_running = "true" if rng.random() < SELF_RUNNING_RATE[model] else "false"
                cost = {"outsourced": 8e6, "co_creation": 3e6, "in_house": 3e5}[model]
                lead = None
                if len(members) and rng.random() < 0.8:
                    lead = str(city.emp_ids[members[rng.integers(0, len(members))]])
                theme = PROJECT_THEMES[rng.integers(0, len(PROJECT_THEMES))]
                rows.append(
                    {
                        "project_name": f"{theme}導入（{DIVISIONS_FLAT[d]}）",
                        "department_code": code,
                        "lead_employee_id": lead,
                        "started_on": started,
                        "ended_on": ended if status != "active" else None,
                        "support_model": model,
                        "status": status,
                        "self_running": self_running,
                        "hours_saved_per_year": (
                            str(int(rng.lognormal(np.log(400), 0.8)))
                            if status == "completed"
                            else None
                        ),
                        "cost_yen": str(int(round(rng.lognormal(np.log(cost), 0.5), -3))),
                        "_fy": fy,
                    }
                )
    frame = pl.DataFrame(
        rows,
        schema_overrides={
            "ended_on": pl.Int64,
            "self_running": pl.String,
            "lead_employee_id": pl.String,
            "hours_saved_per_year": pl.String,
        },
    )
    frame = frame.sort("started_on", "department_code", maintain_order=True)
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_fy")).to_series()
    return frame.with_columns(
        pl.format("PJ{}-{}", pl.col("_fy"), seq.cast(pl.String).str.zfill(3)).alias("project_id"),
        pl.col("started_on").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"),
        pl.col("ended_on").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"),
    ).select(
        "project_id",
        "project_name",
        "department_code",
        "lead_employee_id",
        "started_on",
        "ended_on",
        "support_model",
        "status",
        "self_running",
        "hours_saved_per_year",
        "cost_yen",
        "_fy",
    )


def _resident_survey_table(rng: np.random.Generator, city: _City) -> pl.DataFrame:
    """Per department per year; satisfaction rises with the department's programme years."""
    n_dept, n_years = len(city.dept_codes), len(city.fys)
    dept_effect = rng.normal(0, 0.05, n_dept)
    d, y = np.meshgrid(np.arange(n_dept), np.arange(n_years), indexing="ij")
    d, y = d.ravel(), y.ravel()
    programme_years = np.maximum(0, y - city.dept_wave[d] + 1)
    p = np.clip(
        0.55
        + dept_effect[d]
        + SATISFACTION_PER_PROGRAMME_YEAR * programme_years
        + SATISFACTION_PER_YEAR * y,
        0.05,
        0.95,
    )
    respondents = rng.integers(60, 401, len(d))
    satisfied = rng.binomial(respondents, p)
    frame = pl.DataFrame(
        {
            "fiscal_year": _str(np.asarray(city.fys)[y]),
            "department_code": np.asarray(city.dept_codes)[d],
            "respondents": respondents.astype(str),
            "satisfied": satisfied.astype(str),
            "_y": y,
        }
    )
    return frame.sort("_y", "department_code").drop("_y")


def _maturity_table(rng: np.random.Generator, city: _City) -> pl.DataFrame:
    """Anonymous maturity answers: rising over years, managers above staff (温度差)."""
    emp, year = np.nonzero(city.dept >= 0)
    answer = rng.random(len(emp)) < MATURITY["response_rate"]
    emp, year = emp[answer], year[answer]
    order = np.lexsort((rng.random(len(emp)), year))
    emp, year = emp[order], year[order]
    dept = city.dept[emp, year]
    level = city.level[emp]
    dims = list(MATURITY["dimension"])
    n, k = len(emp), len(dims)
    rolled = (city.dept_wave[dept] <= year).astype(float)
    lift = np.select([level == 0, level == 1], [MATURITY["manager"], MATURITY["mid"]], 0.0)
    mu = MATURITY["base"] + MATURITY["per_year"] * year + MATURITY["rolled_out"] * rolled + lift
    offset = np.array([MATURITY["dimension"][dim] for dim in dims])
    score = np.clip(
        np.rint(mu[:, None] + offset[None, :] + rng.normal(0, MATURITY["noise_sd"], (n, k))), 0, 5
    )
    ids = np.char.add("A", np.char.zfill(rng.permutation(900_000)[:n].astype(str), 6))
    rep = np.repeat
    return pl.DataFrame(
        {
            "fiscal_year": _str(rep(np.asarray(city.fys)[year], k)),
            "respondent_id": rep(ids, k),
            "department_code": rep(np.asarray(city.dept_codes)[dept], k),
            "job_level": rep(np.asarray(LEVELS)[level], k),
            "dimension": np.tile(np.asarray(dims), n),
            "score": score.ravel().astype(int).astype(str),
        }
    )


# ---------------------------------------------------------------- planted bad rows


def _pick(rng: np.random.Generator, values: np.ndarray) -> Any:
    return values[int(rng.integers(0, len(values)))]


def _append(frame: pl.DataFrame, row: Mapping[str, Any], rule: str) -> pl.DataFrame:
    """Append one row (missing columns empty), marked as a planted bad row breaking ``rule``."""
    values = {c: row.get(c) for c in frame.columns if c != "_bad"}
    values["_bad"] = rule
    extra = pl.DataFrame([values], schema=frame.schema)
    return pl.concat([frame, extra], how="vertical")


def _corrupt(
    frame: pl.DataFrame, index: int, changes: Mapping[str, str], rule: str
) -> pl.DataFrame:
    """Overwrite cells of one row (a typo), marking it as a planted bad row."""
    hit = pl.int_range(pl.len()) == index
    return frame.with_columns(
        *[
            pl.when(hit).then(pl.lit(v, pl.String)).otherwise(pl.col(c)).alias(c)
            for c, v in {**changes, "_bad": rule}.items()
        ]
    )


def _on_list(city: _City, y: int) -> np.ndarray:
    return np.flatnonzero(city.dept[:, y] >= 0)


def _phase1_course(course_ids: list[str], y: int) -> str:
    offered = [i for i, c in enumerate(COURSES) if c[1] == 1 and c[5] <= y <= c[6]]
    return course_ids[offered[0]]


def _bad_attendance(
    rng: np.random.Generator, city: _City, frame: pl.DataFrame, course_ids: list[str]
) -> pl.DataFrame:
    """Eight attendance rows, each breaking one rule; none is a completed phase-2 session."""
    last = len(city.fys) - 1
    mid = max(0, last - 1)

    def extra(y: int, **changes: Any) -> dict[str, Any]:
        emp = _pick(rng, _on_list(city, y))
        day = int(_pick(rng, _workdays(city.fys[y])))
        row = {
            "employee_id": str(city.emp_ids[emp]),
            "course_id": _phase1_course(course_ids, y),
            "session_date": _iso(np.array([day]))[0],
            "status": "attended",
            "_fy": city.fys[y],
            "_day": day,
        }
        return {**row, **changes}

    leavers = np.flatnonzero((city.dept[:, last] < 0) & (city.dept[:, mid] >= 0))
    gone = str(city.emp_ids[_pick(rng, leavers)]) if len(leavers) and last else "9999999"
    wareki_y = 2 if len(city.fys) > 2 else 0
    feb = city.fys[wareki_y] + 1
    era_year = feb - 2018
    pool = frame.filter(pl.col("_fy") == city.fys[last])
    dup = pool.row(int(rng.integers(0, pool.height)), named=True) if pool.height else None
    planted = [
        (extra(last, employee_id=gone), "attendance.employee_id.on_staff_list"),
        (
            extra(last, status="completed", pre_score="52", post_score="120"),
            "attendance.post_score.range",
        ),
        (extra(wareki_y, session_date=f"令和{era_year}年2月30日"), "attendance.session_date.parse"),
        (extra(mid, status="保留"), "attendance.status.accepted"),
        (extra(mid, course_id=None), "attendance.course_id.required"),
        (extra(last, status="completed", satisfaction="6"), "attendance.satisfaction.range"),
        (extra(0 if last < 1 else 1, course_id="C999"), "attendance.course_id.exists"),
    ]
    if dup is not None:  # a later row repeating the key of an accepted row
        planted.insert(1, ({**dup, "_bad": None}, "attendance.duplicate_key"))
    for row, rule in planted:
        frame = _append(frame, row, rule)
    return frame


def _bad_proposals(rng: np.random.Generator, city: _City, frame: pl.DataFrame) -> pl.DataFrame:
    """Five proposal rows, each breaking one rule."""
    last = len(city.fys) - 1
    y = max(0, last - 1)

    def extra(k: int, year: int, **changes: Any) -> dict[str, Any]:
        emp = _pick(rng, _on_list(city, year))
        day = int(_pick(rng, _workdays(city.fys[year], (4, 15), (2, 20))))
        row = {
            "proposal_id": f"P{city.fys[year]}-9{k:04d}",
            "employee_id": str(city.emp_ids[emp]),
            "department_code": city.dept_codes[city.dept[emp, year]],
            "submitted_on": _iso(np.array([day]))[0],
            "title": "窓口受付の電子化",
            "status": "adopted",
            "decided_on": _iso(np.array([day + 30]))[0],
            "hours_saved_per_year": "40",
            "_fy": city.fys[year],
        }
        return {**row, **changes}

    leavers = np.flatnonzero((city.dept[:, last] < 0) & (city.dept[:, y] >= 0))
    gone = _pick(rng, leavers) if len(leavers) and last else None
    p1 = extra(1, y)
    before = _days(datetime.date.fromisoformat(p1["submitted_on"])) - 9
    p1["decided_on"] = _iso(np.array([before]))[0]
    p3 = extra(3, last, status="submitted", decided_on=None, hours_saved_per_year=None)
    if gone is not None:
        p3["employee_id"] = str(city.emp_ids[gone])
        p3["department_code"] = city.dept_codes[city.dept[gone, y]]
    else:
        p3["employee_id"] = "9999999"
    planted = [
        (p1, "proposals.decided_on.after_submitted"),
        (extra(2, y, status="保留", decided_on=None), "proposals.status.accepted"),
        (p3, "proposals.employee_id.on_staff_list"),
        (extra(4, y, status="implemented"), "proposals.implemented_on.required"),
        (extra(5, y, hours_saved_per_year="△5"), "proposals.hours_saved_per_year.range"),
    ]
    for row, rule in planted:
        frame = _append(frame, row, rule)
    return frame


def _bad_projects(city: _City, frame: pl.DataFrame) -> pl.DataFrame:
    """Three project rows, each breaking one rule."""
    fy = city.fys[max(0, len(city.fys) - 2)]
    base = {
        "project_name": "文書管理導入（追加登録）",
        "department_code": city.dept_codes[0],
        "started_on": f"{fy}-06-03",
        "ended_on": f"{fy}-12-20",
        "support_model": "co_creation",
        "status": "completed",
        "self_running": "true",
        "cost_yen": "2500000",
        "_fy": fy,
    }
    planted = [
        (
            {**base, "project_id": f"PJ{fy}-901", "ended_on": f"{fy}-05-20"},
            "projects.ended_on.after_started",
        ),
        (
            {**base, "project_id": f"PJ{fy}-902", "self_running": None},
            "projects.self_running.required",
        ),
        (
            {
                **base,
                "project_id": f"PJ{fy}-903",
                "department_code": "090100",
                "status": "active",
                "ended_on": None,
                "self_running": None,
            },
            "projects.department_code.exists",
        ),
    ]
    for row, rule in planted:
        frame = _append(frame, row, rule)
    return frame


def _bad_masters(rng: np.random.Generator, city: _City, tables: dict[str, pl.DataFrame]) -> None:
    """Departments, courses and staff: extra rows referenced by nothing, and a repeated row."""
    tables["departments"] = _append(
        tables["departments"],
        {"department_code": "090200", "department_name": None, "division": "危機管理部"},
        "departments.department_name.required",
    )
    tables["courses"] = _append(
        tables["courses"],
        {
            "course_id": "C900",
            "course_name": "AI倫理研修（準備中）",
            "phase": "2",
            "skill_area": "ai_rpa",
            "hours": "0",
            "instructor": "internal",
        },
        "courses.hours.range",
    )
    staff = tables["staff"]
    last = str(city.fys[-1])
    new_id = str(int(city.emp_ids.astype(np.int64).max()) + 7).zfill(7)
    staff = _append(
        staff,
        {
            "fiscal_year": last,
            "employee_id": new_id,
            "department_code": "080600",
            "job_level": "staff",
            "氏名": "山田　太郎",
            "内線番号": "4321",
        },
        "staff.department_code.exists",
    )
    repeat = staff.row(int(rng.integers(0, staff.height - 1)), named=True)
    tables["staff"] = _append(staff, {**repeat, "_bad": None}, "staff.duplicate_key")


def _bad_surveys(rng: np.random.Generator, tables: dict[str, pl.DataFrame]) -> None:
    """Survey typos: satisfied > respondents, a score of 7, an unknown job level."""
    rs = tables["resident_survey"]
    i = int(rng.integers(0, rs.height))
    over = str(int(rs["respondents"][i]) + int(rng.integers(5, 40)))
    tables["resident_survey"] = _corrupt(
        rs, i, {"satisfied": over}, "resident_survey.satisfied.le_respondents"
    )
    ms = tables["maturity_survey"]
    i, j = rng.choice(ms.height, size=2, replace=False)
    ms = _corrupt(ms, int(i), {"score": "7"}, "maturity_survey.score.range")
    tables["maturity_survey"] = _corrupt(
        ms, int(j), {"job_level": "係長"}, "maturity_survey.job_level.accepted"
    )


# ---------------------------------------------------------------- rendering and writing


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
    ds: Dataset, frame: pl.DataFrame, style: _Style, rng: np.random.Generator
) -> pl.DataFrame:
    """The canonical string table written in a file's style (headers, labels, dates, digits)."""
    frame = frame.with_columns(
        pl.Series("_fw", rng.random(frame.height) < style.fullwidth),
        pl.Series("_form", _choice(rng, (0.35, 0.25, 0.2, 0.15, 0.05), frame.height)),
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
    import openpyxl

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


def _attendance_style(y: int, fy: int) -> tuple[str, _Style]:
    """File name and style of the attendance file of year index y."""
    if y == 1:
        return f"attendance_fy{fy}.csv", _Style(dates="slash")
    if y == 2:
        return f"受講_FY{fy}.csv", _Style(
            headers="ja", values="ja", dates="wareki", encoding="cp932"
        )
    if y == 3:
        return f"attendance_fy{fy}.csv", _Style(
            dates="wareki_short", fullwidth=0.01, encoding="utf-8-sig"
        )
    return f"attendance_fy{fy}.csv", _Style()


def _file_plan(fys: tuple[int, ...]) -> list[tuple[str, str, _Style, int | None]]:
    """(dataset, file, style, fiscal year or None) of every part written."""
    plan: list[tuple[str, str, _Style, int | None]] = [
        (
            "departments",
            "マスタ.xlsx",
            _Style(headers="ja", values="ja", years="wareki", encoding="xlsx", sheet="組織"),
            None,
        ),
        (
            "courses",
            "courses.xlsx",
            _Style(headers="ja", values="ja", encoding="xlsx", sheet="研修"),
            None,
        ),
        (
            "staff",
            "staff.csv",
            _Style(headers="ja", values="ja", years="mixed", fullwidth=0.0, encoding="utf-8-sig"),
            None,
        ),
    ]
    plan += [("attendance", *_attendance_style(y, fy), fy) for y, fy in enumerate(fys)]
    plan += [
        (
            "proposals",
            "提案.csv",
            _Style(headers="ja", values="ja", dates="slash", fullwidth=0.03),
            None,
        ),
        (
            "projects",
            "projects.xlsx",
            _Style(values="ja", dates="excel", encoding="xlsx", sheet="DX案件"),
            None,
        ),
        ("resident_survey", "resident_survey.csv", _Style(years="nendo"), None),
        ("maturity_survey", "maturity_survey.csv", _Style(years="r"), None),
    ]
    return plan


@dataclass(frozen=True)
class _Written:
    files: tuple[Path, ...]
    rows_per_file: dict[str, int]
    bad_rows: list[dict[str, Any]]


def _write_files(
    rng: np.random.Generator, out: Path, tables: dict[str, pl.DataFrame], fys: tuple[int, ...]
) -> _Written:
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
    return _Written(files, rows, bad)


# ---------------------------------------------------------------- ground truth


def _insourcing_by_year(city: _City, a: dict[str, np.ndarray]) -> dict[str, float]:
    """Realised share of attendee-hours (attended/completed) taught by internal instructors."""
    hours = np.array([c[3] for c in COURSES])[a["course"]]
    internal = np.array([c[4] == "internal" for c in COURSES])[a["course"]]
    took = a["status"] > 0
    out = {}
    for y, fy in enumerate(city.fys):
        mask = took & (a["year"] == y)
        total = hours[mask].sum()
        out[str(fy)] = round(float(hours[mask & internal].sum() / total), 4) if total else None
    return out


def _planted_parameters(city: _City) -> dict[str, Any]:
    fy0 = city.fys[0]
    waves: dict[str, list[str]] = {}
    for code, w in zip(city.dept_codes, city.dept_wave, strict=True):
        label = str(fy0 + int(w)) if w < len(city.fys) else "after_window"
        waves.setdefault(label, []).append(code)
    return {
        "rollout": {
            "departments_by_pilot_fy": waves,
            "rule": "staff attend from the first fiscal year they sit in a rolled-out "
            "department, and keep attending after transfers",
        },
        "treatment": {
            "definition": "first completed phase-2 course, month of session_date",
            "effect_starts": "the month of that session (the whole month), and lasts",
            "factors": TREATMENT_FACTOR,
            "assignment": "timing depends only on the department roll-out wave, April "
            "transfers and chance; not on job level, talent type or base rate",
        },
        "base_rates": {
            "unit": "proposals submitted per employee-month on the staff list",
            "by_job_level": BASE_RATE_BY_LEVEL,
            "talent_type_multiplier": TYPE_RATE_MULTIPLIER,
            "individual_frailty": f"gamma(shape={FRAILTY_SHAPE}, mean 1)",
            "year_multiplier": {
                str(fy): round(1 + YEAR_MULTIPLIER_STEP * y, 4) for y, fy in enumerate(city.fys)
            },
            "season_multiplier_by_month": {str((m + 3) % 12 + 1): s for m, s in enumerate(SEASON)},
            "formula": "rate = level_rate × type_multiplier × frailty × year × season "
            "× (factor if month ≥ treatment month)",
        },
        "other_trends": {
            "insourcing": "external courses replaced by internal (庁内講師) versions from the "
            "third fiscal year; support model of projects moves outsourced → "
            "co_creation → in_house",
            "support_model_share_by_year_index": SUPPORT_MODEL_SHARE,
            "self_running_probability_by_support_model": SELF_RUNNING_RATE,
            "resident_satisfaction": {
                "base": 0.55,
                "department_sd": 0.05,
                "per_programme_year_of_department": SATISFACTION_PER_PROGRAMME_YEAR,
                "per_fiscal_year": SATISFACTION_PER_YEAR,
            },
            "maturity": MATURITY,
            "attendance_satisfaction": "mean 3.5 + 0.1 per fiscal year + 0.15 for internal "
            "instructors, rounded and clipped to 1–5",
            "staff_flows": {
                "transfer_rate": TRANSFER_RATE,
                "leave_rate_by_level": dict(zip(LEVELS, LEAVE_RATE, strict=True)),
                "job_level_and_talent_type": "fixed per employee",
            },
        },
    }


def _truth(
    seed: int,
    city: _City,
    a: dict[str, np.ndarray],
    effect: dict[str, Any],
    sizes: dict[str, int],
    written: _Written,
) -> dict[str, Any]:
    staff_per_fy = {str(fy): int((city.dept[:, y] >= 0).sum()) for y, fy in enumerate(city.fys)}
    return {
        "generator": "dxkpi.sample.city.generate_city",
        "seed": seed,
        "staff": int((city.dept[:, 0] >= 0).sum()),
        "fiscal_years": list(city.fys),
        "as_of": str(datetime.date(city.fys[-1] + 1, 3, 31)),
        "sizes": sizes,
        "rows_per_file": written.rows_per_file,
        "staff_per_fiscal_year": staff_per_fy,
        "employees_total": len(city.emp_ids),
        "departments": len(city.dept_codes),
        **_planted_parameters(city),
        "factors": TREATMENT_FACTOR,
        **effect,
        "insourcing_share_by_fy": _insourcing_by_year(city, a),
        "bad_rows": written.bad_rows,
        "notes": {
            "bad_rows": "each breaks exactly one rule; row = spreadsheet row (header = 1); "
            "duplicates: the first row with a key is accepted, the repeat is bad",
            "ground_truth": "not a data file: the ingester reads only .csv and .xlsx",
            "expected_att": "means of base_rate × year × season × (factor − 1) over treated "
            "employees' months on the staff list from their cohort month on; "
            "expected_att_gt[cohort][month] is the true ATT(g,t) on the "
            "employee × month panel, for comparing estimators that drop cells "
            "without a comparison group",
            "months": "YYYY-MM calendar months; event months count from the cohort month (0)",
        },
    }


# ---------------------------------------------------------------- skill map (issue #8)


def _skill_treatment_year(city: _City, a: dict[str, np.ndarray]) -> np.ndarray:
    """(employee × skill area) year index of the first completed phase-2/3 course of that area.

    ``len(city.fys)`` where there is none (never treated within the window).
    """
    n_years = len(city.fys)
    area_of_course = np.array([SKILL_AREAS.index(c[2]) for c in COURSES])
    done = (a["status"] == 2) & (a["phase"] >= 2)
    first = np.full((len(city.emp_ids), len(SKILL_AREAS)), n_years)
    np.minimum.at(first, (a["emp"][done], area_of_course[a["course"][done]]), a["year"][done])
    return first


@dataclass(frozen=True)
class _SkillDraws:
    """Employee-year-area observations and both potential assessed levels."""

    emp: np.ndarray
    year: np.ndarray
    area: np.ndarray
    post: np.ndarray
    has_self: np.ndarray
    has_manager: np.ndarray
    self0: np.ndarray
    self1: np.ndarray
    manager0: np.ndarray
    manager1: np.ndarray

    def observed(self, which: str) -> np.ndarray:
        """The assessment actually recorded (treated from the cohort year on)."""
        y0, y1 = (self.self0, self.self1) if which == "self" else (self.manager0, self.manager1)
        return np.where(self.post, y1, y0)

    def used(self, treated: bool) -> np.ndarray:
        """The level a KPI uses (manager's where present, else self) under (no) treatment."""
        if treated:
            return np.where(self.has_manager, self.manager1, self.self1)
        return np.where(self.has_manager, self.manager0, self.self0)


def _skill_draws(rng: np.random.Generator, city: _City, treat: np.ndarray) -> _SkillDraws:
    """Latent level = job level + area + employee×area + drift × year + effect × post + noise;
    the manager records round(latent), the employee round(latent + bias + noise), both 0–4."""
    emp0, year0 = np.nonzero(city.dept >= 0)
    k = len(SKILL_AREAS)
    emp, year = np.repeat(emp0, k), np.repeat(year0, k)
    area = np.tile(np.arange(k), len(emp0))
    person = rng.normal(0, SKILL["person_sd"], (len(city.emp_ids), k))
    base = np.array([SKILL["base_by_job_level"][lv] for lv in LEVELS])[city.level[emp]]
    offset = np.array([SKILL["area_offset"][a] for a in SKILL_AREAS])[area]
    n = len(emp)
    latent = (
        base
        + offset
        + person[emp, area]
        + SKILL["per_year"] * year
        + rng.normal(0, SKILL["noise_sd"], n)
    )
    self_shift = SKILL["self_bias"] + rng.normal(0, SKILL["self_noise_sd"], n)
    has_self = rng.random(n) < SKILL["self_response"]
    has_manager = rng.random(n) < SKILL["manager_response"]

    def level(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x), 0, 4).astype(np.int64)

    lift = SKILL["effect"]
    return _SkillDraws(
        emp=emp,
        year=year,
        area=area,
        post=treat[emp, area] <= year,
        has_self=has_self,
        has_manager=has_manager,
        self0=level(latent + self_shift),
        self1=level(latent + self_shift + lift),
        manager0=level(latent),
        manager1=level(latent + lift),
    )


def _skill_assessment_table(city: _City, d: _SkillDraws) -> pl.DataFrame:
    """One row per employee, FY, skill area and assessor (self before manager)."""
    parts = []
    for which, has in (("self", d.has_self), ("manager", d.has_manager)):
        parts.append(
            pl.DataFrame(
                {
                    "_y": d.year[has],
                    "_e": d.emp[has],
                    "_a": d.area[has],
                    "_o": np.full(int(has.sum()), 0 if which == "self" else 1),
                    "level": d.observed(which)[has].astype(str),
                    "assessor": np.full(int(has.sum()), which),
                }
            )
        )
    frame = pl.concat(parts).sort("_y", "_e", "_a", "_o")
    fys = np.asarray(city.fys)
    return frame.select(
        _str(fys[frame["_y"].to_numpy()]).alias("fiscal_year"),
        pl.Series("employee_id", city.emp_ids[frame["_e"].to_numpy()]),
        pl.Series("skill_area", np.asarray(SKILL_AREAS)[frame["_a"].to_numpy()]),
        "assessor",
        "level",
        pl.Series("_fy", fys[frame["_y"].to_numpy()]),
    )


def _skill_truth(city: _City, d: _SkillDraws, treat: np.ndarray) -> dict[str, Any]:
    """The ATT on the assessed level a staggered DiD (employee × FY per skill area) recovers.

    Means of used(treated) − used(untreated) over treated employees' assessed FYs from their
    cohort FY on; cohorts treated in the first FY are left out (no pre-period, as att_gt does).
    """
    assessed = d.has_self | d.has_manager
    cohort = treat[d.emp, d.area]
    keep = assessed & d.post & (cohort > 0)
    gain = (d.used(True) - d.used(False))[keep]
    area, year, g = d.area[keep], d.year[keep], cohort[keep]
    fys = city.fys
    by_area = {
        name: float(gain[area == i].mean()) if (area == i).any() else None
        for i, name in enumerate(SKILL_AREAS)
    }
    cells: dict[str, dict[str, dict[str, float]]] = {}
    for i, name in enumerate(SKILL_AREAS):
        for gi in np.unique(g[area == i]):
            for ti in np.unique(year[(area == i) & (g == gi)]):
                sel = (area == i) & (g == gi) & (year == ti)
                cells.setdefault(name, {}).setdefault(str(fys[gi]), {})[str(fys[ti])] = float(
                    gain[sel].mean()
                )
    ever = treat < len(fys)
    return {
        "definition": "treatment = first completed phase-2 or phase-3 course of the skill area "
        "(fiscal year of session_date); outcome = assessed level 0–4 (manager's "
        "assessment where present, else self); assessments describe the end of "
        "the FY, so the cohort FY is already post-treatment",
        "parameters": SKILL,
        "expected_att": float(gain.mean()) if len(gain) else None,
        "expected_att_by_skill_area": by_area,
        "expected_att_gt": cells,
        "treated_post_observations": len(gain),
        "treated_employees_by_skill_area": {
            name: int(ever[:, i].sum()) for i, name in enumerate(SKILL_AREAS)
        },
        "self_minus_manager_expected": "≈ self_bias (0.4) before rounding and clipping",
    }


def _knowledge_posts_table(rng: np.random.Generator, city: _City) -> pl.DataFrame:
    """Posts per employee-year ~ Poisson (higher once in the programme); failures grow yearly."""
    start = _programme_start(city)
    emp, year = np.nonzero(city.dept >= 0)
    rate = np.where(year >= start[emp], POST_RATE["in_programme"], POST_RATE["before_programme"])
    count = rng.poisson(rate)
    emp, year = np.repeat(emp, count), np.repeat(year, count)
    n = len(emp)
    day = np.empty(n, dtype=np.int64)
    for y, fy in enumerate(city.fys):
        pool = _workdays(fy)
        mask = year == y
        day[mask] = pool[rng.integers(0, len(pool), int(mask.sum()))]
    failure = np.asarray(FAILURE_SHARE_BY_YEAR)[np.minimum(year, len(FAILURE_SHARE_BY_YEAR) - 1)]
    u = rng.random(n)
    success_cut = failure + (1 - failure) * POST_KIND_SHARE_OTHER["success"]
    kind = np.where(u < failure, "failure", np.where(u < success_cut, "success", "howto"))
    title = np.asarray(POST_TITLES)[rng.integers(0, len(POST_TITLES), n)]
    order = np.lexsort((emp, day))
    fys = np.asarray(city.fys)[year]
    frame = pl.DataFrame(
        {
            "employee_id": city.emp_ids[emp],
            "department_code": np.asarray(city.dept_codes)[city.dept[emp, year]],
            "posted_on": _iso(day),
            "kind": kind,
            "title": title,
            "_fy": fys,
        }
    )[order]
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_fy")).to_series()
    ids = pl.format("K{}-{}", frame["_fy"], seq.cast(pl.String).str.zfill(4))
    return frame.with_columns(ids.alias("post_id")).select(
        "post_id", "employee_id", "department_code", "posted_on", "kind", "title", "_fy"
    )


def _posts_truth(city: _City, posts: pl.DataFrame) -> dict[str, Any]:
    realised = (
        posts.group_by("_fy")
        .agg((pl.col("kind") == "failure").mean().alias("s"), pl.len().alias("n"))
        .sort("_fy")
    )
    return {
        "rate_per_employee_year": POST_RATE,
        "failure_share_by_programme_year": FAILURE_SHARE_BY_YEAR,
        "other_kinds": POST_KIND_SHARE_OTHER,
        "failure_share_by_fy": {str(fy): round(float(s), 4) for fy, s, _ in realised.iter_rows()},
        "posts_by_fy": {str(fy): int(n) for fy, _, n in realised.iter_rows()},
    }


def _bad_skill_rows(
    rng: np.random.Generator, city: _City, d: _SkillDraws, tables: dict[str, pl.DataFrame]
) -> None:
    """Three skill-assessment and three knowledge-post rows, each breaking one rule."""
    last = len(city.fys) - 1
    fy = city.fys[last]
    silent = np.flatnonzero(~d.has_self & ~d.has_manager & (d.year == last))
    picks = rng.choice(silent, size=2, replace=False)
    leavers = np.flatnonzero((city.dept[:, last] < 0) & (city.dept[:, max(0, last - 1)] >= 0))
    gone = str(city.emp_ids[_pick(rng, leavers)]) if len(leavers) and last else "9999999"

    def assessment(i: int, **changes: str) -> dict[str, Any]:
        row = {
            "fiscal_year": str(fy),
            "employee_id": str(city.emp_ids[d.emp[i]]),
            "skill_area": SKILL_AREAS[d.area[i]],
            "assessor": "self",
            "level": "2",
            "_fy": fy,
        }
        return {**row, **changes}

    sa = tables["skill_assessment"]
    for row, rule in (
        (assessment(int(picks[0]), level="5"), "skill_assessment.level.range"),
        (assessment(int(picks[1]), assessor="同僚"), "skill_assessment.assessor.accepted"),
        (
            assessment(int(picks[0]), employee_id=gone, skill_area="data"),
            "skill_assessment.employee_id.on_staff_list",
        ),
    ):
        sa = _append(sa, row, rule)
    tables["skill_assessment"] = sa
    emp = _pick(rng, _on_list(city, last))
    day = int(_pick(rng, _workdays(fy, (4, 15), (2, 20))))
    base = {
        "employee_id": str(city.emp_ids[emp]),
        "department_code": city.dept_codes[city.dept[emp, last]],
        "posted_on": _iso(np.array([day]))[0],
        "kind": "howto",
        "title": "共有会の運営ノウハウ",
        "_fy": fy,
    }
    kp = tables["knowledge_posts"]
    for row, rule in (
        ({**base, "post_id": f"K{fy}-9001", "kind": "雑談"}, "knowledge_posts.kind.accepted"),
        (
            {**base, "post_id": f"K{fy}-9002", "department_code": "090100"},
            "knowledge_posts.department_code.exists",
        ),
        (
            {**base, "post_id": f"K{fy}-9003", "posted_on": f"令和{fy + 1 - 2018}年2月30日"},
            "knowledge_posts.posted_on.parse",
        ),
    ):
        kp = _append(kp, row, rule)
    tables["knowledge_posts"] = kp


SKILL_FILES: tuple[tuple[str, str, _Style], ...] = (
    (
        "skill_assessment",
        "スキル評価.csv",
        _Style(headers="ja", values="ja", years="wareki", encoding="utf-8-sig"),
    ),
    (
        "knowledge_posts",
        "ナレッジ共有.csv",
        _Style(headers="ja", values="ja", dates="wareki", encoding="cp932"),
    ),
)


@dataclass(frozen=True)
class _SkillMap:
    tables: dict[str, pl.DataFrame]
    written: _Written
    truth: dict[str, Any]


def _skill_map(seed: int, out: Path, city: _City, a: dict[str, np.ndarray]) -> _SkillMap:
    """Generate, plant bad rows in and write skill_assessment and knowledge_posts.

    Uses its own random stream (seed, SKILL_STREAM): the core datasets are not affected.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SKILL_STREAM])))
    treat = _skill_treatment_year(city, a)
    draws = _skill_draws(rng, city, treat)
    tables = {
        "skill_assessment": _skill_assessment_table(city, draws),
        "knowledge_posts": _knowledge_posts_table(rng, city),
    }
    truth = {
        "skill_effect": _skill_truth(city, draws, treat),
        "knowledge_posts": _posts_truth(city, tables["knowledge_posts"]),
    }
    tables = {k: v.with_columns(pl.lit(None, pl.String).alias("_bad")) for k, v in tables.items()}
    _bad_skill_rows(rng, city, draws, tables)
    rows: dict[str, int] = {}
    bad: list[dict[str, Any]] = []
    for dataset, name, style in SKILL_FILES:
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
    files = tuple(out / name for _, name, _ in SKILL_FILES)
    return _SkillMap(tables, _Written(files, rows, bad), truth)


# ---------------------------------------------------------------- the entry point


def _check_args(staff: int, fiscal_years: Sequence[int]) -> tuple[int, ...]:
    fys = tuple(sorted({int(y) for y in fiscal_years}))
    if staff < 100:
        raise ValueError("staff must be at least 100 / 職員数は100人以上にしてください")
    if not fys or fys != tuple(range(fys[0], fys[0] + len(fys))) or fys[0] < 2019:
        raise ValueError(
            "fiscal_years must be consecutive years from 2019 on "
            "/ 年度は2019年度以降の連続した年度にしてください"
        )
    return fys


def generate_city(
    out: Path,
    *,
    seed: int = 7,
    staff: int = 2000,
    fiscal_years: tuple[int, ...] = (2022, 2023, 2024, 2025),
    sessions_per_year: float = SESSIONS_PER_YEAR,
) -> SampleSummary:
    """Write the sample city's raw files and ``ground_truth.json`` into ``out``.

    ``staff`` is the head count of the first fiscal year (leavers are replaced, +0.5 % a year);
    ``sessions_per_year`` the mean attendance rows per enrolled employee-year.

    Deterministic for a seed. Existing files of the same names are overwritten; other files in
    ``out`` are left alone (the command refuses a folder holding data unless forced).
    """
    out = Path(out)
    fys = _check_args(staff, fiscal_years)
    rng = np.random.Generator(np.random.PCG64(seed))
    departments, wave = _departments(rng, fys)
    level, ttype, dept = _simulate_people(rng, staff, len(fys), departments.height)
    city = _City(
        fys,
        departments["department_code"].to_list(),
        wave,
        _employee_ids(rng, len(level)),
        level,
        ttype,
        dept,
    )
    courses = _courses_table()
    course_ids = courses["course_id"].to_list()
    a = _attendance_arrays(rng, city, sessions_per_year)
    treat = _treatment_month(city, a)
    base = _base_rates(rng, city)
    emp, month, count = _proposal_counts(rng, city, base, treat)
    dept_size = np.bincount(dept[dept >= 0], minlength=len(city.dept_codes)).astype(float)
    tables = {
        "departments": departments,
        "staff": _staff_table(rng, city),
        "courses": courses,
        "attendance": _attendance_table(city, a, course_ids),
        "proposals": _proposals_table(rng, city, emp, month, count),
        "projects": _projects_table(rng, city, dept_size),
        "resident_survey": _resident_survey_table(rng, city),
        "maturity_survey": _maturity_table(rng, city),
    }
    tables = {k: v.with_columns(pl.lit(None, pl.String).alias("_bad")) for k, v in tables.items()}
    tables["attendance"] = _bad_attendance(rng, city, tables["attendance"], course_ids)
    tables["proposals"] = _bad_proposals(rng, city, tables["proposals"])
    tables["projects"] = _bad_projects(city, tables["projects"])
    _bad_masters(rng, city, tables)
    _bad_surveys(rng, tables)
    core = _write_files(rng, out, tables, fys)
    skill = _skill_map(seed, out, city, a)  # own random stream: core files are unchanged
    tables |= skill.tables
    written = _Written(
        tuple(sorted({*core.files, *skill.written.files})),
        core.rows_per_file | skill.written.rows_per_file,
        core.bad_rows + skill.written.bad_rows,
    )
    sizes = {k: v.height for k, v in tables.items()}
    truth = _truth(seed, city, a, _effect_truth(city, base, treat), sizes, written)
    truth |= skill.truth
    truth["attendance"] = {
        "sessions_per_enrolled_employee_year": sessions_per_year,
        "voluntary_phase1_rate_before_enrolment": VOLUNTARY_RATE,
        "status_share": STATUS_SHARE,
        "phase_order": "within a year sessions run phase 1 → 2 → 3 by date; first programme "
        "year mostly phases 1–2, later years mostly 2–3",
    }
    truth_path = out / "ground_truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return SampleSummary(
        out, written.files, sizes, written.rows_per_file, len(written.bad_rows), truth_path
    )
