"""File names made from data (a department code in a report's or a figure's name).

A value from the data is never trusted as a path: :func:`safe_stem` turns it into one plain file
name component (letters, digits, ``-`` and ``_``), and :func:`path_inside` joins a name to its
folder and refuses a result that lands anywhere else. A value that is already plain keeps its
spelling (``010100`` stays ``010100``); any other gets the characters it may keep plus a short hash
of the whole value, so two different values never share a file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from dxkpi.core.errors import DxkpiError, Where

__all__ = ["UnsafePathError", "path_inside", "safe_stem"]

#: One plain file name component: letters and digits of any script, ``-`` and ``_``.
_PLAIN = re.compile(r"[^\W]|-", re.UNICODE)
#: Names Windows keeps for devices, whatever the extension.
_RESERVED = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(1, 10)),
        *(f"LPT{i}" for i in range(1, 10)),
    }
)
_MAX_KEPT = 40


class UnsafePathError(DxkpiError):
    """A file name would put a file outside the folder it belongs in."""


def _is_plain(value: str) -> bool:
    return (
        0 < len(value) <= _MAX_KEPT
        and all(_PLAIN.fullmatch(c) for c in value)
        and value.upper() not in _RESERVED
    )


def safe_stem(value: str) -> str:
    """``value`` as one file name component that stays where it is put.

    >>> safe_stem("010100")
    '010100'
    >>> safe_stem("q/../../../../x/TRAVERSAL")
    'q_____________x_TRAVERSAL-d099167250'
    >>> safe_stem("q/x") != safe_stem("q_x")
    True
    """
    if _is_plain(value):
        return value
    kept = "".join(c if _PLAIN.fullmatch(c) else "_" for c in value)[:_MAX_KEPT]
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]
    return f"{kept}-{digest}"


def path_inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it resolves to a file directly inside ``folder``.

    >>> path_inside(Path("/tmp/reports"), "department_010100.html").name
    'department_010100.html'
    >>> try:
    ...     path_inside(Path("/tmp/reports"), "../x.png")
    ... except UnsafePathError as err:
    ...     print(type(err).__name__)
    UnsafePathError
    """
    base = Path(folder).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise UnsafePathError(
            f"ファイル名がフォルダ {base} の外を指しています",
            f"the file name points outside the folder {base}",
            where=Where(file=name),
            hint_ja="データ由来の名前は core.filenames.safe_stem で作ってください。",
            hint_en="make names from data with core.filenames.safe_stem.",
        )
    return path
