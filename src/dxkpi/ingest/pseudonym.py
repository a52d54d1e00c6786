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
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

__all__ = ["DIGITS", "PREFIX", "load_or_create_secret", "pseudonym", "pseudonymise", "secret_path"]

PREFIX = "E"
DIGITS = 16


def secret_path() -> Path:
    """Where this installation's pseudonym secret lives."""
    explicit = os.environ.get("DXKPI_SECRET_FILE")
    if explicit:
        return Path(explicit)
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "dxkpi" / "pseudonym.key"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dxkpi" / "pseudonym.key"


def load_or_create_secret(path: Path | None = None) -> bytes:
    """Read the secret, creating it (0600, parent 0700) on first use."""
    path = path or secret_path()
    if path.exists():
        key = path.read_bytes()
        if len(key) < 32:
            raise ValueError(f"pseudonym secret {path} is shorter than 32 bytes")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def pseudonym(secret: bytes, employee_id: str) -> str:
    """The pseudonym of one employee ID."""
    digest = hmac.new(secret, employee_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGITS]


def pseudonymise(series: pl.Series, secret: bytes) -> pl.Series:
    """Replace every ID in a string series by its pseudonym (nulls stay null)."""
    uniques = series.drop_nulls().unique().to_list()
    mapping = {u: pseudonym(secret, u) for u in uniques}
    return series.replace_strict(mapping, default=None, return_dtype=pl.String)
