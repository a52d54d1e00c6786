"""Chart-side words: KPI names, group and code labels, units, methods, years, titles, formats.

Japanese by default, English with ``lang="en"``. KPI names and units come from
:data:`dxkpi.catalogue.kpis.REGISTRY`, Japanese group and phase labels from the data contract.
Suppressed cells are labelled :data:`SUPPRESSED_JA` / :data:`SUPPRESSED_EN`. The underscore
helpers (``_t``, ``_code_label``, ``_title``…) are for the chart modules of this package only.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from dxkpi.catalogue.contract import DATASETS, group_code_labels
from dxkpi.catalogue.kpis import GROUPING_JA, KpiSpec
from dxkpi.catalogue.kpis import format_value as registry_format_value
from dxkpi.reports.charts._frames import _spec

__all__ = [
    "CODE_LABEL_EN",
    "CODE_LABEL_JA",
    "EVENT_UNIT",
    "GRADE_MEANING",
    "METHOD_LABEL",
    "PHASE_LABEL_EN",
    "PHASE_LABEL_JA",
    "SUPPRESSED_EN",
    "SUPPRESSED_JA",
    "UNIT_FORMAT",
    "UNIT_LABEL",
    "Lang",
    "format_value",
    "group_label",
    "kpi_name",
]


Lang = Literal["ja", "en"]


SUPPRESSED_JA = "―（秘匿）"


SUPPRESSED_EN = "― (suppressed)"


GRADE_MEANING: dict[str, tuple[str, str]] = {
    "A": ("A 目標を上回る", "A ahead of target"),
    "B": ("B 目標どおり", "B on target"),
    "C": ("C 目標を下回る", "C behind target"),
    "D": ("D 評価できない", "D cannot be assessed"),
}


UNIT_LABEL: dict[str, tuple[str, str]] = {
    "ratio": ("％", "%"),
    "per_100": ("件／100人", "per 100 staff"),
    "hours": ("時間／年", "hours per year"),
    "score": ("評点 0–5", "score 0–5"),
    "score_diff": ("評点の差", "score difference"),
}


#: d3 formats for axes (``~`` drops trailing zeros: 20 not 20.0).
UNIT_FORMAT: dict[str, str] = {
    "ratio": ".0%",
    "per_100": ",~f",
    "hours": ",~f",
    "score": "~f",
    "score_diff": "+~f",
}


PHASE_LABEL_EN: dict[str, str] = {"1": "1 Mindset", "2": "2 Skills", "3": "3 Practice"}


#: English labels of group codes (the Japanese ones come from the data contract).
CODE_LABEL_EN: dict[str, str] = {
    "city": "Whole city",
    "manager": "Managers",
    "mid": "Mid-career",
    "staff": "General staff",
    "leader": "Leaders",
    "specialist": "Specialists",
    "practitioner": "Practitioners",
    "unassigned": "Unassigned",
    "literacy": "Literacy",
    "data": "Data use",
    "leadership": "Leadership",
    "development": "Talent development",
    "culture": "Culture",
}


METHOD_LABEL: dict[str, tuple[str, str]] = {
    "naive_before_after": ("単純な前後比較", "Naive before/after"),
    "twfe": ("二方向固定効果（TWFE）", "Two-way fixed effects (TWFE)"),
    "group_time": ("グループ・時点別DiD", "Group-time DiD (Callaway–Sant'Anna)"),
}


EVENT_UNIT = {
    "year": ("年数", "Years"),
    "quarter": ("四半期数", "Quarters"),
    "month": ("月数", "Months"),
}


def _t(lang: Lang, ja: str, en: str) -> str:
    return en if lang == "en" else ja


def _pair(pair: tuple[str, str], lang: Lang) -> str:
    return _t(lang, *pair)


def kpi_name(kpi_id: str, lang: Lang = "ja") -> str:
    """The KPI's name from the registry, in the chosen language."""
    spec = _spec(kpi_id)
    return _t(lang, spec.name_ja, spec.name_en)


def _axis_title(spec: KpiSpec, lang: Lang) -> str:
    unit = _pair(UNIT_LABEL[spec.unit], lang)
    return _t(lang, f"{spec.name_ja}（{unit}）", f"{spec.name_en} ({unit})")


def _suppressed_text(lang: Lang) -> str:
    return _t(lang, SUPPRESSED_JA, SUPPRESSED_EN)


def _year_label(year: int, lang: Lang) -> str:
    return _t(lang, f"{year}年度", f"FY{year}")


def format_value(value: float | None, unit: str) -> str:
    """A value on a chart label: ratios as whole %, ``―`` when missing."""
    return registry_format_value(value, unit, percent_digits=0, empty="―")


def _contract_labels() -> dict[str, str]:
    """Japanese labels of the group codes charts show, from the data contract's code lists."""
    return {"city": GROUPING_JA["city"], **group_code_labels()}


CODE_LABEL_JA: dict[str, str] = _contract_labels()


def _phase_labels() -> dict[str, str]:
    """``"1"`` → ``"1 意識改革"``: training phases from the data contract."""
    col = next(c for c in DATASETS["courses"].columns if c.name == "phase")
    return {code.code: f"{code.code} {code.ja}" for code in col.codes}


PHASE_LABEL_JA: dict[str, str] = _phase_labels()


def _code_label(code: str, lang: Lang) -> str:
    if code in PHASE_LABEL_JA:
        return _t(lang, PHASE_LABEL_JA[code], PHASE_LABEL_EN.get(code, code))
    if lang == "en":
        return CODE_LABEL_EN.get(code, code)
    return CODE_LABEL_JA.get(code, code)


def group_label(group: str, group_name: str | None, lang: Lang = "ja") -> str:
    """Readable label of a KPI cell's group (``"010100|data"`` → ``"総務課 データ活用"``)."""
    parts = group.split("|")
    first = group_name if group_name else _code_label(parts[0], lang)
    return " ".join([first, *(_code_label(p, lang) for p in parts[1:])])


def _labelled(frame: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    names = frame.get_column("group_name") if "group_name" in frame.columns else None
    labels = [
        group_label(g, names[i] if names is not None else None, lang)
        for i, g in enumerate(frame.get_column("group").to_list())
    ]
    return frame.with_columns(pl.Series("label", labels, dtype=pl.String))


def _grouping_title(grouping: str, lang: Lang) -> str:
    return _t(lang, GROUPING_JA.get(grouping, grouping), grouping.replace("_", " ").capitalize())


def _title(name: str, what: str, lang: Lang, subtitle: str | list[str] | None = None) -> alt.Title:
    text = _t(lang, f"{name}　{what}", f"{name} {what}")
    return alt.Title(text=text, subtitle=subtitle or "")
