"""Every KPI on the tiny hand-computed city (tests/test_kpi_helpers.py), with edge cases."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.ingest.processed import MissingDatasetError
from dxkpi.kpi import measures
from dxkpi.kpi._frames import OUTPUT_SCHEMA, GroupingError
from dxkpi.kpi.examples import cell, staff, tiny_city
from dxkpi.kpi.maturity import Maturity

FY = [2024, 2025]


def run(kpi: str, by, fys=FY, **overrides) -> pl.DataFrame:
    return getattr(measures, kpi)(tiny_city(**overrides), fys, by).collect()


def test_registry_ids_match_functions_both_ways():
    public = {
        name
        for name, f in vars(measures).items()
        if callable(f) and not name.startswith("_") and f.__module__ == measures.__name__
    }
    assert public == set(REGISTRY)


@pytest.mark.parametrize("kpi", list(REGISTRY))
def test_output_schema_and_docstring(kpi):
    out = run(kpi, "city")
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    doc = getattr(measures, kpi).__doc__
    assert doc and "Unit:" in doc.splitlines()[0]


def test_participation_rate_counts_april_transfer_in_new_department():
    out = run("participation_rate", ["city", "department"])
    assert cell(out, "city", "city") | {} == cell(out, "city", "city")
    c = cell(out, "city", "city")
    assert (c["numerator"], c["denominator"], c["value"]) == (3, 5, 0.6)
    # E2 moved D01 → D03 in April 2025; their FY2025 training counts for D03.
    assert cell(out, "department", "D03")["numerator"] == 1
    assert cell(out, "department", "D01")["value"] == 1.0
    assert cell(out, "city", "city", 2024)["value"] == 0.5


def test_empty_group_has_no_value_and_a_reason():
    out = run("participation_rate", "department")
    d04 = cell(out, "department", "D04")
    assert d04["value"] is None and d04["reason"] == "no_members" and d04["n_people"] == 0


def test_fiscal_year_with_no_data_is_empty_with_reason():
    out = run("participation_rate", "city", fys=[2030])
    row = cell(out, "city", "city", 2030)
    assert row["value"] is None and row["reason"] == "no_data_fy"
    hs = cell(run("hours_saved", "city", fys=[2030]), "city", "city", 2030)
    assert hs["value"] is None and hs["reason"] == "no_data_fy"
    lc = cell(run("leader_coverage", "city", fys=[2030]), "city", "city", 2030)
    assert lc["value"] is None and lc["reason"] == "no_data_fy"


def test_completion_rate_per_phase():
    out = run("completion_rate", ["city", "department"])
    assert cell(out, "phase", "1")["value"] == 0.0
    assert cell(out, "phase", "2")["value"] == 1.0
    p3 = cell(out, "phase", "3")
    assert p3["value"] is None and p3["reason"] == "denominator_zero"
    assert cell(out, "department|phase", "D03|2")["numerator"] == 1
    # 2024: E1 completed, E2 attended, E3 absent → 1 / 3
    assert cell(out, "phase", "1", 2024)["value"] == pytest.approx(1 / 3)


def test_phase_reach_counts_earlier_years_and_only_completed():
    out = run("phase_reach", "city")
    assert cell(out, "phase", "1")["value"] == pytest.approx(1 / 5)  # E1 (2024); E2 only attended
    assert cell(out, "phase", "2")["value"] == pytest.approx(2 / 5)
    assert cell(out, "phase", "3")["value"] == 0.0  # E4's phase-3 is dated FY2026


def test_proposals_per_100_and_proposer_rate():
    out = run("proposals_per_100", ["city", "department"])
    assert cell(out, "city", "city")["value"] == pytest.approx(80.0)
    assert cell(out, "department", "D03")["value"] == pytest.approx(100.0)
    pr = run("proposer_rate", "city")
    assert cell(pr, "city", "city")["value"] == pytest.approx(3 / 5)


def _all_matured(kpi: str) -> Maturity:
    """A window every tiny-city proposal has had in full (as of 2027-12-31, W = 365 days)."""
    return Maturity(kpi, 365, dt.date(2027, 12, 31), "config", 0)


def test_adoption_and_implementation_rates():
    data = tiny_city()
    ad = measures.adoption_rate(data, FY, "city", _all_matured("adoption_rate")).collect()
    assert (cell(ad, "city", "city")["numerator"], cell(ad, "city", "city")["denominator"]) == (
        2,
        3,
    )
    assert cell(ad, "city", "city")["n_people"] == 2
    im = measures.implementation_rate(data, FY, "city", _all_matured("implementation_rate"))
    c = cell(im.collect(), "city", "city")
    assert (c["numerator"], c["denominator"]) == (1, 2)
    d02 = cell(
        measures.adoption_rate(data, FY, "department", _all_matured("adoption_rate")).collect(),
        "department",
        "D02",
    )
    assert d02["value"] is None and d02["reason"] == "denominator_zero"


def test_retention_rate_cohort_first_trained_previous_year():
    out = run("retention_rate", ["city", "department"])
    c = cell(out, "city", "city")
    assert (c["numerator"], c["denominator"]) == (2, 2)  # E1, E2 first trained FY2024
    assert cell(out, "city", "city", 2024)["reason"] == "denominator_zero"


def test_insourcing_rate_weights_course_hours():
    c = cell(run("insourcing_rate", "city"), "city", "city")
    assert (c["numerator"], c["denominator"], c["value"]) == (2.0, 8.0, 0.25)


def test_knowledge_continuity():
    out = run("knowledge_continuity", ["city", "department", "division"])
    assert cell(out, "city", "city")["value"] == 1.0
    assert cell(out, "department", "D03")["reason"] == "denominator_zero"
    assert cell(out, "division", "A")["value"] == 1.0
    # the trained manager leaves D01 and the trained E2 has moved out → D01 loses its know-how
    moved = staff().with_columns(
        department_code=pl.when((pl.col("fiscal_year") == 2025) & (pl.col("employee_id") == "E1"))
        .then(pl.lit("D02"))
        .otherwise(pl.col("department_code"))
    )
    out2 = run("knowledge_continuity", "department", staff=moved)
    assert cell(out2, "department", "D01")["value"] == 0.0


def test_self_running_rate_and_hours_saved():
    sr = run("self_running_rate", ["city", "department"])
    assert cell(sr, "city", "city")["value"] == 0.5
    assert cell(sr, "department", "D02")["reason"] == "denominator_zero"
    assert cell(sr, "city", "city", 2024)["value"] == 1.0  # J4 ended 2025-03-31 → FY2024
    hs = run("hours_saved", ["city", "department"])
    assert cell(hs, "city", "city")["value"] == 150.0
    assert cell(hs, "department", "D02")["value"] == 0.0
    assert cell(hs, "city", "city", 2024)["value"] == 10.0


def test_resident_satisfaction_wilson_interval():
    row = cell(run("resident_satisfaction", "city"), "city", "city")
    n, p, z = 150, 100 / 150, 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert row["value"] == pytest.approx(p)
    assert row["ci_low"] == pytest.approx(centre - half)
    assert row["ci_high"] == pytest.approx(centre + half)
    assert row["n_people"] == 150


def test_maturity_score_and_gap():
    ms = run("maturity_score", ["city", "department", "job_level"])
    assert cell(ms, "dimension", "literacy")["value"] == 2.5
    assert cell(ms, "department|dimension", "D01|literacy")["value"] == 3.0
    assert cell(ms, "job_level|dimension", "staff|literacy")["value"] == 2.5
    assert cell(ms, "dimension", "culture")["reason"] == "no_answers"
    gap = run("maturity_gap", ["city", "department"])
    d01 = cell(gap, "department|dimension", "D01|literacy")
    assert d01["value"] == pytest.approx(1.5) and d01["n_people"] == 1
    d03 = cell(gap, "department|dimension", "D03|literacy")
    assert d03["value"] is None and d03["reason"] == "gap_side_missing"


def test_leader_coverage_counts_departments_without_staff():
    out = run("leader_coverage", ["city", "division"])
    assert cell(out, "city", "city")["value"] == 0.25
    assert cell(out, "division", "B")["value"] == 0.0


def test_unsupported_grouping_is_a_clear_error():
    with pytest.raises(GroupingError, match="talent_type"):
        run("hours_saved", "talent_type")


def test_missing_dataset_is_a_clear_error_only_when_needed():
    data = tiny_city(projects=None)
    with pytest.raises(MissingDatasetError, match="projects"):
        measures.self_running_rate(data, FY, "city").collect()
    measures.participation_rate(data, FY, "city").collect()


def test_inputs_are_not_mutated():
    data = tiny_city()
    before = data.staff.collect()
    run("participation_rate", "department")
    assert_frame_equal(data.staff.collect(), before)
