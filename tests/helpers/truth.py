"""The planted truth an estimate should recover, matched to the cells the estimate used."""

from __future__ import annotations

import numpy as np

from dxkpi.core.fiscal import fiscal_month_label
from dxkpi.models.did import AttGtResult

__all__ = ["cell_matched_truth"]


def cell_matched_truth(
    res: AttGtResult, truth_gt: dict[str, dict[str, float]], first_fy: int, lag: int
) -> float:
    """The planted ATT over the post-treatment cells ``res`` estimated, weighted as the simple
    aggregation weighs them (cohort shares). ``truth_gt[cohort month][month]`` is keyed by the
    completion month; a monthly panel built with ``lag`` (1 = treated from the month after,
    0 = from the completion month) has cohort period = completion period + ``lag``."""
    planted = [
        # monthly panel period p (1 = April of first_fy) is month p − 1 after that April
        truth_gt[fiscal_month_label(first_fy, int(g) - lag - 1)][
            fiscal_month_label(first_fy, int(t) - 1)
        ]
        if post
        else 0.0  # pre-treatment cells carry no weight in the simple aggregation
        for g, t, post in res.attgt.select("group", "time", "post").iter_rows()
    ]
    return res.aggregate_values(np.array(planted)).att
