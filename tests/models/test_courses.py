"""Per-course effects at the employee's stage and the three verdicts.

Hand-computed fixtures for the stage logic (who is treated, who is a comparison at which month),
for one estimate and for Holm and the verdict rules; the sample city (seed 7) and a second seed
against their planted truth (``ground_truth.json``); the PDCA lists and the CLI's JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi import pdca
from dxkpi.commands.behaviour import command
from dxkpi.ingest.processed import Processed, load_processed
from dxkpi.models import courses as C
from dxkpi.models.verdicts import equivalence_p, holm, judge, minimum_detectable_effect
from dxkpi.reports import pdca_tables
from tests.helpers import ROOT

SESOI = C.per_employee_month(20.0)

# ------------------------------------------------------------------ stages by hand


def _rows(units: dict[str, dict[str, Any]], months: int = 12) -> pl.DataFrame:
    recs = []
    for unit, s in units.items():
        for t in range(1, months + 1):
            recs.append(
                {
                    "unit": unit,
                    "period": t,
                    "m1": s.get("m1"),
                    "m2": s.get("m2"),
                    "m3": s.get("m3"),
                    "c1": s.get("c1"),
                    "c2": s.get("c2"),
                    "c3": s.get("c3"),
                }
            )
    schema = {
        "unit": pl.String,
        "period": pl.Int64,
        **{f"m{p}": pl.Int64 for p in (1, 2, 3)},
        **{f"c{p}": pl.String for p in (1, 2, 3)},
    }
    return pl.DataFrame(recs, schema=schema)


UNITS: dict[str, dict[str, Any]] = {
    # A: phase 1 in month 2, phase 2 (course Y) in month 5, phase 3 (Z) in month 9
    "A": {"m1": 2, "c1": "X", "m2": 5, "c2": "Y", "m3": 9, "c3": "Z"},
    # B: phase 1 in month 2, nothing after: at stage 1 from month 3 on
    "B": {"m1": 2, "c1": "X"},
    # C: a phase-2 completion in month 4 without phase 1
    "C": {"m2": 4, "c2": "Y"},
    # D: phase 1 in month 1, another phase-2 course (W) in month 3
    "D": {"m1": 1, "c1": "X", "m2": 3, "c2": "W"},
    # E: phase 1 and phase 2 (Y) in the same month 3
    "E": {"m1": 3, "c1": "X", "m2": 3, "c2": "Y"},
    # F: nothing
    "F": {},
}


def _roles(phase: int, course: str | None) -> dict[str, list[str | None]]:
    out = C.stage_roles(_rows(UNITS), phase, course).sort("unit", "period")
    return {u: out.filter(pl.col("unit") == u)["role"].to_list() for u in UNITS}


def _first(phase: int, course: str | None) -> dict[str, int]:
    out = C.stage_roles(_rows(UNITS), phase, course)
    return dict(out.group_by("unit").agg(pl.col("first_treated").first()).iter_rows())


B, S, N = "before", "at_stage", None


def test_stage_roles_phase_2_course_by_hand() -> None:
    r = _roles(2, "Y")
    # A: at stage 1 in months 3–5 (its completion month 5 untreated), at stage 2 in 6–8,
    # gone from its phase-3 completion month 9 on
    assert r["A"] == [N, N, B, B, B, S, S, S, N, N, N, N]
    # B: at stage 1 from month 3: a comparison for phase 2 every month after
    assert r["B"] == [N, N] + [B] * 10
    # C: never at stage 1, so never a comparison; treated from month 5 but with no base month
    assert r["C"] == [N] * 4 + [S] * 8
    # D: a comparison only until its own (other-course) phase-2 completion month 3
    assert r["D"] == [N, B, B] + [N] * 9
    # E: phase 1 and 2 in one month: no month at stage 1
    assert r["E"] == [N] * 3 + [S] * 9
    # F: never at stage 1
    assert r["F"] == [N] * 12
    assert _first(2, "Y") == {"A": 6, "B": 0, "C": 5, "D": 0, "E": 4, "F": 0}


def test_stage_roles_phase_level_and_phases_1_and_3_by_hand() -> None:
    # the phase (any course): D is treated too
    r = _roles(2, None)
    assert r["D"] == [N, B, B] + [S] * 9
    assert _first(2, None)["D"] == 4
    # phase 1: comparisons are staff with nothing in force; A at stage 1 in months 3–4
    r1 = _roles(1, "X")
    assert r1["A"] == [B, B, S, S] + [N] * 8
    assert r1["C"] == [B] * 4 + [N] * 8  # C's phase-2 effect from month 5 ends its stage 0
    assert r1["F"] == [B] * 12
    assert r1["E"] == [B, B, B] + [N] * 9  # stage 1 would end in month 3: no stage-1 month
    # phase 3: comparisons at stage 2 (phase-2 effect in force, phase 3 not); A from month 10
    r3 = _roles(3, "Z")
    assert r3["A"] == [N] * 5 + [B] * 4 + [S] * 3
    assert r3["D"] == [N] * 3 + [B] * 9
    assert r3["B"] == [N] * 12


def _tiny_city(proposals: dict[str, list[int]], completions: list[tuple[str, str, int]]):
    """One fiscal year (FY2024): monthly proposal counts per employee (April first) and
    completed sessions (employee, course, month index 1–12, on the 10th)."""
    months = [dt.date(2024 + (m >= 10), (m + 2) % 12 + 1, 10) for m in range(1, 13)]
    staff = pl.DataFrame(
        {
            "fiscal_year": [2024] * len(proposals),
            "employee_id": list(proposals),
            "department_code": ["D1"] * len(proposals),
            "job_level": ["staff"] * len(proposals),
            "talent_type": [None] * len(proposals),
        },
        schema_overrides={"talent_type": pl.String},
    )
    rows = [
        {"employee_id": e, "submitted_on": months[t]}
        for e, counts in proposals.items()
        for t, n in enumerate(counts)
        for _ in range(n)
    ]
    props = pl.DataFrame(rows).with_columns(
        proposal_id=pl.format("P{}", pl.int_range(pl.len())),
        department_code=pl.lit("D1"),
        title=pl.lit("t"),
        category=pl.lit(None, pl.String),
        status=pl.lit("submitted"),
    )
    att = pl.DataFrame(
        [
            {"employee_id": e, "course_id": c, "session_date": months[m - 1]}
            for e, c, m in completions
        ]
    ).with_columns(status=pl.lit("completed"), satisfaction=pl.lit(4, pl.Int64))
    courses = pl.DataFrame(
        {
            "course_id": ["K1", "S1", "S2"],
            "course_name": ["基礎", "技能1", "技能2"],
            "phase": [1, 2, 2],
            "skill_area": ["process"] * 3,
            "hours": [3.0] * 3,
            "instructor": ["internal"] * 3,
        }
    )
    departments = pl.DataFrame(
        {
            "department_code": ["D1"],
            "department_name": ["総務課"],
            "division": ["総務部"],
            "pilot_fy": [2024],
        }
    )
    return Processed.from_frames(
        departments=departments,
        staff=staff,
        courses=courses,
        attendance=att,
        proposals=props,
    )


def test_one_estimate_by_hand_leaves_other_courses_out_of_the_comparison() -> None:
    # months 1..6. T1, T2 complete S1 in month 3 (stage 2 from month 4); K1 done in month 1.
    # C1, C2 at stage 1 (K1 in month 1) all along; O completes S2 in month 2 and then
    # proposes a lot — under another phase-2 course's effect, it must not be a comparison.
    counts = {
        "T1": [0, 1, 1, 3, 2, 4],
        "T2": [0, 0, 2, 2, 4, 3],
        "C1": [0, 1, 0, 1, 1, 2],
        "C2": [1, 0, 1, 0, 2, 1],
        "O": [0, 0, 0, 9, 9, 9],
    }
    counts = {e: c + [0] * 6 for e, c in counts.items()}
    completions = [("T1", "K1", 1), ("T2", "K1", 1), ("C1", "K1", 1), ("C2", "K1", 1)]
    completions += [("O", "K1", 1), ("T1", "S1", 3), ("T2", "S1", 3), ("O", "S2", 2)]
    data = _tiny_city(counts, completions)

    def estimate(base_months: int) -> dict[str, Any]:
        return C.course_effects(
            data,
            smallest=0.5,
            min_treated=1,
            min_comparison=1,
            base_months=base_months,
            courses=["S1"],
        ).table.row(0, named=True)

    y = {e: np.array(c, dtype=float) for e, c in counts.items()}
    treated, comparison = ("T1", "T2"), ("C1", "C2")  # O is left out: its S2 effect is in force

    def hand(bases: list[int]) -> float:
        # treated at stage 2 in months 4..12 (indices 3..11); bases are month indices
        taus = []
        for t in range(3, 12):
            delta = np.mean([np.mean([y[j][t] - y[j][b] for j in comparison]) for b in bases])
            taus += [y[i][t] - np.mean([y[i][b] for b in bases]) - delta for i in treated]
        return float(np.mean(taus))

    one = estimate(1)  # did.py's cells: base = the completion month 3 only
    assert one["effect"] == pytest.approx(hand([2]))
    assert one["n_treated"] == 2 and one["n_cells"] == 9 and one["employee_months"] == 18
    treated_mean = np.mean([y[e][t] for e in treated for t in range(3, 12)])
    assert one["counterfactual"] == pytest.approx(treated_mean - one["effect"])
    # the default base: every month at stage 1 within the 12 before completion (months 2, 3)
    twelve = estimate(12)
    assert twelve["effect"] == pytest.approx(hand([1, 2]))
    assert twelve["employee_months"] == 18
    # S2 has one first-at-stage completer (O): not estimated, with the reason
    s2 = C.course_effects(data, smallest=0.5, min_treated=2, min_comparison=1, courses=["S2"])
    row = s2.table.row(0, named=True)
    assert row["reason"] == "too_few_completers" and row["effect"] is None
    assert row["verdict"] == "inconclusive" and s2.family_size == 0


# ------------------------------------------------------------------ Holm and verdicts


def test_holm_by_hand_and_against_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    rng = np.random.default_rng(1)
    p = list(rng.uniform(0, 0.2, 12))
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))


def test_verdict_rules() -> None:
    d = 0.5
    # a wide interval around zero is inconclusive, never no_effect
    wide = judge([(0.0, 1.0)], smallest=d)[0]
    assert wide.verdict == "inconclusive"
    assert wide.mde == pytest.approx(2.8016, abs=1e-3)
    assert wide.mde == pytest.approx(minimum_detectable_effect(1.0))
    # a narrow interval around zero: no effect of practical size
    assert judge([(0.02, 0.1)], smallest=d)[0].verdict == "no_effect"
    # clearly positive or negative: effect
    assert judge([(3.0, 1.0)], smallest=d)[0].verdict == "effect"
    assert judge([(-3.0, 1.0)], smallest=d)[0].verdict == "effect"
    # a precise effect smaller than the SESOI: effect, flagged below_smallest
    small = judge([(0.2, 0.05)], smallest=d)[0]
    assert small.verdict == "effect" and small.below_smallest
    # p = 0.002 alone is an effect; among 30 estimates with p = 0.5 it is not (Holm × 30)
    alone = judge([(3.09, 1.0)], smallest=d)[0]
    crowd = judge([(3.09, 1.0)] + [(0.674, 1.0)] * 29, smallest=d)[0]
    assert alone.verdict == "effect" and crowd.verdict == "inconclusive"
    assert crowd.p_adjusted == pytest.approx(min(1.0, 30 * crowd.p))
    # equivalence is adjusted too: TOST p 0.02 passes alone, not among 10 such
    est = (0.0, d / 2.054)  # one-sided p = 0.02 against each bound
    assert equivalence_p(*est, d) == pytest.approx(0.02, abs=1e-3)
    assert judge([est], smallest=d)[0].verdict == "no_effect"
    assert judge([est] * 10, smallest=d)[0].verdict == "inconclusive"
    # not estimated: inconclusive, no numbers, not counted in the family
    js = judge([None, (3.0, 1.0), (0.0, math.nan)], smallest=d)
    assert js[0].verdict == "inconclusive" and js[0].p is None and js[0].mde is None
    assert js[1].family_size == 1 and js[2].p is None
    # the simultaneous interval is wider than the pointwise one
    lo, hi = judge([(1.0, 1.0)] * 5, smallest=d)[0].ci_adjusted  # type: ignore[misc]
    assert hi - lo == pytest.approx(2 * 2.5758, abs=1e-3)
    with pytest.raises(ValueError):
        judge([(0.0, 1.0)], smallest=0.0)


# ------------------------------------------------------------------ the PDCA lists


def _effects_table(rows: list[dict[str, Any]]) -> C.CourseEffects:
    full = [{k: r.get(k) for k in C.EFFECT_COLUMNS} for r in rows]
    table = pl.DataFrame(full, schema=C.EFFECT_COLUMNS)
    return C.CourseEffects("course", table, SESOI, 0.05, 2, 30, 10)


def test_revise_lists_only_no_effect_and_undecided_lists_inconclusive() -> None:
    data = _tiny_city(
        {e: [1] * 12 for e in ("E1", "E2", "E3")},
        [("E1", "K1", 1), ("E2", "S1", 2), ("E3", "S2", 3), ("E1", "S1", 5)],
    )
    effects = _effects_table(
        [
            {"course_id": "K1", "phase": 1, "effect": 0.001, "ci_low": -0.004, "ci_high": 0.006,
             "mde": 0.007, "verdict": "no_effect", "n_treated": 40},
            {"course_id": "S1", "phase": 2, "effect": 0.01, "ci_low": -0.04, "ci_high": 0.06,
             "mde": 0.07, "verdict": "inconclusive", "n_treated": 40},
            {"course_id": "S2", "phase": 2, "verdict": "inconclusive",
             "reason": "too_few_completers"},
        ]
    )  # fmt: skip
    review = pdca.course_review(data, 2024, effects, k=1, liked=4.0)
    revise = pdca.courses_to_revise(review)
    undecided = pdca.courses_undecided(review)
    assert revise["course_id"].to_list() == ["K1"]
    assert review.filter(pl.col("course_id") == "K1")["flag"].item() == "liked_no_effect"
    assert undecided["course_id"].to_list() == ["S1", "S2"]
    shown = pdca_tables.undecided_display(undecided, "ja")
    assert shown["検出できる最小の効果"].to_list() == ["±84件/100人・年", "—"]
    assert "推定せず" in shown["理由"][1]
    table = pdca_tables.course_display(review, "ja")
    verdicts = table["判定"].to_list()
    assert verdicts[0] == "実用上の効果なし" and verdicts[1].startswith("判断できない")
    assert not any("変化なし" in v or "行動変容なし" in v for v in verdicts)
    assert "Holm" in pdca_tables.course_note(effects, "ja")


# ------------------------------------------------------------------ sample cities


_JUDGED: dict[str, tuple[C.CourseEffects, C.CourseEffects]] = {}


def _judged(processed: Path) -> tuple[C.CourseEffects, C.CourseEffects]:
    key = str(processed)
    if key not in _JUDGED:
        data = load_processed(processed)
        panel = C.stage_panel(data)
        _JUDGED[key] = (
            C.course_effects(data, smallest=SESOI, panel=panel),
            C.phase_effects(data, smallest=SESOI, panel=panel),
        )
    return _JUDGED[key]


def _check_against_truth(effects: C.CourseEffects, truth: dict[str, Any]) -> None:
    planted = {c["course_id"]: c for c in truth["course_effects"]}
    assert set(effects.table["course_id"]) == set(planted)
    for r in effects.table.iter_rows(named=True):
        t = planted[r["course_id"]]
        assert r["phase"] == t["phase"]
        if r["reason"] is not None:  # not estimated: listed with the reason, no verdict
            assert r["verdict"] == "inconclusive" and r["effect"] is None
            continue
        if t["zero_effect"]:
            assert r["verdict"] != "effect", r
        if r["verdict"] != "inconclusive":
            # the family's simultaneous interval holds every planted effect at once
            assert r["ci_adj_low"] <= t["expected_att"] <= r["ci_adj_high"], r
        assert r["mde"] == pytest.approx(minimum_detectable_effect(r["se"], df=r["df"]))
        assert r["mde"] >= 2.80 * r["se"]
        assert r["p_adjusted"] >= r["p"]
    assert effects.family_size == int(effects.table["reason"].is_null().sum())


def test_sample_city_verdicts_match_the_planted_truth(sample_city) -> None:  # type: ignore[no-untyped-def]
    courses, phases = _judged(sample_city.processed)
    _check_against_truth(courses, sample_city.truth)
    table = courses.table
    # the defect this replaces: phase-3 courses are no longer significantly negative, and
    # courses the data cannot judge are inconclusive, not "no change"
    assert (
        table.filter((pl.col("phase") == 3) & (pl.col("verdict") == "effect"))
        .filter(pl.col("effect") < 0)
        .is_empty()
    )
    assert table.filter(pl.col("verdict") == "effect")["effect"].min() > 0
    # the courses with few places (planted as hard to see) are listed as not estimated
    few = {c["course_id"] for c in sample_city.truth["course_effects"] if c["n_completers"] < 30}
    assert few and set(courses.not_estimated["course_id"]) == few
    assert set(courses.not_estimated["reason"]) == {"too_few_completers"}
    # phases: the planted phase-2 effect is found; phase 1 (no effect) is not called one
    by_phase = {r["phase"]: r for r in phases.table.iter_rows(named=True)}
    assert by_phase[2]["verdict"] == "effect"
    assert by_phase[1]["verdict"] != "effect"
    for p, r in by_phase.items():
        t = sample_city.truth["phase_effects"][str(p)]["expected_att"]
        if r["verdict"] != "inconclusive":
            assert r["ci_adj_low"] <= t <= r["ci_adj_high"]


@pytest.mark.xfail(
    strict=True,
    reason="not reachable at this city's size: the nine zero-effect courses of seed 7 have "
    "standard errors of 0.012–0.019 proposals per employee-month (t with 2–23 effective degrees "
    "of freedom), so a Holm-adjusted equivalence verdict would need a smallest effect of "
    "interest of at least 53 per 100 staff-years (C218; others 62–318), against the default 20 "
    "— and the planted real course effects are 30–70 per 100 staff-years, so a SESOI that large "
    "would call real effects 'no effect'.",
)
def test_some_zero_effect_course_is_judged_no_effect_on_seed_7(sample_city) -> None:  # type: ignore[no-untyped-def]
    courses, _ = _judged(sample_city.processed)
    zero = {c["course_id"] for c in sample_city.truth["course_effects"] if c["zero_effect"]}
    verdicts = courses.table.filter(pl.col("course_id").is_in(sorted(zero)))["verdict"]
    assert (verdicts == "no_effect").any()


def test_second_seed_verdicts_match_the_planted_truth(other_city) -> None:  # type: ignore[no-untyped-def]
    courses, phases = _judged(other_city.processed)
    _check_against_truth(courses, other_city.truth)
    assert phases.table.filter(pl.col("phase") == 2)["verdict"].item() == "effect"


def _revise_check(processed: Path, truth: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    courses, _ = _judged(processed)
    review = pdca.course_review(load_processed(processed), 2025, courses, 10)
    zero = {c["course_id"] for c in truth["course_effects"] if c["zero_effect"]}
    revise = pdca.courses_to_revise(review)
    for r in revise.iter_rows(named=True):
        assert r["course_id"] in zero and r["verdict"] == "no_effect", r
    low = pdca.courses_low_completion(review)
    assert (low["completion_rate"] < 0.7).all()
    return revise, low


def test_sample_city_revise_lists_only_planted_zero_courses_judged_no_effect(sample_city) -> None:  # type: ignore[no-untyped-def]
    """The PDCA review's 見直す研修 on the seed-7 city: only courses whose planted effect is zero
    and whose verdict is no_effect. On this city no course reaches no_effect (see the strict
    xfail above), so the list is empty and the meeting is told so; C209 (a real planted effect,
    too few completers to judge, 65 % completion) appears under low completion, not under
    見直す研修 as before."""
    revise, low = _revise_check(sample_city.processed, sample_city.truth)
    assert revise.is_empty()
    assert "C209" in low["course_id"].to_list()


def test_second_seed_revise_lists_only_planted_zero_courses_judged_no_effect(other_city) -> None:  # type: ignore[no-untyped-def]
    _revise_check(other_city.processed, other_city.truth)


def test_one_base_month_is_did_att_gt_pooled(sample_city) -> None:  # type: ignore[no-untyped-def]

    panel = C.stage_panel(load_processed(sample_city.processed))
    for phase, course in ((2, "C214"), (3, "C322")):
        used = C.stage_roles(panel, phase, course).filter(pl.col("role").is_not_null())
        cells, matrix = C._single_base(used, 10), C._averaged(used, 1, 10)
        assert cells is not None and matrix is not None
        for name in ("effect", "se", "df", "ratio", "ratio_se", "n_treated", "n_cells", "months"):
            assert getattr(matrix, name) == pytest.approx(getattr(cells, name), rel=1e-9), name


# ------------------------------------------------------------------ the CLI


def test_cli_by_course_json_and_by_phase_table(sample_city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]

    shutil.copy(ROOT / "dxkpi.toml", tmp_path / "dxkpi.toml")
    common = ["--data", str(sample_city.processed), "--config", str(tmp_path / "dxkpi.toml")]
    out = CliRunner().invoke(command, [*common, "--by", "course", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["course_id"] for r in rows] == sorted(
        (c["course_id"] for c in sample_city.truth["course_effects"]),
        key=lambda c: (c[1], c),
    )
    need = {"course_id", "phase", "estimand", "effect", "ci_low", "ci_high", "p_adjusted",
            "verdict", "n_treated", "ratio", "ratio_ci", "mde"}  # fmt: skip
    for r in rows:
        assert need <= set(r)
        assert r["verdict"] in ("effect", "no_effect", "inconclusive")
        assert r["estimand"] == f"course_at_stage_{r['phase']}"
        assert r["adjustment"] == "holm" and r["smallest_effect_per_100_staff_year"] == 20
        if r["reason"] is None:
            assert r["ci_low"] <= r["effect"] <= r["ci_high"]
            assert r["ratio_ci"] is None or r["ratio_ci"][0] <= r["ratio"] <= r["ratio_ci"][1]
            assert r["mde"] > 0 and r["n_treated"] >= 30
    table = CliRunner().invoke(command, [*common, "--by", "phase"])
    assert table.exit_code == 0, table.output
    head = table.output.splitlines()[0]
    assert "判定" in head and "95%区間" in head and "補正後p" in head
    assert "Holm" in table.output
