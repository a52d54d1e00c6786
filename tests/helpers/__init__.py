"""Helpers the tests share (never imported from conftest or from another test file).

``ROOT`` is the repository (the sample project: dxkpi.toml, expectations/, notebooks/);
``SECRET`` the pseudonym key every test uses instead of the developer's own; ``OTHER_SEED`` the
seed of the second sample city (the course verdicts, the list of courses to revise, the ratio
and the subgroup effects are also checked on it).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OTHER_SEED", "ROOT", "SECRET"]

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"dxkpi-test-secret-0123456789abcdef"
OTHER_SEED = 11
