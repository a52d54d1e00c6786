"""`dxkpi behaviour`: did training change proposal behaviour? (staggered DiD on processed data)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from dxkpi.commands.context import or_default
from dxkpi.ingest.processed import load_processed
from dxkpi.models.behaviour import BehaviourResult, Outcome, Period, Treatment, behaviour_change
from dxkpi.reports.narrative import describe_behaviour

__all__ = ["command"]


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf → None, numpy scalars → Python, recursively."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _fmt(x: float | None, digits: int = 4) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _ci(ci: tuple[float, float] | None, digits: int = 4) -> str:
    return "—" if ci is None else f"[{_fmt(ci[0], digits)}, {_fmt(ci[1], digits)}]"


def _rows(r: BehaviourResult) -> list[tuple[str, str, str]]:
    """(label, estimate, 95% CI) lines of the summary table."""
    rows = [
        ("ATT (per employee-period) / 1人1期間あたり", _fmt(r.att), _ci(r.ci)),
        (
            "per 100 staff per year / 100人あたり年間",
            _fmt(r.per_100_year, 1),
            _ci(r.per_100_year_ci, 1),
        ),
        ("% of pre-training level / 受講前比 %", _fmt(r.pct_of_pre, 1), _ci(r.pct_of_pre_ci, 1)),
    ]
    for name, c in (("naive before/after / 単純前後比較", r.naive), ("TWFE", r.twfe)):
        if c is not None:
            rows.append((name, _fmt(c.estimate), _ci(c.ci)))
    pt = r.pretest_event
    rows.append(("pre-trend test p / 事前検定 p", _fmt(pt.p, 3), f"df {pt.df}"))
    rows.append(
        ("employees / treated / cohorts", str(r.n_employees), f"{r.n_treated} / {r.n_cohorts}")
    )
    return rows


@click.command("behaviour")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="処理済みデータのフォルダ（既定: プロジェクトの data/processed）/ Processed data "
    "folder (default: the project's data/processed).",
)
@click.option(
    "--period",
    type=click.Choice(["month", "quarter"]),
    default="month",
    show_default=True,
    help="期間の単位 / Period of the panel.",
)
@click.option(
    "--treatment",
    type=click.Choice(["phase2", "phase1", "phase3", "any"]),
    default="phase2",
    show_default=True,
    help="処置の定義（初回修了フェーズ）/ Treatment: first completed course of a phase.",
)
@click.option(
    "--outcome",
    type=click.Choice(["submitted", "implemented"]),
    default="submitted",
    show_default=True,
    help="成果 / Outcome: proposals submitted or implemented.",
)
@click.option(
    "--control",
    type=click.Choice(["notyet", "never"]),
    default="notyet",
    show_default=True,
    help="比較群 / Comparison group.",
)
@click.option(
    "--min-units",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="セルに必要な最小人数 / Minimum employees per cohort and comparison group.",
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default="ja",
    show_default=True,
    help="説明文の言語 / Language of the sentences.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="出力形式 / Output format.",
)
def command(
    data_dir: Path | None,
    period: Period,  # the click.Choice values are exactly the Literal's
    treatment: Treatment,
    outcome: Outcome,
    control: str,
    min_units: int,
    lang: str,
    fmt: str,
) -> None:
    """研修で提案行動が変わったか（段階的導入の差の差分析）.

    Effect of first training on proposals per employee-period (Callaway & Sant'Anna, with the
    naive before/after and TWFE contrasts beside it), as extra proposals per 100 staff per year,
    with the pre-trend test and plain sentences.
    """
    result = behaviour_change(
        load_processed(or_default(data_dir, "processed")),
        period=period,
        treatment=treatment,
        outcome=outcome,
        control=control,
        min_units=min_units,
    )
    if fmt == "json":
        out = result.to_json_dict() | {"sentences": describe_behaviour(result, lang)}
        click.echo(json.dumps(_clean(out), ensure_ascii=False, allow_nan=False))
        return
    rows = _rows(result)
    width = max(len(r[0]) for r in rows)
    for label, est, ci in rows:
        click.echo(f"{label.ljust(width)}  {est:>10}  {ci}")
    click.echo("")
    for line in describe_behaviour(result, lang):
        click.echo(line)
