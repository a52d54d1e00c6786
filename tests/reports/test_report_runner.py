"""The report runner on stand-in notebooks: parameters checked, failures kept, outputs atomic."""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

import nbformat
import polars as pl
import pytest

from dxkpi.core.lock import LockedError, RunLock
from dxkpi.core.project import Project
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.reports import runner as report_mod
from dxkpi.reports.runner import ReportError, check_parameters, run_reports
from tests.helpers import ROOT, SECRET
from tests.helpers.notebooks import PARAMS, write_notebook

pytestmark = pytest.mark.slow  # papermill runs real notebooks


@pytest.fixture
def project(tmp_path: Path, tiny_raw: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in project folder: processed tiny city + two report templates."""
    run_ingest(
        tiny_raw, tmp_path / "data" / "processed", expectations=ROOT / "expectations", secret=SECRET
    )
    (tmp_path / "dxkpi.toml").write_text(
        (ROOT / "dxkpi.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    folder = tmp_path / "notebooks" / "reports"
    write_notebook(
        folder / "data_quality.ipynb",
        "print('品質 OK', fiscal_year)\n"
        "from pathlib import Path\n"
        "Path(output_dir, 'figures', 'q.png').write_bytes(b'png')",
    )
    write_notebook(folder / "kpi_dashboard.ipynb", "print('ダッシュボード', lang)")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(project: Path, **kw):  # type: ignore[no-untyped-def]
    return run_reports(
        fiscal_year=2025,
        project=Project(project),
        data_dir=Path("data/processed"),
        reports_dir=Path("reports"),
        only=("data_quality", "kpi_dashboard"),
        jobs=2,
        **kw,
    )


def test_run_writes_notebooks_html_index_and_run_json(project: Path) -> None:
    result = _run(project)
    assert result.ok
    out = project / "reports" / "FY2025"
    for name in ("data_quality", "kpi_dashboard"):
        assert (out / f"{name}.ipynb").exists()
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        assert "print(" not in page  # code hidden
    assert "品質 OK 2025" in (out / "data_quality.html").read_text(encoding="utf-8")
    assert (out / "figures" / "q.png").read_bytes() == b"png"
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["ok"] and run["parameters"]["fiscal_year"] == 2025
    assert [n["name"] for n in run["notebooks"]] == ["data_quality", "kpi_dashboard"]
    assert all(n["status"] == "ok" and n["seconds"] > 0 for n in run["notebooks"])
    assert run["data_manifest_sha256"] and run["code_version"].startswith("dxkpi")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="data_quality.html"' in index and "2025年度" in index
    assert not list((project / "reports").glob(".FY2025*"))


def test_unknown_or_mistyped_parameter_is_rejected(project: Path) -> None:
    template = project / "notebooks" / "reports" / "data_quality.ipynb"
    with pytest.raises(ReportError, match="not declared"):
        check_parameters(template, {"fiscal_year": 2025, "fiscal_yaer": 2024})
    with pytest.raises(ReportError, match="must be int"):
        check_parameters(template, {"fiscal_year": "2025"})
    check_parameters(template, {"fiscal_year": 2025, "lang": "en"})


def test_failing_notebook_keeps_partial_copy_and_others_run(project: Path) -> None:
    first = _run(project)
    assert first.ok
    write_notebook(
        project / "notebooks" / "reports" / "kpi_dashboard.ipynb",
        "print('before')\nraise ValueError('壊れたセル')",
    )
    result = _run(project, keep_going=True)
    assert not result.ok
    out = project / "reports" / "FY2025"
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    status = {n["name"]: n for n in run["notebooks"]}
    assert status["data_quality"]["status"] == "ok"
    failed = status["kpi_dashboard"]
    assert failed["status"] == "failed"
    assert failed["error"]["ename"] == "ValueError" and "壊れたセル" in failed["error"]["evalue"]
    partial = nbformat.read(str(out / "kpi_dashboard.failed.ipynb"), as_version=4)
    bad_cell = next(
        c
        for c in partial.cells
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.outputs)
    )
    assert "raise ValueError" in bad_cell.source
    assert failed["error"]["cell_index"] is not None
    assert any(o.get("text", "").startswith("before") for o in bad_cell.outputs)
    # the last good HTML of the failed report is carried over and marked as such
    assert "ダッシュボード" in (out / "kpi_dashboard.html").read_text(encoding="utf-8")
    assert "前回の正常版" in (out / "index.html").read_text(encoding="utf-8")


def test_a_run_that_dies_leaves_the_previous_reports(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(project)
    out = project / "reports" / "FY2025"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def dying(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(report_mod, "write_index", dying)
    with pytest.raises(KeyboardInterrupt):
        _run(project)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not list((project / "reports").glob(".FY2025.new-*"))
    assert not (project / "reports" / ".FY2025.lock").exists()


def test_lock_refuses_a_second_run_and_recovers_a_stale_one(tmp_path: Path) -> None:
    lock = tmp_path / ".FY2025.lock"
    with RunLock(lock), pytest.raises(LockedError, match="another run"), RunLock(lock):
        pass
    assert not lock.exists()
    import socket

    lock.write_text(
        json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname(), "started": "x"}),
        encoding="utf-8",
    )
    with RunLock(lock) as held:
        assert held.stale_taken
        assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == os.getpid()


def test_a_failure_stops_the_run_cleanly_and_keeps_the_failed_notebook(project: Path) -> None:
    """Without --keep-going, a failure cancels the notebooks not yet started: the run still
    ends with a result (no CancelledError), the cause recorded and the failed copy kept."""
    folder = project / "notebooks" / "reports"
    write_notebook(folder / "data_quality.ipynb", "raise ValueError('年度のデータなし')")
    for name in ("kpi_dashboard", "behaviour_change", "kpi_kgi_link", "maturity"):
        write_notebook(folder / f"{name}.ipynb", "import time\ntime.sleep(1)")
    write_notebook(
        folder / "department.ipynb",
        "import time\ntime.sleep(1)",
        PARAMS + 'department: str = "010100"  # 所属コード\n',
    )
    result = run_reports(
        fiscal_year=2025,
        project=Project(project),
        data_dir=Path("data/processed"),
        reports_dir=Path("reports"),
        only=(
            "data_quality",
            "kpi_dashboard",
            "behaviour_change",
            "kpi_kgi_link",
            "maturity",
            "department",
        ),
        jobs=1,
    )
    assert not result.ok
    status = {r.name: r for r in result.results}
    assert status["data_quality"].status == "failed"
    assert "年度のデータなし" in (status["data_quality"].error or {})["evalue"]
    assert any((r.error or {}).get("ename") == "NotRun" for r in result.results)
    assert (project / "reports" / "FY2025" / "data_quality.failed.ipynb").exists()


def test_an_export_that_raises_in_a_worker_is_a_failed_report(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(notebook: Path, target: Path, **page: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_mod, "export_html", full_disk)  # forked workers inherit it
    result = _run(project, keep_going=True)
    assert not result.ok
    assert {(r.status, (r.error or {}).get("ename")) for r in result.results} == {
        ("failed", "OSError")
    }
    assert "No space left" in (result.results[0].error or {})["evalue"]


def _add_department(processed: Path, code: str) -> None:
    """A department ``code`` (a copy of 010100 and its staff) written straight into the
    processed data, as ingest would never accept it."""
    for name in ("departments", "staff"):
        path = processed / f"{name}.parquet"
        frame = pl.read_parquet(path)
        copy = frame.filter(pl.col("department_code") == "010100")
        pl.concat([frame, copy.with_columns(department_code=pl.lit(code))]).write_parquet(path)


def test_a_department_code_cannot_write_outside_the_reports_folder(project: Path) -> None:
    """The real drill-down template, run for the code ``q/../../../../x/TRAVERSAL``: every file
    it writes (notebook, HTML, figure) stays in reports/FY2025 under a sanitised name."""
    code = "q/../../../../x/TRAVERSAL"
    _add_department(project / "data" / "processed", code)
    shutil.copy2(
        ROOT / "notebooks" / "reports" / "department.ipynb", project / "notebooks" / "reports"
    )
    result = run_reports(
        fiscal_year=2025,
        project=Project(project),
        data_dir=Path("data/processed"),
        reports_dir=Path("reports"),
        only=("department",),
        departments=(code,),
        jobs=1,
    )
    assert result.ok, [r.error for r in result.results]
    out = project / "reports" / "FY2025"
    written = [p for p in project.rglob("*TRAVERSAL*")]
    assert written and all(p.is_relative_to(out) for p in written), written
    assert not (project / "x").exists()
    (page,) = out.glob("department_*.html")
    assert "/" not in page.name and ".." not in page.name
    assert len(list((out / "figures").glob("department_*_trends.png"))) == 1
    assert html.escape(code) in (out / "index.html").read_text(encoding="utf-8")


def test_default_jobs_is_one_more_than_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker waits while its kernel starts and while papermill talks to it: on 2 cores the
    # sample set runs in about 41 s with 3 workers, 48-50 s with 2 (benchmarks/report_set.py)
    monkeypatch.setattr(report_mod.os, "cpu_count", lambda: 2)
    assert report_mod.default_jobs() == 3
    monkeypatch.setattr(report_mod.os, "cpu_count", lambda: None)
    assert report_mod.default_jobs() == 2
