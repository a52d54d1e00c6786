"""Worker processes end with their parent (dxkpi.core.lifetime).

The Linux path (``PR_SET_PDEATHSIG``) is exercised by killing a real report run
(tests/reports/test_unattended.py); the watchdog used elsewhere is checked here on a child
started with ``spawn``, as on Windows and macOS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MIDDLE = """
import multiprocessing as mp
import sys
import time

from dxkpi.core.lifetime import watch_parent


def child():
    watch_parent()
    print("watching", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    worker = mp.get_context("spawn").Process(target=child)
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaped (it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_watchdog_ends_a_spawned_child_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "middle.py"
    script.write_text(MIDDLE, encoding="utf-8")
    middle = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert middle.stdout is not None
    child = int(middle.stdout.readline())
    assert middle.stdout.readline().strip() == "watching"
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait(timeout=10)
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _gone(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail("the child outlived its parent")
