"""Matured cohorts for the indicators that wait for an outcome after an event (right censoring).

A proposal submitted last month has not had time to be decided or implemented: a rate over the
proposals of a year that has just ended counts outcomes that have not happened *yet*, and falls
for that reason alone. The KPIs declared with :class:`dxkpi.catalogue.kpis.Awaits` are therefore
measured like with like: an outcome counts only when it came within W days of the event, over the
events at least W days before the as-of date (:attr:`Maturity.matured_through`). A fiscal year
whose last day is after that date has not wholly matured: its value (over the part that has) is
provisional (暫定) and is not graded.

W (:attr:`Maturity.days`) is ``[kpi] maturity_days`` of ``dxkpi.toml`` when set; otherwise the
data's own delays decide it (:func:`default_maturity_days`): the 90th percentile of the observed
delays from event to outcome, rounded up to a whole 30 days (365 days when there is none). The
observed delays are themselves cut short by the as-of date (a slow outcome of a recent event is
not seen yet), which rounding up partly offsets; a city that knows its process sets W itself.

>>> import datetime as dt
>>> m = Maturity("implementation_rate", 180, dt.date(2026, 3, 31), "config", 0)
>>> m.matured_through, m.provisional(2024), m.provisional(2025), m.matured_any(2025)
(datetime.date(2025, 10, 2), False, True, True)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from dxkpi.catalogue.kpis import REGISTRY, awaiting_kpis
from dxkpi.core.fiscal import fy_end, fy_start
from dxkpi.ingest.processed import Processed
from dxkpi.project.config import Config

__all__ = [
    "DEFAULT_QUANTILE",
    "FALLBACK_DAYS",
    "ROUND_DAYS",
    "Maturity",
    "MaturitySource",
    "default_maturity_days",
    "maturity_for",
    "maturity_frame",
    "maturity_windows",
    "resolve_as_of",
]

#: The share of observed delays W must cover when it is derived from the data.
DEFAULT_QUANTILE = 0.9
#: A derived W is rounded up to a multiple of this many days.
ROUND_DAYS = 30
#: W when the data has no outcome to learn from.
FALLBACK_DAYS = 365

MaturitySource = Literal["config", "data", "fallback"]


@dataclass(frozen=True)
class Maturity:
    """The maturity window W of one waiting KPI on one as-of date.

    ``source``: ``config`` (``[kpi] maturity_days``), ``data`` (the 90th percentile of
    ``observed`` delays, rounded up) or ``fallback`` (no delay observed: 365 days).
    """

    kpi: str
    days: int
    as_of: dt.date
    source: MaturitySource
    observed: int

    @property
    def matured_through(self) -> dt.date:
        """The last event date that has had its whole window: as-of date − W."""
        return self.as_of - dt.timedelta(days=self.days)

    def provisional(self, fiscal_year: int) -> bool:
        """Whether some events of the fiscal year have not yet had W days (暫定)."""
        return fy_end(fiscal_year) > self.matured_through

    def matured_any(self, fiscal_year: int) -> bool:
        """Whether at least the first day of the fiscal year has had W days."""
        return fy_start(fiscal_year) <= self.matured_through


def _delays(data: Processed, kpi: str) -> pl.Series:
    spec = REGISTRY[kpi].awaits
    if spec is None:
        raise ValueError(f"{kpi} does not wait for an outcome")
    frame = data.require(spec.dataset)
    return (
        frame.filter(pl.col(spec.outcome).is_not_null())
        .select((pl.col(spec.outcome) - pl.col(spec.event)).dt.total_days().alias("days"))
        .collect()
        .get_column("days")
        .drop_nulls()
    )


def default_maturity_days(data: Processed, kpi: str) -> tuple[int, int]:
    """(W, number of delays observed) derived from the data for one waiting KPI.

    W = the 90th percentile of the observed event → outcome delays, rounded up to a multiple of
    30 days (at least 30); 365 days when no outcome has been observed (then 0 delays).
    """
    delays = _delays(data, kpi)
    if delays.is_empty():
        return FALLBACK_DAYS, 0
    q = delays.quantile(DEFAULT_QUANTILE, interpolation="higher")
    high = float(q) if q is not None else float(FALLBACK_DAYS)
    days = max(ROUND_DAYS, math.ceil(high / ROUND_DAYS) * ROUND_DAYS)
    return int(days), delays.len()


def resolve_as_of(data: Processed, config: Config, as_of: dt.date | None) -> dt.date | None:
    """As-of date: the parameter, else the config's, else the latest date in the data."""
    return as_of or config.fiscal_year.as_of or data.latest_date()


def maturity_for(
    data: Processed, kpi: str, config: Config | None = None, as_of: dt.date | None = None
) -> Maturity:
    """The window of one waiting KPI: W from the configuration, else from the data.

    ``as_of`` as the KPI engine resolves it (:func:`resolve_as_of`); today when the data has no
    date at all.
    """
    cfg = config or Config()
    when = resolve_as_of(data, cfg, as_of) or dt.date.today()
    set_days = cfg.kpi.days(kpi)
    if set_days is not None:
        return Maturity(kpi, set_days, when, "config", 0)
    days, observed = default_maturity_days(data, kpi)
    return Maturity(kpi, days, when, "data" if observed else "fallback", observed)


def maturity_windows(
    data: Processed, config: Config, as_of: dt.date | None = None
) -> dict[str, Maturity]:
    """The window of every waiting KPI whose datasets are present (KPI id → :class:`Maturity`)."""
    out: dict[str, Maturity] = {}
    for kpi in awaiting_kpis():
        if all(getattr(data, d, None) is not None for d in REGISTRY[kpi].datasets):
            out[kpi] = maturity_for(data, kpi, config, as_of)
    return out


def maturity_frame(windows: dict[str, Maturity], fiscal_years: Sequence[int]) -> pl.DataFrame:
    """One row per waiting KPI and fiscal year: kpi, fiscal_year, provisional, maturity_days,
    matured_through (the last event date counted) and as_of."""
    rows = [
        {
            "kpi": m.kpi,
            "fiscal_year": int(y),
            "provisional": m.provisional(int(y)),
            "maturity_days": m.days,
            "matured_through": m.matured_through,
            "as_of": m.as_of,
        }
        for m in windows.values()
        for y in fiscal_years
    ]
    schema = {
        "kpi": pl.String,
        "fiscal_year": pl.Int32,
        "provisional": pl.Boolean,
        "maturity_days": pl.Int32,
        "matured_through": pl.Date,
        "as_of": pl.Date,
    }
    return pl.DataFrame(rows, schema=schema)
