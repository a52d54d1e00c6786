"""A Microsoft Forms-style follow-up survey ingests through the shipped mapping (issue 17 item 3).

The sample city's follow-up survey is rewritten as Forms downloads it
(:mod:`dxkpi.sample.survey_export`: question-text headers, Likert and choice answers as text,
staff numbers typed by hand, 名前 and メール), put in place of the contract-shaped file, and
ingested with the shipped mapping: every row is accepted or quarantined, the accepted rows are
the original file's, and nothing personal reaches processed data.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from dxkpi.catalogue.contract import DATASETS
from dxkpi.ingest.mapping import MappingSet, project_mappings
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.project.config import load_mapping_file
from dxkpi.sample.forms import FOLLOWUP_FILES
from dxkpi.sample.survey_export import (
    FORMS_OWN_COLUMNS,
    forms_followup_frame,
    read_contract_csv,
    shipped_mapping,
    write_forms_followup,
)
from tests.helpers import ROOT, SECRET

EXPORT = "研修フォローアップアンケート.xlsx"


def test_shipped_mapping_covers_every_header_and_answer_of_the_export(sample_city) -> None:
    """Every question header is a mapped column, every Forms column is ignored, and every
    choice text is in the mapping's values table (the planted off-scale 6 excepted)."""
    (mapping,) = load_mapping_file(shipped_mapping())
    assert mapping.dataset == "followup_survey"
    frame = forms_followup_frame(read_contract_csv(sample_city.raw))
    questions = [c for c in frame.columns if c not in FORMS_OWN_COLUMNS]
    assert len(questions) == len(DATASETS["followup_survey"].columns) - 1  # 完了時刻 is the date
    assert set(questions) | {"完了時刻"} == set(mapping.columns)
    assert set(FORMS_OWN_COLUMNS) - {"完了時刻"} == set(mapping.ignore)
    for header, column in mapping.columns.items():
        table = mapping.values.get(column)
        if table is None:
            continue
        seen = set(frame[header].drop_nulls().unique().to_list())
        assert seen - set(table) <= {"6"}, (column, seen - set(table))
    typed = frame["職員番号を入力してください"]
    assert typed.str.contains("^[０-９]+$").any() and typed.str.ends_with(" ").any()
    assert (typed.str.len_chars() < 7).any()  # leading zeros dropped by some respondents


@pytest.mark.slow
def test_forms_export_ingests_through_the_shipped_mapping(sample_city, tmp_path: Path) -> None:
    project = tmp_path / "city"
    raw = project / "data" / "raw"
    shutil.copytree(sample_city.raw, raw)
    original = read_contract_csv(raw)
    (raw / FOLLOWUP_FILES[0][1]).unlink()
    write_forms_followup(original, raw / EXPORT, seed=3)
    (project / "mappings").mkdir()
    shutil.copy(shipped_mapping(), project / "mappings" / shipped_mapping().name)
    report = run_ingest(
        raw,
        project / "data" / "processed",
        expectations=ROOT / "expectations",
        secret=SECRET,
        mappings=project_mappings(project),
    )
    assert report.ok
    info = report.manifest["datasets"]["followup_survey"]
    before = sample_city.manifest["datasets"]["followup_survey"]
    # row conservation: every row of the export is accepted or quarantined
    assert info["rows_in"] == original.height == info["accepted"] + info["quarantined"]
    assert info["accepted"] == before["accepted"] == original.height - 1
    # the planted "6" is a value the mapping's Likert table does not know
    assert info["rules"] == {"followup_survey.unmapped_value": 1}
    q = pl.read_csv(
        project / "data" / "processed" / "quarantine" / "followup_survey.csv", infer_schema=False
    )
    assert q["_source_file"].to_list() == [EXPORT]
    # it names the value, the column and the table to extend, in both languages
    table = "[mapping.followup_survey.values.applied]"
    assert q["detail_ja"][0] == (
        f"「業務での活用」の値「6」が対応表 {table}"
        "（mappings/microsoft_forms_followup.toml）にない。対応表に加えてください"
    )
    assert q["detail_en"][0].startswith(f"applied: value '6' is not in {table}")
    # the same accepted rows as the contract-shaped file (same pseudonyms: same key)
    keys = ["employee_id", "course_id", "days_after"]
    columns = list(DATASETS["followup_survey"].column_names)
    got = pl.read_parquet(project / "data" / "processed" / "followup_survey.parquet")
    want = pl.read_parquet(sample_city.processed / "followup_survey.parquet")
    assert got.select(columns).sort(keys).equals(want.select(columns).sort(keys))
    # the manifest records the mapping used, and nothing personal reached processed data
    assert "microsoft_forms_followup.toml" in str(info)
    assert not {"名前", "メール", "ID", "開始時刻"} & set(got.columns)
    assert MappingSet(load_mapping_file(shipped_mapping())).route(EXPORT) == "followup_survey"
