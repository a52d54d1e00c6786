"""The planted truth the product's estimates are checked against (``ground_truth.json``).

Computed from the simulation's potential rates (:func:`dxkpi.sample.behaviour.rates`), never
from the realised counts, except where a key says "realised":

* :func:`effect_truth` — the programme effect for the default treatment (first completed
  phase-2 course, months after its month), additive and as a ratio, overall, by talent type and
  job level, by event month, cohort and cohort × month, and the same with the completion month
  counted as treated (what an estimator timing treatment at the completion month targets);
* :func:`course_truth` / :func:`phase_truth` — per course and per phase, the effect at the
  employee's stage (sequential courses);
* :func:`pipeline_truth` — adoption and implementation waiting times, exactly from the planted
  distributions;
* :func:`attrition_truth` — the outcome-dependent leaving and the realised leavers;
* :func:`conventions` — the definitions behind every key, in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from dxkpi.core.fiscal import fiscal_month_label
from dxkpi.sample.behaviour import (
    Rates,
    course_phase2_share,
    course_phase3_multiplier,
    panel,
    rates,
)
from dxkpi.sample.history import History
from dxkpi.sample.parameters import (
    ADOPTION_PROBABILITY,
    COURSES,
    DECISION_DAYS,
    EFFECT_LAG_MONTHS,
    HIRE_GROWTH,
    IMPLEMENTATION_DAYS,
    IMPLEMENTATION_PROBABILITY,
    LEAVE_GAMMA,
    LEAVE_RATE,
    LEVELS,
    TYPES,
    WITHIN_DAYS,
)

__all__ = [
    "attrition_truth",
    "conventions",
    "noise_truth",
    "pipeline_truth",
    "programme_truth",
]


def _rates(h: History) -> Rates:
    emp, month = panel(h.city)
    return rates(h.city, h.base, h.stages, emp, month)


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if len(x) else None


def _ratio(with_: np.ndarray, without: np.ndarray) -> float | None:
    return float(with_.sum() / without.sum()) if len(with_) else None


def _summary(mask: np.ndarray, with_: np.ndarray, without: np.ndarray) -> dict[str, Any]:
    """expected_att (mean of with − without), expected_ratio (Σ with ÷ Σ without), months."""
    return {
        "expected_att": _mean(with_[mask] - without[mask]),
        "expected_ratio": _ratio(with_[mask], without[mask]),
        "employee_months": int(mask.sum()),
    }


def programme_truth(h: History, course_ids: Sequence[str]) -> dict[str, Any]:
    """The programme's planted effects: the default treatment's keys (:func:`_effect_truth`),
    ``course_effects`` and ``phase_effects``, from one computation of both potential rates."""
    r = _rates(h)
    masks = _stage_masks(h, r)
    return {
        **_effect_truth(h, r),
        "course_effects": _course_truth(h, r, masks, course_ids),
        "phase_effects": _phase_truth(h, masks),
    }


def noise_truth(h: History) -> dict[str, Any]:
    """The planted noise of the monthly proposal counts (what :mod:`dxkpi.models.design`'s
    variance components estimate): counts are Poisson given the employee-month's rate, so the
    noise variance is the rate, independent month to month (autocorrelation 0), and no shock is
    shared by a department's staff in a month (department × month variance 0). The variance is
    averaged over the employee-months before a phase-3 effect is in force (the untreated months
    of a phase-3 roll-out design) and over all employee-months. The rates themselves still vary
    within an employee (season, the yearly step, training), which centring on the period mean
    removes only on average.
    """
    r = _rates(h)
    return {
        "poisson_variance_before_phase3": _mean(r.rate[~r.in3]),
        "poisson_variance_all_months": _mean(r.rate),
        "autocorrelation": 0.0,
        "department_month_variance": 0.0,
        "unit": "proposals per employee-month",
    }


def _effect_truth(h: History, r: Rates) -> dict[str, Any]:
    """The programme effect of the default treatment: first completed phase-2 course.

    Over the treated employees' months on the staff list AFTER the completion month: the
    realised rate (phase-2 boost and, once in force, the phase-3 multiplier) against the rate
    without the programme.
    """
    city, fy0 = h.city, h.city.fys[0]
    g = h.stages.month[2][r.emp]
    effect = r.rate - r.without
    post = r.in2

    def by(
        labels: np.ndarray, names: Sequence[str], months: np.ndarray
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        att, ratio = {}, {}
        for i, name in enumerate(names):
            m = months & (labels == i)
            att[name] = _mean(effect[m])
            ratio[name] = _ratio(r.rate[m], r.without[m])
        return att, ratio

    att_type, ratio_type = by(city.ttype[r.emp], TYPES, post)
    att_level, ratio_level = by(city.level[r.emp], LEVELS, post)
    counted = (g >= 0) & (r.month >= g)  # the completion month counted as treated (effect 0)
    cnt_type, _ = by(city.ttype[r.emp], TYPES, counted)
    event = r.month - g
    by_event = {
        str(e): float(effect[counted & (event == e)].mean()) for e in np.unique(event[counted])
    }
    cohorts, sizes = np.unique(h.stages.month[2][h.stages.month[2] >= 0], return_counts=True)
    by_cohort = {fiscal_month_label(fy0, c): _mean(effect[post & (g == c)]) for c in cohorts}
    n_months = 12 * len(city.fys)

    def cells(mask: np.ndarray) -> dict[str, dict[str, float]]:
        """ATT(g,t) over the months in ``mask`` (numpy, not a polars group_by: its parallel
        sums are not bit-for-bit reproducible)."""
        keys, inverse = np.unique(g[mask] * n_months + r.month[mask], return_inverse=True)
        means = np.bincount(inverse, weights=effect[mask]) / np.bincount(inverse)
        out: dict[str, dict[str, float]] = {}
        for key, value in zip(keys, means, strict=True):
            cg, t = divmod(int(key), n_months)
            out.setdefault(fiscal_month_label(fy0, cg), {})[fiscal_month_label(fy0, t)] = float(
                value
            )
        return out

    att_gt = cells(counted)
    att_gt_type = {name: cells(counted & (city.ttype[r.emp] == i)) for i, name in enumerate(TYPES)}
    att_gt_level = {
        name: cells(counted & (city.level[r.emp] == i)) for i, name in enumerate(LEVELS)
    }
    treated = h.stages.month[2] >= 0
    return {
        "expected_att_per_employee_month": _mean(effect[post]),
        "expected_ratio": _ratio(r.rate[post], r.without[post]),
        "expected_att_by_talent_type": att_type,
        "expected_ratio_by_talent_type": ratio_type,
        "expected_att_by_job_level": att_level,
        "expected_ratio_by_job_level": ratio_level,
        "expected_att_by_event_month": by_event,
        "expected_att_by_cohort_month": by_cohort,
        "expected_att_gt": att_gt,
        "expected_att_gt_by_talent_type": att_gt_type,
        "expected_att_gt_by_job_level": att_gt_level,
        "treated_post_employee_months": int(post.sum()),
        "treated_employees": int(treated.sum()),
        "never_treated_employees": int((~treated).sum()),
        "treated_per_cohort_month": {
            fiscal_month_label(fy0, c): int(n) for c, n in zip(cohorts, sizes, strict=True)
        },
        "completion_month_counted_as_treated": {
            "expected_att_per_employee_month": _mean(effect[counted]),
            "expected_ratio": _ratio(r.rate[counted], r.without[counted]),
            "expected_att_by_talent_type": cnt_type,
            "treated_employee_months": int(counted.sum()),
        },
    }


_Masks = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _stage_masks(h: History, r: Rates) -> _Masks:
    """Per phase: (employee-months at that stage, rate with, rate without that phase's boost).

    Stage p of an employee: the months after the month of their first completed phase-p course
    and before the month of their first completed phase-(p+1) course.
    """
    st = h.stages
    in1 = (st.month[1][r.emp] >= 0) & (r.month >= st.month[1][r.emp] + EFFECT_LAG_MONTHS)
    after = {1: in1, 2: r.in2, 3: r.in3}  # phases 2 and 3: when their boost is in force
    before = {p: (st.month[p + 1][r.emp] < 0) | (r.month < st.month[p + 1][r.emp]) for p in (1, 2)}
    return {
        1: (after[1] & before[1], r.without, r.without),  # no planted phase-1 effect
        2: (after[2] & before[2], r.without * r.boost2, r.without),
        3: (after[3], r.rate, r.without * r.boost2),
    }


def _course_truth(
    h: History, r: Rates, masks: _Masks, course_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """Per course: the planted s_c / m_z and the effect at its stage on its first completers."""
    share, mult = course_phase2_share(), course_phase3_multiplier()
    out = []
    for i, (name, phase, *_rest) in enumerate(COURSES):
        at_stage, with_, without = masks[phase]
        mask = at_stage & (h.stages.course[phase][r.emp] == i)
        planted = {1: None, 2: float(share[i]), 3: float(mult[i])}[phase]
        out.append(
            {
                "course_id": course_ids[i],
                "course_name": name,
                "phase": phase,
                "s_c": planted if phase == 2 else None,
                "m_z": planted if phase == 3 else None,
                "n_completers": int((h.stages.course[phase] == i).sum()),
                **_summary(mask, with_, without),
                "zero_effect": planted in (None, 0.0) or (phase == 3 and planted == 1.0),
            }
        )
    return out


def _phase_truth(h: History, masks: _Masks) -> dict[str, dict[str, Any]]:
    """Per phase (any course): the effect at that stage on the phase's first completers."""
    return {
        str(p): {"n_completers": int((h.stages.month[p] >= 0).sum()), **_summary(*mask)}
        for p, mask in masks.items()
    }


def _days_pmf() -> tuple[int, np.ndarray, int]:
    """Days from submission to implementation: (first day, ways per day, total ways)."""
    d = np.ones(DECISION_DAYS[1] - DECISION_DAYS[0] + 1, dtype=np.int64)
    i = np.ones(IMPLEMENTATION_DAYS[1] - IMPLEMENTATION_DAYS[0] + 1, dtype=np.int64)
    return DECISION_DAYS[0] + IMPLEMENTATION_DAYS[0], np.convolve(d, i), len(d) * len(i)


def _median(first: int, ways: np.ndarray, total: int) -> float:
    """The median of an integer distribution (midpoint where the CDF is exactly one half)."""
    cum = np.cumsum(ways)
    lower = int(np.argmax(2 * cum >= total))
    if 2 * cum[lower] == total:
        upper = lower + 1 + int(np.argmax(ways[lower + 1 :] > 0))
        return first + (lower + upper) / 2
    return float(first + lower)


def pipeline_truth(as_of: dt.date) -> dict[str, Any]:
    """Adoption and implementation: eventual probabilities and waiting times, exactly."""
    first, ways, total = _days_pmf()
    decision = np.ones(DECISION_DAYS[1] - DECISION_DAYS[0] + 1, dtype=np.int64)

    def within(w: int) -> float:
        return float(ways[: max(0, w - first + 1)].sum() / total)

    return {
        "as_of": str(as_of),
        "decision_days": {
            "distribution": "uniform integer",
            "min": DECISION_DAYS[0],
            "max": DECISION_DAYS[1],
        },
        "implementation_days_after_decision": {
            "distribution": "uniform integer",
            "min": IMPLEMENTATION_DAYS[0],
            "max": IMPLEMENTATION_DAYS[1],
        },
        "eventual_adoption_probability": ADOPTION_PROBABILITY,
        "eventual_implementation_probability_given_adoption": IMPLEMENTATION_PROBABILITY,
        "eventual_implementation_probability": round(
            ADOPTION_PROBABILITY * IMPLEMENTATION_PROBABILITY, 10
        ),
        "median_days_submission_to_decision": _median(DECISION_DAYS[0], decision, len(decision)),
        "median_days_submission_to_implementation": _median(first, ways, total),
        "share_of_adopted_implemented_within_days": {
            str(w): IMPLEMENTATION_PROBABILITY * within(w) for w in WITHIN_DAYS
        },
        "share_of_implemented_within_days": {str(w): within(w) for w in WITHIN_DAYS},
    }


def attrition_truth(h: History) -> dict[str, Any]:
    """The planted outcome-dependent leaving and the realised leavers, hires and counts."""
    city = h.city
    fys = city.fys
    on = city.dept >= 0
    per_emp_year = np.zeros(on.shape)
    np.add.at(per_emp_year, (h.emp, h.month // 12), h.count)
    first_year = on.argmax(axis=1)
    leavers, hires, mean_left, mean_stay, mean_p = {}, {}, {}, {}, {}
    for y, fy in enumerate(fys[:-1]):
        staff = on[:, y]
        left = staff & (h.left_after == y)
        stay = staff & ~left
        leavers[str(fy)] = int(left.sum())
        hires[str(fys[y + 1])] = int((first_year == y + 1).sum())
        mean_left[str(fy)] = _mean(per_emp_year[left, y])
        mean_stay[str(fy)] = _mean(per_emp_year[stay, y])
        mean_p[str(fy)] = _mean(h.leave_probability[staff, y])
    return {
        "gamma": LEAVE_GAMMA,
        "leave_rate_by_level": dict(zip(LEVELS, LEAVE_RATE, strict=True)),
        "formula": "at the end of fiscal year t an employee on its staff list leaves with "
        "probability min(1, leave_rate[job_level] × exp(−gamma × z)), z = (their proposals "
        "submitted in t − mean) ÷ standard deviation over the staff list of t",
        "hires": f"as many as left, plus {100 * HIRE_GROWTH:g} % of the first year's head "
        "count, join in April",
        "leavers_by_fiscal_year": leavers,
        "hires_by_fiscal_year": hires,
        "mean_leave_probability_by_fiscal_year": mean_p,
        "realised_mean_proposals_of_leavers_by_fiscal_year": mean_left,
        "realised_mean_proposals_of_stayers_by_fiscal_year": mean_stay,
    }


def conventions() -> dict[str, str]:
    """The definitions behind the effect keys, in words."""
    lag = EFFECT_LAG_MONTHS
    return {
        "timing": f"an effect starts {lag} month(s) after the month of the completed session "
        "and lasts; the completion month itself is untreated",
        "months": "YYYY-MM calendar months; the unit is proposals submitted per employee-month on "
        "the staff list",
        "default_treatment": "the month of the employee's first completed phase-2 session "
        "(cohort month)",
        "expected_att_per_employee_month": "changed meaning (issue item 9): mean of rate with − "
        "rate without the programme over treated employees' months AFTER the cohort month "
        "(before: from the cohort month on, the whole cohort month treated). The rate with "
        "includes the phase-3 multiplier once in force: the effect of the whole path that starts "
        "with phase 2",
        "expected_ratio": "Σ rate with ÷ Σ rate without over the same employee-months (1.0 = no "
        "effect): the effect relative to the counterfactual, not to the pre-training mean",
        "by_talent_type_and_job_level": "the same two estimands over the months of employees in "
        "each group (talent type and job level are fixed per employee)",
        "expected_att_by_event_month": "event months count from the cohort month (0); event 0 "
        "is untreated and its value is 0",
        "expected_att_gt": "expected_att_gt[cohort][month] is the true ATT(g,t) for months t ≥ "
        "g, ATT(g,g) = 0; expected_att_by_cohort_month averages months after g (null: none)",
        "expected_att_gt_by_group": "expected_att_gt_by_talent_type[type][cohort][month] and "
        "expected_att_gt_by_job_level[level][cohort][month]: the same cells over the group's "
        "employees only. A within-group estimate that can use only some cohorts (too few "
        "employees per cohort month) targets the average of ITS cells: compare it with these "
        "cells weighted as the estimator weighs them, not with the group's overall average",
        "completion_month_counted_as_treated": "the same estimand over months from the cohort "
        "month on, the cohort month contributing 0: what an estimator that treats the "
        "completion month as the first treated period recovers",
        "stages": "phases build on each other; an employee is at stage p in the months after "
        "the month of their first completed phase-p course and before the month of their first "
        "completed phase-(p+1) course (stage 3 has no end). Phase-3 completions happen only on a "
        "day after the first phase-2 completion",
        "course_effects": "for a course of phase p, its first-at-stage completers are the "
        "employees whose first completed phase-p course it is (ties on one day: the lowest "
        "course_id). expected_att: mean of rate with − rate without this course's boost over "
        "their stage-p months; expected_ratio: Σ with ÷ Σ without over them. Phase 2: boost "
        "1 + (factor[talent type] − 1) × s_c against no programme effect. Phase 3: m_z, "
        "incremental on top of the phase-2 boost. Phase 1: no planted effect. n_completers counts "
        "every first-at-stage completer, employee_months the months the estimand averages "
        "(a completer in the last months may have none); null values: no such months",
        "phase_effects": "the same per phase, any course of the phase",
        "zero_effect": "true where the planted boost is 1 (s_c = 0, m_z = 1, or phase 1)",
    }
