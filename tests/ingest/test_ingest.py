"""Ingestion: encodings, header languages, XLSX, file-level faults, privacy, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi.catalogue.contract import DATASETS
from dxkpi.commands.cli import cli
from dxkpi.ingest import gate as gate_module
from dxkpi.ingest import pipeline as ingest_mod
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.processed import manifest_hash
from dxkpi.ingest.pseudonym import pseudonym
from tests.helpers import ROOT, SECRET
from tests.helpers.rawcity import TINY, write_csv

pytestmark = pytest.mark.integration  # the whole ingest pipeline

EXP = ROOT / "expectations"


def _ingest(raw: Path, out: Path):  # type: ignore[no-untyped-def]
    return run_ingest(raw, out, expectations=EXP, secret=SECRET)


def _japanese(dataset: str) -> list[dict[str, str]]:
    """TINY rows with Japanese headers and Japanese labels for code values."""
    ds = DATASETS[dataset]
    out = []
    for row in TINY[dataset]:
        new = {}
        for col in ds.columns:
            value = row[col.name]
            label = {c.code: c.ja for c in col.codes}.get(value, value)
            new[col.ja] = label
        out.append(new)
    return out


def test_tiny_city_all_accepted(tiny_raw: Path, tmp_path: Path) -> None:
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.ok
    for name, rows in TINY.items():
        info = report.manifest["datasets"][name]
        assert (info["rows_in"], info["accepted"], info["quarantined"]) == (len(rows), len(rows), 0)
        assert info["suite"]["success"]
    assert not (tmp_path / "out" / "quarantine").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_encodings_and_japanese_headers(encoding: str, tiny_raw: Path, tmp_path: Path) -> None:
    (tiny_raw / "staff.csv").unlink()
    write_csv(tiny_raw / "職員_令和7年度.csv", _japanese("staff"), encoding=encoding)
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.ok
    files = {f["file"]: f for f in report.manifest["files"]}
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-bom", "cp932": "cp932"}[encoding]
    assert files["職員_令和7年度.csv"]["encoding"] == expected
    staff = pl.read_parquet(tmp_path / "out" / "staff.parquet")
    assert staff["job_level"].to_list() == ["manager", "staff", "manager", "mid"]
    assert staff["talent_type"].to_list() == ["leader", "unassigned", "leader", "practitioner"]


def test_wareki_fullwidth_and_japanese_values(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["attendance"]]
    rows[0]["session_date"] = "令和6年5月10日"
    rows[1]["session_date"] = "R7.5.10"
    rows[2]["session_date"] = "２０２５/６/１"
    rows[0]["status"] = "修了"
    write_csv(tiny_raw / "attendance.csv", rows)
    staff = [dict(r) for r in TINY["staff"]]
    for r, fy in zip(staff, ["令和6年度", "2024年度", "R7", "２０２５"], strict=True):
        r["fiscal_year"] = fy
    write_csv(tiny_raw / "staff.csv", staff)
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.ok and report.manifest["datasets"]["attendance"]["quarantined"] == 0
    att = pl.read_parquet(tmp_path / "out" / "attendance.parquet")
    assert [str(d) for d in att["session_date"]] == ["2024-05-10", "2025-05-10", "2025-06-01"]
    assert att["status"][0] == "completed"
    assert pl.read_parquet(tmp_path / "out" / "staff.parquet")["fiscal_year"].to_list() == [
        2024,
        2024,
        2025,
        2025,
    ]


def test_xlsx_sheets_by_dataset_name(tiny_raw: Path, tmp_path: Path) -> None:
    (tiny_raw / "courses.csv").unlink()
    (tiny_raw / "departments.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "研修"
    ws.append([c.ja for c in DATASETS["courses"].columns])
    for r in _japanese("courses"):
        ws.append([float(v) if k == "時間" else v for k, v in r.items()])
    ws2 = wb.create_sheet("組織")
    ws2.append(list(TINY["departments"][0]))
    for r in TINY["departments"]:
        ws2.append(list(r.values()))
    wb.create_sheet("メモ").append(["備考"])
    wb.save(tiny_raw / "masters.xlsx")
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.ok, report.errors
    courses = pl.read_parquet(tmp_path / "out" / "courses.parquet")
    assert courses["course_id"].to_list() == ["C01", "C02"]
    assert courses["hours"].to_list() == [3.0, 6.5]
    assert courses["phase"].to_list() == [1, 2]
    assert courses["_source_sheet"].to_list() == ["研修", "研修"]
    assert report.manifest["ignored_sheets"] == ["masters.xlsx#メモ"]
    depts = pl.read_parquet(tmp_path / "out" / "departments.parquet")
    assert depts["department_code"].to_list() == ["010100", "020100"]


def test_name_column_dropped_and_unknown_columns_reported(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [{**r, "氏名": "山田 太郎", "内線": "1234"} for r in TINY["staff"]]
    write_csv(tiny_raw / "staff.csv", rows)
    report = _ingest(tiny_raw, tmp_path / "out")
    f = next(f for f in report.manifest["files"] if f["file"] == "staff.csv")
    assert f["dropped_personal_columns"] == ["氏名"]
    assert f["ignored_columns"] == ["内線"]
    staff = pl.read_parquet(tmp_path / "out" / "staff.parquet")
    assert "氏名" not in staff.columns and "内線" not in staff.columns
    blob = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert "山田".encode() not in blob


def test_employee_ids_pseudonymised_everywhere(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["attendance"]]
    rows.append({**rows[0], "employee_id": "0000777"})  # not on the staff list: quarantined
    write_csv(tiny_raw / "attendance.csv", rows)
    _ingest(tiny_raw, tmp_path / "out")
    staff = pl.read_parquet(tmp_path / "out" / "staff.parquet")
    assert set(staff["employee_id"]) == {pseudonym(SECRET, "0000001"), pseudonym(SECRET, "0000002")}
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "attendance.csv", infer_schema=False)
    assert q["employee_id"].to_list() == [pseudonym(SECRET, "0000777")]
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for raw_id in (b"0000001", b"0000002", b"0000777"):
                assert raw_id not in data, (path, raw_id)


def test_quarantine_csv_neutralises_formulas(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["proposals"]]
    rows.append({**rows[1], "proposal_id": "P003", "title": '=HYPERLINK("x")', "status": "保留"})
    write_csv(tiny_raw / "proposals.csv", rows)
    _ingest(tiny_raw, tmp_path / "out")
    text = (tmp_path / "out" / "quarantine" / "proposals.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "proposals.csv", infer_schema=False)
    assert q["title"].to_list() == ['\'=HYPERLINK("x")']
    # processed data keeps the verbatim title of the accepted P001 (=申請様式の電子化)
    props = pl.read_parquet(tmp_path / "out" / "proposals.parquet")
    assert props["title"][0] == "=申請様式の電子化"


# ------------------------------------------------------------------ file-level faults


def _fault(report, dataset: str) -> dict:  # type: ignore[no-untyped-def]
    info = report.manifest["datasets"][dataset]
    assert info["status"] == "failed", info
    return info["error"]


def test_missing_required_column_stops_dataset_and_dependents(
    tiny_raw: Path, tmp_path: Path
) -> None:
    rows = [{k: v for k, v in r.items() if k != "job_level"} for r in TINY["staff"]]
    write_csv(tiny_raw / "staff.csv", rows)
    report = _ingest(tiny_raw, tmp_path / "out")
    assert not report.ok
    err = _fault(report, "staff")
    assert err["file"] == "staff.csv" and err["column"] == "job_level" and err["row"] == 1
    assert "職層" in err["ja"] and "job_level" in err["en"]
    assert report.manifest["datasets"]["attendance"]["status"] == "skipped"
    assert report.manifest["datasets"]["proposals"]["status"] == "skipped"
    # datasets that do not depend on staff are still ingested
    for name in ("departments", "courses", "projects", "resident_survey", "maturity_survey"):
        assert report.manifest["datasets"][name]["status"] == "ok"
        assert (tmp_path / "out" / f"{name}.parquet").exists()
    assert not (tmp_path / "out" / "staff.parquet").exists()


@pytest.mark.parametrize(
    ("content", "needle_en"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02garbage\xff\xfe\x00" * 50, "cannot decode"),
        (
            b"department_code,department_name,division\n"
            + "010100,総務課,総務部\n".encode("cp932")
            + "020100,市民課,市民部\n".encode(),
            "mixes UTF-8 and CP932",
        ),
        (
            b"department_code,department_name,division\n010100,a,b\n020100,c,d,EXTRA\n",
            "cannot parse as CSV",
        ),
    ],
    ids=["zero-byte", "binary", "mixed-encoding", "ragged"],
)
def test_unreadable_csv(content: bytes, needle_en: str, tiny_raw: Path, tmp_path: Path) -> None:
    (tiny_raw / "departments.csv").write_bytes(content)
    report = _ingest(tiny_raw, tmp_path / "out")
    err = _fault(report, "departments")
    assert err["file"] == "departments.csv"
    assert needle_en in err["en"]
    assert err["ja"]


def test_xlsx_that_is_not_a_zip(tiny_raw: Path, tmp_path: Path) -> None:
    (tiny_raw / "courses.csv").unlink()
    (tiny_raw / "courses.xlsx").write_bytes(b"this is not a workbook")
    report = _ingest(tiny_raw, tmp_path / "out")
    err = _fault(report, "courses")
    assert err["file"] == "courses.xlsx" and "XLSX" in err["en"]


def test_file_matching_no_dataset(tiny_raw: Path, tmp_path: Path) -> None:
    write_csv(tiny_raw / "budget_2025.csv", [{"a": "1"}])
    (tiny_raw / "notes.txt").write_text("memo", encoding="utf-8")
    report = _ingest(tiny_raw, tmp_path / "out")
    assert not report.ok
    assert [u["file"] for u in report.manifest["unmatched_files"]] == ["budget_2025.csv"]
    assert report.manifest["ignored_files"] == ["notes.txt"]
    assert all(d["status"] == "ok" for d in report.manifest["datasets"].values())


def test_cli_exit_codes_and_message(tiny_raw: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = [
        "ingest",
        "--raw",
        str(tiny_raw),
        "--out",
        str(tmp_path / "out"),
        "--expectations",
        str(EXP),
    ]
    ok = runner.invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "取り込み結果" in ok.output and "staff" in ok.output
    rows = [{k: v for k, v in r.items() if k != "job_level"} for r in TINY["staff"]]
    write_csv(tiny_raw / "staff.csv", rows)
    bad = runner.invoke(cli, args)
    assert bad.exit_code == 1
    assert "staff.csv" in bad.output and "job_level" in bad.output and "職層" in bad.output


# ------------------------------------------------------------------ conservation, atomicity


def test_conservation_per_file(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["attendance"]]
    rows += [{**rows[0], "status": "?"}, dict(rows[1])]
    write_csv(tiny_raw / "attendance_a.csv", rows[:2])
    write_csv(tiny_raw / "attendance_b.csv", rows[2:])
    (tiny_raw / "attendance.csv").unlink()
    report = _ingest(tiny_raw, tmp_path / "out")
    files = {f["file"]: f for f in report.manifest["files"]}
    assert (files["attendance_a.csv"]["rows_in"], files["attendance_b.csv"]["rows_in"]) == (2, 3)
    for f in report.manifest["files"]:
        assert f["rows_in"] == f["accepted"] + f["quarantined"]
    # the later file's repeat of a key from the earlier file is the duplicate
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "attendance.csv", infer_schema=False)
    assert sorted(zip(q["_source_file"], q["rule"], strict=True)) == [
        ("attendance_b.csv", "attendance.duplicate_key"),
        ("attendance_b.csv", "attendance.status.accepted"),
    ]


def test_conservation_violation_is_loud(
    tiny_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_mod.flag_duplicates

    def losing(ds, frame):  # type: ignore[no-untyped-def]
        return real(ds, frame).slice(1)  # silently loses a row

    monkeypatch.setattr(ingest_mod, "flag_duplicates", losing)
    with pytest.raises(ingest_mod.IngestInvariantError, match="row counts"):
        _ingest(tiny_raw, tmp_path / "out")


def _data_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_rerun_is_byte_identical(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["attendance"]] + [{**TINY["attendance"][0], "status": "?"}]
    write_csv(tiny_raw / "attendance.csv", rows)
    first = _ingest(tiny_raw, tmp_path / "out")
    before = _data_files(tmp_path / "out")
    second = _ingest(tiny_raw, tmp_path / "out")
    assert _data_files(tmp_path / "out") == before
    assert manifest_hash(first.manifest) == manifest_hash(second.manifest)
    assert "quarantine/attendance.csv" in before


@pytest.mark.parametrize("budget", [0, 10**12])
def test_output_does_not_depend_on_how_far_ahead_it_reads(
    budget: int, tiny_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading only the next dataset ahead (budget 0) or every dataset at once gives the
    same files and manifest as the default budget, and the datasets checked ahead of the
    one being ingested are never more than the budget allows."""
    rows = [dict(r) for r in TINY["attendance"]] + [{**TINY["attendance"][0], "status": "?"}]
    write_csv(tiny_raw / "attendance.csv", rows)
    default = _ingest(tiny_raw, tmp_path / "default")
    checked: list[str] = []
    real = ingest_mod.check_alone

    def counting(ds, parts, mappings=None):  # type: ignore[no-untyped-def]
        checked.append(ds.name)
        return real(ds, parts, mappings)

    monkeypatch.setattr(ingest_mod, "READ_AHEAD_BYTES", budget)
    monkeypatch.setattr(ingest_mod, "check_alone", counting)
    taken: list[list[str]] = []
    choose = ingest_mod.to_read_ahead

    def recording(*args):  # type: ignore[no-untyped-def]
        taken.append(choose(*args))
        return taken[-1]

    monkeypatch.setattr(ingest_mod, "to_read_ahead", recording)
    other = _ingest(tiny_raw, tmp_path / "other")
    assert _data_files(tmp_path / "other") == _data_files(tmp_path / "default")
    assert manifest_hash(other.manifest) == manifest_hash(default.manifest)
    assert len(checked) == len(TINY)  # each dataset read and checked once
    if budget == 0:
        assert {len(t) for t in taken} <= {0, 1}  # only the next dataset
    else:
        assert max(len(t) for t in taken) == len(TINY) - 1  # all after the first, at once


def test_raw_files_never_modified(tiny_raw: Path, tmp_path: Path) -> None:
    before = _data_files(tiny_raw)
    _ingest(tiny_raw, tmp_path / "out")
    assert _data_files(tiny_raw) == before


@pytest.mark.parametrize("where", ["_write_parquet", "publish_second_rename"])
def test_killed_run_leaves_previous_output(
    where: str, tiny_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _ingest(tiny_raw, out)
    before = _data_files(out)
    manifest_before = (out / "manifest.json").read_bytes()
    write_csv(tiny_raw / "courses.csv", TINY["courses"][:1])  # new data for the failing run

    class Killed(BaseException):
        pass

    if where == "_write_parquet":
        calls = {"n": 0}
        real = ingest_mod._write_parquet

        def dying(frame, path):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 4:
                raise Killed
            real(frame, path)

        monkeypatch.setattr(ingest_mod, "_write_parquet", dying)
        with pytest.raises(Killed):
            _ingest(tiny_raw, out)
    else:
        # killed between "rename out away" and "rename staging in": the next run recovers
        real_rename = Path.rename

        def dying_rename(self: Path, target):  # type: ignore[no-untyped-def]
            if ".new-" in self.name:
                raise Killed
            return real_rename(self, target)

        monkeypatch.setattr(Path, "rename", dying_rename)
        with pytest.raises(Killed):
            _ingest(tiny_raw, out)
        monkeypatch.undo()
        assert not out.exists()  # the half-done swap…
        ingest_mod.recover(out)  # …is rolled back by the next run's first step
    assert _data_files(out) == before
    assert (out / "manifest.json").read_bytes() == manifest_before
    assert not list(tmp_path.glob(".out.*"))


def test_manifest_contents(tiny_raw: Path, tmp_path: Path) -> None:
    report = _ingest(tiny_raw, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == report.manifest
    assert manifest["contract_version"] and len(manifest["contract_sha256"]) == 64
    f = manifest["files"][0]
    for key in ("file", "sha256", "rows_in", "accepted", "quarantined", "rules", "encoding"):
        assert key in f
    import hashlib

    assert f["sha256"] == hashlib.sha256((tiny_raw / f["file"]).read_bytes()).hexdigest()


def test_validate_command_prints_summary(tiny_raw: Path, tmp_path: Path) -> None:
    _ingest(tiny_raw, tmp_path / "out")
    result = CliRunner().invoke(cli, ["validate", "--data", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert "attendance" in result.output and "受理" in result.output


def test_suite_disagreeing_with_the_rules_stops_the_run(
    tiny_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepted rows that fail the GX suite mean the two evaluators disagree: nothing is
    published and the error names the suite."""
    out = tmp_path / "out"
    _ingest(tiny_raw, out)
    before = _data_files(out)
    real = ingest_mod.load_suite

    def stricter(folder, dataset):  # type: ignore[no-untyped-def]
        suite = real(folder, dataset)
        if dataset == "courses":
            suite["expectations"].append(
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "hours", "max_value": 1},
                    "meta": {"dxkpi_rule": "courses.hours.too_strict"},
                }
            )
        return suite

    monkeypatch.setattr(ingest_mod, "load_suite", stricter)
    with pytest.raises(ingest_mod.IngestInvariantError, match=r"courses\.hours\.too_strict"):
        _ingest(tiny_raw, out)
    assert _data_files(out) == before


def test_a_fault_building_the_gx_batches_stops_the_run(
    tiny_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches GX judges are built on a thread of their own: what goes wrong there stops
    the run as a fault of GX itself does, and nothing is published."""
    out = tmp_path / "out"
    _ingest(tiny_raw, out)
    before = _data_files(out)
    real = gate_module.prepare

    def broken(dataset, frame, suite, *args, **kwargs):  # type: ignore[no-untyped-def]
        if dataset == "attendance":
            raise RuntimeError("batches of attendance could not be built")
        return real(dataset, frame, suite, *args, **kwargs)

    monkeypatch.setattr(gate_module, "prepare", broken)
    with pytest.raises(RuntimeError, match="batches of attendance"):
        _ingest(tiny_raw, out)
    assert _data_files(out) == before
