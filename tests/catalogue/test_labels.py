"""One label vocabulary: every code a report can show has Japanese and English text, families
keep same-named codes apart, and the dashboard shows labels, never raw codes."""

from __future__ import annotations

import doctest
import inspect
import re

import polars as pl
import pytest

from dxkpi.catalogue import format as format_module
from dxkpi.catalogue import labels as labels_module
from dxkpi.catalogue.contract import DATASETS, Kind
from dxkpi.catalogue.format import UNITS, VARIANTS, format_value
from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY, SECOND_DIMENSION_VALUES
from dxkpi.catalogue.labels import (
    ALL,
    CITY_KEYED_GROUPINGS,
    CONTRACT_FAMILIES,
    LabelError,
    codes,
    families,
    group_part,
    has_label,
    label,
    labels,
    t,
)
from dxkpi.core import fiscal as fiscal_module
from dxkpi.ingest.processed import load_processed
from dxkpi.kpi import _frames, measures, suppression
from dxkpi.kpi.engine import compute
from dxkpi.project.config import Config
from dxkpi.reports import kpi_export, views
from dxkpi.reports.charts.labels import group_label

# ---------------------------------------------------------------------------------- helpers


def _reasons_declared() -> set[str]:
    """Reason codes written in the KPI measures and engine: every ``empty_reason`` and the
    reasons the frame helpers and suppression set (``reason=… pl.lit("…")``)."""
    found: set[str] = set()
    for module in (measures, _frames, suppression):
        source = inspect.getsource(module)
        found |= set(re.findall(r'empty_reason(?::\s*str)?\s*=\s*"(\w+)"', source))
        for line in source.splitlines():
            if re.search(r"\breason\s*=", line):
                found |= set(re.findall(r'pl\.lit\("(\w+)"\)', line))
    return found


def _codes_to_show() -> dict[str, set[str]]:
    """Every (family, code) the engine, the contract and the registry declare."""
    want: dict[str, set[str]] = {}
    home = {where: family for family, where in CONTRACT_FAMILIES.items()}
    by_column = {column: family for family, (_, column) in CONTRACT_FAMILIES.items()}
    for dataset in DATASETS.values():
        for col in dataset.columns:
            if col.kind is Kind.CODE:
                # its own family, or the family of the same vocabulary (job_level, skill_area)
                family = home.get((dataset.name, col.name)) or by_column.get(col.name)
                assert family is not None, f"{dataset.name}.{col.name} has no label family"
                want.setdefault(family, set()).update(c.code for c in col.codes)
    want.setdefault("grouping", set()).update(GROUPINGS)
    for dimension, values in SECOND_DIMENSION_VALUES.items():
        want["grouping"].add(dimension)
        want.setdefault(dimension, set()).update(values)
    want.setdefault("reason", set()).update(_reasons_declared())
    want.setdefault("kpi", set()).update(REGISTRY)
    want.setdefault("unit", set()).update(s.unit for s in REGISTRY.values())
    want.setdefault("unit_suffix", set()).update(UNITS)
    return want


@pytest.fixture(scope="module")
def rich(sample_city) -> pl.DataFrame:
    """The engine's rich frame of the sample city for every grouping (default configuration)."""
    return compute(load_processed(sample_city.processed), Config(), by=list(GROUPINGS))


# ---------------------------------------------------------------------------------- coverage


def test_every_label_has_japanese_and_english_text() -> None:
    for family in families():
        assert codes(family), family
        for code in codes(family):
            ja, en = label(family, code, "ja"), label(family, code, "en")
            assert ja.strip() and en.strip(), (family, code)


def test_every_declared_code_has_a_label() -> None:
    want = _codes_to_show()
    assert {"not_assessed", "no_assessment_pairs", "no_posts", "no_trained_staff"} <= want["reason"]
    assert {"suppressed", "no_data_fy", "no_members", "denominator_zero"} <= want["reason"]
    missing = [(f, c) for f, cs in want.items() for c in sorted(cs) if not has_label(f, c)]
    assert missing == []


def test_contract_families_mirror_the_contract() -> None:
    """Codes and Japanese of the contract's code columns come from the contract, in order."""
    for family, (dataset, column) in CONTRACT_FAMILIES.items():
        declared = DATASETS[dataset].column(column).codes
        assert [c.code for c in declared] == [c for c in codes(family) if c != ALL]
        assert {c.code: c.ja for c in declared}.items() <= labels(family, "ja").items()
    # a code column of another dataset with the same name has the same codes
    assert [c.code for c in DATASETS["maturity_survey"].column("job_level").codes] == list(
        codes("job_level")
    )
    assert [c.code for c in DATASETS["skill_assessment"].column("skill_area").codes] == [
        c for c in codes("skill_area") if c != ALL
    ]


def test_every_code_the_engine_emits_on_the_sample_city_has_labels(rich: pl.DataFrame) -> None:
    reasons = set(rich["reason"].drop_nulls().unique().to_list())
    assert reasons, "the sample city should leave some values empty"
    assert reasons <= set(codes("reason"))
    pairs = rich.select("group_by", "group").unique().iter_rows()
    for group_by, group in pairs:
        for by, key in zip(group_by.split("|"), group.split("|"), strict=True):
            assert has_label("grouping", by), by
            for lang in ("ja", "en"):
                text = group_part(by, key, lang)
                assert text, (by, key)
                if by not in CITY_KEYED_GROUPINGS:
                    assert text != key, (by, key, lang)
    for kpi in rich["kpi"].unique().to_list():
        assert label("kpi", kpi, "ja") == REGISTRY[kpi].name_ja
    for grade in rich["grade"].drop_nulls().unique().to_list():
        assert label("grade", grade) and label("grade", grade, "en")


def test_unknown_codes_and_languages_raise() -> None:
    with pytest.raises(LabelError, match="no label for 'boss'"):
        label("job_level", "boss")
    with pytest.raises(LabelError, match="no label family"):
        label("colour", "red")
    with pytest.raises(LabelError, match="ja or en"):
        t("fr", "全庁", "City")
    with pytest.raises(LabelError):
        format_value(1.0, "furlongs")
    with pytest.raises(LabelError):
        format_value(1.0, "ratio", variant="poster")


# ---------------------------------------------------------------------------------- families


def test_job_level_manager_and_assessor_manager_in_the_same_run() -> None:
    assert label("job_level", "manager") == "管理職"
    assert label("assessor", "manager") == "上司"
    # the same run through the renderers: the dashboard, Excel, charts and library tables
    assert views.group_text("job_level", "manager", None, "ja") == "管理職"
    assert (
        views.group_text("job_level|skill_area", "manager|data", None, "ja") == "管理職｜データ活用"
    )
    assert kpi_export.group_label_ja("job_level", "manager") == "管理職"
    assert group_label("manager", None, "ja", group_by="job_level") == "管理職"
    frame = pl.DataFrame({"job_level": ["manager", "staff"], "assessor": ["manager", "self"]})
    shown = views.labelled(frame, {"job_level": ("職層", "level"), "assessor": ("評価者", "by")})
    assert shown.rows() == [("管理職", "上司"), ("一般", "本人")]
    het = pl.DataFrame(
        {
            "group": ["manager", "staff"],
            "n_employees": [100, 200],
            "n_treated": [40, 50],
            "att": [0.05, 0.04],
            "ci_low": [0.01, 0.0],
            "ci_high": [0.09, 0.08],
            "per_100_year": [60.0, 48.0],
            "ratio": [1.2, None],
        }
    )
    shown = views.heterogeneity_table(het, "ja")
    assert shown["区分"].to_list() == ["管理職", "一般"]
    # a group without a ratio says why instead of a bare dash
    assert shown["備考"].to_list() == ["", label("ratio_note", "no_ratio", "ja")]
    assert shown["倍率（受講しなかった場合比、95%区間）"].to_list()[1] == "—"


def test_pooled_and_mobility_codes_in_japanese() -> None:
    frame = pl.DataFrame({"skill_area": ["data", ALL], "mobility": ["moved", "stayed"]})
    shown = views.labelled(frame, {"skill_area": ("スキル領域", "area"), "mobility": ("異動", "m")})
    assert shown.rows() == [("データ活用", "異動者"), ("全体", "非異動者")]
    assert kpi_export.group_label_ja("mobility", "moved") == "異動者"
    assert kpi_export.group_label_ja("job_level|mobility", "mid|stayed") == "中堅 × 非異動者"


# ---------------------------------------------------------------------------------- dashboard


def test_dashboard_table_shows_mobility_labels(rich: pl.DataFrame) -> None:
    fy = max(rich["fiscal_year"].to_list())
    table = views.kpi_table(rich, fy, "ja", group_by="mobility")
    assert set(table["区分"].to_list()) == {"異動者", "非異動者"}
    by_dept = views.kpi_table(rich, fy, "ja", group_by="department|mobility")
    groups = by_dept["区分"].to_list()
    assert groups and all(g.endswith(("｜異動者", "｜非異動者")) for g in groups)
    assert not any("moved" in g or "stayed" in g for g in groups)
    english = views.kpi_table(rich, fy, "en", group_by="mobility")
    assert set(english["group"].to_list()) == {"moved", "stayed"}  # English shows the codes


def test_dashboard_table_shows_reasons_in_words(rich: pl.DataFrame) -> None:
    notes: set[str] = set()
    reasons: set[str] = set()
    for (fy, group_by), part in rich.group_by("fiscal_year", "group_by"):
        table = views.kpi_table(rich, int(fy), "ja", group_by=str(group_by))
        # a difference KPI's note names its two means first (views._difference_note)
        terms = label("difference_terms", "maturity_gap.first")
        notes |= {
            part
            for note in table["備考"].to_list()
            for part in note.split("；")
            if not part.startswith(terms)
        }
        reasons |= set(part.filter(~pl.col("suppressed"))["reason"].drop_nulls().to_list())
    assert {"no_trained_staff", "no_posts"} <= reasons
    assert notes - {""} == {label("reason", r) for r in reasons}
    assert label("reason", "no_trained_staff") in notes
    assert not notes & set(codes("reason"))


def test_dashboard_reason_for_skill_map_codes() -> None:
    """The four skill-map reasons (raw codes in HTML before) are written out in both languages."""
    base = {
        "kpi": "skill_attainment_rate",
        "fiscal_year": 2025,
        "group_by": "job_level|skill_area",
        "group": "manager|data",
        "numerator": 0.0,
        "denominator": 0.0,
        "value": None,
        "target": None,
        "grade": "D",
        "suppressed": False,
        "name_ja": "スキル充足率",
        "name_en": "Skill attainment rate",
        "unit": "ratio",
        "group_name": None,
    }
    for reason in ("not_assessed", "no_assessment_pairs", "no_posts", "no_trained_staff"):
        rich = pl.DataFrame([{**base, "reason": reason}])
        ja = views.kpi_table(rich, 2025, "ja", group_by="job_level|skill_area").row(0)
        en = views.kpi_table(rich, 2025, "en", group_by="job_level|skill_area").row(0)
        assert ja[1] == "管理職｜データ活用"
        assert ja[-1] == label("reason", reason, "ja") and ja[-1] != reason
        assert en[-1] == label("reason", reason, "en") and en[-1] != reason


# ---------------------------------------------------------------------------------- values


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_format_value_every_unit_and_variant(unit: str, variant: str) -> None:
    for lang in ("ja", "en"):
        text = format_value(12.5, unit, lang=lang, variant=variant)
        assert text[:1].isdigit() or text[:1] in ("+", "-"), text
        if variant == "text" and unit != "ratio":
            assert text.endswith(label("unit_suffix", unit, lang))
        assert format_value(float("nan"), unit, lang=lang, variant=variant) == (
            "―" if variant == "chart" else ""
        )


def test_format_value_rounding() -> None:
    assert format_value(0.77777, "ratio") == "77.8%"
    assert format_value(0.77777, "ratio", variant="chart") == "78%"
    assert format_value(1234.56, "per_100") == "1,234.6"
    assert format_value(76222.4, "hours") == "76,222"
    assert format_value(0.125, "score") == "0.13"  # halves up (tests/catalogue/test_format.py)
    assert format_value(-0.125, "score_diff") == "-0.13"
    assert format_value(0.033, "ratio", lang="ja", variant="text", sign=True) == "+3.3ポイント"
    assert format_value(2.0, "per_100", lang="en", variant="text", sign=True) == "+2.0 per 100"
    assert format_value(3.456, "score_diff", lang="ja", variant="text") == "3.46点"


# ---------------------------------------------------------------------------------- doctests


@pytest.mark.parametrize("module", [labels_module, format_module, fiscal_module])
def test_doctests(module: object) -> None:
    failures, tried = doctest.testmod(module)
    assert tried and not failures
