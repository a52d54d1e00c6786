"""A column whose values recur across files and cities (dates, codes, numbers) is parsed from a
table remembered in the process: what it gives must equal parsing the values afresh, in the
order asked, for values seen before, new values and nulls alike."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dxkpi.catalogue.contract import DATASETS
from dxkpi.ingest import rules
from dxkpi.ingest.rules import _distinct_table, _parsed_values

DATE_COLUMN = DATASETS["proposals"].column("submitted_on")
CODE_COLUMN = DATASETS["proposals"].column("status")
SCORE_COLUMN = DATASETS["attendance"].column("satisfaction")
RAW = st.sampled_from(
    [
        "2024/04/01",
        "R6.4.1",
        "令和6年4月1日",
        "2024-13-01",
        "",
        " ",
        "x",
        "５",
        "3",
        "3.5",
        "adopted",
        "採択",
        "#N/A",
        "submitted_on",
        None,
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(RAW, unique=True, max_size=8), min_size=1, max_size=4))
def test_remembered_equals_fresh(batches: list[list[str | None]]) -> None:
    rules._remembered.clear()
    for column in (DATE_COLUMN, CODE_COLUMN, SCORE_COLUMN):
        for batch in batches:
            values = pl.Series("raw", batch, dtype=pl.String)
            got = _distinct_table(values, column)
            assert got.equals(_parsed_values(values, column))


def test_a_full_table_stops_growing_but_still_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rules._remembered.clear()
    monkeypatch.setattr(rules, "REMEMBER_AT_MOST", 2)
    first = pl.Series("raw", ["2024/04/01", "2024/04/02"], dtype=pl.String)
    more = pl.Series("raw", ["2024/04/03", "2024/04/01"], dtype=pl.String)
    _distinct_table(first, DATE_COLUMN)
    assert _distinct_table(more, DATE_COLUMN).equals(_parsed_values(more, DATE_COLUMN))
    table, rows = rules._remembered[DATE_COLUMN]
    assert table.height == 2 and set(rows) == {"2024/04/01", "2024/04/02"}
