"""Three small sample cities (different seeds and sizes), ingested, each with its own project
(``[city]`` code and category, one as-of date and one waiting window W for all), and the share
file each wrote with ``dxkpi share`` — made once per test run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from dxkpi.commands.cli import main
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.sample import generate_city
from tests.helpers import ROOT, SECRET

#: (municipality code, category, seed, first-year staff): real codes of two 町村 of Hokkaido
#: and one 一般市 (code4fukui/localgovjp), sizes in two staff bands.
CITIES: tuple[tuple[str, str, int, int], ...] = (
    ("013030", "町村", 3, 250),
    ("013048", "町村", 5, 400),
    ("012033", "一般市", 8, 600),
)
FISCAL_YEAR = 2025
CONFIG = """[city]
code = "{code}"
category = "{category}"

[fiscal_year]
as_of = 2026-03-31

[kpi]
maturity_days = 180
"""


@dataclass(frozen=True)
class PeerCity:
    code: str
    category: str
    raw: Path
    processed: Path
    project: Path
    share: Path


@dataclass(frozen=True)
class Peers:
    cities: tuple[PeerCity, ...]
    shares: Path  # the folder holding every city's share file


@pytest.fixture(scope="session")
def peer_cities(tmp_path_factory: pytest.TempPathFactory) -> Peers:
    base = tmp_path_factory.mktemp("peers")
    shares = base / "shares"
    cities = []
    for code, category, seed, staff in CITIES:
        folder = base / code
        raw, processed, project = folder / "raw", folder / "processed", folder / "project"
        generate_city(raw, seed=seed, staff=staff)
        run_ingest(raw, processed, expectations=ROOT / "expectations", secret=SECRET)
        project.mkdir(parents=True)
        (project / "dxkpi.toml").write_text(
            CONFIG.format(code=code, category=category), encoding="utf-8"
        )
        share = shares / f"{code}_FY{FISCAL_YEAR}.dxshare"
        main(
            ["--project", str(project), "share", "--data", str(processed),
             "--fy", str(FISCAL_YEAR), "--out", str(share)]
        )  # fmt: skip
        cities.append(PeerCity(code, category, raw, processed, project, share))
    return Peers(tuple(cities), shares)
