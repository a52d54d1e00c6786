"""Dense codes of text: each distinct value a number 0…k−1, in order of first appearance.

Grouping, joining and comparing by these numbers is cheaper than by the text; the ingest codes
identifiers and keys with them (:mod:`dxkpi.ingest.rules`), suppression its equations
(:mod:`dxkpi.kpi.suppression`).
"""

from __future__ import annotations

import polars as pl

__all__ = ["own_categorical", "text_codes"]


def own_categorical(cell: pl.Series) -> pl.Series:
    """``cell`` as a categorical of its own (a fresh category list: codes 0…k−1 in order of
    first appearance, no other column's values among them).

    >>> own_categorical(pl.Series(["b", "a", "b"])).to_physical().to_list()
    [0, 1, 0]
    """
    return cell.cast(pl.Categorical(pl.Categories.random()))


def text_codes(cell: pl.Series) -> pl.Series:
    """Each row's position among the distinct values of a text column (UInt32, 0…k−1; null
    stays null), without listing the values (:func:`dxkpi.ingest.rules.distinct_values` lists
    them too).

    >>> text_codes(pl.Series(["b", None, "a", "b"])).to_list()
    [0, None, 1, 0]
    """
    return own_categorical(cell).to_physical()
