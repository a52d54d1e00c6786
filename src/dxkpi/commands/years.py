"""The ``--fy`` option's type: a fiscal year in any form the data accepts (one rule, the
ingest's). In a module of its own so that ``dxkpi --help`` loads no parser: only the commands
taking ``--fy`` import it."""

from __future__ import annotations

import click

from dxkpi.ingest.parse import fiscal_year_text

__all__ = ["FISCAL_YEAR", "FiscalYear"]


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
