"""Outcome tables of the core stream: DX projects, the resident survey, the maturity survey."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dxkpi.sample.parameters import (
    DIVISIONS_FLAT,
    LEVELS,
    MATURITY,
    PROJECT_THEMES,
    SATISFACTION_PER_PROGRAMME_YEAR,
    SATISFACTION_PER_YEAR,
    SELF_RUNNING_RATE,
    SUPPORT_MODEL_SHARE,
)
from dxkpi.sample.people import City
from dxkpi.sample.values import choose, cutoff_day, text_column, workdays

__all__ = [
    "maturity_survey_table",
    "projects_table",
    "resident_survey_table",
]


def projects_table(rng: np.random.Generator, city: City, dept_size: np.ndarray) -> pl.DataFrame:
    """DX projects: support model moves outsourced → co-creation → in-house over the years."""
    rows: list[dict[str, Any]] = []
    as_of = cutoff_day(city.fys)
    models = ("outsourced", "co_creation", "in_house")
    for y, fy in enumerate(city.fys):
        pool = workdays(fy)
        for d, code in enumerate(city.dept_codes):
            size = np.sqrt(dept_size[d] / dept_size.mean())
            rate = (1.2 if city.dept_wave[d] <= y else 0.3) * size
            members = np.flatnonzero(city.dept[:, y] == d)
            for _ in range(int(rng.poisson(rate))):
                share = SUPPORT_MODEL_SHARE[min(y, len(SUPPORT_MODEL_SHARE) - 1)]
                model = models[int(choose(rng, share, 1)[0])]
                started = int(pool[rng.integers(0, len(pool))])
                ended = started + int(rng.integers(60, 541))
                status = "active"
                if ended <= as_of:
                    status = "completed" if rng.random() < 0.88 else "cancelled"
                self_running = None
                if status == "completed":
                    self_running = "true" if rng.random() < SELF_RUNNING_RATE[model] else "false"
                cost = {"outsourced": 8e6, "co_creation": 3e6, "in_house": 3e5}[model]
                lead = None
                if len(members) and rng.random() < 0.8:
                    lead = str(city.emp_ids[members[rng.integers(0, len(members))]])
                theme = PROJECT_THEMES[rng.integers(0, len(PROJECT_THEMES))]
                rows.append(
                    {
                        "project_name": f"{theme}導入（{DIVISIONS_FLAT[d]}）",
                        "department_code": code,
                        "lead_employee_id": lead,
                        "started_on": started,
                        "ended_on": ended if status != "active" else None,
                        "support_model": model,
                        "status": status,
                        "self_running": self_running,
                        "hours_saved_per_year": (
                            str(int(rng.lognormal(np.log(400), 0.8)))
                            if status == "completed"
                            else None
                        ),
                        "cost_yen": str(int(round(rng.lognormal(np.log(cost), 0.5), -3))),
                        "_fy": fy,
                    }
                )
    frame = pl.DataFrame(
        rows,
        schema_overrides={
            "ended_on": pl.Int64,
            "self_running": pl.String,
            "lead_employee_id": pl.String,
            "hours_saved_per_year": pl.String,
        },
    )
    frame = frame.sort("started_on", "department_code", maintain_order=True)
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_fy")).to_series()
    return frame.with_columns(
        pl.format("PJ{}-{}", pl.col("_fy"), seq.cast(pl.String).str.zfill(3)).alias("project_id"),
        pl.col("started_on").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"),
        pl.col("ended_on").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"),
    ).select(
        "project_id",
        "project_name",
        "department_code",
        "lead_employee_id",
        "started_on",
        "ended_on",
        "support_model",
        "status",
        "self_running",
        "hours_saved_per_year",
        "cost_yen",
        "_fy",
    )


def resident_survey_table(rng: np.random.Generator, city: City) -> pl.DataFrame:
    """Per department per year; satisfaction rises with the department's programme years."""
    n_dept, n_years = len(city.dept_codes), len(city.fys)
    dept_effect = rng.normal(0, 0.05, n_dept)
    grid_d, grid_y = np.meshgrid(np.arange(n_dept), np.arange(n_years), indexing="ij")
    d, y = grid_d.ravel(), grid_y.ravel()
    programme_years = np.maximum(0, y - city.dept_wave[d] + 1)
    p = np.clip(
        0.55
        + dept_effect[d]
        + SATISFACTION_PER_PROGRAMME_YEAR * programme_years
        + SATISFACTION_PER_YEAR * y,
        0.05,
        0.95,
    )
    respondents = rng.integers(60, 401, len(d))
    satisfied = rng.binomial(respondents, p)
    frame = pl.DataFrame(
        {
            "fiscal_year": text_column(np.asarray(city.fys)[y]),
            "department_code": np.asarray(city.dept_codes)[d],
            "respondents": respondents.astype(str),
            "satisfied": satisfied.astype(str),
            "_y": y,
        }
    )
    return frame.sort("_y", "department_code").drop("_y")


def maturity_survey_table(rng: np.random.Generator, city: City) -> pl.DataFrame:
    """Anonymous maturity answers: rising over years, managers above staff (温度差)."""
    emp, year = np.nonzero(city.dept >= 0)
    answer = rng.random(len(emp)) < MATURITY["response_rate"]
    emp, year = emp[answer], year[answer]
    order = np.lexsort((rng.random(len(emp)), year))
    emp, year = emp[order], year[order]
    dept = city.dept[emp, year]
    level = city.level[emp]
    dims = list(MATURITY["dimension"])
    n, k = len(emp), len(dims)
    rolled = (city.dept_wave[dept] <= year).astype(float)
    lift = np.select([level == 0, level == 1], [MATURITY["manager"], MATURITY["mid"]], 0.0)
    mu = MATURITY["base"] + MATURITY["per_year"] * year + MATURITY["rolled_out"] * rolled + lift
    offset = np.array([MATURITY["dimension"][dim] for dim in dims])
    score = np.clip(
        np.rint(mu[:, None] + offset[None, :] + rng.normal(0, MATURITY["noise_sd"], (n, k))), 0, 5
    )
    ids = np.char.add("A", np.char.zfill(rng.permutation(900_000)[:n].astype(str), 6))
    rep = np.repeat
    return pl.DataFrame(
        {
            "fiscal_year": text_column(rep(np.asarray(city.fys)[year], k)),
            "respondent_id": rep(ids, k),
            "department_code": rep(np.asarray(city.dept_codes)[dept], k),
            "job_level": rep(np.asarray(LEVELS)[level], k),
            "dimension": np.tile(np.asarray(dims), n),
            "score": score.ravel().astype(int).astype(str),
        }
    )
