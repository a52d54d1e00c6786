"""`dxkpi contract`: print the data contract, or write/check the README's copy of it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dxkpi.catalogue.docs import contract_markdown, readme_is_current, readme_with_contract
from dxkpi.commands.context import current_project
from dxkpi.core.atomic import write_text

__all__ = ["command"]


@click.command("contract")
@click.option(
    "--readme",
    type=click.Path(path_type=Path),
    default=None,
    help="README のパス（既定: プロジェクトの README.md）/ README path (default: the "
    "project's README.md).",
)
@click.option(
    "--write-readme", is_flag=True, help="README の表を書き換える / Rewrite README table."
)
@click.option("--check", is_flag=True, help="README が最新か確認 / Check README is current.")
def command(readme: Path | None, write_readme: bool, check: bool) -> None:
    """データ契約（列・日本語名・許容値・ルール）を Markdown で表示する.

    The contract is declared once in src/dxkpi/catalogue/contract.py. Without options,
    prints it as Markdown. --write-readme replaces the README's generated section; --check
    exits 1 when that section is out of date.
    """
    if not (write_readme or check):
        click.echo(contract_markdown(), nl=False)
        return
    path = readme if readme is not None else current_project().root / "README.md"
    if write_readme:
        text = path.read_text(encoding="utf-8")
        write_text(path, readme_with_contract(text))
        click.echo(f"updated {path}")
        return
    if not readme_is_current(path):
        click.echo(
            "README の契約表が古い / README contract table is out of date: "
            "run `dxkpi contract --write-readme`.",
            err=True,
        )
        sys.exit(1)
    click.echo("README の契約表は最新 / README contract table is current.")
