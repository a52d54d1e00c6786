"""The KPI catalogue gives identical results on polars' streaming engine (used at scale)."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from dxkpi.catalogue.kpis import GROUPINGS
from dxkpi.ingest.processed import load_processed
from dxkpi.kpi.engine import compute
from dxkpi.project.config import load_config
from tests.helpers import ROOT


def test_streaming_engine_gives_the_same_catalogue(sample_city) -> None:  # type: ignore[no-untyped-def]
    data = load_processed(sample_city.processed)
    config = load_config(ROOT / "dxkpi.toml")
    eager = compute(data, config, by=list(GROUPINGS))
    streamed = compute(data, config, by=list(GROUPINGS), engine="streaming")
    assert eager.height > 10_000
    assert_frame_equal(eager, streamed)
