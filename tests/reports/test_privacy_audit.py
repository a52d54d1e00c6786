"""Privacy, audited: no raw employee ID, name or the pseudonym secret in any artefact of a run
on the sample city (processed data, quarantine, reports HTML/ipynb/xlsx, figures, logs); the
secret file is owner-only; spreadsheet cells that would run as formulas are neutralised."""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from dxkpi.ingest.pseudonym import load_or_create_secret
from tests.helpers import SECRET

DATA_URI = re.compile(rb"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+")


def _raw_identities(raw: Path) -> tuple[set[str], set[str]]:
    """Raw employee IDs and names from the sample city's staff file."""
    staff = pl.read_csv(raw / "staff.csv", infer_schema=False, encoding="utf8-lossy")
    id_col = next(c for c in staff.columns if c in ("employee_id", "職員番号"))
    name_col = next(c for c in staff.columns if c in ("name", "氏名"))
    ids = {s.strip() for s in staff[id_col].drop_nulls().to_list() if s.strip()}
    names = {s.strip() for s in staff[name_col].drop_nulls().to_list() if s.strip()}
    return ids, names


def _artefacts(*folders: Path) -> list[Path]:
    return [p for f in folders for p in sorted(f.rglob("*")) if p.is_file()]


def _text_of(path: Path) -> bytes:
    """The searchable content of an artefact: XLSX unzipped, data URIs (base64) removed."""
    data = path.read_bytes()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = b"\n".join(z.read(n) for n in z.namelist())
    return DATA_URI.sub(b"", data)


@pytest.fixture
def run_outputs(sample_city, report_set) -> list[Path]:  # type: ignore[no-untyped-def]
    """Every artefact of the shared report set and of the processed data."""
    return _artefacts(sample_city.processed, report_set.folder.parent)


@pytest.mark.xdist_group("report_run")
def test_no_raw_ids_names_or_secret_in_any_artefact(run_outputs, sample_city) -> None:  # type: ignore[no-untyped-def]
    ids, names = _raw_identities(sample_city.raw)
    assert len(ids) > 1000 and len(names) > 100
    kinds = {p.suffix for p in run_outputs}
    assert {".parquet", ".csv", ".html", ".ipynb", ".xlsx", ".png", ".json", ".log"} <= kinds
    # an ID as a whole token; digits after a decimal point are a number's fraction (a chart's
    # 0.0027888 is not employee 0027888)
    id_pattern = re.compile(
        rb"(?<![0-9])(?<![0-9]\.)(" + b"|".join(re.escape(i.encode()) for i in ids) + rb")(?![0-9])"
    )
    secrets = [SECRET, SECRET.hex().encode()]
    leaks = []
    for path in run_outputs:
        text = _text_of(path)
        if m := id_pattern.search(text):
            leaks.append((path.name, "id", m.group(0)))
        for name in names:
            if name.encode() in text:
                leaks.append((path.name, "name", name))
                break
        if any(s in text for s in secrets):
            leaks.append((path.name, "secret", ""))
    assert leaks == []


@pytest.mark.xdist_group("report_run")
def test_spreadsheet_cells_never_start_a_formula(run_outputs) -> None:  # type: ignore[no-untyped-def]
    bad = []
    for path in run_outputs:
        if path.suffix == ".csv":
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
                bad += [
                    (path.name, c)
                    for c in row
                    if c[:1] in ("=", "+", "@")
                    or (c[:1] == "-" and not re.fullmatch(r"-[0-9.eE+-]+", c))
                ]
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    bad += [
                        (path.name, c)
                        for c in row
                        if isinstance(c, str) and c[:1] in ("=", "+", "-", "@")
                    ]
    assert bad == []


def test_secret_is_owner_only_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "pseudonym.key"
    first = load_or_create_secret(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert load_or_create_secret(path) == first and len(first) == 32
