"""Shared fixtures: an isolated pseudonym secret, a tiny raw city, the sample city, one report set.

Tests that use the sample city or the report set are end-to-end runs: they are marked ``slow``
here (``make test-fast`` leaves them out). The report set runs once per test run, in the one
xdist worker of the ``report_run`` group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dxkpi.core.project import Project
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.reports.runner import RunResult, run_reports, write_kpi_workbook
from dxkpi.sample import generate_city
from tests.helpers import OTHER_SEED, ROOT, SECRET
from tests.helpers.rawcity import write_tiny_city

#: Scripts that regenerate stored oracle answers import tools the project does not install
#: (``honestdid``); they are run by hand, never collected (``--doctest-modules`` would import them).
collect_ignore_glob = ["*/data/make_*.py"]


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


def _city(factory: pytest.TempPathFactory, name: str, seed: int) -> SampleCity:
    base = factory.mktemp(name)
    raw, processed = base / "raw", base / "processed"
    generate_city(raw, seed=seed)
    report = run_ingest(raw, processed, expectations=ROOT / "expectations", secret=SECRET)
    truth = json.loads((raw / "ground_truth.json").read_text(encoding="utf-8"))
    return SampleCity(raw, processed, truth, report.manifest)


@pytest.fixture(scope="session")
def sample_city(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """The default sample city (seed 7, ~2,000 staff, FY2022–FY2025), generated and ingested."""
    return _city(tmp_path_factory, "sample_city", 7)


@pytest.fixture(scope="session")
def other_city(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """A second sample city (seed OTHER_SEED), generated and ingested once."""
    return _city(tmp_path_factory, "other_city", OTHER_SEED)


@pytest.fixture(scope="session")
def report_set(sample_city: SampleCity, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """Every report of FY2025 on the sample city (one drill-down department), with the Excel
    companion: run ONCE per test run and shared by the report, notebook and privacy tests."""
    reports = tmp_path_factory.mktemp("report_set")
    return run_reports(
        fiscal_year=2025,
        project=Project(ROOT),
        data_dir=sample_city.processed,
        reports_dir=reports,
        departments=("010100",),
        keep_going=True,
        write_extras=lambda folder, data: write_kpi_workbook(folder, data, 2025, None),
    )


class _GroupIds:
    """Makes ``--dist loadgroup`` keep each ``xdist_group`` on one worker under pytest 9.2.

    pytest-xdist (3.8) names a test's group in its node id (``…::test@report_run``) by setting
    ``item._nodeid``, which pytest 9.2 no longer reads (an item's id is ``item._id``): the
    suffix was lost, every group was ignored and each worker built its own report set. This
    hook runs after xdist's and gives pytest the id xdist meant; it does nothing where the two
    already agree (an older pytest, a fixed xdist, or no xdist at all)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            meant = getattr(item, "_nodeid", None)
            if isinstance(meant, str) and meant != item.nodeid:
                # pytest 9.2's id type, imported only where the ids differ (older pytest has
                # no such module and never gets here)
                from _pytest.nodeid import NodeId

                item._id = NodeId.parse(meant)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("loadgroup", default=False):  # set in xdist's workers for loadgroup
        config.pluginmanager.register(_GroupIds(), "dxkpi-xdist-group-ids")


#: Fixtures that make a test an end-to-end run (marked ``slow``).
SLOW_FIXTURES = frozenset({"sample_city", "report_set", "other_city", "peer_cities"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the sample city or the report set as ``slow``."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
