"""The effective-dated roster (``assignments``) on the tiny hand-computed city.

FY2025 staff list (April 1): E1 D01, E2 D03, E3 D02, E4 D03, E5 D02 (D01, D02 in division A;
D03, D04 in B). The assignments below add:

* E3 moves D02 → D01 on 2025-10-01 (an order closed on 09-30, then an open-ended one) and
  submits P6 on 2025-11-15; the proposals file still says D02, the April department.
* E5 stays in D02 but is on 育休 from 2025-10-01 to 2026-03-31: an open-ended 在籍 order from
  April and a later, overlapping leave order (the later valid_from wins).

Person-years at work in FY2025 (months on the 1st, 育休 months out): E1 D01 1, E2 D03 1,
E3 D02 0.5 + D01 0.5, E4 D03 1, E5 D02 0.5 → D01 1.5, D02 1.0, D03 2.0, city 4.5.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.ingest.processed import Processed
from dxkpi.kpi import measures
from dxkpi.kpi._frames import person_years
from dxkpi.kpi.examples import D, cell, synthetic_city, tiny_city
from dxkpi.kpi.roster import AWAY_STATUSES, assignment_at
from tests.helpers.roster import ROSTER, assignments, random_roster, with_p6

FY = [2024, 2025]


def run(kpi: str, by, roster: pl.DataFrame | None, **overrides) -> pl.DataFrame:
    data = tiny_city(proposals=with_p6(), assignments=roster, **overrides)
    return getattr(measures, kpi)(data, FY, by).collect()


def nums(row: dict) -> tuple:
    return row["numerator"], row["denominator"], row["n_people"]


def test_person_years_by_month_with_transfer_and_childcare_leave():
    data = tiny_city(assignments=ROSTER)
    got = (
        person_years(data, [2025])
        .group_by("department_code")
        .agg(pl.col("person_years").sum())
        .collect()
    )
    assert dict(got.sort("department_code").rows()) == {"D01": 1.5, "D02": 1.0, "D03": 2.0}
    e3 = person_years(data, [2025]).filter(pl.col("employee_id") == "E3").collect()
    assert sorted(e3.select("department_code", "division", "person_years").rows()) == [
        ("D01", "A", 0.5),
        ("D02", "A", 0.5),
    ]


def test_proposal_after_a_mid_year_transfer_counts_for_the_new_department():
    out = run("proposals_per_100", ["city", "department", "division"], ROSTER)
    # D01: P5 (E1) + P6 (E3, after the move); D02: P4 (E3, before it); D03: P2, P3 (E2).
    assert nums(cell(out, "department", "D01")) == (2, 1.5, 2)
    assert cell(out, "department", "D01")["value"] == pytest.approx(200 / 1.5)
    assert nums(cell(out, "department", "D02")) == (1, 1.0, 2)
    assert cell(out, "department", "D02")["value"] == pytest.approx(100.0)
    assert nums(cell(out, "department", "D03")) == (2, 2.0, 2)
    assert nums(cell(out, "division", "A")) == (3, 2.5, 3)
    assert nums(cell(out, "city", "city")) == (5, 4.5, 5)
    assert cell(out, "city", "city")["value"] == pytest.approx(500 / 4.5)
    # The April snapshot alone: P6 counts for D02, where E3 was on April 1.
    april = run("proposals_per_100", ["city", "department"], None)
    assert nums(cell(april, "department", "D01")) == (1, 1, 1)
    assert nums(cell(april, "department", "D02")) == (2, 2, 2)
    assert nums(cell(april, "city", "city")) == (5, 5, 5)


def test_childcare_leave_leaves_the_participation_denominator_for_those_months():
    out = run("participation_rate", ["city", "department"], ROSTER)
    # Trained in FY2025: E1 (D01), E2 (D03), E5 (2026-03-31, while on 育休: weight 0.5).
    assert nums(cell(out, "city", "city")) == (2.5, 4.5, 5)
    assert cell(out, "city", "city")["value"] == pytest.approx(2.5 / 4.5)
    assert nums(cell(out, "department", "D02")) == (0.5, 1.0, 2)
    assert cell(out, "department", "D02")["value"] == pytest.approx(0.5)
    assert nums(cell(out, "department", "D01")) == (1.0, 1.5, 2)
    assert cell(out, "department", "D01")["value"] == pytest.approx(1 / 1.5)
    # FY2024 has no assignments: the April list, E1 and E2 of four trained.
    assert nums(cell(out, "city", "city", 2024)) == (2, 4, 4)
    april = run("participation_rate", "city", None)
    assert nums(cell(april, "city", "city")) == (3, 5, 5)


def test_a_whole_year_on_leave_counts_in_no_denominator():
    away = assignments(("E4", "D03", "staff", D(2025, 4, 1), None, "secondment"))
    out = run("participation_rate", ["city", "department"], away)
    assert nums(cell(out, "department", "D03")) == (1, 1, 1)  # E2 alone; E4 派遣 all year
    assert nums(cell(out, "city", "city")) == (3, 4, 4)


def test_sessions_count_in_the_department_of_their_date():
    roster = assignments(("E2", "D02", "staff", D(2025, 4, 10), D(2025, 4, 30), "active"))
    out = run("completion_rate", "department", roster)
    # E2's completed C2 session of 2025-04-15 falls in the temporary D02 order.
    d02 = out.filter((pl.col("group") == "D02|2") & (pl.col("fiscal_year") == 2025))
    assert d02.select("numerator", "denominator").row(0) == (1.0, 1.0)
    d03 = out.filter((pl.col("group") == "D03|2") & (pl.col("fiscal_year") == 2025))
    assert d03["denominator"].to_list() == [0.0]


def test_the_later_order_wins_and_the_earlier_holds_again_after_it_ends():
    data = tiny_city(
        assignments=assignments(
            ("E1", "D02", "manager", D(2025, 4, 1), None, "active"),
            ("E1", "D03", "mid", D(2025, 7, 1), D(2025, 8, 31), "active"),
        )
    )
    days = [D(2025, 3, 31), D(2025, 6, 30), D(2025, 7, 1), D(2025, 8, 31), D(2025, 9, 1)]
    frame = pl.LazyFrame(
        {
            "employee_id": ["E1"] * 5,
            "department_code": ["D01"] * 5,
            "job_level": ["manager"] * 5,
            "division": ["A"] * 5,
            "on": days,
        }
    )
    got = assignment_at(data, frame, "on").collect()
    assert got.select("department_code", "job_level", "division").rows() == [
        ("D01", "manager", "A"),  # before any order: the staff row
        ("D02", "manager", "A"),
        ("D03", "mid", "B"),
        ("D03", "mid", "B"),
        ("D02", "manager", "A"),
    ]
    assert got["assignment_status"].to_list() == ["active"] * 5


def test_away_statuses_are_the_contract_codes_but_active():
    assert AWAY_STATUSES == ("childcare_leave", "secondment", "leave_of_absence")


def _restated(data: Processed) -> pl.DataFrame:
    """Assignments that restate the April staff list: each staff row, all year, active."""
    staff = data.staff.collect()
    return staff.select(
        "employee_id",
        "department_code",
        "job_level",
        pl.date(pl.col("fiscal_year"), 4, 1).alias("valid_from"),
        pl.date(pl.col("fiscal_year") + 1, 3, 31).alias("valid_to"),
        pl.lit("active").alias("status"),
    )


@pytest.mark.parametrize("kpi", list(REGISTRY))
def test_a_roster_that_restates_the_april_list_changes_no_kpi(kpi):
    base = synthetic_city(staff=300, seed=3)
    restated = Processed.from_frames(
        **{name: getattr(base, name) for name in base.available()},
        assignments=_restated(base),
    )
    years = base.fiscal_years()
    by = [g for g in REGISTRY[kpi].groupings]
    got = getattr(measures, kpi)(restated, years, by).collect()
    want = getattr(measures, kpi)(base, years, by).collect()
    key = ["fiscal_year", "group_by", "group"]
    assert_frame_equal(got.sort(key), want.sort(key))


def test_without_drops_the_roster():
    data = tiny_city(assignments=ROSTER)
    assert data.assignments is not None and "assignments" in data.available()
    assert data.without("assignments").assignments is None
    with pytest.raises(TypeError):
        data.without("staff")


@pytest.mark.parametrize("seed", [1, 2])
def test_members_the_roster_does_not_name_keep_their_staff_row_all_year(seed, monkeypatch):
    """person_years and attendance_of_members take the members without any assignment straight
    from their staff rows: the same rows as dating each of their months and sessions (the same
    functions told that the roster names every member)."""
    from dxkpi.kpi import roster as roster_module
    from dxkpi.kpi._frames import attendance_of_members

    base = synthetic_city(staff=400, seed=seed, sessions_per_person=6.0)
    roster = random_roster(base, seed)
    data = Processed.from_frames(
        **{name: getattr(base, name) for name in base.available()}, assignments=roster
    )
    named = roster["employee_id"].n_unique()
    assert 0 < named < base.staff.collect()["employee_id"].n_unique()
    got_years = person_years(data, None).collect()
    got_attended = attendance_of_members(data).collect()
    with monkeypatch.context() as every:
        every.setattr(roster_module, "movers", lambda d: d.staff.select("employee_id").unique())
        want_years = person_years(data, None).collect()
        want_attended = attendance_of_members(data).collect()
    assert got_years.schema == want_years.schema
    assert got_attended.schema == want_attended.schema
    assert_frame_equal(got_years.sort(got_years.columns), want_years.sort(want_years.columns))
    assert_frame_equal(
        got_attended.sort(got_attended.columns[:7]), want_attended.sort(want_attended.columns[:7])
    )
    moved_months = got_years.filter(pl.col("months") < 12)
    assert moved_months.height > 0  # the roster moved or sent away some members
