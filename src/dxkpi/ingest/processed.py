"""The processed data folder, loaded once as lazy polars frames.

``load_processed(path)`` scans ``<path>/<dataset>.parquet`` for every dataset of the data contract
and returns a :class:`Processed` — a frozen dataclass with one :class:`polars.LazyFrame` per
dataset (``None`` where the file is absent). ``departments`` and ``staff`` are required (every KPI
is defined over the staff list); any other dataset is only required by the KPIs that use it, and
:meth:`Processed.require` raises :class:`MissingDatasetError` naming it when it is absent.

This is the only module of the KPI part that reads files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from dxkpi.core.errors import DxkpiError, Where

__all__ = [
    "CITY_PREFIX",
    "DATASETS",
    "DATE_COLUMNS",
    "OPTIONAL_DATASETS",
    "READ_AT_ONCE_BYTES",
    "REQUIRED_DATASETS",
    "STORE_MANIFEST",
    "FiscalYearError",
    "MissingDatasetError",
    "Processed",
    "city_codes",
    "load_partitioned",
    "load_processed",
    "manifest_hash",
    "partition_bytes",
    "read_manifest",
]

#: A city partition of a consolidated store is ``<store>/city=<code>/`` (hive style).
CITY_PREFIX = "city="
#: The store-level manifest of a consolidated store (lists the cities).
STORE_MANIFEST = "cities.json"
#: A processed folder whose parquet files hold at most this many bytes is read into memory at
#: once (:func:`load_processed`), larger ones are scanned lazily. Every plan over a scan opens
#: and decodes its file again: a 100–300-staff body's KPI catalogue took about a quarter more
#: CPU from scans than from frames in memory (a 28,000-staff body, 24 MB: the same either way).
READ_AT_ONCE_BYTES = 16 * 2**20

REQUIRED_DATASETS: tuple[str, ...] = ("departments", "staff")
OPTIONAL_DATASETS: tuple[str, ...] = (
    "courses",
    "attendance",
    "proposals",
    "projects",
    "resident_survey",
    "maturity_survey",
    "skill_assessment",
    "knowledge_posts",
    "followup_survey",
    "assignments",
    "course_costs",
)
DATASETS: tuple[str, ...] = REQUIRED_DATASETS + OPTIONAL_DATASETS

#: Date columns whose maximum is "the latest date in the data" (the default as-of date).
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "attendance": ("session_date",),
    "proposals": ("submitted_on", "decided_on", "implemented_on"),
    "projects": ("started_on", "ended_on"),
    "knowledge_posts": ("posted_on",),
}


class MissingDatasetError(DxkpiError):
    """A KPI needs a processed dataset that is not in the processed folder."""


class FiscalYearError(DxkpiError):
    """A fiscal year asked for has no staff list in the processed data."""


@dataclass(frozen=True)
class Processed:
    """All processed datasets as lazy frames; ``None`` marks a dataset that is absent."""

    departments: pl.LazyFrame
    staff: pl.LazyFrame
    courses: pl.LazyFrame | None = None
    attendance: pl.LazyFrame | None = None
    proposals: pl.LazyFrame | None = None
    projects: pl.LazyFrame | None = None
    resident_survey: pl.LazyFrame | None = None
    maturity_survey: pl.LazyFrame | None = None
    skill_assessment: pl.LazyFrame | None = None
    knowledge_posts: pl.LazyFrame | None = None
    followup_survey: pl.LazyFrame | None = None
    #: The effective-dated roster; when present, events and denominators follow it
    #: (:mod:`dxkpi.kpi.roster`), when absent the April staff list alone decides.
    assignments: pl.LazyFrame | None = None
    course_costs: pl.LazyFrame | None = None
    source: str = "<memory>"
    #: Derived frames materialised once by a caller (e.g. the KPI engine) and shared by the KPI
    #: functions; each function builds the same frame lazily when it is absent.
    derived: Mapping[str, pl.LazyFrame] = field(default_factory=lambda: MappingProxyType({}))
    #: ``None``: one city's data. Else the municipality codes of a batch of cities whose frames
    #: are concatenated, each city's identifiers (employee_id, department_code, course_id)
    #: prefixed with its code (:func:`dxkpi.kpi.batch.batch_of`): the KPI functions then give
    #: every cell per city (:func:`dxkpi.kpi._frames.per_city`).
    cities: tuple[str, ...] | None = None

    def with_derived(self, **frames: pl.LazyFrame) -> Processed:
        """A copy with more derived frames (the original is unchanged)."""
        merged = dict(self.derived) | frames
        return dataclasses.replace(self, derived=MappingProxyType(merged))

    @classmethod
    def from_frames(
        cls, source: str = "<memory>", **frames: pl.DataFrame | pl.LazyFrame | None
    ) -> Processed:
        """Build from in-memory frames (tests, notebooks); eager frames are made lazy."""
        unknown = sorted(set(frames) - set(DATASETS))
        if unknown:
            raise TypeError(f"unknown datasets: {unknown}")
        lazy = {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in frames.items()}
        departments, staff = lazy.get("departments"), lazy.get("staff")
        if departments is None:
            raise _missing("departments", source)
        if staff is None:
            raise _missing("staff", source)
        return cls(
            departments=departments,
            staff=staff,
            courses=lazy.get("courses"),
            attendance=lazy.get("attendance"),
            proposals=lazy.get("proposals"),
            projects=lazy.get("projects"),
            resident_survey=lazy.get("resident_survey"),
            maturity_survey=lazy.get("maturity_survey"),
            skill_assessment=lazy.get("skill_assessment"),
            knowledge_posts=lazy.get("knowledge_posts"),
            followup_survey=lazy.get("followup_survey"),
            assignments=lazy.get("assignments"),
            course_costs=lazy.get("course_costs"),
            source=source,
        )

    def without(self, *names: str) -> Processed:
        """A copy with the optional datasets ``names`` absent (``without("assignments")`` gives
        the April-snapshot view of the same data); derived frames are dropped, as they may
        have been built from them."""
        bad = sorted(set(names) - set(OPTIONAL_DATASETS))
        if bad:
            raise TypeError(f"not optional datasets: {bad}")
        absent: dict[str, Any] = dict.fromkeys(names)
        return dataclasses.replace(self, derived=MappingProxyType({}), **absent)

    def require(self, name: str) -> pl.LazyFrame:
        """The lazy frame of dataset ``name``; a clear two-language error if it is absent."""
        frame = getattr(self, name, None)
        if frame is None:
            raise _missing(name, self.source)
        return frame

    def available(self) -> tuple[str, ...]:
        """Names of the datasets present."""
        return tuple(
            f.name for f in fields(self) if f.name in DATASETS and getattr(self, f.name) is not None
        )

    def latest_date(self) -> dt.date | None:
        """The latest event date in the data (default as-of date); ``None`` when there is none."""
        exprs = [
            getattr(self, name).select(pl.max_horizontal(pl.col(c).max() for c in cols))
            for name, cols in DATE_COLUMNS.items()
            if getattr(self, name, None) is not None
        ]
        if not exprs:
            return None
        values = [f.item() for f in pl.collect_all(exprs)]
        values = [v for v in values if v is not None]
        return max(values) if values else None

    def fiscal_years(self) -> list[int]:
        """Fiscal years present on the staff list, ascending."""
        years = self.staff.select(pl.col("fiscal_year").unique().sort()).collect()
        return [int(y) for y in years.get_column("fiscal_year").to_list() if y is not None]

    def check_fiscal_years(self, years: Iterable[int]) -> None:
        """Refuse fiscal years without a staff list: every KPI is defined over the staff of its
        year, so such a year would show zeros, not a result. The error lists the years there
        are (the one check ``dxkpi kpi``, ``report`` and ``pdca`` make).

        >>> data = Processed.from_frames(
        ...     departments=pl.DataFrame({"department_code": ["010100"]}),
        ...     staff=pl.DataFrame({"fiscal_year": [2024, 2025]}),
        ... )
        >>> data.check_fiscal_years([2025])
        >>> try:
        ...     data.check_fiscal_years([2030, 2026])
        ... except FiscalYearError as err:
        ...     print(err.en)
        no staff list for fiscal year 2026, 2030 (years with a staff list: 2024, 2025)
        """
        present = self.fiscal_years()
        missing = sorted(set(years) - set(present))
        if not missing:
            return
        asked = ", ".join(str(y) for y in missing)
        there = ", ".join(str(y) for y in present) or "なし / none"
        raise FiscalYearError(
            f"{asked} 年度の職員名簿がありません（名簿のある年度: {there}）",
            f"no staff list for fiscal year {asked} (years with a staff list: {there})",
            where=Where(file=self.source),
            hint_ja="--fy で名簿のある年度を指定するか、その年度の職員名簿を生データに加えて"
            "取り込み（dxkpi ingest）をやり直してください。",
            hint_en="choose a year with a staff list (--fy), or add that year's staff list to "
            "the raw data and run dxkpi ingest again.",
        )


def _missing(name: str, source: str) -> MissingDatasetError:
    return MissingDatasetError(
        f"処理済みデータ「{name}」がありません（{name}.parquet）。",
        f"processed dataset '{name}' is missing ({name}.parquet).",
        where=Where(file=source),
        hint_ja="取り込み（dxkpi ingest）を実行するか、--data で処理済みフォルダを"
        "指定してください。",
        hint_en="run the ingest (dxkpi ingest) or point --data at the processed folder.",
    )


def load_processed(path: str | Path) -> Processed:
    """Every ``<dataset>.parquet`` under ``path``, read at once when they hold at most
    :data:`READ_AT_ONCE_BYTES` together, else scanned lazily; required datasets must exist."""
    folder = Path(path)
    if not folder.is_dir():
        raise MissingDatasetError(
            f"処理済みデータのフォルダ {folder} がありません。",
            f"processed data folder {folder} does not exist.",
            hint_ja="取り込み（dxkpi ingest）を先に実行してください。",
            hint_en="run the ingest (dxkpi ingest) first.",
        )
    files = {name: folder / f"{name}.parquet" for name in DATASETS}
    present = {name: file for name, file in files.items() if file.is_file()}
    at_once = sum(file.stat().st_size for file in present.values()) <= READ_AT_ONCE_BYTES
    frames: dict[str, pl.LazyFrame | None] = dict.fromkeys(DATASETS)
    for name, file in present.items():
        frames[name] = pl.read_parquet(file).lazy() if at_once else pl.scan_parquet(file)
    return Processed.from_frames(source=str(folder), **frames)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The ingest manifest (``manifest.json``) of a processed-data folder; a bilingual error
    naming the file when it is missing or not JSON."""
    path = Path(folder) / "manifest.json"
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MissingDatasetError(
            "処理済みデータに manifest.json がありません",
            "the processed data has no manifest.json",
            where=Where(file=str(path)),
            hint_ja="dxkpi ingest で取り込んだフォルダを指定してください（--data）。",
            hint_en="point --data at a folder written by dxkpi ingest.",
        ) from err
    except ValueError as err:
        raise MissingDatasetError(
            "manifest.json を読めません（JSON ではありません）",
            "manifest.json cannot be read (not JSON)",
            where=Where(file=str(path)),
            hint_ja="dxkpi ingest をもう一度実行してください。",
            hint_en="run dxkpi ingest again.",
        ) from err
    return dict(content)


def manifest_hash(manifest: dict[str, Any]) -> str:
    """A hash of the manifest without its timestamp: identical for identical inputs."""
    content = {k: v for k, v in manifest.items() if k != "generated_at"}
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def city_codes(store: str | Path) -> list[str]:
    """The municipality codes of a city-partitioned store (``city=<code>/`` folders), sorted."""
    folder = Path(store)
    if not folder.is_dir():
        raise MissingDatasetError(
            f"統合データのフォルダ {folder} がありません。",
            f"consolidated store {folder} does not exist.",
            hint_ja="dxkpi ingest --cities で取り込んでください。",
            hint_en="run dxkpi ingest --cities first.",
        )
    return sorted(
        p.name.removeprefix(CITY_PREFIX)
        for p in folder.iterdir()
        if p.is_dir() and p.name.startswith(CITY_PREFIX)
    )


def partition_bytes(store: str | Path, city: str) -> int:
    """Bytes of a city's datasets in a city-partitioned store (its ``<dataset>.parquet``
    files): what reading the partition takes (:func:`dxkpi.kpi.pooled.kpi_batches`)."""
    folder = Path(store) / f"{CITY_PREFIX}{city}"
    return sum(f.stat().st_size for f in folder.glob("*.parquet"))


def load_partitioned(store: str | Path, city: str | None = None) -> Processed:
    """A city-partitioned store (``<store>/city=<code>/<dataset>.parquet``) as one Processed.

    ``city`` given: that city's partition exactly as :func:`load_processed` reads it. Otherwise
    every city, each frame with a leading ``city`` column (the municipality code); a dataset
    present in some cities only is read from those.
    """
    folder = Path(store)
    if city is not None:
        return load_processed(folder / f"{CITY_PREFIX}{city}")
    codes = city_codes(folder)
    if not codes:
        raise MissingDatasetError(
            f"統合データ {folder} に city=<団体コード> のフォルダがありません。",
            f"consolidated store {folder} has no city=<code> partition.",
            where=Where(file=str(folder)),
            hint_ja="dxkpi ingest --cities で取り込んでください。",
            hint_en="run dxkpi ingest --cities first.",
        )
    frames: dict[str, pl.LazyFrame | None] = {}
    for name in DATASETS:
        parts = [
            pl.scan_parquet(file).select(pl.lit(code).alias("city"), pl.all())
            for code in codes
            if (file := folder / f"{CITY_PREFIX}{code}" / f"{name}.parquet").is_file()
        ]
        frames[name] = pl.concat(parts, how="diagonal_relaxed") if parts else None
    return Processed.from_frames(source=str(folder), **frames)
