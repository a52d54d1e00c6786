"""The behaviour-change DiD pooled over the cities of a city-partitioned store.

Each city's employee × period panel is built by :func:`dxkpi.models.behaviour.proposal_panel`
on its own partition (its own calendar: period 1 is the first month/quarter/year of its first
fiscal year on the staff list, so cohorts — first treated periods — pool across cities that
share their first fiscal year, which :func:`pooled_panel` requires). Employee pseudonyms are keyed
per city, so unit ids are made unique across cities by the city code (``<code>:<pseudonym>``),
and a ``city`` column carries the municipality. :func:`pooled_att_gt` runs
:func:`dxkpi.models.did.att_gt` on the concatenated panel with inference clustered by city
(influence functions summed within cities, t critical values with G − 1 df, a wild cluster
bootstrap when ``boot_draws`` is given: see :mod:`dxkpi.models.did`). With few cities the
intervals are wide, honestly so; cells whose treated cohort or comparison group lies in one
city have no city-level variance and are left out (reason ``one_cluster``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.core.errors import Where
from dxkpi.ingest.processed import city_codes, load_partitioned
from dxkpi.models.behaviour import (
    BehaviourError,
    Outcome,
    Period,
    Treatment,
    proposal_panel,
)
from dxkpi.models.did import AttGtResult, att_gt

__all__ = ["CITY", "pooled_att_gt", "pooled_panel"]

#: The cluster column of the pooled panel.
CITY = "city"


def pooled_panel(
    store: str | Path,
    *,
    period: Period = "month",
    treatment: Treatment = "phase2",
    outcome: Outcome = "submitted",
) -> pl.DataFrame:
    """Every city's proposal panel, concatenated, with ``city`` and city-prefixed unit ids."""
    parts = []
    for code in city_codes(store):
        data = load_partitioned(store, code)
        panel = proposal_panel(data, period=period, treatment=treatment, outcome=outcome)
        parts.append((code, data.fiscal_years()[0], panel))
    firsts = {first for _, first, _ in parts}
    if len(firsts) > 1:
        raise BehaviourError(
            "市町村ごとの最初の年度が異なるため、期間を揃えて併合できません: "
            + ", ".join(f"{c}={f}" for c, f, _ in parts),
            "the cities' first fiscal years differ, so their periods do not align: "
            + ", ".join(f"{c}={f}" for c, f, _ in parts),
            where=Where(file=str(store)),
            hint_ja="同じ年度からの職員名簿をそろえて取り込んでください。",
            hint_en="ingest staff lists from the same first fiscal year for every city.",
        )
    return pl.concat(
        [
            p.with_columns(
                (pl.lit(f"{code}:") + pl.col("unit")).alias("unit"), pl.lit(code).alias(CITY)
            )
            for code, _, p in parts
        ],
        how="vertical",
    )


def pooled_att_gt(
    panel: pl.DataFrame,
    *,
    control: str = "notyet",
    min_units: int = 10,
    boot_draws: int = 0,
    seed: int | None = None,
    **options: Any,
) -> AttGtResult:
    """ATT(g,t) on a pooled panel (:func:`pooled_panel`) with city-clustered inference."""
    return att_gt(
        panel,
        unit="unit",
        time="period",
        group="first_treated",
        outcome="proposals",
        control=control,
        min_units=min_units,
        boot_draws=boot_draws,
        seed=seed,
        cluster=CITY,
        **options,
    )
