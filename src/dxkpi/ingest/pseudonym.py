"""Stable keyed pseudonyms for personnel-system IDs (HMAC-SHA256 with a per-installation secret).

Processed data, quarantine files and reports never carry the IDs of the personnel system: each
employee ID is replaced by ``E`` + the first 16 hex digits of HMAC-SHA256(secret, id). The same
secret gives the same pseudonym on every run, so re-ingesting is reproducible and years link up.

The secret is 32 random bytes created on first use with owner-only permissions (0600) at
``$DXKPI_SECRET_FILE`` if set, else ``$XDG_CONFIG_HOME/dxkpi/pseudonym.key`` (by default
``~/.config/dxkpi/pseudonym.key``; on Windows ``%APPDATA%\\dxkpi\\pseudonym.key``) — outside
the project folder and outside git. Back it up: without it, next year's pseudonyms will not match
this year's. Anyone holding it and the raw IDs can re-identify processed rows: keep it as you keep
the personnel data.

A key is refused (:class:`SecretError`, in Japanese and English) when it is shorter than 32 bytes,
is not a regular file, cannot be read, or — on POSIX systems — carries any permission for group or
others. Its :func:`key_fingerprint` (a keyed hash of a constant, never the key) goes into the
ingest manifest, so an ingest can tell that the key changed since the processed data was made
(:func:`check_same_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import NoReturn

import polars as pl

from dxkpi.core.atomic import PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE
from dxkpi.core.errors import DxkpiError, Where

__all__ = [
    "DIGITS",
    "KEY_BYTES",
    "LOOK_UP_IN_POLARS_FROM",
    "PREFIX",
    "Pseudonyms",
    "SecretError",
    "check_same_key",
    "city_secret_path",
    "create_secret",
    "key_fingerprint",
    "load_or_create_secret",
    "load_secret",
    "missing_key_error",
    "pseudonym",
    "pseudonymise",
    "require_key_length",
    "secret_path",
]

PREFIX = "E"
DIGITS = 16
#: The shortest key accepted, in bytes (a new key has exactly this many random bytes).
KEY_BYTES = 32
#: What the fingerprint is a keyed hash of; the version suffix changes if the scheme ever does.
_FINGERPRINT_OF = b"dxkpi-key-fingerprint-v1"
_NEW_KEY_HINT_JA = (
    "意図して鍵を変える場合（過去の年度と仮名がつながらなくなることを承知の上で）は "
    "`dxkpi ingest --new-key` で実行してください。"
)
_NEW_KEY_HINT_EN = (
    "To change the key on purpose (pseudonyms will then not link to earlier years), run "
    "`dxkpi ingest --new-key`."
)


class SecretError(DxkpiError):
    """The pseudonym key is missing, unreadable, too short, open to others, or not the one the
    processed data was made with."""


def secret_path() -> Path:
    """Where this installation's pseudonym secret lives."""
    explicit = os.environ.get("DXKPI_SECRET_FILE")
    if explicit:
        return Path(explicit)
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "dxkpi" / "pseudonym.key"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dxkpi" / "pseudonym.key"


def city_secret_path(code: str) -> Path:
    """Where the pseudonym key of municipality ``code`` lives in a consolidated (multi-city)
    ingest: one key per city, beside this installation's key (``cities/<code>.key``)."""
    return secret_path().parent / "cities" / f"{code}.key"


def key_fingerprint(secret: bytes) -> str:
    """Which key this is, without revealing it: HMAC-SHA256(key, a constant), 16 hex digits.

    Two runs with the same key give the same fingerprint; the fingerprint cannot be turned back
    into the key, nor used to pseudonymise an ID.

    >>> key_fingerprint(b"k" * 32) == key_fingerprint(b"k" * 32) != key_fingerprint(b"j" * 32)
    True
    >>> len(key_fingerprint(b"k" * 32))
    16
    """
    return hmac.new(secret, _FINGERPRINT_OF, hashlib.sha256).hexdigest()[:16]


def require_key_length(secret: bytes, path: Path | None = None) -> bytes:
    """``secret`` itself when it has at least :data:`KEY_BYTES` bytes; else a SecretError."""
    if len(secret) >= KEY_BYTES:
        return secret
    _raise(
        f"仮名化の鍵が短すぎます（{len(secret)} バイト。{KEY_BYTES} バイト以上が必要）",
        f"the pseudonym key is too short ({len(secret)} bytes; at least {KEY_BYTES} needed)",
        path,
        "バックアップから正しい鍵を戻してください。",
        "Restore the right key from your backup.",
    )


def _raise(ja: str, en: str, path: Path | None, hint_ja: str, hint_en: str) -> NoReturn:
    raise SecretError(
        ja,
        en,
        where=Where(file=str(path)) if path is not None else None,
        hint_ja=hint_ja,
        hint_en=hint_en,
    )


def _check_key_file(path: Path) -> None:
    """Refuse a key path that is missing, not a regular file, or open to group or others."""
    try:
        info = path.stat()
    except FileNotFoundError:
        _raise(
            "仮名化の鍵がありません",
            "the pseudonym key does not exist",
            path,
            "バックアップから鍵を戻すか、DXKPI_SECRET_FILE で鍵の場所を指定してください。",
            "Restore the key from your backup, or point DXKPI_SECRET_FILE at it.",
        )
    if not stat.S_ISREG(info.st_mode):
        _raise(
            "仮名化の鍵の場所にファイルではないもの（フォルダなど）があります",
            "the pseudonym key path is not a file (a folder, say)",
            path,
            "それを移して鍵ファイルを戻すか、DXKPI_SECRET_FILE で鍵ファイルを指定してください。",
            "Move it away and restore the key file, or point DXKPI_SECRET_FILE at the key file.",
        )
    if os.name != "nt" and stat.S_IMODE(info.st_mode) & 0o077:
        _raise(
            f"仮名化の鍵がほかのユーザーからも読み書きできます（{stat.filemode(info.st_mode)}）",
            f"the pseudonym key is open to group or others ({stat.filemode(info.st_mode)})",
            path,
            f"持ち主だけが読めるようにしてください: chmod 600 {path}",
            f"Make it readable by its owner only: chmod 600 {path}",
        )


def load_secret(path: Path | None = None) -> bytes:
    """Read and check the pseudonym key (see the module docstring); a SecretError otherwise."""
    path = path or secret_path()
    _check_key_file(path)
    try:
        key = path.read_bytes()
    except OSError as err:
        _raise(
            f"仮名化の鍵を読めません（{err.strerror}）",
            f"the pseudonym key cannot be read ({err.strerror})",
            path,
            "このユーザーが読めるように持ち主と権限を直してください（chmod 600）。",
            "Make it readable by this user (owner and chmod 600).",
        )
    return require_key_length(key, path)


def create_secret(path: Path | None = None) -> bytes:
    """Create a new random key (0600, parent folder 0700); never overwrites one."""
    path = path or secret_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER_MODE)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def load_or_create_secret(path: Path | None = None) -> bytes:
    """Read the key (checked by :func:`load_secret`), creating it on first use when nothing is
    at its path. Ingestion creates a key only when no processed data exists yet."""
    path = path or secret_path()
    if os.path.lexists(path):
        return load_secret(path)
    return create_secret(path)


def missing_key_error(path: Path, processed: Path) -> SecretError:
    """The refusal to make a new key while processed data made with another one exists."""
    return SecretError(
        f"仮名化の鍵がありません。取込済みデータ {processed} は既存の鍵で作られています。"
        "新しい鍵で取り込むと全職員の仮名が変わり、過去の年度のデータとつながりません",
        f"the pseudonym key is missing, and the processed data {processed} was made with a key: "
        "a new key would change every pseudonym, and this data would no longer link to earlier "
        "years",
        where=Where(file=str(path)),
        hint_ja="バックアップから鍵を戻してください（または DXKPI_SECRET_FILE で鍵の場所を指定）。"
        + _NEW_KEY_HINT_JA,
        hint_en="Restore the key from your backup (or point DXKPI_SECRET_FILE at it). "
        + _NEW_KEY_HINT_EN,
    )


def check_same_key(
    previous: str | None, current: str, *, new_key: bool, path: Path | None = None
) -> None:
    """Refuse a key whose fingerprint differs from the processed data's, unless ``new_key``.

    ``previous`` is None when there is no processed data, or it predates fingerprints.

    >>> check_same_key(None, "ab", new_key=False)
    >>> check_same_key("ab", "cd", new_key=True)
    >>> check_same_key("ab", "cd", new_key=False)
    Traceback (most recent call last):
    dxkpi.ingest.pseudonym.SecretError: 仮名化の鍵が前回の取り込みと違います...
    """
    if previous is None or previous == current or new_key:
        return
    raise SecretError(
        f"仮名化の鍵が前回の取り込みと違います（前回 {previous}、今回 {current}）。このまま"
        "取り込むと全職員の仮名が変わり、過去の年度のデータとつながりません",
        f"the pseudonym key differs from the one the processed data was made with (then "
        f"{previous}, now {current}): ingesting would change every pseudonym, and this data "
        "would no longer link to earlier years",
        where=Where(file=str(path)) if path is not None else None,
        hint_ja="バックアップから前の鍵を戻してください。" + _NEW_KEY_HINT_JA,
        hint_en="Restore the previous key from your backup. " + _NEW_KEY_HINT_EN,
    )


def pseudonym(secret: bytes, employee_id: str) -> str:
    """The pseudonym of one employee ID."""
    digest = hmac.new(secret, employee_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGITS]


#: From this many IDs in one call, :class:`Pseudonyms` looks up the known ones in polars; below
#: it, in a Python dictionary (polars' fixed cost, about 0.3 ms a call, is ten times the loop's
#: for the few hundred IDs of a small town; at 36,000 IDs polars is a little faster and, above
#: all, does not hold the interpreter's lock).
LOOK_UP_IN_POLARS_FROM = 10_000


class Pseudonyms:
    """:func:`pseudonym` for many IDs under one key, each distinct ID hashed once per run.

    The HMAC's keyed inner and outer SHA-256 states are prepared once and copied per ID (the
    same digest as :func:`hmac.new`). The pseudonyms already computed in this run (another
    dataset, the ``_zeros_`` spelling) are looked up: many IDs at once by polars, outside the
    interpreter (:data:`LOOK_UP_IN_POLARS_FROM`) — a Python loop over them held the
    interpreter's lock for every dataset's IDs, at 30,000 staff the largest share of an
    ingest's lock-holding time, while the run's other threads waited for it — and a few in a
    dictionary. Lives for one ingest run, in memory only.
    """

    def __init__(self, secret: bytes) -> None:
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)
        self._known: dict[str, str] = {}
        self._table = (pl.Series(dtype=pl.String), pl.Series(dtype=pl.String))

    def __call__(self, series: pl.Series) -> pl.Series:
        """Replace every ID in a string series by its pseudonym (nulls stay null). Meant for the
        distinct IDs the ingest gathers back to its rows; repeated IDs are hashed once."""
        ids = series.cast(pl.String)
        if ids.len() < LOOK_UP_IN_POLARS_FROM:
            return pl.Series(series.name, [self._of(u) for u in ids.to_list()], dtype=pl.String)
        found = self._in_polars(ids)
        unseen = ids.filter(ids.is_not_null() & found.is_null()).unique(maintain_order=True)
        if unseen.len():
            for u in unseen.to_list():
                self._of(u)
            found = self._in_polars(ids)
        return found.alias(series.name)

    def _of(self, employee_id: str | None) -> str | None:
        """One ID's pseudonym (null for null): looked up, or hashed once from the prepared HMAC
        states (:func:`pseudonym`) and remembered."""
        if employee_id is None:
            return None
        known = self._known.get(employee_id)
        if known is None:
            h = self._mac.copy()
            h.update(employee_id.encode("utf-8"))
            known = self._known[employee_id] = PREFIX + h.hexdigest()[:DIGITS]
        return known

    def _in_polars(self, ids: pl.Series) -> pl.Series:
        """Each ID's pseudonym remembered in this run, null for one not seen (and for a null),
        looked up in the remembered pairs as two series (made again when more are known)."""
        if self._table[0].len() != len(self._known):
            self._table = (
                pl.Series(list(self._known), dtype=pl.String),
                pl.Series(list(self._known.values()), dtype=pl.String),
            )
        return ids.replace_strict(*self._table, default=None, return_dtype=pl.String)


def pseudonymise(series: pl.Series, secret: bytes | Pseudonyms) -> pl.Series:
    """Replace every ID in a string series by its pseudonym (nulls stay null); ``secret`` may be
    a run's :class:`Pseudonyms` (which remembers the IDs it has seen)."""
    mapper = secret if isinstance(secret, Pseudonyms) else Pseudonyms(secret)
    return mapper(series)
