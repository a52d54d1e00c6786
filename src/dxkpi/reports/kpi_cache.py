"""The KPI frame a report run computes once and every notebook of the run reads.

The runner writes it into the staging folder (:func:`write_kpi_cache`) and removes it before
publishing; :meth:`dxkpi.reports.views.ReportContext.kpis` reads it when it is there.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dxkpi.catalogue.kpis import GROUPINGS
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.engine import compute
from dxkpi.project.config import Config

__all__ = ["CACHE_DIR", "kpi_cache_path", "write_kpi_cache"]

CACHE_DIR = ".cache"


def kpi_cache_path(output_dir: Path, k: int) -> Path:
    """Where a run keeps the KPI frame every report shares (removed before publishing)."""
    return output_dir / CACHE_DIR / f"kpis_k{k}.parquet"


def write_kpi_cache(staging: Path, data: Processed, config: Config, k: int) -> Path:
    """Compute every KPI × year × grouping once for all the notebooks of a run."""
    config = dataclasses.replace(
        config, privacy=dataclasses.replace(config.privacy, min_cell_size=k)
    )
    path = kpi_cache_path(staging, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    compute(data, config, by=list(GROUPINGS)).write_parquet(path)
    return path
