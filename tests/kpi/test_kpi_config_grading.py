"""Config loading (dxkpi.toml), targets lookup, grading and pro-rating."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.core.errors import ConfigError
from dxkpi.kpi.engine import EXPORT_COLUMNS, compute, export_frame
from dxkpi.kpi.examples import tiny_city
from dxkpi.kpi.grading import fiscal_year_progress, grade
from dxkpi.project.config import Config, load_config, parse_config
from tests.helpers import ROOT


def test_project_toml_has_targets_for_every_kpi_fy2023_to_2025():
    config = load_config(ROOT / "dxkpi.toml")
    assert config.privacy.min_cell_size == 10
    for fy in (2023, 2024, 2025):
        for kpi in REGISTRY:
            assert config.target(kpi, fy) is not None, (kpi, fy)


def test_target_lookup_most_specific_first():
    config = parse_config(
        {
            "targets": {
                "2025": {
                    "completion_rate": 0.8,
                    "phase": {"2": {"completion_rate": 0.85}},
                    "department": {"D03": {"completion_rate": 0.9}},
                }
            }
        }
    )
    assert config.target("completion_rate", 2025, "phase", "1") == 0.8
    assert config.target("completion_rate", 2025, "department|phase", "D01|2") == 0.85
    assert config.target("completion_rate", 2025, "department|phase", "D03|2") == 0.9
    assert config.target("completion_rate", 2024) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"privacy": {"min_cell_size": 4}}, "privacy.min_cell_size"),
        ({"privacy": {"min_cell_size": "10"}}, "privacy.min_cell_size"),
        ({"privacy": {"k": 10}}, "privacy.k"),
        ({"grading": {"tolerance": 2}}, "grading.tolerance"),
        ({"targets": {"2025": {"participation_rat": 0.8}}}, "targets.2025.participation_rat"),
        ({"targets": {"2025": {"participation_rate": "80%"}}}, "targets.2025.participation_rate"),
        ({"targets": {"FY25": {"participation_rate": 0.8}}}, "targets.FY25"),
        ({"fiscal_year": {"as_of": "2025/3/1"}}, "fiscal_year.as_of"),
    ],
)
def test_bad_config_names_the_key_in_both_languages(raw, key):
    with pytest.raises(ConfigError) as err:
        parse_config(raw, "x.toml")
    assert key in err.value.ja and key in err.value.en


def test_other_sections_are_kept_for_other_modules(tmp_path):
    path = tmp_path / "dxkpi.toml"
    path.write_text("[roi]\nhourly_cost_yen = 4000\n[fiscal_year]\nas_of = 2025-10-01\n", "utf-8")
    config = load_config(path)
    assert config.sections["roi"]["hourly_cost_yen"] == 4000
    assert config.fiscal_year.as_of == dt.date(2025, 10, 1)


def test_invalid_toml_is_a_config_error(tmp_path):
    path = tmp_path / "dxkpi.toml"
    path.write_text("[privacy\n", "utf-8")
    with pytest.raises(ConfigError):
        load_config(path)


@pytest.mark.parametrize(
    ("value", "target", "hib", "expected"),
    [
        (0.9, 0.8, True, "A"),
        (0.81, 0.8, True, "B"),
        (0.77, 0.8, True, "B"),
        (0.7, 0.8, True, "C"),
        (0.2, 0.4, False, "A"),
        (0.6, 0.4, False, "C"),
        (None, 0.8, True, "D"),
        (0.8, None, True, "D"),
    ],
)
def test_grade(value, target, hib, expected):
    assert grade(value, target, hib, 0.05) == expected


def test_fiscal_year_progress():
    assert fiscal_year_progress(2025, dt.date(2026, 3, 31)) == 1.0
    assert fiscal_year_progress(2025, dt.date(2025, 3, 31)) == 0.0
    assert fiscal_year_progress(2025, dt.date(2025, 9, 30)) == pytest.approx(183 / 365)


def test_in_progress_year_prorates_only_cumulative_kpis():
    config = parse_config(
        {
            "privacy": {"min_cell_size": 5},
            "targets": {"2025": {"hours_saved": 300.0, "self_running_rate": 0.5}},
        }
    )
    out = compute(
        tiny_city(),
        config,
        kpis=["hours_saved", "self_running_rate"],
        fiscal_years=[2025],
        as_of=dt.date(2025, 9, 30),
    )
    hs = out.filter(pl.col("kpi") == "hours_saved").row(0, named=True)
    assert hs["in_progress"] and hs["target"] == pytest.approx(300 * 183 / 365)
    assert hs["grade"] == "B"  # 150 h against ≈150.4 h pro-rated: within the 5 % band
    sr = out.filter(pl.col("kpi") == "self_running_rate").row(0, named=True)
    assert sr["target"] == 0.5 and sr["grade"] == "B"


def test_export_frame_has_exact_column_order():
    out = export_frame(compute(tiny_city(), Config(), fiscal_years=[2025]))
    assert tuple(out.columns) == EXPORT_COLUMNS


def test_unknown_kpi_id_is_a_bilingual_error():
    from dxkpi.kpi.engine import UnknownKpiError

    with pytest.raises(UnknownKpiError) as err:
        compute(tiny_city(), Config(), kpis=["participation"])
    assert "不明な指標ID" in err.value.ja and "unknown KPI id" in err.value.en


def test_all_kpis_skip_missing_optional_datasets_but_explicit_ones_fail():
    from dxkpi.ingest.processed import MissingDatasetError

    data = tiny_city(maturity_survey=None)
    out = compute(data, Config(), fiscal_years=[2025])
    assert "maturity_score" not in set(out.get_column("kpi"))
    with pytest.raises(MissingDatasetError, match="maturity_survey"):
        compute(data, Config(), kpis=["maturity_score"], fiscal_years=[2025])


def test_city_target_of_an_additive_kpi_does_not_grade_departments() -> None:
    """hours_saved is a total: the city's 70,000 h target is not each department's target."""
    from dxkpi.kpi.engine import attach_targets
    from dxkpi.project.config import parse_config

    cells = pl.DataFrame(
        {
            "kpi": ["hours_saved", "hours_saved", "participation_rate"],
            "fiscal_year": pl.Series([2025, 2025, 2025], dtype=pl.Int32),
            "group_by": ["city", "department", "department"],
            "group": ["city", "D01", "D01"],
        }
    )
    config = parse_config(
        {
            "targets": {
                "2025": {
                    "hours_saved": 70000.0,
                    "participation_rate": 0.8,
                    "department": {"D02": {"hours_saved": 900.0}},
                }
            }
        }
    )
    got = attach_targets(cells, config)["target_full"].to_list()
    assert got == [70000.0, None, 0.8]
