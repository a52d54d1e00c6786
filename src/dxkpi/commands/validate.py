"""`dxkpi validate`: print the summary of the last ingest from its manifest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from dxkpi.commands.context import or_default
from dxkpi.commands.summary import print_summary

__all__ = ["command"]


@click.command("validate")
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    default=None,
    help="取込済みフォルダ（既定: プロジェクトの data/processed）/ Processed-data folder "
    "(default: the project's data/processed).",
)
def command(data: Path | None) -> None:
    """直近の取り込み結果（件数・隔離・上位の違反ルール）を表示する.

    Prints, per dataset, rows read, accepted, quarantined and the most frequent broken rules,
    from OUT/manifest.json. Exit code 1 when the last ingest had failures.
    """
    folder = or_default(data, "processed")
    path = folder / "manifest.json"
    if not path.exists():
        raise click.ClickException(
            f"{path} がありません。先に `dxkpi ingest` を実行してください。\n"
            f"{path} does not exist: run `dxkpi ingest` first."
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    print_summary(manifest, Console(), folder)
    if not manifest["ok"]:
        sys.exit(1)
