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
import re
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
    "id_text",
    "mapping_record",
    "no_mapping_columns",
    "project_mappings",
    "rename_headers",
]

#: An unmapped value is named in the quarantine's detail cut to this many characters.
SHOWN_VALUE_CHARS = 40
_HEADER = "__mapped_header__"


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
        pl.lit(None, dtype=pl.List(pl.String)).alias(UNMAPPED),
        pl.lit(None, dtype=pl.String).alias(UNMAPPED_JA),
        pl.lit(None, dtype=pl.String).alias(UNMAPPED_EN),
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def id_text(value: str, strip: bool, zero_pad: int | None) -> str:
    """One identifier after a mapping's ID rules: NFKC, trimmed (``strip``: white space removed
    anywhere), digits-only identifiers left-padded with zeros to ``zero_pad`` digits.

    >>> id_text(" 1234 ", False, 7), id_text("１２ ３４", True, 7), id_text("A12", False, 7)
    ('0001234', '0001234', 'A12')
    """
    text = unicodedata.normalize("NFKC", value)
    text = re.sub(r"\s+", "", text) if strip else text.strip()
    if zero_pad is not None and text.isascii() and text.isdigit():
        text = text.zfill(zero_pad)
    return text


def _shown(value: str) -> str:
    text = _CONTROL.sub(" ", value.strip())
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"


def _header_row(mapping: SourceMapping, ds: Dataset) -> pl.Expr:
    """True for a row whose every renamed column holds its source header (a pasted header)."""
    hits = [
        pl.col(column).str.strip_chars().is_in([source.strip(), _header_key(source)])
        for source, column in mapping.columns.items()
        if column in ds.column_names
    ]
    return pl.all_horizontal(hits).fill_null(False) if hits else pl.lit(False)


def _distinct(frame: pl.DataFrame, column: str) -> list[str]:
    return [v for v in frame[column].unique().to_list() if v is not None]


def apply_mapping(frame: pl.DataFrame, mapping: SourceMapping, ds: Dataset) -> pl.DataFrame:
    """Apply ``mapping``'s identifier rules and value tables to a frame of contract columns
    (text), adding :data:`~dxkpi.ingest.rules.UNMAPPED` (per row, the columns whose value is
    not in their table) and its details in both languages. See the module docstring.

    Each rule is worked out once per distinct value (exports repeat values a lot) and applied
    to the rows by lookup."""
    header = _header_row(mapping, ds)
    renamed = list(dict.fromkeys(mapping.columns.values()))
    frame = frame.with_columns(
        header.alias(_HEADER),
        *[pl.when(header).then(pl.lit(c)).otherwise(pl.col(c)).alias(c) for c in renamed],
    )
    for column, rule in mapping.ids.items():
        table = {v: id_text(v, rule.strip, rule.zero_pad) for v in _distinct(frame, column)}
        changed = {k: v for k, v in table.items() if k != v}
        if changed:
            frame = frame.with_columns(
                pl.col(column)
                .replace_strict(changed, default=pl.col(column), return_dtype=pl.String)
                .alias(column)
            )
    flags: list[pl.Expr] = []
    ja: list[pl.Expr] = []
    en: list[pl.Expr] = []
    updates: list[pl.Expr] = []
    in_data = ~pl.col(_HEADER)
    for column, values in mapping.values.items():
        col = ds.column(column)
        lookup = {mapping_value_key(k): v for k, v in values.items()}
        found: dict[str, str] = {}
        unknown: list[str] = []
        for value in _distinct(frame, column):
            key = mapping_value_key(value)
            if not key:
                continue  # an empty cell stays empty
            if key in lookup:
                found[value] = lookup[key]
            else:
                unknown.append(value)
        cell = pl.col(column)
        updates.append(
            pl.when(in_data)
            .then(cell.replace_strict(found, default=cell, return_dtype=pl.String))
            .otherwise(cell)
            .alias(column)
        )
        if not unknown:
            continue
        missing = (in_data & cell.is_in(unknown)).fill_null(False)
        where = f"[{mapping.section}.values.{column}]"
        text_ja = {
            v: f"「{col.ja}」の値「{_shown(v)}」が対応表 {where}（{mapping.source}）にない。"
            "対応表に加えてください"
            for v in unknown
        }
        text_en = {
            v: f"{column}: value '{_shown(v)}' is not in {where} ({mapping.source}): "
            "add it to that table"
            for v in unknown
        }
        flags.append(pl.when(missing).then(pl.lit(column)))
        ja.append(pl.when(missing).then(cell.replace_strict(text_ja, default=None)))
        en.append(pl.when(missing).then(cell.replace_strict(text_en, default=None)))
    frame = frame.with_columns(updates) if updates else frame
    if not flags:
        return no_mapping_columns(frame.drop(_HEADER))
    frame = frame.with_columns(
        pl.concat_list(flags).list.drop_nulls().alias(UNMAPPED),
        pl.concat_str(ja, separator=" | ", ignore_nulls=True).alias(UNMAPPED_JA),
        pl.concat_str(en, separator=" | ", ignore_nulls=True).alias(UNMAPPED_EN),
    )
    return frame.with_columns(
        pl.when(pl.col(UNMAPPED_JA).str.len_chars() > 0).then(pl.col(UNMAPPED_JA)),
        pl.when(pl.col(UNMAPPED_EN).str.len_chars() > 0).then(pl.col(UNMAPPED_EN)),
    ).drop(_HEADER)
