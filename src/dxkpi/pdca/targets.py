"""Act → Plan: next year's proposed targets and the TOML text that carries them.

:func:`propose_target` (the rule, documented there), :func:`proposed_targets` (one proposal per
city-wide KPI cell), :func:`department_targets` (the same rule per department),
:func:`targets_toml` (the proposal file in ``dxkpi.toml``'s
``[targets.<year>]`` shape) and :func:`with_targets_table` (``dxkpi.toml`` text with an adopted
proposal, for ``dxkpi pdca --adopt``). All text in, text out: no file is read or written here.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import tomlkit

from dxkpi.catalogue.kpis import REGISTRY, KpiSpec
from dxkpi.pdca.errors import PdcaError
from dxkpi.pdca.summary import city_cells
from dxkpi.project.config import parse_config

__all__ = [
    "DEPARTMENT_KPIS",
    "MAX_STEP_RATIO",
    "MAX_STEP_RELATIVE",
    "UNIT_BOUNDS",
    "department_targets",
    "propose_target",
    "proposed_targets",
    "proposed_targets_name",
    "targets_toml",
    "with_targets_table",
]

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


def _proposals(
    cells: pl.DataFrame, fiscal_year: int
) -> list[tuple[dict[str, Any], KpiSpec, float | None, str]]:
    """Per cell of ``fiscal_year`` with a shown value: (the cell, its KPI, the proposed target,
    the years it rests on). Only shown values up to ``fiscal_year`` count; the proposal
    (:func:`propose_target`) rests on the cell's matured history (provisional values do not
    count), and this year's target counts as missed unless this year's value is provisional."""
    cells = cells.filter(
        pl.col("fiscal_year") <= fiscal_year, ~pl.col("suppressed"), pl.col("value").is_not_null()
    )
    if "provisional" not in cells.columns:
        cells = cells.with_columns(provisional=pl.lit(False))
    ripe = cells.filter(~pl.col("provisional").fill_null(False))
    latest = cells.filter(pl.col("fiscal_year") == fiscal_year)
    out = []
    for r in latest.sort("kpi", "group_by", "group").iter_rows(named=True):
        spec = REGISTRY.get(r["kpi"])
        if spec is None:
            continue
        hist = ripe.filter(
            pl.col("kpi") == r["kpi"],
            pl.col("group_by") == r["group_by"],
            pl.col("group") == r["group"],
        ).sort("fiscal_year")
        history = list(zip(hist["fiscal_year"].to_list(), hist["value"].to_list(), strict=True))
        missed = None if r["provisional"] else r["target"]
        proposed = propose_target(history, missed, spec.unit, spec.higher_is_better)
        out.append((r, spec, proposed, ",".join(str(y) for y, _ in history[-3:])))
    return out


def proposed_targets(rich: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """Proposed targets for ``fiscal_year + 1``, one per city-wide KPI cell (see
    :func:`propose_target`).

    Columns: kpi, grouping (None for the city-wide key, else phase / dimension …), group, unit,
    value (this year's actual), target (this year's), proposed, basis (years used). Suppressed
    or empty cells are not used; a KPI without any value this year gets no proposal. A
    provisional value (a waiting KPI whose cohort has not matured, 暫定) is shown but not used:
    the proposal rests on the matured years, and this year's target does not count as missed.
    """
    rows = []
    for r, spec, proposed, basis in _proposals(city_cells(rich), fiscal_year):
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
                "basis": basis,
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


#: KPIs a department is given its own proposed target for: shares and counts of its own staff
#: that its manager can move (participation, proposals, proposers).
DEPARTMENT_KPIS: tuple[str, ...] = ("participation_rate", "proposals_per_100", "proposer_rate")


def department_targets(
    rich: pl.DataFrame, fiscal_year: int, kpis: Sequence[str] = DEPARTMENT_KPIS
) -> pl.DataFrame:
    """Proposed targets for ``fiscal_year + 1`` per department (:func:`propose_target`, the
    city's rule applied to each department's own history and this year's target for it — its
    own ``[targets.<year>.department.<code>]`` or the city-wide one).

    Columns: kpi, department (code), department_name, unit, value, target, proposed, basis.
    Only department cells with a value are used: a suppressed cell (fewer than k staff) gets no
    proposal, since a proposal is this year's value plus a step and would reveal it; provisional
    values do not count, as in :func:`proposed_targets`.
    """
    cells = rich.filter(pl.col("group_by") == "department", pl.col("kpi").is_in(list(kpis)))
    if "group_name" not in cells.columns:
        cells = cells.with_columns(group_name=pl.lit(None, pl.String))
    rows = []
    for r, spec, proposed, basis in _proposals(cells, fiscal_year):
        rows.append(
            {
                "kpi": r["kpi"],
                "department": r["group"],
                "department_name": r["group_name"],
                "unit": spec.unit,
                "value": r["value"],
                "target": r["target"],
                "proposed": proposed,
                "basis": basis,
            }
        )
    schema = {
        "kpi": pl.String,
        "department": pl.String,
        "department_name": pl.String,
        "unit": pl.String,
        "value": pl.Float64,
        "target": pl.Float64,
        "proposed": pl.Float64,
        "basis": pl.String,
    }
    order = {k: i for i, k in enumerate(kpis)}
    rows.sort(key=lambda x: (x["department"], order[x["kpi"]]))
    return pl.DataFrame(rows, schema=schema)


def proposed_targets_name(next_year: int) -> str:
    """File name of a proposal: ``FY<next year>-proposed-targets.toml``."""
    return f"FY{next_year}-proposed-targets.toml"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    """A key as TOML writes it: bare when it can be (``D03``, ``010100``), else quoted."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(unit: str, value: float) -> str:
    return f"{value:.0f}.0" if unit == "hours" else repr(float(value))


def targets_toml(
    proposals: pl.DataFrame,
    next_year: int,
    *,
    source: str = "",
    departments: pl.DataFrame | None = None,
) -> str:
    """The proposals as TOML in dxkpi.toml's ``[targets.<year>]`` shape (editable, adoptable).

    ``departments`` (:func:`department_targets`) adds one ``[targets.<year>.department.<code>]``
    table per department, commented out: the meeting removes the ``#`` of the departments whose
    own target it agrees, and ``dxkpi pdca --adopt`` adopts only those.
    """
    lines = [
        f"# 来年度目標（案）/ proposed targets for FY{next_year}: edit, then adopt with",
        f"#   dxkpi pdca --fy {next_year - 1} --adopt",
        "# 規則 / rule: dxkpi.pdca.targets.propose_target (trend and last year's gap, capped).",
        *([f"# {source}"] if source else []),
        "",
        f"[targets.{next_year}]",
    ]
    rows = proposals.filter(pl.col("proposed").is_not_null())
    for r in rows.filter(pl.col("grouping").is_null()).iter_rows(named=True):
        lines.append(f"{r['kpi']} = {_toml_value(r['unit'], r['proposed'])}")
    sub = rows.filter(pl.col("grouping").is_not_null())
    for (grouping, group), part in sub.group_by(["grouping", "group"], maintain_order=True):
        lines += ["", f"[targets.{next_year}.{grouping}.{_toml_key(str(group))}]"]
        lines += [
            f"{r['kpi']} = {_toml_value(r['unit'], r['proposed'])}"
            for r in part.iter_rows(named=True)
        ]
    if departments is not None:
        lines += _department_lines(departments, next_year)
    return "\n".join(lines) + "\n"


def _department_lines(departments: pl.DataFrame, next_year: int) -> list[str]:
    rows = departments.filter(pl.col("proposed").is_not_null())
    if rows.is_empty():
        return []
    lines = [
        "",
        "# 所属別の目標案: 採用する所属の行の先頭の # を外してください"
        "（外さなければ採用されません）。",
        "# Per-department proposals: remove the leading # of the departments to adopt (lines left",
        "# commented out are not adopted).",
    ]
    for code, part in rows.group_by("department", maintain_order=True):
        lines += ["", f"# [targets.{next_year}.department.{_toml_key(str(code[0]))}]"]
        lines += [
            f"# {r['kpi']} = {_toml_value(r['unit'], r['proposed'])}"
            for r in part.iter_rows(named=True)
        ]
    return lines


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _merged(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it, table by table (a key of ``update`` wins)."""
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = _merged(old, value)
        else:
            out[key] = value
    return out


def _table_lines(text: str, name: str) -> tuple[int, int] | None:
    """Line span (header, end) of the table ``[name]`` in ``text``; end is the next header."""
    lines = text.splitlines()
    head = None
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if not m:
            continue
        if head is not None:
            return head, i
        if m.group(1).replace(" ", "").replace('"', "") == name:
            head = i
    return None if head is None else (head, len(lines))


def _insert_keys(text: str, name: str, keys: list[str]) -> str:
    """``text`` with ``key = value`` lines added to table ``[name]`` just after its last
    key (so comments that introduce the next table stay with that table)."""
    span = _table_lines(text, name)
    if span is None or not keys:
        return text
    lines = text.splitlines()
    head, end = span
    last = head
    for i in range(head + 1, end):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            last = i
    return "\n".join([*lines[: last + 1], *keys, *lines[last + 1 :]]) + "\n"


def _value_text(value: Any) -> str:
    return tomlkit.item(value).as_string()


def _adopt_into(config_text: str, year_key: str, adopted: Mapping[str, Any]) -> str:
    """Lay the adopted ``[targets.<year>]`` tables over an existing one, in place.

    A key that exists gets its new value where it stands (tomlkit keeps its comment, the
    surrounding comments and the order); a new city-wide key goes after the table's last key;
    a new group table goes at the end of the file. Nothing else is touched: keys and group
    tables the proposal does not name (a hand-written ``[targets.<year>.job_level.manager]``)
    stay as they are.
    """
    doc = tomlkit.parse(config_text)
    year: Any = doc["targets"][year_key]
    new_keys: list[str] = []
    new_tables: list[str] = []
    for key, value in adopted.items():
        if isinstance(value, Mapping):
            groups = year.get(key)
            for group, kpis in value.items():
                table = None if groups is None else groups.get(group)
                if table is None:
                    lines = [f"{k} = {_value_text(v)}" for k, v in kpis.items()]
                    head = f"[targets.{year_key}.{key}.{_toml_key(group)}]"
                    new_tables.append("\n".join([head, *lines]))
                    continue
                missing = [k for k in kpis if k not in table]
                for kpi, v in kpis.items():
                    if kpi in table:
                        table[kpi] = v
                if missing:
                    new_keys_in = [f"{k} = {_value_text(kpis[k])}" for k in missing]
                    doc = tomlkit.parse(
                        _insert_keys(
                            tomlkit.dumps(doc), f"targets.{year_key}.{key}.{group}", new_keys_in
                        )
                    )
                    year = doc["targets"][year_key]
                    groups = year.get(key)
        elif key in year:
            year[key] = value
        else:
            new_keys.append(f"{key} = {_value_text(value)}")
    text = _insert_keys(tomlkit.dumps(doc), f"targets.{year_key}", new_keys)
    if new_tables:
        text = text.rstrip("\n") + "\n\n" + "\n\n".join(new_tables) + "\n"
    return text


def with_targets_table(
    config_text: str, targets_text: str, next_year: int, *, force: bool = False
) -> str:
    """``dxkpi.toml`` text with ``[targets.<next_year>]`` (and its sub-tables) from the proposal
    file; every other line is kept byte for byte.

    Without a table for that year, the proposal's tables are appended at the end. With one, the
    call is an error unless ``force``, which lays the proposal over it (:func:`_adopt_into`):
    only the keys the proposal names change value; comments, key order and group targets the
    proposal does not name (a hand-written ``[targets.<year>.job_level.manager]`` override and
    its comments) are kept. The result is checked twice: as a configuration, and as data — it
    must read exactly as the old file with the proposal's keys laid over it, else nothing is
    returned (a :class:`PdcaError`)."""
    proposal = tomllib.loads(targets_text)
    year_key = str(next_year)
    if year_key not in proposal.get("targets", {}):
        raise PdcaError(
            f"提案ファイルに [targets.{next_year}] がありません",
            f"the proposal has no [targets.{next_year}] table",
        )
    adopted = proposal["targets"][year_key]
    parse_config({"targets": {year_key: adopted}}, "<proposal>")
    before = tomllib.loads(config_text)
    existing = before.get("targets", {})
    if year_key in existing and not force:
        raise PdcaError(
            f"dxkpi.toml には既に [targets.{next_year}] があります",
            f"dxkpi.toml already has [targets.{next_year}]",
            hint_ja="提案の値で上書きするなら --force を付けてください（提案にない目標とコメントは"
            "残ります）。",
            hint_en="use --force to lay the proposal over it (targets the proposal does not "
            "name, and comments, are kept).",
        )
    if year_key in existing:
        text = _adopt_into(config_text, year_key, adopted)
    else:
        marker = f"# FY{next_year}: adopted from the PDCA review (dxkpi pdca --adopt)"
        lines = targets_text.splitlines()
        start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), 0)
        block = "\n".join(lines[start:])  # the tables, without the proposal's header comments
        text = f"{config_text.rstrip(chr(10))}\n\n{marker}\n{block.strip()}\n"
    try:
        after: dict[str, Any] | None = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        after = None
    if after is None or after != _merged(before, {"targets": {year_key: adopted}}):
        raise PdcaError(
            f"[targets.{next_year}] を dxkpi.toml に安全に書き込めませんでした（ファイルは"
            "変更していません）",
            f"could not write [targets.{next_year}] into dxkpi.toml safely (the file is unchanged)",
            hint_ja="目標案の値を dxkpi.toml に手で写してください。",
            hint_en="copy the proposal's values into dxkpi.toml by hand.",
        )
    parse_config(after, "<dxkpi.toml>")
    return text
