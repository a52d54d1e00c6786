"""The ``dxkpi`` command line: a thin layer over the library.

Each command lives in :mod:`dxkpi.commands` and is imported only when it runs, so ``dxkpi
--help`` and light commands start fast (Great Expectations alone takes seconds to import).
Library errors (:class:`dxkpi.core.errors.DxkpiError`) become a Japanese + English message and exit
code 2; so does an ``OSError`` that reaches the top (disk full, permission, read-only file system:
mapped by :func:`dxkpi.core.errors.os_fault`). No traceback is shown unless ``--debug`` is given.
A run that completes but finds faults exits 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from dxkpi import __version__
from dxkpi.commands.context import CliState
from dxkpi.core.errors import DxkpiError, os_fault
from dxkpi.core.project import ENV_VAR

__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]

# name → (module, one-line help shown by `dxkpi --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "sample": (
        "dxkpi.commands.sample",
        "見本の市のデータを作る / Generate the built-in sample city",
    ),
    "ingest": (
        "dxkpi.commands.ingest",
        "生データを検証して取り込む / Validate and ingest data/raw",
    ),
    "map": (
        "dxkpi.commands.map",
        "自前の書き出しファイルの対応表を提案 / Propose a mapping for a system's export",
    ),
    "validate": (
        "dxkpi.commands.validate",
        "直近の取込結果を表示 / Show the last ingest summary (manifest)",
    ),
    "expectations": (
        "dxkpi.commands.expectations",
        "検証スイートを契約から生成・照合 / Write or check the GX suites",
    ),
    "contract": (
        "dxkpi.commands.contract",
        "データ契約の表を出力・照合 / Print or check the data-contract docs",
    ),
    "kpi": ("dxkpi.commands.kpi", "KPI・KGI の計算と出力 / Compute and export KPIs and KGIs"),
    "report": (
        "dxkpi.commands.report",
        "レポート一式を作成 / Run the report notebooks into reports/FY<year>",
    ),
    "behaviour": (
        "dxkpi.commands.behaviour",
        "研修による行動変容（差の差分析）/ Behaviour change from training (DiD)",
    ),
    "pdca": ("dxkpi.commands.pdca", "年度末の PDCA レビュー / Year-end PDCA review"),
    "share": (
        "dxkpi.commands.share",
        "他団体と共有する KPI ファイルを作成 / Write the share file for peer municipalities",
    ),
    "benchmark": (
        "dxkpi.commands.benchmark",
        "団体間比較（合算・ファネルプロット）/ Benchmark across municipalities (funnel plots)",
    ),
    "did": (
        "dxkpi.commands.did",
        "任意のパネルで差の差分析 / Staggered difference-in-differences on any panel",
    ),
    "design": (
        "dxkpi.commands.design",
        "来年度の導入案と検出できる最小の効果 / Next year's roll-out: minimum detectable effects",
    ),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        cmd: click.Command = module.command
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        with formatter.section("Commands / コマンド"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dxkpi")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="プロジェクトのフォルダ（dxkpi.toml のある所。既定: 作業フォルダから上へ探す。"
    f"環境変数 {ENV_VAR} でも可）/ Project folder (default: found walking up from the "
    f"working folder, or {ENV_VAR}).",
)
@click.option("-v", "--verbose", count=True, help="詳細ログ / More log output (-vv: debug).")
@click.option(
    "--debug",
    is_flag=True,
    help="エラー時にトレースバックも表示 / Show the traceback with an error message.",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, verbose: int, debug: bool) -> None:
    """dxkpi — DX 人材育成の行動変容 KPI と KGI を測る分析ワークベンチ.

    Measures whether a city's DX talent-development programme changes how staff work, and
    whether that moves the results the city cares about. `dxkpi COMMAND --help` explains each
    command. Typical order: sample (or put your files in data/raw/) → ingest → kpi / report.
    Default folders (data/raw, data/processed, expectations, reports, reviews) are those of the
    project: the folder holding dxkpi.toml, found like git finds a repository.
    """
    state = ctx.ensure_object(CliState)
    state.project_dir, state.debug = project_dir, debug
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(message)s")


def _fail(err: DxkpiError, cause: BaseException, debug: bool) -> NoReturn:
    """Print the two-language message (after the traceback with ``--debug``); exit 2."""
    if debug:
        traceback.print_exception(cause, file=sys.stderr)
    click.echo(err.message(), err=True)
    sys.exit(2)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: domain errors and OS faults become a clear message and exit
    code 2 (with ``--debug``, after their traceback)."""
    state = CliState()
    try:
        return cli.main(args=argv, standalone_mode=False, obj=state)
    except DxkpiError as err:
        _fail(err, err, state.debug)
    except OSError as err:
        _fail(os_fault(err), err, state.debug)
    except click.exceptions.Abort:
        click.echo("中断しました / Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
