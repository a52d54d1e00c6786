"""Where the project is: found the way git finds a repository, never guessed.

A dxkpi project is a folder holding ``dxkpi.toml``. Every path dxkpi uses by default
(``data/raw``, ``data/processed``, ``expectations/``, ``reports/``, ``reviews/``, the report
templates) is resolved from that folder, so a command, a notebook or a scheduled job gives the
same answer from any working folder under the project, or from anywhere with ``--project DIR``
or ``DXKPI_PROJECT=DIR``.

Order of precedence: an explicit folder (``--project``), then the ``DXKPI_PROJECT`` environment
variable, then the first folder holding ``dxkpi.toml`` walking up from the working folder.
With none of them, :func:`locate_project` raises :class:`ProjectNotFoundError` (in Japanese and
English) — there are no silent defaults.

>>> import tempfile
>>> base = Path(tempfile.mkdtemp())
>>> _ = (base / PROJECT_FILE).write_text("", encoding="utf-8")
>>> (base / "notebooks" / "exploratory").mkdir(parents=True)
>>> find_project_root(base / "notebooks" / "exploratory") == base
True
>>> locate_project(base).processed == base / "data" / "processed"
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dxkpi.core.errors import DxkpiError, Where

__all__ = [
    "ENV_VAR",
    "PROJECT_FILE",
    "Project",
    "ProjectNotFoundError",
    "find_project_root",
    "locate_project",
]

PROJECT_FILE = "dxkpi.toml"
ENV_VAR = "DXKPI_PROJECT"


class ProjectNotFoundError(DxkpiError):
    """No dxkpi project (a folder with ``dxkpi.toml``) could be found."""


@dataclass(frozen=True)
class Project:
    """A dxkpi project folder and the default locations inside it.

    Parameters
    ----------
    root
        The folder holding ``dxkpi.toml`` (absolute).
    """

    root: Path

    @property
    def config_file(self) -> Path:
        """``dxkpi.toml``: targets, privacy, grading, skill matrix, ROI assumptions."""
        return self.root / PROJECT_FILE

    @property
    def raw(self) -> Path:
        """``data/raw``: the city's files, never modified by dxkpi."""
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        """``data/processed``: validated, pseudonymised parquet, quarantine and manifest."""
        return self.root / "data" / "processed"

    @property
    def expectations(self) -> Path:
        """``expectations``: the Great Expectations suites generated from the contract."""
        return self.root / "expectations"

    @property
    def reports(self) -> Path:
        """``reports``: the generated report sets, one folder per fiscal year."""
        return self.root / "reports"

    @property
    def reviews(self) -> Path:
        """``reviews``: the PDCA meeting's review logs and proposed targets."""
        return self.root / "reviews"

    @property
    def report_templates(self) -> Path:
        """``notebooks/reports``: the report notebook templates run by the report runner."""
        return self.root / "notebooks" / "reports"


def find_project_root(start: Path | None = None) -> Path | None:
    """The first folder holding ``dxkpi.toml``, walking up from ``start`` (default: cwd).

    Returns ``None`` when no folder up to the file-system root holds one.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def _explicit(folder: Path, source: str) -> Project:
    root = folder.expanduser().resolve()
    if not (root / PROJECT_FILE).is_file():
        raise ProjectNotFoundError(
            f"{source} のフォルダ {root} に {PROJECT_FILE} がありません。",
            f"the folder {root} given by {source} holds no {PROJECT_FILE}.",
            where=Where(file=str(root)),
            hint_ja="プロジェクトのフォルダ（dxkpi.toml があるフォルダ）を指定してください。",
            hint_en="give the project folder (the one holding dxkpi.toml).",
        )
    return Project(root)


def locate_project(
    explicit: str | Path | None = None,
    *,
    start: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """The project: ``explicit``, else ``$DXKPI_PROJECT``, else found walking up from ``start``.

    Parameters
    ----------
    explicit
        A project folder given by the user (``--project``); it must hold ``dxkpi.toml``.
    start
        Where the upward search begins (default: the working folder).
    environ
        The environment to read ``DXKPI_PROJECT`` from (default: ``os.environ``).

    Raises
    ------
    ProjectNotFoundError
        When the given folder holds no ``dxkpi.toml``, or none is found walking up.
    """
    if explicit is not None:
        return _explicit(Path(explicit), "--project")
    env = (os.environ if environ is None else environ).get(ENV_VAR)
    if env:
        return _explicit(Path(env), ENV_VAR)
    root = find_project_root(start)
    if root is None:
        here = (start or Path.cwd()).resolve()
        raise ProjectNotFoundError(
            f"dxkpi のプロジェクトが見つかりません"
            f"（{here} とその上のフォルダに {PROJECT_FILE} がない）。",
            f"no dxkpi project found ({PROJECT_FILE} is in neither {here} nor any folder above).",
            hint_ja=(
                "プロジェクトのフォルダで実行するか、--project DIR か環境変数 "
                f"{ENV_VAR} でフォルダを指定してください。"
            ),
            hint_en=(f"run inside the project folder, or give it with --project DIR or {ENV_VAR}."),
        )
    return Project(root)
