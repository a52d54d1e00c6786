"""Atomic replacement of an output folder (processed data, a fiscal year's reports).

A run builds everything in a staging folder beside the target (``.<name>.new-<pid>``), then
swaps it in with two renames: target → ``.<name>.old``, staging → target. A run killed between
the two renames leaves no target but a complete backup; :func:`recover`, called at the start of
the next run, puts the backup back (or drops it once the new target is in place) and removes
staging folders of runs that no longer exist.

dxkpi only ever replaces a folder it made. :func:`publish` writes a marker file (:data:`MARKER`)
into every folder it swaps in; a target is replaced only when it does not exist, is empty (a
lone ``.gitkeep`` counts as empty, and is kept), carries that marker, or was written by dxkpi
0.2 or earlier, before the marker existed — recognised by its ``manifest.json`` (processed data)
or ``run.json`` (a report set) with the keys those versions wrote. Anything else — the raw
folder, a project, a folder of the user's files — is refused with :class:`OutputFolderError`
before anything is touched: :func:`ensure_replaceable` checks it, and :func:`recover` and
:func:`publish` check it again, so every caller of the swap is guarded. :func:`ensure_apart`
refuses an output folder that is, contains or lies inside the folder a run reads.

A single file is written the same way by :func:`write_file` (and :func:`write_text`,
:func:`write_bytes`): a hidden temporary file beside it, then one rename, so a reader never sees
half a file. This module is the one home of atomic writes.

File modes are decided here, whatever the umask: every file of a folder :func:`publish` swaps in
(processed data, quarantine, a report set) is :data:`FILE_MODE` (0640: the owner writes, the
owner's group reads, others nothing) and every folder :data:`FOLDER_MODE` (0750); a new file
written by :func:`write_file` gets :data:`FILE_MODE`, a file it replaces keeps its mode (README,
dxkpi.toml stay as their owner set them). Secrets — the pseudonym key — are
:data:`PRIVATE_FILE_MODE` (0600) in a :data:`PRIVATE_FOLDER_MODE` (0700) folder.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from dxkpi.core.errors import DxkpiError, Where
from dxkpi.core.lock import pid_alive

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "MARKER",
    "PRIVATE_FILE_MODE",
    "PRIVATE_FOLDER_MODE",
    "OutputFolderError",
    "ensure_apart",
    "ensure_replaceable",
    "is_replaceable",
    "publish",
    "recover",
    "staging_dir",
    "with_modes",
    "write_bytes",
    "write_file",
    "write_text",
]

#: Mode of every artefact file dxkpi writes: owner read/write, group read, others nothing.
FILE_MODE = 0o640
#: Mode of every output folder dxkpi writes.
FOLDER_MODE = 0o750
#: Mode of a secret (the pseudonym key) and of the folder dxkpi creates for it.
PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700

#: The file that says "dxkpi made this folder and may replace it".
MARKER = ".dxkpi-output"
_MARKER_TEXT = (
    "このフォルダは dxkpi が作り、実行のたびに丸ごと置き換えます。自分のファイルを置かないで"
    "ください。\nThis folder is written by dxkpi and replaced as a whole on every run: do not "
    "keep your own files here.\n"
)
_GITKEEP = ".gitkeep"
#: What the folders of dxkpi ≤ 0.2 (before the marker) hold: a JSON file with these keys.
_LEGACY_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("manifest.json", frozenset({"dxkpi_version", "contract_sha256", "datasets", "files"})),
    ("run.json", frozenset({"parameters", "data_manifest_sha256", "notebooks"})),
)


class OutputFolderError(DxkpiError):
    """An output folder dxkpi would replace is not one it made (or overlaps what it reads)."""


def _has_legacy_signature(folder: Path) -> bool:
    for name, keys in _LEGACY_SIGNATURES:
        try:
            content = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(content, dict) and keys <= content.keys():
            return True
    return False


def is_replaceable(folder: Path) -> bool:
    """True when dxkpi may replace ``folder``: it does not exist, is empty (but for a
    ``.gitkeep``), carries :data:`MARKER`, or is a processed-data or report folder of dxkpi
    ≤ 0.2. A symlink or a file is never replaceable.

    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> is_replaceable(base / "new"), is_replaceable(base)
    (True, True)
    >>> _ = (base / "notes.txt").write_text("mine", encoding="utf-8")
    >>> is_replaceable(base)
    False
    >>> _ = (base / MARKER).write_text("", encoding="utf-8")
    >>> is_replaceable(base)
    True
    """
    if folder.is_symlink():
        return False
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    if (folder / MARKER).is_file():
        return True
    if all(entry.name == _GITKEEP for entry in folder.iterdir()):
        return True
    return _has_legacy_signature(folder)


def ensure_replaceable(folder: Path) -> None:
    """Refuse, touching nothing, to replace a folder dxkpi did not make
    (:func:`is_replaceable`)."""
    if is_replaceable(folder):
        return
    raise OutputFolderError(
        "出力先が dxkpi の作ったフォルダではありません。置き換えると中のファイルが消えるため、"
        "何も変更せずに中止しました",
        "the output folder is not one dxkpi made: replacing it would delete the files in it, so "
        "nothing was changed",
        where=Where(file=str(folder)),
        hint_ja="空のフォルダか存在しないフォルダを出力先に指定してください（--out など）。"
        f"dxkpi の出力先には目印のファイル {MARKER} があります。",
        hint_en="Give an empty or new folder as the output (--out …). Folders dxkpi writes "
        f"carry the file {MARKER}.",
    )


def _resolved(path: Path) -> Path:
    return Path(os.path.normcase(path.resolve()))


def ensure_apart(source: Path, output: Path) -> None:
    """Refuse an ``output`` folder that is ``source``, or lies inside it or around it (symlinks
    resolved), before anything is touched.

    >>> ensure_apart(Path("/city/data/raw"), Path("/city/data/processed"))
    >>> ensure_apart(Path("/city/data/raw"), Path("/city/data/raw/out"))
    Traceback (most recent call last):
    dxkpi.core.atomic.OutputFolderError: ...
    """
    src, out = _resolved(source), _resolved(output)
    if src == out or out.is_relative_to(src) or src.is_relative_to(out):
        raise OutputFolderError(
            f"出力先と読み込み元が同じか、一方が他方の中にあります（読み込み元 {source}）",
            f"the output folder is the input folder or lies inside or around it (input {source})",
            where=Where(file=str(output)),
            hint_ja="読み込み元（data/raw など）の外にある別のフォルダを出力先に指定してください。",
            hint_en="Give an output folder apart from the input (data/raw …), neither inside nor "
            "around it.",
        )


def staging_dir(target: Path) -> Path:
    """This process's staging folder for ``target`` (not created: the caller makes it, and
    :func:`publish` sets its modes)."""
    return target.parent / f".{target.name}.new-{os.getpid()}"


def with_modes(folder: Path) -> Path:
    """Set :data:`FOLDER_MODE` on ``folder`` and every folder under it and :data:`FILE_MODE`
    on every file (symlinks are left alone). Returns ``folder``.

    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> _ = (base / "a.html").write_text("x", encoding="utf-8")
    >>> oct(with_modes(base).stat().st_mode & 0o777), oct((base / "a.html").stat().st_mode & 0o777)
    ('0o750', '0o640')
    """
    folder.chmod(FOLDER_MODE)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(FOLDER_MODE)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(FILE_MODE)
    return folder


def _backup(target: Path) -> Path:
    return target.parent / f".{target.name}.old"


def recover(target: Path) -> None:
    """Finish or roll back a swap a killed run left half done; remove dead runs' staging.
    Refuses first a target dxkpi did not make (:func:`ensure_replaceable`)."""
    ensure_replaceable(target)
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
    """Replace ``target`` by ``staging`` (rename target away, rename staging in, drop the old).

    Refuses a target dxkpi did not make (:func:`ensure_replaceable`); writes :data:`MARKER`
    into the new folder, keeps the target's ``.gitkeep`` and sets the modes of everything in it
    (:func:`with_modes`).
    """
    ensure_replaceable(target)
    (staging / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    if (target / _GITKEEP).is_file():
        shutil.copy2(target / _GITKEEP, staging / _GITKEEP)
    with_modes(staging)
    backup = _backup(target)
    if backup.exists():
        shutil.rmtree(backup)
    if target.exists():
        target.rename(backup)
    staging.rename(target)
    if backup.exists():
        shutil.rmtree(backup)


def write_file(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Create ``path`` atomically: ``write`` fills a hidden temporary file beside it, then one
    rename puts it in place, so a reader never sees half a file. Creates the parent folder.

    A new file gets :data:`FILE_MODE`; a file it replaces keeps its mode. If ``write``
    raises, the temporary file is removed and ``path`` is untouched.

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
        mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else FILE_MODE
        write(tmp)
        os.chmod(tmp, mode)
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
