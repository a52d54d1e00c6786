"""A city's own exports onto the contract: mappings applied when a file is read, before any rule.

A mapping (``[mapping.<dataset>]`` in ``dxkpi.toml`` or ``mappings/*.toml``; parsed and
checked against the contract by :func:`dxkpi.project.config.parse_mappings`) says, for one source
system's export, which source header is which contract column, which source value is which
code (many-to-one: 部長, 次長, 課長 → ``manager``), how its identifiers become contract
identifiers (strip white space, zero-pad digits) and which source columns are deliberately not
used. Reading a file (:func:`dxkpi.ingest.read.read_part`) applies the mapping chosen for it:

1. **Which mapping**: a mapping whose ``files`` globs match the file's path under the raw folder
   (or its name) — such a file belongs to the mapping's dataset whatever its name — else the
   one mapping of the file's dataset without ``files``, else none. Two matching mappings are a
   file fault naming both.
2. **Headers** (:func:`rename_headers`): a source header of ``columns`` (compared after NFKC and
   trimming) is read as its contract column; one in ``ignore`` is left out without being
   reported as unknown. Other headers are read as without a mapping (contract names).
3. **Identifiers** (:func:`apply_mapping`): ``strip`` removes white space anywhere, ``zero_pad``
   left-pads an identifier of digits only (after NFKC) to that many digits.
4. **Values**: each non-empty cell of a column with a ``values`` table is looked up by
   :func:`dxkpi.project.config.mapping_value_key` (NFKC, trimmed, lower case) and replaced by
   its target. A value absent from the table keeps its text and breaks
   ``<dataset>.unmapped_value`` (its row is quarantined; ``detail_ja``/``detail_en`` name the
   column, the value — cut to :data:`SHOWN_VALUE_CHARS` characters — and the table to extend,
   ``[mapping.staff.values.job_level]`` in ``mappings/jinji.toml``); the column's other rules
   are not reported for that cell. An empty cell stays empty (the column's required rule
   judges it). A row that repeats the source header row is read as a repeated header.

The rest of the pipeline sees contract columns and codes only. The manifest records, per
dataset and per file, the mapping used: where it is written and the SHA-256 of its canonical
JSON (:attr:`dxkpi.project.config.SourceMapping.sha256`).
"""

from __future__ import annotations

import fnmatch
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.catalogue.contract import Dataset
from dxkpi.core.errors import ConfigError, ContractError, Where
from dxkpi.ingest.rules import UNMAPPED, UNMAPPED_EN, UNMAPPED_JA
from dxkpi.project.config import SourceMapping, load_mappings, mapping_value_key

__all__ = [
    "SHOWN_VALUE_CHARS",
    "MappingSet",
    "apply_mapping",
    "mapping_record",
    "no_mapping_columns",
    "project_mappings",
    "rename_headers",
]

#: An unmapped value is named in the quarantine's detail cut to this many characters.
SHOWN_VALUE_CHARS = 40


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _header_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _matches(rel: str, pattern: str) -> bool:
    rel, pattern = _nfc(rel), _nfc(pattern)
    name = rel.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True)
class MappingSet:
    """The mappings of a project; at most one per dataset may omit ``files``."""

    mappings: tuple[SourceMapping, ...] = ()

    def __post_init__(self) -> None:
        catch_all: dict[str, SourceMapping] = {}
        for m in self.mappings:
            if m.files:
                continue
            if m.dataset in catch_all:
                first = catch_all[m.dataset]
                raise ConfigError(
                    f"データセット {m.dataset} に files のないマッピングが2つあります"
                    f"（{first.label} と {m.label}）",
                    f"dataset {m.dataset} has two mappings without files ({first.label} and "
                    f"{m.label})",
                    where=Where(file=m.source),
                    hint_ja='どのファイルに使うかを files = ["…*.csv"] で書き分けてください。',
                    hint_en='say which files each applies to with files = ["…*.csv"].',
                )
            catch_all[m.dataset] = m

    def route(self, rel: str) -> str | None:
        """The dataset of the mappings whose ``files`` match ``rel``, or None. (Several
        datasets matching is decided by :meth:`for_part`, which names them.)"""
        for m in self.mappings:
            if any(_matches(rel, p) for p in m.files):
                return m.dataset
        return None

    def for_part(self, rel: str, dataset: str) -> SourceMapping | None:
        """The mapping a file of ``dataset`` at ``rel`` is read with, or None; a
        :class:`ContractError` when two mappings claim it."""
        by_glob = [m for m in self.mappings if any(_matches(rel, p) for p in m.files)]
        if len(by_glob) > 1:
            labels = " と ".join(m.label for m in by_glob)
            raise ContractError(
                f"このファイルに当てはまるマッピングが複数あります（{labels}）",
                "more than one mapping applies to this file ("
                + " and ".join(m.label for m in by_glob)
                + ")",
                where=Where(file=rel),
                hint_ja="各マッピングの files を、このファイルにどれか1つだけが当てはまるよう"
                "直してください。",
                hint_en="change the mappings' files so that exactly one matches this file.",
            )
        if by_glob:
            return by_glob[0]
        return next((m for m in self.mappings if m.dataset == dataset and not m.files), None)


def project_mappings(root: Path) -> MappingSet:
    """The mappings of the project at ``root`` (``dxkpi.toml``, ``mappings/*.toml``)."""
    return MappingSet(load_mappings(root))


def mapping_record(mapping: SourceMapping) -> dict[str, Any]:
    """What the manifest records of a mapping: where, which section, which system, its hash."""
    return {
        "source": mapping.source,
        "section": mapping.section,
        "system": mapping.system,
        "sha256": mapping.sha256,
    }


def rename_headers(
    header: Sequence[str], mapping: SourceMapping
) -> tuple[list[str], frozenset[int], list[str]]:
    """The header row as the contract reads it: each source header of ``mapping.columns``
    replaced by its contract column. Returns the new header, the positions the mapping ignores
    on purpose, and notes (mapped headers the file lacks)."""
    columns = {_header_key(k): v for k, v in mapping.columns.items()}
    ignore = {_header_key(h) for h in mapping.ignore}
    renamed: list[str] = []
    ignored: set[int] = set()
    found: set[str] = set()
    for i, name in enumerate(header):
        key = _header_key(name)
        if key in columns:
            renamed.append(columns[key])
            found.add(key)
        else:
            renamed.append(name)
            if key in ignore:
                ignored.add(i)
    notes = []
    missing = [k for k in mapping.columns if _header_key(k) not in found]
    if missing:
        shown = "、".join(missing[:10])
        notes.append(
            f"マッピングの列のうち {len(missing)} 列がファイルにありません（{shown}）/ "
            f"{len(missing)} mapped header(s) not in the file ({', '.join(missing[:10])})"
        )
    return renamed, frozenset(ignored), notes


def no_mapping_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the columns :func:`apply_mapping` adds, for a file read without one."""
    return frame.with_columns(
        pl.lit([], dtype=pl.List(pl.String)).alias(UNMAPPED),
        pl.lit(None, dtype=pl.String).alias(UNMAPPED_JA),
        pl.lit(None, dtype=pl.String).alias(UNMAPPED_EN),
    )


def _id_text(cell: pl.Expr, strip: bool, zero_pad: int | None) -> pl.Expr:
    text = cell.str.normalize("NFKC")
    text = text.str.replace_all(r"\s+", "") if strip else text.str.strip_chars()
    if zero_pad is not None:
        text = (
            pl.when(text.str.contains(r"^[0-9]+$")).then(text.str.zfill(zero_pad)).otherwise(text)
        )
    return pl.when(cell.is_null()).then(None).otherwise(text)


def _shown(cell: pl.Expr) -> pl.Expr:
    text = cell.str.strip_chars().str.replace_all(r"[\x00-\x1f\x7f]", " ")
    cut = SHOWN_VALUE_CHARS - 1
    return (
        pl.when(text.str.len_chars() > SHOWN_VALUE_CHARS)
        .then(text.str.slice(0, cut) + pl.lit("…"))
        .otherwise(text)
    )


def _header_row(mapping: SourceMapping, ds: Dataset) -> pl.Expr:
    """True for a row whose every renamed column holds its source header (a pasted header)."""
    hits = [
        pl.col(column).str.normalize("NFKC").str.strip_chars() == _header_key(source)
        for source, column in mapping.columns.items()
        if column in ds.column_names
    ]
    return pl.all_horizontal(hits).fill_null(False) if hits else pl.lit(False)


def apply_mapping(frame: pl.DataFrame, mapping: SourceMapping, ds: Dataset) -> pl.DataFrame:
    """Apply ``mapping``'s identifier rules and value tables to a frame of contract columns
    (text), adding :data:`~dxkpi.ingest.rules.UNMAPPED` (per row, the columns whose value is
    not in their table) and its details in both languages. See the module docstring."""
    header = _header_row(mapping, ds)
    updates: list[pl.Expr] = [
        pl.when(header).then(pl.lit(column)).otherwise(pl.col(column)).alias(column)
        for column in dict.fromkeys(mapping.columns.values())
    ]
    frame = frame.with_columns(updates) if updates else frame
    frame = frame.with_columns(header.alias("__mapped_header__"))
    in_data = ~pl.col("__mapped_header__")
    id_updates = [
        pl.when(in_data)
        .then(_id_text(pl.col(column), rule.strip, rule.zero_pad))
        .otherwise(pl.col(column))
        .alias(column)
        for column, rule in mapping.ids.items()
    ]
    frame = frame.with_columns(id_updates) if id_updates else frame
    flags: list[pl.Expr] = []
    ja: list[pl.Expr] = []
    en: list[pl.Expr] = []
    value_updates: list[pl.Expr] = []
    for column, table in mapping.values.items():
        col = ds.column(column)
        lookup = {mapping_value_key(k): v for k, v in table.items()}
        cell = pl.col(column)
        key = cell.str.normalize("NFKC").str.strip_chars().str.to_lowercase()
        present = in_data & key.is_not_null() & (key.str.len_chars() > 0)
        target = key.replace_strict(lookup, default=None, return_dtype=pl.String)
        missing = (present & target.is_null()).fill_null(False)
        value_updates.append(
            pl.when(present & target.is_not_null()).then(target).otherwise(cell).alias(column)
        )
        flags.append(pl.when(missing).then(pl.lit(column)))
        table_name = f"[{mapping.section}.values.{column}]"
        ja.append(
            pl.when(missing).then(
                pl.format(
                    "「{}」の値「{}」が対応表 {}（{}）にない。対応表に加えてください",
                    pl.lit(col.ja),
                    _shown(cell),
                    pl.lit(table_name),
                    pl.lit(mapping.source),
                )
            )
        )
        en.append(
            pl.when(missing).then(
                pl.format(
                    "{}: value '{}' is not in {} ({}): add it to that table",
                    pl.lit(column),
                    _shown(cell),
                    pl.lit(table_name),
                    pl.lit(mapping.source),
                )
            )
        )
    if not flags:
        return no_mapping_columns(frame.drop("__mapped_header__"))
    details_ja = pl.concat_str(ja, separator=" | ", ignore_nulls=True)
    details_en = pl.concat_str(en, separator=" | ", ignore_nulls=True)
    frame = frame.with_columns(
        pl.concat_list(flags).list.drop_nulls().alias(UNMAPPED),
        pl.when(details_ja.str.len_chars() > 0).then(details_ja).alias(UNMAPPED_JA),
        pl.when(details_en.str.len_chars() > 0).then(details_en).alias(UNMAPPED_EN),
    )
    return frame.with_columns(value_updates).drop("__mapped_header__")
