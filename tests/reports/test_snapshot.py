"""A report run reads its own copy of the processed data (reports.runner.snapshot_processed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dxkpi.core.lock import RunLock, folder_lock
from dxkpi.reports.runner import SNAPSHOT_DIR, ReportError, snapshot_processed


@pytest.fixture
def processed(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "processed"
    (folder / "quarantine").mkdir(parents=True)
    (folder / "quarantine" / "staff.csv").write_text("raw values", encoding="utf-8")
    for name in ("staff.parquet", "departments.parquet", "manifest.json", ".gitkeep"):
        (folder / name).write_bytes(name.encode())
    return folder


def test_the_copy_holds_the_data_and_manifest_never_the_quarantine(
    processed: Path, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    copy = snapshot_processed(processed, staging)
    assert copy == staging / SNAPSHOT_DIR
    assert sorted(p.name for p in copy.iterdir()) == [
        "departments.parquet",
        "manifest.json",
        "staff.parquet",
    ]
    assert (copy / "staff.parquet").read_bytes() == b"staff.parquet"
    assert not folder_lock(processed).exists()  # the ingest lock is released at once


def test_a_run_refuses_to_copy_while_an_ingest_rewrites_the_data(
    processed: Path, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    with RunLock(folder_lock(processed)), pytest.raises(ReportError) as err:
        snapshot_processed(processed, staging)
    assert "取り込み" in err.value.ja and "ingest" in err.value.en
    assert not (staging / SNAPSHOT_DIR).exists()
