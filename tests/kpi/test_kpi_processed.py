"""Loading the processed folder (dxkpi.ingest.processed)."""

from __future__ import annotations

import datetime as dt

import pytest

from dxkpi.ingest.processed import MissingDatasetError, load_processed
from dxkpi.kpi.examples import tiny_city


def test_load_processed_reads_present_datasets_lazily(tmp_path):
    data = tiny_city()
    for name in ("departments", "staff", "attendance", "courses"):
        getattr(data, name).collect().write_parquet(tmp_path / f"{name}.parquet")
    loaded = load_processed(tmp_path)
    assert set(loaded.available()) == {"departments", "staff", "attendance", "courses"}
    assert loaded.fiscal_years() == [2024, 2025]
    assert loaded.latest_date() == dt.date(2026, 4, 1)
    with pytest.raises(MissingDatasetError) as err:
        loaded.require("proposals")
    assert "proposals" in err.value.ja and "proposals" in err.value.en


def test_required_datasets_and_folder(tmp_path):
    with pytest.raises(MissingDatasetError, match="does not exist"):
        load_processed(tmp_path / "nowhere")
    with pytest.raises(MissingDatasetError, match="departments"):
        load_processed(tmp_path)


def test_a_small_folder_is_read_at_once_and_gives_what_a_scan_gives(sample_city, monkeypatch):
    """A processed folder of at most READ_AT_ONCE_BYTES is read into memory; a larger one is
    scanned; the KPI catalogue is the same either way."""
    from polars.testing import assert_frame_equal

    from dxkpi.catalogue.kpis import GROUPINGS
    from dxkpi.ingest import processed
    from dxkpi.kpi.engine import compute
    from dxkpi.project.config import load_config
    from tests.helpers import ROOT

    size = sum(f.stat().st_size for f in sample_city.processed.glob("*.parquet"))
    assert 0 < size <= processed.READ_AT_ONCE_BYTES
    at_once = load_processed(sample_city.processed)
    monkeypatch.setattr(processed, "READ_AT_ONCE_BYTES", size - 1)
    scanned = load_processed(sample_city.processed)
    for name in at_once.available():
        assert "SCAN" not in getattr(at_once, name).explain()
        assert "Parquet SCAN" in getattr(scanned, name).explain()
    config = load_config(ROOT / "dxkpi.toml")
    by = list(GROUPINGS)
    assert_frame_equal(compute(at_once, config, by=by), compute(scanned, config, by=by))
