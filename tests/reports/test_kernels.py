"""The runner's kernels are quiet at their source: IPC sockets in a private folder (removed with
the kernel), or TCP encrypted with CurveZMQ where there are no such sockets; no interrupt on
shutdown. What a kernel writes to its stderr is captured at the file-descriptor level."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from dxkpi.reports import runner

pytestmark = pytest.mark.slow  # real kernels

NOISE = ("without encryption", "KeyboardInterrupt", "WARNING", "ERROR")


@pytest.fixture(autouse=True)
def _fresh_classes() -> Iterator[None]:
    runner._quiet_kernel_managers.cache_clear()
    yield
    runner._quiet_kernel_managers.cache_clear()


def _run_one_cell_and_shut_down(now: bool) -> object:
    km = runner._tracking_kernel_manager()
    km.start_kernel(cwd=str(Path.cwd()))
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    reply = client.execute_interactive("import time; x = 1 + 1", timeout=60)
    assert reply["content"]["status"] == "ok"
    km.release_clients()
    km.shutdown_kernel(now=now)
    return km


@pytest.mark.skipif(os.name != "posix", reason="IPC sockets are POSIX")
@pytest.mark.parametrize("now", [False, True])
def test_a_kernel_over_ipc_says_nothing_and_leaves_nothing(
    capfd: pytest.CaptureFixture[str], now: bool
) -> None:
    km = _run_one_cell_and_shut_down(now)
    assert km.transport == "ipc"  # type: ignore[attr-defined]
    folder = Path(km.ip).parent  # type: ignore[attr-defined]
    assert not folder.exists()
    err = capfd.readouterr().err
    assert not [word for word in NOISE if word in err], err


def test_without_ipc_sockets_tcp_is_encrypted_and_quiet(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    has = zmq.has
    monkeypatch.setattr(zmq, "has", lambda feature: feature != "ipc" and has(feature))
    km = _run_one_cell_and_shut_down(False)
    assert km.transport == "tcp"  # type: ignore[attr-defined]
    assert km.transport_encryption == "auto"  # type: ignore[attr-defined]
    assert km.curve_publickey is not None  # type: ignore[attr-defined]
    err = capfd.readouterr().err
    assert not [word for word in NOISE if word in err], err


def _notebook(path: Path, *sources: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": runner.KERNEL, "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path


def _outputs(path: Path) -> list[tuple[int | None, str]]:
    """(execution count, text) of each code cell's first output."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in nb.cells:
        out = cell.outputs[0] if cell.outputs else {}
        text = out.get("text") or out.get("data", {}).get("text/plain", "")
        found.append((cell.execution_count, str(text).strip()))
    return found


def test_a_reused_kernel_starts_each_notebook_from_an_empty_namespace(tmp_path: Path) -> None:
    """One kernel per process, but a notebook never sees the names of the one before it: the
    second notebook reads ``leftover``, defined by the first, and fails as it would alone; the
    third, after that failure, counts its prompts from 1 again in the same kernel."""
    first = _notebook(tmp_path / "first.ipynb", "import json\nleftover = 41", "leftover + 1")
    second = _notebook(tmp_path / "second.ipynb", "import json\nprint(leftover + 1)")
    third = _notebook(tmp_path / "third.ipynb", "x = 2", "x * 21", "'leftover' in dir()")
    staging = tmp_path / "out"
    staging.mkdir()
    try:
        one = runner.execute_task(runner.Task("first", "r", str(first), {}), str(staging))
        worker = runner._WORKER
        assert worker is not None
        kernel = worker.km
        two = runner.execute_task(runner.Task("second", "r", str(second), {}), str(staging))
        three = runner.execute_task(runner.Task("third", "r", str(third), {}), str(staging))
        assert runner._WORKER is worker and worker.km is kernel  # the same kernel ran all three
    finally:
        runner.shutdown_worker_kernel()
    assert one.status == "ok", one.error
    assert _outputs(staging / "first.ipynb") == [(1, ""), (2, "42")]
    assert two.status == "failed"
    assert two.error is not None and two.error["ename"] == "NameError", two.error
    assert "leftover" in two.error["evalue"]
    assert three.status == "ok", three.error
    assert _outputs(staging / "third.ipynb") == [(1, ""), (2, "42"), (3, "False")]


def _run_in_forked_worker(task: runner.Task, staging: str) -> runner.TaskResult:
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(runner.execute_task, task, staging).result(timeout=180)


@pytest.mark.skipif(os.name != "posix", reason="fork is POSIX")
def test_a_forked_worker_starts_its_own_kernel_after_its_parent_ran_one(tmp_path: Path) -> None:
    """What hung the test suite before: this process runs a notebook (its kernel and jupyter's
    event loop stay), then a worker forked from it runs one. The worker finishes, in a kernel
    it started itself (the kernel's parent process is the worker, not this one), and this
    process's kernel still answers afterwards."""
    probe = _notebook(tmp_path / "probe.ipynb", "import os\nprint(os.getppid())")
    staging = tmp_path / "out"
    staging.mkdir()
    try:
        here = runner.execute_task(runner.Task("here", "r", str(probe), {}), str(staging))
        there = _run_in_forked_worker(runner.Task("there", "r", str(probe), {}), str(staging))
        again = runner.execute_task(runner.Task("again", "r", str(probe), {}), str(staging))
    finally:
        runner.shutdown_worker_kernel()
    assert (here.status, there.status, again.status) == ("ok", "ok", "ok")
    parent_here = _outputs(staging / "here.ipynb")[0][1]
    parent_there = _outputs(staging / "there.ipynb")[0][1]
    assert parent_here == str(os.getpid())
    assert parent_there not in (str(os.getpid()), "")
    assert _outputs(staging / "again.ipynb")[0][1] == parent_here
