"""Templates run by hand (papermill, JupyterLab) are safe: the output folder follows the year
and is never a published report folder; the drill-down's default department is the data's
first, and an unknown code is a clear bilingual error, not a raw polars one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dxkpi.core.atomic import MARKER
from dxkpi.core.errors import ConfigError
from dxkpi.kpi.examples import synthetic_city
from dxkpi.reports.views import ReportContext, hand_run_output, report_context
from tests.helpers import ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose departments are not the sample city's (codes D000…)."""
    data = synthetic_city(staff=200, fiscal_years=(2024, 2025), seed=5)
    processed = tmp_path / "data" / "processed"
    processed.mkdir(parents=True)
    for name in data.available():
        getattr(data, name).collect().write_parquet(processed / f"{name}.parquet")
    (tmp_path / "dxkpi.toml").write_text(
        (ROOT / "dxkpi.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DXKPI_PROJECT", raising=False)
    return tmp_path


def _context(fiscal_year: int, output_dir: str) -> ReportContext:
    return report_context(
        fiscal_year=fiscal_year,
        data_dir="data/processed",
        output_dir=output_dir,
        lang="ja",
        min_cell_size=10,
    )


def test_an_empty_output_folder_follows_the_year(project: Path) -> None:
    ctx = _context(2024, "")
    assert ctx.output_dir == project / "reports" / "drafts" / "FY2024"
    assert hand_run_output(2025) == project / "reports" / "drafts" / "FY2025"
    figure = ctx.figure("kpi", "grades")
    assert figure.parent == project / "reports" / "drafts" / "FY2024" / "figures"


@pytest.mark.parametrize("published_by", [MARKER, "run.json"])
def test_a_published_report_folder_is_refused(project: Path, published_by: str) -> None:
    published = project / "reports" / "FY2025"
    (published / "figures").mkdir(parents=True)
    (published / published_by).write_text("{}", encoding="utf-8")
    before = sorted(p.name for p in published.rglob("*"))
    with pytest.raises(ConfigError) as err:
        _context(2024, str(published))
    text = err.value.message()
    assert "公開済みのレポートフォルダ" in text and "published report folder" in text
    assert "reports/drafts/FY<" in text
    assert sorted(p.name for p in published.rglob("*")) == before


def test_the_runners_staging_folder_is_not_refused(project: Path) -> None:
    staging = project / "reports" / ".FY2025.new-123"
    staging.mkdir(parents=True)
    assert _context(2025, str(staging)).output_dir == staging


def test_default_department_is_the_first_of_the_data(project: Path) -> None:
    ctx = _context(2025, "")
    codes = sorted(ctx.data.departments.select("department_code").collect().to_series().to_list())
    assert codes[0] != "010100"  # not the sample city's
    code, name = ctx.department("")
    expected = (
        ctx.data.departments.filter(pl.col("department_code") == codes[0])
        .select("department_name")
        .collect()
        .item()
    )
    assert (code, name) == (codes[0], expected)
    assert ctx.department(codes[1])[0] == codes[1]


def test_an_unknown_department_is_a_bilingual_error(project: Path) -> None:
    ctx = _context(2025, "")
    with pytest.raises(ConfigError) as err:
        ctx.department("010100")
    text = err.value.message()
    assert "組織マスタにない所属コード: 010100" in text
    assert "department code not in the departments table: 010100" in text


@pytest.mark.slow
def test_the_department_template_runs_by_hand_for_another_year_and_city(project: Path) -> None:
    """The issue's run: ``papermill department.ipynb -p fiscal_year 2024`` on a city whose codes
    are not the sample city's, next to a published FY2025 set — it runs (first department), and
    writes its figures under reports/drafts/FY2024, leaving the published set alone."""
    import nbformat
    import papermill

    published = project / "reports" / "FY2025" / "figures"
    published.mkdir(parents=True)
    (published.parent / MARKER).write_text("", encoding="utf-8")
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "reports" / "department.ipynb"),
        str(project / "out.ipynb"),
        parameters={"fiscal_year": 2024},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(project),
    )
    drafts = project / "reports" / "drafts" / "FY2024" / "figures"
    assert sorted(drafts.glob("department_*.png")), "no figure in the drafts folder"
    assert list(published.iterdir()) == []
    nb = nbformat.read(str(project / "out.ipynb"), as_version=4)
    shown = "".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    first = _context(2024, "").department("")
    assert f"{first[1]}（{first[0]}）" in shown
