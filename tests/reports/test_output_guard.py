"""The report runner replaces a reports/FY<year> folder only when dxkpi made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dxkpi.core.atomic import OutputFolderError
from dxkpi.core.project import Project
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.reports.runner import run_reports
from tests.helpers import ROOT, SECRET

pytestmark = pytest.mark.integration


def test_reports_folder_of_user_files_is_refused_before_any_notebook(
    tiny_raw: Path, tmp_path: Path
) -> None:
    processed = tmp_path / "processed"
    run_ingest(tiny_raw, processed, expectations=ROOT / "expectations", secret=SECRET)
    target = tmp_path / "reports" / "FY2025"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="not one dxkpi made"):
        run_reports(
            fiscal_year=2025,
            project=Project(ROOT),
            data_dir=processed,
            reports_dir=tmp_path / "reports",
            only=("data_quality",),
            jobs=1,
        )
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert not list((tmp_path / "reports").glob(".FY2025.new-*"))
