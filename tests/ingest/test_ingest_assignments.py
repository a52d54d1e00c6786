"""The optional ``assignments`` dataset through the ingest, then through the KPI engine.

The tiny raw city's FY2025 staff list has 0000001 (manager) and 0000002 (mid), both in 020100
on April 1; 0000002 submits P002 on 2025-07-01 and attends C01 on 2025-05-10.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.processed import load_processed
from dxkpi.kpi.engine import compute, compute_kpi
from dxkpi.kpi.examples import cell
from dxkpi.project.config import Config
from tests.helpers import ROOT, SECRET
from tests.helpers.rawcity import write_csv

pytestmark = pytest.mark.integration

HEADER = ["職員番号", "所属コード", "職層", "発令日", "終了日", "在籍区分"]
ROWS = [
    # open-ended 在籍 from April, and a temporary move that overlaps it (the later one wins)
    ("0000002", "020100", "中堅", "令和7年4月1日", "", "在籍"),
    ("0000002", "010100", "中堅", "2025/6/1", "2025-09-30", "在籍"),
    ("0000001", "020100", "管理職", "R7.10.1", "R8.3.31", "育休"),
    # spreadsheet rows 5–8: one fault each
    ("0000001", "020100", "管理職", "2025-12-01", "2025-11-01", "在籍"),
    ("0000009", "020100", "一般", "2025-04-01", "", "在籍"),
    ("0000001", "010100", "管理職", "2025-05-01", "", "研修中"),
    ("0000002", "010100", "中堅", "2025-04-01", "", "在籍"),
]
FAULTS = {
    5: "assignments.valid_to.ge_valid_from",
    6: "assignments.employee_id.on_staff_list",
    7: "assignments.status.accepted",
    8: "assignments.key_conflict",
}


def _write(raw: Path) -> None:
    write_csv(raw / "所属履歴_2025.csv", [dict(zip(HEADER, r, strict=True)) for r in ROWS])


def test_assignments_rows_accepted_and_quarantined_by_rule(tiny_raw: Path, tmp_path: Path):
    _write(tiny_raw)
    report = run_ingest(
        tiny_raw, tmp_path / "out", expectations=ROOT / "expectations", secret=SECRET
    )
    info = report.manifest["datasets"]["assignments"]
    # the tiny city's own assignments.csv (one order) and this file together
    assert (info["rows_in"], info["accepted"], info["quarantined"]) == (8, 4, 4)
    assert info["suite"]["success"]
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "assignments.csv", infer_schema=False)
    assert dict(zip(q["_source_row"].cast(pl.Int64), q["rule"], strict=True)) == FAULTS
    got = pl.read_parquet(tmp_path / "out" / "assignments.parquet")
    assert sorted(got["status"].to_list()) == ["active", "active", "active", "childcare_leave"]
    assert got["valid_to"].null_count() == 2  # the open-ended orders
    assert not got["employee_id"].is_in(["0000001", "0000002"]).any()  # pseudonymised


def test_engine_follows_the_ingested_roster(tiny_raw: Path, tmp_path: Path):
    (tiny_raw / "assignments.csv").unlink()
    plain = tmp_path / "plain"
    run_ingest(tiny_raw, plain, expectations=ROOT / "expectations", secret=SECRET)
    _write(tiny_raw)
    dated = tmp_path / "dated"
    run_ingest(tiny_raw, dated, expectations=ROOT / "expectations", secret=SECRET)
    assert not (plain / "assignments.parquet").exists()
    with_roster = load_processed(dated)

    def cells(data, kpi):  # unsuppressed: the tiny city's cells are below min_cell_size
        return compute_kpi(data, kpi, [2025], ["city", "department"]).collect()

    props = cells(with_roster, "proposals_per_100")
    # P002 (2025-07-01) falls in 0000002's temporary order in 010100: 4 months at work there.
    p010 = cell(props, "department", "010100")
    assert p010["numerator"] == 1 and p010["denominator"] == pytest.approx(4 / 12)
    assert p010["value"] == pytest.approx(300.0)
    # 020100: 0000002 8 months + 0000001 6 months (育休 from October) = 14/12 person-years
    assert cell(props, "department", "020100")["denominator"] == pytest.approx(14 / 12)
    assert cell(props, "city", "city")["denominator"] == pytest.approx(1.5)
    part = cells(with_roster, "participation_rate")
    assert cell(part, "city", "city")["value"] == pytest.approx(1 / 1.5)
    assert cell(part, "department", "020100")["value"] == pytest.approx(8 / 14)
    # Without the file the April list decides, and the same data without it is identical.
    april = cells(load_processed(plain), "proposals_per_100")
    assert cell(april, "city", "city")["denominator"] == 2
    assert cell(april, "department", "020100")["numerator"] == 1
    config = Config()
    kpis = ["participation_rate", "proposals_per_100", "completion_rate"]
    by = ["city", "department", "job_level"]
    plain_rich = compute(load_processed(plain), config, kpis=kpis, by=by)
    dropped = compute(with_roster.without("assignments"), config, kpis=kpis, by=by)
    assert_frame_equal(dropped, plain_rich)
