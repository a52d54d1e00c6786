"""Chart-side words: KPI names, group labels, axis titles, years and titles.

Japanese by default, English with ``lang="en"``. Every word comes from the label vocabulary
(:mod:`dxkpi.catalogue.labels`: KPI names, code labels, units, grades, methods) and every value
from :func:`dxkpi.catalogue.format.format_value` (variant ``chart``); this module only composes
them for charts (a phase as ``1 意識改革``, a department by its name). Suppressed cells are
labelled :data:`SUPPRESSED_JA` / :data:`SUPPRESSED_EN`. The underscore helpers (``_code_label``,
``_title``…) are for the chart modules of this package only.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dxkpi.catalogue.format import format_scale
from dxkpi.catalogue.kpis import KpiSpec
from dxkpi.catalogue.labels import SUPPRESSED_MARK, Lang, group_part, label, t
from dxkpi.reports.charts._frames import _spec

__all__ = [
    "SUPPRESSED_EN",
    "SUPPRESSED_JA",
    "TARGET_MARK",
    "VALUE_COLUMN_GAP",
    "Lang",
    "group_label",
    "kpi_name",
]


SUPPRESSED_JA = f"{SUPPRESSED_MARK}（秘匿）"


SUPPRESSED_EN = f"{SUPPRESSED_MARK} (suppressed)"


def kpi_name(kpi_id: str, lang: Lang = "ja") -> str:
    """The KPI's name from the registry, in the chosen language."""
    return label("kpi", _spec(kpi_id).id, lang)


def _axis_title(spec: KpiSpec, lang: Lang) -> str:
    """A KPI's axis or legend title with its unit, and a score's scale:
    ``成熟度スコア（点、0〜5）``."""
    unit = label("unit", spec.unit, lang)
    if spec.scale is not None:
        unit = t(
            lang,
            f"{unit}、{format_scale(spec.scale, lang)}",
            f"{unit}, {format_scale(spec.scale, lang)}",
        )
    return t(lang, f"{spec.name_ja}（{unit}）", f"{spec.name_en} ({unit})")


def _suppressed_text(lang: Lang) -> str:
    return t(lang, SUPPRESSED_JA, SUPPRESSED_EN)


def _year_label(year: int, lang: Lang) -> str:
    return t(lang, f"{year}年度", f"FY{year}")


def _grade_meaning(grade: str, lang: Lang) -> str:
    """A grade with its meaning, as a legend shows it: ``A 目標より良い`` / ``A better than
    target``."""
    return f"{grade} {label('grade', grade, lang)}"


def _code_label(family: str, code: str, lang: Lang) -> str:
    """The label of one part of a group on a chart: phases with their number (``1 意識改革``),
    the city, departments and divisions as :func:`dxkpi.catalogue.labels.group_part` has them."""
    if family == "phase":
        return f"{code} {label('phase', code, lang)}"
    return group_part(family, code, lang)


def group_label(group: str, group_name: str | None, lang: Lang = "ja", *, group_by: str) -> str:
    """Readable label of a KPI cell's group under ``group_by`` (``"department|skill_area"``,
    ``"010100|data"`` → ``"総務課 データ活用"``); each code is labelled in its own family."""
    families, parts = group_by.split("|"), group.split("|")
    first = group_name if group_name else _code_label(families[0], parts[0], lang)
    rest = (_code_label(f, p, lang) for f, p in zip(families[1:], parts[1:], strict=True))
    return " ".join([first, *rest])


def _labelled(frame: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    names = frame.get_column("group_name") if "group_name" in frame.columns else None
    labels = [
        group_label(g, names[i] if names is not None else None, lang, group_by=by)
        for i, (by, g) in enumerate(frame.select("group_by", "group").iter_rows())
    ]
    return frame.with_columns(pl.Series("label", labels, dtype=pl.String))


def _grouping_title(grouping: str, lang: Lang) -> str:
    return label("grouping", grouping, lang)


def _title(name: str, what: str, lang: Lang, subtitle: str | list[str] | None = None) -> alt.Title:
    text = t(lang, f"{name}　{what}", f"{name} {what}")
    return alt.Title(text=text, subtitle=subtitle or "")


#: Pixels between the plot's right edge and a column of value labels drawn beside it.
VALUE_COLUMN_GAP = 12


#: The column a target mark's rows carry for its legend entry (:func:`_target_colour`).
TARGET_MARK = "mark"


def _target_word(lang: Lang) -> str:
    return t(lang, "目標", "target")


def _target_colour(lang: Lang, dash: list[int] | None = None, *, legend: bool = True) -> alt.Color:
    """The colour of a target mark as a legend entry of its own (``目標`` / ``target``, from the
    :data:`TARGET_MARK` column its rows carry), its symbol a short vertical tick like the mark
    (dashed with ``dash``); layer charts using it resolve colour independently, so the grade or
    phase legend stays as it is. ``legend=False`` for a second layer of the same marks."""
    word = _target_word(lang)
    entry = alt.Legend(
        title=None,
        symbolType="M0,-1V1",  # a vertical tick, drawn with the stroke
        symbolStrokeColor="#000000",
        symbolStrokeWidth=3,
        symbolDash=dash or alt.Undefined,
        symbolSize=180,
        orient="top",
    )
    return alt.Color(
        f"{TARGET_MARK}:N",
        scale=alt.Scale(domain=[word], range=["#000000"]),
        legend=entry if legend else None,
    )
