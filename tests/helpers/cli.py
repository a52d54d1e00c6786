"""Run the ``dxkpi`` console entry point in-process, as a user would meet it: exit code and
everything printed (stdout and stderr together)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dxkpi.commands.cli import main
from tests.helpers import ROOT

__all__ = ["EXPECTATIONS", "ingest_args", "run_dxkpi"]

EXPECTATIONS = ROOT / "expectations"


def run_dxkpi(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Call :func:`dxkpi.commands.cli.main` with ``args``; return (exit code, output)."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def ingest_args(raw: Path, out: Path, *extra: str) -> list[str]:
    """``ingest --raw RAW --out OUT --expectations <the repository's suites> …``."""
    return [
        "ingest",
        "--raw",
        str(raw),
        "--out",
        str(out),
        "--expectations",
        str(EXPECTATIONS),
        *extra,
    ]
