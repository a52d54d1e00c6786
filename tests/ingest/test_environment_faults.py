"""Faults of the machine during `dxkpi ingest`: each is one two-language message with what to do,
exit 2, no traceback (unless --debug), and the previous processed data stays as it was."""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import SECRET
from tests.helpers.cli import ingest_args, run_dxkpi

pytestmark = pytest.mark.integration


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid owner-only key of this test's own."""
    path = tmp_path / "key" / "pseudonym.key"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(SECRET)
    path.chmod(0o600)
    monkeypatch.setenv("DXKPI_SECRET_FILE", str(path))
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _assert_one_message(code: int, output: str, *needles: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, (needle, output)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (always ENOSPC)")
def test_disk_full_while_writing_parquet(
    tiny_raw: Path,
    tmp_path: Path,
    key: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real ENOSPC from polars (its writer aimed at /dev/full) — formerly a ComputeError
    traceback."""
    out = tmp_path / "out"
    assert run_dxkpi(capsys, *ingest_args(tiny_raw, out))[0] == 0
    before = _files(out)
    real = pl.DataFrame.write_parquet

    def full_disk(self: pl.DataFrame, file: object, **kwargs: object) -> None:
        real(self, "/dev/full", **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk)
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, out))
    _assert_one_message(code, output, "ディスクの空き", "no space left", "ENOSPC", ".parquet")
    assert _files(out) == before
    assert not list(tmp_path.glob(".out.*"))


@pytest.mark.parametrize(
    ("code", "ja", "en"),
    [(errno.EACCES, "アクセス権", "permission denied"), (errno.EROFS, "読み取り専用", "read-only")],
)
def test_output_folder_that_cannot_be_written(
    code: int,
    ja: str,
    en: str,
    tiny_raw: Path,
    tmp_path: Path,
    key: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Files cannot be created beside --out (a read-only mount, a folder of another user).
    Simulated at the os level, because the tests run as root, whom chmod does not stop."""
    parent = tmp_path / "readonly"
    parent.mkdir()
    real_open, real_mkdir = os.open, os.mkdir

    def refused(path: object) -> bool:
        return str(path).startswith(str(parent))

    def no_create(path: str, flags: int, mode: int = 0o777, **kw: object) -> int:
        if refused(path) and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    def no_mkdir(path: str, mode: int = 0o777, **kw: object) -> None:
        if refused(path) and not os.path.exists(path):
            raise OSError(code, os.strerror(code), str(path))
        real_mkdir(path, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_create)
    monkeypatch.setattr(os, "mkdir", no_mkdir)
    exit_code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, parent / "out"))
    _assert_one_message(exit_code, output, ja, en, errno.errorcode[code], str(parent))


def test_lock_held_by_a_live_run(
    tiny_raw: Path, tmp_path: Path, key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / ".out.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, tmp_path / "out"))
    _assert_one_message(code, output, "書き込み中", "another run", "What to do")
    assert lock.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("problem", "needles"),
    [
        ("short", ("短すぎます", "too short", "16 bytes")),
        ("folder", ("ファイルではない", "not a file")),
        ("world_readable", ("ほかのユーザー", "open to group or others", "chmod 600")),
        ("unreadable", ("読めません", "cannot be read")),
    ],
)
def test_unusable_key_is_one_message(
    problem: str,
    needles: tuple[str, ...],
    tiny_raw: Path,
    tmp_path: Path,
    key: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Formerly a ValueError / IsADirectoryError traceback, and a 0644 key was accepted."""
    if problem == "short":
        key.write_bytes(SECRET[:16])
    elif problem == "folder":
        key.unlink()
        key.mkdir()
    elif problem == "world_readable":
        key.chmod(0o644)
    else:
        real = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self == key:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, tmp_path / "out"))
    _assert_one_message(code, output, str(key), *needles)
    assert not (tmp_path / "out").exists()


def test_debug_flag_shows_the_traceback(
    tiny_raw: Path, tmp_path: Path, key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key.write_bytes(SECRET[:16])
    code, output = run_dxkpi(capsys, "--debug", *ingest_args(tiny_raw, tmp_path / "out"))
    assert code == 2
    assert "Traceback" in output and "SecretError" in output and "too short" in output
