"""Did training change behaviour? A staggered DiD on an employee × period panel of proposals.

:func:`proposal_panel` turns the processed frames into one row per employee and period (month or
fiscal quarter) for every period of every fiscal year the employee is on the staff list, with
the period of their first training (the *cohort*) and their proposal count.
:func:`behaviour_change` runs the Callaway–Sant'Anna estimator of :mod:`dxkpi.models.did` on it
and sets the naive before/after and two-way fixed-effects contrasts of
:mod:`dxkpi.models.contrasts` beside it;
the effect is also expressed as extra proposals per 100 staff per year and as a ratio to the
counterfactual (what the treated would have proposed without training, :mod:`dxkpi.models.ratio`).
:func:`heterogeneity` repeats the estimate within each talent type or job level (the comparison
group is then staff of the same type or level).

Conventions, chosen and documented here:

* **Periods.** Month ``1`` is April of the first fiscal year on the staff list; periods are
  consecutive integers over the calendar (a fiscal year missing from the staff list leaves a gap
  of indices, not a renumbering). Fiscal quarters: Q1 = April–June. Labels: ``"2024-04"`` for
  months, ``"FY2024-Q1"`` for quarters.
* **Treatment** (``treatment``): ``"phase1"``/``"phase2"``/``"phase3"`` — the first session with
  status ``completed`` of a course of that phase; ``"any"`` — the first ``completed`` or
  ``attended`` session of any phase.
* **Timing** (``timing``): ``"next"`` (the default) — treatment starts in the period *after* the
  period of that session, so the completion month itself is untreated (a course completed on
  25 May cannot change May's proposals much); ``"same"`` — the whole period containing the
  session counts as treated (the older convention; it averages a partly treated first period
  into every post-treatment cell). A treatment whose first treated period falls after the window
  counts as never treated within it.
  ``first_treated`` = 0 when the employee is never treated within the window; a session before the
  window is set to period 1 (always treated: the estimator drops such employees).
  With ``timing="same"`` and quarters, training late in its quarter still makes the whole quarter
  treated, so the quarterly ATT averages partly treated first quarters.
* **Pre-trends** are judged by :func:`event_pretest` (the event study's pre-period estimates of
  the year before training, F reference), not by R did's test over every pre-treatment cell.
* **Outcome** (``outcome``): ``"submitted"`` counts every proposal by submission date;
  ``"implemented"`` counts proposals that reached status implemented, *also by submission date*
  (when the behaviour happened). Recent proposals have had less time to be implemented; that
  censoring depends on the calendar period only, so it is common to treated and comparison staff
  of the same period and differences out of every ATT(g,t), but it lowers levels near the end.
* **Profile.** ``talent_type`` and ``job_level`` are those of the employee's *first* staff row in
  the window (``profile="first"``, the default: fixed before or at entry, so mostly before training
  and not itself an outcome of training) or of their latest row (``profile="latest"``). Each
  employee has one value, so heterogeneity splits keep a unit in one group. ``department_code`` is
  that of the period's fiscal year (April transfers move it; the employee stays one unit), and
  ``department_size`` its head count on that year's staff list, ``department_size_band`` the band
  of :data:`DEPARTMENT_SIZE_BANDS` it falls in.
* **Transfers and leave** (the optional ``assignments`` dataset): when present, a period's
  ``department_code`` is that of the assignment valid on the period's first day (a mid-year
  transfer moves it from that period on), and periods that begin in an away status (育休, 派遣,
  休職) are not in the panel: the employee was not at risk of proposing. Without it, the panel is
  exactly the April staff list's.
* **Covariates** (``covariates``; off by default, see :func:`estimate_panel`): parallel trends
  conditional on the columns given, or on :data:`BEHAVIOUR_COVARIATES` with
  ``covariates="default"`` — job level, talent type (both fixed per employee, see Profile) and
  department size band (of the employee's department in the base period's fiscal year: the DiD
  takes every covariate at each comparison's base period). A tenure band is not in the set: the
  contract's staff list has no hire date, and years on the list are cut off at its first year.

Pure functions over frames: no file I/O.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np
import polars as pl
from scipy import stats

from dxkpi.core.display import Shown
from dxkpi.core.errors import DxkpiError
from dxkpi.core.fiscal import FIRST_MONTH, fiscal_month_of, fiscal_year_of
from dxkpi.ingest.processed import Processed
from dxkpi.kpi.roster import ASSIGNMENT_STATUS_COLUMN, AWAY_STATUSES, assignment_at, named_apart
from dxkpi.models.contrasts import Contrast, naive_before_after, twfe
from dxkpi.models.did import (
    Aggregation,
    AttGtResult,
    DidError,
    Pretest,
    WaldTest,
    att_gt,
    wald_test,
)
from dxkpi.models.drdid import EstMethod
from dxkpi.models.ratio import RatioEstimate, counterfactual_ratio, log_interval
from dxkpi.models.verdicts import effective_df

__all__ = [
    "BEHAVIOUR_COVARIATES",
    "DEPARTMENT_SIZE_BANDS",
    "OUTCOMES",
    "PANEL_COLUMNS",
    "PERIODS_PER_YEAR",
    "SUBGROUP_REASONS",
    "TIMINGS",
    "TREATMENTS",
    "BehaviourError",
    "BehaviourResult",
    "Composition",
    "CovariateChoice",
    "GroupBy",
    "HeterogeneityResult",
    "Outcome",
    "Period",
    "Profile",
    "Timing",
    "Treatment",
    "behaviour_change",
    "estimate_panel",
    "estimate_subgroups",
    "event_pre_columns",
    "event_pretest",
    "event_wald_test",
    "heterogeneity",
    "per_100_per_year",
    "period_index",
    "proposal_panel",
    "treatment_sessions",
]

Period = Literal["month", "quarter"]
Treatment = Literal["phase1", "phase2", "phase3", "any"]
Outcome = Literal["submitted", "implemented"]
Profile = Literal["first", "latest"]
GroupBy = Literal["talent_type", "job_level"]
Timing = Literal["next", "same"]

PERIODS_PER_YEAR: dict[str, int] = {"month": 12, "quarter": 4}
TREATMENTS: tuple[str, ...] = ("phase1", "phase2", "phase3", "any")
TIMINGS: tuple[str, ...] = ("next", "same")
OUTCOMES: tuple[str, ...] = ("submitted", "implemented")
PANEL_COLUMNS: tuple[str, ...] = (
    "unit",
    "period",
    "period_label",
    "fiscal_year",
    "department_code",
    "first_treated",
    "proposals",
    "talent_type",
    "job_level",
    "department_size",
    "department_size_band",
)
#: Lower bounds of the department size bands above the first (head count on the fiscal year's
#: staff list): 1–29, 30–59, 60 and more staff. On the sample city (7–147 staff per department
#: and year, median 46) they hold about 15%, 35% and 50% of the employees.
DEPARTMENT_SIZE_BANDS: tuple[int, ...] = (30, 60)
#: The documented default covariate set (``covariates="default"``): job level, talent type and
#: department size band — what the contract's staff list says about an employee before
#: training. Job level and talent type are fixed per employee (see Profile in the module
#: docstring); the size band is taken at each comparison's base period.
BEHAVIOUR_COVARIATES: tuple[str, ...] = ("job_level", "talent_type", "department_size_band")
#: Covariates for the behaviour estimate: columns of the panel, ``"default"`` (=
#: :data:`BEHAVIOUR_COVARIATES`) or None (unconditional parallel trends).
CovariateChoice = Sequence[str] | Literal["default"] | None


class BehaviourError(DxkpiError):
    """The behaviour-change analysis cannot be run as asked (option, data, too few people)."""


# ---------------------------------------------------------------------------------------------
# the panel
# ---------------------------------------------------------------------------------------------


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise BehaviourError(
            f"{name} は {' / '.join(allowed)} のいずれかです（{value!r}）。",
            f"{name} must be one of {', '.join(allowed)} (got {value!r}).",
        )


def period_index(date: pl.Expr, first_fy: int, period: Period) -> pl.Expr:
    """Period index of a date: 1 = first month (April) or quarter (Q1) of ``first_fy``. Int64."""
    per_year = PERIODS_PER_YEAR[period]
    within = (fiscal_month_of(date) - 1) // (12 // per_year)
    return ((fiscal_year_of(date) - first_fy) * per_year + within + 1).cast(pl.Int64)


def _period_label(fiscal_year: pl.Expr, within: pl.Expr, period: Period) -> pl.Expr:
    """ "2024-04" (calendar month) or "FY2024-Q1" (fiscal quarter) from FY and 0-based index."""
    if period == "quarter":
        return pl.format("FY{}-Q{}", fiscal_year, within + 1)
    months = within + FIRST_MONTH - 1  # calendar months since January of the fiscal year
    year = fiscal_year + (months >= 12).cast(pl.Int32)
    month = months % 12 + 1
    return pl.format("{}-{}", year, month.cast(pl.String).str.zfill(2))


def _profile(staff: pl.LazyFrame, profile: Profile) -> pl.LazyFrame:
    """Per employee: talent_type and job_level of their first or latest staff row."""
    _check_choice("profile", profile, ("first", "latest"))

    def pick(col: str) -> pl.Expr:
        ordered = pl.col(col).sort_by("fiscal_year")
        return ordered.last() if profile == "latest" else ordered.first()

    return staff.group_by("employee_id").agg(pick("talent_type"), pick("job_level"))


def _size_band(size: pl.Expr) -> pl.Expr:
    """The :data:`DEPARTMENT_SIZE_BANDS` band of a head count: ``"1-29"``, ``"30-59"``,
    ``"60+"``."""
    cuts = (1, *DEPARTMENT_SIZE_BANDS)
    band = pl.lit(f"{cuts[-1]}+")
    for lo, hi in reversed(list(itertools.pairwise(cuts))):
        band = pl.when(size < hi).then(pl.lit(f"{lo}-{hi - 1}")).otherwise(band)
    return band


def _department_sizes(staff: pl.LazyFrame) -> pl.LazyFrame:
    """Per fiscal year and department: head count on the staff list and its size band."""
    return (
        staff.group_by("fiscal_year", "department_code")
        .agg(pl.len().cast(pl.Int64).alias("department_size"))
        .with_columns(_size_band(pl.col("department_size")).alias("department_size_band"))
    )


def _staff_periods(staff: pl.LazyFrame, first_fy: int, period: Period) -> pl.LazyFrame:
    """One row per staff row and period of its fiscal year: unit, period, label, FY, department."""
    per_year = PERIODS_PER_YEAR[period]
    return (
        staff.with_columns(_within=pl.int_ranges(0, per_year, dtype=pl.Int32))
        .explode("_within")
        .select(
            pl.col("employee_id").alias("unit"),
            ((pl.col("fiscal_year") - first_fy) * per_year + pl.col("_within") + 1)
            .cast(pl.Int64)
            .alias("period"),
            _period_label(pl.col("fiscal_year"), pl.col("_within"), period).alias("period_label"),
            "fiscal_year",
            "department_code",
        )
    )


def _dated_periods(data: Processed, periods: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    """Staff periods under the effective-dated roster: each period takes the assignment valid
    on its first day (:func:`dxkpi.kpi.roster.assignment_at`) for its department, and periods
    in an away status (育休, 派遣, 休職) leave the panel — the employee was not at work.

    Only the periods of employees the roster names are dated (:func:`dxkpi.kpi.roster.named_apart`);
    the others keep their staff row's department, at work, as :func:`assignment_at` would
    give them. Rows come out in no particular order (the panel is sorted)."""
    months_per_period = 12 // PERIODS_PER_YEAR[period]
    month = (pl.col("period") - 1) % PERIODS_PER_YEAR[period] * months_per_period
    first_day = pl.date(
        pl.col("fiscal_year") + (month >= 9).cast(pl.Int32), (month + 3) % 12 + 1, 1
    )
    names = periods.collect_schema().names()
    named, others = named_apart(data, periods, on="unit")
    frame = named.with_columns(employee_id=pl.col("unit"), _first_day=first_day)
    dated = (
        assignment_at(data, frame, "_first_day")
        .filter(~pl.col(ASSIGNMENT_STATUS_COLUMN).is_in(AWAY_STATUSES))
        .select(names)
    )
    return pl.concat([dated, others], how="vertical")


def treatment_sessions(data: Processed, treatment: Treatment) -> pl.LazyFrame:
    """Attendance rows that count as treatment: employee_id, session_date."""
    _check_choice("treatment", treatment, TREATMENTS)
    att = data.require("attendance")
    if treatment == "any":
        return att.filter(pl.col("status").is_in(["completed", "attended"])).select(
            "employee_id", "session_date"
        )
    phase = int(treatment[-1])
    courses = data.require("courses").select("course_id", pl.col("phase").cast(pl.Int64))
    return (
        att.filter(pl.col("status") == "completed")
        .join(courses, on="course_id", how="inner")
        .filter(pl.col("phase") == phase)
        .select("employee_id", "session_date")
    )


def _first_treated(
    data: Processed,
    treatment: Treatment,
    first_fy: int,
    last_period: int,
    period: Period,
    timing: Timing = "next",
) -> pl.LazyFrame:
    """Per treated employee: the first treated period (clamped to ≥ 1; 0 = after the window)."""
    first = (
        treatment_sessions(data, treatment)
        .group_by("employee_id")
        .agg(pl.col("session_date").min())
    )
    idx = period_index(pl.col("session_date"), first_fy, period) + (1 if timing == "next" else 0)
    return first.select(
        pl.col("employee_id").alias("unit"),
        pl.when(idx > last_period)
        .then(0)
        .otherwise(pl.max_horizontal(idx, pl.lit(1)))
        .cast(pl.Int64)
        .alias("first_treated"),
    )


def _outcome_counts(
    data: Processed, outcome: Outcome, first_fy: int, period: Period
) -> pl.LazyFrame:
    """Proposal counts per employee and period of submission: unit, period, proposals."""
    _check_choice("outcome", outcome, OUTCOMES)
    props = data.require("proposals")
    if outcome == "implemented":
        props = props.filter(pl.col("status") == "implemented")
    return props.group_by(
        pl.col("employee_id").alias("unit"),
        period_index(pl.col("submitted_on"), first_fy, period).alias("period"),
    ).agg(pl.len().cast(pl.Int64).alias("proposals"))


def proposal_panel(
    data: Processed,
    *,
    period: Period = "month",
    treatment: Treatment = "phase2",
    outcome: Outcome = "submitted",
    profile: Profile = "first",
    timing: Timing = "next",
) -> pl.DataFrame:
    """Employee × period panel of proposal counts (proposals per employee-period).

    Columns (:data:`PANEL_COLUMNS`): unit (employee_id), period (Int64, 1 = first period of the
    first fiscal year on the staff list), period_label, fiscal_year, department_code (of that
    fiscal year), first_treated (first treated period, see ``timing``; 0 = never within the
    window),
    proposals (count in the period; 0 when none), talent_type and job_level (of the employee's
    first or latest staff row, see ``profile``), department_size (head count of that
    department on that fiscal year's staff list) and department_size_band (``"1-29"``,
    ``"30-59"``, ``"60+"``: :data:`DEPARTMENT_SIZE_BANDS`). One row per period of every fiscal
    year the employee is on the staff list (with assignments: but the periods away); proposals
    outside those periods are not counted.
    Sorted by unit and period. See the module docstring for the conventions.
    """
    _check_choice("period", period, tuple(PERIODS_PER_YEAR))
    _check_choice("timing", timing, TIMINGS)
    staff = data.staff.select(
        pl.col("fiscal_year").cast(pl.Int32),
        "employee_id",
        "department_code",
        pl.col("job_level"),
        pl.col("talent_type").fill_null("unassigned"),
    )
    years = staff.select(
        pl.col("fiscal_year").min().alias("lo"), pl.col("fiscal_year").max().alias("hi")
    ).collect()
    first_fy, last_fy = years["lo"][0], years["hi"][0]
    if first_fy is None:
        raise BehaviourError(
            "職員名簿が空です。",
            "the staff list is empty.",
            hint_ja="取り込み結果を確認してください。",
            hint_en="check the ingested staff list.",
        )
    last_period = (last_fy - first_fy + 1) * PERIODS_PER_YEAR[period]
    periods = _staff_periods(staff, first_fy, period)
    if data.assignments is not None:
        periods = _dated_periods(data, periods, period)
    panel = (
        periods.join(
            _first_treated(data, treatment, first_fy, last_period, period, timing),
            on="unit",
            how="left",
        )
        .join(_outcome_counts(data, outcome, first_fy, period), on=["unit", "period"], how="left")
        .join(_profile(staff, profile).rename({"employee_id": "unit"}), on="unit", how="left")
        .join(_department_sizes(staff), on=["fiscal_year", "department_code"], how="left")
        .with_columns(pl.col("first_treated", "proposals").fill_null(0))
        .select(PANEL_COLUMNS)
        .sort("unit", "period")
    )
    return panel.collect()


# ---------------------------------------------------------------------------------------------
# effect conversions
# ---------------------------------------------------------------------------------------------


def per_100_per_year(att: float, periods_per_year: int) -> float:
    """Extra proposals per 100 staff per year from an ATT per employee-period."""
    return att * periods_per_year * 100.0


def _scaled(
    ci: tuple[float, float] | None, f: Callable[[float], float | None]
) -> tuple[float, float] | None:
    if ci is None:
        return None
    lo, hi = f(ci[0]), f(ci[1])
    if lo is None or hi is None:
        return None
    return (lo, hi)


# ---------------------------------------------------------------------------------------------
# the estimate
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BehaviourResult:
    """Effect of training on proposals per employee-period, with contrasts and conversions.

    ``simple`` is the overall ATT (cohort-size weighted mean of the post-treatment ATT(g,t)),
    proposals per employee-period; ``dynamic`` the event study (None if it cannot be formed).
    ``pretest`` is R did's joint test over every pre-treatment ATT(g,t) (often unavailable with
    monthly cells); ``pretest_event`` the joint test of the event study's pre-period estimates
    of the year before training (:func:`event_pretest`; the one reports use).
    ``naive`` / ``twfe``: the contrasts (None when they cannot be computed).
    ``per_100_year`` = ATT × periods per year × 100 (extra proposals per 100 staff per year);
    ``ratio``: the treated's mean over the same cells ÷ its estimated counterfactual
    (:func:`dxkpi.models.ratio.counterfactual_ratio`; 1.0 = no change; None when the
    counterfactual mean is not positive). ``timing``: when treatment starts (module docstring).
    ``covariates``: the covariates parallel trends were conditioned on (empty: none) with the
    DiD's ``est_method``; the propensity-score overlap is ``attgt.overlap``.
    """

    period: Period
    treatment: Treatment
    outcome: Outcome
    control: str
    attgt: AttGtResult
    simple: Aggregation
    dynamic: Aggregation | None
    pretest: Pretest
    pretest_event: Pretest
    naive: Contrast | None
    twfe: Contrast | None
    n_employees: int
    n_used: int
    n_treated: int
    n_comparison_only: int
    n_cohorts: int
    periods_per_year: int
    per_100_year: float
    per_100_year_ci: tuple[float, float] | None
    ratio: RatioEstimate | None
    timing: Timing = "next"
    notes: tuple[str, ...] = field(default=())
    covariates: tuple[str, ...] = ()
    est_method: EstMethod = "dr"

    @property
    def att(self) -> float:
        """Overall ATT, proposals per employee-period."""
        return self.simple.att

    @property
    def ci(self) -> tuple[float, float] | None:
        """95% interval of the overall ATT, proposals per employee-period."""
        return self.simple.ci

    def _shown(self) -> Shown:
        sizes = [
            ("employees", self.n_employees),
            ("treated", self.n_treated),
            ("cohorts", self.n_cohorts),
        ]
        per_100 = f"{self.per_100_year:+.1f} proposals per 100 staff per year"
        if self.per_100_year_ci is not None:
            lo, hi = self.per_100_year_ci
            per_100 += f" ({lo:+.1f} to {hi:+.1f})"
        name = f"ATT, {self.outcome} proposals per employee-{self.period}"
        return Shown(name, self.att, self.ci, sizes, per_100)

    def __repr__(self) -> str:
        return f"BehaviourResult({self._shown().text()})"

    def _repr_html_(self) -> str:
        return self._shown().html()

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no frames except the event study rows)."""

        def contrast(c: Contrast | None) -> dict[str, Any] | None:
            return (
                None
                if c is None
                else {
                    "estimate": c.estimate,
                    "se": c.se,
                    "ci": list(c.ci),
                    "n": c.n,
                    "n_obs": c.n_obs,
                }
            )

        dyn = None if self.dynamic is None else self.dynamic.to_json_dict()
        r = self.ratio
        ov = self.attgt.overlap
        return {
            "period": self.period,
            "treatment": self.treatment,
            "timing": self.timing,
            "outcome": self.outcome,
            "control": self.control,
            "att": self.att,
            "se": self.simple.se,
            "ci": None if self.ci is None else list(self.ci),
            "per_100_year": self.per_100_year,
            "per_100_year_ci": None if self.per_100_year_ci is None else list(self.per_100_year_ci),
            "ratio": None if r is None else r.ratio,
            "ratio_ci": None if r is None or r.ratio_ci is None else list(r.ratio_ci),
            "percent_change": None if r is None else r.percent,
            "percent_change_ci": None if r is None or r.percent_ci is None else list(r.percent_ci),
            "treated_mean": None if r is None else r.treated_mean,
            "counterfactual_mean": None if r is None else r.counterfactual_mean,
            "pretest": _pretest_json(self.pretest),
            "pretest_event": _pretest_json(self.pretest_event),
            "dynamic": dyn,
            "naive": contrast(self.naive),
            "twfe": contrast(self.twfe),
            "n_employees": self.n_employees,
            "n_used": self.n_used,
            "n_treated": self.n_treated,
            "n_comparison_only": self.n_comparison_only,
            "n_cohorts": self.n_cohorts,
            "notes": list(self.notes),
            "covariates": list(self.covariates),
            "est_method": self.est_method if self.covariates else None,
            "overlap": None if ov is None else ov.to_json_dict(),
        }


def _pretest_json(p: Pretest) -> dict[str, Any]:
    return {"stat": p.stat, "df": p.df, "p": p.p}


class _DidColumns(TypedDict):
    unit: str
    time: str
    group: str
    outcome: str


_DID_COLS: _DidColumns = {
    "unit": "unit",
    "time": "period",
    "group": "first_treated",
    "outcome": "proposals",
}


def _contrast(
    fn: Callable[..., Contrast], panel: pl.DataFrame
) -> tuple[Contrast | None, str | None]:
    try:
        return fn(panel, **_DID_COLS), None
    except DidError as err:
        return None, f"{fn.__name__}: {err.en}"


def event_pretest(dynamic: Aggregation | None, window: int | None = None) -> Pretest:
    """Joint test that the event study's pre-period estimates (−window <= e < 0) are all zero.

    Returns the Wald statistic W, its df k and a p-value from the small-sample (Hotelling-type)
    reference: W·(n − k) / (k·(n − 1)) ~ F(k, n − k), n = employees (clusters) — the
    :func:`~dxkpi.models.did.wald_test` with ν = n − 1.

    Why not R did's test over every pre-treatment ATT(g,t): with monthly periods there are
    hundreds of such cells, many from small cohorts, and their covariance is singular or noisy.
    The event study pools cohorts at each event time. Far pre-periods (e = −40) rest on the
    latest cohorts only, and a Wald test of many restrictions with a covariance estimated from
    few units over-rejects; limiting the test to the ``window`` periods before training (one year
    in :func:`estimate_panel`) and the F reference keep its size near nominal — on seven
    simulated sample cities without pre-trends, p-values of talent-type and job-level subgroups
    spread over 0–1 instead of piling up at 0 as the plain chi-square over all 43 monthly
    pre-periods did. ``stat=None`` when no pre-period is usable or the covariance is singular.
    """
    if dynamic is None or dynamic.by is None or dynamic.by_influence is None:
        return Pretest(stat=None, df=0, p=None, reference="F")
    pre = event_pre_columns(dynamic, window)
    test = event_wald_test(dynamic, pre)
    if test is None:
        return Pretest(stat=None, df=int(pre.size), p=None, reference="F")
    return Pretest(stat=test.stat, df=test.df, p=test.p, reference="F", df_den=test.df_den)


def event_pre_columns(dynamic: Aggregation, window: int | None = None) -> np.ndarray:
    """Rows of ``dynamic.by`` that :func:`event_pretest` tests: −window <= e < 0 with an SE."""
    assert dynamic.by is not None
    key = dynamic.by["key"].to_numpy()
    usable = (key < 0) & dynamic.by["se"].is_not_null().to_numpy()
    if window is not None:
        usable &= key >= -window
    return np.flatnonzero(usable)


def event_wald_test(dynamic: Aggregation, rows: np.ndarray) -> WaldTest | None:
    """The Wald test of :func:`event_pretest` on the given event-time rows (F reference with
    ν = employees − 1)."""
    assert dynamic.by is not None and dynamic.by_influence is not None
    n = dynamic.by_influence.shape[0]
    att = dynamic.by["att"].to_numpy()[rows]
    return wald_test(att, dynamic.by_influence[:, rows], n, nu=n - 1)


def _dynamic(res: AttGtResult) -> Aggregation | None:
    try:
        return res.aggregate("dynamic")
    except DidError:
        return None


def estimate_panel(
    panel: pl.DataFrame,
    *,
    period: Period = "month",
    treatment: Treatment = "phase2",
    outcome: Outcome = "submitted",
    control: str = "notyet",
    min_units: int = 10,
    boot_draws: int = 0,
    seed: int | None = None,
    timing: Timing = "next",
    covariates: CovariateChoice = None,
    est_method: EstMethod = "dr",
) -> BehaviourResult:
    """The behaviour-change estimate on a ready panel (columns as :func:`proposal_panel`).

    ``timing`` records the convention the panel was built with (it does not rebuild it).

    ``covariates``: columns of the panel to make parallel trends conditional on (each taken at
    the comparison's base period), ``"default"`` for :data:`BEHAVIOUR_COVARIATES` (job level,
    talent type, department size band), or None — the default: unconditional parallel trends,
    as R did's default. ``est_method``: ``"dr"`` (doubly robust), ``"ipw"`` or ``"reg"``
    (:func:`dxkpi.models.did.att_gt`). A covariate with one value on the whole panel adjusts
    nothing and is left out (said in ``notes``).

    Why off by default. (1) In a roll-out by department waves, as in the built-in sample city,
    who is trained when does not depend on job level, talent type or department size except
    through the department's wave, so the unconditional comparison is already unbiased: on the
    sample city (seed 7) both recover the planted 0.0425 proposals per employee-month —
    0.0408 [0.0255, 0.0562] without covariates, 0.0386 [0.0231, 0.0541] with the default set —
    and every sample-city test of ``tests/models/test_behaviour.py`` (both cities, the subgroup
    estimates with the same known misses) passes with the default set switched on as off.
    (2) Monthly cohorts are small (10–30 staff): every cell then fits a logit and a regression
    on up to eight columns, a few cells fail overlap (3 of 835 on the sample city) and the
    interval rests on more estimated parts (``benchmarks/did_covariates.py``: with 1,000
    employees and a wrong outcome model the doubly robust interval covers about 92%). (3) The
    DiD takes about six times as long (4.5 s against 0.7 s on the sample city; the whole
    estimate 5.1 s against 1.6 s). (4) The contrasts beside it (naive, TWFE) are unconditional
    too, so the default compares like with like. Turn it on (``covariates="default"``) when the
    roll-out chose its staff — volunteers, leaders or one job level first: the unconditional
    estimate then compares different people, the conditional one like with like, and the two
    side by side show how much the choice of staff matters.
    """
    names, dropped = _usable_covariates(panel, covariates)
    try:
        res = att_gt(
            panel,
            **_DID_COLS,
            control=control,
            min_units=min_units,
            boot_draws=boot_draws,
            seed=seed,
            covariates=names,
            est_method=est_method,
        )
        simple = res.aggregate("simple")
    except DidError as err:
        raise BehaviourError(
            f"行動変容の推定ができません: {err.ja}",
            f"the behaviour-change estimate failed: {err.en}",
            hint_ja=err.hint_ja,
            hint_en=err.hint_en,
        ) from err
    dynamic = _dynamic(res)
    naive, note_n = _contrast(naive_before_after, panel)
    tw, note_t = _contrast(twfe, panel)
    cohorts = np.unique(res.attgt["group"].to_numpy())
    per_year = PERIODS_PER_YEAR[period]

    def to_100(x: float) -> float:
        return per_100_per_year(x, per_year)

    return BehaviourResult(
        period=period,
        treatment=treatment,
        outcome=outcome,
        control=res.settings.control,
        attgt=res,
        simple=simple,
        dynamic=dynamic,
        pretest=res.pretest(),
        pretest_event=event_pretest(dynamic, window=per_year),
        naive=naive,
        twfe=tw,
        n_employees=int(panel["unit"].n_unique()),
        n_used=res.n_units,
        n_treated=int(np.isin(res.unit_cohort, cohorts).sum()),
        n_comparison_only=int(np.isinf(res.unit_cohort).sum()),
        n_cohorts=int(cohorts.size),
        periods_per_year=per_year,
        per_100_year=to_100(simple.att),
        per_100_year_ci=_scaled(simple.ci, to_100),
        ratio=counterfactual_ratio(res, simple),
        timing=timing,
        notes=tuple(n for n in (note_n, note_t, *dropped) if n),
        covariates=names,
        est_method=est_method,
    )


def _usable_covariates(
    panel: pl.DataFrame, covariates: CovariateChoice
) -> tuple[tuple[str, ...], list[str]]:
    """The covariates to use (``"default"`` resolved) and a note per covariate left out for
    having one value on the whole panel (e.g. talent type within one talent type's panel)."""
    if covariates is None:
        return (), []
    if isinstance(covariates, str):
        wanted = BEHAVIOUR_COVARIATES if covariates == "default" else tuple(covariates.split(","))
    else:
        wanted = tuple(covariates)
    names: list[str] = []
    notes: list[str] = []
    for name in (w.strip() for w in wanted):
        if name in panel.columns and panel[name].n_unique() < 2:
            notes.append(f"covariate {name} has one value on this panel: left out")
        elif name:
            names.append(name)
    return tuple(names), notes


def behaviour_change(
    data: Processed,
    *,
    period: Period = "month",
    treatment: Treatment = "phase2",
    outcome: Outcome = "submitted",
    control: str = "notyet",
    min_units: int = 10,
    boot_draws: int = 0,
    seed: int | None = None,
    profile: Profile = "first",
    timing: Timing = "next",
    covariates: CovariateChoice = None,
    est_method: EstMethod = "dr",
) -> BehaviourResult:
    """Effect of first training on proposals per employee-period (staggered DiD), with contrasts.

    Builds :func:`proposal_panel` and estimates ATT(g,t) (Callaway & Sant'Anna; comparison group
    ``control``: ``"notyet"`` = never plus not-yet-treated staff, ``"never"`` = never-treated
    only). Cohorts or comparison groups with fewer than ``min_units`` employees in a cell are left
    out (listed in ``result.attgt.skipped``); the default 10 matches the privacy threshold k.
    ``timing``: ``"next"`` (default) treats staff from the period after their training period,
    ``"same"`` from the training period itself (module docstring). ``covariates`` and
    ``est_method``: conditional parallel trends, off by default (:func:`estimate_panel` says
    why; ``covariates="default"`` uses :data:`BEHAVIOUR_COVARIATES`).
    """
    panel = proposal_panel(
        data, period=period, treatment=treatment, outcome=outcome, profile=profile, timing=timing
    )
    return estimate_panel(
        panel,
        period=period,
        treatment=treatment,
        outcome=outcome,
        control=control,
        min_units=min_units,
        boot_draws=boot_draws,
        seed=seed,
        timing=timing,
        covariates=covariates,
        est_method=est_method,
    )


# ---------------------------------------------------------------------------------------------
# heterogeneity
# ---------------------------------------------------------------------------------------------

#: Why a group has no estimate of its own (labels: family ``subgroup_reason``), in the order
#: they are checked: fewer staff than the minimum cell size (suppressed: no sizes shown), fewer
#: than ``min_treated`` trained staff, no untrained staff of the group to compare with, no
#: cohort-month cell with ``min_units`` treated and comparison staff.
SUBGROUP_REASONS: tuple[str, ...] = (
    "below_min_cell",
    "few_treated",
    "no_comparison",
    "no_estimable_cell",
)
Composition = Literal["below", "above"]


@dataclass(frozen=True, eq=False)
class HeterogeneityResult:
    """Separate behaviour-change estimates per group, proposals per employee-period.

    Each group's estimate is a within-group comparison: the DiD runs on the group's own panel,
    so treated and comparison staff both belong to the group.

    ``table``: group, n_employees, n_treated, n_comparison, n_cohorts, att, se, df, ci_low,
    ci_high (pointwise 95%), ci_adj_low, ci_adj_high (Bonferroni-simultaneous over the estimated
    groups), per_100_year, ratio, ratio_low, ratio_high (to the counterfactual, see
    :mod:`dxkpi.models.ratio`), pretest_p, exposure (mean periods since the training
    period over the estimate's cells, weighted as the estimate weights them). Intervals use
    Student's t with ``df`` = Kish's effective number of employees behind the SE (a group's
    estimate can rest on a few small cohorts; the per-course estimates use the same
    reference): over 200 simulated sample cities (``benchmarks/subgroup_coverage.py``) the
    normal reference covered the planted group effects 92.0–96.5% of the time (93.8% overall)
    and this one 94.5–97.5%.
    ``left_out``: group, n_employees, n_treated, n_comparison (null when suppressed), reason
    (a code of :data:`SUBGROUP_REASONS`), threshold (the number the reason refers to).
    ``results``: the full :class:`BehaviourResult` per group.
    ``overall_att`` / ``overall_ci`` / ``overall_exposure``: the estimate over every employee
    with the same settings (None when it cannot be formed). ``composition``: ``"below"`` /
    ``"above"`` when every group's estimate (at least two) lies below / above the overall one —
    the overall then differs from each group by how it weights cohorts and months, not by any
    group's effect. ``min_cell``: the privacy threshold k used.
    """

    by: GroupBy
    table: pl.DataFrame
    left_out: pl.DataFrame
    results: dict[str, BehaviourResult]
    overall_att: float | None = None
    overall_ci: tuple[float, float] | None = None
    overall_exposure: float | None = None
    composition: Composition | None = None
    min_cell: int = 10

    def __repr__(self) -> str:
        lines = [f"HeterogeneityResult(by={self.by}):"]
        lines += [f"  {group}: {r._shown().text()}" for group, r in self.results.items()]
        lines += [
            f"  {row['group']}: not estimated ({row['reason']})"
            for row in self.left_out.iter_rows(named=True)
        ]
        if self.composition is not None:
            lines.append(f"  every group {self.composition} the overall {self.overall_att:.4g}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [
            f"<h4>{html.escape(group)}</h4>{r._repr_html_()}" for group, r in self.results.items()
        ]
        parts += [
            f"<p>{html.escape(row['group'])}: not estimated ({html.escape(row['reason'])})</p>"
            for row in self.left_out.iter_rows(named=True)
        ]
        return "".join(parts)


_HET_SCHEMA = {
    "group": pl.String,
    "n_employees": pl.Int64,
    "n_treated": pl.Int64,
    "n_comparison": pl.Int64,
    "n_cohorts": pl.Int64,
    "att": pl.Float64,
    "se": pl.Float64,
    "df": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "ci_adj_low": pl.Float64,
    "ci_adj_high": pl.Float64,
    "per_100_year": pl.Float64,
    "ratio": pl.Float64,
    "ratio_low": pl.Float64,
    "ratio_high": pl.Float64,
    "pretest_p": pl.Float64,
    "exposure": pl.Float64,
}
_LEFT_SCHEMA = {
    "group": pl.String,
    "n_employees": pl.Int64,
    "n_treated": pl.Int64,
    "n_comparison": pl.Int64,
    "reason": pl.String,
    "threshold": pl.Int64,
}


def _exposure(res: AttGtResult) -> float | None:
    """Mean periods since the training period (t − g) over the post cells, cohort-share weighted.

    The weights are those of the simple aggregation (each post cell ∝ its cohort's share of
    units), so this is the average time since training the estimate describes.
    """
    event_time = (res.attgt["time"] - res.attgt["group"]).cast(pl.Float64).to_numpy()
    try:
        return res.aggregate_values(event_time).att
    except DidError:  # no post-treatment cell
        return None


def _het_row(group: str, r: BehaviourResult, n_comparison: int, family: int) -> dict[str, Any]:
    """One group's row: its intervals use Student's t with Kish's effective number of employees
    behind the SE (:func:`dxkpi.models.verdicts.effective_df`), pointwise and Bonferroni over
    the ``family`` groups estimated; the ratio's interval the same reference."""
    se = r.simple.se
    df = effective_df(r.simple.influence)
    t = float(stats.t.ppf(0.975, df)) if df > 0 else math.inf
    t_adj = float(stats.t.ppf(1 - 0.05 / (2 * family), df)) if df > 0 else math.inf
    ratio = r.ratio
    ratio_ci = (
        None
        if ratio is None or ratio.se_log is None or not math.isfinite(t)
        else log_interval(ratio.ratio, ratio.se_log, t)
    )
    return {
        "group": group,
        "n_employees": r.n_employees,
        "n_treated": r.n_treated,
        "n_comparison": n_comparison,
        "n_cohorts": r.n_cohorts,
        "att": r.att,
        "se": se,
        "df": df,
        "ci_low": None if se is None else r.att - t * se,
        "ci_high": None if se is None else r.att + t * se,
        "ci_adj_low": None if se is None else r.att - t_adj * se,
        "ci_adj_high": None if se is None else r.att + t_adj * se,
        "per_100_year": r.per_100_year,
        "ratio": None if ratio is None else ratio.ratio,
        "ratio_low": None if ratio_ci is None else ratio_ci[0],
        "ratio_high": None if ratio_ci is None else ratio_ci[1],
        "pretest_p": r.pretest_event.p,
        "exposure": _exposure(r.attgt),
    }


def _group_sizes(panel: pl.DataFrame, by: GroupBy, control: str) -> pl.DataFrame:
    """Per group: employees, ever-trained employees, and comparison employees.

    Comparison employees: never trained within the window, plus (``control="notyet"``) those
    first trained after the group's earliest cohort that has a pre-training period — the staff
    a cohort of the group can be compared with while not yet trained.
    """
    first = panel.group_by("unit").agg(
        pl.col(by).first().alias("group"), pl.col("first_treated").first()
    )
    lo = int(panel["period"].min())  # type: ignore[arg-type]
    earliest = pl.col("first_treated").filter(pl.col("first_treated") > lo).min().over("group")
    later = (pl.col("first_treated") > earliest).fill_null(False)
    comparison = (pl.col("first_treated") == 0) | (later if control != "never" else pl.lit(False))
    return (
        first.with_columns(_cmp=comparison)
        .group_by("group")
        .agg(
            pl.len().cast(pl.Int64).alias("n_employees"),
            (pl.col("first_treated") > 0).sum().cast(pl.Int64).alias("n_treated"),
            pl.col("_cmp").sum().cast(pl.Int64).alias("n_comparison"),
        )
        .sort("group")
    )


def _composition(overall: float | None, atts: list[float]) -> Composition | None:
    """``"below"``/``"above"`` when every group estimate (≥ 2) is below/above the overall."""
    if overall is None or len(atts) < 2:
        return None
    if all(a < overall for a in atts):
        return "below"
    if all(a > overall for a in atts):
        return "above"
    return None


def heterogeneity(
    data: Processed,
    by: GroupBy = "talent_type",
    *,
    period: Period = "month",
    treatment: Treatment = "phase2",
    outcome: Outcome = "submitted",
    control: str = "notyet",
    min_units: int = 10,
    min_treated: int = 30,
    min_cell: int = 10,
    profile: Profile = "first",
    timing: Timing = "next",
    overall: BehaviourResult | None = None,
    covariates: CovariateChoice = None,
    est_method: EstMethod = "dr",
) -> HeterogeneityResult:
    """Behaviour-change estimate within each talent type or job level, with group sizes.

    Builds :func:`proposal_panel` and runs :func:`estimate_subgroups` on it (``overall``: the
    estimate over everyone with the same settings, when the caller has it already).
    """
    panel = proposal_panel(
        data, period=period, treatment=treatment, outcome=outcome, profile=profile, timing=timing
    )
    return estimate_subgroups(
        panel,
        by,
        period=period,
        treatment=treatment,
        outcome=outcome,
        control=control,
        min_units=min_units,
        min_treated=min_treated,
        min_cell=min_cell,
        timing=timing,
        overall=overall,
        covariates=covariates,
        est_method=est_method,
    )


def _same_settings(r: BehaviourResult, options: dict[str, Any]) -> bool:
    """Whether ``r`` was estimated with these :func:`estimate_panel` options."""
    ran = {
        "period": r.period,
        "treatment": r.treatment,
        "outcome": r.outcome,
        "control": r.control,
        "min_units": r.attgt.settings.min_units,
        "timing": r.timing,
        "covariates": r.covariates,
        "est_method": r.est_method,
    }
    return all(ran[key] == value for key, value in options.items())


def estimate_subgroups(
    panel: pl.DataFrame,
    by: GroupBy = "talent_type",
    *,
    period: Period = "month",
    treatment: Treatment = "phase2",
    outcome: Outcome = "submitted",
    control: str = "notyet",
    min_units: int = 10,
    min_treated: int = 30,
    min_cell: int = 10,
    timing: Timing = "next",
    overall: BehaviourResult | None = None,
    covariates: CovariateChoice = None,
    est_method: EstMethod = "dr",
) -> HeterogeneityResult:
    """Within-group estimates on a ready panel (columns as :func:`proposal_panel`).

    Each group is estimated on its own employees only (:func:`estimate_panel` on the group's
    rows), so treated and comparison staff are both of the group (parallel trends within the
    group). A group is left out, with its reason (:data:`SUBGROUP_REASONS`), when it has fewer
    than ``min_cell`` employees (the privacy threshold k: its sizes are suppressed too), fewer
    than ``min_treated`` trained employees, no comparison employees, or no cohort-period cell
    with ``min_units`` treated and comparison employees. The overall estimate with the same
    settings is computed alongside (or taken from ``overall``, which must have been estimated
    with the same settings), and ``composition`` says when every group lies on one side of it.
    With ``covariates`` each group's estimate conditions on them too, except ``by`` itself (one
    value within a group).
    """
    _check_choice("by", by, ("talent_type", "job_level"))
    options: dict[str, Any] = {
        "period": period,
        "treatment": treatment,
        "outcome": outcome,
        "control": control,
        "min_units": min_units,
        "timing": timing,
        "covariates": _usable_covariates(panel, covariates)[0],
        "est_method": est_method,
    }
    estimated: list[tuple[str, BehaviourResult, int]] = []
    left: list[tuple[str, int | None, int | None, int | None, str, int | None]] = []

    def shown(n: int) -> int | None:
        """A head count below the privacy threshold k (0 included) is not shown."""
        return n if n >= min_cell else None

    for group, n_emp, n_tr, n_cmp in _group_sizes(panel, by, control).iter_rows():
        if n_emp < min_cell:
            left.append((group, None, None, None, "below_min_cell", min_cell))
            continue
        if n_tr < min_treated:
            left.append((group, n_emp, shown(n_tr), shown(n_cmp), "few_treated", min_treated))
            continue
        if n_cmp == 0:
            left.append((group, n_emp, shown(n_tr), None, "no_comparison", None))
            continue
        try:
            r = estimate_panel(panel.filter(pl.col(by) == group), **options)
        except BehaviourError:
            left.append((group, n_emp, shown(n_tr), shown(n_cmp), "no_estimable_cell", min_units))
            continue
        estimated.append((group, r, n_cmp))
    if overall is not None and not _same_settings(overall, options):
        raise ValueError(f"the overall estimate was not made with these settings: {options}")
    if overall is None:
        try:
            overall = estimate_panel(panel, **options)
        except BehaviourError:
            overall = None
    family = max(len(estimated), 1)
    rows = [_het_row(group, r, n_cmp, family) for group, r, n_cmp in estimated]
    overall_att = None if overall is None else overall.att
    return HeterogeneityResult(
        by=by,
        table=pl.DataFrame(rows, schema=_HET_SCHEMA, orient="row"),
        left_out=pl.DataFrame(left, schema=_LEFT_SCHEMA, orient="row"),
        results={group: r for group, r, _ in estimated},
        overall_att=overall_att,
        overall_ci=None if overall is None else overall.ci,
        overall_exposure=None if overall is None else _exposure(overall.attgt),
        composition=_composition(overall_att, [r.att for _, r, _ in estimated]),
        min_cell=min_cell,
    )
