"""Find the raw files of each dataset and read them as text tables (the only raw-file reader).

Which dataset a file belongs to:

* Only ``.csv`` and ``.xlsx`` files are data files; anything else (``ground_truth.json``, notes,
  ``README``) is listed in the manifest as ignored. Files and folders whose name starts with ``.``
  or ``_`` are skipped.
* A CSV belongs to the dataset whose English or Japanese name its file name starts with
  (``attendance_fy2024.csv``, ``受講_2024.csv``). The longest matching name wins; the name must be
  followed by the end of the name or a character that is not a letter (``staff_2025`` is staff,
  ``staffing`` is nothing). A CSV that matches no dataset is a file-level fault.
* In an XLSX, a sheet named after a dataset (English or Japanese) belongs to that dataset. If no
  sheet is named after a dataset and the file name names one, the first sheet belongs to it.
  Other sheets are listed as ignored. Hidden sheets are read like visible ones, with a note.

What is never read, each a file fault that names it (:class:`FileFault`): a symbolic link
(to a file or a folder, wherever it points: copy the file in instead), a folder that cannot be
listed, a data file that cannot be opened, a data file that is not a regular file. A fault stops
the dataset the file's name belongs to; a folder's fault belongs to no dataset and fails the run
while the other datasets are still ingested.

CSV: UTF-8, UTF-8 with BOM, UTF-16 (with or without BOM) and CP932 (Excel's Shift_JIS) are
detected in that order; a file that is none of them is a file-level fault naming the first
undecodable line. Line endings may be LF, CRLF, CR (Excel for Mac's "CSV (Macintosh)") or a mix;
lone CRs are read as line breaks. The separator is read off the header line: comma, tab or
semicolon, whichever splits it into the most fields (a tie goes to the comma).

XLSX: the sheet's XML is checked first (:mod:`dxkpi.ingest.xlsx`): a sheet whose cells span an
absurd range is a file fault; Excel error cells (``#N/A``…) and formulas with no saved result keep
their text and put their row in quarantine (rule ``<dataset>.excel_error``); a cell holding only a
time reads as that time (``12:30:00``), so a date column quarantines it; hidden rows are read and
noted. The table starts at the first row holding a value.

Every cell is read as text; :mod:`dxkpi.ingest.parse` types it. Row numbers are as a
spreadsheet shows them: in a CSV the header is row 1 and the first data row is row 2; in an XLSX
they are the sheet's own row numbers.

The header row: a header with more than ``MAX_COLUMNS`` cells, a header cell longer than
``MAX_HEADER_CHARS`` characters or holding a control character is not a header (a file fault,
never a table of zero rows); a contract column given twice is a file fault naming both positions.
Headers outside the contract are recorded (manifest, data-quality report) by :func:`header_label`:
a header that could be a data value (no letter, a run of four digits, an ``@``) is recorded by
its position only, others are cut to ``SHOWN_HEADER_CHARS`` characters, and at most
``MAX_IGNORED_SHOWN`` are listed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from dxkpi.catalogue.contract import DATASETS, Dataset, is_personal_name
from dxkpi.core.errors import ContractError, Where
from dxkpi.ingest.mapping import MappingSet, apply_mapping, no_mapping_columns, rename_headers
from dxkpi.ingest.rules import EXCEL_ERROR
from dxkpi.ingest.xlsx import (
    CellFault,
    SheetInfo,
    SheetScan,
    check_extent,
    column_letters,
    not_a_workbook,
    scan_sheet,
    workbook_sheets,
)
from dxkpi.project.config import SourceMapping

__all__ = [
    "DATA_SUFFIXES",
    "MAX_COLUMNS",
    "MAX_HEADER_CHARS",
    "MAX_IGNORED_SHOWN",
    "SEPARATORS",
    "SHOWN_HEADER_CHARS",
    "UTF8_LINES_CHUNK",
    "UTF8_PROBE_BYTES",
    "Discovery",
    "FileFault",
    "RawTable",
    "SourcePart",
    "TextTable",
    "data_files",
    "dataset_for_name",
    "decode_csv",
    "discover",
    "first_utf8_line",
    "header_label",
    "header_lookup",
    "is_data_file",
    "locate_csv_fault",
    "map_headers",
    "normalise_line_endings",
    "read_part",
    "read_text_table",
    "sniff_separator",
]

DATA_SUFFIXES = (".csv", ".xlsx")


def is_data_file(path: Path) -> bool:
    """Whether ``path`` names a file the ingest reads as data (:data:`DATA_SUFFIXES`, in any
    case).

    >>> is_data_file(Path("受講_FY2023.CSV")), is_data_file(Path("notes.txt"))
    (True, False)
    """
    return path.suffix.lower() in DATA_SUFFIXES


#: Separators a CSV may use, in order of preference when two split the header equally.
SEPARATORS = (",", "\t", ";")
#: A header row with more cells than this is not a header.
MAX_COLUMNS = 1_000
#: A header cell longer than this is a data value, not a column name.
MAX_HEADER_CHARS = 256
#: A recorded header outside the contract is cut to this many characters…
SHOWN_HEADER_CHARS = 40
#: …and at most this many are listed per file.
MAX_IGNORED_SHOWN = 20

_HEADER_PREFIX = 1 << 16  # bytes in which a CSV's header row must end
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not tab, LF, CR
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_TIME_ONLY = r"^1899-12-3[01][ T]([0-9]{2}:[0-9]{2}:[0-9]{2}).*$"


@dataclass(frozen=True)
class SourcePart:
    """One table of raw rows: a CSV file, or one sheet of an XLSX."""

    path: Path
    rel: str  # path relative to the raw folder, with forward slashes
    dataset: str
    sheet: str | None = None


@dataclass(frozen=True)
class FileFault:
    """A file or folder of the raw folder that is not read, and why. ``dataset`` is the dataset
    its name belongs to (its fault stops that dataset), or None (it fails the run)."""

    rel: str
    dataset: str | None
    error: ContractError


@dataclass(frozen=True)
class Discovery:
    """What is in the raw folder: data parts per dataset, files ignored, files matching nothing,
    and files or folders that cannot be read."""

    parts: tuple[SourcePart, ...]
    ignored: tuple[str, ...]
    unmatched: tuple[str, ...]
    ignored_sheets: tuple[str, ...] = ()
    faults: tuple[FileFault, ...] = ()


@dataclass
class RawTable:
    """A source part read as text, with contract column names mapped."""

    part: SourcePart
    # canonical column names (all String) + _source_row + EXCEL_ERROR (list or null)
    frame: pl.DataFrame
    encoding: str
    sha256: str
    ignored_columns: list[str] = field(default_factory=list)
    dropped_personal: list[str] = field(default_factory=list)
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)
    mapping: SourceMapping | None = None


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def dataset_for_name(stem: str) -> str | None:
    """The dataset a file or sheet name starts with (longest match), or None."""
    name = _key(stem)
    best: tuple[int, str] | None = None
    for ds in DATASETS.values():
        for prefix in (ds.name, _key(ds.ja)):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            if rest and re.match(r"[a-z]", rest):
                continue
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), ds.name)
    return best[1] if best else None


def _sheet_dataset(sheet: str) -> str | None:
    key = _key(sheet)
    for ds in DATASETS.values():
        if key in (ds.name, _key(ds.ja)):
            return ds.name
    return None


# ---------------------------------------------------------------- discovery


def _link_fault(rel: str, dataset: str | None) -> FileFault:
    return FileFault(
        rel,
        dataset,
        ContractError(
            "シンボリックリンクです。生データのフォルダではリンクをたどりません",
            "a symbolic link: links inside the raw folder are never followed",
            where=Where(file=rel),
            hint_ja="リンクではなく、ファイル（フォルダ）そのものを生データのフォルダにコピーして"
            "ください。",
            hint_en="Copy the file (or folder) itself into the raw folder instead of a link.",
        ),
    )


def _folder_fault(rel: str, err: OSError) -> FileFault:
    return FileFault(
        rel,
        None,
        ContractError(
            f"フォルダの中身を読めません（{err.strerror or type(err).__name__}）",
            f"cannot list the folder ({err.strerror or type(err).__name__})",
            where=Where(file=rel),
            hint_ja="フォルダの読み取り権限を確認するか、中のファイルを読めるフォルダに移して"
            "ください。",
            hint_en="Check the folder's read permission, or move its files to a readable folder.",
        ),
    )


def _unreadable(rel: str, err: OSError) -> ContractError:
    return ContractError(
        f"ファイルを開けません（{err.strerror or type(err).__name__}）",
        f"cannot open the file ({err.strerror or type(err).__name__})",
        where=Where(file=rel),
        hint_ja="ファイルの読み取り権限を確認してください（別のプログラムが開いていないかも）。",
        hint_en="Check the file's read permission (and that no other program locks it).",
    )


def _not_regular(rel: str) -> ContractError:
    return ContractError(
        "通常のファイルではありません（パイプ、デバイスなど）",
        "not a regular file (a pipe, a device…)",
        where=Where(file=rel),
        hint_ja="データをファイルとして保存し、生データのフォルダに置いてください。",
        hint_en="Save the data as a file and put that file in the raw folder.",
    )


def _walk(raw: Path, folder: Path, files: list[Path], faults: list[FileFault]) -> None:
    """Collect the regular files under ``folder`` without following links; record what
    cannot be listed or is a link."""
    rel_folder = folder.relative_to(raw).as_posix()
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as err:
        faults.append(_folder_fault(rel_folder + "/", err))
        return
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        path = folder / entry.name
        rel = path.relative_to(raw).as_posix()
        if entry.is_symlink():
            data = is_data_file(Path(entry.name))
            faults.append(
                _link_fault(rel, dataset_for_name(Path(entry.name).stem) if data else None)
            )
        elif entry.is_dir(follow_symlinks=False):
            _walk(raw, path, files, faults)
        else:
            files.append(path)


def data_files(folder: Path) -> list[Path]:
    """The .csv/.xlsx files under ``folder`` that :func:`discover` lists (the same walk: no
    links, no names starting with ``.`` or ``_``), sorted; none when ``folder`` is not a
    folder."""
    if not folder.is_dir():
        return []
    files: list[Path] = []
    _walk(folder, folder, files, [])
    return sorted(p for p in files if is_data_file(p))


def _open_fault(path: Path, rel: str) -> ContractError | None:
    """Why a data file cannot be read, or None (the file is opened and closed, not read)."""
    try:
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            return _not_regular(rel)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        return _unreadable(rel, err)
    os.close(fd)
    return None


def discover(raw: Path, mappings: MappingSet | None = None) -> Discovery:
    """List the data parts of every dataset under ``raw``, in a deterministic order.

    A file matching the ``files`` of one of ``mappings`` belongs to that mapping's dataset,
    whatever its name (:meth:`dxkpi.ingest.mapping.MappingSet.route`)."""
    parts: list[SourcePart] = []
    ignored: list[str] = []
    unmatched: list[str] = []
    ignored_sheets: list[str] = []
    faults: list[FileFault] = []
    files: list[Path] = []
    _walk(raw, raw, files, faults)
    for path in sorted(files):
        rel = path.relative_to(raw).as_posix()
        if not is_data_file(path):
            ignored.append(rel)
            continue
        suffix = path.suffix.lower()
        routed = mappings.route(rel) if mappings is not None else None
        by_name = routed or dataset_for_name(path.stem)
        if suffix == ".csv" and by_name is None:
            unmatched.append(rel)
            continue
        fault = _open_fault(path, rel)
        if fault is not None:
            faults.append(FileFault(rel, by_name, fault))
            continue
        if suffix == ".csv":
            assert by_name is not None
            parts.append(SourcePart(path, rel, by_name))
            continue
        try:
            sheets = [s.name for s in workbook_sheets(path, rel)]
        except ContractError as err:
            faults.append(FileFault(rel, by_name, err))
            continue
        named = [(s, None if routed else _sheet_dataset(s)) for s in sheets]
        found = [(s, d) for s, d in named if d is not None]
        if not found and by_name is not None and sheets:
            found = [(sheets[0], by_name)]
        if not found:
            unmatched.append(rel)
            continue
        parts.extend(SourcePart(path, rel, d, sheet=s) for s, d in found)
        taken = {s for s, _ in found}
        ignored_sheets.extend(f"{rel}#{s}" for s in sheets if s not in taken)
    faults.sort(key=lambda f: f.rel)
    return Discovery(
        tuple(parts), tuple(ignored), tuple(unmatched), tuple(ignored_sheets), tuple(faults)
    )


# ---------------------------------------------------------------- CSV bytes → text


def _line_of(data: bytes, offset: int) -> int:
    """1-based line of a byte offset, counting LF, CRLF and CR as line breaks."""
    return len(_LINE_BREAK.findall(data, 0, offset)) + 1


def _empty_file(rel: str) -> ContractError:
    return ContractError(
        "ファイルが空です（0 バイト、または空白のみ）",
        "the file is empty (zero bytes or only white space)",
        where=Where(file=rel),
        hint_ja="書き出しが途中で止まっていないか確認し、ファイルを作り直してください。",
        hint_en="Check that the export finished, and export the file again.",
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the zero bytes fall on one side of each byte pair, as
    the ASCII digits, commas and line breaks of a UTF-16 CSV put them; else None."""
    sample = data[:4096]
    pairs = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if pairs and odd >= pairs // 5 and even * 4 <= odd:
        return "utf-16-le"
    if pairs and even >= pairs // 5 and odd * 4 <= even:
        return "utf-16-be"
    return None


def _decode_utf16(body: bytes, codec: str, label: str, rel: str) -> tuple[bytes, str]:
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as err:
        line = body[: err.start].decode(codec, errors="replace").count("\n") + 1
        raise ContractError(
            "UTF-16 のファイルとして読めません（途中で壊れているか、UTF-16 ではありません）",
            "the file looks like UTF-16 but cannot be decoded as UTF-16",
            where=Where(file=rel, row=line),
            hint_ja="Excel で開き「CSV UTF-8（コンマ区切り）」か「CSV（コンマ区切り）」"
            "（Shift_JIS）で保存し直してください。",
            hint_en="Open it in Excel and save it as 'CSV UTF-8 (Comma delimited)' or "
            "'CSV (Comma delimited)' (Shift_JIS).",
        ) from err
    if _CONTROL.search(text):
        raise ContractError(
            "UTF-16 として読むと制御文字が現れます（バイナリか、壊れたファイル）",
            "decoded as UTF-16 the file holds control characters (binary or damaged?)",
            where=Where(file=rel),
            hint_ja="元のデータから CSV を書き出し直してください（UTF-8 推奨）。",
            hint_en="Export the CSV again from the source (UTF-8 preferred).",
        )
    return text.encode("utf-8"), label


def decode_csv(data: bytes, rel: str) -> tuple[bytes, str]:
    """Check the encoding of CSV bytes; return UTF-8 bytes (no BOM) and the encoding found.

    UTF-8 with BOM, UTF-16 with BOM, UTF-8, UTF-16 without BOM, then CP932 are tried in that
    order; UTF-8 input is passed through without a copy.

    >>> decode_csv("a,b\\n".encode("utf-16"), "x.csv")
    (b'a,b\\n', 'utf-16le-bom')
    """
    # isspace stops at the first other byte (strip would copy the whole file)
    if not data or data.isspace() or data in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        raise _empty_file(rel)
    if data.startswith(b"\xff\xfe"):
        return _decode_utf16(data[2:], "utf-16-le", "utf-16le-bom", rel)
    if data.startswith(b"\xfe\xff"):
        return _decode_utf16(data[2:], "utf-16-be", "utf-16be-bom", rel)
    first_error: UnicodeDecodeError | None = None
    if data.startswith(b"\xef\xbb\xbf"):
        body = data[3:]
        first_error = _utf8_error(body)
        if first_error is None and b"\x00" not in body:
            return body, "utf-8-bom"
    else:
        first_error = _utf8_error(data)
        if first_error is None and b"\x00" not in data:
            return data, "utf-8"
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            return _decode_utf16(data, utf16, utf16.replace("utf-16-", "utf-16"), rel)
        if first_error is not None:
            try:
                text = data.decode("cp932")
            except UnicodeDecodeError:
                pass
            else:
                if "\x00" not in text:
                    _refuse_mixed_encodings(data, rel)
                    return text.encode("utf-8"), "cp932"
    line = _line_of(data, first_error.start) if first_error else None
    raise ContractError(
        "文字コードを判別できません（UTF-8・UTF-8 BOM 付き・UTF-16・CP932 のいずれでもない、"
        "または複数の文字コードが混在、またはバイナリ）",
        "cannot decode the file as UTF-8, UTF-8 with BOM, UTF-16 or CP932 "
        "(mixed encodings or binary?)",
        where=Where(file=rel, row=line),
        hint_ja="Excel で開き「CSV UTF-8（コンマ区切り）」で保存し直してください。",
        hint_en="Open it in Excel and save it as 'CSV UTF-8 (Comma delimited)'.",
    )


#: How many bytes :func:`_utf8_error` decodes first: an invalid sequence there answers at once.
UTF8_PROBE_BYTES = 64 * 1024


def _utf8_error(data: bytes) -> UnicodeDecodeError | None:
    """The error decoding ``data`` as UTF-8, or None when it decodes (pure ASCII, the usual
    export of codes, numbers and dates, is checked without decoding; other text is validated
    by polars, about twice as fast as a Python decode, which runs only to find where an
    invalid file breaks).

    >>> _utf8_error("総務".encode()) is None, _utf8_error("総務".encode("cp932")).start
    (True, 0)
    """
    if data.isascii():
        return None
    head = data[:UTF8_PROBE_BYTES]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        # a sequence found invalid whole within the head (one is at most 4 bytes) is the
        # file's first error: a CP932 export is told apart without copying the whole file
        if len(head) == len(data) or err.end < len(head):
            return err
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:
        pass
    else:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return err
    return None


def _refuse_mixed_encodings(data: bytes, rel: str) -> None:
    """Fail when a file that decodes as CP932 also holds lines that are valid UTF-8 Japanese.

    Two exports concatenated (one UTF-8, one CP932) decode "successfully" as CP932 and turn the
    UTF-8 part into mojibake; a CP932 line of Japanese is practically never valid UTF-8.
    """
    number = first_utf8_line(data)
    if number is not None:
        raise ContractError(
            "1つのファイルに UTF-8 と CP932（Shift_JIS）の行が混在しています",
            "the file mixes UTF-8 and CP932 (Shift_JIS) lines: cannot decode it as one encoding",
            where=Where(file=rel, row=number),
            hint_ja="元のファイルをそれぞれ同じ文字コード（UTF-8 推奨）で書き出し直してください。",
            hint_en="Export the source files again with one encoding (UTF-8 preferred).",
        )


#: Bytes of a file :func:`first_utf8_line` looks at a time (then up to the next line break):
#: its arrays stay in the cache and are reused from the heap, where arrays of the whole file
#: were each a fresh, page-faulted copy (a 65 MB CP932 file: 0.35 s, up to 1.2 s on a cold
#: process, against 0.23 s).
UTF8_LINES_CHUNK = 4 * 1024 * 1024


def first_utf8_line(data: bytes, chunk: int = UTF8_LINES_CHUNK) -> int | None:
    r"""The 1-based number of the first line that holds a non-ASCII byte and is valid UTF-8, or
    None. Lines end at LF, CRLF or a lone CR (as :meth:`bytes.splitlines` splits them).

    Found without a Python call per line of a CP932 export (a million rows have as many
    lines): a byte pattern that UTF-8 never holds marks a line as certainly not UTF-8
    (:func:`_never_utf8`), and nearly every line of CP932 Japanese has one (its lead bytes
    81–9F are continuation bytes to UTF-8, its trail bytes 40–7E are ASCII). The few non-ASCII
    lines left are decoded one by one, so the answer is exact. The file is looked at in whole
    lines of about ``chunk`` bytes at a time.

    >>> first_utf8_line("a\n総務\n".encode("cp932") + "総務\r\n".encode())
    3
    >>> first_utf8_line("a\r総務\r".encode("cp932")) is None
    True
    """
    flat, _ = normalise_line_endings(data)
    before = 0  # lines in the chunks already looked at
    start = 0
    while start < len(flat):
        stop = flat.find(b"\n", start + max(chunk, 1) - 1) + 1 or len(flat)
        found, lines = _first_utf8_line_in(flat, start, stop)
        if found is not None:
            return before + found
        before, start = before + lines, stop
    return None


def _first_utf8_line_in(flat: bytes, start: int, stop: int) -> tuple[int | None, int]:
    """:func:`first_utf8_line` within ``flat[start:stop]`` (whole LF-ended lines, the last
    perhaps unended): the line's number counted from the first line there, and how many
    lines there are."""
    x = np.frombuffer(flat, dtype=np.uint8, count=stop - start, offset=start)
    starts = np.concatenate(([0], np.flatnonzero(x == 0x0A) + 1))
    starts = starts[starts < x.size]  # the empty line after a final LF holds nothing
    stops = np.append(starts[1:], x.size)
    non_ascii = np.maximum.reduceat(x, starts) >= 0x80
    not_utf8 = np.logical_or.reduceat(_never_utf8(x), starts)
    for i in np.flatnonzero(non_ascii & ~not_utf8):
        try:
            flat[start + starts[i] : start + stops[i]].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return int(i) + 1, starts.size
    return None, starts.size


def _never_utf8(x: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """True at each byte that shows its line is not UTF-8 (:func:`first_utf8_line`): a
    continuation byte after an ASCII byte or first in the data, a lead byte (C0–FF) not
    followed by a continuation byte. A line with none may still not be UTF-8; a line break is
    ASCII, so no pattern spans two lines. (Few temporaries: each is a page-faulted copy of a
    file that may be 100 MB.)"""
    continuation = (x & 0xC0) == 0x80
    never = np.empty_like(continuation)
    never[0] = continuation[0]
    np.logical_and(continuation[1:], x[:-1] < 0x80, out=never[1:])
    never[:-1] |= (x[:-1] >= 0xC0) & ~continuation[1:]
    never[-1] |= x[-1] >= 0xC0
    return never


_LONE_CR = re.compile(rb"\r(?!\n)")


def normalise_line_endings(data: bytes) -> tuple[bytes, str | None]:
    """UTF-8 CSV bytes with every lone CR read as a line break; a note when there were any.

    LF and CRLF files are returned as they are (the CSV reader takes both).

    >>> normalise_line_endings(b"a,b\\r1,2\\r\\n3,4\\r")[0]
    b'a,b\\n1,2\\n3,4\\n'
    >>> normalise_line_endings(b"a,b\\r\\n1,2\\r\\n")[1] is None
    True
    """
    # a file with no CR at all is told apart without a search; a CRLF file by one search for
    # a CR that no LF follows (about half the time of counting both)
    if b"\r" not in data or _LONE_CR.search(data) is None:
        return data, None
    note = (
        "改行が CR（旧 Mac 形式）の行を改行として読みました / lines ending in a lone CR "
        "(old Mac format) were read as lines"
    )
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), note


def _first_record(text: str, separator: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=separator), [])
    except csv.Error:
        return []


def sniff_separator(header_text: str) -> str:
    """The separator that splits the header line into the most fields (ties: comma first).

    >>> sniff_separator("a,b,c"), sniff_separator("a\\tb\\tc"), sniff_separator("a;b;c")
    (',', '\\t', ';')
    >>> sniff_separator('"x;y",z')
    ','
    """
    counts = [(len(_first_record(header_text, s)), -i, s) for i, s in enumerate(SEPARATORS)]
    return max(counts)[2]


def locate_csv_fault(data: bytes, separator: str = ",") -> tuple[int | None, str, str]:
    """The first line where a CSV breaks (more fields than the header, unclosed quote),
    found with the standard csv module; (line, Japanese detail, English detail)."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=separator)
    start = 1
    try:
        header = next(reader)
        while True:
            start = reader.line_num + 1
            row = next(reader)
            if len(row) > len(header):
                return (
                    start,
                    f"列が {len(row)} 個あります（見出しは {len(header)} 列）",
                    f"{len(row)} fields where the header has {len(header)}",
                )
    except StopIteration:
        return None, "", ""
    except csv.Error as err:
        return (
            start,
            f'この行で始まる引用符（"）が閉じていません（{err}）',
            f"a quote opened on this line is never closed ({err})",
        )


def _positional(width: int) -> list[str]:
    """Column names by position (``c0``, ``c1``…): header cells may repeat or start with ``_``."""
    return [f"c{i}" for i in range(width)]


def _csv_fault(rel: str, line: int | None, ja: str, en: str) -> ContractError:
    return ContractError(
        f"CSV として読めません（{ja}）",
        f"cannot parse as CSV ({en})",
        where=Where(file=rel, row=line),
        hint_ja="Excel で開いて崩れている行を直し、CSV で保存し直してください。",
        hint_en="Open it in Excel, fix the broken line and save it as CSV again.",
    )


def _csv_header(data: bytes, rel: str) -> tuple[list[str], str]:
    """The header cells of UTF-8 CSV bytes and the separator they use."""
    prefix = data[:_HEADER_PREFIX]
    if len(data) > _HEADER_PREFIX and b"\n" not in prefix:
        raise _implausible_header(
            rel,
            1,
            f"見出し行が {_HEADER_PREFIX:,} バイトを超えても終わりません",
            f"the header row runs past {_HEADER_PREFIX:,} bytes without a line break",
        )
    text = prefix.decode("utf-8", errors="ignore")
    separator = sniff_separator(text)
    return _first_record(text, separator), separator


def _read_csv(data: bytes, rel: str) -> tuple[pl.DataFrame, list[str], str]:
    """Parse UTF-8 CSV bytes: the text frame (positional columns), the header cells, the
    separator."""
    header, separator = _csv_header(data, rel)
    try:
        frame = pl.read_csv(
            data,
            infer_schema=False,
            has_header=True,
            separator=separator,
            truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
        line, ja, en = locate_csv_fault(data, separator)
        detail = str(err).splitlines()[0]
        raise _csv_fault(
            rel, line, ja or "列数の合わない行、閉じていない引用符など", en or detail
        ) from err
    frame.columns = _positional(frame.width)
    if frame.width != len(header):
        raise _csv_fault(
            rel,
            1,
            f"見出し行の列数を確定できません（{len(header)} と {frame.width}）",
            f"cannot tell how many columns the header has ({len(header)} or {frame.width})",
        )
    return frame, header, separator


# ---------------------------------------------------------------- XLSX


def _read_xlsx(
    path: Path, sheet: SheetInfo, rel: str
) -> tuple[pl.DataFrame, list[str], list[str], int, list[tuple[int, int]], list[str]]:
    """A sheet's table: the text frame of data rows (positional columns, ``_source_row`` = the
    sheet's row), its header cells and their column letters, the header's row, the (row,
    position) of each error cell or formula without a result, and notes."""
    import fastexcel

    scan = scan_sheet(path, sheet, rel)
    check_extent(scan, rel, sheet.name)
    try:
        loaded = fastexcel.read_excel(str(path)).load_sheet_by_name(
            sheet.name, header_row=None, dtypes="string"
        )
        frame = loaded.to_polars()
        absolute = [c.absolute_index for c in loaded.available_columns()]
    except Exception as err:  # fastexcel raises its own error types
        raise not_a_workbook(rel, err) from err
    if scan.first_row is None or frame.height == 0:
        empty = pl.DataFrame(schema={"_source_row": pl.Int64})
        return empty, [], [], 1, [], []
    if frame.height != (scan.last_row or 0) - scan.first_row + 1:
        raise ContractError(
            f"シート「{sheet.name}」の行の位置を確定できません",
            f"cannot tell which sheet row each row of sheet '{sheet.name}' comes from",
            where=Where(file=rel),
            hint_ja="Excel で開いて保存し直してください。",
            hint_en="Open it in Excel and save it again.",
        )
    header_row = scan.first_row
    frame.columns = _positional(frame.width)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
    header = [v if v is not None else "" for v in frame.row(0)]
    body = frame.slice(1).with_row_index("_source_row", offset=header_row + 1)
    body = body.with_columns(pl.col("_source_row").cast(pl.Int64))
    position = {a: i for i, a in enumerate(absolute)}
    faults = [f for f in scan.faults if f.row > header_row and f.column in position]
    body = _with_fault_texts(body, faults, position, header_row)
    cells = [(f.row, position[f.column]) for f in faults]
    notes = _xlsx_notes(sheet, scan, header_row)
    letters = [column_letters(i) for i in absolute]
    return _times_as_text(body), header, letters, header_row, cells, notes


def _with_fault_texts(
    body: pl.DataFrame, faults: list[CellFault], position: dict[int, int], header_row: int
) -> pl.DataFrame:
    """Put the text of each error cell or formula without a result into its cell, adding the
    rows at the end that the value reader left out because they hold nothing else."""
    if not faults:
        return body
    last = header_row + body.height
    beyond = max(f.row for f in faults) - last
    if beyond > 0:
        extra = pl.DataFrame(
            {"_source_row": range(last + 1, last + beyond + 1)}, schema={"_source_row": pl.Int64}
        )
        body = pl.concat([body, extra], how="diagonal")
    data_cols = [c for c in body.columns if not c.startswith("_")]
    by_column: dict[int, list[CellFault]] = {}
    for f in faults:
        by_column.setdefault(position[f.column], []).append(f)
    updates = []
    for i, group in by_column.items():
        col = body[data_cols[i]].clone()
        col.scatter([f.row - header_row - 1 for f in group], [f.text for f in group])
        updates.append(col)
    return body.with_columns(updates)


def _times_as_text(body: pl.DataFrame) -> pl.DataFrame:
    """A cell holding only a time (Excel's day 0) reads as the time, not as 1899-12-31."""
    data_cols = [c for c in body.columns if not c.startswith("_")]
    if not data_cols or body.height == 0:
        return body
    found = body.select(pl.col(data_cols).str.starts_with("1899-12-3").any()).row(0)
    cols = [c for c, hit in zip(data_cols, found, strict=True) if hit]
    return body.with_columns(pl.col(c).str.replace(_TIME_ONLY, "${1}") for c in cols)


def _xlsx_notes(sheet: SheetInfo, scan: SheetScan, header_row: int) -> list[str]:
    notes = []
    if sheet.state != "visible":
        notes.append("非表示のシートです（読み込みました）/ a hidden sheet (read)")
    hidden = [r for r in scan.hidden_rows if r > header_row]
    if hidden:
        shown = ", ".join(map(str, hidden[:10])) + ("…" if len(hidden) > 10 else "")
        notes.append(
            f"非表示の行 {len(hidden)} 行も読み込みました（{shown} 行目）/ "
            f"{len(hidden)} hidden rows were read (rows {shown})"
        )
    return notes


# ---------------------------------------------------------------- headers


def _looks_like_data(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text)
    has_letter = any(unicodedata.category(ch).startswith("L") for ch in folded)
    return not has_letter or "@" in folded or re.search(r"[0-9]{4}", folded) is not None


def header_label(name: str, position: str) -> str:
    """How a header outside the contract is recorded: its text (control characters as spaces,
    cut to ``SHOWN_HEADER_CHARS``), or only its position when it is empty or could be a data
    value (no letter, four digits in a row, an ``@``).

    >>> header_label("内線番号", "5"), header_label("0012345", "5"), header_label("", "C")
    ('内線番号', '列5 (column 5)', '列C (column C)')
    """
    text = " ".join(_CONTROL.sub(" ", name).split())
    if not text or _looks_like_data(text):
        return f"列{position} (column {position})"
    if len(text) > SHOWN_HEADER_CHARS:
        return text[: SHOWN_HEADER_CHARS - 1] + "…"
    return text


def _capped(labels: list[str]) -> list[str]:
    if len(labels) <= MAX_IGNORED_SHOWN:
        return labels
    more = len(labels) - MAX_IGNORED_SHOWN
    return [*labels[:MAX_IGNORED_SHOWN], f"…ほか {more} 列 / … and {more} more"]


def _implausible_header(rel: str, row: int, ja: str, en: str) -> ContractError:
    return ContractError(
        f"1 行目が見出し行に見えません（{ja}）" if row == 1 else f"見出し行に見えません（{ja}）",
        f"the header row does not look like a header ({en})",
        where=Where(file=rel, row=row),
        hint_ja="見出しが 1 行だけあること、改行コードや区切り文字が正しいことを確認し、"
        "Excel で「CSV UTF-8（コンマ区切り）」か .xlsx で保存し直してください。",
        hint_en="Check that the file has one header row and proper line breaks and separators, "
        "then save it from Excel as 'CSV UTF-8 (Comma delimited)' or as .xlsx.",
    )


def _check_header(header: Sequence[str], positions: Sequence[str], rel: str, row: int) -> None:
    """Refuse a header row that cannot be one (too many cells, a cell too long, control
    characters); the fault names the position, never the cell's text."""
    if len(header) > MAX_COLUMNS:
        raise _implausible_header(
            rel,
            row,
            f"{len(header):,} 列あります（上限 {MAX_COLUMNS:,}）",
            f"{len(header):,} cells where at most {MAX_COLUMNS:,} are accepted",
        )
    for name, pos in zip(header, positions, strict=True):
        if len(name) > MAX_HEADER_CHARS:
            raise _implausible_header(
                rel,
                row,
                f"列 {pos} の見出しが {len(name):,} 文字あります（上限 {MAX_HEADER_CHARS}）",
                f"the header of column {pos} is {len(name):,} characters long "
                f"(at most {MAX_HEADER_CHARS})",
            )
        if _CONTROL.search(name):
            raise _implausible_header(
                rel,
                row,
                f"列 {pos} の見出しに制御文字があります",
                f"the header of column {pos} holds a control character",
            )


def header_lookup(ds: Dataset) -> dict[str, str]:
    """Accepted header spellings (NFKC, lower case) → canonical column name."""
    out: dict[str, str] = {}
    for col in ds.columns:
        out[_key(col.name)] = col.name
        out[_key(col.ja)] = col.name
    return out


def map_headers(
    frame: pl.DataFrame,
    header: Sequence[str],
    positions: Sequence[str],
    ds: Dataset,
    rel: str,
    header_row: int = 1,
    deliberate: frozenset[int] = frozenset(),
    mapping_label: str | None = None,
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Name the frame's positional columns from the header cells; drop personal-name and
    unknown columns (those at the positions ``deliberate`` — ignored by a mapping on purpose —
    without reporting them; ``mapping_label`` names the mapping the file is read with, which a
    missing column's hint points to).

    Returns the renamed frame (contract columns only, missing optional ones added as null, plus
    any column of the frame starting with ``_``), the ignored headers (:func:`header_label`),
    and the dropped personal-data headers.
    """
    _check_header(header, positions, rel, header_row)
    lookup = header_lookup(ds)
    data_cols = [c for c in frame.columns if not c.startswith("_")]
    chosen: dict[str, int] = {}
    ignored: list[str] = []
    dropped: list[str] = []
    for i, name in enumerate(header):
        key = _key(name)
        if is_personal_name(name):
            dropped.append(header_label(name, positions[i]))
        elif key in lookup:
            canonical = lookup[key]
            if canonical in chosen:
                raise _repeated_column(
                    ds, canonical, positions[chosen[canonical]], positions[i], rel, header_row
                )
            chosen[canonical] = i
        elif i not in deliberate:
            ignored.append(header_label(name, positions[i]))
    missing = [c for c in ds.columns if c.required and c.name not in chosen]
    if missing:
        col = missing[0]
        names = "、".join(f"「{c.ja}」({c.name})" for c in missing)
        raise ContractError(
            f"必須の列がありません: {names}",
            f"missing required column(s): {', '.join(c.name for c in missing)}",
            where=Where(file=rel, row=header_row, column=col.name),
            hint_ja=f"見出し行に「{col.ja}」または「{col.name}」の列を加えてください。"
            + (
                f"または、元の見出しをマッピング {mapping_label} の columns で {col.name} に"
                "対応させてください。"
                if mapping_label
                else ""
            ),
            hint_en=f"Add a column headed '{col.name}' or '{col.ja}' to the header row"
            + (
                f", or map its source header to {col.name} under columns in {mapping_label}."
                if mapping_label
                else "."
            ),
        )
    columns = [
        frame[data_cols[chosen[c.name]]].alias(c.name)
        if c.name in chosen
        else pl.Series(c.name, [None] * frame.height, dtype=pl.String)
        for c in ds.columns
    ]
    lineage = [frame[c] for c in frame.columns if c.startswith("_")]
    return pl.DataFrame([*columns, *lineage]), _capped(ignored), dropped


def _repeated_column(
    ds: Dataset, canonical: str, first: str, second: str, rel: str, row: int
) -> ContractError:
    col = ds.column(canonical)
    return ContractError(
        f"列「{col.ja}」({canonical}) が2回あります（列 {first} と 列 {second}）",
        f"column {canonical} appears twice (columns {first} and {second})",
        where=Where(file=rel, row=row, column=canonical),
        hint_ja=f"列 {first} か 列 {second} の一方を削除するか、見出しを直してください。",
        hint_en=f"Delete column {first} or column {second}, or correct its header.",
    )


# ---------------------------------------------------------------- one part


def _read_bytes(part: SourcePart) -> bytes:
    try:
        if part.path.is_symlink():
            raise _link_fault(part.rel, part.dataset).error
        return part.path.read_bytes()
    except OSError as err:
        raise _unreadable(part.rel, err) from err


def _sheet_info(part: SourcePart) -> SheetInfo:
    sheets = workbook_sheets(part.path, part.rel)
    for info in sheets:
        if info.name == part.sheet:
            return info
    if part.sheet is None and sheets:
        return sheets[0]
    raise not_a_workbook(part.rel, KeyError(f"no sheet named {part.sheet!r}"))


def _excel_error_columns(
    mapped: pl.DataFrame,
    faults: Sequence[tuple[int, int]],
    header: Sequence[str],
    lookup: dict[str, str],
) -> pl.Series:
    """Per row, the contract columns whose cell holds an Excel error or an unsaved formula
    (null on a clean row: :data:`~dxkpi.ingest.rules.EXCEL_ERROR`; cells of ignored columns do
    not count)."""
    by_row: dict[int, list[str]] = {}
    for row, i in faults:
        name = lookup.get(_key(header[i]))
        if name is not None and name not in by_row.setdefault(row, []):
            by_row[row].append(name)
    if not by_row:  # every CSV and most sheets: nulls, nothing per row
        return pl.Series(EXCEL_ERROR, dtype=pl.List(pl.String)).extend_constant(None, mapped.height)
    found = pl.DataFrame(
        {"_source_row": list(by_row), EXCEL_ERROR: list(by_row.values())},
        schema={"_source_row": pl.Int64, EXCEL_ERROR: pl.List(pl.String)},
    )
    return (
        mapped.select("_source_row")
        .join(found, on="_source_row", how="left", maintain_order="left")
        .get_column(EXCEL_ERROR)
    )


@dataclass
class TextTable:
    """A source part as text: data rows (positional columns ``column_1``…, ``_source_row``),
    the header cells, their positions (numbers in a CSV, letters in an XLSX), the header's row,
    the (row, position) of Excel error cells, the encoding, the bytes' SHA-256, notes, and the
    count of blank rows left out."""

    frame: pl.DataFrame
    header: list[str]
    positions: list[str]
    header_row: int
    faults: list[tuple[int, int]]
    encoding: str
    sha256: str
    notes: list[str]
    blank_rows: int


def read_text_table(part: SourcePart) -> TextTable:
    """Read one CSV or XLSX sheet as text, headers not yet matched to the contract (what
    :func:`read_part` and ``dxkpi map`` share)."""
    data = _read_bytes(part)
    sha = hashlib.sha256(data).hexdigest()
    notes: list[str] = []
    faults: list[tuple[int, int]] = []
    if part.path.suffix.lower() == ".csv":
        utf8, encoding = decode_csv(data, part.rel)
        utf8, note = normalise_line_endings(utf8)
        notes.extend([note] if note else [])
        frame, header, separator = _read_csv(utf8, part.rel)
        if separator != ",":
            ja, en = {"\t": ("タブ", "tab"), ";": ("セミコロン", "semicolon")}[separator]
            notes.append(f"{ja}区切りとして読みました / read as {en}-separated")
        positions = [str(i + 1) for i in range(len(header))]
        header_row = 1
        frame = frame.with_row_index("_source_row", offset=2)
        frame = frame.with_columns(pl.col("_source_row").cast(pl.Int64))
    else:
        encoding = "xlsx"
        frame, header, positions, header_row, faults, sheet_notes = _read_xlsx(
            part.path, _sheet_info(part), part.rel
        )
        notes.extend(sheet_notes)
    data_cols = [c for c in frame.columns if not c.startswith("_")]
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in data_cols)
    n_blank = 0
    if data_cols:
        blank = pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
        n_blank = int(frame.select(blank.sum()).item())
        frame = frame.filter(~blank) if n_blank else frame  # no copy when nothing is left out
    return TextTable(frame, header, positions, header_row, faults, encoding, sha, notes, n_blank)


def read_part(part: SourcePart, mapping: SourceMapping | None = None) -> RawTable:
    """Read one CSV or XLSX sheet as text with canonical headers and spreadsheet row numbers;
    with a ``mapping``, its headers, identifier rules and value tables are applied first
    (:mod:`dxkpi.ingest.mapping`)."""
    table = read_text_table(part)
    ds = DATASETS[part.dataset]
    header, deliberate = table.header, frozenset[int]()
    notes = list(table.notes)
    if mapping is not None:
        header, deliberate, mapping_notes = rename_headers(table.header, mapping)
        notes.append(f"マッピング {mapping.label} を適用 / read with the mapping {mapping.label}")
        if deliberate:
            notes.append(
                f"マッピングで使わない列 {len(deliberate)} 列 / "
                f"{len(deliberate)} column(s) left out by the mapping"
            )
        notes.extend(mapping_notes)
    mapped, ignored, dropped = map_headers(
        table.frame,
        header,
        table.positions,
        ds,
        part.rel,
        table.header_row,
        deliberate,
        mapping.label if mapping is not None else None,
    )
    lookup = header_lookup(ds)
    mapped = mapped.with_columns(_excel_error_columns(mapped, table.faults, header, lookup))
    mapped = (
        apply_mapping(mapped, mapping, ds) if mapping is not None else no_mapping_columns(mapped)
    )
    return RawTable(
        part,
        mapped,
        table.encoding,
        table.sha256,
        ignored,
        dropped,
        table.blank_rows,
        notes,
        mapping,
    )
