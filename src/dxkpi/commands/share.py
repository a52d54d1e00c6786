"""``dxkpi share``: write the share file a city may publish to its peers."""

from __future__ import annotations

from pathlib import Path

import click

from dxkpi.catalogue.labels import label
from dxkpi.commands.context import or_default
from dxkpi.commands.years import FISCAL_YEAR
from dxkpi.ingest.processed import load_processed, read_manifest
from dxkpi.peers.share import build_share, default_file_name, write_share
from dxkpi.project.config import load_config

__all__ = ["command"]


@click.command("share")
@click.option(
    "--fy", "fiscal_year", type=FISCAL_YEAR, required=True, help="年度 / Fiscal year to share."
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="出力ファイル（既定: <団体コード>_FY<年度>.dxshare）/ Output file (default: "
    "<code>_FY<year>.dxshare in the working folder).",
)
@click.option(
    "--city-code",
    "city_code",
    default=None,
    help="全国地方公共団体コード（既定: dxkpi.toml の [city] code）/ Municipality code "
    "(default: [city] code of dxkpi.toml).",
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
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="設定ファイル（既定: プロジェクトの dxkpi.toml）/ Config file (default: the "
    "project's dxkpi.toml).",
)
def command(
    fiscal_year: int,
    out: Path | None,
    city_code: str | None,
    data_dir: Path | None,
    config_path: Path | None,
) -> None:
    """他団体と共有できる KPI の集計ファイル（.dxshare）を書き出す.

    Writes what the city may publish to peers: every KPI of the fiscal year for the city, job
    levels, talent types, phases and skill areas (never departments) as numerator and
    denominator after the city's own suppression, with the municipality code, category, staff
    size band, versions, the data hash and checksums. No pseudonym, no identifier, no row of
    data. A zip of share.json, kpis.csv and kpis.parquet, readable without dxkpi.
    """
    folder = or_default(data_dir, "processed")
    config = load_config(or_default(config_path, "config_file"))
    data = load_processed(folder)
    share = build_share(data, config, fiscal_year, read_manifest(folder), code=city_code)
    path = write_share(out or Path(default_file_name(share)), share)
    table = share.table
    hidden = int(table.get_column("suppressed").sum())
    m = share.municipality
    click.echo(f"書き出しました / written: {path}")
    click.echo(
        f"  団体 municipality {m.code}（{label('municipality_category', m.category)}・"
        f"{label('size_band', m.size_band)}）· {fiscal_year}年度 FY · "
        f"{table.height} セル cells（秘匿 suppressed {hidden}）· k = {share.min_cell_size}"
    )
