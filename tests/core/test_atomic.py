"""The folder swap replaces only folders dxkpi made, and never one that overlaps its input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dxkpi.core.atomic import (
    MARKER,
    OutputFolderError,
    ensure_apart,
    is_replaceable,
    publish,
    recover,
    staging_dir,
)


def _staged(target: Path) -> Path:
    staging = staging_dir(target)
    staging.mkdir(parents=True)
    (staging / "table.parquet").write_bytes(b"new")
    return staging


def test_publish_marks_the_folder_and_keeps_gitkeep(tmp_path: Path) -> None:
    target = tmp_path / "processed"
    target.mkdir()
    (target / ".gitkeep").write_bytes(b"")
    publish(_staged(target), target)
    assert sorted(p.name for p in target.iterdir()) == [
        ".dxkpi-output",
        ".gitkeep",
        "table.parquet",
    ]
    assert "dxkpi" in (target / MARKER).read_text(encoding="utf-8")
    publish(_staged(target), target)  # marked: replaced again
    assert (target / "table.parquet").read_bytes() == b"new"


@pytest.mark.parametrize("step", ["recover", "publish"])
def test_a_folder_of_someone_elses_files_is_never_replaced(step: str, tmp_path: Path) -> None:
    target = tmp_path / "project"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    staging = _staged(target)
    with pytest.raises(OutputFolderError) as refused:
        if step == "recover":
            recover(target)
        else:
            publish(staging, target)
    message = refused.value.message()
    assert "dxkpi の作ったフォルダではありません" in message and "not one dxkpi made" in message
    assert str(target) in message and MARKER in message
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "content", "replaceable"),
    [
        (
            "manifest.json",
            {"dxkpi_version": "0.2.0", "contract_sha256": "x", "datasets": {}, "files": []},
            True,
        ),
        ("run.json", {"parameters": {}, "data_manifest_sha256": "x", "notebooks": []}, True),
        ("manifest.json", {"name": "some other tool"}, False),
        ("run.json", ["not", "an", "object"], False),
    ],
)
def test_folders_of_earlier_versions_are_recognised_by_their_record(
    name: str, content: object, replaceable: bool, tmp_path: Path
) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / name).write_text(json.dumps(content), encoding="utf-8")
    (folder / "staff.parquet").write_bytes(b"old")
    assert is_replaceable(folder) is replaceable


def test_a_file_or_a_symlink_is_not_a_replaceable_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    os.symlink(tmp_path / "empty", tmp_path / "link")
    (tmp_path / "empty").mkdir()
    assert not is_replaceable(tmp_path / "file")
    assert not is_replaceable(tmp_path / "link")


@pytest.mark.parametrize("relation", ["same", "inside", "around", "symlink"])
def test_output_may_not_overlap_the_input(relation: str, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    out = {
        "same": raw,
        "inside": raw / "processed",
        "around": tmp_path,
        "symlink": tmp_path / "alias",
    }[relation]
    if relation == "symlink":
        os.symlink(raw, out)
    with pytest.raises(OutputFolderError, match="inside or around"):
        ensure_apart(raw, out)
    ensure_apart(raw, tmp_path / "processed")  # beside it: fine
