"""The sample city's effective-dated roster (issue #17): planted mid-year moves and leaves.

Drawn from its own random stream (``SeedSequence([seed, ROSTER_STREAM])``) after every other
file is written, so those stay byte-identical. Each fiscal year, ``ROSTER["move_rate"]`` of the
staff list move to another department on July, October or January 1 (an order closed the day
before, then one in the new department), and ``ROSTER["leave_rate"]`` of the others are away
(育休, 休職, 派遣) from a month's first day for 2–12 months within the year — written as an
在籍 order for the whole year and a later, overlapping leave order (the later valid_from wins).
Orders close on March 31, except those of the last fiscal year, which are open-ended.

The truth (:func:`roster_truth`) is computed from these draws, not from the product's rule: the
planted moves, each department's active months per fiscal year (the person-years × 12 of the
denominators) and each department's proposals per fiscal year by the proposer's department on
the submission day, and each department's training sessions per fiscal year and phase by the
attendee's department on the session's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dxkpi.sample.parameters import LEVELS, ROSTER
from dxkpi.sample.people import City
from dxkpi.sample.values import choose, iso_text

__all__ = [
    "RosterDraws",
    "assignments_table",
    "bad_assignments",
    "roster_draws",
    "roster_truth",
    "sessions_truth",
]

_MONTHS = 12
_ACTIVE = "active"


@dataclass(frozen=True)
class RosterDraws:
    """Per fiscal-year index: who moved (month index, new department), who was away (status,
    first and end month index, end exclusive)."""

    movers: list[np.ndarray]
    move_month: list[np.ndarray]
    move_to: list[np.ndarray]
    leavers: list[np.ndarray]
    leave_status: list[np.ndarray]
    leave_start: list[np.ndarray]
    leave_end: list[np.ndarray]


def _month_day(fy: int, k: np.ndarray | int) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of the first day of month index k (0 = April) of fy."""
    return (np.datetime64(f"{fy}-04", "M") + np.asarray(k)).astype("datetime64[D]").astype(np.int64)


def roster_draws(rng: np.random.Generator, city: City) -> RosterDraws:
    """The planted moves and leaves of each fiscal year (module docstring)."""
    n_dept = len(city.dept_codes)
    statuses = list(ROSTER["leave_status_share"])
    shares = list(ROSTER["leave_status_share"].values())
    lo, hi = ROSTER["leave_months"]
    out: dict[str, list[np.ndarray]] = {f: [] for f in RosterDraws.__dataclass_fields__}
    for y in range(len(city.fys)):
        on = np.flatnonzero(city.dept[:, y] >= 0)
        u = rng.random(len(on))
        movers = on[u < ROSTER["move_rate"]]
        out["movers"].append(movers)
        out["move_month"].append(rng.choice(np.asarray(ROSTER["move_months"]), len(movers)))
        shift = rng.integers(1, n_dept, len(movers))
        out["move_to"].append((city.dept[movers, y] + shift) % n_dept)
        rest = on[u >= ROSTER["move_rate"]]
        leavers = rest[rng.random(len(rest)) < ROSTER["leave_rate"]]
        out["leavers"].append(leavers)
        out["leave_status"].append(np.asarray(statuses)[choose(rng, shares, len(leavers))])
        start = rng.integers(1, _MONTHS - 1, len(leavers))
        out["leave_start"].append(start)
        out["leave_end"].append(np.minimum(start + rng.integers(lo, hi + 1, len(leavers)), 12))
    return RosterDraws(**out)


def assignments_table(city: City, draws: RosterDraws) -> pl.DataFrame:
    """The canonical assignments rows (string columns, ISO dates), sorted by employee and date."""
    parts = []
    last = len(city.fys) - 1
    for y, fy in enumerate(city.fys):
        fy_end = _month_day(fy, _MONTHS) - 1
        movers, leavers = draws.movers[y], draws.leavers[y]
        move_day = _month_day(fy, draws.move_month[y])
        start, end = _month_day(fy, draws.leave_start[y]), _month_day(fy, draws.leave_end[y]) - 1
        april = np.full(len(movers), _month_day(fy, 0))
        open_end = y == last
        parts += [
            _rows(city, movers, city.dept[movers, y], april, move_day - 1, _ACTIVE),
            _rows(city, movers, draws.move_to[y], move_day, None if open_end else fy_end, _ACTIVE),
            _rows(
                city,
                leavers,
                city.dept[leavers, y],
                np.full(len(leavers), _month_day(fy, 0)),
                None if open_end else fy_end,
                _ACTIVE,
            ),
            _rows(city, leavers, city.dept[leavers, y], start, end, draws.leave_status[y]),
        ]
    return pl.concat(parts).sort("employee_id", "valid_from")


def _rows(
    city: City,
    emp: np.ndarray,
    dept: np.ndarray,
    valid_from: np.ndarray,
    valid_to: np.ndarray | int | None,
    status: str | np.ndarray,
) -> pl.DataFrame:
    n = len(emp)
    to = (
        pl.Series("valid_to", [None] * n, dtype=pl.String)
        if valid_to is None
        else iso_text(np.broadcast_to(valid_to, n).copy())
    )
    return pl.DataFrame(
        {
            "employee_id": pl.Series(city.emp_ids[emp], dtype=pl.String),
            "department_code": pl.Series(np.asarray(city.dept_codes)[dept], dtype=pl.String),
            "job_level": pl.Series(np.asarray(LEVELS)[city.level[emp]], dtype=pl.String),
            "valid_from": iso_text(valid_from),
            "valid_to": to.alias("valid_to"),
            "status": pl.Series(np.broadcast_to(status, n).astype(str), dtype=pl.String),
        }
    )


def bad_assignments(city: City, draws: RosterDraws, table: pl.DataFrame) -> pl.DataFrame:
    """One planted bad row for an employee the draws left alone in the last fiscal year: a
    status the contract does not know (退職, retirement, is not a roster status). One only: the
    sample city keeps at most 30 bad rows in all (the order ending before it starts is in the
    ingest tests)."""
    y = len(city.fys) - 1
    fy = city.fys[y]
    touched = set(draws.movers[y].tolist()) | set(draws.leavers[y].tolist())
    calm = [int(e) for e in np.flatnonzero(city.dept[:, y] >= 0) if int(e) not in touched][:1]
    rows = []
    for e, (start, end, status, rule) in zip(
        calm, (("09-01", None, "退職", "assignments.status.accepted"),), strict=True
    ):
        rows.append(
            {
                "employee_id": str(city.emp_ids[e]),
                "department_code": city.dept_codes[city.dept[e, y]],
                "job_level": LEVELS[city.level[e]],
                "valid_from": f"{fy}-{start}",
                "valid_to": None if end is None else f"{fy}-{end}",
                "status": status,
                "_bad": rule,
            }
        )
    good = table.with_columns(pl.lit(None, pl.String).alias("_bad"))
    return pl.concat([good, pl.DataFrame(rows, schema=good.schema)])


def roster_truth(
    city: City,
    draws: RosterDraws,
    proposals: pl.DataFrame,
    attendance: pl.DataFrame,
    phases: dict[str, str],
) -> dict[str, Any]:
    """The planted moves and leaves and what the month and event rules make of them.

    ``active_months_by_department[fy][code]``: months at work (first of the month, away
    months out) of the staff list of fy in each department; ``proposals_by_department[fy]
    [code]``: the accepted proposals of fy by the proposer's department on the day submitted;
    ``sessions_by_department[fy][code][phase]``: the accepted attendance rows of fy
    (``sessions``) and those completed (``completed``) by the attendee's department on the
    session's date (:func:`sessions_truth`). ``proposals`` and ``attendance`` are the
    generator's tables (``_bad`` marks planted bad rows), ``phases`` each course's phase.
    """
    codes = np.asarray(city.dept_codes)
    months_by: dict[str, dict[str, int]] = {}
    props_by: dict[str, dict[str, int]] = {}
    moves: dict[str, int] = {}
    leaves: dict[str, dict[str, int]] = {}
    good = _with_employee_rows(city, proposals.filter(pl.col("_bad").is_null()))
    for y, fy in enumerate(city.fys):
        dept = np.repeat(city.dept[:, y : y + 1], _MONTHS, axis=1)  # (employee, month)
        at_work = dept >= 0
        movers = draws.movers[y]
        later = np.arange(_MONTHS)[None, :] >= draws.move_month[y][:, None]
        dept[movers] = np.where(later, draws.move_to[y][:, None], dept[movers])
        k = np.arange(_MONTHS)[None, :]
        away = (k >= draws.leave_start[y][:, None]) & (k < draws.leave_end[y][:, None])
        at_work[draws.leavers[y]] &= ~away
        counted = np.bincount(dept[at_work], minlength=len(codes))
        months_by[str(fy)] = {str(c): int(m) for c, m in zip(codes, counted, strict=True) if m}
        of_fy = good.filter(pl.col("_fy") == fy)
        submitted = of_fy["submitted_on"].str.to_date("%Y-%m-%d").cast(pl.Int32).to_numpy()
        where = _department_on(city, draws, y, of_fy["_e"].to_numpy(), submitted)
        counts = np.bincount(where, minlength=len(codes))
        props_by[str(fy)] = {str(c): int(n) for c, n in zip(codes, counts, strict=True) if n}
        moves[str(fy)] = len(movers)
        statuses, n = np.unique(draws.leave_status[y], return_counts=True)
        leaves[str(fy)] = {str(s): int(c) for s, c in zip(statuses, n, strict=True)}
    return {
        "parameters": dict(ROSTER),
        "moves_by_fy": moves,
        "leaves_by_fy": leaves,
        "active_months_by_department": months_by,
        "proposals_by_department": props_by,
        "sessions_by_department": sessions_truth(city, draws, attendance, phases),
        "rule": "a proposal counts for the proposer's department on the day submitted, a "
        "training session for the attendee's department on the session's date (a session "
        "during leave in the department the person is away from); a month takes the "
        "assignment valid on its first day and away months (育休, 休職, 派遣) leave the "
        "denominators; person-years = active months ÷ 12",
    }


def sessions_truth(
    city: City, draws: RosterDraws, attendance: pl.DataFrame, phases: dict[str, str]
) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
    """``[fy][department code][phase]``: the accepted attendance rows of fy (``sessions``, any
    status) and the completed ones (``completed``), each counted in the attendee's department
    on the session's date: a mover's new department from the move day on (the draws'
    ``move_month``), anyone else's department of the year's staff list. Every accepted row's
    attendee is on that year's staff list (checked)."""
    rows = _with_employee_rows(city, attendance.filter(pl.col("_bad").is_null()))
    codes = np.asarray(city.dept_codes)
    out: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
    for y, fy in enumerate(city.fys):
        of_fy = rows.filter(pl.col("_fy") == fy)
        emp = of_fy["_e"].to_numpy()
        if np.any(city.dept[emp, y] < 0):  # pragma: no cover - generator guard
            raise ValueError(f"FY{fy}: an accepted session of someone off the staff list")
        dept = _department_on(city, draws, y, emp, of_fy["_day"].to_numpy())
        counted = (
            pl.DataFrame(
                {
                    "code": codes[dept],
                    "phase": of_fy["course_id"].replace_strict(phases),
                    "completed": (of_fy["status"] == "completed").cast(pl.Int64),
                }
            )
            .group_by("code", "phase")
            .agg(pl.len().alias("sessions"), pl.col("completed").sum())
            .sort("code", "phase")
        )
        by_code: dict[str, dict[str, dict[str, int]]] = {}
        for code, phase, sessions, completed in counted.iter_rows():
            by_code.setdefault(code, {})[phase] = {
                "sessions": int(sessions),
                "completed": int(completed),
            }
        out[str(fy)] = by_code
    return out


def _with_employee_rows(city: City, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (of the generator's tables, by ``employee_id``) with ``_e``, each employee's
    index in the city's arrays; every row names an employee of the city (checked)."""
    index = pl.DataFrame(
        {"employee_id": city.emp_ids.astype(str), "_e": np.arange(len(city.emp_ids))}
    )
    found = rows.join(index, on="employee_id", how="inner", maintain_order="left")
    if found.height != rows.height:  # pragma: no cover - generator guard
        raise ValueError("an accepted row names no employee of the city")
    return found


def _department_on(
    city: City, draws: RosterDraws, y: int, emp: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """The department index of employees ``emp`` on days ``day`` (days since 1970-01-01) of the
    fiscal year at index ``y``, from the draws: a mover's new department from the first day of
    the move month on, anyone else's (a leaver's too) that of the year's staff list."""
    move_day = np.full(len(city.emp_ids), np.iinfo(np.int64).max)
    move_day[draws.movers[y]] = _month_day(city.fys[y], draws.move_month[y])
    new_dept = np.full(len(city.emp_ids), -1)
    new_dept[draws.movers[y]] = draws.move_to[y]
    return np.where(day.astype(np.int64) >= move_day[emp], new_dept[emp], city.dept[emp, y])
