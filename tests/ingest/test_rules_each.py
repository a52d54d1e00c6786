"""Every rule of the contract, broken by exactly one row, lands in quarantine with that rule.

Each case appends one fresh row (valid and referenced by nothing) to one dataset of the tiny
city, edits it to break a single rule, ingests, and checks the quarantine. A test also fails when
the contract gains a rule that has no case here.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dxkpi.catalogue.contract import rule_catalogue
from dxkpi.ingest.mapping import MappingSet
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.project.config import parse_mappings
from tests.helpers import ROOT, SECRET
from tests.helpers.rawcity import TINY, write_csv, write_tiny_city, write_xlsx
from tests.helpers.rules import (
    CASES,
    MAPPING_ONLY,
    XLSX_ONLY,
    all_rule_ids,
    bad_row,
    case_mapping,
)

pytestmark = pytest.mark.integration  # the whole ingest (Great Expectations) per rule


def test_every_rule_has_a_case() -> None:
    assert sorted(CASES) == sorted(all_rule_ids())


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_quarantines_exactly_the_bad_row(rule_id: str, tmp_path: Path) -> None:
    dataset = rule_id.split(".")[0]
    raw = write_tiny_city(tmp_path / "raw")
    rows = [dict(r) for r in TINY[dataset]]
    rows.append(bad_row(dataset, rows, rule_id))
    if rule_id in XLSX_ONLY:
        (raw / f"{dataset}.csv").unlink()
        source = write_xlsx(raw / f"{dataset}.xlsx", {dataset: rows}).name
    else:
        source = write_csv(raw / f"{dataset}.csv", rows).name
    mappings = None
    if rule_id in MAPPING_ONLY:
        mappings = MappingSet(parse_mappings(case_mapping(dataset, rows), "mappings/case.toml"))
    report = run_ingest(
        raw, tmp_path / "out", expectations=ROOT / "expectations", secret=SECRET, mappings=mappings
    )

    assert report.ok
    q = pl.read_csv(tmp_path / "out" / "quarantine" / f"{dataset}.csv", infer_schema=False)
    assert q.height == 1, q
    assert q["rule"].to_list() == [rule_id]
    assert q["_source_file"].to_list() == [source]
    assert q["_source_row"].to_list() == [str(len(rows) + 1)]  # header is row 1
    assert rule_catalogue(dataset)[rule_id].ja in q["rule_ja"][0]
    info = report.manifest["datasets"][dataset]
    assert (info["rows_in"], info["accepted"], info["quarantined"]) == (len(rows), len(rows) - 1, 1)
    assert info["rules"] == {rule_id: 1}
    assert info["suite"]["success"] is True
    # nothing else anywhere was quarantined
    for other, other_info in report.manifest["datasets"].items():
        if other != dataset:
            assert other_info["quarantined"] == 0, other
