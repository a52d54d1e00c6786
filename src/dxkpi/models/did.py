"""Group-time average treatment effects for staggered adoption (Callaway & Sant'Anna 2021).

ATT(g,t) is the change of the mean outcome of cohort ``g`` (units first treated in period
``g``) between a base period and period ``t``, minus the same change in a comparison group:
never-treated units (``control="never"``) or never-treated plus not-yet-treated units
(``control="notyet"``). Without covariates (unconditional parallel trends) this is a difference
of group means; the conventions follow R ``did`` 2.x (``att_gt``/``aggte``/``mboot``) with
``est_method="dr"`` and ``xformla=~1``:

* base period ``"varying"`` (pre-periods compare ``t`` with ``t-1``; post-periods use the last
  period before ``g - anticipation``) or ``"universal"`` (always that period; the reference cell is
  reported with ATT 0 and no SE);
* cohorts treated in the first period (``g <= first period + anticipation``) are dropped; cohorts
  first treated after the last period (``+ anticipation``) count as never treated; with
  ``control="notyet"`` and no never-treated unit, periods from ``latest g - anticipation`` on are
  dropped and the latest cohort serves only as a comparison group (as R does);
* panels with entry and exit (``panel``), never switched silently (``result.panel`` and
  ``result.estimator`` say which ran): ``"within"`` (the default) makes each 2×2 cell keep the units
  observed in *both* of its periods and difference within them (the ``panel=TRUE`` formula on
  that cell's balanced sub-panel, not in R), so units that leave or join — even when leaving
  depends on the outcome level — only change who is in a cell, not the comparison of a unit with
  itself; ``"balanced"`` keeps only units observed in every period used (R's default);
  ``"unbalanced"`` is R's ``allow_unbalanced_panel=TRUE`` (each cell a repeated cross-section of
  the units observed in each of the two periods). On a balanced panel the three are identical and
  equal R's ``panel=TRUE`` results. A unit's contributions to several cells are summed
  (clustered by unit);
* SEs come from the influence function (population variances within each 2×2 comparison,
  clustered by unit); aggregations add the influence of the estimated cohort shares (R's
  ``wif``); the multiplier bootstrap gives R-style IQR-based SEs and a sup-t critical value for
  simultaneous bands;
* ``cluster="department"`` moves inference to the roll-out level: influence functions are summed
  within clusters, with a CR2-style leverage correction per cell (each cluster's share of the
  cell's treated or comparison units), pointwise intervals use t with G − 1 degrees of freedom
  (G clusters), and a wild cluster bootstrap (Webb six-point weights by default, or Rademacher)
  gives bootstrap SEs and simultaneous bands. In simulations with 8–24 departments treated in
  three waves this keeps 95% intervals at 94–95% (``benchmarks/did_cluster_coverage.py``);
* the pre-test leaves out cohorts too small for its chi-square reference (see :func:`pretest`)
  and reports the smallest linear pre-trend it could detect.

Cells whose cohort or comparison group has fewer than ``min_units`` units are left out and listed
in ``result.skipped`` with the reason (R would report them as NA or noise).

Covariates (``covariates=[...]``, R's ``xformla``) make parallel trends conditional on them: each
cell compares treated and comparison units *with the same covariates*, by ``est_method``
``"dr"`` (doubly robust, Sant'Anna & Zhao 2020; the default), ``"ipw"`` (normalised inverse
probability weighting) or ``"reg"`` (outcome regression) — R's ``DRDID`` panel estimators,
:mod:`dxkpi.models.drdid`. As R did: a covariate is taken at the *earlier* of a cell's two
periods (the base period, except pre-periods before a universal base, where it is the period
itself), so a covariate that changes over time enters at its pre-treatment value; numbers enter
as they are, booleans as 0/1, text as one 0/1 column per level but the first (one design for the
whole panel: a level nobody in a cell has makes that cell singular, as in R); rows with a
missing covariate are left out and counted. Cells whose propensity score reaches 0.999 (no
comparable comparison units) or whose covariates are singular are skipped with code ``overlap``
or ``singular``; comparison units with a score of at least 0.995 get weight 0 and are counted
(``result.overlap``). The influence functions include the estimation of the logit and
regression coefficients, so SEs, aggregations, the bootstrap, clustering and the pre-test work
unchanged. With ``panel="within"`` each cell runs the panel estimator on the units seen in both
of its periods; ``panel="unbalanced"`` (R's repeated cross-section estimators) is not offered
with covariates. Matches R did 2.5.1 on ``mpdta`` with ``xformla=~lpop`` for the three methods
(``tests/models/test_did_covariates.py``).

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
>>> res.pretest().df, [g for g, n, why in res.pretest().excluded]  # 4-unit cohorts: too few
(0, [3, 4])
>>> res.panel, res.inference.method
('within', 'unit')
>>> sorted(res.to_json_dict()["aggregations"])
['calendar', 'dynamic', 'group', 'simple']
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np
import polars as pl
from scipy import stats
from scipy.optimize import brentq

from dxkpi.core.display import Shown, number
from dxkpi.core.errors import DxkpiError, Where
from dxkpi.models.drdid import (
    EST_METHODS,
    OVERLAP_SCHEMA,
    Design,
    EstMethod,
    NotEstimable,
    Overlap,
    design,
    estimate,
)

__all__ = [
    "BOOT_WEIGHTS",
    "CLUSTER_BOOT_DRAWS",
    "PANEL_KINDS",
    "PRETEST_MIN_UNITS",
    "PRETEST_POWER",
    "PRETEST_UNITS_PER_CELL",
    "AggKind",
    "Aggregation",
    "AttGtResult",
    "BasePeriod",
    "BootWeights",
    "Bootstrap",
    "Control",
    "DidError",
    "DidSettings",
    "Inference",
    "PanelKind",
    "Pretest",
    "WaldTest",
    "aggte",
    "att_gt",
    "multiplier_bootstrap",
    "pretest",
    "wald_test",
]

Control = Literal["never", "notyet"]
BasePeriod = Literal["varying", "universal"]
AggKind = Literal["simple", "group", "dynamic", "calendar"]
BootWeights = Literal["rademacher", "mammen", "webb"]
PanelKind = Literal["within", "balanced", "unbalanced"]
#: The values of :data:`BootWeights` and :data:`PanelKind` (the command line's choices too).
BOOT_WEIGHTS: tuple[BootWeights, ...] = get_args(BootWeights)
PANEL_KINDS: tuple[PanelKind, ...] = get_args(PanelKind)

#: The pre-test leaves out a cohort with fewer units than ``max(pretest_min_units,
#: PRETEST_UNITS_PER_CELL × its pre-treatment cells)``. Chosen by simulation
#: (``benchmarks/did_pretest_size.py``): with no pre-trend, the chi-square Wald test rejects far
#: more than its level when a cohort's covariance rests on few units (a 5-unit cohort with 3 pre
#: cells: about 40% at 5%; 7 pre cells: over 90%); at 20 units per pre cell and at least 30 units
#: the rejection rate stays within 3–7%.
PRETEST_MIN_UNITS = 30
PRETEST_UNITS_PER_CELL = 20
#: Power at which the pre-test's minimum detectable linear pre-trend is reported.
PRETEST_POWER = 0.8
#: Wild-cluster-bootstrap draws when ``cluster`` is given without ``boot_draws``.
CLUSTER_BOOT_DRAWS = 999
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])

# Per group-time cell: treated at t, treated at base, comparison at t, comparison at base.
_Masks = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_CellRow = tuple[float, int, int, float, int, int]  # g, t, base, att, n_treated, n_control
_SkippedCell = tuple[int | float, int, str, str, int, int]  # g, t, reason, code, n_t, n_c
_OverlapRow = tuple[float | None, float | None, int, int, bool]  # ps min, max, trimmed, low, conv
_OverlapCell = tuple[int, int, float | None, float | None, int, int, bool]  # g, t, *_OverlapRow

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
    """Estimator settings: comparison group, base period, anticipation, small-sample guards,
    panel handling, clustering and bootstrap (all recorded in the JSON)."""

    control: Control = "never"
    base_period: BasePeriod = "varying"
    anticipation: int = 0
    min_units: int = 5
    alpha: float = 0.05
    panel: PanelKind = "within"
    cluster: str | None = None
    boot_draws: int = 0
    boot_weights: BootWeights = "rademacher"
    seed: int | None = None
    pretest_min_units: int = PRETEST_MIN_UNITS
    covariates: tuple[str, ...] = ()
    est_method: EstMethod = "dr"

    @property
    def within_units(self) -> bool:
        """Each cell a within-unit comparison (``panel == "within"``)."""
        return self.panel == "within"

    def to_json_dict(self) -> dict[str, Any]:
        """The settings as JSON values."""
        return {
            "panel": self.panel,
            "control": self.control,
            "base_period": self.base_period,
            "anticipation": self.anticipation,
            "min_units": self.min_units,
            "alpha": self.alpha,
            "cluster": self.cluster,
            "boot_draws": self.boot_draws,
            "boot_weights": self.boot_weights if self.boot_draws else None,
            "seed": self.seed,
            "pretest_min_units": self.pretest_min_units,
            "covariates": list(self.covariates),
            "est_method": self.est_method,
        }


@dataclass(frozen=True)
class Bootstrap:
    """Multiplier-bootstrap SEs (outcome units) and sup-t critical value for simultaneous bands.

    ``clusters`` is the number of clusters whose scores were multiplied (None: units).
    ``crit_value`` is on the scale of the pointwise critical value it widens: normal from
    :func:`multiplier_bootstrap` and by unit; with clustered inference (``result.bootstrap``,
    the aggregations' bands) the sup-t value × t/z, never below the t value.
    """

    se: np.ndarray
    crit_value: float
    draws: int
    weights: BootWeights
    seed: int | None
    clusters: int | None = None
    # The seed the draws used: ``seed``, or an entropy drawn once when it is None, so that every
    # aggregation of one result reuses the same draws (its JSON, repr and tables agree).
    _stream: int | None = field(default=None, repr=False)
    # The result's draws applied once to the scores of every ATT(g,t) and of every cohort's
    # indicator (draws × (cells + cohort codes), before the 1/√n): every aggregation's influence
    # function is a linear combination of these, so its replicates are this matrix times its
    # coefficients — the same draws, without drawing or multiplying the n weights again.
    _reps: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Inference:
    """How SEs and intervals were computed: by unit (R did) or by cluster (few-cluster method).

    ``crit`` is the pointwise critical value (normal by unit; t with ``df`` = clusters − 1 by
    cluster). ``codes``: when clustered, each unit's cluster (0 .. ``n_clusters`` − 1, aligned
    with the rows of the result's influence functions); the one record of the clustering.
    """

    method: Literal["unit", "cluster"]
    cluster: str | None
    n_clusters: int | None
    crit: float
    df: int | None
    codes: np.ndarray | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def by_unit(alpha: float) -> Inference:
        """Inference by unit (as R did): normal critical values at level ``alpha``."""
        return Inference("unit", None, None, float(stats.norm.ppf(1 - alpha / 2)), None)

    def describe(self) -> str:
        """One line naming the SE and the reference distribution."""
        if self.method == "unit":
            return "influence-function SEs clustered by unit, normal critical values (as R did)"
        return (
            f"influence functions summed within {self.n_clusters} clusters of '{self.cluster}' "
            f"(CR2-style leverage correction per cell), t critical values with {self.df} df"
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The inference as JSON values."""
        return {
            "method": self.method,
            "cluster": self.cluster,
            "n_clusters": self.n_clusters,
            "df": self.df,
            "critical_value": _num(self.crit),
            "description": self.describe(),
        }


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
    """Joint Wald test that the pre-treatment ATT(g,t) of the tested cohorts are zero.

    ``excluded``: (cohort, units, reason) of cohorts left out as too small for the test's
    reference distribution (see :func:`pretest`). ``min_detectable_slope``: the smallest linear
    pre-trend — the cohorts' outcomes drifting away from the comparison group by this much per
    unit of the time column, the same for every tested cohort — that the test at level ``alpha``
    would detect with probability ``power`` (outcome units per time unit; None without a test).
    ``reference`` is ``"chi2"`` (by unit, as R) or ``"F"`` (Hotelling's F: clustered, see
    :func:`pretest`, and the behaviour event-study test); ``stat`` is the Wald statistic W
    either way, and ``df_den`` the F reference's denominator degrees of freedom (None for chi2;
    see :func:`wald_test`).
    """

    stat: float | None
    df: int
    p: float | None
    cohorts: tuple[int | float, ...] = ()
    excluded: tuple[tuple[int | float, int, str], ...] = ()
    min_detectable_slope: float | None = None
    alpha: float = 0.05
    power: float = PRETEST_POWER
    reference: Literal["chi2", "F"] = "chi2"
    df_den: int | None = None

    @property
    def excluded_text(self) -> str:
        """The cohorts left out with their units, e.g. ``7 (5 units), 8 (3 units)`` ("" if none)."""
        return ", ".join(f"{_key(g)} ({n} units)" for g, n, _ in self.excluded)

    def sentence(self) -> str:
        """The result in one plain sentence, with the smallest detectable pre-trend."""
        left = ""
        if self.excluded:
            left = f"; cohorts left out as too small for the test: {self.excluded_text}"
        if self.p is None:
            return f"no pre-test available (df={self.df}){left}"
        level = f"{100 * self.alpha:g}%"
        verdict = (
            "pre-trends detected" if self.p < self.alpha else f"no pre-trend detected at {level}"
        )
        mdt = (
            ""
            if self.min_detectable_slope is None
            else f"; it would detect a linear pre-trend of {number(self.min_detectable_slope)} "
            f"per period with {100 * self.power:g}% probability"
        )
        return f"{verdict} (p={number(self.p, 3)}, df={self.df}){mdt}{left}"

    def __repr__(self) -> str:
        if self.p is None:
            return f"Pretest(not available, df={self.df})"
        return f"Pretest({self._statistic()}, {self.sentence()})"

    def _statistic(self) -> str:
        """The statistic compared with the reference: chi2 = W, or F = W·(ν − df + 1)/(df·ν)."""
        if self.reference == "chi2":
            return f"chi2={number(self.stat)}"
        if self.df_den is None or self.stat is None:
            return f"W={number(self.stat)} (F reference)"
        nu = self.df_den + self.df - 1
        f_stat = self.stat * self.df_den / (self.df * nu)
        return f"F({self.df}, {self.df_den})={number(f_stat)}"

    def to_json_dict(self) -> dict[str, Any]:
        """stat, df, p, the tested and excluded cohorts, and the minimum detectable slope."""
        return {
            "stat": _num(self.stat),
            "df": self.df,
            "p": _num(self.p),
            "reference": self.reference,
            "cohorts": [_key(g) for g in self.cohorts],
            "excluded_cohorts": [
                {"group": _key(g), "n_units": n, "reason": r} for g, n, r in self.excluded
            ],
            "min_detectable_slope": _num(self.min_detectable_slope),
            "power": self.power,
            "alpha": self.alpha,
            "sentence": self.sentence(),
        }


@dataclass(frozen=True, eq=False)
class Aggregation:
    """An aggregate of ATT(g,t) (outcome units) with SE and, except ``simple``, its parts.

    ``by`` has columns ``key`` (cohort, event time or period), ``att``, ``se``, ``ci_lower``,
    ``ci_upper``, ``band_lower``, ``band_upper`` (simultaneous band with ``crit_value``, equal to
    the pointwise interval when no bootstrap was asked for) and, after a bootstrap, ``se_boot``.
    ``z`` is the pointwise critical value (normal, or t with clusters − 1 df when clustered);
    ``se_boot`` the bootstrap SE of the overall value (None without a bootstrap).
    """

    kind: AggKind
    att: float
    se: float | None
    by: pl.DataFrame | None
    crit_value: float
    alpha: float
    influence: np.ndarray = field(repr=False)
    z: float
    by_influence: np.ndarray | None = field(default=None, repr=False)
    se_boot: float | None = None
    bootstrapped: bool = False

    @property
    def ci(self) -> tuple[float, float] | None:
        """Pointwise (1-alpha) confidence interval for the overall value, outcome units."""
        if self.se is None:
            return None
        return (self.att - self.z * self.se, self.att + self.z * self.se)

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
        """The stable JSON shape: ``{"att", "se", "ci_lower", "ci_upper"}`` plus ``"by"`` rows
        for non-simple kinds; after a bootstrap also ``se_boot`` (overall and per row) and the
        uniform band's ``crit_value`` (non-simple kinds)."""
        ci = self.ci
        out: dict[str, Any] = {
            "att": _num(self.att),
            "se": _num(self.se),
            "ci_lower": _num(ci[0]) if ci else None,
            "ci_upper": _num(ci[1]) if ci else None,
        }
        boot = self.bootstrapped
        if boot:
            out["se_boot"] = _num(self.se_boot)
        if self.by is not None:
            if boot:
                out["crit_value"] = _num(self.crit_value)
            out["by"] = [
                {"key": _key(r["key"]), "att": _num(r["att"]), "se": _num(r["se"])}
                | ({"se_boot": _num(r["se_boot"])} if boot else {})
                for r in self.by.iter_rows(named=True)
            ]
        return out


@dataclass(frozen=True, eq=False)
class AttGtResult:
    """Group-time ATTs (outcome units) with unit-level influence functions for inference.

    ``attgt`` columns: group, time, att, se (by unit, or by cluster when clustered), n_treated,
    n_control (units in the cohort and comparison group; with ``panel="unbalanced"`` the fewer
    of the two periods, with ``"within"`` those seen in both), event_time (t − g), base (base
    period), post (g <= t), ci_lower, ci_upper (pointwise), and after a bootstrap se_boot,
    band_lower, band_upper (simultaneous band).
    ``skipped``: group, time, reason, code (``few_treated``, ``few_comparison``,
    ``one_cluster``), n_treated, n_control of cells left out.
    ``panel`` is the panel option that ran, ``estimator`` says what it computed, ``balanced``
    whether the panel used was balanced. ``dropped_units``: units left out before estimation,
    counted by reason (no ids); ``rows_dropped``: rows without a unit, period or finite outcome;
    ``units_in_no_cell``: units kept (counted in ``n_units`` and the cohort shares) that enter
    no estimated cell, e.g. with ``"within"`` units seen in one period only.
    ``inference`` says how SEs and intervals were computed (and holds the cluster of each unit
    when clustered, see :attr:`cluster_codes`).
    With covariates (``settings.covariates``, ``settings.est_method``): ``covariate_columns``
    names the design columns (``col`` or ``col=level``), ``overlap`` summarises the propensity
    scores of every cell (what was trimmed or flagged; cells that failed overlap are in
    ``skipped`` with code ``overlap``, singular designs with ``singular``), and
    ``rows_without_covariates`` counts rows left out for a missing covariate value.
    """

    attgt: pl.DataFrame
    skipped: pl.DataFrame
    settings: DidSettings
    n_units: int
    balanced: bool
    bootstrap: Bootstrap | None
    influence: np.ndarray = field(repr=False)
    unit_cohort: np.ndarray = field(repr=False)
    periods: np.ndarray = field(repr=False)
    units: np.ndarray | None = field(default=None, repr=False)
    outcomes: np.ndarray | None = field(default=None, repr=False)
    dropped_units: dict[str, int] = field(default_factory=dict)
    rows_dropped: int = 0
    units_in_no_cell: int = 0
    inference: Inference = field(default_factory=lambda: Inference.by_unit(0.05))
    overlap: Overlap | None = None
    covariate_columns: tuple[str, ...] = ()
    rows_without_covariates: int = 0

    @property
    def n_dropped_units(self) -> int:
        """Units dropped as treated in the first period used (R did's count)."""
        return self.dropped_units.get("treated_in_first_period", 0)

    @property
    def cluster_codes(self) -> np.ndarray | None:
        """The cluster of each unit (aligned with ``influence``) when clustered, else None."""
        return self.inference.codes

    @property
    def panel(self) -> PanelKind:
        """The panel option that ran: ``within``, ``balanced`` or ``unbalanced``."""
        return self.settings.panel

    @property
    def estimator(self) -> str:
        """What was computed, in words (never switched silently)."""
        if self.panel == "balanced":
            text = "balanced panel: units observed in every period used (R did panel=TRUE)"
        elif self.panel == "unbalanced":
            text = (
                "unbalanced panel: each cell a repeated cross-section of the units observed in "
                "each period (R did allow_unbalanced_panel=TRUE)"
            )
        else:
            text = "within units: each cell compares the units observed in both of its periods"
        if self.balanced and self.panel != "balanced":
            text += "; the panel is balanced, so this equals R did panel=TRUE"
        s = self.settings
        if s.covariates:
            name = {"dr": "doubly robust", "ipw": "normalised IPW", "reg": "outcome regression"}
            text += (
                f"; parallel trends conditional on {', '.join(s.covariates)} at each cell's "
                f"earlier period, {name[s.est_method]} (R did est_method='{s.est_method}')"
            )
        return text

    def _shown(self) -> Shown:
        try:
            simple = self.aggregate("simple")
        except DidError:
            return Shown("ATT(g,t)", None, None, [("units", self.n_units)], "no post cell")
        sizes = [("units", self.n_units), ("cells", self.attgt.height)]
        if self.inference.n_clusters is not None:
            sizes.append(("clusters", self.inference.n_clusters))
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

    def aggregate_values(
        self, values: np.ndarray, influence: np.ndarray | None = None, kind: AggKind = "simple"
    ) -> Aggregation:
        """Aggregate other per-cell values with the weights ``kind`` gives the ATT(g,t).

        ``values`` is aligned with the rows of :attr:`attgt` (e.g. the treated's mean outcome
        per cell, or the cell's event time), ``influence`` with the columns of
        :attr:`influence` (units × cells; zeros when omitted: the value then carries only the
        influence of the estimated cohort shares). One home for the aggregation weights.
        """
        inf = np.zeros_like(self.influence) if influence is None else influence
        swapped = replace(
            self,
            attgt=self.attgt.with_columns(pl.Series("att", values, dtype=pl.Float64)),
            influence=inf,
            bootstrap=None,
        )
        return swapped.aggregate(kind)

    def pretest(self) -> Pretest:
        """Wald test that pre-treatment ATT(g,t) are jointly zero; see :func:`pretest`."""
        return pretest(self)

    def _covariates_json(self) -> dict[str, Any] | None:
        s = self.settings
        if not s.covariates or self.overlap is None:
            return None
        return {
            "columns": list(s.covariates),
            "design": list(self.covariate_columns),
            "est_method": s.est_method,
            "taken_at": "the earlier period of each cell (the base period, except pre-periods "
            "before a universal base: the period itself), as R did",
            "overlap": self.overlap.to_json_dict(),
        }

    def to_json_dict(
        self, *, min_e: float = -math.inf, max_e: float = math.inf, balance_e: int | None = None
    ) -> dict[str, Any]:
        """Stable JSON-ready dict: what ran and how, attgt rows, the four aggregations, pretest.

        Keys: ``estimator`` (panel option and description), ``settings`` (all of them),
        ``inference`` (by unit or cluster, number of clusters), ``attgt``, ``aggregations``,
        ``pretest``, ``skipped`` (cells left out with reasons), ``dropped`` (units and rows left
        out, counted by reason — no ids), ``n_units``, ``covariates`` (None without; else the
        columns, design columns, method and the ``overlap`` summary); after a bootstrap
        ``bootstrap`` (draws, weights, seed, uniform band critical value) and ``se_boot`` on
        every cell and aggregation. SEs are the analytic ones; NaN/undefined values are None; an
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
        boot = self.bootstrap
        cells = []
        for r in self.attgt.iter_rows(named=True):
            row = {
                "group": _key(r["group"]),
                "time": _key(r["time"]),
                "att": _num(r["att"]),
                "se": _num(r["se"]),
            }
            if boot is not None:
                row["se_boot"] = _num(r["se_boot"])
            cells.append(row)
        out: dict[str, Any] = {
            "estimator": {
                "panel": self.panel,
                "balanced": self.balanced,
                "description": self.estimator,
            },
            "settings": self.settings.to_json_dict(),
            "inference": self.inference.to_json_dict(),
            "attgt": cells,
            "aggregations": aggs,
            "pretest": self.pretest().to_json_dict(),
            "skipped": [
                {
                    "group": _key(r["group"]),
                    "time": _key(r["time"]),
                    "code": r["code"],
                    "reason": r["reason"],
                    "n_treated": r["n_treated"],
                    "n_control": r["n_control"],
                }
                for r in self.skipped.iter_rows(named=True)
            ],
            "dropped": {
                "units": dict(self.dropped_units),
                "n_units": sum(self.dropped_units.values()),
                "rows_without_unit_period_or_outcome": self.rows_dropped,
                "rows_without_covariates": self.rows_without_covariates,
                "units_in_no_cell": self.units_in_no_cell,
            },
            "n_units": self.n_units,
            "covariates": self._covariates_json(),
        }
        if boot is not None:
            out["bootstrap"] = {
                "draws": boot.draws,
                "weights": boot.weights,
                "seed": boot.seed,
                "clusters": boot.clusters,
                "crit_value": _num(boot.crit_value),
                "level": 1 - self.settings.alpha,
            }
        return out


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
    infer: Inference  # how SEs and intervals are computed, with the cluster of each unit
    dropped: dict[str, int] = field(default_factory=dict)  # units left out, by reason
    rows_dropped: int = 0
    # covariates: periods × units × design columns (no intercept), NaN = row not observed
    x: np.ndarray | None = None
    x_names: tuple[str, ...] = ()
    rows_without_covariates: int = 0
    x_fixed: bool = False  # every unit's covariates are the same in every period it is seen


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
        col = cols[role]  # the cluster column may hold any labels
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


def _unit_clusters(d: pl.DataFrame, units: np.ndarray, u_idx: np.ndarray, col: str) -> np.ndarray:
    """Cluster code of each unit (0..G-1); the cluster must be given and constant within a unit."""
    labels = d["c"]
    if labels.null_count():
        raise DidError(
            "クラスター列に空の値があります。",
            "the cluster column has empty values.",
            where=Where(column=col),
        )
    _, c_idx = np.unique(labels.to_numpy(), return_inverse=True)
    codes = np.full(units.size, -1)
    codes[u_idx] = c_idx
    if np.any(codes[u_idx] != c_idx):
        raise DidError(
            "単位ごとにクラスターが一定ではありません。",
            "the cluster varies within a unit.",
            where=Where(column=col),
            hint_ja="単位が属する組織（例: 導入時の部署）を 1 つに決めてください。",
            hint_en="give each unit one cluster (e.g. its department at roll-out).",
        )
    return codes


def _prepare(
    df: pl.DataFrame, unit: str, time: str, group: str, outcome: str, s: DidSettings
) -> _Panel:
    """Validate and reshape the long frame into a units × periods outcome matrix."""
    cols = {"unit": unit, "time": time, "group": group, "outcome": outcome}
    if s.cluster is not None:
        cols["cluster"] = s.cluster
    _check_columns(df, cols)
    x_exprs, x_names = _design(df, s.covariates)
    n_rows = df.height
    d = df.select(
        pl.col(unit).alias("u"),
        pl.col(time).cast(pl.Float64).alias("t"),
        pl.col(group).cast(pl.Float64).fill_null(0.0).alias("g"),
        pl.col(outcome).cast(pl.Float64).alias("y"),
        *([pl.col(s.cluster).alias("c")] if s.cluster is not None else []),
        *x_exprs,
    ).filter(
        pl.col("u").is_not_null()
        & pl.col("t").is_not_null()
        & pl.col("y").is_not_null()
        & pl.col("y").is_finite()
    )
    rows_dropped = n_rows - d.height
    d, rows_without_x = _with_covariates(d, x_names, s.covariates)
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
    codes = _unit_clusters(d, units, u_idx, s.cluster) if s.cluster is not None else None
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
    x = _covariate_array(d, len(x_names), u_idx, t_idx, mat.shape) if x_names else None
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
    dropped = {
        "treated_in_first_period": int(treated_first.sum()),
        "not_observed_in_periods_used": int((~seen).sum()),
    }
    keep_u = seen & ~treated_first
    if not keep_u.any():
        raise DidError(
            "推定に使える行がありません。", "no usable rows remain.", where=Where(column=group)
        )
    units, cohort = units[keep_u], cohort[keep_u]
    codes = codes[keep_u] if codes is not None else None
    mat = np.asfortranarray(mat[np.ix_(keep_u, keep_t)])
    x = x[np.ix_(keep_t, keep_u)] if x is not None else None
    periods = periods[keep_t]
    observed = ~np.isnan(mat).all(axis=0)
    if not observed.all():  # a period seen only among dropped units
        mat, periods = np.asfortranarray(mat[:, observed]), periods[observed]
        x = x[observed] if x is not None else None
    complete = ~np.isnan(mat).any(axis=1)
    dropped["not_observed_in_every_period"] = 0
    if s.panel == "balanced" and not complete.all():
        dropped["not_observed_in_every_period"] = int((~complete).sum())
        units, mat, cohort = units[complete], np.asfortranarray(mat[complete]), cohort[complete]
        codes = codes[complete] if codes is not None else None
        x = x[:, complete] if x is not None else None
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
        balanced=bool(complete.all()) or s.panel == "balanced",
        infer=_inference(codes, s),
        dropped={k: v for k, v in dropped.items() if v},
        rows_dropped=rows_dropped,
        x=x,
        x_names=x_names,
        rows_without_covariates=rows_without_x,
        x_fixed=x is not None and bool(np.all(np.nanmax(x, axis=0) == np.nanmin(x, axis=0))),
    )


def _design(df: pl.DataFrame, covariates: tuple[str, ...]) -> tuple[list[pl.Expr], tuple[str, ...]]:
    """The covariates' design columns (no intercept), as R's ``model.matrix``: numbers as they
    are, booleans as 0/1, text or categories as one 0/1 column per level but the first (levels
    sorted). Returns the expressions (aliased ``_x0``, ``_x1``, …) and the columns' names
    (``col`` or ``col=level``)."""
    exprs: list[pl.Expr] = []
    names: list[str] = []
    for col in covariates:
        if col not in df.columns:
            raise DidError(
                "共変量の列がありません。",
                "missing covariate column.",
                where=Where(column=col),
                hint_ja=f"利用できる列: {', '.join(df.columns)}",
                hint_en=f"available columns: {', '.join(df.columns)}",
            )
        dtype = df.schema[col]
        if dtype == pl.Boolean or dtype.is_numeric():
            exprs.append(pl.col(col).cast(pl.Float64))
            names.append(col)
            continue
        if not (dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)):
            raise DidError(
                "共変量は数値・真偽値・文字列の列です。",
                f"a covariate must be numeric, boolean or text (got {dtype}).",
                where=Where(column=col),
            )
        text = pl.col(col).cast(pl.String)
        levels = sorted(df.select(text.drop_nulls().unique()).to_series().to_list())
        if len(levels) < 2:
            raise _constant_covariate(col, covariates)
        for level in levels[1:]:
            exprs.append((text == level).cast(pl.Float64))
            names.append(f"{col}={level}")
    return [e.alias(f"_x{i}") for i, e in enumerate(exprs)], tuple(names)


def _with_covariates(
    d: pl.DataFrame, x_names: tuple[str, ...], covariates: tuple[str, ...]
) -> tuple[pl.DataFrame, int]:
    """The rows with every design column present and finite, and how many were dropped (as R
    keeps complete cases). A design column constant over the kept rows is an error: it would
    make every cell's design singular."""
    if not x_names:
        return d, 0
    cols = [f"_x{i}" for i in range(len(x_names))]
    present = [pl.col(c).is_not_null() & pl.col(c).is_finite() for c in cols]
    kept = d.filter(pl.all_horizontal(present))
    if kept.height:
        for c, name in zip(cols, x_names, strict=True):
            if kept[c].n_unique() < 2:
                raise _constant_covariate(name, covariates)
    return kept, d.height - kept.height


def _constant_covariate(name: str, covariates: tuple[str, ...]) -> DidError:
    return DidError(
        "共変量が一定です（比較の調整に使えません）。",
        f"covariate '{name}' takes one value on every row used: it cannot adjust a comparison.",
        where=Where(column=name.split("=")[0]),
        hint_ja="この共変量を外してください。",
        hint_en=f"leave it out of the covariates ({', '.join(covariates)}).",
    )


def _covariate_array(
    d: pl.DataFrame, k: int, u_idx: np.ndarray, t_idx: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray:
    """periods × units × k design values, NaN where a unit has no row in a period."""
    x = np.full((shape[1], shape[0], k), np.nan)
    x[t_idx, u_idx] = d.select(f"_x{i}" for i in range(k)).to_numpy()
    return x


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
    if s.panel == "within":  # only units seen in both periods: one within-unit change each
        obs_t = obs_b = obs_t & obs_b
    masks = (treated & obs_t, treated & obs_b, control & obs_t, control & obs_b)
    counts = [int(m.sum()) for m in masks]
    return masks, counts, min(counts[:2]), min(counts[2:])


def _leverage(p: _Panel, mask: np.ndarray) -> np.ndarray:
    """CR2-style factor 1/sqrt(1 − h) per unit of a group, h = its cluster's share of the group.

    For a group mean, summing the residuals within clusters underestimates the variance by the
    factor (1 − h) per cluster; with few clusters per group (a cohort of 2 departments) that is a
    halving. The factor restores it (exact for a mean, as Bell & McCaffrey's CR2).
    """
    codes = p.infer.codes
    assert codes is not None
    share = np.bincount(codes[mask], minlength=p.infer.n_clusters or 0) / mask.sum()
    share = np.where(share < 1.0, share, 0.0)  # one cluster: no correction possible (skipped)
    return 1.0 / np.sqrt(1.0 - share[codes])


def _cell_estimate(
    p: _Panel, ti: int, b: int, masks: _Masks, counts: Sequence[int], within: bool = False
) -> tuple[float, np.ndarray]:
    """ATT for one (g,t) cell and its unit-level influence function (n-vector).

    ATT = (treated mean at t − at base) − (comparison mean at t − at base). The influence
    function, scaled as R did's (n/n1)·DRDID one, is n·(y − cell mean)/cell count, signed,
    summed per unit; in a balanced panel (or with ``within``: the units seen in both periods)
    this is n·(Δy − mean Δy)/n_group. When clustered, each group's terms carry the leverage
    factor of :func:`_leverage`.
    """
    n = p.units.size
    clustered = p.infer.codes is not None
    if p.balanced or within:  # one outcome change per unit: the panel (R panel=TRUE) form
        dy = p.y[:, ti] - p.y[:, b]
        if not p.balanced:  # units outside the cell have NaN changes and weight 0
            dy = np.where(masks[0] | masks[2], dy, 0.0)
        wt = masks[0] / counts[0]
        wc = masks[2] / counts[2]
        # elementwise sums, not BLAS ddot: tiny dots pay thread start-up and contention
        mu_t, mu_c = float((dy * wt).sum()), float((dy * wc).sum())
        if clustered:
            wt = np.where(masks[0], wt * _leverage(p, masks[0]), 0.0)
            wc = np.where(masks[2], wc * _leverage(p, masks[2]), 0.0)
        return mu_t - mu_c, n * ((dy - mu_t) * wt - (dy - mu_c) * wc)
    inf = np.zeros(n)
    means = []
    for m, col, sign, cnt in zip(masks, (ti, b, ti, b), (1, -1, -1, 1), counts, strict=True):
        vals = p.y[m, col]
        mu = vals.mean()
        means.append(mu)
        part = sign * n * (vals - mu) / cnt
        inf[m] += part * _leverage(p, m)[m] if clustered else part
    return (means[0] - means[1]) - (means[2] - means[3]), inf


def _nan_small(se: np.ndarray) -> np.ndarray:
    out = se.astype(float).copy()
    out[~(out > _SE_TINY)] = np.nan
    return out


def _resolve_panel(
    panel: str | None, balance_panel: bool | None, within_units: bool | None
) -> PanelKind:
    """The panel option from ``panel`` or the older ``balance_panel``/``within_units`` flags."""
    legacy: PanelKind | None = None
    if balance_panel:
        legacy = "balanced"
    elif within_units:
        legacy = "within"
    elif within_units is False:
        legacy = "unbalanced"  # the former default when neither flag was set
    if panel is None:
        return legacy or "within"
    if panel not in PANEL_KINDS:
        raise DidError(
            f"panel は {', '.join(PANEL_KINDS)} のいずれかです。",
            f"panel must be {_one_of(PANEL_KINDS)}.",
        )
    if (balance_panel or within_units) and legacy != panel:
        raise DidError(
            "panel と balance_panel/within_units が矛盾しています。",
            f"panel='{panel}' contradicts balance_panel/within_units.",
        )
    return panel


def _settings(
    control: str,
    base_period: BasePeriod,
    anticipation: int,
    min_units: int,
    alpha: float,
    panel: PanelKind,
    cluster: str | None,
    boot_draws: int,
    boot_weights: BootWeights | None,
    seed: int | None,
    pretest_min_units: int,
) -> DidSettings:
    """Checked settings; ``boot_weights=None`` picks Webb when clustered, else Rademacher."""
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
    if boot_weights is None:
        boot_weights = "webb" if cluster is not None else "rademacher"
    _check_weights(boot_weights)
    if cluster is not None and boot_draws == 0:
        boot_draws = CLUSTER_BOOT_DRAWS
    return DidSettings(
        control=ctl,
        base_period=base_period,
        anticipation=anticipation,
        min_units=min_units,
        alpha=alpha,
        panel=panel,
        cluster=cluster,
        boot_draws=max(boot_draws, 0),
        boot_weights=boot_weights,
        seed=seed,
        pretest_min_units=max(pretest_min_units, 0),
    )


def _covariate_settings(
    s: DidSettings,
    covariates: Sequence[str] | str | None,
    est_method: str,
    roles: dict[str, str],
) -> DidSettings:
    """``s`` with the checked covariates (a list, or one comma-separated string) and method.

    Covariates need a panel estimator: ``panel="unbalanced"`` (R's repeated cross-section
    estimators) is refused, as is a covariate that is also the unit, time, group or outcome."""
    if est_method not in EST_METHODS:
        raise DidError(
            f"est_method は {', '.join(EST_METHODS)} のいずれかです。",
            f"est_method must be {_one_of(EST_METHODS)}.",
        )
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",")]
    names = tuple(dict.fromkeys(c for c in covariates or () if c))
    for name in names:
        role = next((r for r, col in roles.items() if col == name), None)
        if role is not None:
            raise DidError(
                f"{role} の列は共変量にできません。",
                f"the {role} column cannot be a covariate.",
                where=Where(column=name),
            )
    if names and s.panel == "unbalanced":
        raise DidError(
            "共変量は panel='unbalanced' では使えません。",
            "covariates need a panel estimator: panel='unbalanced' is not supported with them.",
            hint_ja="panel='within' か 'balanced' を使ってください。",
            hint_en="use panel='within' (the default) or 'balanced'.",
        )
    return replace(s, covariates=names, est_method=est_method)


def _skip_reason(
    p: _Panel, masks: _Masks, n_t: int, n_c: int, s: DidSettings
) -> tuple[str, str] | None:
    """(code, reason) when a cell cannot be estimated, else None."""
    need = max(s.min_units, 1)
    if min(n_t, n_c) < need:
        few_t = n_t < need
        who, who_ja = ("treated cohort", "処置群") if few_t else ("comparison group", "比較群")
        return (
            "few_treated" if few_t else "few_comparison",
            f"{who} has fewer than {s.min_units} units (treated {n_t}, comparison {n_c}) / "
            f"{who_ja}が {s.min_units} 単位未満",
        )
    codes = p.infer.codes
    if codes is not None:
        for m, who, who_ja in (
            (masks[0], "treated cohort", "処置群"),
            (masks[2], "comparison group", "比較群"),
        ):
            if np.unique(codes[m]).size < 2:
                return (
                    "one_cluster",
                    f"the {who} lies in one cluster: no cluster-level variance / "
                    f"{who_ja}が 1 クラスターのみ",
                )
    return None


class _Designs:
    """The covariate designs of the last few cells, by their units and covariates: in a balanced
    panel with a never-treated comparison group (and covariates fixed per unit) every cell of a
    cohort has the same units and covariates, so one logit and one regression design serve
    them all. A few entries suffice, as cells come cohort by cohort."""

    def __init__(self, p: _Panel, method: EstMethod, size: int = 4) -> None:
        self.p, self.method, self.size = p, method, size
        self.fits: dict[tuple[int, bytes, bytes], Design | NotEstimable] = {}

    def get(self, masks: _Masks, earlier: int) -> Design:
        """The design of a cell (raises the cell's :class:`NotEstimable` again when cached)."""
        cell, treated = masks[0] | masks[2], masks[0]
        period = -1 if self.p.x_fixed else earlier
        key = (period, np.packbits(cell).tobytes(), np.packbits(treated).tobytes())
        fit = self.fits.get(key)
        if fit is None:
            fit = self._fit(cell, treated, earlier)
            if len(self.fits) >= self.size:
                del self.fits[next(iter(self.fits))]
            self.fits[key] = fit
        if isinstance(fit, NotEstimable):
            raise fit
        return fit

    def _fit(self, cell: np.ndarray, treated: np.ndarray, earlier: int) -> Design | NotEstimable:
        assert self.p.x is not None
        idx = np.flatnonzero(cell)
        x = np.column_stack([np.ones(idx.size), self.p.x[earlier][idx]])
        try:
            return design(x, treated[idx], self.method)
        except NotEstimable as err:
            return err


def _cell_estimate_x(
    p: _Panel, ti: int, b: int, masks: _Masks, designs: _Designs
) -> tuple[float, np.ndarray, _OverlapRow]:
    """ATT for one (g,t) cell conditional on the covariates, its influence function (n-vector)
    and the cell's propensity-score summary.

    As R did: the cell's units (treated and comparison, each observed in both periods) and
    their covariates at the earlier of the two periods go to the DRDID panel estimator of
    ``designs.method`` (:mod:`dxkpi.models.drdid`); its influence function is scaled by
    n/(units in the cell). When clustered, each unit's term carries the leverage factor of its
    group (:func:`_leverage`), as for the unconditional estimator.
    """
    des = designs.get(masks, min(ti, b))
    idx = np.flatnonzero(masks[0] | masks[2])
    r = estimate(p.y[idx, ti] - p.y[idx, b], des)
    n = p.units.size
    inf = np.zeros(n)
    inf[idx] = r.influence * (n / idx.size)
    if p.infer.codes is not None:
        inf = np.where(masks[0], inf * _leverage(p, masks[0]), inf)
        inf = np.where(masks[2], inf * _leverage(p, masks[2]), inf)
    return r.att, inf, (r.ps_min, r.ps_max, r.n_trimmed, r.n_ps_low, r.converged)


def _estimate_cells(
    p: _Panel, cohorts: np.ndarray, s: DidSettings
) -> tuple[list[_CellRow], list[_SkippedCell], list[np.ndarray], int, list[_OverlapCell]]:
    """Rows (g, t, base, att, n_treated, n_control), skipped cells, influence columns, the
    number of units that enter no estimated cell, and (with covariates) each estimated cell's
    propensity-score summary."""
    rows: list[_CellRow] = []
    skipped: list[_SkippedCell] = []
    infs: list[np.ndarray] = []
    overlap: list[_OverlapCell] = []
    used = np.zeros(p.units.size, dtype=bool)
    designs = _Designs(p, s.est_method)
    for g, ti, b in _cells(p.periods, cohorts, s):
        t, base = int(p.periods[ti]), int(p.periods[b])
        masks, counts, n_t, n_c = _cell_masks(p, g, ti, b, s)
        if b == ti:  # universal base: the reference period itself, ATT 0 by construction
            rows.append((g, t, base, 0.0, n_t, n_c))
            infs.append(np.zeros(p.units.size))
            continue
        why = _skip_reason(p, masks, n_t, n_c, s)
        if why is not None:
            skipped.append((_key(g), t, why[1], why[0], n_t, n_c))
            continue
        if p.x is None:
            att, inf = _cell_estimate(p, ti, b, masks, counts, s.panel == "within")
        else:
            try:
                att, inf, ps = _cell_estimate_x(p, ti, b, masks, designs)
            except NotEstimable as err:
                skipped.append((_key(g), t, f"{err.en} / {err.ja}", err.code, n_t, n_c))
                continue
            overlap.append((int(g), t, *ps))
        used |= masks[0] | masks[1] | masks[2] | masks[3]
        rows.append((g, t, base, att, n_t, n_c))
        infs.append(inf)
    return rows, skipped, infs, int((~used).sum()), overlap


def _inference(codes: np.ndarray | None, s: DidSettings) -> Inference:
    """By unit, or by the clusters of ``codes`` (each unit's cluster), renumbered 0..G-1."""
    if s.cluster is None or codes is None:
        return Inference.by_unit(s.alpha)
    kept, codes = np.unique(codes, return_inverse=True)
    g = int(kept.size)
    if g < 2:
        raise DidError(
            "クラスターが 2 つ未満です。",
            "clustered inference needs at least 2 clusters.",
            where=Where(column=s.cluster),
        )
    crit = float(stats.t.ppf(1 - s.alpha / 2, g - 1))
    return Inference("cluster", s.cluster, g, crit, g - 1, codes)


def _cluster_sums(inf: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Influence functions (units × columns) summed within clusters (clusters × columns)."""
    out = np.zeros((size, inf.shape[1]))
    np.add.at(out, codes, inf)
    return out


def _scores(inf: np.ndarray, infer: Inference) -> np.ndarray:
    """What SEs, the bootstrap and the pre-test use: the influence functions (units × columns)
    by unit, or their sums within clusters (clusters × columns) when clustered."""
    if infer.codes is None:
        return inf
    return _cluster_sums(inf, infer.codes, infer.n_clusters or 0)


def _ses(scores: np.ndarray, n: int) -> np.ndarray:
    """SE of each column (outcome units) from its scores (see :func:`_scores`) and the number of
    units ``n``; NaN at or below :data:`_SE_TINY` (R did's NA)."""
    return _nan_small(np.sqrt((scores**2).sum(axis=0)) / n)


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
    balance_panel: bool | None = None,
    alpha: float = 0.05,
    within_units: bool | None = None,
    boot_draws: int = 0,
    boot_weights: BootWeights | None = None,
    seed: int | None = None,
    panel: PanelKind | None = None,
    cluster: str | None = None,
    pretest_min_units: int = PRETEST_MIN_UNITS,
    covariates: Sequence[str] | str | None = None,
    est_method: EstMethod = "dr",
) -> AttGtResult:
    """Group-time average treatment effects ATT(g,t), in outcome units, with unit-clustered SEs.

    ``data`` is a long polars/pandas frame (one row per unit and period); ``group`` holds the
    first treated period (0 or null = never treated), in the same units as ``time``.
    ``panel``: ``"within"`` (default; each cell a within-unit comparison of the units observed in
    both its periods), ``"balanced"`` (only units observed in every period) or ``"unbalanced"``
    (R's ``allow_unbalanced_panel``); see the module docstring. The older flags still work:
    ``balance_panel=True`` is ``"balanced"``, ``within_units=True`` ``"within"`` and
    ``within_units=False`` ``"unbalanced"``.
    ``boot_draws > 0`` adds a multiplier bootstrap (``boot_weights``: rademacher, mammen or
    webb; ``seed``) with simultaneous bands and bootstrap SEs of every aggregation (without a
    seed the draws are random, but one result reuses them for every aggregation).
    ``cluster``: a column constant within units (e.g. the department at roll-out); SEs and
    intervals then come from the clusters (t with G − 1 df) and a wild cluster bootstrap runs
    (Webb weights and ``CLUSTER_BOOT_DRAWS`` draws unless given).
    ``pretest_min_units``: see :func:`pretest` (0 = test every cohort, as R).
    ``covariates`` (columns, or one comma-separated string; R's ``xformla``) makes parallel
    trends conditional on them, estimated per cell by ``est_method``: ``"dr"`` (doubly robust,
    the default), ``"ipw"`` or ``"reg"`` (see "Covariates" in the module docstring); without
    covariates the three are the same difference of mean changes and ``est_method`` changes
    nothing.
    The result keeps the unit ids and the units × periods outcome matrix it used (``units``,
    ``outcomes``; NaN = not observed), row-aligned with ``influence``. The input frame is never
    modified.
    """
    s = _settings(
        control,
        base_period,
        anticipation,
        min_units,
        alpha,
        _resolve_panel(panel, balance_panel, within_units),
        cluster,
        boot_draws,
        boot_weights,
        seed,
        pretest_min_units,
    )
    roles = {"unit": unit, "time": time, "group": group, "outcome": outcome}
    s = _covariate_settings(s, covariates, est_method, roles)
    p = _prepare(_to_polars(data), unit, time, group, outcome, s)
    infer = p.infer
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
    rows, skipped, infs, unused, ps_cells = _estimate_cells(p, cohorts, s)
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
    cohorts_all = _cohort_keys(p.cohort)
    n = p.units.size
    scores = _scores(influence, infer)
    frame = _attgt_frame(rows, _ses(scores, n), infer.crit)
    boot = None
    if s.boot_draws > 0:
        boot = _bootstrap(
            scores,
            n,
            s.boot_draws,
            alpha=alpha,
            weights=s.boot_weights,
            seed=seed,
            clusters=infer.n_clusters,
            infer=infer,
            basis=_scores(_indicators(_unit_codes(p.cohort), cohorts_all.size + 1), infer),
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
            "code": pl.String,
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
        balanced=p.balanced,
        bootstrap=boot,
        influence=influence,
        unit_cohort=p.cohort,
        periods=p.periods,
        units=p.units,
        outcomes=p.y,
        dropped_units=dict(p.dropped),
        rows_dropped=p.rows_dropped,
        units_in_no_cell=unused,
        inference=infer,
        overlap=_overlap(ps_cells, skipped, s),
        covariate_columns=p.x_names,
        rows_without_covariates=p.rows_without_covariates,
    )


def _overlap(
    cells: list[_OverlapCell], skipped: list[_SkippedCell], s: DidSettings
) -> Overlap | None:
    """The propensity-score summary of an estimate with covariates (None without)."""
    if not s.covariates:
        return None
    frame = pl.DataFrame(
        cells if s.est_method != "reg" else [], schema=OVERLAP_SCHEMA, orient="row"
    )
    failed = sum(1 for row in skipped if row[3] == "overlap")
    return Overlap(method=s.est_method, cells=frame, not_estimated=failed)


def _attgt_frame(rows: list[_CellRow], se: np.ndarray, crit: float) -> pl.DataFrame:
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
            "ci_lower": att - crit * se,
            "ci_upper": att + crit * se,
        }
    ).with_columns(pl.col("se", "ci_lower", "ci_upper").fill_nan(None))


# ---------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------


def _check_weights(weights: str) -> None:
    """Raise unless ``weights`` is one of :data:`BOOT_WEIGHTS`."""
    if weights not in BOOT_WEIGHTS:
        raise DidError(
            f"ブートストラップの重みは {', '.join(BOOT_WEIGHTS)} のいずれかです。",
            f"boot_weights must be {_one_of(BOOT_WEIGHTS)}.",
        )


def _draw_codes(rng: np.random.Generator, rows: int, n: int, kind: BootWeights) -> np.ndarray:
    """Codes of the multiplier weights: 0/1 int8 (1 = +1 for Rademacher, the high Mammen value),
    0..5 for Webb's six points."""
    if kind == "rademacher":
        return rng.integers(0, 2, size=(rows, n), dtype=np.int8)
    if kind == "mammen":
        r5 = math.sqrt(5)
        return (rng.random((rows, n)) >= (r5 + 1) / (2 * r5)).view(np.int8)
    return rng.integers(0, 6, size=(rows, n), dtype=np.int8)  # webb


def _weight_values(kind: BootWeights) -> tuple[float, float]:
    if kind == "mammen":
        r5 = math.sqrt(5)
        return (1 - r5) / 2, (1 + r5) / 2
    return -1.0, 1.0


def _replicates(
    scores: np.ndarray, draws: int, weights: BootWeights, seed: int | None, chunk: int
) -> np.ndarray:
    """draws × columns: Σ_i w_i·score_i for i.i.d. multiplier weights w (one per score row)."""
    m = scores.shape[0]
    rng = np.random.default_rng(seed)
    bres = np.empty((draws, scores.shape[1]))
    if weights == "webb":
        for start in range(0, draws, chunk):
            stop = min(start + chunk, draws)
            bres[start:stop] = _WEBB[_draw_codes(rng, stop - start, m, weights)] @ scores
        return bres
    low, high = _weight_values(weights)
    col_sum = scores.sum(axis=0)
    buf = np.empty((min(chunk, draws), m))
    for start in range(0, draws, chunk):
        stop = min(start + chunk, draws)
        codes = _draw_codes(rng, stop - start, m, weights)
        part = buf[: stop - start]
        np.copyto(part, codes, casting="unsafe")
        # w = low + (high - low)·code, so w @ IF = low·colsum + (high - low)·(code @ IF)
        bres[start:stop] = low * col_sum + (high - low) * (part @ scores)
    return bres


def multiplier_bootstrap(
    influence: np.ndarray,
    draws: int,
    *,
    alpha: float = 0.05,
    weights: BootWeights = "rademacher",
    seed: int | None = None,
    chunk: int = 128,
    clusters: np.ndarray | None = None,
    band: np.ndarray | None = None,
) -> Bootstrap:
    """Multiplier-bootstrap SEs (outcome units) and sup-t critical value, as R did's ``mboot``.

    ``influence`` is units × estimates. Each draw multiplies the influence functions by i.i.d.
    Rademacher (or Mammen, or Webb's six-point) weights; SEs are the IQR of the draws over the
    normal IQR; the critical value is the (1-alpha) quantile (type 1) of the max |t| across
    estimates (only the columns where ``band`` is true, if given). Degenerate columns (zero
    variance) get SE NaN and are left out of the max. With ``clusters`` (a cluster code
    0..G-1 per unit) the influence functions are first summed within clusters and one weight is
    drawn per cluster: the wild cluster bootstrap (Webb weights suit fewer than about 12
    clusters, where Rademacher weights allow only 2^G distinct draws).
    """
    if draws < 1:
        raise DidError("ブートストラップ回数は 1 以上です。", "draws must be at least 1.")
    _check_weights(weights)
    inf = np.asarray(influence, dtype=float)
    if inf.ndim == 1:
        inf = inf[:, None]
    scores, n_clusters = inf, None
    if clusters is not None:
        n_clusters = int(clusters.max()) + 1
        scores = _cluster_sums(inf, clusters, n_clusters)
    return _bootstrap(
        scores,
        inf.shape[0],
        draws,
        alpha=alpha,
        weights=weights,
        seed=seed,
        chunk=chunk,
        clusters=n_clusters,
        band=band,
    )


def _bootstrap(
    scores: np.ndarray,
    n: int,
    draws: int,
    *,
    alpha: float,
    weights: BootWeights,
    seed: int | None,
    clusters: int | None,
    chunk: int = 128,
    band: np.ndarray | None = None,
    infer: Inference | None = None,
    stream: int | None = None,
    basis: np.ndarray | None = None,
) -> Bootstrap:
    """:func:`multiplier_bootstrap` of scores (see :func:`_scores`: units, or ``clusters``
    cluster sums, × estimates) of ``n`` units; with ``infer`` the critical value is put on its
    scale (see :func:`_cluster_band`). ``stream`` seeds the draws (default: ``seed``, or a fresh
    entropy when that is None); the result records it. ``basis``: more score columns (the
    cohort indicators) multiplied by the same draws and kept with ``scores``' replicates for
    :func:`_boot`."""
    if stream is None:
        stream = seed if seed is not None else secrets.randbits(128)
    k = scores.shape[1]
    full = scores if basis is None else np.column_stack([scores, basis])
    reps = _replicates(full, draws, weights, stream, chunk)
    se, crit = _summarise(reps[:, :k], n, alpha, band, infer)
    return Bootstrap(
        se=se,
        crit_value=crit,
        draws=draws,
        weights=weights,
        seed=seed,
        clusters=clusters,
        _stream=stream,
        _reps=None if basis is None else reps,
    )


def _summarise(
    reps: np.ndarray,
    n: int,
    alpha: float,
    band: np.ndarray | None,
    infer: Inference | None,
) -> tuple[np.ndarray, float]:
    """SEs and the sup-t critical value from replicates Σ_i w_i·score_i (draws × estimates)."""
    draws, cols = reps.shape
    bres = reps / math.sqrt(n)  # sqrt(n) * mean(w * IF)
    ok = np.isfinite(bres).all(axis=0) & ((bres**2).sum(axis=0) > _SE_TINY)
    se = np.full(cols, np.nan)
    crit = math.nan
    if ok.any():
        b = np.sort(bres[:, ok], axis=0)
        lo, hi = b[math.ceil(0.25 * draws) - 1], b[math.ceil(0.75 * draws) - 1]
        sigma = np.full(cols, np.nan)
        sigma[ok] = (hi - lo) / _IQR_NORMAL
        se = sigma / math.sqrt(n)
        use = ok & (np.ones(cols, dtype=bool) if band is None else band)
        if use.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                t_max = np.nanmax(np.abs(bres[:, use] / sigma[use]), axis=1)
            t_max = t_max[np.isfinite(t_max)]
            if t_max.size:
                crit = float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))
    if infer is not None and infer.codes is not None:
        crit = _cluster_band(crit, infer, alpha)
    return se, crit


def _cluster_band(crit: float, infer: Inference, alpha: float) -> float:
    """The bootstrap sup-t value on the t scale (× t/z), never below the pointwise t value: with
    few clusters the band is at least the t interval."""
    z = float(stats.norm.ppf(1 - alpha / 2))
    if not math.isfinite(crit):
        return infer.crit
    return max(crit * infer.crit / z, infer.crit)


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Codes:
    """Cohort of each unit and each cell as small integer codes (never treated = last code)."""

    unit: np.ndarray
    cell: np.ndarray
    size: int

    @staticmethod
    def of(res: AttGtResult, cell_g: np.ndarray) -> _Codes:
        keys = _cohort_keys(res.unit_cohort)
        return _Codes(
            unit=_unit_codes(res.unit_cohort),
            cell=np.searchsorted(keys, cell_g),
            size=keys.size + 1,
        )


def _cohort_keys(unit_cohort: np.ndarray) -> np.ndarray:
    return np.unique(unit_cohort[np.isfinite(unit_cohort)])


def _unit_codes(unit_cohort: np.ndarray) -> np.ndarray:
    """Each unit's cohort as a code 0..C (the cohorts in order, never treated = C)."""
    return np.searchsorted(_cohort_keys(unit_cohort), unit_cohort)


def _indicators(codes: np.ndarray, size: int) -> np.ndarray:
    """units × ``size``: 1 where a unit's cohort code is the column's."""
    out = np.zeros((codes.size, size))
    out[np.arange(codes.size), codes] = 1.0
    return out


def _weight_if(
    cell_code: np.ndarray, pg: np.ndarray, att: np.ndarray, codes: _Codes
) -> tuple[np.ndarray, np.ndarray]:
    """R did's ``wif %*% att``: influence of estimating cohort shares pg, an n-vector, and its
    value per cohort code (the n-vector is that value at each unit's code).

    wif[i,k] = ((1{G_i = g_k} − pg_k) − pg_k·Σ_j(1{G_i = g_j} − pg_j)/S) / S with S = Σ pg, so
    wif @ att only needs, per cohort, the sum and the count of the selected cells.
    """
    total = pg.sum()
    pa = float((pg * att).sum())
    att_sum = np.bincount(cell_code, weights=att, minlength=codes.size)
    count = np.bincount(cell_code, minlength=codes.size).astype(float)
    per_code = (att_sum - pa) / total - (count - total) * pa / total**2
    return per_code[codes.unit], per_code


def _boot(res: AttGtResult, coef: np.ndarray, band: np.ndarray, alpha: float) -> Bootstrap | None:
    """The result's bootstrap (same draws — also without a seed —, weights, clusters) of the
    estimates whose influence functions are ``influence @ coef[:cells]`` plus the cohort
    indicators times ``coef[cells:]`` (every aggregation's are): their replicates are the
    result's replicates of that basis times ``coef`` (cells + cohort codes × estimates)."""
    b = res.bootstrap
    if b is None:
        return None
    assert b._reps is not None  # att_gt keeps the basis' replicates with every bootstrap
    se, crit = _summarise(b._reps @ coef, res.n_units, alpha, band, res.inference)
    return replace(b, se=se, crit_value=crit)


def _band_crit(boot: Bootstrap | None, n_cols: int, z: float) -> float:
    """Simultaneous-band critical value: the sup-t one (on the scale of the pointwise value
    ``z``), never below ``z``."""
    if boot is None or n_cols < 2:
        return z
    crit = boot.crit_value
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

    def weighted(self, sel: np.ndarray, wif: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
        """Share-weighted average of the selected cells, its influence function (with the
        influence of the estimated cohort shares when ``wif``) and the influence function's
        coefficients on the bootstrap basis (see :func:`_boot`): :meth:`parts` of one part."""
        est, inf, coef = self.parts([sel], wif)
        return float(est[0]), inf[:, 0], coef[:, 0]

    def parts(
        self, sels: list[np.ndarray], wif: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimates, influence functions (units × parts) and their basis coefficients, each
        part a share-weighted average of its selected cells; the cells' influence is taken in
        one matrix product for all parts (the units × cells matrix is read once)."""
        n_cells = self.res.influence.shape[1]
        coef = np.zeros((n_cells + self.codes.size, len(sels)))
        est = np.empty(len(sels))
        inf = np.zeros((self.res.influence.shape[0], len(sels)))
        for j, sel in enumerate(sels):
            w = self.pg[sel] / self.pg[sel].sum()
            est[j] = float((self.att[sel] * w).sum())
            coef[:n_cells, j][sel] = w
            if wif:
                inf[:, j], coef[n_cells:, j] = _weight_if(
                    self.codes.cell[sel], self.pg[sel], self.att[sel], self.codes
                )
        inf += self.res.influence @ coef[:n_cells]
        return est, inf, coef


def _no_post() -> DidError:
    return DidError("処置後のセルがありません。", "no post-treatment cell to aggregate.")


def _agg_simple(c: _Cells, max_e: float, alpha: float) -> Aggregation:
    post = (c.g <= c.t) & (c.t <= c.g + max_e)
    if not post.any():
        raise _no_post()
    est, inf, coef = c.weighted(post)
    scores = _scores(inf[:, None], c.res.inference)
    boot = _boot(c.res, coef[:, None], np.ones(1, dtype=bool), alpha)
    z = c.res.inference.crit
    return Aggregation(
        "simple",
        est,
        _num(_ses(scores, c.res.n_units)[0]),
        None,
        z,
        alpha,
        inf,
        z,
        se_boot=None if boot is None else _num(boot.se[0]),
        bootstrapped=boot is not None,
    )


def _agg_group(c: _Cells, max_e: float, alpha: float) -> Aggregation:
    post = (c.g <= c.t) & (c.t <= c.g + max_e)
    keys = np.unique(c.g[post])
    if keys.size == 0:
        raise _no_post()
    att_k, inf_k, coef_k = c.parts([post & (c.g == k) for k in keys], wif=False)
    pgg = np.array([c.shares[k] for k in keys])
    w = pgg / pgg.sum()
    est = float((att_k * w).sum())
    wif, per_code = _weight_if(_Codes.of(c.res, keys).cell, pgg, att_k, c.codes)
    inf = inf_k @ w + wif
    coef = coef_k @ w
    coef[c.res.influence.shape[1] :] += per_code
    return _with_by("group", keys, att_k, inf_k, est, inf, c.res, alpha, coef_k, coef)


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
    att_k, inf_k, coef_k = c.parts([(e_all == e) & include for e in eseq])
    pos = eseq >= 0
    if pos.any():
        est, inf = float(att_k[pos].mean()), inf_k[:, pos].mean(axis=1)
        coef = coef_k[:, pos].mean(axis=1)
    else:
        est, inf = math.nan, np.zeros(inf_k.shape[0])
        coef = np.zeros(coef_k.shape[0])
    return _with_by("dynamic", eseq, att_k, inf_k, est, inf, c.res, alpha, coef_k, coef)


def _agg_calendar(c: _Cells, alpha: float) -> Aggregation:
    times = np.array(
        [x for x in np.unique(c.t[c.t >= c.g.min()]) if np.any((c.t == x) & (c.g <= c.t))]
    )
    if times.size == 0:
        raise _no_post()
    att_k, inf_k, coef_k = c.parts([(c.t == x) & (c.g <= c.t) for x in times])
    return _with_by(
        "calendar",
        times,
        att_k,
        inf_k,
        float(att_k.mean()),
        inf_k.mean(axis=1),
        c.res,
        alpha,
        coef_k,
        coef_k.mean(axis=1),
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
    coef_k: np.ndarray,
    coef: np.ndarray,
) -> Aggregation:
    """The aggregation's table; ``coef_k``/``coef``: the basis coefficients of ``inf_k``/``inf``
    (see :func:`_boot`)."""
    scores = _scores(np.column_stack([inf_k, inf]), res.inference)
    ses = _ses(scores, res.n_units)
    se_k = ses[:-1]
    band = np.r_[np.ones(keys.size, dtype=bool), False]
    boot = _boot(res, np.column_stack([coef_k, coef]), band, alpha)
    z = res.inference.crit
    crit = _band_crit(boot, keys.size, z)
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
    )
    filled = ["se", "ci_lower", "ci_upper", "band_lower", "band_upper"]
    if boot is not None:
        by = by.with_columns(se_boot=pl.Series(boot.se[:-1]))
        filled.append("se_boot")
    by = by.with_columns(pl.col(*filled).fill_nan(None))
    return Aggregation(
        kind,
        est,
        _num(ses[-1]),
        by,
        crit,
        alpha,
        inf,
        z,
        by_influence=inf_k,
        se_boot=None if boot is None else _num(boot.se[-1]),
        bootstrapped=boot is not None,
    )


# ---------------------------------------------------------------------------------------------
# pretest
# ---------------------------------------------------------------------------------------------


def _pretest_exclusions(
    f: pl.DataFrame, pre: np.ndarray, s: DidSettings
) -> tuple[np.ndarray, list[tuple[int | float, int, str]]]:
    """Pre cells kept after leaving out cohorts too small for the test, and those cohorts."""
    if s.pretest_min_units <= 0:
        return pre, []
    g = f["group"].to_numpy()[pre]
    n_t = f["n_treated"].to_numpy()[pre]
    keep = np.ones(pre.size, dtype=bool)
    excluded: list[tuple[int | float, int, str]] = []
    for cohort in np.unique(g):
        cells = g == cohort
        k, units = int(cells.sum()), int(n_t[cells].min())
        need = max(s.pretest_min_units, PRETEST_UNITS_PER_CELL * k)
        if units < need:
            keep &= ~cells
            excluded.append(
                (
                    _key(cohort),
                    units,
                    f"{units} units for {k} pre-treatment cells: fewer than {need} "
                    f"(at least {s.pretest_min_units}, and {PRETEST_UNITS_PER_CELL} per cell) / "
                    f"事前検定に必要な単位数 {need} 未満",
                )
            )
    return pre[keep], excluded


def _noncentrality(df: int, alpha: float, power: float, df_den: int | None) -> float:
    """Non-centrality at which the Wald test (chi2, or F with df_den) has the given power."""
    if df_den is None:
        crit = stats.chi2.isf(alpha, df)

        def gap(lam: float) -> float:
            return float(stats.ncx2.sf(crit, df, lam)) - power

    else:
        crit = stats.f.isf(alpha, df, df_den)

        def gap(lam: float) -> float:
            return float(stats.ncf.sf(crit, df, df_den, lam)) - power

    hi = 1.0
    while gap(hi) < 0 and hi < 1e8:
        hi *= 2
    return float(brentq(gap, 1e-9, hi)) if gap(hi) >= 0 else math.inf


@dataclass(frozen=True, eq=False)
class WaldTest:
    """A Wald test that estimates are jointly zero (see :func:`wald_test`).

    ``stat`` is W = est'V⁻¹est, ``df`` the number of estimates, ``p`` the p-value from the
    reference: chi-square (``df_den`` None) or Hotelling's F(df, ``df_den``); ``cov`` is V.
    """

    stat: float
    df: int
    p: float
    df_den: int | None
    cov: np.ndarray = field(repr=False)

    @property
    def reference(self) -> Literal["chi2", "F"]:
        """``"chi2"`` or ``"F"``."""
        return "chi2" if self.df_den is None else "F"

    def quadratic(self, a: np.ndarray) -> float:
        """a'V⁻¹a (e.g. the non-centrality per squared unit of a trend along ``a``)."""
        return float(a @ np.linalg.solve(self.cov, a))


def wald_test(
    est: np.ndarray, scores: np.ndarray, n: int, *, nu: int | None = None
) -> WaldTest | None:
    """Wald test that ``est`` (k estimates) are jointly zero, from their scores.

    V = scores'scores / n², with ``scores`` units (or cluster sums) × estimates, scaled as the
    influence functions here (SE = √Σscore² ÷ n), and W = est'V⁻¹est. Reference: chi-square
    with k df, or — when V rests on only ``nu`` degrees of freedom (clusters less the groups
    whose sums are centred; units − 1) — Hotelling's: W·(ν − k + 1)/(k·ν) ~ F(k, ν − k + 1).
    None when there is no estimate, k > ν, or V is singular.

    >>> t = wald_test(np.array([1.0]), np.array([[2.0], [-2.0]]), 2)
    >>> t.stat, t.reference
    (0.5, 'chi2')
    """
    k = int(est.size)
    if k == 0 or (nu is not None and k > nu):
        return None
    cov = scores.T @ scores / n**2
    if 1.0 / np.linalg.cond(cov, p=1) <= np.finfo(float).eps:
        return None
    stat = float(est @ np.linalg.solve(cov, est))
    if nu is None:
        return WaldTest(stat, k, float(stats.chi2.sf(stat, k)), None, cov)
    df_den = nu - k + 1
    p = float(stats.f.sf(stat * df_den / (k * nu), k, df_den))
    return WaldTest(stat, k, p, df_den, cov)


def pretest(res: AttGtResult) -> Pretest:
    """Wald statistic, df and p for H0: the pre-treatment ATT(g,t) of the tested cohorts are 0.

    Uses the influence-function covariance of the pre-treatment cells (g > t) with a positive
    SE, as R did's ``att_gt`` ("P-value for pre-test of parallel trends assumption"; R rounds
    the p-value to 5 digits, this does not). As in R, with anticipation the cells
    g − anticipation <= t < g are included (csdid leaves them out).

    Unlike R, cohorts whose pre cells rest on fewer than ``max(pretest_min_units,
    PRETEST_UNITS_PER_CELL × pre cells)`` treated units are left out (and listed in
    ``excluded``): their covariance is too noisy for the chi-square reference, and with no
    pre-trend a 5-unit cohort made the test reject far more often than its level.
    ``pretest_min_units=0`` keeps every cohort (R's test). When clustered, the covariance comes
    from cluster sums and the reference is Hotelling's: W·(ν − df + 1)/(df·ν) ~ F(df, ν − df + 1)
    with ν = G − (number of cohorts, never-treated included), as each group's cluster sums are
    centred (no test when df > ν).

    ``min_detectable_slope``: under a linear pre-trend of slope δ (outcome units per time unit)
    each pre cell's mean is δ·(t − base), so the statistic is non-central with λ = δ²·a'V⁻¹a
    (a = t − base); the reported δ gives power ``PRETEST_POWER`` at level ``alpha``.
    Returns ``stat=None`` when there is no usable pre-period or the covariance is singular.
    """
    f = res.attgt
    s = res.settings
    nu = None
    if res.inference.codes is not None:  # Hotelling: V has ν = G − (cohort groups) df
        nu = (res.inference.n_clusters or 0) - np.unique(res.unit_cohort).size
    ref: Literal["chi2", "F"] = "chi2" if nu is None else "F"
    pre_all = np.flatnonzero((f["group"] > f["time"]).to_numpy() & f["se"].is_not_null().to_numpy())
    pre, excluded = _pretest_exclusions(f, pre_all, s)
    empty = Pretest(stat=None, df=0, p=None, excluded=tuple(excluded), alpha=s.alpha, reference=ref)
    if pre.size == 0:
        return empty
    g = f["group"].to_numpy()[pre]
    cohorts = tuple(_key(x) for x in np.unique(g))
    att = f["att"].to_numpy()[pre]
    test = wald_test(att, _scores(res.influence[:, pre], res.inference), res.n_units, nu=nu)
    if test is None:
        return replace(empty, df=int(pre.size), cohorts=cohorts)
    a = (f["time"] - f["base"]).to_numpy().astype(float)[pre]
    info = test.quadratic(a)
    lam = _noncentrality(test.df, s.alpha, PRETEST_POWER, test.df_den)  # same λ: T², its F
    mdt = math.sqrt(lam / info) if info > 0 and math.isfinite(lam) else None
    return replace(
        empty,
        stat=test.stat,
        df=test.df,
        p=test.p,
        cohorts=cohorts,
        min_detectable_slope=mdt,
        df_den=test.df_den,
    )


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _one_of(values: Sequence[str]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [f"'{v}'" for v in values]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _key(x: Any) -> int | float:
    x = float(x)
    return int(x) if x.is_integer() else x
