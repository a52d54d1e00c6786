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
from dxkpi.models.design import DesignError, DesignResult, design_from_data
from dxkpi.models.linkage import LinkError, LinkResult, link_all, link_panel

__all__ = ["DESIGN_CANDIDATES", "safe_behaviour", "safe_design", "safe_heterogeneity", "safe_links"]

#: The review's candidate roll-outs: numbers of departments joining next year (those above the
#: number of departments with untrained staff are left out).
DESIGN_CANDIDATES: tuple[int, ...] = (8, 12, 16)


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


def safe_design(
    data: Processed, fiscal_year: int, k: int, candidates: tuple[int, ...] = DESIGN_CANDIDATES
) -> tuple[DesignResult | None, DesignError | BehaviourError | None]:
    """Next year's candidate roll-outs (:func:`dxkpi.models.design.design_from_data`: the phase
    still to roll out, power against the current estimate, cells of at least k staff) and no
    error, or ``(None, error)`` when there is no one left to train or no panel to learn from."""
    try:
        return design_from_data(data, fiscal_year, candidates, min_units=k, clip_counts=True), None
    except (DesignError, BehaviourError) as err:
        return None, err
