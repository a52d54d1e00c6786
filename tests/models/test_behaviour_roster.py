"""The behaviour panel under the effective-dated roster (the tiny city of tests/helpers/roster.py).

E3 moves D02 → D01 on 2025-10-01 and proposes P6 on 2025-11-15; E5 is on 育休 from 2025-10-01
to 2026-03-31. FY2025 months are periods 13 (2025-04) … 24 (2026-03).
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.ingest.processed import Processed
from dxkpi.kpi import roster as roster_module
from dxkpi.kpi.examples import synthetic_city, tiny_city
from dxkpi.models.behaviour import proposal_panel
from tests.helpers.roster import ROSTER, random_roster, with_p6


def _fy2025(panel: pl.DataFrame, unit: str) -> pl.DataFrame:
    return panel.filter((pl.col("unit") == unit) & (pl.col("fiscal_year") == 2025))


def test_transfer_moves_the_department_from_the_month_it_starts():
    panel = proposal_panel(tiny_city(proposals=with_p6(), assignments=ROSTER))
    e3 = _fy2025(panel, "E3")
    assert e3["department_code"].to_list() == ["D02"] * 6 + ["D01"] * 6
    assert e3.filter(pl.col("period_label") == "2025-11")["proposals"].to_list() == [1]
    assert e3["proposals"].sum() == 2  # P4 in April, P6 in November


def test_months_on_childcare_leave_leave_the_panel():
    panel = proposal_panel(tiny_city(proposals=with_p6(), assignments=ROSTER))
    e5 = _fy2025(panel, "E5")
    assert e5["period_label"].to_list() == [f"2025-{m:02d}" for m in range(4, 10)]
    april = proposal_panel(tiny_city(proposals=with_p6()))
    assert april.height - panel.height == 6
    assert _fy2025(april, "E5").height == 12


def test_quarters_take_the_assignment_of_their_first_day():
    panel = proposal_panel(tiny_city(proposals=with_p6(), assignments=ROSTER), period="quarter")
    e3, e5 = _fy2025(panel, "E3"), _fy2025(panel, "E5")
    assert e3["department_code"].to_list() == ["D02", "D02", "D01", "D01"]
    assert e5["period_label"].to_list() == ["FY2025-Q1", "FY2025-Q2"]


def test_without_the_roster_the_panel_is_the_april_one():
    data = tiny_city(proposals=with_p6(), assignments=ROSTER)
    assert_frame_equal(
        proposal_panel(data.without("assignments")), proposal_panel(tiny_city(proposals=with_p6()))
    )


@pytest.mark.parametrize(("seed", "period"), [(1, "month"), (2, "quarter")])
def test_staff_the_roster_does_not_name_keep_their_staff_row(seed, period, monkeypatch):
    """Only the periods of staff the roster names are dated: the panel is the one dating every
    period of everyone (the same function told that the roster names every member)."""
    base = synthetic_city(staff=400, seed=seed, sessions_per_person=6.0)
    roster = random_roster(base, seed)
    data = Processed.from_frames(
        **{name: getattr(base, name) for name in base.available()}, assignments=roster
    )
    got = proposal_panel(data, period=period)
    with monkeypatch.context() as every:
        every.setattr(roster_module, "movers", lambda d: d.staff.select("employee_id").unique())
        want = proposal_panel(data, period=period)
    assert_frame_equal(got, want)
    april = proposal_panel(data.without("assignments"), period=period)
    assert april.height > got.height  # the roster sent some staff away for some periods
    moved = got.join(april, on=["unit", "period"], suffix="_april")
    assert (moved["department_code"] != moved["department_code_april"]).any()
