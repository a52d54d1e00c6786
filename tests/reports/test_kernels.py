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
