"""index.html shows the year at a glance from numbers the run computed (hand-made cells)."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import polars as pl
import pytest

from dxkpi.catalogue.labels import label
from dxkpi.reports.glance import (
    HEADLINE_FILE,
    Glance,
    attention_items,
    department_names,
    grade_counts,
    headline_text,
    keep_headline,
    read_glance,
)
from dxkpi.reports.kpi_cache import CACHE_DIR, kpi_cache_path
from dxkpi.reports.runner import write_index

AS_OF = dt.date(2026, 3, 31)


def _cell(
    kpi: str,
    unit: str,
    kind: str,
    value: float | None,
    target: float | None,
    grade: str,
    **over: object,
) -> dict[str, object]:
    row: dict[str, object] = {
        "kpi": kpi,
        "fiscal_year": 2025,
        "group_by": "city",
        "group": "city",
        "numerator": value,
        "denominator": None,
        "value": value,
        "target": target,
        "grade": grade,
        "suppressed": False,
        "reason": None,
        "provisional": grade == "P",
        "maturity_days": 90 if grade == "P" else None,
        "as_of": AS_OF,
        "unit": unit,
        "kind": kind,
        "group_name": None,
    }
    row.update(over)
    return row


def _rich() -> pl.DataFrame:
    rows = [
        _cell("participation_rate", "ratio", "kpi", 0.95, 0.9, "A"),
        _cell("proposer_rate", "ratio", "kpi", 0.82, 0.80, "B"),
        _cell("hours_saved", "hours", "kgi", 32368.0, 70000.0, "C"),
        _cell("self_running_rate", "ratio", "kgi", 0.645, 0.6, "A"),
        _cell("adoption_rate", "ratio", "kpi", 0.5284, 0.55, "P"),
        _cell("leader_coverage", "ratio", "kpi", None, 0.9, "D", reason="denominator_zero"),
        _cell(
            "participation_rate",
            "ratio",
            "kpi",
            0.9,
            0.9,
            "B",
            group_by="department",
            group="010100",
            group_name="総務課",
        ),
        _cell(
            "participation_rate",
            "ratio",
            "kpi",
            0.9,
            0.9,
            "B",
            group_by="department",
            group="010200",
            group_name="<b>人事課</b>",
        ),
        _cell("participation_rate", "ratio", "kpi", 0.5, 0.9, "C", fiscal_year=2024),
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


HEADLINE = {
    "treatment": "phase2",
    "outcome": "submitted",
    "per_100_year": 12.34,
    "per_100_year_ci": [5.1, 19.5],
    "percent_change": 35.2,
    "percent_change_ci": [12.0, 61.0],
    "n_employees": 2030,
    "n_treated": 1234,
}


def _visible(page: str) -> str:
    text = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _staging(tmp_path: Path, headline: dict[str, object] | None) -> Path:
    path = kpi_cache_path(tmp_path, 10)
    path.parent.mkdir(parents=True)
    _rich().write_parquet(path)
    if headline is not None:
        from dxkpi.core.jsontext import json_text

        (tmp_path / CACHE_DIR / HEADLINE_FILE).write_text(json_text(headline), encoding="utf-8")
    return tmp_path


def _run(notebooks: list[dict[str, object]]) -> dict[str, object]:
    return {
        "parameters": {"fiscal_year": 2025},
        "code_version": "dxkpi 0 (abc)",
        "finished": "2026-04-02T00:00:00+00:00",
        "data_manifest_sha256": "0" * 64,
        "notebooks": notebooks,
    }


def test_the_glance_reads_the_year_s_city_cells_and_names() -> None:
    rich = _rich()
    glance = read_glance_from(rich)
    assert grade_counts(glance.cells) == {"A": 2, "B": 1, "C": 1, "D": 1, "P": 1}
    assert department_names(rich) == {"010100": "総務課", "010200": "<b>人事課</b>"}


def read_glance_from(rich: pl.DataFrame) -> Glance:
    cells = rich.filter((pl.col("group_by") == "city") & (pl.col("fiscal_year") == 2025))
    return Glance(2025, cells, department_names(rich), HEADLINE, 0.05)


def test_attention_lists_c_d_provisional_and_failed_reports() -> None:
    glance = read_glance_from(_rich())
    failed = {"name": "maturity", "status": "failed", "error": {"ename": "KeyError"}}
    items = attention_items(glance.cells, [failed, {"name": "x", "status": "ok"}], "ja")
    assert items == [
        "業務削減時間: 32,368時間（目標 70,000時間）— C（目標未達・目標を下回る）",
        f"推進リーダー配置率: D（評価不能） — {label('reason', 'denominator_zero')}",
        "採択率: 52.8% — 暫定（2026-03-31 時点、提出から90日を経ていない提案を含む年度）",
        "レポート maturity が失敗しました（KeyError）",
    ]


def test_headline_effect_with_its_interval_and_no_clear_effect_when_it_crosses_zero() -> None:
    lines = headline_text(HEADLINE, "ja")
    assert lines[0] == (
        "スキル習得研修を修了した職員の業務改善提案: 100人・年あたり +12.3件"
        "（95%信頼区間 5.1〜19.5件）"
    )
    assert lines[1] == "受講しなかった場合の見込みと比べて +35.2%（12.0〜61.0%）"
    assert not any("はっきりした効果" in line for line in lines)
    crossing = headline_text({**HEADLINE, "per_100_year_ci": [-2.0, 19.5]}, "ja")
    assert any("はっきりした効果は確認できません" in line for line in crossing)
    assert not any("効果なし" in line for line in crossing)
    assert "No behaviour-change estimate" in headline_text(None, "en")[0]


def test_index_shows_the_year_at_a_glance_with_department_names(tmp_path: Path) -> None:
    staging = _staging(tmp_path, HEADLINE)
    glance = read_glance(staging, 10, 2025, 0.05)
    assert glance is not None and glance.headline == HEADLINE
    for name in ("department_010100", "department_010200", "behaviour_change"):
        (tmp_path / f"{name}.html").write_text("", encoding="utf-8")
    notebooks = [
        {
            "name": "behaviour_change",
            "report": "behaviour_change",
            "status": "ok",
            "seconds": 3.0,
            "department": None,
        },
        {
            "name": "department_010100",
            "report": "department",
            "status": "ok",
            "seconds": 1.0,
            "department": "010100",
        },
        {
            "name": "department_010200",
            "report": "department",
            "status": "ok",
            "seconds": 1.0,
            "department": "010200",
        },
    ]
    write_index(tmp_path, _run(notebooks), "ja", glance)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    text = _visible(page)
    assert "所属別レポート — 総務課（010100）" in text
    assert "所属別レポート — <b>人事課</b>（010200）" in text and "<b>人事課" not in page
    assert "評価の内訳（全庁の 6 指標）" in text
    assert "B＝目標±5%以内" in text
    assert "+12.3件（95%信頼区間 5.1〜19.5件）" in text
    assert "業務削減時間 32,368時間 70,000時間 C（目標未達・目標を下回る）" in " ".join(
        text.split()
    )
    assert "自走率 64.5% 60.0% A（目標を上回る）" in " ".join(text.split())
    assert 'href="behaviour_change.html"' in page
    assert "<script" not in page


def test_index_without_a_headline_says_so_and_english_works(tmp_path: Path) -> None:
    staging = _staging(tmp_path, None)
    glance = read_glance(staging, 10, 2025, 0.05)
    write_index(tmp_path, _run([]), "en", glance)
    text = _visible((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert "No behaviour-change estimate in this run" in text
    assert "B: within ±5% of target" in text
    assert "Hours saved 32,368 h 70,000 h" in " ".join(text.split())


def test_a_notebook_keeps_its_headline_only_inside_a_run(tmp_path: Path) -> None:
    assert keep_headline(tmp_path, HEADLINE) is None  # by hand: no index to feed
    assert not list(tmp_path.iterdir())
    (tmp_path / CACHE_DIR).mkdir()
    kept = keep_headline(tmp_path, {**HEADLINE, "se": 1.0, "dynamic": {"rows": []}})
    assert kept == tmp_path / CACHE_DIR / HEADLINE_FILE
    assert read_glance(tmp_path, 10, 2025, 0.05) is None  # no KPI frame: no glance


# ------------------------------------------------------------------ the sample city's index


@pytest.mark.xdist_group("report_run")  # the worker that builds the report set
def test_the_sample_city_s_index_at_a_glance(report_set, sample_city) -> None:  # type: ignore[no-untyped-def]
    """The index of a real run: its headline interval covers the planted effect, the tiles
    count the year's city-wide cells, the drill-down is named after its department."""
    from dxkpi.ingest.processed import load_processed

    page = (report_set.folder / "index.html").read_text(encoding="utf-8")
    text = " ".join(_visible(page).split())
    found = re.search(r"100人・年あたり \+([\d.]+)件（95%信頼区間 ([\d.]+)〜([\d.]+)件）", text)
    assert found, text[:2000]
    low, high = float(found[2]), float(found[3])
    planted = sample_city.truth["expected_att_per_employee_month"] * 12 * 100
    assert low <= planted <= high
    tiles = [int(n) for n in re.findall(r'<div class="tile"[^>]*><b>(\d+)</b>', page)]
    assert len(tiles) == 5 and sum(tiles) >= 10
    assert f"評価の内訳（全庁の {sum(tiles)} 指標）" in text
    assert "B＝目標±5%以内" in text
    names = load_processed(sample_city.processed).departments.collect()
    name = names.filter(pl.col("department_code") == "010100")["department_name"].item()
    assert f"所属別レポート — {name}（010100）" in text
    assert "時間" in text.split("効果 KGI")[1].split("注意が必要な項目")[0]
