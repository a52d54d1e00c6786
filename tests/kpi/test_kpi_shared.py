"""Frames several KPIs share are collected once per run and read by every KPI that needs them,
with the same cells as when each KPI builds its own."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from dxkpi.ingest.processed import Processed
from dxkpi.kpi._frames import yearly_key
from dxkpi.kpi.engine import compute_kpi, materialise_shared
from dxkpi.kpi.examples import synthetic_city

YEARS = [2023, 2024, 2025]
SKILL = ["skill_attainment_rate", "skill_gap", "assessment_gap"]
FOLLOWUP = ["application_rate", "manager_support_rate"]


def _cells(data: Processed, kpi: str) -> pl.DataFrame:
    by = ["city", "department", "job_level"]
    return compute_kpi(data, kpi, YEARS, by).collect().sort("fiscal_year", "group_by", "group")


def test_yearly_frames_are_collected_once_and_give_the_same_cells() -> None:
    data = synthetic_city(400, tuple(YEARS), seed=5, departments=8)
    shared = materialise_shared(data, [*SKILL, *FOLLOWUP], YEARS)
    for name in ("skill_levels", "followup_answers"):
        assert yearly_key(name, YEARS) in shared.derived
        assert yearly_key(name, YEARS[1:]) not in shared.derived  # other years build their own
    for kpi in [*SKILL, *FOLLOWUP]:
        cells = _cells(shared, kpi)
        assert cells["denominator"].sum() > 0  # assessed staff, answers
        assert_frame_equal(cells, _cells(data, kpi))


def test_a_single_user_does_not_collect_and_kpis_read_the_shared_frame() -> None:
    data = synthetic_city(400, tuple(YEARS), seed=5, departments=8)
    alone = materialise_shared(data, ["skill_gap"], YEARS)
    assert yearly_key("skill_levels", YEARS) not in alone.derived
    # the KPI reads what the engine put there: the assessed rows of 2025 only
    shared = materialise_shared(data, SKILL, YEARS)
    key = yearly_key("skill_levels", YEARS)
    only_2025 = shared.with_derived(
        **{key: shared.derived[key].filter(pl.col("fiscal_year") == 2025)}
    )
    city = _cells(only_2025, "skill_gap").filter(pl.col("group_by") == "skill_area")
    full = _cells(data, "skill_gap").filter(pl.col("group_by") == "skill_area")
    assert city.filter(pl.col("fiscal_year") < 2025)["denominator"].sum() == 0
    assert_frame_equal(
        city.filter(pl.col("fiscal_year") == 2025), full.filter(pl.col("fiscal_year") == 2025)
    )
    assert full.filter(pl.col("fiscal_year") < 2025)["denominator"].sum() > 0
