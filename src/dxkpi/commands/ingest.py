"""`dxkpi ingest`: validate data/raw and write data/processed."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from dxkpi.commands.context import current_project, or_default
from dxkpi.commands.summary import print_summary
from dxkpi.core.project import ProjectNotFoundError
from dxkpi.ingest.mapping import MappingSet, project_mappings
from dxkpi.ingest.pipeline import run_ingest

__all__ = ["command"]


@click.command("ingest")
@click.option(
    "--raw",
    "raw",
    type=click.Path(path_type=Path),
    default=None,
    help="生データのフォルダ（既定: プロジェクトの data/raw）/ Folder of raw files "
    "(default: the project's data/raw).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="出力フォルダ（既定: プロジェクトの data/processed）/ Output folder for processed "
    "data (default: the project's data/processed).",
)
@click.option(
    "--expectations",
    "expectations",
    type=click.Path(path_type=Path),
    default=None,
    help="GX 検証スイートのフォルダ（既定: プロジェクトの expectations）/ Folder of the Great "
    "Expectations suites (default: the project's expectations/).",
)
@click.option(
    "--new-key",
    "new_key",
    is_flag=True,
    help="仮名化の鍵が前回と違っても取り込む（仮名が変わり過去の年度とつながらなくなる）/ "
    "Accept a pseudonym key other than the processed data's (or create one): every pseudonym "
    "changes and will not link to earlier years.",
)
def command(raw: Path | None, out: Path | None, expectations: Path | None, new_key: bool) -> None:
    """生データを検証し、受理行を data/processed に、不備行を隔離に書き出す.

    Reads every CSV/XLSX in RAW (see README: which file belongs to which dataset), checks each
    row against the data contract, quarantines rows that break a rule (with the rule, in
    Japanese and English), certifies accepted rows with the Great Expectations suites, and
    writes processed parquet files, quarantine files and manifest.json atomically to OUT.
    Files of a city's own systems are read with the project's mappings ([mapping.*] in
    dxkpi.toml, mappings/*.toml; see `dxkpi map`).
    Exit code 1 when a file or dataset failed (the others are still ingested). A pseudonym key
    other than the one OUT was made with is refused (exit 2) unless --new-key is given.
    """
    try:
        mappings = project_mappings(current_project().root)
    except ProjectNotFoundError:
        if raw is None or out is None or expectations is None:
            raise
        mappings = MappingSet()  # every folder given and no project: no mapping to apply
    raw = or_default(raw, "raw")
    out = or_default(out, "processed")
    expectations = or_default(expectations, "expectations")
    console = Console(stderr=True)
    with console.status("取り込み中 / ingesting…") as status:
        report = run_ingest(
            raw,
            out,
            expectations=expectations,
            new_key=new_key,
            mappings=mappings,
            progress=lambda msg: status.update(f"取り込み中 / ingesting: {escape(msg)}"),
        )
    print_summary(report.manifest, Console(), out)
    for err in report.errors:
        # paths and values are data: never rich markup ("[old]", "[/x]" in a folder name)
        console.print(err.message(), style="red", markup=False, highlight=False)
    if not report.ok:
        sys.exit(1)
