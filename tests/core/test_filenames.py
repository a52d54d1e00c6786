"""File names made from data stay in their folder (dxkpi.core.filenames)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dxkpi.core.filenames import UnsafePathError, path_inside, safe_stem

HOSTILE = [
    "q/../../../../x/TRAVERSAL",
    "..",
    ".",
    "",
    "a\\b",
    "C:\\x",
    "/etc/passwd",
    "CON",
    "nul",
    "a\x00b",
    "a\nb",
    "<script>",
    "x" * 300,
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_becomes_one_plain_name_inside_its_folder(
    value: str, tmp_path: Path
) -> None:
    stem = safe_stem(value)
    assert stem and len(stem) <= 60
    assert all(c.isalnum() or c in "-_" for c in stem)
    path = path_inside(tmp_path, f"department_{stem}_trends.png")
    assert path.parent == tmp_path.resolve()


def test_plain_codes_keep_their_spelling_and_different_values_never_meet() -> None:
    assert safe_stem("010100") == "010100"
    assert safe_stem("総務課") == "総務課"
    stems = [safe_stem(v) for v in ["a/b", "a_b", "a b", "a.b", "a..b", *HOSTILE]]
    assert len(set(stems)) == len(stems)


@pytest.mark.parametrize("name", ["../x.png", "a/../../x.png", "sub/x.png", "/etc/x", ".."])
def test_a_name_that_leaves_its_folder_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError) as err:
        path_inside(tmp_path, name)
    assert "外" in err.value.ja and "outside" in err.value.en
