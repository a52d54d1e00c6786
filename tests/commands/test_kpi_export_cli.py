"""Exports (CSV with BOM, JSON, XLSX, terminal table) and the ``dxkpi kpi`` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner
from rich.console import Console

from dxkpi.commands.kpi import command
from dxkpi.kpi.engine import EXPORT_COLUMNS, compute, export_frame
from dxkpi.kpi.examples import synthetic_city, tiny_city
from dxkpi.project.config import Config, PrivacyConfig
from dxkpi.reports import kpi_export as export

pytestmark = pytest.mark.integration  # the CLI on an ingested city


@pytest.fixture(scope="module")
def processed_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("processed")
    data = synthetic_city(staff=300, fiscal_years=(2024, 2025), seed=5)
    for name in data.available():
        frame = getattr(data, name).collect()
        if name == "departments":  # a hostile department name must not become a formula
            frame = frame.with_columns(
                department_code=pl.when(pl.col("department_code") == "D000")
                .then(pl.lit("=1+1"))
                .otherwise(pl.col("department_code"))
            )
        if name in ("staff", "proposals", "projects", "resident_survey", "maturity_survey"):
            frame = frame.with_columns(pl.col("department_code").replace({"D000": "=1+1"}))
        frame.write_parquet(folder / f"{name}.parquet")
    return folder


def test_neutralise():
    assert export.neutralise("=SUM(A1)") == "'=SUM(A1)"
    assert export.neutralise("@x") == "'@x"
    assert export.neutralise("D03") == "D03"


def test_csv_has_bom_exact_columns_and_no_formulas():
    rich = compute(tiny_city(), Config(privacy=PrivacyConfig(5)), fiscal_years=[2025])
    data = export.to_csv_bytes(export_frame(rich))
    assert data.startswith(b"\xef\xbb\xbf")
    frame = pl.read_csv(io.BytesIO(data[3:]))
    assert tuple(frame.columns) == EXPORT_COLUMNS


def test_json_records_in_column_order():
    rich = compute(tiny_city(), Config(), fiscal_years=[2025])
    records = json.loads(export.to_json(export_frame(rich)))
    assert list(records[0]) == list(EXPORT_COLUMNS)


def test_table_renders_japanese_and_suppression_mark():
    rich = compute(tiny_city(), Config(), fiscal_years=[2025], by=["department"])
    console = Console(file=io.StringIO(), width=200)
    console.print(export.to_table(rich, 10))
    text = console.file.getvalue()
    assert "研修参加率" in text and export.SUPPRESSED_MARK in text and "秘匿" in text


def test_cli_csv(processed_dir, tmp_path):
    out = tmp_path / "kpi.csv"
    result = CliRunner().invoke(
        command,
        [
            "--fy",
            "2025",
            "--by",
            "department",
            "--format",
            "csv",
            "--out",
            str(out),
            "--data",
            str(processed_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pl.read_csv(io.BytesIO(raw[3:]), infer_schema=False)
    assert tuple(frame.columns) == EXPORT_COLUMNS
    assert set(frame.get_column("group_by")) >= {"department", "department|phase"}
    assert not frame.get_column("group").str.starts_with("=").any()
    assert "'=1+1" in set(frame.get_column("group"))


def test_cli_csv_to_stdout(processed_dir):
    result = CliRunner().invoke(
        command,
        [
            "--fy",
            "2025",
            "--kpi",
            "participation_rate",
            "--format",
            "csv",
            "--data",
            str(processed_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "participation_rate" in result.output


def test_cli_xlsx_opens_with_japanese_headers(processed_dir, tmp_path):
    out = tmp_path / "kpi.xlsx"
    result = CliRunner().invoke(
        command,
        [
            "--fy",
            "2025",
            "--by",
            "department",
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--data",
            str(processed_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert "研修参加率" in wb.sheetnames
    ws = wb["研修参加率"]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["指標", "年度", "集計単位", "グループ"] and "評価" in headers
    values = [row for row in ws.iter_rows(min_row=2, values_only=True) if row[0] == "研修参加率"]
    value_col = headers.index("値")
    shown = [r for r in values if isinstance(r[value_col], float)]
    assert shown
    fmt_cells = [c for c in ws.iter_rows(min_row=2) if isinstance(c[value_col].value, float)]
    assert fmt_cells[0][value_col].number_format == "0.0%"
    flat = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert not any(v.startswith("=") for v in flat)
    if any(r[value_col] == export.SUPPRESSED_MARK for r in values):
        assert any("秘匿" in v for v in flat)


def test_cli_errors_are_bilingual(processed_dir, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(command, ["--kpi", "nope", "--data", str(processed_dir)])
    assert bad.exit_code != 0 and "不明な指標ID" in bad.output and "unknown KPI id" in bad.output
    missing = runner.invoke(command, ["--data", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[privacy]\nmin_cell_size = 3\n", "utf-8")
    small = runner.invoke(command, ["--data", str(processed_dir), "--config", str(cfg)])
    assert small.exit_code != 0 and "privacy.min_cell_size" in small.output


def test_cli_table_default(processed_dir):
    result = CliRunner().invoke(command, ["--data", str(processed_dir), "--by", "job_level"])
    assert result.exit_code == 0, result.output
    assert "DX人材育成 KPI" in result.output


def test_in_progress_year_is_flagged_in_table_and_workbook(tmp_path):
    import datetime as dt

    rich = compute(tiny_city(), Config(), fiscal_years=[2025], as_of=dt.date(2025, 9, 30))
    console = Console(file=io.StringIO(), width=250)
    console.print(export.to_table(rich, 10))
    assert "年度途中" in console.file.getvalue()
    path = export.write_xlsx(rich, tmp_path / "k.xlsx", 10)
    ws = openpyxl.load_workbook(path)["研修参加率"]
    texts = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(t.startswith("年度途中") for t in texts)


def _strict_json(text: str):  # type: ignore[no-untyped-def]
    """Parse JSON as RFC 8259 defines it: NaN and Infinity are not JSON."""

    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_cli_json_is_valid_json_when_a_value_is_not_finite(tmp_path):
    """Processed data holding an infinite hours-saved value (as ingest once accepted from
    ``1e309``) must still give valid JSON: the value is null, never ``Infinity``."""
    folder = tmp_path / "processed"
    folder.mkdir()
    data = synthetic_city(staff=300, fiscal_years=(2024, 2025), seed=5)
    for name in data.available():
        frame = getattr(data, name).collect()
        if name == "projects":
            frame = frame.with_columns(hours_saved_per_year=pl.lit(float("inf")))
        frame.write_parquet(folder / f"{name}.parquet")
    result = CliRunner().invoke(
        command,
        ["--fy", "2025", "--kpi", "hours_saved", "--format", "json", "--data", str(folder)],
    )
    assert result.exit_code == 0, result.output
    records = _strict_json(result.output)
    assert records and all(r["value"] is None for r in records if r["kpi"] == "hours_saved")


def test_table_shows_names_as_text_not_terminal_markup():
    rich = compute(
        tiny_city(), Config(privacy=PrivacyConfig(5)), fiscal_years=[2025], by=["department"]
    )
    name = "[/x][bold]総務課[link=javascript:alert(1)]"
    rich = rich.with_columns(group_name=pl.lit(name))
    out = io.StringIO()
    Console(file=out, width=400).print(export.to_table(rich, 5))
    assert name in out.getvalue()


@pytest.mark.parametrize(
    ("args", "en"),
    [
        (["--city", "221309"], "--city names a municipality of --store: give --store too."),
        (
            ["--store", "s", "--data", "d"],
            "--store and --data name two different data folders: give one.",
        ),
    ],
)
def test_store_options_that_would_be_ignored_are_refused(args: list[str], en: str) -> None:
    """--city without --store and --data beside --store used to be dropped silently."""
    result = CliRunner().invoke(command, [*args, "--fy", "2025"])
    assert result.exit_code == 1
    assert en in result.output and "--store" in result.output.splitlines()[0]
