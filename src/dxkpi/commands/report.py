"""`dxkpi report`: run the report notebooks for a fiscal year into reports/FY<year>/."""

from __future__ import annotations

import datetime
import logging
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from dxkpi.commands.context import current_project
from dxkpi.commands.years import FISCAL_YEAR
from dxkpi.ingest.processed import FiscalYearError, load_processed
from dxkpi.reports.runner import latest_complete_fiscal_year, run_reports, write_kpi_workbook

__all__ = ["command"]


@click.command("report")
@click.option(
    "--fy",
    "fiscal_year",
    type=FISCAL_YEAR,
    default=None,
    help="対象年度（既定: データ上の直近の完了年度）/ Fiscal year "
    "(default: the latest complete one in the data).",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="このレポートだけ（複数可）/ Only these reports (repeatable).",
)
@click.option(
    "--departments",
    multiple=True,
    default=("all",),
    show_default=True,
    metavar="all|CODE",
    help="所属別レポートの対象 / Departments for the drill-down.",
)
@click.option(
    "--jobs",
    type=int,
    default=None,
    help="並列数（既定: CPU数＋1）/ Parallel notebooks (default: CPU count + 1).",
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default="ja",
    show_default=True,
    help="言語 / Language.",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="失敗しても他のレポートを続ける / Run the other reports after a failure.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="処理済みデータのフォルダ（既定: プロジェクトの data/processed）/ Processed data "
    "folder (default: the project's data/processed).",
)
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="出力先（既定: プロジェクトの reports）/ Output folder (default: the project's reports/).",
)
@click.option(
    "--min-cell-size",
    type=int,
    default=None,
    help="秘匿の最小人数（既定: dxkpi.toml）/ Suppression threshold k.",
)
@click.option(
    "--shares",
    "shares_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="他団体の共有ファイル（*.dxshare）のフォルダ。指定すると団体間比較レポートも作る / "
    "Folder of peer municipalities' share files: adds the benchmark report.",
)
@click.option(
    "--log-file",
    type=click.Path(path_type=Path),
    default=None,
    help="ログファイル（既定: reports/logs/…）/ Log file (default reports/logs/…).",
)
def command(
    fiscal_year: int | None,
    only: tuple[str, ...],
    departments: tuple[str, ...],
    jobs: int | None,
    lang: str,
    keep_going: bool,
    data_dir: Path | None,
    reports_dir: Path | None,
    min_cell_size: int | None,
    shares_dir: Path | None,
    log_file: Path | None,
) -> None:
    """レポート用ノートブックを実行し、HTML・図・Excel を reports/FY<年度>/ に出力する.

    Executes every report template in notebooks/reports/ with papermill (the department
    drill-down once per department), in parallel, and writes executed notebooks, offline HTML
    (code hidden), figures/*.png, kpi_FY<year>.xlsx, index.html and run.json. The output folder
    is replaced only when the run completes; a lock stops two runs writing the same year.
    Exit code 1 when any report failed (its partial notebook is kept as <name>.failed.ipynb).
    Suitable for cron / Task Scheduler: logs go to --log-file as well as the terminal.
    """
    project = current_project()
    data_dir = data_dir if data_dir is not None else project.processed
    reports_dir = reports_dir if reports_dir is not None else project.reports
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = log_file or reports_dir / "logs" / f"report-{stamp}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    package_logger = logging.getLogger("dxkpi")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    package_logger.propagate = False  # the terminal gets the progress lines below
    log = logging.getLogger("dxkpi.reports.runner")

    console = Console(stderr=True)
    fy = fiscal_year or latest_complete_fiscal_year(load_processed(data_dir))
    log.info("report run FY%s started (log %s)", fy, log_path)
    with console.status(f"FY{fy} レポート作成中 / running reports…") as status:

        def progress(msg: str) -> None:
            log.debug(msg)
            handler.handle(
                logging.makeLogRecord(
                    {
                        "msg": msg,
                        "levelno": logging.INFO,
                        "levelname": "INFO",
                        "name": "dxkpi.reports.runner",
                    }
                )
            )
            console.print(msg, markup=False, highlight=False)  # names from data: not markup
            status.update(f"FY{fy}: {escape(msg)}")

        try:
            result = run_reports(
                fiscal_year=fy,
                project=project,
                data_dir=data_dir,
                reports_dir=reports_dir,
                lang=lang,
                min_cell_size=min_cell_size,
                only=only,
                departments=departments,
                jobs=jobs,
                keep_going=keep_going,
                progress=progress,
                shares_dir=shares_dir,
                write_extras=lambda folder, data: write_kpi_workbook(
                    folder, data, fy, min_cell_size, project
                ),
            )
        except FiscalYearError as err:  # a year that cannot be reported: exit 1, nothing run
            log.error(err.message())
            raise click.ClickException(err.message()) from err
    ok = sum(r.status == "ok" for r in result.results)
    summary = (
        f"{ok}/{len(result.results)} 件成功 / reports ok → "
        f"{result.folder / 'index.html'} (log: {log_path})"
    )
    log.info(summary)
    click.echo(summary)
    for r in result.results:
        if r.status == "skipped":
            click.echo(f"対象データなし SKIPPED {r.name}: {(r.error or {}).get('evalue')}")
        elif r.status != "ok":
            e = r.error or {}
            msg = (
                f"失敗 FAILED {r.name}: セル cell {e.get('cell_index')} "
                f"{e.get('ename')}: {e.get('evalue')}"
            )
            log.error(msg)
            click.echo(msg, err=True)
    if not result.ok:
        sys.exit(1)
