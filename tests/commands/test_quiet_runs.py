"""A successful ingest and report run, as cron runs them (a subprocess, no terminal), print
their own lines only: no kernel transport warning, no KeyboardInterrupt from a kernel shut down
between cells, no Great Expectations INFO line. Their pages carry the report's name as
``<title>`` and a footer with the data hash, the code version and the time in JST."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers.notebooks import PARAMS, write_notebook
from tests.helpers.rawcity import write_tiny_city

pytestmark = pytest.mark.slow  # Great Expectations and papermill run for real

CLI = [sys.executable, "-c", "from dxkpi.commands.cli import main; main()"]

#: What a reader of the cron log must not meet after a successful run.
NOISE = re.compile(
    r"\b(?:INFO|WARNING|ERROR)\b|IPKernelApp|KeyboardInterrupt|Traceback|"
    r"without encryption|Created temporary directory"
)


def _dxkpi(root: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [*CLI, "--project", str(root), *args],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TERM": "dumb", "COLUMNS": "120"},
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tiny_city(tmp_path / "data" / "raw")
    (tmp_path / "dxkpi.toml").write_text(
        (ROOT / "dxkpi.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    folder = tmp_path / "notebooks" / "reports"
    write_notebook(folder / "data_quality.ipynb", "print('品質')")
    department = PARAMS + 'department: str = ""  # 所属コード\n'
    write_notebook(folder / "department.ipynb", "print('所属', department)", department)
    return tmp_path


def test_a_successful_ingest_and_report_say_nothing_alarming(project: Path) -> None:
    code, out = _dxkpi(project, "ingest", "--expectations", str(ROOT / "expectations"))
    assert code == 0, out
    assert "取り込み結果 / Ingest summary" in out
    assert not NOISE.findall(out), out

    code, out = _dxkpi(
        project, "report", "--fy", "2025", "--only", "data_quality", "--only", "department"
    )
    assert code == 0, out
    assert re.search(r"\d+/\d+ 件成功", out), out
    assert not NOISE.findall(out), out

    folder = project / "reports" / "FY2025"
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    page = (folder / "data_quality.html").read_text(encoding="utf-8")
    assert "<title>データ品質レポート（2025年度）</title>" in page
    footer = re.search(r'<footer class="dxkpi-footer">(.*?)</footer>', page)
    assert footer is not None
    assert f"データ {run['data_manifest_sha256'][:12]}" in footer.group(1)
    assert run["code_version"] in footer.group(1)
    assert re.search(r"作成 \d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2} JST", footer.group(1))
    drill = (folder / "department_010100.html").read_text(encoding="utf-8")
    assert "<title>所属別レポート — 総務課（2025年度）</title>" in drill
