"""Ingestion: raw files → validated, pseudonymised processed tables, quarantine and manifest.

For each dataset, in reference order (departments and courses before staff, staff before
attendance and proposals…):

1. read every file/sheet of the dataset as text (:mod:`dxkpi.ingest.read`), map Japanese
   headers, drop personal-name columns, report unknown ones;
2. parse and check every single-row rule, then duplicate keys, then references against the
   accepted rows of the referenced datasets (:mod:`dxkpi.ingest.rules`);
3. replace employee IDs by keyed pseudonyms (:mod:`dxkpi.ingest.pseudonym`) — in quarantine too;
4. certify the accepted rows with the Great Expectations suite from ``expectations/``
   (:mod:`dxkpi.ingest.suites`): a failure there stops the dataset (the evaluators disagree);
5. check, per file, rows in = accepted + quarantined.

``out`` must be a folder dxkpi may replace — new, empty, or made by dxkpi
(:func:`dxkpi.core.atomic.is_replaceable`) — apart from ``raw``; otherwise the run is refused
before anything is touched. Everything is written into a staging folder beside ``out``, which
then replaces ``out`` in two renames; a run that fails or is killed leaves the previous ``out``
in place (a half-finished swap is completed or rolled back at the start of the next run). A
file-level fault stops its dataset (and the datasets that reference it) with a two-language
message; the other datasets are still ingested, and the run reports failure.

The manifest records the pseudonym key's fingerprint
(:func:`dxkpi.ingest.pseudonym.key_fingerprint`). An ingest whose key differs from the one
``out`` was made with — or that would have to create a key while ``out`` holds processed data —
is refused unless ``new_key`` is set: new pseudonyms would not link to earlier years. A full disk
or a folder that cannot be written is one two-language
:class:`~dxkpi.core.errors.EnvironmentFault`, and ``out`` stays as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi import __version__
from dxkpi.catalogue.contract import (
    CONTRACT_VERSION,
    DATASETS,
    Dataset,
    Kind,
    contract_fingerprint,
    ingest_order,
    rule_catalogue,
)
from dxkpi.core.atomic import (
    PRIVATE_FOLDER_MODE,
    ensure_apart,
    ensure_replaceable,
    publish,
    recover,
    staging_dir,
)
from dxkpi.core.errors import (
    ContractError,
    DxkpiError,
    IngestInvariantError,
    Where,
    environment_faults,
)
from dxkpi.core.jsontext import json_text
from dxkpi.core.lock import RunLock, folder_lock
from dxkpi.core.spreadsheet import neutralise_frame
from dxkpi.ingest.gate import Gate, OwnGate, certify
from dxkpi.ingest.mapping import MappingSet, mapping_record
from dxkpi.ingest.pseudonym import (
    Pseudonyms,
    check_same_key,
    create_secret,
    key_fingerprint,
    load_secret,
    missing_key_error,
    pseudonymise,
    require_key_length,
    secret_path,
)
from dxkpi.ingest.read import Discovery, RawTable, discover, read_part
from dxkpi.ingest.rules import (
    CODE,
    DETAIL_EN,
    DETAIL_JA,
    EXCEL_ERROR,
    RAW,
    RULES,
    UNMAPPED,
    UNMAPPED_EN,
    UNMAPPED_JA,
    ZCODE,
    ZEROS,
    first_of_each,
    flag_duplicates,
    flag_references,
    is_bad,
    parse_and_check,
    recoded,
    reference_keys,
    take,
    with_rules,
)
from dxkpi.ingest.suites import load_suite, missing_suites, stale_suites

__all__ = [
    "LINEAGE",
    "MANIFEST",
    "PARQUET_ZSTD_LEVEL",
    "QUARANTINE_DIR",
    "READ_AHEAD_BYTES",
    "TWO_CHECKS_FROM_BYTES",
    "DatasetReport",
    "FileReport",
    "IngestReport",
    "Prechecked",
    "Progress",
    "certify",
    "check_alone",
    "check_threads",
    "check_together",
    "dataset_bytes",
    "drop_duplicate_files",
    "file_sizes",
    "ingest_dataset",
    "precheck_cities",
    "previous_manifest",
    "run_ingest",
    "to_read_ahead",
]

LINEAGE = ("_source_file", "_source_sheet", "_source_row")
QUARANTINE_DIR = "quarantine"
MANIFEST = "manifest.json"

Progress = Callable[[str], None]


@dataclass
class FileReport:
    """Counts for one source file or sheet."""

    file: str
    sheet: str | None
    dataset: str
    sha256: str
    encoding: str
    rows_in: int = 0
    accepted: int = 0
    quarantined: int = 0
    blank_rows: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    dropped_personal_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "dataset": self.dataset,
            "sha256": self.sha256,
            "encoding": self.encoding,
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "blank_rows_skipped": self.blank_rows,
            "rules": dict(sorted(self.rules.items())),
            "ignored_columns": self.ignored_columns,
            "dropped_personal_columns": self.dropped_personal_columns,
            "notes": self.notes,
            "mapping": self.mapping,
        }


@dataclass
class DatasetReport:
    """Outcome for one dataset."""

    dataset: str
    status: str = "ok"  # ok | failed | no_files | skipped
    rows_in: int = 0
    accepted: int = 0
    quarantined: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    suite: dict[str, Any] | None = None
    error: DxkpiError | None = None
    files: list[FileReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        err = None
        if self.error is not None:
            err = {
                "ja": self.error.ja,
                "en": self.error.en,
                "file": self.error.where.file,
                "row": self.error.where.row,
                "column": self.error.where.column,
                "message": self.error.message(),
            }
        return {
            "status": self.status,
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "rules": dict(sorted(self.rules.items())),
            "suite": self.suite,
            "error": err,
            "mappings": self.mappings(),
        }

    def mappings(self) -> list[dict[str, Any]]:
        """The mappings its files were read with (each once, with the files it read)."""
        found: dict[str, dict[str, Any]] = {}
        for f in self.files:
            if f.mapping is not None:
                key = f"{f.mapping['source']}#{f.mapping['section']}"
                entry = found.setdefault(key, {**f.mapping, "files": []})
                entry["files"].append(f.file if f.sheet is None else f"{f.file}#{f.sheet}")
        return list(found.values())


@dataclass
class IngestReport:
    """What an ingestion run did; ``ok`` is False when any dataset or file failed."""

    datasets: dict[str, DatasetReport]
    discovery: Discovery
    manifest: dict[str, Any]
    out: Path

    @property
    def ok(self) -> bool:
        return bool(self.manifest["ok"])

    @property
    def errors(self) -> list[DxkpiError]:
        errs = [d.error for d in self.datasets.values() if d.error is not None]
        errs.extend(_unmatched_error(f) for f in self.discovery.unmatched)
        errs.extend(f.error for f in self.discovery.faults if f.dataset is None)
        return errs


def _unmatched_error(rel: str) -> ContractError:
    names = ", ".join(f"{d.name}/{d.ja}" for d in DATASETS.values())
    return ContractError(
        "どのデータセットのファイルか判別できません（ファイル名がデータセット名で始まっていない）",
        "the file matches no dataset (its name does not start with a dataset name)",
        where=Where(file=rel),
        hint_ja=f"ファイル名をデータセット名で始めてください（{names}）。",
        hint_en=f"Rename it to start with a dataset name ({names}).",
    )


# ---------------------------------------------------------------- atomic output folder


#: zstd level of the processed files: level 1 wrote the 30,000-staff city's files with 12 % less
#: CPU than polars' default (3), and 7 % smaller (their pages are already dictionary-encoded).
PARQUET_ZSTD_LEVEL = 1


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    with environment_faults(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(
            path, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL, statistics=True
        )


def _write_csv_for_excel(frame: pl.DataFrame, path: Path) -> None:
    with environment_faults(path):
        neutralise_frame(frame).write_csv(path, include_bom=True)


def _write_manifest(manifest: dict[str, Any], path: Path) -> None:
    with environment_faults(path):
        path.write_text(json_text(manifest, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the pseudonym key


def previous_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the processed data in ``out``, or None when there is none."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def _installation_key(previous: dict[str, Any] | None, out: Path, new_key: bool) -> bytes:
    """This installation's key; a new one only when ``out`` holds no processed data or
    ``new_key`` says so."""
    path = secret_path()
    if os.path.lexists(path):
        return load_secret(path)
    if previous is not None and not new_key:
        raise missing_key_error(path, out)
    return create_secret(path)


# ---------------------------------------------------------------- one dataset


def _read_all(
    ds: Dataset, parts: list[Any], mappings: MappingSet
) -> tuple[pl.DataFrame, list[RawTable]]:
    tables = [read_part(p, mappings.for_part(p.rel, p.dataset)) for p in parts]
    frames = [
        t.frame.with_columns(
            pl.lit(t.part.rel).alias("_source_file"),
            pl.lit(t.part.sheet, dtype=pl.String).alias("_source_sheet"),
        ).select(*LINEAGE, EXCEL_ERROR, UNMAPPED, UNMAPPED_JA, UNMAPPED_EN, *ds.column_names)
        for t in tables
    ]
    return pl.concat(frames, how="vertical"), tables


def _pseudonymise(ds: Dataset, frame: pl.DataFrame, secret: bytes | Pseudonyms) -> pl.DataFrame:
    """Replace employee IDs by pseudonyms — also in the raw text kept for quarantine."""
    updates: list[pl.Series | pl.Expr] = []
    for col in (c.name for c in ds.columns if c.employee_id):
        # Each distinct ID (and ID without its leading zeros, which the leading-zero rules
        # compare) is pseudonymised once and gathered back to its rows.
        at, zeros_at = frame[CODE + col], frame[ZCODE + col]  # parse_and_check's codes
        ids, zeros = first_of_each(frame[col], at), first_of_each(frame[ZEROS + col], zeros_at)
        pseudo = take(pseudonymise(ids, secret), at.cast(pl.UInt32), col)
        updates.append(pseudo)
        # The raw text becomes the pseudonym of its normalised form: no personnel-system ID
        # reaches a quarantine file either.
        updates.append(
            pl.when(frame[RAW + col].is_null()).then(None).otherwise(pseudo).alias(RAW + col)
        )
        updates.append(take(pseudonymise(zeros, secret), zeros_at.cast(pl.UInt32), ZEROS + col))
    return frame.with_columns(updates) if updates else frame


def _messages(ds: Dataset) -> tuple[dict[str, str], dict[str, str]]:
    cat = rule_catalogue(ds.name)
    return {k: v.ja for k, v in cat.items()}, {k: v.en for k, v in cat.items()}


def _quarantine_frame(ds: Dataset, bad: pl.DataFrame) -> pl.DataFrame:
    ja, en = _messages(ds)
    return bad.select(
        *LINEAGE,
        pl.col(RULES).list.join(" | ").alias("rule"),
        pl.col(RULES)
        .list.eval(pl.element().replace_strict(ja, default=pl.element()))
        .list.join(" | ")
        .alias("rule_ja"),
        pl.col(RULES)
        .list.eval(pl.element().replace_strict(en, default=pl.element()))
        .list.join(" | ")
        .alias("rule_en"),
        pl.col(DETAIL_JA).alias("detail_ja"),
        pl.col(DETAIL_EN).alias("detail_en"),
        *[pl.col(RAW + c).alias(c) for c in ds.column_names],
    )


def _counts(frame: pl.DataFrame) -> dict[tuple[str, str | None], int]:
    """Rows per (file, sheet) of ``frame``, summed over its runs of rows of one (file, sheet):
    each file's rows are together (the run reads file after file and keeps their order), so
    finding where a run starts compares neighbouring rows instead of hashing every row; the
    sum over runs is right in any order. (A group-by of the 30,000-staff city's 2.9 million
    attendance rows took about 0.1 s, the runs about 0.02 s.)

    >>> _counts(pl.DataFrame({"_source_file": ["a", "a", "b", "a"],
    ...                       "_source_sheet": [None, None, "s", None]}))
    {('a', None): 3, ('b', 's'): 1}
    """
    if not frame.height:
        return {}
    files, sheets = frame["_source_file"], frame["_source_sheet"]
    # a small frame of one file (a small town's dataset) is counted without a query, which
    # costs about 0.3 ms
    if frame.height <= 65_536 and files.n_unique() == 1 and sheets.n_unique() == 1:
        return {(files[0], sheets[0]): frame.height}
    file, sheet = pl.col("_source_file"), pl.col("_source_sheet")
    starts = (
        frame.select(file, sheet)
        .with_row_index("_start")
        .filter(file.ne_missing(file.shift()) | sheet.ne_missing(sheet.shift()))
    )
    ends = starts["_start"].shift(-1, fill_value=frame.height)
    counts: dict[tuple[str, str | None], int] = {}
    for (start, f, sh), end in zip(starts.iter_rows(), ends, strict=True):
        counts[(f, sh)] = counts.get((f, sh), 0) + int(end) - int(start)
    return counts


def _file_reports(
    tables: list[RawTable], good: pl.DataFrame, bad: pl.DataFrame
) -> list[FileReport]:
    """Per-file counts from the rows actually written; rows read must equal their sum."""
    n_good, n_bad = _counts(good), _counts(bad)
    rules: dict[tuple[str, str | None], dict[str, int]] = {}
    if bad.height:
        per_rule = (
            bad.select("_source_file", "_source_sheet", RULES)
            .explode(RULES)
            .group_by("_source_file", "_source_sheet", RULES)
            .len()
        )
        for r in per_rule.to_dicts():
            rules.setdefault((r["_source_file"], r["_source_sheet"]), {})[r[RULES]] = int(r["len"])
    reports = []
    for t in tables:
        key = (t.part.rel, t.part.sheet)
        rep = FileReport(
            file=t.part.rel,
            sheet=t.part.sheet,
            dataset=t.part.dataset,
            sha256=t.sha256,
            encoding=t.encoding,
            rows_in=t.frame.height,
            accepted=n_good.get(key, 0),
            quarantined=n_bad.get(key, 0),
            blank_rows=t.blank_rows,
            rules=rules.get(key, {}),
            ignored_columns=t.ignored_columns,
            dropped_personal_columns=t.dropped_personal,
            notes=t.notes,
            mapping=mapping_record(t.mapping) if t.mapping is not None else None,
        )
        if rep.accepted + rep.quarantined != rep.rows_in:
            raise IngestInvariantError(
                f"行数が合いません: 読込 {rep.rows_in}、受理 {rep.accepted}、"
                f"隔離 {rep.quarantined}",
                f"row counts do not add up: read {rep.rows_in}, accepted {rep.accepted}, "
                f"quarantined {rep.quarantined}",
                where=Where(file=t.part.rel),
                hint_ja="不具合です。開発者に報告してください。",
                hint_en="This is a bug: please report it.",
            )
        reports.append(rep)
    return reports


@dataclass
class _DatasetOutput:
    accepted: pl.DataFrame
    quarantine: pl.DataFrame
    report: DatasetReport
    keys: pl.DataFrame  # what references of other datasets look up (memory only)


@dataclass
class _Checked:
    """A dataset read and checked on its own: every single-row rule and duplicate keys
    (nothing that needs another dataset), and the tables it was read from."""

    frame: pl.DataFrame
    tables: list[RawTable]


def check_alone(ds: Dataset, parts: list[Any], mappings: MappingSet | None = None) -> _Checked:
    """Read (with the mapping each file is read with, :mod:`dxkpi.ingest.mapping`) and check
    one dataset as far as it can be checked without the others: the part of
    :func:`ingest_dataset` that the run does for the next dataset while it finishes this one.
    Raises DxkpiError on a fault."""
    return _checked(ds, *_read_all(ds, parts, mappings or MappingSet()))


def _checked(ds: Dataset, raw: pl.DataFrame, tables: list[RawTable]) -> _Checked:
    """A dataset's rows as read, checked on their own: single-row rules, then duplicate keys."""
    return _Checked(flag_duplicates(ds, parse_and_check(ds, raw)), tables)


#: The column that numbers each city's rows while :func:`check_together` checks them together.
_MEMBER = "_member"


def check_together(
    ds: Dataset, members: list[list[Any]], mappings: MappingSet | None = None
) -> list[_Checked | Exception]:
    """:func:`check_alone` for several cities' files of one dataset (``members``: each city's
    parts), in one parse instead of one a city: each city's files are read on their own (a
    file that cannot be read fails that city's dataset alone: its error is returned in its
    place), every row of the others is parsed and checked in ONE :func:`parse_and_check`, then
    split back (each city's codes made again from its own rows, :func:`recoded`), and each
    city's duplicate keys are flagged on its own rows.

    The result of a city is the one :func:`check_alone` gives it: a single-row rule reads its
    row (and a value's parse its value) only, and every row keeps its order. A small town's
    parse was mostly the fixed cost of hundreds of polars queries on a few hundred rows each."""
    mappings = mappings or MappingSet()
    read: list[tuple[pl.DataFrame, list[RawTable]] | Exception] = []
    for parts in members:
        try:
            read.append(_read_all(ds, parts, mappings))
        except Exception as err:  # raised again in that city's own run
            read.append(err)
    frames = [
        r[0].with_columns(pl.lit(i, pl.UInt32).alias(_MEMBER))
        for i, r in enumerate(read)
        if not isinstance(r, Exception)
    ]
    split: dict[Any, pl.DataFrame] = {}
    if frames:
        parsed = parse_and_check(ds, pl.concat(frames, how="vertical"))
        split = parsed.partition_by(_MEMBER, maintain_order=True, as_dict=True, include_key=False)
    out: list[_Checked | Exception] = []
    for i, r in enumerate(read):
        if isinstance(r, Exception):
            out.append(r)
        elif (i,) in split:
            out.append(_Checked(flag_duplicates(ds, recoded(ds, split[(i,)])), r[1]))
        else:  # no row: checked on its own, as ever
            out.append(_checked(ds, *r))
    return out


@dataclass
class Prechecked:
    """One city's raw folder discovered, and its datasets read and checked together with the
    other cities of its batch (:func:`precheck_cities`); :func:`run_ingest` takes them from
    here instead of discovering and checking again. Each check is handed out once."""

    discovery: Discovery
    duplicate_files: list[dict[str, str]]
    checked: dict[str, _Checked | Exception]

    def pop(self, name: str) -> _Checked:
        """The dataset's check, or the error its check raised; forgotten here once taken."""
        result = self.checked.pop(name)
        if isinstance(result, Exception):
            raise result
        return result


def precheck_cities(
    raws: list[Path], mappings: MappingSet | None = None
) -> list[Prechecked | None]:
    """Discover each city's raw folder and check every dataset of all of them together
    (:func:`check_together`), in ingest order; None for a city whose folder cannot be
    discovered (its own run reports why). Holds every city's checked rows until its run
    takes them: for a batch of small cities (:func:`dxkpi.ingest.consolidate.ingest_batch`)."""
    mappings = mappings or MappingSet()
    found: list[Prechecked | None] = []
    for raw in raws:
        if not raw.is_dir():  # its own run refuses it
            found.append(None)
            continue
        try:
            disc, duplicates = drop_duplicate_files(discover(raw, mappings))
        except (DxkpiError, OSError):  # the city's own run raises it again, with its message
            found.append(None)
            continue
        found.append(Prechecked(disc, duplicates, {}))
    for name in ingest_order():
        members = [p for p in found if p is not None and name in _runnable(p.discovery)]
        if not members:
            continue
        parts = [[q for q in p.discovery.parts if q.dataset == name] for p in members]
        for member, result in zip(
            members, check_together(DATASETS[name], parts, mappings), strict=True
        ):
            member.checked[name] = result
    return found


def ingest_dataset(
    ds: Dataset,
    parts: list[Any],
    accepted: dict[str, pl.DataFrame],
    secret: bytes | Pseudonyms,
    mappings: MappingSet | None = None,
    alone: _Checked | None = None,
) -> _DatasetOutput:
    """Read, check and pseudonymise one dataset (:func:`certify` runs its suite); ``alone``:
    what :func:`check_alone` found, when it ran already. Raises DxkpiError on a fault."""
    alone = alone or check_alone(ds, parts, mappings)
    tables = alone.tables
    checked = _pseudonymise(ds, alone.frame, secret)
    checked = flag_references(ds, checked, accepted)
    bad_rows = is_bad(ds)
    zeros = [ZEROS + c.name for c in ds.columns if c.kind is Kind.ID]
    # the accepted rows carry only what is written and what references look up
    kept = checked.lazy().filter(~bad_rows).select(*LINEAGE, *ds.column_names, *zeros).collect()
    good = kept.select(*LINEAGE, *ds.column_names)
    bad = with_rules(ds, checked.filter(bad_rows))
    files = _file_reports(tables, good, bad)
    report = DatasetReport(ds.name, files=files)
    report.rows_in = checked.height
    report.accepted = good.height
    report.quarantined = bad.height
    report.rules = dict(Counter(bad[RULES].explode().drop_nulls().to_list()))
    return _DatasetOutput(good, _quarantine_frame(ds, bad), report, reference_keys(ds, kept))


# ---------------------------------------------------------------- the run


def _manifest(
    reports: dict[str, DatasetReport], disc: Discovery, fingerprint: str
) -> dict[str, Any]:
    files = [f.as_dict() for r in reports.values() for f in r.files]
    files.sort(key=lambda f: (f["file"], f["sheet"] or ""))
    ok = all(r.status in ("ok", "no_files") for r in reports.values())
    ok = ok and not disc.unmatched and not disc.faults
    return {
        "dxkpi_version": __version__,
        "contract_version": CONTRACT_VERSION,
        "contract_sha256": contract_fingerprint(),
        "pseudonym_key_fingerprint": fingerprint,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "ok": ok,
        "datasets": {k: v.as_dict() for k, v in reports.items()},
        "files": files,
        "ignored_files": list(disc.ignored),
        "ignored_sheets": list(disc.ignored_sheets),
        "unmatched_files": [
            {"file": f, "message": _unmatched_error(f).message()} for f in disc.unmatched
        ],
        "file_faults": [
            {"file": f.rel, "dataset": f.dataset, "message": f.error.message()} for f in disc.faults
        ],
    }


def run_ingest(
    raw: Path,
    out: Path,
    *,
    expectations: Path | None = Path("expectations"),
    secret: bytes | None = None,
    new_key: bool = False,
    progress: Progress | None = None,
    mappings: MappingSet | None = None,
    gate: Gate | None = None,
    prechecked: Prechecked | None = None,
) -> IngestReport:
    """Ingest every dataset under ``raw`` into ``out`` (atomically). See the module docstring.

    ``expectations=None`` skips the Great Expectations gate (tests of the routing only).
    ``secret`` defaults to this installation's key (:mod:`dxkpi.ingest.pseudonym`);
    ``new_key=True`` accepts a key other than the one ``out`` was made with (and creates one if
    there is none), knowing that pseudonyms will not link to earlier years. ``mappings`` are
    the project's mappings of source exports (:func:`dxkpi.ingest.mapping.project_mappings`;
    default: none, every file uses the contract's names). ``gate``: where the accepted rows are
    certified (default: a GX thread of this run; a consolidation shares one among several
    cities' ingests, :class:`dxkpi.ingest.gate.SharedGate`); the run leaves it however it ends.
    ``prechecked``: ``raw`` discovered and its datasets checked already, together with other
    cities' (:func:`precheck_cities`, with the same ``mappings``).
    """
    try:
        return _checked_ingest(
            raw, out, expectations, secret, new_key, progress, mappings, gate, prechecked
        )
    finally:
        if gate is not None:
            gate.leave()


def _checked_ingest(
    raw: Path,
    out: Path,
    expectations: Path | None,
    secret: bytes | None,
    new_key: bool,
    progress: Progress | None,
    mappings: MappingSet | None,
    gate: Gate | None,
    prechecked: Prechecked | None,
) -> IngestReport:
    say = progress or (lambda _msg: None)
    raw, out = Path(raw), Path(out).resolve()  # a symlinked out: replace the folder it names
    if not raw.is_dir():
        raise ContractError(
            "生データのフォルダがありません",
            "the raw-data folder does not exist",
            where=Where(file=str(raw)),
            hint_ja="フォルダを作ってファイルを置くか、`dxkpi sample` で見本を作ってください。",
            hint_en="Create it and put your files there, or run `dxkpi sample`.",
        )
    ensure_apart(raw, out)
    ensure_replaceable(out)
    if expectations is not None:
        missing = missing_suites(expectations)
        if missing:
            raise ContractError(
                f"検証スイートが見つかりません（{len(missing)} 件: {', '.join(missing)}）",
                f"expectation suites not found ({len(missing)}: {', '.join(missing)})",
                where=Where(file=str(expectations)),
                hint_ja="プロジェクトの expectations/ を確かめるか（--project / --expectations）、"
                "`dxkpi expectations --write` で作ってください。",
                hint_en="Check the project's expectations/ folder (--project / --expectations), "
                "or create the suites with `dxkpi expectations --write`.",
            )
        stale = stale_suites(expectations)
        if stale:
            raise ContractError(
                f"検証スイートが契約と一致しません: {', '.join(stale)}",
                f"expectation suites do not match the contract: {', '.join(stale)}",
                where=Where(file=str(expectations)),
                hint_ja="`dxkpi expectations --write` で作り直してください。",
                hint_en="Regenerate them with `dxkpi expectations --write`.",
            )
    previous = previous_manifest(out)
    if secret is None:
        secret = _installation_key(previous, out, new_key)
        key_file: Path | None = secret_path()
    else:
        secret, key_file = require_key_length(secret), None
    before = previous.get("pseudonym_key_fingerprint") if previous is not None else None
    check_same_key(before, key_fingerprint(secret), new_key=new_key, path=key_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    with RunLock(folder_lock(out)):
        return _locked_ingest(
            raw, out, secret, expectations, say, mappings or MappingSet(), gate, prechecked
        )


def _locked_ingest(
    raw: Path,
    out: Path,
    secret: bytes,
    expectations: Path | None,
    say: Progress,
    mappings: MappingSet,
    gate: Gate | None,
    prechecked: Prechecked | None,
) -> IngestReport:
    recover(out)
    if prechecked is None:
        disc, duplicate_files = drop_duplicate_files(discover(raw, mappings))
    else:
        disc, duplicate_files = prechecked.discovery, prechecked.duplicate_files
    staging = staging_dir(out)
    staging.mkdir(parents=True, mode=PRIVATE_FOLDER_MODE)  # owner-only until published
    try:
        reports = _ingest_all(disc, staging, secret, expectations, say, mappings, gate, prechecked)
        manifest = _manifest(reports, disc, key_fingerprint(secret))
        manifest["duplicate_files"] = duplicate_files
        _write_manifest(manifest, staging / MANIFEST)
        publish(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return IngestReport(reports, disc, manifest, out)


def drop_duplicate_files(disc: Discovery) -> tuple[Discovery, list[dict[str, str]]]:
    """Keep one copy of files with identical content (SHA-256): a file dropped into the raw
    folder twice is counted once. Returns the reduced discovery and what was left out."""
    first_by_hash: dict[str, str] = {}
    duplicates: dict[str, dict[str, str]] = {}
    files = sorted({(p.rel, p.path) for p in disc.parts})
    sizes = Counter(path.stat().st_size for _, path in files)
    for rel, path in files:
        if sizes[path.stat().st_size] < 2:  # no other file has its size: none has its content
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in first_by_hash:
            duplicates[rel] = {"file": rel, "same_as": first_by_hash[digest], "sha256": digest}
        else:
            first_by_hash[digest] = rel
    parts = tuple(p for p in disc.parts if p.rel not in duplicates)
    return dataclasses.replace(disc, parts=parts), list(duplicates.values())


class _Workers:
    """The threads of one run beside the main one: ``gx`` certifies datasets (GX is mostly
    Python), ``gx_prepare`` builds the batches it judges (:class:`~dxkpi.ingest.gate.OwnGate`)
    and ``write`` writes outputs, one at a time each; ``check`` reads and checks
    (:func:`check_alone`) the next dataset while the main thread finishes this one (polars
    releases the GIL, so two cores stay busy), on ``checks`` threads (:func:`check_threads`).
    Leaving waits for every thread."""

    def __init__(self, checks: int = 1) -> None:
        self.gx = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx")
        self.gx_prepare = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-prepare")
        self.write = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write")
        self.check = ThreadPoolExecutor(max_workers=checks, thread_name_prefix="check")
        self.written: list[Future[None]] = []

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *_exc: object) -> None:
        for pool in (self.check, self.write, self.gx_prepare, self.gx):
            pool.shutdown(wait=True, cancel_futures=True)

    def submit_write(
        self, write: Callable[[pl.DataFrame, Path], None], frame: pl.DataFrame, path: Path
    ) -> None:
        """Write in the background; a write that failed already stops the run here."""
        self.raise_failed_write()
        self.written.append(self.write.submit(write, frame, path))

    def raise_failed_write(self) -> None:
        for future in self.written:
            if future.done():
                future.result()  # re-raises what the write raised

    def wait_writes(self) -> None:
        for future in self.written:
            future.result()


def _ingest_all(
    disc: Discovery,
    staging: Path,
    secret: bytes,
    expectations: Path | None,
    say: Progress,
    mappings: MappingSet,
    gate: Gate | None,
    prechecked: Prechecked | None,
) -> dict[str, DatasetReport]:
    accepted: dict[str, pl.DataFrame] = {}
    reports: dict[str, DatasetReport] = {}
    pseudonyms = Pseudonyms(secret)  # each distinct ID hashed once in the run
    files = file_sizes(disc)
    with _Workers(check_threads(files)) as workers:
        own = gate or OwnGate(workers.gx, workers.gx_prepare)
        try:
            pending = _ingest_each(
                disc,
                staging,
                pseudonyms,
                expectations,
                say,
                accepted,
                reports,
                own,
                mappings,
                workers,
                dataset_bytes(disc, files),
                prechecked,
            )
        finally:
            own.leave()  # before waiting: a shared gate certifies once every member is done
        workers.wait_writes()
        for name, future in pending.items():
            reports[name].suite = future.result()
    return reports


#: From this many raw bytes in a run, two threads read and check datasets (:func:`check_threads`).
TWO_CHECKS_FROM_BYTES = 64 * 1024 * 1024


def check_threads(files: dict[Path, int]) -> int:
    """How many threads read and check datasets: two when the run's raw files (``files``: each
    one's size, :func:`file_sizes`) hold at least
    :data:`TWO_CHECKS_FROM_BYTES` — then the dataset the main thread needs and the next one
    are checked together, and a large dataset does not wait for the check of the one before
    it (a 30,000-staff city ingested about 9 % faster) — else one: a small city's checks are
    mostly fixed costs that hold the GIL, and a second thread only added CPU (about 15 % more
    over the 35 bodies of the synthetic nation's 2 % sample)."""
    return 2 if sum(files.values()) >= TWO_CHECKS_FROM_BYTES else 1


def file_sizes(disc: Discovery) -> dict[Path, int]:
    """Each raw file's size on disk (one that cannot be read left out: it is reported when it
    is read)."""
    sizes: dict[Path, int] = {}
    for path in {p.path for p in disc.parts}:
        with contextlib.suppress(OSError):
            sizes[path] = path.stat().st_size
    return sizes


def _runnable(disc: Discovery) -> list[str]:
    """The datasets, in ingest order, that have files and no file fault: those the run reads
    (one whose referenced dataset fails is read ahead too, and then left aside)."""
    faulty = {f.dataset for f in disc.faults}
    present = {p.dataset for p in disc.parts}
    return [n for n in ingest_order() if n in present and n not in faulty]


#: How many raw bytes of the datasets after the current one are read and checked ahead of it
#: (:func:`to_read_ahead`). At 30,000 staff the attendance files (115 MB) take the first check
#: thread over 2 s. With 128 MB the second thread checked the next five datasets meanwhile, then
#: sat idle for about 1.4 s until the follow-up survey (65 MB) came within the budget, and
#: checked it while GX certified attendance. With 192 MB it checks every dataset after
#: attendance meanwhile: ingest about 4 % faster in wall time (medians of 8 rounds alternating
#: in one process), peak memory about 0.15–0.2 GB higher (3.1–3.2 GB). (An earlier pass found
#: 192 MB no faster in two runs, holding 3.6 GB; the run has needed less memory since.)
READ_AHEAD_BYTES = 192 * 1024 * 1024


def dataset_bytes(disc: Discovery, files: dict[Path, int]) -> dict[str, int]:
    """The size of each dataset's raw files (``files``: :func:`file_sizes`; a workbook whose
    sheets feed several datasets counted in each, one that cannot be read as empty)."""
    sizes: dict[str, int] = {}
    for name, path in {(p.dataset, p.path) for p in disc.parts}:
        sizes[name] = sizes.get(name, 0) + files.get(path, 0)
    return sizes


def to_read_ahead(following: list[str], sizes: dict[str, int], budget: int) -> list[str]:
    """The datasets of ``following`` (those after the current one, in ingest order) to read
    and check ahead: the next one whatever its size, then each while the raw bytes of all
    taken stay within ``budget`` (the run's: :data:`READ_AHEAD_BYTES`) — so what is held in
    memory ahead of the run is bounded.

    >>> to_read_ahead(["a", "b", "c", "d"], {"a": 200, "b": 30, "c": 50, "d": 1}, budget=100)
    ['a']
    >>> to_read_ahead(["b", "c", "d", "a"], {"a": 200, "b": 30, "c": 50, "d": 1}, budget=100)
    ['b', 'c', 'd']
    >>> to_read_ahead([], {}, budget=100)
    []
    """
    taken: list[str] = []
    used = 0
    for name in following:
        used += sizes.get(name, 0)
        if taken and used > budget:
            break
        taken.append(name)
    return taken


def _ingest_each(
    disc: Discovery,
    staging: Path,
    secret: Pseudonyms,
    expectations: Path | None,
    say: Progress,
    accepted: dict[str, pl.DataFrame],
    reports: dict[str, DatasetReport],
    gate: Gate,
    mappings: MappingSet,
    workers: _Workers,
    sizes: dict[str, int],
    prechecked: Prechecked | None,
) -> dict[str, Future[dict[str, Any]]]:
    """Ingest every dataset in ingest order; ``sizes``: each one's raw bytes
    (:func:`dataset_bytes`), which bound how far ahead it reads (:func:`to_read_ahead`);
    ``prechecked``: the checks made already (:func:`precheck_cities`), taken from there."""
    pending: dict[str, Future[dict[str, Any]]] = {}
    ahead: dict[str, Future[_Checked]] = {}
    runnable = _runnable(disc)

    def parts_of(name: str) -> list[Any]:
        return [p for p in disc.parts if p.dataset == name]

    def read_ahead(name: str) -> Future[_Checked]:
        if name in ahead:
            return ahead[name]
        if prechecked is not None and name in prechecked.checked:
            ahead[name] = workers.check.submit(prechecked.pop, name)
        else:
            ds = DATASETS[name]
            ahead[name] = workers.check.submit(check_alone, ds, parts_of(name), mappings)
        return ahead[name]

    for name in ingest_order():
        ds = DATASETS[name]
        parts = parts_of(name)
        blocked = [d for d in ds.depends_on if d not in accepted]
        fault = next((f for f in disc.faults if f.dataset == name), None)
        if fault is not None:  # a file of the dataset cannot be read: the dataset stops
            reports[name] = DatasetReport(name, status="failed", error=fault.error)
            say(f"{name}: failed / 失敗")
            continue
        if not parts:
            reports[name] = DatasetReport(name, status="no_files")
            say(f"{name}: no files / ファイルなし")
            continue
        if blocked:
            reports[name] = DatasetReport(
                name,
                status="skipped",
                error=DxkpiError(
                    f"参照先のデータセット（{', '.join(blocked)}）が取り込めなかったため中止",
                    f"stopped: the dataset(s) it references ({', '.join(blocked)}) failed",
                    hint_ja="先に参照先のエラーを直してください。",
                    hint_en="Fix the referenced dataset first.",
                ),
            )
            say(f"{name}: skipped / 中止")
            continue
        say(f"{name}: {len(parts)} file(s) / ファイル")
        this = read_ahead(name)
        following = runnable[runnable.index(name) + 1 :]
        for nxt in to_read_ahead(following, sizes, READ_AHEAD_BYTES):
            read_ahead(nxt)
        suite = load_suite(expectations, name) if expectations is not None else None
        try:
            result = ingest_dataset(ds, parts, accepted, secret, mappings, this.result())
        except ContractError as err:
            reports[name] = DatasetReport(name, status="failed", error=err)
            continue
        finally:
            del ahead[name]  # its frames go once this dataset is done
        accepted[name] = result.keys
        reports[name] = result.report
        if suite is not None:
            pending[name] = gate.submit(ds, result.accepted, suite)
        workers.submit_write(_write_parquet, result.accepted, staging / f"{name}.parquet")
        if result.quarantine.height:
            qdir = staging / QUARANTINE_DIR
            qdir.mkdir(exist_ok=True)
            workers.submit_write(_write_parquet, result.quarantine, qdir / f"{name}.parquet")
            workers.submit_write(_write_csv_for_excel, result.quarantine, qdir / f"{name}.csv")
    return pending
