"""Three verdicts for a family of effect estimates: effect, no effect of practical size, or
not known — with a multiplicity adjustment. Pure functions of (estimate, standard error) pairs.

Rules, for a family of m estimates θ̂_i with standard errors s_i, a smallest effect of
interest δ > 0 (SESOI, in the estimates' units) and a family-wise level α (default 0.05). Each
test uses the normal reference, or Student's t with ν_i degrees of freedom when the estimate
comes with them (``(estimate, se, df)``: e.g. an effective number of independent units behind
a clustered standard error); z(·) below is then the t_ν quantile.

* ``effect`` — the two-sided test of θ_i = 0 rejects after Holm's step-down adjustment over the
  m estimates (Holm-adjusted p < α). The sign of θ̂_i says whether it helps or harms.
* ``no_effect`` — "no effect of practical size": the two one-sided tests (TOST) of θ_i ≤ −δ and
  θ_i ≥ δ both reject, with the TOST p-value max(p_low, p_high) Holm-adjusted over the same m
  estimates (adjusted p < α). Equivalently the estimate's (1 − 2α_(j)) interval, α_(j) the
  Holm level of its step, lies inside (−δ, +δ); with the Bonferroni level α/m (the widest
  step) that is θ̂_i ± z(1 − α/m)·s_i.
* ``inconclusive`` — neither: the data cannot tell. It carries the minimum detectable effect
  (MDE) at 80% power of a 5% two-sided test, (z(0.975) + z(0.8))·s_i ≈ 2.80·s_i (more with
  few degrees of freedom), so a reader sees what size of effect would have been visible.

An interval around zero wider than ±δ is therefore ``inconclusive``, never ``no_effect``. Both
tests control their family-wise error at α (Holm 1979, valid under any dependence); the two
families are the same m estimates. When both reject (a precisely estimated effect smaller than
δ) the verdict is ``effect`` and ``below_smallest`` is true. An estimate that could not be
formed (``None``) is ``inconclusive``, has no p-values and is not counted in m.

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian Journal
of Statistics* 6(2), 65–70.
Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
approach for assessing the equivalence of average bioavailability. *Journal of
Pharmacokinetics and Biopharmaceutics* 15(6), 657–680.
Lakens, D. (2017). Equivalence tests: a practical primer for t tests, correlations, and
meta-analyses. *Social Psychological and Personality Science* 8(4), 355–362.

Example — three estimates, SESOI 0.5:

>>> js = judge([(2.0, 0.3), (0.05, 0.1), (0.3, 1.0)], smallest=0.5)
>>> [j.verdict for j in js]
['effect', 'no_effect', 'inconclusive']
>>> round(js[2].mde, 2)
2.8
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

__all__ = [
    "VERDICTS",
    "Judgement",
    "Verdict",
    "count_se",
    "effective_df",
    "equivalence_p",
    "holm",
    "judge",
    "minimum_detectable_effect",
    "two_sided_p",
]

Verdict = Literal["effect", "no_effect", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("effect", "no_effect", "inconclusive")


@dataclass(frozen=True)
class Judgement:
    """The verdict on one estimate and the numbers behind it (estimate units).

    ``ci``: pointwise (1 − α) interval; ``ci_adjusted``: Bonferroni-simultaneous (1 − α)
    interval over the family (θ̂ ± z(1 − α/(2m))·s), which covers every θ_i at once with
    probability ≥ 1 − α when the reference distribution is right. ``df``: the degrees of
    freedom used (``None``: normal). ``p`` / ``p_adjusted``: two-sided test of 0, raw and
    Holm-adjusted;
    ``p_equivalence`` / ``p_equivalence_adjusted``: TOST against ±δ, raw and Holm-adjusted;
    ``mde``: minimum detectable effect (80% power, 5% two-sided). All ``None`` when the
    estimate could not be formed. ``family_size``: m.
    """

    verdict: Verdict
    estimate: float | None
    se: float | None
    df: float | None
    ci: tuple[float, float] | None
    ci_adjusted: tuple[float, float] | None
    p: float | None
    p_adjusted: float | None
    p_equivalence: float | None
    p_equivalence_adjusted: float | None
    mde: float | None
    below_smallest: bool
    family_size: int


def _ref(df: float | None) -> Any:
    """The reference distribution: normal, or Student's t with ``df`` degrees of freedom."""
    return stats.norm if df is None else stats.t(df)


def two_sided_p(estimate: float, se: float, df: float | None = None) -> float:
    """p-value of the two-sided test of zero (normal, or t with ``df``)."""
    return float(2 * _ref(df).sf(abs(estimate) / se))


def equivalence_p(estimate: float, se: float, smallest: float, df: float | None = None) -> float:
    """TOST p-value against (−smallest, +smallest): the larger of the two one-sided p-values."""
    ref = _ref(df)
    p_low = ref.sf((estimate + smallest) / se)  # H0: θ ≤ −δ
    p_high = ref.cdf((estimate - smallest) / se)  # H0: θ ≥ +δ
    return float(max(p_low, p_high))


def minimum_detectable_effect(
    se: float, alpha: float = 0.05, power: float = 0.8, df: float | None = None
) -> float:
    """(z(1 − α/2) + z(power)) · se: the true effect a two-sided test finds with that power."""
    ref = _ref(df)
    return float((ref.ppf(1 - alpha / 2) + ref.ppf(power)) * se)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order (monotone, capped at 1).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def _check(smallest: float, alpha: float) -> None:
    if not (math.isfinite(smallest) and smallest > 0):
        raise ValueError(f"smallest effect of interest must be > 0, got {smallest!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")


def _usable(e: tuple[float, ...] | None) -> bool:
    if e is None or not (math.isfinite(e[0]) and math.isfinite(e[1]) and e[1] > 0):
        return False
    return len(e) < 3 or e[2] is None or (math.isfinite(e[2]) and e[2] > 0)


def judge(
    estimates: Sequence[tuple[float, ...] | None],
    *,
    smallest: float,
    alpha: float = 0.05,
) -> list[Judgement]:
    """Verdicts for a family of (estimate, se) or (estimate, se, df) tuples; see the module.

    ``None`` marks an estimate that could not be formed. ``smallest`` is the smallest effect of
    interest δ (> 0) in the estimates' units; ``alpha`` the family-wise error rate of each of
    the two tests; ``df`` (optional, ``None`` = normal) the t reference's degrees of freedom.
    """
    _check(smallest, alpha)
    usable = [i for i, e in enumerate(estimates) if _usable(e)]
    m = len(usable)
    triples: list[tuple[float, float, float | None]] = []
    for i in usable:
        e = estimates[i]
        assert e is not None
        triples.append((e[0], e[1], e[2] if len(e) > 2 else None))
    p = [two_sided_p(est, se, df) for est, se, df in triples]
    p_eq = [equivalence_p(est, se, smallest, df) for est, se, df in triples]
    p_adj, p_eq_adj = holm(p), holm(p_eq)
    none = Judgement(
        "inconclusive", None, None, None, None, None, None, None, None, None, None, False, m
    )
    out: list[Judgement] = [none for _ in estimates]
    for j, i in enumerate(usable):
        est, se, df = triples[j]
        ref = _ref(df)
        z = float(ref.ppf(1 - alpha / 2))
        z_sim = float(ref.ppf(1 - alpha / (2 * m)))
        is_effect = p_adj[j] < alpha
        is_small = p_eq_adj[j] < alpha
        verdict: Verdict = "effect" if is_effect else "no_effect" if is_small else "inconclusive"
        out[i] = Judgement(
            verdict=verdict,
            estimate=est,
            se=se,
            df=df,
            ci=(est - z * se, est + z * se),
            ci_adjusted=(est - z_sim * se, est + z_sim * se),
            p=p[j],
            p_adjusted=p_adj[j],
            p_equivalence=p_eq[j],
            p_equivalence_adjusted=p_eq_adj[j],
            mde=minimum_detectable_effect(se, df=df),
            below_smallest=is_effect and is_small,
            family_size=m,
        )
    return out


def effective_df(influence: np.ndarray) -> float:
    """Kish's effective number of independent units behind a standard error built from
    per-unit influence contributions ψ_i: ν = (Σ ψ_i²)² ÷ Σ ψ_i⁴ — the degrees of freedom of the
    Student-t reference that estimates resting on few units (small cohorts, few comparison
    employees in late months) use, in the spirit of the small-cluster corrections of Bell &
    McCaffrey (2002) and Imbens & Kolesár (2016). ``nan`` when every ψ is 0.

    >>> effective_df(np.array([1.0, -1.0, 1.0, -1.0]))  # four equal contributions
    4.0
    >>> round(effective_df(np.array([10.0, 1.0, 1.0, 1.0])), 2)  # one unit carries it
    1.06
    """
    sq = np.asarray(influence, dtype=float) ** 2
    total = float(sq.sum())
    return total**2 / float((sq**2).sum()) if total > 0 else math.nan


def count_se(unit: str, numerator: float | None, denominator: float | None) -> float | None:
    """Standard error of a KPI value built from counts, as the outcome of a chance process.

    A share of people or events (unit ``ratio``, value = numerator ÷ denominator, both whole
    numbers): binomial, √(p(1 − p) ÷ denominator). Events per 100 staff (unit ``per_100``,
    value = 100 × numerator ÷ denominator, both whole numbers): Poisson, 100 × √numerator ÷
    denominator. Even over the whole staff list a year's value is one draw of how the staff
    behaved that year, so two years' values differ by chance; this is that chance. None for
    other units, non-whole counts (e.g. hours) or an empty denominator.

    >>> round(count_se("ratio", 50, 100), 4), round(count_se("per_100", 100, 1000), 4)
    (0.05, 1.0)
    >>> count_se("hours", 10, None), count_se("ratio", 10.5, 20)
    (None, None)
    """
    if numerator is None or denominator is None or denominator <= 0:
        return None
    if not (float(numerator).is_integer() and float(denominator).is_integer()):
        return None
    if unit == "ratio":
        p = numerator / denominator
        return math.sqrt(p * (1 - p) / denominator)
    if unit == "per_100":
        return 100 * math.sqrt(numerator) / denominator
    return None
