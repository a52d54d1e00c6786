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
