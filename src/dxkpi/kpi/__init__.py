"""KPI/KGI catalogue and computation: registry, measure functions, engine, grading, suppression.

Typical use::

    from dxkpi.ingest.processed import load_processed
    from dxkpi.project.config import load_config
    from dxkpi.kpi.engine import compute, export_frame

    rich = compute(load_processed("data/processed"), load_config(), fiscal_years=[2025],
                   by=["department"])
"""

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY, KpiSpec

__all__ = ["GROUPINGS", "REGISTRY", "KpiSpec"]
