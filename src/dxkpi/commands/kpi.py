"""``dxkpi kpi``: compute the KPI/KGI catalogue and show or export it.

Registered by the CLI group as ``command``. Errors become :class:`click.ClickException` with the
Japanese message first, then the English one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import polars as pl

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY
from dxkpi.commands.context import or_default
from dxkpi.commands.years import FISCAL_YEAR
from dxkpi.core.atomic import write_bytes
from dxkpi.core.errors import DxkpiError
from dxkpi.ingest.processed import load_partitioned, load_processed
from dxkpi.kpi.engine import compute, export_frame, select_kpis
from dxkpi.kpi.pooled import pooled_kpis
from dxkpi.project.config import Config, load_config
from dxkpi.reports import kpi_export as export

__all__ = ["BY_CHOICES", "FORMATS", "command"]

FORMATS = ("table", "csv", "xlsx", "json")
#: The groupings ``--by`` offers: the registry's (:data:`dxkpi.catalogue.kpis.GROUPINGS`).
BY_CHOICES = GROUPINGS


def _fail(ja: str, en: str) -> click.ClickException:
    return click.ClickException(f"{ja}\n{en}")


@click.command(name="kpi")
@click.option(
    "--fy",
    "fiscal_years",
    type=FISCAL_YEAR,
    multiple=True,
    help="年度 / fiscal year (repeatable; default: the latest on the staff list).",
)
@click.option(
    "--by",
    "groupings",
    type=click.Choice(BY_CHOICES),
    multiple=True,
    help="集計単位 / grouping (repeatable; default: city).",
)
@click.option(
    "--kpi",
    "kpis",
    multiple=True,
    help="指標ID / KPI id (repeatable; default: every KPI with data).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="出力形式 / output format.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="出力ファイル / output file (xlsx default: kpi.xlsx; csv/json default stdout).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="処理済みデータのフォルダ（既定: プロジェクトの data/processed）/ Processed data "
    "folder (default: the project's data/processed).",
)
@click.option(
    "--store",
    "store",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="市町村別に分割された統合データ（dxkpi ingest --cities）。--city なしで全市町村の合算 / "
    "A city-partitioned store (dxkpi ingest --cities): one city with --city, else pooled cells "
    "of all cities (csv/json/table).",
)
@click.option(
    "--city",
    "city",
    default=None,
    metavar="CODE",
    help="--store の中の 1 市町村（団体コード）/ one municipality of --store.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="設定ファイル（既定: プロジェクトの dxkpi.toml）/ config file (default: the "
    "project's dxkpi.toml).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="基準日 / as-of date (default: config, else the latest date in the data).",
)
def command(
    fiscal_years: tuple[int, ...],
    groupings: tuple[str, ...],
    kpis: tuple[str, ...],
    fmt: str,
    out: Path | None,
    data_dir: Path | None,
    store: Path | None,
    city: str | None,
    config_path: Path | None,
    as_of: dt.datetime | None,
) -> None:
    """KPI・KGI を計算して表示・出力する / Compute and export the KPI/KGI catalogue."""
    unknown = [k for k in kpis if k not in REGISTRY]
    if unknown:
        raise _fail(
            f"不明な指標IDです: {', '.join(unknown)}（使える指標: {', '.join(REGISTRY)}）",
            f"unknown KPI id: {', '.join(unknown)} (known: {', '.join(REGISTRY)})",
        )
    lacking = [
        (k, g) for k in kpis for g in groupings if g not in REGISTRY[k].groupings and g != "city"
    ]
    nowhere = sorted({g for _, g in lacking} - {g for k in kpis for g in REGISTRY[k].groupings})
    if lacking and (nowhere or len(kpis) == 1):
        pairs = ", ".join(f"{k} × {g}" for k, g in lacking)
        hints = "; ".join(f"{k}: {', '.join(REGISTRY[k].groupings)}" for k in dict(lacking))
        raise _fail(
            f"この指標はその集計単位では計算できません: {pairs}（使える集計単位 — {hints}）",
            f"these KPIs have no such grouping: {pairs} (groupings available — {hints})",
        )
    if lacking:  # other KPIs asked for have it: say which cells will be missing, go on
        click.echo(
            "集計単位がないため出力しない組み合わせ / not computed (no such grouping): "
            + ", ".join(f"{k} × {g}" for k, g in lacking),
            err=True,
        )
    if city is not None and store is None:
        raise _fail(
            "--city は --store（市町村別に分割された統合データ）と一緒に指定してください。",
            "--city names a municipality of --store: give --store too.",
        )
    if store is not None and data_dir is not None:
        raise _fail(
            "--store と --data は同時に指定できません（どちらか一方のデータを集計します）。",
            "--store and --data name two different data folders: give one.",
        )
    try:
        config = load_config(or_default(config_path, "config_file"))
        if store is not None and city is None:
            _pooled(store, config, fiscal_years, groupings, kpis, fmt, out)
            return
        data = (
            load_partitioned(store, city)
            if store is not None
            else load_processed(or_default(data_dir, "processed"))
        )
        years = list(fiscal_years) or data.fiscal_years()[-1:]
        if not years:
            raise _fail(
                "職員名簿に年度がありません。--fy で年度を指定してください。",
                "the staff list has no fiscal year; give one with --fy.",
            )
        data.check_fiscal_years(years)
        if not kpis:
            _, skipped = select_kpis(data, None)
            if skipped:
                click.echo(
                    f"データがないため計算しない指標 / skipped for missing data: "
                    f"{', '.join(skipped)}",
                    err=True,
                )
        rich = compute(
            data,
            config,
            kpis=list(kpis) or None,
            fiscal_years=years,
            by=list(groupings) or ["city"],
            as_of=as_of.date() if as_of else None,
        )
    except DxkpiError as err:
        raise click.ClickException(err.message()) from err
    k = config.privacy.min_cell_size
    if fmt == "table":
        from rich.console import Console

        Console().print(export.to_table(rich, k))
        return
    if fmt == "xlsx":
        path = export.write_xlsx(rich, out or Path("kpi.xlsx"), k)
        click.echo(f"書き出しました / written: {path}", err=True)
        return
    if fmt == "csv":
        payload = export.to_csv_bytes(export_frame(rich))
    else:
        payload = (export.to_json(export_frame(rich)) + "\n").encode("utf-8")
    if out is None:
        click.echo(payload, nl=False)
        return
    write_bytes(out, payload)
    click.echo(f"書き出しました / written: {out}", err=True)


def _pooled(
    store: Path,
    config: Config,
    fiscal_years: tuple[int, ...],
    groupings: tuple[str, ...],
    kpis: tuple[str, ...],
    fmt: str,
    out: Path | None,
) -> None:
    """Pooled cells of every city of ``store`` (:mod:`dxkpi.kpi.pooled`) as a table, CSV or JSON."""
    if fmt == "xlsx":
        raise _fail(
            "合算値は table・csv・json で出力できます（xlsx は未対応）。",
            "pooled cells are written as table, csv or json (not xlsx).",
        )
    years = list(fiscal_years) or load_partitioned(store).fiscal_years()[-1:]
    cells = pooled_kpis(store, config, years, kpis=list(kpis) or None)
    first = pl.col("group_by").str.split("|").list.first()
    cells = cells.filter(
        first.is_in(list(groupings) or ["city"]) & ~pl.col("kpi").str.starts_with("_")
    )
    if fmt == "table":
        with pl.Config(tbl_rows=-1, tbl_cols=-1):
            click.echo(cells)
        return
    payload = (
        export.to_csv_bytes(cells, cells.columns)
        if fmt == "csv"
        else (cells.write_json() + "\n").encode("utf-8")
    )
    if out is None:
        click.echo(payload, nl=False)
        return
    write_bytes(out, payload)
    click.echo(f"書き出しました / written: {out}", err=True)
