"""Contract tests: one source of truth, and everything generated from it agrees with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi.catalogue.contract import DATASETS, Kind, ingest_order, rule_catalogue
from dxkpi.catalogue.docs import readme_is_current
from dxkpi.commands.cli import COMMANDS, cli
from dxkpi.core.errors import ContractError
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.rules import RULES, flag_duplicates, parse_and_check, with_rules
from dxkpi.ingest.suites import missing_suites, stale_suites, suite_dict, suite_text, validate
from tests.helpers import ROOT
from tests.helpers.rawcity import TINY
from tests.helpers.rules import CASES, bad_row


def test_committed_suites_match_the_contract() -> None:
    assert stale_suites(ROOT / "expectations") == []
    assert sorted(p.stem for p in (ROOT / "expectations").glob("*.json")) == sorted(DATASETS)


def test_drift_is_detected(tmp_path: Path) -> None:
    for ds in DATASETS.values():
        (tmp_path / f"{ds.name}.json").write_text(suite_text(ds), encoding="utf-8")
    suite = json.loads((tmp_path / "courses.json").read_text(encoding="utf-8"))
    suite["expectations"] = suite["expectations"][:-1]
    (tmp_path / "courses.json").write_text(json.dumps(suite), encoding="utf-8")
    (tmp_path / "staff.json").unlink()
    assert stale_suites(tmp_path) == ["staff", "courses"]
    assert missing_suites(tmp_path) == ["staff"]


def test_missing_suites_are_reported_as_missing_not_as_a_mismatch(
    tmp_path: Path, tiny_raw: Path
) -> None:
    with pytest.raises(ContractError) as caught:
        run_ingest(tiny_raw, tmp_path / "out", expectations=tmp_path / "nowhere")
    assert "expectation suites not found" in caught.value.en
    assert "見つかりません" in caught.value.ja
    assert "do not match" not in caught.value.message()


def test_readme_contract_table_is_current() -> None:
    assert readme_is_current(ROOT / "README.md")


def test_every_column_in_readme() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for ds in DATASETS.values():
        for col in ds.columns:
            assert f"| `{col.name}` | {col.ja} |" in text


def test_references_point_to_declared_columns() -> None:
    for ds in DATASETS.values():
        for ref in ds.references:
            target = DATASETS[ref.dataset]
            for c in ref.target_columns:
                target.column(c)
            for c in ref.columns:
                ds.column(c)
            if ref.fiscal_year_from:
                assert ds.column(ref.fiscal_year_from).kind is Kind.DATE
    order = ingest_order()
    for ds in DATASETS.values():
        assert all(order.index(d) < order.index(ds.name) for d in ds.depends_on)


def _typed_rows(dataset: str, rows: list[dict[str, str]]) -> pl.DataFrame:
    ds = DATASETS[dataset]
    raw = pl.DataFrame(rows, schema={c: pl.String for c in ds.column_names})
    frame = parse_and_check(ds, raw.lazy().with_row_index("_source_row"))
    return with_rules(ds, flag_duplicates(ds, frame))


GX_CHECKED = sorted(
    rid
    for rid in CASES
    if rid.endswith((".required", ".range", ".id_format", ".duplicate_key", ".key_conflict"))
    or any(rid == r.id for ds in DATASETS.values() for r in ds.row_rules)
)


@pytest.mark.integration
@pytest.mark.parametrize("rule_id", GX_CHECKED)
def test_great_expectations_agrees_with_polars_rules(rule_id: str) -> None:
    """The GX suite, run on rows that polars quarantines for a rule, fails on that same rule."""
    dataset = rule_id.split(".")[0]
    rows = [dict(r) for r in TINY[dataset]]
    typed = _typed_rows(dataset, [*rows, bad_row(dataset, rows, rule_id)])
    assert typed[RULES].to_list()[-1] == [rule_id]
    assert all(r == [] for r in typed[RULES].to_list()[:-1])
    cols = list(DATASETS[dataset].column_names)
    good = validate(dataset, typed.head(len(rows)).select(cols), suite_dict(DATASETS[dataset]))
    assert good.success
    result = validate(dataset, typed.select(cols), suite_dict(DATASETS[dataset]))
    assert not result.success
    # GX has one uniqueness expectation for both kinds of repeated key
    assert rule_id.replace(".key_conflict", ".duplicate_key") in result.failed_rules


def test_rule_ids_are_unique_and_well_formed() -> None:
    for name in DATASETS:
        for rid in rule_catalogue(name):
            assert re.fullmatch(rf"{name}\.[a-z_]+(\.[a-z_]+)?", rid), rid


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert name in top.output
        sub = runner.invoke(cli, [name, "--help"])
        assert sub.exit_code == 0, (name, sub.output)
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", sub.output), name  # Japanese help
    assert set(cli.list_commands(None)) <= set(COMMANDS)  # type: ignore[arg-type]


def test_paths_named_by_makefile_and_readme_exist() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(
        re.findall(r"\b((?:benchmarks|notebooks|src|tests|expectations)/[\w./-]+)", make + readme)
    )
    named |= {
        m
        for m in re.findall(r"`((?:data|reports)/[\w./-]*)`", readme)
        if "<" not in m and "*" not in m
    }
    missing = [
        p
        for p in sorted(named)
        if not (ROOT / p.rstrip(".")).exists() and not p.startswith(("data/processed/", "reports/"))
    ]
    assert missing == []
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").count("make test") >= 1
    for target in ("report", "test", "lab", "ingest", "clean"):
        assert re.search(rf"^{target}:", make, re.M), target


def test_make_lab_binds_localhost_with_token() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    lab = next(line for line in make.splitlines() if "jupyter lab" in line)
    assert "--ip=127.0.0.1" in lab
    assert "0.0.0.0" not in lab and "token=''" not in lab and 'token=""' not in lab
    # no empty token is ever set (which would switch authentication off)
    assert not re.search(r"token\s*=\s*(''|\"\"|\s|$)", lab)


def test_every_number_date_and_year_has_a_plausible_range() -> None:
    """No column accepts any number or any date: counts and hours have a maximum, dates and
    fiscal years an earliest value and a latest one relative to the day of the run."""
    for ds in DATASETS.values():
        for col in ds.columns:
            where = f"{ds.name}.{col.name}"
            if col.kind in (Kind.NUMBER, Kind.INTEGER):
                assert col.max is not None, where
                assert f"{where}.finite" in rule_catalogue(ds.name), where
            if col.kind is Kind.DATE:
                assert col.not_before is not None and col.after_run is not None, where
            if col.kind is Kind.FISCAL_YEAR:
                assert col.min is not None and col.after_run is not None, where
            if col.bounded:
                assert f"{where}.range" in rule_catalogue(ds.name), where
