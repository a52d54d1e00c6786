"""A year at a glance: what ``index.html`` shows above its list of reports.

The index reads only numbers the run already computed: the KPI frame of the run
(:mod:`dxkpi.reports.kpi_cache`, read before the runner removes it) and the headline behaviour
effect the behaviour-change notebook keeps for it (:func:`keep_headline`, a few numbers of its
:class:`~dxkpi.models.behaviour.BehaviourResult`). From them:

* the grade tiles — how many city-wide KPIs and KGIs of the year are A, B, C, D or 暫定, with
  the grade band stated (:func:`dxkpi.reports.views.grade_legend`);
* the headline behaviour effect with its 95% interval (an interval that includes 0 says that no
  clear effect was found — never "no effect");
* the KGIs with their units, targets and grades;
* what needs attention: C and D grades, provisional figures, reports that failed;
* the department names of the drill-downs (:func:`department_names`).

Every text from the data goes through :func:`dxkpi.reports.escape.page_text`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.catalogue.format import format_provisional, format_value
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.labels import SUPPRESSED_MARK, label, t
from dxkpi.core.atomic import write_text
from dxkpi.core.jsontext import json_text
from dxkpi.reports.charts.theme import GRADE_COLOURS
from dxkpi.reports.escape import page_text
from dxkpi.reports.kpi_cache import CACHE_DIR, kpi_cache_path
from dxkpi.reports.narrative import fmt_interval, fmt_number
from dxkpi.reports.views import grade_legend, grade_text, kpi_name

__all__ = [
    "GRADE_ORDER",
    "HEADLINE_FILE",
    "Glance",
    "attention_items",
    "department_names",
    "glance_html",
    "grade_counts",
    "headline_numbers",
    "headline_text",
    "keep_headline",
    "read_glance",
]

#: Where the behaviour-change notebook keeps its headline for the index (inside the run's
#: cache folder, removed before publishing).
HEADLINE_FILE = "behaviour_headline.json"
#: The tiles, in the order they are shown.
GRADE_ORDER: tuple[str, ...] = ("A", "B", "C", "D", "P")
_HEADLINE_KEYS = (
    "treatment",
    "outcome",
    "per_100_year",
    "per_100_year_ci",
    "percent_change",
    "percent_change_ci",
    "n_employees",
    "n_treated",
)


def headline_numbers(result: Any) -> dict[str, Any]:
    """The few numbers of a behaviour-change result the index shows (``result``: a
    :class:`~dxkpi.models.behaviour.BehaviourResult`, or its ``to_json_dict()``)."""
    full = result if isinstance(result, dict) else result.to_json_dict()
    return {k: full.get(k) for k in _HEADLINE_KEYS}


def keep_headline(output_dir: str | Path, result: Any) -> Path | None:
    """Keep the headline effect for the run's ``index.html`` (behaviour-change notebook).

    Written only inside a report run — when ``output_dir`` holds the run's cache folder, which
    the runner removes before publishing; a notebook run by hand has no index to feed and
    writes nothing (returns None)."""
    cache = Path(output_dir) / CACHE_DIR
    if not cache.is_dir():
        return None
    path = cache / HEADLINE_FILE
    return write_text(path, json_text(headline_numbers(result)))


@dataclass(frozen=True)
class Glance:
    """What the index shows of a year: the city-wide cells of the KPI frame, the department
    names, the headline effect (None when the run has none) and the grading tolerance."""

    fiscal_year: int
    cells: pl.DataFrame
    departments: dict[str, str] = field(default_factory=dict)
    headline: dict[str, Any] | None = None
    tolerance: float = 0.05


def department_names(rich: pl.DataFrame) -> dict[str, str]:
    """Department code → name, from the department rows of a KPI frame."""
    rows = (
        rich.filter((pl.col("group_by") == "department") & pl.col("group_name").is_not_null())
        .select("group", "group_name")
        .unique(subset="group", keep="first")
    )
    return dict(rows.iter_rows())


def read_glance(staging: Path, k: int, fiscal_year: int, tolerance: float) -> Glance | None:
    """The glance of a run from its staging folder (before its cache is removed); None when
    the run computed no KPI frame."""
    cache = kpi_cache_path(staging, k)
    if not cache.exists():
        return None
    rich = pl.read_parquet(cache)
    cells = rich.filter((pl.col("group_by") == "city") & (pl.col("fiscal_year") == fiscal_year))
    headline_path = staging / CACHE_DIR / HEADLINE_FILE
    headline = (
        json.loads(headline_path.read_text(encoding="utf-8")) if headline_path.exists() else None
    )
    return Glance(fiscal_year, cells, department_names(rich), headline, tolerance)


def grade_counts(cells: pl.DataFrame) -> dict[str, int]:
    """How many cells have each grade (every grade of :data:`GRADE_ORDER`, 0 when none)."""
    counts = dict(cells.group_by("grade").len().iter_rows()) if cells.height else {}
    return {g: int(counts.get(g, 0)) for g in GRADE_ORDER}


def _value(row: dict[str, Any], lang: str, key: str = "value") -> str:
    if row["suppressed"] and key == "value":
        return SUPPRESSED_MARK
    text = format_value(row[key], row["unit"], lang=lang, variant="text")
    return text or "—"


def _name(row: dict[str, Any], lang: str) -> str:
    return kpi_name(row["kpi"], lang) if row["kpi"] in REGISTRY else str(row["kpi"])


def _grade(row: dict[str, Any], lang: str) -> str:
    spec = REGISTRY.get(row["kpi"])
    return grade_text(row["grade"], lang, spec.higher_is_better if spec is not None else None)


def attention_items(
    cells: pl.DataFrame, notebooks: list[dict[str, Any]], lang: str = "ja"
) -> list[str]:
    """What needs attention, as plain sentences: C grades (value against target), D grades
    (with the reason), provisional figures (with their as-of date and window), and reports
    that failed or were skipped for missing data."""
    items: list[str] = []
    for order in ("C", "D", "P") if cells.height else ():
        for row in cells.filter(pl.col("grade") == order).iter_rows(named=True):
            name = _name(row, lang)
            if order == "C":
                target = _value(row, lang, "target")
                items.append(
                    t(
                        lang,
                        f"{name}: {_value(row, lang)}（目標 {target}）— {_grade(row, lang)}",
                        f"{name}: {_value(row, lang)} (target {target}) — {_grade(row, lang)}",
                    )
                )
            elif order == "D":
                why = label("reason", row["reason"], lang) if row.get("reason") else ""
                items.append(f"{name}: {_grade(row, lang)}" + (f" — {why}" if why else ""))
            else:
                mark = format_provisional(row["as_of"], row.get("maturity_days"), lang)
                items.append(f"{name}: {_value(row, lang)} — {mark}")
    for nb in notebooks:
        if nb["status"] == "failed":
            err = nb.get("error") or {}
            items.append(
                t(
                    lang,
                    f"レポート {nb['name']} が失敗しました（{err.get('ename', '')}）",
                    f"report {nb['name']} failed ({err.get('ename', '')})",
                )
            )
    return items


def headline_text(headline: dict[str, Any] | None, lang: str = "ja") -> list[str]:
    """The headline behaviour effect in words: extra proposals per 100 staff per year with its
    95% interval, and the change against no training; an interval that includes 0 says no clear
    effect was found."""
    if headline is None:
        return [
            t(
                lang,
                "行動変容の推定はこの実行にありません（行動変容の効果検証レポートを確かめてください）。",
                "No behaviour-change estimate in this run (see the behaviour-change report).",
            )
        ]
    per = headline.get("per_100_year")
    ci = headline.get("per_100_year_ci") or [math.nan, math.nan]
    if per is None:
        return [t(lang, "効果は推定できませんでした。", "The effect could not be estimated.")]
    lines = [
        t(
            lang,
            f"スキル習得研修を修了した職員の業務改善提案: 100人・年あたり "
            f"{fmt_number(per, *ci, sign=True)}件（95%信頼区間 {fmt_interval(ci[0], ci[1])}件）",
            f"Improvement proposals after a skills course: "
            f"{fmt_number(per, *ci, lang='en', sign=True)} per 100 staff per year "
            f"(95% interval {fmt_interval(ci[0], ci[1], lang='en')})",
        )
    ]
    pct = headline.get("percent_change")
    pct_ci = headline.get("percent_change_ci") or [math.nan, math.nan]
    if pct is not None:
        lines.append(
            t(
                lang,
                f"受講しなかった場合の見込みと比べて {fmt_number(pct, *pct_ci, sign=True)}%"
                f"（{fmt_interval(pct_ci[0], pct_ci[1])}%）",
                f"{fmt_number(pct, *pct_ci, lang='en', sign=True)}% against no training "
                f"({fmt_interval(pct_ci[0], pct_ci[1], lang='en')}%)",
            )
        )
    if not (ci[0] > 0 or ci[1] < 0):
        lines.append(
            t(
                lang,
                "区間が0を含むため、はっきりした効果は確認できません（効果がないという意味ではありません）。",
                "The interval includes zero: no clear effect was found (which is not evidence of "
                "no effect).",
            )
        )
    n = headline.get("n_treated")
    if n is not None:
        lines.append(t(lang, f"推定に使った受講者 {n:,}人", f"{n:,} trained staff in the estimate"))
    return lines


_CSS = """
.glance { display: grid; grid-template-columns: 1fr 1fr; gap: 1em 2em; margin: 1em 0 2em; }
.glance section { border-top: 3px solid #0072B2; padding-top: .3em; }
.glance h2 { font-size: 110%; margin: .2em 0 .5em; }
.tiles { display: grid; grid-template-columns: repeat(5, 1fr); gap: .4em; }
.tile { padding: .4em .3em; border-radius: 4px; text-align: center; border: 1px solid #999;
  line-height: 1.3; }
.tile span { display: block; }
.tile b { display: block; font-size: 170%; line-height: 1.1; }
.tile span { font-size: 75%; }
.legend, .note { color: #444; font-size: 85%; }
.glance table { width: 100%; }
.glance table td, .glance table th { padding: .25em .4em; }
.glance td:first-child { white-space: nowrap; }
.glance td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.glance ul { margin: .2em 0; padding-left: 1.2em; }
.headline { font-size: 105%; }
@media (max-width: 720px) { .glance { grid-template-columns: 1fr; } }
"""


def _tile(grade: str, count: int, lang: str) -> str:
    colour = GRADE_COLOURS[grade]
    ink = "#ffffff" if grade in ("A", "C") else "#1a1a1a"
    name = grade
    return (
        f'<div class="tile" style="background:{colour};color:{ink}">'
        f"<b>{count}</b>{page_text(name)} <span>{page_text(label('grade', grade, lang))}</span>"
        "</div>"
    )


def glance_html(glance: Glance | None, notebooks: list[dict[str, Any]], lang: str = "ja") -> str:
    """The index's overview: grade tiles with the band, headline effect, KGIs, what needs
    attention (an HTML fragment; every value as page text)."""
    if glance is None:
        items = attention_items(pl.DataFrame(), notebooks, lang) if notebooks else []
        return (
            '<div class="glance"><section><p>'
            + page_text(t(lang, "この実行には KPI がありません。", "No KPIs in this run."))
            + "</p></section></div>"
            + _list(items)
        )
    cells = glance.cells
    counts = grade_counts(cells)
    tiles = "".join(_tile(g, counts[g], lang) for g in GRADE_ORDER)
    n_cells = sum(counts.values())
    tiles_head = t(
        lang, f"評価の内訳（全庁の {n_cells} 指標）", f"Grades ({n_cells} city-wide indicators)"
    )
    kgi_rows = []
    for row in cells.filter(pl.col("kind") == "kgi").iter_rows(named=True):
        kgi_rows.append(
            f"<tr><td>{page_text(_name(row, lang))}</td>"
            f'<td class="num">{page_text(_value(row, lang))}</td>'
            f'<td class="num">{page_text(_value(row, lang, "target"))}</td>'
            f"<td>{page_text(_grade(row, lang))}</td></tr>"
        )
    kgi_head = "".join(
        f"<th>{page_text(h)}</th>"
        for h in (
            ("指標", "実績", "目標", "評価")
            if lang == "ja"
            else ("KGI", "actual", "target", "grade")
        )
    )
    kgis = (
        f"<table><tr>{kgi_head}</tr>{''.join(kgi_rows)}</table>"
        if kgi_rows
        else f"<p>{page_text(t(lang, 'KGI はありません。', 'No KGIs.'))}</p>"
    )
    attention = attention_items(cells, notebooks, lang) or [
        t(lang, "注意が必要な項目はありません。", "Nothing needs attention.")
    ]
    headline = headline_text(glance.headline, lang)
    link = page_text(t(lang, "詳しくは行動変容の効果検証", "details: behaviour change"))
    if any(nb["name"] == "behaviour_change" and nb["status"] == "ok" for nb in notebooks):
        link = f'<a href="behaviour_change.html">{link}</a>'
    else:
        link = ""
    return (
        f"<style>{_CSS}</style>"
        '<div class="glance">'
        f"<section><h2>{page_text(tiles_head)}</h2>"
        f'<div class="tiles">{tiles}</div>'
        f'<p class="legend">{page_text(grade_legend(glance.tolerance, lang))}</p></section>'
        f"<section><h2>{page_text(t(lang, '研修の効果（行動変容）', 'Effect of training'))}</h2>"
        f'<p class="headline">{page_text(headline[0])}</p>'
        + _list(headline[1:])
        + (f'<p class="note">{link}</p>' if link else "")
        + "</section>"
        f"<section><h2>{page_text(t(lang, '効果 KGI', 'Outcome KGIs'))}</h2>{kgis}</section>"
        f"<section><h2>{page_text(t(lang, '注意が必要な項目', 'Needs attention'))}</h2>"
        + _list(attention)
        + "</section></div>"
    )


def _list(items: list[str]) -> str:
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{page_text(i)}</li>" for i in items) + "</ul>"
