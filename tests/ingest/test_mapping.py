"""Mappings: a city's own exports (HR staff list, LMS attendance) proposed by ``dxkpi map``,
written, and ingested with row conservation and the same accepted rows as the contract-shaped
original; unmapped values are row faults naming the value and the table; bad mapping files are
two-language errors naming the file and the key."""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from dxkpi.catalogue import synonyms
from dxkpi.core.errors import ConfigError, ContractError
from dxkpi.ingest.mapping import MappingSet, project_mappings
from dxkpi.ingest.pipeline import IngestReport, run_ingest
from dxkpi.ingest.propose import propose
from dxkpi.project.config import load_mappings, parse_mappings
from dxkpi.sample import generate_city
from tests.helpers import ROOT, SECRET
from tests.helpers.cli import run_dxkpi
from tests.helpers.exports import (
    HR_FILE,
    LMS_FILE,
    TITLES,
    hr_staff_export,
    lms_attendance_export,
    original,
)
from tests.helpers.rawcity import TINY, write_csv

EXP = ROOT / "expectations"
LINEAGE = ["_source_file", "_source_sheet", "_source_row"]


def _project(folder: Path, files: dict[str, Path]) -> Path:
    """A project folder (empty dxkpi.toml) whose data/raw holds copies of ``files``."""
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True)
    (folder / "dxkpi.toml").write_text("", encoding="utf-8")
    for name, path in files.items():
        shutil.copy(path, raw / name)
    return folder


# ---------------------------------------------------------------- mapping files


@pytest.mark.parametrize(
    ("section", "key", "en"),
    [
        ({"staf": {}}, "mapping.staf", "unknown dataset"),
        ({"staff": {"columns": {"職員コード": "employee_no"}}}, "columns.職員コード", "no column"),
        (
            {"staff": {"values": {"job_level": {"参与": "boss"}}}},
            "values.job_level.参与",
            "not a value of job_level",
        ),
        (
            {"staff": {"values": {"employee_id": {"1": "0000001"}}}},
            "values.employee_id",
            "cannot have a values table",
        ),
        (
            {"staff": {"ids": {"job_level": {"zero_pad": 7}}}},
            "ids.job_level",
            "not an identifier column",
        ),
        ({"staff": {"ids": {"employee_id": {"zero_pad": 0}}}}, "zero_pad", "number of digits"),
        ({"staff": {"colums": {}}}, "mapping.staff.colums", "unknown key"),
        ({"staff": {"values": "job_level"}}, "mapping.staff.values", "expected a table"),
        ({"staff": {"ids": ["employee_id"]}}, "mapping.staff.ids", "expected a table"),
        ({"staff": {"columns": {"氏名": "employee_id"}}}, "columns.氏名", "personal"),
        (
            {"staff": {"columns": {"職員コード": "employee_id", "社員番号": "employee_id"}}},
            "columns.社員番号",
            "already the target",
        ),
    ],
)
def test_bad_mapping_is_a_two_language_error_naming_file_and_key(
    section: dict[str, object], key: str, en: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mappings(section, "mappings/jinji.toml")
    message = caught.value.message()
    assert "ファイル mappings/jinji.toml" in message
    assert "file mappings/jinji.toml" in message
    assert key in message
    assert en in caught.value.en


def test_values_targets_are_canonical_codes_and_hash_ignores_order() -> None:
    a = parse_mappings(
        {"staff": {"values": {"職層": {"課長": "管理職", "係長": "mid"}}}}, "dxkpi.toml"
    )[0]
    b = parse_mappings(
        {"staff": {"values": {"job_level": {"係長": "中堅", "課長": "manager"}}}}, "x.toml"
    )[0]
    assert dict(a.values["job_level"]) == {"課長": "manager", "係長": "mid"}
    assert a.sha256 == b.sha256  # the same content, written in another order and language
    c = parse_mappings({"staff": {"values": {"job_level": {"課長": "mid"}}}}, "x.toml")[0]
    assert c.sha256 != a.sha256


def test_project_mappings_from_toml_and_folder(tmp_path: Path) -> None:
    (tmp_path / "dxkpi.toml").write_text(
        '[privacy]\nmin_cell_size = 10\n[mapping.courses.columns]\n"講座名" = "course_name"\n',
        encoding="utf-8",
    )
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "lms.toml").write_text(
        '[mapping.attendance]\nfiles = ["LMS*.csv"]\n[mapping.attendance.columns]\n'
        '"受講者ID" = "employee_id"\n',
        encoding="utf-8",
    )
    found = load_mappings(tmp_path)
    assert [(m.source, m.dataset) for m in found] == [
        ("dxkpi.toml", "courses"),
        ("mappings/lms.toml", "attendance"),
    ]
    routes = project_mappings(tmp_path)
    assert routes.route("sub/LMS_2025.csv") == "attendance"
    assert routes.route("courses.csv") is None
    (tmp_path / "mappings" / "broken.toml").write_text("[mapping.staff\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mappings/broken\.toml"):
        load_mappings(tmp_path)


def test_two_mappings_without_files_for_one_dataset_are_refused() -> None:
    one = parse_mappings({"staff": {}}, "dxkpi.toml")
    two = parse_mappings({"staff": {}}, "mappings/b.toml")
    with pytest.raises(ConfigError, match="two mappings without files"):
        MappingSet(one + two)
    both = MappingSet(
        parse_mappings({"staff": {"files": ["x*.csv"]}}, "a.toml")
        + parse_mappings({"staff": {"files": ["*y.csv"]}}, "b.toml")
    )
    with pytest.raises(ContractError, match="more than one mapping"):
        both.for_part("xy.csv", "staff")


# ---------------------------------------------------------------- applied at ingest (tiny city)


def _staff_export(raw: Path, extra: list[dict[str, str]] | None = None) -> None:
    """The tiny city's staff as an HR export: 職員コード without leading zeros, 職名."""
    (raw / "staff.csv").unlink()
    titles = {"manager": "課長", "mid": "係長", "staff": "主事"}
    rows = [
        {
            "年度": r["fiscal_year"],
            "職員コード": r["employee_id"].lstrip("0"),
            "所属コード": r["department_code"],
            "職名": titles[r["job_level"]],
            "DX人材タイプ": r["talent_type"],
            "内線": "1234",
        }
        for r in TINY["staff"]
    ]
    write_csv(raw / "jinji_export.csv", rows + (extra or []), encoding="cp932")


_STAFF_MAPPING = {
    "staff": {
        "system": "人事給与システム",
        "files": ["jinji_*.csv"],
        "columns": {"職員コード": "employee_id", "職名": "job_level"},
        "values": {"job_level": {"課長": "manager", "係長": "mid", "主事": "staff"}},
        "ids": {"employee_id": {"zero_pad": 7}},
        "ignore": {"columns": ["内線"]},
    }
}


def test_mapped_export_ingests_like_the_original(tiny_raw: Path, tmp_path: Path) -> None:
    run_ingest(tiny_raw, tmp_path / "before", expectations=EXP, secret=SECRET)
    _staff_export(tiny_raw)
    mappings = MappingSet(parse_mappings(_STAFF_MAPPING, "mappings/jinji.toml"))
    report = run_ingest(
        tiny_raw, tmp_path / "after", expectations=EXP, secret=SECRET, mappings=mappings
    )
    assert report.ok
    before = pl.read_parquet(tmp_path / "before" / "staff.parquet").drop(LINEAGE)
    after = pl.read_parquet(tmp_path / "after" / "staff.parquet").drop(LINEAGE)
    assert after.equals(before)  # zero-padded IDs → the same pseudonyms; titles → the codes
    info = report.manifest["datasets"]["staff"]
    assert info["mappings"] == [
        {
            "source": "mappings/jinji.toml",
            "section": "mapping.staff",
            "system": "人事給与システム",
            "sha256": mappings.mappings[0].sha256,
            "files": ["jinji_export.csv"],
        }
    ]
    (file,) = [f for f in report.manifest["files"] if f["dataset"] == "staff"]
    assert file["mapping"]["sha256"] == mappings.mappings[0].sha256
    assert file["ignored_columns"] == []  # 内線 is left out on purpose, not reported unknown
    # attendance still references the staff rows: nothing else moved
    assert report.manifest["datasets"]["attendance"]["accepted"] == len(TINY["attendance"])


def test_unmapped_title_is_a_row_fault_naming_it(tiny_raw: Path, tmp_path: Path) -> None:
    extra = {
        "年度": "2025",
        "職員コード": "3",
        "所属コード": "010100",
        "職名": "参与",
        "DX人材タイプ": "",
        "内線": "1",
    }
    _staff_export(tiny_raw, [extra])
    mappings = MappingSet(parse_mappings(_STAFF_MAPPING, "mappings/jinji.toml"))
    report = run_ingest(
        tiny_raw, tmp_path / "out", expectations=EXP, secret=SECRET, mappings=mappings
    )
    info = report.manifest["datasets"]["staff"]
    rows = len(TINY["staff"]) + 1
    assert (info["rows_in"], info["accepted"], info["quarantined"]) == (rows, rows - 1, 1)
    assert info["rules"] == {"staff.unmapped_value": 1}  # not also job_level.accepted
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "staff.csv", infer_schema=False)
    assert q["job_level"].to_list() == ["参与"]
    assert q["_source_row"].to_list() == [str(rows + 1)]
    assert q["detail_ja"].to_list() == [
        "「職層」の値「参与」が対応表 [mapping.staff.values.job_level]（mappings/jinji.toml）"
        "にない。対応表に加えてください"
    ]
    assert q["detail_en"].to_list() == [
        "job_level: value '参与' is not in [mapping.staff.values.job_level] "
        "(mappings/jinji.toml): add it to that table"
    ]


def test_repeated_source_header_is_a_repeated_header(tiny_raw: Path, tmp_path: Path) -> None:
    header = {k: k for k in ("年度", "職員コード", "所属コード", "職名", "DX人材タイプ", "内線")}
    _staff_export(tiny_raw, [header])
    mappings = MappingSet(parse_mappings(_STAFF_MAPPING, "mappings/jinji.toml"))
    report = run_ingest(
        tiny_raw, tmp_path / "out", expectations=EXP, secret=SECRET, mappings=mappings
    )
    assert report.manifest["datasets"]["staff"]["rules"] == {"staff.repeated_header": 1}


def test_strip_removes_white_space_inside_ids(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["staff"]]
    rows[0]["employee_id"] = "000 0001"
    rows[2]["employee_id"] = "０００ ０００１"
    write_csv(tiny_raw / "staff.csv", rows)
    plain = run_ingest(tiny_raw, tmp_path / "plain", expectations=EXP, secret=SECRET)
    assert plain.manifest["datasets"]["staff"]["rules"] == {"staff.employee_id.id_format": 2}
    mappings = MappingSet(
        parse_mappings({"staff": {"ids": {"employee_id": {"strip": True}}}}, "dxkpi.toml")
    )
    fixed = run_ingest(
        tiny_raw, tmp_path / "fixed", expectations=EXP, secret=SECRET, mappings=mappings
    )
    assert fixed.manifest["datasets"]["staff"]["quarantined"] == 0


# ---------------------------------------------------------------- proposals


def test_proposal_on_a_small_lms_export(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "lms.csv",
        [
            {"ユーザーID": "12", "講座ID": "C01", "受講日": "2025/4/8", "ステータス": "修了済"},
            {
                "ユーザーID": "7",
                "講座ID": "C01",
                "受講日": "2025/4/8",
                "ステータス": "欠席（連絡あり）",
            },
            {"ユーザーID": "123", "講座ID": "C02", "受講日": "2025/5/8", "ステータス": "修了済"},
            {"ユーザーID": "5", "講座ID": "C02", "受講日": "2025/5/8", "ステータス": "要確認"},
        ],
    )
    proposal = propose(path, dataset="attendance")
    by_header = {c.header: c for c in proposal.columns}
    assert {h: (c.column, c.confidence) for h, c in by_header.items()} == {
        "ユーザーID": ("employee_id", "synonym"),
        "講座ID": ("course_id", "synonym"),
        "受講日": ("session_date", "exact"),
        "ステータス": ("status", "synonym"),
    }
    status = {v.value: (v.target, v.count, v.reason) for v in by_header["ステータス"].values}
    assert status == {
        "修了済": ("completed", 2, "synonym"),
        "欠席（連絡あり）": ("absent", 1, "synonym"),
        "要確認": (None, 1, "unknown"),
    }
    rule = by_header["ユーザーID"].id_rule
    assert rule is not None and rule.zero_pad == 3  # 1–3 digits: leading zeros lost
    table = tomllib.loads(proposal.toml())["mapping"]["attendance"]
    assert table["values"]["status"] == {"修了済": "completed", "欠席（連絡あり）": "absent"}
    assert table["files"] == ["lms.csv"]


def test_headers_by_width_kana_and_values(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "kensyu.csv",
        [
            {
                "ｹﾝｼｭｳｺｰﾄﾞ": "C1",
                "研修名": "DX基礎",
                "ﾌｪｰｽﾞ": "1",
                "すきる領域": "データ活用",
                "時 間": "3",
                "区分": "内部講師",
            },
        ],
    )
    proposal = propose(path, dataset="courses")
    got = {c.header: (c.column, c.confidence) for c in proposal.columns}
    assert got["ﾌｪｰｽﾞ"] == ("phase", "exact")  # NFKC: ingest reads it as フェーズ already
    assert got["時 間"] == ("hours", "normalised")
    assert got["すきる領域"] == ("skill_area", "normalised")
    assert got["区分"] == ("instructor", "values")  # 内部講師 is an instructor label
    assert got["ｹﾝｼｭｳｺｰﾄﾞ"] == (None, "none")
    assert proposal.missing_required == ("course_id",)


# ---------------------------------------------------------------- realistic exports, end to end


@pytest.fixture(scope="module")
def city_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("city") / "raw"
    generate_city(raw, seed=7)
    return raw


def _subset(raw: Path, names: tuple[str, ...]) -> dict[str, Path]:
    return {n: raw / n for n in names}


def _map_and_write(
    capsys: pytest.CaptureFixture[str], project: Path, export: str
) -> tuple[str, Path]:
    code, out = run_dxkpi(
        capsys, "--project", str(project), "map", str(project / "data" / "raw" / export), "--write"
    )
    assert code == 0, out
    written = project / "mappings" / f"{Path(export).stem}.toml"
    assert written.is_file()
    return out, written


def _ingest_original(city_raw: Path, names: tuple[str, ...], out: Path) -> IngestReport:
    """Ingest copies of the sample city's contract-shaped files ``names`` into ``out`` (what
    an export read through its mapping is compared with)."""
    raw = out.parent / f"{out.name}_raw"
    raw.mkdir()
    for n in names:
        shutil.copy(city_raw / n, raw / n)
    return run_ingest(raw, out, expectations=EXP, secret=SECRET)


def _ingest_mapped(project: Path, out: Path) -> IngestReport:
    """Ingest the project's raw folder into ``out`` with the project's mappings."""
    return run_ingest(
        project / "data" / "raw",
        out,
        expectations=EXP,
        secret=SECRET,
        mappings=project_mappings(project),
    )


@pytest.mark.integration
def test_hr_export_maps_and_ingests_like_the_staff_list(
    city_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    masters = ("マスタ.xlsx", "courses.xlsx")
    before = _ingest_original(city_raw, (*masters, "staff.csv"), tmp_path / "before")

    exports = tmp_path / "exports"
    exports.mkdir()
    hr = hr_staff_export(city_raw, "staff.csv", exports)
    project = _project(tmp_path / "city", {**_subset(city_raw, masters), HR_FILE: hr})
    out, written = _map_and_write(capsys, project, HR_FILE)
    assert "「職名」 → job_level（職層）  [synonym]" in out
    text = written.read_text(encoding="utf-8")
    table = tomllib.loads(text)["mapping"]["staff"]
    assert table["files"] == ["人事給与_職員一覧_*.csv"]
    assert table["columns"]["職員コード"] == "employee_id"
    assert table["columns"]["所属名称"] == "department_code"
    assert table["values"]["job_level"] == {
        t: {"部長": "manager", "次長": "manager", "課長": "manager"}.get(
            t, "mid" if t in ("課長補佐", "係長", "主査") else "staff"
        )
        for t in TITLES
    }
    assert table["values"]["department_code"]["総務課"] == "010100"
    # the staff row of a department not in the master: left for the city, as a comment
    assert '# "080600" = ""' in text

    after = _ingest_mapped(project, tmp_path / "after")
    assert after.ok
    staff_before = pl.read_parquet(tmp_path / "before" / "staff.parquet").drop(LINEAGE)
    staff_after = pl.read_parquet(tmp_path / "after" / "staff.parquet").drop(LINEAGE)
    assert staff_after.equals(staff_before)
    (file,) = [f for f in after.manifest["files"] if f["dataset"] == "staff"]
    rows = original(city_raw, "staff.csv").height
    assert (file["file"], file["rows_in"]) == (HR_FILE, rows)
    assert file["accepted"] + file["quarantined"] == rows
    assert file["dropped_personal_columns"] == ["氏名"]
    assert file["mapping"]["source"] == f"mappings/{written.name}"
    info_before = before.manifest["datasets"]["staff"]["rules"]
    info_after = after.manifest["datasets"]["staff"]["rules"]
    # the planted unknown department: exists-rule in the original, unmapped name in the export
    assert info_before.pop("staff.department_code.exists") == 1
    assert info_after.pop("staff.unmapped_value") == 1
    assert info_after == info_before


@pytest.mark.integration
def test_lms_export_maps_and_ingests_like_the_attendance_file(
    city_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("マスタ.xlsx", "courses.xlsx", "staff.csv")
    source = "受講_FY2024.csv"
    before = _ingest_original(city_raw, (*base, source), tmp_path / "before")

    exports = tmp_path / "exports"
    exports.mkdir()
    lms = lms_attendance_export(city_raw, source, exports)
    project = _project(tmp_path / "city", {**_subset(city_raw, base), LMS_FILE: lms})
    _out, written = _map_and_write(capsys, project, LMS_FILE)
    table = tomllib.loads(written.read_text(encoding="utf-8"))["mapping"]["attendance"]
    assert table["ids"]["employee_id"] == {"zero_pad": 7}  # the staff list's IDs: 7 digits
    assert table["values"]["status"] == {
        "修了済": "completed",
        "受講済": "attended",
        "欠席(連絡あり)": "absent",
        "欠席(連絡なし)": "absent",
    }
    assert table["columns"]["受講日時"] == "session_date"
    assert table["ignore"] == {"columns": ["講座名"]}

    after = _ingest_mapped(project, tmp_path / "after")
    assert after.ok
    att_before = pl.read_parquet(tmp_path / "before" / "attendance.parquet").drop(LINEAGE)
    att_after = pl.read_parquet(tmp_path / "after" / "attendance.parquet").drop(LINEAGE)
    assert att_after.equals(att_before)
    (file,) = [f for f in after.manifest["files"] if f["dataset"] == "attendance"]
    assert file["rows_in"] == original(city_raw, source).height
    assert file["accepted"] + file["quarantined"] == file["rows_in"]
    rules_before = before.manifest["datasets"]["attendance"]["rules"]
    rules_after = after.manifest["datasets"]["attendance"]["rules"]
    # the planted status 保留: not an accepted value there, not in the LMS table here
    assert rules_before.pop("attendance.status.accepted") == 1
    assert rules_after.pop("attendance.unmapped_value") == 1
    assert rules_after == rules_before
    q = pl.read_csv(tmp_path / "after" / "quarantine" / "attendance.csv", infer_schema=False)
    hit = q.filter(pl.col("rule") == "attendance.unmapped_value")
    assert hit["status"].to_list() == ["保留"]
    assert "[mapping.attendance.values.status]" in hit["detail_en"][0]


@pytest.mark.integration
def test_ingest_command_refuses_a_bad_mapping_file(
    tiny_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path / "city", {})
    shutil.rmtree(project / "data" / "raw")
    shutil.copytree(tiny_raw, project / "data" / "raw")
    (project / "mappings").mkdir()
    (project / "mappings" / "jinji.toml").write_text(
        '[mapping.staff.values.job_level]\n"参与" = "顧問"\n', encoding="utf-8"
    )
    code, out = run_dxkpi(capsys, "--project", str(project), "ingest", "--expectations", str(EXP))
    assert code == 2
    assert "ファイル mappings/jinji.toml: 設定キー「mapping.staff.values.job_level.参与」" in out
    assert "file mappings/jinji.toml: config key 'mapping.staff.values.job_level.参与'" in out
    assert not (project / "data" / "processed").exists()  # refused before anything is written


def test_map_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path / "city", {})
    path = write_csv(project / "data" / "raw" / "lms.csv", [{"受講者ID": "1", "講座コード": "C1"}])
    (project / "mappings").mkdir()
    (project / "mappings" / "lms.toml").write_text("# hand-edited\n", encoding="utf-8")
    code, out = run_dxkpi(
        capsys, "--project", str(project), "map", str(path), "--dataset", "attendance", "--write"
    )
    assert code == 2
    assert "the mapping file already exists" in out
    assert (project / "mappings" / "lms.toml").read_text(encoding="utf-8") == "# hand-edited\n"


def test_shipped_mapping_is_copied_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    text = (
        '[mapping.courses]\nsystem = "LMS"\n[mapping.courses.columns]\n"講座名" = "course_name"\n'
    )
    (shipped / "lms_courses.toml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(synonyms, "SHIPPED_MAPPINGS", shipped)
    project = _project(tmp_path / "city", {})
    code, out = run_dxkpi(capsys, "--project", str(project), "map", "--shipped", "nothing")
    assert code == 2
    assert "no shipped mapping called 'nothing' (shipped: lms_courses)" in out
    code, out = run_dxkpi(
        capsys, "--project", str(project), "map", "--shipped", "lms_courses", "--write"
    )
    assert code == 0, out
    assert (project / "mappings" / "lms_courses.toml").read_text(encoding="utf-8") == text
    assert [m.system for m in load_mappings(project)] == ["LMS"]


def test_missing_column_of_a_mapped_file_points_to_the_mapping(
    tiny_raw: Path, tmp_path: Path
) -> None:
    _staff_export(tiny_raw)
    section = {"staff": {**_STAFF_MAPPING["staff"], "columns": {"職員コード": "employee_id"}}}
    section["staff"].pop("values")
    mappings = MappingSet(parse_mappings(section, "mappings/jinji.toml"))
    report = run_ingest(
        tiny_raw, tmp_path / "out", expectations=EXP, secret=SECRET, mappings=mappings
    )
    assert not report.ok
    info = report.manifest["datasets"]["staff"]
    assert info["status"] == "failed"
    assert info["error"]["file"] == "jinji_export.csv"
    assert "missing required column(s): job_level" in info["error"]["en"]
    assert "under columns in mappings/jinji.toml [mapping.staff]" in info["error"]["message"]
    assert "マッピング mappings/jinji.toml [mapping.staff] の columns" in info["error"]["message"]


@pytest.mark.integration
def test_ingest_command_reads_the_project_mappings(
    tiny_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _staff_export(tiny_raw)
    project = _project(tmp_path / "city", {})
    shutil.rmtree(project / "data" / "raw")
    shutil.copytree(tiny_raw, project / "data" / "raw")
    (project / "mappings").mkdir()
    (project / "mappings" / "jinji.toml").write_text(
        '[mapping.staff]\nfiles = ["jinji_*.csv"]\n'
        '[mapping.staff.columns]\n"職員コード" = "employee_id"\n"職名" = "job_level"\n'
        '[mapping.staff.values.job_level]\n"課長" = "manager"\n"係長" = "mid"\n"主事" = "staff"\n'
        "[mapping.staff.ids.employee_id]\nzero_pad = 7\n",
        encoding="utf-8",
    )
    code, out = run_dxkpi(capsys, "--project", str(project), "ingest", "--expectations", str(EXP))
    assert code == 0, out
    assert "staff: マッピング mapping mappings/jinji.toml [mapping.staff]" in out
    staff = pl.read_parquet(project / "data" / "processed" / "staff.parquet")
    assert staff["job_level"].to_list() == ["manager", "staff", "manager", "mid"]
    assert staff["_source_file"].unique().to_list() == ["jinji_export.csv"]


def test_forms_timestamp_ignored_columns_and_a_dropped_name(tmp_path: Path) -> None:
    """A survey tool's xlsx: ID, 開始時刻, 完了時刻, メール, 名前 — the completion time is
    proposed for the one date column left, the rest ignored, the name dropped."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Form1"
    sheet.append(
        ["ID", "開始時刻", "完了時刻", "メール", "名前", "受講者ID", "講座コード", "受講状況"]
    )
    start = dt.datetime(2025, 6, 30, 10, 1)
    for i, status in enumerate(("修了済", "欠席", "修了済")):
        when = start + dt.timedelta(days=i)
        sheet.append(
            [
                i + 1,
                when,
                when + dt.timedelta(minutes=4),
                "a@x.jp",
                "山田",
                10013 + i,
                "C01",
                status,
            ]
        )
    book.save(tmp_path / "forms.xlsx")
    proposal = propose(tmp_path / "forms.xlsx", dataset="attendance")
    got = {c.header: (c.column, c.confidence) for c in proposal.columns}
    assert got == {
        "ID": (None, "none"),
        "開始時刻": (None, "none"),
        "完了時刻": ("session_date", "values"),
        "メール": (None, "none"),
        "名前": (None, "personal"),
        "受講者ID": ("employee_id", "synonym"),
        "講座コード": ("course_id", "synonym"),
        "受講状況": ("status", "exact"),
    }
    section = proposal.mapping_table()["attendance"]
    assert isinstance(section, dict)
    assert section["ignore"] == {"columns": ["ID", "開始時刻", "メール"]}
    assert section["values"] == {"status": {"修了済": "completed", "欠席": "absent"}}
    mappings = MappingSet(parse_mappings(proposal.mapping_table(), "mappings/forms.toml"))
    assert mappings.mappings[0].columns["完了時刻"] == "session_date"


def test_likert_text_maps_to_an_integer_scale(tiny_raw: Path, tmp_path: Path) -> None:
    """A survey's text answers become the contract's 1–5 scale through a values table (TOML
    integers or strings); an empty answer stays empty (optional column)."""
    rows = [dict(r) for r in TINY["attendance"]]
    rows[0]["satisfaction"] = "とても満足"
    rows[1]["satisfaction"] = "やや不満"
    write_csv(tiny_raw / "attendance.csv", rows)
    likert = {"とても満足": 5, "満足": 4, "ふつう": "3", "やや不満": 2, "不満": 1}
    mappings = MappingSet(
        parse_mappings({"attendance": {"values": {"satisfaction": likert}}}, "dxkpi.toml")
    )
    report = run_ingest(
        tiny_raw, tmp_path / "out", expectations=EXP, secret=SECRET, mappings=mappings
    )
    assert report.manifest["datasets"]["attendance"]["quarantined"] == 0
    att = pl.read_parquet(tmp_path / "out" / "attendance.parquet")
    assert att["satisfaction"].to_list() == [5, 2, None]
    with pytest.raises(ConfigError, match="takes a whole number"):
        parse_mappings({"attendance": {"values": {"satisfaction": {"満足": 4.5}}}}, "dxkpi.toml")
