"""Course costs of the sample city (the 行政評価 sheet) and their planted truth.

One row per course and fiscal year the course ran (an attended or completed session that year),
drawn by the rule of :data:`~dxkpi.sample.parameters.COURSE_COST` from the cost stream
(``SeedSequence([seed, COST_STREAM])``), after the core datasets and the skill map are written.
One planted bad row (a course code not in the course list) sits at a random place in the last
fiscal year's rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dxkpi.sample.parameters import COURSE_COST, COURSES
from dxkpi.sample.people import City

__all__ = ["cost_truth", "course_costs_table"]


def _per_session(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    """Yen per session, uniform on ``bounds``, rounded to 1,000 yen."""
    return np.round(rng.uniform(bounds[0], bounds[1], n) / 1000) * 1000


def course_costs_table(
    rng: np.random.Generator, city: City, a: dict[str, np.ndarray], course_ids: list[str]
) -> pl.DataFrame:
    """The canonical text table of ``course_costs`` (plus ``_fy`` and the numbers as floats in
    ``_fee``, ``_venue``, ``_hours`` for the truth)."""
    took = a["status"] > 0
    pairs = np.unique(np.stack([a["course"][took], a["year"][took]]), axis=1)
    course, year = pairs[0], pairs[1]
    attendees = np.array(
        [
            len(np.unique(a["emp"][took & (a["course"] == c) & (a["year"] == y)]))
            for c, y in zip(course, year, strict=True)
        ]
    )
    sessions = np.ceil(attendees / COURSE_COST["class_size"])
    external = np.array([COURSES[c][4] == "external" for c in course])
    hours = np.array([float(COURSES[c][3]) for c in course])
    n = len(course)
    fee = np.where(external, _per_session(rng, COURSE_COST["external_fee_per_session_yen"], n), 0)
    venue = _per_session(rng, COURSE_COST["venue_per_session_yen"], n)
    venue = np.where(rng.random(n) < COURSE_COST["own_room_share"], 0.0, venue)
    lo, hi = COURSE_COST["preparation_hours_per_session"]
    prep = np.round(rng.uniform(lo, hi, n) * 2) / 2
    fee, venue = fee * sessions, venue * sessions
    instructor = np.where(external, 0.0, (hours + prep) * sessions)
    fys = np.asarray(city.fys)[year]

    def text(x: np.ndarray) -> list[str]:
        return [f"{v:g}" if v != int(v) else str(int(v)) for v in x]

    table = pl.DataFrame(
        {
            "course_id": np.asarray(course_ids)[course],
            "fiscal_year": [str(y) for y in fys],
            "external_fee_yen": text(fee),
            "venue_yen": text(venue),
            "instructor_hours": text(instructor),
            "_fy": fys,
            "_fee": fee,
            "_venue": venue,
            "_hours": instructor,
            "_bad": pl.Series([None] * n, dtype=pl.String),
        }
    ).sort("_fy", "course_id")
    return _plant_bad_row(rng, table, city.fys[-1])


def _plant_bad_row(rng: np.random.Generator, table: pl.DataFrame, fy: int) -> pl.DataFrame:
    """A row for a course the course list does not have (``course_costs.course_id.exists``),
    at a random place among the fiscal year's rows."""
    rows = np.flatnonzero((table["_fy"] == fy).to_numpy())
    at = int(rng.integers(rows.min(), rows.max() + 2)) if len(rows) else table.height
    bad = pl.DataFrame(
        {
            "course_id": ["C999"],
            "fiscal_year": [str(fy)],
            "external_fee_yen": ["250000"],
            "venue_yen": ["0"],
            "instructor_hours": ["0"],
            "_fy": [fy],
            "_fee": [250_000.0],
            "_venue": [0.0],
            "_hours": [0.0],
            "_bad": ["course_costs.course_id.exists"],
        },
        schema=table.schema,
    )
    return pl.concat([table.head(at), bad, table.slice(at)])


def cost_truth(table: pl.DataFrame) -> dict[str, Any]:
    """The planted course costs (the bad row left out): totals per fiscal year (yen, hours)."""
    per_fy = (
        table.filter(pl.col("_bad").is_null())
        .group_by("_fy")
        .agg(
            pl.len().alias("courses"),
            pl.col("_fee").sum().alias("external_fee_yen"),
            pl.col("_venue").sum().alias("venue_yen"),
            pl.col("_hours").sum().alias("instructor_hours"),
        )
    )
    return {
        "rule": "one row per course and fiscal year it ran; sessions = ceil(attendees / "
        "class_size); external fee and venue per session, internal instructor hours = (course "
        "hours + preparation) per session; see parameters",
        "parameters": {k: list(v) if isinstance(v, tuple) else v for k, v in COURSE_COST.items()},
        "by_fiscal_year": {
            str(fy): {
                "courses": int(n),
                "external_fee_yen": float(fee),
                "venue_yen": float(venue),
                "instructor_hours": float(hours),
            }
            for fy, n, fee, venue, hours in per_fy.sort("_fy").iter_rows()
        },
    }
