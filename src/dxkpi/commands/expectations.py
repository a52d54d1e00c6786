"""`dxkpi expectations`: write or check the GX suites generated from the contract."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dxkpi.commands.context import or_default
from dxkpi.ingest.suites import stale_suites, write_suites

__all__ = ["command"]


@click.command("expectations")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    default=None,
    help="スイートのフォルダ（既定: プロジェクトの expectations）/ Folder of suites "
    "(default: the project's expectations/).",
)
@click.option("--write", is_flag=True, help="契約から書き出す / Regenerate from the contract.")
@click.option(
    "--check",
    is_flag=True,
    help="契約と一致するか確認（既定）/ Check they match the contract (default).",
)
def command(folder: Path | None, write: bool, check: bool) -> None:
    """データ契約から GX 検証スイート（expectations/*.json）を生成・照合する.

    The suites are generated from src/dxkpi/catalogue/contract.py; never edit them by hand.
    --check exits 1 when a suite is missing or differs from the contract.
    """
    folder = or_default(folder, "expectations")
    if write:
        for path in write_suites(folder):
            click.echo(f"wrote {path}")
        return
    stale = stale_suites(folder)
    if stale:
        click.echo(
            f"契約と一致しないスイート / suites out of date: {', '.join(stale)}\n"
            "`dxkpi expectations --write` で作り直してください / regenerate with "
            "`dxkpi expectations --write`.",
            err=True,
        )
        sys.exit(1)
    click.echo("expectations/ は契約と一致しています / suites match the contract.")
