"""The sample city's planted parameters and constants: declarations only.

The organisation (divisions, pilot departments, roll-out waves), the course catalogue with each
course's planted effect and share of places, staff flows (with outcome-dependent leaving),
proposal base rates and the planted treatment factors, the proposal pipeline's waiting times,
programme trends, the skill-map parameters, the pools names and titles are drawn from, and the
fixed constants of the written files. Changing any value changes the generated files (and
``ground_truth.json``).
"""

from __future__ import annotations

import datetime
from typing import TypedDict

__all__ = [
    "ADOPTION_PROBABILITY",
    "BASE_RATE_BY_LEVEL",
    "CATEGORIES",
    "COURSES",
    "COURSE_WEIGHT",
    "DECISION_DAYS",
    "DIVISIONS",
    "DIVISIONS_FLAT",
    "EFFECT_LAG_MONTHS",
    "EPOCH",
    "FAILURE_SHARE_BY_YEAR",
    "FIXED_ZIP_TIME",
    "FOLLOWUP",
    "FOLLOWUP_STREAM",
    "FRAILTY_SHAPE",
    "FULL_WIDTH",
    "GIVEN",
    "HIRE_GROWTH",
    "HIRE_LEVEL_SHARE",
    "IMPLEMENTATION_DAYS",
    "IMPLEMENTATION_PROBABILITY",
    "LEAVE_GAMMA",
    "LEAVE_RATE",
    "LEVELS",
    "LEVEL_SHARE",
    "MATURITY",
    "PHASE2_SHARE",
    "PHASE3_MULTIPLIER",
    "PHASE3_PLACE_RATE",
    "PILOT_DEPARTMENTS",
    "POST_KIND_SHARE_OTHER",
    "POST_RATE",
    "POST_TITLES",
    "PROJECT_THEMES",
    "PROPOSAL_ACTIONS",
    "PROPOSAL_OBJECTS",
    "ROSTER",
    "ROSTER_STREAM",
    "SATISFACTION_PER_PROGRAMME_YEAR",
    "SATISFACTION_PER_YEAR",
    "SEASON",
    "SECOND_WAVE_SHARE",
    "SELF_RUNNING_RATE",
    "SESSIONS_PER_YEAR",
    "SKILL",
    "SKILL_AREAS",
    "SKILL_STREAM",
    "STATUS_SHARE",
    "SUPPORT_MODEL_SHARE",
    "SURNAMES",
    "TRANSFER_RATE",
    "TREATMENT_FACTOR",
    "TYPES",
    "TYPE_RATE_MULTIPLIER",
    "TYPE_SHARE_BY_LEVEL",
    "VOLUNTARY_RATE",
    "WITHIN_DAYS",
    "YEAR_MULTIPLIER_STEP",
]

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
# (内製) versions from year 2 on (the data course already from year 1): insourcing rises.
COURSES: tuple[tuple[str, int, str, float, str, int, int], ...] = (
    ("DX基礎研修（全職員向け）", 1, "process", 3, "external", 0, 2),
    ("DX基礎研修（庁内講師）", 1, "process", 3, "internal", 2, 99),
    ("管理職向けDXマネジメント研修", 1, "facilitation", 3, "external", 0, 99),
    ("情報セキュリティとDX", 1, "security", 2, "internal", 0, 99),
    ("デジタル活用マインド研修", 1, "process", 2, "external", 0, 3),
    ("行政DX事例に学ぶ", 1, "process", 2, "internal", 1, 99),
    ("Excelデータ集計・分析", 2, "data", 6, "external", 0, 2),
    ("データ分析実践（庁内講師）", 2, "data", 6, "internal", 1, 99),
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

# Planted per-course effects on the monthly proposal rate (issue item 9). Phase 2: the boost of
# an employee's FIRST completed phase-2 course c is 1 + (TREATMENT_FACTOR[type] − 1) × s_c; later
# phase-2 courses add nothing. Phase 3: the first completed phase-3 course z (only ever after a
# phase-2 completion) multiplies the rate by m_z on top. Phase-1 courses have no planted effect.
PHASE2_SHARE: dict[str, float] = {
    "Excelデータ集計・分析": 1.0,
    "データ分析実践（庁内講師）": 1.0,
    "BIツール可視化入門": 0.5,  # partial, and few places (COURSE_WEIGHT): inconclusive
    "RPA基礎": 1.0,
    "RPA開発（庁内講師）": 1.0,
    "生成AI活用研修": 1.0,
    "生成AI活用（庁内講師）": 1.0,
    "ノーコードアプリ作成": 0.5,
    "業務プロセス可視化（BPR）": 1.0,
    "業務フロー改善（庁内講師）": 1.0,
    "クラウドサービス基礎": 0.0,
    "個人情報保護とセキュリティ実務": 0.0,
    "ファシリテーション基礎": 0.5,
}
PHASE3_MULTIPLIER: dict[str, float] = {
    "業務改善プロジェクト演習": 1.3,
    "業務改善プロジェクト（伴走型）": 1.4,
    "データ利活用プロジェクト": 1.5,
    "RPA・AI導入実践": 1.5,
    "ワークショップ運営実践": 1.0,
    "DX推進リーダー養成": 1.5,  # few places (COURSE_WEIGHT): a real effect, hard to see
}
# Relative chance that a session of a phase goes to this course among those offered that year
# (1 when not listed): a small weight is a course with few places, hence few completers.
COURSE_WEIGHT: dict[str, float] = {"BIツール可視化入門": 0.05, "DX推進リーダー養成": 0.06}
# The effect starts this many months after the completion month (the completion month itself
# is untreated).
EFFECT_LAG_MONTHS = 1
# Chance an enrolled employee has a phase-3 (実践) place in a programme year (index 0, 1, 2+).
# Without one, the sessions that would have been phase 3 are further phase-2 courses. Chance
# only: not related to job level, talent type or base rate.
PHASE3_PLACE_RATE = (0.15, 0.35, 0.35)

LEVELS = ("manager", "mid", "staff")
LEVEL_SHARE = (0.12, 0.35, 0.53)
HIRE_LEVEL_SHARE = (0.0, 0.15, 0.85)
LEAVE_RATE = (0.07, 0.035, 0.04)  # per year, by job level
# Leaving at a fiscal-year end depends on the employee's own proposals that year: the
# probability is LEAVE_RATE[level] × exp(−LEAVE_GAMMA × z), z the count standardised over the
# staff list of that year (low proposers leave more often).
LEAVE_GAMMA = 0.5
# Hires each April: as many as left, plus this share of the first year's head count.
HIRE_GROWTH = 0.005
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
# The proposal pipeline: decided_on = submitted_on + U{DECISION_DAYS} days (both ends included),
# adopted with ADOPTION_PROBABILITY, implemented_on = decided_on + U{IMPLEMENTATION_DAYS} days and
# implemented with IMPLEMENTATION_PROBABILITY (each status only if its date is by the as-of date).
DECISION_DAYS = (7, 90)
ADOPTION_PROBABILITY = 0.55
IMPLEMENTATION_DAYS = (30, 240)
IMPLEMENTATION_PROBABILITY = 0.7
WITHIN_DAYS = (90, 180, 365)  # windows of the recorded "implemented within W days" truth
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


class _Maturity(TypedDict):
    base: float
    per_year: float
    rolled_out: float
    manager: float
    mid: float
    noise_sd: float
    response_rate: float
    dimension: dict[str, float]


MATURITY: _Maturity = {
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

# Level-3 follow-up survey (issue 17 item 3). Its own random stream, drawn after every other
# file is written, so the core and skill-map files stay byte-identical for a seed.
FOLLOWUP_STREAM = 173


class _Followup(TypedDict):
    first_year_index: int
    response_rate_by_wave: dict[int, float]
    agree_by_phase: dict[int, float]
    internal_instructor_bonus: float
    manager_support_agree: float
    agree_answer_share: tuple[float, float]
    disagree_answer_share: tuple[float, float, float]
    barrier_share_disagree: dict[str, float]
    barrier_share_agree: dict[str, float]


#: The follow-up survey runs from the second fiscal year on: every first completion of a course
#: is surveyed 30, 60 and 90 days later (answers a few days after the invitation). Each wave
#: answers "applied in my work" 4–5 with the course's planted probability (by phase, plus a bonus
#: for in-house instructors, who teach from the city's own work), independently of the other
#: waves, so each employee's latest wave is a Bernoulli draw with that probability. The
#: manager-support item is agreed with one probability for every course. Barriers follow the
#: applied answer ("" = not answered).
FOLLOWUP: _Followup = {
    "first_year_index": 1,
    "response_rate_by_wave": {30: 0.70, 60: 0.55, 90: 0.45},
    "agree_by_phase": {1: 0.35, 2: 0.55, 3: 0.75},
    "internal_instructor_bonus": 0.10,
    "manager_support_agree": 0.50,
    "agree_answer_share": (0.6, 0.4),  # 4, 5
    "disagree_answer_share": (0.2, 0.3, 0.5),  # 1, 2, 3
    "barrier_share_disagree": {
        "no_time": 0.40,
        "no_manager_support": 0.20,
        "no_tools": 0.15,
        "not_relevant": 0.15,
        "": 0.10,
    },
    "barrier_share_agree": {"none": 0.70, "no_time": 0.10, "": 0.20},
}
SKILL_AREAS = ("data", "ai_rpa", "process", "security", "facilitation")

# Effective-dated roster (issue #17). Its own random stream (ROSTER_STREAM), drawn after the skill
# map is written, so every earlier file stays byte-identical for a seed.
ROSTER_STREAM = 9


class _Roster(TypedDict):
    move_rate: float
    move_months: tuple[int, ...]
    leave_rate: float
    leave_status_share: dict[str, float]
    leave_months: tuple[int, int]


ROSTER: _Roster = {
    "move_rate": 0.04,  # share of each FY's staff moved mid-year (年度途中の異動)
    "move_months": (3, 6, 9),  # month index from April: July, October, January 1
    "leave_rate": 0.03,  # share of the others away for part of the year
    "leave_status_share": {"childcare_leave": 0.6, "leave_of_absence": 0.25, "secondment": 0.15},
    "leave_months": (2, 12),  # a leave starts on a month's 1st and lasts 2–12 months (≤ FY end)
}


class _Skill(TypedDict):
    base_by_job_level: dict[str, float]
    area_offset: dict[str, float]
    person_sd: float
    per_year: float
    effect: float
    noise_sd: float
    self_bias: float
    self_noise_sd: float
    self_response: float
    manager_response: float


SKILL: _Skill = {
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
