"""`dxkpi ingest --out` replaces only a folder dxkpi made: never the raw folder, a project or a
folder of the user's files (formerly everything in it was deleted and the run exited 0)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dxkpi.core.atomic import MARKER
from dxkpi.ingest.pipeline import run_ingest
from tests.helpers import SECRET
from tests.helpers.cli import EXPECTATIONS, ingest_args, run_dxkpi

pytestmark = pytest.mark.integration


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (hidden ones included) with its bytes (None: a folder)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _refused(code: int, output: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output
    assert output.index("出力先") < output.index("output folder")


def test_out_same_as_raw_is_refused_and_nothing_touched(
    tiny_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tiny_raw / "notes.txt").write_text("keep me", encoding="utf-8")
    before = _tree(tmp_path)
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, tiny_raw))
    _refused(code, output)
    assert "inside or around" in output
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("where", ["inside_raw", "around_raw", "symlink_to_raw"])
def test_out_overlapping_raw_is_refused(
    where: str, tiny_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = {
        "inside_raw": tiny_raw / "processed",
        "around_raw": tmp_path,
        "symlink_to_raw": tmp_path / "alias",
    }[where]
    if where == "symlink_to_raw":
        os.symlink(tiny_raw, out)
    before = _tree(tmp_path)
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, out))
    _refused(code, output)
    assert _tree(tmp_path) == before


def test_existing_folder_of_user_files_is_refused(
    tiny_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "my_project"
    (project / "docs").mkdir(parents=True)
    (project / "notes.txt").write_text("keep me", encoding="utf-8")
    (project / "docs" / "plan.md").write_text("# plan", encoding="utf-8")
    before = _tree(tmp_path)
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, project))
    _refused(code, output)
    assert "dxkpi の作ったフォルダではありません" in output and MARKER in output
    assert _tree(tmp_path) == before


def test_new_empty_and_own_folders_are_written(tiny_raw: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".gitkeep").write_bytes(b"")
    run_ingest(tiny_raw, empty, expectations=EXPECTATIONS, secret=SECRET)
    assert (empty / MARKER).is_file() and (empty / ".gitkeep").is_file()
    assert (empty / "staff.parquet").is_file()
    run_ingest(tiny_raw, empty, expectations=EXPECTATIONS, secret=SECRET)  # its own: replaced


def test_processed_folder_of_an_earlier_version_is_recognised(
    tiny_raw: Path, tmp_path: Path
) -> None:
    """dxkpi ≤ 0.2 wrote no marker: its manifest.json says the folder is dxkpi's."""
    out = tmp_path / "processed"
    run_ingest(tiny_raw, out, expectations=EXPECTATIONS, secret=SECRET)
    (out / MARKER).unlink()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    del manifest["pseudonym_key_fingerprint"]  # nor a key fingerprint
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = run_ingest(tiny_raw, out, expectations=EXPECTATIONS, secret=SECRET)
    assert report.ok and (out / MARKER).is_file()


def test_symlinked_out_replaces_the_folder_it_names(tiny_raw: Path, tmp_path: Path) -> None:
    """data/processed as a symlink to a bigger disk: the real folder is replaced, the link kept."""
    real = tmp_path / "disk" / "processed"
    real.mkdir(parents=True)
    link = tmp_path / "processed"
    os.symlink(real, link)
    run_ingest(tiny_raw, link, expectations=EXPECTATIONS, secret=SECRET)
    run_ingest(tiny_raw, link, expectations=EXPECTATIONS, secret=SECRET)
    assert link.is_symlink() and (real / "staff.parquet").is_file()
