"""What every command shares: the project the user means (``--project``, ``DXKPI_PROJECT``,
or the folder holding ``dxkpi.toml`` above the working folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from dxkpi.core.project import Project, locate_project

__all__ = ["CliState", "current_project", "or_default"]


@dataclass
class CliState:
    """Options of the ``dxkpi`` group that its commands read."""

    project_dir: Path | None = None
    debug: bool = False


def current_project() -> Project:
    """The project of this invocation; a bilingual error (exit non-zero) when there is none."""
    ctx = click.get_current_context(silent=True)
    state = ctx.find_root().obj if ctx is not None else None
    explicit = state.project_dir if isinstance(state, CliState) else None
    return locate_project(explicit)


def or_default(value: Path | None, default: str) -> Path:
    """``value`` as given (relative to the working folder), else the project's ``default``.

    ``default`` names a :class:`~dxkpi.core.project.Project` location (``"processed"``,
    ``"raw"``, ``"expectations"``, ``"reports"``, ``"reviews"``, ``"config_file"``).
    """
    if value is not None:
        return value
    location: Path = getattr(current_project(), default)
    return location
