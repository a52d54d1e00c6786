"""The planted truth an estimate should recover, matched to the cells the estimate used."""

from __future__ import annotations

import datetime as dt

import numpy as np

from dxkpi.models.did import AttGtResult

__all__ = ["cell_matched_truth", "month_label"]


def month_label(first_fy: int, period: int) -> str:
    """The ``YYYY-MM`` label of monthly panel period ``period`` (1 = April of ``first_fy``).

    >>> month_label(2022, 1), month_label(2022, 12), month_label(2022, 13)
    ('2022-04', '2023-03', '2023-04')
    """
    return str(np.datetime64(dt.date(first_fy, 4, 1), "M") + (period - 1))


def cell_matched_truth(
    res: AttGtResult, truth_gt: dict[str, dict[str, float]], first_fy: int, lag: int
) -> float:
    """The planted ATT over the post-treatment cells ``res`` estimated, weighted as the simple
    aggregation weighs them (cohort shares). ``truth_gt[cohort month][month]`` is keyed by the
    completion month; a monthly panel built with ``lag`` (1 = treated from the month after,
    0 = from the completion month) has cohort period = completion period + ``lag``."""
    planted = [
        truth_gt[month_label(first_fy, int(g) - lag)][month_label(first_fy, int(t))]
        if post
        else 0.0  # pre-treatment cells carry no weight in the simple aggregation
        for g, t, post in res.attgt.select("group", "time", "post").iter_rows()
    ]
    return res.aggregate_values(np.array(planted)).att
