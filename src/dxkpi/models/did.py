"""Group-time average treatment effects for staggered adoption (Callaway & Sant'Anna 2021).

Unconditional parallel trends, no covariates. ATT(g,t) is the change of the mean outcome of
cohort ``g`` (units first treated in period ``g``) between a base period and period ``t``, minus
the same change in a comparison group: never-treated units (``control="never"``) or never-treated
plus not-yet-treated units (``control="notyet"``). The conventions follow R ``did`` 2.x
(``att_gt``/``aggte``/``mboot``) with ``est_method="dr"`` and ``xformla=~1``, which without
covariates reduces to differences of group means:

* base period ``"varying"`` (pre-periods compare ``t`` with ``t-1``; post-periods use the last
  period before ``g - anticipation``) or ``"universal"`` (always that period; the reference cell is
  reported with ATT 0 and no SE);
* cohorts treated in the first period (``g <= first period + anticipation``) are dropped; cohorts
  first treated after the last period (``+ anticipation``) count as never treated; with
  ``control="notyet"`` and no never-treated unit, periods from ``latest g - anticipation`` on are
  dropped and the latest cohort serves only as a comparison group (as R does);
* balanced panels give exactly R's ``panel=TRUE`` results; an unbalanced panel is handled as R's
  ``allow_unbalanced_panel=TRUE`` (each cell a repeated cross-section of the units observed in
  the two periods, influence functions summed per unit). ``balance_panel=True`` instead drops
  units not observed in every period, as R's default does. ``within_units=True`` is a third
  way, not in R: each 2×2 cell keeps the units observed in *both* of its periods and differences
  within them (the ``panel=TRUE`` formula on that cell's balanced sub-panel), so units that
  leave or join — even when leaving depends on the outcome — only change who is in a cell, not
  the comparison of a unit with itself; a unit's contributions to several cells are summed
  (clustered by unit) as for the unbalanced form;
* SEs come from the influence function (population variances within each 2×2 comparison,
  clustered by unit); aggregations add the influence of the estimated cohort shares (R's
  ``wif``); the multiplier bootstrap gives R-style IQR-based SEs and a sup-t critical value for
  simultaneous bands.

Cells whose cohort or comparison group has fewer than ``min_units`` units are left out and listed
in ``result.skipped`` with the reason (R would report them as NA or noise).

Example — 2 cohorts and never-treated units over 4 periods, every effect equal to 2 (plus noise):

>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(0)
>>> rows = []
>>> for u in range(12):
...     g = [0, 3, 4][u % 3]
...     for t in range(1, 5):
...         y = u + 0.5 * t + (2.0 if g and t >= g else 0.0) + rng.normal(0, 0.1)
...         rows.append({"id": u, "year": t, "first": g, "y": y})
>>> res = att_gt(pl.DataFrame(rows), unit="id", time="year", group="first", outcome="y",
...              min_units=2)
>>> post = res.attgt.filter(pl.col("post")).with_columns(pl.col("att", "se").round(2))
>>> post.select("group", "time", "att", "se").rows()
[(3, 3, 2.01, 0.06), (3, 4, 2.01, 0.06), (4, 4, 2.05, 0.03)]
>>> simple = res.aggregate("simple")
>>> round(simple.att, 4), round(simple.se, 4)
(2.0226, 0.043)
>>> res.pretest().df
3
>>> sorted(res.to_json_dict()["aggregations"])
['calendar', 'dynamic', 'group', 'simple']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from dxkpi.core.display import Shown, number
from dxkpi.core.errors import DxkpiError, Where

__all__ = [
    "AggKind",
    "Aggregation",
    "AttGtResult",
    "BasePeriod",
    "BootWeights",
    "Bootstrap",
    "Control",
    "DidError",
    "DidSettings",
    "Pretest",
    "aggte",
    "att_gt",
    "multiplier_bootstrap",
    "pretest",
]

Control = Literal["never", "notyet"]
BasePeriod = Literal["varying", "universal"]
AggKind = Literal["simple", "group", "dynamic", "calendar"]
BootWeights = Literal["rademacher", "mammen"]

# Per group-time cell: treated at t, treated at base, comparison at t, comparison at base.
_Masks = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_CellRow = tuple[float, int, int, float, int, int]  # g, t, base, att, n_treated, n_control
_SkippedCell = tuple[int | float, int, str, int, int]  # g, t, reason, n_treated, n_control

_CONTROL_ALIASES: dict[str, Control] = {
    "never": "never",
    "nevertreated": "never",
    "notyet": "notyet",
    "notyettreated": "notyet",
}
# R did: SEs at or below this are treated as zero (reported as NA).
_SE_TINY = math.sqrt(np.finfo(float).eps) * 10
_IQR_NORMAL = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)


class DidError(DxkpiError):
    """The panel cannot be used for the group-time DiD estimator (column, type, comparison...)."""


@dataclass(frozen=True)
class DidSettings:
    """Estimator settings: comparison group, base period, anticipation and small-sample guard."""

    control: Control = "never"
    base_period: BasePeriod = "varying"
    anticipation: int = 0
    min_units: int = 5
    balance_panel: bool = False
    alpha: float = 0.05
    within_units: bool = False


@dataclass(frozen=True)
class Bootstrap:
    """Multiplier-bootstrap SEs (outcome units) and sup-t critical value for simultaneous bands."""

    se: np.ndarray
    crit_value: float
    draws: int
    weights: BootWeights
    seed: int | None


def _ci_sentence(ci: tuple[float, float]) -> str:
    """Whether the interval excludes zero, in words (no verdict beyond that)."""
    lo, hi = ci
    if lo > 0:
        return "the interval lies above zero"
    if hi < 0:
        return "the interval lies below zero"
    return "the interval includes zero: an effect is not established (which is not 'no effect')"


@dataclass(frozen=True)
class Pretest:
    """Joint Wald test that all pre-treatment ATT(g,t) are zero (R did's parallel-trends p)."""

    stat: float | None
    df: int
    p: float | None

    def __repr__(self) -> str:
        if self.p is None:
            return f"Pretest(not available, df={self.df})"
        verdict = "pre-trends detected" if self.p < 0.05 else "no pre-trend detected at 5%"
        return f"Pretest(chi2={number(self.stat)}, df={self.df}, p={number(self.p, 3)}: {verdict})"


@dataclass(frozen=True, eq=False)
class Aggregation:
    """An aggregate of ATT(g,t) (outcome units) with SE and, except ``simple``, its parts.

    ``by`` has columns ``key`` (cohort, event time or period), ``att``, ``se``, ``ci_lower``,
    ``ci_upper``, ``band_lower``, ``band_upper`` (simultaneous band with ``crit_value``, equal to
    the pointwise interval when no bootstrap was asked for).
    """

    kind: AggKind
    att: float
    se: float | None
    by: pl.DataFrame | None
    crit_value: float
    alpha: float
    influence: np.ndarray = field(repr=False)
    by_influence: np.ndarray | None = field(default=None, repr=False)

    @property
    def ci(self) -> tuple[float, float] | None:
        """Pointwise (1-alpha) confidence interval for the overall value, outcome units."""
        if self.se is None:
            return None
        z = stats.norm.ppf(1 - self.alpha / 2)
        return (self.att - z * self.se, self.att + z * self.se)

    def _shown(self) -> Shown:
        parts = [] if self.by is None else [(f"{self.kind} rows", self.by.height)]
        sentence = "" if self.ci is None else _ci_sentence(self.ci)
        level = f"{100 * (1 - self.alpha):g}%"
        return Shown(f"ATT ({self.kind})", self.att, self.ci, parts, sentence, level)

    def __repr__(self) -> str:
        return f"Aggregation({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()

    def to_json_dict(self) -> dict[str, Any]:
        """The stable JSON shape: ``{"att", "se"}`` plus ``"by"`` rows for non-simple kinds."""
        out: dict[str, Any] = {"att": _num(self.att), "se": _num(self.se)}
        if self.by is not None:
            out["by"] = [
                {"key": _key(r["key"]), "att": _num(r["att"]), "se": _num(r["se"])}
                for r in self.by.iter_rows(named=True)
            ]
        return out


@dataclass(frozen=True, eq=False)
class AttGtResult:
    """Group-time ATTs (outcome units) with unit-level influence functions for inference.

    ``attgt`` columns: group, time, att, se (analytic), n_treated, n_control (units in the cohort
    and comparison group; for unbalanced panels the fewer of the two periods, with
    ``within_units`` those seen in both), event_time (t − g), base (base period), post (g <= t),
    ci_lower, ci_upper (pointwise), and after a bootstrap se_boot, band_lower, band_upper
    (simultaneous band).
    ``skipped``: group, time, reason, n_treated, n_control of cells left out.
    """

    attgt: pl.DataFrame
    skipped: pl.DataFrame
    settings: DidSettings
    n_units: int
    n_dropped_units: int
    balanced: bool
    bootstrap: Bootstrap | None
    influence: np.ndarray = field(repr=False)
    unit_cohort: np.ndarray = field(repr=False)
    periods: np.ndarray = field(repr=False)
    units: np.ndarray | None = field(default=None, repr=False)
    outcomes: np.ndarray | None = field(default=None, repr=False)

    def _shown(self) -> Shown:
        try:
            simple = self.aggregate("simple")
        except DidError:
            return Shown("ATT(g,t)", None, None, [("units", self.n_units)], "no post cell")
        sizes = [("units", self.n_units), ("cells", self.attgt.height)]
        sentence = "" if simple.ci is None else _ci_sentence(simple.ci)
        return Shown("ATT (simple)", simple.att, simple.ci, sizes, sentence)

    def __repr__(self) -> str:
        return f"AttGtResult({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()

    def aggregate(
        self,
        kind: AggKind = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
    ) -> Aggregation:
        """Aggregate ATT(g,t) into one effect (outcome units); see :func:`aggte`."""
        return aggte(self, kind, min_e=min_e, max_e=max_e, balance_e=balance_e)

    def pretest(self) -> Pretest:
        """Wald test that pre-treatment ATT(g,t) are jointly zero; see :func:`pretest`."""
        return pretest(self)

    def to_json_dict(
        self, *, min_e: float = -math.inf, max_e: float = math.inf, balance_e: int | None = None
    ) -> dict[str, Any]:
        """Stable JSON-ready dict: attgt rows, the four aggregations, pretest and n_units.

        SEs are the analytic ones (also after a bootstrap); NaN/undefined values are None; an
        aggregation that cannot be formed (e.g. no post-treatment cell) is None.
        """
        aggs: dict[str, Any] = {}
        for kind in ("simple", "group", "dynamic", "calendar"):
            try:
                aggs[kind] = self.aggregate(
                    kind, min_e=min_e, max_e=max_e, balance_e=balance_e
                ).to_json_dict()
            except DidError:
                aggs[kind] = None
        pt = self.pretest()
        return {
            "attgt": [
                {
                    "group": _key(r["group"]),
                    "time": _key(r["time"]),
                    "att": _num(r["att"]),
                    "se": _num(r["se"]),
                }
                for r in self.attgt.iter_rows(named=True)
            ],
            "aggregations": aggs,
            "pretest": {"stat": _num(pt.stat), "df": pt.df, "p": _num(pt.p)},
            "n_units": self.n_units,
        }


# ---------------------------------------------------------------------------------------------
# input preparation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    units: np.ndarray  # unit ids, sorted
    periods: np.ndarray  # sorted distinct periods (int64)
    cohort: np.ndarray  # per unit: first-treated period, inf = never treated (float64)
    y: np.ndarray  # units × periods (column-major: one period is contiguous), NaN = missing
    balanced: bool
    n_dropped_units: int


def _to_polars(data: Any) -> pl.DataFrame:
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, pl.DataFrame):
        return data
    try:
        return pl.from_pandas(data)
    except (TypeError, ValueError) as err:
        raise DidError("データ形式が不明です。", "data must be a polars or pandas frame.") from err


def _check_columns(df: pl.DataFrame, cols: dict[str, str]) -> None:
    for role, col in cols.items():
        if col not in df.columns:
            raise DidError(
                f"列がありません（{role}）。",
                f"missing column ({role}).",
                where=Where(column=col),
                hint_ja=f"利用できる列: {', '.join(df.columns)}",
                hint_en=f"available columns: {', '.join(df.columns)}",
            )
    for role in ("time", "group", "outcome"):
        col = cols[role]
        if not df.schema[col].is_numeric():
            raise DidError(
                f"数値ではない列です（{role}）。",
                f"column is not numeric ({role}).",
                where=Where(column=col),
                hint_ja="数値の列を指定してください。",
                hint_en="give a numeric column.",
            )


def _integral(values: np.ndarray, col: str) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size and np.any(finite != np.round(finite)):
        raise DidError(
            "期間は整数である必要があります。",
            "periods must be whole numbers.",
            where=Where(column=col),
        )
    return values


def _prepare(
    df: pl.DataFrame, unit: str, time: str, group: str, outcome: str, s: DidSettings
) -> _Panel:
    """Validate and reshape the long frame into a units × periods outcome matrix."""
    _check_columns(df, {"unit": unit, "time": time, "group": group, "outcome": outcome})
    d = df.select(
        pl.col(unit).alias("u"),
        pl.col(time).cast(pl.Float64).alias("t"),
        pl.col(group).cast(pl.Float64).fill_null(0.0).alias("g"),
        pl.col(outcome).cast(pl.Float64).alias("y"),
    ).filter(
        pl.col("u").is_not_null()
        & pl.col("t").is_not_null()
        & pl.col("y").is_not_null()
        & pl.col("y").is_finite()
    )
    if d.height == 0:
        raise DidError(
            "有効な行がありません。",
            "no rows with a unit, period and outcome.",
            where=Where(column=outcome),
        )
    units, u_idx = np.unique(d["u"].to_numpy(), return_inverse=True)
    periods, t_idx = np.unique(_integral(d["t"].to_numpy(), time), return_inverse=True)
    if np.bincount(u_idx * periods.size + t_idx).max() > 1:
        raise DidError(
            "同じ単位・期間の行が重複しています。",
            "a unit has more than one row in the same period.",
            where=Where(column=unit),
        )
    g_raw = _integral(d["g"].to_numpy(), group)
    cohort = np.empty(units.size)
    cohort[u_idx] = g_raw
    if np.any(cohort[u_idx] != g_raw):
        raise DidError(
            "単位ごとに処置開始期が一定ではありません。",
            "the first-treated period varies within a unit.",
            where=Where(column=group),
        )
    mat = np.full((units.size, periods.size), np.nan, order="F")
    mat[u_idx, t_idx] = d["y"].to_numpy()
    # R did's recoding: 0 → never; first treated after the last period (+ anticipation) → never
    cohort = np.where(cohort == 0, np.inf, cohort)
    cohort = np.where(cohort > periods.max() + s.anticipation, np.inf, cohort)
    keep_t = np.ones(periods.size, dtype=bool)
    if not np.isinf(cohort).any():
        if s.control == "never":
            raise DidError(
                "未処置（never-treated）の単位がありません。",
                "there are no never-treated units (group 0 or empty).",
                where=Where(column=group),
                hint_ja="--control notyet を使ってください。",
                hint_en="use control='notyet' (--control notyet).",
            )
        keep_t = periods < cohort.max() - s.anticipation
    seen = ~np.isnan(mat[:, keep_t]).all(axis=1)
    first = periods[keep_t].min() if keep_t.any() else np.inf
    treated_first = seen & np.isfinite(cohort) & (cohort <= first + s.anticipation)
    n_dropped = int(treated_first.sum())
    keep_u = seen & ~treated_first
    if not keep_u.any():
        raise DidError(
            "推定に使える行がありません。", "no usable rows remain.", where=Where(column=group)
        )
    units, cohort = units[keep_u], cohort[keep_u]
    mat = np.asfortranarray(mat[np.ix_(keep_u, keep_t)])
    periods = periods[keep_t]
    observed = ~np.isnan(mat).all(axis=0)
    if not observed.all():  # a period seen only among dropped units
        mat, periods = np.asfortranarray(mat[:, observed]), periods[observed]
    complete = ~np.isnan(mat).any(axis=1)
    if s.balance_panel and not complete.all():
        units, mat, cohort = units[complete], np.asfortranarray(mat[complete]), cohort[complete]
        if units.size == 0:
            raise DidError(
                "全期間で観測された単位がありません。",
                "no unit is observed in every period.",
                where=Where(column=unit),
            )
    return _Panel(
        units=units,
        periods=periods.astype(np.int64),
        cohort=cohort,
        y=mat,
        balanced=bool(complete.all()) or s.balance_panel,
        n_dropped_units=n_dropped,
    )


# ---------------------------------------------------------------------------------------------
# ATT(g,t)
# ---------------------------------------------------------------------------------------------


def _cells(
    periods: np.ndarray, cohorts: np.ndarray, s: DidSettings
) -> Iterator[tuple[float, int, int]]:
    """Yield (g, t index, base index) for every group-time cell, in R did's order."""
    varying = s.base_period == "varying"
    for g in cohorts:
        before = np.flatnonzero(periods + s.anticipation < g)
        base_g = int(before[-1])
        for ti in range(1 if varying else 0, periods.size):
            post = g <= periods[ti]
            b = ti - 1 if (varying and not post) else base_g
            yield float(g), ti, b


def _cell_masks(
    p: _Panel, g: float, ti: int, b: int, s: DidSettings
) -> tuple[_Masks, list[int], int, int]:
    """Treated/comparison units observed at t and at the base period, and the group counts."""
    treated = p.cohort == g
    control = np.isinf(p.cohort)
    if s.control == "notyet":
        threshold = max(p.periods[ti], p.periods[b]) + s.anticipation
        control = control | ((p.cohort > threshold) & ~treated)
    obs_t, obs_b = ~np.isnan(p.y[:, ti]), ~np.isnan(p.y[:, b])
    if s.within_units:  # only units seen in both periods: one within-unit change each
        obs_t = obs_b = obs_t & obs_b
    masks = (treated & obs_t, treated & obs_b, control & obs_t, control & obs_b)
    counts = [int(m.sum()) for m in masks]
    return masks, counts, min(counts[:2]), min(counts[2:])


def _cell_estimate(
    p: _Panel, ti: int, b: int, masks: _Masks, counts: Sequence[int], within: bool = False
) -> tuple[float, np.ndarray]:
    """ATT for one (g,t) cell and its unit-level influence function (n-vector).

    ATT = (treated mean at t − at base) − (comparison mean at t − at base). The influence
    function, scaled as R did's (n/n1)·DRDID one, is n·(y − cell mean)/cell count, signed,
    summed per unit; in a balanced panel (or with ``within``: the units seen in both periods)
    this is n·(Δy − mean Δy)/n_group.
    """
    n = p.units.size
    if p.balanced or within:  # one outcome change per unit: the panel (R panel=TRUE) form
        dy = p.y[:, ti] - p.y[:, b]
        if not p.balanced:  # units outside the cell have NaN changes and weight 0
            dy = np.where(masks[0] | masks[2], dy, 0.0)
        wt = masks[0] / counts[0]
        wc = masks[2] / counts[2]
        # elementwise sums, not BLAS ddot: tiny dots pay thread start-up and contention
        mu_t, mu_c = float((dy * wt).sum()), float((dy * wc).sum())
        return mu_t - mu_c, n * ((dy - mu_t) * wt - (dy - mu_c) * wc)
    inf = np.zeros(n)
    means = []
    for m, col, sign, cnt in zip(masks, (ti, b, ti, b), (1, -1, -1, 1), counts, strict=True):
        vals = p.y[m, col]
        mu = vals.mean()
        means.append(mu)
        inf[m] += sign * n * (vals - mu) / cnt
    return (means[0] - means[1]) - (means[2] - means[3]), inf


def _nan_small(se: np.ndarray) -> np.ndarray:
    out = se.astype(float).copy()
    out[~(out > _SE_TINY)] = np.nan
    return out


def _settings(
    control: str,
    base_period: BasePeriod,
    anticipation: int,
    min_units: int,
    balance_panel: bool,
    alpha: float,
    within_units: bool = False,
) -> DidSettings:
    ctl = _CONTROL_ALIASES.get(control)
    if ctl is None:
        raise DidError("比較群は never か notyet です。", "control must be 'never' or 'notyet'.")
    if base_period not in ("varying", "universal"):
        raise DidError(
            "基準期は varying か universal です。", "base_period must be 'varying' or 'universal'."
        )
    if anticipation < 0 or not 0 < alpha < 1:
        raise DidError(
            "anticipation は 0 以上、alpha は 0〜1 です。",
            "anticipation must be >= 0 and alpha in (0, 1).",
        )
    return DidSettings(
        control=ctl,
        base_period=base_period,
        anticipation=anticipation,
        min_units=min_units,
        balance_panel=balance_panel,
        alpha=alpha,
        within_units=within_units,
    )


def _estimate_cells(
    p: _Panel, cohorts: np.ndarray, s: DidSettings
) -> tuple[list[_CellRow], list[_SkippedCell], list[np.ndarray]]:
    """Rows (g, t, base, att, n_treated, n_control), skipped cells and influence columns."""
    rows: list[_CellRow] = []
    skipped: list[_SkippedCell] = []
    infs: list[np.ndarray] = []
    need = max(s.min_units, 1)
    for g, ti, b in _cells(p.periods, cohorts, s):
        t, base = int(p.periods[ti]), int(p.periods[b])
        masks, counts, n_t, n_c = _cell_masks(p, g, ti, b, s)
        if b == ti:  # universal base: the reference period itself, ATT 0 by construction
            rows.append((g, t, base, 0.0, n_t, n_c))
            infs.append(np.zeros(p.units.size))
            continue
        if min(n_t, n_c) < need:
            who, who_ja = (
                ("treated cohort", "処置群") if n_t < need else ("comparison group", "比較群")
            )
            skipped.append(
                (
                    _key(g),
                    t,
                    f"{who} has fewer than {s.min_units} units (treated "
                    f"{n_t}, comparison {n_c}) / {who_ja}が {s.min_units} 単位未満",
                    n_t,
                    n_c,
                )
            )
            continue
        att, inf = _cell_estimate(p, ti, b, masks, counts, s.within_units)
        rows.append((g, t, base, att, n_t, n_c))
        infs.append(inf)
    return rows, skipped, infs


def att_gt(
    data: Any,
    *,
    unit: str,
    time: str,
    group: str,
    outcome: str,
    control: str = "never",
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    min_units: int = 5,
    balance_panel: bool = False,
    alpha: float = 0.05,
    within_units: bool = False,
    boot_draws: int = 0,
    boot_weights: BootWeights = "rademacher",
    seed: int | None = None,
) -> AttGtResult:
    """Group-time average treatment effects ATT(g,t), in outcome units, with unit-clustered SEs.

    ``data`` is a long polars/pandas frame (one row per unit and period); ``group`` holds the
    first treated period (0 or null = never treated), in the same units as ``time``.
    ``boot_draws > 0`` adds a multiplier bootstrap (``boot_weights``, ``seed``) with
    simultaneous bands. ``within_units=True`` makes every cell a within-unit comparison of the
    units observed in both its periods (see the module docstring). The result keeps the unit
    ids and the units × periods outcome matrix it used (``units``, ``outcomes``; NaN = not
    observed), row-aligned with ``influence``. The input frame is never modified.
    """
    s = _settings(control, base_period, anticipation, min_units, balance_panel, alpha, within_units)
    p = _prepare(_to_polars(data), unit, time, group, outcome, s)
    cohorts = np.unique(p.cohort[np.isfinite(p.cohort)])
    if s.control == "notyet" and not np.isinf(p.cohort).any():
        cohorts = cohorts[:-1]  # the latest cohort is only a comparison group (as R)
    cohorts = cohorts[cohorts > p.periods[0] + s.anticipation]
    if cohorts.size == 0:
        raise DidError(
            "処置群がありません。",
            "no treated cohort with a pre-treatment period.",
            where=Where(column=group),
        )
    rows, skipped, infs = _estimate_cells(p, cohorts, s)
    if not rows:
        raise DidError(
            "推定できるセルがありません（単位数不足）。",
            "no group-time cell has enough units.",
            where=Where(column=group),
            hint_ja="min_units を下げるか比較群を変えてください。",
            hint_en="lower min_units or change the comparison group.",
        )
    influence = np.column_stack(infs)
    influence.flags.writeable = False
    n = p.units.size
    se = _nan_small(np.sqrt((influence**2).sum(axis=0)) / n)
    frame = _attgt_frame(rows, se, alpha)
    boot = None
    if boot_draws > 0:
        boot = multiplier_bootstrap(
            influence, boot_draws, alpha=alpha, weights=boot_weights, seed=seed
        )
        frame = frame.with_columns(
            se_boot=pl.Series(boot.se),
            band_lower=pl.col("att") - boot.crit_value * pl.Series(boot.se),
            band_upper=pl.col("att") + boot.crit_value * pl.Series(boot.se),
        ).with_columns(pl.col("se_boot", "band_lower", "band_upper").fill_nan(None))
    skipped_frame = pl.DataFrame(
        skipped,
        schema={
            "group": pl.Int64,
            "time": pl.Int64,
            "reason": pl.String,
            "n_treated": pl.Int64,
            "n_control": pl.Int64,
        },
        orient="row",
    )
    return AttGtResult(
        attgt=frame,
        skipped=skipped_frame,
        settings=s,
        n_units=n,
        n_dropped_units=p.n_dropped_units,
        balanced=p.balanced,
        bootstrap=boot,
        influence=influence,
        unit_cohort=p.cohort,
        periods=p.periods,
        units=p.units,
        outcomes=p.y,
    )


def _attgt_frame(rows: list[tuple], se: np.ndarray, alpha: float) -> pl.DataFrame:
    z = stats.norm.ppf(1 - alpha / 2)
    g = np.array([r[0] for r in rows])
    t = np.array([r[1] for r in rows])
    att = np.array([r[3] for r in rows], dtype=float)
    return pl.DataFrame(
        {
            "group": g.astype(np.int64),
            "time": t.astype(np.int64),
            "att": att,
            "se": se,
            "n_treated": np.array([r[4] for r in rows], dtype=np.int64),
            "n_control": np.array([r[5] for r in rows], dtype=np.int64),
            "event_time": (t - g).astype(np.int64),
            "base": np.array([r[2] for r in rows], dtype=np.int64),
            "post": g <= t,
            "ci_lower": att - z * se,
            "ci_upper": att + z * se,
        }
    ).with_columns(pl.col("se", "ci_lower", "ci_upper").fill_nan(None))


# ---------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------


def _draw_codes(rng: np.random.Generator, rows: int, n: int, kind: BootWeights) -> np.ndarray:
    """0/1 int8 codes of the multiplier weights (1 = +1 for Rademacher, the high Mammen value)."""
    if kind == "rademacher":
        return rng.integers(0, 2, size=(rows, n), dtype=np.int8)
    if kind == "mammen":
        r5 = math.sqrt(5)
        return (rng.random((rows, n)) >= (r5 + 1) / (2 * r5)).view(np.int8)
    raise DidError(
        "ブートストラップの重みは rademacher か mammen です。",
        "boot_weights must be 'rademacher' or 'mammen'.",
    )


def _weight_values(kind: BootWeights) -> tuple[float, float]:
    if kind == "mammen":
        r5 = math.sqrt(5)
        return (1 - r5) / 2, (1 + r5) / 2
    return -1.0, 1.0


def multiplier_bootstrap(
    influence: np.ndarray,
    draws: int,
    *,
    alpha: float = 0.05,
    weights: BootWeights = "rademacher",
    seed: int | None = None,
    chunk: int = 128,
) -> Bootstrap:
    """Multiplier-bootstrap SEs (outcome units) and sup-t critical value, as R did's ``mboot``.

    ``influence`` is units × estimates. Each draw multiplies the influence functions by i.i.d.
    Rademacher (or Mammen) weights; SEs are the IQR of the draws over the normal IQR; the
    critical value is the (1-alpha) quantile (type 1) of the max |t| across estimates.
    Degenerate columns (zero variance) get SE NaN and are left out of the max.
    """
    if draws < 1:
        raise DidError("ブートストラップ回数は 1 以上です。", "draws must be at least 1.")
    inf = np.asarray(influence, dtype=float)
    if inf.ndim == 1:
        inf = inf[:, None]
    n = inf.shape[0]
    rng = np.random.default_rng(seed)
    low, high = _weight_values(weights)
    col_sum = inf.sum(axis=0)
    bres = np.empty((draws, inf.shape[1]))
    buf = np.empty((min(chunk, draws), n))
    for start in range(0, draws, chunk):
        stop = min(start + chunk, draws)
        codes = _draw_codes(rng, stop - start, n, weights)
        part = buf[: stop - start]
        np.copyto(part, codes, casting="unsafe")
        # w = low + (high - low)·code, so w @ IF = low·colsum + (high - low)·(code @ IF)
        bres[start:stop] = low * col_sum + (high - low) * (part @ inf)
    bres /= math.sqrt(n)  # sqrt(n) * mean(w * IF)
    ok = np.isfinite(bres).all(axis=0) & ((bres**2).sum(axis=0) > _SE_TINY)
    se = np.full(inf.shape[1], np.nan)
    crit = math.nan
    if ok.any():
        b = np.sort(bres[:, ok], axis=0)
        lo, hi = b[math.ceil(0.25 * draws) - 1], b[math.ceil(0.75 * draws) - 1]
        sigma = (hi - lo) / _IQR_NORMAL
        se[ok] = sigma / math.sqrt(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_max = np.nanmax(np.abs(bres[:, ok] / sigma), axis=1)
        t_max = t_max[np.isfinite(t_max)]
        if t_max.size:
            crit = float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))
    return Bootstrap(se=se, crit_value=crit, draws=draws, weights=weights, seed=seed)


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------


def _se(inf: np.ndarray) -> float | None:
    n = inf.shape[0]
    se = math.sqrt(float(np.mean(inf**2)) / n)
    return se if se > _SE_TINY else None


@dataclass(frozen=True)
class _Codes:
    """Cohort of each unit and each cell as small integer codes (never treated = last code)."""

    unit: np.ndarray
    cell: np.ndarray
    size: int

    @staticmethod
    def of(res: AttGtResult, cell_g: np.ndarray) -> _Codes:
        keys = np.unique(res.unit_cohort[np.isfinite(res.unit_cohort)])
        return _Codes(
            unit=np.searchsorted(keys, res.unit_cohort),
            cell=np.searchsorted(keys, cell_g),
            size=keys.size + 1,
        )


def _weight_if(cell_code: np.ndarray, pg: np.ndarray, att: np.ndarray, codes: _Codes) -> np.ndarray:
    """R did's ``wif %*% att``: influence of estimating cohort shares pg, an n-vector.

    wif[i,k] = ((1{G_i = g_k} − pg_k) − pg_k·Σ_j(1{G_i = g_j} − pg_j)/S) / S with S = Σ pg, so
    wif @ att only needs, per cohort, the sum and the count of the selected cells.
    """
    total = pg.sum()
    pa = float((pg * att).sum())
    att_sum = np.bincount(cell_code, weights=att, minlength=codes.size)
    count = np.bincount(cell_code, minlength=codes.size).astype(float)
    a, c = att_sum[codes.unit], count[codes.unit]
    return (a - pa) / total - (c - total) * pa / total**2


def _weighted(
    res: AttGtResult, sel: np.ndarray, att: np.ndarray, pg: np.ndarray, codes: _Codes | None
) -> tuple[float, np.ndarray]:
    """Share-weighted average of the selected cells and its influence function (wif if codes)."""
    w = pg[sel] / pg[sel].sum()
    est = float((att[sel] * w).sum())
    inf = res.influence[:, sel] @ w
    if codes is not None:
        inf = inf + _weight_if(codes.cell[sel], pg[sel], att[sel], codes)
    return est, inf


def _crit(by_inf: np.ndarray, res: AttGtResult, alpha: float) -> float:
    z = float(stats.norm.ppf(1 - alpha / 2))
    if res.bootstrap is None or by_inf.shape[1] < 2:
        return z
    b = res.bootstrap
    crit = multiplier_bootstrap(
        by_inf, b.draws, alpha=alpha, weights=b.weights, seed=b.seed
    ).crit_value
    return crit if np.isfinite(crit) and crit >= z else z


@dataclass(frozen=True, eq=False)
class _Cells:
    """The estimated cells as arrays, with cohort shares pg, for the aggregations."""

    res: AttGtResult
    g: np.ndarray
    t: np.ndarray
    att: np.ndarray
    pg: np.ndarray
    shares: dict[float, float]
    codes: _Codes

    @staticmethod
    def of(res: AttGtResult) -> _Cells:
        g = res.attgt["group"].to_numpy().astype(float)
        shares = {c: float(np.mean(res.unit_cohort == c)) for c in np.unique(g)}
        return _Cells(
            res=res,
            g=g,
            t=res.attgt["time"].to_numpy().astype(float),
            att=res.attgt["att"].to_numpy(),
            pg=np.array([shares[c] for c in g]),
            shares=shares,
            codes=_Codes.of(res, g),
        )

    def weighted(self, sel: np.ndarray, wif: bool = True) -> tuple[float, np.ndarray]:
        return _weighted(self.res, sel, self.att, self.pg, self.codes if wif else None)

    def parts(self, sels: list[np.ndarray], wif: bool = True) -> tuple[np.ndarray, np.ndarray]:
        out = [self.weighted(sel, wif) for sel in sels]
        return np.array([o[0] for o in out]), np.column_stack([o[1] for o in out])


def _no_post() -> DidError:
    return DidError("処置後のセルがありません。", "no post-treatment cell to aggregate.")


def _agg_simple(c: _Cells, max_e: float, alpha: float) -> Aggregation:
    post = (c.g <= c.t) & (c.t <= c.g + max_e)
    if not post.any():
        raise _no_post()
    est, inf = c.weighted(post)
    return Aggregation(
        "simple", est, _se(inf), None, float(stats.norm.ppf(1 - alpha / 2)), alpha, inf
    )


def _agg_group(c: _Cells, max_e: float, alpha: float) -> Aggregation:
    post = (c.g <= c.t) & (c.t <= c.g + max_e)
    keys = np.unique(c.g[post])
    if keys.size == 0:
        raise _no_post()
    att_k, inf_k = c.parts([post & (c.g == k) for k in keys], wif=False)
    pgg = np.array([c.shares[k] for k in keys])
    w = pgg / pgg.sum()
    est = float((att_k * w).sum())
    inf = inf_k @ w + _weight_if(_Codes.of(c.res, keys).cell, pgg, att_k, c.codes)
    return _with_by("group", keys, att_k, inf_k, est, inf, c.res, alpha)


def _agg_dynamic(
    c: _Cells, min_e: float, max_e: float, balance_e: int | None, alpha: float
) -> Aggregation:
    e_all = c.t - c.g
    include = np.ones(c.g.size, dtype=bool)
    eseq = np.unique(e_all)
    if balance_e is not None:
        t_max, t_min = float(c.t.max()), float(c.res.periods.min())
        include = (t_max - c.g) >= balance_e
        eseq = np.unique(e_all[include])
        eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - t_max + t_min)]
    eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
    if eseq.size == 0:
        raise DidError(
            "指定範囲に事象時点がありません。", "no event time within min_e/max_e/balance_e."
        )
    att_k, inf_k = c.parts([(e_all == e) & include for e in eseq])
    pos = eseq >= 0
    if pos.any():
        est, inf = float(att_k[pos].mean()), inf_k[:, pos].mean(axis=1)
    else:
        est, inf = math.nan, np.zeros(inf_k.shape[0])
    return _with_by("dynamic", eseq, att_k, inf_k, est, inf, c.res, alpha)


def _agg_calendar(c: _Cells, alpha: float) -> Aggregation:
    times = np.array(
        [x for x in np.unique(c.t[c.t >= c.g.min()]) if np.any((c.t == x) & (c.g <= c.t))]
    )
    if times.size == 0:
        raise _no_post()
    att_k, inf_k = c.parts([(c.t == x) & (c.g <= c.t) for x in times])
    return _with_by(
        "calendar", times, att_k, inf_k, float(att_k.mean()), inf_k.mean(axis=1), c.res, alpha
    )


def aggte(
    res: AttGtResult,
    kind: AggKind = "simple",
    *,
    min_e: float = -math.inf,
    max_e: float = math.inf,
    balance_e: int | None = None,
) -> Aggregation:
    """Aggregate ATT(g,t) (outcome units) as R did's ``aggte``.

    ``simple``: post-treatment cells weighted by cohort size; ``group``: mean over each cohort's
    post periods, then cohorts weighted by size; ``dynamic``: by event time e = t - g (``min_e``,
    ``max_e``; ``balance_e`` keeps cohorts observed at least ``balance_e`` periods after
    treatment), overall = mean over e >= 0; ``calendar``: by period, overall = mean over periods.
    ``max_e`` also limits ``simple`` and ``group``, as in R. Skipped cells are left out (R's
    ``na.rm=TRUE``).
    """
    alpha = res.settings.alpha
    if kind == "simple":
        return _agg_simple(_Cells.of(res), max_e, alpha)
    if kind == "group":
        return _agg_group(_Cells.of(res), max_e, alpha)
    if kind == "dynamic":
        return _agg_dynamic(_Cells.of(res), min_e, max_e, balance_e, alpha)
    if kind == "calendar":
        return _agg_calendar(_Cells.of(res), alpha)
    raise DidError(
        "集計の種類が不明です。", "kind must be 'simple', 'group', 'dynamic' or 'calendar'."
    )


def _with_by(
    kind: AggKind,
    keys: np.ndarray,
    att_k: np.ndarray,
    inf_k: np.ndarray,
    est: float,
    inf: np.ndarray,
    res: AttGtResult,
    alpha: float,
) -> Aggregation:
    se_k = np.array([_se(inf_k[:, j]) or np.nan for j in range(keys.size)])
    crit = _crit(inf_k, res, alpha)
    z = stats.norm.ppf(1 - alpha / 2)
    by = pl.DataFrame(
        {
            "key": keys.astype(np.int64),
            "att": att_k,
            "se": se_k,
            "ci_lower": att_k - z * se_k,
            "ci_upper": att_k + z * se_k,
            "band_lower": att_k - crit * se_k,
            "band_upper": att_k + crit * se_k,
        }
    ).with_columns(pl.col("se", "ci_lower", "ci_upper", "band_lower", "band_upper").fill_nan(None))
    return Aggregation(kind, est, _se(inf), by, crit, alpha, inf, inf_k)


# ---------------------------------------------------------------------------------------------
# pretest
# ---------------------------------------------------------------------------------------------


def pretest(res: AttGtResult) -> Pretest:
    """Wald statistic, df and chi-square p for H0: all pre-treatment ATT(g,t) = 0.

    Uses the influence-function covariance of the pre-treatment cells (g > t) with a positive
    SE, as R did's ``att_gt`` ("P-value for pre-test of parallel trends assumption"; R rounds
    the p-value to 5 digits, this does not). As in R, with anticipation the cells
    g − anticipation <= t < g are included (csdid leaves them out). Returns ``stat=None``
    when there is no usable pre-period or the covariance is singular.
    """
    f = res.attgt
    pre = np.flatnonzero((f["group"] > f["time"]).to_numpy() & f["se"].is_not_null().to_numpy())
    if pre.size == 0:
        return Pretest(stat=None, df=0, p=None)
    n = res.n_units
    att = f["att"].to_numpy()[pre]
    inf = res.influence[:, pre]
    cov = inf.T @ inf / n**2
    if 1.0 / np.linalg.cond(cov, p=1) <= np.finfo(float).eps:
        return Pretest(stat=None, df=int(pre.size), p=None)
    stat = float(att @ np.linalg.solve(cov, att))
    return Pretest(stat=stat, df=int(pre.size), p=float(stats.chi2.sf(stat, pre.size)))


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _key(x: Any) -> int | float:
    x = float(x)
    return int(x) if x.is_integer() else x
