"""`dxkpi pdca`: the year-end PDCA review (report, review log, target adoption, PDF)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click

from dxkpi.commands.context import current_project
from dxkpi.commands.years import FISCAL_YEAR
from dxkpi.core.atomic import write_file, write_text
from dxkpi.core.fiscal import fy_date
from dxkpi.ingest.processed import FiscalYearError, load_processed
from dxkpi.pdca import (
    PdcaError,
    ReviewAction,
    ReviewLog,
    load_review_log,
    proposed_targets_name,
    review_log_path,
    save_review_log,
    with_targets_table,
)
from dxkpi.reports.runner import latest_complete_fiscal_year, run_reports

__all__ = ["CHROMIUM", "REPORT", "adopt", "chromium_missing", "command", "print_pdf"]

REPORT = "pdca_review"
CHROMIUM = "chromium"


def chromium_missing() -> PdcaError:
    """The error shown when --pdf cannot find headless Chromium."""
    return PdcaError(
        "PDF を作るには Chromium が必要ですが、見つかりません。",
        "Making the PDF needs Chromium, which was not found.",
        hint_ja="`apt-get install chromium fonts-noto-cjk` でインストールしてから再実行してください"
        "（HTML 版はそのまま使えます）。",
        hint_en="install it with `apt-get install chromium fonts-noto-cjk` and run again "
        "(the HTML report is ready as it is).",
    )


def print_pdf(page: Path, pdf: Path, *, timeout: int = 180) -> Path:
    """Print an HTML report to an A4 PDF with headless Chromium (atomically)."""
    exe = shutil.which(CHROMIUM)
    if exe is None:
        raise chromium_missing()

    def chromium_print(tmp: Path) -> None:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            page.resolve().as_uri(),
        ]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as err:
            raise PdcaError(
                f"Chromium で PDF を作れませんでした: {err}",
                f"Chromium could not print the PDF: {err}",
            ) from err
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise PdcaError("Chromium が PDF を書き出しませんでした。", "Chromium wrote no PDF.")

    write_file(pdf, chromium_print)
    return pdf


def _city_targets(proposal_text: str, year: int) -> dict[str, float]:
    table = tomllib.loads(proposal_text).get("targets", {}).get(str(year), {})
    return {k: float(v) for k, v in table.items() if isinstance(v, int | float)}


def _log_skeleton(fiscal_year: int, adopted: dict[str, float]) -> ReviewLog:
    """An empty review log to fill in at the meeting (one example action, status planned)."""
    example = ReviewAction(
        "（例）提案の少ない所属で業務改善ワークショップを開く / (example) run improvement "
        "workshops in departments with few proposals",
        "DX推進課長 / head of the DX office",
        fy_date(fiscal_year + 1, 9, 30),
        "proposals_per_100",
        "planned",
        "会議で書き換えてください / replace at the meeting",
    )
    return ReviewLog(fiscal_year, None, adopted, (example,))


def _publish_review_files(folder: Path, fiscal_year: int, reviews: Path) -> list[str]:
    """Copy the run's proposal into reviews/ (never over an edited one) and start the review log."""
    said = []
    name = proposed_targets_name(fiscal_year + 1)
    fresh = folder / name
    target = reviews / name
    if fresh.is_file():
        if target.exists() and target.read_text(encoding="utf-8") != fresh.read_text(
            encoding="utf-8"
        ):
            said.append(
                f"目標案は既存の {target} を残しました（新しい案: {fresh}）/ kept the "
                f"existing {target}; the new proposal is {fresh}"
            )
        else:
            write_text(target, fresh.read_text(encoding="utf-8"))
            said.append(f"来年度の目標案 / proposed targets → {target}")
    log_path = review_log_path(fiscal_year, reviews)
    if not log_path.exists() and fresh.is_file():
        adopted = _city_targets(fresh.read_text(encoding="utf-8"), fiscal_year + 1)
        save_review_log(_log_skeleton(fiscal_year, adopted), log_path)
        said.append(f"会議の記録用ファイル / review log to fill in → {log_path}")
    return said


def adopt(fiscal_year: int, config_path: Path, reviews: Path, *, yes: bool, force: bool) -> Path:
    """Copy reviews/FY<fy+1>-proposed-targets.toml into the config as [targets.<fy+1>]."""
    next_year = fiscal_year + 1
    proposal = reviews / proposed_targets_name(next_year)
    if not proposal.is_file():
        raise PdcaError(
            f"目標案 {proposal} がありません。",
            f"no proposal at {proposal}.",
            hint_ja=f"先に `dxkpi pdca --fy {fiscal_year}` を実行してください。",
            hint_en=f"run `dxkpi pdca --fy {fiscal_year}` first.",
        )
    proposal_text = proposal.read_text(encoding="utf-8")
    current = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    updated = with_targets_table(current, proposal_text, next_year, force=force)
    targets = _city_targets(proposal_text, next_year)
    click.echo(
        f"{config_path} に [targets.{next_year}] を書き込みます / will write "
        f"[targets.{next_year}] into {config_path}:"
    )
    for kpi, value in targets.items():
        click.echo(f"  {kpi} = {value:g}")
    if not yes:
        click.confirm("採用しますか？ / Adopt these targets?", abort=True)
    write_text(config_path, updated)
    log_path = review_log_path(fiscal_year, reviews)
    log = load_review_log(log_path) or _log_skeleton(fiscal_year, {})
    save_review_log(dataclasses.replace(log, adopted_targets=targets), log_path)
    return config_path


@click.command("pdca")
@click.option(
    "--fy",
    "fiscal_year",
    type=FISCAL_YEAR,
    default=None,
    help="レビューする年度（既定: データ上の直近の完了年度）/ Fiscal year to review.",
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default="ja",
    show_default=True,
    help="言語 / Language.",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="配布用 PDF も作る（Chromium が必要）/ Also print a PDF (needs Chromium).",
)
@click.option(
    "--adopt",
    "adopt_targets",
    is_flag=True,
    help="目標案を dxkpi.toml に採用する / Adopt the proposed targets into dxkpi.toml.",
)
@click.option("--yes", is_flag=True, help="確認しない（スクリプト用）/ Do not ask (scripts).")
@click.option(
    "--force",
    is_flag=True,
    help="既存の来年度目標に目標案の値を上書きする（案にない目標とコメントは残す）/ Lay the "
    "proposal over an existing [targets.<fy+1>] (targets it does not name, and comments, stay).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="取込済みデータ（既定: プロジェクトの data/processed）/ Processed-data folder "
    "(default: the project's data/processed).",
)
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="出力先（年度ごとに FY<年度>/。既定: プロジェクトの reports/pdca）/ Output folder "
    "(FY<year>/ inside; default: the project's reports/pdca).",
)
@click.option(
    "--min-cell-size",
    type=int,
    default=None,
    help="秘匿の最小人数（既定: dxkpi.toml）/ Suppression threshold k.",
)
def command(
    fiscal_year: int | None,
    lang: str,
    pdf: bool,
    adopt_targets: bool,
    yes: bool,
    force: bool,
    data_dir: Path | None,
    reports_dir: Path | None,
    min_cell_size: int | None,
) -> None:
    """年度末の PDCA レビュー資料を作る（目標と実績・行動変容・ROI・来年度目標案）.

    Works on the project found from the working folder (or --project). Runs
    notebooks/reports/pdca_review.ipynb through the report runner (same lock and atomic
    publishing) into reports/pdca/FY<year>/pdca_review.html, copies the proposed targets to
    reviews/FY<year+1>-proposed-targets.toml (an edited one is never overwritten) and starts
    reviews/FY<year>.toml, where the meeting records its decisions; next year's review shows
    them. --adopt writes the (edited) proposal into dxkpi.toml as [targets.<year+1>] after
    confirmation, keeping every comment, the key order and group targets the proposal does not
    name (with --force over an existing table: only the proposal's keys change).
    --pdf prints an A4 PDF with headless Chromium.
    """
    project = current_project()
    data_dir = data_dir if data_dir is not None else project.processed
    reports_dir = reports_dir if reports_dir is not None else project.reports / "pdca"
    fy = fiscal_year or latest_complete_fiscal_year(load_processed(data_dir))
    if adopt_targets:
        path = adopt(fy, project.config_file, project.reviews, yes=yes, force=force)
        click.echo(f"採用しました / adopted → {path} [targets.{fy + 1}]")
        return
    if pdf and shutil.which(CHROMIUM) is None:
        raise chromium_missing()
    try:
        result = run_reports(
            fiscal_year=fy,
            project=project,
            data_dir=data_dir,
            reports_dir=reports_dir,
            lang=lang,
            min_cell_size=min_cell_size,
            only=(REPORT,),
            progress=lambda msg: click.echo(msg, err=True),
        )
    except FiscalYearError as err:  # a year that cannot be reviewed: exit 1, nothing run
        raise click.ClickException(err.message()) from err
    if not result.ok:
        for r in result.results:
            e = r.error or {}
            click.echo(
                f"失敗 FAILED {r.name}: セル cell {e.get('cell_index')} "
                f"{e.get('ename')}: {e.get('evalue')}",
                err=True,
            )
        sys.exit(1)
    page = result.folder / f"{REPORT}.html"
    click.echo(f"PDCA レビュー / review → {page}")
    for line in _publish_review_files(result.folder, fy, project.reviews):
        click.echo(line)
    if pdf:
        click.echo(f"PDF → {print_pdf(page, result.folder / f'{REPORT}.pdf')}")
