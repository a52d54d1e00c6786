"""Do behavioural KPIs move the KGIs? A department × fiscal-year panel model, in plain words.

:func:`link_panel` builds one row per department and fiscal year with the KPIs
(participation_rate, proposals_per_100, retention_rate) and KGIs (self_running_rate,
hours_saved, resident_satisfaction) of the KPI engine, by department. It uses the engine's
*unsuppressed* measure functions (:func:`dxkpi.kpi.engine.compute_kpi`): the model needs every
department's value, while suppression (:func:`dxkpi.kpi.engine.compute`) blanks small cells of
people KPIs for display. Only coefficients leave this module, never the cells.

:func:`kpi_kgi_link` fits KGI(d,t) = a_d + l_t + Σ_k b_k·KPI_k(d,t−lag) + e by OLS (statsmodels),
with department and fiscal-year fixed effects and standard errors clustered by department.
Departments with a single usable year carry no within-department information and are dropped
(reported).

Inference follows R fixest's defaults (``ssc(adj = TRUE, fixef.K = "nested", cluster.adj =
TRUE, t.df = "min")``): V = G/(G−1) · (n−1)/(n−K) · sandwich, t intervals and p-values with G−1
degrees of freedom (G departments, n department-years). fixest counts K = the model's parameters
(slopes + D departments + T years − 1 reference) minus the D − 1 department effects nested in
the department clusters, so **K = slopes + T** (T = fiscal years used). statsmodels' own
cluster correction would count K = slopes + T − 1 (the year dummies left after demeaning), which
gives SEs slightly smaller than fixest's; the sandwich is therefore computed here.

Several links are judged at once (:func:`link_all`: every KGI × KPI pair), so each link's
``p_adjusted`` is Holm's over the whole family and ``associated`` (the verdict a report calls
関連あり) uses it. Fewer than :data:`FEW_DEPARTMENTS` departments add the caution
``few_departments`` (``LinkResult.cautions``): with so few clusters the clustered SE is itself
noisy. The sentences are :func:`dxkpi.reports.narrative.describe_link`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from scipy import stats

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.core.display import Shown, number
from dxkpi.core.errors import DxkpiError
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.engine import compute_kpi
from dxkpi.models.verdicts import holm, two_sided_p

__all__ = [
    "DEFAULT_KGIS",
    "DEFAULT_KPIS",
    "FEW_DEPARTMENTS",
    "LINK_CAUTIONS",
    "PANEL_KPIS",
    "LinkError",
    "LinkResult",
    "complete_rows",
    "kpi_kgi_link",
    "lagged_frame",
    "link_all",
    "link_panel",
    "with_holm",
]

PANEL_KPIS: tuple[str, ...] = ("participation_rate", "proposals_per_100", "retention_rate")
#: The model's default KPIs. retention_rate is empty in the first fiscal year (no cohort first
#: trained the year before), so adding it costs the model one year of observations.
DEFAULT_KPIS: tuple[str, ...] = ("participation_rate", "proposals_per_100")
DEFAULT_KGIS: tuple[str, ...] = ("self_running_rate", "hours_saved", "resident_satisfaction")
#: Below this many departments (clusters) a link carries the caution ``few_departments``.
FEW_DEPARTMENTS = 20
#: The caution codes of :attr:`LinkResult.cautions` (labels: family ``link_caution``).
LINK_CAUTIONS: tuple[str, ...] = ("few_departments",)


class LinkError(DxkpiError):
    """The KPI→KGI model cannot be fitted as asked (unknown indicator, too few observations)."""


# ---------------------------------------------------------------------------------------------
# the panel
# ---------------------------------------------------------------------------------------------


def _department_values(data: Processed, kpi_id: str, years: Sequence[int]) -> pl.LazyFrame:
    """Unsuppressed department values of one indicator: department_code, fiscal_year, <kpi>."""
    return compute_kpi(data, kpi_id, years, "department").select(
        pl.col("group").alias("department_code"),
        pl.col("fiscal_year").cast(pl.Int32),
        pl.col("value").cast(pl.Float64).fill_nan(None).alias(kpi_id),
    )


def link_panel(
    data: Processed,
    *,
    kpis: Sequence[str] = PANEL_KPIS,
    kgis: Sequence[str] = DEFAULT_KGIS,
    fiscal_years: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Department × fiscal-year panel of indicator values (each in its registry unit).

    Columns: department_code, department_name, division, fiscal_year, one column per KPI and
    KGI (null where the engine leaves the value empty: no members, denominator 0, no data).
    Values are the engine's *unsuppressed* ones; do not show this frame in a report.
    """
    ids = list(dict.fromkeys([*kpis, *kgis]))
    _check_ids(ids)
    years = list(fiscal_years) if fiscal_years else data.fiscal_years()
    frames = pl.collect_all([_department_values(data, k, years) for k in ids])
    depts = data.departments.select("department_code", "department_name", "division").collect()
    grid = depts.join(
        pl.DataFrame({"fiscal_year": years}, schema={"fiscal_year": pl.Int32}), how="cross"
    )
    for frame in frames:
        grid = grid.join(frame, on=["department_code", "fiscal_year"], how="left")
    return grid.sort("department_code", "fiscal_year")


def _check_ids(ids: Sequence[str]) -> None:
    unknown = [k for k in ids if k not in REGISTRY]
    if unknown:
        raise LinkError(
            f"不明な指標IDです: {', '.join(unknown)}",
            f"unknown indicator id: {', '.join(unknown)}",
            hint_ja=f"使える指標: {', '.join(REGISTRY)}",
            hint_en=f"known: {', '.join(REGISTRY)}",
        )


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LinkResult:
    """KGI on lagged KPIs with department and year fixed effects; coefficients in registry units.

    ``coefficients``: kpi, coef (KGI units per KPI unit), se (department-clustered, fixest's
    small-sample factor), ci_low, ci_high (95%, t with n_departments − 1 df), p, p_adjusted
    (Holm over ``n_tests`` tests: this model's KPIs, or every link of :func:`link_all`) and
    associated (p_adjusted < alpha: the verdict shown as 関連あり). ``n_obs`` department-years
    and ``n_departments`` used; ``years`` the KGI fiscal years used; ``within_r2`` the share of
    the KGI's variation left after the department and year effects that the KPIs explain;
    ``dropped_singletons`` departments left out for having one usable year; ``cautions`` codes of
    :data:`LINK_CAUTIONS` that apply (``few_departments``: fewer than :data:`FEW_DEPARTMENTS`).
    """

    kgi: str
    kpis: tuple[str, ...]
    lag: int
    coefficients: pl.DataFrame
    n_obs: int
    n_departments: int
    years: tuple[int, ...]
    within_r2: float
    dropped_singletons: int
    alpha: float = 0.05
    n_tests: int = 1
    cautions: tuple[str, ...] = ()

    def _shown(self) -> list[Shown]:
        sizes = [("departments", self.n_departments), ("department-years", self.n_obs)]
        return [
            Shown(
                f"{self.kgi} per unit of {row['kpi']} (lag {self.lag})",
                row["coef"],
                None if row["ci_low"] is None else (row["ci_low"], row["ci_high"]),
                sizes,
                f"p = {number(row['p'], 3)}, Holm-adjusted over {self.n_tests} tests "
                f"p = {number(row['p_adjusted'], 3)}"
                + ("; caution: " + ", ".join(self.cautions) if self.cautions else ""),
            )
            for row in self.coefficients.iter_rows(named=True)
        ]

    def __repr__(self) -> str:
        return "LinkResult(" + "; ".join(s.text() for s in self._shown()) + ")"

    def _repr_html_(self) -> str:
        return "".join(s.html() for s in self._shown())


def complete_rows(panel: pl.DataFrame, kgi: str, kpis: Sequence[str], lag: int) -> pl.DataFrame:
    """Rows (department_code, fiscal_year, _kgi at t, KPIs at t − lag) with no missing value."""
    lagged = panel.select(
        "department_code", (pl.col("fiscal_year") + lag).cast(pl.Int32).alias("fiscal_year"), *kpis
    )
    rows = panel.select(
        "department_code", pl.col("fiscal_year").cast(pl.Int32), pl.col(kgi).alias("_kgi")
    ).join(lagged, on=["department_code", "fiscal_year"], how="inner")
    cols = ["_kgi", *kpis]
    return rows.with_columns(pl.col(cols).cast(pl.Float64).fill_nan(None)).drop_nulls(cols)


def lagged_frame(panel: pl.DataFrame, kgi: str, kpis: Sequence[str], lag: int) -> pl.DataFrame:
    """The model's rows: :func:`complete_rows` of departments with ≥ 2 usable years."""
    rows = complete_rows(panel, kgi, kpis, lag)
    return rows.filter(pl.len().over("department_code") > 1).sort("department_code", "fiscal_year")


def _demean_by(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Columns of x minus their means within each code (department)."""
    counts = np.bincount(codes).astype(float)
    sums = np.stack([np.bincount(codes, weights=col) for col in x.T], axis=1)
    return x - (sums / counts[:, None])[codes]


def _rss(y: np.ndarray, x: np.ndarray) -> float:
    if x.shape[1] == 0:
        return float(y @ y)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = y - x @ beta
    return float(r @ r)


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    se: np.ndarray
    df: int
    ssr: float


def _clustered_ols(y: np.ndarray, x: np.ndarray, cluster: np.ndarray, k: int) -> _Fit:
    """OLS of department-demeaned y on x, SEs clustered by department as fixest computes them.

    V = G/(G−1) · (n−1)/(n−K) · B⁻¹ (Σ_g s_g s_gᵀ) B⁻¹ with B = xᵀx, s_g = x_gᵀ e_g, and
    K = ``k`` (the KPI slopes + the fiscal years; fixest's ``fixef.K = "nested"``: the
    department effects are nested in the clusters and not counted). Degrees of freedom G − 1.
    """
    n, g = y.size, int(cluster.max()) + 1
    bread = np.linalg.pinv(x.T @ x)
    beta = bread @ (x.T @ y)
    e = y - x @ beta
    scores = np.zeros((g, x.shape[1]))
    np.add.at(scores, cluster, x * e[:, None])
    factor = g / (g - 1) * (n - 1) / (n - k)
    cov = factor * bread @ (scores.T @ scores) @ bread
    return _Fit(beta, np.sqrt(np.diag(cov)), g - 1, float(e @ e))


def kpi_kgi_link(
    panel: pl.DataFrame,
    kgi: str,
    kpis: Sequence[str] = DEFAULT_KPIS,
    lag: int = 1,
    alpha: float = 0.05,
) -> LinkResult:
    """Association of a KGI with KPIs ``lag`` years earlier (department and year fixed effects).

    OLS of KGI(d,t) on KPI_k(d,t−lag), all ``kpis`` in one model, with department and fiscal-year
    fixed effects; department-clustered SEs (fixest's small-sample factor, see the module
    docstring); ``p_adjusted`` is Holm's over this model's KPIs (:func:`link_all` widens it to
    every link). Rows with any missing value are left out.
    """
    _check_ids([kgi, *kpis])
    if lag < 0:
        raise LinkError("lag は0以上です。", "lag must be 0 or more.")
    rows = lagged_frame(panel, kgi, kpis, lag)
    dept = rows["department_code"].rank("dense").cast(pl.Int64).to_numpy() - 1
    years = sorted(set(rows["fiscal_year"].to_list()))
    n_params = len(kpis) + max(len(years) - 1, 0)
    n_dept = int(dept.max() + 1) if rows.height else 0
    if n_dept < 3 or rows.height <= n_dept + n_params:
        raise LinkError(
            f"観測が足りません（所属{n_dept}・観測{rows.height}）。",
            f"too few observations ({n_dept} departments, {rows.height} department-years).",
            hint_ja="年度を増やすか、指標を減らしてください。",
            hint_en="add fiscal years or use fewer KPIs.",
        )
    year_d = (
        np.column_stack([(rows["fiscal_year"] == y).to_numpy().astype(float) for y in years[1:]])
        if len(years) > 1
        else np.empty((rows.height, 0))
    )
    x = _demean_by(np.column_stack([rows[k].to_numpy() for k in kpis]), dept)
    d = _demean_by(year_d, dept) if year_d.shape[1] else year_d
    y = _demean_by(rows["_kgi"].to_numpy()[:, None], dept)[:, 0]
    flat = [k for k, col in zip(kpis, x.T, strict=True) if np.allclose(col, 0)]
    if flat:
        raise LinkError(
            f"所属内で変化しない指標があります: {', '.join(flat)}",
            f"KPI does not vary within departments: {', '.join(flat)}",
        )
    fit = _clustered_ols(y, np.column_stack([x, d]), dept, k=len(kpis) + len(years))
    k = len(kpis)
    se = fit.se[:k]
    half = stats.t.ppf(1 - alpha / 2, fit.df) * se
    p = [two_sided_p(float(b), float(s), fit.df) for b, s in zip(fit.beta[:k], se, strict=True)]
    p_adj = holm(p)
    coefs = pl.DataFrame(
        {
            "kpi": list(kpis),
            "coef": fit.beta[:k],
            "se": se,
            "ci_low": fit.beta[:k] - half,
            "ci_high": fit.beta[:k] + half,
            "p": p,
            "p_adjusted": p_adj,
            "associated": [q < alpha for q in p_adj],
        }
    )
    rss_fe = _rss(y, d)
    within = 1.0 - fit.ssr / rss_fe if rss_fe > 0 else math.nan
    n_all = complete_rows(panel, kgi, kpis, lag)["department_code"].n_unique()
    return LinkResult(
        kgi=kgi,
        kpis=tuple(kpis),
        lag=lag,
        coefficients=coefs,
        n_obs=rows.height,
        n_departments=n_dept,
        years=tuple(years),
        within_r2=within,
        dropped_singletons=n_all - n_dept,
        alpha=alpha,
        n_tests=k,
        cautions=("few_departments",) if n_dept < FEW_DEPARTMENTS else (),
    )


def link_all(
    panel: pl.DataFrame,
    *,
    kgis: Sequence[str] = DEFAULT_KGIS,
    kpis: Sequence[str] = PANEL_KPIS,
    lag: int = 1,
    separate: bool = True,
) -> tuple[list[LinkResult], pl.DataFrame]:
    """Fit every KGI on the KPIs: one model per (KGI, KPI) pair (``separate``) or per KGI.

    Separate models use every department-year each KPI has (retention_rate's empty first year
    then costs only its own model). Returns the results, with ``p_adjusted`` and ``associated``
    by Holm over every coefficient of every fitted model (:func:`with_holm`), and a frame (kgi,
    kpis, reason) of the models that could not be fitted.
    """
    specs = (
        [(g, (k,)) for g in kgis for k in kpis] if separate else [(g, tuple(kpis)) for g in kgis]
    )
    results, failed = [], []
    for kgi, ks in specs:
        try:
            results.append(kpi_kgi_link(panel, kgi, ks, lag=lag))
        except LinkError as err:
            failed.append((kgi, ",".join(ks), f"{err.ja} / {err.en}"))
    return with_holm(results), pl.DataFrame(
        failed, schema={"kgi": pl.String, "kpis": pl.String, "reason": pl.String}, orient="row"
    )


def with_holm(links: Sequence[LinkResult]) -> list[LinkResult]:
    """The links with ``p_adjusted``, ``associated`` and ``n_tests`` over all of them at once.

    Holm's step-down adjustment over every coefficient of every link (the family a report
    shows together); the links themselves are not modified.
    """
    p = [float(v) for link in links for v in link.coefficients["p"]]
    adjusted = iter(holm(p))
    out = []
    for link in links:
        p_adj = [next(adjusted) for _ in range(link.coefficients.height)]
        coefs = link.coefficients.with_columns(
            p_adjusted=pl.Series(p_adj, dtype=pl.Float64),
            associated=pl.Series([q < link.alpha for q in p_adj], dtype=pl.Boolean),
        )
        out.append(replace(link, coefficients=coefs, n_tests=len(p)))
    return out
