"""`dxkpi did` through click's CliRunner: table, JSON, errors naming file and column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi.commands.did import command
from dxkpi.models.contrasts import twfe
from dxkpi.models.did import att_gt
from dxkpi.models.sensitivity import event_study, relative_magnitudes
from dxkpi.reports.narrative import describe_sensitivity

ARGS = ["--unit", "id", "--time", "year", "--group", "first", "--outcome", "y"]


@pytest.fixture
def panel_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n, periods = 60, 5
    g = rng.choice(np.array([3, 4, 0]), size=n)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(2020, 2020 + periods), n)
    first = np.repeat(np.where(g > 0, 2019 + g, 0), periods)
    y = rng.normal(size=ids.size) + 0.3 * (t - 2020) + 1.0 * ((first > 0) & (t >= first))
    path = tmp_path / "panel.csv"
    df = pl.DataFrame({"id": ids, "year": t, "first": first, "y": y})
    # never-treated written as empty cells, as a spreadsheet export would
    df.with_columns(pl.when(pl.col("first") > 0).then(pl.col("first"))).write_csv(path)
    return path


def test_json_output_matches_library(panel_csv: Path) -> None:
    out = CliRunner().invoke(command, ["--csv", str(panel_csv), *ARGS, "--format", "json"])
    assert out.exit_code == 0, out.output
    js = json.loads(out.output)
    assert {"estimator", "settings", "attgt", "aggregations", "pretest", "n_units"} <= set(js)
    assert js["estimator"]["panel"] == "within" and "bootstrap" not in js
    assert js["n_units"] == 60
    lib = att_gt(
        pl.read_csv(panel_csv), unit="id", time="year", group="first", outcome="y"
    ).to_json_dict()
    assert js == lib  # full float precision survives the round trip
    first = js["attgt"][0]
    assert set(first) == {"group", "time", "att", "se"} and first["group"] == 2022
    assert [b["key"] for b in js["aggregations"]["group"]["by"]] == [2022, 2023]


def test_json_options(panel_csv: Path) -> None:
    out = CliRunner().invoke(
        command,
        [
            "--csv",
            str(panel_csv),
            *ARGS,
            "--format",
            "json",
            "--control",
            "notyet",
            "--base-period",
            "universal",
            "--anticipation",
            "1",
        ],
    )
    assert out.exit_code == 0, out.output
    js = json.loads(out.output)
    ref = [r for r in js["attgt"] if r["group"] == 2023 and r["time"] == 2021]
    assert ref == [{"group": 2023, "time": 2021, "att": 0.0, "se": None}]


def test_table_output(panel_csv: Path) -> None:
    out = CliRunner().invoke(
        command, ["--csv", str(panel_csv), *ARGS, "--bootstrap", "199", "--seed", "1"]
    )
    assert out.exit_code == 0, out.output
    for word in ("ATT(g,t)", "simple", "dynamic", "calendar", "event study", "Wald", "band"):
        assert word in out.output
    again = CliRunner().invoke(
        command, ["--csv", str(panel_csv), *ARGS, "--bootstrap", "199", "--seed", "1"]
    )
    assert again.output == out.output


def test_missing_column_is_named(panel_csv: Path) -> None:
    args = [
        "--csv",
        str(panel_csv),
        "--unit",
        "id",
        "--time",
        "year",
        "--group",
        "first",
        "--outcome",
        "salary",
    ]
    out = CliRunner().invoke(command, args)
    assert out.exit_code != 0
    assert "salary" in out.output and str(panel_csv) in out.output
    assert "列がありません" in out.output and "missing column" in out.output
    assert out.output.index("列がありません") < out.output.index("missing column")


def test_non_numeric_outcome_and_no_never_treated(tmp_path: Path, panel_csv: Path) -> None:
    bad = tmp_path / "bad.csv"
    pl.read_csv(panel_csv).with_columns(pl.lit("x").alias("y")).write_csv(bad)
    out = CliRunner().invoke(command, ["--csv", str(bad), *ARGS])
    assert out.exit_code != 0 and "not numeric" in out.output and "'y'" in out.output
    treated = tmp_path / "treated.csv"
    pl.read_csv(panel_csv).filter(pl.col("first").is_not_null()).write_csv(treated)
    out = CliRunner().invoke(command, ["--csv", str(treated), *ARGS, "--control", "never"])
    assert out.exit_code != 0 and "never-treated" in out.output and "first" in out.output
    out = CliRunner().invoke(command, ["--csv", str(tmp_path / "nope.csv"), *ARGS])
    assert out.exit_code != 0 and "file not found" in out.output


def test_registered_under_dxkpi_group(panel_csv: Path) -> None:
    cli = pytest.importorskip("dxkpi.commands.cli")
    out = CliRunner().invoke(cli.cli, ["did", "--csv", str(panel_csv), *ARGS, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["n_units"] == 60


@pytest.fixture
def dept_csv(tmp_path: Path) -> Path:
    """8 departments in 3 waves and never; some employees leave (unbalanced)."""
    rng = np.random.default_rng(3)
    rows = []
    for u in range(200):
        dept = u % 8
        g = [2022, 2023, 2024, 0][dept % 4]
        for t in range(2020, 2026):
            if t > 2021 and rng.random() < 0.08:
                continue
            y = rng.normal() + 0.5 * (g > 0 and t >= g)
            rows.append({"id": u, "year": t, "first": g, "dept": f"部{dept}", "y": y})
    path = tmp_path / "dept.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def _json(args: list[str]) -> dict:
    out = CliRunner().invoke(command, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_panel_option(dept_csv: Path) -> None:
    base = ["--csv", str(dept_csv), *ARGS]
    runs = {p: _json([*base, "--panel", p]) for p in ("within", "balanced", "unbalanced")}
    assert _json(base)["estimator"]["panel"] == "within"  # the default
    for p, js in runs.items():
        assert js["estimator"]["panel"] == p and js["settings"]["panel"] == p
    assert runs["balanced"]["dropped"]["units"]["not_observed_in_every_period"] > 0
    assert runs["within"]["attgt"] != runs["unbalanced"]["attgt"]
    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--panel" in help_text and "個人内差分" in help_text and "within units" in help_text


def test_cluster_and_bootstrap_options(dept_csv: Path) -> None:
    base = ["--csv", str(dept_csv), *ARGS]
    plain = _json(base)
    assert "bootstrap" not in plain and plain["inference"]["method"] == "unit"
    boot = _json([*base, "--bootstrap", "199", "--seed", "5"])
    assert boot["bootstrap"]["seed"] == 5 and boot["bootstrap"]["draws"] == 199
    assert all(a["se_boot"] is not None for a in boot["aggregations"].values())
    assert boot["aggregations"]["dynamic"]["crit_value"] > 1.96
    clustered = _json([*base, "--cluster", "dept", "--seed", "5"])
    assert clustered["inference"]["n_clusters"] == 8 and clustered["inference"]["df"] == 7
    assert clustered["bootstrap"]["weights"] == "webb" and clustered["bootstrap"]["clusters"] == 8
    again = _json([*base, "--cluster", "dept", "--seed", "5"])
    assert again == clustered
    rad = _json([*base, "--cluster", "dept", "--boot-weights", "rademacher", "--seed", "5"])
    assert rad["bootstrap"]["weights"] == "rademacher"
    table = CliRunner().invoke(command, [*base, "--cluster", "dept", "--seed", "5"])
    assert table.exit_code == 0 and "8 clusters" in table.output and "bootstrap SE" in table.output
    bad = CliRunner().invoke(command, [*base, "--cluster", "division"])
    assert bad.exit_code != 0 and "division" in bad.output


def test_pretest_option(dept_csv: Path) -> None:
    base = ["--csv", str(dept_csv), *ARGS]
    default = _json(base)["pretest"]
    # 50 employees per cohort, 1–3 pre cells: the 2024 cohort (3 cells) needs 60 units
    assert [c["group"] for c in default["excluded_cohorts"]] == [2024]
    assert default["min_detectable_slope"] > 0 and "per period" in default["sentence"]
    every = _json([*base, "--pretest-min-units", "0"])["pretest"]
    assert every["excluded_cohorts"] == [] and every["df"] > default["df"]


@pytest.fixture
def covariate_csv(tmp_path: Path) -> Path:
    """x raises both early training and the trend; a text column 'level' too."""
    rng = np.random.default_rng(6)
    n = 400
    x = rng.normal(size=n)
    g = np.where(rng.random(n) < 1 / (1 + np.exp(-x)), 2023, 0)
    level = rng.choice(np.array(["係員", "係長", "課長"]), size=n)
    rows = [
        {"id": u, "year": t, "first": g[u] or None, "x": x[u], "level": level[u],
         "y": 0.5 * x[u] * (t - 2020) + rng.normal() + (g[u] > 0 and t >= g[u])}
        for u in range(n)
        for t in range(2020, 2026)
    ]  # fmt: skip
    path = tmp_path / "cov.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def test_covariates_and_method(covariate_csv: Path) -> None:
    base = ["--csv", str(covariate_csv), *ARGS]
    js = _json([*base, "--covariates", "x, level", "--est-method", "ipw"])
    assert js["settings"]["covariates"] == ["x", "level"] and js["settings"]["est_method"] == "ipw"
    cov = js["covariates"]
    assert cov["columns"] == ["x", "level"] and cov["est_method"] == "ipw"
    assert cov["design"] == ["x", "level=係長", "level=課長"]
    assert cov["overlap"]["checked"] and cov["overlap"]["cells"] == len(js["attgt"])
    lib = att_gt(
        pl.read_csv(covariate_csv),
        unit="id",
        time="year",
        group="first",
        outcome="y",
        covariates=["x", "level"],
        est_method="ipw",
    ).to_json_dict()
    assert js == lib
    plain = _json(base)
    assert plain["covariates"] is None and plain["settings"]["covariates"] == []
    assert js["aggregations"]["simple"]["att"] < plain["aggregations"]["simple"]["att"]
    table = CliRunner().invoke(command, [*base, "--covariates", "x"])
    assert table.exit_code == 0 and "covariates / 共変量: x (dr)" in table.output
    assert "trimmed" in table.output
    bad = CliRunner().invoke(command, [*base, "--covariates", "age"])
    assert bad.exit_code != 0 and "age" in bad.output and "available" in bad.output
    unb = CliRunner().invoke(command, [*base, "--covariates", "x", "--panel", "unbalanced"])
    assert unb.exit_code != 0 and "panel='within'" in unb.output
    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--covariates" in help_text and "--est-method" in help_text and "二重頑健" in help_text


def test_sensitivity_and_bacon_options(panel_csv: Path) -> None:
    """--sensitivity: robust sets over the M̄ and M grids, breakdown values, the pre-test's
    power, equal to the library; --bacon: the decomposition, reproducing the TWFE estimate."""
    base = ["--csv", str(panel_csv), *ARGS, "--base-period", "universal", "--format", "json"]
    out = CliRunner().invoke(
        command, [*base, "--sensitivity", "--bacon", "--grid-points", "20", "--mbar", "0,1"]
    )
    assert out.exit_code == 0, out.output
    js = json.loads(out.output)
    rm = js["sensitivity"]["relative_magnitudes"]
    assert [s["bound"] for s in rm["sets"]] == [0.0, 1.0]
    assert rm["breakdown"] is not None and rm["summary_ja"] and rm["summary_en"]
    sd = js["sensitivity"]["smoothness"]
    assert len(sd["sets"]) == 4 and sd["sets"][0]["bound"] == 0.0
    assert js["sensitivity"]["pretest_power"]["slope_50"] > 0
    df = pl.read_csv(panel_csv).with_columns(pl.col("first").fill_null(0))
    res = att_gt(df, unit="id", time="year", group="first", outcome="y", base_period="universal")
    lib = relative_magnitudes(event_study(res), [0.0, 1.0], grid_points=20)
    said = {k: rm.pop(k) for k in ("summary_ja", "summary_en")}
    assert rm == lib.to_json_dict()
    assert said["summary_en"] == describe_sensitivity(lib, "en", period="period")
    assert "M̄ = " in said["summary_ja"] and "耐えます" in said["summary_ja"]
    b = js["bacon"]
    assert sum(c["weight"] for c in b["comparisons"]) == pytest.approx(1.0)
    assert b["estimate"] == pytest.approx(
        twfe(df, unit="id", time="year", group="first", outcome="y").estimate, abs=1e-10
    )
    table = CliRunner().invoke(
        command, [*base[:-2], "--sensitivity", "--bacon", "--grid-points", "20"]
    )
    assert table.exit_code == 0, table.output
    assert "M̄=" in table.output and "later_vs_earlier" in table.output
    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--sensitivity" in help_text and "崩壊点" in help_text and "--bacon" in help_text


def test_sensitivity_needs_a_universal_base_and_bacon_a_balanced_panel(panel_csv, tmp_path):
    out = CliRunner().invoke(command, ["--csv", str(panel_csv), *ARGS, "--sensitivity"])
    assert out.exit_code != 0 and "universal" in out.output and "基準期" in out.output
    gap = tmp_path / "gap.csv"
    pl.read_csv(panel_csv).filter(~((pl.col("id") == 0) & (pl.col("year") == 2021))).write_csv(gap)
    out = CliRunner().invoke(command, ["--csv", str(gap), *ARGS, "--bacon"])
    assert out.exit_code != 0 and "unbalanced" in out.output and "--bacon-balance" in out.output
    ok = CliRunner().invoke(
        command, ["--csv", str(gap), *ARGS, "--bacon", "--bacon-balance", "--format", "json"]
    )
    assert ok.exit_code == 0 and json.loads(ok.output)["bacon"]["dropped_units"] == 1
    bad = CliRunner().invoke(command, ["--csv", str(panel_csv), *ARGS, "--mbar", "a,b"])
    assert bad.exit_code != 0 and "--mbar" in bad.output
