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


def test_unit_kpis_of_a_department_with_hidden_staff_are_hidden():
    """A department's unit cells (leader coverage 0/1) follow its head count: where the staff
    of the department are hidden, whether it has a leader is too, and the division's equation
    then hides a second department (D04) so the hidden one cannot be recovered."""
    data = tiny_city()
    out = compute(data, Config(privacy=PrivacyConfig(min_cell_size=5)), by=["department"])
    fy = out.filter(pl.col("fiscal_year") == 2025)
    staff = fy.filter(pl.col("kpi") == "participation_rate").select("group", "suppression")
    units = fy.filter(pl.col("kpi") == "leader_coverage").select("group", "suppression")
    assert dict(staff.rows()) == {"D01": "primary", "D02": "primary", "D03": "primary", "D04": None}
    assert dict(units.rows()) == {
        "D01": "linked",
        "D02": "linked",
        "D03": "linked",
        "D04": "complementary",
    }
    assert fy.filter(pl.col("kpi") == "leader_coverage")["numerator"].null_count() == 4


def test_a_quantity_hidden_in_one_kpi_is_hidden_in_every_kpi_that_shows_it(city_result):
    """adoption_rate's numerator is implementation_rate's denominator (the registry says so and
    ``test_declared_shared_quantities_are_equal`` checks it): where one KPI hides the cell, the
    other does too; so does every KPI whose denominator is the hidden head count."""
    shown, _, _ = city_result
    keys = ["fiscal_year", "group_by", "group"]

    def hidden(kpi: str) -> pl.DataFrame:
        return shown.filter((pl.col("kpi") == kpi) & pl.col("suppressed")).select(keys)

    adoption, implementation = hidden("adoption_rate"), hidden("implementation_rate")
    assert implementation.height > 0
    assert sorted(adoption.rows()) == sorted(implementation.rows())
    assert shown.filter(pl.col("suppression") == "linked").height > 0
    staff = [k for k, s in REGISTRY.items() if s.denominator_is == "staff" and k != "phase_reach"]
    assert len({tuple(sorted(hidden(k).rows())) for k in staff}) == 1


def test_declared_shared_quantities_are_equal(city_result):
    """Every numerator_is / denominator_is of the registry is the same number, cell for cell,
    in the computed (unsuppressed) cells of every KPI that declares it, and ``staff`` is the
    head count."""
    _, raw, _ = city_result
    keys = ["fiscal_year", "group_by", "group"]
    cells = raw.with_columns(  # phase_reach: one denominator per group whatever the phase
        group_by=pl.col("group_by").str.split("|").list.first().replace({"phase": "city"}),
        group=pl.when(pl.col("group_by") == "phase")
        .then(pl.lit("city"))
        .otherwise(pl.col("group").str.split("|").list.first()),
    )
    seen: dict[str, int] = defaultdict(int)
    for kpi, spec in REGISTRY.items():
        for part, q in (("numerator", spec.numerator_is), ("denominator", spec.denominator_is)):
            if q is None:
                continue
            mine = cells.filter(pl.col("kpi") == kpi).select(*keys, pl.col(part).alias("x"))
            if q == "staff":
                other = cells.filter(pl.col("kpi") == "participation_rate")
                other = other.select(*keys, pl.col("n_people").cast(pl.Float64).alias("y"))
            else:
                other = pl.concat(
                    cells.filter(pl.col("kpi") == k).select(*keys, pl.col(p).alias("y"))
                    for k, s in REGISTRY.items()
                    for p, q2 in (("numerator", s.numerator_is), ("denominator", s.denominator_is))
                    if q2 == q and k != kpi
                )
            both = mine.join(other.unique(), on=keys, how="inner")
            assert both.height >= mine.unique(keys).height > 0, (kpi, q)
            assert both.filter(pl.col("x") != pl.col("y")).is_empty(), (kpi, q)
            seen[q] += 1
    assert seen == {"staff": 5, "adopted_within_w": 2}


def test_value_from_declarations_match_computed_cells(city_result):
    """Each KPI's value is made from its numerator and denominator as the registry's
    ``value_from`` says (the benchmark pools and draws funnel limits by it): a proportion is
    whole successes of whole trials, a rate 100 × whole events ÷ staff."""
    _, raw, _ = city_result
    cells = raw.filter(pl.col("value").is_not_null())
    num, den, value = pl.col("numerator"), pl.col("denominator"), pl.col("value")
    whole = (num == num.round(0)) & (den == den.round(0))
    rule = {
        "proportion": ((value - num / den).abs() < 1e-9) & whole & (num <= den),
        "rate": ((value - 100 * num / den).abs() < 1e-9) & (num == num.round(0)),
        "quotient": (value - num / den).abs() < 1e-9,
        "total": ((value - num).abs() < 1e-9) & den.is_null(),
        "difference": (value - (num - den)).abs() < 1e-9,
    }
    for kpi, spec in REGISTRY.items():
        mine = cells.filter(pl.col("kpi") == kpi)
        assert mine.height > 0, kpi
        wrong = mine.filter(~rule[spec.value_from].fill_null(False))
        assert wrong.is_empty(), (kpi, spec.value_from, wrong.head(3))


@pytest.mark.parametrize("kpi", ["adoption_rate", "leader_coverage", "proposer_rate"])
def test_suppression_does_not_depend_on_the_kpis_asked_for(kpi):
    """One KPI alone hides what it hides among all: a run for adoption_rate alone cannot show
    the adopted count a run for implementation_rate hides."""
    data = synthetic_city(staff=400, fiscal_years=(2025,), seed=3)
    config = Config(privacy=PrivacyConfig(min_cell_size=10))
    alone = compute(data, config, kpis=[kpi], by=["department", "division", "city"])
    every = compute(data, config, by=["department", "division", "city"])
    together = alone.select(KEYS).join(every, on=KEYS, how="left")
    assert alone.get_column("suppressed").to_list() == together.get_column("suppressed").to_list()
    assert alone.get_column("suppressed").any()


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
