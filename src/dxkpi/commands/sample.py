"""`dxkpi sample`: write the built-in sample city into data/raw (or --out)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import click

from dxkpi.commands.context import or_default
from dxkpi.ingest.read import data_files
from dxkpi.sample import generate_city

__all__ = ["command", "parse_years"]


def parse_years(text: str) -> tuple[int, ...]:
    """Fiscal years from ``2022-2025``, ``2024`` or ``2022,2024`` (full-width digits accepted)."""
    norm = unicodedata.normalize("NFKC", text).replace(" ", "")
    span = re.fullmatch(r"(\d{4})[-~〜](\d{4})", norm)
    if span:
        lo, hi = int(span.group(1)), int(span.group(2))
        if lo <= hi:
            return tuple(range(lo, hi + 1))
    elif re.fullmatch(r"\d{4}(,\d{4})*", norm):
        return tuple(sorted({int(y) for y in norm.split(",")}))
    raise click.BadParameter(
        f"年度の範囲が読めません: {text!r}（例: 2022-2025） / "
        f"cannot read the fiscal years {text!r} (e.g. 2022-2025)"
    )


@click.command("sample")
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="乱数の種（同じ種なら同じファイル） / Random seed (same seed, same files).",
)
@click.option(
    "--staff",
    type=click.IntRange(min=100),
    default=2000,
    show_default=True,
    help="初年度の職員数 / Head count in the first fiscal year.",
)
@click.option(
    "--years",
    "years",
    default="2022-2025",
    show_default=True,
    help="年度の範囲 / Fiscal years, e.g. 2022-2025.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="出力フォルダ（既定: プロジェクトの data/raw）/ Folder to write into (default: the "
    "project's data/raw).",
)
@click.option(
    "--force",
    is_flag=True,
    help="既存のデータファイルがあっても書き込む / Write even if data files exist.",
)
def command(seed: int, staff: int, years: str, out: Path | None, force: bool) -> None:
    """見本の市（架空）の生データと ground_truth.json を作る.

    Writes a fictional city's raw files (CSV in UTF-8 / UTF-8 BOM / CP932, XLSX; English and
    Japanese headers; wareki dates…) with a few documented bad rows, and ground_truth.json with
    the planted effects. Refuses a folder that already holds .csv/.xlsx files unless --force.
    """
    out = or_default(out, "raw")
    fiscal_years = parse_years(years)
    existing = data_files(out)
    if existing and not force:
        raise click.ClickException(
            f"{out} にはすでにデータファイルが {len(existing)} 件あります。上書きするには "
            f"--force を付けてください。 / {out} already holds {len(existing)} data file(s); "
            "use --force to write anyway."
        )
    summary = generate_city(out, seed=seed, staff=staff, fiscal_years=fiscal_years)
    click.echo(f"見本の市を書き出しました / Sample city written: {out}")
    for name, rows in summary.rows_per_file.items():
        click.echo(f"  {name}: {rows:,} 行 / rows")
    click.echo(f"  計画的な不備行 / planted bad rows: {summary.n_bad}")
    click.echo(f"  正解データ / ground truth: {summary.ground_truth}")
    written = set(summary.files)
    stale = [p for p in existing if p not in written]
    if stale:
        click.echo(
            "注意: 今回書き出していない既存ファイルが残っています（取り込み対象になります） / "
            "note: these existing files were not overwritten and will be ingested too:",
            err=True,
        )
        for p in stale:
            click.echo(f"  {p}", err=True)
