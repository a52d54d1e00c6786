"""Domain errors. Every error says what is wrong, where, and what to do — in Japanese and English.

The CLI turns a :class:`DxkpiError` into a two-language message and a non-zero exit code; library
code raises these instead of printing.

Faults of the machine rather than of the data — a full disk, a folder this user may not write, a
read-only file system — are one :class:`EnvironmentFault` each: :func:`os_fault` maps an
``OSError`` (or a polars/Rust error carrying ``(os error N)``) by its errno to one two-language
message with what to do. This mapping is the one home of those messages; the CLI applies it to
any ``OSError`` that reaches it, and writers apply it at their boundary with
:func:`environment_faults`.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ConfigError",
    "ContractError",
    "DxkpiError",
    "EnvironmentFault",
    "IngestInvariantError",
    "Where",
    "environment_faults",
    "os_error_code",
    "os_fault",
]


@dataclass(frozen=True)
class Where:
    """A location in the raw data: file, 1-based row as a spreadsheet shows it, column."""

    file: str | None = None
    row: int | None = None
    column: str | None = None

    def ja(self) -> str:
        parts = []
        if self.file:
            parts.append(f"ファイル {self.file}")
        if self.row is not None:
            parts.append(f"{self.row} 行目")
        if self.column:
            parts.append(f"列「{self.column}」")
        return "、".join(parts)

    def en(self) -> str:
        parts = []
        if self.file:
            parts.append(f"file {self.file}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


class DxkpiError(Exception):
    """Base error: a Japanese and an English message, where it happened, and what to do."""

    def __init__(
        self,
        ja: str,
        en: str,
        *,
        where: Where | None = None,
        hint_ja: str = "",
        hint_en: str = "",
    ) -> None:
        self.ja = ja
        self.en = en
        self.where = where or Where()
        self.hint_ja = hint_ja
        self.hint_en = hint_en
        super().__init__(self.message())

    def message(self) -> str:
        """The full two-language message, Japanese first."""
        loc_ja, loc_en = self.where.ja(), self.where.en()
        ja = f"{loc_ja}: {self.ja}" if loc_ja else self.ja
        en = f"{loc_en}: {self.en}" if loc_en else self.en
        lines = [ja]
        if self.hint_ja:
            lines.append(f"  対処: {self.hint_ja}")
        lines.append(en)
        if self.hint_en:
            lines.append(f"  What to do: {self.hint_en}")
        return "\n".join(lines)


class ContractError(DxkpiError):
    """A raw file breaks a file-level rule of the data contract (unreadable, missing column…)."""


class IngestInvariantError(DxkpiError):
    """An internal invariant of ingestion failed (rows lost or duplicated, suites disagree)."""


class ConfigError(DxkpiError):
    """The project configuration (dxkpi.toml) is invalid."""


class EnvironmentFault(DxkpiError):
    """The machine got in the way: disk full, no permission, read-only file system…"""


_PERMISSION = (
    "アクセス権がありません",
    "permission denied",
    "このユーザーに読み書きの権限を与えるか、権限のある場所を指定してください。",
    "Give this user permission to it, or choose a place this user may write.",
)
#: errno → (what, in Japanese and English; what to do, in Japanese and English).
_OS_FAULTS: dict[int, tuple[str, str, str, str]] = {
    errno.ENOSPC: (
        "ディスクの空きがありません",
        "no space left on the disk",
        "ディスクの空きを作ってから再実行してください。",
        "Free some space on that disk and run again.",
    ),
    errno.EDQUOT: (
        "ディスク使用量の上限（クォータ）に達しました",
        "the disk quota is used up",
        "不要なファイルを消すか、上限を上げてもらってから再実行してください。",
        "Delete files you no longer need or ask for a larger quota, then run again.",
    ),
    errno.EACCES: _PERMISSION,
    errno.EPERM: _PERMISSION,
    errno.EROFS: (
        "読み取り専用のファイルシステムです",
        "the file system is read-only",
        "書き込める場所を指定してください（--out など）。",
        "Choose a folder on a writable disk (--out …).",
    ),
    errno.ENOENT: (
        "ファイルまたはフォルダがありません",
        "no such file or folder",
        "パスを確かめてください。",
        "Check the path.",
    ),
    errno.EISDIR: (
        "ファイルのはずの場所がフォルダです",
        "a folder is where a file should be",
        "そのフォルダを移すか、別のパスを指定してください。",
        "Move that folder away or give another path.",
    ),
    errno.ENOTDIR: (
        "フォルダのはずの場所がファイルです",
        "a file is where a folder should be",
        "そのファイルを移すか、別のパスを指定してください。",
        "Move that file away or give another path.",
    ),
    errno.EIO: (
        "ディスクの読み書きに失敗しました（入出力エラー）",
        "the disk failed to read or write (input/output error)",
        "ディスクやネットワークドライブの状態を確かめてから再実行してください。",
        "Check the disk or network drive and run again.",
    ),
    errno.EMFILE: (
        "同時に開けるファイル数の上限に達しました",
        "too many open files",
        "ulimit -n で上限を上げるか、--jobs を減らしてください。",
        "Raise the limit (ulimit -n) or use fewer --jobs.",
    ),
}

#: How Rust libraries (polars) report an OS error inside their own exception's message.
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def os_error_code(err: BaseException) -> int | None:
    """The errno behind ``err``: an ``OSError``'s own, or the ``(os error N)`` a Rust library
    (polars) writes into its message; ``None`` when there is none.

    >>> os_error_code(OSError(28, "No space left on device"))
    28
    >>> os_error_code(RuntimeError("parquet: underlying IO error: No space left (os error 28)"))
    28
    >>> os_error_code(ValueError("not an OS error")) is None
    True
    """
    if isinstance(err, OSError) and err.errno is not None:
        return err.errno
    found = _RUST_OS_ERROR.search(str(err))
    return int(found.group(1)) if found else None


def os_fault(err: BaseException, path: str | Path | None = None) -> EnvironmentFault:
    """One two-language message for an OS-level fault: what happened, where, what to do.

    ``path`` names the file or folder when the error itself does not (polars errors never do).

    >>> print(os_fault(OSError(28, "No space left on device"), "/data/processed").message())
    ファイル /data/processed: ディスクの空きがありません（ENOSPC）
      対処: ディスクの空きを作ってから再実行してください。
    file /data/processed: no space left on the disk (ENOSPC)
      What to do: Free some space on that disk and run again.
    """
    code = os_error_code(err)
    filename = getattr(err, "filename", None) or path
    where = Where(file=str(filename)) if filename else None
    name = errno.errorcode.get(code, f"errno {code}") if code is not None else ""
    tag = f"（{name}）" if name else ""
    tag_en = f" ({name})" if name else ""
    if code in _OS_FAULTS:
        ja, en, hint_ja, hint_en = _OS_FAULTS[code]
        return EnvironmentFault(
            ja + tag, en + tag_en, where=where, hint_ja=hint_ja, hint_en=hint_en
        )
    detail = getattr(err, "strerror", None) or str(err)
    return EnvironmentFault(
        f"OS のエラーです{tag}: {detail}",
        f"operating-system error{tag_en}: {detail}",
        where=where,
        hint_ja="パス・権限・ディスクを確かめてから再実行してください（詳細は dxkpi --debug）。",
        hint_en="Check the path, permissions and disk, then run again (details: dxkpi --debug).",
    )


@contextmanager
def environment_faults(path: str | Path) -> Iterator[None]:
    """Turn an OS-level fault raised while writing ``path`` into an :class:`EnvironmentFault`
    (including a polars error that carries ``(os error N)``); anything else passes unchanged.

    >>> with environment_faults("/out/staff.parquet"):
    ...     raise OSError(30, "Read-only file system")
    Traceback (most recent call last):
    dxkpi.core.errors.EnvironmentFault: ファイル /out/staff.parquet: 読み取り専用の...
    """
    try:
        yield
    except DxkpiError:
        raise
    except Exception as err:
        if isinstance(err, OSError) or os_error_code(err) is not None:
            raise os_fault(err, path) from err
        raise
