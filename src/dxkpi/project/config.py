"""Project configuration from ``dxkpi.toml``: frozen dataclasses, validated with clear errors.

Sections read here (every one optional; defaults in brackets)::

    [privacy]
    min_cell_size = 10          # k: cells describing fewer people are suppressed [10]; never < 5

    [grading]
    tolerance = 0.05            # B band: |value − target| ≤ tolerance × |target| [0.05]

    [fiscal_year]
    as_of = 2026-01-31          # as-of date; absent = the latest date in the data

    [targets.2025]              # FY2025 city-wide targets, one key per KPI id
    participation_rate = 0.8
    [targets.2025.department.D03]     # a group's own target overrides the city-wide one
    participation_rate = 0.9
    [targets.2025.phase.2]            # second dimensions: phase 1–3, maturity dimension
    completion_rate = 0.85

A cell's target is looked up most specific first: its own group (``department.D03`` for a
``department`` or ``department|phase`` cell), then its second-dimension value (``phase.2``,
``dimension.literacy``, ``skill_area.data``, ``mobility.moved``), then the fiscal year's
city-wide value. Groupings accepted under a year: division, department, job_level, talent_type,
phase, dimension, skill_area, mobility.

    [skill_matrix.manager]      # 職層 × スキル: required level 0–4 per job level and skill area
    process = 3                 # job levels: manager, mid, staff; skill areas: data, ai_rpa,
    data = 2                    # process, security, facilitation. A level or area left out
                                # keeps its default (DEFAULT_SKILL_MATRIX).

    [decisions]                 # how estimates become verdicts (effect / no effect / not known)
    smallest_effect_per_100_staff_year = 20   # SESOI: extra proposals per 100 staff per year
    smallest_kpi_change_share = 0.10          # review log: smallest KPI change worth calling one
                                # below which an effect is not worth having [20]; > 0

    [kpi]                       # indicators that wait for an outcome (adoption, implementation)
    maturity_days = 300         # W: an outcome counts when it came within W days of the event,
                                # over events at least W days before the as-of date; a fiscal
                                # year not wholly W days old is provisional (暫定), not graded.
                                # One whole number of days (1–3650) for every such KPI, or a
                                # table per KPI id ([kpi.maturity_days] implementation_rate = 300).
                                # Absent: derived from the data (dxkpi.kpi.maturity: the 90th
                                # percentile of the observed delays, rounded up to 30 days).

    [city]                      # who the city is, for share files and benchmarks (dxkpi share)
    code = "221309"             # 全国地方公共団体コード: six digits in quotes, check digit
                                # (11 − Σ dᵢ·wᵢ mod 11) mod 10, weights 6,5,4,3,2 [none]
    category = "中核市"          # 指定都市 / 中核市 / 一般市 / 町村 (or designated_city, core_city,
                                # city, town_village) [none; required by dxkpi share]

    [mapping.staff]             # a source system's export onto a contract dataset (see
    system = "人事給与システム"     # dxkpi.ingest.mapping; also one TOML per system under
    files = ["職員一覧*.csv"]      # mappings/): headers → columns, values → codes, ID rules
    [mapping.staff.columns]
    "職員コード" = "employee_id"
    [mapping.staff.values.job_level]
    "課長" = "manager"
    [mapping.staff.ids.employee_id]
    zero_pad = 7
    [mapping.staff.ignore]
    columns = ["内線番号"]

    [plan.2025-2027]            # a multi-year plan (中期計画): first-last fiscal year, ≤ 10 years
    name = "第2期DX人材育成計画"   # shown in the dashboard [the key: 2025-2027]
    base_year = 2024            # the year the path starts from [first year − 1]
    [plan.2025-2027.end]        # end-of-period targets: KPI id = value to reach in the last
    participation_rate = 0.95   # year (KPIs with one city-wide value; not per phase …)
    [plan.2025-2027.cumulative] # totals over the plan years (catalogue.kpis.PLAN_TOTALS:
    leaders = 75                # leaders, new_leaders, trained_staff, proposals,
                                # implemented_proposals, hours_saved); > 0. Plans may not
                                # overlap. The key may also be written quoted:
                                # [plan."2025-2027"] (the same TOML key).

Any other top-level section (``[roi]`` …) is kept verbatim in
:attr:`Config.sections` for the modules that own it; add a dataclass and a parser here to validate
it. Keys inside the sections above that are not listed are errors (a typo must not be ignored).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dxkpi.catalogue.contract import (
    DATASETS,
    ID_MAX_LENGTH,
    ID_PATTERN,
    Kind,
    code_lookup,
    is_personal_name,
)
from dxkpi.catalogue.format import PER_100_STAFF_YEAR
from dxkpi.catalogue.kpis import PLAN_TOTALS, REGISTRY, awaiting_kpis
from dxkpi.catalogue.municipality import CATEGORIES, check_digit, is_municipality_code
from dxkpi.core.errors import ConfigError, Where
from dxkpi.core.project import PROJECT_FILE, locate_project

__all__ = [
    "DEFAULT_SKILL_MATRIX",
    "MAPPINGS_DIR",
    "MAX_MATURITY_DAYS",
    "MAX_PLAN_YEARS",
    "MIN_CELL_SIZE_FLOOR",
    "SKILL_AREAS",
    "SKILL_JOB_LEVELS",
    "SKILL_LEVEL_MAX",
    "SKILL_LEVEL_MIN",
    "TARGET_GROUPINGS",
    "CityConfig",
    "Config",
    "DecisionsConfig",
    "FiscalYearConfig",
    "GradingConfig",
    "IdRule",
    "KpiConfig",
    "Plan",
    "PrivacyConfig",
    "SkillMatrix",
    "SourceMapping",
    "Target",
    "load_config",
    "load_mapping_file",
    "load_mappings",
    "mapping_value_key",
    "municipality_code",
    "parse_config",
    "parse_mappings",
]

MIN_CELL_SIZE_FLOOR = 5
TARGET_GROUPINGS: tuple[str, ...] = (
    "division",
    "department",
    "job_level",
    "talent_type",
    "phase",
    "dimension",
    "skill_area",
    "mobility",
)
_KNOWN_SECTIONS = (
    "privacy",
    "grading",
    "fiscal_year",
    "targets",
    "skill_matrix",
    "decisions",
    "kpi",
    "city",
    "mapping",
    "plan",
)
#: The longest plan period a city may set, in fiscal years (中期計画 run 3–5 years; 10 allows a
#: 総合計画's 基本構想 horizon).
MAX_PLAN_YEARS = 10
#: The longest maturity window W a city may set, in days (ten years).
MAX_MATURITY_DAYS = 3650

#: The 職層 × スキル matrix's axes (codes of the data contract) and the level scale 0–4
#: (0 未経験, 1 知っている, 2 支援があればできる, 3 一人でできる, 4 人に教えられる).
SKILL_JOB_LEVELS: tuple[str, ...] = ("manager", "mid", "staff")
SKILL_AREAS: tuple[str, ...] = ("data", "ai_rpa", "process", "security", "facilitation")
SKILL_LEVEL_MIN, SKILL_LEVEL_MAX = 0, 4

#: Default required levels. Managers lead change (process, facilitation 3) and judge data and
#: security (2); mid-career staff run improvement work (process 3) and use data (2); general
#: staff can improve their own work with support (2) and handle data and security safely.
DEFAULT_SKILL_MATRIX: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "manager": MappingProxyType(
            {"data": 2, "ai_rpa": 1, "process": 3, "security": 2, "facilitation": 3}
        ),
        "mid": MappingProxyType(
            {"data": 2, "ai_rpa": 2, "process": 3, "security": 2, "facilitation": 2}
        ),
        "staff": MappingProxyType(
            {"data": 2, "ai_rpa": 1, "process": 2, "security": 2, "facilitation": 1}
        ),
    }
)


@dataclass(frozen=True)
class PrivacyConfig:
    """Suppression threshold k: cells describing fewer than k people are not shown."""

    min_cell_size: int = 10


@dataclass(frozen=True)
class GradingConfig:
    """Relative half-width of the B (on target) band around a target."""

    tolerance: float = 0.05


@dataclass(frozen=True)
class FiscalYearConfig:
    """As-of date for in-progress fiscal years; ``None`` = the latest date in the data."""

    as_of: dt.date | None = None


@dataclass(frozen=True)
class SkillMatrix:
    """Required skill level 0–4 per job level and skill area (the 職層 × スキル matrix)."""

    required: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: DEFAULT_SKILL_MATRIX)

    def level(self, job_level: str, skill_area: str) -> int:
        """The required level of one job level in one skill area (0–4)."""
        return self.required[job_level][skill_area]

    def rows(self) -> list[tuple[str, str, int]]:
        """(job_level, skill_area, required) for every cell, in matrix order."""
        return [
            (lv, area, self.required[lv][area]) for lv in SKILL_JOB_LEVELS for area in SKILL_AREAS
        ]


@dataclass(frozen=True)
class DecisionsConfig:
    """How estimates become verdicts (:mod:`dxkpi.models.verdicts`).

    ``smallest_effect_per_100_staff_year`` is the smallest effect of interest (SESOI): the
    smallest change in proposals per 100 staff per year that would be worth having from one
    course or phase. A course is judged to have *no effect of practical size* only when its
    (multiplicity-adjusted) interval lies inside ±this value; a wider interval around zero is
    "not known", never "no effect". Default 20 (= 1/60 ≈ 0.0167 proposals per employee-month):
    about a third of a typical pre-programme level (the sample plan's FY2023 target is 50 per
    100 staff per year) and the size of one year's step in that plan's targets (50 → 65 → 90):
    a course that moves its own completers by less than one yearly step of the plan is not
    worth a separate decision. A city sets its own value.

    ``smallest_kpi_change_share`` is the same idea for the review log ("did the action move its
    KPI?"): the smallest change of a KPI's city value from last year, as a share of last year's
    value, worth calling a change. Default 0.10 (10 %): the smallest step between consecutive
    yearly targets in the sample plan is about 10 % of the earlier one; a city sets its own.
    """

    smallest_effect_per_100_staff_year: float = 20.0
    smallest_kpi_change_share: float = 0.10

    @property
    def smallest_effect_per_employee_month(self) -> float:
        """The SESOI in proposals per employee-month (÷ 100 staff ÷ 12 months)."""
        return self.smallest_effect_per_100_staff_year / PER_100_STAFF_YEAR


@dataclass(frozen=True)
class KpiConfig:
    """Settings of the indicators that wait for an outcome after an event.

    ``maturity_days`` maps a KPI id (one of :func:`dxkpi.catalogue.kpis.awaiting_kpis`) to its
    window W in days; a KPI not in it gets W from its data
    (:func:`dxkpi.kpi.maturity.default_maturity_days`).
    """

    maturity_days: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def days(self, kpi: str) -> int | None:
        """W set for one KPI, or ``None`` (derive it from the data)."""
        return self.maturity_days.get(kpi)


@dataclass(frozen=True)
class CityConfig:
    """Who the city is: its 全国地方公共団体コード and category code
    (:data:`dxkpi.catalogue.municipality.CATEGORIES`); ``None`` where not set."""

    code: str | None = None
    category: str | None = None


#: Folder of the project holding one mapping file per source system (``mappings/*.toml``).
MAPPINGS_DIR = "mappings"
_MAPPING_KEYS = ("system", "files", "columns", "values", "ids", "ignore")


@dataclass(frozen=True)
class IdRule:
    """How a source system's identifiers are made contract identifiers, before any rule:
    ``strip`` removes white space anywhere (``0010 013``), ``zero_pad`` left-pads an identifier
    of ASCII digits only (after NFKC) to that many digits (``10013`` → ``0010013``); longer or
    non-digit identifiers are left as they are, for the identifier rules to judge."""

    strip: bool = False
    zero_pad: int | None = None


@dataclass(frozen=True)
class SourceMapping:
    """One ``[mapping.<dataset>]`` section: a source system's export onto a contract dataset.

    ``columns`` maps a source header (as written) to a contract column; ``values`` maps, per
    contract column, a source value (matched by :func:`mapping_value_key`) to the value the
    contract accepts (codes canonical); ``ids`` holds the identifier rules per column;
    ``ignore`` the source columns deliberately not used; ``files`` the globs (relative to the
    raw folder) of the files it applies to (none: every file of the dataset). ``source`` is
    where it was written (``dxkpi.toml`` or ``mappings/<system>.toml``, relative to the project
    root when inside it).
    """

    dataset: str
    source: str
    system: str = ""
    files: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    values: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    ids: Mapping[str, IdRule] = field(default_factory=lambda: MappingProxyType({}))
    ignore: tuple[str, ...] = ()

    @property
    def section(self) -> str:
        """The TOML section it is written in, ``mapping.<dataset>``."""
        return f"mapping.{self.dataset}"

    @property
    def label(self) -> str:
        """Where it is written and which section: ``mappings/jinji.toml [mapping.staff]``."""
        return f"{self.source} [{self.section}]"

    def canonical(self) -> dict[str, Any]:
        """Its content as plain JSON-able data, keys sorted (what :attr:`sha256` hashes)."""
        return {
            "dataset": self.dataset,
            "system": self.system,
            "files": list(self.files),
            "columns": dict(sorted(self.columns.items())),
            "values": {c: dict(sorted(t.items())) for c, t in sorted(self.values.items())},
            "ids": {
                c: {"strip": r.strip, "zero_pad": r.zero_pad} for c, r in sorted(self.ids.items())
            },
            "ignore": sorted(self.ignore),
        }

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of its content (comments and order do not count)."""
        text = json.dumps(
            self.canonical(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Target:
    """One target: KPI, fiscal year, optional (grouping, group) it applies to, value."""

    kpi: str
    fiscal_year: int
    value: float
    grouping: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Plan:
    """A multi-year plan (中期計画, 第2期計画): fiscal years ``first_year``–``last_year``.

    ``end`` maps a KPI id to the value the plan aims for in its last year; ``cumulative`` maps
    a plan total (:data:`dxkpi.catalogue.kpis.PLAN_TOTALS`) to the total it aims for over the
    plan's years. ``base_year`` is the year whose actual value the linear path of an end target
    starts from. Progress is computed by :mod:`dxkpi.kpi.plans`.
    """

    key: str
    first_year: int
    last_year: int
    base_year: int
    name: str | None = None
    end: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    cumulative: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def years(self) -> tuple[int, ...]:
        """The plan's fiscal years, first to last."""
        return tuple(range(self.first_year, self.last_year + 1))

    @property
    def title(self) -> str:
        """The plan's name, else its key (``2025-2027``)."""
        return self.name or self.key


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``sections`` holds other modules' sections, unvalidated."""

    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)
    fiscal_year: FiscalYearConfig = field(default_factory=FiscalYearConfig)
    targets: tuple[Target, ...] = ()
    skill_matrix: SkillMatrix = field(default_factory=SkillMatrix)
    decisions: DecisionsConfig = field(default_factory=DecisionsConfig)
    kpi: KpiConfig = field(default_factory=KpiConfig)
    city: CityConfig = field(default_factory=CityConfig)
    plans: tuple[Plan, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<defaults>"

    def target(
        self, kpi: str, fiscal_year: int, grouping: str | None = None, group: str | None = None
    ) -> float | None:
        """The most specific target for one KPI cell, or ``None``."""
        found: dict[tuple[str | None, str | None], float] = {
            (t.grouping, t.group): t.value
            for t in self.targets
            if t.kpi == kpi and t.fiscal_year == fiscal_year
        }
        if grouping is not None:
            pairs = list(zip(grouping.split("|"), (group or "").split("|"), strict=False))
            for pair in pairs:
                if pair in found:
                    return found[pair]
        return found.get((None, None))


def _error(source: str, key: str, ja: str, en: str) -> ConfigError:
    return ConfigError(
        f"設定キー「{key}」: {ja}",
        f"config key '{key}': {en}",
        where=Where(file=source),
        hint_ja=f"{source} の「{key}」を直してください。",
        hint_en=f"fix '{key}' in {source}.",
    )


def _number(source: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _error(
            source, key, f"数値が必要です（値: {value!r}）。", f"expected a number, got {value!r}."
        )
    return float(value)


def _check_keys(
    source: str, prefix: str, table: Mapping[str, Any], allowed: tuple[str, ...]
) -> None:
    for key in table:
        if key not in allowed:
            raise _error(
                source,
                f"{prefix}.{key}",
                f"不明なキーです（使えるキー: {', '.join(allowed)}）。",
                f"unknown key (allowed: {', '.join(allowed)}).",
            )


def _table(source: str, key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _error(source, key, "表（[section]）が必要です。", "expected a table ([section]).")
    return value


def _privacy(source: str, raw: Mapping[str, Any]) -> PrivacyConfig:
    _check_keys(source, "privacy", raw, ("min_cell_size",))
    k = raw.get("min_cell_size", PrivacyConfig.min_cell_size)
    if isinstance(k, bool) or not isinstance(k, int):
        raise _error(
            source,
            "privacy.min_cell_size",
            f"整数が必要です（値: {k!r}）。",
            f"expected an integer, got {k!r}.",
        )
    if k < MIN_CELL_SIZE_FLOOR:
        raise _error(
            source,
            "privacy.min_cell_size",
            f"{k} は小さすぎます。個人が特定されないよう "
            f"{MIN_CELL_SIZE_FLOOR} 以上にしてください。",
            f"{k} is too small: it must be at least {MIN_CELL_SIZE_FLOOR} so no one can be "
            "singled out.",
        )
    return PrivacyConfig(min_cell_size=k)


def _grading(source: str, raw: Mapping[str, Any]) -> GradingConfig:
    _check_keys(source, "grading", raw, ("tolerance",))
    tol = _number(source, "grading.tolerance", raw.get("tolerance", GradingConfig.tolerance))
    if not 0 <= tol < 1:
        raise _error(
            source,
            "grading.tolerance",
            f"0 以上 1 未満にしてください（値: {tol}）。",
            f"must be in [0, 1), got {tol}.",
        )
    return GradingConfig(tolerance=tol)


def _fiscal_year(source: str, raw: Mapping[str, Any]) -> FiscalYearConfig:
    _check_keys(source, "fiscal_year", raw, ("as_of",))
    as_of = raw.get("as_of")
    if as_of is None:
        return FiscalYearConfig()
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError as err:
            raise _error(
                source,
                "fiscal_year.as_of",
                f"日付（YYYY-MM-DD）が必要です（値: {as_of!r}）。",
                f"expected a date (YYYY-MM-DD), got {as_of!r}.",
            ) from err
    if not isinstance(as_of, dt.date):
        raise _error(
            source,
            "fiscal_year.as_of",
            "日付（YYYY-MM-DD）が必要です。",
            "expected a date (YYYY-MM-DD).",
        )
    return FiscalYearConfig(as_of=as_of)


def _skill_level(source: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(
            source,
            key,
            f"整数 0〜4 が必要です（値: {value!r}）。",
            f"expected a whole number 0–4, got {value!r}.",
        )
    if not SKILL_LEVEL_MIN <= value <= SKILL_LEVEL_MAX:
        raise _error(
            source,
            key,
            f"必要レベルは 0〜4 です（値: {value}）。"
            "0 未経験 / 1 知っている / 2 支援があればできる / 3 一人でできる / "
            "4 人に教えられる",
            f"the required level must be 0–4, got {value}.",
        )
    return value


def _skill_matrix(source: str, raw: Mapping[str, Any]) -> SkillMatrix:
    """Validate ``[skill_matrix.<job_level>] <skill_area> = level``; missing cells keep defaults."""
    _check_keys(source, "skill_matrix", raw, SKILL_JOB_LEVELS)
    matrix: dict[str, Mapping[str, int]] = {}
    for level in SKILL_JOB_LEVELS:
        table = _table(source, f"skill_matrix.{level}", raw.get(level, {}))
        _check_keys(source, f"skill_matrix.{level}", table, SKILL_AREAS)
        cells = dict(DEFAULT_SKILL_MATRIX[level])
        for area, value in table.items():
            cells[area] = _skill_level(source, f"skill_matrix.{level}.{area}", value)
        matrix[level] = MappingProxyType(cells)
    return SkillMatrix(MappingProxyType(matrix))


def _decisions(source: str, raw: Mapping[str, Any]) -> DecisionsConfig:
    key, share_key = "smallest_effect_per_100_staff_year", "smallest_kpi_change_share"
    _check_keys(source, "decisions", raw, (key, share_key))
    share = _number(
        source,
        f"decisions.{share_key}",
        raw.get(share_key, DecisionsConfig.smallest_kpi_change_share),
    )
    if not 0 < share < 1:
        raise _error(
            source,
            f"decisions.{share_key}",
            f"0 より大きく 1 より小さい割合にしてください（値: {share}）。",
            f"must be a share between 0 and 1 (exclusive), got {share}.",
        )
    value = _number(
        source, f"decisions.{key}", raw.get(key, DecisionsConfig.smallest_effect_per_100_staff_year)
    )
    if value <= 0:
        raise _error(
            source,
            f"decisions.{key}",
            f"正の数（100人・年あたりの提案件数）にしてください（値: {value}）。0 以下では"
            "「効果なし」の判定ができません。",
            f"must be a positive number of proposals per 100 staff per year, got {value}: "
            "with 0 or less nothing could ever be judged 'no effect'.",
        )
    return DecisionsConfig(
        smallest_effect_per_100_staff_year=value, smallest_kpi_change_share=share
    )


def _days(source: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(
            source,
            key,
            f"日数（整数）が必要です（値: {value!r}）。",
            f"expected a whole number of days, got {value!r}.",
        )
    if not 1 <= value <= MAX_MATURITY_DAYS:
        raise _error(
            source,
            key,
            f"1〜{MAX_MATURITY_DAYS} 日にしてください（値: {value}）。",
            f"must be 1–{MAX_MATURITY_DAYS} days, got {value}.",
        )
    return value


def _kpi(source: str, raw: Mapping[str, Any]) -> KpiConfig:
    """``[kpi] maturity_days = W`` (every waiting KPI) or ``[kpi.maturity_days] <kpi> = W``."""
    _check_keys(source, "kpi", raw, ("maturity_days",))
    value = raw.get("maturity_days")
    if value is None:
        return KpiConfig()
    waiting = awaiting_kpis()
    if isinstance(value, Mapping):
        _check_keys(source, "kpi.maturity_days", value, waiting)
        days = {k: _days(source, f"kpi.maturity_days.{k}", v) for k, v in value.items()}
    else:
        w = _days(source, "kpi.maturity_days", value)
        days = dict.fromkeys(waiting, w)
    return KpiConfig(maturity_days=MappingProxyType(days))


def _code_problem(value: object) -> tuple[str, str] | None:
    """What is wrong with ``value`` as a 全国地方公共団体コード (Japanese, English), or ``None``."""
    if isinstance(value, bool) or not isinstance(value, str):
        return (
            '団体コードは6桁の文字列で、引用符で囲んで書いてください（例: "011002"）。',
            'write the municipality code as six digits in quotes (e.g. "011002").',
        )
    if len(value) != 6 or not value.isascii() or not value.isdigit():
        return (
            "全国地方公共団体コードは半角数字6桁です。",
            "a local government code is six ASCII digits.",
        )
    if is_municipality_code(value):
        return None
    if not is_municipality_code(value[:5] + str(check_digit(value[:5]))):
        return (
            f"上2桁 {value[:2]} は都道府県コード（01〜47）ではありません。",
            f"its first two digits {value[:2]} are not a prefecture code (01–47).",
        )
    right = check_digit(value[:5])
    return (
        f"検査数字（6桁目）が合いません。上5桁 {value[:5]} の検査数字は {right} です。",
        f"the check digit (6th digit) does not match: the check digit of {value[:5]} is {right}.",
    )


def municipality_code(value: object, source: str | None = None) -> str:
    """``value`` checked as a 全国地方公共団体コード — six digits written as text (so 01… keeps
    its zero), a prefecture 01–47, the check digit of
    :func:`dxkpi.catalogue.municipality.check_digit` — and returned; otherwise a two-language
    :class:`ConfigError`, naming the key ``city.code`` of ``source`` when the code came from a
    configuration file.

    >>> municipality_code("221309")
    '221309'
    >>> municipality_code("221308")
    Traceback (most recent call last):
    dxkpi.core.errors.ConfigError: 団体コード '221308': 検査数字（6桁目）が合いません。...
    """
    problem = _code_problem(value)
    if problem is None:
        return str(value)
    ja, en = problem
    if source is not None:
        raise _error(source, "city.code", f"値 {value!r}: {ja}", f"value {value!r}: {en}")
    raise ConfigError(
        f"団体コード {value!r}: {ja}",
        f"municipality code {value!r}: {en}",
        hint_ja="総務省の全国地方公共団体コード（6桁、検査数字つき）を指定してください。",
        hint_en="give the six-digit local government code with its check digit, as published "
        "by the Ministry of Internal Affairs and Communications.",
    )


def _category(source: str, value: object) -> str:
    spellings = {code: code for code in CATEGORIES} | {
        ja: code for code, (ja, _) in CATEGORIES.items()
    }
    if isinstance(value, str) and value in spellings:
        return spellings[value]
    known = " / ".join(f"{ja}（{code}）" for code, (ja, _) in CATEGORIES.items())
    raise _error(
        source,
        "city.category",
        f"団体区分が違います（値: {value!r}。使える区分: {known}）。",
        f"unknown category {value!r} (one of: {', '.join(CATEGORIES)}).",
    )


def _city(source: str, raw: Mapping[str, Any]) -> CityConfig:
    _check_keys(source, "city", raw, ("code", "category"))
    code = raw.get("code")
    category = raw.get("category")
    return CityConfig(
        code=None if code is None else municipality_code(code, source),
        category=None if category is None else _category(source, category),
    )


def _kpi_value(source: str, key: str, kpi: str, value: object) -> float:
    if kpi not in REGISTRY:
        raise _error(
            source,
            key,
            f"不明な指標IDです（使える指標: {', '.join(REGISTRY)}）。",
            f"unknown KPI id (known: {', '.join(REGISTRY)}).",
        )
    return _number(source, key, value)


def _year(source: str, key: str) -> int:
    try:
        year = int(key)
    except ValueError:
        year = -1
    if not 1990 <= year <= 2200:
        raise _error(
            source,
            f"targets.{key}",
            "年度（例: 2025）が必要です。",
            "expected a fiscal year such as 2025.",
        )
    return year


def _targets(source: str, raw: Mapping[str, Any]) -> tuple[Target, ...]:
    out: list[Target] = []
    for year_key, year_table in raw.items():
        year = _year(source, str(year_key))
        prefix = f"targets.{year_key}"
        for key, value in _table(source, prefix, year_table).items():
            if key in TARGET_GROUPINGS:
                for group, kpis in _table(source, f"{prefix}.{key}", value).items():
                    gprefix = f"{prefix}.{key}.{group}"
                    for kpi, v in _table(source, gprefix, kpis).items():
                        num = _kpi_value(source, f"{gprefix}.{kpi}", kpi, v)
                        out.append(Target(kpi, year, num, key, str(group)))
            else:
                num = _kpi_value(source, f"{prefix}.{key}", key, value)
                out.append(Target(key, year, num))
    return tuple(out)


def mapping_value_key(value: str) -> str:
    """How a source value is matched against a ``values`` table: NFKC, trimmed, lower case
    (``ＡＢ `` and ``ab`` are one key; 欠席(連絡あり) and 欠席（連絡あり） too).

    >>> mapping_value_key("  欠席（連絡あり） "), mapping_value_key("Ｍａｎａｇｅｒ")
    ('欠席(連絡あり)', 'manager')
    """
    return unicodedata.normalize("NFKC", value).strip().lower()


def _strings(source: str, key: str, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise _error(
            source,
            key,
            "文字列か文字列のリストが必要です。",
            "expected a string or a list of non-empty strings.",
        )
    return tuple(items)


def _contract_column(source: str, key: str, dataset: str, name: object) -> str:
    ds = DATASETS[dataset]
    if isinstance(name, str):
        for col in ds.columns:
            if name in (col.name, col.ja):
                return col.name
    known = ", ".join(f"{c.name}（{c.ja}）" for c in ds.columns)
    raise _error(
        source,
        key,
        f"データセット {dataset} に列 {name!r} はありません（使える列: {known}）。",
        f"dataset {dataset} has no column {name!r} (columns: {', '.join(ds.column_names)}).",
    )


def _value_target(source: str, key: str, dataset: str, column: str, value: object) -> str:
    """A ``values`` table's target, checked against the contract column (codes canonical)."""
    col = DATASETS[dataset].column(column)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _error(
            source,
            key,
            f"文字列が必要です（値: {value!r}）。",
            f"expected a string, got {value!r}.",
        )
    text = str(value).strip()
    if col.kind is Kind.CODE:
        code = code_lookup(col).get(mapping_value_key(text))
        if code is None:
            allowed = " / ".join(f"{c.code}（{c.ja}）" for c in col.codes)
            raise _error(
                source,
                key,
                f"「{col.ja}」({column}) の値として使えません（値: {text!r}。"
                f"使える値: {allowed}）。",
                f"not a value of {column} (got {text!r}; accepted: "
                f"{', '.join(c.code for c in col.codes)}).",
            )
        return code
    if col.kind is Kind.ID and not re.fullmatch(ID_PATTERN, unicodedata.normalize("NFKC", text)):
        raise _error(
            source,
            key,
            f"「{col.ja}」({column}) は英数字と . _ - の識別子です（値: {text!r}）。",
            f"{column} takes an identifier of ASCII letters, digits, . _ - (got {text!r}).",
        )
    if col.kind in (Kind.INTEGER, Kind.NUMBER):
        try:
            number = float(unicodedata.normalize("NFKC", text))
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or (col.kind is Kind.INTEGER and not number.is_integer()):
            what = ("整数", "a whole number") if col.kind is Kind.INTEGER else ("数値", "a number")
            raise _error(
                source,
                key,
                f"「{col.ja}」({column}) には{what[0]}が必要です（値: {text!r}）。",
                f"{column} takes {what[1]} (got {text!r}).",
            )
        return str(int(number)) if col.kind is Kind.INTEGER else text
    return text


def _values(
    source: str, prefix: str, dataset: str, raw: Mapping[str, Any]
) -> Mapping[str, Mapping[str, str]]:
    out: dict[str, Mapping[str, str]] = {}
    for column_key, table in raw.items():
        key = f"{prefix}.{column_key}"
        column = _contract_column(source, key, dataset, column_key)
        if DATASETS[dataset].column(column).employee_id:
            raise _error(
                source,
                key,
                "職員番号の列には値の対応表を書けません（ids の zero_pad などを使ってください）。",
                "an employee-ID column cannot have a values table (use its ids rules, such as "
                "zero_pad).",
            )
        targets: dict[str, str] = {}
        seen: dict[str, str] = {}
        for value, target in _table(source, key, table).items():
            code = _value_target(source, f"{key}.{value}", dataset, column, target)
            folded = mapping_value_key(str(value))
            if folded in seen and targets[seen[folded]] != code:
                raise _error(
                    source,
                    f"{key}.{value}",
                    f"「{seen[folded]}」と同じ値として読まれ、対応先が違います。",
                    f"reads as the same value as {seen[folded]!r} but maps elsewhere.",
                )
            seen[folded] = str(value)
            targets[str(value)] = code
        out[column] = MappingProxyType(targets)
    return MappingProxyType(out)


def _id_rules(
    source: str, prefix: str, dataset: str, raw: Mapping[str, Any]
) -> Mapping[str, IdRule]:
    out: dict[str, IdRule] = {}
    for column_key, table in raw.items():
        key = f"{prefix}.{column_key}"
        column = _contract_column(source, key, dataset, column_key)
        if DATASETS[dataset].column(column).kind is not Kind.ID:
            raise _error(
                source,
                key,
                f"{column} は識別子の列ではありません（ids は識別子の列だけ）。",
                f"{column} is not an identifier column (ids rules apply to identifiers only).",
            )
        rules = _table(source, key, table)
        _check_keys(source, key, rules, ("strip", "zero_pad"))
        strip = rules.get("strip", False)
        if not isinstance(strip, bool):
            raise _error(source, f"{key}.strip", "true か false です。", "expected true or false.")
        pad = rules.get("zero_pad")
        if pad is not None and (
            isinstance(pad, bool) or not isinstance(pad, int) or not 1 <= pad <= ID_MAX_LENGTH
        ):
            raise _error(
                source,
                f"{key}.zero_pad",
                f"1〜{ID_MAX_LENGTH} の桁数が必要です（値: {pad!r}）。",
                f"expected a number of digits 1–{ID_MAX_LENGTH}, got {pad!r}.",
            )
        out[column] = IdRule(strip=strip, zero_pad=pad)
    return MappingProxyType(out)


def _one_mapping(source: str, dataset: str, raw: Mapping[str, Any]) -> SourceMapping:
    prefix = f"mapping.{dataset}"
    _check_keys(source, prefix, raw, _MAPPING_KEYS)
    system = raw.get("system", "")
    if not isinstance(system, str):
        raise _error(source, f"{prefix}.system", "文字列が必要です。", "expected a string.")
    files = _strings(source, f"{prefix}.files", raw.get("files", []))
    columns: dict[str, str] = {}
    by_target: dict[str, str] = {}
    for header, target in _table(source, f"{prefix}.columns", raw.get("columns", {})).items():
        column = _contract_column(source, f"{prefix}.columns.{header}", dataset, target)
        if column in by_target:
            raise _error(
                source,
                f"{prefix}.columns.{header}",
                f"列 {column} には「{by_target[column]}」も対応しています（1列に1つだけ）。",
                f"column {column} is already the target of {by_target[column]!r} (one each).",
            )
        if is_personal_name(header):
            raise _error(
                source,
                f"{prefix}.columns.{header}",
                "氏名の列は取り込みません（個人情報）。columns から外してください。",
                "a personal-name column is never ingested (personal data): remove it from columns.",
            )
        by_target[column] = header
        columns[header] = column
    ignore_table = _table(source, f"{prefix}.ignore", raw.get("ignore", {}))
    _check_keys(source, f"{prefix}.ignore", ignore_table, ("columns",))
    ignore = _strings(source, f"{prefix}.ignore.columns", ignore_table.get("columns", []))
    both = sorted(set(ignore) & set(columns))
    if both:
        raise _error(
            source,
            f"{prefix}.ignore.columns",
            f"列「{both[0]}」が columns にも ignore にもあります。",
            f"column {both[0]!r} is both mapped (columns) and ignored.",
        )
    return SourceMapping(
        dataset=dataset,
        source=source,
        system=system,
        files=files,
        columns=MappingProxyType(columns),
        values=_values(
            source,
            f"{prefix}.values",
            dataset,
            _table(source, f"{prefix}.values", raw.get("values", {})),
        ),
        ids=_id_rules(
            source, f"{prefix}.ids", dataset, _table(source, f"{prefix}.ids", raw.get("ids", {}))
        ),
        ignore=ignore,
    )


def parse_mappings(raw: object, source: str = "<memory>") -> tuple[SourceMapping, ...]:
    """Validate a ``[mapping]`` table (``[mapping.<dataset>]`` sections) against the contract:
    an unknown dataset, column or code, a values table on an employee-ID column, an ID rule on
    a column that is no identifier, or an unknown key is a :class:`ConfigError` naming
    ``source`` and the key."""
    table = _table(source, "mapping", raw)
    out = []
    for dataset, section in table.items():
        if dataset not in DATASETS:
            raise _error(
                source,
                f"mapping.{dataset}",
                f"不明なデータセットです（使えるもの: {', '.join(DATASETS)}）。",
                f"unknown dataset (known: {', '.join(DATASETS)}).",
            )
        out.append(_one_mapping(source, dataset, _table(source, f"mapping.{dataset}", section)))
    return tuple(out)


def _read_toml(file: Path, shown: str) -> Mapping[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"設定ファイル {shown} を読めません（TOML の書式）: {err}",
            f"config file {shown} is not valid TOML: {err}",
            where=Where(file=shown),
            hint_ja="TOML の書式（引用符、[section] の見出し）を直してください。",
            hint_en="fix the TOML syntax (quotes, [section] headers).",
        ) from err


def load_mapping_file(file: Path, shown: str | None = None) -> tuple[SourceMapping, ...]:
    """The ``[mapping.<dataset>]`` sections of one mapping file (nothing else is allowed in
    it); ``shown`` is how messages and the manifest name it (default: the path)."""
    name = shown or str(file)
    raw = _read_toml(file, name)
    _check_keys(name, "", raw, ("mapping",))
    return parse_mappings(raw.get("mapping", {}), name)


def load_mappings(root: Path) -> tuple[SourceMapping, ...]:
    """Every mapping of the project at ``root``: ``[mapping.*]`` of ``dxkpi.toml``, then each
    ``mappings/*.toml`` in name order. Only the mapping sections are validated here (ingestion
    does not depend on the rest of ``dxkpi.toml``)."""
    found: list[SourceMapping] = []
    config = root / PROJECT_FILE
    if config.is_file():
        found.extend(
            parse_mappings(_read_toml(config, PROJECT_FILE).get("mapping", {}), PROJECT_FILE)
        )
    folder = root / MAPPINGS_DIR
    if folder.is_dir():
        for file in sorted(folder.glob("*.toml")):
            if not file.name.startswith((".", "_")):
                found.extend(load_mapping_file(file, f"{MAPPINGS_DIR}/{file.name}"))
    return tuple(found)


_PLAN_KEY = re.compile(r"^(\d{4})-(\d{4})$")


def _plan_years(source: str, key: str) -> tuple[int, int]:
    m = _PLAN_KEY.match(key)
    first, last = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    if not m or not 1990 <= first <= last <= 2200:
        raise _error(
            source,
            f"plan.{key}",
            "計画期間は「初年度-最終年度」の形で書いてください（例: [plan.2025-2027]）。",
            "write the plan period as first-last fiscal year (e.g. [plan.2025-2027]).",
        )
    if last - first + 1 > MAX_PLAN_YEARS:
        raise _error(
            source,
            f"plan.{key}",
            f"計画期間が長すぎます（{last - first + 1} 年度。{MAX_PLAN_YEARS} 年度まで）。",
            f"the plan is too long ({last - first + 1} years; at most {MAX_PLAN_YEARS}).",
        )
    return first, last


def _plan_end(source: str, prefix: str, raw: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for kpi, value in raw.items():
        num = _kpi_value(source, f"{prefix}.{kpi}", kpi, value)
        if REGISTRY[kpi].second_dimension is not None:
            raise _error(
                source,
                f"{prefix}.{kpi}",
                f"「{REGISTRY[kpi].name_ja}」は{REGISTRY[kpi].second_dimension}ごとの指標で、"
                "全庁の値が1つではないため、計画の最終目標にできません。年度ごとの目標"
                "（[targets.<年度>.…]）で設定してください。",
                f"{kpi} is measured per {REGISTRY[kpi].second_dimension}, with no single "
                "city-wide value: set it per year under [targets.<FY>.…] instead.",
            )
        out[kpi] = num
    return out


def _plan_totals(source: str, prefix: str, raw: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for total, value in raw.items():
        key = f"{prefix}.{total}"
        if total not in PLAN_TOTALS:
            raise _error(
                source,
                key,
                f"累計目標にできる項目ではありません（使える項目: {', '.join(PLAN_TOTALS)}）。",
                f"not a plan total (known: {', '.join(PLAN_TOTALS)}).",
            )
        num = _number(source, key, value)
        if num <= 0:
            raise _error(
                source,
                key,
                f"累計目標は正の数にしてください（値: {value!r}）。",
                f"a cumulative target must be positive, got {value!r}.",
            )
        out[total] = num
    return out


def _plan(source: str, key: str, raw: Mapping[str, Any]) -> Plan:
    first, last = _plan_years(source, key)
    prefix = f"plan.{key}"
    _check_keys(source, prefix, raw, ("name", "base_year", "end", "cumulative"))
    name = raw.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise _error(
            source, f"{prefix}.name", "計画名は文字列で書いてください。", "expected a name (text)."
        )
    base = raw.get("base_year", first - 1)
    if isinstance(base, bool) or not isinstance(base, int) or not 1990 <= base < first:
        raise _error(
            source,
            f"{prefix}.base_year",
            f"基準年度は計画の初年度 {first} より前の年度にしてください（値: {base!r}）。",
            f"the base year must be a fiscal year before the plan's first year {first}, "
            f"got {base!r}.",
        )
    end = _plan_end(source, f"{prefix}.end", _table(source, f"{prefix}.end", raw.get("end", {})))
    totals = _plan_totals(
        source,
        f"{prefix}.cumulative",
        _table(source, f"{prefix}.cumulative", raw.get("cumulative", {})),
    )
    if not end and not totals:
        raise _error(
            source,
            prefix,
            f"目標がありません。[{prefix}.end] か [{prefix}.cumulative] に書いてください。",
            f"the plan has no targets: add [{prefix}.end] or [{prefix}.cumulative].",
        )
    return Plan(
        key,
        first,
        last,
        base,
        name.strip() if isinstance(name, str) else None,
        MappingProxyType(end),
        MappingProxyType(totals),
    )


def _plans(source: str, raw: Mapping[str, Any]) -> tuple[Plan, ...]:
    """``[plan.<first>-<last>]`` tables, in order of their first year; periods may not overlap."""
    plans = sorted(
        (_plan(source, str(k), _table(source, f"plan.{k}", v)) for k, v in raw.items()),
        key=lambda p: p.first_year,
    )
    for before, after in itertools.pairwise(plans):
        if after.first_year <= before.last_year:
            raise _error(
                source,
                f"plan.{after.key}",
                f"計画期間が [plan.{before.key}] と重なっています。次期計画は前の計画の"
                "最終年度の翌年度から始めてください。",
                f"the period overlaps [plan.{before.key}]: a plan must start after the previous "
                "one ends.",
            )
    return tuple(plans)


def parse_config(raw: Mapping[str, Any], source: str = "<memory>") -> Config:
    """Validate a parsed TOML mapping into a :class:`Config`. Its ``[mapping.*]`` sections are
    checked here too; ingestion reads them, with ``mappings/*.toml``, by :func:`load_mappings`."""
    sections = {k: v for k, v in raw.items() if k not in _KNOWN_SECTIONS}
    parse_mappings(raw.get("mapping", {}), source)
    return Config(
        privacy=_privacy(source, _table(source, "privacy", raw.get("privacy", {}))),
        grading=_grading(source, _table(source, "grading", raw.get("grading", {}))),
        fiscal_year=_fiscal_year(source, _table(source, "fiscal_year", raw.get("fiscal_year", {}))),
        targets=_targets(source, _table(source, "targets", raw.get("targets", {}))),
        skill_matrix=_skill_matrix(
            source, _table(source, "skill_matrix", raw.get("skill_matrix", {}))
        ),
        decisions=_decisions(source, _table(source, "decisions", raw.get("decisions", {}))),
        kpi=_kpi(source, _table(source, "kpi", raw.get("kpi", {}))),
        city=_city(source, _table(source, "city", raw.get("city", {}))),
        plans=_plans(source, _table(source, "plan", raw.get("plan", {}))),
        sections=MappingProxyType(sections),
        source=source,
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read a project's ``dxkpi.toml`` into a validated :class:`Config`.

    Parameters
    ----------
    path
        The file to read. Default: the ``dxkpi.toml`` of the project found from the working
        folder (:func:`dxkpi.core.project.locate_project`: ``DXKPI_PROJECT``, else walking up),
        so a notebook anywhere under the project reads the project's settings.

    Raises
    ------
    ProjectNotFoundError
        When ``path`` is not given and no project is found (never silent defaults; the
        built-in defaults are ``Config()``, asked for explicitly).
    ConfigError
        When the file is missing or invalid.
    """
    file = locate_project().config_file if path is None else Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(
            f"設定ファイル {file} がありません。",
            f"config file {file} does not exist.",
            hint_ja="--config でパスを確かめてください。",
            hint_en="check the path given to --config.",
        ) from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"設定ファイル {file} を読めません（TOML の書式）: {err}",
            f"config file {file} is not valid TOML: {err}",
            where=Where(file=str(file)),
        ) from err
    return parse_config(raw, source=str(file))
