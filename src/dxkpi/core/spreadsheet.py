"""Cells that spreadsheets would run as formulas, made inert — for every CSV/XLSX dxkpi writes."""

from __future__ import annotations

import polars as pl

__all__ = ["FORMULA_PREFIXES", "neutralise", "neutralise_frame"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_RISKY = "^[=+\\-@\t\r]"


def neutralise(text: str) -> str:
    """Make a text cell inert in spreadsheets: prefix ``'`` when it starts like a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` with :func:`neutralise` applied (numbers untouched)."""
    cols = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_RISKY))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in cols
    )
