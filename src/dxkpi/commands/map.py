"""`dxkpi map`: propose a mapping of a city's own export onto the contract, and write it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from dxkpi.catalogue.synonyms import shipped_mappings
from dxkpi.commands.context import current_project
from dxkpi.core.atomic import write_text
from dxkpi.core.errors import ConfigError, Where
from dxkpi.core.project import Project, ProjectNotFoundError
from dxkpi.ingest.mapping import MappingSet, project_mappings
from dxkpi.ingest.propose import Reference, propose, reference_data
from dxkpi.project.config import MAPPINGS_DIR, load_mapping_file, parse_mappings

__all__ = ["command"]

_DEFAULT = "\0default"


def _project() -> Project | None:
    try:
        return current_project()
    except ProjectNotFoundError:
        return None


@click.command("map")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option(
    "--shipped",
    "shipped",
    default=None,
    help="同梱のマッピング（既知の書き出し形式）を表示・コピーする / Show (and with --write copy "
    "into the project) a mapping shipped with dxkpi for a known export shape.",
)
@click.option(
    "--dataset",
    "dataset",
    default=None,
    help="どのデータセットか（既定: ファイル名と見出しから判定）/ The dataset the file is "
    "(default: told from its name and headers).",
)
@click.option(
    "--write",
    "write_to",
    is_flag=False,
    flag_value=_DEFAULT,
    default=None,
    help="提案を書き出す（既定: プロジェクトの mappings/<ファイル名>.toml）/ Write the proposal "
    "(default: the project's mappings/<file stem>.toml). Give FILE first: "
    "`dxkpi map FILE --write`.",
)
@click.option(
    "--force",
    is_flag=True,
    help="既存のマッピングファイルを上書きする / Overwrite an existing mapping file.",
)
def command(
    file: Path | None, shipped: str | None, dataset: str | None, write_to: str | None, force: bool
) -> None:
    """書き出したファイルの見出しと値を読み、契約への対応表（マッピング）を提案する.

    Reads FILE's headers and values, proposes which header is which contract column (exact
    name, the same up to width and kana, a known synonym such as 職員コード or 受講者ID, or its
    values), which value is which code (job titles → manager/mid/staff, LMS statuses…, with
    how many rows hold each), and ID rules (zero_pad when the staff list's IDs are longer),
    and prints it for review. With --write it writes the mapping file (TOML, commented) that
    `dxkpi ingest` then applies to the files it names. Values it cannot place are written as
    comments: until filled in, their rows are quarantined as unmapped_value.
    --shipped NAME prints a mapping shipped with dxkpi for a known export shape (and with
    --write copies it into the project's mappings/).
    """
    project = _project()
    if shipped is not None:
        text, stem = _shipped(shipped), shipped
    elif file is None:
        raise click.UsageError(
            "FILE か --shipped NAME を指定してください / give FILE or --shipped NAME."
        )
    else:
        text, stem = _propose(project, file, dataset), file.stem
    if write_to is None:
        click.echo("書き出すには --write / to write it: --write [PATH]")
        return
    if write_to == _DEFAULT:
        if project is None:
            project = current_project()  # raises the two-language "no project" error
        target = project.root / MAPPINGS_DIR / f"{stem}.toml"
    else:
        target = Path(write_to)
    if target.exists() and not force:
        raise ConfigError(
            "マッピングファイルが既にあります（上書きしません）",
            "the mapping file already exists (not overwritten)",
            where=Where(file=str(target)),
            hint_ja="確認のうえ --force で上書きするか、--write に別のパスを指定してください。",
            hint_en="overwrite it with --force after checking it, or give --write another path.",
        )
    write_text(target, text)  # atomic; creates mappings/ when missing
    click.echo(
        f"書き出しました / wrote {target}\n"
        "内容を確認し、ファイルを data/raw/ に置いて `dxkpi ingest` を実行してください / review "
        "it, put the file in data/raw/ and run `dxkpi ingest`."
    )


def _shipped(name: str) -> str:
    """The text of a shipped mapping, checked as ingestion will read it, and printed."""
    found = shipped_mappings()
    if name not in found:
        names = ", ".join(found) or "—"
        raise ConfigError(
            f"同梱のマッピング {name!r} はありません（あるもの: {names}）",
            f"no shipped mapping called {name!r} (shipped: {names})",
            hint_ja="--shipped に上の名前のどれかを指定してください。",
            hint_en="give --shipped one of the names above.",
        )
    load_mapping_file(found[name], f"shipped:{name}")
    text = found[name].read_text(encoding="utf-8")
    click.echo(text, nl=False)
    return text


def _propose(project: Project | None, file: Path, dataset: str | None) -> str:
    """Print the proposal for ``file`` and return it as mapping-file text."""
    mappings = project_mappings(project.root) if project is not None else MappingSet()
    if project is not None:
        ref = reference_data(project.raw, mappings, exclude=file)
    else:
        ref = Reference(
            notes=(
                "プロジェクトが見つからないため、組織データと職員番号の桁数は参照しません / no "
                "project found: department names and staff-ID lengths are not looked up",
            )
        )
    proposal = propose(file, dataset=dataset, reference=ref)
    for line in proposal.review_lines():
        click.echo(line)
    for note in ref.notes:
        click.echo(f"注 / note: {note}")
    text = proposal.toml()
    # the written file must load as the ingest will load it
    parse_mappings(tomllib.loads(text).get("mapping", {}), str(file))
    return text
