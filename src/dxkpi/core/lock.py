"""A lock file that keeps two runs from writing the same output folder.

The lock is created with ``O_EXCL`` and holds the owner's PID, host and start time. A lock left by
a process that no longer exists on this host is stale and is taken over (with a note in the log);
a live one makes the second run stop with a clear message.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from dxkpi.core.errors import DxkpiError, Where
from dxkpi.core.jsontext import json_text

__all__ = ["LockedError", "RunLock", "folder_lock", "pid_alive"]


class LockedError(DxkpiError):
    """Another run holds the lock."""


def folder_lock(folder: Path) -> Path:
    """The lock file of a folder that is replaced as a whole (``data/processed``): held by the
    ingest that rewrites it and, while it copies the folder, by a report run that reads it.

    >>> folder_lock(Path("data/processed")).as_posix()
    'data/.processed.lock'
    """
    return folder.parent / f".{folder.name}.lock"


def pid_alive(pid: int) -> bool:
    """True while a process with this PID exists (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunLock:
    """Context manager: ``with RunLock(path): ...``. ``stale_taken`` says if a dead run's lock
    was replaced."""

    path: Path
    stale_taken: bool = False

    def _write(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(
                json_text(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "started": datetime.datetime.now(datetime.UTC).isoformat(
                            timespec="seconds"
                        ),
                    }
                )
            )

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._write()
            return self
        except FileExistsError:
            pass
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            owner = {}
        same_host = owner.get("host") == socket.gethostname()
        pid = int(owner.get("pid", -1))
        if same_host and pid > 0 and not pid_alive(pid):
            self.path.unlink(missing_ok=True)
            self._write()
            self.stale_taken = True
            return self
        raise LockedError(
            f"別の実行（PID {owner.get('pid', '?')}、{owner.get('started', '?')} 開始）が"
            "同じ出力先に書き込み中です",
            f"another run (PID {owner.get('pid', '?')}, started {owner.get('started', '?')}) "
            "is writing to the same output folder",
            where=Where(file=str(self.path)),
            hint_ja="終わるのを待ってから再実行してください。その実行が既に無い場合はロックファイルを"
            "削除してください。",
            hint_en="Wait for it to finish and run again; if that run no longer exists, delete "
            "the lock file.",
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.path.unlink(missing_ok=True)
