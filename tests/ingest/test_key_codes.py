"""Duplicate keys are found on integer codes of the key columns: the codes must repeat exactly
where the key tuples repeat (nulls equal), as a struct of the columns does."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dxkpi.ingest.rules import _key_codes, repeated_among

TEXT = st.sampled_from(["x", "y", "", "0x", "総務", None])
NUMBER = st.sampled_from([1, 2, -5, 2**40, None])
DATE = st.sampled_from([dt.date(2020, 1, 1), dt.date(1999, 12, 31), dt.date(2262, 4, 11), None])
FLOAT = st.sampled_from([1.5, 1.2, None])
SCHEMA = {"a": pl.String, "b": pl.Int64, "c": pl.Date, "d": pl.Float64}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(TEXT, NUMBER, DATE, FLOAT), max_size=30),
    st.sampled_from([("a", "b"), ("b", "c"), ("a", "b", "c"), ("c", "a"), ("a", "d"), ("b",)]),
)
def test_codes_repeat_where_the_key_repeats(rows: list[tuple], key: tuple[str, ...]) -> None:
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    got = frame.select(_key_codes(frame, key).is_first_distinct().alias("first"))
    want = frame.select(pl.struct(key).is_first_distinct().alias("first"))
    assert got["first"].to_list() == want["first"].to_list()


def test_too_many_values_for_64_bits_fall_back_to_a_struct() -> None:
    frame = pl.DataFrame({"a": [0, 2**62], "b": [0, 2**62], "c": [1, 1]})
    assert isinstance(_key_codes(frame, ("a", "b", "c")), pl.Expr)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), max_size=40))
def test_repeated_among_clean_rows_is_what_is_first_distinct_says(rows: list[tuple]) -> None:
    frame = pl.DataFrame(rows, schema={"k": pl.UInt64, "clean": pl.Boolean}, orient="row")
    clean = pl.col("clean")
    want = frame.select(clean & ~pl.when(clean).then(pl.col("k")).is_first_distinct())
    got = repeated_among(frame["k"], frame["clean"])
    assert got.to_list() == want.to_series().to_list()
