"""Suppression: no group of fewer than k people is shown, and no suppressed cell can be recovered
by subtracting the shown cells from the city total or from its division total."""

from __future__ import annotations

from collections import defaultdict

import polars as pl
import pytest

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.kpi.engine import compute, compute_kpi
from dxkpi.kpi.examples import synthetic_city, tiny_city
from dxkpi.project.config import Config, PrivacyConfig

ALL_BY = ["city", "division", "department", "job_level", "talent_type", "phase"]
KEYS = ["kpi", "fiscal_year", "group_by", "group"]


@pytest.fixture(scope="module", params=[1, 7])
def city_result(request):
    data = synthetic_city(staff=500, fiscal_years=(2024, 2025), seed=request.param)
    config = Config(privacy=PrivacyConfig(min_cell_size=10))
    shown = compute(data, config, by=ALL_BY)
    raw = pl.concat(
        [
            compute_kpi(data, k, [2024, 2025], [g for g in s.groupings if g != "phase"]).collect()
            for k, s in REGISTRY.items()
        ]
    )
    divisions = dict(data.departments.select("department_code", "division").collect().iter_rows())
    return shown, raw, divisions


def _split(spec, group_by: str, group: str) -> tuple[str, str, str]:
    if "|" in group_by:
        g, d = group.split("|")
        return group_by.split("|")[0], g, d
    if group_by == spec.second_dimension:
        return "city", "city", group
    return group_by, group, ""


def test_group_smaller_than_k_never_shown(city_result):
    shown, raw, _ = city_result
    both = shown.join(raw.select(*KEYS, pl.col("n_people").alias("n_raw")), on=KEYS)
    people = [k for k, s in REGISTRY.items() if s.suppressed]
    leaks = both.filter(
        pl.col("kpi").is_in(people) & ~pl.col("suppressed") & pl.col("n_raw").is_between(1, 9)
    )
    assert leaks.is_empty(), leaks
    assert both.filter(pl.col("suppressed")).height > 0  # the test city does have small cells
    hidden = shown.filter(pl.col("suppressed"))
    assert (
        hidden.select(pl.col("value", "numerator", "denominator").null_count()).row(0)
        == (hidden.height,) * 3
    )


def test_suppressed_cells_cannot_be_recovered_by_subtraction(city_result):
    shown, raw, divisions = city_result
    n_raw = {tuple(r[:4]): r[4] for r in raw.select(*KEYS, "n_people").iter_rows()}
    cells: dict[tuple, dict] = defaultdict(dict)  # (kpi, fy, dim) → {(grouping, key): row}
    for row in shown.iter_rows(named=True):
        spec = REGISTRY[row["kpi"]]
        if not spec.suppressed:
            continue
        grouping, key, dim = _split(spec, row["group_by"], row["group"])
        n = n_raw[(row["kpi"], row["fiscal_year"], row["group_by"], row["group"])] or 0
        cells[(row["kpi"], row["fiscal_year"], dim)][(grouping, key)] = (row["suppressed"], n)
    attempts = 0
    for cell_map in cells.values():
        equations = []
        for grouping in ("division", "department", "job_level", "talent_type"):
            kids = [key for key in cell_map if key[0] == grouping]
            if kids and ("city", "city") in cell_map:
                equations.append((("city", "city"), kids))
        for div in {d for d in divisions.values()}:
            kids = [k for k in cell_map if k[0] == "department" and divisions.get(k[1]) == div]
            if kids and ("division", div) in cell_map:
                equations.append((("division", div), kids))
        for parent, kids in equations:
            unknown = [c for c in [parent, *kids] if cell_map[c][0] and cell_map[c][1] > 0]
            attempts += 1
            # subtracting every shown cell from the rest leaves one unknown → recovered
            assert len(unknown) != 1, (parent, unknown)
    assert attempts > 50


def test_k_minus_one_people_suppressed_in_tiny_city_even_alone():
    data = tiny_city()
    out = compute(data, Config(privacy=PrivacyConfig(min_cell_size=5)), by=["department"])
    d03 = out.filter((pl.col("kpi") == "participation_rate") & (pl.col("group") == "D03")).row(
        0, named=True
    )
    assert d03["suppressed"] and d03["value"] is None and d03["n_people"] is None
    # unit KPIs are never suppressed
    lc = out.filter(pl.col("kpi") == "leader_coverage")
    assert not lc.get_column("suppressed").any()


def test_suppression_does_not_depend_on_requested_groupings():
    data = synthetic_city(staff=400, fiscal_years=(2025,), seed=3)
    config = Config()
    alone = compute(data, config, by=["department"])
    together = compute(data, config, by=ALL_BY).join(alone.select(KEYS), on=KEYS, how="semi")
    assert alone.get_column("suppressed").to_list() == together.get_column("suppressed").to_list()


def _sized_city(sizes: dict[str, tuple[str, int]]):
    """Departments code → (division, head count) in FY2025; every second person trained."""
    import datetime as dt

    from dxkpi.kpi import examples

    rows, att = [], []
    for code, (_division, n) in sizes.items():
        for i in range(n):
            eid = f"{code}-{i}"
            rows.append((2025, eid, code, "staff", "practitioner"))
            if i % 2 == 0:
                att.append((eid, "C1", dt.date(2025, 6, 1), "completed"))
    depts = pl.DataFrame(
        {
            "department_code": list(sizes),
            "department_name": list(sizes),
            "division": [d for d, _ in sizes.values()],
            "pilot_fy": pl.Series([None] * len(sizes), dtype=pl.Int32),
        }
    )
    staff = pl.DataFrame(rows, schema=examples.staff().schema, orient="row")
    attendance = pl.DataFrame(
        att, schema=["employee_id", "course_id", "session_date", "status"], orient="row"
    )
    return examples.tiny_city(departments=depts, staff=staff, attendance=attendance)


def test_k_minus_one_group_and_its_complement_are_hidden():
    data = _sized_city({"A1": ("A", 9), "A2": ("A", 15), "A3": ("A", 20), "B1": ("B", 30)})
    out = compute(
        data,
        Config(),
        kpis=["participation_rate"],
        fiscal_years=[2025],
        by=["city", "division", "department"],
    )
    shown = {r["group"]: r for r in out.iter_rows(named=True)}
    assert shown["A1"]["suppressed"] and shown["A1"]["numerator"] is None  # 9 = k − 1 people
    assert shown["A2"]["suppressed"]  # complementary: A − A2 − A3 would give A1
    assert not shown["A3"]["suppressed"] and not shown["B1"]["suppressed"]
    assert not shown["A"]["suppressed"] and not shown["city"]["suppressed"]
    # the attack: division A minus its shown departments leaves two unknowns, not one
    rest = shown["A"]["denominator"] - shown["A3"]["denominator"]
    assert rest == 24 and rest != 9


def test_a_single_small_division_forces_a_second_division_hidden():
    data = _sized_city({"A1": ("A", 8), "B1": ("B", 12), "C1": ("C", 40)})
    out = compute(
        data,
        Config(),
        kpis=["participation_rate"],
        fiscal_years=[2025],
        by=["city", "division", "department"],
    )
    hidden = set(out.filter(pl.col("suppressed")).get_column("group"))
    assert {"A", "A1"} <= hidden
    assert "B" in hidden and "B1" in hidden  # the smallest other division and its department
    assert "C" not in hidden and "city" not in hidden
