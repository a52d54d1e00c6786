"""The hostile-input corpus (issue 14): raw folders a careless or malicious user produces.

Each :class:`Case` is the tiny city (:mod:`tests.helpers.rawcity`) plus one hostile file or
condition, written by its builder into an empty folder — nothing binary is committed. A case
says what the command line must do with it: the exit code, each dataset's status, what the
message names. :func:`run_case` runs ``dxkpi ingest`` on it and counts, per data file, the records
the builder wrote (or, for the tiny city's own files, the records the standard ``csv`` module
reads) against what the manifest says happened to them: accepted, quarantined, skipped as blank,
or rejected with the whole file for a reason the manifest gives. What is left is lost.

Adding a case is one entry in :data:`CASES` (and a builder, unless an existing one fits)::

    Case("my-case", 13, build_something, outcome={"staff": "failed"}, where=("row 3",))

``python -m tests.hostile.corpus --table`` prints inputs / records / accepted / quarantined /
lost for every case.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

import dxkpi
from dxkpi.commands.cli import main
from dxkpi.ingest.read import dataset_for_name
from tests.helpers import ROOT
from tests.helpers.rawcity import TINY, write_csv, write_tiny_city, write_xlsx

__all__ = ["CASES", "Built", "Case", "Result", "run_case", "table"]

EXP = ROOT / "expectations"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ENGLISH = re.compile(r"\b[a-z]{3,} [a-z]{2,} [a-z]{2,}\b")
#: Every employee ID of the tiny city: none may reach the manifest.
EMPLOYEE_IDS = sorted({r["employee_id"] for r in TINY["staff"]})


@dataclass(frozen=True)
class Built:
    """What a builder wrote: the data records of each file it wrote (the test's own count, made
    while writing), and strings the message must hold besides the file's name (row, column)."""

    records: Mapping[str, int]
    where: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    """What ``dxkpi ingest`` did with a case's raw folder."""

    exit_code: int
    output: str  # stdout and stderr
    manifest: dict[str, Any] | None
    out: Path
    raw: Path
    counts: list[FileCount] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """One hostile input: the issue's item number, how to build it, what must happen.

    ``outcome`` gives the status of the datasets the case changes (every other dataset must be
    ``ok``); ``file`` is the file or folder the message must name (default: the only file in
    ``Built.records``); ``check`` runs further assertions on the :class:`Result`.
    """

    id: str
    item: int
    build: Callable[[Path], Built]
    outcome: Mapping[str, str] = field(default_factory=dict)
    exit_code: int = 1
    args: tuple[str, ...] = ()
    file: str | None = None
    check: Callable[[Result], None] | None = None
    subprocess: bool = False  # run in a child process: the case could abort a process
    permissions: bool = False  # relies on file permissions (root must drop its override)


@dataclass(frozen=True)
class FileCount:
    """Conservation for one data file: records written = accepted + quarantined + blank, or
    the whole file rejected (``reason`` says why); ``lost`` is what is left."""

    file: str
    records: int
    accepted: int
    quarantined: int
    blank: int
    rejected: int
    reason: str | None

    @property
    def lost(self) -> int:
        return self.records - self.accepted - self.quarantined - self.blank - self.rejected


# ------------------------------------------------------------------ builders


def _lines(rows: list[dict[str, str]], sep: str = ",") -> list[str]:
    """Header and rows as CSV lines (values of the tiny city need no quoting)."""
    return [sep.join(rows[0]), *(sep.join(r.values()) for r in rows)]


def _replace_csv(raw: Path, dataset: str, data: bytes, name: str | None = None) -> Built:
    (raw / f"{dataset}.csv").unlink()
    rel = name or f"{dataset}.csv"
    (raw / rel).write_bytes(data)
    return Built({rel: len(TINY[dataset])})


def cr_only(raw: Path) -> Built:
    """Excel for Mac's "CSV (Macintosh)": CR line endings only."""
    text = "\r".join(_lines(TINY["attendance"])) + "\r"
    return _replace_csv(write_tiny_city(raw), "attendance", text.encode())


def cr_only_with_extra_column(raw: Path) -> Built:
    """CR-only staff list with a column outside the contract (must be reported by name)."""
    rows = [{**r, "内線": "1234"} for r in TINY["staff"]]
    text = "\r".join(_lines(rows)) + "\r"
    return _replace_csv(write_tiny_city(raw), "staff", text.encode("cp932"))


def id_as_header(raw: Path) -> Built:
    """A column headed by an employee ID: recorded by its position, never by its text."""
    rows = [{**r, "0000001": "x"} for r in TINY["staff"]]
    write_csv(write_tiny_city(raw) / "staff.csv", rows)
    return Built({"staff.csv": len(rows)})


def header_too_long(raw: Path) -> Built:
    rows = [{**r, "備考" * 200: ""} for r in TINY["courses"]]
    write_csv(write_tiny_city(raw) / "courses.csv", rows)
    return Built({"courses.csv": len(rows)}, where=("row 1", "column 7"))


def mixed_line_endings(raw: Path) -> Built:
    lines = _lines(TINY["attendance"])
    ends = ["\r\n", "\n", "\r", "\r\n"]
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    return _replace_csv(write_tiny_city(raw), "attendance", text.encode())


def utf16(codec: str, bom: bytes) -> Callable[[Path], Built]:
    """Excel's "Unicode text": UTF-16, tab-separated (here with CRLF)."""

    def build(raw: Path) -> Built:
        text = "\r\n".join(_lines(TINY["staff"], "\t")) + "\r\n"
        return _replace_csv(write_tiny_city(raw), "staff", bom + text.encode(codec))

    return build


def separated(sep: str) -> Callable[[Path], Built]:
    def build(raw: Path) -> Built:
        text = "\n".join(_lines(TINY["courses"], sep)) + "\n"
        return _replace_csv(write_tiny_city(raw), "courses", text.encode())

    return build


def repeated_header(raw: Path) -> Built:
    header = [*TINY["attendance"][0], "status"]
    lines = [",".join(header)] + [",".join([*r.values(), r["status"]]) for r in TINY["attendance"]]
    data = ("\n".join(lines) + "\n").encode()
    built = _replace_csv(write_tiny_city(raw), "attendance", data)
    return Built(built.records, where=("status", "4", "8"))


def xlsx_repeated_header(raw: Path) -> Built:
    raw = write_tiny_city(raw)
    (raw / "courses.csv").unlink()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "courses"
    sheet.append([*TINY["courses"][0], "course_id"])
    for r in TINY["courses"]:
        sheet.append([*r.values(), r["course_id"]])
    book.save(raw / "courses.xlsx")
    return Built({"courses.xlsx": len(TINY["courses"])}, where=("course_id", "A", "G"))


def link_to(target: str | None, name: str) -> Callable[[Path], Built]:
    """A symbolic link ``name`` in the raw folder, to ``target`` (None: the tiny city's own
    attendance.csv)."""

    def build(raw: Path) -> Built:
        raw = write_tiny_city(raw)
        (raw / name).symlink_to(target or raw / "attendance.csv")
        return Built({})

    return build


def linked_folder(raw: Path) -> Built:
    raw = write_tiny_city(raw)
    outside = raw.parent / "outside"
    extra = [{**TINY["attendance"][0], "session_date": "2025-07-01"}]
    write_csv(outside / "attendance_2025_07.csv", extra)
    (raw / "more").symlink_to(outside, target_is_directory=True)
    return Built({"more/attendance_2025_07.csv": 1})


def unreadable_folder(raw: Path) -> Built:
    raw = write_tiny_city(raw)
    extra = [{**TINY["attendance"][0], "session_date": "2025-07-01"}]
    write_csv(raw / "2025" / "attendance_2025_07.csv", extra)
    (raw / "2025").chmod(0)
    return Built({"2025/attendance_2025_07.csv": 1})


def unreadable_file(raw: Path) -> Built:
    raw = write_tiny_city(raw)
    (raw / "staff.csv").chmod(0)
    return Built({"staff.csv": len(TINY["staff"])})


def fifo_named_csv(raw: Path) -> Built:
    """A named pipe called like a data file: reading it would wait forever."""
    raw = write_tiny_city(raw)
    os.mkfifo(raw / "staff_2025.csv")
    return Built({})


def utf16_truncated(raw: Path) -> Built:
    """A UTF-16 file cut in the middle of a character."""
    text = "\ufeff" + "\r\n".join(_lines(TINY["staff"])) + "\r\n"
    data = text.encode("utf-16-le")[:-1]
    built = _replace_csv(write_tiny_city(raw), "staff", data)
    return Built(built.records, where=("UTF-16",))


ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!")


def _new_course(i: int, **edit: str) -> dict[str, str]:
    return {**TINY["courses"][0], "course_id": f"C{10 + i}", "course_name": f"研修{i}", **edit}


def xlsx_error_cells(raw: Path) -> Built:
    """One course per Excel error, each in another column; the good courses first."""
    raw = write_tiny_city(raw)
    (raw / "courses.csv").unlink()
    columns = ["course_name", "hours", "phase", "skill_area", "instructor", "hours", "course_name"]
    bad = [
        _new_course(i, **{col: err})
        for i, (col, err) in enumerate(zip(columns, ERRORS, strict=True))
    ]
    write_xlsx(raw / "courses.xlsx", {"courses": [*TINY["courses"], *bad]})
    return Built({"courses.xlsx": len(TINY["courses"]) + len(bad)}, where=())


def xlsx_formulas_without_values(raw: Path) -> Built:
    """Formulas saved by a program that never calculated them (no cached result), one of them
    on a row that holds nothing else."""
    raw = write_tiny_city(raw)
    (raw / "courses.csv").unlink()
    write_xlsx(raw / "courses.xlsx", {"courses": [*TINY["courses"], _new_course(1)]})
    book = openpyxl.load_workbook(raw / "courses.xlsx")
    sheet = book["courses"]
    sheet["E4"] = "=E2+E3"  # hours of the new course: a formula, never calculated
    for col in "ABCDEF":  # sheet row 5: formulas only
        sheet[f"{col}5"] = f"={col}2"
    book.save(raw / "courses.xlsx")
    return Built({"courses.xlsx": len(TINY["courses"]) + 2})


def xlsx_time_only(raw: Path) -> Built:
    """A start date typed as a time (12:30): Excel stores day 0 with a time."""
    raw = write_tiny_city(raw)
    (raw / "projects.csv").unlink()
    write_xlsx(raw / "projects.xlsx", {"projects": TINY["projects"]})
    book = openpyxl.load_workbook(raw / "projects.xlsx")
    book["projects"]["E2"] = datetime.time(12, 30)
    book.save(raw / "projects.xlsx")
    return Built({"projects.xlsx": len(TINY["projects"])}, where=())


def xlsx_table_below_row_1(raw: Path) -> Built:
    """The header on sheet row 4; a bad row on sheet row 7."""
    raw = write_tiny_city(raw)
    (raw / "courses.csv").unlink()
    rows = [*TINY["courses"], _new_course(1, phase="9")]
    write_xlsx(raw / "courses.xlsx", {"courses": rows}, first_row=4)
    return Built({"courses.xlsx": len(rows)})


def xlsx_hidden(raw: Path) -> Built:
    """A hidden row in the courses sheet, and the departments on a hidden sheet."""
    raw = write_tiny_city(raw)
    for name in ("courses", "departments"):
        (raw / f"{name}.csv").unlink()
    write_xlsx(
        raw / "masters.xlsx", {"courses": TINY["courses"], "departments": TINY["departments"]}
    )
    book = openpyxl.load_workbook(raw / "masters.xlsx")
    book["courses"].row_dimensions[3].hidden = True
    book["departments"].sheet_state = "hidden"
    book.save(raw / "masters.xlsx")
    return Built({"masters.xlsx": len(TINY["courses"]) + len(TINY["departments"])})


def xlsx_far_cell(raw: Path) -> Built:
    """A 2 KB workbook with one cell at XFD1048576."""
    raw = write_tiny_city(raw)
    (raw / "courses.csv").unlink()
    write_xlsx(raw / "courses.xlsx", {"courses": TINY["courses"]})
    book = openpyxl.load_workbook(raw / "courses.xlsx")
    book["courses"]["XFD1048576"] = "x"
    book.save(raw / "courses.xlsx")
    return Built({"courses.xlsx": len(TINY["courses"])}, where=("XFD1048576",))


# ------------------------------------------------------------------ values that never pass


def _appended(dataset: str, rows: list[dict[str, str]]) -> Callable[[Path], Built]:
    """The tiny city with ``rows`` (edits of its first row) appended to one dataset's CSV;
    their sheet rows follow the city's own (header = row 1)."""

    def build(raw: Path) -> Built:
        raw = write_tiny_city(raw)
        write_csv(raw / f"{dataset}.csv", [*TINY[dataset], *rows])
        return Built({f"{dataset}.csv": len(TINY[dataset]) + len(rows)})

    return build


def _edits(dataset: str, column: str, values: list[str], key: str) -> list[dict[str, str]]:
    first = TINY[dataset][0]
    return [{**first, key: f"{first[key]}{i}", column: v} for i, v in enumerate(values, 1)]


#: Item 7: infinity and a saving above a working year; item 8: separators that hide another
#: number. Sheet rows 4–7 of proposals.csv (the city has two proposals).
NUMBERS = _edits(
    "proposals", "hours_saved_per_year", ["1e309", "2001", "1.234,5", "12,34"], "proposal_id"
)
#: Item 8: dates no record of the programme can carry (sheet rows 4, 5).
DATES = _edits("proposals", "decided_on", ["0001-01-01", "2099-04-01"], "proposal_id")
#: Item 10: an employee ID with a zero-width space (staff, sheet row 6) and a department code
#: that would name a file outside its folder (departments, sheet row 4).
ZERO_WIDTH = [{**TINY["staff"][0], "employee_id": "00000\u200b99"}]
TRAVERSAL = [{**TINY["departments"][0], "department_code": "q/../../x"}]
#: Item 10: attendance naming an employee with the leading zeros Excel dropped (sheet row 5).
NO_ZEROS = [
    {**TINY["attendance"][0], "employee_id": TINY["attendance"][0]["employee_id"].lstrip("0")}
]


# ------------------------------------------------------------------ checks


def _manifest_text(result: Result) -> str:
    return json.dumps(result.manifest, ensure_ascii=False)


def _file(result: Result, name: str) -> dict[str, Any]:
    assert result.manifest is not None
    return next(f for f in result.manifest["files"] if f["file"] == name)


def _quarantine(result: Result, dataset: str) -> list[dict[str, str]]:
    path = result.out / "quarantine" / f"{dataset}.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def no_ids_in_manifest(result: Result) -> None:
    text = _manifest_text(result)
    assert not [i for i in EMPLOYEE_IDS if i in text]


def reads_lone_cr(file: str) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        assert any("CR" in n for n in _file(result, file)["notes"])
        no_ids_in_manifest(result)

    return check


def ignored_by_name(result: Result) -> None:
    assert _file(result, "staff.csv")["ignored_columns"] == ["内線"]
    no_ids_in_manifest(result)


def ignored_by_position(result: Result) -> None:
    assert _file(result, "staff.csv")["ignored_columns"] == ["列6 (column 6)"]
    no_ids_in_manifest(result)


def notes(file: str, *needles: str) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        assert result.manifest is not None
        text = " ".join(
            n for f in result.manifest["files"] if f["file"] == file for n in f["notes"]
        )
        assert all(needle in text for needle in needles), text

    return check


def quarantined(dataset: str, rows: dict[str, str], rule: str) -> Callable[[Result], None]:
    """The quarantine holds exactly ``rows`` (sheet row → a text the row must hold), each with
    ``rule`` among its rules."""

    def check(result: Result) -> None:
        got = _quarantine(result, dataset)
        assert sorted(r["_source_row"] for r in got) == sorted(rows), got
        for r in got:
            assert rule in r["rule"].split(" | "), r
            assert rows[r["_source_row"]] in " ".join(r.values()), r

    return check


def rules_by_row(dataset: str, rules: dict[str, str]) -> Callable[[Result], None]:
    """The quarantine holds exactly the sheet rows of ``rules``, each with its rule; no
    identifier of the tiny city reaches the manifest."""

    def check(result: Result) -> None:
        got = {r["_source_row"]: r["rule"].split(" | ") for r in _quarantine(result, dataset)}
        assert sorted(got) == sorted(rules), got
        for row, rule in rules.items():
            assert rule in got[row], (row, got[row])
        no_ids_in_manifest(result)

    return check


def passwd_never_read(result: Result) -> None:
    assert "symbolic link" in result.output and "シンボリックリンク" in result.output
    for path in result.out.rglob("*"):
        if path.is_file():
            assert b"root:" not in path.read_bytes(), path


# ------------------------------------------------------------------ the registry

_DEPENDENTS_OF_STAFF = {
    "staff": "failed",
    "attendance": "skipped",
    "proposals": "skipped",
    "skill_assessment": "skipped",
    "knowledge_posts": "skipped",
}
_ERROR_ROWS = {str(4 + i): err for i, err in enumerate(ERRORS)}

CASES: tuple[Case, ...] = (
    Case("cr-only-line-endings", 2, cr_only, exit_code=0, check=reads_lone_cr("attendance.csv")),
    Case(
        "cr-only-cp932-extra-column",
        2,
        cr_only_with_extra_column,
        exit_code=0,
        check=ignored_by_name,
    ),
    Case("employee-id-as-header", 2, id_as_header, exit_code=0, check=ignored_by_position),
    Case(
        "header-cell-too-long",
        2,
        header_too_long,
        outcome={"courses": "failed", "attendance": "skipped", "course_costs": "skipped"},
    ),
    Case("symlinked-subfolder", 3, linked_folder, file="more"),
    Case("unreadable-subfolder", 3, unreadable_folder, file="2025/", permissions=True),
    Case(
        "symlink-to-etc-passwd",
        6,
        link_to("/etc/passwd", "staff_extra.csv"),
        outcome=_DEPENDENTS_OF_STAFF,
        file="staff_extra.csv",
        check=passwd_never_read,
    ),
    Case(
        "symlink-inside-raw",
        6,
        link_to(None, "attendance_copy.csv"),
        outcome={"attendance": "failed"},
        file="attendance_copy.csv",
    ),
    Case(
        "xlsx-error-cells",
        9,
        xlsx_error_cells,
        exit_code=0,
        check=quarantined("courses", _ERROR_ROWS, "courses.excel_error"),
    ),
    Case(
        "xlsx-formulas-without-values",
        9,
        xlsx_formulas_without_values,
        exit_code=0,
        check=quarantined("courses", {"4": "=E2+E3", "5": "=A2"}, "courses.excel_error"),
    ),
    Case(
        "xlsx-time-only-date",
        9,
        xlsx_time_only,
        exit_code=0,
        check=quarantined("projects", {"2": "12:30:00"}, "projects.started_on.parse"),
    ),
    Case(
        "xlsx-table-below-row-1",
        9,
        xlsx_table_below_row_1,
        exit_code=0,
        check=quarantined("courses", {"7": "9"}, "courses.phase.accepted"),
    ),
    Case(
        "xlsx-hidden-row-and-sheet",
        9,
        xlsx_hidden,
        exit_code=0,
        check=notes("masters.xlsx", "hidden rows were read (rows 3)", "a hidden sheet"),
    ),
    Case(
        "xlsx-cell-at-XFD1048576",
        11,
        xlsx_far_cell,
        outcome={"courses": "failed", "attendance": "skipped", "course_costs": "skipped"},
        subprocess=True,
    ),
    Case("unreadable-file", 12, unreadable_file, outcome=_DEPENDENTS_OF_STAFF, permissions=True),
    Case(
        "fifo-named-csv",
        12,
        fifo_named_csv,
        outcome=_DEPENDENTS_OF_STAFF,
        file="staff_2025.csv",
        subprocess=True,
    ),
    Case("utf16-truncated", 13, utf16_truncated, outcome=_DEPENDENTS_OF_STAFF),
    Case(
        "mixed-line-endings",
        13,
        mixed_line_endings,
        exit_code=0,
        check=reads_lone_cr("attendance.csv"),
    ),
    Case(
        "utf16le-bom-tab",
        13,
        utf16("utf-16-le", b"\xff\xfe"),
        exit_code=0,
        check=notes("staff.csv", "tab-separated"),
    ),
    Case("utf16be-bom-tab", 13, utf16("utf-16-be", b"\xfe\xff"), exit_code=0),
    Case("utf16le-no-bom-tab", 13, utf16("utf-16-le", b""), exit_code=0),
    Case(
        "tab-separated",
        13,
        separated("\t"),
        exit_code=0,
        check=notes("courses.csv", "tab-separated"),
    ),
    Case(
        "semicolon-separated",
        13,
        separated(";"),
        exit_code=0,
        check=notes("courses.csv", "semicolon"),
    ),
    Case(
        "numbers-that-are-not-numbers",
        7,
        _appended("proposals", NUMBERS),
        exit_code=0,
        check=rules_by_row(
            "proposals",
            {
                "4": "proposals.hours_saved_per_year.finite",
                "5": "proposals.hours_saved_per_year.range",
                "6": "proposals.hours_saved_per_year.separators",
                "7": "proposals.hours_saved_per_year.separators",
            },
        ),
    ),
    Case(
        "implausible-dates",
        8,
        _appended("proposals", DATES),
        exit_code=0,
        check=rules_by_row(
            "proposals", {"4": "proposals.decided_on.range", "5": "proposals.decided_on.range"}
        ),
    ),
    Case(
        "zero-width-in-an-id",
        10,
        _appended("staff", ZERO_WIDTH),
        exit_code=0,
        check=rules_by_row("staff", {"6": "staff.employee_id.id_format"}),
    ),
    Case(
        "department-code-with-a-path",
        10,
        _appended("departments", TRAVERSAL),
        exit_code=0,
        check=rules_by_row("departments", {"4": "departments.department_code.id_format"}),
    ),
    Case(
        "leading-zeros-dropped",
        10,
        _appended("attendance", NO_ZEROS),
        exit_code=0,
        check=rules_by_row("attendance", {"5": "attendance.employee_id.leading_zeros"}),
    ),
    Case("repeated-header", 13, repeated_header, outcome={"attendance": "failed"}),
    Case(
        "xlsx-repeated-header",
        13,
        xlsx_repeated_header,
        outcome={"courses": "failed", "attendance": "skipped", "course_costs": "skipped"},
    ),
)


# ------------------------------------------------------------------ running a case


def _csv_records(path: Path) -> int:
    """Data records of a tiny-city CSV, read by the standard csv module."""
    with path.open(encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


#: Output as wide as this, so that no name is wrapped across lines.
WIDE = {"COLUMNS": "250"}


def _cli_in_process(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code: int = 0
    saved = {k: os.environ.get(k) for k in WIDE}
    os.environ.update(WIDE)
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return code, out.getvalue() + err.getvalue()


def _cli_in_child(args: list[str], *, drop_override: bool) -> tuple[int, str]:
    command = [sys.executable, "-m", "dxkpi", *args]
    if drop_override:  # root reads any file: let it obey permissions like everyone else
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", "--bounding-set", caps, "--inh-caps", caps, *command]
    source = Path(dxkpi.__file__).resolve().parents[1]  # the tree this process imported
    env = {**os.environ, **WIDE, "PYTHONPATH": str(source)}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def _restore_permissions(raw: Path) -> None:
    for folder, dirs, files in os.walk(raw, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IRWXU)
    for folder, dirs, _ in os.walk(raw, followlinks=False):  # now listable: one more pass
        for name in dirs:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IRWXU)


def _rejection(manifest: dict[str, Any], rel: str, dataset: str | None) -> str | None:
    """Why a file was rejected as a whole, from the manifest; None when it was not."""
    for fault in manifest.get("file_faults", []):
        name = fault["file"].rstrip("/")
        if rel == name or rel.startswith(name + "/"):
            return fault["message"]
    info = manifest["datasets"].get(dataset or "")
    if info and info["status"] in ("failed", "skipped") and info["error"]:
        return str(info["error"]["message"])
    return None


def count_files(built: Built, raw: Path, manifest: dict[str, Any]) -> list[FileCount]:
    """Conservation per data file of the case (tiny-city files counted by ``csv``)."""
    records = dict(built.records)
    for path in sorted(raw.glob("*.csv")):
        if path.name not in records and path.is_file() and not path.is_symlink():
            records[path.name] = _csv_records(path)
    counts = []
    for rel, n in sorted(records.items()):
        entries = [f for f in manifest["files"] if f["file"] == rel]
        accepted = sum(f["accepted"] for f in entries)
        quarantined = sum(f["quarantined"] for f in entries)
        blank = sum(f["blank_rows_skipped"] for f in entries)
        reason = None if entries else _rejection(manifest, rel, dataset_for_name(Path(rel).stem))
        rejected = n if reason is not None else 0
        counts.append(FileCount(rel, n, accepted, quarantined, blank, rejected, reason))
    return counts


def run_case(case: Case, base: Path) -> tuple[Built, Result]:
    """Build the case under ``base`` and run ``dxkpi ingest`` on it."""
    raw, out = base / "raw", base / "out"
    built = case.build(raw)
    args = ["ingest", "--raw", str(raw), "--out", str(out), "--expectations", str(EXP)]
    args += list(case.args)
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    try:
        if case.subprocess or (case.permissions and root):
            code, output = _cli_in_child(args, drop_override=case.permissions and root)
        else:
            code, output = _cli_in_process(args)
    finally:
        _restore_permissions(raw)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else None
    counts = count_files(built, raw, manifest) if manifest is not None else []
    return built, Result(code, output, manifest, out, raw, counts)


def table() -> str:
    """inputs / records / accepted / quarantined / blank / rejected / lost, one line per case."""
    head = f"{'case':34} {'item':>4} {'exit':>4} {'records':>7} {'accepted':>8} " + (
        f"{'quarant.':>8} {'blank':>5} {'rejected':>8} {'lost':>4}"
    )
    lines = [head, "-" * len(head)]
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            _, result = run_case(case, Path(tmp))
        c = result.counts
        lines.append(
            f"{case.id:34} {case.item:>4} {result.exit_code:>4} "
            f"{sum(x.records for x in c):>7} {sum(x.accepted for x in c):>8} "
            f"{sum(x.quarantined for x in c):>8} {sum(x.blank for x in c):>5} "
            f"{sum(x.rejected for x in c):>8} {sum(x.lost for x in c):>4}"
        )
    return "\n".join(lines)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="run every case, print the table")
    if not parser.parse_args().table:
        parser.print_help()
        return
    with tempfile.TemporaryDirectory() as secret:
        os.environ.setdefault("DXKPI_SECRET_FILE", str(Path(secret) / "pseudonym.key"))
        print(table())
    shutil.rmtree(secret, ignore_errors=True)


if __name__ == "__main__":
    _main()
