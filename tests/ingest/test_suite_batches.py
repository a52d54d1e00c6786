"""The reduced batches the GX gate runs on keep exactly what each expectation can see."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import polars as pl
import pytest

import dxkpi.ingest.pseudonym as pseudonym_module
from dxkpi.ingest.pseudonym import Pseudonyms, pseudonym
from dxkpi.ingest.suites import _distinct_batch, _keys_batch, _to_pandas

PAIR = {
    "type": "expect_column_pair_values_a_to_be_greater_than_b",
    "kwargs": {"column_A": "b", "column_B": "a", "or_equal": True},
}


def test_distinct_batch_keeps_the_occurring_tuples_and_no_other() -> None:
    frame = pl.DataFrame(
        {
            "a": [1, 1, 2, 2, 3, None],
            "b": [5, 5, 1, 6, 7, 7],  # (2, 1) is the one row breaking b >= a
            "c": ["x", "x", "x", "y", "x", "x"],
        }
    )
    batch = _distinct_batch(frame, [PAIR])
    assert batch.columns == ["a", "b", "c"]
    assert batch.height == 5  # the distinct (a, b) pairs: (1,5) (2,1) (2,6) (3,7) (None,7)
    pairs = set(batch.select("a", "b").rows())
    assert pairs == {(1, 5), (2, 1), (2, 6), (3, 7), (None, 7)}
    assert set(batch["c"].to_list()) == {"x", "y"}


def test_keys_batch_repeats_exactly_the_repeated_keys() -> None:
    frame = pl.DataFrame(
        {
            "employee_id": ["E1", "E2", "E1", "E1", None],
            "session_date": [dt.date(2025, 4, 1)] * 3 + [dt.date(2025, 4, 2)] * 2,
        }
    )
    spec = {
        "type": "expect_compound_columns_to_be_unique",
        "kwargs": {"column_list": ["employee_id", "session_date"]},
    }
    keys = _keys_batch(frame, [spec])
    assert keys.dtypes == [pl.Int64, pl.Int64]
    assert keys.is_duplicated().to_list() == [True, False, True, False, False]
    assert keys["employee_id"].null_count() == 1


def test_to_pandas_gives_vectorisable_dtypes_and_keeps_ancient_dates() -> None:
    frame = pl.DataFrame(
        {
            "d": [dt.date(2025, 4, 1)],
            "old": [dt.date(1, 1, 1)],
            "y": pl.Series([2025], dtype=pl.Int32),
        }
    )
    pdf = _to_pandas(frame)
    assert str(pdf["d"].dtype) == "datetime64[ns]"
    assert str(pdf["y"].dtype) == "int64"
    assert str(pdf["old"].dtype) != "datetime64[ns]"  # year 1 does not fit nanoseconds


def test_run_pseudonyms_equal_the_hmac_of_each_id() -> None:
    secret = b"s" * 32
    mapper = Pseudonyms(secret)
    got = mapper(pl.Series(["00124", None, "124", "00124"])).to_list()
    want = "E" + hmac.new(secret, b"00124", hashlib.sha256).hexdigest()[:16]
    assert got == [want, None, pseudonym(secret, "124"), want]


@pytest.mark.parametrize("polars_from", [0, 3, 10**9])  # polars always, from 3 IDs, never
def test_run_pseudonyms_of_known_and_new_ids_in_later_calls(
    polars_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pseudonym_module, "LOOK_UP_IN_POLARS_FROM", polars_from)
    secret = b"t" * 32
    mapper = Pseudonyms(secret)
    assert mapper(pl.Series([None, None])).to_list() == [None, None]  # nothing known yet
    mapper(pl.Series(["1", "2"]))
    got = mapper(pl.Series("id", ["3", "1", None, "3", "4"]))
    assert got.name == "id"
    assert got.to_list() == [
        pseudonym(secret, "3"),
        pseudonym(secret, "1"),
        None,
        pseudonym(secret, "3"),
        pseudonym(secret, "4"),
    ]
    assert mapper(pl.Series(["4", "2"])).to_list() == [pseudonym(secret, i) for i in ("4", "2")]
