"""`dxkpi design` through click's CliRunner: the table and JSON on the sample city, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dxkpi.commands.design import command


def test_bad_candidates_and_missing_choice() -> None:
    out = CliRunner().invoke(command, ["--fy", "2026", "--candidates", "8,x"])
    assert out.exit_code == 2 and "8,12,16" in out.output and "正の整数" in out.output
    out = CliRunner().invoke(command, ["--fy", "2026"])
    assert out.exit_code == 2 and "--candidates" in out.output


def test_plan_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "plan.toml"
    bad.write_text("[[plan]\n", encoding="utf-8")
    out = CliRunner().invoke(command, ["--fy", "2026", "--plan", str(bad)])
    assert out.exit_code == 1 and str(bad) in out.output and "計画ファイル" in out.output


@pytest.mark.slow
def test_table_and_json_on_the_sample_city(sample_city, tmp_path: Path) -> None:
    data = ["--data", str(sample_city.processed), "--fy", "2026"]
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[[plan]]\nname = "two"\n[[plan.wave]]\nmonth = 2\ndepartments = ["060500"]\n',
        encoding="utf-8",
    )
    out = CliRunner().invoke(command, [*data, "--candidates", "8,12", "--plan", str(plan)])
    assert out.exit_code == 0, out.output
    assert "phase3" in out.output and "8所属が参加すると" in out.output
    assert "12所属なら" in out.output and "推奨" in out.output
    out = CliRunner().invoke(
        command, [*data, "--candidates", "8", "--effect", "60", "--format", "json", "--lang", "en"]
    )
    assert out.exit_code == 0, out.output
    js = json.loads(out.output)
    assert js["effect_source"] == "given" and js["effect_per_100_staff_year"] == pytest.approx(60)
    row = js["candidates"][0]
    assert row["n_departments"] == 8 and 0 < row["power"] < 1
    assert any("With 8 departments joining" in s for s in js["sentences"])
