"""Unattended runs: no terminal, a log file, a non-zero exit on failure, and a run killed at
any point leaves the last good reports in place (the next run recovers)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dxkpi.ingest.pipeline import run_ingest
from tests.helpers import ROOT, SECRET
from tests.helpers.notebooks import write_notebook
from tests.helpers.rawcity import write_tiny_city

pytestmark = pytest.mark.slow  # papermill runs real notebooks

CLI = [sys.executable, "-c", "from dxkpi.commands.cli import main; main()"]


def _new_project(root: Path, raw: Path) -> Path:
    run_ingest(raw, root / "data" / "processed", expectations=ROOT / "expectations", secret=SECRET)
    (root / "dxkpi.toml").write_text(
        (ROOT / "dxkpi.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    _write_templates(root, "v1")
    return root


@pytest.fixture
def project(tmp_path: Path, tiny_raw: Path) -> Path:
    return _new_project(tmp_path, tiny_raw)


@pytest.fixture(scope="module")
def _published_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose v1 reports one successful unattended run published (made once: the
    tests that use it share the ``published_v1`` xdist group; each works on its own copy,
    :func:`published`)."""
    base = tmp_path_factory.mktemp("published_v1")
    root = _new_project(base / "project", write_tiny_city(base / "raw"))
    proc = _report(root)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out.decode()
    return root


@pytest.fixture
def published(_published_v1: Path, tmp_path: Path) -> Path:
    """:func:`project` after one successful run of its v1 templates: a copy of the shared
    tree (file times kept), so a test may change it."""
    return Path(shutil.copytree(_published_v1, tmp_path / "project", symlinks=True))


def _write_templates(root: Path, version: str, fail: bool = False) -> None:
    folder = root / "notebooks" / "reports"
    write_notebook(
        folder / "data_quality.ipynb", f"import time\ntime.sleep(1.0)\nprint('品質 {version}')"
    )
    body = "raise RuntimeError('わざと失敗')" if fail else f"print('ダッシュボード {version}')"
    write_notebook(folder / "kpi_dashboard.ipynb", f"import time\ntime.sleep(1.0)\n{body}")


def _report(root: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *CLI,
            "report",
            "--fy",
            "2025",
            "--only",
            "data_quality",
            "--only",
            "kpi_dashboard",
            "--jobs",
            "2",
            *extra,
        ],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "TERM": "dumb"},
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.html")) if p.name != "index.html"}


@pytest.mark.xdist_group("published_v1")  # one shared first run
def test_scheduled_run_logs_and_reports_failure(published: Path) -> None:
    project = published  # its first run (v1) succeeded
    logs = list((project / "reports" / "logs").glob("report-*.log"))
    assert logs and "2/2" in logs[0].read_text(encoding="utf-8")
    _write_templates(project, "v2", fail=True)
    proc = _report(project, "--keep-going")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 1
    assert "kpi_dashboard" in out.decode() and "RuntimeError" in out.decode()
    newest = max(
        (project / "reports" / "logs").glob("report-*.log"), key=lambda p: p.stat().st_mtime
    )
    assert "FAILED kpi_dashboard" in newest.read_text(encoding="utf-8")


@pytest.mark.xdist_group("published_v1")  # one shared first run
@pytest.mark.parametrize("delay", [0.4, 2.0, 4.0])
def test_killed_run_leaves_last_good_reports(published: Path, delay: float) -> None:
    project = published  # its first run (v1) succeeded
    folder = project / "reports" / "FY2025"
    good = _snapshot(folder)
    assert "v1" in good["kpi_dashboard.html"].decode()

    _write_templates(project, "v2")
    proc = _report(project)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    after = _snapshot(folder) if folder.exists() else {}
    versions = {("v2" if "v2" in page.decode() else "v1") for page in after.values()}
    assert after and len(versions) == 1, "a mix of old and new reports, or none"
    if versions == {"v1"}:
        assert after == good
    # the next run starts (stale lock of the killed run taken over) and completes
    proc = _report(project)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out.decode()
    assert all("v2" in p.decode() for p in _snapshot(folder).values())
    assert not list((project / "reports").glob(".FY2025.new-*"))
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["ok"]


def _children() -> dict[int, list[int]]:
    """Every live process's children (Linux /proc); zombies count as gone."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    live = {p for ps in _children().values() for p in ps}
    return pids & live


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_and_kernels_die_with_a_killed_run(project: Path) -> None:
    """SIGKILL of the `dxkpi report` process alone (not its group): its notebook workers and
    their kernels stop within seconds instead of running on into a dead staging folder."""
    folder = project / "notebooks" / "reports"
    for name in ("data_quality", "kpi_dashboard"):
        write_notebook(folder / f"{name}.ipynb", "import time\ntime.sleep(120)")
    proc = _report(project)
    deadline = time.monotonic() + 120
    family: set[int] = set()
    while time.monotonic() < deadline:  # two workers, each with a kernel running its notebook
        family = _descendants(proc.pid)
        kernels = [p for p in family if b"ipykernel" in _cmdline(p)]
        if len(kernels) >= 2:
            break
        time.sleep(0.5)
    assert len(family) >= 4, "the run never started its notebooks"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(family) and time.monotonic() < deadline:
        time.sleep(0.5)
    survivors = _alive(family)
    for pid in survivors:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert survivors == set()


WAIT_FOR_GO = """
def wait_for_go():
    for _ in range(1200):
        if Path("go").exists():
            return
        time.sleep(0.1)
    raise TimeoutError("no go")
"""
CITY = """
from pathlib import Path
import time
from dxkpi.ingest.processed import load_processed
def city():
    names = load_processed(data_dir).departments.collect()["department_name"]
    return "CITY " + ",".join(sorted(names))
"""


def test_an_ingest_during_a_report_never_publishes_a_mix(project: Path, tiny_raw: Path) -> None:
    """`dxkpi ingest` replaces the processed data while the report's notebooks run: one
    notebook read the data before, the other reads after. Every published report shows one
    city's data, and run.json records the hash of the data the reports show."""
    from dxkpi.ingest.processed import manifest_hash

    folder = project / "notebooks" / "reports"
    write_notebook(
        folder / "data_quality.ipynb",
        CITY + WAIT_FOR_GO + "print(city())\nPath('read-early').touch()\nwait_for_go()",
    )
    write_notebook(
        folder / "kpi_dashboard.ipynb",
        CITY + WAIT_FOR_GO + "Path('waiting').touch()\nwait_for_go()\nprint(city())",
    )
    processed = project / "data" / "processed"
    before = manifest_hash(json.loads((processed / "manifest.json").read_text(encoding="utf-8")))
    other = project / "other_raw"
    other.mkdir()
    for csv in tiny_raw.glob("*.csv"):
        text = csv.read_text(encoding="utf-8").replace("総務課", "新庁舎課")
        (other / csv.name).write_text(text, encoding="utf-8")

    proc = _report(project)
    deadline = time.monotonic() + 120
    while not ((project / "read-early").exists() and (project / "waiting").exists()):
        assert time.monotonic() < deadline and proc.poll() is None, "notebooks never started"
        time.sleep(0.2)
    run_ingest(other, processed, expectations=ROOT / "expectations", secret=SECRET)
    after = manifest_hash(json.loads((processed / "manifest.json").read_text(encoding="utf-8")))
    assert after != before
    (project / "go").touch()
    out, _ = proc.communicate(timeout=180)

    assert proc.returncode == 0, out.decode()
    assert "re-ingested during the run" in out.decode()
    folder = project / "reports" / "FY2025"
    shown = {
        name: re.findall(r"CITY [^<\n]*", (folder / f"{name}.html").read_text(encoding="utf-8"))
        for name in ("data_quality", "kpi_dashboard")
    }
    assert {tuple(v) for v in shown.values()} == {("CITY 市民課,総務課",)}, shown
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["data_manifest_sha256"] == before


def test_an_error_quoting_data_is_printed_as_text(project: Path) -> None:
    """A notebook error quoting a name like ``[/x]`` is printed as it is (rich would read it
    as console markup and abort the run before it publishes)."""
    write_notebook(
        project / "notebooks" / "reports" / "kpi_dashboard.ipynb",
        "raise KeyError('[/x][bold]総務課')",
    )
    proc = _report(project, "--keep-going")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 1, out.decode()
    assert "MarkupError" not in out.decode() and "[/x][bold]総務課" in out.decode()
    assert (project / "reports" / "FY2025" / "kpi_dashboard.failed.ipynb").exists()
