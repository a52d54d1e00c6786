"""Atomic replacement of an output folder (processed data, a fiscal year's reports).

A run builds everything in a staging folder beside the target (``.<name>.new-<pid>``), then
swaps it in with two renames: target → ``.<name>.old``, staging → target. A run killed between
the two renames leaves no target but a complete backup; :func:`recover`, called at the start of
the next run, puts the backup back (or drops it once the new target is in place) and removes
staging folders of runs that no longer exist.

A single file is written the same way by :func:`write_file` (and :func:`write_text`,
:func:`write_bytes`): a hidden temporary file beside it, then one rename, so a reader never sees
half a file. This module is the one home of atomic writes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from dxkpi.core.lock import pid_alive

__all__ = ["publish", "recover", "staging_dir", "write_bytes", "write_file", "write_text"]


def staging_dir(target: Path) -> Path:
    """This process's staging folder for ``target``."""
    return target.parent / f".{target.name}.new-{os.getpid()}"


def _backup(target: Path) -> Path:
    return target.parent / f".{target.name}.old"


def recover(target: Path) -> None:
    """Finish or roll back a swap a killed run left half done; remove dead runs' staging."""
    backup = _backup(target)
    if backup.exists():
        if target.exists():
            shutil.rmtree(backup)
        else:
            backup.rename(target)
    for stale in target.parent.glob(f".{target.name}.new-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def publish(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` (rename target away, rename staging in, drop the old)."""
    backup = _backup(target)
    if backup.exists():
        shutil.rmtree(backup)
    if target.exists():
        target.rename(backup)
    staging.rename(target)
    if backup.exists():
        shutil.rmtree(backup)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Read once at import (single-threaded): new files get the modes a plain write would give.
_UMASK = _current_umask()


def write_file(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Create ``path`` atomically: ``write`` fills a hidden temporary file beside it, then one
    rename puts it in place, so a reader never sees half a file. Creates the parent folder.

    The file gets the permissions an ordinary write would (``0o666`` less the umask). If
    ``write`` raises, the temporary file is removed and ``path`` is untouched.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "sub" / "a.txt"
    >>> write_file(target, lambda tmp: tmp.write_text("ok", encoding="utf-8")).read_text()
    'ok'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`write_file`)."""
    return write_file(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_file`)."""
    return write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
