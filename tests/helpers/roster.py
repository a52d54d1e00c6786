"""An effective-dated roster for the tiny city (:func:`dxkpi.kpi.examples.tiny_city`).

E3 moves D02 → D01 on 2025-10-01 (an order closed on 09-30, then an open-ended one) and submits
P6 on 2025-11-15 (the proposals file says D02, the April department); E5 stays in D02 but is on
育休 from 2025-10-01 to 2026-03-31 (an open-ended 在籍 order from April and a later, overlapping
leave order: the later valid_from wins).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from dxkpi.ingest.processed import Processed
from dxkpi.kpi.examples import D, proposals

__all__ = ["ROSTER", "assignments", "random_roster", "with_p6"]


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


def random_roster(data: Processed, seed: int) -> pl.DataFrame:
    """Orders for a third of the staff rows: a move from a random day of the year, some
    open-ended, some a leave, some overlapping the April order they supersede."""
    rng = np.random.default_rng(seed)
    staff = data.staff.collect().sample(fraction=1 / 3, seed=seed)
    codes = data.departments.collect()["department_code"].to_list()
    n = staff.height
    start = pl.date(pl.col("fiscal_year"), 4, 1)
    statuses = np.array(["active", "childcare_leave", "secondment", "active", "active"])
    return staff.select(
        "employee_id",
        pl.Series(rng.choice(codes, n)).alias("department_code"),
        "job_level",
        (start + pl.duration(days=pl.Series(rng.integers(0, 365, n)))).alias("valid_from"),
        pl.when(pl.Series(rng.random(n)) < 0.5)
        .then(start + pl.duration(days=400))
        .alias("valid_to"),
        pl.Series(rng.choice(statuses, n)).alias("status"),
    ).unique(["employee_id", "valid_from"])
