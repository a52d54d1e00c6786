"""Behaviour change: the employee × period panel, the DiD estimate, conversions and sentences."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from dxkpi.ingest.processed import Processed, load_processed
from dxkpi.models.behaviour import (
    BEHAVIOUR_COVARIATES,
    DEPARTMENT_SIZE_BANDS,
    PANEL_COLUMNS,
    SUBGROUP_REASONS,
    BehaviourError,
    behaviour_change,
    estimate_panel,
    estimate_subgroups,
    event_pretest,
    heterogeneity,
    per_100_per_year,
    proposal_panel,
)
from dxkpi.pdca.summary import data_through
from dxkpi.reports.narrative import (
    describe_behaviour,
    describe_heterogeneity,
    fmt_interval,
    fmt_number,
)
from dxkpi.reports.views import heterogeneity_table
from tests.helpers.truth import cell_matched_truth

D = dt.date

# --------------------------------------------------------------------------- tiny city


def _city(
    staff: list[tuple], attendance: list[tuple] = (), proposals: list[tuple] = ()
) -> Processed:
    """staff: (fy, id, dept, level, type); attendance: (id, course, date, status);
    proposals: (id, date, status)."""
    departments = pl.DataFrame(
        {
            "department_code": ["X", "Y"],
            "department_name": ["x", "y"],
            "division": ["d", "d"],
            "pilot_fy": [2022, 2023],
        }
    )
    staff_df = pl.DataFrame(
        staff,
        schema={
            "fiscal_year": pl.Int32,
            "employee_id": pl.String,
            "department_code": pl.String,
            "job_level": pl.String,
            "talent_type": pl.String,
        },
        orient="row",
    )
    courses = pl.DataFrame(
        {
            "course_id": ["C1", "C2", "C3"],
            "course_name": ["a", "b", "c"],
            "phase": pl.Series([1, 2, 3], dtype=pl.Int8),
        }
    )
    att = pl.DataFrame(
        list(attendance),
        schema={
            "employee_id": pl.String,
            "course_id": pl.String,
            "session_date": pl.Date,
            "status": pl.String,
        },
        orient="row",
    )
    props = pl.DataFrame(
        [(f"P{i}", e, "X", d, s) for i, (e, d, s) in enumerate(proposals)],
        schema={
            "proposal_id": pl.String,
            "employee_id": pl.String,
            "department_code": pl.String,
            "submitted_on": pl.Date,
            "status": pl.String,
        },
        orient="row",
    )
    return Processed.from_frames(
        departments=departments, staff=staff_df, courses=courses, attendance=att, proposals=props
    )


STAFF = [
    (2022, "A", "X", "staff", "leader"),
    (2023, "A", "Y", "mid", "specialist"),  # April transfer and a new profile
    (2023, "B", "Y", "staff", None),  # hired in FY2023, talent type blank
]


def test_panel_covers_exactly_the_staff_list_periods() -> None:
    panel = proposal_panel(_city(STAFF))
    assert panel.columns == list(PANEL_COLUMNS)
    a, b = panel.filter(pl.col("unit") == "A"), panel.filter(pl.col("unit") == "B")
    assert a["period"].to_list() == list(range(1, 25))
    assert b["period"].to_list() == list(range(13, 25))
    assert a["period_label"][0] == "2022-04" and a["period_label"][11] == "2023-03"
    assert b["period_label"][-1] == "2024-03"
    assert panel["first_treated"].unique().to_list() == [0]
    assert panel["proposals"].sum() == 0


def test_quarter_panel_uses_fiscal_quarters() -> None:
    city = _city(
        STAFF,
        attendance=[("A", "C2", D(2022, 7, 1), "completed")],
        proposals=[("A", D(2022, 9, 30), "submitted"), ("A", D(2022, 7, 2), "adopted")],
    )
    q = proposal_panel(city, period="quarter", timing="same")
    a = q.filter(pl.col("unit") == "A")
    assert a["period"].to_list() == list(range(1, 9))
    assert a["period_label"].to_list()[:4] == ["FY2022-Q1", "FY2022-Q2", "FY2022-Q3", "FY2022-Q4"]
    assert a["first_treated"][0] == 2  # July = Q2
    assert a.filter(pl.col("period") == 2)["proposals"].item() == 2
    m = proposal_panel(city, period="month", timing="same").filter(pl.col("unit") == "A")
    assert m["first_treated"][0] == 4  # July = month 4
    assert m.filter(pl.col("period") == 4)["proposals"].item() == 1
    assert m.filter(pl.col("period") == 6)["proposals"].item() == 1


def test_treatment_definitions() -> None:
    att = [
        ("A", "C2", D(2022, 5, 10), "attended"),  # phase 2, only attended
        ("A", "C1", D(2022, 6, 1), "completed"),  # phase 1
        ("A", "C2", D(2023, 1, 20), "completed"),  # first completed phase 2 → month 10
        ("A", "C2", D(2023, 2, 20), "completed"),
        ("B", "C3", D(2024, 3, 31), "completed"),  # phase 3, last day of the window
        ("B", "C1", D(2023, 5, 1), "absent"),  # absent never counts
    ]
    city = _city(STAFF, attendance=att)

    def first(treatment: str, timing: str = "same") -> dict[str, int]:
        p = proposal_panel(city, treatment=treatment, timing=timing)  # type: ignore[arg-type]
        return dict(p.select("unit", "first_treated").unique().iter_rows())

    assert first("phase2") == {"A": 10, "B": 0}
    assert first("phase1") == {"A": 3, "B": 0}
    assert first("phase3") == {"A": 0, "B": 24}
    assert first("any") == {"A": 2, "B": 24}
    # the default: treated from the month after the completion month; a completion in the
    # window's last month starts treatment after the window (never treated within it)
    assert first("phase2", "next") == {"A": 11, "B": 0}
    assert first("phase1", "next") == {"A": 4, "B": 0}
    assert first("phase3", "next") == {"A": 0, "B": 0}
    assert first("any", "next") == {"A": 3, "B": 0}
    with pytest.raises(BehaviourError, match="timing"):
        first("phase2", "later")


def test_default_timing_starts_the_month_after_completion() -> None:
    city = _city(STAFF, attendance=[("A", "C2", D(2022, 7, 31), "completed")])
    default = proposal_panel(city).filter(pl.col("unit") == "A")
    assert default["first_treated"][0] == 5  # completed in July (month 4) → August
    quarter = proposal_panel(city, period="quarter").filter(pl.col("unit") == "A")
    assert quarter["first_treated"][0] == 3  # Q2 → from Q3


def test_transfer_keeps_one_unit_and_profile_choice() -> None:
    panel = proposal_panel(_city(STAFF))
    a = panel.filter(pl.col("unit") == "A")
    assert a["department_code"].to_list() == ["X"] * 12 + ["Y"] * 12
    assert a["talent_type"].unique().to_list() == ["leader"]  # first row
    assert a["job_level"].unique().to_list() == ["staff"]
    latest = proposal_panel(_city(STAFF), profile="latest").filter(pl.col("unit") == "A")
    assert latest["talent_type"].unique().to_list() == ["specialist"]
    b = panel.filter(pl.col("unit") == "B")
    assert b["talent_type"].unique().to_list() == ["unassigned"]


def test_gap_year_has_no_rows_and_proposals_off_list_are_not_counted() -> None:
    staff = [
        (2022, "A", "X", "staff", None),
        (2024, "A", "X", "staff", None),
        (2023, "B", "X", "staff", None),
    ]
    props = [
        ("A", D(2023, 8, 1), "submitted"),
        ("A", D(2024, 4, 3), "implemented"),
        ("A", D(2024, 4, 9), "submitted"),
    ]
    panel = proposal_panel(_city(staff, proposals=props))
    a = panel.filter(pl.col("unit") == "A")
    assert a["period"].to_list() == [*range(1, 13), *range(25, 37)]
    assert a["proposals"].sum() == 2
    impl = proposal_panel(_city(staff, proposals=props), outcome="implemented")
    assert impl.filter(pl.col("unit") == "A")["proposals"].sum() == 1


def test_bad_options_raise_domain_errors() -> None:
    with pytest.raises(BehaviourError, match="period"):
        proposal_panel(_city(STAFF), period="week")  # type: ignore[arg-type]
    with pytest.raises(BehaviourError, match="treatment"):
        proposal_panel(_city(STAFF), treatment="phase4")  # type: ignore[arg-type]
    with pytest.raises(BehaviourError, match="outcome"):
        proposal_panel(_city(STAFF), outcome="adopted")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- conversions


def test_effect_conversions() -> None:
    assert per_100_per_year(0.05, 12) == pytest.approx(60.0)
    assert per_100_per_year(0.15, 4) == pytest.approx(60.0)


def test_number_formatting() -> None:
    assert fmt_number(0.8, -0.2, 1.8) == "0.8"
    assert fmt_interval(-0.2, 1.8) == "−0.2〜1.8"
    assert fmt_interval(-0.2, 1.8, lang="en") == "-0.2 to 1.8"
    assert fmt_number(0.0456, 0.03, 0.06) == "0.046"
    assert fmt_number(115.4, sign=True) == "+115"
    assert fmt_number(float("nan")) == "—"


# --------------------------------------------------------------------------- synthetic DiD


def _synthetic(effect: float, n: int = 600, seed: int = 1) -> pl.DataFrame:
    """Balanced panel with cohorts 5, 9 and never treated; additive effect; common season."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), 12)
    period = np.tile(np.arange(1, 13), n)
    cohort = np.array([5, 9, 0])[np.arange(n) % 3][unit]
    base = rng.gamma(2.0, 0.5, n)[unit] + 0.3 * np.sin(period)
    treated = (cohort > 0) & (period >= cohort)
    y = base + effect * treated + rng.normal(0, 0.3, unit.size)
    return pl.DataFrame(
        {"unit": unit.astype(str), "period": period, "first_treated": cohort, "proposals": y}
    )


def test_estimate_recovers_a_planted_effect_and_converts_it() -> None:
    r = estimate_panel(_synthetic(0.5), min_units=5)
    assert r.ci[0] < 0.5 < r.ci[1]
    assert r.per_100_year == pytest.approx(r.att * 12 * 100)
    assert r.per_100_year_ci == pytest.approx((r.ci[0] * 1200, r.ci[1] * 1200))
    ratio = r.ratio
    assert ratio is not None and ratio.ratio_ci is not None
    assert ratio.treated_mean - ratio.counterfactual_mean == pytest.approx(r.att)
    assert ratio.ratio == pytest.approx(ratio.treated_mean / ratio.counterfactual_mean)
    assert ratio.ratio_ci[0] < ratio.ratio < ratio.ratio_ci[1]
    doc = r.to_json_dict()
    assert doc["ratio"] == pytest.approx(ratio.ratio) and doc["ratio_ci"] == list(ratio.ratio_ci)
    assert doc["timing"] == "next" and "pct_of_pre" not in doc
    assert r.n_treated == 400 and r.n_cohorts == 2 and r.n_comparison_only == 200
    assert r.pretest_event.p is not None and r.pretest_event.p > 0.01
    assert r.naive is not None and r.twfe is not None
    assert r.to_json_dict()["att"] == pytest.approx(r.att)


def test_sentences_with_and_without_a_clear_effect() -> None:
    clear = describe_behaviour(estimate_panel(_synthetic(0.5), min_units=5))
    assert any("増えました" in s for s in clear)
    assert not any("はっきりした効果は確認できません" in s for s in clear)
    assert any("まだ受講していない職員" in s for s in clear)
    assert any("事前検定 p=" in s for s in clear)
    assert any("TWFE" in s for s in clear)
    null = estimate_panel(_synthetic(0.0, seed=3), min_units=5)
    assert null.ci[0] < 0 < null.ci[1]
    text = describe_behaviour(null)
    assert any("はっきりした効果は確認できません" in s for s in text)
    en = describe_behaviour(null, "en")
    assert any("includes zero" in s for s in en)
    assert any("pre-test" in s for s in en)
    never = estimate_panel(_synthetic(0.5), control="never", min_units=5)
    assert any("一度も受講しなかった職員" in s for s in describe_behaviour(never))


def test_event_pretest_without_dynamic() -> None:
    assert event_pretest(None).p is None


# --------------------------------------------------------------------------- the sample city


@pytest.fixture(scope="module")
def city(sample_city):
    return load_processed(sample_city.processed)


@pytest.fixture(scope="module")
def monthly(city):
    return behaviour_change(city, period="month", treatment="phase2", control="notyet")


def test_sample_city_recovers_the_planted_effect(monthly, sample_city) -> None:
    """The generator's treatment is the month of the first completed phase-2 course, and its
    expected ATT is per employee-month: the monthly panel is the matching estimand."""
    truth = sample_city.truth["expected_att_per_employee_month"]
    lo, hi = monthly.ci
    assert lo < truth < hi
    assert lo > 0
    assert monthly.per_100_year == pytest.approx(monthly.att * 1200)
    assert monthly.n_employees == sample_city.truth["employees_total"]


def test_sample_city_pre_trends_are_consistent_with_zero(monthly) -> None:
    """Two checks. (1) The joint test of the event study's pre-period estimates for the year
    before training (F reference, see ``event_pretest``) does not reject at 1%. R did's test
    over every pre-treatment ATT(g,t) is not used: with hundreds of monthly cells from small
    cohorts its covariance is singular here. (2) Over all ~43 monthly pre-periods, pointwise 95%
    intervals exclude 0 about 2 times by chance; at most 15% may (a real pre-trend would push
    many, and the adjacent ones, out)."""
    assert monthly.pretest_event.p is not None and monthly.pretest_event.p > 0.01
    assert monthly.pretest_event.df == 12
    pre = monthly.dynamic.by.filter(pl.col("key") < 0)
    outside = pre.filter((pl.col("ci_lower") > 0) | (pl.col("ci_upper") < 0)).height
    assert pre.height >= 12
    assert outside <= 0.15 * pre.height


#: Subgroup intervals that miss their cell-matched planted effect on the seed-7 city with the
#: default timing (treated from the month after completion). Over the seed 7, 11, 12 and 13
#: cities 25 of 28 subgroup intervals (talent type and job level) cover it; these three
#: ((estimate − truth) ÷ SE = 2.76, 2.75 and 2.44; leaders and managers overlap) do not, even
#: with the Student-t reference the intervals use. Over 200 simulated sample cities
#: (``benchmarks/subgroup_coverage.py --first-seed 100``) the intervals cover 94.5–97.5% per
#: group and 1.5% of cities have three or more misses: seed 7 is such a city, not a bias (the
#: mean of (estimate − truth) ÷ SE is +0.02 to +0.10 per group). Pinned so a change shows.
SEED7_MISSES = {("talent_type", "leader"), ("talent_type", "unassigned"), ("job_level", "manager")}


def _check_groups(data: Processed, truth: dict, by: str, known_misses: set) -> dict[str, dict]:
    cells = truth[f"expected_att_gt_by_{by}"]
    h = heterogeneity(data, by, period="month")  # type: ignore[arg-type]
    assert h.left_out.height == 0
    rows = {r["group"]: r for r in h.table.iter_rows(named=True)}
    assert set(rows) == set(truth[f"expected_att_by_{by}"])
    first_fy = int(truth["fiscal_years"][0])
    missed = set()
    for group in rows:
        matched = cell_matched_truth(h.results[group].attgt, cells[group], first_fy, lag=1)
        if not rows[group]["ci_low"] < matched < rows[group]["ci_high"]:
            missed.add((by, group))
    assert missed == {m for m in known_misses if m[0] == by}, missed
    return rows


@pytest.mark.parametrize("by", ["talent_type", "job_level"])
def test_sample_city_subgroups_cover_their_cell_matched_truth(city, sample_city, by) -> None:
    """Each group's estimate covers the planted effect of the cells it could use (a small group
    has few cohort months with enough staff: its estimate targets those cohorts, not the whole
    group), weighted as the estimator weighs them; the known seed-7 misses are listed above and
    the test fails if they change."""
    _check_groups(city, sample_city.truth, by, SEED7_MISSES)


@pytest.mark.parametrize("by", ["talent_type", "job_level"])
def test_other_city_subgroups_cover_their_cell_matched_truth(other_city, by) -> None:
    _check_groups(load_processed(other_city.processed), other_city.truth, by, set())


def test_sample_city_heterogeneity_by_talent_type(city, sample_city) -> None:
    h = heterogeneity(city, "talent_type", period="month")
    rows = {r["group"]: r for r in h.table.iter_rows(named=True)}
    # the planted ordering at its ends: leaders gain most, unassigned staff least
    assert max(rows, key=lambda g: rows[g]["att"]) == "leader"
    assert min(rows, key=lambda g: rows[g]["att"]) == "unassigned"
    assert all(r["n_treated"] <= r["n_employees"] for r in rows.values())


def test_sample_city_small_groups_are_left_out_with_a_reason(city) -> None:
    h = heterogeneity(city, "talent_type", min_treated=200)
    row = h.left_out.filter(pl.col("group") == "leader").row(0, named=True)
    assert (row["reason"], row["threshold"]) == ("few_treated", 200)
    assert row["n_employees"] == 115 and row["n_treated"] < 200


@pytest.mark.parametrize("by", ["talent_type", "job_level"])
def test_sample_city_subgroups_are_within_group_comparisons(city, sample_city, by) -> None:
    """Every group is estimable on the full sample city, within the group (its treated and
    comparison staff both of the group), with its simultaneous interval wider than the
    pointwise one and a ratio to the counterfactual; the coverage of the planted effects is
    checked against the cells each estimate used (``_check_groups`` above)."""
    h = heterogeneity(city, by, min_cell=10)  # type: ignore[arg-type]
    assert h.left_out.height == 0
    rows = {r["group"]: r for r in h.table.iter_rows(named=True)}
    assert set(rows) == set(sample_city.truth[f"expected_att_by_{by}"])
    for group, row in rows.items():
        assert row["ci_adj_low"] < row["ci_low"]  # wider than pointwise
        # no ratio only when the counterfactual mean (treated mean − ATT) is not positive: on
        # seed 7 the leaders' two small cohorts had a zero base month (their ATT 0.29 exceeds
        # their own mean), see SEED7_MISSES
        assert row["ratio"] is None or row["ratio_low"] < row["ratio"] < row["ratio_high"]
        r = h.results[group]
        members = (  # staff with a row of the group (an employee's first row decides the group)
            city.staff.filter(pl.col(by).fill_null("unassigned") == group)
            .select("employee_id")
            .collect()["employee_id"]
        )
        assert set(r.attgt.units.tolist()) <= set(members.to_list())  # within-group comparison
        assert r.n_employees == row["n_employees"]
    assert sum(r["n_employees"] for r in rows.values()) == sample_city.truth["employees_total"]
    assert sum(r["ratio"] is not None for r in rows.values()) >= len(rows) - 1
    assert h.overall_att == pytest.approx(behaviour_change(city).att)


def test_sample_city_groups_without_an_estimate_say_why(city) -> None:
    """At FY2023 year end few 推進リーダー and 管理職 were trained yet: they are listed with
    the reason and their sizes, never dropped silently; a k above a group's size suppresses
    the group and its sizes."""
    fy2023 = data_through(city, 2023)
    by_type = heterogeneity(fy2023, "talent_type", min_cell=10)
    by_level = heterogeneity(fy2023, "job_level", min_cell=10)
    left = {
        r["group"]: r
        for r in pl.concat([by_type.left_out, by_level.left_out]).iter_rows(named=True)
    }
    assert {g: r["reason"] for g, r in left.items()} == {
        "leader": "few_treated",
        "manager": "few_treated",
    }
    assert all(r["n_treated"] < 30 and r["n_employees"] > 100 for r in left.values())
    assert set(by_type.table["group"]) == {"practitioner", "specialist", "unassigned"}
    words = describe_heterogeneity(by_type)
    assert any(s.startswith("推進リーダー: 受講した職員が少ないため推定せず") for s in words)
    assert any(
        s.startswith("管理職: 受講した職員が少ないため推定せず")
        for s in describe_heterogeneity(by_level)
    )
    suppressed = heterogeneity(city, "talent_type", min_cell=200)
    row = suppressed.left_out.filter(pl.col("group") == "leader").row(0, named=True)
    assert row["reason"] == "below_min_cell"
    assert row["n_employees"] is None and row["n_treated"] is None
    assert "leader" not in suppressed.results
    assert "115" not in repr(suppressed) and "115" not in " ".join(
        describe_heterogeneity(suppressed)
    )


def test_sample_city_quarterly_and_sentences(city) -> None:
    q = behaviour_change(city, period="quarter")
    assert q.periods_per_year == 4 and q.ci[0] > 0
    text = describe_behaviour(q)
    assert any("1人1四半期あたり" in s for s in text)
    assert any("100人あたり年間" in s for s in text)


def test_sample_city_command_json(sample_city) -> None:
    import json

    from click.testing import CliRunner

    from dxkpi.commands.behaviour import command

    out = CliRunner().invoke(
        command,
        [
            "--data",
            str(sample_city.processed),
            "--period",
            "quarter",
            "--treatment",
            "any",
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["period"] == "quarter" and doc["treatment"] == "any"
    assert doc["ci"][0] < doc["att"] < doc["ci"][1]
    assert doc["ratio_ci"][0] < doc["ratio"] < doc["ratio_ci"][1] and doc["ratio"] > 1
    assert doc["timing"] == "next" and "pct_of_pre" not in doc and "pre_mean" not in doc
    assert any("受講しなかった場合の見込み" in s for s in doc["sentences"])
    assert doc["sentences"] and "因果" not in doc["sentences"][0]
    assert doc["covariates"] == [] and doc["overlap"] is None
    args = ["--data", str(sample_city.processed), "--period", "quarter", "--format", "json"]
    out = CliRunner().invoke(command, [*args, "--covariates", "default", "--est-method", "ipw"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["covariates"] == ["job_level", "talent_type", "department_size_band"]
    assert doc["est_method"] == "ipw" and doc["overlap"]["checked"]
    assert doc["ci"][0] < doc["att"] < doc["ci"][1]


def test_sample_city_implemented_outcome_runs(city) -> None:
    r = behaviour_change(city, period="quarter", outcome="implemented")
    assert math.isfinite(r.att) and r.ratio is not None and r.ratio.counterfactual_mean > 0


# --------------------------------------------------------------------------- subgroups


def _groups(spec: dict[str, list[tuple[int, int, float]]], by: str, seed: int = 0) -> pl.DataFrame:
    """A 12-period panel per group: (cohort, units, effect) with cohort 0 = never trained."""
    rng = np.random.default_rng(seed)
    frames, uid = [], 0
    for group, cohorts in spec.items():
        for cohort, n, effect in cohorts:
            unit = np.repeat(np.arange(uid, uid + n), 12)
            uid += n
            period = np.tile(np.arange(1, 13), n)
            base = rng.gamma(2.0, 0.5, n).repeat(12) + 0.3 * np.sin(period)
            y = base + effect * ((cohort > 0) & (period >= cohort)) + rng.normal(0, 0.05, unit.size)
            frames.append(
                pl.DataFrame(
                    {
                        "unit": unit.astype(str),
                        "period": period,
                        "first_treated": np.full(unit.size, cohort),
                        "proposals": y,
                        by: [group] * unit.size,
                    }
                )
            )
    return pl.concat(frames)


def test_subgroups_left_out_each_with_its_reason_and_suppressed_sizes() -> None:
    panel = _groups(
        {
            "leader": [(5, 100, 0.5), (9, 100, 0.5), (0, 100, 0.0)],
            "specialist": [(5, 4, 0.5), (0, 4, 0.0)],  # 8 staff: below k = 10
            "practitioner": [(5, 20, 0.5), (0, 80, 0.0)],  # 20 trained < 30
            "unassigned": [(5, 40, 0.5)],  # everyone trained in one month: nobody to compare
        },
        "talent_type",
    )
    h = estimate_subgroups(panel, "talent_type", min_units=10, min_treated=30, min_cell=10)
    assert h.table["group"].to_list() == ["leader"]
    assert h.table["ci_low"][0] < 0.5 < h.table["ci_high"][0]
    left = {r["group"]: r for r in h.left_out.iter_rows(named=True)}
    assert {g: r["reason"] for g, r in left.items()} == {
        "practitioner": "few_treated",
        "specialist": "below_min_cell",
        "unassigned": "no_comparison",
    }
    assert (left["practitioner"]["n_treated"], left["practitioner"]["threshold"]) == (20, 30)
    assert left["specialist"]["n_employees"] is None and left["specialist"]["n_treated"] is None
    assert left["specialist"]["threshold"] == 10
    assert left["unassigned"]["n_comparison"] is None  # 0 < k: not shown
    assert set(h.left_out["reason"]) <= set(SUBGROUP_REASONS)
    assert h.composition is None  # one estimated group: nothing to compare
    words = describe_heterogeneity(h)
    assert any(s.startswith("専門スキル: 人数が少ないため秘匿") for s in words)
    assert any(
        s.startswith("実務改革: 受講した職員が少ないため推定せず（受講者20人") for s in words
    )
    assert any(s.startswith("未設定: 同じ区分に比較できる未受講の職員がいない") for s in words)
    assert not any("8" in s for s in words if s.startswith("専門スキル"))
    shown = heterogeneity_table(h.table, "ja", by="talent_type", left_out=h.left_out)
    suppressed = shown.filter(pl.col("区分") == "専門スキル").row(0, named=True)
    assert (suppressed["職員数"], suppressed["受講者数"]) == ("―", "―")
    assert suppressed["備考"].startswith("人数が少ないため秘匿")
    assert shown.height == 4


def test_subgroups_take_the_callers_overall_estimate_only_with_the_same_settings() -> None:
    group = [(5, 100, 0.3), (0, 100, 0.0)]
    panel = _groups({"mid": group, "staff": group}, "job_level")
    fresh = estimate_subgroups(panel, "job_level", min_units=10, min_treated=30)
    overall = estimate_panel(panel, min_units=10)
    reused = estimate_subgroups(panel, "job_level", min_units=10, min_treated=30, overall=overall)
    assert reused.overall_att == fresh.overall_att == overall.att
    assert reused.table.equals(fresh.table)
    other = estimate_panel(panel, min_units=5)
    with pytest.raises(ValueError, match="not made with these settings"):
        estimate_subgroups(panel, "job_level", min_units=10, min_treated=30, overall=other)


def test_subgroup_without_an_estimable_cell() -> None:
    small_cohorts = [(c, 4, 0.5) for c in range(3, 13)] + [(0, 40, 0.0)]
    panel = _groups({"manager": small_cohorts, "staff": [(6, 60, 0.3), (0, 60, 0.0)]}, "job_level")
    h = estimate_subgroups(panel, "job_level", min_units=10, min_treated=30)
    assert h.table["group"].to_list() == ["staff"]
    row = h.left_out.row(0, named=True)
    assert (row["group"], row["reason"], row["threshold"], row["n_treated"]) == (
        "manager",
        "no_estimable_cell",
        10,
        40,
    )
    assert any("管理職: 受講時期ごとの人数が少なく" in s for s in describe_heterogeneity(h))


def test_composition_sentence_only_when_every_group_lies_on_one_side() -> None:
    """Six early-trained staff per group with a large effect: too few for a cohort of its own
    within each group, enough (12) together — the overall estimate then weighs a cohort no
    group estimate has, and lies above both groups."""
    group = [(3, 6, 2.0), (7, 100, 0.2), (0, 100, 0.0)]
    panel = _groups({"mid": group, "staff": group}, "job_level", seed=5)
    h = estimate_subgroups(panel, "job_level", min_units=10, min_treated=30)
    atts = h.table["att"].to_list()
    assert atts == pytest.approx([0.2, 0.2], abs=0.02)
    assert h.overall_att is not None and h.overall_att > max(atts) + 0.1
    assert h.composition == "below"  # every group below the overall
    assert h.overall_exposure is not None
    assert all(h.overall_exposure > e for e in h.table["exposure"])
    words = describe_heterogeneity(h)
    assert any(
        "も全体の推定値" in s and "小さくなっていますが、矛盾ではありません" in s for s in words
    )
    assert any("受講から時間のたった時点に重みがかかっています" in s for s in words)
    en = describe_heterogeneity(h, "en")
    assert any("lies below the overall one" in s for s in en)
    # groups on both sides of the overall: no such sentence
    mixed = _groups(
        {"mid": [(5, 100, 0.1), (0, 100, 0.0)], "staff": [(5, 100, 0.8), (0, 100, 0.0)]},
        "job_level",
    )
    m = estimate_subgroups(mixed, "job_level", min_units=10, min_treated=30)
    lo, hi = sorted(m.table["att"].to_list())
    assert m.overall_att is not None and lo < m.overall_att < hi
    assert m.composition is None
    assert not any("矛盾ではありません" in s for s in describe_heterogeneity(m))


# --------------------------------------------------------------------------- covariates


def test_panel_has_department_size_and_band() -> None:
    staff = [(2022, f"E{i}", "X", "staff", None) for i in range(31)]
    staff += [(2022, "F", "Y", "mid", "leader"), (2023, "F", "X", "mid", "leader")]
    panel = proposal_panel(_city(staff))
    fy = panel.group_by("unit", "fiscal_year").agg(
        pl.col("department_size").first(), pl.col("department_size_band").first()
    )
    f = {r["fiscal_year"]: r for r in fy.filter(pl.col("unit") == "F").iter_rows(named=True)}
    assert (f[2022]["department_size"], f[2022]["department_size_band"]) == (1, "1-29")
    assert (f[2023]["department_size"], f[2023]["department_size_band"]) == (1, "1-29")
    e = fy.filter((pl.col("unit") == "E0") & (pl.col("fiscal_year") == 2022)).row(0, named=True)
    assert (e["department_size"], e["department_size_band"]) == (31, "30-59")
    assert DEPARTMENT_SIZE_BANDS == (30, 60)


def _selected(n: int = 900, seed: int = 2) -> pl.DataFrame:
    """Managers are trained more and their proposals rise faster anyway: the unconditional
    comparison is biased, the one within job levels is not (effect 0.3)."""
    rng = np.random.default_rng(seed)
    level = rng.choice(np.array(["manager", "mid", "staff"]), size=n, p=[0.3, 0.3, 0.4])
    manager = level == "manager"
    trained = rng.random(n) < np.where(manager, 0.8, 0.3)
    cohort = np.where(trained, rng.choice(np.array([5, 9]), size=n), 0)
    unit = np.repeat(np.arange(n), 12)
    period = np.tile(np.arange(1, 13), n)
    g = cohort[unit]
    slope = np.where(manager, 0.08, 0.0)[unit]
    y = 1 + slope * period + 0.3 * ((g > 0) & (period >= g)) + rng.normal(0, 0.3, unit.size)
    return pl.DataFrame(
        {
            "unit": unit.astype(str),
            "period": period,
            "first_treated": g,
            "proposals": y,
            "job_level": level[unit],
            "talent_type": np.array(["leader", "unassigned"])[unit % 2],
            "department_size_band": "30-59",  # one value: adjusts nothing, left out
        }
    )


def test_covariates_compare_like_with_like() -> None:
    panel = _selected()
    plain = estimate_panel(panel, min_units=5)
    assert plain.ci[0] > 0.3  # managers' own trend counted as effect
    adjusted = estimate_panel(panel, min_units=5, covariates="default")
    assert adjusted.ci[0] < 0.3 < adjusted.ci[1]
    assert adjusted.covariates == ("job_level", "talent_type")
    assert adjusted.attgt.settings.covariates == ("job_level", "talent_type")
    assert any("department_size_band has one value" in n for n in adjusted.notes)
    doc = adjusted.to_json_dict()
    assert doc["covariates"] == ["job_level", "talent_type"] and doc["est_method"] == "dr"
    assert doc["overlap"]["checked"] and doc["overlap"]["cells"] == adjusted.attgt.attgt.height
    assert plain.to_json_dict()["covariates"] == [] and plain.to_json_dict()["overlap"] is None
    reg = estimate_panel(panel, min_units=5, covariates=["job_level"], est_method="reg")
    assert reg.ci[0] < 0.3 < reg.ci[1] and reg.est_method == "reg"
    with pytest.raises(BehaviourError, match="missing covariate"):
        estimate_panel(panel, min_units=5, covariates=["tenure_band"])


def test_subgroups_condition_on_every_covariate_but_their_own() -> None:
    panel = _selected(1200)
    h = estimate_subgroups(
        panel, "talent_type", min_units=5, min_treated=30, covariates=["job_level", "talent_type"]
    )
    for result in h.results.values():
        assert result.covariates == ("job_level",)
        assert result.ci[0] < 0.3 < result.ci[1]
    overall = estimate_panel(panel, min_units=5, covariates=["job_level", "talent_type"])
    assert overall.covariates == ("job_level", "talent_type") and h.overall_att == overall.att
    plain = estimate_panel(panel, min_units=5)
    with pytest.raises(ValueError, match="not made with these settings"):
        estimate_subgroups(
            panel,
            "talent_type",
            min_units=5,
            min_treated=30,
            covariates=["job_level"],
            overall=plain,
        )


def test_sample_city_with_the_default_covariates(city, sample_city, monthly) -> None:
    """Training in the sample city follows department waves, not job level, talent type or
    department size: conditioning on them still covers the planted effect, close to the
    unconditional estimate."""
    truth = sample_city.truth["expected_att_per_employee_month"]
    r = behaviour_change(city, covariates="default")
    assert r.covariates == BEHAVIOUR_COVARIATES
    assert r.ci[0] < truth < r.ci[1] and r.ci[0] > 0
    assert abs(r.att - monthly.att) < 0.25 * monthly.att
    overlap = r.attgt.overlap
    assert overlap is not None and overlap.cells.height == r.attgt.attgt.height
    assert overlap.not_estimated <= 0.01 * overlap.cells.height
