"""The sample city's effective-dated roster against its planted truth (``ground_truth.json``).

The generator plants mid-year moves and leaves from its own random stream and records, from its
own draws, each department's proposals per fiscal year by the proposer's department on the day
submitted, its months at work (育休, 休職, 派遣 months out), and its training sessions per fiscal
year and phase by the attendee's department on the session's date. The engine must reproduce
them exactly: the numerator of ``proposals_per_100`` and its denominator in person-years × 12,
and the numerator and denominator of ``completion_rate`` by department and phase.
"""

from __future__ import annotations

import polars as pl
import pytest

from dxkpi.ingest.processed import load_processed
from dxkpi.kpi.engine import compute_kpi


@pytest.fixture(scope="module")
def cells(sample_city) -> pl.DataFrame:
    data = load_processed(sample_city.processed)
    assert data.assignments is not None
    return compute_kpi(data, "proposals_per_100", data.fiscal_years(), "department").collect()


def test_proposals_by_the_department_of_the_day_match_the_planted_truth(sample_city, cells):
    truth = sample_city.truth["assignments"]["proposals_by_department"]
    for fy, want in truth.items():
        rows = cells.filter(pl.col("fiscal_year") == int(fy)).select("group", "numerator")
        got = {g: int(n) for g, n in rows.rows() if n}
        assert got == want, fy


def test_denominators_leave_out_the_planted_leave_months(sample_city, cells):
    truth = sample_city.truth["assignments"]["active_months_by_department"]
    for fy, want in truth.items():
        rows = cells.filter(pl.col("fiscal_year") == int(fy)).select("group", "denominator")
        got = {g: round(d * 12, 6) for g, d in rows.rows() if d}
        assert got == {g: float(m) for g, m in want.items()}, fy


def test_the_planted_moves_change_departments_but_not_the_city(sample_city, cells):
    data = load_processed(sample_city.processed)
    april = compute_kpi(
        data.without("assignments"),
        "proposals_per_100",
        data.fiscal_years(),
        ["city", "department"],
    ).collect()
    dated = compute_kpi(data, "proposals_per_100", data.fiscal_years(), ["city"]).collect()
    moves = sample_city.truth["assignments"]["moves_by_fy"]
    assert all(n > 50 for n in moves.values())
    for fy in data.fiscal_years():
        a = april.filter((pl.col("fiscal_year") == fy) & (pl.col("group_by") == "department"))
        d = cells.filter(pl.col("fiscal_year") == fy)
        joined = a.join(d, on="group", suffix="_dated")
        # some departments gain and some lose proposals; the city's count is unchanged
        assert (joined["numerator"] != joined["numerator_dated"]).sum() > 0
        assert a["numerator"].sum() == d["numerator"].sum()
        # leave months shrink the city's denominator below the head count
        city_a = april.filter((pl.col("fiscal_year") == fy) & (pl.col("group_by") == "city"))
        city_d = dated.filter(pl.col("fiscal_year") == fy)
        assert city_d["denominator"].item() < city_a["denominator"].item()


def _by_department_and_phase(cells: pl.DataFrame, fy: int) -> dict[str, dict[str, list[int]]]:
    """``completion_rate`` cells of fy by department and phase as [completed, sessions]."""
    got: dict[str, dict[str, list[int]]] = {}
    rows = cells.filter((pl.col("fiscal_year") == fy) & (pl.col("denominator") > 0))
    for group, num, den in rows.select("group", "numerator", "denominator").rows():
        code, phase = group.split("|")
        got.setdefault(code, {})[phase] = [int(num), int(den)]
    return got


def test_sessions_count_in_the_attendees_department_of_the_session_date(sample_city):
    data = load_processed(sample_city.processed)
    truth = sample_city.truth["assignments"]["sessions_by_department"]
    years = data.fiscal_years()
    dated = compute_kpi(data, "completion_rate", years, "department").collect()
    april = compute_kpi(data.without("assignments"), "completion_rate", years, "department")
    april_cells = april.collect()
    for fy, by_code in truth.items():
        want = {
            code: {p: [n["completed"], n["sessions"]] for p, n in phases.items()}
            for code, phases in by_code.items()
        }
        assert _by_department_and_phase(dated, int(fy)) == want, fy
        # the planted moves matter: the April snapshot puts some sessions elsewhere
        assert _by_department_and_phase(april_cells, int(fy)) != want, fy
