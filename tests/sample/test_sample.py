"""The sample city: deterministic, in every form the contract accepts, with documented faults."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi.catalogue.contract import DATASETS, rule_catalogue
from dxkpi.commands.sample import command, parse_years
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.sample import SampleSummary, generate_city
from tests.helpers import SECRET

pytestmark = pytest.mark.integration  # generates and ingests whole cities


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleSummary, dict[str, Any]]:
    """The default city (seed 7, 2,000 staff, FY2022–FY2025) and its ground truth."""
    raw = tmp_path_factory.mktemp("sample") / "raw"
    summary = generate_city(raw)
    truth = json.loads(summary.ground_truth.read_text(encoding="utf-8"))
    return summary, truth


@pytest.fixture(scope="module")
def ingested(
    city: tuple[SampleSummary, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """The default city ingested (routing only, no GX gate): processed folder and manifest."""
    summary, _ = city
    out = tmp_path_factory.mktemp("sample_processed") / "processed"
    report = run_ingest(summary.out, out, expectations=None, secret=SECRET)
    return out, report.manifest


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    years = (2023, 2024, 2025)
    a = generate_city(tmp_path / "a", seed=3, staff=300, fiscal_years=years)
    b = generate_city(tmp_path / "b", seed=3, staff=300, fiscal_years=years)
    generate_city(tmp_path / "c", seed=4, staff=300, fiscal_years=years)
    names = sorted(p.name for p in (*a.files, a.ground_truth))
    assert names == sorted(p.name for p in (*b.files, b.ground_truth))
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    staff = [(tmp_path / d / "staff.csv").read_bytes() for d in ("a", "c")]
    assert staff[0] != staff[1]


def test_sizes(city: tuple[SampleSummary, dict[str, Any]]) -> None:
    summary, truth = city
    assert set(summary.rows) == set(DATASETS)
    assert summary.rows["departments"] == 41  # 40 + one planted bad row
    assert summary.rows["courses"] == 26  # 25 + one planted bad row
    per_fy = truth["staff_per_fiscal_year"]
    assert per_fy["2022"] == 2000 and all(1900 <= n <= 2200 for n in per_fy.values())
    assert truth["employees_total"] > 2000  # hires and leavers: the staff list changes
    assert 40_000 <= summary.rows["attendance"] <= 120_000
    assert summary.rows["proposals"] > 2_000 and summary.rows["maturity_survey"] > 5_000
    assert summary.rows["resident_survey"] == 40 * 4
    assert sum(summary.rows_per_file.values()) == sum(summary.rows.values())


def test_forms_real_cities_send(city: tuple[SampleSummary, dict[str, Any]]) -> None:
    summary, _ = city
    raw = summary.out
    names = {p.name for p in summary.files}
    assert {
        "attendance_fy2022.csv",
        "attendance_fy2023.csv",
        "受講_FY2024.csv",
        "attendance_fy2025.csv",
        "staff.csv",
        "提案.csv",
        "courses.xlsx",
        "マスタ.xlsx",
        "projects.xlsx",
    } <= names
    cp932 = (raw / "受講_FY2024.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        cp932.decode("utf-8")
    head = cp932.decode("cp932").splitlines()[0].split(",")
    assert head == [c.ja for c in DATASETS["attendance"].columns]
    assert "修了" in cp932.decode("cp932") and "令和6年" in cp932.decode("cp932")
    assert (raw / "staff.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    staff_head = _text(raw / "staff.csv").splitlines()[0].split(",")
    assert "氏名" in staff_head and "内線番号" in staff_head
    assert (raw / "attendance_fy2022.csv").read_text(encoding="utf-8").splitlines()[0] == ",".join(
        DATASETS["attendance"].column_names
    )
    texts = {n: _text(raw / n) for n in names if n.endswith(".csv")}
    everything = "\n".join(texts.values())
    assert re.search(r"\d{4}/\d{1,2}/\d{1,2}", texts["attendance_fy2023.csv"])  # slash
    assert re.search(r"\d{4}-\d{2}-\d{2}", texts["attendance_fy2022.csv"])  # ISO
    assert re.search(r"R[0-9０-９]+\.[0-9０-９]+\.[0-9０-９]+", texts["attendance_fy2025.csv"])
    assert re.search(r"令和\d+年\d+月\d+日", everything)
    for form in (r"令和\d+年度", r"\b20\d\d年度", r"\bR\d,", "[０-９]"):
        assert re.search(form, everything), form
    for book, sheet in (
        ("courses.xlsx", "研修"),
        ("マスタ.xlsx", "組織"),
        ("projects.xlsx", "DX案件"),
    ):
        wb = openpyxl.load_workbook(raw / book, read_only=True)
        assert sheet in wb.sheetnames


def test_bad_rows_documented(city: tuple[SampleSummary, dict[str, Any]]) -> None:
    summary, truth = city
    bad = truth["bad_rows"]
    # a small, documented number: about one per dataset and common fault, a few more in the
    # big transactional files (31 with the follow-up survey and the roster)
    assert 10 <= len(bad) <= 40 and len(bad) == summary.n_bad
    for row in bad:
        assert row["rule"] in rule_catalogue(row["dataset"]), row
        assert (summary.out / row["file"]).is_file() and row["row"] >= 2
    assert len({(r["file"], r["sheet"], r["row"]) for r in bad}) == len(bad)
    assert {r["dataset"] for r in bad} == set(summary.rows)


def test_quarantine_is_exactly_the_planted_rows(
    city: tuple[SampleSummary, dict[str, Any]], ingested: tuple[Path, dict[str, Any]]
) -> None:
    _, truth = city
    out, manifest = ingested
    assert manifest["ok"]
    got = set()
    for path in (out / "quarantine").glob("*.parquet"):
        q = pl.read_parquet(path)
        got |= set(
            zip(q["_source_file"], q["_source_sheet"], q["_source_row"], q["rule"], strict=True)
        )
    expected = {(r["file"], r["sheet"], r["row"], r["rule"]) for r in truth["bad_rows"]}
    assert got == expected  # each planted row breaks exactly one rule, nothing else cascades
    staff = next(f for f in manifest["files"] if f["file"] == "staff.csv")
    assert staff["dropped_personal_columns"] == ["氏名"]
    assert staff["ignored_columns"] == ["内線番号"]
    assert "ground_truth.json" in manifest["ignored_files"]


def test_cohorts_in_ground_truth_match_the_data(
    city: tuple[SampleSummary, dict[str, Any]], ingested: tuple[Path, dict[str, Any]]
) -> None:
    _, truth = city
    out, _ = ingested
    phase2 = pl.read_parquet(out / "courses.parquet").filter(pl.col("phase") == 2)["course_id"]
    first = (
        pl.read_parquet(out / "attendance.parquet")
        .filter(pl.col("course_id").is_in(phase2.implode()) & (pl.col("status") == "completed"))
        .group_by("employee_id")
        .agg(pl.col("session_date").min())
        .with_columns(pl.col("session_date").dt.strftime("%Y-%m").alias("cohort"))
    )
    counts = dict(first.group_by("cohort").len().iter_rows())
    assert counts == truth["treated_per_cohort_month"]
    assert first.height == truth["treated_employees"]
    assert set(truth["expected_att_gt"]) == set(counts)


def test_planted_effect_is_visible_and_consistent(
    city: tuple[SampleSummary, dict[str, Any]], ingested: tuple[Path, dict[str, Any]]
) -> None:
    _, truth = city
    att = truth["expected_att_per_employee_month"]
    by_type = truth["expected_att_by_talent_type"]
    assert by_type["leader"] > by_type["practitioner"] > by_type["unassigned"] > 0
    assert min(by_type.values()) < att < max(by_type.values())
    assert truth["factors"]["leader"] == 3.0 and truth["seed"] == 7
    # the effect starts the month after the completion month: ATT(g, g) = 0, later cells > 0
    gt = truth["expected_att_gt"]
    assert all(row[g] == 0 for g, row in gt.items())
    cells = [v for g, row in gt.items() for t, v in row.items() if t > g]
    assert cells and all(v > 0 for v in cells)
    # Treated employees propose clearly more after treatment than before (factors 1.6–3).
    out, _ = ingested
    phase2 = pl.read_parquet(out / "courses.parquet").filter(pl.col("phase") == 2)["course_id"]
    treated = (
        pl.read_parquet(out / "attendance.parquet")
        .filter(pl.col("course_id").is_in(phase2.implode()) & (pl.col("status") == "completed"))
        .group_by("employee_id")
        .agg(pl.col("session_date").min().dt.truncate("1mo").alias("g"))
    )
    months = (
        pl.read_parquet(out / "staff.parquet")
        .select(
            "employee_id",
            pl.date_ranges(
                pl.date(pl.col("fiscal_year"), 4, 1),
                pl.date(pl.col("fiscal_year") + 1, 3, 1),
                "1mo",
            ).alias("month"),
        )
        .explode("month")
        .join(treated, on="employee_id")
        .with_columns((pl.col("month") >= pl.col("g")).alias("post"))
    )
    props = (
        pl.read_parquet(out / "proposals.parquet")
        .join(treated, on="employee_id")
        .with_columns((pl.col("submitted_on").dt.truncate("1mo") >= pl.col("g")).alias("post"))
    )
    rate = {
        post: props.filter(pl.col("post") == post).height
        / months.filter(pl.col("post") == post).height
        for post in (True, False)
    }
    assert rate[True] > 1.5 * rate[False]


def test_other_planted_trends(
    city: tuple[SampleSummary, dict[str, Any]], ingested: tuple[Path, dict[str, Any]]
) -> None:
    _, truth = city
    share = list(truth["insourcing_share_by_fy"].values())
    assert share == sorted(share) and share[-1] > share[0]
    out, _ = ingested
    ms = pl.read_parquet(out / "maturity_survey.parquet")
    by_year = ms.group_by("fiscal_year").agg(pl.col("score").mean()).sort("fiscal_year")
    assert by_year["score"].is_sorted()
    gap = ms.group_by("job_level").agg(pl.col("score").mean())
    level = dict(gap.iter_rows())
    assert level["manager"] > level["staff"] + 0.5  # 温度差
    pj = pl.read_parquet(out / "projects.parquet")
    early, late = pj["started_on"].min().year, pj["started_on"].max().year
    in_house = pj.group_by(pl.col("started_on").dt.year().alias("y")).agg(
        (pl.col("support_model") == "in_house").mean().alias("s")
    )
    s = dict(in_house.iter_rows())
    assert s[late] > s[early]


def test_rejects_odd_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_city(tmp_path, staff=10)
    with pytest.raises(ValueError):
        generate_city(tmp_path, fiscal_years=(2022, 2024))


def test_parse_years() -> None:
    assert parse_years("2022-2025") == (2022, 2023, 2024, 2025)
    assert parse_years("２０２４") == (2024,)
    assert parse_years("2023,2024") == (2023, 2024)


def test_command_refuses_a_folder_with_data_unless_forced(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "raw"
    args = ["--out", str(out), "--staff", "150", "--years", "2023-2024", "--seed", "1"]
    first = runner.invoke(command, args)
    assert first.exit_code == 0, first.output
    assert "ground_truth.json" in first.output and (out / "staff.csv").is_file()
    again = runner.invoke(command, args)
    assert again.exit_code != 0
    assert "--force" in again.output and "already holds" in again.output
    assert "データファイル" in again.output
    forced = runner.invoke(command, [*args, "--force"])
    assert forced.exit_code == 0, forced.output


@pytest.mark.slow
def test_callaway_santanna_recovers_the_planted_att(
    city: tuple[SampleSummary, dict[str, Any]], ingested: tuple[Path, dict[str, Any]]
) -> None:
    """An independent estimator (diff-diff's CS, not-yet-treated) on the employee × month panel."""
    diff_diff = pytest.importorskip("diff_diff")
    _, truth = city
    out, _ = ingested
    fy0 = truth["fiscal_years"][0]

    def month(e: pl.Expr) -> pl.Expr:
        return (e.dt.year() - fy0) * 12 + e.dt.month() - 3

    phase2 = pl.read_parquet(out / "courses.parquet").filter(pl.col("phase") == 2)["course_id"]
    cohort = (
        pl.read_parquet(out / "attendance.parquet")
        .filter(pl.col("course_id").is_in(phase2.implode()) & (pl.col("status") == "completed"))
        .group_by("employee_id")
        .agg(month(pl.col("session_date").min()).alias("g"))
    )
    months = (
        pl.read_parquet(out / "staff.parquet")
        .select(
            "employee_id",
            pl.date_ranges(
                pl.date(pl.col("fiscal_year"), 4, 1),
                pl.date(pl.col("fiscal_year") + 1, 3, 1),
                "1mo",
            ).alias("m"),
        )
        .explode("m")
        .select("employee_id", month(pl.col("m")).alias("t"))
    )
    counts = (
        pl.read_parquet(out / "proposals.parquet")
        .group_by("employee_id", month(pl.col("submitted_on")).alias("t"))
        .len("y")
    )
    panel = (
        months.join(counts, on=["employee_id", "t"], how="left")
        .join(cohort, on="employee_id", how="left")
        .with_columns(
            pl.col("y").fill_null(0).cast(pl.Float64),
            pl.col("g").fill_null(0),
            pl.col("employee_id").rank("dense").alias("unit"),
        )
    )
    est = diff_diff.CallawaySantAnna(
        control_group="not_yet_treated", estimation_method="reg", allow_unbalanced_panel=True
    )
    res = est.fit(
        panel.to_pandas(), outcome="y", unit="unit", time="t", first_treat="g", aggregate="simple"
    )
    truth_att = truth["expected_att_per_employee_month"]
    assert abs(res.overall_att - truth_att) < 3 * res.overall_se
