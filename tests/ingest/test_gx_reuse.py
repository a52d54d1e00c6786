"""The Great Expectations gate reuses one data source per dataset in the process's context (a
consolidation validates 1,700 cities), and each validation still judges its own rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import polars as pl

from dxkpi.catalogue.contract import _DATASET_LIST, CONTRACT_VERSION, contract_fingerprint
from dxkpi.ingest.suites import _context, load_suite, validate
from tests.helpers import ROOT

RUN = dt.date(2025, 6, 1)


def _departments(codes: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "department_code": codes,
            "department_name": [f"課{i}" for i in range(len(codes))],
            "division": ["総務部"] * len(codes),
            "pilot_fy": pl.Series([2023] * len(codes), dtype=pl.Int32),
        }
    )


def test_reused_data_source_judges_each_frame_on_its_own_rows() -> None:
    suite = load_suite(ROOT / "expectations", "departments")
    first = validate("departments", _departments(["D01", "D02", "D03"]), suite, RUN)
    _, context = _context()
    sources = len(context.data_sources.all())
    # a duplicate key after a clean frame: the reused batch definition must not keep the old rows
    dup = validate("departments", _departments(["D01", "D02", "D01"]), suite, RUN)
    clean = validate("departments", _departments(["A1", "B2"]), suite, RUN)
    future = validate("departments", _departments(["D09"]).with_columns(pilot_fy=2040), suite, RUN)
    assert (first.success, first.evaluated, first.successful) == (True, 7, 7)
    assert (dup.success, dup.successful) == (False, 6)
    assert dup.failed_rules == ("departments.duplicate_key",)
    assert (clean.success, clean.successful) == (True, 7)
    # the run parameter (latest fiscal year accepted on RUN) still reaches the reused source
    assert future.success is False and future.successful == 6
    assert len(context.data_sources.all()) == sources  # no data source added per validation


def test_cached_contract_fingerprint_is_the_hash_of_the_declarations() -> None:
    payload = json.dumps(
        [dataclasses.asdict(d) for d in _DATASET_LIST],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    expected = hashlib.sha256(f"{CONTRACT_VERSION}\n{payload}".encode()).hexdigest()
    assert contract_fingerprint() == expected
    assert contract_fingerprint() is contract_fingerprint()  # computed once per process
