"""An effective-dated roster for the tiny city (:func:`dxkpi.kpi.examples.tiny_city`).

E3 moves D02 → D01 on 2025-10-01 (an order closed on 09-30, then an open-ended one) and submits
P6 on 2025-11-15 (the proposals file says D02, the April department); E5 stays in D02 but is on
育休 from 2025-10-01 to 2026-03-31 (an open-ended 在籍 order from April and a later, overlapping
leave order: the later valid_from wins).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from dxkpi.kpi.examples import D, proposals

__all__ = ["ROSTER", "assignments", "with_p6"]


def assignments(*rows: tuple[str, str, str, dt.date, dt.date | None, str]) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows),
        schema={
            "employee_id": pl.String,
            "department_code": pl.String,
            "job_level": pl.String,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
            "status": pl.String,
        },
        orient="row",
    )


ROSTER = assignments(
    ("E3", "D02", "mid", D(2025, 4, 1), D(2025, 9, 30), "active"),
    ("E3", "D01", "mid", D(2025, 10, 1), None, "active"),
    ("E5", "D02", "staff", D(2025, 4, 1), None, "active"),
    ("E5", "D02", "staff", D(2025, 10, 1), D(2026, 3, 31), "childcare_leave"),
)


def with_p6() -> pl.DataFrame:
    p6 = (
        proposals()
        .head(1)
        .with_columns(
            proposal_id=pl.lit("P6"),
            employee_id=pl.lit("E3"),
            department_code=pl.lit("D02"),
            submitted_on=pl.lit(D(2025, 11, 15)),
            status=pl.lit("submitted"),
            decided_on=pl.lit(None, pl.Date),
            implemented_on=pl.lit(None, pl.Date),
            hours_saved_per_year=pl.lit(None, pl.Float64),
        )
    )
    return pl.concat([proposals(), p6])
