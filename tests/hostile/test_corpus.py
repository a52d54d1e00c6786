"""Every hostile input of the corpus, through the real command line: the exit code, a message in
Japanese and English that names the file (and row and column where the case has them), the
status of every dataset, and no record lost — counted by the test, not by dxkpi."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.hostile.corpus import CASES, ENGLISH, JAPANESE, Case, run_case

pytestmark = pytest.mark.integration  # the whole ingest, per case


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if case.permissions and root and shutil.which("setpriv") is None:
        pytest.skip("as root, file permissions are only obeyed under setpriv")
    built, result = run_case(case, tmp_path)

    assert result.exit_code == case.exit_code, result.output
    assert result.manifest is not None, result.output  # the other datasets were ingested
    statuses = {name: info["status"] for name, info in result.manifest["datasets"].items()}
    expected = {name: case.outcome.get(name, "ok") for name in statuses}
    assert statuses == expected, result.output
    if case.exit_code:
        named = case.file or next(iter(built.records))
        assert JAPANESE.search(result.output) and ENGLISH.search(result.output), result.output
        assert f"ファイル {named}" in result.output and f"file {named}" in result.output
        for where in built.where:
            assert where in result.output, (where, result.output)
    assert "Traceback" not in result.output
    for count in result.counts:
        assert count.lost == 0, count
        assert count.rejected == 0 or count.reason, count
    if case.check is not None:
        case.check(result)
