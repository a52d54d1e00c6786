"""``dxkpi map``: read an export's headers and values and propose a mapping for review.

For each header, in order of confidence (the first that applies):

* ``exact`` — the contract's English name or Japanese alias (NFKC, case ignored);
* ``normalised`` — the same after :func:`dxkpi.catalogue.synonyms.fold` (full-/half-width,
  hiragana/katakana, spaces and brackets ignored);
* ``synonym`` — a known name of the column in personnel, LMS and survey systems
  (:data:`dxkpi.catalogue.synonyms.HEADER_SYNONYMS`: 職員コード, 社員番号, 受講者ID…);
* ``values`` — a header matched by nothing else whose values are, for at least
  :data:`VALUES_SHARE` of its rows, values of a code column (its codes, labels or known
  synonyms such as job titles), or dates when the dataset has one date column left (a survey
  tool's timestamp: the last such header takes it, 完了時刻 rather than 開始時刻);
* personal-name headers are dropped by ingestion anyway; everything else is proposed as
  ignored. When two headers claim one column, the more confident keeps it.

For a column that needs a values table — a code column with values other than its codes and
labels, or ``department_code`` given as department names — each distinct value with its count
is proposed: ``exact`` (a code or label), ``synonym`` (:data:`~dxkpi.catalogue.synonyms
.VALUE_SYNONYMS`: 課長 → manager, 欠席(連絡あり) → absent), ``department name`` (the name of a
department in the project's departments data), or left for the city to fill in (written as a
comment: ingesting with it unfilled quarantines those rows as ``unmapped_value``). For an
identifier column, digits shorter than the staff list's IDs (read from the project's raw
folder) or of mixed lengths propose ``zero_pad``, white space inside an ID ``strip``.

Values of employee-ID columns are never printed or written (only how many there are).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from dxkpi.catalogue.contract import DATASETS, Column, Dataset, Kind, is_personal_name
from dxkpi.catalogue.synonyms import HEADER_SYNONYMS, VALUE_SYNONYMS, fold
from dxkpi.core.errors import ContractError, DxkpiError, Where
from dxkpi.ingest.mapping import MappingSet
from dxkpi.ingest.parse import parse_date
from dxkpi.ingest.read import (
    SourcePart,
    dataset_for_name,
    discover,
    header_lookup,
    is_data_file,
    read_part,
    read_text_table,
)
from dxkpi.project.config import IdRule

__all__ = [
    "CONFIDENCE",
    "MAX_TABLE_VALUES",
    "VALUES_SHARE",
    "ColumnProposal",
    "Proposal",
    "Reference",
    "ValueProposal",
    "default_glob",
    "propose",
    "reference_data",
]

#: Confidence of a header's match, most confident first, with its words in both languages.
CONFIDENCE: dict[str, tuple[str, str]] = {
    "exact": ("契約の列名と一致", "the contract's column name"),
    "normalised": ("表記ゆれを除くと契約の列名と一致", "the contract's name up to width/kana"),
    "synonym": ("よく使われる別名", "a known synonym"),
    "values": ("値がこの列の値", "its values are this column's values"),
    "personal": ("氏名の列（取り込まない）", "a personal name (never ingested)"),
    "none": ("契約にない列（使わない）", "not in the contract (left out)"),
}
#: A header is proposed for a code column by its values when this share of its rows hold one.
VALUES_SHARE = 0.8
#: A values table is proposed only for a column with at most this many distinct values.
MAX_TABLE_VALUES = 500

_RANK = {k: i for i, k in enumerate(CONFIDENCE)}


@dataclass(frozen=True)
class ValueProposal:
    """One distinct source value: how many rows hold it, its proposed target (None: unknown)
    and why."""

    value: str
    count: int
    target: str | None
    reason: str  # exact | synonym | department name | unknown


@dataclass(frozen=True)
class ColumnProposal:
    """One source header and what it is proposed to be."""

    header: str
    position: str
    column: str | None
    confidence: str
    distinct: int
    values: tuple[ValueProposal, ...] = ()  # a values table to write (empty: none needed)
    id_rule: IdRule | None = None
    id_reason: tuple[str, str] = ("", "")
    note: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Reference:
    """What the project already knows, read from its raw folder: department names → codes,
    and the digit lengths of the staff list's employee IDs."""

    departments: dict[str, str] = field(default_factory=dict)  # fold(name) → code
    department_codes: frozenset[str] = frozenset()
    employee_id_lengths: frozenset[int] = frozenset()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """A proposed mapping of one file onto one dataset."""

    file: str
    dataset: str
    dataset_reason: tuple[str, str]
    encoding: str
    rows: int
    columns: tuple[ColumnProposal, ...]
    missing_required: tuple[str, ...]
    files_glob: str

    def mapping_table(self) -> dict[str, object]:
        """The ``[mapping]`` table the proposal amounts to (unknown values left out)."""
        section: dict[str, object] = {"system": Path(self.file).stem, "files": [self.files_glob]}
        section["columns"] = {c.header: c.column for c in self.columns if c.column is not None}
        values = {
            c.column: {v.value: v.target for v in c.values if v.target is not None}
            for c in self.columns
            if c.column is not None and c.values
        }
        if values:
            section["values"] = values
        ids = {
            c.column: _rule_dict(c.id_rule)
            for c in self.columns
            if c.column is not None and c.id_rule is not None
        }
        if ids:
            section["ids"] = ids
        ignore = [c.header for c in self.columns if c.confidence == "none" and c.header]
        if ignore:
            section["ignore"] = {"columns": ignore}
        return {self.dataset: section}

    def toml(self) -> str:
        """The proposal as a commented mapping file (``mappings/<stem>.toml``)."""
        ds = DATASETS[self.dataset]
        head = f"mapping.{self.dataset}"
        lines = [
            "# dxkpi map が提案したマッピング。確認・修正してから取り込んでください。",
            "# A mapping proposed by `dxkpi map`: review and correct it before ingesting.",
            f"# 元ファイル / source: {self.file} ({self.encoding}, {self.rows:,} 行 rows)",
            "",
            f"[{head}]",
            f"system = {_q(Path(self.file).stem)}",
            f"files = [{_q(self.files_glob)}]",
            "",
            f"[{head}.columns]  # 元の見出し → 契約の列 / source header → contract column",
        ]
        for c in self.columns:
            if c.column is not None:
                ja, en = CONFIDENCE[c.confidence]
                lines.append(f"{_q(c.header)} = {_q(c.column)}  # {c.confidence}: {ja} / {en}")
        for c in self.columns:
            if c.column is None or not c.values:
                continue
            col = ds.column(c.column)
            lines += ["", f"[{head}.values.{c.column}]  # 「{c.header}」→ {col.ja}"]
            for v in c.values:
                rows = f"{v.count:,} 行 rows"
                if v.target is None:
                    lines.append(
                        f'# {_q(v.value)} = ""  # {rows}: 対応する値を記入 / fill in '
                        "(unfilled: these rows are quarantined as unmapped_value)"
                    )
                else:
                    lines.append(f"{_q(v.value)} = {_q(v.target)}  # {v.reason}, {rows}")
        for c in self.columns:
            if c.column is not None and c.id_rule is not None:
                lines += ["", f"[{head}.ids.{c.column}]  # {c.id_reason[0]} / {c.id_reason[1]}"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in _rule_dict(c.id_rule).items()]
        ignore = [c.header for c in self.columns if c.confidence == "none" and c.header]
        if ignore:
            lines += ["", f"[{head}.ignore]  # 使わない列 / columns left out"]
            lines.append("columns = [" + ", ".join(_q(h) for h in ignore) + "]")
        return "\n".join(lines) + "\n"

    def review_lines(self) -> list[str]:
        """The proposal as the terminal shows it, in both languages."""
        ds = DATASETS[self.dataset]
        out = [
            f"{self.file} → {self.dataset}（{ds.ja}）: {self.dataset_reason[0]} / "
            f"{self.dataset_reason[1]}",
            f"  {self.encoding}, {self.rows:,} 行 rows",
            "列 / columns:",
        ]
        for c in self.columns:
            ja, en = CONFIDENCE[c.confidence]
            target = f"{c.column}（{ds.column(c.column).ja}）" if c.column else "—"
            shown = f"「{c.header}」" if c.header else f"列{c.position} (column {c.position})"
            line = (
                f"  {shown} → {target}  [{c.confidence}] {ja} / {en}; {c.distinct:,} 種類 distinct"
            )
            out.append(line)
            if c.note[0]:
                out.append(f"      {c.note[0]} / {c.note[1]}")
            if c.id_rule is not None:
                rule = ", ".join(
                    f"{k} = {_toml_value(v)}" for k, v in _rule_dict(c.id_rule).items()
                )
                out.append(f"      ID: {rule}（{c.id_reason[0]} / {c.id_reason[1]}）")
            for v in c.values:
                goes = v.target if v.target is not None else "？ 未定 / unknown: 記入 fill in"
                out.append(f"      {v.value} → {goes}  [{v.reason}] {v.count:,} 行 rows")
        if self.missing_required:
            names = ", ".join(self.missing_required)
            out.append(
                f"必須の列が見つかりません / required columns not found: {names}"
                " — columns に加えてください / add them under columns"
            )
        return out


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rule_dict(rule: IdRule) -> dict[str, object]:
    out: dict[str, object] = {}
    if rule.strip:
        out["strip"] = True
    if rule.zero_pad is not None:
        out["zero_pad"] = rule.zero_pad
    return out


def default_glob(name: str) -> str:
    """The ``files`` glob proposed for a file: its name with each run of digits as ``*`` (next
    year's export matches too), or the name itself when nothing else would be left.

    >>> default_glob("受講履歴_20250401.csv"), default_glob("2025.csv")
    ('受講履歴_*.csv', '2025.csv')
    """
    glob = re.sub(r"[0-9０-９]+", "*", name)
    stem = glob.rsplit(".", 1)[0]
    return name if not stem.strip("*_- ") else glob


# ---------------------------------------------------------------- the project's reference data


def reference_data(raw: Path, mappings: MappingSet, exclude: Path | None = None) -> Reference:
    """Department names and codes and the staff list's employee-ID lengths, read from the raw
    folder ``raw`` with the project's mappings (leaving out ``exclude``, the file being mapped).
    A file that cannot be read is noted, never fatal: this only helps a proposal."""
    if not raw.is_dir():
        return Reference(notes=(f"生データのフォルダがありません / no raw folder: {raw}",))
    disc = discover(raw, mappings)
    departments: dict[str, str] = {}
    codes: set[str] = set()
    lengths: set[int] = set()
    notes: list[str] = []
    skip = exclude.resolve() if exclude is not None else None
    for part in disc.parts:
        if part.dataset not in ("departments", "staff") or part.path.resolve() == skip:
            continue
        try:
            frame = read_part(part, mappings.for_part(part.rel, part.dataset)).frame
        except DxkpiError as err:
            notes.append(f"{part.rel}: {err.en}")
            continue
        if part.dataset == "departments":
            for code, name in frame.select("department_code", "department_name").iter_rows():
                if code and name:
                    code = unicodedata.normalize("NFKC", code).strip()
                    departments[fold(name)] = code
                    codes.add(code)
        else:
            lengths.update(_digit_lengths(_texts(frame["employee_id"])))
    return Reference(departments, frozenset(codes), frozenset(lengths), tuple(notes))


# ---------------------------------------------------------------- headers


def _header_match(header: str, ds: Dataset) -> tuple[str | None, str]:
    key = unicodedata.normalize("NFKC", header).strip().lower()
    if not key:
        return None, "none"
    if is_personal_name(header):
        return None, "personal"
    exact = header_lookup(ds).get(key)  # what ingestion reads without a mapping
    if exact is not None:
        return exact, "exact"
    folded = fold(header)
    for col in ds.columns:
        if folded in (fold(col.name), fold(col.ja)):
            return col.name, "normalised"
    synonym = HEADER_SYNONYMS.get(folded)
    if synonym is not None and synonym in ds.column_names:
        return synonym, "synonym"
    return None, "none"


def _code_targets(ds: Dataset, col: Column) -> dict[str, tuple[str, str]]:
    """fold(spelling) → (code, reason) for a code column: its codes and labels, then synonyms."""
    out: dict[str, tuple[str, str]] = {}
    for syn, target in VALUE_SYNONYMS.get((ds.name, col.name), {}).items():
        out[syn] = (target, "synonym")
    for code in col.codes:
        for spelling in code.spellings():
            out[fold(spelling)] = (code.code, "exact")
    return out


def _texts(series: pl.Series, nfkc: bool = True) -> pl.Series:
    """A column's non-empty cells, trimmed (and NFKC-normalised unless ``nfkc`` is False)."""
    text = series.drop_nulls()
    text = (text.str.normalize("NFKC") if nfkc else text).str.strip_chars()
    return text.filter(text.str.len_chars() > 0)


def _digit_lengths(ids: pl.Series) -> set[int]:
    """The lengths of the identifiers made of ASCII digits only."""
    digits = ids.filter(ids.str.contains(r"^[0-9]+$"))
    return {int(n) for n in digits.str.len_chars().unique().to_list()}


def _counts(series: pl.Series) -> list[tuple[str, int]]:
    counted = _texts(series, nfkc=False).value_counts(sort=True)
    return [(str(v), int(n)) for v, n in counted.iter_rows()]


def _date_share(series: pl.Series) -> float:
    """The share of a column's non-empty cells that read as dates (with or without a time)."""
    text = _texts(series, nfkc=False)
    if text.len() == 0:
        return 0.0
    parsed = pl.DataFrame({"v": text}).select(parse_date(pl.col("v"))).to_series()
    return int(parsed.is_not_null().sum()) / text.len()


def _values_share(counts: list[tuple[str, int]], targets: dict[str, tuple[str, str]]) -> float:
    total = sum(n for _, n in counts)
    known = sum(n for v, n in counts if fold(v) in targets)
    return known / total if total else 0.0


# ---------------------------------------------------------------- values and IDs


def _code_values(
    counts: list[tuple[str, int]], targets: dict[str, tuple[str, str]]
) -> tuple[ValueProposal, ...]:
    """A values table for a code column, or () when every value is already a code or label."""
    proposals = []
    for value, n in counts:
        hit = targets.get(fold(value))
        code, reason = hit if hit is not None else (None, "unknown")
        proposals.append(ValueProposal(value, n, code, reason))
    if all(p.reason == "exact" for p in proposals):
        return ()
    return tuple(proposals)


def _department_values(
    counts: list[tuple[str, int]], ref: Reference
) -> tuple[tuple[ValueProposal, ...], tuple[str, str]]:
    """A values table from department names to codes, when the column holds names."""
    if not counts:
        return (), ("", "")
    as_code = sum(n for v, n in counts if unicodedata.normalize("NFKC", v) in ref.department_codes)
    total = sum(n for _, n in counts)
    if as_code == total or (not ref.departments and all(_is_id(v) for v, _ in counts)):
        return (), ("", "")
    if not ref.departments:
        return tuple(ValueProposal(v, n, None, "unknown") for v, n in counts), (
            "所属名のようですが、組織データが見つからずコードを提案できません",
            "looks like department names, but no departments data was found to propose codes",
        )
    out = []
    for value, n in counts:
        code = ref.departments.get(fold(value))
        if code is None and unicodedata.normalize("NFKC", value) in ref.department_codes:
            out.append(ValueProposal(value, n, unicodedata.normalize("NFKC", value), "exact"))
        elif code is None:
            out.append(ValueProposal(value, n, None, "unknown"))
        else:
            out.append(ValueProposal(value, n, code, "department name"))
    return tuple(out), (
        "所属名を組織データの所属コードに対応させました",
        "department names matched to the codes of the departments data",
    )


def _is_id(text: str) -> bool:
    return (
        re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", unicodedata.normalize("NFKC", text)) is not None
    )


def _id_rule(
    series: pl.Series, col: Column, ref: Reference
) -> tuple[IdRule | None, tuple[str, str]]:
    ids = _texts(series)
    if ids.len() == 0:
        return None, ("", "")
    strip = bool(ids.str.contains(r"\s").any())
    lengths = _digit_lengths(ids)
    pad: int | None = None
    reason = ("", "")
    staff_lengths = ref.employee_id_lengths if col.employee_id else frozenset()
    if len(staff_lengths) == 1 and lengths and max(lengths) <= min(staff_lengths):
        n = next(iter(staff_lengths))
        if min(lengths) < n:
            pad = n
            reason = (
                f"職員名簿の職員番号は{n}桁。先頭の0を補います",
                f"the staff list's IDs have {n} digits: leading zeros are added",
            )
    elif len(lengths) > 1:
        pad = max(lengths)
        reason = (
            f"数字だけのIDの桁数が{min(lengths)}〜{max(lengths)}桁とまちまち（先頭の0が"
            f"落ちた？）。{pad}桁に揃えます",
            f"digit-only IDs have {min(lengths)}–{max(lengths)} digits (leading zeros lost?): "
            f"padded to {pad}",
        )
    if strip:
        reason = (
            ("IDの中に空白があります。取り除きます。" + reason[0]).rstrip("。") + "。",
            ("IDs hold white space: it is removed. " + reason[1]).strip(),
        )
    if pad is None and not strip:
        return None, ("", "")
    return IdRule(strip=strip, zero_pad=pad), reason


# ---------------------------------------------------------------- the proposal


def _choose_dataset(
    name: str, header: Sequence[str], dataset: str | None, rel: str
) -> tuple[str, tuple[str, str]]:
    if dataset is not None:
        if dataset not in DATASETS:
            raise ContractError(
                f"不明なデータセット {dataset!r} です（使えるもの: {', '.join(DATASETS)}）",
                f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})",
                hint_ja="--dataset に正しい名前を指定してください。",
                hint_en="give --dataset one of the names above.",
            )
        return dataset, ("--dataset の指定", "given by --dataset")
    by_name = dataset_for_name(Path(name).stem)
    if by_name is not None:
        return by_name, ("ファイル名から", "from the file name")
    scores = []
    for ds in DATASETS.values():
        taken = {c for c, conf in (_header_match(h, ds) for h in header) if c is not None}
        required = sum(1 for c in ds.columns if c.required and c.name in taken)
        scores.append((len(taken), required, ds.name))
    scores.sort(reverse=True)
    best = scores[0]
    if best[0] >= 2 and (len(scores) == 1 or best[:2] != scores[1][:2]):
        return best[2], (
            f"見出しのうち {best[0]} 列がこのデータセットの列",
            f"{best[0]} headers are columns of this dataset",
        )
    raise ContractError(
        "どのデータセットのファイルか見出しから判別できません",
        "cannot tell from the headers which dataset the file is",
        where=Where(file=rel),
        hint_ja=f"--dataset で指定してください（{', '.join(DATASETS)}）。",
        hint_en=f"name it with --dataset ({', '.join(DATASETS)}).",
    )


def _part_for(path: Path, rel: str) -> SourcePart:
    """The table ``dxkpi map`` reads: the CSV, or the workbook's first sheet (a part without
    a sheet name is read from its first sheet)."""
    if not is_data_file(path):
        raise ContractError(
            "CSV か XLSX のファイルではありません",
            "not a CSV or XLSX file",
            where=Where(file=rel),
            hint_ja="書き出した .csv か .xlsx を指定してください。",
            hint_en="give an exported .csv or .xlsx file.",
        )
    if not path.is_file():
        raise ContractError(
            "ファイルがありません",
            "no such file",
            where=Where(file=rel),
            hint_ja="パスを確かめてください。",
            hint_en="check the path.",
        )
    return SourcePart(path, rel, "departments")  # the dataset is decided later


def propose(
    path: Path, *, dataset: str | None = None, reference: Reference | None = None
) -> Proposal:
    """Propose a mapping of the export at ``path`` (see the module docstring)."""
    ref = reference or Reference()
    rel = path.name
    table = read_text_table(_part_for(path, rel))
    header = table.header
    name, reason = _choose_dataset(path.name, header, dataset, rel)
    ds = DATASETS[name]
    data_cols = [c for c in table.frame.columns if not c.startswith("_")]
    matches = [_header_match(h, ds) for h in header]
    # a second pass: headers matched by nothing, by their values
    for i, (col, conf) in enumerate(matches):
        if col is not None or conf == "personal" or not header[i].strip():
            continue
        counts = _counts(table.frame[data_cols[i]])
        best: tuple[float, str] | None = None
        for c in ds.columns:
            if c.kind is not Kind.CODE:
                continue
            share = _values_share(counts, _code_targets(ds, c))
            if share >= VALUES_SHARE and (best is None or share > best[0]):
                best = (share, c.name)
        if best is not None:
            matches[i] = (best[1], "values")
    # a timestamp (Forms' 完了時刻, Google's タイムスタンプ): the one date column left, if one is
    taken = {c for c, _ in matches if c is not None}
    open_dates = [c.name for c in ds.columns if c.kind is Kind.DATE and c.name not in taken]
    if len(open_dates) == 1:
        for i in reversed(range(len(matches))):  # the last (完了時刻 after 開始時刻) takes it
            col, conf = matches[i]
            fits = col is None and conf != "personal" and bool(header[i].strip())
            if fits and _date_share(table.frame[data_cols[i]]) >= VALUES_SHARE:
                matches[i] = (open_dates[0], "values")
                break
    # one header per column: the most confident keeps it
    owner: dict[str, int] = {}
    for i, (col, conf) in enumerate(matches):
        if col is None:
            continue
        j = owner.get(col)
        if j is None or _RANK[conf] < _RANK[matches[j][1]]:
            owner[col] = i
    proposals = []
    for i, (col, conf) in enumerate(matches):
        series = table.frame[data_cols[i]]
        distinct = int(series.drop_nulls().n_unique())
        if col is not None and owner[col] != i:
            other = header[owner[col]]
            proposals.append(
                ColumnProposal(
                    header[i],
                    table.positions[i],
                    None,
                    "none",
                    distinct,
                    note=(
                        f"「{other}」も {col} の候補（そちらを採用）",
                        f"{other!r} is taken for {col}",
                    ),
                )
            )
            continue
        found = ColumnProposal(header[i], table.positions[i], col, conf, distinct)
        proposals.append(found if col is None else _with_tables(found, ds, series, ref))
    taken = {p.column for p in proposals if p.column is not None}
    missing = tuple(c.name for c in ds.columns if c.required and c.name not in taken)
    return Proposal(
        file=path.name,
        dataset=name,
        dataset_reason=reason,
        encoding=table.encoding,
        rows=table.frame.height,
        columns=tuple(proposals),
        missing_required=missing,
        files_glob=default_glob(path.name),
    )


def _with_tables(
    found: ColumnProposal, ds: Dataset, series: pl.Series, ref: Reference
) -> ColumnProposal:
    """``found`` (a header proposed for a column, with its values ``series``) with the values
    table or the ID rule its column needs."""
    assert found.column is not None
    col = ds.column(found.column)
    values: tuple[ValueProposal, ...] = ()
    note = ("", "")
    id_rule, id_reason = None, ("", "")
    if col.employee_id:
        id_rule, id_reason = _id_rule(series, col, ref)
    elif col.kind is Kind.CODE and found.distinct <= MAX_TABLE_VALUES:
        values = _code_values(_counts(series), _code_targets(ds, col))
    elif col.name == "department_code" and found.distinct <= MAX_TABLE_VALUES:
        values, note = _department_values(_counts(series), ref)
        if not values:
            id_rule, id_reason = _id_rule(series, col, ref)
    elif col.kind is Kind.ID:
        id_rule, id_reason = _id_rule(series, col, ref)
    return replace(found, values=values, id_rule=id_rule, id_reason=id_reason, note=note)
