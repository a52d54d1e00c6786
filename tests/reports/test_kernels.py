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


def test_a_reused_kernel_starts_each_notebook_from_an_empty_namespace(tmp_path: Path) -> None:
    """One kernel per worker, but a notebook never sees the names of the one before it: the
    second notebook reads ``leftover``, defined by the first, and must fail as it would alone."""
    first = _notebook(tmp_path / "first.ipynb", "import json\nleftover = 41")
    second = _notebook(tmp_path / "second.ipynb", "import json\nprint(leftover + 1)")
    staging = tmp_path / "out"
    staging.mkdir()
    try:
        one = runner.execute_task(runner.Task("first", "r", str(first), {}), str(staging))
        kernel = runner._WORKER_KERNEL
        two = runner.execute_task(runner.Task("second", "r", str(second), {}), str(staging))
        assert runner._WORKER_KERNEL is kernel  # the same kernel ran both
    finally:
        if runner._WORKER_KERNEL is not None:
            runner._WORKER_KERNEL.shutdown_kernel(now=True)
            runner._WORKER_KERNEL = None
    assert one.status == "ok", one.error
    assert two.status == "failed"
    assert two.error is not None and two.error["ename"] == "NameError", two.error
    assert "leftover" in two.error["evalue"]
