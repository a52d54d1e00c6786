"""The models the review runs, with the errors that mean "not yet" caught and returned.

In the first years the data cannot support every model (too few trained staff, too few years
of the department panel). These wrappers return the estimate, or nothing with the model's own
error, so the report can say why instead of failing; the words are the report's.
"""

from __future__ import annotations

from dxkpi.ingest.processed import Processed
from dxkpi.models.behaviour import (
    BehaviourError,
    BehaviourResult,
    GroupBy,
    HeterogeneityResult,
    behaviour_change,
    heterogeneity,
)
from dxkpi.models.linkage import LinkError, LinkResult, link_all, link_panel

__all__ = ["safe_behaviour", "safe_heterogeneity", "safe_links"]


def safe_behaviour(data: Processed, k: int) -> tuple[BehaviourResult | None, BehaviourError | None]:
    """The behaviour-change estimate (phase-2 completion, monthly, not-yet-trained comparison)
    and no error, or ``(None, error)`` when the data cannot support it (e.g. the first year)."""
    try:
        return behaviour_change(
            data, period="month", treatment="phase2", control="notyet", min_units=k
        ), None
    except BehaviourError as err:
        return None, err


def safe_heterogeneity(
    data: Processed, by: GroupBy, k: int, overall: BehaviourResult | None = None
) -> HeterogeneityResult | None:
    """The behaviour change by talent type or job level (groups need ≥ max(30, k) trained staff
    and ≥ k staff; smaller groups are in ``left_out`` with their reason, a group below k with no
    sizes), or ``None`` when the panel cannot be built. ``overall``: the result of
    :func:`safe_behaviour` with the same ``k``, so that it is not estimated again."""
    try:
        return heterogeneity(
            data, by=by, min_treated=max(30, k), min_units=k, min_cell=k, overall=overall
        )
    except BehaviourError:
        return None


def safe_links(data: Processed) -> tuple[list[LinkResult], LinkError | None]:
    """KPI→KGI department-panel links (empty when there is no pair of years yet) and no error,
    or ``([], error)`` when the panel cannot be built or fitted."""
    try:
        links, _failed = link_all(link_panel(data))
    except LinkError as err:
        return [], err
    return links, None
