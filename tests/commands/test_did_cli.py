"""`dxkpi did` through click's CliRunner: table, JSON, errors naming file and column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi.commands.did import command
from dxkpi.models.did import att_gt

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
