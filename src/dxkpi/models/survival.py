"""Time to implementation: Kaplan–Meier curves by fiscal year of submission (right censoring).

The population is the one of the implementation rate
(:func:`dxkpi.kpi.measures.implementation_rate`): adopted proposals (status adopted or
implemented) of staff on the list of the year they were submitted. The time is days from
submission to implementation; a proposal not implemented by the as-of date is censored there,
after ``as_of − submitted_on`` days. The curve is the share implemented by day d, 1 − S(d), from
statsmodels' :class:`SurvfuncRight` (Kaplan–Meier, Greenwood standard errors): unlike a rate of
proposals of a year that has just ended, it does not fall for a recent year merely because its
proposals have not had time — that year's curve simply stops earlier.

Some adopted proposals are never implemented, so the curve levels off below 1 and its median
(the day half the adopted proposals are implemented) says nothing about how long implementation
takes when it happens. :attr:`ImplementationCurves.cohorts` therefore also gives
``median_days_implemented``: the day the curve reaches half its level at the end of follow-up,
shown only for a cohort every proposal of which has been followed longer than any implementation
in the data took (then the level is final). A recent cohort's proposals were adopted sooner than
those still undecided, so its early curve can run slightly fast; read it against the matured
years.

A cohort whose proposers are fewer than the minimum cell size is suppressed (no curve, no
figures), as in every other chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from statsmodels.duration.survfunc import SurvfuncRight

from dxkpi.core.fiscal import fiscal_year_of, fy_end
from dxkpi.ingest.processed import Processed
from dxkpi.kpi._frames import members
from dxkpi.kpi.maturity import Maturity, maturity_for
from dxkpi.kpi.measures import Z95
from dxkpi.project.config import Config

__all__ = [
    "COHORT_COLUMNS",
    "CURVE_COLUMNS",
    "ImplementationCurves",
    "implementation_curves",
    "implementation_times",
]


CURVE_COLUMNS: dict[str, pl.DataType] = {
    "fiscal_year": pl.Int32(),
    "days": pl.Float64(),
    "share_implemented": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "at_risk": pl.Int64(),
}
COHORT_COLUMNS: dict[str, pl.DataType] = {
    "fiscal_year": pl.Int32(),
    "adopted": pl.Int64(),
    "implemented": pl.Int64(),
    "proposers": pl.Int64(),
    "suppressed": pl.Boolean(),
    "provisional": pl.Boolean(),
    "follow_up_days": pl.Int64(),
    "share_within_w": pl.Float64(),
    "share_within_w_low": pl.Float64(),
    "share_within_w_high": pl.Float64(),
    "km_median_days": pl.Float64(),
    "median_days_implemented": pl.Float64(),
}


@dataclass(frozen=True)
class ImplementationCurves:
    """Kaplan–Meier time-to-implementation by fiscal year of submission.

    ``curves``: one row per cohort and event time (:data:`CURVE_COLUMNS`; suppressed cohorts
    have none), starting at day 0 with share 0. ``cohorts``: one row per fiscal year
    (:data:`COHORT_COLUMNS`): adopted proposals, implemented ones, distinct proposers,
    suppressed, provisional (not every proposal has had W days), the shortest follow-up, the
    share implemented within W days with its 95% interval (Kaplan–Meier, so also for a
    provisional year once some of its proposals have been followed W days), the Kaplan–Meier
    median (None when the curve never reaches one half) and the median among implemented
    proposals (see the module's doc). ``maturity``: W and the as-of date.
    """

    curves: pl.DataFrame
    cohorts: pl.DataFrame
    maturity: Maturity
    min_cell_size: int

    @property
    def as_of(self) -> dt.date:
        """The as-of date the proposals are censored at."""
        return self.maturity.as_of


def implementation_times(data: Processed, as_of: dt.date) -> pl.DataFrame:
    """Adopted proposals with their follow-up: fiscal_year, employee_id, days, implemented.

    ``days`` = implementation date − submission date for implemented proposals (implemented on
    or before ``as_of``), else ``as_of`` − submission date (censored).
    """
    props = data.require("proposals").filter(
        pl.col("status").is_in(["adopted", "implemented"]), pl.col("submitted_on") <= as_of
    )
    done = (pl.col("status") == "implemented") & (pl.col("implemented_on") <= as_of)
    end = pl.when(done).then(pl.col("implemented_on")).otherwise(pl.lit(as_of, pl.Date))
    years = props.select("employee_id", "submitted_on").collect()
    fys = sorted({int(y) for y in years.select(fiscal_year_of(pl.col("submitted_on")))[:, 0]})
    return (
        props.select(
            fiscal_year_of(pl.col("submitted_on")).alias("fiscal_year"),
            "employee_id",
            (end - pl.col("submitted_on")).dt.total_days().cast(pl.Float64).alias("days"),
            done.alias("implemented"),
        )
        .join(
            members(data, fys).select("fiscal_year", "employee_id"),
            on=["fiscal_year", "employee_id"],
            how="semi",
        )
        .collect()
    )


def _share_at(times: np.ndarray, share: np.ndarray, day: float) -> float:
    """1 − S(day) of a step curve with steps at ``times`` (0 before the first)."""
    i = int(np.searchsorted(times, day, side="right")) - 1
    return float(share[i]) if i >= 0 else 0.0


def _first_reaching(times: np.ndarray, share: np.ndarray, level: float) -> float | None:
    hit = np.nonzero(share >= level - 1e-12)[0]
    return float(times[hit[0]]) if len(hit) else None


def implementation_curves(
    data: Processed,
    config: Config | None = None,
    *,
    as_of: dt.date | None = None,
    fiscal_years: Sequence[int] | None = None,
    min_cell_size: int | None = None,
) -> ImplementationCurves:
    """Kaplan–Meier time-to-implementation curves per fiscal year of submission.

    ``as_of`` and W as the KPI engine resolves them (configuration, else the data:
    :func:`dxkpi.kpi.maturity.maturity_for`); ``min_cell_size`` default: the configuration's k.
    """
    cfg = config or Config()
    k = cfg.privacy.min_cell_size if min_cell_size is None else min_cell_size
    maturity = maturity_for(data, "implementation_rate", cfg, as_of)
    times = implementation_times(data, maturity.as_of)
    years = sorted(
        {int(y) for y in (fiscal_years or times.get_column("fiscal_year").unique().to_list())}
    )
    longest = times.filter(pl.col("implemented")).get_column("days").max()
    longest_delay = float(longest) if isinstance(longest, int | float) else None
    curves: list[pl.DataFrame] = []
    cohorts: list[dict[str, object]] = []
    for year in years:
        part = times.filter(pl.col("fiscal_year") == year)
        proposers = part.get_column("employee_id").n_unique()
        follow_up = max(0, (maturity.as_of - fy_end(year)).days)
        row: dict[str, object] = {
            "fiscal_year": year,
            "adopted": part.height,
            "implemented": int(part.get_column("implemented").sum()),
            "proposers": proposers,
            "suppressed": proposers < k,
            "provisional": maturity.provisional(year),
            "follow_up_days": follow_up,
        }
        blank = dict.fromkeys(
            (
                "share_within_w",
                "share_within_w_low",
                "share_within_w_high",
                "km_median_days",
                "median_days_implemented",
            )
        )
        if proposers < k or part.height == 0:
            cohorts.append(row | blank)
            continue
        fit = SurvfuncRight(
            part.get_column("days").to_numpy(),
            part.get_column("implemented").cast(pl.Int8).to_numpy(),
        )
        t = np.concatenate([[0.0], np.asarray(fit.surv_times, dtype=float)])
        share = np.concatenate([[0.0], 1.0 - np.asarray(fit.surv_prob, dtype=float)])
        se = np.concatenate([[0.0], np.asarray(fit.surv_prob_se, dtype=float)])
        at_risk = np.concatenate([[part.height], np.asarray(fit.n_risk, dtype=np.int64)])
        low, high = np.clip(share - Z95 * se, 0, 1), np.clip(share + Z95 * se, 0, 1)
        curves.append(
            pl.DataFrame(
                {
                    "fiscal_year": [year] * len(t),
                    "days": t,
                    "share_implemented": share,
                    "ci_low": low,
                    "ci_high": high,
                    "at_risk": at_risk,
                },
                schema=CURVE_COLUMNS,
            )
        )
        w = float(maturity.days)
        followed = bool((part.get_column("days") >= w).any())
        plateau = longest_delay is not None and follow_up >= longest_delay
        level = float(share[-1])
        row |= {
            "share_within_w": _share_at(t, share, w) if followed else None,
            "share_within_w_low": _share_at(t, low, w) if followed else None,
            "share_within_w_high": _share_at(t, high, w) if followed else None,
            "km_median_days": _first_reaching(t, share, 0.5),
            "median_days_implemented": (
                _first_reaching(t, share, level / 2) if plateau and level > 0 else None
            ),
        }
        cohorts.append(row)
    curve_frame = (
        pl.concat(curves, how="vertical") if curves else pl.DataFrame(schema=CURVE_COLUMNS)
    )
    return ImplementationCurves(
        curves=curve_frame,
        cohorts=pl.DataFrame(cohorts, schema=COHORT_COLUMNS),
        maturity=maturity,
        min_cell_size=k,
    )
