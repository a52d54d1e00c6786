"""The city's history, a fiscal year at a time: staff, attendance, proposals, then leavers.

Leaving at a fiscal-year end depends on the employee's own proposals that year
(:func:`~dxkpi.sample.people.leave_probability`), so the years are simulated in order: the
staff list of the year (April transfers, hires replacing last year's leavers), that year's
attendance (phase-3 completions only after a phase-2 completion), everyone's stages so far,
that year's proposal counts under the planted effects, and who leaves at its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dxkpi.sample.behaviour import base_rates, proposal_counts
from dxkpi.sample.people import City, department_weights, first_city, leave_probability, next_year
from dxkpi.sample.training import Stages, attendance_year, gate_phase3, stages

__all__ = ["History", "simulate_history"]


@dataclass(frozen=True)
class History:
    """The simulated city and everything drawn along the way.

    ``attendance`` holds the session arrays (sorted by employee and date); ``base`` the monthly
    base rate per employee; ``emp``/``month``/``count`` the proposal counts of every
    employee-month on the staff list; ``left_after`` the year index at whose end an employee
    left (-1: stayed to the end of the window); ``leave_probability`` their chance of leaving
    at the end of that year's list (NaN for the last year, where nobody leaves).
    """

    city: City
    attendance: dict[str, np.ndarray]
    stages: Stages
    base: np.ndarray
    emp: np.ndarray
    month: np.ndarray
    count: np.ndarray
    left_after: np.ndarray
    leave_probability: np.ndarray  # (n_emp, n_years)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((joined["day"], joined["emp"]))
    return {k: v[order] for k, v in joined.items()}


def simulate_history(
    rng: np.random.Generator,
    fys: tuple[int, ...],
    dept_codes: list[str],
    wave: np.ndarray,
    n_staff: int,
    sessions_per_year: float,
) -> History:
    """Simulate the fiscal years in order (the order of the random draws is part of the output)."""
    weight = department_weights(rng, len(dept_codes))
    city = first_city(rng, fys, dept_codes, wave, n_staff, weight)
    base = base_rates(rng, city.level, city.ttype)
    parts: list[dict[str, np.ndarray]] = []
    counts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    leave = np.zeros(len(city.emp_ids), dtype=bool)
    left_after = np.full(len(city.emp_ids), -1)
    prob = np.full((len(city.emp_ids), len(fys)), np.nan)
    for y in range(len(fys)):
        if y:
            n_before = len(city.emp_ids)
            city = next_year(rng, city, y, leave, weight, n_staff)
            n_new = len(city.emp_ids) - n_before
            new_base = base_rates(rng, city.level[n_before:], city.ttype[n_before:])
            base = np.concatenate([base, new_base])
            left_after = np.concatenate([left_after, np.full(n_new, -1)])
            prob = np.concatenate([prob, np.full((n_new, len(fys)), np.nan)])
        parts.append(attendance_year(rng, city, y, sessions_per_year))
        a = _concat(parts)
        a["status"] = gate_phase3(len(city.emp_ids), a)
        parts = [a]
        st = stages(city, a)
        emp, month, count = proposal_counts(rng, city, base, st, y)
        counts.append((emp, month, count))
        if y < len(fys) - 1:
            staff = np.flatnonzero(city.dept[:, y] >= 0)
            per_emp = np.bincount(emp, weights=count, minlength=len(city.emp_ids))[staff]
            p = leave_probability(city.level[staff], per_emp)
            prob[staff, y] = p
            leave = np.zeros(len(city.emp_ids), dtype=bool)
            leave[staff] = rng.random(len(staff)) < p
            left_after[leave] = y
    emp, month, count = (np.concatenate(x) for x in zip(*counts, strict=True))
    return History(city, parts[0], st, base, emp, month, count, left_after, prob)
