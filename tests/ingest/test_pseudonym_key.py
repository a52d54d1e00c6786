"""The pseudonym key across runs: its fingerprint in the manifest, and no silent change of key —
a new or different key would give every employee a new pseudonym, unlinked from earlier years."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.pseudonym import SecretError, key_fingerprint
from tests.helpers import SECRET
from tests.helpers.cli import EXPECTATIONS, ingest_args, run_dxkpi

pytestmark = pytest.mark.integration

OTHER = b"another-installation-key-0123456789"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_manifest_records_the_key_fingerprint_never_the_key(tiny_raw: Path, tmp_path: Path) -> None:
    report = run_ingest(tiny_raw, tmp_path / "out", expectations=EXPECTATIONS, secret=SECRET)
    assert report.manifest["pseudonym_key_fingerprint"] == key_fingerprint(SECRET)
    text = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text)["pseudonym_key_fingerprint"] == key_fingerprint(SECRET)
    blob = b"".join(_files(tmp_path / "out").values())
    assert SECRET not in blob and SECRET.hex().encode() not in blob


def test_a_different_key_is_refused_unless_new_key(tiny_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_ingest(tiny_raw, out, expectations=EXPECTATIONS, secret=SECRET)
    before = _files(out)
    with pytest.raises(SecretError) as refused:
        run_ingest(tiny_raw, out, expectations=EXPECTATIONS, secret=OTHER)
    message = refused.value.message()
    assert key_fingerprint(SECRET) in message and key_fingerprint(OTHER) in message
    assert "過去の年度" in message and "earlier years" in message and "--new-key" in message
    assert "backup" in message
    assert _files(out) == before
    report = run_ingest(tiny_raw, out, expectations=EXPECTATIONS, secret=OTHER, new_key=True)
    assert report.manifest["pseudonym_key_fingerprint"] == key_fingerprint(OTHER)


def test_deleted_key_is_not_silently_replaced(
    tiny_raw: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = tmp_path / "conf" / "pseudonym.key"
    monkeypatch.setenv("DXKPI_SECRET_FILE", str(key))
    out = tmp_path / "out"
    assert run_dxkpi(capsys, *ingest_args(tiny_raw, out))[0] == 0  # first run: creates the key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    before = _files(out)
    key.unlink()
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, out))
    assert code == 2 and "Traceback" not in output
    assert "仮名化の鍵がありません" in output and "pseudonym key is missing" in output
    assert str(key) in output and "--new-key" in output
    assert not key.exists() and _files(out) == before
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, out, "--new-key"))
    assert code == 0, output
    again = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert key.exists()
    assert again["pseudonym_key_fingerprint"] == key_fingerprint(key.read_bytes())
    assert again["pseudonym_key_fingerprint"] != first["pseudonym_key_fingerprint"]


def test_replaced_key_file_is_refused_by_the_command(
    tiny_raw: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = tmp_path / "pseudonym.key"
    key.write_bytes(SECRET)
    key.chmod(0o600)
    monkeypatch.setenv("DXKPI_SECRET_FILE", str(key))
    out = tmp_path / "out"
    assert run_dxkpi(capsys, *ingest_args(tiny_raw, out))[0] == 0
    key.write_bytes(OTHER)
    code, output = run_dxkpi(capsys, *ingest_args(tiny_raw, out))
    assert code == 2 and "Traceback" not in output
    assert "前回の取り込みと違います" in output and str(key) in output
