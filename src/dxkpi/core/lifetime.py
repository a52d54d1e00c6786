"""Worker processes that end with the run that started them.

A report run executes notebooks in worker processes. If the run itself is killed (``SIGKILL``,
a closed terminal, a scheduler's timeout), nothing would stop its workers: they would keep
executing notebooks into a staging folder nobody will publish. :func:`end_with_parent`, a
worker's initializer, ties the worker's life to its parent's:

* on Linux the kernel delivers ``SIGKILL`` to the worker the moment its parent dies
  (``prctl(PR_SET_PDEATHSIG)``);
* elsewhere a daemon thread waits on the parent's sentinel
  (:func:`multiprocessing.parent_process`) and ends the worker when it fires.

The Jupyter kernels a worker starts follow it on their own: ipykernel polls its parent
(``JPY_PARENT_PID``) every second and exits when it is gone.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading

__all__ = ["end_with_parent", "watch_parent"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_ORPHANED = 70  # exit status of a worker whose parent died (EX_SOFTWARE)


def _kill_with_parent() -> None:
    """Ask Linux to send this process SIGKILL when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")


def _exit_when_parent_ends() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child: nothing to watch
        return
    parent.join()  # returns when the parent's sentinel closes, i.e. the parent is gone
    os._exit(_ORPHANED)


def watch_parent() -> threading.Thread:
    """Start a daemon thread that ends this multiprocessing child when its parent ends."""
    thread = threading.Thread(target=_exit_when_parent_ends, name="dxkpi-parent", daemon=True)
    thread.start()
    return thread


def end_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process when its parent (``parent_pid``) dies, however
    it dies; end it now if the parent is already gone."""
    if sys.platform.startswith("linux"):
        _kill_with_parent()
    else:
        watch_parent()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(_ORPHANED)
