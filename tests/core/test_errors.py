"""Environment faults: one two-language message per errno, whoever raised it (Python or polars)."""

from __future__ import annotations

import errno
from pathlib import Path

import polars as pl
import pytest

from dxkpi.core.errors import EnvironmentFault, environment_faults, os_error_code, os_fault


@pytest.mark.parametrize(
    ("code", "ja", "en"),
    [
        (errno.ENOSPC, "ディスクの空き", "no space left"),
        (errno.EDQUOT, "クォータ", "quota"),
        (errno.EACCES, "アクセス権", "permission denied"),
        (errno.EPERM, "アクセス権", "permission denied"),
        (errno.EROFS, "読み取り専用", "read-only"),
    ],
)
def test_each_errno_has_its_message_and_what_to_do(code: int, ja: str, en: str) -> None:
    fault = os_fault(OSError(code, "strerror", "/srv/city/data/processed"))
    text = fault.message()
    assert ja in fault.ja and en in fault.en
    assert fault.hint_ja and fault.hint_en
    assert errno.errorcode[code] in text and "/srv/city/data/processed" in text
    assert text.index(ja) < text.index(en)  # Japanese first


def test_unknown_errno_is_still_one_bilingual_message() -> None:
    fault = os_fault(OSError(errno.ELOOP, "Too many levels of symbolic links", "/x"))
    assert "OS のエラー" in fault.ja and "operating-system error" in fault.en
    assert "ELOOP" in fault.message() and "--debug" in fault.hint_en


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (always ENOSPC)")
def test_polars_error_carrying_an_os_error_is_mapped(tmp_path: Path) -> None:
    """polars reports a full disk as ComputeError(... (os error 28)), with no errno."""
    with pytest.raises(pl.exceptions.ComputeError) as caught:
        pl.DataFrame({"a": list(range(100_000))}).write_parquet("/dev/full")
    assert os_error_code(caught.value) == errno.ENOSPC
    target = tmp_path / "staff.parquet"
    with pytest.raises(EnvironmentFault, match="ENOSPC") as mapped, environment_faults(target):
        raise caught.value
    assert mapped.value.where.file == str(tmp_path / "staff.parquet")


def test_other_errors_pass_unchanged() -> None:
    with pytest.raises(KeyError), environment_faults("/x"):
        raise KeyError("not the machine's fault")
