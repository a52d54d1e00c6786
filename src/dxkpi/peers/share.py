"""Share files: what a city may publish to its peers, readable without dxkpi.

A share file (``<団体コード>_FY<year>.dxshare``) is a zip archive of three files:

``share.json``
    The metadata: ``format`` (``"dxkpi-share"``), ``schema_version`` (:data:`SCHEMA_VERSION`),
    ``municipality`` (``code`` — the 全国地方公共団体コード, ``prefecture``, ``category``,
    ``size_band``), ``fiscal_year``, ``as_of`` (the date the KPIs were measured at),
    ``min_cell_size`` (the city's k), ``groupings``, ``skill_matrix`` (the 職層 × スキル
    requirement its skill KPIs used), ``versions`` (``dxkpi``, the data contract's version and
    fingerprint, ``kpi_definitions_sha256``), ``data_sha256`` (the hash of the processed data's
    manifest, as a report run records it), ``tables`` (each table's SHA-256 and row count: the
    checksum) and ``columns`` (what each column of the table means, in Japanese and English).
``kpis.csv`` and ``kpis.parquet``
    The same table twice (UTF-8 CSV with a header; parquet): one row per KPI × fiscal year ×
    grouping cell, with the columns of :data:`TABLE_SCHEMA`.

What is in it: every KPI of the registry whose data the city has, for the fiscal year, for the
shareable groupings :data:`SHARE_GROUPINGS` (the city, job levels, talent types, phases, skill
areas — never departments or divisions), as numerator and denominator after the city's own
suppression (:func:`dxkpi.kpi.engine.compute`: cells of fewer than k people and their
complements are ``suppressed`` with empty numbers, exactly as in the city's own reports).
What is not: no pseudonym, no employee, department, proposal or project identifier, no key
fingerprint, no row of data.

:func:`build_share` makes a :class:`Share` from processed data; :func:`write_share` writes it
atomically (the bytes are the same for the same data: fixed timestamps, sorted keys);
:func:`read_share` reads one back and refuses a file that is not a share, is corrupted (zip CRC
or a table's checksum) or has another schema version, with a two-language message naming the
file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from dxkpi import __version__
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.municipality import CATEGORIES, SIZE_BANDS, prefecture_of, size_band
from dxkpi.core.atomic import write_bytes
from dxkpi.core.errors import ConfigError, DxkpiError, Where
from dxkpi.ingest.processed import Processed, manifest_hash
from dxkpi.kpi.engine import compute, resolve_as_of
from dxkpi.project.config import MIN_CELL_SIZE_FLOOR, Config, municipality_code

__all__ = [
    "COLUMN_DOCS",
    "CSV_FILE",
    "FORMAT",
    "META_FILE",
    "PARQUET_FILE",
    "SCHEMA_VERSION",
    "SHARE_GROUPINGS",
    "SUFFIX",
    "TABLE_SCHEMA",
    "Municipality",
    "Share",
    "ShareError",
    "ShareFileError",
    "build_share",
    "default_file_name",
    "kpi_definitions_sha256",
    "read_share",
    "share_bytes",
    "share_table",
    "staff_count",
    "write_share",
]

FORMAT = "dxkpi-share"
#: The version of the share file's layout; a reader refuses any other.
SCHEMA_VERSION = 1
SUFFIX = ".dxshare"
META_FILE, CSV_FILE, PARQUET_FILE = "share.json", "kpis.csv", "kpis.parquet"
#: The groupings a city shares: nothing that names part of its organisation.
SHARE_GROUPINGS: tuple[str, ...] = ("city", "job_level", "talent_type", "phase", "skill_area")
#: Groupings that never leave the city (their keys are its own department codes and names).
_ORGANISATION = ("department", "division")

#: The table's columns and types, in order.
TABLE_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "kpi": pl.String(),
        "fiscal_year": pl.Int32(),
        "group_by": pl.String(),
        "group": pl.String(),
        "numerator": pl.Float64(),
        "denominator": pl.Float64(),
        "value": pl.Float64(),
        "n_people": pl.Int64(),
        "suppressed": pl.Boolean(),
        "reason": pl.String(),
        "unit": pl.String(),
        "value_from": pl.String(),
        "maturity_days": pl.Int32(),
        "provisional": pl.Boolean(),
    }
)

#: What each column means (written into share.json, so the file explains itself).
COLUMN_DOCS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "kpi": ("指標ID", "KPI id"),
        "fiscal_year": ("年度", "fiscal year (April–March)"),
        "group_by": (
            "集計単位（city 全庁 / job_level 職層 / talent_type DX人材タイプ / phase フェーズ / "
            "skill_area スキル領域 など。2つなら | で区切る）",
            "grouping (city, job_level, talent_type, phase, skill_area…; two joined by |)",
        ),
        "group": ("グループのコード（2つなら | で区切る）", "group code(s), joined by |"),
        "numerator": ("分子（秘匿セルは空）", "numerator (empty when suppressed)"),
        "denominator": ("分母（秘匿セルは空）", "denominator (empty when suppressed)"),
        "value": (
            "値（value_from の式で分子・分母から）",
            "value, from numerator and denominator as value_from says",
        ),
        "n_people": (
            "セルの人数（人の指標のみ。秘匿セルは空）",
            "people behind the cell (people KPIs only; empty when suppressed)",
        ),
        "suppressed": (
            "少人数のため秘匿したか（補完秘匿を含む）",
            "hidden because of a small group (complementary hiding included)",
        ),
        "reason": ("値が空の理由のコード", "why the value is empty (a code)"),
        "unit": (
            "単位（ratio 割合 / per_100 100人当たり / hours 時間 / score 評点 / "
            "score_diff 評点の差）",
            "unit (ratio, per_100, hours, score, score_diff)",
        ),
        "value_from": (
            "値の作り方（proportion 分子÷分母の割合 / rate 分子×100÷分母 / quotient 分子÷分母 / "
            "total 分子 / difference 分子−分母）",
            "how the value is made (proportion, rate = 100 × num ÷ den, quotient, total = num, "
            "difference = num − den)",
        ),
        "maturity_days": (
            "判定・実装を待つ日数 W（採択率・実装率）",
            "waiting window W in days (adoption and implementation rates)",
        ),
        "provisional": (
            "暫定値か（W日を経ていない提案を含む年度）",
            "provisional: the year's cohort has not wholly had W days",
        ),
    }
)


class ShareError(DxkpiError):
    """A share file cannot be made (no municipality code or category, a year without staff)."""


class ShareFileError(DxkpiError):
    """A file is not a readable share file: not a share, corrupted, or another schema version."""


@dataclass(frozen=True)
class Municipality:
    """Who shares: the 全国地方公共団体コード, the category code and the staff size band code."""

    code: str
    category: str
    size_band: str

    @property
    def prefecture(self) -> str:
        """The prefecture code (the code's first two digits)."""
        return prefecture_of(self.code)


@dataclass(frozen=True)
class Share:
    """One municipality's shared KPI cells for one fiscal year, with their metadata."""

    municipality: Municipality
    fiscal_year: int
    as_of: dt.date | None
    min_cell_size: int
    skill_matrix: Mapping[str, Mapping[str, int]]
    versions: Mapping[str, str]
    data_sha256: str
    table: pl.DataFrame
    source: str = "<memory>"


def kpi_definitions_sha256() -> str:
    """SHA-256 of the KPI registry's declarations: peers whose files differ in it computed
    some KPI differently."""
    payload = json.dumps(
        [dataclasses.asdict(s) for s in REGISTRY.values()], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def share_table(rich: pl.DataFrame) -> pl.DataFrame:
    """The shareable part of the KPI engine's rich frame: its cells outside departments and
    divisions, with the columns of :data:`TABLE_SCHEMA` (suppressed cells keep their row with
    empty numbers)."""
    first = pl.col("group_by").str.split("|").list.first()
    value_from = {k: s.value_from for k, s in REGISTRY.items()}
    return (
        rich.filter(~first.is_in(list(_ORGANISATION)))
        .with_columns(value_from=pl.col("kpi").replace_strict(value_from, return_dtype=pl.String))
        .select(pl.col(c).cast(t) for c, t in TABLE_SCHEMA.items())
    )


def staff_count(data: Processed, fiscal_year: int) -> int:
    """The head count of the staff list of ``fiscal_year``."""
    return int(
        data.staff.filter(pl.col("fiscal_year") == fiscal_year).select(pl.len()).collect().item()
    )


def build_share(
    data: Processed,
    config: Config,
    fiscal_year: int,
    manifest: Mapping[str, Any],
    code: str | None = None,
) -> Share:
    """The share of one fiscal year: every KPI with data, for :data:`SHARE_GROUPINGS`, after
    the city's own suppression (k from ``config``).

    ``code`` (``--city-code``) overrides ``[city] code`` of ``config``; the category is
    ``[city] category``; the size band comes from the year's staff list. ``manifest`` is the
    processed data's ``manifest.json`` (its hash and contract versions are recorded).
    """
    where = Where(file=config.source)
    chosen = municipality_code(code) if code is not None else config.city.code
    if chosen is None:
        raise ShareError(
            "団体コードがありません（dxkpi.toml の [city] code）",
            "no municipality code ([city] code of dxkpi.toml)",
            where=where,
            hint_ja='dxkpi.toml に [city] code = "221309" のように6桁の全国地方公共団体コードを'
            "書くか、--city-code で指定してください。",
            hint_en='add [city] code = "221309" (the six-digit local government code) to '
            "dxkpi.toml, or give --city-code.",
        )
    if config.city.category is None:
        raise ShareError(
            "団体区分がありません（dxkpi.toml の [city] category）",
            "no municipality category ([city] category of dxkpi.toml)",
            where=where,
            hint_ja='dxkpi.toml の [city] に category = "一般市" のように 指定都市 / 中核市 / '
            "一般市 / 町村 のどれかを書いてください。",
            hint_en='add category = "一般市" (指定都市, 中核市, 一般市 or 町村) under [city] '
            "in dxkpi.toml.",
        )
    head_count = staff_count(data, fiscal_year)
    if head_count == 0:
        years = ", ".join(map(str, data.fiscal_years()))
        raise ShareError(
            f"{fiscal_year}年度の職員名簿がありません",
            f"the staff list has no one in FY{fiscal_year}",
            where=Where(file=data.source),
            hint_ja=f"--fy を職員名簿にある年度（{years}）にしてください。",
            hint_en=f"choose a fiscal year on the staff list ({years}).",
        )
    rich = compute(data, config, fiscal_years=[fiscal_year], by=SHARE_GROUPINGS)
    return Share(
        municipality=Municipality(chosen, config.city.category, size_band(head_count)),
        fiscal_year=fiscal_year,
        as_of=resolve_as_of(data, config, None),
        min_cell_size=config.privacy.min_cell_size,
        skill_matrix=MappingProxyType(
            {
                lv: MappingProxyType(dict(areas))
                for lv, areas in config.skill_matrix.required.items()
            }
        ),
        versions=MappingProxyType(
            {
                "dxkpi": __version__,
                "contract": str(manifest.get("contract_version", "")),
                "contract_sha256": str(manifest.get("contract_sha256", "")),
                "kpi_definitions_sha256": kpi_definitions_sha256(),
            }
        ),
        data_sha256=manifest_hash(dict(manifest)),
        table=share_table(rich),
    )


def default_file_name(share: Share) -> str:
    """``<団体コード>_FY<year>.dxshare``."""
    return f"{share.municipality.code}_FY{share.fiscal_year}{SUFFIX}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _table_bytes(table: pl.DataFrame) -> tuple[bytes, bytes]:
    csv = table.write_csv().encode("utf-8")
    buffer = io.BytesIO()
    table.write_parquet(buffer, compression="zstd", statistics=False)
    return csv, buffer.getvalue()


def _metadata(share: Share, csv: bytes, parquet: bytes) -> dict[str, Any]:
    m = share.municipality
    rows = share.table.height
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "description_ja": "dxkpi の共有ファイル: 団体の KPI を集計単位ごとの分子・分母で"
        "（少人数セルは秘匿済み）。個人・所属の情報は含まない。",
        "description_en": "A dxkpi share file: a municipality's KPIs as numerator and "
        "denominator per grouping, small cells suppressed; no person or department in it.",
        "municipality": {
            "code": m.code,
            "prefecture": m.prefecture,
            "category": m.category,
            "size_band": m.size_band,
        },
        "fiscal_year": share.fiscal_year,
        "as_of": share.as_of.isoformat() if share.as_of else None,
        "min_cell_size": share.min_cell_size,
        "groupings": list(SHARE_GROUPINGS),
        "skill_matrix": {lv: dict(a) for lv, a in share.skill_matrix.items()},
        "versions": dict(share.versions),
        "data_sha256": share.data_sha256,
        "tables": {
            CSV_FILE: {"sha256": _sha256(csv), "rows": rows},
            PARQUET_FILE: {"sha256": _sha256(parquet), "rows": rows},
        },
        "columns": {c: {"ja": ja, "en": en} for c, (ja, en) in COLUMN_DOCS.items()},
    }


def share_bytes(share: Share) -> bytes:
    """The share file's bytes: a zip of share.json, kpis.csv and kpis.parquet (same data, same
    bytes)."""
    csv, parquet = _table_bytes(share.table)
    meta = json.dumps(
        _metadata(share, csv, parquet),
        ensure_ascii=False,
        indent=2,
        sort_keys=True,
        allow_nan=False,
    ).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in ((META_FILE, meta + b"\n"), (CSV_FILE, csv), (PARQUET_FILE, parquet)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def write_share(path: str | Path, share: Share) -> Path:
    """Write ``share`` to ``path`` atomically (a reader never sees half a file)."""
    return write_bytes(path, share_bytes(share))


# ---------------------------------------------------------------------------------- reading


def _refuse(path: Path, ja: str, en: str, hint_ja: str, hint_en: str) -> ShareFileError:
    return ShareFileError(ja, en, where=Where(file=str(path)), hint_ja=hint_ja, hint_en=hint_en)


_ASK_AGAIN_JA = "送ってくれた団体に、dxkpi share で作り直したファイルをもう一度もらってください。"
_ASK_AGAIN_EN = "ask the municipality that sent it for a fresh copy made with dxkpi share."


def _corrupted(path: Path, ja: str, en: str) -> ShareFileError:
    return _refuse(
        path,
        f"共有ファイルが壊れています（{ja}）。このファイルは使いません",
        f"the share file is corrupted ({en}); it is not used",
        _ASK_AGAIN_JA,
        _ASK_AGAIN_EN,
    )


def _members(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [n for n in (META_FILE, CSV_FILE, PARQUET_FILE) if n not in names]
            if missing:
                raise _refuse(
                    path,
                    f"dxkpi の共有ファイルではありません（{', '.join(missing)} がない）",
                    f"not a dxkpi share file ({', '.join(missing)} missing)",
                    _ASK_AGAIN_JA,
                    _ASK_AGAIN_EN,
                )
            return {n: archive.read(n) for n in (META_FILE, CSV_FILE, PARQUET_FILE)}
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:  # not a zip, a bad CRC or stream
        raise _corrupted(path, f"zip として読めない: {err}", f"not a readable zip: {err}") from err


def _metadata_of(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise _corrupted(path, f"{META_FILE} が JSON でない", f"{META_FILE} is not JSON") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _refuse(
            path,
            f"dxkpi の共有ファイルではありません（{META_FILE} の format が {FORMAT} でない）",
            f"not a dxkpi share file ({META_FILE} has no format {FORMAT!r})",
            _ASK_AGAIN_JA,
            _ASK_AGAIN_EN,
        )
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise _refuse(
            path,
            f"共有ファイルの形式の版（schema_version {version!r}）が、この dxkpi {__version__} の"
            f"読める版 {SCHEMA_VERSION} と違います",
            f"the share file's schema version {version!r} is not the version {SCHEMA_VERSION} "
            f"this dxkpi {__version__} reads",
            "送った団体と同じ版の dxkpi を使うか、その版で作り直してもらってください。",
            "use the same dxkpi version as the municipality that sent it, or ask for a file "
            "made with yours.",
        )
    return meta


def _checked_table(path: Path, meta: dict[str, Any], members: dict[str, bytes]) -> pl.DataFrame:
    tables = meta.get("tables") or {}
    for name in (CSV_FILE, PARQUET_FILE):
        stated = (tables.get(name) or {}).get("sha256")
        if stated != _sha256(members[name]):
            raise _corrupted(
                path,
                f"{name} のチェックサムが {META_FILE} と合わない",
                f"the checksum of {name} does not match {META_FILE}",
            )
    schema = dict(TABLE_SCHEMA)
    try:
        table = pl.read_parquet(io.BytesIO(members[PARQUET_FILE]))
        from_csv = pl.read_csv(io.BytesIO(members[CSV_FILE]), schema=schema)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise _corrupted(path, f"表が読めない: {err}", f"a table cannot be read: {err}") from err
    if table.schema != pl.Schema(schema) or not table.equals(from_csv):
        raise _corrupted(
            path,
            f"{PARQUET_FILE} と {CSV_FILE} の列か中身が合わない",
            f"{PARQUET_FILE} and {CSV_FILE} differ in columns or content",
        )
    return table


def _checked_contents(path: Path, meta: dict[str, Any], table: pl.DataFrame) -> None:
    """Refuse what a share made by this schema cannot hold: unknown codes, organisation cells,
    other years, numbers in suppressed cells."""
    m = meta.get("municipality") or {}
    problems: list[tuple[str, str]] = []
    if m.get("category") not in CATEGORIES:
        problems.append(("団体区分が不明", f"unknown category {m.get('category')!r}"))
    if m.get("size_band") not in {b[0] for b in SIZE_BANDS}:
        problems.append(("職員規模の区分が不明", f"unknown size band {m.get('size_band')!r}"))
    year = meta.get("fiscal_year")
    if not isinstance(year, int) or isinstance(year, bool):
        problems.append(("年度（fiscal_year）が整数でない", f"fiscal_year {year!r} is not a year"))
    k = meta.get("min_cell_size")
    if not isinstance(k, int) or isinstance(k, bool) or k < MIN_CELL_SIZE_FLOOR:
        problems.append(("秘匿の最小人数が不正", f"min_cell_size {k!r} is not a whole number ≥ 5"))
    unknown = sorted(set(table.get_column("kpi").unique()) - set(REGISTRY))
    if unknown:
        problems.append(
            (
                f"この版の dxkpi が知らない指標: {', '.join(unknown)}",
                f"KPIs this dxkpi does not know: {', '.join(unknown)}",
            )
        )
    first = pl.col("group_by").str.split("|").list.first()
    if table.filter(first.is_in(list(_ORGANISATION))).height:
        problems.append(("所属・部局の集計が含まれている", "it holds department or division cells"))
    if table.filter(pl.col("fiscal_year") != pl.lit(year, pl.Int32)).height:
        problems.append(("fiscal_year と違う年度の行がある", "rows of another fiscal year"))
    numbers = pl.any_horizontal(
        pl.col("numerator", "denominator", "value", "n_people").is_not_null()
    )
    if table.filter(pl.col("suppressed") & numbers).height:
        problems.append(("秘匿セルに数値がある", "suppressed cells carry numbers"))
    if problems:
        raise _refuse(
            path,
            "共有ファイルの中身が不正です: " + "、".join(ja for ja, _ in problems),
            "the share file's content is invalid: " + "; ".join(en for _, en in problems),
            _ASK_AGAIN_JA,
            _ASK_AGAIN_EN,
        )


def read_share(path: str | Path) -> Share:
    """Read and check one share file (see the module docstring for what is refused)."""
    path = Path(path)
    members = _members(path)
    meta = _metadata_of(path, members[META_FILE])
    table = _checked_table(path, meta, members)
    m = meta.get("municipality") or {}
    try:
        code = municipality_code(m.get("code"))
    except ConfigError as err:
        raise _refuse(path, err.ja, err.en, _ASK_AGAIN_JA, _ASK_AGAIN_EN) from err
    _checked_contents(path, meta, table)
    as_of = meta.get("as_of")
    return Share(
        municipality=Municipality(code, m["category"], m["size_band"]),
        fiscal_year=int(meta["fiscal_year"]),
        as_of=dt.date.fromisoformat(as_of) if as_of else None,
        min_cell_size=int(meta["min_cell_size"]),
        skill_matrix=MappingProxyType(dict(meta.get("skill_matrix") or {})),
        versions=MappingProxyType({k: str(v) for k, v in (meta.get("versions") or {}).items()}),
        data_sha256=str(meta.get("data_sha256", "")),
        table=table,
        source=str(path),
    )
