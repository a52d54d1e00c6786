"""Why the two-way fixed-effects contrast differs: the Goodman-Bacon (2021) decomposition.

On a balanced panel with staggered adoption the TWFE coefficient on the treated-and-post dummy
(:func:`dxkpi.models.contrasts.twfe`) is a weighted average of every 2×2 DiD between two
timing groups, with weights that are positive and sum to 1 (Goodman-Bacon 2021, Theorem 1):

* ``treated_vs_never``: a cohort against the never-treated units, over the whole panel;
* ``earlier_vs_later``: an earlier cohort against a later one before the later one is treated;
* ``later_vs_earlier``: a later cohort against an earlier one *after* the earlier one is treated
  — the "forbidden" comparison: already-treated units serve as controls, so when effects grow
  over time their growth is subtracted from the later cohort's effect.

Units treated in or before the first period have no untreated period; as in Goodman-Bacon's
footnote 11 and diff-diff they join the untreated group (their dummy is constant, so TWFE
treats them like never-treated units). Weights use the group shares n and the treated shares of
periods D̄ (Goodman-Bacon's eq. 10e–g); Σ w·β reproduces the TWFE coefficient to rounding.
An unbalanced panel is refused unless ``balance=True`` keeps the units observed in every
period (the decomposition holds only on a balanced panel).

>>> import polars as pl
>>> rows = [{"id": u, "t": t, "g": [0, 2, 3][u % 3],
...          "y": float(u + t + (t >= [9, 2, 3][u % 3]) * t)}
...         for u in range(6) for t in range(1, 5)]
>>> res = bacon(pl.DataFrame(rows), unit="id", time="t", group="g", outcome="y")
>>> round(res.estimate, 6), round(res.comparisons["weight"].sum(), 6)
(2.9, 1.0)
>>> round(res.forbidden_share, 4)
0.2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from dxkpi.core.display import Shown
from dxkpi.core.errors import DxkpiError, Where
from dxkpi.models.did import _check_columns, _to_polars

__all__ = ["COMPARISON_TYPES", "BaconError", "BaconResult", "ComparisonType", "bacon"]

ComparisonType = Literal["treated_vs_never", "earlier_vs_later", "later_vs_earlier"]
#: The three kinds of 2×2 comparison, in display order.
COMPARISON_TYPES: tuple[ComparisonType, ...] = (
    "treated_vs_never",
    "earlier_vs_later",
    "later_vs_earlier",
)


class BaconError(DxkpiError):
    """The panel cannot be decomposed (unbalanced, no variation in treatment, ...)."""


@dataclass(frozen=True, eq=False)
class BaconResult:
    """Every 2×2 comparison of the TWFE coefficient with its estimate and weight.

    ``comparisons``: type, treated (cohort), control (cohort; ``None`` for the untreated
    group), estimate (outcome units), weight (sums to 1). ``estimate``: Σ weight·estimate, the
    TWFE coefficient. ``forbidden_share``: the weight of ``later_vs_earlier`` comparisons.
    ``n_units``, ``n_periods``: the balanced panel used; ``dropped_units``: units left out to
    balance it; ``always_treated``: units treated in or before the first period (counted as
    untreated).
    """

    comparisons: pl.DataFrame
    estimate: float
    n_units: int
    n_periods: int
    dropped_units: int = 0
    always_treated: int = 0

    @property
    def forbidden_share(self) -> float:
        """Share of the TWFE weight on already-treated units used as controls (0–1)."""
        return self.weight_by_type()["later_vs_earlier"]

    def weight_by_type(self) -> dict[str, float]:
        """Total weight of each comparison type."""
        c = self.comparisons
        return {k: float(c.filter(pl.col("type") == k)["weight"].sum()) for k in COMPARISON_TYPES}

    def effect_by_type(self) -> dict[str, float | None]:
        """Weighted mean estimate of each comparison type (None when it has no weight)."""
        out: dict[str, float | None] = {}
        for k in COMPARISON_TYPES:
            part = self.comparisons.filter(pl.col("type") == k)
            w = float(part["weight"].sum())
            out[k] = float((part["weight"] * part["estimate"]).sum()) / w if w > 0 else None
        return out

    def _shown(self) -> Shown:
        sizes = [("units", self.n_units), ("periods", self.n_periods)]
        line = (
            f"{self.comparisons.height} 2×2 comparisons; already-treated controls "
            f"{100 * self.forbidden_share:.1f}% of the weight"
        )
        return Shown("TWFE (Bacon decomposition)", self.estimate, None, sizes, line)

    def __repr__(self) -> str:
        return f"BaconResult({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()

    def to_json_dict(self) -> dict[str, Any]:
        """The stable JSON shape: the TWFE estimate, weights by type, every comparison."""
        return {
            "estimate": self.estimate,
            "forbidden_share": self.forbidden_share,
            "weight_by_type": self.weight_by_type(),
            "effect_by_type": self.effect_by_type(),
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "dropped_units": self.dropped_units,
            "always_treated": self.always_treated,
            "comparisons": self.comparisons.to_dicts(),
        }


def _balanced(
    data: Any, unit: str, time: str, group: str, outcome: str, balance: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(units × periods outcomes, periods, first-treated period per unit, units dropped)."""
    df = _to_polars(data)
    _check_columns(df, {"unit": unit, "time": time, "group": group, "outcome": outcome})
    d = df.select(
        pl.col(unit).alias("u"),
        pl.col(time).cast(pl.Float64).alias("t"),
        pl.col(group).cast(pl.Float64).fill_null(0.0).alias("g"),
        pl.col(outcome).cast(pl.Float64).alias("y"),
    ).filter(pl.col("u").is_not_null() & pl.col("t").is_not_null())
    units, ui = np.unique(d["u"].to_numpy(), return_inverse=True)
    periods, ti = np.unique(d["t"].to_numpy(), return_inverse=True)
    if np.bincount(ui * periods.size + ti).max() > 1:
        raise BaconError(
            "同じ単位・期間の行が重複しています。",
            "a unit has more than one row in the same period.",
            where=Where(column=unit),
        )
    y = np.full((units.size, periods.size), np.nan)
    y[ui, ti] = d["y"].to_numpy()
    g = np.zeros(units.size)
    g[ui] = d["g"].to_numpy()
    complete = np.isfinite(y).all(axis=1)
    dropped = int((~complete).sum())
    if dropped and not balance:
        raise BaconError(
            f"パネルが不揃いです（{dropped} 単位に欠けた期間があります）。",
            f"the panel is unbalanced ({dropped} units miss a period or an outcome); the "
            "decomposition holds only on a balanced panel.",
            hint_ja="balance=True（CLI: --bacon-balance）で全期間に観測された単位だけを使えます。",
            hint_en="balance=True (--bacon-balance) keeps the units observed in every period.",
        )
    return y[complete], periods, g[complete], dropped


def _two_by_two(
    y: np.ndarray, treated: np.ndarray, control: np.ndarray, pre: np.ndarray, post: np.ndarray
) -> float:
    """(treated post − pre mean) − (control post − pre mean), over the given periods."""

    def change(rows: np.ndarray) -> float:
        block = y[rows]
        return float(block[:, post].mean() - block[:, pre].mean())

    return change(treated) - change(control)


def bacon(
    data: Any,
    *,
    unit: str,
    time: str,
    group: str,
    outcome: str,
    balance: bool = False,
) -> BaconResult:
    """The Goodman-Bacon decomposition of the TWFE coefficient (outcome units).

    ``data``: a long frame as for :func:`dxkpi.models.did.att_gt` (``group`` = first treated
    period, 0 or null = never). ``balance``: drop units not observed in every period instead
    of refusing an unbalanced panel. The input frame is never modified.
    """
    y, periods, g, dropped = _balanced(data, unit, time, group, outcome, balance)
    n_t = periods.size
    treated_any = (g > 0) & (g <= periods[-1])
    always = treated_any & (g <= periods[0])
    # start index of treatment; untreated (never, after the panel, always) = no cohort
    cohorts = np.unique(g[treated_any & ~always])
    untreated = ~treated_any | always
    if cohorts.size == 0 or y.shape[0] == 0:
        raise BaconError(
            "処置の時期が変化する単位がありません。",
            "no unit starts treatment within the panel: the TWFE coefficient is not defined.",
            where=Where(column=group),
        )
    n = y.shape[0]
    groups: list[tuple[float | None, np.ndarray, float]] = []  # (cohort, rows, D̄)
    for c in cohorts:
        groups.append((float(c), g == c, float((periods >= c).mean())))
    if untreated.any():
        groups.append((None, untreated, 0.0))
    rows: list[dict[str, Any]] = []
    for i, (ck, rk, dk) in enumerate(groups):
        for cl, rl, dl in groups[i + 1 :]:
            nk, nl = rk.sum() / n, rl.sum() / n
            nkl = nk / (nk + nl)
            share = nkl * (1 - nkl)
            before_l = periods < cl if cl is not None else np.ones(n_t, dtype=bool)
            assert ck is not None  # cohorts come first; the untreated group is last
            # earlier (k) treated, later (l) not yet: periods before l's start
            w_k = ((nk + nl) * (1 - dl)) ** 2 * share * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl)
            est_k = _two_by_two(y, rk, rl, before_l & (periods < ck), before_l & (periods >= ck))
            kind: ComparisonType = "treated_vs_never" if cl is None else "earlier_vs_later"
            rows.append(_row(kind, ck, cl, est_k, w_k))
            if cl is not None:  # later (l) treated, earlier (k) already treated
                w_l = ((nk + nl) * dk) ** 2 * share * (dl / dk) * (dk - dl) / dk
                after_k = periods >= ck
                est_l = _two_by_two(y, rl, rk, after_k & (periods < cl), after_k & (periods >= cl))
                rows.append(_row("later_vs_earlier", cl, ck, est_l, w_l))
    frame = pl.DataFrame(
        rows,
        schema={
            "type": pl.String,
            "treated": pl.Float64,
            "control": pl.Float64,
            "estimate": pl.Float64,
            "weight": pl.Float64,
        },
        orient="row",
    ).filter(pl.col("weight") > 0)
    frame = frame.with_columns(pl.col("weight") / pl.col("weight").sum())
    est = float((frame["weight"] * frame["estimate"]).sum())
    return BaconResult(
        comparisons=frame,
        estimate=est,
        n_units=n,
        n_periods=int(n_t),
        dropped_units=dropped,
        always_treated=int(always.sum()),
    )


def _row(
    kind: ComparisonType, treated: float, control: float | None, est: float, weight: float
) -> dict[str, Any]:
    return {
        "type": kind,
        "treated": treated,
        "control": control,
        "estimate": est,
        "weight": weight if math.isfinite(weight) else 0.0,
    }
