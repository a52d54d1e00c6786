"""A reference is checked once per distinct key: each row's key gets a number from the codes of
parse_and_check (and the fiscal year of its date), each number's key is looked up once, and its
rows follow. The flags must be exactly those of the join of every row on the key's values."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.catalogue.contract import DATASETS, ingest_order
from dxkpi.ingest import rules
from dxkpi.ingest.mapping import MappingSet
from dxkpi.ingest.pipeline import _pseudonymise, _read_all, ingest_dataset
from dxkpi.ingest.pseudonym import Pseudonyms
from dxkpi.ingest.read import discover
from dxkpi.ingest.rules import REF, ZREF, flag_duplicates, flag_references, parse_and_check
from dxkpi.sample import generate_city

KEY = b"reference-numbers-0123456789abcd"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("refnumbers") / "raw"
    generate_city(folder, seed=41, staff=150, fiscal_years=(2023, 2024, 2025))
    return folder


def _with_tricky_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """Copies of real rows whose employee ID loses or gains leading zeros, whose date moves to
    the last day of the fiscal year before or the first of the one after, or is empty, and
    whose ID is one no staff list holds."""
    base = raw.head(40)
    ids = pl.col("employee_id")
    variants = [
        base.with_columns(ids.str.strip_chars_start("0")),
        base.with_columns((pl.lit("000") + ids).alias("employee_id")),
        base.with_columns(pl.lit("2023/3/31").alias("session_date")),
        base.with_columns(pl.lit("2026/4/1").alias("session_date")),
        base.with_columns(pl.lit("2024/4/1").alias("session_date")),
        base.with_columns(pl.lit(None, pl.String).alias("session_date")),
        base.with_columns(pl.lit("9999999").alias("employee_id")),
        base.with_columns(pl.lit(None, pl.String).alias("employee_id")),
    ]
    return pl.concat([raw, *variants], how="vertical")


def test_numbered_lookup_flags_what_the_join_of_every_row_flags(
    city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "NUMBERED_FROM", 0)  # a small city's keys numbered too
    disc = discover(city)
    secret = Pseudonyms(KEY)
    accepted: dict[str, pl.DataFrame] = {}
    flagged = {REF: 0, ZREF: 0}
    numbered_datasets = 0
    for name in ingest_order():
        ds = DATASETS[name]
        parts = [p for p in disc.parts if p.dataset == name]
        if not parts:
            continue
        raw, _ = _read_all(ds, parts, MappingSet())
        if name == "attendance":
            raw = _with_tricky_rows(raw)
        checked = _pseudonymise(ds, flag_duplicates(ds, parse_and_check(ds, raw)), secret)
        got = flag_references(ds, checked, accepted)
        with monkeypatch.context() as patch:
            patch.setattr(rules, "_key_numbers", lambda *_a, **_k: None)
            want = flag_references(ds, checked, accepted)
        assert_frame_equal(got, want)
        numbered_datasets += any(
            rules._key_numbers(checked, ds, ref, zeros=False) is not None for ref in ds.references
        )
        for prefix in flagged:
            flagged[prefix] += sum(
                int(got[f"{prefix}{i}"].sum()) for i in range(len(ds.references))
            )
        accepted[name] = ingest_dataset(ds, parts, accepted, secret).keys
    # the comparison is not empty: keys were numbered, and rows are flagged both ways
    assert numbered_datasets >= 3
    assert flagged[REF] > 0 and flagged[ZREF] > 0, flagged
