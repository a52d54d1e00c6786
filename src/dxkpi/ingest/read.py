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
  Other sheets are listed as ignored.

CSV encodings: UTF-8, UTF-8 with BOM, and CP932 (Excel's Shift_JIS) are detected in that order;
a file that is none of them is a file-level fault naming the first undecodable line.
Every cell is read as text; :mod:`dxkpi.ingest.parse` types it. Row numbers are as a
spreadsheet shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dxkpi.catalogue.contract import DATASETS, PERSONAL_NAME_HEADERS, Dataset
from dxkpi.core.errors import ContractError, Where

__all__ = [
    "DATA_SUFFIXES",
    "Discovery",
    "RawTable",
    "SourcePart",
    "dataset_for_name",
    "decode_csv",
    "discover",
    "header_lookup",
    "locate_csv_fault",
    "map_headers",
    "read_part",
]

DATA_SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True)
class SourcePart:
    """One table of raw rows: a CSV file, or one sheet of an XLSX."""

    path: Path
    rel: str  # path relative to the raw folder, with forward slashes
    dataset: str
    sheet: str | None = None


@dataclass(frozen=True)
class Discovery:
    """What is in the raw folder: data parts per dataset, files ignored, files matching nothing."""

    parts: tuple[SourcePart, ...]
    ignored: tuple[str, ...]
    unmatched: tuple[str, ...]
    ignored_sheets: tuple[str, ...] = ()


@dataclass
class RawTable:
    """A source part read as text, with contract column names mapped."""

    part: SourcePart
    frame: pl.DataFrame  # canonical column names (all String) + _source_row
    encoding: str
    sha256: str
    ignored_columns: list[str] = field(default_factory=list)
    dropped_personal: list[str] = field(default_factory=list)
    blank_rows: int = 0


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


def _not_a_workbook(rel: str, err: Exception) -> ContractError:
    return ContractError(
        "XLSX ファイルとして開けません（壊れているか、XLSX ではありません）",
        f"cannot open as an XLSX workbook ({type(err).__name__}: {err})",
        where=Where(file=rel),
        hint_ja="Excel で開いて「名前を付けて保存」から .xlsx で保存し直してください。",
        hint_en="Open it in Excel and save it again as .xlsx.",
    )


def _xlsx_sheets(path: Path, rel: str) -> list[str]:
    import fastexcel

    try:
        return list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as err:  # fastexcel raises its own error types
        raise _not_a_workbook(rel, err) from err


def discover(raw: Path) -> Discovery:
    """List the data parts of every dataset under ``raw``, in a deterministic order."""
    parts: list[SourcePart] = []
    ignored: list[str] = []
    unmatched: list[str] = []
    ignored_sheets: list[str] = []
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        rel = path.relative_to(raw).as_posix()
        if any(seg.startswith((".", "_")) for seg in path.relative_to(raw).parts):
            continue
        suffix = path.suffix.lower()
        if suffix not in DATA_SUFFIXES:
            ignored.append(rel)
            continue
        by_name = dataset_for_name(path.stem)
        if suffix == ".csv":
            if by_name is None:
                unmatched.append(rel)
            else:
                parts.append(SourcePart(path, rel, by_name))
            continue
        try:
            sheets = _xlsx_sheets(path, rel)
        except ContractError:
            # Reported when read; attribute it to the file-name dataset if there is one.
            if by_name is None:
                unmatched.append(rel)
            else:
                parts.append(SourcePart(path, rel, by_name, sheet=None))
            continue
        named = [(s, _sheet_dataset(s)) for s in sheets]
        found = [(s, d) for s, d in named if d is not None]
        if not found and by_name is not None and sheets:
            found = [(sheets[0], by_name)]
        if not found:
            unmatched.append(rel)
            continue
        parts.extend(SourcePart(path, rel, d, sheet=s) for s, d in found)
        taken = {s for s, _ in found}
        ignored_sheets.extend(f"{rel}#{s}" for s in sheets if s not in taken)
    return Discovery(tuple(parts), tuple(ignored), tuple(unmatched), tuple(ignored_sheets))


def decode_csv(data: bytes, rel: str) -> tuple[bytes, str]:
    """Check the encoding of CSV bytes; return UTF-8 bytes (no BOM) and the encoding found.

    UTF-8 with BOM, UTF-8, then CP932 are tried in that order; UTF-8 input is passed through
    without a copy.
    """
    if not data.strip():
        raise ContractError(
            "ファイルが空です（0 バイト、または空白のみ）",
            "the file is empty (zero bytes or only white space)",
            where=Where(file=rel),
            hint_ja="書き出しが途中で止まっていないか確認し、ファイルを作り直してください。",
            hint_en="Check that the export finished, and export the file again.",
        )
    first_error: UnicodeDecodeError | None = None
    if data.startswith(b"\xef\xbb\xbf"):
        body = data[3:]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            first_error = err
        else:
            if b"\x00" not in body:
                return body, "utf-8-bom"
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            first_error = err
        else:
            if b"\x00" not in data:
                return data, "utf-8"
        if first_error is not None:
            try:
                text = data.decode("cp932")
            except UnicodeDecodeError:
                pass
            else:
                if "\x00" not in text:
                    _refuse_mixed_encodings(data, rel)
                    return text.encode("utf-8"), "cp932"
    line = data[: first_error.start].count(b"\n") + 1 if first_error else None
    raise ContractError(
        "文字コードを判別できません（UTF-8・UTF-8 BOM 付き・CP932 のいずれでもない、"
        "または複数の文字コードが混在、またはバイナリ）",
        "cannot decode the file as UTF-8, UTF-8 with BOM or CP932 (mixed encodings or binary?)",
        where=Where(file=rel, row=line),
        hint_ja="Excel で開き「CSV UTF-8（コンマ区切り）」で保存し直してください。",
        hint_en="Open it in Excel and save it as 'CSV UTF-8 (Comma delimited)'.",
    )


def _refuse_mixed_encodings(data: bytes, rel: str) -> None:
    """Fail when a file that decodes as CP932 also holds lines that are valid UTF-8 Japanese.

    Two exports concatenated (one UTF-8, one CP932) decode "successfully" as CP932 and turn the
    UTF-8 part into mojibake; a CP932 line of Japanese is practically never valid UTF-8.
    """
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        raise ContractError(
            "1つのファイルに UTF-8 と CP932（Shift_JIS）の行が混在しています",
            "the file mixes UTF-8 and CP932 (Shift_JIS) lines: cannot decode it as one encoding",
            where=Where(file=rel, row=number),
            hint_ja="元のファイルをそれぞれ同じ文字コード（UTF-8 推奨）で書き出し直してください。",
            hint_en="Export the source files again with one encoding (UTF-8 preferred).",
        )


def locate_csv_fault(data: bytes) -> tuple[int | None, str, str]:
    """The first line where a CSV breaks (more fields than the header, unclosed quote),
    found with the standard csv module; (line, Japanese detail, English detail)."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
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


def _read_csv_bytes(data: bytes, rel: str) -> pl.DataFrame:
    try:
        return pl.read_csv(
            data,
            infer_schema=False,
            has_header=True,
            truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
        line, ja, en = locate_csv_fault(data)
        detail = str(err).splitlines()[0]
        raise ContractError(
            f"CSV として読めません（{ja or '列数の合わない行、閉じていない引用符など'}）",
            f"cannot parse as CSV ({en or detail})",
            where=Where(file=rel, row=line),
            hint_ja="Excel で開いて崩れている行を直し、CSV で保存し直してください。",
            hint_en="Open it in Excel, fix the broken line and save it as CSV again.",
        ) from err


def _read_xlsx_sheet(path: Path, sheet: str | None, rel: str) -> pl.DataFrame:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        name = sheet if sheet is not None else reader.sheet_names[0]
        return reader.load_sheet_by_name(name, dtypes="string").to_polars()
    except ContractError:
        raise
    except Exception as err:
        raise _not_a_workbook(rel, err) from err


def header_lookup(ds: Dataset) -> dict[str, str]:
    """Accepted header spellings (NFKC, lower case) → canonical column name."""
    out: dict[str, str] = {}
    for col in ds.columns:
        out[_key(col.name)] = col.name
        out[_key(col.ja)] = col.name
    return out


def map_headers(
    frame: pl.DataFrame, ds: Dataset, rel: str
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Rename headers to canonical names; drop personal-name and unknown columns.

    Returns the renamed frame (contract columns only, missing optional ones added as null),
    the ignored headers, and the dropped personal-data headers.
    """
    lookup = header_lookup(ds)
    personal = {_key(h) for h in PERSONAL_NAME_HEADERS}
    rename: dict[str, str] = {}
    ignored: list[str] = []
    dropped: list[str] = []
    for header in frame.columns:
        key = _key(header)
        if key in personal:
            dropped.append(header)
        elif key in lookup:
            canonical = lookup[key]
            if canonical in rename.values():
                raise ContractError(
                    f"列「{ds.column(canonical).ja}」({canonical}) が2回出てきます",
                    f"column {canonical} appears twice",
                    where=Where(file=rel, row=1, column=header),
                    hint_ja="重複した列を削除してください。",
                    hint_en="Delete the duplicated column.",
                )
            rename[header] = canonical
        else:
            ignored.append(header)
    missing = [c for c in ds.columns if c.required and c.name not in rename.values()]
    if missing:
        col = missing[0]
        names = "、".join(f"「{c.ja}」({c.name})" for c in missing)
        raise ContractError(
            f"必須の列がありません: {names}",
            f"missing required column(s): {', '.join(c.name for c in missing)}",
            where=Where(file=rel, row=1, column=col.name),
            hint_ja=f"見出し行に「{col.ja}」または「{col.name}」の列を加えてください。",
            hint_en=f"Add a column headed '{col.name}' or '{col.ja}' to the header row.",
        )
    out = frame.select([pl.col(h).alias(c) for h, c in rename.items()])
    absent = [c.name for c in ds.columns if c.name not in out.columns]
    out = out.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in absent])
    return out.select(ds.column_names), ignored, dropped


def read_part(part: SourcePart) -> RawTable:
    """Read one CSV or XLSX sheet as text with canonical headers and spreadsheet row numbers."""
    data = part.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if part.path.suffix.lower() == ".csv":
        utf8, encoding = decode_csv(data, part.rel)
        frame = _read_csv_bytes(utf8, part.rel)
    else:
        encoding = "xlsx"
        frame = _read_xlsx_sheet(part.path, part.sheet, part.rel)
    frame = frame.cast(pl.String).with_row_index("_source_row", offset=2)
    frame = frame.with_columns(pl.col("_source_row").cast(pl.Int64))
    data_cols = [c for c in frame.columns if c != "_source_row"]
    blank = pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
    n_blank = int(frame.select(blank.sum()).item()) if data_cols else 0
    frame = frame.filter(~blank)
    ds = DATASETS[part.dataset]
    mapped, ignored, dropped = map_headers(frame.drop("_source_row"), ds, part.rel)
    mapped = mapped.with_columns(frame["_source_row"])
    return RawTable(part, mapped, encoding, sha, ignored, dropped, n_blank)
