"""`dxkpi behaviour`: did training change proposal behaviour? (staggered DiD on processed data).

``--by course`` / ``--by phase``: each course's (phase's) effect at the employee's stage with its
verdict (:mod:`dxkpi.models.courses`, :mod:`dxkpi.models.verdicts`), judged with the project's
smallest effect of interest (``[decisions]`` in dxkpi.toml).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from dxkpi.catalogue.labels import label
from dxkpi.commands.context import or_default
from dxkpi.core.jsontext import json_text
from dxkpi.ingest.processed import load_processed
from dxkpi.models.behaviour import (
    BehaviourResult,
    Outcome,
    Period,
    Timing,
    Treatment,
    behaviour_change,
)
from dxkpi.models.courses import CourseEffects
from dxkpi.models.drdid import EST_METHODS, EstMethod
from dxkpi.pdca.programme import course_effects
from dxkpi.project.config import load_config
from dxkpi.reports.narrative import describe_behaviour, describe_estimand

__all__ = ["command"]


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
        (
            "ratio to no training (1.0 = no change) / 非受講時比",
            _fmt(None if r.ratio is None else r.ratio.ratio, 3),
            _ci(None if r.ratio is None else r.ratio.ratio_ci, 3),
        ),
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


#: People counts in a course row: shown only when at least k (0 is shown: nobody).
_PEOPLE = ("n_completers", "n_treated", "n_not_at_stage")


def _effect_rows(effects: CourseEffects, k: int) -> list[dict[str, Any]]:
    """The JSON rows of ``--by course/phase``: people counts below ``k`` are null and named in
    ``suppressed``; every row carries the family's adjustment and smallest effect."""
    rows = []
    for r in effects.to_json_rows():
        r |= {
            "estimand_text": describe_estimand(r["phase"], r["course_id"] is not None, "en"),
            "estimand_text_ja": describe_estimand(r["phase"], r["course_id"] is not None, "ja"),
        }
        hidden = [c for c in _PEOPLE if r[c] is not None and 0 < r[c] < k]
        rows.append(
            {key: (None if key in hidden else value) for key, value in r.items()}
            | {
                "suppressed": hidden,
                "adjustment": "holm",
                "family_size": effects.family_size,
                "alpha": effects.alpha,
                "smallest_effect": effects.smallest,
                "smallest_effect_per_100_staff_year": effects.smallest_per_100_year,
                "unit": "proposals per employee-month",
            }
        )
    return rows


def _effect_table(rows: list[dict[str, Any]], by: str) -> list[tuple[str, ...]]:
    head = (
        "研修 course" if by == "course" else "フェーズ phase",
        "フェーズ",
        "推定対象 estimand",
        "効果/人月 effect",
        "95%区間 CI",
        "倍率 ratio (95%)",
        "補正後p p_adj",
        "検出可能な最小効果 mde",
        "判定 verdict",
        "修了者 n",
    )
    out: list[tuple[str, ...]] = [head]
    for r in rows:
        ratio = (
            "—"
            if r["ratio"] is None
            else f"{r['ratio']:.2f}"
            + ("" if r["ratio_ci"] is None else f" {_ci(tuple(r['ratio_ci']), 2)}")
        )
        verdict = label("verdict", r["verdict"]) + f" {r['verdict']}"
        if r["reason"]:
            verdict += f"（{label('course_reason', r['reason'])} / {r['reason']}）"
        n = "<k" if "n_treated" in r["suppressed"] else str(r["n_treated"] or "—")
        out.append(
            (
                r["course_id"] or str(r["phase"]),
                str(r["phase"]),
                r["estimand"],
                _fmt(r["effect"]),
                _ci(None if r["ci_low"] is None else (r["ci_low"], r["ci_high"])),
                ratio,
                _fmt(r["p_adjusted"], 3),
                _fmt(r["mde"]),
                verdict,
                n,
            )
        )
    return out


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
    "--timing",
    type=click.Choice(["next", "same"]),
    default="next",
    show_default=True,
    help="処置の開始: next = 修了した月の翌月から、same = 修了した月から / When treatment "
    "starts: next = the period after the completion period, same = the completion period.",
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
    "--covariates",
    default=None,
    metavar="default|A,B",
    help="条件付き平行トレンドの共変量: default = 職層・DX人材タイプ・所属の規模帯、またはパネルの"
    "列（カンマ区切り）。既定はなし / Covariates for conditional parallel trends: default = job "
    "level, talent type and department size band, or panel columns (comma-separated); none by "
    "default.",
)
@click.option(
    "--est-method",
    type=click.Choice(EST_METHODS),
    default="dr",
    show_default=True,
    help="共変量ありの推定法（dr = 二重頑健、ipw、reg）/ Estimator with covariates (dr = doubly "
    "robust, ipw, reg).",
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default="ja",
    show_default=True,
    help="説明文の言語 / Language of the sentences.",
)
@click.option(
    "--by",
    type=click.Choice(["course", "phase"]),
    default=None,
    help="研修別・フェーズ別の効果と判定（同じ段階の未受講者と比較）/ Effect and verdict per "
    "course or phase, against staff at the same stage not yet trained.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="設定ファイル（--by で使用。既定: プロジェクトの dxkpi.toml）/ Config file (for --by; "
    "default: the project's dxkpi.toml).",
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
    timing: Timing,
    control: str,
    min_units: int,
    covariates: str | None,
    est_method: EstMethod,
    lang: str,
    by: str | None,
    config_path: Path | None,
    fmt: str,
) -> None:
    """研修で提案行動が変わったか（段階的導入の差の差分析）.

    Effect of first training on proposals per employee-period (Callaway & Sant'Anna, with the
    naive before/after and TWFE contrasts beside it), as extra proposals per 100 staff per year,
    with the pre-trend test and plain sentences. ``--by course`` / ``--by phase``: the effect of
    each course (phase) at the employee's stage with its verdict — effect, no effect of
    practical size, or cannot tell — Holm-adjusted across the courses judged.
    ``--covariates default`` conditions parallel trends on job level, talent type and department
    size band (``--est-method``; off by default: see ``dxkpi.models.behaviour.estimate_panel``).
    """
    if by is not None:
        config = load_config(or_default(config_path, "config_file"))
        data = load_processed(or_default(data_dir, "processed"))
        effects = course_effects(
            data, config, by="phase" if by == "phase" else "course", min_comparison=min_units
        )
        effect_list = _effect_rows(effects, config.privacy.min_cell_size)
        if fmt == "json":
            click.echo(json_text(effect_list))
            return
        table = _effect_table(effect_list, by)
        widths = [max(len(c[i]) for c in table) for i in range(len(table[0]))]
        for cells in table:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)))
        click.echo("")
        click.echo(
            f"判定は推定できた{effects.family_size}件を Holm 法で多重比較補正（全体 5%）、"
            f"最小の意味のある効果 ±{effects.smallest_per_100_year:.0f}件/100人・年。"
            f"/ Verdicts Holm-adjusted over "
            f"{effects.family_size} estimates; smallest effect of interest "
            f"±{effects.smallest_per_100_year:.0f} per 100 staff-years."
        )
        return
    result = behaviour_change(
        load_processed(or_default(data_dir, "processed")),
        period=period,
        treatment=treatment,
        outcome=outcome,
        control=control,
        min_units=min_units,
        timing=timing,
        covariates=covariates,
        est_method=est_method,
    )
    if fmt == "json":
        out = result.to_json_dict() | {"sentences": describe_behaviour(result, lang)}
        click.echo(json_text(out))
        return
    rows = _rows(result)
    width = max(len(r[0]) for r in rows)
    for name, est, ci in rows:
        click.echo(f"{name.ljust(width)}  {est:>10}  {ci}")
    click.echo("")
    for line in describe_behaviour(result, lang):
        click.echo(line)
    overlap = result.attgt.overlap
    if overlap is not None:
        click.echo(
            f"共変量 / covariates: {', '.join(result.covariates)} ({result.est_method}); "
            f"{overlap.sentence()}"
        )
