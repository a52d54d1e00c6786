"""Share files: what they hold, what they never hold, and what a reader refuses."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from dxkpi.catalogue.contract import DATASETS, Kind
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.ingest.processed import load_processed
from dxkpi.peers.share import (
    CSV_FILE,
    META_FILE,
    PARQUET_FILE,
    SCHEMA_VERSION,
    SHARE_GROUPINGS,
    ShareFileError,
    read_share,
    share_bytes,
)
from tests.helpers.cli import run_dxkpi
from tests.peers.conftest import FISCAL_YEAR, PeerCity, Peers

#: The three peer cities are made once per test run: their tests share one xdist worker.
pytestmark = pytest.mark.xdist_group("peer_cities")

PSEUDONYM = re.compile(rb"E[0-9a-f]{16}")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path: Path, target: Path, **replace: bytes) -> Path:
    """A copy of a share file with some members replaced (share.json kept unless given)."""
    members = _members(path) | replace
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return target


def _identifiers(city: PeerCity) -> set[str]:
    """Everything that names a person or a part of the city: raw staff numbers and names,
    pseudonyms, and every identifier column of the processed data (departments with their
    names and divisions, proposals, projects, posts, survey respondents)."""
    found: set[str] = set()
    with (city.raw / "staff.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            found.update({row["職員番号"], row["氏名"]})
    data = load_processed(city.processed)
    for name in data.available():
        frame = data.require(name).collect()
        for column in DATASETS[name].columns:
            if column.kind == Kind.ID and column.name in frame.columns and name != "courses":
                found.update(v for v in frame.get_column(column.name).unique() if v)
    departments = data.departments.collect()
    found.update(departments.get_column("department_name"))
    found.update(departments.get_column("division"))
    return found


def _texts(path: Path) -> list[str]:
    """Every member decoded to text; the parquet table as its CSV text."""
    members = _members(path)
    parquet = pl.read_parquet(io.BytesIO(members[PARQUET_FILE]))
    return [
        members[META_FILE].decode("utf-8"),
        members[CSV_FILE].decode("utf-8"),
        parquet.write_csv(),
    ]


def test_a_share_holds_every_kpi_for_shareable_groupings_only(peer_cities: Peers) -> None:
    city = peer_cities.cities[0]
    share = read_share(city.share)
    table = share.table
    assert set(_members(city.share)) == {META_FILE, CSV_FILE, PARQUET_FILE}
    assert share.municipality.code == city.code and share.municipality.category == "town_village"
    assert share.municipality.size_band == "lt300" and share.fiscal_year == FISCAL_YEAR
    first = set(table.get_column("group_by").str.split("|").list.first())
    assert first <= {*SHARE_GROUPINGS, "dimension", "mobility"}
    assert {"department", "division"}.isdisjoint(first)
    assert table.get_column("kpi").n_unique() == len(REGISTRY)
    hidden = table.filter(pl.col("suppressed"))
    assert hidden.height > 0
    assert hidden.get_column("numerator").null_count() == hidden.height
    meta = json.loads(_members(city.share)[META_FILE])
    assert meta["schema_version"] == SCHEMA_VERSION and meta["min_cell_size"] == 10
    manifest = json.loads((city.processed / "manifest.json").read_text(encoding="utf-8"))
    assert meta["versions"]["contract_sha256"] == manifest["contract_sha256"]
    assert len(meta["data_sha256"]) == 64 and set(meta["columns"]) == set(table.columns)


def test_no_share_file_holds_a_pseudonym_or_an_identifier(peer_cities: Peers) -> None:
    for city in peer_cities.cities:
        raw = city.share.read_bytes()
        texts = _texts(city.share)
        assert not PSEUDONYM.search(raw)
        assert not any(PSEUDONYM.search(t.encode()) for t in texts)
        manifest = json.loads((city.processed / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["pseudonym_key_fingerprint"] not in "".join(texts)
        identifiers = _identifiers(city)
        assert len(identifiers) > 1000
        for text in texts:
            tokens = set(re.findall(r"[0-9A-Za-z_]+", text))
            assert not identifiers & tokens, sorted(identifiers & tokens)[:5]
            assert not [name for name in identifiers if not name.isascii() and name in text]


def test_same_data_same_bytes(peer_cities: Peers) -> None:
    share = read_share(peer_cities.cities[1].share)
    assert share_bytes(share) == share_bytes(share) == peer_cities.cities[1].share.read_bytes()


def _refused(path: Path) -> str:
    with pytest.raises(ShareFileError) as caught:
        read_share(path)
    message = caught.value.message()
    assert str(path) in message
    return message


def test_a_corrupted_file_is_refused_naming_it(peer_cities: Peers, tmp_path: Path) -> None:
    original = peer_cities.cities[0].share
    flipped = bytearray(original.read_bytes())
    flipped[len(flipped) // 3] ^= 0xFF
    damaged = tmp_path / "flipped.dxshare"
    damaged.write_bytes(bytes(flipped))
    message = _refused(damaged)
    assert "壊れています" in message and "corrupted" in message
    csv_text = _members(original)[CSV_FILE].decode("utf-8").replace(",false,", ",true,", 1)
    altered = _rewrite(original, tmp_path / "altered.dxshare", **{CSV_FILE: csv_text.encode()})
    message = _refused(altered)
    assert "チェックサム" in message and "checksum" in message and CSV_FILE in message
    truncated = tmp_path / "truncated.dxshare"
    truncated.write_bytes(original.read_bytes()[:500])
    assert "corrupted" in _refused(truncated)


def test_another_schema_version_is_refused_naming_it(peer_cities: Peers, tmp_path: Path) -> None:
    original = peer_cities.cities[0].share
    meta = json.loads(_members(original)[META_FILE])
    meta["schema_version"] = SCHEMA_VERSION + 1
    newer = _rewrite(
        original, tmp_path / "newer.dxshare", **{META_FILE: json.dumps(meta).encode("utf-8")}
    )
    message = _refused(newer)
    assert f"schema_version {SCHEMA_VERSION + 1}" in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert message.index("形式の版") < message.index("schema version")  # Japanese first


def test_share_needs_a_valid_code_and_a_category(
    peer_cities: Peers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = peer_cities.cities[0]
    args = ["--project", str(city.project), "share", "--data", str(city.processed), "--fy"]
    out_file = tmp_path / "x.dxshare"
    code, out = run_dxkpi(capsys, *args, "2025", "--city-code", "013031", "--out", str(out_file))
    assert code == 2 and "検査数字" in out and "check digit" in out
    assert not out_file.exists()
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "dxkpi.toml").write_text('[city]\ncode = "013030"\n', encoding="utf-8")
    code, out = run_dxkpi(
        capsys, "--project", str(bare), "share", "--data", str(city.processed), "--fy", "2025"
    )
    assert code == 2 and "団体区分" in out and "category" in out
    code, out = run_dxkpi(capsys, *args, "1999", "--out", str(tmp_path / "y.dxshare"))
    assert code == 2 and "1999" in out and not (tmp_path / "y.dxshare").exists()
