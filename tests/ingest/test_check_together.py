"""Several small cities' datasets checked together (one parse for all of them) give each city
exactly what its own check gives: the same rows, flags and codes in the same order and types,
the same tables read, the same error for a file that cannot be read — and an ingest that takes
those checks writes the same partition, quarantine and manifest as one that checks on its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.catalogue.contract import DATASETS, ingest_order
from dxkpi.ingest.pipeline import (
    check_alone,
    check_together,
    drop_duplicate_files,
    precheck_cities,
    run_ingest,
)
from dxkpi.ingest.read import discover
from dxkpi.sample import generate_city
from tests.helpers import ROOT

#: (seed, staff): three small cities of different seeds and sizes.
CITIES = ((31, 120), (32, 160), (33, 100))
KEY = b"together-key-0123456789abcdef012"


@pytest.fixture(scope="module")
def raws(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three sample cities; the second's proposals file breaks off in an unclosed quote (its
    proposals cannot be read), the third's attendance files hold their headers only (no row
    to check together with the others')."""
    base = tmp_path_factory.mktemp("together")
    folders = []
    for seed, staff in CITIES:
        folder = base / f"city{seed}"
        generate_city(folder, seed=seed, staff=staff, fiscal_years=(2024, 2025))
        (folder / "ground_truth.json").unlink()
        folders.append(folder)
    proposals = _file_of(folders[1], "proposals")
    header = proposals.read_bytes().splitlines(keepends=True)[0]
    proposals.write_bytes(header + b'"P1,unclosed\n')
    for attendance in _files_of(folders[2], "attendance"):
        attendance.write_bytes(attendance.read_bytes().splitlines(keepends=True)[0])
    return folders


def _files_of(raw: Path, dataset: str) -> list[Path]:
    return sorted({p.path for p in discover(raw).parts if p.dataset == dataset})


def _file_of(raw: Path, dataset: str) -> Path:
    return _files_of(raw, dataset)[0]


def _parts(raw: Path, dataset: str) -> list:
    disc, _ = drop_duplicate_files(discover(raw))
    return [p for p in disc.parts if p.dataset == dataset]


def test_each_city_gets_what_its_own_check_gives(raws: list[Path]) -> None:
    failed = 0
    for name in ingest_order():
        ds = DATASETS[name]
        members = [_parts(raw, name) for raw in raws]
        together = check_together(ds, members)
        for parts, got in zip(members, together, strict=True):
            try:
                want = check_alone(ds, parts)
            except Exception as err:
                assert isinstance(got, type(err)) and str(got) == str(err), name
                failed += 1
                continue
            assert not isinstance(got, Exception), name
            assert got.frame.schema == want.frame.schema, name
            assert_frame_equal(got.frame, want.frame)
            assert [(t.part.rel, t.sha256, t.blank_rows) for t in got.tables] == [
                (t.part.rel, t.sha256, t.blank_rows) for t in want.tables
            ]
            if name == "attendance":
                assert (got.frame.height == 0) == (parts is members[2])
    assert failed == 1  # the second city's proposals


def test_rows_repeated_in_another_city_are_not_duplicates(raws: list[Path]) -> None:
    """Keys are judged within a city: a city checked beside an exact copy of itself finds in
    each copy only what it finds alone (no row of the copy repeats a key of its own)."""
    for name in ("staff", "attendance", "proposals"):
        parts = _parts(raws[0], name)
        want = check_alone(DATASETS[name], parts)
        for got in check_together(DATASETS[name], [parts, parts]):
            assert not isinstance(got, Exception), name
            assert_frame_equal(got.frame, want.frame)


def _without_times(manifest: Path) -> dict:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data.pop("generated_at")
    return data


def test_an_ingest_of_prechecked_cities_writes_what_its_own_ingest_writes(
    raws: list[Path], tmp_path: Path
) -> None:
    prechecked = precheck_cities(raws)
    assert all(p is not None for p in prechecked)
    for i, (raw, checked) in enumerate(zip(raws, prechecked, strict=True)):
        own, taken = tmp_path / f"own{i}", tmp_path / f"taken{i}"
        mine = run_ingest(raw, own, expectations=ROOT / "expectations", secret=KEY)
        theirs = run_ingest(
            raw, taken, expectations=ROOT / "expectations", secret=KEY, prechecked=checked
        )
        assert checked is not None and not checked.checked  # every check was taken
        assert mine.ok == theirs.ok == (i != 1)  # the unreadable proposals fail the second
        files = sorted(p.relative_to(own) for p in own.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(taken) for p in taken.rglob("*") if p.is_file())
        assert any(f.parts[0] == "quarantine" for f in files)
        for rel in files:
            if rel.suffix == ".parquet":
                a, b = pl.read_parquet(own / rel), pl.read_parquet(taken / rel)
                assert a.schema == b.schema, rel
                assert_frame_equal(a, b)
            elif rel.name == "manifest.json":
                assert _without_times(own / rel) == _without_times(taken / rel)
            else:
                assert (own / rel).read_bytes() == (taken / rel).read_bytes(), rel
        shutil.rmtree(own)
        shutil.rmtree(taken)


def test_a_folder_that_cannot_be_discovered_is_left_to_its_own_run(
    raws: list[Path], tmp_path: Path
) -> None:
    prechecked = precheck_cities([raws[0], tmp_path / "no-such-folder"])
    assert prechecked[0] is not None and prechecked[1] is None
    assert set(prechecked[0].checked) <= set(ingest_order())
    assert "attendance" in prechecked[0].checked
