"""`dxkpi ingest`: validate data/raw and write data/processed."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from dxkpi.commands.context import current_project, or_default
from dxkpi.commands.summary import print_summary
from dxkpi.core.project import ProjectNotFoundError
from dxkpi.ingest.consolidate import city_folders, dask_client, ingest_cities, parse_city_option
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
@click.option(
    "--city",
    "city",
    multiple=True,
    metavar="CODE=RAWDIR",
    help="統合取り込み: 団体コード=生データフォルダ（繰り返し可）/ Consolidated ingest: one "
    "municipality's code and raw folder (repeatable); OUT becomes a city=<code>/ store.",
)
@click.option(
    "--cities",
    "cities",
    type=click.Path(path_type=Path),
    default=None,
    help="統合取り込み: 団体コード名のサブフォルダを持つフォルダ / Consolidated ingest: a folder "
    "with one raw sub-folder per municipality, named by its 6-digit code.",
)
@click.option(
    "--dask",
    "use_dask",
    is_flag=True,
    help="市町村ごとの取り込みを Dask で並列実行（既定 LocalCluster）/ Run the per-city ingests "
    "as Dask tasks (a LocalCluster unless --scheduler).",
)
@click.option(
    "--scheduler",
    "scheduler",
    default=None,
    metavar="ADDRESS",
    help="既存の Dask スケジューラ（例 tcp://host:8786）/ An existing Dask scheduler address.",
)
@click.option(
    "--workers",
    "workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="LocalCluster のワーカー数 / LocalCluster worker processes.",
)
def command(
    raw: Path | None,
    out: Path | None,
    expectations: Path | None,
    new_key: bool,
    city: tuple[str, ...],
    cities: Path | None,
    use_dask: bool,
    scheduler: str | None,
    workers: int,
) -> None:
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
        if (raw is None and not (city or cities)) or out is None or expectations is None:
            raise
        mappings = MappingSet()  # every folder given and no project: no mapping to apply
    out = or_default(out, "processed")
    expectations = or_default(expectations, "expectations")
    console = Console(stderr=True)
    if city or cities is not None:
        _consolidate(
            city,
            cities,
            out,
            expectations,
            new_key,
            use_dask or bool(scheduler),
            scheduler,
            workers,
        )
        return
    raw = or_default(raw, "raw")
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


def _consolidate(
    city: tuple[str, ...],
    cities: Path | None,
    out: Path,
    expectations: Path,
    new_key: bool,
    use_dask: bool,
    scheduler: str | None,
    workers: int,
) -> None:
    """Many municipalities into ``out/city=<code>/`` (see :mod:`dxkpi.ingest.consolidate`)."""
    folders = city_folders(cities) if cities is not None else {}
    folders |= dict(parse_city_option(v) for v in city)
    console = Console(stderr=True)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(dask_client(scheduler, workers)) if use_dask else None
        with console.status(f"取り込み中 / ingesting {len(folders)} cities…"):
            results = ingest_cities(
                folders, out, expectations=expectations, new_key=new_key, client=client
            )
    for r in results:
        state = "OK" if r.ok else "NG"
        Console().print(f"{state} city={r.code}  {out / r.partition}", markup=False)
        for message in r.errors:
            console.print(message, style="red", markup=False, highlight=False)
    if not all(r.ok for r in results):
        sys.exit(1)
