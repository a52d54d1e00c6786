"""Paths and values printed through rich are text, never markup: a folder named "[old]" is
shown as such, and one whose path contains "[/x]" does not crash the command (formerly a
rich.errors.MarkupError after the data was published, and "[old]" silently vanished)."""

from __future__ import annotations

import io

import polars as pl
import pytest
from rich.console import Console

from dxkpi.kpi.engine import compute
from dxkpi.kpi.examples import departments, tiny_city
from dxkpi.project.config import Config
from dxkpi.reports import kpi_export as export
from tests.helpers.cli import ingest_args, run_dxkpi
from tests.helpers.rawcity import write_tiny_city


@pytest.mark.integration
@pytest.mark.parametrize("folder", ["[/x]", "[old]", "[bold red]"])
def test_ingest_error_names_a_bracketed_path_exactly(
    folder: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    raw = write_tiny_city(tmp_path / "raw")
    (raw / folder).mkdir(parents=True)  # "[/x]" is the folder "[" holding the folder "x]"
    (raw / folder / "budget_2025.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, output = run_dxkpi(capsys, *ingest_args(raw, tmp_path / "out"))
    assert code == 1, output  # a file matching no dataset: a file fault, not a crash
    assert "MarkupError" not in output and "Traceback" not in output
    assert f"{folder}/budget_2025.csv" in output
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_kpi_table_shows_bracketed_department_names() -> None:
    names = ["[/x]総務課", "[old]情報課", "[bold]市民課", "空き課"]
    data = tiny_city(departments=departments().with_columns(department_name=pl.Series(names)))
    rich = compute(data, Config(), fiscal_years=[2025], by=["department"])
    console = Console(file=io.StringIO(), width=300)
    console.print(export.to_table(rich, 1))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[old]情報課" in text and "[/x]総務課" in text


@pytest.mark.integration
def test_ingest_summary_points_at_the_folder_it_wrote(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """The summary's "details" line names the --out folder given, not the project default
    (it always said data/processed/quarantine/*.csv), bracketed names included."""
    raw = write_tiny_city(tmp_path / "raw")
    out = tmp_path / "[old] out"
    code, output = run_dxkpi(capsys, *ingest_args(raw, out))
    assert code == 0, output
    flat = output.replace("\n", "")
    assert f"{out / 'quarantine'}/*.csv" in flat and f"{out / 'manifest.json'}" in flat
    assert "data/processed/quarantine" not in flat
