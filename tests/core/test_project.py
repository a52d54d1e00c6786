"""The project is found the way git finds a repository, from any folder — never guessed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dxkpi.core.project import (
    ENV_VAR,
    PROJECT_FILE,
    Project,
    ProjectNotFoundError,
    find_project_root,
    locate_project,
)
from dxkpi.project.config import load_config
from tests.helpers import ROOT, SECRET

CLI = [sys.executable, "-c", "from dxkpi.commands.cli import main; main()"]


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "city"
    (root / "notebooks" / "exploratory").mkdir(parents=True)
    shutil.copy(ROOT / PROJECT_FILE, root / PROJECT_FILE)
    return root


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    return env | extra


def test_found_walking_up_from_a_subfolder(tmp_path: Path) -> None:
    root = _project(tmp_path)
    deep = root / "notebooks" / "exploratory"
    assert find_project_root(deep) == root.resolve()
    assert locate_project(start=deep, environ={}).root == root.resolve()
    assert find_project_root(tmp_path) is None


def test_explicit_folder_beats_environment_beats_walking_up(tmp_path: Path) -> None:
    a, b = _project(tmp_path / "a"), _project(tmp_path / "b")
    env = {ENV_VAR: str(b)}
    assert locate_project(a, start=b, environ=env).root == a.resolve()
    assert locate_project(None, start=a, environ=env).root == b.resolve()
    assert locate_project(None, start=a, environ={}).root == a.resolve()


def test_no_project_is_a_bilingual_error_not_a_default(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError) as caught:
        locate_project(start=tmp_path, environ={})
    assert "見つかりません" in caught.value.ja and "no dxkpi project found" in caught.value.en
    with pytest.raises(ProjectNotFoundError) as given:
        locate_project(tmp_path, environ={})  # a folder without dxkpi.toml
    assert "--project" in given.value.en


def test_load_config_in_a_notebook_folder_reads_the_project_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(root / "notebooks" / "exploratory")
    config = load_config()
    assert config.source == str(root.resolve() / PROJECT_FILE)
    assert config.target("participation_rate", 2025) is not None  # not the built-in defaults
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectNotFoundError):
        load_config()


def test_dxkpi_open_from_the_notebook_folder_shows_the_targets(tmp_path: Path) -> None:
    root = _project(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", "import dxkpi; print(len(dxkpi.open().config.targets))"],
        cwd=root / "notebooks" / "exploratory",
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) == len(load_config(root / PROJECT_FILE).targets) > 0


def test_cli_outside_any_project_exits_non_zero_in_both_languages(tmp_path: Path) -> None:
    run = subprocess.run([*CLI, "kpi"], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert run.returncode != 0
    assert "プロジェクトが見つかりません" in run.stderr and "no dxkpi project found" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.integration
def test_ingest_with_project_from_another_folder(tmp_path: Path, tiny_raw: Path) -> None:
    """`dxkpi --project <clone> ingest --raw R --out O` from elsewhere finds the suites."""
    project = _project(tmp_path)
    shutil.copytree(ROOT / "expectations", project / "expectations")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    key = tmp_path / "key"
    key.write_bytes(SECRET)
    key.chmod(0o600)
    out = tmp_path / "processed-elsewhere"
    run = subprocess.run(
        [*CLI, "--project", str(project), "ingest", "--raw", str(tiny_raw), "--out", str(out)],
        cwd=elsewhere,
        env=_env(DXKPI_SECRET_FILE=str(key)),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert (out / "manifest.json").is_file() and (out / "staff.parquet").is_file()
    assert Project(project.resolve()).expectations.is_dir()
