"""File modes are a decision (core.atomic): every artefact of processed data, quarantine and a
report set is FILE_MODE (0640), every folder FOLDER_MODE (0750) — whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dxkpi.core.atomic import FILE_MODE, FOLDER_MODE, write_bytes
from dxkpi.ingest.pipeline import run_ingest
from tests.helpers import ROOT, SECRET
from tests.helpers.rawcity import TINY, write_csv


def _modes(folder: Path) -> dict[str, int]:
    """Mode of ``folder`` ('.') and of everything under it."""
    entries = [folder, *folder.rglob("*")]
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in entries}


def _wrong(folder: Path) -> dict[str, str]:
    return {
        name: oct(mode)
        for name, mode in _modes(folder).items()
        if mode != (FOLDER_MODE if (folder / name).is_dir() else FILE_MODE)
    }


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would make every file world-readable (and writable by the group)."""
    old = os.umask(0o002)
    yield
    os.umask(old)


def test_policy_is_owner_write_group_read_others_nothing() -> None:
    assert (FILE_MODE, FOLDER_MODE) == (0o640, 0o750)


@pytest.mark.integration
def test_processed_data_and_quarantine(tiny_raw: Path, tmp_path: Path, loose_umask: object) -> None:
    write_csv(
        tiny_raw / "attendance.csv", [*TINY["attendance"], {**TINY["attendance"][0], "status": "?"}]
    )
    out = tmp_path / "processed"
    run_ingest(tiny_raw, out, expectations=ROOT / "expectations", secret=SECRET)
    assert (out / "quarantine" / "attendance.csv").is_file()
    assert _wrong(out) == {}


def test_a_new_file_gets_the_policy_a_replaced_file_keeps_its_mode(
    tmp_path: Path, loose_umask: object
) -> None:
    new = write_bytes(tmp_path / "kpi.xlsx", b"x")
    assert stat.S_IMODE(new.stat().st_mode) == FILE_MODE
    own = tmp_path / "README.md"
    own.write_text("mine", encoding="utf-8")
    own.chmod(0o664)
    write_bytes(own, b"rewritten")
    assert stat.S_IMODE(own.stat().st_mode) == 0o664


@pytest.mark.xdist_group("report_run")
def test_every_artefact_of_a_report_set(report_set) -> None:  # type: ignore[no-untyped-def]
    """HTML, notebooks, PNGs, the xlsx, run.json, index.html and figures/ alike (formerly the
    xlsx and PNGs 0600 and the HTML 0644)."""
    folder = report_set.folder
    names = set(_modes(folder))
    assert {"index.html", "run.json", "figures", "kpi_FY2025.xlsx"} <= names
    assert any(n.endswith(".png") for n in names) and any(n.endswith(".html") for n in names)
    assert _wrong(folder) == {}
