"""Dense text codes (``dxkpi.core.codes``): the order their docstrings promise holds on the
columns the ingest actually codes — several chunks (one per file read), millions of rows — not
only on the doctests' three values. An expression's cast of a frame's column to a categorical
codes its chunks in parallel, in an order that changes from run to run; the Series cast these
functions use must not."""

from __future__ import annotations

import numpy as np
import polars as pl

from dxkpi.core.codes import own_categorical, text_codes


def _chunked(values: list[str | None], chunks: int) -> pl.Series:
    size = -(-len(values) // chunks)
    parts = [
        pl.Series("c", values[i : i + size], dtype=pl.String) for i in range(0, len(values), size)
    ]
    return pl.concat(parts, rechunk=False)


def _first_appearance(cell: pl.Series) -> pl.Series:
    """Each row's position among the distinct non-null values in order of first appearance,
    computed without a categorical."""
    distinct = cell.drop_nulls().unique(maintain_order=True)
    position = pl.Series(np.arange(distinct.len(), dtype=np.uint32))
    return cell.replace_strict(distinct, position, default=None, return_dtype=pl.UInt32)


def _ids(rows: int, distinct: int, seed: int) -> list[str | None]:
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, distinct, rows)
    values: list[str | None] = [f"E{v:08d}" for v in drawn]
    for i in rng.choice(rows, rows // 50, replace=False):
        values[int(i)] = None
    return values


def test_codes_of_a_many_chunk_column_follow_first_appearance() -> None:
    cell = _chunked(_ids(600_000, 30_000, seed=3), chunks=6)
    assert cell.n_chunks() == 6
    expected = _first_appearance(cell)
    codes = text_codes(cell)
    assert codes.dtype == pl.UInt32
    assert codes.equals(expected, check_names=False, null_equal=True)
    assert codes.null_count() == cell.null_count() > 0
    assert codes.max() == cell.n_unique() - 2  # 0…k−1 over the k distinct non-null values


def test_codes_are_the_same_on_every_run() -> None:
    cell = _chunked(_ids(300_000, 5_000, seed=5), chunks=5)
    first = text_codes(cell)
    for _ in range(5):
        assert text_codes(cell).equals(first, null_equal=True)


def test_each_column_gets_a_category_list_of_its_own() -> None:
    before = own_categorical(pl.Series(["x", "y", "z"]))
    after = own_categorical(pl.Series(["z", "q"]))
    assert before.to_physical().to_list() == [0, 1, 2]
    assert after.to_physical().to_list() == [0, 1]  # "z" is not the earlier column's code 2
    dtype = after.dtype
    assert isinstance(dtype, pl.Categorical)
    assert dtype.categories.to_series().to_list() == ["z", "q"]
