"""The year-end PDCA review: pure functions over frames behind ``pdca_review.ipynb``.

Check: :func:`summary_table` (every KPI and KGI of the year against target with its grade, the
change from last year and a one-line reading). Do/Check: :func:`course_effects` and
:func:`course_review` (satisfaction beside behavioural change per course),
:func:`support_models`, :func:`success_cases`, :func:`stalled_proposals`, :func:`roi`
(Phillips-style, conservative). Act → Plan: :func:`proposed_targets` (the rule is documented on
:func:`propose_target`), :func:`departments_needing_support`, :func:`targets_toml`, and the review
log (:func:`load_review_log`, :func:`save_review_log`, :func:`review_followup`) that carries the
meeting's decisions into next year's report. :func:`with_targets_table` rewrites ``dxkpi.toml``
text for ``dxkpi pdca --adopt``.

Every person-level group shown is suppressed below k (the KPI engine's rule); department- and
project-level figures describe units and are not. Only the review-log functions read or write
files.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.core.errors import DxkpiError, Where
from dxkpi.ingest.processed import Processed

__all__ = [
    "ACTION_STATUSES",
    "PdcaError",
    "ReviewAction",
    "ReviewLog",
    "RoiAssumptions",
    "RoiResult",
    "course_effects",
    "course_review",
    "data_through",
    "departments_needing_support",
    "load_review_log",
    "propose_target",
    "proposed_targets",
    "review_followup",
    "review_log_path",
    "roi",
    "roi_assumptions",
    "save_review_log",
    "stalled_proposals",
    "success_cases",
    "summary_table",
    "support_models",
    "targets_toml",
    "with_targets_table",
]

REVIEWS_DIR = Path("reviews")
ACTION_STATUSES: tuple[str, ...] = ("planned", "in_progress", "done", "dropped")
STATUS_TEXT = {
    "ja": {"planned": "未着手", "in_progress": "実施中", "done": "完了", "dropped": "中止"},
    "en": {
        "planned": "planned",
        "in_progress": "in progress",
        "done": "done",
        "dropped": "dropped",
    },
}
#: Units whose values are bounded: (low, high).
UNIT_BOUNDS: dict[str, tuple[float, float]] = {
    "ratio": (0.0, 1.0),
    "score": (0.0, 5.0),
    "score_diff": (0.0, math.inf),
    "per_100": (0.0, math.inf),
    "hours": (0.0, math.inf),
}
#: Largest yearly step a proposed target may ask for: absolute for ratios (10 points), relative
#: (share of last year's value) for the other units.
MAX_STEP_RATIO = 0.10
MAX_STEP_RELATIVE = 0.20
SECOND_DIMENSION_GROUPINGS = ("phase", "dimension", "skill_area", "mobility")


class PdcaError(DxkpiError):
    """The PDCA review cannot be built as asked (review log, ROI settings, targets file)."""


def _t(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def fy_end(fiscal_year: int) -> dt.date:
    """The last day of a fiscal year (31 March of the next calendar year)."""
    return dt.date(fiscal_year + 1, 3, 31)


def data_through(data: Processed, fiscal_year: int) -> Processed:
    """The data as the DX office had it at the end of ``fiscal_year``: later staff lists,
    sessions, proposals, projects and surveys are left out (statuses are as in the data)."""
    end = fy_end(fiscal_year)
    fy = pl.col("fiscal_year") <= fiscal_year
    keep: dict[str, pl.Expr] = {
        "staff": fy,
        "resident_survey": fy,
        "maturity_survey": fy,
        "skill_assessment": fy,
        "attendance": pl.col("session_date") <= end,
        "proposals": pl.col("submitted_on") <= end,
        "projects": pl.col("started_on") <= end,
        "knowledge_posts": pl.col("posted_on") <= end,
    }
    frames = {
        name: getattr(data, name).filter(expr)
        for name, expr in keep.items()
        if getattr(data, name) is not None
    }
    import dataclasses

    return dataclasses.replace(data, **frames)


# ------------------------------------------------------------------ summary (Check)


def _unit_text(value: float | None, unit: str, lang: str, *, sign: bool = False) -> str:
    """A value with its unit: ratios in % (changes in points), per 100 staff, hours, points."""
    if value is None:
        return ""
    s = "+" if sign else ""
    if unit == "ratio":
        return (
            (f"{value * 100:{s}.1f}ポイント" if lang == "ja" else f"{value * 100:{s}.1f} pt")
            if sign
            else f"{value * 100:.1f}%"
        )
    if unit == "per_100":
        return f"{value:{s},.1f}" + ("件/100人" if lang == "ja" else " per 100")
    if unit == "hours":
        return f"{value:{s},.0f}" + ("時間" if lang == "ja" else " h")
    return f"{value:{s}.2f}" + ("点" if lang == "ja" else " pts")


def value_with_unit(value: float | None, unit: str, lang: str = "ja") -> str:
    """A KPI value as printed in the PDCA review, with its unit (% / 件/100人 / 時間 / 点)."""
    return _unit_text(value, unit, lang)


def change_with_unit(change: float | None, unit: str, lang: str = "ja") -> str:
    """A change from last year with sign and unit (ratios in percentage points)."""
    return _unit_text(change, unit, lang, sign=True)


def reading_sentence(
    name: str,
    value: float | None,
    target: float | None,
    grade: str,
    change: float | None,
    unit: str,
    higher_is_better: bool,
    lang: str = "ja",
) -> str:
    """One short plain sentence reading a KPI: against its target, then the direction of change
    from last year (the figures themselves are in the neighbouring columns)."""
    if value is None:
        return _t(lang, "今年度の値がなく評価できません。", "No value this year: cannot assess.")
    if target is None:
        vs = _t(lang, "目標は未設定で", "No target set")
    else:
        vs = {
            "A": _t(lang, "目標を上回り", "Ahead of target"),
            "B": _t(lang, "ほぼ目標どおりで", "On target"),
            "C": _t(lang, "目標に届かず", "Behind target"),
        }.get(grade, "")
    if change is None:
        trend = _t(lang, "前年度の値はありません", "no previous year to compare")
    elif abs(change) < 1e-9:
        trend = _t(lang, "前年度から横ばいでした", "unchanged from last year")
    elif (change > 0) == higher_is_better:
        trend = _t(lang, "前年度より改善しました", "better than last year")
    else:
        trend = _t(lang, "前年度より悪化しました", "worse than last year")
    return _t(lang, f"{vs}、{trend}。", f"{vs}; {trend}.")


def _city_cells(rich: pl.DataFrame) -> pl.DataFrame:
    """City-wide cells: the city row, or per second-dimension value (phase, dimension…)."""
    return rich.filter(pl.col("group_by").is_in(["city", *SECOND_DIMENSION_GROUPINGS]))


def summary_table(rich: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """Every city-wide KPI/KGI cell of the year with last year's value and the change.

    Columns: kind (kpi 進捗 / kgi 効果), kpi, group_by, group, name_ja, name_en, unit,
    higher_is_better, value, target, grade, suppressed, previous, change (value − previous,
    in the KPI's unit; empty without a comparable previous value). Suppressed cells keep no
    value, previous or change.
    """
    cells = _city_cells(rich)
    now = cells.filter(pl.col("fiscal_year") == fiscal_year)
    before = cells.filter(pl.col("fiscal_year") == fiscal_year - 1).select(
        "kpi",
        "group_by",
        "group",
        pl.when(~pl.col("suppressed")).then(pl.col("value")).alias("previous"),
    )
    hib = pl.DataFrame(
        {"kpi": list(REGISTRY), "higher_is_better": [s.higher_is_better for s in REGISTRY.values()]}
    )
    order = pl.DataFrame({"kpi": list(REGISTRY), "_order": list(range(len(REGISTRY)))})
    out = (
        now.join(before, on=["kpi", "group_by", "group"], how="left")
        .join(hib, on="kpi", how="left")
        .join(order, on="kpi", how="left")
        .with_columns(
            value=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")),
            previous=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("previous")),
        )
        .with_columns(change=pl.col("value") - pl.col("previous"))
        .sort("kind", "_order", "group", descending=[True, False, False])
    )
    return out.select(
        "kind",
        "kpi",
        "group_by",
        "group",
        "name_ja",
        "name_en",
        "unit",
        "higher_is_better",
        "value",
        "target",
        "grade",
        "suppressed",
        "previous",
        "change",
    )


def _range_text(values: list[float | None], unit: str, lang: str, *, sign: bool = False) -> str:
    shown = [v for v in values if v is not None]
    if not shown:
        return "—"
    lo, hi = min(shown), max(shown)
    if abs(hi - lo) < 1e-12:
        return _unit_text(lo, unit, lang, sign=sign)
    low, high = _unit_text(lo, unit, lang, sign=sign), _unit_text(hi, unit, lang, sign=sign)
    zero = _unit_text(0.0, unit, lang, sign=sign)
    suffix = zero.lstrip("+-0.").strip() if zero else ""
    if suffix and low.endswith(suffix):
        low = low[: -len(suffix)].rstrip()
    return f"{low}〜{high}"


def _compressed_row(part: pl.DataFrame, lang: str) -> dict[str, str]:
    """One summary row for a KPI shown per phase / dimension: ranges, grade counts, reading."""
    from dxkpi.catalogue.kpis import GROUPING_JA
    from dxkpi.reports.views import SUPPRESSED_MARK

    first = part.row(0, named=True)
    unit, hib = first["unit"], first["higher_is_better"]
    grouping = first["group_by"]
    label = GROUPING_JA.get(grouping, grouping) if lang == "ja" else grouping
    name = first["name_ja"] if lang == "ja" else first["name_en"]
    shown = part.filter(~pl.col("suppressed"))
    grades = "・".join(f"{g}{n}" for g, n in sorted(shown.group_by("grade").len().iter_rows()) if g)
    changes = [c for c in shown["change"].to_list() if c is not None]
    better = sum((c > 0) == hib for c in changes if abs(c) > 1e-9)
    worse = sum((c > 0) != hib for c in changes if abs(c) > 1e-9)
    n = part.height
    met = int(shown["grade"].is_in(["A", "B"]).sum())
    reading = _t(lang, f"{n}区分中 目標達成 {met}", f"{met} of {n} on or ahead of target")
    reading += (
        _t(
            lang,
            f"、前年度より改善 {better}・悪化 {worse}。",
            f"; {better} better, {worse} worse than last year.",
        )
        if changes
        else _t(lang, "、前年度の値はありません。", "; no previous year.")
    )
    return {
        "name": f"{name}（{label}別 {n}区分）" if lang == "ja" else f"{name} ({n} {label}s)",
        "target": _range_text(part["target"].to_list(), unit, lang),
        "value": _range_text(shown["value"].to_list(), unit, lang)
        if shown.height
        else SUPPRESSED_MARK,
        "grade": grades or "D",
        "change": _range_text(changes, unit, lang, sign=True),
        "reading": reading,
    }


def summary_display(summary: pl.DataFrame, kind: str, lang: str = "ja") -> pl.DataFrame:
    """The summary rows of one kind (``kpi`` 進捗 or ``kgi`` 効果) as display text.

    A KPI with a city-wide value gets one row; a KPI shown per phase, maturity dimension or
    mobility gets one row with the range of its values and the count of each grade.
    """
    from dxkpi.reports.views import SUPPRESSED_MARK

    rows = []
    part_of_kind = summary.filter(pl.col("kind") == kind)
    for kpi in part_of_kind["kpi"].unique(maintain_order=True).to_list():
        part = part_of_kind.filter(pl.col("kpi") == kpi)
        if part.height > 1 or part["group_by"][0] != "city":
            rows.append(_compressed_row(part, lang))
            continue
        r = part.row(0, named=True)
        name = r["name_ja"] if lang == "ja" else r["name_en"]
        hidden = bool(r["suppressed"])
        rows.append(
            {
                "name": name,
                "target": value_with_unit(r["target"], r["unit"], lang) or "—",
                "value": SUPPRESSED_MARK
                if hidden
                else value_with_unit(r["value"], r["unit"], lang),
                "grade": r["grade"] or "",
                "change": SUPPRESSED_MARK
                if hidden
                else (change_with_unit(r["change"], r["unit"], lang) or "—"),
                "reading": SUPPRESSED_MARK
                if hidden
                else reading_sentence(
                    name,
                    r["value"],
                    r["target"],
                    r["grade"],
                    r["change"],
                    r["unit"],
                    r["higher_is_better"],
                    lang,
                ),
            }
        )
    keys = ("name", "target", "value", "grade", "change", "reading")
    names = (
        ("指標", "目標", "実績", "評価", "前年度比", "読み方")
        if lang == "ja"
        else ("indicator", "target", "actual", "grade", "change", "reading")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


# ------------------------------------------------------------------ next year's targets


def _round_for(unit: str, value: float) -> float:
    digits = {"ratio": 3, "per_100": 1, "hours": -2, "score": 2, "score_diff": 2}.get(unit, 3)
    return float(round(value, digits))


def propose_target(
    history: Sequence[tuple[int, float]],
    last_target: float | None,
    unit: str,
    higher_is_better: bool,
) -> float | None:
    """Next year's proposed target for one KPI, in the KPI's unit (``None`` without data).

    The rule, in the KPI's good direction (up when higher is better, down otherwise):

    1. start from the latest year's actual value ``v``;
    2. *trend*: the mean yearly change over up to the last three years (two or more values);
       only an improving trend counts (a worsening one gives 0: the target never asks for less
       than this year's value);
    3. *gap*: when ``v`` missed its target, ask for at least half of the remaining gap;
    4. step = max(trend, gap ÷ 2), capped so it stays achievable: at most 10 points for ratios,
       at most 20% of ``v`` for other units;
    5. target = v ± step, clipped to the unit's bounds (ratios 0–1, scores 0–5, counts, hours
       and gaps ≥ 0) and rounded (0.1% for ratios, 0.1 per 100, 100 hours, 0.01 points).
    """
    points = sorted((y, v) for y, v in history if v is not None and math.isfinite(v))
    if not points:
        return None
    sign = 1.0 if higher_is_better else -1.0
    value = points[-1][1]
    recent = points[-3:]
    trend = 0.0
    if len(recent) >= 2:
        trend = sign * (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])
    gap = 0.0 if last_target is None else sign * (last_target - value)
    step = max(trend, gap / 2, 0.0)
    cap = MAX_STEP_RATIO if unit == "ratio" else MAX_STEP_RELATIVE * abs(value)
    step = min(step, cap)
    low, high = UNIT_BOUNDS.get(unit, (-math.inf, math.inf))
    return _round_for(unit, min(max(value + sign * step, low), high))


def proposed_targets(rich: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """Proposed targets for ``fiscal_year + 1``, one per city-wide KPI cell (see
    :func:`propose_target`).

    Columns: kpi, grouping (None for the city-wide key, else phase / dimension …), group, unit,
    value (this year's actual), target (this year's), proposed, basis (years used). Suppressed
    or empty cells are not used; a KPI without any value this year gets no proposal.
    """
    cells = _city_cells(rich).filter(
        pl.col("fiscal_year") <= fiscal_year, ~pl.col("suppressed"), pl.col("value").is_not_null()
    )
    rows = []
    latest = cells.filter(pl.col("fiscal_year") == fiscal_year)
    for r in latest.sort("kpi", "group_by", "group").iter_rows(named=True):
        spec = REGISTRY.get(r["kpi"])
        if spec is None:
            continue
        hist = cells.filter(
            pl.col("kpi") == r["kpi"],
            pl.col("group_by") == r["group_by"],
            pl.col("group") == r["group"],
        ).sort("fiscal_year")
        history = list(zip(hist["fiscal_year"].to_list(), hist["value"].to_list(), strict=True))
        proposed = propose_target(history, r["target"], spec.unit, spec.higher_is_better)
        city = r["group_by"] == "city"
        rows.append(
            {
                "kpi": r["kpi"],
                "grouping": None if city else r["group_by"],
                "group": None if city else r["group"],
                "unit": spec.unit,
                "value": r["value"],
                "target": r["target"],
                "proposed": proposed,
                "basis": ",".join(str(y) for y, _ in history[-3:]),
            }
        )
    schema = {
        "kpi": pl.String,
        "grouping": pl.String,
        "group": pl.String,
        "unit": pl.String,
        "value": pl.Float64,
        "target": pl.Float64,
        "proposed": pl.Float64,
        "basis": pl.String,
    }
    order = {k: i for i, k in enumerate(REGISTRY)}
    rows.sort(key=lambda x: (order.get(x["kpi"], 99), x["grouping"] or "", x["group"] or ""))
    return pl.DataFrame(rows, schema=schema)


def proposed_display(proposals: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Proposed targets for display: indicator, this year's actual and target, proposal."""
    from dxkpi.reports.views import group_text

    rows = []
    for r in proposals.iter_rows(named=True):
        spec = REGISTRY[r["kpi"]]
        name = spec.name_ja if lang == "ja" else spec.name_en
        if r["grouping"]:
            name = f"{name}（{group_text(r['grouping'], r['group'], None, lang)}）"
        rows.append(
            {
                "name": name,
                "value": value_with_unit(r["value"], r["unit"], lang),
                "target": value_with_unit(r["target"], r["unit"], lang) or "—",
                "proposed": value_with_unit(r["proposed"], r["unit"], lang),
            }
        )
    keys = ("name", "value", "target", "proposed")
    names = (
        ("指標", "今年度実績", "今年度目標", "来年度目標（案）")
        if lang == "ja"
        else ("indicator", "actual", "target", "proposed next year")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


def _toml_value(unit: str, value: float) -> str:
    return f"{value:.0f}.0" if unit == "hours" else repr(float(value))


def targets_toml(proposals: pl.DataFrame, next_year: int, *, source: str = "") -> str:
    """The proposals as TOML in dxkpi.toml's ``[targets.<year>]`` shape (editable, adoptable)."""
    lines = [
        f"# 来年度目標（案）/ proposed targets for FY{next_year}: edit, then adopt with",
        f"#   dxkpi pdca --fy {next_year - 1} --adopt",
        "# 規則 / rule: dxkpi.pdca.review.propose_target (trend and last year's gap, capped).",
        *([f"# {source}"] if source else []),
        "",
        f"[targets.{next_year}]",
    ]
    rows = proposals.filter(pl.col("proposed").is_not_null())
    for r in rows.filter(pl.col("grouping").is_null()).iter_rows(named=True):
        lines.append(f"{r['kpi']} = {_toml_value(r['unit'], r['proposed'])}")
    sub = rows.filter(pl.col("grouping").is_not_null())
    for (grouping, group), part in sub.group_by(["grouping", "group"], maintain_order=True):
        lines += ["", f"[targets.{next_year}.{grouping}.{group}]"]
        lines += [
            f"{r['kpi']} = {_toml_value(r['unit'], r['proposed'])}"
            for r in part.iter_rows(named=True)
        ]
    return "\n".join(lines) + "\n"


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def with_targets_table(
    config_text: str, targets_text: str, next_year: int, *, force: bool = False
) -> str:
    """``dxkpi.toml`` text with ``[targets.<next_year>]`` (and its sub-tables) from the proposal
    file appended; every other line is kept. An existing table for that year is an error unless
    ``force``, which replaces it. The result is validated as a configuration."""
    from dxkpi.project.config import parse_config

    proposal = tomllib.loads(targets_text)
    year_key = str(next_year)
    if year_key not in proposal.get("targets", {}):
        raise PdcaError(
            f"提案ファイルに [targets.{next_year}] がありません",
            f"the proposal has no [targets.{next_year}] table",
        )
    parse_config({"targets": {year_key: proposal["targets"][year_key]}}, "<proposal>")
    existing = tomllib.loads(config_text).get("targets", {})
    if year_key in existing and not force:
        raise PdcaError(
            f"dxkpi.toml には既に [targets.{next_year}] があります",
            f"dxkpi.toml already has [targets.{next_year}]",
            hint_ja="置き換えるなら --force を付けてください。",
            hint_en="use --force to replace it.",
        )
    kept: list[str] = []
    skipping = False
    marker = f"# FY{next_year}: adopted from the PDCA review (dxkpi pdca --adopt)"
    for line in config_text.splitlines():
        if line.strip() == marker:
            continue
        m = _HEADER.match(line)
        if m:
            name = m.group(1).replace(" ", "")
            skipping = name == f"targets.{year_key}" or name.startswith(f"targets.{year_key}.")
        if not skipping:
            kept.append(line)
    body = "\n".join(kept).rstrip("\n")
    lines = targets_text.splitlines()
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), 0)
    block = "\n".join(lines[start:])  # the tables, without the proposal's own header comments
    text = f"{body}\n\n{marker}\n{block.strip()}\n"
    parse_config(tomllib.loads(text), "<dxkpi.toml>")
    return text


# ------------------------------------------------------------------ departments needing support


def departments_needing_support(rich: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """Departments below the city value on both participation rate and proposals per 100 staff.

    Columns: department, group_name, participation_rate, proposals_per_100, city
    participation, city proposals (ratios 0–1; proposals per 100 staff). Suppressed
    departments are never listed (their values are not shown anywhere).
    """
    year = rich.filter(pl.col("fiscal_year") == fiscal_year)
    city = {
        r["kpi"]: r["value"]
        for r in year.filter(pl.col("group_by") == "city").iter_rows(named=True)
    }
    dept = year.filter(
        pl.col("group_by") == "department",
        ~pl.col("suppressed"),
        pl.col("kpi").is_in(["participation_rate", "proposals_per_100"]),
    )
    wide = dept.pivot(on="kpi", index=["group", "group_name"], values="value")
    schema = {
        "department": pl.String,
        "group_name": pl.String,
        "participation_rate": pl.Float64,
        "proposals_per_100": pl.Float64,
        "city_participation": pl.Float64,
        "city_proposals": pl.Float64,
    }
    needed = {"participation_rate", "proposals_per_100"}
    if not wide.height or not needed <= set(wide.columns) or not needed <= set(city):
        return pl.DataFrame(schema=schema)
    return (
        wide.filter(
            pl.col("participation_rate") < city["participation_rate"],
            pl.col("proposals_per_100") < city["proposals_per_100"],
        )
        .select(
            pl.col("group").alias("department"),
            "group_name",
            "participation_rate",
            "proposals_per_100",
            pl.lit(city["participation_rate"]).alias("city_participation"),
            pl.lit(city["proposals_per_100"]).alias("city_proposals"),
        )
        .sort("proposals_per_100")
    )


# ------------------------------------------------------------------ programme review


def course_effects(
    data: Processed,
    *,
    min_treated: int = 30,
    min_units: int = 10,
    courses: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Per course: the staggered-DiD effect of first completing it on proposals, per 100 staff
    per year, with its 95% interval (treatment = first completed session of that course;
    comparison = staff who have not (yet) completed it; quarterly panel).

    Columns: course_id, n_treated, per_100_year, ci_low, ci_high, reason (why no estimate:
    ``too_few`` below ``min_treated`` completers, ``not_estimable`` when the estimator fails).
    """
    from dxkpi.models.behaviour import BehaviourError, estimate_panel, period_index, proposal_panel

    schema = {
        "course_id": pl.String,
        "n_treated": pl.Int64,
        "per_100_year": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "reason": pl.String,
    }
    base = proposal_panel(data, period="quarter", treatment="any").drop("first_treated")
    first_fy = int(base["fiscal_year"].min())  # type: ignore[arg-type]
    last = int(base["period"].max())  # type: ignore[arg-type]
    firsts = (
        data.require("attendance")
        .filter(pl.col("status") == "completed")
        .group_by("course_id", "employee_id")
        .agg(pl.col("session_date").min())
        .with_columns(
            period_index(pl.col("session_date"), first_fy, "quarter")
            .cast(pl.Int64)
            .alias("first_treated")
        )
        .collect()
    )
    ids = courses if courses is not None else sorted(firsts["course_id"].unique().to_list())
    rows = []
    for cid in ids:
        treated = firsts.filter(pl.col("course_id") == cid).select(
            pl.col("employee_id").alias("unit"),
            pl.when(pl.col("first_treated") > last)
            .then(0)
            .otherwise(pl.max_horizontal(pl.col("first_treated"), pl.lit(1)))
            .alias("first_treated"),
        )
        panel = base.join(treated, on="unit", how="left").with_columns(
            pl.col("first_treated").fill_null(0)
        )
        n = int(panel.filter(pl.col("first_treated") > 1)["unit"].n_unique())
        row: dict[str, Any] = {
            "course_id": cid,
            "n_treated": n,
            "per_100_year": None,
            "ci_low": None,
            "ci_high": None,
            "reason": None,
        }
        if n < min_treated:
            row["reason"] = "too_few"
        else:
            try:
                res = estimate_panel(panel, period="quarter", treatment="any", min_units=min_units)
                ci = res.per_100_year_ci
                row |= {
                    "per_100_year": res.per_100_year,
                    "n_treated": res.n_treated,
                    "ci_low": ci[0] if ci else None,
                    "ci_high": ci[1] if ci else None,
                }
            except BehaviourError:
                row["reason"] = "not_estimable"
        rows.append(row)
    return pl.DataFrame(rows, schema=schema)


def course_review(
    data: Processed, fiscal_year: int, effects: pl.DataFrame, k: int, *, liked: float | None = None
) -> pl.DataFrame:
    """Per course run in the year: attendees, completion rate, mean satisfaction (1–5) beside the
    course's behavioural effect (per 100 staff per year), and flags.

    ``flag``: ``liked_no_change`` — mean satisfaction ≥ ``liked`` (default: the median of the
    year's shown courses, i.e. the better-liked half) but the effect's interval includes 0 or is
    below it (satisfaction is not behaviour); ``no_estimate`` — no effect
    estimated; else None. Courses with fewer than ``k`` distinct attendees in the year have
    ``suppressed`` true and no figures.
    """
    start, end = dt.date(fiscal_year, 4, 1), fy_end(fiscal_year)
    att = data.require("attendance").filter(pl.col("session_date").is_between(start, end))
    per = att.group_by("course_id").agg(
        pl.col("employee_id").n_unique().alias("attendees"),
        (pl.col("status") == "completed").mean().alias("completion_rate"),
        pl.col("satisfaction").mean().alias("satisfaction"),
        pl.col("satisfaction").count().alias("satisfaction_n"),
    )
    courses = data.require("courses").select(
        "course_id", "course_name", pl.col("phase").cast(pl.Int64)
    )
    frame = (
        courses.join(per, on="course_id", how="inner")
        .collect()
        .join(effects, on="course_id", how="left")
    )
    hidden = pl.col("attendees") < k
    if liked is None:
        liked = frame.filter(pl.col("attendees") >= k)["satisfaction"].median()  # type: ignore[assignment]
    liked = 5.0 if liked is None else float(liked)
    no_change = pl.col("ci_low").is_null() | (pl.col("ci_low") <= 0)
    frame = frame.with_columns(
        suppressed=hidden,
        flag=pl.when(hidden)
        .then(None)
        .when(pl.col("per_100_year").is_null())
        .then(pl.lit("no_estimate"))
        .when((pl.col("satisfaction") >= liked) & no_change)
        .then(pl.lit("liked_no_change")),
    )
    figures = [
        "attendees",
        "completion_rate",
        "satisfaction",
        "satisfaction_n",
        "per_100_year",
        "ci_low",
        "ci_high",
        "n_treated",
    ]
    return frame.with_columns(
        [pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in figures]
    ).sort("phase", "course_id")


def course_display(review: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """The course review as display text (― for suppressed courses; reasons in words)."""
    from dxkpi.reports.views import SUPPRESSED_MARK

    flags = {
        "liked_no_change": _t(lang, "満足度は高いが行動変容なし", "liked, no behaviour change"),
        "no_estimate": _t(
            lang, "効果は推定せず（修了者が少ない等）", "no estimate (too few completers)"
        ),
    }
    rows = []
    for r in review.iter_rows(named=True):
        if r["suppressed"]:
            cells = [SUPPRESSED_MARK] * 4 + [_t(lang, "受講者が少ないため秘匿", "suppressed")]
        else:
            eff = (
                ""
                if r["per_100_year"] is None
                else (
                    f"{r['per_100_year']:+.1f}（{r['ci_low']:+.1f}〜{r['ci_high']:+.1f}）"
                    + _t(lang, f" n={r['n_treated']:,}", f" n={r['n_treated']:,}")
                )
            )
            sat = "" if r["satisfaction"] is None else f"{r['satisfaction']:.2f}"
            cells = [
                f"{r['attendees']:,}" + _t(lang, "人", ""),
                f"{r['completion_rate']:.0%}",
                sat,
                eff,
                flags.get(r["flag"], ""),
            ]
        rows.append([f"{r['course_name']}（{r['course_id']}）", str(r["phase"]), *cells])
    keys = (
        (
            "研修",
            "フェーズ",
            "受講者",
            "修了率",
            "満足度(1〜5)",
            "効果 件/100人・年（95%区間）",
            "所見",
        )
        if lang == "ja"
        else (
            "course",
            "phase",
            "attendees",
            "completion",
            "satisfaction (1–5)",
            "effect per 100 staff-years (95% CI)",
            "finding",
        )
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def support_models(data: Processed, fiscal_year: int) -> pl.DataFrame:
    """Projects started per fiscal year (≤ ``fiscal_year``) by support model: outsourced 外部委託,
    co_creation 伴走, in_house 内製, with the in-house share (0–1). Projects are units."""
    models = ["outsourced", "co_creation", "in_house"]
    proj = (
        data.require("projects")
        .with_columns(
            fy=pl.when(pl.col("started_on").dt.month() >= 4)
            .then(pl.col("started_on").dt.year())
            .otherwise(pl.col("started_on").dt.year() - 1)
            .cast(pl.Int32)
        )
        .filter(pl.col("fy") <= fiscal_year)
        .collect()
    )
    if not proj.height:
        return pl.DataFrame(
            schema={
                "fiscal_year": pl.Int32,
                **{m: pl.UInt32 for m in models},
                "in_house_share": pl.Float64,
            }
        )
    wide = proj.pivot(
        on="support_model", index="fy", values="project_id", aggregate_function="len"
    ).rename({"fy": "fiscal_year"})
    for m in models:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.UInt32).alias(m))
    wide = wide.select("fiscal_year", *[pl.col(m).fill_null(0) for m in models])
    total = pl.sum_horizontal(models)
    return wide.with_columns(in_house_share=pl.col("in_house") / total).sort("fiscal_year")


# ------------------------------------------------------------------ success cases (Brinkerhoff)


def _fy_of(col: str) -> pl.Expr:
    d = pl.col(col)
    return pl.when(d.dt.month() >= 4).then(d.dt.year()).otherwise(d.dt.year() - 1)


def success_cases(
    data: Processed, fiscal_year: int, k: int, *, top: int = 5
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The year's success cases, largest hours saved first (hours per year).

    Returns (proposals, projects). Proposals implemented in the year are aggregated by
    department × category: implemented, proposers, hours_saved, examples (up to three titles) —
    only groups with ≥ k distinct proposers are listed (titles are free text and never shown for
    a small group or a person). Projects completed in the year are units: department_name,
    project_name, support_model, hours_saved (top ``top``).
    """
    depts = data.departments.select("department_code", "department_name")
    props = (
        data.require("proposals")
        .filter(pl.col("status") == "implemented", _fy_of("implemented_on") == fiscal_year)
        .join(depts, on="department_code", how="left")
        .with_columns(pl.col("category").fill_null("（未分類）"))
        .group_by("department_name", "category")
        .agg(
            pl.len().alias("implemented"),
            pl.col("employee_id").n_unique().alias("proposers"),
            pl.col("hours_saved_per_year").fill_null(0).sum().alias("hours_saved"),
            pl.col("title")
            .sort_by(pl.col("hours_saved_per_year").fill_null(0), descending=True)
            .unique(maintain_order=True)
            .head(3)
            .str.join("、")
            .alias("examples"),
        )
        .filter(pl.col("proposers") >= k)
        .sort("hours_saved", descending=True)
        .head(top)
        .collect()
    )
    projects = (
        data.require("projects")
        .filter(pl.col("status") == "completed", _fy_of("ended_on") == fiscal_year)
        .join(depts, on="department_code", how="left")
        .select(
            "department_name",
            "project_name",
            "support_model",
            pl.col("hours_saved_per_year").fill_null(0).alias("hours_saved"),
        )
        .sort("hours_saved", descending=True)
        .head(top)
        .collect()
    )
    return props, projects


def stalled_proposals(data: Processed, fiscal_year: int, k: int, *, top: int = 5) -> pl.DataFrame:
    """Where trained staff's proposals went nowhere: per department × category, proposals
    submitted in the year by staff trained (attended or completed) before submitting, and the
    share rejected or still undecided at the year end (0–1). Groups with fewer than ``k``
    distinct proposers are left out; sorted by that share, largest first."""
    first = (
        data.require("attendance")
        .filter(pl.col("status").is_in(["completed", "attended"]))
        .group_by("employee_id")
        .agg(pl.col("session_date").min().alias("trained_on"))
    )
    depts = data.departments.select("department_code", "department_name")
    return (
        data.require("proposals")
        .filter(_fy_of("submitted_on") == fiscal_year)
        .join(first, on="employee_id", how="inner")
        .filter(pl.col("trained_on") < pl.col("submitted_on"))
        .join(depts, on="department_code", how="left")
        .with_columns(pl.col("category").fill_null("（未分類）"))
        .group_by("department_name", "category")
        .agg(
            pl.len().alias("proposals"),
            pl.col("employee_id").n_unique().alias("proposers"),
            (pl.col("status") == "rejected").sum().alias("rejected"),
            (pl.col("status") == "submitted").sum().alias("undecided"),
        )
        .filter(pl.col("proposers") >= k)
        .with_columns(
            nowhere_share=(pl.col("rejected") + pl.col("undecided")) / pl.col("proposals")
        )
        .sort("nowhere_share", descending=True)
        .head(top)
        .collect()
    )


# ------------------------------------------------------------------ ROI (Phillips)


@dataclass(frozen=True)
class RoiAssumptions:
    """ROI settings from ``[roi]`` (defaults in brackets, documented in :func:`roi_assumptions`)."""

    hourly_cost_yen: float = 4000.0
    attribution: float = 0.5
    confidence: float = 0.8
    training_budget_yen: Mapping[int, float] = field(default_factory=dict)
    include_project_costs: bool = True


def _roi_error(key: str, ja: str, en: str) -> PdcaError:
    return PdcaError(
        f"設定 [roi] の「{key}」: {ja}",
        f"config [roi] '{key}': {en}",
        where=Where(file="dxkpi.toml"),
        hint_ja="dxkpi.toml の [roi] を直してください。",
        hint_en="fix the [roi] section of dxkpi.toml.",
    )


def _roi_number(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _roi_error(key, f"数値が必要です（値: {value!r}）", f"expected a number ({value!r})")
    if not low <= value <= high:
        raise _roi_error(
            key,
            f"{low:g}〜{high:g} の範囲にしてください（値: {value}）",
            f"must be within {low:g}–{high:g} ({value})",
        )
    return float(value)


def roi_assumptions(section: Mapping[str, Any]) -> RoiAssumptions:
    """Validate the ``[roi]`` section (``Config.sections.get("roi", {})``).

    Keys: ``hourly_cost_yen`` fully loaded staff cost per hour, yen [4000];
    ``attribution`` share of the hours saved credited to the training (Phillips' isolation
    step), 0–1 [0.5]; ``confidence`` how sure the estimators of hours saved are, 0–1 [0.8];
    ``include_project_costs`` count the completed projects' cost_yen as a cost [true];
    ``[roi.training_budget_yen]`` the programme's budget per fiscal year, yen ("2025" = …) [0].
    """
    allowed = (
        "hourly_cost_yen",
        "attribution",
        "confidence",
        "training_budget_yen",
        "include_project_costs",
    )
    for key in section:
        if key not in allowed:
            raise _roi_error(
                key,
                f"不明なキーです（使えるキー: {', '.join(allowed)}）",
                f"unknown key (allowed: {', '.join(allowed)})",
            )
    d = RoiAssumptions()
    budget_raw = section.get("training_budget_yen", {})
    if not isinstance(budget_raw, Mapping):
        raise _roi_error(
            "training_budget_yen",
            "年度ごとの表が必要です（例: 2025 = 12000000）",
            "expected a table of fiscal years (2025 = 12000000)",
        )
    budget: dict[int, float] = {}
    for year, amount in budget_raw.items():
        if not str(year).isdigit() or not 1990 <= int(year) <= 2200:
            raise _roi_error(
                f"training_budget_yen.{year}",
                "年度（例: 2025）が必要です",
                "expected a fiscal year such as 2025",
            )
        budget[int(year)] = _roi_number(f"training_budget_yen.{year}", amount, 0, 1e13)
    include = section.get("include_project_costs", d.include_project_costs)
    if not isinstance(include, bool):
        raise _roi_error("include_project_costs", "true か false", "expected true or false")
    return RoiAssumptions(
        hourly_cost_yen=_roi_number(
            "hourly_cost_yen", section.get("hourly_cost_yen", d.hourly_cost_yen), 1, 1e6
        ),
        attribution=_roi_number("attribution", section.get("attribution", d.attribution), 0, 1),
        confidence=_roi_number("confidence", section.get("confidence", d.confidence), 0, 1),
        training_budget_yen=budget,
        include_project_costs=include,
    )


@dataclass(frozen=True)
class RoiResult:
    """Phillips ROI of one fiscal year: yen amounts, ROI in %, benefit–cost ratio."""

    fiscal_year: int
    hours_saved: float
    benefits_yen: float
    participant_hours: float
    participant_cost_yen: float
    budget_yen: float
    budget_set: bool
    project_cost_yen: float
    costs_yen: float
    roi_pct: float | None
    bcr: float | None
    assumptions: RoiAssumptions


def roi(data: Processed, fiscal_year: int, assumptions: RoiAssumptions) -> RoiResult:
    """Phillips' conservative ROI of the programme in one fiscal year.

    benefits = first-year hours saved (implemented proposals and completed projects of the year,
    the hours_saved KGI) × hourly cost × attribution × confidence;
    costs = participant hours (course hours × attended/completed sessions of the year) × hourly
    cost + the year's training budget (+ completed projects' cost_yen when included);
    ROI % = (benefits − costs) ÷ costs × 100; BCR = benefits ÷ costs (None when costs are 0).
    """
    a = assumptions
    start, end = dt.date(fiscal_year, 4, 1), fy_end(fiscal_year)
    props = (
        data.require("proposals")
        .filter(pl.col("status") == "implemented", pl.col("implemented_on").is_between(start, end))
        .select(pl.col("hours_saved_per_year").fill_null(0).sum())
        .collect()
        .item()
    )
    proj = (
        data.require("projects")
        .filter(pl.col("status") == "completed", pl.col("ended_on").is_between(start, end))
        .select(
            pl.col("hours_saved_per_year").fill_null(0).sum().alias("h"),
            pl.col("cost_yen").fill_null(0).sum().alias("c"),
        )
        .collect()
    )
    hours = float(props or 0) + float(proj["h"][0] or 0)
    part = (
        data.require("attendance")
        .filter(
            pl.col("status").is_in(["completed", "attended"]),
            pl.col("session_date").is_between(start, end),
        )
        .join(data.require("courses").select("course_id", "hours"), on="course_id")
        .select(pl.col("hours").sum())
        .collect()
        .item()
    )
    part_hours = float(part or 0)
    benefits = hours * a.hourly_cost_yen * a.attribution * a.confidence
    budget = float(a.training_budget_yen.get(fiscal_year, 0.0))
    project_cost = float(proj["c"][0] or 0) if a.include_project_costs else 0.0
    costs = part_hours * a.hourly_cost_yen + budget + project_cost
    return RoiResult(
        fiscal_year=fiscal_year,
        hours_saved=hours,
        benefits_yen=benefits,
        participant_hours=part_hours,
        participant_cost_yen=part_hours * a.hourly_cost_yen,
        budget_yen=budget,
        budget_set=fiscal_year in a.training_budget_yen,
        project_cost_yen=project_cost,
        costs_yen=costs,
        roi_pct=(benefits - costs) / costs * 100 if costs else None,
        bcr=benefits / costs if costs else None,
        assumptions=a,
    )


def _yen(x: float) -> str:
    return f"{x / 1e4:,.0f}万円" if abs(x) >= 1e4 else f"{x:,.0f}円"


def roi_lines(r: RoiResult, lang: str = "ja") -> list[str]:
    """The ROI in plain sentences with every assumption printed beside the figure."""
    a = r.assumptions
    yen = _yen if lang == "ja" else (lambda x: f"¥{x:,.0f}")
    roi_text = "—" if r.roi_pct is None else f"{r.roi_pct:+.0f}%"
    bcr = "—" if r.bcr is None else f"{r.bcr:.2f}"
    lines = [
        _t(
            lang,
            f"**ROI {roi_text}**（便益÷費用 = {bcr}）",
            f"**ROI {roi_text}** (benefit–cost ratio {bcr})",
        ),
        _t(
            lang,
            f"便益 {yen(r.benefits_yen)} = 初年度の削減時間 {r.hours_saved:,.0f}時間 × "
            f"時間単価 {a.hourly_cost_yen:,.0f}円 × 研修の寄与率 {a.attribution:.0%} × "
            f"推定の確からしさ {a.confidence:.0%}",
            f"Benefits {yen(r.benefits_yen)} = first-year hours saved {r.hours_saved:,.0f} h × "
            f"hourly cost ¥{a.hourly_cost_yen:,.0f} × attribution to training {a.attribution:.0%}"
            f" × confidence {a.confidence:.0%}",
        ),
        _t(
            lang,
            f"費用 {yen(r.costs_yen)} = 受講時間 {r.participant_hours:,.0f}時間 × 時間単価 "
            f"（{yen(r.participant_cost_yen)}）＋ 研修予算 {yen(r.budget_yen)}"
            + (f" ＋ 完了案件の費用 {yen(r.project_cost_yen)}" if a.include_project_costs else ""),
            f"Costs {yen(r.costs_yen)} = participant hours {r.participant_hours:,.0f} h × hourly "
            f"cost ({yen(r.participant_cost_yen)}) + training budget {yen(r.budget_yen)}"
            + (
                f" + completed projects' cost {yen(r.project_cost_yen)}"
                if a.include_project_costs
                else ""
            ),
        ),
        _t(
            lang,
            "便益は初年度分のみ（2年目以降の削減は数えない）、削減時間は提案・案件の申告値です。",
            "Benefits count the first year only; hours saved are as reported on proposals and "
            "projects.",
        ),
    ]
    if not r.budget_set:
        lines.append(
            _t(
                lang,
                f"注意: {r.fiscal_year}年度の研修予算が設定されていません"
                "（dxkpi.toml の [roi.training_budget_yen]）。"
                "費用を過小評価しています。",
                f"Note: no training budget set for FY{r.fiscal_year} "
                "([roi.training_budget_yen] in dxkpi.toml); costs are understated.",
            )
        )
    return lines


# ------------------------------------------------------------------ review log (decisions)


@dataclass(frozen=True)
class ReviewAction:
    """One decision of the review meeting: what, who (a role), by when, for which KPI, status."""

    action: str
    owner: str
    due: dt.date
    kpi: str
    status: str = "planned"
    note: str = ""


@dataclass(frozen=True)
class ReviewLog:
    """The decisions a PDCA review meeting recorded for one fiscal year."""

    fiscal_year: int
    meeting_date: dt.date | None = None
    adopted_targets: Mapping[str, float] = field(default_factory=dict)
    actions: tuple[ReviewAction, ...] = ()


def review_log_path(fiscal_year: int, reviews: Path = REVIEWS_DIR) -> Path:
    """Where the review log of a fiscal year lives: ``reviews/FY<year>.toml`` (relative to the
    project folder, where dxkpi.toml is)."""
    return reviews / f"FY{fiscal_year}.toml"


def _log_error(source: str, key: str, ja: str, en: str) -> PdcaError:
    return PdcaError(
        f"レビュー記録「{key}」: {ja}",
        f"review log '{key}': {en}",
        where=Where(file=source),
        hint_ja=f"{source} を直してください。",
        hint_en=f"fix {source}.",
    )


def _date(source: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise _log_error(
            source,
            key,
            f"日付（YYYY-MM-DD）が必要です（{value!r}）",
            f"expected a date YYYY-MM-DD ({value!r})",
        ) from err


def parse_review_log(raw: Mapping[str, Any], source: str = "<memory>") -> ReviewLog:
    """Validate a parsed review log (see :func:`review_log_template` for its shape)."""
    allowed = ("fiscal_year", "meeting_date", "adopted_targets", "actions")
    for key in raw:
        if key not in allowed:
            raise _log_error(
                source,
                key,
                f"不明なキー（使えるキー: {', '.join(allowed)}）",
                f"unknown key (allowed: {', '.join(allowed)})",
            )
    fy = raw.get("fiscal_year")
    if isinstance(fy, bool) or not isinstance(fy, int):
        raise _log_error(source, "fiscal_year", "年度（整数）が必要です", "expected a year")
    targets = raw.get("adopted_targets", {})
    for kpi, value in targets.items():
        if kpi not in REGISTRY:
            raise _log_error(source, f"adopted_targets.{kpi}", "不明な指標IDです", "unknown KPI")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _log_error(
                source, f"adopted_targets.{kpi}", "数値が必要です", "expected a number"
            )
    actions = []
    for i, a in enumerate(raw.get("actions", []), start=1):
        key = f"actions[{i}]"
        for need in ("action", "owner", "due", "kpi"):
            if not str(a.get(need, "")).strip():
                raise _log_error(source, f"{key}.{need}", "必須です", "is required")
        if a["kpi"] not in REGISTRY:
            raise _log_error(
                source, f"{key}.kpi", f"不明な指標ID {a['kpi']!r}", f"unknown KPI {a['kpi']!r}"
            )
        status = a.get("status", "planned")
        if status not in ACTION_STATUSES:
            raise _log_error(
                source,
                f"{key}.status",
                f"{' / '.join(ACTION_STATUSES)} のいずれかです（{status!r}）",
                f"must be one of {', '.join(ACTION_STATUSES)} ({status!r})",
            )
        actions.append(
            ReviewAction(
                str(a["action"]),
                str(a["owner"]),
                _date(source, f"{key}.due", a["due"]),
                str(a["kpi"]),
                status,
                str(a.get("note", "")),
            )
        )
    meeting = raw.get("meeting_date")
    return ReviewLog(
        fy,
        None if meeting is None else _date(source, "meeting_date", meeting),
        {k: float(v) for k, v in targets.items()},
        tuple(actions),
    )


def load_review_log(path: Path) -> ReviewLog | None:
    """The review log at ``path`` (``None`` when there is none); a clear error when invalid."""
    if not path.is_file():
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PdcaError(
            f"レビュー記録を読めません（TOML の書式）: {err}",
            f"the review log is not valid TOML: {err}",
            where=Where(file=str(path)),
        ) from err
    return parse_review_log(raw, str(path))


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def review_log_text(log: ReviewLog) -> str:
    """A review log as TOML (the format :func:`load_review_log` reads)."""
    lines = [
        "# PDCA レビュー記録 / review log: decisions of the year-end meeting.",
        "# owner は役職名（個人名は書かない）/ owner is a role, never a person's name.",
        "# status: planned（未着手）/ in_progress（実施中）/ done（完了）/ dropped（中止）",
        f"fiscal_year = {log.fiscal_year}",
    ]
    if log.meeting_date:
        lines.append(f"meeting_date = {log.meeting_date.isoformat()}")
    lines += ["", "[adopted_targets]"]
    lines += [f"{k} = {float(v)!r}" for k, v in log.adopted_targets.items()]
    for a in log.actions:
        lines += [
            "",
            "[[actions]]",
            f"action = {_toml_str(a.action)}",
            f"owner = {_toml_str(a.owner)}",
            f"due = {a.due.isoformat()}",
            f"kpi = {_toml_str(a.kpi)}",
            f"status = {_toml_str(a.status)}",
            f"note = {_toml_str(a.note)}",
        ]
    return "\n".join(lines) + "\n"


def save_review_log(log: ReviewLog, path: Path) -> Path:
    """Write a review log atomically (validated by reading it back first)."""
    import os

    text = review_log_text(log)
    parse_review_log(tomllib.loads(text), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def review_followup(
    log: ReviewLog, rich: pl.DataFrame, fiscal_year: int, lang: str = "ja"
) -> pl.DataFrame:
    """Last year's decisions and what became of them: action, owner (role), due, status, the
    KPI aimed at, its city value last year and this year, and whether it moved the right way."""
    city = rich.filter(pl.col("group_by") == "city", ~pl.col("suppressed"))
    rows = []
    for a in log.actions:
        spec = REGISTRY[a.kpi]

        def val(year: int, kpi: str = a.kpi) -> float | None:
            cell = city.filter(pl.col("kpi") == kpi, pl.col("fiscal_year") == year)
            return cell["value"][0] if cell.height else None

        before, now = val(fiscal_year - 1), val(fiscal_year)
        if before is None or now is None:
            moved = _t(lang, "判定できない", "cannot tell")
        elif abs(now - before) < 1e-9:
            moved = _t(lang, "変化なし", "unchanged")
        else:
            moved = (
                _t(lang, "改善", "improved")
                if (now > before) == spec.higher_is_better
                else _t(lang, "悪化", "worse")
            )
        rows.append(
            [
                a.action,
                a.owner,
                a.due.isoformat(),
                STATUS_TEXT[lang][a.status],
                spec.name_ja if lang == "ja" else spec.name_en,
                value_with_unit(before, spec.unit, lang) or "—",
                value_with_unit(now, spec.unit, lang) or "—",
                moved,
            ]
        )
    keys = (
        ("決定事項", "担当（役職）", "期限", "状況", "対象指標", "前年度", "今年度", "指標の動き")
        if lang == "ja"
        else (
            "decision",
            "owner (role)",
            "due",
            "status",
            "KPI aimed at",
            "last year",
            "this year",
            "KPI moved",
        )
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


# ------------------------------------------------------------------ report helpers


def safe_behaviour(data: Processed, k: int, lang: str = "ja") -> tuple[Any, str]:
    """The behaviour-change estimate (phase-2 completion, monthly, not-yet-trained comparison)
    or ``(None, why)`` when the data cannot support it (e.g. the first year)."""
    from dxkpi.models.behaviour import BehaviourError, behaviour_change

    try:
        return behaviour_change(
            data, period="month", treatment="phase2", control="notyet", min_units=k
        ), ""
    except BehaviourError as err:
        return None, _t(
            lang,
            f"行動変容はまだ推定できません: {err.ja}",
            f"Behaviour change cannot be estimated yet: {err.en}",
        )


def safe_heterogeneity(data: Processed, by: str, k: int) -> pl.DataFrame | None:
    """The heterogeneity table by talent type or job level (groups need ≥ max(30, k) trained
    staff), or ``None`` when it cannot be estimated."""
    from dxkpi.models.behaviour import BehaviourError, heterogeneity

    try:
        table = heterogeneity(
            data,
            by=by,
            min_treated=max(30, k),  # type: ignore[arg-type]
            min_units=k,
        ).table
    except BehaviourError:
        return None
    return table.filter(pl.col("n_employees") >= k) if table.height else None


def safe_links(data: Processed, lang: str = "ja") -> tuple[list[Any], list[str]]:
    """KPI→KGI department-panel links and their plain sentences (empty with a reason when the
    panel has too few years)."""
    from dxkpi.models.linkage import LinkError, describe_link, link_all, link_panel

    try:
        links, _failed = link_all(link_panel(data))
    except LinkError as err:
        return [], [_t(lang, err.ja, err.en)]
    if not links:
        return [], [
            _t(
                lang,
                "前年度の KPI と今年度の KGI の組がまだないため、関係は推定できません。",
                "No pair of last year's KPI and this year's KGI yet: nothing to link.",
            )
        ]
    return links, [describe_link(x, lang)[0] for x in links] + describe_link(links[0], lang)[1:]


def maturity_table(rich: pl.DataFrame, fiscal_year: int, lang: str = "ja") -> pl.DataFrame:
    """Maturity per dimension (0–5 points): this year, last year, change, and the manager–staff
    gap this year; suppressed cells show ―."""
    from dxkpi.reports.views import CODE_LABELS_JA, SUPPRESSED_MARK

    cells = rich.filter(pl.col("group_by") == "dimension")

    def cell(kpi: str, year: int, dim: str) -> tuple[float | None, bool]:
        c = cells.filter(
            pl.col("kpi") == kpi, pl.col("fiscal_year") == year, pl.col("group") == dim
        )
        if not c.height:
            return None, False
        return (None, True) if c["suppressed"][0] else (c["value"][0], False)

    def show(v: float | None, hidden: bool, sign: bool = False) -> str:
        return SUPPRESSED_MARK if hidden else (_unit_text(v, "score", lang, sign=sign) or "—")

    rows = []
    for dim in ("literacy", "data", "leadership", "development", "culture"):
        now, h1 = cell("maturity_score", fiscal_year, dim)
        before, h0 = cell("maturity_score", fiscal_year - 1, dim)
        gap, h2 = cell("maturity_gap", fiscal_year, dim)
        change = None if now is None or before is None else now - before
        rows.append(
            [
                CODE_LABELS_JA.get(dim, dim) if lang == "ja" else dim,
                show(now, h1),
                show(before, h0),
                show(change, h1 or h0, sign=True),
                show(gap, h2),
            ]
        )
    keys = (
        ("診断項目", "今年度", "前年度", "前年度比", "温度差（管理職−一般）")
        if lang == "ja"
        else ("dimension", "this year", "last year", "change", "gap (managers − staff)")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def support_display(models: pl.DataFrame, rich: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Projects started per year by support model beside the city's insourcing rate (%)."""
    rate = rich.filter(
        pl.col("kpi") == "insourcing_rate", pl.col("group_by") == "city", ~pl.col("suppressed")
    ).select("fiscal_year", pl.col("value").alias("r"))
    rows = []
    for r in models.join(rate, on="fiscal_year", how="left").iter_rows(named=True):
        unit = "件" if lang == "ja" else ""
        rows.append(
            [
                str(r["fiscal_year"]),
                f"{r['outsourced']}{unit}",
                f"{r['co_creation']}{unit}",
                f"{r['in_house']}{unit}",
                f"{r['in_house_share']:.0%}",
                value_with_unit(r["r"], "ratio", lang) or "—",
            ]
        )
    keys = (
        ("年度", "外部委託", "伴走", "内製", "内製の割合（案件）", "内製化率（研修時間）")
        if lang == "ja"
        else (
            "FY",
            "outsourced",
            "co-creation",
            "in-house",
            "in-house share (projects)",
            "insourcing rate (training hours)",
        )
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def continuity_lines(rich: pl.DataFrame, fiscal_year: int, lang: str = "ja") -> list[str]:
    """Knowledge continuity across the April transfers in sentences: the city share (0–1) and
    the departments left without trained staff this year (units, not people)."""
    cells = rich.filter(
        pl.col("kpi") == "knowledge_continuity", pl.col("fiscal_year") == fiscal_year
    )
    city = cells.filter(pl.col("group_by") == "city")
    if not city.height or city["value"][0] is None:
        return [
            _t(
                lang,
                "前年度に研修を受けた職員がいないため、異動をまたぐ継続はまだ測れません。",
                "No staff trained by last year yet: continuity across transfers cannot be "
                "measured.",
            )
        ]
    lost = cells.filter(pl.col("group_by") == "department", pl.col("value") == 0)
    names = "、".join(lost["group_name"].fill_null(lost["group"]).to_list())
    lines = [
        _t(
            lang,
            f"4月の異動の後も研修修了者がいる所属の割合: "
            f"{value_with_unit(city['value'][0], 'ratio', lang)}。",
            f"Departments still with trained staff after the April transfers: "
            f"{value_with_unit(city['value'][0], 'ratio', lang)}.",
        )
    ]
    lines.append(
        _t(
            lang,
            f"異動で研修修了者がいなくなった所属: {names}。"
            if names
            else "異動で研修修了者がいなくなった所属はありません。",
            f"Departments left without trained staff: {names}."
            if names
            else "No department was left without trained staff.",
        )
    )
    return lines


def success_display(
    props: pl.DataFrame, projects: pl.DataFrame, lang: str = "ja"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The success cases as display text (hours per year with their unit)."""
    h = "時間/年" if lang == "ja" else " h/yr"
    a = props.select(
        pl.col("department_name"),
        pl.col("category"),
        pl.col("implemented").cast(pl.String) + ("件" if lang == "ja" else ""),
        pl.col("proposers").cast(pl.String) + ("人" if lang == "ja" else ""),
        pl.col("hours_saved").map_elements(lambda x: f"{x:,.0f}{h}", return_dtype=pl.String),
        pl.col("examples"),
    )
    a.columns = (
        ["所属", "分類", "実装件数", "提案者数", "年間削減時間", "主な件名"]
        if lang == "ja"
        else ["department", "category", "implemented", "proposers", "hours saved", "examples"]
    )
    models = {
        "outsourced": _t(lang, "外部委託", "outsourced"),
        "co_creation": _t(lang, "伴走", "co-creation"),
        "in_house": _t(lang, "内製", "in-house"),
    }
    b = projects.select(
        "department_name",
        "project_name",
        pl.col("support_model").replace_strict(models, default=pl.col("support_model")),
        pl.col("hours_saved").map_elements(lambda x: f"{x:,.0f}{h}", return_dtype=pl.String),
    )
    b.columns = (
        ["所属", "案件名", "支援形態", "年間削減時間"]
        if lang == "ja"
        else ["department", "project", "support model", "hours saved"]
    )
    return a, b


def stalled_display(stalled: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Stalled proposals of trained staff as display text."""
    unit, ppl = ("件", "人") if lang == "ja" else ("", "")
    out = stalled.select(
        "department_name",
        "category",
        pl.col("proposals").cast(pl.String) + unit,
        pl.col("proposers").cast(pl.String) + ppl,
        pl.col("rejected").cast(pl.String) + unit,
        pl.col("undecided").cast(pl.String) + unit,
        pl.col("nowhere_share").map_elements(lambda x: f"{x:.0%}", return_dtype=pl.String),
    )
    out.columns = (
        ["所属", "分類", "提案件数", "提案者数", "不採択", "未判定", "進まなかった割合"]
        if lang == "ja"
        else [
            "department",
            "category",
            "proposals",
            "proposers",
            "rejected",
            "undecided",
            "went nowhere",
        ]
    )
    return out


def support_needed_display(frame: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Departments needing support as display text (%, per 100 staff)."""
    rows = [
        [
            f"{r['group_name']}（{r['department']}）",
            value_with_unit(r["participation_rate"], "ratio", lang),
            value_with_unit(r["proposals_per_100"], "per_100", lang),
        ]
        for r in frame.iter_rows(named=True)
    ]
    keys = (
        ("所属", "研修参加率", "提案件数（100人当たり）")
        if lang == "ja"
        else ("department", "participation", "proposals per 100 staff")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def courses_to_revise(review: pl.DataFrame, completion_floor: float = 0.7) -> pl.DataFrame:
    """Courses to revise next year: liked without behavioural change, or a completion rate below
    ``completion_floor`` (0–1), or a negative effect whose interval excludes 0."""
    return review.filter(~pl.col("suppressed")).filter(
        (pl.col("flag") == "liked_no_change")
        | (pl.col("completion_rate") < completion_floor)
        | (pl.col("ci_high") < 0)
    )


def summary_html(frame: pl.DataFrame, caption: str) -> Any:
    """A compact (small print) display table, so the summary fits one A4 page."""
    from dxkpi.reports.views import HTML, html_table

    table = html_table(frame, caption=caption).replace(
        '<table class="dxkpi-table"', '<table class="dxkpi-table pdca-compact"', 1
    )
    return HTML(COMPACT_STYLE + table)


#: Style of the compact summary tables (inline: the page stays self-contained).
COMPACT_STYLE = (
    "<style>.jp-RenderedHTMLCommon table.pdca-compact{width:100%;table-layout:fixed;"
    "font-size:11px;line-height:1.3;margin:0 0 .6em 0}"
    ".jp-RenderedHTMLCommon table.pdca-compact td,.jp-RenderedHTMLCommon table.pdca-compact th"
    "{padding:2px 4px;text-align:left;white-space:normal;overflow-wrap:anywhere}"
    ".pdca-compact th:nth-child(1){width:22%}.pdca-compact th:nth-child(2){width:11%}"
    ".pdca-compact th:nth-child(3){width:14%}.pdca-compact th:nth-child(4){width:7%}"
    ".pdca-compact th:nth-child(5){width:14%}.pdca-compact th:nth-child(6){width:32%}</style>"
)

#: Put before a section heading's Markdown: starts the section on a new printed page.
PAGE_BREAK = '<div class="dxkpi-page-break"></div>\n\n'  # styled by the report CSS


def save_text(text: str, path: Path) -> Path:
    """Write a text file atomically (the proposed-targets file of a run)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def proposed_targets_name(next_year: int) -> str:
    """File name of a proposal: ``FY<next year>-proposed-targets.toml``."""
    return f"FY{next_year}-proposed-targets.toml"


def headline_lines(summary: pl.DataFrame, lang: str = "ja") -> list[str]:
    """The cover's headline: how many KGI and KPI cells got each grade (A/B/C/D) this year."""
    lines = []
    for kind, ja, en in (
        ("kgi", "効果（KGI）", "Outcomes (KGIs)"),
        ("kpi", "進捗（KPI）", "Progress (KPIs)"),
    ):
        part = summary.filter(pl.col("kind") == kind)
        counts = {g: int((part["grade"] == g).sum()) for g in "ABCD"}
        text = "・".join(f"{g} {n}" for g, n in counts.items())
        lines.append(
            _t(lang, f"{ja} {part.height} 項目: {text}", f"{en}, {part.height} cells: {text}")
        )
    return lines


def leader_lines(rich: pl.DataFrame, fiscal_year: int, lang: str = "ja") -> list[str]:
    """Leader coverage in sentences: the share of departments (0–1) with ≥1 推進リーダー this
    year and the departments without one (departments are units, not people)."""
    cells = rich.filter(pl.col("kpi") == "leader_coverage", pl.col("fiscal_year") == fiscal_year)
    city = cells.filter(pl.col("group_by") == "city")
    if not city.height or city["value"][0] is None:
        return [_t(lang, "推進リーダーの配置は測れません。", "Leader coverage cannot be measured.")]
    missing = cells.filter(pl.col("group_by") == "department", pl.col("value") == 0)
    names = "、".join(missing["group_name"].fill_null(missing["group"]).to_list())
    share = value_with_unit(city["value"][0], "ratio", lang)
    return [
        _t(
            lang,
            f"推進リーダー（DX人材タイプ「推進リーダー」）がいる所属の割合: {share}"
            f"（目標 {value_with_unit(city['target'][0], 'ratio', lang) or '未設定'}）。",
            f"Departments with at least one DX leader: {share}.",
        ),
        _t(
            lang,
            f"推進リーダーがいない所属（{missing.height}）: {names}。"
            if names
            else "すべての所属に推進リーダーがいます。",
            f"Departments without a leader ({missing.height}): {names}."
            if names
            else "Every department has a leader.",
        ),
    ]
