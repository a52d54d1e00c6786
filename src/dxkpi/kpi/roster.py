"""The effective-dated roster: which assignment holds for an employee on a date.

The April staff list of fiscal year t says who is on staff in t (H(t)) and where they were on
April 1. The optional ``assignments`` dataset says where each employee was, at which job level and
in which status (在籍 / 育休 / 派遣 / 休職) from ``valid_from`` to ``valid_to``. The rule, in one
place (README, "Transfers and leave"):

* An assignment covers the days ``valid_from`` … ``valid_to``, both included; an empty
  ``valid_to`` is open-ended.
* **Overlaps**: when several assignments of an employee cover a date, the one with the latest
  ``valid_from`` wins — a later personnel order supersedes an earlier one, open-ended or not, as
  辞令 do; when it ends, the earlier one holds again if it still covers the date.
  ``(employee_id, valid_from)`` is the dataset's key, so there is never a tie.
* **Gaps**: a date no assignment covers keeps the employee's staff row of that fiscal year
  (department and job level), status ``active``.
* **Membership** never comes from the assignments: an employee absent from the staff list of t
  counts in no cell of t, whatever the assignments say.
* **Months**: an employee-month takes the assignment valid on the month's first day; months in
  an away status (:data:`AWAY_STATUSES`) leave the denominators, every other month counts 1/12
  of a person-year in the group of that day's assignment (:func:`dxkpi.kpi._frames.person_years`).

Without the dataset (``data.assignments is None``) :func:`assignment_at` returns its input
unchanged, so every KPI is exactly the April-snapshot result.
"""

from __future__ import annotations

import polars as pl

from dxkpi.catalogue.contract import DATASETS
from dxkpi.ingest.processed import Processed

__all__ = [
    "ACTIVE",
    "ASSIGNMENT_STATUS_COLUMN",
    "AWAY_STATUSES",
    "assignment_at",
    "movers",
    "named_apart",
]

#: The status of an employee at work (在籍); also the status of a date no assignment covers.
ACTIVE = "active"
#: Statuses whose months leave the denominators: every status of the contract but active.
AWAY_STATUSES: tuple[str, ...] = tuple(
    c.code for c in DATASETS["assignments"].column("status").codes if c.code != ACTIVE
)
#: The column :func:`assignment_at` adds.
ASSIGNMENT_STATUS_COLUMN = "assignment_status"


def assignment_at(data: Processed, frame: pl.LazyFrame, date_column: str) -> pl.LazyFrame:
    """``frame`` with each row's department, job level (and division) those of the employee's
    assignment valid on ``date_column``, and the column ``assignment_status``.

    ``frame`` holds ``employee_id``, ``department_code`` (the staff row's) and ``date_column``;
    a ``job_level`` column is replaced too, a ``division`` column follows the department. Rows
    are never added, dropped or reordered (a row with an empty date keeps its staff row).
    Without assignments the frame is returned as it is (no status column).

    >>> import datetime as dt
    >>> from dxkpi.kpi.examples import tiny_city
    >>> moves = pl.DataFrame({
    ...     "employee_id": ["E1", "E1"], "department_code": ["D02", "D02"],
    ...     "job_level": ["staff", "staff"],
    ...     "valid_from": [dt.date(2025, 10, 1), dt.date(2026, 1, 1)],
    ...     "valid_to": [None, dt.date(2026, 2, 28)],
    ...     "status": ["active", "childcare_leave"],
    ... })
    >>> base = tiny_city()
    >>> data = Processed.from_frames(
    ...     departments=base.departments, staff=base.staff, assignments=moves
    ... )
    >>> days = [dt.date(2025, 9, 30), dt.date(2025, 10, 1), dt.date(2026, 2, 1),
    ...         dt.date(2026, 3, 1)]
    >>> frame = pl.LazyFrame({"employee_id": ["E1"] * 4, "department_code": ["D01"] * 4,
    ...                       "job_level": ["staff"] * 4, "on": days})
    >>> assignment_at(data, frame, "on").collect().select(
    ...     "department_code", "assignment_status").rows()
    [('D01', 'active'), ('D02', 'active'), ('D02', 'childcare_leave'), ('D02', 'active')]
    """
    if data.assignments is None:
        return frame
    names = frame.collect_schema().names()
    on = pl.col(date_column)
    # Resolved once per (employee, date) and joined back on them: no row numbers, whose order
    # a lazy plan evaluated in two branches would not keep.
    covering = (
        frame.select("employee_id", date_column)
        .unique()
        .join(
            data.assignments.select(
                "employee_id",
                pl.col("department_code").alias("_department"),
                pl.col("job_level").alias("_level"),
                "valid_from",
                "valid_to",
                pl.col("status").alias("_status"),
            ),
            on="employee_id",
            how="inner",
        )
        .filter(
            (pl.col("valid_from") <= on)
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= on))
        )
        .group_by("employee_id", date_column)
        .agg(pl.col("_department", "_level", "_status").sort_by("valid_from").last())
    )
    out = frame.join(
        covering, on=["employee_id", date_column], how="left", maintain_order="left"
    ).with_columns(
        department_code=pl.coalesce("_department", "department_code"),
        **{ASSIGNMENT_STATUS_COLUMN: pl.col("_status").fill_null(ACTIVE)},
    )
    if "job_level" in names:
        out = out.with_columns(job_level=pl.coalesce("_level", "job_level"))
    if "division" in names:
        division = data.departments.select(
            "department_code", pl.col("division").alias("_division")
        ).unique("department_code")
        out = out.join(
            division, on="department_code", how="left", maintain_order="left"
        ).with_columns(division=pl.col("_division"))
    return out.select(*names, ASSIGNMENT_STATUS_COLUMN)


def movers(data: Processed) -> pl.LazyFrame:
    """The employees the effective-dated roster names (``employee_id``, each once): only their
    rows can differ from their staff rows' under :func:`assignment_at` (a date no assignment
    covers keeps the staff row, status active). Needs ``data.assignments``."""
    return data.require("assignments").select("employee_id").unique()


def named_apart(
    data: Processed, frame: pl.LazyFrame, on: str = "employee_id"
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """``frame``'s rows of the employees the roster names (:func:`movers`; ``on``: the column
    holding the employee), and the others' rows: only the first need :func:`assignment_at`, the
    others keep their staff row, at work. Needs ``data.assignments``."""
    named = movers(data).select(pl.col("employee_id").alias(on))
    return frame.join(named, on=on, how="semi"), frame.join(named, on=on, how="anti")
