"""Hostile and broken input: every case ends in a clear message or a quarantined row, never a
crash, a lost row or a duplicated row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dxkpi.catalogue.contract import DATASETS, Dataset
from dxkpi.commands.cli import cli
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.processed import load_processed, read_manifest
from dxkpi.ingest.rules import RULES, flag_duplicates, parse_and_check, with_rules
from dxkpi.kpi.maturity import resolve_as_of
from dxkpi.project.config import Config
from dxkpi.reports.views import rule_summary
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


# ------------------------------------------------------------------ values that never pass


def test_numbers_that_are_not_data_are_quarantined_by_name(tiny_raw: Path, tmp_path: Path) -> None:
    """``1e309`` (infinity), a saving above a working year, a European decimal comma and a
    comma that groups no thousands are each quarantined with their own rule; the largest
    plausible saving is accepted."""
    base = TINY["proposals"][1]
    edits = {
        "P101": "1e309",
        "P102": "2001",
        "P103": "1.234,5",
        "P104": "12,34",
        "P105": "2,000",
    }
    rows = [
        *TINY["proposals"],
        *({**base, "proposal_id": pid, "hours_saved_per_year": h} for pid, h in edits.items()),
    ]
    write_csv(tiny_raw / "proposals.csv", rows)
    _ingest(tiny_raw, tmp_path / "out")
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "proposals.csv", infer_schema=False)
    assert dict(zip(q["proposal_id"], q["rule"], strict=True)) == {
        "P101": "proposals.hours_saved_per_year.finite",
        "P102": "proposals.hours_saved_per_year.range",
        "P103": "proposals.hours_saved_per_year.separators",
        "P104": "proposals.hours_saved_per_year.separators",
    }
    assert "カンマは3桁区切り" in q["rule_ja"][2] and "period for decimals" in q["rule_en"][2]
    accepted = pl.read_parquet(tmp_path / "out" / "proposals.parquet")
    assert accepted.filter(pl.col("proposal_id") == "P105")["hours_saved_per_year"].item() == 2000
    assert accepted["hours_saved_per_year"].is_finite().all()


def test_implausible_dates_are_quarantined_and_cannot_move_the_as_of_date(
    tiny_raw: Path, tmp_path: Path
) -> None:
    """0001-01-01 and 2099-04-01 are dates no record of the programme can carry: quarantined,
    so a single such row no longer moves the default as-of date (the latest date in the data)."""
    clean = _ingest(tiny_raw, tmp_path / "clean")
    assert clean.ok
    as_of = resolve_as_of(load_processed(tmp_path / "clean"), Config(), None)
    proposal = {**TINY["proposals"][1], "status": "adopted"}
    write_csv(
        tiny_raw / "proposals.csv",
        [*TINY["proposals"], {**proposal, "proposal_id": "P201", "decided_on": "2099-04-01"}],
    )
    project = {**TINY["projects"][0], "project_id": "X201", "started_on": "0001-01-01"}
    write_csv(tiny_raw / "projects.csv", [*TINY["projects"], project])
    _ingest(tiny_raw, tmp_path / "out")
    rules = {}
    for name in ("proposals", "projects"):
        q = pl.read_csv(tmp_path / "out" / "quarantine" / f"{name}.csv", infer_schema=False)
        rules[name] = q["rule"].to_list()
        assert "2000-04-01" in q["rule_en"][0] and "取込日" in q["rule_ja"][0]
    assert rules == {
        "proposals": ["proposals.decided_on.range"],
        "projects": ["projects.started_on.range"],
    }
    assert resolve_as_of(load_processed(tmp_path / "out"), Config(), None) == as_of


def _checked(ds: Dataset, columns: dict[str, list[str]], run_date: dt.date) -> pl.DataFrame:
    frame = parse_and_check(ds, pl.DataFrame(columns), run_date=run_date)
    return with_rules(ds, flag_duplicates(ds, frame))


def test_the_upper_date_bound_follows_the_run_date() -> None:
    """A date is accepted up to the day after the run date (a UTC clock while Japan is a day
    ahead), a staff list's fiscal year up to the year after the run date's."""
    ds = DATASETS["attendance"]
    rows = {c: [""] * 3 for c in ds.column_names} | {
        "employee_id": ["1"] * 3,
        "course_id": ["C1"] * 3,
        "status": ["completed"] * 3,
        "session_date": ["2025-06-01", "2025-06-02", "2025-06-03"],
    }
    checked = _checked(ds, rows, dt.date(2025, 6, 1))
    assert checked[RULES].to_list() == [[], [], ["attendance.session_date.range"]]
    staff = DATASETS["staff"]
    years = {c: ["x"] * 3 for c in staff.column_names} | {
        "job_level": ["staff"] * 3,
        "talent_type": [""] * 3,
        "fiscal_year": ["2025", "2026", "2027"],
    }
    checked = _checked(staff, years, dt.date(2026, 3, 1))
    assert checked[RULES].to_list() == [[], [], ["staff.fiscal_year.range"]]


def test_an_identifier_with_an_invisible_character_says_which_and_where(
    tiny_raw: Path, tmp_path: Path
) -> None:
    """A zero-width space in an employee ID is quarantined by the identifier rule, and the
    quarantine names the character and its position — the ID itself appears nowhere, only its
    pseudonym. A department code that is a path is quarantined before it can name a file."""
    staff = [*TINY["staff"], {**TINY["staff"][3], "employee_id": "000\u200b0002"}]
    write_csv(tiny_raw / "staff.csv", staff)
    departments = [
        *TINY["departments"],
        {**TINY["departments"][1], "department_code": "q/../../x/TRAVERSAL"},
    ]
    write_csv(tiny_raw / "departments.csv", departments)
    _ingest(tiny_raw, tmp_path / "out")
    q = pl.read_csv(tmp_path / "out" / "quarantine" / "staff.csv", infer_schema=False)
    assert q["rule"].to_list() == ["staff.employee_id.id_format"]
    assert q["detail_ja"].to_list() == [
        "「職員番号」4文字目に U+200B ZERO WIDTH SPACE（ゼロ幅文字（見えない文字））"
    ]
    assert q["detail_en"].to_list() == [
        "employee_id: U+200B ZERO WIDTH SPACE (zero-width character (invisible)) at position 4"
    ]
    assert q["employee_id"][0].startswith("E") and len(q["employee_id"][0]) == 17
    text = (tmp_path / "out" / "quarantine" / "staff.csv").read_text(encoding="utf-8-sig")
    assert "0002" not in text.replace(q["employee_id"][0], "")
    d = pl.read_csv(tmp_path / "out" / "quarantine" / "departments.csv", infer_schema=False)
    assert d["rule"].to_list() == ["departments.department_code.id_format"]
    assert d["detail_en"].to_list() == [
        "department_code: U+002F SOLIDUS (path separator) at position 2"
    ]
    accepted = pl.read_parquet(tmp_path / "out" / "departments.parquet")["department_code"]
    assert not accepted.str.contains("/").any()


def test_staff_ids_that_excel_turned_into_numbers_say_so(tiny_raw: Path, tmp_path: Path) -> None:
    """A staff list saved from Excel with the IDs as numbers (0000001 → 1): every attendance row
    is quarantined with the leading-zero rule, and the hint (format the ID column as text)
    reaches the terminal summary — not only the quarantine file."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    columns = list(TINY["staff"][0])
    sheet.append(columns)
    for row in TINY["staff"]:
        sheet.append([int(row[c]) if c == "employee_id" else row[c] for c in columns])
    (tiny_raw / "staff.csv").unlink()
    workbook.save(tiny_raw / "staff.xlsx")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["--project", str(ROOT), "ingest", "--raw", str(tiny_raw), "--out", str(out)]
    )
    att = pl.read_csv(out / "quarantine" / "attendance.csv", infer_schema=False)
    assert att["rule"].to_list() == ["attendance.employee_id.leading_zeros"] * len(
        TINY["attendance"]
    )
    summary = " ".join(result.output.split())
    assert "attendance.employee_id.leading_zeros" in summary
    assert "format the ID column as text" in summary
    assert "文字列（テキスト）形式" in summary.replace(" ", "")
    # the data-quality report's table of broken rules says the same
    shown = rule_summary(read_manifest(out), "en")
    meaning = shown.filter(pl.col("rule") == "attendance.employee_id.leading_zeros")["meaning"]
    assert "format the ID column as text" in meaning.item()


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
