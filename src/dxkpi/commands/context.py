"""What every command shares: the project the user means (``--project``, ``DXKPI_PROJECT``,
or the folder holding ``dxkpi.toml`` above the working folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from dxkpi.core.project import Project, locate_project

__all__ = ["FISCAL_YEAR", "CliState", "FiscalYear", "current_project", "or_default"]


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


class FiscalYear(click.ParamType):
    """A ``--fy`` value in any form the data's fiscal-year columns accept — ``2025``,
    ``2025年度``, ``令和7年度``, ``R7``, ``FY2025`` — read by the ingest's own rule
    (:func:`dxkpi.ingest.parse.fiscal_year_text`); anything else is refused in both languages.
    """

    name = "年度/fiscal-year"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        from dxkpi.ingest.parse import fiscal_year_text

        year = fiscal_year_text(str(value))
        if year is None:
            self.fail(
                f"年度として読めません: {value!r}（2025、2025年度、令和7年度、R7 のように"
                f"書いてください）/ not a fiscal year: {value!r} (write 2025, 2025年度, "
                "令和7年度 or R7)",
                param,
                ctx,
            )
        return year


#: The parameter type of every ``--fy`` option.
FISCAL_YEAR = FiscalYear()
