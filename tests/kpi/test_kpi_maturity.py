"""Matured cohorts and provisional years of the waiting KPIs, by hand on the tiny city.

The tiny city's proposals (``dxkpi.kpi.examples.proposals``), submitted → decided → implemented:
P1 2024-08-01 → 09-01 adopted (31 days); P2 2025-05-01 → 06-01 → 07-01 implemented (31 and 61
days); P3 2025-06-01 → 07-01 rejected (30 days); P4 2025-04-01 not decided; P5 2026-03-31 adopted
the same day.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dxkpi.core.errors import ConfigError
from dxkpi.kpi import measures
from dxkpi.kpi.engine import attach_targets, compute, compute_kpi, grade_cells
from dxkpi.kpi.examples import cell, tiny_city
from dxkpi.kpi.grading import grade
from dxkpi.kpi.maturity import Maturity, default_maturity_days, maturity_for, maturity_windows
from dxkpi.pdca import review_followup, summary_table
from dxkpi.pdca.review_log import ReviewAction, ReviewLog
from dxkpi.project.config import parse_config

AS_OF = dt.date(2026, 3, 31)
FY = [2024, 2025]


def _run(kpi: str, days: int, as_of: dt.date = AS_OF) -> dict[int, dict]:
    m = Maturity(kpi, days, as_of, "config", 0)
    out = getattr(measures, kpi)(tiny_city(), FY, "city", m).collect()
    return {y: cell(out, "city", "city", y) for y in FY}


def test_matured_rates_count_outcomes_within_w_days_only() -> None:
    # W = 60, as of 2026-03-31: proposals submitted by 2026-01-30 count (P5 does not).
    # FY2025 adoption: P2 adopted and P3 rejected within 60 days; P4 undecided → 1 / 2.
    # FY2025 implementation: P2 adopted within 60 days but implemented after 61 → 0 / 1.
    ad, im = _run("adoption_rate", 60), _run("implementation_rate", 60)
    assert (ad[2025]["numerator"], ad[2025]["denominator"], ad[2025]["value"]) == (1, 2, 0.5)
    assert (im[2025]["numerator"], im[2025]["denominator"], im[2025]["value"]) == (0, 1, 0.0)
    assert (ad[2024]["numerator"], ad[2024]["denominator"]) == (1, 1)  # P1
    assert (im[2024]["numerator"], im[2024]["denominator"]) == (0, 1)  # P1 never implemented
    # the 61st day counts with W = 61 (days counted from the submission date, inclusive)
    assert _run("implementation_rate", 61)[2025]["value"] == 1.0


def test_a_year_with_nothing_matured_is_empty_and_says_why() -> None:
    # W = 400: only proposals submitted by 2025-02-24 count: FY2025 has none, FY2024 has P1.
    im = _run("implementation_rate", 400)
    assert im[2025]["value"] is None and im[2025]["reason"] == "not_matured"
    assert im[2024]["denominator"] == 1


def test_maturity_window_dates() -> None:
    m = Maturity("implementation_rate", 60, AS_OF, "config", 0)
    assert m.matured_through == dt.date(2026, 1, 30)
    assert m.provisional(2025) and not m.provisional(2024)
    assert not Maturity("x", 365, AS_OF, "config", 0).provisional(2024)  # 2025-03-31 + 365 days
    assert Maturity("x", 366, AS_OF, "config", 0).provisional(2024)


def test_default_w_is_the_90th_percentile_of_observed_delays_rounded_up() -> None:
    data = tiny_city()
    # decisions 0, 30, 31, 31 days → 90th percentile 31 → 60; implementations: 61 → 90
    assert default_maturity_days(data, "adoption_rate") == (60, 4)
    assert default_maturity_days(data, "implementation_rate") == (90, 1)
    m = maturity_for(data, "implementation_rate", parse_config({}), AS_OF)
    assert (m.days, m.source, m.as_of) == (90, "data", AS_OF)
    set_w = maturity_for(data, "implementation_rate", parse_config({"kpi": {"maturity_days": 45}}))
    assert (set_w.days, set_w.source) == (45, "config")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"maturity_days": 180}, {"adoption_rate": 180, "implementation_rate": 180}),
        ({"maturity_days": {"implementation_rate": 300}}, {"implementation_rate": 300}),
    ],
)
def test_config_maturity_days(raw, expected) -> None:  # type: ignore[no-untyped-def]
    assert dict(parse_config({"kpi": raw}).kpi.maturity_days) == expected


@pytest.mark.parametrize(
    "raw",
    [
        {"maturity_days": 0},
        {"maturity_days": 4000},
        {"maturity_days": True},
        {"maturity_days": "180"},
        {"maturity_days": {"proposer_rate": 30}},
        {"window": 30},
    ],
)
def test_bad_maturity_days_is_a_config_error(raw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="kpi"):
        parse_config({"kpi": raw})


def _rich():  # type: ignore[no-untyped-def]
    """The engine's grading of the tiny city's implementation rate (W = 60), unsuppressed: the
    tiny city has one proposer a year, below any k the engine allows."""
    config = parse_config(
        {
            "kpi": {"maturity_days": 60},
            "targets": {"2024": {"implementation_rate": 0.5}, "2025": {"implementation_rate": 0.7}},
        }
    )
    data = tiny_city()
    windows = maturity_windows(data, config, AS_OF)
    cells = (
        compute_kpi(
            data, "implementation_rate", FY, "city", maturity=windows["implementation_rate"]
        )
        .collect()
        .with_columns(suppressed=pl.lit(False))
    )
    names = {"name_ja": "実装率", "name_en": "Implementation rate", "unit": "ratio", "kind": "kpi"}
    graded = grade_cells(attach_targets(cells, config), config, AS_OF, windows)
    return graded.with_columns(*[pl.lit(v).alias(k) for k, v in names.items()])


def test_engine_marks_the_provisional_year() -> None:
    config = parse_config({"kpi": {"maturity_days": 60}})
    rich = compute(tiny_city(), config, kpis=["implementation_rate"], as_of=AS_OF)
    flags = dict(rich.filter(group_by="city").select("fiscal_year", "provisional").iter_rows())
    assert flags == {2024: False, 2025: True}


def test_provisional_year_is_flagged_and_never_graded_c() -> None:
    rich = _rich().filter(group_by="city").sort("fiscal_year")
    y2024, y2025 = rich.to_dicts()
    # FY2024 has matured: 0 of 1 against 0.5 → C. FY2025 (0 of 1, far below 0.7) is provisional.
    assert (y2024["provisional"], y2024["grade"]) == (False, "C")
    assert (y2025["provisional"], y2025["grade"], y2025["value"]) == (True, "P", 0.0)
    assert (y2025["maturity_days"], y2025["as_of"]) == (60, AS_OF)
    assert grade(0.0, 0.7, True, 0.05, provisional=True) == "P"
    summary = summary_table(_rich(), 2025).row(0, named=True)
    assert summary["grade"] == "P" and summary["provisional"] is True


def test_review_followup_does_not_call_a_provisional_year_worse() -> None:
    # FY2024 0.0, FY2025 0.0 would read "unchanged"; make FY2025 lower by hand: still not worse.
    rich = _rich()
    log = ReviewLog(
        2024,
        actions=(
            ReviewAction(
                "期限を決める", "係長", dt.date(2025, 9, 1), "implementation_rate", "done"
            ),
        ),
    )
    moved = review_followup(log, rich, 2025)["moved"].to_list()
    assert moved == ["provisional"]
    matured = rich.with_columns(provisional=False)
    row = review_followup(log, matured, 2025).row(0, named=True)
    assert row["moved"] is None and row["reason"] == "zero_base"  # 0 → 0: no relative change
