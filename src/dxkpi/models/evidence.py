"""How sure is the behaviour-change estimate? The numbers the reports show beside it.

One call, :func:`behaviour_evidence`, gathers for a :class:`~dxkpi.models.behaviour.BehaviourResult`
what a sceptical reader asks next, each from the module that owns it:

* **sensitivity to violations of parallel trends** (:mod:`dxkpi.models.sensitivity`): the event
  study is re-estimated with a universal base period (Rambachan & Roth need it), ``pre`` months
  before and ``post`` months after training; robust sets for the average of the ``post``
  post-training effects under relative magnitudes (M̄ in :data:`EVIDENCE_MBAR`) and smoothness
  (M = 0, 0.1, 0.25, 0.5 × SE), and both breakdown values;
* **the pre-test's power** (:mod:`dxkpi.models.pretrends`) on the report's own pre-test (the
  event study's year before training) against the linear pre-trend that, continued after
  training, would by itself produce the whole event-study average effect (``explaining_slope``);
* **why TWFE differs** (:mod:`dxkpi.models.bacon`): the Goodman-Bacon decomposition of the TWFE
  estimate on the balanced panel (staff observed in every period — the decomposition holds only
  there) and, to show that its weights reproduce it, the TWFE estimate of the same balanced
  panel (``twfe_balanced``);
* **conditional parallel trends** (optional): the same estimate with the documented default
  covariate set (:data:`dxkpi.models.behaviour.BEHAVIOUR_COVARIATES`, doubly robust).

A part that cannot be computed on the data is None with its reason in ``unavailable`` (both
languages), never a silent blank.

Speed: the robust sets for M̄ are the slow part (a conditional test per grid point and per
pre-period); the report uses 5 values of M̄ on a grid of :data:`EVIDENCE_GRID_POINTS` points over
±:data:`EVIDENCE_GRID_SE` SE, about 3 s on the sample city (the breakdown value is found by
bisection, to 10⁻³, independently of the grid).

Pure functions of the data and results: no file I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from dxkpi.core.errors import DxkpiError
from dxkpi.ingest.processed import Processed
from dxkpi.models.bacon import BaconResult, bacon
from dxkpi.models.behaviour import (
    _DID_COLS,
    BehaviourResult,
    CovariateChoice,
    estimate_panel,
    proposal_panel,
)
from dxkpi.models.contrasts import twfe
from dxkpi.models.did import att_gt
from dxkpi.models.pretrends import PretestPower, pretest_power
from dxkpi.models.sensitivity import (
    EventStudy,
    SensitivityResult,
    event_study,
    relative_magnitudes,
    smoothness,
)

__all__ = [
    "EVIDENCE_GRID_POINTS",
    "EVIDENCE_GRID_SE",
    "EVIDENCE_MBAR",
    "EVIDENCE_M_SE",
    "BehaviourEvidence",
    "behaviour_evidence",
]

#: Values of M̄ shown (relative magnitudes): from exact parallel trends to "the post-training
#: violation is as large as the largest pre-training one".
EVIDENCE_MBAR: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Values of M shown (smoothness), as multiples of the SE of the target (as ``dxkpi did``).
EVIDENCE_M_SE: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5)
#: θ grid of the M̄ sets: points, over ± this many SE of the target.
EVIDENCE_GRID_POINTS = 41
EVIDENCE_GRID_SE = 15.0


@dataclass(frozen=True, eq=False)
class BehaviourEvidence:
    """Sensitivity, pre-test power, Bacon decomposition and the covariate-adjusted estimate.

    ``rm`` / ``sd``: robust sets under relative magnitudes (M̄) and smoothness (M) for the average
    of the first ``post`` post-training event-study effects (outcome units per employee-period);
    ``power``: the pre-test's power against ``explaining_slope`` (per period);
    ``bacon``: the decomposition of TWFE on the balanced panel, whose TWFE is ``twfe_balanced``;
    ``bacon_sizes``: the decomposition's comparisons with the staff of the treated and the
    control cohort of each (``n_treated``, ``n_control``; the untreated group for a control of
    None), so that a report can leave out comparisons of cohorts below its minimum cell size.
    ``covariate``: the estimate under conditional parallel trends (None when not asked for).
    ``unavailable``: part → (ja, en) reason for each part that could not be computed.
    """

    rm: SensitivityResult | None
    sd: SensitivityResult | None
    power: PretestPower | None
    explaining_slope: float | None
    bacon: BaconResult | None
    twfe_balanced: float | None
    bacon_sizes: pl.DataFrame | None
    covariate: BehaviourResult | None
    pre: int
    post: int
    unavailable: dict[str, tuple[str, str]] = field(default_factory=dict)


def _reason(err: DxkpiError) -> tuple[str, str]:
    return err.ja, err.en


def behaviour_evidence(
    data: Processed,
    result: BehaviourResult,
    *,
    pre: int = 6,
    post: int = 6,
    mbar: tuple[float, ...] = EVIDENCE_MBAR,
    grid_points: int = EVIDENCE_GRID_POINTS,
    covariates: CovariateChoice = None,
    with_bacon: bool = True,
) -> BehaviourEvidence:
    """The evidence beside ``result`` (built by :func:`~dxkpi.models.behaviour.behaviour_change`
    on ``data`` with the default profile): see the module docstring.

    ``pre`` / ``post``: event-study periods used by the sensitivity analysis (before e = −1 and
    from e = 0). ``covariates``: ``"default"`` adds the conditional estimate (module docstring of
    :mod:`dxkpi.models.behaviour` for its cost). ``with_bacon=False`` skips the decomposition.
    """
    panel = proposal_panel(
        data,
        period=result.period,
        treatment=result.treatment,
        outcome=result.outcome,
        timing=result.timing,
    )
    settings = result.attgt.settings
    missing: dict[str, tuple[str, str]] = {}
    rm = sd = None
    try:
        universal = att_gt(
            panel,
            **_DID_COLS,
            control=settings.control,
            min_units=settings.min_units,
            base_period="universal",
        )
        es = event_study(universal, pre=pre, post=post)
        se_grid = EVIDENCE_GRID_SE * _target_se(es)
        rm = relative_magnitudes(
            es, mbar, target="average", grid_points=grid_points, grid=(-se_grid, se_grid)
        )
        sd = smoothness(es, tuple(rm.se * k for k in EVIDENCE_M_SE), target="average")
    except DxkpiError as err:
        missing["sensitivity"] = _reason(err)
    power, slope = _power(result, missing)
    b = tw = sizes = None
    if with_bacon:
        try:
            b = bacon(panel, **_DID_COLS, balance=True)
            kept = panel.filter(pl.len().over("unit") == panel["period"].n_unique())
            tw = twfe(kept, **_DID_COLS).estimate
            sizes = _with_sizes(b, kept)
        except DxkpiError as err:
            missing["bacon"] = _reason(err)
    cov = None
    if covariates is not None:
        try:
            cov = estimate_panel(
                panel,
                period=result.period,
                treatment=result.treatment,
                outcome=result.outcome,
                control=settings.control,
                min_units=settings.min_units,
                timing=result.timing,
                covariates=covariates,
            )
        except DxkpiError as err:
            missing["covariates"] = _reason(err)
    return BehaviourEvidence(rm, sd, power, slope, b, tw, sizes, cov, pre, post, missing)


def _with_sizes(b: BaconResult, kept: pl.DataFrame) -> pl.DataFrame:
    """``b.comparisons`` with the staff of each side (untreated: every unit of no timing group)."""
    n = dict(kept.group_by("first_treated").agg(pl.col("unit").n_unique()).iter_rows())
    timing = set(b.comparisons["treated"].to_list())
    untreated = b.n_units - sum(n.get(g, 0) for g in timing)
    return b.comparisons.with_columns(
        n_treated=pl.col("treated").replace_strict(n, default=0, return_dtype=pl.Int64),
        n_control=pl.when(pl.col("control").is_null())
        .then(pl.lit(untreated, dtype=pl.Int64))
        .otherwise(pl.col("control").replace_strict(n, default=0, return_dtype=pl.Int64)),
    )


def _target_se(es: EventStudy) -> float:
    return es.original_ci(es.target_vector("average"), 0.05)[1]


def _power(
    result: BehaviourResult, missing: dict[str, tuple[str, str]]
) -> tuple[PretestPower | None, float | None]:
    """Power against the linear pre-trend that alone would produce the event-study average."""
    window = result.periods_per_year
    try:
        unit = pretest_power(result.attgt, 1.0, window=window)
        if result.dynamic is None or not unit.bias_average_post:
            raise ValueError
        slope = abs(result.dynamic.att / unit.bias_average_post)
        if not math.isfinite(slope) or slope == 0:
            raise ValueError
        return pretest_power(result.attgt, slope, window=window), slope
    except DxkpiError as err:
        missing["pretest_power"] = _reason(err)
    except ValueError:
        missing["pretest_power"] = (
            "事後の効果がないため、効果を説明する傾きを定められません。",
            "no post-training effect to explain: no slope to test against.",
        )
    return None, None
