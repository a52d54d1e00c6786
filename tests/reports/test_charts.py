"""Chart specs (``chart.to_dict()``), the offline renderer, file output, and one pixel check.

Spec tests use tiny inline rich frames. The pixel test renders Japanese characters one by one
and checks that each draws a real glyph (not nothing, not the same box for every character).
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl
import pytest

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.models.contrasts import Contrast
from dxkpi.reports import charts, render
from dxkpi.reports.interactive import CHART_MIME

SECRET_VALUE = 0.123456  # planted in suppressed cells: must never reach a chart
SCHEMA = {
    "kpi": pl.String,
    "fiscal_year": pl.Int32,
    "group_by": pl.String,
    "group": pl.String,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "target": pl.Float64,
    "grade": pl.String,
    "suppressed": pl.Boolean,
    "group_name": pl.String,
}


def cell(kpi: str, fy: int, group_by: str, group: str, value: float | None, **kw: Any) -> dict:
    row = {c: None for c in SCHEMA} | {
        "kpi": kpi,
        "fiscal_year": fy,
        "group_by": group_by,
        "group": group,
        "value": value,
        "suppressed": False,
        "grade": "B",
    }
    return row | kw


@pytest.fixture(scope="module")
def rich() -> pl.DataFrame:
    rows = [
        cell("participation_rate", 2023, "city", "city", 0.2, target=0.25, grade="C"),
        cell("participation_rate", 2024, "city", "city", 0.5, target=0.5, grade="B"),
        cell("participation_rate", 2025, "city", "city", 0.8, target=0.7, grade="A"),
        cell(
            "participation_rate",
            2025,
            "department",
            "D01",
            0.9,
            target=0.7,
            grade="A",
            numerator=45.0,
            denominator=50.0,
            group_name="総務課",
        ),
        cell(
            "participation_rate",
            2025,
            "department",
            "D02",
            0.6,
            target=0.7,
            grade="C",
            group_name="情報課",
        ),
        # suppressed: the engine empties these, but the chart must not draw them even if not
        cell(
            "participation_rate",
            2025,
            "department",
            "D03",
            SECRET_VALUE,
            target=0.7,
            grade=None,
            suppressed=True,
            numerator=SECRET_VALUE,
            group_name="市民課",
        ),
        cell("resident_satisfaction", 2024, "city", "city", 0.55, ci_low=0.5, ci_high=0.6),
        cell("resident_satisfaction", 2025, "city", "city", 0.6, ci_low=0.56, ci_high=0.64),
        cell("hours_saved", 2025, "city", "city", 1234.0, target=1000.0, grade="A"),
        cell("adoption_rate", 2025, "city", "city", SECRET_VALUE, suppressed=True, grade=None),
        *[
            cell("phase_reach", 2025, "phase", p, v, numerator=n, target=0.5)
            for p, v, n in (("1", 0.9, 90.0), ("2", 0.6, 60.0), ("3", 0.3, 30.0))
        ],
        *[
            cell(
                "maturity_score",
                2025,
                "department|dimension",
                f"{d}|{dim}",
                1.0 + i * 0.5,
                group_name=name,
            )
            for d, name in (("D01", "総務課"), ("D02", "情報課"))
            for i, dim in enumerate(("literacy", "data", "leadership", "development", "culture"))
        ],
        cell(
            "maturity_score",
            2025,
            "department|dimension",
            "D03|data",
            SECRET_VALUE,
            suppressed=True,
            group_name="市民課",
        ),
        *[
            cell("maturity_gap", 2025, "dimension", dim, v, target=0.5)
            for dim, v in (("literacy", 0.6), ("data", -0.2), ("culture", 0.9))
        ],
        cell("maturity_gap", 2025, "dimension", "leadership", SECRET_VALUE, suppressed=True),
    ]
    return pl.DataFrame(rows, schema=SCHEMA)


@pytest.fixture(scope="module")
def dynamic() -> pl.DataFrame:
    keys = [-2, -1, 0, 1, 2]
    att = [0.05, -0.02, 0.4, 0.6, 0.9]
    return pl.DataFrame(
        {
            "key": keys,
            "att": att,
            "se": [0.1] * 5,
            "ci_lower": [a - 0.196 for a in att],
            "ci_upper": [a + 0.196 for a in att],
            "band_lower": [a - 0.27 for a in att],
            "band_upper": [a + 0.27 for a in att],
        }
    )


def spec_json(chart: alt.TopLevelMixin) -> str:
    return json.dumps(chart.to_dict(), ensure_ascii=False)


def layers(chart: alt.TopLevelMixin) -> list[dict]:
    """The chart's layers, each with its inline rows under ``values`` (Altair moves them to
    top-level ``datasets``)."""
    spec = chart.to_dict()
    datasets = spec.get("datasets", {})
    out = []
    for layer in spec["layer"]:
        data = layer.get("data") or spec.get("data", {})
        rows = data.get("values", datasets.get(data.get("name"), []))
        out.append(layer | {"values": rows})
    return out


def mark_type(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def title_text(chart: alt.TopLevelMixin) -> str:
    title = chart.to_dict()["title"]
    return title["text"] if isinstance(title, dict) else title


def axis_titles(chart: alt.TopLevelMixin) -> set[str]:
    out = set()
    for layer in layers(chart):
        for channel in ("x", "y"):
            enc = layer.get("encoding", {}).get(channel, {})
            if isinstance(enc.get("title"), str):
                out.add(enc["title"])
    return out


def layer_values(layer: dict) -> list[dict]:
    return layer["values"]


# ---------------------------------------------------------------------------------------------
# theme and labels
# ---------------------------------------------------------------------------------------------


def test_theme_and_renderer_are_enabled_on_import():
    assert alt.theme.active == charts.THEME_NAME
    assert alt.renderers.active == render.RENDERER_NAME


def test_theme_is_applied_to_specs(rich):
    config = charts.kpi_trend(rich, "participation_rate").to_dict()["config"]
    assert config["font"].startswith(render.PRIMARY_FONT)
    assert config["range"]["category"] == list(charts.OKABE_ITO)
    assert config["title"]["fontSize"] >= 20
    assert config["axis"]["labelFontSize"] >= 14


def test_trend_japanese_labels_from_registry(rich):
    chart = charts.kpi_trend(rich, "participation_rate")
    name = REGISTRY["participation_rate"].name_ja
    assert title_text(chart).startswith(name)
    assert f"{name}（％）" in axis_titles(chart)
    assert "年度" in axis_titles(chart)
    assert "2025年度" in spec_json(chart)


def test_trend_english(rich):
    chart = charts.kpi_trend(rich, "participation_rate", lang="en")
    name = REGISTRY["participation_rate"].name_en
    assert title_text(chart).startswith(name)
    assert f"{name} (%)" in axis_titles(chart)
    text = spec_json(chart)
    assert "FY2025" in text
    assert "研修" not in text


def test_trend_target_markers_and_dash(rich):
    chart = charts.kpi_trend(rich, "participation_rate")
    line = next(lay for lay in layers(chart) if mark_type(lay) == "line")
    targets = [r["value"] for r in layer_values(line) if r.get("series") == "目標"]
    assert targets == [0.25, 0.5, 0.7]
    assert line["encoding"]["strokeDash"]["field"] == "series"


def test_trend_draws_interval_band_only_with_ci(rich):
    with_ci = charts.kpi_trend(rich, "resident_satisfaction")
    area = [lay for lay in layers(with_ci) if mark_type(lay) == "area"]
    assert area and area[0]["encoding"]["y2"]["field"] == "ci_high"
    without = charts.kpi_trend(rich, "participation_rate")
    assert not [lay for lay in layers(without) if mark_type(lay) == "area"]


def test_by_group_suppressed_cell_is_a_labelled_gap(rich):
    chart = charts.kpi_by_group(rich, "participation_rate", 2025)
    assert str(SECRET_VALUE) not in spec_json(chart)
    bars = next(lay for lay in layers(chart) if mark_type(lay) == "bar")
    assert {r["label"] for r in layer_values(bars)} == {"総務課", "情報課"}
    gaps = [r for lay in layers(chart) for r in layer_values(lay) if r.get("text") == "―（秘匿）"]
    assert [r["label"] for r in gaps] == ["市民課"]
    assert all(set(r) == {"label", "text"} for r in gaps)


def test_by_group_tooltip_shows_numerator_denominator_target_and_grade(rich):
    chart = charts.kpi_by_group(rich, "participation_rate", 2025)
    bars = next(lay for lay in layers(chart) if mark_type(lay) == "bar")
    tips = {tip["field"]: tip.get("title") for tip in bars["encoding"]["tooltip"]}
    assert list(tips)[1:] == ["value", "numerator", "denominator", "target", "grade"]
    assert list(tips.values())[1:] == ["実績", "分子", "分母", "目標", "評価"]
    formats = {tip["field"]: tip.get("format") for tip in bars["encoding"]["tooltip"]}
    assert formats["value"] == formats["target"] == ".1%"  # 90.0%, as the tables write it
    # counts whole, person-years to one decimal as the tables write them (55.7, not 55.6667)
    assert formats["numerator"] == formats["denominator"] == ",.1~f"
    row = next(r for r in layer_values(bars) if r["label"] == "総務課")
    assert (row["numerator"], row["denominator"], row["target"], row["grade"]) == (
        45.0,
        50.0,
        0.7,
        "A",
    )
    assert str(SECRET_VALUE) not in spec_json(chart)  # the hidden cell's numerator too


def test_by_group_has_a_group_picker_that_fades_the_others(rich):
    spec = charts.kpi_by_group(rich, "participation_rate", 2025).to_dict()
    (pick,) = spec["params"]
    assert pick["value"] is None and pick["bind"]["input"] == "select"
    assert pick["bind"]["options"] == [None, "総務課", "情報課", "市民課"]
    assert pick["bind"]["labels"][0] == "すべて"
    bars = next(lay for lay in spec["layer"] if mark_type(lay) == "bar")
    opacity = bars["encoding"]["opacity"]
    assert opacity["condition"]["test"] == "pick == null || datum.label == pick"
    assert (opacity["condition"]["value"], opacity["value"]) == (1, 0.25)


def test_trend_points_carry_the_tooltip(rich):
    chart = charts.kpi_trend(rich, "participation_rate")
    points = next(lay for lay in layers(chart) if mark_type(lay) == "point")
    fields = [tip["field"] for tip in points["encoding"]["tooltip"]]
    assert fields == [
        "label",
        "series",
        "year",
        "value",
        "numerator",
        "denominator",
        "target",
        "grade",
    ]
    actual = [r for r in layer_values(points) if r["series"] == "実績"]
    assert {(r["year"], r["target"], r["grade"]) for r in actual} == {
        ("2023年度", 0.25, "C"),
        ("2024年度", 0.5, "B"),
        ("2025年度", 0.7, "A"),
    }


def test_by_group_has_target_marks(rich):
    chart = charts.kpi_by_group(rich, "participation_rate", 2025)
    target = [lay for lay in layers(chart) if lay["encoding"].get("x", {}).get("field") == "target"]
    assert target and mark_type(target[0]) in ("rule", "tick")
    assert {r["target"] for r in layer_values(target[0])} == {0.7}


def test_by_group_english_suppressed_label(rich):
    text = spec_json(charts.kpi_by_group(rich, "participation_rate", 2025, lang="en"))
    assert "― (suppressed)" in text
    assert "秘匿" not in text


def test_english_group_labels(rich):
    lay = layers(charts.maturity_gap(rich, lang="en"))
    bars = next(x for x in lay if mark_type(x) == "bar")
    assert {r["dimension"] for r in layer_values(bars)} == {"Literacy", "Data use", "Culture"}


def test_bad_input_is_a_two_language_error(rich):
    with pytest.raises(charts.ChartInputError, match="不明な指標ID"):
        charts.kpi_trend(rich, "no_such_kpi")
    with pytest.raises(charts.ChartInputError, match="missing columns: grade"):
        charts.kpi_by_group(rich.drop("grade"), "participation_rate", 2025)


def test_grade_overview_every_city_kpi_in_registry_order(rich):
    chart = charts.grade_overview(rich, 2025)
    text_layer = next(lay for lay in layers(chart) if mark_type(lay) == "text")
    rows = list(dict.fromkeys(r["row"] for r in layer_values(text_layer)))
    present = (
        "participation_rate",
        "phase_reach",
        "adoption_rate",
        "hours_saved",
        "resident_satisfaction",
        "maturity_gap",
    )
    names = [r.split(" ")[0] for r in rows]
    assert list(dict.fromkeys(names)) == [
        REGISTRY[k].name_ja + ("（0〜5）" if k == "maturity_gap" else "") for k in present
    ]  # a score states its scale
    assert "フェーズ到達率 2 スキル習得" in rows
    assert str(SECRET_VALUE) not in spec_json(chart)
    tiles = next(lay for lay in layers(chart) if mark_type(lay) == "rect")
    scale = tiles["encoding"]["color"]["scale"]
    assert scale["domain"] == ["A", "B", "C", "D", "P"]  # P: 暫定 (provisional)
    assert scale["range"] == list(charts.GRADE_COLOURS.values())


# ---------------------------------------------------------------------------------------------
# DiD charts
# ---------------------------------------------------------------------------------------------


def test_event_study_zero_rule_intervals_band_and_start(dynamic):
    chart = charts.event_study(dynamic)
    lays = layers(chart)
    zero = [lay for lay in lays if mark_type(lay) == "rule" and layer_values(lay) == [{"y": 0.0}]]
    assert zero
    intervals = [
        lay for lay in lays if lay.get("encoding", {}).get("y2", {}).get("field") == "ci_upper"
    ]
    assert intervals and mark_type(intervals[0]) == "rule"
    band = [
        lay for lay in lays if lay.get("encoding", {}).get("y2", {}).get("field") == "band_upper"
    ]
    assert band
    start = [lay for lay in lays if layer_values(lay) and layer_values(lay)[0].get("x") == -0.5]
    assert any(mark_type(lay) == "rule" for lay in start)
    assert "研修開始" in spec_json(chart)
    assert any(mark_type(lay) == "rect" for lay in lays)  # pre-period shading


def test_event_study_no_band_without_bootstrap(dynamic):
    pointwise = dynamic.with_columns(band_lower="ci_lower", band_upper="ci_upper")
    lays = layers(charts.event_study(pointwise, lang="en"))
    assert not [
        lay for lay in lays if lay.get("encoding", {}).get("y2", {}).get("field") == "band_upper"
    ]


def test_estimator_comparison_accepts_contrasts():
    rows = [
        Contrast("naive_before_after", 1.9, 0.03, (1.84, 1.96), 225, 900),
        Contrast("twfe", 0.73, 0.05, (0.63, 0.83), 300, 1800),
        {"method": "group_time", "estimate": 1.06, "ci_low": 0.95, "ci_high": 1.17},
    ]
    chart = charts.estimator_comparison(rows)
    text = spec_json(chart)
    assert "単純な前後比較" in text and "二方向固定効果（TWFE）" in text
    lays = layers(chart)
    assert any(layer_values(lay) == [{"x": 0.0}] for lay in lays)
    assert any(lay.get("encoding", {}).get("x2", {}).get("field") == "ci_high" for lay in lays)
    assert "Naive before/after" in spec_json(charts.estimator_comparison(rows, lang="en"))


# ---------------------------------------------------------------------------------------------
# maturity and phases
# ---------------------------------------------------------------------------------------------


def test_maturity_heatmap(rich):
    chart = charts.maturity_heatmap(rich)
    assert title_text(chart).startswith(REGISTRY["maturity_score"].name_ja)
    text = spec_json(chart)
    assert str(SECRET_VALUE) not in text
    assert "データ活用" in text and "総務課" in text and "秘匿" in text
    tiles = next(lay for lay in layers(chart) if mark_type(lay) == "rect")
    assert tiles["encoding"]["color"]["scale"]["domain"] == [0, 5]


def test_maturity_gap(rich):
    chart = charts.maturity_gap(rich)
    assert title_text(chart).startswith(REGISTRY["maturity_gap"].name_ja)
    assert str(SECRET_VALUE) not in spec_json(chart)
    assert any(layer_values(lay) == [{"x": 0.0}] for lay in layers(chart))
    assert title_text(charts.maturity_gap(rich, lang="en")).startswith("Maturity gap")


def test_phase_funnel(rich):
    chart = charts.phase_funnel(rich)
    assert title_text(chart).startswith(REGISTRY["phase_reach"].name_ja)
    bars = next(lay for lay in layers(chart) if mark_type(lay) == "bar")
    assert [r["phase"] for r in layer_values(bars)] == ["1 意識改革", "2 スキル習得", "3 実践"]
    assert "90%（90人）" in spec_json(chart)


# ---------------------------------------------------------------------------------------------
# renderer and files
# ---------------------------------------------------------------------------------------------


def test_renderer_emits_png_and_svg(rich):
    bundle = charts.kpi_trend(rich, "participation_rate")._repr_mimebundle_()
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
    assert set(data) >= {"image/png", "image/svg+xml", "text/plain"}
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert data["image/svg+xml"].lstrip().startswith("<svg")
    assert "@font-face" in data["image/svg+xml"]
    width, _ = render.png_size(png)
    assert meta["image/png"]["width"] == round(width / render.DEFAULT_PNG_SCALE)
    assert not any("vega" in key or "html" in key for key in data)
    # the spec travels for the HTML export's live chart, under a type no front end renders
    assert data[CHART_MIME] == charts.kpi_trend(rich, "participation_rate").to_dict()


def test_svg_ids_count_per_notebook_not_per_process(rich):
    """vl-convert numbers gradient ids with a counter of its process that never restarts; a
    kernel that runs several notebooks numbers them per notebook (render.new_session), so a
    chart's SVG is what a kernel of its own would draw, and two charts of a page differ."""
    heat = charts.maturity_heatmap(rich)
    render.new_session()
    first = render.chart_to_svg(heat)
    assert 'id="gradient_0"' in first and "url(#gradient_0)" in first
    second = render.chart_to_svg(charts.maturity_heatmap(rich, lang="en"))
    assert 'id="gradient_1"' in second and "url(#gradient_1)" in second
    assert "gradient_0" not in second
    render.new_session()  # vl-convert's own counter is at 2 or more now
    assert render.chart_to_svg(heat) == first


def test_a_chart_saved_then_shown_is_validated_once(rich, tmp_path: Path, monkeypatch):
    """A notebook saves a chart's PNG, then shows it: Altair validates the spec against the
    Vega-Lite schema once (render.validate_once), not twice; an invalid spec still fails, every
    time it is turned into a spec."""
    from altair.utils import schemapi

    chart = charts.kpi_by_group(rich, "participation_rate", 2025).properties(
        title=f"validate-once probe {tmp_path.name}"  # content no other test validated
    )
    bad = alt.Chart(pl.DataFrame({"a": [1.0]})).mark_bar().encode(x="a:Q")
    bad.width = "wide"  # not a number, "container" or a step: invalid
    validated: list[int] = []
    real = schemapi._get_errors_from_spec

    def counting(*args: Any, **kwargs: Any) -> Any:
        validated.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(schemapi, "_get_errors_from_spec", counting)
    render.save_png(chart, tmp_path / "c.png")
    saved = len(validated)  # the spec, and objects Altair builds (and checks) on the way
    assert saved >= 1
    chart._repr_mimebundle_()
    assert len(validated) == saved
    before = saved
    for _ in (1, 2):
        with pytest.raises(schemapi.SchemaValidationError):
            bad.to_dict()
        assert len(validated) > before
        before = len(validated)


def test_save_png_and_svg_atomically(rich, tmp_path: Path):
    chart = charts.kpi_by_group(rich, "participation_rate", 2025)
    png = render.save_png(chart, tmp_path / "out" / "c.png")
    svg = render.save_svg(chart, tmp_path / "out" / "c.svg")
    assert png.read_bytes().startswith(b"\x89PNG")
    text = svg.read_text(encoding="utf-8")
    assert "@font-face" in text and "秘匿" in text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["c.png", "c.svg"]


def test_missing_font_error_names_the_package(monkeypatch: pytest.MonkeyPatch):
    for finder in ("_env_font", "_packaged_noto", "_system_font", "_packaged_ipaex"):
        monkeypatch.setattr(render, finder, lambda: None)
    with pytest.raises(render.JapaneseFontError) as err:
        render.find_japanese_font()
    message = str(err.value)
    assert render.FONT_PACKAGE in message and "日本語フォント" in message


# ---------------------------------------------------------------------------------------------
# pixels: Japanese is drawn with real glyphs
# ---------------------------------------------------------------------------------------------


def decode_png_grey(png: bytes) -> np.ndarray:
    """Grey levels (0 = black) of an 8-bit RGB/RGBA non-interlaced PNG, without Pillow."""
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert depth == 8 and colour in (2, 6)
    channels = 4 if colour == 6 else 3
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            chunks.append(png[pos + 8 : pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        row = np.frombuffer(line, dtype=np.uint8).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (row[x] + pred) & 0xFF
        out[y], prev = cur, cur
    pixels = out.reshape(height, width, channels)[:, :, :3]
    return pixels.mean(axis=2)


def glyph_bitmap(char: str) -> np.ndarray:
    """The inked part (dark pixels, cropped) of one character drawn in the chart font."""
    chart = (
        alt.Chart(alt.InlineData(values=[{"t": char}]))
        .mark_text(fontSize=48, color="black")
        .encode(text="t:N")
        .properties(width=70, height=70)
    )
    ink = decode_png_grey(render.chart_to_png(chart, scale=1)) < 128
    if not ink.any():
        return np.zeros((0, 0), dtype=bool)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def real_glyph_failures(chars: str) -> list[str]:
    """Why ``chars`` are not drawn as distinct real glyphs (empty list: they are)."""
    glyphs = {c: glyph_bitmap(c) for c in chars}
    notdef = glyph_bitmap("\U000f0000")  # private use: no font has it → .notdef box or nothing
    failures = []
    for char, bitmap in glyphs.items():
        if bitmap.size == 0 or bitmap.sum() <= 40 or min(bitmap.shape) <= 20:
            failures.append(f"{char!r} drew no glyph")
        elif notdef.size and np.array_equal(bitmap, notdef):
            failures.append(f"{char!r} drew the .notdef box")
    for a, b in itertools.combinations(chars, 2):
        if glyphs[a].size and np.array_equal(glyphs[a], glyphs[b]):
            failures.append(f"{a!r} and {b!r} drew the same shape")
    return failures


def test_japanese_text_renders_real_glyphs_not_boxes():
    font = render.ensure_japanese_font()
    assert font.path.is_file()
    assert real_glyph_failures("研修参加率") == []


def test_glyph_check_catches_empty_boxes():
    """The check above fails for characters no font has (drawn as identical boxes or nothing)."""
    assert real_glyph_failures("\ue000\ue001\ue002")


def test_skill_heatmap_hides_suppressed_cells_and_labels_in_japanese() -> None:
    import json

    rows = [
        {
            "kpi": "skill_attainment_rate",
            "fiscal_year": 2025,
            "group_by": "department|skill_area",
            "group": f"{dept}|{area}",
            "value": value,
            "suppressed": hidden,
            "group_name": name,
        }
        for dept, name, hidden in (("010100", "総務課", False), ("010200", "人事課", True))
        for area, value in (("data", 0.8765), ("ai_rpa", 0.4321))
    ]
    rich = pl.DataFrame(rows)
    spec = json.dumps(charts.skill_heatmap(rich, "ja").to_dict(), ensure_ascii=False)
    assert "AI・RPA" in spec and "データ活用" in spec and "スキル充足率" in spec
    assert "人事課" in spec and "秘匿" in spec
    # values exist for the shown department only; the suppressed one's are never in the spec
    assert spec.count("0.8765") == 1 and spec.count("0.4321") == 1


# ---------------------------------------------------------------------------------------------
# legends for every mark; value labels never read as a target's label (issue 15)
# ---------------------------------------------------------------------------------------------


def _target_legend(layer: dict) -> dict:
    colour = layer["encoding"].get("color", {})
    assert colour.get("legend", {}) is not None, "the target mark needs a legend entry"
    assert {r[colour["field"]] for r in layer["values"]} == set(colour["scale"]["domain"])
    return colour


def test_by_group_target_ticks_have_a_legend_and_values_sit_in_their_own_column(rich):
    chart = charts.kpi_by_group(rich, "participation_rate", 2025)
    spec = chart.to_dict()
    target = next(
        lay for lay in layers(chart) if lay["encoding"].get("x", {}).get("field") == "target"
    )
    assert _target_legend(target)["scale"]["domain"] == ["目標"]
    values = next(
        lay
        for lay in layers(chart)
        if mark_type(lay) == "text" and any("（A）" in str(r.get("text")) for r in lay["values"])
    )
    # a fixed column right of the plot (pixels), not beside the bar or the tick
    assert values["encoding"]["x"] == {"value": spec["width"] + 12}
    assert spec["resolve"]["scale"]["color"] == "independent"


def test_phase_funnel_target_ticks_have_a_legend_and_labels_clear_of_them(rich):
    chart = charts.phase_funnel(rich)
    ticks = [lay for lay in layers(chart) if mark_type(lay) == "tick"]
    assert len(ticks) == 2  # left and right ends: one legend entry
    assert _target_legend(ticks[0])["scale"]["domain"] == ["目標"]
    assert ticks[1]["encoding"]["color"]["legend"] is None
    text = next(
        lay
        for lay in layers(chart)
        if mark_type(lay) == "text" and "90%（90人）" in json.dumps(lay, ensure_ascii=False)
    )
    assert text["encoding"]["x"] == {"value": chart.to_dict()["width"] + 12}


def test_a_score_s_axis_states_its_scale(rich):
    from dxkpi.reports.charts.labels import _axis_title

    assert _axis_title(REGISTRY["maturity_score"], "ja") == "成熟度スコア（評点、0〜5）"
    assert _axis_title(REGISTRY["skill_gap"], "en").endswith(", 0–4)")
    assert "0〜5" in spec_json(charts.maturity_gap(rich))


def test_grade_overview_numbers_carry_their_units():
    rows = [
        cell("hours_saved", 2025, "city", "city", 32368.0, target=70000.0, grade="C"),
        cell("proposals_per_100", 2025, "city", "city", 92.5, target=90.0, grade="B"),
        cell("participation_rate", 2025, "city", "city", 0.8, target=0.7, grade="A"),
    ]
    text = spec_json(charts.grade_overview(pl.DataFrame(rows, schema=SCHEMA), 2025))
    assert "32,368時間" in text and "70,000時間" in text
    assert "92.5件/100人" in text and "90.0件/100人" in text
    assert "80%" in text and "70%" in text
