"""What people see of a benchmark across municipalities: a summary table, its terminal form and
the JSON export.

:func:`benchmark_summary` turns a :class:`dxkpi.peers.benchmark.Benchmark` into one display
row per KPI and group of one fiscal year and grouping: with a municipality chosen, its value
beside the pooled values of every municipality, of its category and of its staff size band,
and where it lies against each pool's funnel limits (inside / above / below, at 95 % and
99.8 %; never a rank); without one, the pooled values of every municipality and of each
category. Headers are in both languages; hidden cells show ``―``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl
from rich.markup import escape
from rich.table import Table

from dxkpi.catalogue.format import format_value
from dxkpi.catalogue.labels import SUPPRESSED_MARK, label, t
from dxkpi.catalogue.municipality import CATEGORIES
from dxkpi.peers.benchmark import Benchmark
from dxkpi.reports.kpi_export import group_label_ja

__all__ = [
    "HEADERS",
    "benchmark_json",
    "benchmark_summary",
    "benchmark_table",
    "benchmark_view",
    "funnel_kpis",
    "header",
    "latest_fiscal_year",
    "position_text",
]


def latest_fiscal_year(bench: Benchmark) -> int:
    """The latest fiscal year any share file holds."""
    return int(bench.cities.get_column("fiscal_year").max())  # type: ignore[arg-type]


def position_text(position_95: str | None, position_998: str | None, lang: str = "ja") -> str:
    """Where a value lies against the funnel: ``管理限界内`` or beyond the 95 % / 99.8 % limit.

    >>> position_text("above", "inside"), position_text("below", "below", "en")
    ('上側の管理限界の外（95%）', 'below the lower limit (99.8%)')
    >>> position_text(None, None)
    ''
    """
    if position_95 is None or position_998 is None:
        return ""
    if position_998 != "inside":
        return label("funnel_position", position_998, lang) + t(lang, "（99.8%）", " (99.8%)")
    if position_95 != "inside":
        return label("funnel_position", position_95, lang) + t(lang, "（95%）", " (95%)")
    return label("funnel_position", "inside", lang)


def _shown(value: float | None, unit: str, hidden: bool) -> str:
    if hidden:
        return SUPPRESSED_MARK
    return format_value(value, unit)


def _pooled_text(row: dict[str, Any] | None, unit: str) -> str:
    if row is None:
        return ""
    if row["suppressed"]:
        return SUPPRESSED_MARK
    return f"{format_value(row['value'], unit)}（{row['cities']}）"


def _cell_label(group_by: str, group: str, lang: str) -> str:
    if lang == "ja":
        return group_label_ja(group_by, group)
    parts = [
        label("grouping", "city", "en") if by == "city" else label(by, key, "en")
        for by, key in zip(group_by.split("|"), group.split("|"), strict=False)
    ]
    return " × ".join(parts)


#: Column key of :func:`benchmark_summary` → header (Japanese, English). A category's own column
#: (no municipality chosen) is ``category:<code>``, headed by the category's label.
HEADERS: dict[str, tuple[str, str]] = {
    "kpi": ("指標", "KPI"),
    "group": ("グループ", "Group"),
    "own": ("自団体", "Own"),
    "all": ("全団体（団体数）", "All (n)"),
    "position_all": ("全団体での位置", "Position in all"),
    "category": ("同じ区分（団体数）", "Same category (n)"),
    "position_category": ("区分での位置", "Position in category"),
    "size_band": ("同じ規模（団体数）", "Same size band (n)"),
    "position_size_band": ("規模での位置", "Position in size band"),
}


def header(key: str, lang: str = "ja") -> str:
    """The header of a summary column: Japanese, English, or both (``lang="both"``).

    >>> header("own", "both"), header("category:core_city", "en")
    ('自団体 Own', 'Core city')
    """
    if key.startswith("category:"):
        code = key.split(":", 1)[1]
        ja, en = label("municipality_category", code), label("municipality_category", code, "en")
    else:
        ja, en = HEADERS[key]
    return f"{ja} {en}" if lang == "both" else t(lang, ja, en)


def benchmark_summary(
    bench: Benchmark,
    fiscal_year: int,
    grouping: str = "city",
    city: str | None = None,
    lang: str = "ja",
) -> pl.DataFrame:
    """One row per KPI and group of ``grouping`` (``city`` includes the per-phase, per-skill
    area … cells a KPI has at the city level) in ``fiscal_year``, as text, with the column keys
    of :data:`HEADERS` (:func:`header` gives their words)."""
    pooled = bench.pooled.filter(pl.col("fiscal_year") == fiscal_year)
    first = pl.col("group_by").str.split("|").list.first()
    second = ["phase", "dimension", "skill_area", "mobility"]
    keep = (first == grouping) | ((grouping == "city") & pl.col("group_by").is_in(second))
    pooled = pooled.filter(keep)
    index = {
        (r["pool_by"], r["pool"], r["kpi"], r["group_by"], r["group"]): r
        for r in pooled.iter_rows(named=True)
    }
    me: dict[tuple[str, str, str], dict[str, Any]] = {}
    member: dict[str, str] = {}
    funnel = bench.funnel.filter(pl.col("fiscal_year") == fiscal_year)
    if city is not None:
        mine = bench.cities.filter(
            (pl.col("city") == city) & (pl.col("fiscal_year") == fiscal_year)
        )
        me = {(r["kpi"], r["group_by"], r["group"]): r for r in mine.iter_rows(named=True)}
        if mine.height:
            member = {"category": mine.item(0, "category"), "size_band": mine.item(0, "size_band")}
        funnel = funnel.filter(pl.col("city") == city)
    where = {
        (r["reference"], r["kpi"], r["group_by"], r["group"]): position_text(
            r["position_95"], r["position_998"], lang
        )
        for r in funnel.iter_rows(named=True)
    }
    categories = [c for c in CATEGORIES if c in set(pooled.get_column("pool"))]
    rows = []
    for r in pooled.filter(pl.col("pool_by") == "all").iter_rows(named=True):
        cell = (r["kpi"], r["group_by"], r["group"])
        unit = r["unit"]
        row = {"kpi": label("kpi", r["kpi"], lang), "group": _cell_label(*cell[1:], lang)}
        if city is not None:
            own = me.get(cell)
            row["own"] = "" if own is None else _shown(own["value"], unit, own["suppressed"])
        row["all"] = _pooled_text(r, unit)
        if city is not None:
            row["position_all"] = where.get(("all", *cell), "")
            for ref in ("category", "size_band"):
                pool = member.get(ref)
                row[ref] = _pooled_text(index.get((ref, pool, *cell)) if pool else None, unit)
                row[f"position_{ref}"] = where.get((ref, *cell), "")
        else:
            for cat in categories:
                row[f"category:{cat}"] = _pooled_text(index.get(("category", cat, *cell)), unit)
        rows.append(row)
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String) if rows else None)


def benchmark_view(
    bench: Benchmark,
    fiscal_year: int,
    city: str | None = None,
    lang: str = "ja",
    grouping: str = "city",
) -> pl.DataFrame:
    """:func:`benchmark_summary` with its headers in the report's language."""
    frame = benchmark_summary(bench, fiscal_year, grouping, city, lang)
    return frame.rename({c: header(c, lang) for c in frame.columns})


def funnel_kpis(bench: Benchmark, fiscal_year: int) -> list[str]:
    """The KPIs with a funnel of the whole municipality (``city`` cells against every
    municipality's pooled value) in ``fiscal_year``, in the registry's order."""
    rows = bench.funnel.filter(
        (pl.col("fiscal_year") == fiscal_year)
        & (pl.col("group_by") == "city")
        & (pl.col("reference") == "all")
    )
    return list(dict.fromkeys(rows.get_column("kpi").to_list()))


def benchmark_table(
    bench: Benchmark,
    fiscal_year: int,
    grouping: str = "city",
    city: str | None = None,
) -> Table:
    """:func:`benchmark_summary` as a rich table with bilingual headers and a footnote."""
    frame = benchmark_summary(bench, fiscal_year, grouping, city, "ja")
    title = f"{fiscal_year}年度 団体間比較 / FY{fiscal_year} benchmark across municipalities"
    if city is not None:
        title += f" — {city}"
    caption = (
        f"（ ）内は合算した団体数。{SUPPRESSED_MARK} は {bench.min_cell_size} 人未満などで秘匿。"
        "位置は合算値のまわりの管理限界（95%・99.8%）との比較で、順位ではありません。\n"
        f"(n) = municipalities pooled; {SUPPRESSED_MARK} = suppressed (fewer than "
        f"{bench.min_cell_size} people, or complementary). Position is against the control "
        "limits around the pooled value (95%, 99.8%), never a rank."
    )
    table = Table(title=title, caption=caption)
    for column in frame.columns:
        table.add_column(header(column, "both"))
    for values in frame.iter_rows():
        table.add_row(*(escape(str(v)) for v in values))
    return table


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def benchmark_json(bench: Benchmark) -> str:
    """Everything of a benchmark as JSON: k, the files read, the warnings, and the pooled,
    per-municipality and funnel rows."""
    payload = {
        "min_cell_size": bench.min_cell_size,
        "sources": list(bench.sources),
        "warnings": [{"ja": ja, "en": en} for ja, en in bench.warnings],
        "pooled": _records(bench.pooled),
        "cities": _records(bench.cities),
        "funnel": _records(bench.funnel),
    }
    return json.dumps(payload, ensure_ascii=False, indent=1, allow_nan=False)
