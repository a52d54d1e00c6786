"""Atomic replacement of an output folder (processed data, a fiscal year's reports).

A run builds everything in a staging folder beside the target (``.<name>.new-<pid>``), then
swaps it in with two renames: target → ``.<name>.old``, staging → target. A run killed between
the two renames leaves no target but a complete backup; :func:`recover`, called at the start of
the next run, puts the backup back (or drops it once the new target is in place) and removes
staging folders of runs that no longer exist.

A single file is written the same way by :func:`write_text`: a hidden temporary file beside it,
then one rename, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dxkpi.core.lock import pid_alive

__all__ = ["publish", "recover", "staging_dir", "write_text"]


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


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file atomically (``.<name>.<pid>.tmp`` beside it, then a rename);
    creates the parent folder. Returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
