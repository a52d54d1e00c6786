"""Terminal tables fit 80 and 120 columns: no number cut or shortened, no line wider than the
terminal, empty columns left out; ``--fy`` reads the year forms the data accepts."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from rich.console import Console

from dxkpi.catalogue.format import format_count
from dxkpi.commands.cli import cli
from dxkpi.commands.summary import print_summary
from dxkpi.core.display import Column, fit_tables
from dxkpi.kpi.engine import compute
from dxkpi.kpi.examples import synthetic_city
from dxkpi.project.config import Config
from dxkpi.reports import kpi_export as export
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def by_department() -> pl.DataFrame:
    data = synthetic_city(staff=400, fiscal_years=(2024, 2025), seed=5)
    return compute(data, Config(), fiscal_years=[2025], by=["department"])


def _render(renderable: object, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _numbers(text: str) -> list[str]:
    """Every number written in a table cell (between two vertical bars)."""
    cells = [c.strip() for line in text.splitlines() for c in line.split("│")[1:-1]]
    return [c for c in cells if re.fullmatch(r"[-+]?[\d,]+(\.\d+)?%?", c)]


@pytest.mark.parametrize("width", [80, 120])
def test_kpi_table_by_department_fits_without_cutting_a_number(
    by_department: pl.DataFrame, width: int
) -> None:
    text = _render(export.to_table(by_department, 10), width)
    assert max(len(line) for line in text.splitlines()) <= width  # box cells: one column each
    assert "…" not in text
    shown = set(_numbers(text))
    expected = {
        format_count(row["numerator"], row["unit"])
        for row in by_department.iter_rows(named=True)
        if row["numerator"] is not None and not row["suppressed"]
    }
    assert expected and expected <= shown  # every numerator whole, as the formatter writes it
    assert "2025年度" in text and "年度 ┃" not in text  # the year is said once, in the title


def test_at_120_columns_department_names_stay_on_one_line(by_department: pl.DataFrame) -> None:
    text = _render(export.to_table(by_department, 10), 120)
    names = {
        export.group_label_ja("department", row["group"], row.get("group_name"))
        for row in by_department.iter_rows(named=True)
        if row["group_by"] == "department"
    }
    assert names and all(name in text for name in names)


def test_empty_columns_are_left_out_and_a_too_narrow_width_lists_rows() -> None:
    cols = [Column("名前"), Column("値", numeric=True), Column("備考")]
    rows = [["総務課", "1,234,567.5", ""], ["市民課", "12.5%", ""]]
    wide = _render(fit_tables("表", cols, rows, 80)[0], 80)
    assert "備考" not in wide and "1,234,567.5" in wide
    narrow = "".join(_render(p, 16) for p in fit_tables("表", cols, rows, 16))
    assert "値: 1,234,567.5" in narrow


def test_ingest_summary_at_80_columns_keeps_rule_ids_whole(tmp_path: Path) -> None:
    manifest = {
        "datasets": {
            "knowledge_posts": {
                "status": "ok",
                "rows_in": 1190,
                "accepted": 1187,
                "quarantined": 3,
                "rules": {
                    "knowledge_posts.department_code.exists": 2,
                    "knowledge_posts.kind.accepted": 1,
                },
            }
        }
    }
    for width in (80, 120):
        text = _render_summary(manifest, tmp_path, width)
        assert "knowledge_posts.department_code.exists ×2" in text
        assert "1,187" in text and "…" not in text


def _render_summary(manifest: dict[str, object], out: Path, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_summary(manifest, console, out)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = synthetic_city(staff=200, fiscal_years=(2024, 2025), seed=5)
    processed = tmp_path / "data" / "processed"
    processed.mkdir(parents=True)
    for name in data.available():
        getattr(data, name).collect().write_parquet(processed / f"{name}.parquet")
    (tmp_path / "dxkpi.toml").write_text(
        (ROOT / "dxkpi.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("year", ["2025", "R7", "令和7年度", "2025年度", "ＦＹ２０２５"])
def test_fy_reads_the_year_forms_of_the_data(project: Path, year: str) -> None:
    result = CliRunner().invoke(cli, ["kpi", "--fy", year, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert ",2025," in result.output and ",2024," not in result.output


def test_fy_that_is_not_a_year_is_refused_in_both_languages(project: Path) -> None:
    result = CliRunner().invoke(cli, ["kpi", "--fy", "R"])
    assert result.exit_code == 2
    assert "年度として読めません" in result.output and "not a fiscal year" in result.output
    assert "not a valid integer" not in result.output
