"""``dxkpi benchmark``: pool the share files of many municipalities and show where one stands."""

from __future__ import annotations

import io
from pathlib import Path

import click
from rich.console import Console

from dxkpi.commands.context import current_project
from dxkpi.commands.years import FISCAL_YEAR
from dxkpi.core.atomic import write_text
from dxkpi.core.errors import Where
from dxkpi.core.project import ProjectNotFoundError
from dxkpi.peers.benchmark import BenchmarkError, benchmark, read_shares
from dxkpi.peers.share import SHARE_GROUPINGS
from dxkpi.project.config import load_config, municipality_code
from dxkpi.reports.peers_view import benchmark_json, benchmark_table, latest_fiscal_year

__all__ = ["command"]


def _project_city() -> str | None:
    """``[city] code`` of the project around the working folder, if there is one."""
    try:
        project = current_project()
    except ProjectNotFoundError:
        return None
    return load_config(project.config_file).city.code


@click.command("benchmark")
@click.option(
    "--shares",
    "shares_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="共有ファイル（*.dxshare）のフォルダ / Folder of share files (*.dxshare).",
)
@click.option(
    "--city",
    "city",
    default=None,
    help="強調する団体コード（既定: プロジェクト内なら dxkpi.toml の [city] code）/ "
    "Municipality to show (default: [city] code of the project's dxkpi.toml, if any).",
)
@click.option(
    "--fy",
    "fiscal_year",
    type=FISCAL_YEAR,
    default=None,
    help="表に出す年度（既定: 共有ファイルの最新年度）/ Fiscal year of the table (default: the "
    "latest in the files).",
)
@click.option(
    "--by",
    "grouping",
    type=click.Choice(SHARE_GROUPINGS),
    default="city",
    show_default=True,
    help="表の集計単位 / Grouping of the table.",
)
@click.option(
    "--min-cell-size",
    type=int,
    default=None,
    help="秘匿の最小人数 k（共有ファイルの最大の k 未満にはならない）/ Suppression threshold k "
    "(never below the largest k of the files).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="出力形式（json は全年度・全集計単位）/ Output format (json: every year and grouping).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="出力ファイル（既定: 画面）/ Output file (default: the terminal).",
)
def command(
    shares_dir: Path,
    city: str | None,
    fiscal_year: int | None,
    grouping: str,
    min_cell_size: int | None,
    fmt: str,
    out: Path | None,
) -> None:
    """他団体の共有ファイルを合算し、管理限界（ファネルプロット）で位置を示す.

    Reads every share file of --shares (a corrupted file or another schema version is refused,
    naming the file), pools numerators and denominators for every municipality and per
    category, staff size band and prefecture, re-applies suppression to every pooled cell, and
    gives each municipality's position against the 95% and 99.8% control limits around the
    pooled rate of its peers — inside, above or below, never a rank.
    """
    shares = read_shares(shares_dir)
    codes = {s.municipality.code for s in shares}
    chosen = municipality_code(city) if city is not None else _project_city()
    if city is None and chosen is not None and chosen not in codes:
        click.echo(
            f"注意: プロジェクトの団体 {chosen} の共有ファイルがないため、強調せずに表示します。\n"
            f"note: no share file of this project's municipality {chosen}: shown without it.",
            err=True,
        )
        chosen = None
    if chosen is not None and chosen not in codes:
        raise BenchmarkError(
            f"団体 {chosen} の共有ファイルがありません",
            f"no share file of municipality {chosen}",
            where=Where(file=str(shares_dir)),
            hint_ja="自団体の dxkpi share のファイルもフォルダに入れるか、--city を直して"
            "ください。",
            hint_en="put your own share file into the folder too, or correct --city.",
        )
    bench = benchmark(shares, min_cell_size)
    for ja, en in bench.warnings:
        click.echo(f"注意: {ja}\nnote: {en}", err=True)
    if fmt == "json":
        text = benchmark_json(bench) + "\n"
    else:
        year = fiscal_year if fiscal_year is not None else latest_fiscal_year(bench)
        table = benchmark_table(bench, year, grouping, chosen)
        if out is None:
            Console().print(table)
            return
        console = Console(file=io.StringIO(), record=True, width=200)
        console.print(table)
        text = console.export_text()
    if out is None:
        click.echo(text, nl=False)
        return
    write_text(out, text)
    click.echo(f"書き出しました / written: {out}", err=True)
