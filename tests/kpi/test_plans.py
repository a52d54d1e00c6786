"""Progress against a multi-year plan: cumulative totals and paths, computed by hand on the
tiny city (:mod:`dxkpi.kpi.examples`)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dxkpi.kpi import examples
from dxkpi.kpi.plans import plan_progress, plan_totals
from dxkpi.project.config import parse_config

#: E3 becomes a leader in FY2025 (E1 is one in both years).
_STAFF = examples.staff().with_columns(
    talent_type=pl.when((pl.col("employee_id") == "E3") & (pl.col("fiscal_year") == 2025))
    .then(pl.lit("leader"))
    .otherwise(pl.col("talent_type"))
)
TOTALS = {
    "leaders": 6,
    "trained_staff": 9,
    "proposals": 6,
    "implemented_proposals": 3,
    "hours_saved": 300,
}


def _plan_config(**extra: object) -> dict[str, object]:
    return {"plan": {"2024-2026": {"name": "第2期計画", "cumulative": TOTALS}}, **extra}


def test_plan_totals_by_hand() -> None:
    """FY2024 / FY2025 of the tiny city (no staff list for FY2026: empty).

    leaders: E1 (2024), E3 (2025) → 1, 2. trained staff (attended/completed, on the list of the
    session's FY): E1, E2 in 2024; E5 (2026-03-31) new in 2025 → 2, 3. proposals: P1 in 2024;
    P2, P3, P4, P5 (2026-03-31) in 2025 → 1, 5. implemented: P2 (2025-07-01) → 0, 1. hours
    saved: J4 ended 2025-03-31 (10 h) in 2024; P2 100 + J1 50 + J2 empty in 2025 → 10, 160.
    """
    plan = parse_config(_plan_config()).plans[0]
    data = examples.tiny_city(staff=_STAFF)
    totals = plan_totals(data, plan)
    got = {(r["total"], r["fiscal_year"]): r["value"] for r in totals.iter_rows(named=True)}
    assert got == {
        ("leaders", 2024): 1.0,
        ("leaders", 2025): 2.0,
        ("leaders", 2026): None,
        ("trained_staff", 2024): 2.0,
        ("trained_staff", 2025): 3.0,
        ("trained_staff", 2026): None,
        ("proposals", 2024): 1.0,
        ("proposals", 2025): 5.0,
        ("proposals", 2026): None,
        ("implemented_proposals", 2024): 0.0,
        ("implemented_proposals", 2025): 1.0,
        ("implemented_proposals", 2026): None,
        ("hours_saved", 2024): 10.0,
        ("hours_saved", 2025): 160.0,
        ("hours_saved", 2026): None,
    }
    added = totals.filter(pl.col("total") == "trained_staff")["added"].to_list()
    assert added == [2.0, 1.0, None]  # E1 and E2 are not counted again in 2025


def test_new_leaders_leave_out_the_base_years_leaders() -> None:
    """Plan 2025-2026 from base FY2024: E1 was a leader in 2024, so only E3 is new (1);
    ``leaders`` counts both (2). Without a base-year list everyone is new."""
    data = examples.tiny_city(staff=_STAFF)
    raw = {"2025-2026": {"cumulative": {"leaders": 4, "new_leaders": 2}}}
    totals = plan_totals(data, parse_config({"plan": raw}).plans[0])
    assert totals.filter(pl.col("fiscal_year") == 2025)["value"].to_list() == [2.0, 1.0]
    raw = {"2024-2026": {"cumulative": {"new_leaders": 2}}}  # base FY2023: no staff list
    totals = plan_totals(data, parse_config({"plan": raw}).plans[0])
    assert totals["value"].to_list() == [1.0, 2.0, None]


def test_cumulative_progress_against_the_even_path() -> None:
    """Path = total × years elapsed ÷ 3. leaders 6: 2, 4 → 1 (C), 2 (C); proposals 6: 2, 4 →
    1 (C), 5 (A: 5 − 4 > 0.05 × 4); FY2026 not started on 2026-03-31 → D."""
    config = parse_config(_plan_config())
    data = examples.tiny_city(staff=_STAFF)
    rich = pl.DataFrame(schema={"kpi": pl.String})
    out = plan_progress(config.plans[0], data, rich, config, as_of=dt.date(2026, 3, 31))
    rows = {(r["measure"], r["fiscal_year"]): r for r in out.iter_rows(named=True)}
    assert [rows["leaders", y]["path"] for y in (2024, 2025, 2026)] == pytest.approx([2, 4, 6])
    assert [rows["leaders", y]["grade"] for y in (2024, 2025, 2026)] == ["C", "C", "D"]
    assert [rows["proposals", y]["grade"] for y in (2024, 2025)] == ["C", "A"]
    assert rows["hours_saved", 2025]["actual"] == 160.0
    assert rows["hours_saved", 2025]["path"] == pytest.approx(200.0)
    assert rows["hours_saved", 2025]["grade"] == "C"  # 160 < 200 − 10
    assert set(out["kind"]) == {"cumulative"} and set(out["path_source"]) == {"share"}


def test_a_year_in_progress_is_compared_with_the_pro_rated_path() -> None:
    """On 2025-10-01, 184 of FY2025's 365 days have passed: the leaders' path is
    6 × (1 + 184/365) ÷ 3 = 3.008; 2 leaders is C. Proposals: 6 × 1.504 / 3 = 3.008, 5 is A."""
    config = parse_config(_plan_config())
    data = examples.tiny_city(staff=_STAFF)
    out = plan_progress(
        config.plans[0], data, pl.DataFrame(), config, as_of=dt.date(2025, 10, 1)
    ).filter(pl.col("fiscal_year") == 2025)
    rows = {r["measure"]: r for r in out.iter_rows(named=True)}
    assert rows["leaders"]["progress"] == pytest.approx(184 / 365)
    assert rows["leaders"]["path"] == pytest.approx(6 * (1 + 184 / 365) / 3)
    assert rows["leaders"]["grade"] == "C" and rows["proposals"]["grade"] == "A"


def _rich(values: dict[int, float | None], kpi: str = "participation_rate") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kpi": [kpi] * len(values),
            "fiscal_year": list(values),
            "group_by": ["city"] * len(values),
            "group": ["city"] * len(values),
            "value": [0.0 if v is None else v for v in values.values()],
            "suppressed": [v is None for v in values.values()],
            "provisional": [False] * len(values),
        }
    )


def test_end_target_path_linear_yearly_target_and_end() -> None:
    """Plan 2025-2027 aims for participation 0.9 from 0.5 in FY2024 (the base year).
    2025: no yearly target → linear 0.5 + 0.4 × 1/3 = 0.6333; 0.60 is C (band 0.0317).
    2026: [targets.2026] = 0.8 → the yearly target. 2027: the end target 0.9."""
    raw = {
        "plan": {"2025-2027": {"end": {"participation_rate": 0.9}}},
        "targets": {"2026": {"participation_rate": 0.8}},
    }
    config = parse_config(raw)
    plan = config.plans[0]
    assert plan.base_year == 2024 and plan.title == "2025-2027"
    rich = _rich({2024: 0.5, 2025: 0.6, 2026: 0.79})
    out = plan_progress(plan, examples.tiny_city(), rich, config, as_of=dt.date(2027, 3, 31))
    rows = {r["fiscal_year"]: r for r in out.iter_rows(named=True)}
    assert rows[2025]["path"] == pytest.approx(0.5 + 0.4 / 3)
    assert (rows[2025]["path_source"], rows[2025]["grade"]) == ("linear", "C")
    assert (rows[2026]["path"], rows[2026]["path_source"], rows[2026]["grade"]) == (
        0.8,
        "target",
        "B",
    )
    assert (rows[2027]["path"], rows[2027]["path_source"], rows[2027]["grade"]) == (
        0.9,
        "end",
        "D",  # FY2027 not started: the full end target, no value
    )
    # a suppressed base year leaves years without a yearly target without a path
    hidden = plan_progress(plan, examples.tiny_city(), _rich({2024: None, 2025: 0.6}), config)
    first = hidden.row(0, named=True)
    assert (first["path"], first["path_source"], first["grade"]) == (None, None, "D")


def test_end_target_in_progress_pro_rates_a_kpi_that_grows_during_the_year() -> None:
    """participation_rate only grows during the year: on 2025-10-01 its path 0.6333 is
    compared as 0.6333 × 184/365 = 0.3193; adoption_rate (not growing) keeps its full path."""
    raw = {"plan": {"2025-2027": {"end": {"participation_rate": 0.9, "adoption_rate": 0.8}}}}
    config = parse_config(raw)
    rich = pl.concat(
        [_rich({2024: 0.5, 2025: 0.33}), _rich({2024: 0.5, 2025: 0.6}, "adoption_rate")]
    )
    out = plan_progress(
        config.plans[0], examples.tiny_city(), rich, config, as_of=dt.date(2025, 10, 1)
    ).filter(pl.col("fiscal_year") == 2025)
    rows = {r["measure"]: r for r in out.iter_rows(named=True)}
    assert rows["participation_rate"]["path"] == pytest.approx((0.5 + 0.4 / 3) * 184 / 365)
    assert rows["participation_rate"]["grade"] == "B"  # 0.33 vs 0.3193 ± 0.016
    assert rows["adoption_rate"]["path"] == pytest.approx(0.5 + 0.3 / 3)
    assert rows["adoption_rate"]["grade"] == "B"  # 0.6 = 0.6
