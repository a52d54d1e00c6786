"""A fiscal year without a staff list is refused — by ``dxkpi kpi``, ``report`` and ``pdca``
alike (one check, :meth:`dxkpi.ingest.processed.Processed.check_fiscal_years`) — before any
notebook runs: exit 1, both languages, the years there are."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dxkpi.commands.cli import cli
from dxkpi.core.errors import ConfigError
from dxkpi.core.project import Project
from dxkpi.kpi.examples import tiny_city
from dxkpi.reports import runner
from tests.helpers import ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose staff list holds FY2024 and FY2025; running a notebook fails the test."""
    data = tiny_city()
    processed = tmp_path / "data" / "processed"
    processed.mkdir(parents=True)
    for name in data.available():
        getattr(data, name).collect().write_parquet(processed / f"{name}.parquet")
    (tmp_path / "dxkpi.toml").write_text(
        (ROOT / "dxkpi.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )

    def no_notebook(*args: object, **kwargs: object) -> None:
        raise AssertionError("a notebook was started for a year that cannot be reported")

    monkeypatch.setattr(runner, "_execute_all", no_notebook)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["kpi", "--fy", "2026"],
        ["kpi", "--fy", "2025", "--fy", "2030"],
        ["report", "--fy", "2026"],
        ["report", "--fy", "2019"],
        ["pdca", "--fy", "2026"],
    ],
)
def test_a_year_without_a_staff_list_is_refused(project: Path, argv: list[str]) -> None:
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 1, result.output
    assert "職員名簿がありません" in result.output
    assert "no staff list for fiscal year" in result.output
    assert "2024, 2025" in result.output
    assert "Traceback" not in result.output
    years = {argv[i + 1] for i, a in enumerate(argv) if a == "--fy"}
    assert not any((project / "reports" / f"FY{y}").exists() for y in years)


def test_a_report_run_checks_its_parameters_before_any_notebook(project: Path) -> None:
    with pytest.raises(ConfigError, match="min_cell_size may not be below 5"):
        runner.run_reports(fiscal_year=2025, project=Project(project), min_cell_size=3)
    with pytest.raises(ConfigError, match="lang must be ja or en"):
        runner.run_reports(fiscal_year=2025, project=Project(project), lang="fr")
