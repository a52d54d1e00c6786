"""The level-3 follow-up survey of the sample city and its planted truth (issue 17 item 3).

Every first completion of a course from the second fiscal year on is surveyed 30, 60 and 90
days later (:data:`~dxkpi.sample.parameters.FOLLOWUP`). A wave is answered only while the
employee is on the staff list of the answer's fiscal year and on or before the data's cut-off.
Each answer agrees (4–5) with 「研修で学んだことを業務で活用している」 with the course's planted
probability (:func:`planted_agree`), drawn independently per wave, so the application rate
(each employee's latest wave per course) estimates it without bias. Drawn from its own random
stream (``SeedSequence([seed, FOLLOWUP_STREAM])``), after every other file is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dxkpi.core.fiscal import fy_start
from dxkpi.sample.parameters import COURSES, FOLLOWUP
from dxkpi.sample.people import City
from dxkpi.sample.values import choose, cutoff_day, day_number, iso_text

__all__ = [
    "BAD_FOLLOWUP_RULE",
    "followup_table",
    "followup_truth",
    "plant_bad_row",
    "planted_agree",
]

#: The rule the one planted bad row of the follow-up survey breaks: an answer outside the scale.
BAD_FOLLOWUP_RULE = "followup_survey.applied.accepted"

_COMPLETED = 2  # index of "completed" in STATUS_SHARE (absent, attended, completed)


def planted_agree() -> np.ndarray:
    """Per course (catalogue order): the planted probability of answering 4–5 on "applied"."""
    by_phase = FOLLOWUP["agree_by_phase"]
    bonus = FOLLOWUP["internal_instructor_bonus"]
    return np.array([by_phase[c[1]] + (bonus if c[4] == "internal" else 0.0) for c in COURSES])


def _fiscal_year_index(days: np.ndarray, fys: tuple[int, ...]) -> np.ndarray:
    starts = np.array([day_number(fy_start(fy)) for fy in fys])
    return np.searchsorted(starts, days, side="right") - 1


def _likert(rng: np.random.Generator, agree: np.ndarray) -> np.ndarray:
    """A 1–5 answer: 4 or 5 where ``agree``, else 1, 2 or 3."""
    high = np.array([4, 5])[choose(rng, FOLLOWUP["agree_answer_share"], len(agree))]
    low = np.array([1, 2, 3])[choose(rng, FOLLOWUP["disagree_answer_share"], len(agree))]
    return np.where(agree, high, low)


def followup_table(
    rng: np.random.Generator, city: City, a: dict[str, np.ndarray], course_ids: list[str]
) -> pl.DataFrame:
    """The follow-up answers as a raw text table (canonical codes), sorted by answer date."""
    n_years = len(city.fys)
    done = (a["status"] == _COMPLETED) & (a["year"] >= FOLLOWUP["first_year_index"])
    emp, course, day = a["emp"][done], a["course"][done], a["day"][done]
    order = np.lexsort((day, course, emp))
    emp, course, day = emp[order], course[order], day[order]
    first = np.ones(len(emp), dtype=bool)
    first[1:] = (emp[1:] != emp[:-1]) | (course[1:] != course[:-1])
    emp, course, day = emp[first], course[first], day[first]
    p_agree = planted_agree()
    cutoff = cutoff_day(city.fys)
    parts = []
    for wave, rate in FOLLOWUP["response_rate_by_wave"].items():
        answered = rng.random(len(emp)) < rate
        when = day + wave + rng.integers(0, 7, len(emp))
        agree = rng.random(len(emp)) < p_agree[course]
        support = rng.random(len(emp)) < FOLLOWUP["manager_support_agree"]
        applied, supported = _likert(rng, agree), _likert(rng, support)
        b_no = list(FOLLOWUP["barrier_share_disagree"])
        b_yes = list(FOLLOWUP["barrier_share_agree"])
        barrier_no = np.array(b_no)[
            choose(rng, list(FOLLOWUP["barrier_share_disagree"].values()), len(emp))
        ]
        barrier_yes = np.array(b_yes)[
            choose(rng, list(FOLLOWUP["barrier_share_agree"].values()), len(emp))
        ]
        year = _fiscal_year_index(when, city.fys)
        on_list = np.zeros(len(emp), dtype=bool)
        inside = (when <= cutoff) & (year < n_years)
        on_list[inside] = city.dept[emp[inside], year[inside]] >= 0
        keep = answered & on_list
        parts.append(
            pl.DataFrame(
                {
                    "employee_id": city.emp_ids[emp[keep]],
                    "course_id": np.asarray(course_ids)[course[keep]],
                    "days_after": str(wave),
                    "responded_on": iso_text(when[keep]),
                    "applied": applied[keep].astype(str),
                    "manager_support": supported[keep].astype(str),
                    "barrier": np.where(agree, barrier_yes, barrier_no)[keep],
                    "_day": when[keep],
                }
            )
        )
    frame = pl.concat(parts).with_columns(
        pl.when(pl.col("barrier") == "").then(None).otherwise(pl.col("barrier")).alias("barrier")
    )
    return frame.sort("_day", "employee_id", "course_id", "days_after").drop("_day")


def followup_truth(course_ids: list[str], table: pl.DataFrame) -> dict[str, Any]:
    """The planted follow-up parameters: the application rate per course (probability of 4–5 on
    "applied" in any wave, so also of each employee's latest wave), the manager-support rate,
    the waves and their response rates, and the number of valid answers written (the file has
    one more row, planted bad: :func:`plant_bad_row`)."""
    return {
        "application_rate_by_course": {
            cid: round(float(p), 4) for cid, p in zip(course_ids, planted_agree(), strict=True)
        },
        "manager_support_rate": FOLLOWUP["manager_support_agree"],
        "response_rate_by_wave": {str(k): v for k, v in FOLLOWUP["response_rate_by_wave"].items()},
        "first_fiscal_year_index": FOLLOWUP["first_year_index"],
        "answers": table.height,
        "rule": "each first completion of a course from the second fiscal year on is surveyed "
        "30/60/90 days later; a wave is answered only while the employee is on the staff list of "
        "the answer's fiscal year and by the data's cut-off; each wave agrees (4–5) with the "
        "course's planted probability independently",
    }


def plant_bad_row(rng: np.random.Generator, table: pl.DataFrame) -> pl.DataFrame:
    """``table`` with a ``_bad`` column and one more row at its end: a 30-day answer copied as a
    90-day one that employee never gave (so its key is new) with "applied" 6, off the 1–5 scale
    (:data:`BAD_FOLLOWUP_RULE`)."""
    keys = set(table.select("employee_id", "course_id", "days_after").iter_rows())
    first = table.filter(pl.col("days_after") == "30")
    for i in rng.permutation(first.height):
        row = first.row(int(i), named=True)
        if (row["employee_id"], row["course_id"], "90") not in keys:
            break
    else:  # never silently plant a duplicate key (or nothing)
        raise ValueError("no 30-day answer without a 90-day one to copy as the planted bad row")
    bad = {**row, "days_after": "90", "applied": "6"}
    frame = table.with_columns(pl.lit(None, pl.String).alias("_bad"))
    extra = pl.DataFrame([{**bad, "_bad": BAD_FOLLOWUP_RULE}], schema=frame.schema)
    return pl.concat([frame, extra])
