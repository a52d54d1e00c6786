"""Hostile and broken input: every case ends in a clear message or a quarantined row, never a
crash, a lost row or a duplicated row."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dxkpi.catalogue.contract import DATASETS
from dxkpi.ingest.pipeline import run_ingest
from tests.helpers import ROOT, SECRET
from tests.helpers.rawcity import TINY, write_csv, write_tiny_city

pytestmark = pytest.mark.integration  # the whole ingest on hostile files

EXP = ROOT / "expectations"


def _ingest(raw: Path, out: Path):  # type: ignore[no-untyped-def]
    return run_ingest(raw, out, expectations=EXP, secret=SECRET)


def _csv_bytes(rows: list[dict[str, str]]) -> bytes:
    header = ",".join(rows[0])
    lines = [",".join(r.values()) for r in rows]
    return ("\n".join([header, *lines]) + "\n").encode()


def test_ragged_row_names_its_line(tiny_raw: Path, tmp_path: Path) -> None:
    data = _csv_bytes(TINY["courses"]) + b"C03,x,1,data,3,internal,EXTRA\n"
    (tiny_raw / "courses.csv").write_bytes(data)
    err = _ingest(tiny_raw, tmp_path / "out").manifest["datasets"]["courses"]["error"]
    assert (err["file"], err["row"]) == ("courses.csv", 4)
    assert "7 fields where the header has 6" in err["en"] and "列が 7 個" in err["ja"]


def test_unclosed_quote_names_its_line(tiny_raw: Path, tmp_path: Path) -> None:
    data = _csv_bytes(TINY["courses"]) + b'C03,"never closed,1,data,3,internal\n'
    (tiny_raw / "courses.csv").write_bytes(data)
    err = _ingest(tiny_raw, tmp_path / "out").manifest["datasets"]["courses"]["error"]
    assert (err["file"], err["row"]) == ("courses.csv", 4)
    assert "quote" in err["en"] and "引用符" in err["ja"]


def test_truncated_file_short_last_row_is_quarantined(tiny_raw: Path, tmp_path: Path) -> None:
    data = _csv_bytes(TINY["courses"]) + b"C03,\xe5\x88\x87\xe3\x82\x8c"  # cut mid-row
    (tiny_raw / "courses.csv").write_bytes(data)
    report = _ingest(tiny_raw, tmp_path / "out")
    info = report.manifest["datasets"]["courses"]
    assert (info["rows_in"], info["accepted"], info["quarantined"]) == (3, 2, 1)
    assert "courses.phase.required" in info["rules"]


def test_truncated_multibyte_character_is_a_file_fault(tiny_raw: Path, tmp_path: Path) -> None:
    data = _csv_bytes(TINY["departments"]).replace(b"\n", b"\r\n").decode().encode("cp932")
    (tiny_raw / "departments.csv").write_bytes(data.rstrip(b"\r\n") + "課".encode("cp932")[:1])
    err = _ingest(tiny_raw, tmp_path / "out").manifest["datasets"]["departments"]["error"]
    assert err["file"] == "departments.csv" and "decode" in err["en"]


def test_header_repeated_mid_file(tiny_raw: Path, tmp_path: Path) -> None:
    """Two exports concatenated (the second with Japanese headers): the repeated header row is
    quarantined with its own rule and the rows after it are read normally."""
    ja_header = {c.name: c.ja for c in DATASETS["courses"].columns}
    rows = [
        *TINY["courses"],
        ja_header,
        {**TINY["courses"][0], "course_id": "C03", "course_name": "追加研修"},
    ]
    write_csv(tiny_raw / "courses.csv", rows)
    report = _ingest(tiny_raw, tmp_path / "out")
    info = report.manifest["datasets"]["courses"]
    assert info["rules"] == {"courses.repeated_header": 1}
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "courses.csv", infer_schema=False)
    assert q["_source_row"].to_list() == ["4"]
    assert pl.read_parquet(tmp_path / "out" / "courses.parquet")["course_id"].to_list() == [
        "C01",
        "C02",
        "C03",
    ]


def test_very_long_cell(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [
        *TINY["proposals"],
        {**TINY["proposals"][1], "proposal_id": "P009", "title": "長" * 50_000},
    ]
    write_csv(tiny_raw / "proposals.csv", rows)
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.manifest["datasets"]["proposals"]["rules"] == {"proposals.cell_too_long": 1}


def test_codes_with_trailing_spaces_nbsp_and_full_width(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["staff"]]
    rows[0]["department_code"] = "０１０１００\u00a0"
    rows[1]["job_level"] = " 一般　"
    rows[2]["employee_id"] = "0000001 "
    write_csv(tiny_raw / "staff.csv", rows)
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.manifest["datasets"]["staff"]["quarantined"] == 0
    staff = pl.read_parquet(tmp_path / "out" / "staff.parquet")
    assert staff["department_code"][0] == "010100" and staff["job_level"][1] == "staff"
    assert staff["employee_id"][0] == staff["employee_id"][2]  # same person after trimming


def test_numbers_with_separators_yen_and_excel_serial_dates(tiny_raw: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in TINY["projects"]]
    rows[0].update(cost_yen="１,２００,０００円", started_on="45397", ended_on="R7.3.1")
    write_csv(tiny_raw / "projects.csv", rows)
    _ingest(tiny_raw, tmp_path / "out")
    p = pl.read_parquet(tmp_path / "out" / "projects.parquet").row(0, named=True)
    assert p["cost_yen"] == 1_200_000.0
    assert str(p["started_on"]) == "2024-04-15" and str(p["ended_on"]) == "2025-03-01"


def test_same_file_dropped_twice_is_counted_once(tiny_raw: Path, tmp_path: Path) -> None:
    shutil.copy(tiny_raw / "attendance.csv", tiny_raw / "attendance_copy.csv")
    report = _ingest(tiny_raw, tmp_path / "out")
    assert report.manifest["duplicate_files"][0]["file"] == "attendance_copy.csv"
    assert report.manifest["duplicate_files"][0]["same_as"] == "attendance.csv"
    info = report.manifest["datasets"]["attendance"]
    assert (info["rows_in"], info["quarantined"]) == (len(TINY["attendance"]), 0)


def test_key_in_two_files_conflict_unless_identical(tiny_raw: Path, tmp_path: Path) -> None:
    first = TINY["attendance"]
    second = [dict(first[0]), {**first[1], "status": "completed"}]  # identical, conflicting
    write_csv(tiny_raw / "attendance_2025_06.csv", second)
    report = _ingest(tiny_raw, tmp_path / "out")
    files = {f["file"]: f for f in report.manifest["files"]}
    assert files["attendance_2025_06.csv"]["rules"] == {
        "attendance.duplicate_key": 1,
        "attendance.key_conflict": 1,
    }
    att = pl.read_parquet(tmp_path / "out" / "attendance.parquet")
    assert att.height == len(first) and att["status"][1] == "attended"  # earlier row kept


def test_incremental_equals_from_scratch(tmp_path: Path) -> None:
    """Adding next month's file and ingesting again = ingesting everything at once."""
    raw = write_tiny_city(tmp_path / "raw")
    month = [
        {
            "employee_id": "0000002",
            "course_id": "C02",
            "session_date": "2025-07-01",
            "status": "completed",
            "pre_score": "",
            "post_score": "",
            "satisfaction": "3",
        }
    ]
    _ingest(raw, tmp_path / "incremental")
    write_csv(raw / "attendance_2025_07.csv", month)
    _ingest(raw, tmp_path / "incremental")
    scratch = write_tiny_city(tmp_path / "raw2")
    write_csv(scratch / "attendance_2025_07.csv", month)
    _ingest(scratch, tmp_path / "scratch")
    for name in ("attendance", "staff", "proposals"):
        a = (tmp_path / "incremental" / f"{name}.parquet").read_bytes()
        b = (tmp_path / "scratch" / f"{name}.parquet").read_bytes()
        assert a == b, name


# ------------------------------------------------------------------ property-based

CELL = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0000001",
            "0000002",
            "C01",
            "C02",
            "2025-05-10",
            "R7.5.10",
            "令和7年2月30日",
            "completed",
            "修了",
            "保留",
            "101",
            "-1",
            "3",
            "3.5",
            "\u00a0",
            "=cmd",
            "C01,C02",
            '"',
            "\n",
            "長" * 100,
        ]
    ),
    st.text(max_size=12),
)
ROW = st.fixed_dictionaries({k: CELL for k in TINY["attendance"][0]})


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(st.one_of(ROW, st.sampled_from(TINY["attendance"])), min_size=1, max_size=25))
def test_every_row_accepted_or_quarantined_exactly_once(
    rows: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("prop")
    raw = write_tiny_city(base / "raw")
    write_csv(raw / "attendance.csv", rows)
    report = _ingest(raw, base / "out")
    att = report.manifest["datasets"]["attendance"]
    if att["status"] != "ok":  # a file-level fault is reported, never a crash
        assert att["error"]["file"] == "attendance.csv"
        return
    accepted = pl.read_parquet(base / "out" / "attendance.parquet")["_source_row"].to_list()
    qfile = base / "out" / "quarantine" / "attendance.parquet"
    quarantined = pl.read_parquet(qfile)["_source_row"].to_list() if qfile.exists() else []
    assert len(accepted) + len(quarantined) == att["rows_in"]
    seen = sorted(accepted + quarantined)
    assert seen == sorted(set(seen))  # never duplicated
    f = next(f for f in report.manifest["files"] if f["file"] == "attendance.csv")
    assert f["rows_in"] + f["blank_rows_skipped"] == len(rows)  # nothing lost, blanks counted


# ------------------------------------------------------------------ property: the file's form

ENDINGS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}
ENCODINGS = ("utf-8", "utf-8-sig", "cp932", "utf-16", "utf-16-le", "utf-16-be-bom")
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    max_size=8,
)
FORM_CELL = st.one_of(
    st.sampled_from(
        ["", "0000001", "C01", "2025-05-10", "completed", "修了", "4", "a\nb", "x\r\ny"]
    ),
    st.sampled_from(['say "hi"', "a,b", "a;b", "a\tb", " ", "=1+1"]),
    TEXT,
)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "cp932":
        return text.encode("cp932", errors="replace")
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


def _records(data: bytes, encoding: str, separator: str) -> int:
    """Data records in the file as the standard csv module reads it (CR, LF and CRLF all end a
    line; a cell with a line break unquoted ends its record there)."""
    if encoding == "utf-16-be-bom":
        text = data[2:].decode("utf-16-be")
    else:
        text = data.decode({"utf-8": "utf-8-sig"}.get(encoding, encoding))
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=separator)) - 1


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, int, str]:
    """An attendance CSV in a random form: (bytes, data records in it, description)."""
    columns = draw(st.permutations(list(TINY["attendance"][0])))
    ja = {c.name: c.ja for c in DATASETS["attendance"].columns}
    header = [ja[c] if draw(st.booleans()) else c for c in columns]
    rows = draw(
        st.lists(
            st.one_of(
                st.sampled_from(TINY["attendance"]),
                st.fixed_dictionaries({c: FORM_CELL for c in columns}),
            ),
            min_size=0,
            max_size=12,
        )
    )
    separator = draw(st.sampled_from([",", "\t", ";"]))
    quote_all = draw(st.booleans())
    mode = draw(st.sampled_from(["LF", "CRLF", "CR", "mixed"]))
    buffer = io.StringIO()
    for record in [header, *([r[c] for c in columns] for r in rows)]:
        end = ENDINGS[draw(st.sampled_from(list(ENDINGS)))] if mode == "mixed" else ENDINGS[mode]
        csv.writer(
            buffer,
            delimiter=separator,
            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
            lineterminator=end,
        ).writerow(record)
    encoding = draw(st.sampled_from(ENCODINGS))
    info = f"{encoding} {mode} sep={separator!r} quote_all={quote_all} header={header}"
    data = _encode(buffer.getvalue(), encoding)
    return data, _records(data, encoding, separator), info


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=csv_files())
def test_any_form_of_csv_conserves_every_record(
    case: tuple[bytes, int, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Line endings LF/CRLF/CR/mixed, UTF-8 (± BOM), CP932, UTF-16 (LE/BE, ± BOM), comma/tab/
    semicolon, minimal or full quoting, any header order and language: the file is read, and
    every record written is accepted, quarantined or counted blank — once."""
    data, written, info = case
    base = tmp_path_factory.mktemp("form")
    raw = write_tiny_city(base / "raw")
    (raw / "attendance.csv").write_bytes(data)
    report = run_ingest(raw, base / "out", expectations=None, secret=SECRET)
    att = report.manifest["datasets"]["attendance"]
    assert att["status"] == "ok", (info, att["error"])
    f = next(f for f in report.manifest["files"] if f["file"] == "attendance.csv")
    assert f["rows_in"] + f["blank_rows_skipped"] == written, info
    assert f["accepted"] + f["quarantined"] == f["rows_in"], info
    accepted = pl.read_parquet(base / "out" / "attendance.parquet")["_source_row"].to_list()
    qfile = base / "out" / "quarantine" / "attendance.parquet"
    quarantined = pl.read_parquet(qfile)["_source_row"].to_list() if qfile.exists() else []
    rows = accepted + quarantined
    assert len(rows) == len(set(rows)) == f["rows_in"], info  # none duplicated, none lost
    assert all(2 <= r <= written + 1 for r in rows), info
