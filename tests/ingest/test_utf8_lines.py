"""The mixed-encoding check of a CP932 file flags exactly the lines that decoding each line
alone as UTF-8 flags (the line-by-line check it replaced)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dxkpi.core.errors import ContractError
from dxkpi.ingest.read import UTF8_PROBE_BYTES, _utf8_error, decode_csv, first_utf8_line


def _line_by_line(data: bytes) -> int | None:
    """The first line that is not ASCII and decodes as UTF-8 by itself (the reference)."""
    for number, line in enumerate(data.splitlines(), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return number
    return None


#: Pieces a line is made of: ASCII, line breaks, CP932 Japanese, valid UTF-8 of every length
#: (at the edges of the ranges the decoder accepts) and the byte sequences it refuses.
PIECES = [
    b"a",
    b"1,2",
    b"\n",
    b"\r",
    b"\r\n",
    "総務課".encode("cp932"),
    "ｱｲｳ".encode("cp932"),
    "修了".encode("cp932"),
    "総務課".encode(),
    "é".encode(),
    "\u0080".encode(),
    "\u07ff".encode(),
    "\u0800".encode(),
    "\ud7ff".encode(),
    "\ue000".encode(),
    "\ufffd".encode(),
    "\uffff".encode(),
    "\U00010000".encode(),
    "\U0010ffff".encode(),
    b"\xc0\x80",  # overlong
    b"\xc1\xbf",
    b"\xe0\x80\x80",  # overlong
    b"\xe0\x9f\xbf",
    b"\xed\xa0\x80",  # a surrogate
    b"\xf0\x80\x80\x80",  # overlong
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xf5\x80\x80\x80",
    b"\xff",
    b"\x80",
    b"\xbf",
    b"\xe3\x81",  # cut short
    b"\xf0\x9f\x98",
    b"\xc3",
]


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES) | st.binary(max_size=4), max_size=40),
    st.integers(min_value=1, max_value=24),
)
def test_same_line_as_line_by_line(pieces: list[bytes], chunk: int) -> None:
    """Whole file at once, and in chunks of a few bytes (a chunk boundary falls in nearly
    every line)."""
    data = b"".join(pieces)
    assert first_utf8_line(data) == _line_by_line(data)
    assert first_utf8_line(data, chunk) == _line_by_line(data)


def test_mixed_file_names_the_first_utf8_line() -> None:
    cp932 = "".join(f"{i:05d},総務課,修了\r\n" for i in range(200)).encode("cp932")
    utf8 = "".join(f"{i:05d},市民課,受講\r\n" for i in range(3)).encode()
    data = b"id,dept,status\r\n" + cp932 + b"\r" + utf8
    assert first_utf8_line(data) == _line_by_line(data) == 203
    assert [first_utf8_line(data, chunk) for chunk in (1, 64, 1000, 4000)] == [203] * 4
    assert first_utf8_line(cp932) is None


def test_decode_csv_refuses_the_mixed_file_at_that_line() -> None:
    data = (
        "a,b,c\n010100,総務課,総務部\n".encode("cp932")
        + "020100,市民課,市民部\n".encode()
        + "030100,福祉課,福祉部\n".encode("cp932")
    )
    data.decode("cp932")  # the whole file decodes as CP932: only the line check refuses it
    with pytest.raises(ContractError) as err:
        decode_csv(data, "x.csv")
    assert err.value.where.row == 3
    assert "mixes UTF-8 and CP932" in err.value.en


def _first_error(data: bytes) -> int | None:
    """Where a whole-file UTF-8 decode first fails (the reference)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start
    return None


@pytest.mark.parametrize(
    ("before", "bad"),
    [
        (0, "総務".encode("cp932")),  # a CP932 export: found in the head
        (100, "総務".encode("cp932")),
        (UTF8_PROBE_BYTES - 1, "総務".encode("cp932")),  # starts in the head, ends after it
        (UTF8_PROBE_BYTES + 5_000, "総務".encode("cp932")),  # past the head: the whole file
        (UTF8_PROBE_BYTES - 2, "総務".encode()),  # a valid character across the head's end
        (UTF8_PROBE_BYTES - 1, b"\xe7\x9f"),  # a character cut short across the head's end
        (10, b"\xff"),
    ],
)
def test_the_first_utf8_error_is_where_a_whole_decode_fails(before: int, bad: bytes) -> None:
    data = b"a" * before + bad + "、総務課\n".encode() * 3
    got = _utf8_error(data)
    assert (got.start if got is not None else None) == _first_error(data)
