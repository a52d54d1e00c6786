"""`dxkpi design`: next year's candidate roll-outs, their minimum detectable effect and power.

The numbers come from :func:`dxkpi.models.design.design_from_data`; the sentences from
:func:`dxkpi.reports.pdca_text.design_lines` (the PDCA review's 次年度 section says the same).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from dxkpi.catalogue.format import PER_100_STAFF_YEAR
from dxkpi.commands.context import or_default
from dxkpi.commands.years import FISCAL_YEAR
from dxkpi.core.jsontext import json_text
from dxkpi.ingest.processed import load_processed
from dxkpi.models.behaviour import TREATMENTS
from dxkpi.models.design import (
    Candidate,
    DesignResult,
    candidates_from_toml,
    design_from_data,
)
from dxkpi.reports.pdca_text import design_lines

__all__ = ["command"]


def _counts(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise click.BadParameter(
            "正の整数をカンマ区切りで指定してください（例: 8,12,16）/ give positive integers "
            "separated by commas (e.g. 8,12,16)",
            param_hint="--candidates",
        )
    return values


def _plans(path: Path) -> tuple[Candidate, ...]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise click.ClickException(
            f"計画ファイル {path} を読めません（{err}）。\n"
            f"cannot read the plan file {path} ({err})."
        ) from err
    return candidates_from_toml(doc)


def _table(res: DesignResult, k: int) -> list[tuple[str, ...]]:
    head = (
        "案 plan",
        "所属 depts",
        "研修 trained",
        "比較 compared",
        "SE/100人年",
        "最小検出効果 MDE/100人年",
        "検出力 power",
    )
    rec = res.recommended()

    def people(n: int) -> str:
        return "<k" if 0 < n < k else str(n)

    rows: list[tuple[str, ...]] = [head]
    for p in res.predictions:
        rows.append(
            (
                p.candidate.name + (" *" if p is rec else ""),
                str(p.n_departments),
                people(p.n_trained),
                people(p.n_comparison),
                f"{p.se * PER_100_STAFF_YEAR:.1f}",
                f"{p.mde_per_100:.1f}",
                "—" if p.power is None else f"{100 * p.power:.0f}%",
            )
        )
    return rows


@click.command("design")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="処理済みデータのフォルダ（既定: プロジェクトの data/processed）/ Processed data "
    "folder (default: the project's data/processed).",
)
@click.option(
    "--fy",
    "fiscal_year",
    type=FISCAL_YEAR,
    required=True,
    help="計画する年度（職員名簿の最新年度より後）/ Fiscal year planned (after the staff "
    "list's latest year).",
)
@click.option(
    "--candidates",
    default=None,
    metavar="N,N,...",
    help="来年度に参加する所属の数の案（カンマ区切り）。各案は未研修の職員が多い所属から順に N "
    "所属を選び、3回（4月・8月・12月修了）に順番に割り当てます / Candidate numbers of "
    "departments joining next year (comma-separated). Each takes the N departments with the "
    "most untrained staff, assigned in turn to three waves (courses completed in April, August, "
    "December).",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="所属と時期を明示した案の TOML（[[plan]] name, staff_per_department, [[plan.wave]] "
    "month, departments）/ TOML of explicit plans: which departments in which wave.",
)
@click.option(
    "--effect",
    type=float,
    default=None,
    help="検出力を計算する効果（件/100人・年）。既定: 現在の推定効果 / Effect to compute power "
    "against, proposals per 100 staff-years (default: the current estimate).",
)
@click.option(
    "--treatment",
    type=click.Choice(["auto", *TREATMENTS]),
    default="auto",
    show_default=True,
    help="導入する研修: auto = 未研修者が残る最初のフェーズ（phase2, phase3 の順）/ Treatment "
    "rolled out: auto = the first phase (phase2, phase3) with untrained staff left.",
)
@click.option(
    "--staff-per-department",
    type=click.IntRange(min=1),
    default=None,
    help="1所属あたりの受講枠（既定: 未研修の全員）/ Course places per department (default: "
    "all its untrained staff).",
)
@click.option(
    "--min-units",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="セルに必要な最小人数（分析と同じ）/ Minimum staff per cell, as the analysis.",
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
    fiscal_year: int,
    candidates: str | None,
    plan_file: Path | None,
    effect: float | None,
    treatment: str,
    staff_per_department: int | None,
    min_units: int,
    lang: str,
    fmt: str,
) -> None:
    """来年度の導入案ごとの検出できる最小の効果と検出力（Act → Plan）.

    From the city's own proposal panel (month-to-month variance, autocorrelation, department ×
    month swings, untrained staff per department): for each candidate roll-out, the SE of next
    year's behaviour estimate, the minimum detectable effect (80% power, 5% two-sided) and the
    power against the current estimated effect, with the recommended plan (*: the smallest
    roll-out reaching 80%). Give --candidates, --plan or both.
    """
    chosen: list[int | Candidate] = []
    if candidates:
        chosen.extend(_counts(candidates))
    if plan_file is not None:
        chosen.extend(_plans(plan_file))
    if not chosen:
        raise click.UsageError(
            "--candidates か --plan を指定してください / give --candidates or --plan."
        )
    res = design_from_data(
        load_processed(or_default(data_dir, "processed")),
        fiscal_year,
        chosen,
        treatment=treatment,
        effect_per_100=effect,
        staff_per_department=staff_per_department,
        min_units=min_units,
    )
    if fmt == "json":
        click.echo(json_text(res.to_json_dict() | {"sentences": design_lines(res, lang)}))
        return
    rows = _table(res, min_units)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    click.echo(
        f"FY{res.fiscal_year} {res.treatment}: {res.n_pool} untrained / 未研修 "
        f"{res.n_pool}人, {len(res.pool)} departments / 所属"
    )
    for r in rows:
        click.echo("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    click.echo("")
    for line in design_lines(res, lang):
        click.echo(line)
    for note in res.notes:
        click.echo(f"note: {note}")
