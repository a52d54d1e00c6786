"""Shared fixtures: an isolated pseudonym secret, a tiny raw city, and the sample city."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.rawcity import write_tiny_city

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"dxkpi-test-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _isolated_secret(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the developer's real pseudonym secret."""
    folder = tmp_path_factory.getbasetemp() / "secret"
    monkeypatch.setenv("DXKPI_SECRET_FILE", str(folder / "pseudonym.key"))


@pytest.fixture
def tiny_raw(tmp_path: Path) -> Path:
    """A valid tiny raw city (one CSV per dataset) in a fresh folder."""
    return write_tiny_city(tmp_path / "raw")


@dataclass(frozen=True)
class SampleCity:
    raw: Path
    processed: Path
    truth: dict[str, Any]
    manifest: dict[str, Any]


@pytest.fixture(scope="session")
def sample_city(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """The default sample city (seed 7, ~2,000 staff, FY2022–FY2025), generated and ingested."""
    from dxkpi.ingest.pipeline import run_ingest
    from dxkpi.sample import generate_city

    base = tmp_path_factory.mktemp("sample_city")
    raw, processed = base / "raw", base / "processed"
    generate_city(raw, seed=7)
    report = run_ingest(raw, processed, expectations=ROOT / "expectations", secret=SECRET)
    truth = json.loads((raw / "ground_truth.json").read_text(encoding="utf-8"))
    return SampleCity(raw, processed, truth, report.manifest)
