"""A Microsoft Forms-style export of the sample city's follow-up survey (issue 17 item 3).

Forms writes one column per question with the question text as header, after its own columns
(ID, 開始時刻, 完了時刻, メール, 名前, 最終更新時刻), and Likert and choice answers as their text.
:func:`write_forms_followup` turns a follow-up table in the contract's shape (the sample city's
``フォローアップ調査.csv``: :func:`read_contract_csv`) into that shape, as an xlsx (Forms'
"応答を Excel で開く", one sheet ``Sheet1``, times as date cells) or a CSV. The question texts
and choice texts are read from the shipped mapping (:data:`FORMS_FOLLOWUP_MAPPING`), so the
export and the mapping that ingests it cannot disagree. 名前 and メール hold made-up personal
data (the mapping ignores them); respondents type their staff number, sometimes without its
leading zeros, in full-width digits or with a trailing space.

Run as a script: ``python -m dxkpi.sample.survey_export RAW_FOLDER OUT_FILE`` (``.xlsx`` or
``.csv``).
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import polars as pl

from dxkpi.catalogue.contract import DATASETS, Kind, code_lookup
from dxkpi.catalogue.synonyms import shipped_mappings
from dxkpi.core.atomic import write_bytes, write_file
from dxkpi.sample.forms import FOLLOWUP_FILES
from dxkpi.sample.parameters import FULL_WIDTH, GIVEN, SURNAMES

__all__ = [
    "FORMS_FOLLOWUP_MAPPING",
    "FORMS_OWN_COLUMNS",
    "forms_followup_frame",
    "main",
    "read_contract_csv",
    "shipped_mapping",
    "write_forms_followup",
]

#: The shipped mapping (``src/dxkpi/catalogue/mappings/``) of a Forms follow-up survey.
FORMS_FOLLOWUP_MAPPING = "microsoft_forms_followup.toml"
#: The columns Microsoft Forms writes before the questions.
FORMS_OWN_COLUMNS = ("ID", "開始時刻", "完了時刻", "メール", "名前", "最終更新時刻")
_DATASET = "followup_survey"


def shipped_mapping(name: str = FORMS_FOLLOWUP_MAPPING) -> Path:
    """The path of a mapping shipped with dxkpi (``dxkpi/catalogue/mappings/<name>``:
    :func:`dxkpi.catalogue.synonyms.shipped_mappings`)."""
    path = shipped_mappings().get(name.removesuffix(".toml"))
    if path is None:
        raise FileNotFoundError(
            f"同梱のマッピング {name} がありません / no shipped mapping {name!r}"
        )
    return path


def _section(name: str) -> dict[str, Any]:
    text = shipped_mapping(name).read_text(encoding="utf-8")
    section: dict[str, Any] = tomllib.loads(text)["mapping"][_DATASET]
    return section


def read_contract_csv(raw: Path) -> pl.DataFrame:
    """The sample city's follow-up file (:data:`~dxkpi.sample.forms.FOLLOWUP_FILES`) in
    ``raw`` as text, with the contract's English column names (values as written)."""
    name = FOLLOWUP_FILES[0][1]
    data = (raw / name).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp932")
    frame = pl.read_csv(text.encode("utf-8"), infer_schema=False)
    columns = DATASETS[_DATASET].columns
    rename = {c.ja: c.name for c in columns if c.ja in frame.columns}
    return frame.rename(rename).select([c.name for c in columns])


def _code(value: str | None, codes: dict[str, str]) -> str | None:
    """The contract code of a value written as code or Japanese label; other text as it is."""
    if value is None:
        return None
    key = unicodedata.normalize("NFKC", value).strip().lower()
    return codes.get(key, value)


def _typed_id(rng: np.random.Generator, ids: pl.Series) -> list[str]:
    """Staff numbers as respondents type them: 70 % as they are, 15 % without leading zeros,
    10 % in full-width digits, 5 % with a trailing space."""
    form = rng.choice(4, size=len(ids), p=(0.70, 0.15, 0.10, 0.05))
    wide = str.maketrans("0123456789", FULL_WIDTH)
    out = []
    for text, f in zip(ids.to_list(), form, strict=True):
        if f == 1 and text.lstrip("0"):
            text = text.lstrip("0")
        elif f == 2:
            text = text.translate(wide)
        elif f == 3:
            text = text + " "
        out.append(text)
    return out


def forms_followup_frame(
    followup: pl.DataFrame, *, seed: int = 0, mapping: str = FORMS_FOLLOWUP_MAPPING
) -> pl.DataFrame:
    """The Forms-shaped table (text, times as datetimes) of a follow-up table in the contract's
    shape (English column names, codes or Japanese labels), one row per answer in its order."""
    section = _section(mapping)
    question = {contract: header for header, contract in section["columns"].items()}
    answer_text = {
        column: {code: text for text, code in table.items()}
        for column, table in section.get("values", {}).items()
    }
    ds = DATASETS[_DATASET]
    rng = np.random.default_rng([seed, 17, 3])
    n = followup.height
    done_on = _dates(followup["responded_on"])
    seconds = rng.integers(8 * 3600 + 1800, 19 * 3600, n)
    finished = [
        dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=int(s))
        for d, s in zip(done_on, seconds, strict=True)
    ]
    took = rng.integers(40, 600, n)
    started = [f - dt.timedelta(seconds=int(s)) for f, s in zip(finished, took, strict=True)]
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN), n)
    out: dict[str, Any] = {
        "ID": list(range(1, n + 1)),
        "開始時刻": started,
        "完了時刻": finished,
        "メール": [f"dx{int(x):05d}@city.example.lg.jp" for x in rng.integers(0, 100_000, n)],
        "名前": [f"{SURNAMES[s]} {GIVEN[g]}" for s, g in zip(surname, given, strict=True)],
        "最終更新時刻": [None] * n,
    }
    for col in ds.columns:
        if col.name == "responded_on":
            continue  # Forms' own 完了時刻 is the answer date
        header = question[col.name]
        values = followup[col.name]
        if col.name == "employee_id":
            out[header] = _typed_id(rng, values)
        elif col.kind is Kind.CODE:
            codes = code_lookup(col)
            texts = answer_text.get(col.name, {})
            out[header] = [
                None if v is None else texts.get(str(_code(v, codes)), v) for v in values.to_list()
            ]
        else:
            out[header] = values.to_list()
    return pl.DataFrame(out, schema_overrides={"最終更新時刻": pl.String}, strict=False)


def _dates(dates: pl.Series) -> list[dt.date]:
    """ISO or slash dates (2025/7/9) as dates."""
    parsed: list[dt.date] = (
        dates.str.replace_all("/", "-").str.to_date("%Y-%m-%d", strict=False).to_list()
    )
    return parsed


def write_forms_followup(
    followup: pl.DataFrame, out: Path, *, seed: int = 0, mapping: str = FORMS_FOLLOWUP_MAPPING
) -> Path:
    """Write :func:`forms_followup_frame` to ``out``: an xlsx (sheet ``Sheet1``, times as date
    cells, as Forms downloads it) or, for a ``.csv`` name, UTF-8 with BOM and times written
    ``2025/7/15 9:02:33``."""
    frame = forms_followup_frame(followup, seed=seed, mapping=mapping)
    if out.suffix.lower() == ".csv":
        times = [
            pl.col(c).map_elements(_forms_time, return_dtype=pl.String)
            for c in ("開始時刻", "完了時刻")
        ]
        text = frame.with_columns(times).write_csv()
        return write_bytes(out, text.encode("utf-8-sig"))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(list(row))
    for col in ("B", "C"):
        for cell in sheet[col][1:]:
            cell.number_format = "yyyy/m/d h:mm:ss"
    return write_file(out, book.save)


def _forms_time(t: dt.datetime) -> str:
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}"


def main(argv: list[str] | None = None) -> int:
    """``python -m dxkpi.sample.survey_export RAW_FOLDER OUT_FILE``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "使い方: python -m dxkpi.sample.survey_export 見本の市の生データのフォルダ 出力ファイル"
            "(.xlsx/.csv)\nusage: python -m dxkpi.sample.survey_export RAW_FOLDER OUT_FILE",
            file=sys.stderr,
        )
        return 2
    path = write_forms_followup(read_contract_csv(Path(args[0])), Path(args[1]))
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
